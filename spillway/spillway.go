package spillway

import (
	"context"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// New returns the first Sender and the Receiver of a new queue. Get one
// Sender per producing goroutine with Sender.Clone.
//
// New panics with a *OptionError if opts is invalid; call opts.Validate
// first when the options come from outside the program.
func New[T any](opts Options[T]) (*Sender[T], *Receiver[T]) {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	o := opts.withDefaults()
	c := &core[T]{
		lanes:        make([]atomic.Pointer[lane[T]], o.Lanes),
		ready:        make([]atomic.Uint64, (o.Lanes+63)/64),
		laneCap:      int32(o.LaneCapacity),
		maxWeight:    o.MaxWeight,
		weigh:        o.Weight,
		failWhenFull: o.FailWhenFull,
	}
	c.live.Store(1)
	s := c.newSender()
	r := &Receiver[T]{c: c}
	r.cleanup = runtime.AddCleanup(r, func(c *core[T]) { c.closeRecv(nil) }, c)
	return s, r
}

// initialLaneBuf is the capacity of a lane buffer made for its first
// value. Buffers grow by append as bursts need and keep that capacity, so
// a busy queue stops allocating after warm-up while a queue that carried a
// value at a time holds one slot.
const initialLaneBuf = 1

// copyMax is the largest number of values the receiver copies out of a
// lane under its lock; the lane keeps its buffer. Larger batches are taken
// by swapping the lane's buffer with the receiver's spare, so the lock is
// held only for the swap. A queue that only ever carries a few values at a
// time therefore holds no spare buffer.
const copyMax = 8

// core is the state shared by every Sender and the Receiver.
//
// It is laid out in three cache lines (192 bytes, a size class whose
// objects start on a cache-line boundary): fields only read after New,
// fields written by senders and the receiver, and the receiver's own
// state, so the receiver's bookkeeping and the shared counters do not
// invalidate the line senders read on every send. TestLayout checks it.
type core[T any] struct {
	// Read-only after New.
	lanes        []atomic.Pointer[lane[T]] // a lane is allocated on its first send and freed when its last Sender closes and it is empty
	ready        []atomic.Uint64           // bit i set: lane i went non-empty since the receiver last looked
	weigh        func(T) int64             // nil unless MaxWeight > 0
	laneCap      int32
	failWhenFull bool

	// Shared between senders and the receiver.
	weight    atomic.Int64 // total weight queued
	live      atomic.Int64 // open senders
	maxWeight int64
	wake      chan struct{}                 // capacity 1, made by the receiver when it first parks; a token wakes it
	room      atomic.Pointer[weightWaiters] // made when a sender first waits for weight (weightwait.go)
	nextLane  atomic.Uint32                 // round-robin lane assignment
	done      atomic.Bool                   // live reached 0
	closed    atomic.Bool                   // Receiver.Close ran
	parked    atomic.Bool                   // the receiver is (about to be) blocked on wake
	_         [8]byte                       // ends the shared line (64-bit)

	// The receiver's state, guarded by rmu.
	rmu     sync.Mutex
	spare   []T // empty buffer swapped into the next lane taken whole
	pending []T // taken by Recv/TryRecv, not yet returned; pending[head:] is live
	head    int
}

// lane is one sender-side buffer. It is 64 bytes on 64-bit platforms, so
// it fills one size-class slot and one cache line: two lanes' mutexes never
// share a line, without padding (TestLayout checks the size).
type lane[T any] struct {
	mu      sync.Mutex
	buf     []T           // queued values, oldest first; len <= laneCap
	weight  int64         // total weight of buf
	notFull chan struct{} // created by a waiting sender, closed by the receiver when it empties the lane
	folded  int32         // values folded into queued ones (Sender.Fold) since the last take
	senders int32         // open Senders attached to the lane (senderState.counted)
	idx     uint16        // index in core.lanes (< MaxLanes)
	closed  bool          // Receiver.Close took this lane's values; no more are accepted
	dead    bool          // freed: removed from core.lanes; attach takes a new lane
}

// count is what the lane holds against its capacity: its values and the
// values folded into them. Call with l.mu held.
func (l *lane[T]) count() int { return len(l.buf) + int(l.folded) }

// lane returns lane i, allocating it if the slot is empty.
func (c *core[T]) lane(i int) *lane[T] {
	slot := &c.lanes[i]
	if l := slot.Load(); l != nil {
		return l
	}
	l := &lane[T]{idx: uint16(i)}
	if !slot.CompareAndSwap(nil, l) {
		if l := slot.Load(); l != nil {
			return l
		}
		return c.lane(i) // freed in between
	}
	// Receiver.Close sets closed before it walks the lanes, and this store
	// of the lane precedes this load: either Close sees the lane or we see
	// closed. Nobody has the lane yet, so no value can slip in between.
	if c.closed.Load() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
	}
	return l
}

