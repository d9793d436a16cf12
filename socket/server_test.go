package socket_test

import (
	"context"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// flakyListener fails its first fails Accepts with EMFILE.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
	calls atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.calls.Add(1)
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

func TestServeAcceptErrorsBackOff(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln := &flakyListener{Listener: inner}
	ln.fails.Store(4)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- socket.Serve(ctx, ln, echo, socket.Options{}) }()

	col := newCollector(1)
	c, err := socket.Dial(context.Background(), "tcp", inner.Addr().String(), col, socket.Options{})
	require.NoError(t, err)
	s := c.NewSender(nil)
	require.NoError(t, s.Send(context.Background(), frame.Header{}, []byte("after EMFILE")))
	assert.Equal(t, "after EMFILE", string(col.next(t)), "the server kept accepting")
	assert.GreaterOrEqual(t, ln.calls.Load(), int32(5))
	s.Close()

	cancel()
	require.NoError(t, <-done, "Serve returns nil when ctx ends")
	// Serve closed the server side of c on the way out.
	assert.ErrorIs(t, waitClosed(t, c), socket.ErrClosed)
}

func TestServeListenerClosedElsewhere(t *testing.T) {
	ln, err := socket.Listen(context.Background(), "tcp", "127.0.0.1:0", socket.Options{})
	require.NoError(t, err)
	done := make(chan error)
	go func() { done <- socket.Serve(context.Background(), ln, echo, socket.Options{}) }()
	require.NoError(t, ln.Close())
	assert.ErrorIs(t, <-done, net.ErrClosed)
}

func TestReactorFactoryRejects(t *testing.T) {
	var seen atomic.Value
	addr := startServer(t, "tcp", func(c *socket.Conn) socket.Reactor {
		seen.Store(c.RemoteAddr().String())
		return nil
	}, socket.Options{})
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), nopReactor, socket.Options{})
	require.NoError(t, err)
	assert.ErrorIs(t, waitClosed(t, c), socket.ErrClosed)
	assert.Equal(t, c.LocalAddr().String(), seen.Load(), "the factory saw the peer address")
}

func TestDisconnectAndDrainErrors(t *testing.T) {
	closed := make(chan error, 1)
	addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
		return closeRecorder{socket.ReactorFunc(func(*socket.Conn, socket.Message) socket.Action { return socket.Disconnect }), closed}
	}, socket.Options{})
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), nopReactor, socket.Options{})
	require.NoError(t, err)
	s := c.NewSender(nil)
	require.NoError(t, s.Send(context.Background(), frame.Header{}, []byte("bye")))
	s.Close()
	assert.ErrorIs(t, <-closed, socket.ErrDisconnected)
	err = waitClosed(t, c)
	assert.ErrorIs(t, err, socket.ErrClosed)

	// Drain with an expired context on a connection whose peer never reads.
	pc := pipeConn(t, socket.Options{})
	ps := pc.NewSender(nil)
	require.NoError(t, ps.Send(context.Background(), frame.Header{}, []byte("stuck")))
	ps.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, pc.Drain(ctx), context.Canceled)
	assert.EqualValues(t, 1, pc.Stats().Failed)
}

// Replies made in OnMessage are written even when the reactor then
// disconnects (the reader writes deferred replies before it exits).
func TestReplyThenDisconnect(t *testing.T) {
	addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
		return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
			require.NoError(t, c.Reply(m.Header, append([]byte("bye "), m.Payload...)))
			return socket.Disconnect
		})
	}, socket.Options{})
	col := newCollector(1)
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), col, socket.Options{})
	require.NoError(t, err)
	s := c.NewSender(nil)
	require.NoError(t, s.Send(context.Background(), frame.Header{}, []byte("alice")))
	s.Close()
	assert.Equal(t, "bye alice", string(col.next(t)))
	assert.ErrorIs(t, waitClosed(t, c), io.EOF)
}
