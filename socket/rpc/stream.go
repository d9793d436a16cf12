package rpc

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

// StreamHandler serves a streaming method. st carries messages both ways
// with credit flow control; returning nil ends the stream normally (an
// end frame), an error ends it with an error frame. ctx is canceled when
// the client cancels or the connection closes and is valid until the
// handler returns.
type StreamHandler func(ctx context.Context, st *ServerStream) error

// streamCore is one side of a stream: a receive queue bounded by the
// credit this side grants, and the credit the peer granted for sending.
type streamCore struct {
	id, method uint32
	snd        *socket.Sender // this stream's own lane: messages, end, cancel, credit in order
	window     int

	// receive side: the connection's reader pushes, Recv pops (recvq.go)
	q        recvQueue
	consumed int     // Recv side only: messages read since the last grant
	cb       [4]byte // Recv side only: the credit frame's payload

	// send side
	mu       sync.Mutex
	credit   atomic.Int64
	creditCh chan struct{} // capacity 1: credit arrived
	ended    chan struct{} // closed when the peer ended the whole stream or the connection died
	isEnded  atomic.Bool   // set just before ended is closed
	endErr   error
	endOnce  sync.Once
	// sendClosed: closeSend ran
	sendClosed atomic.Bool
}

func newCore(snd *socket.Sender, id, method uint32, window int) *streamCore {
	s := &streamCore{id: id, method: method, snd: snd, window: window,
		creditCh: make(chan struct{}, 1), ended: make(chan struct{})}
	s.q.init(window)
	return s
}

// onMessage queues a copy of payload (reader goroutine). A message beyond
// the granted credit is a protocol violation: it returns false.
func (s *streamCore) onMessage(payload []byte) bool {
	return s.q.push(payload, s.window) == admitOK
}

// closeRecv ends the receive side with err (reader goroutine, or the
// closer after the reader exited).
func (s *streamCore) closeRecv(err error) { s.q.close(err) }

// end ends the whole stream (any goroutine): sends fail with err,
// receives return what is queued and then err.
func (s *streamCore) end(err error) {
	s.endOnce.Do(func() {
		s.mu.Lock()
		s.endErr = err
		s.mu.Unlock()
		s.isEnded.Store(true)
		close(s.ended)
	})
}

// endAll is end plus closeRecv, for the reader.
func (s *streamCore) endAll(err error) {
	s.end(err)
	s.closeRecv(err)
}

func (s *streamCore) endError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endErr
}

// onCredit adds n (reader goroutine); false if it overflows wire.MaxCredit.
func (s *streamCore) onCredit(payload []byte) bool {
	n, _, err := wire.ParseCredit(payload)
	if err != nil {
		return false
	}
	ok := s.credit.Add(int64(n)) <= wire.MaxCredit
	select {
	case s.creditCh <- struct{}{}:
	default:
	}
	return ok
}

