package socket_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket"
)

// appendEcho answers every message with Batch.ReplyAppend, appending the
// payload (and, on a TCP or Unix connection, taking the bad inputs the
// payload names); errs gets each ReplyAppend's error.
func appendEcho(errs chan<- error) socket.NewReactor {
	return func(*socket.Conn) socket.Reactor {
		return socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
			for m, ok := b.Next(); ok; m, ok = b.Next() {
				p := m.Payload
				var err error
				switch string(p) {
				case "short": // shorter than dst: the header's room is cut
					err = b.ReplyAppend(m.Header, func(dst []byte) []byte { return dst[:len(dst)-1] })
				case "alien": // longer, but not holding the earlier reply's bytes
					if e := b.ReplyAppend(m.Header, func(dst []byte) []byte { return append(dst, "pre"...) }); e != nil {
						errs <- e // shows as an error out of order
					}
					err = b.ReplyAppend(m.Header, func(dst []byte) []byte { return make([]byte, len(dst)+8) })
				case "fresh": // a new slice of its own, not extending dst
					err = b.ReplyAppend(m.Header, func([]byte) []byte { return []byte("0123456789abcdefXYZ") })
				case "nested": // replies from inside the append function
					err = b.ReplyAppend(m.Header, func(dst []byte) []byte {
						errs <- b.Reply(m.Header, []byte("inner"))
						errs <- b.ReplyAppend(m.Header, func(d []byte) []byte { return append(d, "inner2"...) })
						errs <- c.Reply(m.Header, []byte("inner3"))
						return append(dst, "outer"...)
					})
				case "big": // over MaxFrameSize (64) once appended
					err = b.ReplyAppend(m.Header, func(dst []byte) []byte { return append(dst, strings.Repeat("x", 65)...) })
				case "grow": // outgrows the reply buffer: append reallocates, the earlier replies move along
					err = b.ReplyAppend(m.Header, func(dst []byte) []byte { return append(dst, strings.Repeat("g", 64<<10)...) })
				default:
					err = b.ReplyAppend(m.Header, func(dst []byte) []byte { return append(dst, p...) })
				}
				errs <- err
			}
			return socket.Continue
		})
	}
}

func TestBatchReplyAppend(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts socket.Options
	}{
		{"default framing", socket.Options{}},
		{"varint framing: the copy path", socket.Options{Framing: frame.Varint}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := make(chan error, 100)
			addr := startServer(t, "tcp", appendEcho(errs), tc.opts)
			col := newCollector(100)
			c, err := socket.Dial(context.Background(), "tcp", addr.String(), col, tc.opts)
			require.NoError(t, err)
			defer c.Close()
			s := c.NewSender(nil)
			defer s.Close()
			sb := s.Batch()
			var want []string
			for i := range 40 {
				p := strings.Repeat(string(rune('a'+i%26)), i+1)
				want = append(want, p)
				require.NoError(t, sb.Append(frame.Header{Stream: uint32(i), Type: 9}, []byte(p)))
			}
			require.NoError(t, sb.Send(context.Background()))
			for _, w := range want {
				assert.Equal(t, w, string(col.next(t)))
				require.NoError(t, <-errs)
			}
		})
	}
}

// The bad inputs: an append that cuts dst or does not hold its bytes gives
// ErrBadAppend, a payload over MaxFrameSize ErrFrameTooLarge; nothing is
// replied for them, and the replies around them go out intact, in order.
func TestBatchReplyAppendBadInputs(t *testing.T) {
	errs := make(chan error, 100)
	opts := socket.Options{MaxFrameSize: 64}
	addr := startServer(t, "tcp", appendEcho(errs), opts)
	col := newCollector(100)
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), col, socket.Options{MaxFrameSize: 128 << 10})
	require.NoError(t, err)
	defer c.Close()
	s := c.NewSender(nil)
	defer s.Close()
	sb := s.Batch()
	for _, p := range []string{"ok1", "short", "ok2", "alien", "big", "ok3"} {
		require.NoError(t, sb.Append(frame.Header{}, []byte(p)))
	}
	require.NoError(t, sb.Send(context.Background()))
	for _, w := range []string{"ok1", "ok2", "pre", "ok3"} {
		assert.Equal(t, w, string(col.next(t)))
	}
	for _, want := range []error{nil, socket.ErrBadAppend, nil, socket.ErrBadAppend, socket.ErrFrameTooLarge, nil} {
		if want == nil {
			assert.NoError(t, <-errs)
		} else {
			err := <-errs
			assert.ErrorIs(t, err, want)
			if want == socket.ErrFrameTooLarge {
				assert.ErrorIs(t, err, frame.ErrFrameTooLarge)
			}
		}
	}
	select {
	case p := <-col.ch:
		t.Fatalf("unexpected reply %q", p)
	case <-time.After(50 * time.Millisecond):
	}
}

