package rpc

import (
	"context"
	"sync"
	"time"

	"github.com/protosocket-go/protosocket/pool"
)

// Handler serves a unary method: it reads req and appends its response to
// dst, returning the extended slice (like binary.AppendUvarint). req and
// ctx are valid until the handler returns; do not keep them (copy what you
// need). Return an *Error to choose the code the caller sees; any other
// error is sent as CodeUnknown with its text.
type Handler func(ctx context.Context, req, dst []byte) ([]byte, error)

// Interceptor wraps unary handler calls (logging, metrics, auth). It must
// call h (or not, to reject) and return its result.
type Interceptor func(ctx context.Context, method uint32, req, dst []byte, h Handler) ([]byte, error)

// Invoker makes a unary call on the wire: the rest of the chain after a
// ClientInterceptor.
type Invoker func(ctx context.Context, method uint32, md Metadata, req, dst []byte) ([]byte, error)

// ClientInterceptor wraps the client's unary calls (logging, metrics,
// metadata, retries on another Caller). It must call invoke (or not, to
// fail the call itself) and return its result; the arguments may be
// changed on the way (a request rewritten, metadata added). req, md and
// dst follow Caller.CallMetadata's rules.
type ClientInterceptor func(ctx context.Context, method uint32, md Metadata, req, dst []byte, invoke Invoker) ([]byte, error)

// CallInfo describes the call a handler serves.
type CallInfo struct {
	ID       uint32   // the call's stream id on the wire
	Method   uint32   // the method (message type id)
	Metadata Metadata // the request's metadata; valid until the handler returns
}

type callInfoKey struct{}

// CallInfoFrom returns the CallInfo of a handler's ctx.
func CallInfoFrom(ctx context.Context) (CallInfo, bool) {
	c, ok := ctx.Value(callInfoKey{}).(*serverCall)
	if !ok {
		return CallInfo{}, false
	}
	return CallInfo{ID: c.id, Method: c.method, Metadata: c.md}, true
}

// serverCall is one call on the server and its handler's context. It is
// reused for call after call (so a handler's context must not outlive the
// handler): it is a context.Context whose Done channel is made only when
// someone asks for it and whose deadline timer is armed only then.
type serverCall struct {
	sc      *serverConn
	id      uint32
	method  uint32
	kind    uint8
	h       Handler
	req     *pool.Buffer // owned copy of the payload (pooled calls)
	body    []byte
	md      Metadata
	tracked bool // in sc.ids
	// untrackedIdx is the call's index in sc.untracked (pooled
	// fire-and-forget calls); meaningful only while it is in progress.
	untrackedIdx int

	deadline    time.Time
	hasDeadline bool

	mu    sync.Mutex
	done  chan struct{}
	err   error
	timer *time.Timer

	stream *serverStream
}

var _ context.Context = (*serverCall)(nil)

// Deadline implements context.Context: the arrival time plus the timeout
// the request carried.
func (c *serverCall) Deadline() (time.Time, bool) { return c.deadline, c.hasDeadline }

// Done implements context.Context.
func (c *serverCall) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		c.done = make(chan struct{})
		if c.err != nil {
			close(c.done)
		} else if c.hasDeadline {
			d := time.Until(c.deadline)
			if c.timer == nil {
				c.timer = time.AfterFunc(d, c.onTimer)
			} else {
				c.timer.Reset(d)
			}
		}
	}
	return c.done
}

func (c *serverCall) onTimer() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hasDeadline && !time.Now().Before(c.deadline) {
		c.cancelLocked(context.DeadlineExceeded)
	}
}

// Err implements context.Context: context.Canceled after a cancel frame or
// the connection's end, context.DeadlineExceeded past the deadline.
func (c *serverCall) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil && c.hasDeadline && !time.Now().Before(c.deadline) {
		c.cancelLocked(context.DeadlineExceeded)
	}
	return c.err
}

// Value implements context.Context; CallInfoFrom reads the call through it.
func (c *serverCall) Value(key any) any {
	if key == (callInfoKey{}) {
		return c
	}
	return nil
}

func (c *serverCall) cancel(err error) {
	c.mu.Lock()
	c.cancelLocked(err)
	c.mu.Unlock()
}

func (c *serverCall) cancelLocked(err error) {
	if c.err != nil {
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
}

func (c *serverCall) canceled() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err == context.Canceled
}

// setup fills the call from an opening frame.
func (c *serverCall) setup(id, method uint32, kind uint8, p Prefix, body []byte, now time.Time) {
	c.id, c.method, c.kind = id, method, kind
	c.body, c.md = body, p.Metadata
	if p.Timeout > 0 {
		c.deadline, c.hasDeadline = now.Add(p.Timeout), true
	}
}

// reset readies the call for reuse.
func (c *serverCall) reset() {
	c.mu.Lock()
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.err != nil {
		c.done = nil // closed: the next user gets a fresh one
	}
	c.err = nil
	c.hasDeadline = false
	c.deadline = time.Time{}
	c.mu.Unlock()
	pool.PutBuffer(c.req)
	c.req = nil
	c.body, c.md, c.h, c.stream = nil, nil, nil, nil
	c.tracked = false
}
