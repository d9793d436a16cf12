package socket_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// A reader whose stack grew arms a move timer (the read deadline) before it
// waits; when it fires the reader moves to a fresh goroutine (see
// TestIdleMemoryPerConn for what that saves). These tests check that the
// timer never disturbs anything else that uses the read deadline.

// growStack uses a few KiB of stack, so the reader that calls it (from
// OnMessage) has a grown stack and arms its move timer when it next waits.
//
//go:noinline
func growStack(depth int) byte {
	var pad [1024]byte
	pad[depth] = byte(depth)
	if depth == 0 {
		return pad[0]
	}
	return growStack(depth-1) + pad[depth]
}

// deepEcho is an echo server reactor whose reader stack grows.
func deepEcho(*socket.Conn) socket.Reactor {
	return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
		growStack(8)
		if err := c.Reply(m.Header, m.Payload); err != nil {
			return socket.Disconnect
		}
		return socket.Continue
	})
}

// With a move timer of 20 µs it fires all the time, while the reader waits
// (it moves) and while it reads (the read is retried): every message still
// comes back once, in order, and the idle timeout never fires early.
func TestMoveTimerUnderLoad(t *testing.T) {
	t.Cleanup(socket.SetMoveDelay(20 * time.Microsecond))
	addr := startServer(t, "tcp", deepEcho, socket.Options{IdleTimeout: 5 * time.Second})
	col := newCollector(1 << 14)
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), col, socket.Options{IdleTimeout: 5 * time.Second})
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	s := c.NewSender(nil)
	defer s.Close()
	const n, window = 20000, 64
	next := 0
	for sent := 0; sent < n; {
		for ; sent < n && sent-next < window; sent++ {
			var p [8]byte
			binary.LittleEndian.PutUint64(p[:], uint64(sent))
			require.NoError(t, s.Send(context.Background(), frame.Header{}, p[:]))
		}
		for ; next < sent-window/2 || (sent == n && next < n); next++ {
			require.Equal(t, uint64(next), binary.LittleEndian.Uint64(col.next(t)), "echo %d", next)
		}
	}
	select {
	case <-c.Closed():
		t.Fatalf("closed early: %v", c.Err())
	default:
	}
}

// The idle timeout still ends a connection whose reader armed (and moved
// on) its move timer many times over.
func TestIdleTimeoutWithMoveTimer(t *testing.T) {
	t.Cleanup(socket.SetMoveDelay(time.Millisecond))
	col := newCollector(16)
	addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
		return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
			growStack(8)
			col.ch <- append([]byte(nil), m.Payload...)
			return socket.Continue
		})
	}, socket.Options{IdleTimeout: 100 * time.Millisecond})
	nc, err := net.Dial("tcp", addr.String())
	require.NoError(t, err)
	defer func() { _ = nc.Close() }()
	_, err = nc.Write(mustFrame(t, frame.Header{}, []byte("hello")))
	require.NoError(t, err)
	assert.Equal(t, "hello", string(col.next(t)))
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = nc.Read(make([]byte, 1)) // the server closes us when idle
	assert.ErrorIs(t, err, io.EOF, "the server closes the connection when idle (not our 10 s deadline)")
}

// Drain wakes a reader parked with its move timer armed far ahead (its
// wake-up deadline is not overwritten by the timer's).
func TestDrainWithMoveTimerArmed(t *testing.T) {
	t.Cleanup(socket.SetMoveDelay(time.Hour))
	got := make(chan *socket.Conn, 1)
	addr := startServer(t, "tcp", func(c *socket.Conn) socket.Reactor {
		got <- c
		return deepEcho(c)
	}, socket.Options{})
	col := newCollector(16)
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), col, socket.Options{})
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	s := c.NewSender(nil)
	defer s.Close()
	require.NoError(t, s.Send(context.Background(), frame.Header{}, []byte("ping")))
	assert.Equal(t, "ping", string(col.next(t)))
	srv := <-got
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, srv.Drain(ctx), "Drain waited for the move timer (an hour) instead of waking the reader")
}