// A batch's first ReplyAppend whose append function returns a slice of
// its own (not dst extended) gives ErrBadAppend: the check compared only
// the bytes before dst's, none for a first reply, so the header went over
// the slice's first 16 bytes and "XYZ" was replied. Replies made from
// inside an append function give ErrReplyInAppend and are not made (the
// outer one's append wrote over them: none arrived, and no error said so).
func TestBatchReplyAppendFreshAndNested(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts socket.Options
	}{
		{"default framing", socket.Options{}},
		{"varint framing: the copy path", socket.Options{Framing: frame.Varint}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs := make(chan error, 100)
			addr := startServer(t, "tcp", appendEcho(errs), tc.opts)
			col := newCollector(100)
			c, err := socket.Dial(context.Background(), "tcp", addr.String(), col, tc.opts)
			require.NoError(t, err)
			defer c.Close()
			s := c.NewSender(nil)
			defer s.Close()
			if tc.opts.Framing == nil { // the copy path takes any slice: it copies
				require.NoError(t, s.Send(context.Background(), frame.Header{}, []byte("fresh")))
				assert.ErrorIs(t, <-errs, socket.ErrBadAppend)
			}
			require.NoError(t, s.Send(context.Background(), frame.Header{}, []byte("nested")))
			for range 3 {
				assert.ErrorIs(t, <-errs, socket.ErrReplyInAppend)
			}
			require.NoError(t, <-errs)
			assert.Equal(t, "outer", string(col.next(t)))
			require.NoError(t, s.Send(context.Background(), frame.Header{}, []byte("after")))
			require.NoError(t, <-errs)
			assert.Equal(t, "after", string(col.next(t)), "nothing else was replied")
		})
	}
}

// An append that outgrows the reply buffer (append reallocates dst) keeps
// the replies framed before it.
func TestBatchReplyAppendGrows(t *testing.T) {
	errs := make(chan error, 100)
	opts := socket.Options{MaxFrameSize: 128 << 10}
	addr := startServer(t, "tcp", appendEcho(errs), opts)
	col := newCollector(100)
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), col, opts)
	require.NoError(t, err)
	defer c.Close()
	s := c.NewSender(nil)
	defer s.Close()
	sb := s.Batch()
	for _, p := range []string{"one", "two", "grow", "three"} {
		require.NoError(t, sb.Append(frame.Header{}, []byte(p)))
	}
	require.NoError(t, sb.Send(context.Background()))
	for _, w := range []string{"one", "two", strings.Repeat("g", 64<<10), "three"} {
		assert.Equal(t, w, string(col.next(t)))
		require.NoError(t, <-errs)
	}
}

func TestBatchReplyAppendOverPipe(t *testing.T) {
	a, b := net.Pipe()
	errs := make(chan error, 10)
	srv, err := socket.NewConn(a, appendEcho(errs)(nil), socket.Options{})
	require.NoError(t, err)
	defer srv.Close()
	col := newCollector(8)
	cli, err := socket.NewConn(b, col, socket.Options{})
	require.NoError(t, err)
	defer cli.Close()
	s := cli.NewSender(nil)
	defer s.Close()
	for _, p := range []string{"a", "bb", "ccc"} {
		require.NoError(t, s.Send(context.Background(), frame.Header{}, []byte(p)))
	}
	for _, want := range []string{"a", "bb", "ccc"} {
		assert.Equal(t, want, string(col.next(t)))
		require.NoError(t, <-errs)
	}
}

// ReplyAppend allocates nothing per message, nor does Batch.Time.
func TestBatchReplyAppendAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	if pool.Debug {
		t.Skip("psdebug never reuses slabs")
	}
	var zero time.Time
	addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
		return socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
			if b.Time() == zero {
				panic("no batch time")
			}
			for m, ok := b.Next(); ok; m, ok = b.Next() {
				if err := b.ReplyAppend(m.Header, func(dst []byte) []byte { return append(dst, m.Payload...) }); err != nil {
					return socket.Disconnect
				}
			}
			return socket.Continue
		})
	}, socket.Options{})
	got := make(chan struct{}, 64)
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
		for _, ok := b.Next(); ok; _, ok = b.Next() {
			got <- struct{}{}
		}
		return socket.Continue
	}), socket.Options{})
	require.NoError(t, err)
	defer c.Close()
	s := c.NewSender(nil)
	defer s.Close()
	sb := s.Batch()
	payload := []byte("0123456789abcdef")
	batch := func() {
		for range 32 {
			require.NoError(t, sb.Append(frame.Header{Stream: 7}, payload))
		}
		require.NoError(t, sb.Send(context.Background()))
		for range 32 {
			<-got
		}
	}
	for range 100 {
		batch()
	}
	assert.Zero(t, testing.AllocsPerRun(200, batch)/32)
}

