package socket_test

import (
	"context"
	"encoding/binary"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// A connection lets go of its outbound queue once every Sender is closed
// and what they queued is written, and makes another for the next
// NewSender.
func TestIdleQueueDropped(t *testing.T) {
	addr := startServer(t, "tcp", echo, socket.Options{})
	col := newCollector(1024)
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), col, socket.Options{})
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	assert.False(t, socket.HoldsQueue(c), "no queue before the first Sender")

	for round := range 3 {
		s1, s2 := c.NewSender(nil), c.NewSender(nil)
		require.True(t, socket.HoldsQueue(c))
		for i := range 100 {
			require.NoError(t, s1.Send(context.Background(), frame.Header{}, []byte("a")))
			require.NoError(t, s2.Send(context.Background(), frame.Header{}, make([]byte, 2000+i))) // not batched
		}
		s1.Close()
		s1.Close() // idempotent: counted once
		for range 200 {
			col.next(t)
		}
		assert.True(t, socket.HoldsQueue(c), "round %d: s2 is still open", round)
		s2.Close()
		require.Eventually(t, func() bool { return !socket.HoldsQueue(c) }, 10*time.Second, time.Millisecond, "round %d", round)
	}
}

// Senders made and closed concurrently with sends on others: every
// message is echoed once, however the queue comes and goes.
func TestQueueComesAndGoesUnderLoad(t *testing.T) {
	addr := startServer(t, "tcp", echo, socket.Options{})
	const workers, rounds, per = 4, 200, 5
	seen := make([]int, workers*rounds*per)
	var mu sync.Mutex
	all := make(chan struct{})
	var got int
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), socket.ReactorFunc(func(_ *socket.Conn, m socket.Message) socket.Action {
		mu.Lock()
		defer mu.Unlock()
		seen[binary.LittleEndian.Uint32(m.Payload)]++
		if got++; got == len(seen) {
			close(all)
		}
		return socket.Continue
	}), socket.Options{})
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var watch sync.WaitGroup
	watch.Go(func() { // the queue depth never dips below zero
		for {
			select {
			case <-stop:
				return
			default:
			}
			if d := c.Stats().QueueDepth; d < 0 {
				t.Errorf("QueueDepth %d", d)
				return
			}
			runtime.Gosched()
		}
	})
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				s := c.NewSender(nil)
				for i := range per {
					var p [4]byte
					binary.LittleEndian.PutUint32(p[:], uint32((w*rounds+r)*per+i))
					assert.NoError(t, s.Send(context.Background(), frame.Header{}, p[:]))
				}
				s.Close()
			}
		})
	}
	wg.Wait()
	close(stop)
	watch.Wait()
	select {
	case <-all:
	case <-time.After(10 * time.Second):
		t.Fatalf("%d of %d echoes", got, len(seen))
	}
	for i, n := range seen {
		require.Equal(t, 1, n, "message %d", i)
	}
	require.Eventually(t, func() bool { return !socket.HoldsQueue(c) }, 10*time.Second, time.Millisecond)
}
