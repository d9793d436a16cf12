package rpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

// Client is one RPC connection to a server. Calls on it are correlated by
// the frame stream id and completed through a preallocated slot table, so
// thousands may be in flight at once. Use a Caller per calling goroutine
// for the fastest path (its own send lane and slot); Client.Call does the
// same through a pool of Callers. Its methods are safe for concurrent use.
type Client struct {
	conn  *socket.Conn
	opts  ClientOptions
	t     *slotTable
	ready chan struct{} // closed once conn is set

	closed      atomic.Bool
	cause       atomic.Pointer[ClosedError]
	goAway      atomic.Bool
	outstanding atomic.Int64
	rx          *socket.Sender // the reader's own lane (pongs, stream credit)
	brun        clientRun      // the reader's run of one stream's messages (clientbatch.go)
	maxFrame    int            // the connection's MaxFrameSize: requests over it fail before sending

	// After a GoAway the client closes the connection itself once
	// nothing is outstanding (see closeDrained).
	drainMu sync.Mutex
	// ctxwatch.go: the Callers' context watches, stopped at the close.
	watchMu   sync.Mutex
	watches   map[*ctxWatch]struct{}
	drainDone chan struct{} // non-nil once the drain-close started; closed when it ended

	// shared[i] is the Caller Client.Call uses when it pops slot i; only
	// the goroutine holding slot i touches it.
	shared []*Caller
}

// Dial connects to an RPC server at addr (see socket.Dial); ctx bounds the
// connect only.
func Dial(ctx context.Context, network, addr string, opts ClientOptions) (*Client, error) {
	c, err := newClient(opts)
	if err != nil {
		return nil, err
	}
	conn, err := socket.Dial(ctx, network, addr, c, c.opts.Socket)
	if err != nil {
		return nil, err
	}
	c.start(conn)
	return c, nil
}

// NewClient runs an RPC client over an established connection (see
// socket.NewConn).
func NewClient(nc net.Conn, opts ClientOptions) (*Client, error) {
	c, err := newClient(opts)
	if err != nil {
		return nil, err
	}
	conn, err := socket.NewConn(nc, c, c.opts.Socket)
	if err != nil {
		return nil, err
	}
	c.start(conn)
	return c, nil
}

func newClient(opts ClientOptions) (*Client, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.ensureDefaults()
	t := newSlotTable(opts.MaxInFlight)
	maxFrame := opts.Socket.MaxFrameSize
	if maxFrame == 0 {
		maxFrame = frame.DefaultMaxFrameSize
	}
	return &Client{opts: opts, t: t, shared: make([]*Caller, len(t.slots)), ready: make(chan struct{}), maxFrame: maxFrame}, nil
}

func (c *Client) start(conn *socket.Conn) {
	c.conn = conn
	close(c.ready)
}

// Conn returns the underlying connection (for Stats and addresses).
func (c *Client) Conn() *socket.Conn { return c.conn }

// Close closes the connection at once; every pending call ends with an
// error matching ErrClosed. It waits for the connection's goroutines.
func (c *Client) Close() error {
	<-c.ready
	err := c.conn.Close()
	c.drainMu.Lock()
	d := c.drainDone
	c.drainMu.Unlock()
	if d != nil {
		<-d
	}
	return err
}

// drainCloseTimeout bounds the client's own close of a drained
// connection (writing what is queued).
const drainCloseTimeout = 5 * time.Second

// callDone ends one outstanding call or stream. After a GoAway, the last
// one closes the connection: every request the client sent has its
// answer, so the server may go (docs/guide.md, "Drain").
func (c *Client) callDone() {
	if c.outstanding.Add(-1) == 0 && c.goAway.Load() {
		c.closeDrained()
	}
}

// closeDrained closes the connection after a GoAway once nothing is
// outstanding (off the reader: conn.Drain may not run in OnMessage).
// Calls and streams count themselves outstanding before they check
// goAway, and the reader sets goAway before it checks outstanding, so
// either the call sees the GoAway and is not sent, or this waits for it.
func (c *Client) closeDrained() {
	c.drainMu.Lock()
	defer c.drainMu.Unlock()
	if c.drainDone != nil {
		return
	}
	d := make(chan struct{})
	c.drainDone = d
	go func() {
		defer close(d)
		ctx, cancel := context.WithTimeout(context.Background(), drainCloseTimeout)
		defer cancel()
		<-c.ready // a GoAway can arrive before Dial has returned
		_ = c.conn.Drain(ctx)
	}()
}

