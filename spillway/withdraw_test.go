package spillway

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWithdraw(t *testing.T) {
	ctx := context.Background()
	is := func(n int) func(*int) bool { return func(v *int) bool { return *v == n } }
	tx, rx := New(Options[int]{LaneCapacity: 3, MaxWeight: 30, Weight: func(v int) int64 { return int64(v) }})
	defer rx.Close(nil)
	defer tx.Close()

	assert.False(t, tx.Withdraw(is(1)), "nothing queued yet")
	for _, v := range []int{10, 11, 9} {
		require.NoError(t, tx.Send(ctx, v))
	}
	// Lane and weight are both full: a fourth send waits.
	errc := make(chan error, 1)
	go func() { errc <- tx.Send(ctx, 8) }()
	waitUntilWaiting(t, tx.st.c, 1)
	assert.False(t, tx.Withdraw(is(7)), "no such value")
	require.True(t, tx.Withdraw(is(11)), "queued, not taken")
	require.NoError(t, <-errc, "the withdrawn value's slot and weight went back")
	assert.Equal(t, int64(27), tx.st.c.weight.Load())

	got, err := rx.RecvBatch(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, []int{10, 9, 8}, got, "the others, in order")
	assert.False(t, tx.Withdraw(is(9)), "taken by the receiver")
	assert.Equal(t, int64(0), tx.st.c.weight.Load())

	// In a lane that took folds, a value no fold went into is still
	// withdrawn, with its own slot and weight; the folded one stays.
	require.NoError(t, tx.Send(ctx, 5))
	folded, err := tx.Fold(ctx, 1, func(v *int) bool { *v += 1; return true })
	require.NoError(t, err)
	require.True(t, folded)
	require.NoError(t, tx.Send(ctx, 3))
	require.True(t, tx.Withdraw(is(3)), "a plain value behind a folded one")
	assert.Equal(t, int64(6), tx.st.c.weight.Load(), "5 + the fold's 1")
	got, err = rx.RecvBatch(ctx, got[:0])
	require.NoError(t, err)
	assert.Equal(t, []int{6}, got)
	assert.Equal(t, int64(0), tx.st.c.weight.Load())

	// After Receiver.Close nothing is withdrawn (Close handed it back).
	require.NoError(t, tx.Send(ctx, 4))
	var back []int
	rx.Close(func(v int) { back = append(back, v) })
	assert.Equal(t, []int{4}, back)
	assert.False(t, tx.Withdraw(is(4)))
}
