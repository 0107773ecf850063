package postgres_test

import (
	"bytes"
	"io"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// commitDropper is a TCP proxy in front of the test server. Once armed,
// it closes the next client connection whose server answers a COMMIT
// (with the CommandComplete message whose tag is COMMIT) before that
// answer reaches the client: the transaction is committed, and the client
// never learns it.
type commitDropper struct {
	ln      net.Listener
	target  string
	armed   atomic.Bool
	dropped atomic.Int32
	// hold keeps the connection open instead, and the server's answers
	// from the client, until the client gives up on it.
	hold bool
	wg   sync.WaitGroup
}

// newCommitDropper starts a proxy to the server of rawURL and returns it
// with the URL that connects through it; it stops when the test ends.
func newCommitDropper(t *testing.T, rawURL string) (*commitDropper, string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &commitDropper{ln: ln, target: u.Host}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		_ = ln.Close()
		p.wg.Wait()
	})
	u.Host = ln.Addr().String()
	return p, u.String()
}

func (p *commitDropper) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.wg.Go(func() { p.relay(client, server) })
	}
}

// relay copies bytes both ways between client and server until either
// side closes, dropping the connection at an armed COMMIT's answer.
func (p *commitDropper) relay(client, server net.Conn) {
	closeBoth := func() {
		_ = client.Close()
		_ = server.Close()
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer closeBoth()
		_, _ = io.Copy(server, client)
	})
	wg.Go(func() {
		defer closeBoth()
		buf := make([]byte, 64<<10)
		for {
			n, err := server.Read(buf)
			if n > 0 {
				// CommandComplete: 'C', its length, the tag NUL-terminated.
				if bytes.Contains(buf[:n], []byte("COMMIT\x00")) && p.armed.CompareAndSwap(true, false) {
					p.dropped.Add(1)
					if !p.hold {
						return
					}
					_, _ = io.Copy(io.Discard, server)
					return
				}
				if _, werr := client.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	wg.Wait()
}
