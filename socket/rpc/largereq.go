package rpc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

// Large requests by reference: a unary request above the connection's
// copy threshold (socket.Options.CopyThreshold) is not copied into a
// pooled buffer; the Caller lends it to the connection with a socket.Ref
// and, before the call returns, takes it back (Withdraw, while it still
// waits in the queue) or waits until the writer is done with it. At 4 MiB
// the copy was about a third of the client's copying (psbench 4 MiB unary,
// 16 callers, CPU profile); the threshold is the socket's, the size from
// which the writer sends payloads by reference anyway (frame's
// DefaultCopyThreshold cites its measurements); a negative CopyThreshold
// turns both off.

// A call whose ctx ends while its request is partly written cannot
// return before the writer is done with the caller's slice, and a
// half-written frame cannot be taken back (no other frame can follow it on
// the connection). When the write has not ended ClientOptions.CancelWriteGrace
// after the ctx did, the server is not reading: the Caller closes the
// connection (socket.Sender.Abandon) with a *RequestAbandonedError as its
// cause, which fails the write and hands the slice back, and the call
// returns ctx's error; the other calls in flight end with a *ClosedError.
//
// The alternative keeps the connection: when the owner gives up, wake
// the writer blocked in the poller (a write deadline in the past), copy
// the unwritten rest of the frame into a pooled buffer, clear the
// deadline and write on. It was not taken. The writev under way lives in
// frame.Writer (its iovecs point into the caller's slice, and only it
// knows how far they got), so the swap is a change to frame, and the poke
// races the deadline Socket.WriteTimeout sets for each flush. And what it
// keeps is a connection whose peer has stopped reading, holding up to
// MaxFrameSize of copied request, on which every later call still queues
// behind the stalled frame; closed, a pool (package balance) dials anew.

// ErrRequestAbandoned is matched (errors.Is) by the cause of a connection
// the client closed because a canceled call's request was still being
// written after ClientOptions.CancelWriteGrace: see RequestAbandonedError.
var ErrRequestAbandoned = errors.New("rpc: request abandoned mid-write: connection closed")

// RequestAbandonedError is the cause the client records when it closes
// its connection because the ctx of a call ended while the call's request
// (sent by reference, above the copy threshold) was partly written, and
// the write had not ended CancelWriteGrace later: the server had stopped
// reading. Client.Err and the errors of the other calls on the connection
// (a *ClosedError) unwrap to it. It matches ErrRequestAbandoned, and not
// its Cause: the other calls did not end by their ctx.
type RequestAbandonedError struct {
	Method uint32        // the call's method
	Size   int           // the request frame's payload bytes (prefix and body)
	Grace  time.Duration // ClientOptions.CancelWriteGrace
	Cause  error         // why the call ended: its ctx's error
}

// Error implements error.
func (e *RequestAbandonedError) Error() string {
	return fmt.Sprintf("rpc: request abandoned mid-write: the call to method %d ended (%v) while its %d-byte request was being written, and the write had not ended %v later (ClientOptions.CancelWriteGrace): the server is not reading",
		e.Method, e.Cause, e.Size, e.Grace)
}

// Unwrap returns ErrRequestAbandoned.
func (e *RequestAbandonedError) Unwrap() error { return ErrRequestAbandoned }

// DefaultCancelWriteGrace is the ClientOptions.CancelWriteGrace of a zero
// value: a second lets a healthy link finish a request of
// frame.DefaultMaxFrameSize (4 MiB) at 32 Mbit/s or more, while a call
// canceled in front of a server that stopped reading still returns.
const DefaultCancelWriteGrace = time.Second

// reqRef is a Caller's by-reference request: its Ref and the prefix
// encoded for it, reused call after call.
type reqRef struct {
	r    socket.Ref
	head []byte // the request's Prefix encoding (frame payload head)
	held bool   // the connection holds the request: settle before returning
	// The call's ctx and method while held, for settleRequest: the
	// request's lifetime is this file's, so the cancel path in roundTrip
	// needs no argument to bound its wait.
	ctx    context.Context
	method uint32
	size   int // len(head) + the body's length
}

// requestByRef reports whether a request body of n bytes is sent by
// reference.
func (c *Client) requestByRef(n int) bool {
	ct := c.opts.Socket.CopyThreshold
	if ct == 0 {
		ct = frame.DefaultCopyThreshold
	}
	return ct >= 0 && n > ct
}

