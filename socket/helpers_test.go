package socket_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/socket"
)

// echo is a server reactor that replies with every message.
func echo(c *socket.Conn) socket.Reactor {
	return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
		if err := c.Reply(m.Header, m.Payload); err != nil {
			return socket.Disconnect
		}
		return socket.Continue
	})
}

// startServer runs Serve on a loopback listener and stops it at cleanup.
func startServer(t *testing.T, network string, newR socket.NewReactor, opts socket.Options) net.Addr {
	t.Helper()
	return startServerTB(t, network, newR, opts)
}

func startServerTB(t testing.TB, network string, newR socket.NewReactor, opts socket.Options) net.Addr {
	t.Helper()
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = t.TempDir() + "/s.sock"
	}
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := socket.Listen(ctx, network, addr, opts)
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() {
		err := socket.Serve(ctx, ln, newR, opts)
		if ctx.Err() == nil {
			t.Errorf("Serve: %v", err)
		}
	})
	t.Cleanup(func() { cancel(); wg.Wait() })
	return ln.Addr()
}

// collector is a client reactor that copies every payload into a channel.
type collector struct {
	ch     chan []byte
	closed chan error
}

func newCollector(n int) *collector {
	return &collector{ch: make(chan []byte, n), closed: make(chan error, 1)}
}

func (r *collector) OnMessage(c *socket.Conn, m socket.Message) socket.Action {
	r.ch <- append([]byte(nil), m.Payload...)
	return socket.Continue
}

func (r *collector) OnClose(c *socket.Conn, err error) { r.closed <- err }

func (r *collector) next(t *testing.T) []byte {
	t.Helper()
	select {
	case b := <-r.ch:
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
		return nil
	}
}

func waitClosed(t *testing.T, c *socket.Conn) error {
	t.Helper()
	select {
	case <-c.Closed():
		return c.Err()
	case <-time.After(10 * time.Second):
		t.Fatal("connection not closed within 10s")
		return nil
	}
}
