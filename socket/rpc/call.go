package rpc

import (
	"context"
	"crypto/tls"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

// Handler serves a unary method: it reads req and appends its response to
// dst, returning the extended slice (like binary.AppendUvarint).
//
// Lifetimes: req and dst (and the slice returned) are borrowed until the
// handler returns; keep a copy, never the slices (under the psdebug build
// tag released buffers are filled with pool.PoisonByte). ctx may be kept:
// after the handler returns it reads as canceled for good (Done closed,
// Err context.Canceled) and CallInfoFrom gives its own call's ID and
// Method without Metadata; it never shows another call. With
// ServerOptions.ReuseContexts ctx is reused by later calls and must not be
// kept (psdebug panics on a use after the handler returned).
//
// Return an *Error to choose the code the caller sees; an error matching
// ErrUnavailable is sent as CodeUnavailable; any other error as
// CodeUnknown with its text.
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
	// Conn describes the connection the call came on: the peer's and the
	// local address, the TLS state and the state ServerOptions.OnConnect
	// set. It is the connection's, shared by its calls, read-only, and
	// valid for as long as anyone holds it (also from a kept ctx).
	Conn *ConnInfo
}

// ConnInfo describes one server connection (CallInfo.Conn). The server
// fills it before the connection's first frame is served, after the TLS
// handshake; ServerOptions.OnConnect may set State; after that it does
// not change.
type ConnInfo struct {
	RemoteAddr net.Addr
	LocalAddr  net.Addr
	// TLS is the connection's TLS state; nil without TLS.
	TLS *tls.ConnectionState
	// State is the application's per-connection state, set by
	// ServerOptions.OnConnect (nil without it). The server never reads it.
	State any
}

type callInfoKey struct{}

// CallInfoFrom returns the CallInfo of a handler's ctx. On a ctx kept
// past its handler it returns the call's ID and Method, without Metadata
// (see Handler).
func CallInfoFrom(ctx context.Context) (CallInfo, bool) {
	switch v := ctx.Value(callInfoKey{}).(type) {
	case *serverCall: // ServerOptions.ReuseContexts
		return CallInfo{ID: v.id, Method: v.method, Metadata: v.md, Conn: &v.sc.info}, true
	case *callCtx:
		c := v.c
		c.mu.Lock()
		live := c.cur == v
		var md Metadata
		if live {
			md = c.md
		}
		c.mu.Unlock()
		if !live {
			v.misuse("CallInfoFrom")
		}
		return CallInfo{ID: v.id, Method: v.method, Metadata: md, Conn: &v.c.sc.info}, true
	}
	return CallInfo{}, false
}

// callCtx is the context a handler gets (unless ServerOptions.
// ReuseContexts): one small object per call, live while c.cur points to
// it. Once the handler has returned it reads as canceled for good and
// never reaches the serverCall's later calls.
type callCtx struct {
	c          *serverCall
	id, method uint32
	// reused: ReuseContexts under psdebug, where a use after the
	// handler returned is a mistake to report.
	reused bool
}

var _ context.Context = (*callCtx)(nil)

// closedChan is the Done of every retired callCtx.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (h *callCtx) misuse(what string) {
	if h.reused {
		panic("rpc: " + what + " on a handler's context after the handler returned: with ServerOptions.ReuseContexts the context is reused by later calls; copy what you need, or leave ReuseContexts off")
	}
}

// Deadline implements context.Context; after the handler returned there
// is none.
func (h *callCtx) Deadline() (time.Time, bool) {
	c := h.c
	c.mu.Lock()
	if c.cur != h {
		c.mu.Unlock()
		h.misuse("Deadline")
		return time.Time{}, false
	}
	d, ok := c.deadline, c.hasDeadline
	c.mu.Unlock()
	return d, ok
}

// Done implements context.Context; closed once the handler returned.
func (h *callCtx) Done() <-chan struct{} {
	c := h.c
	c.mu.Lock()
	if c.cur != h {
		c.mu.Unlock()
		h.misuse("Done")
		return closedChan
	}
	ch := c.doneLocked()
	c.mu.Unlock()
	return ch
}

// Err implements context.Context; context.Canceled once the handler
// returned.
func (h *callCtx) Err() error {
	c := h.c
	c.mu.Lock()
	if c.cur != h {
		c.mu.Unlock()
		h.misuse("Err")
		return context.Canceled
	}
	err := c.errLocked()
	c.mu.Unlock()
	return err
}

