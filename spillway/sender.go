package spillway

import (
	"context"
	"runtime"
	"sync/atomic"
)

// Sender puts values into the queue through its own lane. Get one per
// producing goroutine with Clone; values from one Sender are received in the
// order they were sent.
//
// Send and SendBatch may be called from several goroutines at once (they then
// share the lane and the ordering between them is undefined), but Close must
// not run concurrently with them: as with a Go channel, close a Sender only
// after its sends have returned. Do not copy a Sender.
type Sender[T any] struct {
	st      *senderState[T]
	cleanup runtime.Cleanup
}

// senderState is kept apart from Sender so the runtime cleanup of an
// unreachable Sender can close it without keeping the Sender alive.
type senderState[T any] struct {
	c       *core[T]
	l       atomic.Pointer[lane[T]] // nil until the first send (attach)
	closed  atomic.Bool
	idx     uint16 // the lane assigned round-robin
	counted bool   // counted in l.senders; guarded by l.mu
}

func (c *core[T]) newSender() *Sender[T] {
	i := int(c.nextLane.Add(1)-1) % len(c.lanes)
	s := &Sender[T]{st: &senderState[T]{c: c, idx: uint16(i)}}
	s.cleanup = runtime.AddCleanup(s, func(st *senderState[T]) { st.close() }, s.st)
	return s
}

// lane returns the Sender's lane, attaching it on first use.
func (st *senderState[T]) lane() *lane[T] {
	if l := st.l.Load(); l != nil {
		return l
	}
	return st.attach()
}

// attach gets the Sender's lane, allocating it if nobody holds it, and
// counts an open Sender in it so that the lane lives until its last Sender
// closes. A closed Sender is not counted.
func (st *senderState[T]) attach() *lane[T] {
	for {
		l := st.c.lane(int(st.idx))
		l.mu.Lock()
		if l.dead {
			l.mu.Unlock()
			continue
		}
		// The closed check follows the store of st.l: a Close that did not
		// see st.l has set closed before it (see close).
		if st.l.CompareAndSwap(nil, l) && !st.closed.Load() {
			st.counted = true
			l.senders++
		}
		l.mu.Unlock()
		return st.l.Load()
	}
}

// close closes the Sender once: it leaves its lane (freeing it when it was
// the last open Sender and the lane is empty) and accounts for it in the
// queue. It reports whether this call closed it.
func (st *senderState[T]) close() bool {
	if !st.closed.CompareAndSwap(false, true) {
		return false
	}
	if l := st.l.Load(); l != nil {
		l.mu.Lock()
		if st.counted {
			st.counted = false
			l.senders--
			if l.senders == 0 && len(l.buf) == 0 && !l.closed {
				st.c.freeLane(l)
			}
		}
		l.mu.Unlock()
	}
	st.c.senderGone()
	return true
}

// Clone returns a new Sender on the next lane (round-robin). The queue stays
// open for receiving until every Sender, clones included, is closed. Cloning
// a closed Sender, or cloning once every Sender is closed, returns a closed
// Sender whose sends return ErrSenderClosed.
func (s *Sender[T]) Clone() *Sender[T] {
	c := s.st.c
	for !s.st.closed.Load() {
		n := c.live.Load()
		if n == 0 {
			break
		}
		if c.live.CompareAndSwap(n, n+1) {
			return c.newSender()
		}
	}
	st := &senderState[T]{c: c, idx: s.st.idx}
	st.closed.Store(true)
	return &Sender[T]{st: st}
}

// Close closes this Sender. It is idempotent and never blocks. Once every
// Sender is closed, the receive calls return ErrDrained after the queue is
// empty. Values already sent stay queued.
func (s *Sender[T]) Close() {
	if s.st.close() {
		s.cleanup.Stop()
	}
}

// Send queues v. When the lane or the weight budget is full it blocks until
// the receiver makes room, returning ctx.Err() if ctx ends first, or returns
// ErrFull at once with Options.FailWhenFull. ctx is only consulted when Send
// has to wait. It returns ErrSenderClosed after Close and ErrClosed after
// Receiver.Close. v is queued if and only if the result is nil.
func (s *Sender[T]) Send(ctx context.Context, v T) error { return s.send(ctx, v, 1) }

// SendCounted queues v as Send does, counting it as n values against
// Options.LaneCapacity, as if n-1 values had been folded into it (see
// Fold): for a value that stands for n messages, such as a buffer of n
// encoded frames. It waits, or fails with ErrFull under
// Options.FailWhenFull, until the lane has room for all n. n below 1
// counts as 1; n above LaneCapacity returns ErrBatchTooLarge at once.
func (s *Sender[T]) SendCounted(ctx context.Context, v T, n int) error {
	if n > int(s.st.c.laneCap) {
		return ErrBatchTooLarge
	}
	return s.send(ctx, v, max(n, 1))
}

// send queues v counted as n (1 <= n <= laneCap) values.
func (s *Sender[T]) send(ctx context.Context, v T, n int) error {
	st := s.st
	if st.closed.Load() {
		return ErrSenderClosed
	}
	c := st.c
	var w int64
	if c.weigh != nil {
		w = max(c.weigh(v), 0)
		if err := c.acquire(ctx, w); err != nil {
			return err
		}
	}
	l := st.lane()
	l.mu.Lock()
	if l.closed || l.count()+n > int(c.laneCap) {
		if err := c.waitRoom(ctx, l, n); err != nil {
			c.release(w)
			return err
		}
	}
	wasEmpty := len(l.buf) == 0
	if cap(l.buf) == 0 {
		l.buf = make([]T, 0, min(int(c.laneCap), initialLaneBuf))
	}
	l.buf = append(l.buf, v)
	l.folded += int32(n - 1)
	l.weight += w
	l.mu.Unlock()
	if wasEmpty {
		c.markReady(int(l.idx))
	}
	return nil
}

