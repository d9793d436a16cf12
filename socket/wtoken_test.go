package socket

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
)

// The write token, one interleaving at a time.
func TestWriteToken(t *testing.T) {
	t.Run("one holder at a time", func(t *testing.T) {
		var wt writeToken
		require.True(t, wt.take(tokenWriter))
		assert.False(t, wt.take(tokenReader))
		assert.False(t, wt.take(tokenIdle))
		wt.release(tokenWriter)
		assert.True(t, wt.take(tokenReader))
		wt.release(tokenReader)
	})

	t.Run("acquire waits for the holder and keeps the token for good", func(t *testing.T) {
		var wt writeToken
		require.True(t, wt.take(tokenWriter))
		got := make(chan struct{})
		go func() { wt.acquire(); close(got) }()
		// The holder releases only after acquire published its channel
		// (or not: either order must work; this one is the harder).
		for wt.wake.Load() == nil {
			time.Sleep(time.Millisecond)
		}
		select {
		case <-got:
			t.Fatal("acquire took a held token")
		default:
		}
		wt.release(tokenWriter)
		wt.signal()
		<-got
		assert.False(t, wt.take(tokenWriter), "held for good")
		assert.NotNil(t, wt.waiter())
	})

	t.Run("many takers, one holder", func(t *testing.T) {
		var wt writeToken
		var holders, max atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 2000 {
					if wt.take(tokenWriter) {
						if n := holders.Add(1); n > max.Load() {
							max.Store(n)
						}
						holders.Add(-1)
						wt.release(tokenWriter)
					}
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), max.Load())
	})
}

// Under psdebug the token names the mistake: a release by a goroutine
// that is not the holder, and writer state used without the token.
func TestWriteTokenDebug(t *testing.T) {
	if !pool.Debug {
		t.Skip("needs -tags psdebug")
	}
	var wt writeToken
	require.True(t, wt.take(tokenWriter))
	assert.PanicsWithValue(t, "socket: write token released by the reader while held by the writer goroutine", func() { wt.release(tokenReader) })
	c := &Conn{}
	assert.PanicsWithValue(t, "socket: writer state used without the write token", func() { c.writer() })
}

// Drain with sends in flight, one of them waiting for room in a full
// lane: Drain makes the room, the waiting send queues, signals, and is
// written before the connection closes; nothing is failed.
func TestDrainWaitsForBlockedSend(t *testing.T) {
	a, b := net.Pipe()
	defer b.Close()
	o := Options{QueueMessages: 1}
	o.ensureDefaults()
	c := newConn(a, &o, nil)
	c.reactor = ReactorFunc(func(*Conn, Message) Action { return Continue })
	c.start()
	var failed atomic.Int32
	s := c.NewSender(func(Failure) { failed.Add(1) })
	got := make(chan int, 1)
	go func() { // the peer reads everything until the close
		n := 0
		buf := make([]byte, 1<<16)
		for {
			k, err := b.Read(buf)
			n += k
			if err != nil {
				got <- n
				return
			}
		}
	}()
	// Fill the lane while the writer is busy, then start a send that must
	// wait for room: hold the token so no writer takes from the queue.
	require.True(t, c.wt.take(tokenIdle))
	payload := make([]byte, 2000) // over MaxBatchedPayload: one item each
	require.NoError(t, s.Send(context.Background(), frame.Header{}, payload))
	sent := make(chan error, 1)
	go func() { sent <- s.Send(context.Background(), frame.Header{}, payload) }()
	for c.sending.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	drained := make(chan error, 1)
	go func() { drained <- c.Drain(context.Background()) }()
	for !c.stopped.Load() {
		time.Sleep(time.Millisecond)
	}
	c.wt.release(tokenIdle)
	c.wt.signal()
	require.NoError(t, <-sent)
	require.NoError(t, <-drained)
	s.Close()
	assert.Equal(t, 2*(frame.HeaderSize+len(payload)), <-got)
	assert.Zero(t, failed.Load())
}
