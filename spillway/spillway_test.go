package spillway

import (
	"context"
	"errors"
	"io"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

func TestOptionsValidate(t *testing.T) {
	w := func(int) int64 { return 1 }
	tests := []struct {
		name  string
		opts  Options[int]
		field string
	}{
		{"zero value", Options[int]{}, ""},
		{"all set", Options[int]{Lanes: 3, LaneCapacity: 9, MaxWeight: 10, Weight: w, FailWhenFull: true}, ""},
		{"max lanes", Options[int]{Lanes: MaxLanes}, ""},
		{"negative lanes", Options[int]{Lanes: -1}, "Lanes"},
		{"too many lanes", Options[int]{Lanes: MaxLanes + 1}, "Lanes"},
		{"negative capacity", Options[int]{LaneCapacity: -1}, "LaneCapacity"},
		{"capacity too large", Options[int]{LaneCapacity: MaxLaneCapacity + 1}, "LaneCapacity"},
		{"negative weight", Options[int]{MaxWeight: -1, Weight: w}, "MaxWeight"},
		{"weight bound without func", Options[int]{MaxWeight: 5}, "Weight"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.Validate()
			if tt.field == "" {
				require.NoError(t, err)
				tx, rx := New(tt.opts)
				tx.Close()
				rx.Close(nil)
				return
			}
			require.ErrorIs(t, err, ErrInvalidOptions)
			var ce *OptionError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.field, ce.Field)
			assert.Contains(t, err.Error(), "spillway: invalid options: "+tt.field)
			assert.PanicsWithError(t, err.Error(), func() { New(tt.opts) })
		})
	}
}

// fill sends until ErrFull and returns how many were accepted.
func fill(t *testing.T, s *Sender[int], limit int) int {
	t.Helper()
	for i := 0; i < limit; i++ {
		if err := s.Send(context.Background(), i); err != nil {
			require.ErrorIs(t, err, ErrFull)
			return i
		}
	}
	t.Fatalf("no ErrFull after %d sends", limit)
	return 0
}

func TestLaneCapacity(t *testing.T) {
	tests := []struct {
		name string
		cap  int
		want int
	}{
		{"default", 0, DefaultLaneCapacity},
		{"one", 1, 1},
		{"seven", 7, 7},
		{"large", 5000, 5000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, rx := New(Options[int]{LaneCapacity: tt.cap, FailWhenFull: true})
			defer rx.Close(nil)
			defer tx.Close()
			assert.Equal(t, tt.want, fill(t, tx, 1<<20))
			// Another sender has its own lane and its own room.
			other := tx.Clone()
			defer other.Close()
			assert.Equal(t, tt.want, fill(t, other, 1<<20))
			// Draining gives the room back.
			got, err := rx.RecvBatch(context.Background(), nil)
			require.NoError(t, err)
			assert.Len(t, got, 2*tt.want)
			assert.Equal(t, tt.want, fill(t, tx, 1<<20))
		})
	}
}

func TestLanesRoundRobin(t *testing.T) {
	tx, rx := New(Options[int]{Lanes: 3, LaneCapacity: 2, FailWhenFull: true})
	defer rx.Close(nil)
	defer tx.Close()
	senders := []*Sender[int]{tx}
	for range 5 {
		s := tx.Clone()
		defer s.Close()
		senders = append(senders, s)
	}
	// Senders 0 and 3 share lane 0: together they fill its 2 slots.
	require.NoError(t, senders[0].Send(context.Background(), 1))
	require.NoError(t, senders[3].Send(context.Background(), 2))
	require.ErrorIs(t, senders[0].Send(context.Background(), 3), ErrFull)
	require.ErrorIs(t, senders[3].Send(context.Background(), 3), ErrFull)
	// Sender 1 is on lane 1, which is empty.
	require.NoError(t, senders[1].Send(context.Background(), 4))
}