// SendBatch queues every value of vs, in order, as one unit: all or none,
// with no other Sender's values in between. It waits or fails like Send
// until the lane has room for the whole batch. A batch longer than
// Options.LaneCapacity returns ErrBatchTooLarge; an empty batch is a no-op.
// vs is copied and may be reused when SendBatch returns.
func (s *Sender[T]) SendBatch(ctx context.Context, vs []T) error {
	st := s.st
	if st.closed.Load() {
		return ErrSenderClosed
	}
	c := st.c
	if len(vs) == 0 {
		return nil
	}
	if len(vs) > int(c.laneCap) {
		return ErrBatchTooLarge
	}
	var w int64
	if c.weigh != nil {
		for _, v := range vs {
			w += max(c.weigh(v), 0)
		}
		if err := c.acquire(ctx, w); err != nil {
			return err
		}
	}
	l := st.lane()
	l.mu.Lock()
	if l.closed || l.count()+len(vs) > int(c.laneCap) {
		if err := c.waitRoom(ctx, l, len(vs)); err != nil {
			c.release(w)
			return err
		}
	}
	wasEmpty := len(l.buf) == 0
	if cap(l.buf) == 0 {
		l.buf = make([]T, 0, min(int(c.laneCap), max(initialLaneBuf, len(vs))))
	}
	l.buf = append(l.buf, vs...)
	l.weight += w
	l.mu.Unlock()
	if wasEmpty {
		c.markReady(int(l.idx))
	}
	return nil
}

// Fold offers to fold a value into the newest value queued in the
// Sender's lane instead of queuing another: fold is called with a pointer
// to that value, under the lane's lock, and changes it in place and
// returns true, or returns false to decline. It is not called when the
// lane is empty, full (a folded value counts against LaneCapacity as a
// queued one does) or closed, or the Sender is closed. The value may be
// another Sender's when Senders share a lane. fold must not block, send
// or call into the queue: the lane is locked while it runs. The receiver
// never sees a value while it is being changed (it takes a lane's values
// under the same lock).
//
// w is the folded value's weight: before anything else Fold takes it from
// Options.MaxWeight's budget as Send does (blocking while the budget is
// spent, until ctx ends, or ErrFull with Options.FailWhenFull); it joins
// the lane's weight if the value is folded and is given back if not.
// Without Options.Weight, w is ignored.
//
// Fold reports whether the value was folded; when it was not and err is
// nil, queue it with Send. err is ErrSenderClosed after Close, or the
// error of the weight reservation. fold does not escape: a func literal
// passed here allocates nothing.
func (s *Sender[T]) Fold(ctx context.Context, w int64, fold func(tail *T) bool) (folded bool, err error) {
	st := s.st
	if st.closed.Load() {
		return false, ErrSenderClosed
	}
	c := st.c
	if c.weigh == nil || w < 0 {
		w = 0
	}
	if err := c.acquire(ctx, w); err != nil {
		return false, err
	}
	l := st.lane()
	l.mu.Lock()
	if l.closed || len(l.buf) == 0 || l.count() >= int(c.laneCap) || st.closed.Load() || !fold(&l.buf[len(l.buf)-1]) {
		l.mu.Unlock()
		c.release(w)
		return false, nil
	}
	l.folded++
	l.weight += w
	l.mu.Unlock()
	return true, nil
}

// FoldResult is TryFold's answer.
type FoldResult uint8

const (
	// Folded: the value was folded into the lane's newest value.
	Folded FoldResult = iota
	// NoTail: nothing to fold into (the lane is empty, full or closed,
	// the Sender is closed) or fold declined. Queue the value with Send,
	// which waits for room or reports why it cannot.
	NoTail
	// NoWeight: the weight budget (Options.MaxWeight) has no room for w
	// now. Fold, which waits for it, may still fold the value.
	NoWeight
)

// TryFold is Fold without waiting and without a context: the per-message
// path of a producer that folds most of its values (socket.Sender.Send).
// It locks the lane first and takes w from the weight budget only when
// there is a tail to offer, so a refusal costs no weight traffic; where
// Fold would wait for the budget it returns NoWeight. It does not report
// a closed Sender apart from an empty lane (NoTail): Send does. fold's
// rules are Fold's.
func (s *Sender[T]) TryFold(w int64, fold func(tail *T) bool) FoldResult {
	st := s.st
	l := st.l.Load()
	if l == nil {
		return NoTail // nothing sent yet: no lane, no tail
	}
	c := st.c
	l.mu.Lock()
	if l.closed || len(l.buf) == 0 || l.count() >= int(c.laneCap) || st.closed.Load() {
		l.mu.Unlock()
		return NoTail
	}
	if c.weigh == nil || w < 0 {
		w = 0
	}
	if w > 0 && !c.tryAcquire(w) {
		l.mu.Unlock()
		return NoWeight
	}
	if !fold(&l.buf[len(l.buf)-1]) {
		l.mu.Unlock()
		c.release(w)
		return NoTail
	}
	l.folded++
	l.weight += w
	l.mu.Unlock()
	return Folded
}
