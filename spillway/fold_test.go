package spillway

import (
	"context"
	"testing"

	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fold folds v into the tail of s's lane if there is one, the way
// socket.Sender batches small messages; it reports whether it did.
func fold(t *testing.T, s *Sender[[]int], v int) bool {
	t.Helper()
	folded, err := s.Fold(context.Background(), 1, func(tail *[]int) bool {
		*tail = append(*tail, v)
		return true
	})
	require.NoError(t, err)
	return folded
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
	never := func(*[]int) bool { t.Error("a closed Sender offered a tail"); return false }
	folded, err := s.Fold(context.Background(), 1, never)
	assert.False(t, folded)
	assert.ErrorIs(t, err, ErrSenderClosed)

	require.NoError(t, tx.Send(context.Background(), []int{2}))
	var back [][]int
	rx.Close(func(v []int) { back = append(back, v) })
	folded, err = tx.Fold(context.Background(), 1, never)
	assert.False(t, folded, "a closed lane offers no tail")
	assert.NoError(t, err)
	tx.Close()
	assert.Equal(t, [][]int{{1}, {2}}, back)
}

// Fold takes the weight first: with the budget spent it waits (here: ctx
// is cancelled), and a declined fold gives the weight back.
func TestFoldWeight(t *testing.T) {
	weight := func(v []int) int64 { return int64(len(v)) }
	tx, rx := New(Options[[]int]{Lanes: 1, MaxWeight: 2, Weight: weight})
	defer rx.Close(nil)
	defer tx.Close()
	require.NoError(t, tx.Send(context.Background(), []int{1, 2}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	folded, err := tx.Fold(ctx, 1, func(*[]int) bool { called = true; return true })
	assert.ErrorIs(t, err, context.Canceled, "the budget is spent: Fold waits")
	assert.False(t, folded)
	assert.False(t, called)
	_, err = rx.TryRecvBatch(nil)
	require.NoError(t, err)
	require.NoError(t, tx.Send(context.Background(), []int{1}))
	folded, err = tx.Fold(context.Background(), 1, func(*[]int) bool { return false })
	require.NoError(t, err)
	assert.False(t, folded, "declined")
	assert.Equal(t, int64(1), tx.st.c.weight.Load(), "a declined fold gives its weight back")
}

// A fold allocates nothing: the func literal stays on the caller's stack.
func TestFoldAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	weight := func(v []int) int64 { return int64(len(v)) }
	tx, rx := New(Options[[]int]{Lanes: 1, LaneCapacity: 1 << 20, MaxWeight: 1 << 30, Weight: weight})
	defer rx.Close(nil)
	defer tx.Close()
	require.NoError(t, tx.Send(context.Background(), make([]int, 0, 1<<12)))
	n := 0
	allocs := testing.AllocsPerRun(1000, func() {
		n++
		v := n
		if _, err := tx.Fold(context.Background(), 1, func(tail *[]int) bool {
			*tail = append(*tail, v)
			return true
		}); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

// Pending sees a sent value until a receive call takes it.
func TestPending(t *testing.T) {
	tx, rx := New(Options[[]int]{Lanes: 2})
	defer rx.Close(nil)
	defer tx.Close()
	assert.False(t, rx.Pending())
	require.NoError(t, tx.Send(context.Background(), []int{1}))
	assert.True(t, rx.Pending())
	assert.True(t, fold(t, tx, 2))
	assert.True(t, rx.Pending())
	got, err := rx.TryRecvBatch(nil)
	require.NoError(t, err)
	assert.Equal(t, [][]int{{1, 2}}, got)
	assert.False(t, rx.Pending())
}

// A value sent with SendCounted counts as n against the lane's capacity,
// until the receiver takes it; a count above the capacity is refused.
func TestSendCounted(t *testing.T) {
	tx, rx := New(Options[[]int]{Lanes: 1, LaneCapacity: 4, FailWhenFull: true})
	defer rx.Close(nil)
	defer tx.Close()
	ctx := context.Background()

	assert.ErrorIs(t, tx.SendCounted(ctx, []int{0}, 5), ErrBatchTooLarge)
	require.NoError(t, tx.SendCounted(ctx, []int{1, 2, 3}, 3))
	assert.ErrorIs(t, tx.SendCounted(ctx, []int{4, 5}, 2), ErrFull, "3 + 2 > 4")
	assert.True(t, fold(t, tx, 4), "room for one more, by folding")
	assert.False(t, fold(t, tx, 5), "the lane is full")
	assert.ErrorIs(t, tx.Send(ctx, []int{6}), ErrFull, "the lane is full")

	got, ok := rx.TryRecv()
	require.True(t, ok)
	assert.Equal(t, []int{1, 2, 3, 4}, got)
	require.NoError(t, tx.SendCounted(ctx, []int{7, 8, 9, 10}, 4), "taking the value made room for four")
	assert.ErrorIs(t, tx.SendCounted(ctx, nil, 0), ErrFull, "a count below 1 counts as 1")
}

// TryFold answers without waiting: NoTail where Fold declines (no lane
// yet, an empty, full or closed lane, a closed Sender, fold declining),
// NoWeight where Fold would wait for the budget, and takes the weight only
// for a value it folded.
func TestTryFold(t *testing.T) {
	weight := func(v []int) int64 { return int64(len(v)) }
	tx, rx := New(Options[[]int]{Lanes: 1, LaneCapacity: 3, MaxWeight: 4, Weight: weight})
	defer rx.Close(nil)
	defer tx.Close()
	add := func(v int) func(*[]int) bool {
		return func(tail *[]int) bool { *tail = append(*tail, v); return true }
	}
	never := func(*[]int) bool { t.Error("offered a tail"); return false }
	c := tx.st.c

	assert.Equal(t, NoTail, tx.TryFold(1, never), "no lane yet")
	require.NoError(t, tx.Send(context.Background(), []int{1}))
	assert.Equal(t, Folded, tx.TryFold(1, add(2)))
	assert.Equal(t, int64(2), c.weight.Load())
	assert.Equal(t, NoTail, tx.TryFold(1, func(*[]int) bool { return false }), "fold declined")
	assert.Equal(t, int64(2), c.weight.Load(), "a declined fold gives its weight back")
	assert.Equal(t, NoWeight, tx.TryFold(3, never), "2 + 3 over the budget of 4")
	assert.Equal(t, int64(2), c.weight.Load())
	assert.Equal(t, Folded, tx.TryFold(1, add(3)))
	assert.Equal(t, NoTail, tx.TryFold(0, never), "one value and two folded fill a lane of 3")

	got, err := rx.TryRecvBatch(nil)
	require.NoError(t, err)
	assert.Equal(t, [][]int{{1, 2, 3}}, got)
	assert.Zero(t, c.weight.Load())
	assert.Equal(t, NoTail, tx.TryFold(1, never), "an empty lane has no tail")

	s := tx.Clone()
	require.NoError(t, s.Send(context.Background(), []int{1}))
	s.Close()
	assert.Equal(t, NoTail, s.TryFold(1, never), "a closed Sender")
	_, _ = rx.TryRecvBatch(nil)

	require.NoError(t, tx.Send(context.Background(), []int{5}))
	rx.Close(nil)
	assert.Equal(t, NoTail, tx.TryFold(1, never), "a closed lane")
}

func TestTryFoldAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	tx, rx := New(Options[[]int]{Lanes: 1, LaneCapacity: 1 << 20})
	defer rx.Close(nil)
	defer tx.Close()
	require.NoError(t, tx.Send(context.Background(), make([]int, 0, 1<<20)))
	v := 0
	allocs := testing.AllocsPerRun(1000, func() {
		v++
		if tx.TryFold(1, func(tail *[]int) bool { *tail = append(*tail, v); return true }) != Folded {
			t.Fatal("not folded")
		}
	})
	assert.Zero(t, allocs)
}
