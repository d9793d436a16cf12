package socket

import (
	"context"
	"errors"
	"hash/crc32"
	"sync/atomic"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
)

// Sending by reference: Sender.SendRef queues a payload the caller owns
// without copying it; the connection hands it back through the Ref once it
// is written or failed (Ref.Wait), or Sender.Withdraw takes it back while
// it still waits in the queue.

// ErrRefBusy is returned by SendRef for a Ref the connection still holds:
// Wait for it, or Withdraw it, before sending it again.
var ErrRefBusy = errors.New("socket: Ref still in use: Wait for it or Withdraw it before sending it again")

// Ref lends a payload to a connection by reference (Sender.SendRef). It is
// reusable, one message at a time, and its zero value is ready; keep one
// per sending goroutine so that sending allocates nothing.
//
// Lifetime: head and body passed to SendRef belong to the connection from
// the moment SendRef returns nil until Wait returns nil or Withdraw
// reports true; they must not change meanwhile (the writer reads body
// while the frame is written, with writev, and the bytes on the wire are
// whatever body holds then). After that the connection never touches them
// again. Under the psdebug build tag Wait and Withdraw panic if head or
// body changed while the connection held them.
type Ref struct {
	head, body []byte
	busy       atomic.Bool   // from a successful SendRef until Wait returned or Withdraw took it back
	done       chan struct{} // capacity 1: a token when the connection is done with the payload
	sum        uint32        // psdebug: checksum of head and body at SendRef
}

var _ Encoder = (*Ref)(nil)

// AppendPayload implements Encoder for the paths that copy the payload
// (framings other than frame.Default, connections without writev such as
// TLS, payloads up to Options.CopyThreshold): it appends head and body.
func (r *Ref) AppendPayload(dst []byte) ([]byte, error) {
	return append(append(dst, r.head...), r.body...), nil
}

