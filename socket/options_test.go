package socket_test

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket"
)

var nopReactor = socket.ReactorFunc(func(*socket.Conn, socket.Message) socket.Action { return socket.Continue })

func TestOptionsValidate(t *testing.T) {
	for _, o := range []socket.Options{
		{MaxFrameSize: -1}, {ReadSlabSize: -5}, {WriteTimeout: -time.Second}, {QueueMessages: -1},
		{Lanes: 1 << 20}, {AcceptLoops: 2}, {MaxHandshakes: -1},
	} {
		err := o.Validate()
		require.ErrorIs(t, err, socket.ErrInvalidOptions, "%+v", o)
		var oe *socket.OptionError
		require.ErrorAs(t, err, &oe)
		_, err = socket.Dial(context.Background(), "tcp", "127.0.0.1:1", nopReactor, o)
		require.ErrorIs(t, err, socket.ErrInvalidOptions)
	}
	require.NoError(t, socket.Options{}.Validate())
}

func TestOptionMaxConns(t *testing.T) {
	addr := startServer(t, "tcp", echo, socket.Options{MaxConns: 1})
	dialEcho := func() (*socket.Conn, *collector) {
		col := newCollector(1)
		c, err := socket.Dial(context.Background(), "tcp", addr.String(), col, socket.Options{})
		require.NoError(t, err)
		_ = c.Reply(frame.Header{}, []byte("x")) // fails once a rejected connection is seen closed
		return c, col
	}
	c1, col1 := dialEcho()
	assert.Equal(t, "x", string(col1.next(t)))
	c2, col2 := dialEcho() // over the limit: closed by the server
	assert.ErrorIs(t, waitClosed(t, c2), socket.ErrClosed)
	assert.Empty(t, col2.ch)
	require.NoError(t, c1.Close())
	require.Eventually(t, func() bool { // the slot frees once the server sees the close
		c3, col3 := dialEcho()
		defer c3.Close()
		select {
		case <-col3.ch:
			return true
		case <-c3.Closed():
			return false
		}
	}, 10*time.Second, 10*time.Millisecond)
}

func TestOptionMaxFrameSizeOutbound(t *testing.T) {
	addr := startServer(t, "tcp", echo, socket.Options{})
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), nopReactor, socket.Options{MaxFrameSize: 100})
	require.NoError(t, err)
	defer c.Close()
	s := c.NewSender(nil)
	defer s.Close()
	require.NoError(t, s.Send(context.Background(), frame.Header{}, make([]byte, 100)))
	err = s.Send(context.Background(), frame.Header{}, make([]byte, 101))
	assert.ErrorIs(t, err, socket.ErrFrameTooLarge)
	assert.ErrorIs(t, err, frame.ErrFrameTooLarge)
}

func TestOptionReadSlabSize(t *testing.T) {
	for _, tc := range []struct {
		slab, want int
	}{{0, frame.DefaultSlabSize}, {4096, 4096}, {16384, 16384}} {
		p := pool.NewSlabPool(pool.Options{})
		held := make(chan socket.Message, 1)
		addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
			return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
				m.Retain()
				held <- m
				return socket.Continue
			})
		}, socket.Options{ReadSlabSize: tc.slab, SlabPool: p})
		c, err := socket.Dial(context.Background(), "tcp", addr.String(), nopReactor, socket.Options{})
		require.NoError(t, err)
		require.NoError(t, c.Reply(frame.Header{}, []byte("hi")))
		m := <-held
		assert.Equal(t, "hi", string(m.Payload))
		// Once the reader is idle the retained message pins one slab of
		// ReadSlabSize (until then the reader may briefly hold a fresh
		// slab for a read that finds nothing).
		assert.Eventually(t, func() bool { return p.Stats().BytesInUse == int64(tc.want) }, 10*time.Second, time.Millisecond,
			"the retained message pins one slab of ReadSlabSize: %d bytes in use", p.Stats().BytesInUse)
		m.Release()
		require.NoError(t, c.Close())
	}
}

