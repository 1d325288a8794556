package delivery_test

import (
	"bytes"
	"errors"
	"net/mail"
	"strings"
	"testing"

	"github.com/sameteam/sameteam/internal/delivery"
)

// The To header carries the person's name, encoded for any client, and a
// name cannot smuggle a header of its own in.
func TestToCarriesTheName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, want string }{
		{"Ana Pérez", "Ana Pérez"},
		{`Bob "the closer" O'Neil`, `Bob "the closer" O'Neil`},
		{"Eve\r\nBcc: all@example.com", "Eve Bcc: all@example.com"},
		{"", ""},
	} {
		m := sample(t, "ana@example.com")
		m.ToName = tc.name
		raw := encode(t, m)
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if msg.Header.Get("Bcc") != "" {
			t.Errorf("name %q added a Bcc header", tc.name)
		}
		to, err := msg.Header.AddressList("To")
		if err != nil || len(to) != 1 {
			t.Fatalf("To %q: %v", msg.Header.Get("To"), err)
		}
		if to[0].Name != tc.want || to[0].Address != "ana@example.com" {
			t.Errorf("name %q: To is %q <%s>, want %q <ana@example.com>", tc.name, to[0].Name, to[0].Address, tc.want)
		}
	}
}

func TestListID(t *testing.T) {
	t.Parallel()
	if got, want := delivery.ListID("weekly-sales", "Example.com"), "weekly-sales <weekly-sales.example.com>"; got != want {
		t.Errorf("ListID = %q, want %q", got, want)
	}
	if got, want := delivery.ListID("ventas semana/1", "example.com"), "ventas-semana-1 <ventas-semana-1.example.com>"; got != want {
		t.Errorf("ListID = %q, want %q", got, want)
	}
}

// List-Unsubscribe stays on its header line (a URI in angle brackets has
// no whitespace to fold at), however long the link, and a value that
// cannot stand on one line unencoded is refused.
func TestListUnsubscribeOnOneLine(t *testing.T) {
	t.Parallel()
	link := "<https://reports.example.com/unsubscribe/weekly-sales/en/YW5hQGV4YW1wbGUuY29t?sig=tFjnrr8lUpGFRFMQ8Hwvy1Iz9QfXllm6bEL-2IDPMyg>"
	m := sample(t, "ana@example.com")
	m.Headers = map[string]string{"List-Unsubscribe": link, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
	raw := encode(t, m)
	if !bytes.Contains(raw, []byte("\r\nList-Unsubscribe: "+link+"\r\n")) {
		t.Errorf("List-Unsubscribe is not on one line:\n%s", raw[:bytes.Index(raw, []byte("\r\n\r\n"))])
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got := msg.Header.Get("List-Unsubscribe"); got != link {
		t.Errorf("List-Unsubscribe reads %q", got)
	}
	if got := msg.Header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
		t.Errorf("List-Unsubscribe-Post reads %q", got)
	}
	for _, bad := range []string{"<https://x.example/" + strings.Repeat("a", 1000) + ">", "<https://x.example/ñ>"} {
		m.Headers = map[string]string{"List-Unsubscribe": bad}
		if _, err := delivery.Build(m); !errors.Is(err, delivery.ErrInvalidMessage) {
			t.Errorf("List-Unsubscribe %.40q…: %v, want ErrInvalidMessage", bad, err)
		}
	}
}
