package compat

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// Handler serves one unary request: it fills resp, whose id and control
// the server then sets to the request's id and Normal. A non-nil error (or
// a panic) rejects the call: the client gets Cancel ("cancelled remotely"),
// as from a protosocket-rpc service that returns cancelled.
//
// Lifetimes: req, resp and ctx belong to the server and are reused for
// later calls once the handler returns; do not keep them (copy what you
// need). resp starts as the zero message; it may refer to req's memory
// (resp.Body = req.Body): it is encoded before req is reused. ctx ends
// when the client sends Cancel for the id or the connection closes
// (Pooled mode; an Inline handler's ctx never ends). Under -tags psdebug
// a ctx used after its handler returned panics, naming the mistake.
type Handler[Req, Resp any] func(ctx context.Context, req *Req, resp *Resp) error

// StreamHandler serves one streaming request: it sends items with
// s.Send, and returns nil to end the stream (the server sends End) or an
// error to reject or abort it (the server sends Cancel). When the client
// cancels, the handler's ctx ends and Send fails; the server then sends
// Cancel, never End. req, s and ctx are valid until the handler returns:
// Send afterwards fails with ErrStreamOver, and under -tags psdebug it
// panics, as does the ctx.
type StreamHandler[Req, Resp any] func(ctx context.Context, req *Req, s *ServerStream[Req, Resp]) error

// ServerStats are a Server's counters.
type ServerStats struct {
	Calls    uint64 // requests accepted (unary and streams)
	Rejected uint64 // requests rejected with Cancel at MaxInFlight, MaxInFlightBytes, or as duplicates
	Failed   uint64 // calls ended with Cancel: handler errors, panics, unencodable responses
	Canceled uint64 // Cancels from clients that found their call (not yet answered)
	Ignored  uint64 // Cancels for unknown or answered ids, End messages from clients
}

// Server serves protosocket-rpc clients: unary calls through a Handler and,
// once HandleStream is called, streaming calls through a StreamHandler.
type Server[Req, Resp any] struct {
	req      Codec[Req]
	resp     Codec[Resp]
	h        Handler[Req, Resp]
	sh       StreamHandler[Req, Resp]
	isStream func(*Req) bool
	opts     Options
	optErr   error
	maxFrame int

	calls, rejected, failed, canceled, ignored atomic.Uint64
}

// NewServer returns a Server of unary calls to h. Invalid options are
// reported by Serve.
func NewServer[Req, Resp any](req Codec[Req], resp Codec[Resp], h Handler[Req, Resp], opts Options) *Server[Req, Resp] {
	s := &Server[Req, Resp]{req: req, resp: resp, h: h, optErr: opts.Validate()}
	opts.ensureDefaults()
	s.opts = opts
	s.maxFrame = opts.Socket.MaxFrameSize
	if s.maxFrame <= 0 {
		s.maxFrame = frame.DefaultMaxFrameSize
	}
	return s
}

// HandleStream makes the requests for which isStream returns true
// streaming calls served by h (protosocket-rpc lets the service choose per
// request; the upstream example streams when response_behavior is STREAM).
// Call it before Serve. Streams run on their own goroutines and count
// against MaxInFlight.
func (s *Server[Req, Resp]) HandleStream(isStream func(req *Req) bool, h StreamHandler[Req, Resp]) {
	s.isStream, s.sh = isStream, h
}

// Stats returns the server's counters.
func (s *Server[Req, Resp]) Stats() ServerStats {
	return ServerStats{Calls: s.calls.Load(), Rejected: s.rejected.Load(), Failed: s.failed.Load(),
		Canceled: s.canceled.Load(), Ignored: s.ignored.Load()}
}

// Serve serves ln until ctx ends (see socket.Serve). It returns the
// options' *OptionError, if any, before serving.
func (s *Server[Req, Resp]) Serve(ctx context.Context, ln net.Listener) error {
	if s.optErr != nil {
		_ = ln.Close()
		return s.optErr
	}
	return socket.Serve(ctx, ln, s.newConn, s.opts.socketOpts())
}

