package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/sameteam/sameteam/internal/server"
)

// X4, slowloris: fifty connections that send a request header one byte
// at a time. Each is closed once ReadHeaderTimeout passes, however long it
// keeps trickling, and the probes answer throughout.
func TestReliability_Security_Slowloris(t *testing.T) {
	t.Parallel()
	srv, err := server.New(server.Options{
		Listen:            "127.0.0.1:0",
		Token:             "a-token",
		ReadHeaderTimeout: 300 * time.Millisecond,
		Reports:           &FakeLister{ReportsFn: func(context.Context) ([]server.Report, error) { return nil, nil }},
		Renderer: &FakeRenderer{RenderFn: func(context.Context, string, string, string, io.Writer) error {
			return nil
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Close(ctx)
	}()
	var wg sync.WaitGroup
	closedAfter := make(chan time.Duration, 50)
	for range 50 {
		wg.Go(func() {
			c, err := net.Dial("tcp", srv.Addr())
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			begun := time.Now()
			if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
				t.Error(err)
				return
			}
			// One byte of a header that never ends, every 20 ms.
			for {
				if _, err := c.Write([]byte("a")); err != nil {
					break
				}
				if time.Since(begun) > 5*time.Second {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			// The server closed it (or it is still open after 5 s).
			_ = c.SetReadDeadline(time.Now().Add(time.Second))
			_, _ = io.ReadAll(c)
			closedAfter <- time.Since(begun)
		})
	}
	for range 5 {
		resp, err := http.Get(srv.URL() + "/healthz")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Errorf("healthz during the attack: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	close(closedAfter)
	for d := range closedAfter {
		if d > 3*time.Second {
			t.Errorf("a slow connection lived %v with a 300ms ReadHeaderTimeout", d)
		}
	}
}
