package spillway

import (
	"context"
	"runtime"
)

// Receiver is the single consumer of the queue. Recv, TryRecv, RecvBatch and
// TryRecvBatch are meant for one goroutine (they serialise if called from
// several); Close may be called from any goroutine, also while a receive
// call is blocked.
//
// The receiver's state lives in the queue's core, which does not refer to
// the Receiver, so the runtime cleanup of an unreachable Receiver can close
// the queue.
type Receiver[T any] struct {
	c       *core[T]
	cleanup runtime.Cleanup
}

// RecvBatch appends every value available now to dst and returns it. When
// nothing is available it parks (no spinning) until a value arrives, every
// Sender is closed (ErrDrained), the Receiver is closed (ErrClosed) or ctx
// ends (ctx.Err()). Values from one Sender keep their order. With dst reused
// across calls (dst[:0]) it does not allocate in steady state.
//
// The values taken are no longer counted against lane capacity or
// Options.MaxWeight when RecvBatch returns; the release happens inside the
// call, before it returns.
func (r *Receiver[T]) RecvBatch(ctx context.Context, dst []T) ([]T, error) {
	n := len(dst)
	for {
		var err error
		dst, err = r.c.tryBatch(dst)
		if len(dst) > n || err != nil {
			return dst, err
		}
		if err := r.c.park(ctx); err != nil {
			return dst, err
		}
	}
}

// TryRecvBatch is RecvBatch without waiting: it appends what is available now
// (possibly nothing) and returns nil, or returns ErrDrained or ErrClosed when
// no value was appended and none will come. A writer can use it to check
// whether more is queued before it flushes.
func (r *Receiver[T]) TryRecvBatch(dst []T) ([]T, error) {
	return r.c.tryBatch(dst)
}

// Pending reports whether a value was queued that no receive call has
// taken yet, with atomic loads only (no lock): a consumer that found the
// queue empty and is about to stop can look once more. Every Send and
// SendBatch that returned nil is visible to a Pending that starts after it
// returned, unless a receive call took the value. Values Recv and TryRecv
// already moved into their own buffer are not counted.
func (r *Receiver[T]) Pending() bool { return r.c.anyReady() }

// Recv returns the next value, waiting like RecvBatch when none is
// available. When its own buffer is empty it takes every ready lane into it
// and then returns one value per call (see the package documentation for
// what that means for weight). Prefer RecvBatch on hot paths.
func (r *Receiver[T]) Recv(ctx context.Context) (T, error) {
	for {
		v, ok, err := r.c.tryOne()
		if ok || err != nil {
			return v, err
		}
		if err := r.c.park(ctx); err != nil {
			return v, err
		}
	}
}

// TryRecv returns the next value if one is available now. It returns false
// when the queue is empty, drained or closed.
func (r *Receiver[T]) TryRecv() (T, bool) {
	v, ok, _ := r.c.tryOne()
	return v, ok
}

// Close closes the queue: every later Send and SendBatch returns ErrClosed,
// blocked senders wake and return ErrClosed, and the receive calls return
// ErrClosed. Every value that was queued but not yet returned by a receive
// call is passed to handback, oldest first per Sender, before Close
// returns. handback may be nil to drop them; it must not call methods of
// this Receiver. Close is idempotent; later calls hand back nothing.
func (r *Receiver[T]) Close(handback func(T)) {
	r.c.closeRecv(handback)
	r.cleanup.Stop()
}

func (c *core[T]) tryBatch(dst []T) ([]T, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.closed.Load() {
		return dst, ErrClosed
	}
	n := len(dst)
	if c.head < len(c.pending) {
		dst = append(dst, c.pending[c.head:]...)
		clear(c.pending)
		c.pending, c.head = c.pending[:0], 0
	}
	// Load done before looking at the lanes: a Sender marks its lane before
	// it closes, so if done is set every queued value is visible below.
	done := c.done.Load()
	dst = c.drainReady(dst)
	if len(dst) == n && done {
		return dst, ErrDrained
	}
	return dst, nil
}

func (c *core[T]) tryOne() (v T, ok bool, err error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.closed.Load() {
		return v, false, ErrClosed
	}
	if c.head == len(c.pending) {
		done := c.done.Load()
		c.pending = c.drainReady(c.pending[:0])
		c.head = 0
		if len(c.pending) == 0 {
			if done {
				return v, false, ErrDrained
			}
			return v, false, nil
		}
	}
	var zero T
	v, c.pending[c.head] = c.pending[c.head], zero
	c.head++
	if c.head == len(c.pending) {
		c.pending, c.head = c.pending[:0], 0
	}
	return v, true, nil
}

func (c *core[T]) closeRecv(handback func(T)) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if c.closed.Load() {
		return
	}
	c.closed.Store(true)
	if handback != nil {
		for _, v := range c.pending[c.head:] {
			handback(v)
		}
	}
	c.pending, c.spare, c.head = nil, nil, 0
	var freed int64
	for i := range c.lanes {
		l := c.lanes[i].Load()
		if l == nil {
			continue // lane() marks lanes created from now on closed
		}
		batch, w := l.takeClosed()
		freed += w
		if handback != nil {
			for _, v := range batch {
				handback(v)
			}
		}
	}
	c.release(freed)
	c.wakeWeightWaiters()
	c.wakeReceiver()
}