// refusal is the error of a call that is not sent because the server
// sent GoAway or the connection is closed: it matches ErrUnavailable.
func (c *Client) refusal() error {
	if c.goAway.Load() {
		return notSent("server draining (GoAway)")
	}
	if e := c.cause.Load(); e != nil {
		return notSent(e.Error())
	}
	return notSent("connection closed")
}

// sendErr maps a failed send of a request (nothing was queued) into the
// error contract: ctx errors stay, a request over the frame limit is
// CodeResourceExhausted, a full queue (socket.Options.FailWhenFull)
// CodeOverloaded, a closed connection "not sent" (ErrUnavailable).
func (c *Client) sendErr(err error) error {
	var e *Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.As(err, &e):
		return err
	case errors.Is(err, socket.ErrFrameTooLarge):
		return &Error{Code: CodeResourceExhausted, Message: fmt.Sprintf("not sent: over the client's maximum frame size %d: %v", c.maxFrame, err)}
	case errors.Is(err, socket.ErrBackpressure):
		return &Error{Code: CodeOverloaded, Message: "not sent: the connection's send queue is full"}
	}
	return notSent(err.Error())
}

// Closed returns a channel closed when the connection has closed.
func (c *Client) Closed() <-chan struct{} { <-c.ready; return c.conn.Closed() }

// Err returns nil while the connection is open, else a *ClosedError.
func (c *Client) Err() error {
	if e := c.cause.Load(); e != nil {
		return e
	}
	return nil
}

// Draining reports whether the server sent GoAway: new calls on this
// connection fail at once with ErrUnavailable (not sent) and belong
// elsewhere; the client closes the connection itself once its last
// outstanding call or stream has its answer.
func (c *Client) Draining() bool { return c.goAway.Load() }

// Outstanding returns the number of calls waiting for a reply.
func (c *Client) Outstanding() int64 { return c.outstanding.Load() }

// Caller makes calls from one goroutine at a time: it owns a send lane
// (so its cancel frames follow its requests in order and callers never
// share a lock) and a call slot. From its second consecutive call with
// one context it watches that context with one context.AfterFunc instead
// of selecting on ctx.Done() per call; the registration is dropped when a
// call brings another context, at Close, and when the connection closes.
type Caller struct {
	c      *Client
	snd    *socket.Sender
	idx    uint32
	invoke Invoker // k.call, bound once when an Interceptor is set
	// ctxwatch.go: the watch of the context of the last calls, and the
	// Done channel of the last call's context.
	watch    *ctxWatch
	lastDone <-chan struct{}
	big      *reqRef // a large request lent by reference (largereq.go)
}

// newCaller returns a Caller on slot idx with a fresh lane.
func (c *Client) newCaller(idx uint32) *Caller {
	k := &Caller{c: c, snd: c.conn.NewSender(nil), idx: idx}
	if c.opts.Interceptor != nil {
		k.invoke = k.call
	}
	return k
}

// NewCaller returns a Caller holding one of the client's MaxInFlight
// slots (ErrTooManyCalls when none is free). Close it when done.
func (c *Client) NewCaller() (*Caller, error) {
	if err := c.Err(); err != nil {
		return nil, err
	}
	idx, ok := c.t.pop()
	if !ok {
		return nil, ErrTooManyCalls
	}
	<-c.ready
	return c.newCaller(idx), nil
}

// Close releases the Caller's lane and slot. Calls on the Caller
// afterwards return ErrCallerClosed.
func (k *Caller) Close() {
	if k.snd == nil {
		return
	}
	k.unwatch()
	k.snd.Close()
	k.snd = nil
	k.c.t.push(k.idx)
}