// Batch.Time is read once per batch: every call in a batch returns the
// same reading, a later batch a later one.
func TestBatchTime(t *testing.T) {
	times := make(chan [2]time.Time, 4)
	addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
		return socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
			t0 := b.Time()
			for _, ok := b.Next(); ok; _, ok = b.Next() {
			}
			time.Sleep(2 * time.Millisecond)
			times <- [2]time.Time{t0, b.Time()}
			return socket.Continue
		})
	}, socket.Options{})
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), newCollector(1), socket.Options{})
	require.NoError(t, err)
	defer c.Close()
	s := c.NewSender(nil)
	defer s.Close()
	before := time.Now()
	require.NoError(t, s.Send(context.Background(), frame.Header{}, []byte("x")))
	first := <-times
	assert.Equal(t, first[0], first[1], "one reading per batch")
	assert.False(t, first[0].Before(before))
	require.NoError(t, s.Send(context.Background(), frame.Header{}, []byte("y")))
	second := <-times
	assert.True(t, second[0].After(first[0]), "a later batch reads the clock again")
}

// BatchFunc.OnMessage (for a caller that has one message, not the
// connection) runs f over a batch of that message alone, taken from the
// pool: no allocation per call.
func TestBatchFuncOnMessage(t *testing.T) {
	counts := make(chan int, 64)
	bf := socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
		n := 0
		for m, ok := b.Next(); ok; m, ok = b.Next() {
			n++
			if err := b.Reply(m.Header, m.Payload); err != nil {
				return socket.Disconnect
			}
		}
		counts <- n
		return socket.Continue
	})
	addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
		return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action { return bf.OnMessage(c, m) })
	}, socket.Options{})
	got := make(chan struct{}, 64)
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), socket.ReactorFunc(func(*socket.Conn, socket.Message) socket.Action {
		got <- struct{}{}
		return socket.Continue
	}), socket.Options{})
	require.NoError(t, err)
	defer c.Close()
	s := c.NewSender(nil)
	defer s.Close()
	sb := s.Batch()
	ping := []byte("ping")
	round := func() {
		for range 8 {
			require.NoError(t, sb.Append(frame.Header{}, ping))
		}
		require.NoError(t, sb.Send(context.Background()))
		for range 8 {
			<-got
			if n := <-counts; n != 1 {
				t.Fatalf("a batch of %d messages, want the one", n)
			}
		}
	}
	for range 50 {
		round()
	}
	if !pool.Debug && !testenv.RaceEnabled {
		assert.Zero(t, testing.AllocsPerRun(100, round)/8)
	}
}

// Under the psdebug tag a ReplyAppend dst kept and written after the call
// panics at the batch's next ReplyAppend (or Reply), naming the mistake,
// and a dst kept past the write of the replies reads as poison.
func TestReplyAppendDstKeptDebug(t *testing.T) {
	if !pool.Debug {
		t.Skip("needs -tags psdebug")
	}
	type result struct {
		panicked any
		kept     []byte
	}
	out := make(chan result, 1)
	conns := make(chan *socket.Conn, 1)
	addr := startServer(t, "tcp", func(sc *socket.Conn) socket.Reactor {
		conns <- sc
		return socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
			var kept []byte
			var r result
			for m, ok := b.Next(); ok; m, ok = b.Next() {
				// The previous reply's dst is written after its ReplyAppend
				// returned, just before the next one: written only when the
				// batch has a next reply, so that the check that finds it
				// is the next ReplyAppend's (recovered here), not the
				// batch end's on the reader goroutine (which would crash
				// the test binary if the two frames came in two reads).
				if kept != nil && r.panicked == nil {
					kept[len(kept)-1] = 'X'
				}
				func() {
					defer func() {
						if p := recover(); p != nil {
							r.panicked = p
						}
					}()
					_ = b.ReplyAppend(m.Header, func(dst []byte) []byte {
						out := append(dst, m.Payload...)
						kept = out // a bug: valid only during the call
						return out
					})
				}()
			}
			r.kept = kept
			select {
			case out <- r:
			default:
			}
			return socket.Continue
		})
	}, socket.Options{})
	nc, err := net.Dial("tcp", addr.String())
	require.NoError(t, err)
	defer nc.Close()
	wire, _ := frame.AppendFrame(nil, frame.Header{Stream: 1}, []byte("one"))
	wire, _ = frame.AppendFrame(wire, frame.Header{Stream: 2}, []byte("two"))
	_, err = nc.Write(wire) // one batch of two messages
	require.NoError(t, err)
	r := <-out
	assert.Equal(t, socket.MsgReplyAppendDstKept, r.panicked, "the second ReplyAppend finds the first reply changed")
	// The first reply (as the bug left it) is written; its buffer then goes
	// back to the pool, poisoned.
	got, err := frame.NewReader(nc, frame.ReaderOptions{}).Next()
	require.NoError(t, err)
	assert.Equal(t, "onX", string(got.Payload))
	require.NoError(t, nc.Close())
	waitClosed(t, <-conns)
	assert.True(t, pool.Poisoned(r.kept[len(r.kept)-3:]), "a dst kept past the write reads as poison: %q", r.kept)
}
