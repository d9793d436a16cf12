//go:build psdebug

package compat

import (
	"context"
	"sync/atomic"
	"time"
)

// psdebug reports whether the binary was built with -tags psdebug.
const psdebug = true

// lentCtx is the context a handler gets under psdebug: a fresh one per
// call, which panics when used after the handler returned (the server
// reuses the call's context for later calls).
type lentCtx struct {
	c        *callCtx
	returned atomic.Bool
}

func (l *lentCtx) check() {
	if l.returned.Load() {
		panic("compat: a handler's ctx used after the handler returned (it is reused for later calls; do not keep it)")
	}
}

func (l *lentCtx) Deadline() (time.Time, bool) { l.check(); return l.c.Deadline() }
func (l *lentCtx) Done() <-chan struct{}       { l.check(); return l.c.Done() }
func (l *lentCtx) Err() error                  { l.check(); return l.c.Err() }
func (l *lentCtx) Value(k any) any             { l.check(); return l.c.Value(k) }

// lend returns the context a handler gets for c and the function that
// ends its lifetime.
func lend(c *callCtx) (context.Context, func()) {
	l := &lentCtx{c: c}
	return l, func() { l.returned.Store(true) }
}