func TestWeight(t *testing.T) {
	weigh := func(v int) int64 { return int64(v) }
	tests := []struct {
		name   string
		max    int64
		sends  []int
		accept []bool
	}{
		{"within budget", 10, []int{3, 3, 4}, []bool{true, true, true}},
		{"over budget", 10, []int{6, 5, 4, 1}, []bool{true, false, true, false}},
		{"heavy item into empty queue", 5, []int{9, 1}, []bool{true, false}},
		{"heavy item into non-empty queue", 5, []int{1, 9}, []bool{true, false}},
		{"negative counts as zero", 2, []int{2, -100, 1}, []bool{true, true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, rx := New(Options[int]{MaxWeight: tt.max, Weight: weigh, FailWhenFull: true})
			defer rx.Close(nil)
			defer tx.Close()
			for i, v := range tt.sends {
				err := tx.Send(context.Background(), v)
				if tt.accept[i] {
					require.NoError(t, err, "send %d", i)
				} else {
					require.ErrorIs(t, err, ErrFull, "send %d", i)
				}
			}
			// Draining releases all weight: the budget is whole again.
			_, err := rx.RecvBatch(context.Background(), nil)
			require.NoError(t, err)
			require.NoError(t, tx.Send(context.Background(), int(tt.max)))
		})
	}
}

func TestWeightAcrossLanes(t *testing.T) {
	tx, rx := New(Options[int]{MaxWeight: 10, Weight: func(v int) int64 { return int64(v) }, FailWhenFull: true})
	defer rx.Close(nil)
	defer tx.Close()
	b := tx.Clone()
	defer b.Close()
	require.NoError(t, tx.Send(context.Background(), 6))
	require.ErrorIs(t, b.Send(context.Background(), 5), ErrFull)
	require.ErrorIs(t, b.SendBatch(context.Background(), []int{2, 3}), ErrFull)
	require.NoError(t, b.SendBatch(context.Background(), []int{2, 2}))
	v, ok := rx.TryRecv() // takes tx's lane batch: its weight is released
	require.True(t, ok)
	assert.Equal(t, 6, v)
	require.NoError(t, b.Send(context.Background(), 6))
}

func TestBlockingSendWaitsForContext(t *testing.T) {
	tests := []struct {
		name string
		opts Options[int]
		pre  []int
	}{
		{"lane full", Options[int]{LaneCapacity: 2}, []int{1, 1}},
		{"weight full", Options[int]{MaxWeight: 3, Weight: func(v int) int64 { return int64(v) }}, []int{3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, rx := New(tt.opts)
			defer rx.Close(nil)
			defer tx.Close()
			for _, v := range tt.pre {
				require.NoError(t, tx.Send(context.Background(), v))
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			require.ErrorIs(t, tx.Send(ctx, 1), context.DeadlineExceeded)
			require.ErrorIs(t, tx.SendBatch(ctx, []int{1}), context.DeadlineExceeded)
			canceled, cancel2 := context.WithCancel(context.Background())
			cancel2()
			require.ErrorIs(t, tx.Send(canceled, 1), context.Canceled)
			// The failed sends left nothing behind.
			got, err := rx.TryRecvBatch(nil)
			require.NoError(t, err)
			assert.Equal(t, tt.pre, got)
			// With room, a canceled context does not matter.
			require.NoError(t, tx.Send(canceled, 1))
		})
	}
}

func TestBlockedSendResumes(t *testing.T) {
	tests := []struct {
		name string
		opts Options[int]
	}{
		{"lane full", Options[int]{LaneCapacity: 1}},
		{"weight full", Options[int]{MaxWeight: 1, Weight: func(int) int64 { return 1 }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, rx := New(tt.opts)
			defer rx.Close(nil)
			require.NoError(t, tx.Send(context.Background(), 0))
			done := make(chan error, 1)
			go func() {
				defer tx.Close()
				done <- tx.SendBatch(context.Background(), []int{1})
			}()
			var got []int
			var err error
			for len(got) < 2 {
				got, err = rx.RecvBatch(context.Background(), got)
				require.NoError(t, err)
			}
			require.NoError(t, <-done)
			assert.Equal(t, []int{0, 1}, got)
			_, err = rx.RecvBatch(context.Background(), nil)
			require.ErrorIs(t, err, ErrDrained)
		})
	}
}

func TestCloseWakesBlockedSenders(t *testing.T) {
	tests := []struct {
		name string
		opts Options[int]
	}{
		{"lane full", Options[int]{LaneCapacity: 1}},
		{"weight full", Options[int]{MaxWeight: 1, Weight: func(int) int64 { return 1 }}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tx, rx := New(tt.opts)
			require.NoError(t, tx.Send(context.Background(), 0))
			var wg sync.WaitGroup
			errs := make([]error, 4)
			for i := range errs {
				s := tx.Clone()
				wg.Go(func() {
					defer s.Close()
					if i%2 == 0 {
						errs[i] = s.Send(context.Background(), 10+i)
					} else {
						errs[i] = s.SendBatch(context.Background(), []int{10 + i})
					}
				})
			}
			tx.Close()
			var handed []int
			// Close at an arbitrary point while senders block or succeed.
			runtime.Gosched()
			rx.Close(func(v int) { handed = append(handed, v) })
			wg.Wait()
			accepted := 1
			for _, err := range errs {
				if err == nil {
					accepted++
				} else {
					require.ErrorIs(t, err, ErrClosed)
				}
			}
			assert.Len(t, handed, accepted)
			assert.Equal(t, 0, handed[0])
		})
	}
}

