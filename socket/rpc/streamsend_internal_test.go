package rpc

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/socket"
)

// sendCore returns a stream core sending on a connection over a pipe
// whose far end reads (drain) or does not (the lane fills), with frames
// of at most 1 KiB.
func sendCore(t *testing.T, drain bool, opts socket.Options) (*streamCore, *socket.Conn) {
	a, b := net.Pipe()
	opts.MaxFrameSize = 1 << 10
	conn, err := socket.NewConn(a, socket.ReactorFunc(func(*socket.Conn, socket.Message) socket.Action { return socket.Continue }), opts)
	require.NoError(t, err)
	var wg sync.WaitGroup
	if drain {
		wg.Go(func() { _, _ = io.Copy(io.Discard, b) })
	}
	t.Cleanup(func() { _ = conn.Close(); _ = b.Close(); wg.Wait() })
	return newCore(conn.NewSender(nil), 1, 1, 64), conn
}

// parkCtx is a context that reports the first call of its Done method:
// a send waiting for credit calls it as it parks.
type parkCtx struct {
	context.Context
	once   sync.Once
	parked chan struct{}
}

func (c *parkCtx) Done() <-chan struct{} {
	c.once.Do(func() { close(c.parked) })
	return c.Context.Done()
}

// TestSendManyFailureWakesCreditWaiter: a SendMany that took credit and
// failed gives back the credit of the messages it did not queue, and a
// Send waiting for credit meanwhile is woken to use it (before, the
// credit was added back silently: the waiter slept until the peer's next
// grant, and without one, forever).
func TestSendManyFailureWakesCreditWaiter(t *testing.T) {
	s, _ := sendCore(t, true, socket.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pc := &parkCtx{Context: ctx, parked: make(chan struct{})}
	sent := make(chan error, 1)
	go func() { sent <- s.send(pc, []byte("waiter")) }()
	<-pc.parked // the waiter found no credit and waits on creditCh
	// Credit whose wake-up the waiter already took (it found none when
	// woken, as when SendMany took the credit first).
	s.credit.Store(2)
	n, err := s.sendMany(context.Background(), [][]byte{[]byte("ok"), make([]byte, 2<<10)})
	assert.Equal(t, 1, n, "the message before the one over the frame limit was queued")
	var e *Error
	require.True(t, errors.As(err, &e), "%v", err)
	assert.Equal(t, CodeResourceExhausted, e.Code)
	select {
	case err := <-sent:
		require.NoError(t, err)
	case <-time.After(5 * time.Second):
		cancel()
		<-sent
		t.Fatal("a Send waiting for credit was not woken by the credit SendMany gave back")
	}
	assert.Zero(t, s.credit.Load(), "2 taken: 1 sent by SendMany, 1 by the waiter")
}

// TestSendManyFailureCounts: whatever stops SendMany midway, it returns
// exactly how many messages it queued, and the credit it took for the
// others is back: credit before minus credit after equals its count.
func TestSendManyFailureCounts(t *testing.T) {
	msgs := func(k int) [][]byte {
		m := make([][]byte, k)
		for i := range m {
			m[i] = make([]byte, 100)
		}
		return m
	}
	t.Run("ctx ends waiting for credit", func(t *testing.T) {
		s, _ := sendCore(t, true, socket.Options{})
		s.credit.Store(3)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		n, err := s.sendMany(ctx, msgs(5))
		assert.Equal(t, 3, n)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Zero(t, s.credit.Load())
	})
	t.Run("connection closed", func(t *testing.T) {
		s, conn := sendCore(t, true, socket.Options{})
		require.NoError(t, conn.Close())
		s.credit.Store(5)
		n, err := s.sendMany(context.Background(), msgs(5))
		assert.Zero(t, n)
		assert.ErrorIs(t, err, ErrClosed)
		assert.Equal(t, int64(5), s.credit.Load(), "all the credit given back")
	})
	t.Run("stream ended waiting for credit", func(t *testing.T) {
		s, _ := sendCore(t, true, socket.Options{})
		s.credit.Store(2)
		// The stream ends once SendMany waits for credit (parkCtx), not
		// 10 ms after this goroutine starts: a loaded machine could end
		// it before SendMany took its 2 credits, and it queued none.
		pc := &parkCtx{Context: context.Background(), parked: make(chan struct{})}
		go func() { <-pc.parked; s.end(&Error{Code: CodeAppMin, Message: "peer ended"}) }()
		n, err := s.sendMany(pc, msgs(4))
		assert.Equal(t, 2, n)
		var e *Error
		require.True(t, errors.As(err, &e), "%v", err)
		assert.Equal(t, CodeAppMin, e.Code)
	})
	t.Run("lane full, ctx ends", func(t *testing.T) {
		// Nobody reads the pipe: the writer blocks, the lane fills
		// (4 messages), and SendMany's next batch waits until ctx ends.
		s, _ := sendCore(t, false, socket.Options{QueueMessages: 4})
		const credit = 1000
		s.credit.Store(credit)
		total := 0
		for round := range 3 {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			n, err := s.sendMany(ctx, msgs(10))
			cancel()
			total += n
			assert.Equal(t, int64(credit-total), s.credit.Load(), "round %d: credit taken = messages queued", round)
			if err != nil {
				assert.ErrorIs(t, err, context.DeadlineExceeded, "round %d", round)
			}
		}
		assert.Less(t, total, 30, "the lane filled")
	})
}

// TestSendFailureGivesCreditBack: a Send that took a credit and could not
// queue its message (over the frame limit, ctx ended waiting for room)
// gives the credit back (before, each such failure lost one credit, and a
// stream could stall for want of the credit it never used).
func TestSendFailureGivesCreditBack(t *testing.T) {
	s, _ := sendCore(t, true, socket.Options{})
	s.credit.Store(1)
	err := s.send(context.Background(), make([]byte, 2<<10))
	var e *Error
	require.True(t, errors.As(err, &e), "%v", err)
	assert.Equal(t, CodeResourceExhausted, e.Code)
	assert.Equal(t, int64(1), s.credit.Load(), "the credit of the message not sent is back")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.send(ctx, []byte("next")), "the next message has the credit")
	assert.Zero(t, s.credit.Load())
}
