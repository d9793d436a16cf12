package rpc

import (
	"context"
	"sync/atomic"
)

// This file owns how a Caller notices that a call's context ended.
//
// A call waits for its slot's done channel and for ctx.Done(). Waiting
// on both is a select, which locks both channels; when many callers share
// one context (a worker loop's, a request's fanned out to many calls),
// they all lock and queue on that context's single done channel, and at
// 256 callers that select was the client's largest cost after the system
// calls (bench/README.md, "Unary: where the time goes"). So a Caller that
// makes a second call in a row with the same ctx.Done() registers one
// context.AfterFunc for it (one allocation, kept while that context
// stays the Caller's) and from then on waits on its slot alone: when the
// context ends, the watch abandons the call in flight, if any, and wakes
// it through the slot. A context without a Done channel
// (context.Background) needs no watch at all; a context new to the Caller
// is waited for with the select as before, so a fresh context per call
// costs what it did.
//
// The Client's watch registry (watchMu) is locked only to register and
// drop a watch, not per call: with one context per Caller (rpcbench
// unary, 256 callers) it does not appear in a CPU profile. Two calls per
// context (BenchmarkCallContextPerPair, 256 callers) take it every
// second call and goroutines do wait on it, but it costs ~3% of CPU
// (context.AfterFunc ~9%), and a 16-way sharded registry was no faster
// on 2 cores (8 alternating runs of both binaries, ns/op sharded/one
// lock: median 1.7, range 0.25 to 2.6, on a machine loaded by other
// work), so it stays one lock.

// ctxWatch is one context.AfterFunc registration of a Caller.
type ctxWatch struct {
	done <-chan struct{} // the context's Done channel
	k    *Caller
	id   atomic.Uint32 // the call in flight under this watch, 0 = none
	stop func() bool
}

// fire runs when the context ends: the call in flight under this watch,
// if still pending, is abandoned and its caller woken (it then sees
// stAbandoned and returns the context's error).
func (w *ctxWatch) fire() {
	id := w.id.Load()
	if id == 0 {
		return
	}
	s := &w.k.c.t.slots[w.k.idx]
	if s.tryAbandon(id) {
		s.done <- struct{}{}
	}
}

// watchFor returns the Caller's watch of ctx, registering one on the
// second consecutive call with ctx.Done(); nil means wait with a select
// (or, when ctx.Done() is nil, on the slot alone).
func (k *Caller) watchFor(ctx context.Context, d <-chan struct{}) *ctxWatch {
	if w := k.watch; w != nil && w.done == d {
		return w
	}
	if k.lastDone != d {
		k.lastDone = d
		return nil
	}
	k.unwatch()
	w := &ctxWatch{done: d, k: k}
	c := k.c
	c.watchMu.Lock()
	if c.closed.Load() { // OnClose swept the watches already
		c.watchMu.Unlock()
		return nil
	}
	if c.watches == nil {
		c.watches = make(map[*ctxWatch]struct{})
	}
	c.watches[w] = struct{}{}
	w.stop = context.AfterFunc(ctx, w.fire)
	c.watchMu.Unlock()
	k.watch = w
	return w
}

// unwatch drops the Caller's watch (a new context, or Close).
func (k *Caller) unwatch() {
	w := k.watch
	if w == nil {
		return
	}
	k.watch = nil
	c := k.c
	c.watchMu.Lock()
	if _, ok := c.watches[w]; ok {
		delete(c.watches, w)
		w.stop()
	}
	c.watchMu.Unlock()
}

// stopWatches drops every Caller's watch when the connection closes, so
// that no context outliving the Client holds it.
func (c *Client) stopWatches() {
	c.watchMu.Lock()
	for w := range c.watches {
		w.stop()
	}
	c.watches = nil
	c.watchMu.Unlock()
}
