package socket_test

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket"
)

// SendRef writes head then body as one frame, on the writev path (body by
// reference), through the copy paths (net.Pipe has no writev; a framing
// other than the default; a body up to CopyThreshold) and with a CRC; the
// Ref is free again once Wait returns, and is reused.
func TestSendRef(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts socket.Options
		pipe bool
		size int
		h    frame.Header
	}{
		{name: "writev", size: 1 << 20, h: frame.Header{Kind: 70, Stream: 3, Type: 9}},
		{name: "writev-crc", size: 1 << 20, h: frame.Header{Kind: 70, Flags: frame.FlagCRC, Stream: 3}},
		{name: "small", size: 100, h: frame.Header{Stream: 1}},
		{name: "varint", size: 1 << 20, opts: socket.Options{Framing: frame.Varint}},
		{name: "pipe", size: 1 << 20, pipe: true, h: frame.Header{Stream: 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type msg struct {
				h       frame.Header
				payload []byte
			}
			got := make(chan msg, 4)
			srv := func(*socket.Conn) socket.Reactor {
				return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
					got <- msg{m.Header, append([]byte(nil), m.Payload...)}
					return socket.Continue
				})
			}
			var c *socket.Conn
			if tc.pipe {
				a, b := net.Pipe()
				sc, err := socket.NewConn(b, srv(nil), tc.opts)
				require.NoError(t, err)
				defer sc.Close()
				c, err = socket.NewConn(a, socket.ReactorFunc(func(*socket.Conn, socket.Message) socket.Action { return socket.Continue }), tc.opts)
				require.NoError(t, err)
			} else {
				addr := startServer(t, "tcp", srv, tc.opts)
				var err error
				c, err = socket.Dial(context.Background(), "tcp", addr.String(), newCollector(1), tc.opts)
				require.NoError(t, err)
			}
			defer c.Close()
			s := c.NewSender(nil)
			defer s.Close()
			var r socket.Ref
			head := []byte("head:")
			body := make([]byte, tc.size)
			for round := range 3 {
				for i := range body {
					body[i] = byte(i*7 + round)
				}
				require.NoError(t, s.SendRef(context.Background(), tc.h, &r, head, body))
				assert.ErrorIs(t, s.SendRef(context.Background(), tc.h, &r, head, body), socket.ErrRefBusy)
				require.NoError(t, r.Wait(context.Background()))
				assert.False(t, r.Busy())
				want := append(append([]byte(nil), head...), body...)
				select {
				case m := <-got:
					assert.True(t, bytes.Equal(want, m.payload), "round %d: payload of %d bytes", round, len(m.payload))
					if tc.opts.Framing == nil {
						assert.Equal(t, tc.h.Stream, m.h.Stream)
						assert.Equal(t, tc.h.Kind, m.h.Kind)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("no frame")
				}
			}
			assert.NoError(t, r.Wait(context.Background()), "a Ref not in use")
		})
	}
}

// stuckPeer returns a connection to a peer that reads nothing: after a
// 12 MiB message (far more than the kernel's buffers hold: 64 KiB each
// side, see stuckConn) the writer blocks in writev, and later messages
// stay in the queue.
func stuckPeer(t *testing.T, opts socket.Options) (*socket.Conn, *socket.Sender) {
	t.Helper()
	c, _ := stuckConn(t, opts)
	s := c.NewSender(nil)
	t.Cleanup(s.Close)
	require.NoError(t, s.Send(context.Background(), frame.Header{}, make([]byte, 12<<20)))
	waitTaken(t, c, "the writer never took the message")
	return c, s
}

// stuckConn returns a client connection (MaxFrameSize 16 MiB) and its
// peer, which reads nothing. Both socket buffers are set small (64 KiB):
// with the defaults (autotuned up to 4 MiB to send, 6 MiB to receive, and
// more on machines tuned otherwise) a 12 MiB write came near to fitting,
// and a write that completes leaves nothing stuck.
func stuckConn(t *testing.T, opts socket.Options) (*socket.Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err == nil {
			accepted <- nc
		}
		close(accepted)
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	require.NoError(t, nc.(*net.TCPConn).SetWriteBuffer(64<<10))
	peer := <-accepted
	require.NotNil(t, peer)
	require.NoError(t, peer.(*net.TCPConn).SetReadBuffer(64<<10))
	opts.MaxFrameSize = 16 << 20
	c, err := socket.NewConn(nc, newCollector(1), opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = c.Close()
		_ = peer.Close()
	})
	return c, peer
}

// waitTaken waits until the writer has taken what was sent on c: Send
// counted it in QueueDepth before it returned, the writer uncounts it
// when it takes it.
func waitTaken(t *testing.T, c *socket.Conn, msg string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.Stats().QueueDepth != 0 {
		require.True(t, time.Now().Before(deadline), msg)
		time.Sleep(time.Millisecond)
	}
}

