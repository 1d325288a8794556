package digest_test

import (
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/digest"
)

// BenchmarkRender renders one snapshot for the three audiences in both
// languages, HTML and text: what a weekly run renders.
func BenchmarkRender(b *testing.B) {
	r := renderer(b)
	s := snapshot(b, "w47-madrid")
	render := func() int64 {
		var n int64
		for _, aud := range digest.Audiences() {
			for _, loc := range []string{"es", "en"} {
				d, err := r.Render(s, digest.Options{Audience: aud, Locale: loc, Currency: "EUR", ReportName: "weekly", GeneratedAt: time.Unix(0, 0)})
				if err != nil {
					b.Fatal(err)
				}
				n += int64(len(d.HTML) + len(d.Text))
			}
		}
		return n
	}
	b.SetBytes(render())
	b.ReportAllocs()
	for b.Loop() {
		render()
	}
}