// send waits for one credit, then queues payload as a stream message.
// Steady state: two atomic loads and a compare-and-swap before the
// Sender.
func (s *streamCore) send(ctx context.Context, payload []byte) error {
	if s.sendClosed.Load() {
		return ErrStreamClosed
	}
	for {
		if s.isEnded.Load() {
			if err := s.endError(); err != io.EOF {
				return err
			}
			return ErrStreamClosed
		}
		if c := s.credit.Load(); c > 0 {
			if s.credit.CompareAndSwap(c, c-1) {
				break
			}
			continue
		}
		select {
		case <-s.creditCh:
		case <-s.ended:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err := s.snd.Send(ctx, frame.Header{Kind: wire.KindStreamMessage, Stream: s.id, Type: s.method}, payload); err != nil {
		s.giveBack(1) // not sent: its credit is the next message's
		return streamErr(err)
	}
	return nil
}

// streamErr maps a failed send on a stream into the error contract: ctx
// errors stay, a message over the frame limit is CodeResourceExhausted, a
// full queue CodeOverloaded, a closed connection a *ClosedError.
func streamErr(err error) error {
	if err == nil {
		return nil
	}
	return streamErrSlow(err)
}

func streamErrSlow(err error) error {
	var e *Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.As(err, &e):
		return err
	case errors.Is(err, socket.ErrFrameTooLarge):
		return &Error{Code: CodeResourceExhausted, Message: "message not sent: " + err.Error()}
	case errors.Is(err, socket.ErrBackpressure):
		return &Error{Code: CodeOverloaded, Message: "message not sent: the connection's send queue is full"}
	}
	return &ClosedError{Cause: err}
}

// closeSend sends the end frame of this side once.
func (s *streamCore) closeSend(ctx context.Context) error {
	if !s.sendClosed.CompareAndSwap(false, true) {
		return nil
	}
	return streamErr(s.snd.Send(ctx, frame.Header{Kind: wire.KindEnd, Stream: s.id, Type: s.method}, nil))
}

// recv appends the next message to dst; at the end it returns the
// stream's end error (io.EOF for a normal end). Every window/2 messages
// consumed are granted back to the peer in one credit frame.
func (s *streamCore) recv(ctx context.Context, dst []byte) ([]byte, error) {
	q := &s.q
	ended := false
	for {
		q.mu.Lock()
		if q.n > 0 {
			dst = q.popLocked(dst)
			q.mu.Unlock()
			break
		}
		if q.closed {
			err := q.err
			q.mu.Unlock()
			return dst, err
		}
		if ended {
			q.mu.Unlock()
			return dst, s.endError()
		}
		if q.rb != nil {
			q.releaseLocked() // a waiting stream holds no slack
		}
		q.waiting = true
		q.mu.Unlock()
		select {
		case <-q.wake:
		case <-s.ended:
			ended = true // return what is queued, then the end
		case <-ctx.Done():
			q.mu.Lock()
			q.waiting = false
			q.mu.Unlock()
			return dst, ctx.Err()
		}
	}
	s.consumed++
	if s.consumed >= max(s.window/2, 1) {
		n := s.consumed
		s.consumed = 0
		q.release()
		_ = s.snd.Send(ctx, frame.Header{Kind: wire.KindCredit, Stream: s.id, Type: s.method}, wire.AppendCredit(s.cb[:0], uint32(n)))
	}
	return dst, nil
}

// ClientStream is a client's side of a stream (server streaming, client
// streaming or bidirectional: the method decides how it is used). Send and
// Recv may run on two goroutines at once; Close must be called at the end.
type ClientStream struct {
	core *streamCore
	c    *Client
	idx  uint32
	ctx  context.Context
	stop func() bool
	once sync.Once
	// Response metadata, written by the reader under core.mu.
	header, trailer Metadata
}

// OpenStream opens a stream to method. ctx bounds the whole stream: when
// it ends the stream is canceled (a cancel frame follows on the stream's
// lane). md is optional metadata. With ClientOptions.StreamInterceptor
// set, the opening goes through it.
func (c *Client) OpenStream(ctx context.Context, method uint32, md Metadata) (*ClientStream, error) {
	if ic := c.opts.StreamInterceptor; ic != nil {
		return ic(ctx, method, md, c.openStream)
	}
	return c.openStream(ctx, method, md)
}

// openStream is the StreamOpener behind a ClientStreamInterceptor.
func (c *Client) openStream(ctx context.Context, method uint32, md Metadata) (*ClientStream, error) {
	if c.closed.Load() || c.goAway.Load() {
		return nil, c.refusal()
	}
	p, err := prefixFor(ctx, md)
	if err != nil {
		return nil, err
	}
	idx, ok := c.t.pop()
	if !ok {
		return nil, ErrTooManyCalls
	}
	<-c.ready
	s := &c.t.slots[idx]
	st := &ClientStream{c: c, idx: idx, ctx: ctx}
	snd := c.conn.NewSender(nil)
	// The id is known only after arm; arm publishes the stream too.
	s.gen = (s.gen + 1) & c.t.genMask
	if s.gen == 0 {
		s.gen = 1
	}
	id := s.gen<<c.t.bits | idx
	st.core = newCore(snd, id, method, c.opts.StreamWindow)
	s.stream.Store(st)
	s.word.Store(word(id, stPending))
	c.outstanding.Add(1)
	// As in roundTrip: outstanding first, then the closed and GoAway checks.
	if c.closed.Load() || c.goAway.Load() {
		st.release()
		return nil, c.refusal()
	}
	buf := pool.GetBuffer()
	if buf.B, err = appendPrefix(buf.B[:0], p); err == nil {
		buf.B = wire.AppendCredit(buf.B, uint32(c.opts.StreamWindow))
		if err = snd.SendBuffer(ctx, frame.Header{Kind: wire.KindStreamOpen, Flags: p.Flags(), Stream: id, Type: method}, buf); err != nil {
			err = c.sendErr(err)
		}
	} else {
		pool.PutBuffer(buf)
	}
	if err != nil {
		st.release()
		return nil, err
	}
	// The watch's own call does not read st.stop: it can run before
	// AfterFunc returns (a ctx that ended meanwhile), that is before the
	// assignment, on another goroutine (a data race the race detector
	// found under load).
	st.stop = context.AfterFunc(ctx, func() { st.cancelBy(ctx.Err(), true) })
	return st, nil
}

// Send sends one message, waiting for credit from the server. After the
// stream ended it returns the end error (ErrStreamClosed for a normal end).
func (st *ClientStream) Send(msg []byte) error { return st.core.send(st.ctx, msg) }

// Done returns a channel closed when the stream has ended: the server
// ended it (End or Error), it was canceled or closed, or the connection
// died. Messages may still wait for Recv. For interceptors that act at
// the end (a span, a metric).
func (st *ClientStream) Done() <-chan struct{} { return st.core.ended }

// Err returns nil until Done is closed, then why the stream ended: io.EOF
// for the server's normal end, the server's *Error, ctx's error,
// ErrStreamClosed after Close, or a *ClosedError.
func (st *ClientStream) Err() error { return st.core.endError() }

// Method returns the stream's method.
func (st *ClientStream) Method() uint32 { return st.core.method }

// CloseSend ends the client's half: the server's Recv returns io.EOF.
func (st *ClientStream) CloseSend() error { return st.core.closeSend(st.ctx) }

// Recv appends the next message from the server to dst. At a normal end
// it returns io.EOF; a server error is an *Error; a canceled stream gives
// the context's error, a closed one ErrStreamClosed; a dead connection a
// *ClosedError.
func (st *ClientStream) Recv(dst []byte) ([]byte, error) {
	return st.core.recv(st.ctx, dst)
}

// Close ends the stream: if the server has not ended it, a cancel frame
// is sent and the handler's context is canceled. It releases the slot
// and the messages queued for Recv (Recv then returns the end error).
// It waits for room on the stream's lane for the cancel frame at most
// ClientOptions.CancelWriteGrace (the lane is full only while the server
// is not reading; the cancel is then dropped).
func (st *ClientStream) Close() error {
	st.cancel(ErrStreamClosed)
	return nil
}

func (st *ClientStream) cancel(err error) { st.cancelBy(err, false) }

// cancelBy is cancel; byWatch says the ctx watch (context.AfterFunc) is
// the caller: it has fired, so there is nothing to stop, and st.stop may
// not be set yet.
func (st *ClientStream) cancelBy(err error, byWatch bool) {
	st.once.Do(func() {
		select {
		case <-st.core.ended:
		default:
			st.sendCancel()
			st.core.end(err)
		}
		if !byWatch && st.stop != nil {
			st.stop()
		}
		st.release()
	})
}

// sendCancel queues the stream's cancel frame: at once if its lane has
// room, else waiting for room at most ClientOptions.CancelWriteGrace (a
// server that stopped reading would hold Close forever).
func (st *ClientStream) sendCancel() {
	snd := st.core.snd
	h := frame.Header{Kind: wire.KindCancel, Stream: st.core.id, Type: st.core.method}
	if snd.Send(noWait, h, nil) == nil {
		return
	}
	ctx := context.Background()
	if g := st.c.opts.CancelWriteGrace; g > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g)
		defer cancel()
	}
	_ = snd.Send(ctx, h, nil)
}