// Call sends req to method and waits for the response, which it appends
// to dst and returns. req is borrowed until Call returns and never
// touched after: a small one is copied when it is queued; one above the
// connection's copy threshold (socket.Options.CopyThreshold, 16 KiB by
// default) is sent by reference, so it must not change while Call runs,
// and Call returns only once the connection is done with it (when ctx
// ends while the request still waits in the queue it is withdrawn, and
// the server never sees it; while it is being written Call waits for the
// write, which Socket.WriteTimeout bounds against a peer that does not
// read; psdebug panics if req changed meanwhile). The error is a
// *Error for an error frame from the server (errors.Is with ErrUnimplemented,
// ErrOverloaded, ...), ctx's error when ctx ends first (a cancel frame
// then follows the request on the same lane), or a *ClosedError when the
// connection closes. With a reused dst and Caller, Call does not allocate.
func (c *Client) Call(ctx context.Context, method uint32, req, dst []byte) ([]byte, error) {
	k, err := c.getCaller()
	if err != nil {
		return dst, err
	}
	dst, err = k.Call(ctx, method, req, dst)
	c.t.push(k.idx)
	return dst, err
}

// Send sends a fire-and-forget request: no response, no error from the
// server. A nil result means it was queued.
func (c *Client) Send(ctx context.Context, method uint32, req []byte) error {
	k, err := c.getCaller()
	if err != nil {
		return err
	}
	err = k.Send(ctx, method, req)
	c.t.push(k.idx)
	return err
}

// getCaller pops a slot (lock-free) and returns the shared Caller bound
// to it, made on first use. The slot goes back with c.t.push.
func (c *Client) getCaller() (*Caller, error) {
	if c.closed.Load() || c.goAway.Load() {
		return nil, c.refusal()
	}
	idx, ok := c.t.pop()
	if !ok {
		return nil, ErrTooManyCalls
	}
	k := c.shared[idx]
	if k == nil {
		<-c.ready
		k = c.newCaller(idx)
		c.shared[idx] = k
	}
	return k, nil
}

// Call is Client.Call on this Caller's lane and slot.
func (k *Caller) Call(ctx context.Context, method uint32, req, dst []byte) ([]byte, error) {
	return k.CallMetadata(ctx, method, nil, req, dst)
}

// CallMetadata is Call with metadata md sent with the request (see
// Metadata; handlers read it with CallInfoFrom).
// With ClientOptions.Interceptor set, the call goes through it.
func (k *Caller) CallMetadata(ctx context.Context, method uint32, md Metadata, req, dst []byte) ([]byte, error) {
	if k.snd == nil {
		return dst, ErrCallerClosed
	}
	if ic := k.c.opts.Interceptor; ic != nil {
		return ic(ctx, method, md, req, dst, k.invoke)
	}
	return k.roundTrip(ctx, wire.KindRequest, method, md, req, dst)
}

// call is the Invoker behind a ClientInterceptor.
func (k *Caller) call(ctx context.Context, method uint32, md Metadata, req, dst []byte) ([]byte, error) {
	return k.roundTrip(ctx, wire.KindRequest, method, md, req, dst)
}

// Ping sends a ping frame and waits for the pong: a health check of the
// connection and the peer's reader.
func (k *Caller) Ping(ctx context.Context) error {
	if k.snd == nil {
		return ErrCallerClosed
	}
	_, err := k.roundTrip(ctx, wire.KindPing, 0, nil, nil, nil)
	return err
}

// Send is Client.Send on this Caller's lane.
func (k *Caller) Send(ctx context.Context, method uint32, req []byte) error {
	c := k.c
	if k.snd == nil {
		return ErrCallerClosed
	}
	p, err := prefixFor(ctx, nil)
	if err != nil {
		return err
	}
	// Outstanding while it is queued, so a drain-close waits for it.
	c.outstanding.Add(1)
	defer c.callDone()
	if c.closed.Load() || c.goAway.Load() {
		return c.refusal()
	}
	return k.sendOpening(ctx, wire.KindFireAndForget, 0, method, p, req)
}

