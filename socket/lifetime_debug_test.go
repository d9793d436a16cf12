package socket_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket"
)

// The psdebug checks of the borrowed things the outbound side hands to
// user code or takes from it (the inbound side's are in debug_test.go,
// batch_test.go, replyappend_test.go and fault_test.go).

// A Failure's Payload kept past the failure callback reads as poison
// under psdebug, whichever path failed it: a batch of small messages, a
// large message of its own, a SendBuffer's buffer.
func TestFailurePayloadKeptDebug(t *testing.T) {
	if !pool.Debug {
		t.Skip("needs -tags psdebug")
	}
	var mu sync.Mutex
	var kept [][]byte
	c := pipeConn(t, socket.Options{OnSendFailure: func(f socket.Failure) {
		mu.Lock()
		defer mu.Unlock()
		if f.Payload != nil {
			kept = append(kept, f.Payload) // a bug: valid only during the callback
		}
	}})
	s := c.NewSender(nil)
	ctx := context.Background()
	// The first message is taken by the writer, which blocks (the peer
	// never reads); the rest wait in the queue and fail at Close.
	require.NoError(t, s.Send(ctx, frame.Header{}, []byte("first")))
	require.NoError(t, s.Send(ctx, frame.Header{}, []byte("small")))
	require.NoError(t, s.Send(ctx, frame.Header{}, []byte("folded")))
	require.NoError(t, s.Send(ctx, frame.Header{}, bytes.Repeat([]byte("L"), socket.MaxBatchedPayload+1)))
	b := pool.GetBuffer()
	b.B = append(b.B, bytes.Repeat([]byte("B"), 64<<10)...)
	require.NoError(t, s.SendBuffer(ctx, frame.Header{}, b))
	s.Close()
	require.NoError(t, c.Close()) // every failure reported by now
	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, len(kept), 3, "the queued messages were reported with their payloads")
	for i, p := range kept {
		assert.True(t, pool.Poisoned(p), "failure %d: a payload kept past the callback reads as poison: %q", i, p[:min(len(p), 16)])
	}
}

// SendBuffer's buffer belongs to the connection: a slice of it the
// caller kept reads as poison under psdebug once it is written, copied
// (small) or by reference (large).
func TestSendBufferKeptDebug(t *testing.T) {
	if !pool.Debug {
		t.Skip("needs -tags psdebug")
	}
	got := make(chan int, 4)
	addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
		return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
			got <- len(m.Payload)
			return socket.Continue
		})
	}, socket.Options{})
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), nopReactor, socket.Options{})
	require.NoError(t, err)
	s := c.NewSender(nil)
	var kept [][]byte
	for _, n := range []int{100, 256 << 10} { // under and over CopyThreshold
		b := pool.GetBuffer()
		b.B = append(b.B, bytes.Repeat([]byte{'k'}, n)...)
		kept = append(kept, b.B) // a bug: b is the connection's from SendBuffer on
		require.NoError(t, s.SendBuffer(context.Background(), frame.Header{}, b))
		assert.Equal(t, n, <-got)
	}
	s.Close()
	require.NoError(t, c.Close()) // the writer has let go of every buffer
	for i, p := range kept {
		assert.True(t, pool.Poisoned(p), "buffer %d: a SendBuffer buffer kept reads as poison", i)
	}
}

// keepingEncoder is an Encoder that (wrongly) keeps the dst it appended to.
type keepingEncoder struct {
	payload []byte
	kept    []byte
}

func (e *keepingEncoder) AppendPayload(dst []byte) ([]byte, error) {
	out := append(dst, e.payload...)
	e.kept = out // a bug: valid only during the call
	return out, nil
}

// An Encoder's dst (the writer's buffer) kept past AppendPayload reads as
// poison under psdebug once the connection is done with it, whether the
// payload was copied (small) or written by reference (large).
func TestEncoderDstKeptDebug(t *testing.T) {
	if !pool.Debug {
		t.Skip("needs -tags psdebug")
	}
	got := make(chan []byte, 4)
	addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
		return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
			got <- bytes.Clone(m.Payload)
			return socket.Continue
		})
	}, socket.Options{})
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), nopReactor, socket.Options{})
	require.NoError(t, err)
	s := c.NewSender(nil)
	var encs []*keepingEncoder
	for _, n := range []int{100, 64 << 10} { // under and over CopyThreshold
		e := &keepingEncoder{payload: bytes.Repeat([]byte{'e'}, n)}
		encs = append(encs, e)
		require.NoError(t, s.SendEncoder(context.Background(), frame.Header{}, e))
		assert.Equal(t, e.payload, <-got, "the message is written intact")
	}
	s.Close()
	require.NoError(t, c.Close())
	for i, e := range encs {
		require.NotEmpty(t, e.kept)
		assert.True(t, pool.Poisoned(e.kept), "encoder %d: a dst kept past AppendPayload reads as poison", i)
	}
}