func TestOrderPerSenderAndBatchTogether(t *testing.T) {
	ctx := context.Background()
	tx, rx := New(Options[int]{Lanes: 2})
	a, b, c := tx.Clone(), tx.Clone(), tx.Clone() // c shares a lane with a
	tx.Close()
	require.NoError(t, a.Send(ctx, 100))
	require.NoError(t, c.Send(ctx, 300))
	require.NoError(t, b.Send(ctx, 200))
	require.NoError(t, a.SendBatch(ctx, []int{101, 102, 103}))
	require.NoError(t, c.Send(ctx, 301))
	require.NoError(t, b.SendBatch(ctx, []int{201, 202}))
	require.NoError(t, a.SendBatch(ctx, nil))
	a.Close()
	b.Close()
	c.Close()
	got, err := rx.RecvBatch(ctx, nil)
	require.NoError(t, err)
	require.Len(t, got, 9)
	perSender := map[int][]int{}
	for _, v := range got {
		perSender[v/100] = append(perSender[v/100], v)
	}
	assert.Equal(t, []int{100, 101, 102, 103}, perSender[1])
	assert.Equal(t, []int{200, 201, 202}, perSender[2])
	assert.Equal(t, []int{300, 301}, perSender[3])
	// The batch 101..103 is contiguous.
	i := indexOf(got, 101)
	assert.Equal(t, []int{101, 102, 103}, got[i:i+3])
	_, err = rx.RecvBatch(ctx, nil)
	require.ErrorIs(t, err, ErrDrained)
	require.ErrorIs(t, err, io.EOF)
	assert.Equal(t, "spillway: drained", err.Error())
}

func indexOf(s []int, v int) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestSendBatchLimits(t *testing.T) {
	tx, rx := New(Options[int]{LaneCapacity: 4, FailWhenFull: true})
	defer rx.Close(nil)
	defer tx.Close()
	require.ErrorIs(t, tx.SendBatch(context.Background(), make([]int, 5)), ErrBatchTooLarge)
	require.NoError(t, tx.SendBatch(context.Background(), []int{}))
	require.NoError(t, tx.SendBatch(context.Background(), []int{1, 2, 3}))
	require.ErrorIs(t, tx.SendBatch(context.Background(), []int{4, 5}), ErrFull)
	require.NoError(t, tx.SendBatch(context.Background(), []int{4}))
	got, err := rx.TryRecvBatch(nil)
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2, 3, 4}, got)
}

