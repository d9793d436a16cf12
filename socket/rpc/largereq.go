package rpc

import (
	"context"
	"fmt"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket"
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

// reqRef is a Caller's by-reference request: its Ref and the prefix
// encoded for it, reused call after call.
type reqRef struct {
	r    socket.Ref
	head []byte // the request's Prefix encoding (frame payload head)
	held bool   // the connection holds the request: settle before returning
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
func (k *Caller) sendRequest(ctx context.Context, kind uint8, id, method uint32, p Prefix, body []byte) error {
	if kind != KindRequest || !k.c.requestByRef(len(body)) {
		return k.sendOpening(ctx, kind, id, method, p, body)
	}
	b := k.big
	if b == nil {
		b = new(reqRef)
		k.big = b
	}
	var err error
	if b.head, err = AppendPrefix(b.head[:0], p); err != nil {
		return err
	}
	if n := len(b.head) + len(body); n > k.c.maxFrame {
		return &Error{Code: CodeResourceExhausted, Message: fmt.Sprintf("not sent: request of %d bytes over the client's maximum frame size %d", n, k.c.maxFrame)}
	}
	h := frame.Header{Kind: kind, Flags: p.Flags(), Stream: id, Type: method}
	if err := k.snd.SendRef(ctx, h, &b.r, b.head, body); err != nil {
		return k.c.sendErr(err)
	}
	b.held = true
	return nil
}

// withdrawRequest takes a by-reference request back if the writer has not
// taken it yet: the server never sees the call, so no cancel frame is
// needed. It reports whether it did.
func (k *Caller) withdrawRequest() bool {
	b := k.big
	if b == nil || !b.held {
		return false
	}
	if pool.Debug {
		defer requestMisuse()
	}
	if !k.snd.Withdraw(&b.r) {
		return false
	}
	b.held = false
	return true
}

// settleRequest waits until the connection is done with a by-reference
// request (written in full, or failed by the connection's close): after
// it the caller's request slice is the caller's alone. Without one it
// returns at once.
func (k *Caller) settleRequest() {
	if b := k.big; b != nil && b.held {
		if pool.Debug {
			defer requestMisuse()
		}
		_ = b.r.Wait(context.Background()) // bounded by the write: WriteTimeout or the connection's close
		b.held = false
	}
}

// requestMisuse names the caller's mistake when, under psdebug, the
// socket found a by-reference request changed while it held it.
func requestMisuse() {
	if r := recover(); r != nil {
		panic(fmt.Sprintf("rpc: the request of a Call changed while the call ran: a request above the copy threshold is sent by reference, leave req unchanged until Call returns (%v)", r))
	}
}