// freeLane drops lane l, whose last Sender has closed and which is empty:
// an idle queue keeps neither the lane nor its buffer. A Sender that gets
// the lane after this sees dead and takes a new one. Call with l.mu held.
func (c *core[T]) freeLane(l *lane[T]) {
	l.dead = true
	l.buf = nil
	c.lanes[l.idx].CompareAndSwap(l, nil)
}

// markReady records that lane i went from empty to non-empty and wakes the
// receiver if it is parked. Only this transition wakes, so a busy lane
// costs no wakeups.
func (c *core[T]) markReady(i int) {
	c.ready[i>>6].Or(1 << (uint(i) & 63))
	c.wakeReceiver()
}

func (c *core[T]) wakeReceiver() {
	// Pairs with park: park stores parked then checks ready/done/closed; we
	// store ready/done/closed then check parked. With sequentially
	// consistent atomics one side sees the other.
	if c.parked.Load() && c.parked.CompareAndSwap(true, false) {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

func (c *core[T]) anyReady() bool {
	for i := range c.ready {
		if c.ready[i].Load() != 0 {
			return true
		}
	}
	return false
}

// park blocks the receiver until something may have changed: a lane went
// non-empty, the last sender closed, the receiver was closed, or ctx ended.
// Spurious returns are possible; callers re-check.
func (c *core[T]) park(ctx context.Context) error {
	// The wake channel is made on the first park, so a receiver that only
	// polls (TryRecvBatch) never holds one. It is written under rmu before
	// parked is stored; a waker reads it only after it swapped parked from
	// true, which orders the read after the write.
	c.rmu.Lock()
	if c.wake == nil {
		c.wake = make(chan struct{}, 1)
	}
	wake := c.wake
	c.rmu.Unlock()
	c.parked.Store(true)
	if c.anyReady() || c.done.Load() || c.closed.Load() {
		c.parked.Store(false)
		return nil
	}
	select {
	case <-wake:
		return nil
	case <-ctx.Done():
		c.parked.Store(false)
		return ctx.Err()
	}
}

// senderGone accounts for one closed Sender.
func (c *core[T]) senderGone() {
	if c.live.Add(-1) == 0 {
		c.done.Store(true)
		c.wakeReceiver()
	}
}

// acquire reserves w units of the weight budget. A weightless value always
// fits.
func (c *core[T]) acquire(ctx context.Context, w int64) error {
	if w == 0 {
		return nil
	}
	for {
		cur := c.weight.Load()
		if cur == 0 || cur+w <= c.maxWeight {
			if c.weight.CompareAndSwap(cur, cur+w) {
				return nil
			}
			continue
		}
		if c.closed.Load() {
			return ErrClosed
		}
		if c.failWhenFull {
			return ErrFull
		}
		if err := c.waitWeight(ctx, w); err != nil {
			return err
		}
	}
}

// tryAcquire reserves w > 0 units of the weight budget if it has room
// now, as acquire does without waiting.
func (c *core[T]) tryAcquire(w int64) bool {
	for {
		cur := c.weight.Load()
		if cur != 0 && cur+w > c.maxWeight {
			return false
		}
		if c.weight.CompareAndSwap(cur, cur+w) {
			return true
		}
	}
}

// release gives w units of weight back and wakes senders waiting for it.
func (c *core[T]) release(w int64) {
	if w == 0 {
		return
	}
	c.weight.Add(-w)
	if ws := c.room.Load(); ws != nil && ws.n.Load() > 0 {
		ws.wakeAll()
	}
}

func (c *core[T]) wakeWeightWaiters() {
	if ws := c.room.Load(); ws != nil {
		ws.wakeAll()
	}
}

// waitRoom is called with l.mu held when the lane cannot take n more values
// or is closed. It returns nil with l.mu held once there is room, or an
// error with l.mu released.
func (c *core[T]) waitRoom(ctx context.Context, l *lane[T], n int) error {
	for l.closed || l.count()+n > int(c.laneCap) {
		if l.closed {
			l.mu.Unlock()
			return ErrClosed
		}
		if c.failWhenFull {
			l.mu.Unlock()
			return ErrFull
		}
		if l.notFull == nil {
			l.notFull = make(chan struct{})
		}
		ch := l.notFull
		l.mu.Unlock()
		// The lane is non-empty, so its ready bit is set (or about to be
		// set by the sender that filled it) and the receiver will empty it.
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
		l.mu.Lock()
	}
	return nil
}

// take is called by the receiver with rmu held: it appends lane l's values
// to dst and returns it with their weight. Up to copyMax values are copied
// under the lane lock and the lane keeps its buffer; more are taken by
// swapping the lane's buffer with the receiver's spare, so the lock is held
// only for the swap. A lane whose Senders have all closed is freed.
func (c *core[T]) take(l *lane[T], dst []T) ([]T, int64) {
	var batch []T
	l.mu.Lock()
	if len(l.buf) <= copyMax {
		dst = append(dst, l.buf...)
		clear(l.buf)
		l.buf = l.buf[:0]
	} else {
		batch, l.buf = l.buf, c.spare
		c.spare = nil
	}
	weight := l.weight
	l.weight, l.folded = 0, 0
	ch := l.notFull
	l.notFull = nil
	if l.senders == 0 && !l.closed {
		c.freeLane(l)
	}
	l.mu.Unlock()
	if ch != nil {
		close(ch)
	}
	if batch != nil {
		dst = append(dst, batch...)
		clear(batch)
		c.spare = batch[:0]
	}
	return dst, weight
}

// takeClosed takes every value of lane l for Receiver.Close and leaves the
// lane closed and without a buffer.
func (l *lane[T]) takeClosed() (batch []T, weight int64) {
	l.mu.Lock()
	l.closed = true
	batch, l.buf = l.buf, nil
	weight, l.weight = l.weight, 0
	l.folded = 0
	ch := l.notFull
	l.notFull = nil
	l.mu.Unlock()
	if ch != nil {
		close(ch)
	}
	return batch, weight
}

// drainReady appends the values of every lane marked ready to dst. Call
// with rmu held.
func (c *core[T]) drainReady(dst []T) []T {
	var freed int64
	for wi := range c.ready {
		w := &c.ready[wi]
		if w.Load() == 0 {
			continue
		}
		for set := w.Swap(0); set != 0; set &= set - 1 {
			// A bit is set only after its lane went non-empty, and only
			// this receiver empties or frees a non-empty lane, so the lane
			// is there; the check is for safety.
			if l := c.lanes[wi<<6|bits.TrailingZeros64(set)].Load(); l != nil {
				var wt int64
				dst, wt = c.take(l, dst)
				freed += wt
			}
		}
	}
	c.release(freed)
	return dst
}