func (st *ClientStream) release() {
	c := st.c
	s := &c.t.slots[st.idx]
	s.word.Store(word(st.core.id, stAbandoned))
	s.stream.Store(nil)
	st.core.q.drop() // no Recv will read them; a frame the reader still routes here is dropped
	st.core.snd.Close()
	c.t.push(st.idx)
	c.callDone()
}

// onFrame handles a stream frame from the server (reader goroutine).
func (st *ClientStream) onFrame(conn *socket.Conn, h frame.Header, payload []byte) {
	switch h.Kind {
	case wire.KindStreamMessage:
		if !st.core.onMessage(payload) {
			st.violation(conn)
		}
	case wire.KindCredit:
		if !st.core.onCredit(payload) {
			st.violation(conn)
		}
	case wire.KindEnd:
		st.core.endAll(io.EOF)
	}
}

func (st *ClientStream) violation(conn *socket.Conn) {
	st.c.reply(conn, frame.Header{Kind: wire.KindCancel, Stream: st.core.id, Type: st.core.method})
	st.core.endAll(&Error{Code: CodeProtocol, Message: "server broke stream flow control"})
}

func (st *ClientStream) onError(e *Error) { st.core.endAll(e) }

func (st *ClientStream) onClose(err error) { st.core.endAll(err) }