// pipeConn runs a Conn over net.Pipe whose peer never reads.
func pipeConn(t *testing.T, opts socket.Options) *socket.Conn {
	a, b := net.Pipe()
	t.Cleanup(func() { _ = b.Close() })
	c, err := socket.NewConn(a, nopReactor, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestOptionQueueBounds(t *testing.T) {
	countAccepted := func(opts socket.Options, size int) int {
		// WriteBatchBytes 1: the writer flushes after every batch it takes,
		// so it holds at most one batch while the peer does not read.
		opts.Lanes, opts.FailWhenFull, opts.WriteBatchBytes = 1, true, 1
		c := pipeConn(t, opts)
		s := c.NewSender(nil)
		defer s.Close()
		for n := 0; ; n++ {
			err := s.Send(context.Background(), frame.Header{}, make([]byte, size))
			if err != nil {
				require.ErrorIs(t, err, socket.ErrBackpressure)
				return n
			}
			require.Less(t, n, 100000, "queue not bounded")
		}
	}
	// The writer holds one batch it cannot flush (the peer never reads) and
	// the queue holds the bound: between bound and 2*bound+1 are accepted.
	for _, tc := range []struct {
		name  string
		opts  socket.Options
		size  int
		bound int
	}{
		{"4 messages", socket.Options{QueueMessages: 4}, 10, 4},
		{"64 messages", socket.Options{QueueMessages: 64}, 10, 64},
		{"1000 bytes", socket.Options{QueueBytes: 1000}, 100, 10},
		{"10000 bytes", socket.Options{QueueBytes: 10000}, 100, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := countAccepted(tc.opts, tc.size)
			assert.GreaterOrEqual(t, n, tc.bound)
			assert.LessOrEqual(t, n, 2*tc.bound+1)
		})
	}
	t.Run("blocking", func(t *testing.T) {
		c := pipeConn(t, socket.Options{Lanes: 1, QueueMessages: 2})
		s := c.NewSender(nil)
		defer s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		var err error
		for n := 0; err == nil; n++ {
			err = s.Send(ctx, frame.Header{}, []byte("x"))
			require.Less(t, n, 100)
		}
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}

func TestOptionWriteTimeout(t *testing.T) {
	for _, wt := range []time.Duration{50 * time.Millisecond, 0} {
		var failed atomic.Int64
		c := pipeConn(t, socket.Options{WriteTimeout: wt, OnSendFailure: func(f socket.Failure) {
			if wt > 0 {
				assert.ErrorIs(t, f.Err, socket.ErrWriteTimeout)
			}
			failed.Add(1)
		}})
		s := c.NewSender(nil)
		require.NoError(t, s.Send(context.Background(), frame.Header{}, []byte("never read")))
		s.Close()
		if wt > 0 {
			err := waitClosed(t, c)
			assert.ErrorIs(t, err, socket.ErrWriteTimeout)
			var ne net.Error
			require.ErrorAs(t, err, &ne)
			assert.True(t, ne.Timeout())
			assert.EqualValues(t, 1, failed.Load())
		} else {
			select {
			case <-c.Closed():
				t.Fatal("closed without a write timeout")
			case <-time.After(200 * time.Millisecond):
			}
			require.NoError(t, c.Close())
			assert.EqualValues(t, 1, failed.Load(), "failed at Close")
		}
	}
}

func TestOptionMaxUnfinished(t *testing.T) {
	var got atomic.Int64
	held := make(chan socket.Message, 100)
	addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
		return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
			m.Retain()
			got.Add(1) // before the hand-over: the test counts what it received
			held <- m
			return socket.Continue
		})
	}, socket.Options{MaxUnfinished: 4})
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), nopReactor, socket.Options{})
	require.NoError(t, err)
	defer c.Close()
	for range 10 {
		require.NoError(t, c.Reply(frame.Header{}, []byte("m")))
	}
	require.Eventually(t, func() bool { return got.Load() == 4 }, 10*time.Second, time.Millisecond)
	time.Sleep(50 * time.Millisecond) // the reader must stay stopped
	assert.EqualValues(t, 4, got.Load())
	for i := 0; i < 10; i++ {
		(<-held).Release()
	}
	assert.EqualValues(t, 10, got.Load())
}

func TestSendAfterClose(t *testing.T) {
	c := pipeConn(t, socket.Options{})
	s := c.NewSender(nil)
	require.NoError(t, c.Close())
	err := s.Send(context.Background(), frame.Header{}, []byte("x"))
	assert.ErrorIs(t, err, socket.ErrClosed)
	s.Close()
	s2 := c.NewSender(nil)
	assert.ErrorIs(t, s2.Send(context.Background(), frame.Header{}, []byte("x")), socket.ErrClosed)
	s2.Close()
	assert.True(t, errors.Is(c.Err(), socket.ErrClosed))
}