func TestRecvAndTryRecv(t *testing.T) {
	ctx := context.Background()
	tx, rx := New(Options[int]{})
	v, ok := rx.TryRecv()
	assert.False(t, ok)
	assert.Zero(t, v)
	got, err := rx.TryRecvBatch(nil)
	require.NoError(t, err)
	assert.Empty(t, got)
	require.NoError(t, tx.SendBatch(ctx, []int{1, 2, 3}))
	v, err = rx.Recv(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, v)
	v, ok = rx.TryRecv()
	require.True(t, ok)
	assert.Equal(t, 2, v)
	require.NoError(t, tx.Send(ctx, 4))
	// RecvBatch returns what Recv had taken first, then the lanes.
	got, err = rx.RecvBatch(ctx, []int{0})
	require.NoError(t, err)
	assert.Equal(t, []int{0, 3, 4}, got)
	tx.Close()
	_, err = rx.Recv(ctx)
	require.ErrorIs(t, err, ErrDrained)
	_, ok = rx.TryRecv()
	assert.False(t, ok)
	_, err = rx.TryRecvBatch(nil)
	require.ErrorIs(t, err, ErrDrained)
	rx.Close(func(int) { t.Fatal("nothing to hand back") })
	_, err = rx.Recv(ctx)
	require.ErrorIs(t, err, ErrClosed)
}

func TestRecvParksUntilSend(t *testing.T) {
	ctx := context.Background()
	tx, rx := New(Options[int]{})
	defer rx.Close(nil)
	s := tx.Clone()
	tx.Close()
	res := make(chan int, 1)
	go func() {
		v, err := rx.Recv(ctx)
		if err != nil {
			v = -1
		}
		res <- v
	}()
	runtime.Gosched()
	require.NoError(t, s.Send(ctx, 42))
	assert.Equal(t, 42, <-res)
	batch := make(chan error, 1)
	go func() {
		_, err := rx.RecvBatch(ctx, nil)
		batch <- err
	}()
	s.Close() // the last sender's close wakes the parked receiver
	require.ErrorIs(t, <-batch, ErrDrained)
}

func TestRecvContext(t *testing.T) {
	tx, rx := New(Options[int]{})
	defer rx.Close(nil)
	defer tx.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := rx.Recv(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	got, err := rx.RecvBatch(ctx, []int{7})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, []int{7}, got)
	// A value that is available is returned even with an ended context.
	require.NoError(t, tx.Send(context.Background(), 1))
	got, err = rx.RecvBatch(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, []int{1}, got)
}

func TestCloseWakesParkedReceiver(t *testing.T) {
	tx, rx := New(Options[int]{})
	defer tx.Close()
	errc := make(chan error, 1)
	go func() {
		_, err := rx.RecvBatch(context.Background(), nil)
		errc <- err
	}()
	runtime.Gosched()
	rx.Close(nil)
	require.ErrorIs(t, <-errc, ErrClosed)
}

func TestCloseHandsBackInOrder(t *testing.T) {
	ctx := context.Background()
	tx, rx := New(Options[int]{})
	b := tx.Clone()
	require.NoError(t, tx.SendBatch(ctx, []int{1, 2, 3}))
	require.NoError(t, b.SendBatch(ctx, []int{10, 11}))
	v, err := rx.Recv(ctx) // takes both lanes into the receiver's buffer
	require.NoError(t, err)
	require.NoError(t, tx.Send(ctx, 4))
	require.NoError(t, b.Send(ctx, 12))
	var handed []int
	rx.Close(func(v int) { handed = append(handed, v) })
	all := append([]int{v}, handed...)
	perSender := map[int][]int{}
	for _, x := range all {
		perSender[x/10] = append(perSender[x/10], x)
	}
	assert.Equal(t, []int{1, 2, 3, 4}, perSender[0])
	assert.Equal(t, []int{10, 11, 12}, perSender[1])

	require.ErrorIs(t, tx.Send(ctx, 5), ErrClosed)
	require.ErrorIs(t, b.SendBatch(ctx, []int{13}), ErrClosed)
	late := tx.Clone() // a lane allocated after Close is closed too
	require.ErrorIs(t, late.Send(ctx, 6), ErrClosed)
	_, err = rx.RecvBatch(ctx, nil)
	require.ErrorIs(t, err, ErrClosed)
	_, err = rx.TryRecvBatch(nil)
	require.ErrorIs(t, err, ErrClosed)
	rx.Close(func(int) { t.Fatal("second Close hands back nothing") })
	tx.Close()
	b.Close()
	late.Close()
}