// ServeConn serves one established connection (for example one end of a
// net.Pipe) until it closes.
func (s *Server[Req, Resp]) ServeConn(nc net.Conn) (*socket.Conn, error) {
	if s.optErr != nil {
		_ = nc.Close()
		return nil, s.optErr
	}
	sc := &serverConn[Req, Resp]{s: s, calls: map[uint64]*scall[Req, Resp]{}}
	sc.ctx, sc.stop = context.WithCancel(context.Background())
	c, err := socket.NewConn(nc, sc, s.opts.socketOpts())
	if err != nil {
		sc.stop()
		return nil, err
	}
	sc.setConn(c)
	return c, nil
}

func (s *Server[Req, Resp]) newConn(c *socket.Conn) socket.Reactor {
	sc := &serverConn[Req, Resp]{s: s, calls: map[uint64]*scall[Req, Resp]{}}
	sc.ctx, sc.stop = context.WithCancel(context.Background())
	sc.setConn(c)
	return sc
}

// lanes is the number of Senders a server connection spreads its workers'
// and streams' messages over (each message is whole, so any lane keeps a
// call's order as long as one goroutine sends it).
const lanes = 4

// scall is one pooled call or stream, reused call after call.
type scall[Req, Resp any] struct {
	callCtx
	id     uint64
	size   int64
	dup    *scall[Req, Resp] // the next call in flight with the same id
	stream bool
	listed bool // in serverConn.calls (until untrack or finish)
	req    Req
	resp   Resp
}

// serverConn is the reactor of one server connection.
type serverConn[Req, Resp any] struct {
	s    *Server[Req, Resp]
	conn *socket.Conn
	ctx  context.Context // ends at OnClose: unblocks workers waiting for queue room
	stop context.CancelFunc

	// The reader's own (OnMessage only).
	scratch Req
	inReq   Req
	inResp  Resp
	inCtx   callCtx
	out     []byte

	mu       sync.Mutex
	calls    map[uint64]*scall[Req, Resp]
	free     []*scall[Req, Resp]
	queue    []*scall[Req, Resp]
	head     int
	workers  int
	idle     int           // workers parked in work, waiting for a token on wake
	wake     chan struct{} // one token per call handed to a parked worker
	inflight int
	bytes    int64
	closed   bool
	senders  [lanes]*socket.Sender
	nextLane int
	wg       sync.WaitGroup
}

func (sc *serverConn[Req, Resp]) setConn(c *socket.Conn) { sc.conn = c }

// lane returns a Sender for a worker or stream; sc.mu held.
func (sc *serverConn[Req, Resp]) laneLocked() *socket.Sender {
	i := sc.nextLane % lanes
	sc.nextLane++
	if sc.senders[i] == nil {
		sc.senders[i] = sc.conn.NewSender(nil)
	}
	return sc.senders[i]
}

// OnMessage implements socket.Reactor. It never blocks on calls in
// flight: the reader keeps reading Cancels and the peer's close whatever
// the handlers do.
func (sc *serverConn[Req, Resp]) OnMessage(c *socket.Conn, m socket.Message) socket.Action {
	s := sc.s
	id, code, parsed, err := peek(s.req, m.Payload, &sc.scratch)
	if err != nil {
		return socket.Disconnect // not a message of this protocol
	}
	switch Read(code) {
	case Cancel:
		sc.onCancel(id)
		return socket.Continue
	case End:
		s.ignored.Add(1)
		return socket.Continue
	}
	if s.opts.Mode == Inline && s.sh == nil {
		return sc.runInline(c, id, m.Payload, parsed)
	}
	if s.sh != nil || s.opts.Mode == Inline {
		if !parsed {
			if err := s.req.Parse(m.Payload, &sc.scratch); err != nil {
				return socket.Disconnect
			}
		}
		stream := s.sh != nil && s.isStream(&sc.scratch)
		if !stream && s.opts.Mode == Inline {
			return sc.runInline(c, id, m.Payload, true)
		}
		return sc.start(c, id, m.Payload, stream)
	}
	return sc.start(c, id, m.Payload, false)
}