// sendRequest sends a call's opening frame: by reference for a large
// request (then the Caller must settleRequest before the call returns),
// else copied.
func (k *Caller) sendRequest(ctx context.Context, kind uint8, id, method uint32, p wire.Prefix, body []byte) error {
	if kind != wire.KindRequest || !k.c.requestByRef(len(body)) {
		return k.sendOpening(ctx, kind, id, method, p, body)
	}
	b := k.big
	if b == nil {
		b = new(reqRef)
		k.big = b
	}
	var err error
	if b.head, err = appendPrefix(b.head[:0], p); err != nil {
		return err
	}
	if n := len(b.head) + len(body); n > k.c.maxFrame {
		return &Error{Code: CodeResourceExhausted, Message: fmt.Sprintf("not sent: request of %d bytes over the client's maximum frame size %d", n, k.c.maxFrame)}
	}
	h := frame.Header{Kind: kind, Flags: p.Flags(), Stream: id, Type: method}
	if err := k.snd.SendRef(ctx, h, &b.r, b.head, body); err != nil {
		return k.c.sendErr(err)
	}
	b.held, b.ctx, b.method, b.size = true, ctx, method, len(b.head)+len(body)
	return nil
}

// withdrawRequest is for a call whose ctx ended: it reports whether the
// server needs no cancel frame. A by-reference request the writer has not
// taken yet is withdrawn: the server never sees the call (true). One the
// writer has taken is waited for at most ClientOptions.CancelWriteGrace
// (when positive): written in time, the server has it and false asks for
// the cancel frame; not, it is abandoned and the connection closed (true:
// nothing more can be sent on it, and a cancel frame queued behind a full
// queue would wait for room that never comes).
func (k *Caller) withdrawRequest() bool {
	b := k.big
	if b == nil || !b.held {
		return false
	}
	if pool.Debug {
		defer requestMisuse()
	}
	if k.snd.Withdraw(&b.r) {
		b.held, b.ctx = false, nil
		return true
	}
	if g := k.c.opts.CancelWriteGrace; g > 0 {
		return k.awaitWrite(b, g)
	}
	return false
}

// settleRequest waits until the connection is done with a by-reference
// request (written in full, or failed by the connection's close): after
// it the caller's request slice is the caller's alone. Without one it
// returns at once. The wait is bounded by the write (Socket.WriteTimeout
// or the connection's close) and, with a positive CancelWriteGrace, by
// the call's ctx plus the grace: a server that answered a request it has
// not read in full and stopped reading cannot hold the call either.
func (k *Caller) settleRequest() {
	b := k.big
	if b == nil || !b.held {
		return
	}
	if pool.Debug {
		defer requestMisuse()
	}
	if g := k.c.opts.CancelWriteGrace; g > 0 && b.ctx != nil {
		if b.r.Wait(b.ctx) != nil { // the ctx ended first
			k.awaitWrite(b, g)
		}
	} else {
		_ = b.r.Wait(context.Background())
	}
	b.held, b.ctx = false, nil
}

// awaitWrite waits at most grace for the writer to be done with a
// request the call's ctx gave up on; if it is not, it abandons the
// request (socket.Sender.Abandon), closing the connection with a
// *RequestAbandonedError, and reports true. Either way the request is the
// caller's again when it returns.
func (k *Caller) awaitWrite(b *reqRef, grace time.Duration) bool {
	defer func() { b.held, b.ctx = false, nil }()
	if b.r.Wait(noWait) == nil { // written already: no timer
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	err := b.r.Wait(ctx)
	cancel()
	if err == nil {
		return false
	}
	why := context.Canceled
	if b.ctx != nil && b.ctx.Err() != nil {
		why = b.ctx.Err()
	}
	return k.snd.Abandon(&b.r, &RequestAbandonedError{Method: b.method, Size: b.size, Grace: grace, Cause: why})
}

// requestMisuse names the caller's mistake when, under psdebug, the
// socket found a by-reference request changed while it held it.
func requestMisuse() {
	if r := recover(); r != nil {
		panic(fmt.Sprintf("rpc: the request of a Call changed while the call ran: a request above the copy threshold is sent by reference, leave req unchanged until Call returns (%v)", r))
	}
}
