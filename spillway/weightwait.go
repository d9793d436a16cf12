package spillway

import (
	"context"
	"sync"
	"sync/atomic"
)

// weightWaiters is where senders wait for weight (Options.MaxWeight) to be
// released. It is made by the first sender that has to wait and kept for
// the queue's life, and so are the waiters it hands out: each is a
// one-token channel that is never closed, so a wait allocates nothing once
// as many waiters exist as senders ever waited at once (a closed channel
// cannot be reused, and a gate closed on every release cost a channel per
// wait: psbench 4 MiB unary, 16 callers, ~0.4 of its 0.78 allocations per
// call).
type weightWaiters struct {
	// n is len(waiting), read without the lock by release: a release that
	// lowered weight and then reads n == 0 knows every waiter registered
	// after its store and will see the lowered weight when it re-checks.
	n  atomic.Int32
	mu sync.Mutex
	// waiting are the registered waiters, each woken at most once by
	// wakeAll, which unregisters them.
	waiting []*weightWaiter
	// free are the waiters not in use, for the next wait.
	free []*weightWaiter
}

// weightWaiter is one sender's wake-up: wakeAll puts a token in ch.
type weightWaiter struct {
	ch         chan struct{} // capacity 1, never closed
	registered bool          // in waiting; guarded by weightWaiters.mu
}

// maxFreeWaiters bounds the idle waiters a queue keeps (one per sender that
// waited at the same time, up to this many).
const maxFreeWaiters = 1024

// weightWaiters returns the queue's waiter list, making it on first use.
func (c *core[T]) weightWaiters() *weightWaiters {
	if ws := c.room.Load(); ws != nil {
		return ws
	}
	c.room.CompareAndSwap(nil, new(weightWaiters))
	return c.room.Load()
}

// register returns a waiter in the waiting list. The caller then re-checks
// the weight (see n) and waits on its channel, and gives it back with done.
func (ws *weightWaiters) register() *weightWaiter {
	ws.mu.Lock()
	var wt *weightWaiter
	if k := len(ws.free); k > 0 {
		wt = ws.free[k-1]
		ws.free[k-1] = nil
		ws.free = ws.free[:k-1]
	} else {
		wt = &weightWaiter{ch: make(chan struct{}, 1)}
	}
	wt.registered = true
	ws.waiting = append(ws.waiting, wt)
	ws.n.Store(int32(len(ws.waiting)))
	ws.mu.Unlock()
	return wt
}

// done unregisters wt if wakeAll has not, drops a token it may have put in
// wt's channel, and keeps wt for a later wait.
func (ws *weightWaiters) done(wt *weightWaiter) {
	ws.mu.Lock()
	if wt.registered {
		for i, x := range ws.waiting {
			if x == wt {
				last := len(ws.waiting) - 1
				ws.waiting[i] = ws.waiting[last]
				ws.waiting[last] = nil
				ws.waiting = ws.waiting[:last]
				break
			}
		}
		wt.registered = false
		ws.n.Store(int32(len(ws.waiting)))
	}
	select { // wakeAll sends under mu: a token is there now or never comes
	case <-wt.ch:
	default:
	}
	if len(ws.free) < maxFreeWaiters {
		ws.free = append(ws.free, wt)
	}
	ws.mu.Unlock()
}

// wakeAll wakes and unregisters every waiting sender.
func (ws *weightWaiters) wakeAll() {
	ws.mu.Lock()
	for i, wt := range ws.waiting {
		wt.registered = false
		select {
		case wt.ch <- struct{}{}:
		default:
		}
		ws.waiting[i] = nil
	}
	ws.waiting = ws.waiting[:0]
	ws.n.Store(0)
	ws.mu.Unlock()
}

// waitWeight blocks until weight is released (or the queue closed) after
// the caller found no room for w, or ctx ends. It returns nil when the
// caller should look again (spurious returns are possible).
func (c *core[T]) waitWeight(ctx context.Context, w int64) error {
	ws := c.weightWaiters()
	wt := ws.register()
	// Pairs with release: we publish the waiter (n) then re-read weight;
	// it lowers weight then reads n.
	if cur := c.weight.Load(); cur == 0 || cur+w <= c.maxWeight || c.closed.Load() {
		ws.done(wt)
		return nil
	}
	select {
	case <-wt.ch:
		ws.done(wt)
		return nil
	case <-ctx.Done():
		ws.done(wt)
		return ctx.Err()
	}
}