// Wait blocks until the connection is done with the payload of the Ref's
// last SendRef: it was written (handed to the kernel in full) or failed
// (the failure callback got it, with Failure.Encoder set to the Ref). It
// returns nil at once for a Ref not in use. If ctx ends first it returns
// ctx.Err() and the connection still holds the payload: call Wait again
// before touching it. A write blocked on a peer that does not read holds
// the payload until Options.WriteTimeout (when set), Close or
// Sender.Abandon ends the connection.
func (r *Ref) Wait(ctx context.Context) error {
	if !r.busy.Load() {
		return nil
	}
	select {
	case <-r.done:
	default:
		select {
		case <-r.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.end("Wait")
	return nil
}

// Busy reports whether the connection holds the Ref's payload (SendRef
// returned nil and neither Wait has returned nil nor Withdraw true since).
func (r *Ref) Busy() bool { return r.busy.Load() }

// end returns the Ref to its owner.
func (r *Ref) end(by string) {
	if pool.Debug && r.checksum() != r.sum {
		panic("socket: the payload of a Ref changed while the connection held it (from SendRef until " + by + "): leave head and body unchanged until Wait returns or Withdraw reports true")
	}
	r.head, r.body = nil, nil
	r.busy.Store(false)
}

func (r *Ref) checksum() uint32 {
	return crc32.Update(crc32.ChecksumIEEE(r.head), crc32.IEEETable, r.body)
}

// finish tells the Ref's owner that the connection is done with it: once
// per SendRef that was not withdrawn, from the writer or the closer.
func (r *Ref) finish() { r.done <- struct{}{} }

// finishRef ends a Ref item the connection is done with (written or
// failed); other items are left alone. The item no longer refers to it,
// so it is finished once.
func finishRef(it *item) {
	if r, ok := it.enc.(*Ref); ok {
		it.enc = nil
		r.finish()
	}
}

// refWeight is a Ref item's weight against Options.QueueBytes: its
// payload bytes (ok false for other items).
func refWeight(it item) (int64, bool) {
	if r, ok := it.enc.(*Ref); ok {
		return int64(len(r.head) + len(r.body)), true
	}
	return 0, false
}

// SendRef queues a frame with header h whose payload is head followed by
// body, without copying either: on TCP and Unix connections with the
// default framing, a body above Options.CopyThreshold goes to the kernel
// straight from the caller's memory (writev); otherwise the writer copies
// the payload when it writes it. head is meant to be short (an upper
// layer's prefix) and is always copied.
//
// A nil result means the connection holds head and body until Wait
// returns nil or Withdraw reports true (see Ref for the lifetime); an
// error means nothing was queued and they are the caller's again. It waits
// or fails like Send when the queue is full, returns ErrFrameTooLarge for
// a payload over Options.MaxFrameSize and ErrRefBusy for a Ref in use.
func (s *Sender) SendRef(ctx context.Context, h frame.Header, r *Ref, head, body []byte) error {
	if n := len(head) + len(body); n > s.c.opts.MaxFrameSize {
		return tooLarge(n, s.c.opts.MaxFrameSize)
	}
	if !r.busy.CompareAndSwap(false, true) {
		return ErrRefBusy
	}
	if r.done == nil {
		r.done = make(chan struct{}, 1)
	}
	r.head, r.body = head, body
	if pool.Debug {
		r.sum = r.checksum()
	}
	if err := s.send(ctx, item{h: h, enc: r, s: s}); err != nil {
		r.head, r.body = nil, nil
		r.busy.Store(false)
		return err
	}
	return nil
}

// Withdraw takes back a Ref this Sender queued with SendRef while it still
// waits in the queue: the frame will not be written and Withdraw reports
// true; head and body are the caller's again. It reports false when the
// Ref is not in use, or the writer has taken it (it is being written or
// was written) or the connection failed it: then Wait for it. Withdraw
// never blocks on the writer.
func (s *Sender) Withdraw(r *Ref) bool {
	if !r.busy.Load() {
		return false
	}
	var enc Encoder = r
	if !s.q.Withdraw(func(it *item) bool { return it.enc == enc }) {
		return false
	}
	s.c.queued.Add(-1)
	r.end("Withdraw")
	return true
}

// Abandon is for the owner of a Ref who can wait no longer for it (its
// caller gave up and the peer does not read). A Ref still waiting in the
// queue is withdrawn, as by Withdraw, and the connection goes on. One the
// writer has taken cannot be taken back: part of its frame may be on the
// wire, no other frame can follow a partial one, and the writer reads the
// payload until the write ends. Then, unless it was written meanwhile,
// Abandon closes the connection with cause (a nil cause is ErrClosed;
// Conn.Err then matches ErrClosed and cause), which fails the write, and
// everything else queued or being written fails as with Close.
//
// Abandon returns once the connection is done with the payload: head and
// body are the caller's again, as after Wait. It does not wait for the
// connection's goroutines to stop (Close does). It reports whether it
// closed the connection; for a Ref not in use it does nothing.
func (s *Sender) Abandon(r *Ref, cause error) bool {
	if !r.busy.Load() || s.Withdraw(r) {
		return false
	}
	select {
	case <-r.done: // written (or failed) meanwhile
		r.end("Abandon")
		return false
	default:
	}
	if cause == nil {
		cause = ErrClosed
	}
	s.c.abort(cause)
	<-r.done // the close wakes the writer, whose write then fails, or finish fails the item
	r.end("Abandon")
	return true
}

// encodeRef hands a Ref item's frame to fw with the body by reference
// when that saves a copy: the default framing, a writev destination, and a
// body above CopyThreshold. It reports false to have the item encoded as
// an Encoder (copied) instead.
func (c *Conn) encodeRef(fw *frame.Writer, it *item, r *Ref) bool {
	ct := c.opts.CopyThreshold
	if !fw.Writev() || ct < 0 || len(r.body) <= ct || len(r.head)+frame.MaxHeaderSize > ct ||
		c.opts.Framing != frame.Default || it.h.Flags&frame.FlagsReserved != 0 {
		return false
	}
	h := it.h
	h.Length = uint32(len(r.head) + len(r.body))
	if h.Flags&frame.FlagCRC != 0 {
		h.CRC = crc32.Update(crc32.Checksum(r.head, castagnoli), castagnoli, r.body)
	}
	w := c.w
	if w.scratch == nil {
		w.scratch = pool.GetBuffer()
	}
	w.scratch.B = append(frame.AppendHeader(w.scratch.B[:0], h), r.head...)
	// The header and head are copied (shorter than CopyThreshold); the
	// body is referenced until the flush.
	if err := fw.WriteEncoded(w.scratch.B, 0); err != nil {
		c.failItem(it, err)
		return true
	}
	if err := fw.WriteEncoded(r.body, 1); err != nil {
		c.failItem(it, err)
		return true
	}
	w.inflight = append(w.inflight, item{h: it.h, enc: r, s: it.s})
	return true
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)