// runInline serves a unary call on the reader; its reply is framed into
// the reader's batch (conn.Reply). The request is already in sc.scratch
// when parsed is true.
func (sc *serverConn[Req, Resp]) runInline(c *socket.Conn, id uint64, payload []byte, parsed bool) socket.Action {
	s := sc.s
	req := &sc.inReq
	if parsed {
		req = &sc.scratch
	} else if err := s.req.Parse(payload, req); err != nil {
		return socket.Disconnect
	}
	s.calls.Add(1)
	var zero Resp
	sc.inResp = zero
	ctx, done := lend(&sc.inCtx)
	err := s.invoke(ctx, req, &sc.inResp)
	done()
	if err != nil {
		s.failed.Add(1)
		sc.replyControl(c, id, Cancel)
		return socket.Continue
	}
	s.resp.SetID(&sc.inResp, id)
	s.resp.SetControl(&sc.inResp, Normal)
	out, err := s.resp.Append(sc.out[:0], &sc.inResp)
	if err != nil || len(out) > s.maxFrame {
		s.failed.Add(1)
		sc.replyControl(c, id, Cancel)
		return socket.Continue
	}
	sc.out = out
	_ = c.Reply(frame.Header{}, out) // copied; a failure goes to the failure callback, like a Sender's
	sc.trimOut()
	return socket.Continue
}

// maxKeptOut is the largest encode buffer the reader keeps between
// messages: one large reply must not pin its size on an idle connection.
const maxKeptOut = 64 << 10

func (sc *serverConn[Req, Resp]) trimOut() {
	if cap(sc.out) > maxKeptOut {
		sc.out = nil
	}
}

// replyControl sends the minimal message with id and code from the reader.
func (sc *serverConn[Req, Resp]) replyControl(c *socket.Conn, id uint64, code Control) {
	out, err := appendControl(sc.s.resp, sc.out[:0], id, code)
	if err != nil {
		return
	}
	sc.out = out
	_ = c.Reply(frame.Header{}, out)
	sc.trimOut()
}

// start admits a pooled call or a stream, parses its request into the
// call's own message and hands it to a worker (or a stream goroutine).
func (sc *serverConn[Req, Resp]) start(c *socket.Conn, id uint64, payload []byte, stream bool) socket.Action {
	s := sc.s
	size := int64(len(payload))
	sc.mu.Lock()
	if sc.closed {
		sc.mu.Unlock()
		return socket.Continue
	}
	if (s.opts.RejectDuplicates && sc.calls[id] != nil) ||
		sc.inflight >= s.opts.MaxInFlight || sc.bytes+size > s.opts.MaxInFlightBytes {
		sc.mu.Unlock()
		s.rejected.Add(1)
		sc.replyControl(c, id, Cancel)
		return socket.Continue
	}
	var call *scall[Req, Resp]
	if n := len(sc.free); n > 0 {
		call = sc.free[n-1]
		sc.free[n-1] = nil
		sc.free = sc.free[:n-1]
	} else {
		call = new(scall[Req, Resp])
	}
	call.id, call.size, call.stream = id, size, stream
	call.dup = sc.calls[id]
	sc.calls[id] = call
	call.listed = true
	sc.inflight++
	sc.bytes += size
	sc.mu.Unlock()
	if err := s.req.Parse(payload, &call.req); err != nil {
		sc.finish(call)
		return socket.Disconnect
	}
	s.calls.Add(1)
	sc.mu.Lock()
	if stream {
		snd := sc.laneLocked()
		sc.wg.Add(1)
		sc.mu.Unlock()
		go sc.runStream(call, snd)
		return socket.Continue
	}
	sc.queue = append(sc.queue, call)
	if sc.idle > 0 {
		sc.idle--
		sc.wake <- struct{}{} // never blocks: cap Workers > tokens
	} else if sc.workers < s.opts.Workers {
		if sc.wake == nil {
			sc.wake = make(chan struct{}, s.opts.Workers)
		}
		sc.workers++
		snd := sc.laneLocked()
		sc.wg.Add(1)
		go sc.work(snd)
	}
	sc.mu.Unlock()
	return socket.Continue
}

// onCancel cancels the calls in flight with id (all of them, when the
// client sent duplicates).
func (sc *serverConn[Req, Resp]) onCancel(id uint64) {
	sc.mu.Lock()
	found := false
	for call := sc.calls[id]; call != nil; call = call.dup {
		call.cancel(endByPeer)
		found = true
	}
	sc.mu.Unlock()
	if found {
		sc.s.canceled.Add(1)
	} else {
		sc.s.ignored.Add(1)
	}
}

// workerLinger is how long a worker with nothing to do waits for the next
// call before it exits: long enough that a connection with calls in
// steady succession keeps its workers (no goroutine start per call: with
// one caller BenchmarkCompatCall/pooled went from 5 to 2 allocations per
// call), short enough that an idle connection soon has none.
var workerLinger = 20 * time.Millisecond

