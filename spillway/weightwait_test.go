package spillway

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// weightWaiting reports how many senders wait for weight now.
func (c *core[T]) weightWaiting() int {
	if ws := c.room.Load(); ws != nil {
		return int(ws.n.Load())
	}
	return 0
}

// waitUntilWaiting yields until n senders wait for weight.
func waitUntilWaiting[T any](t *testing.T, c *core[T], n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.weightWaiting() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d senders waiting for weight, want %d", c.weightWaiting(), n)
		}
		runtime.Gosched()
	}
}

// A sender that waits for weight (Options.MaxWeight) allocates nothing once
// warmed up: its wake-up is a reused channel, not a new closed one.
func TestWeightWaitAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	ctx := context.Background()
	tx, rx := New(Options[int]{MaxWeight: 1, Weight: func(int) int64 { return 1 }})
	defer rx.Close(nil)
	defer tx.Close()
	go1, go2 := make(chan struct{}), make(chan struct{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // takes one value each round, once the sender waits
		defer wg.Done()
		for {
			select {
			case <-go1:
			case <-stop:
				return
			}
			waitUntilWaiting(t, tx.st.c, 1)
			if _, err := rx.Recv(ctx); err != nil {
				panic(err)
			}
			go2 <- struct{}{}
		}
	}()
	require.NoError(t, tx.Send(ctx, 0)) // the budget is spent
	round := func() {
		go1 <- struct{}{}
		if err := tx.Send(ctx, 1); err != nil { // waits until the receiver takes one
			panic(err)
		}
		<-go2
	}
	for range 3 {
		round()
	}
	assert.Zero(t, testing.AllocsPerRun(50, round), "allocs per send that waited for weight")
	close(stop)
	wg.Wait()
}

// Many senders waiting for weight at once are all woken as weight is
// released, and a sender whose wait is canceled leaves nothing behind.
func TestWeightWaitManyAndCancel(t *testing.T) {
	ctx := context.Background()
	tx, rx := New(Options[int]{MaxWeight: 4, Weight: func(int) int64 { return 4 }})
	defer rx.Close(nil)
	defer tx.Close()
	require.NoError(t, tx.Send(ctx, 0))

	// A canceled wait unregisters its waiter.
	cctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- tx.Send(cctx, 1) }()
	waitUntilWaiting(t, tx.st.c, 1)
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	assert.Equal(t, 0, tx.st.c.weightWaiting())

	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		s := tx.Clone()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.Close()
			assert.NoError(t, s.Send(ctx, i+1))
		}()
	}
	waitUntilWaiting(t, tx.st.c, n)
	for range n + 1 {
		_, err := rx.Recv(ctx)
		require.NoError(t, err)
	}
	wg.Wait()
	assert.Equal(t, 0, tx.st.c.weightWaiting())

	// Close wakes waiters with ErrClosed.
	require.NoError(t, tx.Send(ctx, 0))
	go func() { errc <- tx.Send(ctx, 1) }()
	waitUntilWaiting(t, tx.st.c, 1)
	rx.Close(nil)
	require.ErrorIs(t, <-errc, ErrClosed)
}