func TestSenderClose(t *testing.T) {
	ctx := context.Background()
	tx, rx := New(Options[int]{})
	defer rx.Close(nil)
	a := tx.Clone()
	a.Close()
	a.Close() // idempotent: must not count twice
	require.ErrorIs(t, a.Send(ctx, 1), ErrSenderClosed)
	require.ErrorIs(t, a.SendBatch(ctx, []int{1}), ErrSenderClosed)
	require.ErrorIs(t, a.Clone().Send(ctx, 1), ErrSenderClosed)
	_, err := rx.TryRecvBatch(nil)
	require.NoError(t, err, "tx is still open")
	require.NoError(t, tx.Send(ctx, 9))
	tx.Close()
	require.ErrorIs(t, tx.Clone().Send(ctx, 1), ErrSenderClosed)
	got, err := rx.TryRecvBatch(nil)
	require.NoError(t, err)
	assert.Equal(t, []int{9}, got)
	_, err = rx.TryRecvBatch(nil)
	require.ErrorIs(t, err, ErrDrained)
}

func TestDroppedSenderIsClosedByCleanup(t *testing.T) {
	tx, rx := New(Options[int]{})
	defer rx.Close(nil)
	func() {
		s := tx.Clone()
		require.NoError(t, s.Send(context.Background(), 1))
	}() // s is dropped without Close
	tx.Close()
	var got []int
	var err error
	// Cleanups run on their own goroutine after a collection: bounded by
	// time (10 s), not by a count of collections a loaded machine may
	// get through before that goroutine runs.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		runtime.GC()
		got, err = rx.TryRecvBatch(got)
		if errors.Is(err, ErrDrained) {
			break
		}
		require.NoError(t, err)
		time.Sleep(time.Millisecond)
	}
	require.ErrorIs(t, err, ErrDrained)
	assert.Equal(t, []int{1}, got)
}

func TestDroppedReceiverIsClosedByCleanup(t *testing.T) {
	tx, _ := New(Options[int]{LaneCapacity: 1})
	defer tx.Close()
	require.NoError(t, tx.Send(context.Background(), 1))
	errc := make(chan error, 1)
	go func() { errc <- tx.Send(context.Background(), 2) }() // blocks: lane full
	var err error
	for deadline := time.Now().Add(10 * time.Second); err == nil && time.Now().Before(deadline); { // as above
		runtime.GC()
		select {
		case err = <-errc:
		case <-time.After(time.Millisecond):
		}
	}
	require.ErrorIs(t, err, ErrClosed)
}

// Only a lane's empty-to-non-empty transition marks it and may wake the
// receiver; sends into a non-empty lane touch no shared state.
func TestWakeOnlyOnEmptyToNonEmpty(t *testing.T) {
	ctx := context.Background()
	tx, rx := New(Options[int]{})
	defer rx.Close(nil)
	defer tx.Close()
	c := tx.st.c
	c.wake = make(chan struct{}, 1) // as park makes it
	c.parked.Store(true)            // as if the receiver were parked
	require.NoError(t, tx.Send(ctx, 0))
	assert.Equal(t, uint64(1), c.ready[0].Load())
	assert.Len(t, c.wake, 1, "the first send wakes the receiver")
	assert.False(t, c.parked.Load())
	<-c.wake

	c.ready[0].Store(0) // as if the receiver had taken the bit
	c.parked.Store(true)
	for i := 1; i < 100; i++ {
		require.NoError(t, tx.Send(ctx, i))
	}
	require.NoError(t, tx.SendBatch(ctx, []int{100, 101}))
	assert.Zero(t, c.ready[0].Load(), "sends into a non-empty lane do not mark it")
	assert.Empty(t, c.wake, "sends into a non-empty lane do not wake")
	c.parked.Store(false)

	c.ready[0].Store(1)
	got, err := rx.RecvBatch(ctx, nil)
	require.NoError(t, err)
	assert.Len(t, got, 102)
	require.NoError(t, tx.Send(ctx, 0)) // the lane is empty again: marked again
	assert.Equal(t, uint64(1), c.ready[0].Load())
}
