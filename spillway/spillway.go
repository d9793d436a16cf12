package spillway

import (
	"context"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/cpu"
)

// New returns the first Sender and the Receiver of a new queue. Get one
// Sender per producing goroutine with Sender.Clone.
//
// New panics with a *ConfigError if opts is invalid; call opts.Validate
// first when the options come from outside the program.
func New[T any](opts Options[T]) (*Sender[T], *Receiver[T]) {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	o := opts.withDefaults()
	c := &core[T]{
		lanes:        make([]atomic.Pointer[lane[T]], o.Lanes),
		ready:        make([]atomic.Uint64, (o.Lanes+63)/64),
		laneCap:      o.LaneCapacity,
		maxWeight:    o.MaxWeight,
		weigh:        o.Weight,
		failWhenFull: o.FailWhenFull,
		wake:         make(chan struct{}, 1),
	}
	c.live.Store(1)
	s := c.newSender()
	rs := &recv[T]{c: c}
	r := &Receiver[T]{rs: rs}
	r.cleanup = runtime.AddCleanup(r, func(rs *recv[T]) { rs.close(nil) }, rs)
	return s, r
}

// initialLaneBuf is the capacity of a lane buffer made for its first
// value. Buffers grow by append as bursts need and keep that capacity (the
// receiver swaps them with its spare), so a busy queue stops allocating
// after warm-up while a queue that carried a few values holds only a few
// slots.
const initialLaneBuf = 4

// core is the state shared by every Sender and the Receiver.
type core[T any] struct {
	lanes        []atomic.Pointer[lane[T]] // allocated on first assignment
	ready        []atomic.Uint64           // bit i set: lane i went non-empty since the receiver last looked
	laneCap      int
	maxWeight    int64
	weigh        func(T) int64 // nil unless MaxWeight > 0
	failWhenFull bool
	wake         chan struct{} // capacity 1; a token wakes the parked receiver

	_        cpu.CacheLinePad
	nextLane atomic.Uint64 // round-robin lane assignment
	live     atomic.Int64  // open senders
	done     atomic.Bool   // live reached 0
	closed   atomic.Bool   // Receiver.Close ran
	parked   atomic.Bool   // the receiver is (about to be) blocked on wake

	_        cpu.CacheLinePad
	weight   atomic.Int64 // total weight queued
	wwaiting atomic.Bool  // wch != nil
	wmu      sync.Mutex
	wch      chan struct{} // closed when weight is released; senders wait on it

	_ cpu.CacheLinePad
}

// lane is one sender-side buffer. The padding keeps two lanes' mutexes off
// one cache line.
type lane[T any] struct {
	_       cpu.CacheLinePad
	mu      sync.Mutex
	buf     []T           // queued values, oldest first; len <= laneCap
	weight  int64         // total weight of buf
	notFull chan struct{} // created by a waiting sender, closed by the receiver when it empties the lane
	closed  bool          // Receiver.Close took this lane's values; no more are accepted
	folded  int           // values folded into queued ones (Sender.UnlockTail) since the last take
	idx     int
	_       cpu.CacheLinePad
}

// count is what the lane holds against its capacity: its values and the
// values folded into them. Call with l.mu held.
func (l *lane[T]) count() int { return len(l.buf) + l.folded }

// lane returns lane i, allocating it on first use.
func (c *core[T]) lane(i int) *lane[T] {
	slot := &c.lanes[i]
	if l := slot.Load(); l != nil {
		return l
	}
	l := &lane[T]{idx: i}
	if !slot.CompareAndSwap(nil, l) {
		return slot.Load()
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
	c.parked.Store(true)
	if c.anyReady() || c.done.Load() || c.closed.Load() {
		c.parked.Store(false)
		return nil
	}
	select {
	case <-c.wake:
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
		c.wmu.Lock()
		if c.wch == nil {
			c.wch = make(chan struct{})
			c.wwaiting.Store(true)
		}
		ch := c.wch
		c.wmu.Unlock()
		// Pairs with release: we publish wwaiting then re-read weight; it
		// lowers weight then reads wwaiting.
		if cur := c.weight.Load(); cur == 0 || cur+w <= c.maxWeight || c.closed.Load() {
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// release gives w units of weight back and wakes senders waiting for it.
func (c *core[T]) release(w int64) {
	if w == 0 {
		return
	}
	c.weight.Add(-w)
	if c.wwaiting.Load() {
		c.wakeWeightWaiters()
	}
}

func (c *core[T]) wakeWeightWaiters() {
	c.wmu.Lock()
	if c.wch != nil {
		close(c.wch)
		c.wch = nil
		c.wwaiting.Store(false)
	}
	c.wmu.Unlock()
}

// waitRoom is called with l.mu held when the lane cannot take n more values
// or is closed. It returns nil with l.mu held once there is room, or an
// error with l.mu released.
func (c *core[T]) waitRoom(ctx context.Context, l *lane[T], n int) error {
	for l.closed || l.count()+n > c.laneCap {
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

// takeAll is called by the receiver: it swaps lane l's buffer for spare and
// returns the queued values and their weight. The lane lock is held only for
// the swap.
func (l *lane[T]) takeAll(spare []T) (batch []T, weight int64) {
	l.mu.Lock()
	batch, l.buf = l.buf, spare
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

// drainReady appends the values of every lane marked ready to dst. spare is
// the receiver's empty buffer; the returned spare replaces it.
func (c *core[T]) drainReady(dst, spare []T) ([]T, []T) {
	var freed int64
	for wi := range c.ready {
		w := &c.ready[wi]
		if w.Load() == 0 {
			continue
		}
		for set := w.Swap(0); set != 0; set &= set - 1 {
			l := c.lanes[wi<<6|bits.TrailingZeros64(set)].Load()
			batch, wt := l.takeAll(spare)
			freed += wt
			dst = append(dst, batch...)
			clear(batch)
			spare = batch[:0]
		}
	}
	c.release(freed)
	return dst, spare
}
