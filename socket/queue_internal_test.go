package socket

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
)

// testConn is a client Conn over loopback TCP whose peer discards what it
// reads; with start its reader runs, else the test plays the reader.
func testConn(t testing.TB, start bool) *Conn {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	peer, err := ln.Accept()
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); _, _ = io.Copy(io.Discard, peer) }()
	o := Options{}
	o.ensureDefaults()
	c := newConn(nc, &o, nil)
	c.reactor = ReactorFunc(func(*Conn, Message) Action { return Continue })
	if !start {
		t.Cleanup(func() { _ = nc.Close(); _ = peer.Close(); <-done })
		return c
	}
	c.start()
	t.Cleanup(func() { _ = c.Close(); _ = peer.Close(); <-done })
	return c
}

// The outbound queue's lifecycle (queue.go), one interleaving at a time:
// the last Sender's Close lets go of the queue only when nothing is
// queued, being sent or being written; otherwise whoever ends that drops
// it.
func TestQueueLifecycle(t *testing.T) {
	t.Run("the token's holder drops it when it lets go", func(t *testing.T) {
		c := testConn(t, true)
		s := c.NewSender(nil)
		require.True(t, c.wt.take(tokenWriter)) // a writer is busy
		s.Close()
		assert.NotNil(t, c.q.Load(), "kept: the token is held")
		c.wt.release(tokenWriter)
		c.writerExited()
		assert.Nil(t, c.q.Load(), "dropped by the holder letting go")
	})
	t.Run("a send in flight keeps it", func(t *testing.T) {
		c := testConn(t, true)
		s := c.NewSender(nil)
		c.sending.Add(1) // a send between its stopped check and its result
		s.Close()
		assert.NotNil(t, c.q.Load())
		c.sending.Add(-1)
		c.dropIdleQueue()
		assert.Nil(t, c.q.Load())
	})
	t.Run("a new Sender after the drop makes a new queue", func(t *testing.T) {
		c := testConn(t, true)
		s := c.NewSender(nil)
		q1 := c.q.Load()
		s.Close()
		require.Nil(t, c.q.Load())
		s2 := c.NewSender(nil)
		defer s2.Close()
		require.NoError(t, s2.Send(context.Background(), frame.Header{}, []byte("x")))
		assert.NotSame(t, q1, c.q.Load())
	})
	t.Run("a finished connection's queue stays closed", func(t *testing.T) {
		c := testConn(t, true)
		require.NoError(t, c.Close())
		assert.Same(t, closedQueue, c.q.Load())
		s := c.NewSender(nil)
		assert.ErrorIs(t, s.Send(context.Background(), frame.Header{}, []byte("x")), ErrClosed)
		s.Close()
		assert.Same(t, closedQueue, c.q.Load())
	})
}

// Reply batching (reply.go): the reader's batch is written by the reader
// itself when it can take the write token, else queued as one item on the
// reply lane for the holder.
func TestReplyBatchHandOff(t *testing.T) {
	c := testConn(t, false)
	fill := func() {
		c.rbuf = getBatchBuf(batchBufSize)
		for range 3 {
			b, err := frame.AppendFramed(c.rbuf.B, c.opts.Framing, frame.Header{}, []byte("reply"))
			require.NoError(t, err)
			c.rbuf.B = b
			c.rframes++
		}
	}
	fill()
	require.NoError(t, c.pushReplies())
	assert.Equal(t, uint64(3), c.Stats().FramesOut, "written by the reader, at once")
	assert.Nil(t, c.reply, "no reply lane needed")

	require.True(t, c.wt.take(tokenWriter)) // a writer goroutine runs
	fill()
	require.NoError(t, c.pushReplies())
	assert.Equal(t, int64(1), c.queued.Load(), "one item for the three replies")
	assert.NotNil(t, c.reply)
	c.drainQueue() // the holder writes it
	assert.Equal(t, uint64(6), c.Stats().FramesOut)
	c.releaseWriter()
	c.wt.release(tokenWriter)
	c.writerExited()
}