// A Message released twice panics under psdebug, naming the mistake, and
// counts nothing against MaxUnfinished.
func TestMessageDoubleReleaseDebug(t *testing.T) {
	if !pool.Debug {
		t.Skip("needs -tags psdebug")
	}
	held := make(chan socket.Message, 1)
	conns := make(chan *socket.Conn, 1)
	addr := startServer(t, "tcp", func(sc *socket.Conn) socket.Reactor {
		conns <- sc
		return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
			m.Retain()
			held <- m
			return socket.Continue
		})
	}, socket.Options{})
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), nopReactor, socket.Options{})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Reply(frame.Header{}, []byte("once")))
	m := <-held
	sc := <-conns
	m.Release()
	assert.PanicsWithValue(t, pool.MsgDoubleRelease, m.Release)
	assert.Zero(t, sc.Stats().Unfinished, "the second Release counted nothing")
}

// Under psdebug a Ref's payload changed while the connection held it
// panics, naming the mistake, wherever the Ref comes back: Wait (failed
// at Close), Withdraw (still queued), Abandon (taken by the writer).
func TestSendRefChangedDebug(t *testing.T) {
	if !pool.Debug {
		t.Skip("needs -tags psdebug")
	}
	const named = "payload of a Ref changed while the connection held it"
	for _, by := range []string{"Wait", "Withdraw", "Abandon"} {
		t.Run(by, func(t *testing.T) {
			var c *socket.Conn
			var s *socket.Sender
			var r socket.Ref
			var body []byte
			if by == "Abandon" {
				c, _ = stuckConn(t, socket.Options{})
				s = c.NewSender(nil)
				defer s.Close()
				body = make([]byte, 12<<20) // stuck in writev: the writer holds it
				require.NoError(t, s.SendRef(context.Background(), frame.Header{}, &r, nil, body))
				waitTaken(t, c, "the writer never took the Ref")
			} else {
				c, s = stuckPeer(t, socket.Options{}) // a 12 MiB write ahead stalls
				body = make([]byte, 1<<20)            // queued behind it
				require.NoError(t, s.SendRef(context.Background(), frame.Header{}, &r, nil, body))
			}
			body[1000] = 1 // the mistake
			var msg string
			func() {
				defer func() { msg, _ = recover().(string) }()
				switch by {
				case "Wait":
					require.NoError(t, c.Close()) // fails the Ref: Wait returns it
					_ = r.Wait(context.Background())
				case "Withdraw":
					s.Withdraw(&r)
				case "Abandon":
					s.Abandon(&r, nil)
				}
			}()
			assert.True(t, strings.Contains(msg, named), "panic: %q", msg)
			assert.True(t, strings.Contains(msg, "until "+by), "names where it was found: %q", msg)
		})
	}
}

// failingKeeper appends its payload, keeps dst (a bug) and fails.
type failingKeeper struct{ keepingEncoder }

func (e *failingKeeper) AppendPayload(dst []byte) ([]byte, error) {
	out, _ := e.keepingEncoder.AppendPayload(dst)
	return out, errors.New("encode failed")
}

// A dst kept by an Encoder that failed reads as poison too, not as the
// next Encoder's payload (the writer reused the buffer it failed in).
func TestFailedEncoderDstKeptDebug(t *testing.T) {
	if !pool.Debug {
		t.Skip("needs -tags psdebug")
	}
	got := make(chan []byte, 4)
	addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
		return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
			got <- bytes.Clone(m.Payload)
			return socket.Continue
		})
	}, socket.Options{})
	failed := make(chan error, 1)
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), nopReactor, socket.Options{
		OnSendFailure: func(f socket.Failure) { failed <- f.Err },
	})
	require.NoError(t, err)
	s := c.NewSender(nil)
	bad := &failingKeeper{keepingEncoder{payload: []byte("the failed one")}}
	require.NoError(t, s.SendEncoder(context.Background(), frame.Header{}, bad))
	require.Error(t, <-failed)
	// The next Encoder looks at the kept dst right after it appended its
	// own payload: the writer's buffer it failed in must not be this one.
	var seen []byte
	next := encoderFunc(func(dst []byte) ([]byte, error) {
		out := append(dst, "the next one.."...)
		seen = bytes.Clone(bad.kept)
		return out, nil
	})
	require.NoError(t, s.SendEncoder(context.Background(), frame.Header{}, next))
	assert.Equal(t, []byte("the next one.."), <-got)
	s.Close()
	require.NoError(t, c.Close())
	require.NotEmpty(t, seen)
	assert.True(t, pool.Poisoned(seen), "a failed Encoder's kept dst reads as poison, not %q", seen)
}

// encoderFunc is a socket.Encoder made of a function.
type encoderFunc func(dst []byte) ([]byte, error)

func (f encoderFunc) AppendPayload(dst []byte) ([]byte, error) { return f(dst) }
