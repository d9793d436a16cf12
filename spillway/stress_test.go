package spillway

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tagged identifies a value by its sender and its position in that
// sender's stream.
type tagged struct {
	sender, seq int
}

type recvMode int

const (
	modeBatch recvMode = iota
	modeOne
	modeTryBatch
)

type stressCase struct {
	opts       Options[tagged]
	senders    int
	perSender  int
	closeAfter int // close the receiver once this many values were received; -1: let the senders close
	mode       recvMode
	seed       uint64
}

func (c stressCase) String() string {
	return fmt.Sprintf("senders=%d per=%d lanes=%d cap=%d maxw=%d fail=%v close=%d mode=%d seed=%d",
		c.senders, c.perSender, c.opts.Lanes, c.opts.LaneCapacity, c.opts.MaxWeight,
		c.opts.FailWhenFull, c.closeAfter, c.mode, c.seed)
}

// runStress runs senders against one receiver and checks that every value
// whose send succeeded was either received or handed back, exactly once, in
// per-sender order, and that nothing else came out.
func runStress(t *testing.T, c stressCase) {
	t.Helper()
	tx, rx := New(c.opts)
	ctx := context.Background()

	accepted := make([]int, c.senders) // values 0..accepted[i]-1 of sender i were accepted
	var sendWG sync.WaitGroup
	for i := range c.senders {
		s := tx.Clone()
		rng := rand.New(rand.NewPCG(c.seed, uint64(i)))
		sendWG.Go(func() {
			defer s.Close()
			batch := make([]tagged, 0, 8)
			for seq := 0; seq < c.perSender; {
				n := 1
				var err error
				if rng.IntN(3) == 0 {
					n = min(1+rng.IntN(8), c.perSender-seq, max(c.opts.LaneCapacity, 1))
					batch = batch[:0]
					for k := range n {
						batch = append(batch, tagged{i, seq + k})
					}
					err = s.SendBatch(ctx, batch)
				} else {
					err = s.Send(ctx, tagged{i, seq})
				}
				switch {
				case err == nil:
					seq += n
					accepted[i] = seq
				case errors.Is(err, ErrFull):
					runtime.Gosched() // retry the same values
				case errors.Is(err, ErrClosed):
					return
				default:
					t.Errorf("sender %d: unexpected error %v", i, err)
					return
				}
			}
		})
	}
	tx.Close()

	var handed []tagged
	closeNow := make(chan struct{})
	closerDone := make(chan struct{})
	go func() {
		defer close(closerDone)
		if c.closeAfter < 0 {
			return
		}
		<-closeNow
		for range rand.IntN(20) {
			runtime.Gosched()
		}
		rx.Close(func(v tagged) { handed = append(handed, v) })
	}()

	var received []tagged
	var buf []tagged
	signalled := false
	var endErr error
	for endErr == nil {
		var err error
		switch c.mode {
		case modeBatch:
			buf, err = rx.RecvBatch(ctx, buf[:0])
			received = append(received, buf...)
		case modeOne:
			var v tagged
			v, err = rx.Recv(ctx)
			if err == nil {
				received = append(received, v)
			}
		case modeTryBatch:
			n := len(received)
			received, err = rx.TryRecvBatch(received)
			if err == nil && len(received) == n {
				runtime.Gosched()
			}
		}
		if err != nil {
			endErr = err
		}
		if !signalled && c.closeAfter >= 0 && len(received) >= c.closeAfter {
			signalled = true
			close(closeNow)
		}
	}
	if !signalled {
		close(closeNow)
	}
	<-closerDone
	sendWG.Wait()
	if c.closeAfter < 0 {
		require.ErrorIs(t, endErr, ErrDrained)
		assert.Empty(t, handed)
	} else if !errors.Is(endErr, ErrDrained) {
		require.ErrorIs(t, endErr, ErrClosed)
	}
	rx.Close(nil) // no-op if already closed; otherwise nothing may be left

	// Per sender: received values are 0..r-1 in order, handed-back values
	// continue r..accepted-1 in order.
	next := make([]int, c.senders)
	for _, v := range received {
		require.Equal(t, next[v.sender], v.seq, "received out of order or duplicated: %+v", v)
		next[v.sender]++
	}
	for _, v := range handed {
		require.Equal(t, next[v.sender], v.seq, "handed back out of order or duplicated: %+v", v)
		next[v.sender]++
	}
	assert.Equal(t, accepted, next, "every accepted value is received or handed back")
	total := 0
	for _, a := range accepted {
		total += a
	}
	assert.Equal(t, total, len(received)+len(handed))
	if c.closeAfter < 0 {
		assert.Equal(t, c.senders*c.perSender, total)
	}
}

func TestStressCloseAtRandomMoments(t *testing.T) {
	weigh := func(v tagged) int64 { return int64(v.seq % 7) }
	optsList := []Options[tagged]{
		{},
		{LaneCapacity: 4},
		{Lanes: 3, LaneCapacity: 8},
		{LaneCapacity: 16, FailWhenFull: true},
		{LaneCapacity: 32, MaxWeight: 40, Weight: weigh},
		{Lanes: 5, LaneCapacity: 8, MaxWeight: 20, Weight: weigh, FailWhenFull: true},
	}
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	per := 400
	if testing.Short() {
		per = 100
	}
	iter := 0
	for _, senders := range []int{1, 4, 16, 64} {
		for oi, opts := range optsList {
			for _, mode := range []recvMode{modeBatch, modeOne, modeTryBatch} {
				total := senders * per
				c := stressCase{
					opts: opts, senders: senders, perSender: per, mode: mode,
					closeAfter: rng.IntN(total + total/4), // sometimes after everything: drained first
					seed:       seed + uint64(iter),
				}
				if (oi+int(mode))%4 == 0 {
					c.closeAfter = -1
				}
				iter++
				t.Run(c.String(), func(t *testing.T) { runStress(t, c) })
			}
		}
	}
}