// A Ref still in the queue is withdrawn: its queue slot and bytes go back
// and the Ref is free at once. One the connection fails at its close
// reaches the failure callback (Encoder is the Ref) and Wait returns.
func TestSendRefWithdrawAndClose(t *testing.T) {
	failed := make(chan socket.Failure, 4)
	c, s := stuckPeer(t, socket.Options{OnSendFailure: func(f socket.Failure) { failed <- f }})
	var r socket.Ref
	body := make([]byte, 1<<20)
	assert.False(t, s.Withdraw(&r), "not in use")
	require.NoError(t, s.SendRef(context.Background(), frame.Header{Stream: 1}, &r, nil, body))
	assert.Equal(t, int64(1), c.Stats().QueueDepth)
	require.True(t, s.Withdraw(&r))
	assert.False(t, r.Busy())
	assert.Zero(t, c.Stats().QueueDepth)
	assert.False(t, s.Withdraw(&r), "withdrawn already")
	require.NoError(t, r.Wait(context.Background()))

	require.NoError(t, s.SendRef(context.Background(), frame.Header{Stream: 2}, &r, nil, body))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, r.Wait(ctx), context.DeadlineExceeded, "queued behind a stuck write")
	assert.True(t, r.Busy())
	require.NoError(t, c.Close())
	require.NoError(t, r.Wait(context.Background()))
	var refFailed bool
	for len(failed) > 0 {
		if f := <-failed; f.Encoder == socket.Encoder(&r) {
			refFailed = true
			assert.Equal(t, uint32(2), f.Header.Stream)
			assert.ErrorIs(t, f.Err, socket.ErrClosed)
		}
	}
	assert.True(t, refFailed, "the Ref reached the failure callback")
	assert.False(t, s.Withdraw(&r))
	assert.Error(t, s.SendRef(context.Background(), frame.Header{}, &r, nil, body), "closed connection")
	assert.False(t, r.Busy(), "a failed SendRef leaves the Ref free")
}

// SendRef refuses a payload over MaxFrameSize (head included) before
// queuing anything.
func TestSendRefTooLarge(t *testing.T) {
	addr := startServer(t, "tcp", echo, socket.Options{})
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), newCollector(1), socket.Options{MaxFrameSize: 1 << 20})
	require.NoError(t, err)
	defer c.Close()
	s := c.NewSender(nil)
	defer s.Close()
	var r socket.Ref
	err = s.SendRef(context.Background(), frame.Header{}, &r, []byte("x"), make([]byte, 1<<20))
	assert.ErrorIs(t, err, socket.ErrFrameTooLarge)
	assert.False(t, r.Busy())
}

// Sending by reference and waiting allocates nothing in steady state; nor
// does a withdrawal.
func TestSendRefAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	got := make(chan int, 1)
	addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
		return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
			got <- len(m.Payload)
			return socket.Continue
		})
	}, socket.Options{})
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), newCollector(1), socket.Options{})
	require.NoError(t, err)
	defer c.Close()
	s := c.NewSender(nil)
	defer s.Close()
	var r socket.Ref
	head, body := []byte("h"), make([]byte, 256<<10)
	round := func() {
		if err := s.SendRef(context.Background(), frame.Header{}, &r, head, body); err != nil {
			panic(err)
		}
		if err := r.Wait(context.Background()); err != nil {
			panic(err)
		}
		<-got
	}
	for range 10 {
		round()
	}
	assert.Zero(t, testing.AllocsPerRun(100, round), "allocs per SendRef and Wait")

	_, s2 := stuckPeer(t, socket.Options{})
	var r2 socket.Ref
	withdraw := func() {
		if err := s2.SendRef(context.Background(), frame.Header{}, &r2, head, body); err != nil {
			panic(err)
		}
		if !s2.Withdraw(&r2) {
			panic("not withdrawn")
		}
	}
	withdraw()
	assert.Zero(t, testing.AllocsPerRun(100, withdraw), "allocs per SendRef and Withdraw")
}

// abandonCause is a caller's typed cause for Sender.Abandon.
type abandonCause struct{}

func (abandonCause) Error() string { return "test: the owner gave up on the write" }

// Sender.Abandon withdraws a Ref still queued and leaves the connection
// open; a Ref the writer is stuck on (the peer reads nothing) it gets
// back by closing the connection with the owner's cause: Abandon returns
// with the Ref free, the failure callback has the Ref with an error
// matching ErrClosed and the cause, and so does Conn.Err. A Ref not in
// use is left alone.
func TestSendRefAbandon(t *testing.T) {
	failed := make(chan socket.Failure, 4)
	opts := socket.Options{OnSendFailure: func(f socket.Failure) { failed <- f }}

	c, s := stuckPeer(t, opts)
	var r socket.Ref
	assert.False(t, s.Abandon(&r, abandonCause{}), "not in use")
	require.NoError(t, s.SendRef(context.Background(), frame.Header{Stream: 1}, &r, nil, make([]byte, 1<<20)))
	assert.False(t, s.Abandon(&r, abandonCause{}), "queued: withdrawn")
	assert.False(t, r.Busy())
	assert.Zero(t, c.Stats().QueueDepth)
	assert.NoError(t, c.Err(), "the connection stays open")

	// A Ref the writer is stuck on.
	c2, _ := stuckConn(t, opts)
	s2 := c2.NewSender(nil)
	defer s2.Close()
	var r2 socket.Ref
	require.NoError(t, s2.SendRef(context.Background(), frame.Header{Stream: 2}, &r2, nil, make([]byte, 12<<20)))
	waitTaken(t, c2, "the writer never took the Ref")
	assert.True(t, s2.Abandon(&r2, abandonCause{}), "taken by the writer: the connection is closed")
	assert.False(t, r2.Busy(), "the Ref is free when Abandon returns")
	require.NoError(t, r2.Wait(context.Background()))
	select {
	case <-c2.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("the connection did not close")
	}
	assert.ErrorIs(t, c2.Err(), socket.ErrClosed)
	assert.ErrorAs(t, c2.Err(), new(abandonCause), "the connection's error names the cause: %v", c2.Err())
	var refFailed bool
	for len(failed) > 0 {
		if f := <-failed; f.Encoder == socket.Encoder(&r2) {
			refFailed = true
			assert.ErrorIs(t, f.Err, socket.ErrClosed)
			assert.ErrorAs(t, f.Err, new(abandonCause))
		}
	}
	assert.True(t, refFailed, "the Ref reached the failure callback")
	assert.False(t, s2.Abandon(&r2, nil), "not in use any more")
}