// ServerStream is the server's side of a stream, given to a StreamHandler.
// Send and Recv may run on two goroutines at once.
type ServerStream struct {
	core *streamCore
	call *serverCall
}

// Send sends one message to the client, waiting for its credit.
func (st *ServerStream) Send(msg []byte) error {
	if !st.call.hdrSent.Load() {
		st.call.flushHeader(st.core.snd)
	}
	return st.core.send(st.call, msg)
}

// Recv appends the next message from the client to dst; io.EOF once the
// client called CloseSend; context.Canceled when it canceled.
func (st *ServerStream) Recv(dst []byte) ([]byte, error) { return st.core.recv(st.call, dst) }

// Draining returns a channel closed when the server starts draining this
// connection (Server.Drain). A handler should then end its stream soon,
// returning ErrUnavailable (or an *Error with CodeUnavailable) so that
// the client resubscribes elsewhere; once the client has acknowledged the
// drain, streams still open are ended with CodeUnavailable and their
// contexts canceled.
func (st *ServerStream) Draining() <-chan struct{} { return st.call.sc.drainCh }

// serverStream is the reader-side state of a ServerStream.
type serverStream struct {
	pub ServerStream
}

func (ss *serverStream) onFrame(h frame.Header, payload []byte) {
	core := ss.pub.core
	switch h.Kind {
	case wire.KindStreamMessage:
		ss.refused(core.admit(payload))
	case wire.KindCredit:
		if !core.onCredit(payload) {
			ss.protocol("credit overflow")
		}
	case wire.KindEnd:
		core.closeRecv(io.EOF)
	}
}

// refused ends the stream for a message its queue refused (r not
// admitOK); nothing for admitOK.
func (ss *serverStream) refused(r admitResult) {
	switch r {
	case admitOverCredit:
		ss.protocol("client exceeded its stream credit")
	case admitOverBudget:
		ss.endWith(CodeResourceExhausted, "stream messages buffered over the connection's budget (ServerOptions.MaxConnStreamBytes)")
	}
}

// protocol ends the stream for a flow-control violation: the handler's
// context is canceled and the client gets CodeProtocol.
func (ss *serverStream) protocol(msg string) { ss.endWith(CodeProtocol, msg) }

