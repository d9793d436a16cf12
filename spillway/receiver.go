package spillway

import (
	"context"
	"runtime"
	"sync"
)

// Receiver is the single consumer of the queue. Recv, TryRecv, RecvBatch and
// TryRecvBatch are meant for one goroutine (they serialise if called from
// several); Close may be called from any goroutine, also while a receive
// call is blocked.
type Receiver[T any] struct {
	rs      *recv[T]
	cleanup runtime.Cleanup
}

// recv is kept apart from Receiver so the runtime cleanup of an unreachable
// Receiver can close the queue.
type recv[T any] struct {
	c       *core[T]
	mu      sync.Mutex
	closed  bool
	spare   []T // empty buffer swapped into the next drained lane
	pending []T // taken by Recv/TryRecv, not yet returned; pending[head:] is live
	head    int
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
		dst, err = r.rs.tryBatch(dst)
		if len(dst) > n || err != nil {
			return dst, err
		}
		if err := r.rs.c.park(ctx); err != nil {
			return dst, err
		}
	}
}

// TryRecvBatch is RecvBatch without waiting: it appends what is available now
// (possibly nothing) and returns nil, or returns ErrDrained or ErrClosed when
// no value was appended and none will come. A writer can use it to check
// whether more is queued before it flushes.
func (r *Receiver[T]) TryRecvBatch(dst []T) ([]T, error) {
	return r.rs.tryBatch(dst)
}

// Recv returns the next value, waiting like RecvBatch when none is
// available. When its own buffer is empty it takes every ready lane into it
// and then returns one value per call (see the package documentation for
// what that means for weight). Prefer RecvBatch on hot paths.
func (r *Receiver[T]) Recv(ctx context.Context) (T, error) {
	for {
		v, ok, err := r.rs.tryOne()
		if ok || err != nil {
			return v, err
		}
		if err := r.rs.c.park(ctx); err != nil {
			return v, err
		}
	}
}

// TryRecv returns the next value if one is available now. It returns false
// when the queue is empty, drained or closed.
func (r *Receiver[T]) TryRecv() (T, bool) {
	v, ok, _ := r.rs.tryOne()
	return v, ok
}

// Close closes the queue: every later Send and SendBatch returns ErrClosed,
// blocked senders wake and return ErrClosed, and the receive calls return
// ErrClosed. Every value that was queued but not yet returned by a receive
// call is passed to handback, oldest first per Sender, before Close
// returns. handback may be nil to drop them; it must not call methods of
// this Receiver. Close is idempotent; later calls hand back nothing.
func (r *Receiver[T]) Close(handback func(T)) {
	r.rs.close(handback)
	r.cleanup.Stop()
}

func (rs *recv[T]) tryBatch(dst []T) ([]T, error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.closed {
		return dst, ErrClosed
	}
	n := len(dst)
	if rs.head < len(rs.pending) {
		dst = append(dst, rs.pending[rs.head:]...)
		clear(rs.pending)
		rs.pending, rs.head = rs.pending[:0], 0
	}
	// Load done before looking at the lanes: a Sender marks its lane before
	// it closes, so if done is set every queued value is visible below.
	done := rs.c.done.Load()
	dst, rs.spare = rs.c.drainReady(dst, rs.spare)
	if len(dst) == n && done {
		return dst, ErrDrained
	}
	return dst, nil
}

func (rs *recv[T]) tryOne() (v T, ok bool, err error) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.closed {
		return v, false, ErrClosed
	}
	if rs.head == len(rs.pending) {
		done := rs.c.done.Load()
		rs.pending, rs.spare = rs.c.drainReady(rs.pending[:0], rs.spare)
		rs.head = 0
		if len(rs.pending) == 0 {
			if done {
				return v, false, ErrDrained
			}
			return v, false, nil
		}
	}
	var zero T
	v, rs.pending[rs.head] = rs.pending[rs.head], zero
	rs.head++
	if rs.head == len(rs.pending) {
		rs.pending, rs.head = rs.pending[:0], 0
	}
	return v, true, nil
}

func (rs *recv[T]) close(handback func(T)) {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.closed {
		return
	}
	rs.closed = true
	c := rs.c
	c.closed.Store(true)
	if handback != nil {
		for _, v := range rs.pending[rs.head:] {
			handback(v)
		}
	}
	rs.pending, rs.spare, rs.head = nil, nil, 0
	var freed int64
	for i := range c.lanes {
		l := c.lanes[i].Load()
		if l == nil {
			continue // lane() marks lanes created from now on closed
		}
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		batch, w := l.takeAll(nil)
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