// work is a worker goroutine: it runs queued calls until there are none
// for workerLinger.
func (sc *serverConn[Req, Resp]) work(snd *socket.Sender) {
	defer sc.wg.Done()
	var buf []byte
	var linger *time.Timer
	for {
		sc.mu.Lock()
		if sc.head == len(sc.queue) {
			sc.queue, sc.head = sc.queue[:0], 0
			if sc.closed {
				sc.workers--
				sc.mu.Unlock()
				return
			}
			sc.idle++
			sc.mu.Unlock()
			if linger == nil {
				linger = time.NewTimer(workerLinger)
			} else {
				linger.Reset(workerLinger)
			}
			select {
			case <-sc.wake:
				linger.Stop()
				continue
			case <-sc.ctx.Done():
			case <-linger.C:
			}
			sc.mu.Lock()
			if sc.idle > 0 { // nobody handed this worker a call: exit
				sc.idle--
				sc.workers--
				sc.mu.Unlock()
				return
			}
			<-sc.wake // a call was handed to a parked worker: this one takes it
			sc.mu.Unlock()
			continue
		}
		call := sc.queue[sc.head]
		sc.queue[sc.head] = nil
		sc.head++
		if sc.head >= 64 && sc.head*2 >= len(sc.queue) { // never grows without bound under constant load
			n := copy(sc.queue, sc.queue[sc.head:])
			clear(sc.queue[n:])
			sc.queue, sc.head = sc.queue[:n], 0
		}
		sc.mu.Unlock()
		buf = sc.runPooled(call, snd, buf)
		sc.finish(call)
	}
}

// runPooled runs one call's handler and sends its reply (or Cancel) on
// snd, encoding into buf (returned for reuse).
func (sc *serverConn[Req, Resp]) runPooled(call *scall[Req, Resp], snd *socket.Sender, buf []byte) []byte {
	s := sc.s
	var err error
	if call.ended() == endNone {
		var zero Resp
		call.resp = zero
		ctx, done := lend(&call.callCtx)
		err = s.invoke(ctx, &call.req, &call.resp)
		done()
	}
	// Out of the calls by id before ended is read: a Cancel either came
	// first (ended says so, and the answer is Cancel) or finds nothing
	// (Stats.Ignored, and the answer goes out), never both.
	sc.untrack(call)
	switch call.ended() {
	case endByClose:
		return buf // nobody to tell
	case endByPeer:
		return sc.sendControl(snd, buf, call.id, Cancel) // aborted: Cancel, never End
	}
	if err != nil {
		s.failed.Add(1)
		return sc.sendControl(snd, buf, call.id, Cancel)
	}
	s.resp.SetID(&call.resp, call.id)
	s.resp.SetControl(&call.resp, Normal)
	out, err := s.resp.Append(buf[:0], &call.resp)
	if err != nil || len(out) > s.maxFrame {
		s.failed.Add(1)
		return sc.sendControl(snd, buf, call.id, Cancel)
	}
	// Waits while the queue is full (this connection's worker only);
	// ends when the connection closes.
	_ = snd.Send(sc.ctx, frame.Header{}, out)
	return out
}

// untrack takes a pooled or streaming call out of the calls by id just
// before its answer (its End or Cancel) is queued: a client that has the answer may cancel the id (it
// finds nothing: Stats.Ignored, and nothing is sent) or reuse it (a new
// call, not a duplicate), though the worker has not finished yet. It
// still counts in flight (MaxInFlight, MaxInFlightBytes) until finish.
// Before, a Cancel read between the answer and finish counted as
// canceled (TestRuleAbortSendsCancelNotEnd, under load).
func (sc *serverConn[Req, Resp]) untrack(call *scall[Req, Resp]) {
	sc.mu.Lock()
	sc.unlistLocked(call)
	sc.mu.Unlock()
}

// unlistLocked removes call from sc.calls (its id's chain of
// duplicates), if it is there.
func (sc *serverConn[Req, Resp]) unlistLocked(call *scall[Req, Resp]) {
	if !call.listed {
		return
	}
	call.listed = false
	head := sc.calls[call.id]
	if head == call {
		if call.dup == nil {
			delete(sc.calls, call.id)
		} else {
			sc.calls[call.id] = call.dup
		}
		return
	}
	for prev := head; prev != nil; prev = prev.dup {
		if prev.dup == call {
			prev.dup = call.dup
			return
		}
	}
}

