package spillway

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fold folds v into the tail of s's lane if there is one, the way
// socket.Sender batches small messages; it reports whether it did.
func fold(t *testing.T, s *Sender[[]int], v int) bool {
	t.Helper()
	require.NoError(t, s.Reserve(context.Background(), 1))
	if tail := s.LockTail(); tail != nil {
		*tail = append(*tail, v)
		s.UnlockTail(true, 1)
		return true
	}
	s.UnlockTail(false, 0)
	s.Unreserve(1)
	return false
}

func TestFoldIntoTail(t *testing.T) {
	weight := func(v []int) int64 { return int64(len(v)) }
	tx, rx := New(Options[[]int]{Lanes: 1, LaneCapacity: 4, MaxWeight: 100, Weight: weight, FailWhenFull: true})
	defer rx.Close(nil)
	defer tx.Close()

	assert.False(t, fold(t, tx, 0), "an empty lane has no tail")
	require.NoError(t, tx.Send(context.Background(), []int{1}))
	assert.True(t, fold(t, tx, 2))
	assert.True(t, fold(t, tx, 3))
	assert.Equal(t, int64(3), tx.st.c.weight.Load(), "folded values weigh as sent ones")
	// Capacity 4: one value plus two folded ones leave room for one more,
	// by folding or sending, then the lane is full either way.
	assert.True(t, fold(t, tx, 4))
	assert.False(t, fold(t, tx, 5), "a full lane refuses a fold")
	assert.ErrorIs(t, tx.Send(context.Background(), []int{5}), ErrFull)

	got, err := rx.TryRecvBatch(nil)
	require.NoError(t, err)
	assert.Equal(t, [][]int{{1, 2, 3, 4}}, got)
	assert.Zero(t, tx.st.c.weight.Load(), "taking the lane releases the folded weight")

	// After the take the lane is empty again: capacity is back.
	for i := range 4 {
		require.NoError(t, tx.Send(context.Background(), []int{i}))
	}
	assert.ErrorIs(t, tx.Send(context.Background(), []int{9}), ErrFull)
}

func TestFoldRefusedWhenClosed(t *testing.T) {
	tx, rx := New(Options[[]int]{Lanes: 1})
	s := tx.Clone()
	require.NoError(t, s.Send(context.Background(), []int{1}))
	s.Close()
	assert.Nil(t, s.LockTail(), "a closed Sender gets no tail")
	s.UnlockTail(false, 0)
	assert.ErrorIs(t, s.Reserve(context.Background(), 1), ErrSenderClosed)

	require.NoError(t, tx.Send(context.Background(), []int{2}))
	var back [][]int
	rx.Close(func(v []int) { back = append(back, v) })
	assert.Nil(t, tx.LockTail(), "a closed lane gets no tail")
	tx.UnlockTail(false, 0)
	tx.Close()
	assert.Equal(t, [][]int{{1}, {2}}, back)
}

func TestReserveBlocksOnWeight(t *testing.T) {
	weight := func(v []int) int64 { return int64(len(v)) }
	tx, rx := New(Options[[]int]{Lanes: 1, MaxWeight: 2, Weight: weight})
	defer rx.Close(nil)
	defer tx.Close()
	require.NoError(t, tx.Send(context.Background(), []int{1, 2}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, tx.Reserve(ctx, 1), context.Canceled, "the budget is spent: Reserve waits")
	_, err := rx.TryRecvBatch(nil)
	require.NoError(t, err)
	require.NoError(t, tx.Reserve(context.Background(), 2))
	tx.Unreserve(2)
	assert.Zero(t, tx.st.c.weight.Load())
}
