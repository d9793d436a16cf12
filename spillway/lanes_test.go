package spillway

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A lane is allocated on its Sender's first send, not when the Sender is
// made, and freed once its last open Sender has closed and it is empty,
// whichever of the two happens last.
func TestLaneLifetime(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name        string
		recvFirst   bool // the receiver empties the lane before the Sender closes
		wantAfterRx bool // the lane is still there after the receive
	}{
		{"close then receive", false, false},
		{"receive then close", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, rx := New(Options[int]{Lanes: 2})
			defer rx.Close(nil)
			defer tx.Close()
			c := tx.st.c
			s := tx.Clone() // lane 1
			assert.Nil(t, c.lanes[0].Load(), "the root has not sent: no lane")
			assert.Nil(t, c.lanes[1].Load(), "the clone has not sent: no lane")
			require.NoError(t, s.Send(ctx, 7))
			l := c.lanes[1].Load()
			require.NotNil(t, l)
			if !tt.recvFirst {
				s.Close()
				assert.Same(t, l, c.lanes[1].Load(), "a lane with values outlives its Sender")
			}
			got, err := rx.TryRecvBatch(nil)
			require.NoError(t, err)
			assert.Equal(t, []int{7}, got)
			assert.Equal(t, tt.wantAfterRx, c.lanes[1].Load() != nil)
			if tt.recvFirst {
				s.Close()
			}
			assert.Nil(t, c.lanes[1].Load(), "no open Sender and empty: freed")
			assert.True(t, l.dead)

			// The slot takes a new lane for the next Sender assigned to it.
			s0 := tx.Clone() // lane 0
			defer s0.Close()
			s2 := tx.Clone() // lane 1
			require.NoError(t, s2.Send(ctx, 8))
			assert.NotSame(t, l, c.lanes[1].Load())
			got, err = rx.TryRecvBatch(nil)
			require.NoError(t, err)
			assert.Equal(t, []int{8}, got)
			s2.Close()
		})
	}
}

// A lane shared by several Senders lives until the last of them closes; a
// closed Sender's Fold does not keep it alive.
func TestSharedLaneFreedByLastSender(t *testing.T) {
	ctx := context.Background()
	tx, rx := New(Options[int]{Lanes: 1})
	defer rx.Close(nil)
	c := tx.st.c
	a, b := tx.Clone(), tx.Clone()
	require.NoError(t, a.Send(ctx, 1))
	require.NoError(t, b.Send(ctx, 2))
	l := c.lanes[0].Load()
	require.NotNil(t, l)
	a.Close()
	got, err := rx.TryRecvBatch(nil)
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2}, got)
	assert.Same(t, l, c.lanes[0].Load(), "b is open and attached")
	b.Close()
	assert.Nil(t, c.lanes[0].Load(), "tx never sent, so it is not attached: b was the last")
	assert.True(t, l.dead)
	tx.Close()

	closed := tx.Clone()
	folded, err := closed.Fold(ctx, 0, func(*int) bool { return true })
	assert.False(t, folded, "a closed Sender gets no tail")
	assert.ErrorIs(t, err, ErrSenderClosed)
	if l2 := c.lanes[0].Load(); l2 != nil {
		assert.Zero(t, l2.senders, "a closed Sender is not counted in its lane")
	}
	_, err = rx.TryRecvBatch(nil)
	assert.ErrorIs(t, err, ErrDrained)
}

// Senders come and go on few lanes while the receiver drains: lanes are
// freed and made again concurrently, and every value arrives exactly once.
func TestStressLaneChurn(t *testing.T) {
	ctx := context.Background()
	tx, rx := New(Options[int]{Lanes: 2, LaneCapacity: 4})
	const workers, rounds = 8, 300
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				s := tx.Clone()
				n := 1 + r%3
				for k := range n {
					if err := s.Send(ctx, w*rounds*4+r*4+k); err != nil {
						panic(err)
					}
				}
				s.Close()
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); tx.Close(); close(done) }()
	seen := make(map[int]bool)
	var buf []int
	for {
		var err error
		buf, err = rx.RecvBatch(ctx, buf[:0])
		for _, v := range buf {
			require.False(t, seen[v], "value %d received twice", v)
			seen[v] = true
		}
		if err != nil {
			require.ErrorIs(t, err, ErrDrained)
			break
		}
	}
	<-done
	want := 0
	for r := range rounds {
		want += 1 + r%3
	}
	assert.Len(t, seen, workers*want)
	rx.Close(nil)
	for i := range tx.st.c.lanes {
		assert.Nil(t, tx.st.c.lanes[i].Load(), "every Sender closed and the queue drained: no lane left")
	}
}