func (sc *serverConn[Req, Resp]) sendControl(snd *socket.Sender, buf []byte, id uint64, code Control) []byte {
	out, err := appendControl(sc.s.resp, buf[:0], id, code)
	if err != nil {
		return buf
	}
	_ = snd.Send(sc.ctx, frame.Header{}, out)
	return out
}

// invoke runs the handler, turning a panic into an error.
func (s *Server[Req, Resp]) invoke(ctx context.Context, req *Req, resp *Resp) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("compat: handler panic: %v", r)
		}
	}()
	return s.h(ctx, req, resp)
}

// finish removes a call from the table and recycles it.
func (sc *serverConn[Req, Resp]) finish(call *scall[Req, Resp]) {
	sc.mu.Lock()
	sc.unlistLocked(call)
	sc.inflight--
	sc.bytes -= call.size
	call.dup = nil
	call.reset()
	sc.free = append(sc.free, call)
	sc.mu.Unlock()
}

// runStream runs a streaming call on its own goroutine.
func (sc *serverConn[Req, Resp]) runStream(call *scall[Req, Resp], snd *socket.Sender) {
	defer sc.wg.Done()
	defer sc.finish(call)
	s := sc.s
	st := &ServerStream[Req, Resp]{sc: sc, call: call, snd: snd}
	var err error
	if call.ended() == endNone {
		ctx, done := lend(&call.callCtx)
		err = s.invokeStream(ctx, &call.req, st)
		done()
	}
	st.returned.Store(true)
	// As runPooled: out of the calls by id before its last frame, so a
	// client that has the End may reuse the id (a new call, not a
	// duplicate) or cancel it (Ignored) at once.
	sc.untrack(call)
	switch call.ended() {
	case endByClose:
		return
	case endByPeer:
		st.buf = sc.sendControl(snd, st.buf, call.id, Cancel)
		return
	}
	if err != nil {
		s.failed.Add(1)
		st.buf = sc.sendControl(snd, st.buf, call.id, Cancel)
		return
	}
	st.buf = sc.sendControl(snd, st.buf, call.id, End)
}

func (s *Server[Req, Resp]) invokeStream(ctx context.Context, req *Req, st *ServerStream[Req, Resp]) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("compat: handler panic: %v", r)
		}
	}()
	return s.sh(ctx, req, st)
}

// ServerStream sends the items of one streaming call. It is valid until
// the StreamHandler returns; Send is not safe for concurrent use.
type ServerStream[Req, Resp any] struct {
	sc   *serverConn[Req, Resp]
	call *scall[Req, Resp]
	snd  *socket.Sender
	buf  []byte
	// returned is set when the StreamHandler has returned: Send then
	// fails with ErrStreamOver (panics under psdebug).
	returned atomic.Bool
}

// Send sends resp as the stream's next item (its id and control are set
// here; resp may be reused once Send returns). It waits while the
// connection's queue is full, and fails with the context's error once the
// client canceled or the connection closed, or with an error matching
// ErrEncode.
func (st *ServerStream[Req, Resp]) Send(resp *Resp) error {
	if st.returned.Load() {
		if psdebug {
			panic("compat: ServerStream.Send after its StreamHandler returned")
		}
		return ErrStreamOver
	}
	ctx := &st.call.callCtx
	if err := ctx.Err(); err != nil {
		return err
	}
	c := st.sc.s.resp
	c.SetID(resp, st.call.id)
	c.SetControl(resp, Normal)
	out, err := c.Append(st.buf[:0], resp)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrEncode, err)
	}
	st.buf = out
	return st.snd.Send(ctx, frame.Header{}, out)
}

// OnClose implements socket.CloseReactor: the calls in flight are
// canceled (nothing is sent for them) and their goroutines waited for.
func (sc *serverConn[Req, Resp]) OnClose(*socket.Conn, error) {
	sc.mu.Lock()
	sc.closed = true
	for _, call := range sc.calls {
		for ; call != nil; call = call.dup {
			call.cancel(endByClose)
		}
	}
	sc.mu.Unlock()
	sc.stop()
	sc.wg.Wait()
	for _, snd := range sc.senders {
		if snd != nil {
			snd.Close()
		}
	}
}
