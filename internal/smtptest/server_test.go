package smtptest_test

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/sameteam/sameteam/internal/smtptest"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func send(c *smtp.Client, from, to, body string) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, body); err != nil {
		return err
	}
	return w.Close()
}

func code(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestServerAuthAndTLS(t *testing.T) {
	t.Parallel()
	srv := smtptest.Start(t, smtptest.Options{StartTLS: true, Username: "u", Password: "p"})

	plain, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Hello("test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := plain.Extension("AUTH"); ok {
		t.Error("AUTH offered before TLS")
	}
	if ok, _ := plain.Extension("STARTTLS"); !ok {
		t.Error("STARTTLS not offered")
	}
	plain.Close()

	c, err := smtp.DialStartTLS(srv.Addr(), srv.ClientTLSConfig())
	if err != nil {
		t.Fatalf("STARTTLS with the trusted config: %v", err)
	}
	defer c.Close()
	if err := send(c, "a@example.com", "b@example.com", "Subject: x\r\n\r\nhi\r\n"); code(err) != 530 {
		t.Errorf("MAIL before AUTH: %v, want 530", err)
	}
	if err := c.Auth(sasl.NewPlainClient("", "u", "wrong")); code(err) != 535 {
		t.Errorf("wrong password: %v, want 535", err)
	}
	if err := c.Auth(sasl.NewLoginClient("u", "p")); err != nil {
		t.Fatalf("LOGIN: %v", err)
	}
	if err := send(c, "a@example.com", "b@example.com", "Subject: x\r\n\r\nhi\r\n"); err != nil {
		t.Fatalf("send after AUTH: %v", err)
	}
	got := srv.Messages()
	if len(got) != 1 || got[0].From != "a@example.com" || strings.Join(got[0].To, ",") != "b@example.com" ||
		!strings.Contains(string(got[0].Data), "hi") {
		t.Fatalf("messages = %+v", got)
	}
	if srv.AuthFailures() != 1 || srv.AuthSuccesses() != 1 || srv.Connections() != 2 {
		t.Errorf("counters: %d failures, %d successes, %d connections", srv.AuthFailures(), srv.AuthSuccesses(), srv.Connections())
	}
}

func TestServerActions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		action   smtptest.Action
		wantCode int
		wantErr  bool // a non-reply error (closed connection, timeout)
		stored   int
	}{
		{name: "accept", action: smtptest.Accept, stored: 1},
		{name: "421", action: smtptest.Reply421, wantCode: 421},
		{name: "451", action: smtptest.Reply451, wantCode: 451},
		{name: "550", action: smtptest.Reply550, wantCode: 550},
		{name: "stall", action: smtptest.Stall, wantErr: true},
		{name: "drop after data", action: smtptest.DropAfterData, wantErr: true, stored: 1},
		{name: "451 after data", action: smtptest.Reply451AfterData, wantCode: 451},
		{name: "554 after data", action: smtptest.Reply554AfterData, wantCode: 554},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := smtptest.Start(t, smtptest.Options{
				StallFor: 2 * time.Second,
				Behavior: smtptest.ByRecipient(map[string]smtptest.Action{"b@example.com": tt.action}),
			})
			conn, err := net.Dial("tcp", srv.Addr())
			if err != nil {
				t.Fatal(err)
			}
			c := smtp.NewClient(conn)
			c.CommandTimeout = 500 * time.Millisecond
			c.SubmissionTimeout = 500 * time.Millisecond
			defer c.Close()
			err = send(c, "a@example.com", "b@example.com", "Subject: x\r\n\r\nhi\r\n")
			switch {
			case tt.wantCode != 0 && code(err) != tt.wantCode:
				t.Errorf("got %v, want %d", err, tt.wantCode)
			case tt.wantErr && (err == nil || code(err) != 0):
				t.Errorf("got %v, want a broken connection", err)
			case tt.wantCode == 0 && !tt.wantErr && err != nil:
				t.Errorf("got %v, want success", err)
			}
			if got := len(srv.Messages()); got != tt.stored {
				t.Errorf("stored %d messages, want %d", got, tt.stored)
			}
			if srv.RcptCount("b@example.com") != 1 {
				t.Errorf("RcptCount = %d, want 1", srv.RcptCount("b@example.com"))
			}
		})
	}
}