// Value implements context.Context; CallInfoFrom reads the call through it.
func (h *callCtx) Value(key any) any {
	if key == (callInfoKey{}) {
		return h
	}
	return nil
}

// handlerCtx returns the context for the handler about to run: c itself
// with ServerOptions.ReuseContexts (no allocation), else a new callCtx.
func (c *serverCall) handlerCtx() context.Context {
	reuse := c.sc.srv.opts.ReuseContexts
	if reuse && !pool.Debug {
		return c
	}
	h := &callCtx{c: c, id: c.id, method: c.method, reused: reuse}
	c.mu.Lock()
	c.cur = h
	c.mu.Unlock()
	return h
}

// retire ends the handler's context when the handler has returned: a
// Done channel it was given is closed (it is not reused), and the callCtx
// no longer reaches c.
func (c *serverCall) retire() {
	if c.sc.srv.opts.ReuseContexts && !pool.Debug {
		return
	}
	c.mu.Lock()
	c.cur = nil
	if c.done != nil {
		if c.err == nil {
			close(c.done)
		}
		c.done = nil
	}
	c.mu.Unlock()
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
	reqHeld      int // request-copy bytes reserved (budget.go)

	deadline    time.Time
	hasDeadline bool

	mu    sync.Mutex
	done  chan struct{}
	err   error
	timer *time.Timer
	cur   *callCtx // the live handler context (nil with ReuseContexts)

	stream *serverStream

	// Response metadata (SetHeader, SetTrailer; respmd.go), under mu;
	// reused by later calls.
	hdr, trl Metadata
	hdrSent  atomic.Bool
}

var _ context.Context = (*serverCall)(nil)

// Deadline implements context.Context: the arrival time plus the timeout
// the request carried.
func (c *serverCall) Deadline() (time.Time, bool) { return c.deadline, c.hasDeadline }

// Done implements context.Context.
func (c *serverCall) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.doneLocked()
}

func (c *serverCall) doneLocked() <-chan struct{} {
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
	if c.hasDeadline && !callNow().Before(c.deadline) {
		c.cancelLocked(context.DeadlineExceeded)
	}
}

// Err implements context.Context: context.Canceled after a cancel frame or
// the connection's end, context.DeadlineExceeded past the deadline.
func (c *serverCall) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.errLocked()
}

func (c *serverCall) errLocked() error {
	if c.err == nil && c.hasDeadline && !callNow().Before(c.deadline) {
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

// cancelAround cancels the call's context with err around end (which
// ends its stream): Err reports err before end runs, so a handler woken
// by the stream's end finds its context canceled; Done closes only after
// it, so a handler woken by Done finds the stream's end recorded and
// sends nothing of its own.
func (c *serverCall) cancelAround(err error, end func()) {
	c.mu.Lock()
	first := c.err == nil
	var pending chan struct{}
	if first {
		c.err = err
		pending = c.done // open; a Done made from now on is born closed
	}
	c.mu.Unlock()
	end()
	if pending != nil {
		close(pending)
	}
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
func (c *serverCall) setup(id, method uint32, kind uint8, p wire.Prefix, body []byte, now time.Time) {
	c.id, c.method, c.kind = id, method, kind
	c.body, c.md = body, p.Metadata
	if p.Timeout > 0 {
		// Under mu: a timer of an earlier call that fired as it was
		// reset may still be reading these in onTimer.
		c.mu.Lock()
		c.deadline, c.hasDeadline = now.Add(p.Timeout), true
		c.mu.Unlock()
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
	c.hdr, c.trl = c.hdr[:0], c.trl[:0]
	c.hdrSent.Store(false)
}

// monoBase anchors callNow.
var monoBase = time.Now()

// callNow is time.Now from one clock read instead of two: the monotonic
// clock, with the wall reading derived from monoBase. Call deadlines
// compare by the monotonic reading, so a step of the system's wall clock
// since the process started shows only in the wall part of a handler's
// ctx.Deadline(). (time.Now reads the wall and the monotonic clock; on
// the 2-core VM of bench/README.md each read costs 50-100 ns, and the
// deadline of a call with a timeout was 6-9% of a unary call's CPU.)
func callNow() time.Time { return monoBase.Add(time.Since(monoBase)) }