func prefixFor(ctx context.Context, md Metadata) (wire.Prefix, error) {
	p := wire.Prefix{Metadata: md}
	if d, ok := ctx.Deadline(); ok {
		p.Timeout = time.Until(d)
		if p.Timeout <= 0 {
			return p, context.DeadlineExceeded
		}
	}
	if err := ctx.Err(); err != nil {
		return p, err
	}
	return p, nil
}

func (k *Caller) sendOpening(ctx context.Context, kind uint8, id, method uint32, p wire.Prefix, body []byte) error {
	buf := pool.GetBufferFor(8 + 2 + len(p.Metadata) + len(body)) // prefix at most, body
	var err error
	if buf.B, err = appendPrefix(buf.B[:0], p); err != nil {
		pool.PutBuffer(buf)
		return err
	}
	buf.B = append(buf.B, body...)
	if n := len(buf.B); n > k.c.maxFrame {
		pool.PutBuffer(buf)
		return &Error{Code: CodeResourceExhausted, Message: fmt.Sprintf("not sent: request of %d bytes over the client's maximum frame size %d", n, k.c.maxFrame)}
	}
	if err := k.snd.SendBuffer(ctx, frame.Header{Kind: kind, Flags: p.Flags(), Stream: id, Type: method}, buf); err != nil {
		return k.c.sendErr(err)
	}
	return nil
}

func (k *Caller) roundTrip(ctx context.Context, kind uint8, method uint32, md Metadata, req, dst []byte) ([]byte, error) {
	c := k.c
	p, err := prefixFor(ctx, md)
	if err != nil {
		return dst, err
	}
	s := &c.t.slots[k.idx]
	s.dst = dst
	if kind == wire.KindRequest {
		s.rmd = responseMetadataOf(ctx)
	}
	id, _ := c.t.arm(k.idx) // publishes dst and rmd with stPending
	c.outstanding.Add(1)
	defer c.callDone()
	// The closer sets closed before it scans the slots: either it sees
	// this slot pending, or this sees closed. Likewise the reader sets
	// goAway before it looks at outstanding (see closeDrained).
	if c.closed.Load() || c.goAway.Load() {
		return dst, k.abandon(id, s, c.refusal())
	}
	if err := k.sendRequest(ctx, kind, id, method, p, req); err != nil {
		return dst, k.abandon(id, s, err)
	}
	if !k.wait(ctx, id, s) {
		s.dst, s.rmd = nil, nil
		if kind == wire.KindRequest && !k.withdrawRequest() {
			// Same lane as the request: it cannot overtake it. Queued
			// only if there is room (noWait): a canceled call never waits
			// behind a full queue; without the Cancel the server finishes
			// the call and its response is dropped on arrival.
			_ = k.snd.Send(noWait, frame.Header{Kind: wire.KindCancel, Stream: id, Type: method}, nil)
		}
		k.settleRequest()
		return dst, ctx.Err()
	}
	dst, err = s.dst, s.err
	s.dst, s.err, s.rmd = nil, nil, nil
	s.word.Store(word(id, stIdle))
	k.settleRequest()
	return dst, err
}

// wait waits for call id in s to complete (true) or for ctx to end
// first (false: the call is abandoned). See ctxwatch.go.
func (k *Caller) wait(ctx context.Context, id uint32, s *slot) bool {
	d := ctx.Done()
	if d == nil {
		<-s.done
		return true
	}
	if w := k.watchFor(ctx, d); w != nil {
		w.id.Store(id)
		if ctx.Err() != nil && s.tryAbandon(id) { // ended before the watch could see id
			w.id.Store(0)
			return false
		}
		<-s.done
		w.id.Store(0)
		return s.word.Load() != word(id, stAbandoned) // abandoned: the watch fired
	}
	select {
	case <-s.done:
	case <-d:
		if s.tryAbandon(id) {
			return false
		}
		<-s.done // the reader is completing it: take the result
	}
	return true
}

// abandon gives up a call that was not (or could not be) sent; if the
// closer is completing it, its signal is consumed. The closer's error is
// not taken: the call was not sent, err says why.
func (k *Caller) abandon(id uint32, s *slot, err error) error {
	if !s.tryAbandon(id) {
		<-s.done
	}
	s.dst, s.err, s.rmd = nil, nil, nil
	return err
}

