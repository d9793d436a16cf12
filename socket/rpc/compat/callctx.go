package compat

import (
	"context"
	"sync"
	"time"
)

// Why a call's context ended.
const (
	endNone    uint8 = iota
	endByPeer        // the client sent Cancel for the id
	endByClose       // the connection closed
)

// callCtx is a server call's context, reused call after call (so a
// handler's ctx must not outlive the handler): its Done channel is made
// only when someone asks for it. It has no deadline (protosocket-rpc
// carries none) and no values.
type callCtx struct {
	mu   sync.Mutex
	done chan struct{}
	err  error
	why  uint8
}

var _ context.Context = (*callCtx)(nil)

// Deadline implements context.Context: none.
func (c *callCtx) Deadline() (time.Time, bool) { return time.Time{}, false }

// Done implements context.Context.
func (c *callCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		}
	}
	return c.done
}

// Err implements context.Context: context.Canceled after the client's
// Cancel or the connection's close.
func (c *callCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Value implements context.Context: none.
func (c *callCtx) Value(any) any { return nil }

// cancel ends the context (the first reason stays).
func (c *callCtx) cancel(why uint8) {
	c.mu.Lock()
	if c.err == nil {
		c.err, c.why = context.Canceled, why
		if c.done != nil {
			close(c.done)
		}
	}
	c.mu.Unlock()
}

// ended reports why the context ended (endNone while it has not).
func (c *callCtx) ended() uint8 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.why
}

// reset readies the context for the next call.
func (c *callCtx) reset() {
	c.mu.Lock()
	if c.err != nil {
		c.done = nil // closed: the next call gets a fresh one
	}
	c.err, c.why = nil, endNone
	c.mu.Unlock()
}
