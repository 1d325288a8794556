package app

import (
	"bytes"
	"net/mail"
	"testing"

	"github.com/sameteam/sameteam/internal/testdb"
)

// A digest says which report it belongs to (List-Id, for a mail admin's
// filters) and greets a team member by the name in team_members.
func TestDigestHeadersListIDAndName(t *testing.T) {
	t.Parallel()
	w := newWorld(t, testdb.SQLiteURL(t), worldOptions{recipients: []string{"rep1@example.com", "guest@example.com"}})
	if res := w.run(); res.code != ExitOK {
		t.Fatalf("%s", res)
	}
	to := map[string]*mail.Address{}
	for _, m := range w.srv.Messages() {
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := msg.Header.Get("List-Id"), "weekly-sales <weekly-sales.example.com>"; got != want {
			t.Errorf("List-Id %q, want %q", got, want)
		}
		a, err := mail.ParseAddress(msg.Header.Get("To"))
		if err != nil {
			t.Fatal(err)
		}
		to[a.Address] = a
	}
	if a := to["rep1@example.com"]; a == nil || a.Name != "Carlos Pérez" {
		t.Errorf("To of the team member: %v, want Carlos Pérez <rep1@example.com>", a)
	}
	if a := to["guest@example.com"]; a == nil || a.Name != "" {
		t.Errorf("To of an address no member has: %v, want the address alone", a)
	}
}