// tryAbandon moves the slot from pending to abandoned; false when the
// reader or the closer is completing it (its signal on done follows).
// While the reader writes response metadata (stMeta, a short copy) it
// waits for it to finish.
func (s *slot) tryAbandon(id uint32) bool {
	for {
		if s.word.CompareAndSwap(word(id, stPending), word(id, stAbandoned)) {
			return true
		}
		if s.word.Load() != word(id, stMeta) {
			return false
		}
		runtime.Gosched()
	}
}

// OnMessage implements socket.Reactor: it completes calls and streams.
func (c *Client) OnMessage(conn *socket.Conn, m socket.Message) socket.Action {
	h := m.Header
	if m.Oversized { // over Socket.MaxFrameSize, body skipped (oversize.go)
		c.onOversized(conn, h)
		return socket.Continue
	}
	switch h.Kind {
	case wire.KindResponse, wire.KindPong:
		if s := c.t.lookup(h.Stream); s != nil {
			c.complete(s, h.Stream, m.Payload, nil)
		}
	case wire.KindError:
		s := c.t.lookup(h.Stream)
		if s == nil {
			break
		}
		e := newReceivedError(h.Flags, m.Payload)
		if st := s.streamFor(h.Stream); st != nil {
			st.onError(e)
			break
		}
		c.complete(s, h.Stream, nil, e)
	case wire.KindHeader, wire.KindTrailer:
		if s := c.t.lookup(h.Stream); s != nil {
			c.onResponseMD(conn, s, h, m.Payload)
		}
	case wire.KindStreamMessage, wire.KindEnd, wire.KindCredit:
		if s := c.t.lookup(h.Stream); s != nil {
			if st := s.streamFor(h.Stream); st != nil {
				st.onFrame(conn, h, m.Payload)
			}
		}
	case wire.KindPing:
		c.reply(conn, frame.Header{Kind: wire.KindPong, Stream: h.Stream})
	case wire.KindGoAway:
		c.goAway.Store(true)
		if c.outstanding.Load() == 0 {
			c.closeDrained()
		}
	}
	return socket.Continue
}

// reply queues a control frame on the reader's own lane.
func (c *Client) reply(conn *socket.Conn, h frame.Header) {
	if c.rx == nil {
		c.rx = conn.NewSender(nil)
	}
	_ = c.rx.Send(context.Background(), h, nil)
}

// streamFor returns the stream the slot carries for id, if any.
func (s *slot) streamFor(id uint32) *ClientStream {
	w := s.word.Load()
	if w>>8 != uint64(id) || w&0xff != stPending {
		return nil
	}
	return s.stream.Load()
}

// complete hands payload (copied into the caller's dst) or err to the
// call waiting in s, if s still waits for id; a late or unknown id is
// ignored.
func (c *Client) complete(s *slot, id uint32, payload []byte, err error) {
	if s.stream.Load() != nil || !s.word.CompareAndSwap(word(id, stPending), word(id, stBusy)) {
		return
	}
	s.dst = append(s.dst, payload...)
	s.err = err
	s.word.Store(word(id, stDone))
	s.done <- struct{}{}
}

// OnClose implements socket.CloseReactor: every pending call and stream
// ends with a *ClosedError.
func (c *Client) OnClose(conn *socket.Conn, err error) {
	ce := &ClosedError{Cause: err}
	c.cause.Store(ce)
	c.closed.Store(true)
	c.stopWatches()
	if c.rx != nil {
		c.rx.Close()
	}
	for i := range c.t.slots {
		s := &c.t.slots[i]
		w := s.word.Load()
		if w&0xff != stPending {
			continue
		}
		id := uint32(w >> 8)
		if st := s.stream.Load(); st != nil {
			st.onClose(ce)
			continue
		}
		if s.word.CompareAndSwap(w, word(id, stBusy)) {
			s.err = ce
			s.word.Store(word(id, stDone))
			s.done <- struct{}{}
		}
	}
}

// noWait is a context that has ended: a Send with it queues if there is
// room and fails at once (with context.Canceled) if it would wait.
var noWait = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()