// endWith ends the stream with code (the reader's verdict): the handler's
// context is canceled and the client gets code.
func (ss *serverStream) endWith(code Code, msg string) {
	core := ss.pub.core
	end := func() { core.endAll(&Error{Code: code, Message: msg}) }
	// The stream ends within the context's cancel: a handler woken by
	// the cancel must find the protocol error recorded, or it would end
	// the stream with its own error (CodeCanceled) instead. Cancel only
	// while the call still carries this stream: the handler may have
	// returned meanwhile and the call been reused by another.
	c := ss.pub.call
	sc := c.sc
	sc.mu.Lock()
	if c.stream == ss {
		c.cancelAround(context.Canceled, end)
	} else {
		end()
	}
	sc.mu.Unlock()
}

func (ss *serverStream) onCancel() { ss.pub.core.endAll(context.Canceled) }

func (ss *serverStream) onConnClose(err error) { ss.pub.core.endAll(&ClosedError{Cause: err}) }

// startStream runs a stream's handler on its own goroutine (c is tracked
// and counted in flight).
func (sc *serverConn) startStream(c *serverCall, h StreamHandler, credit uint32) {
	snd := sc.conn.NewSender(nil)
	core := newCore(snd, c.id, c.method, sc.srv.opts.StreamWindow)
	core.credit.Store(int64(credit))
	if sc.sbud.limit > 0 {
		core.q.rb = &sc.sbud
	}
	ss := &serverStream{pub: ServerStream{core: core, call: c}}
	sc.mu.Lock()
	c.stream = ss
	sc.mu.Unlock()
	if sc.refusing.Load() { // opened as the drain began: end it with the others
		sc.endStreams()
	}
	_ = snd.Send(context.Background(), frame.Header{Kind: wire.KindCredit, Stream: c.id, Type: c.method}, wire.AppendCredit(core.cb[:0], uint32(core.window)))
	sc.srv.streamsWG.Add(1)
	go func() {
		defer sc.srv.streamsWG.Done()
		err := sc.srv.invokeStream(h, c, &ss.pub)
		core.q.drop()
		sc.untrack(c) // before the last frame: the client may then reuse the id
		var e *Error
		core.mu.Lock()
		ended := core.endErr
		core.mu.Unlock()
		if ended == nil || errors.As(ended, &e) {
			// The header (if not sent yet) and the trailer go just
			// before the final frame, on the same lane.
			c.flushHeader(snd)
			if _, trl := c.unaryMD(); len(trl) > 0 {
				_ = snd.Send(context.Background(), frame.Header{Kind: wire.KindTrailer, Stream: c.id, Type: c.method}, trl)
			}
		}
		switch {
		case ended != nil && !errors.As(ended, &e):
			// canceled by the client or the connection died: nothing to send
		case ended != nil:
			b := pool.GetBuffer()
			var fl uint16
			b.B, fl = appendError(b.B[:0], e)
			_ = snd.SendBuffer(context.Background(), frame.Header{Kind: wire.KindError, Flags: fl, Stream: c.id, Type: c.method}, b)
		case err != nil:
			b := pool.GetBuffer()
			var fl uint16
			b.B, fl = appendError(b.B[:0], toError(err))
			_ = snd.SendBuffer(context.Background(), frame.Header{Kind: wire.KindError, Flags: fl, Stream: c.id, Type: c.method}, b)
		default:
			_ = snd.Send(context.Background(), frame.Header{Kind: wire.KindEnd, Stream: c.id, Type: c.method}, nil)
		}
		core.end(io.EOF)
		snd.Close()
		sc.finish(c)
	}()
}

func (s *Server) invokeStream(h StreamHandler, c *serverCall, st *ServerStream) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &Error{Code: CodeInternal, Message: "stream handler panic"}
		}
	}()
	defer c.retire()
	if ic := s.opts.StreamInterceptor; ic != nil {
		return ic(c.handlerCtx(), c.method, st, h)
	}
	return h(c.handlerCtx(), st)
}
