package socket

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/spillway"
)

// Senders: queueing outbound messages (a Sender per sending goroutine, one
// spillway lane each) and the items they queue.

// Encoder appends a message's payload to dst and returns the extended
// slice, like binary.AppendUvarint. The connection calls AppendPayload once,
// on its writer goroutine, when the message is about to be written, or not
// at all if the message fails first (then the failure callback gets the
// Encoder back, so a pooled Encoder can be recycled in either place).
//
// Lifetime: dst, and the slice AppendPayload returns, are the writer's
// buffer, valid only during the call: do not keep them. Return dst
// extended (append to it): a slice on another array becomes the writer's
// buffer too, reused for the next messages, so never return a slice you
// keep (append it to dst instead). Under the psdebug
// build tag the buffer is poisoned once the connection is done with it,
// so a slice kept past the call reads as poison (pool.Poisoned).
type Encoder interface {
	AppendPayload(dst []byte) ([]byte, error)
}

// Failure reports one queued message that was not written.
type Failure struct {
	Header  frame.Header
	Payload []byte  // the payload of Send/SendBuffer, valid until the callback returns; nil for Encoder messages and once the write had begun
	Encoder Encoder // the Encoder of SendEncoder (the *Ref of SendRef), else nil
	Err     error   // why: matches ErrClosed (with the close cause), ErrFrameTooLarge, ErrWriteTimeout, or the encoder's error
}

// item is one queued outbound message. It holds no per-message heap
// object besides the pooled buffer.
//
// With frames > 0 the item is a batch of replies (Conn.Reply) already
// encoded in the connection's framing: buf holds frames whole frames, and
// stays held until the flush that writes them so that a failure can still
// report each one. h.Length may then carry the payload bytes of the
// frames it was queued with (its weight; else the encoded length is).
type item struct {
	h      frame.Header
	buf    *pool.Buffer // owned payload, back to the pool after the write
	enc    Encoder
	s      *Sender
	frames int
}

func itemWeight(it item) int64 {
	if it.frames > 0 && it.h.Length > 0 {
		return int64(it.h.Length) // a batch's payload bytes (see item)
	}
	if it.buf != nil {
		return int64(len(it.buf.B))
	}
	if w, ok := refWeight(it); ok {
		return w
	}
	return frame.HeaderSize
}

// Sender queues messages on a connection through its own spillway lane.
// Messages from one Sender are written in the order they were sent. Use one
// Sender per sending goroutine (Conn.NewSender); a Sender may be shared by
// goroutines, but Close must not run concurrently with its sends.
type Sender struct {
	q      *spillway.Sender[item]
	c      *Conn
	onFail func(Failure)
	closed atomic.Bool
}

// Send copies payload and queues it with header h (the connection fills
// h.Length; framings other than frame.Default ignore h). When the queue is
// full it blocks until there is room or ctx ends, or returns
// ErrBackpressure with Options.FailWhenFull. A nil result means the
// message will be written or reported to the failure callback.
//
// A small payload (up to MaxBatchedPayload) is encoded at once, in the
// connection's framing, so a framing error (frame.ErrMalformed,
// frame.ErrLineBreak) is returned here; and while this Sender's previous
// small message still waits in the queue, the new one joins its buffer:
// a burst of small messages costs one queue slot and one buffer, however
// many there are (QueueMessages and QueueBytes still count every message
// and byte).
func (s *Sender) Send(ctx context.Context, h frame.Header, payload []byte) error {
	c := s.c
	if len(payload) > c.opts.MaxFrameSize {
		return tooLarge(len(payload), c.opts.MaxFrameSize)
	}
	if len(payload) <= MaxBatchedPayload {
		return s.sendSmall(ctx, h, payload)
	}
	b := pool.GetBufferFor(len(payload))
	b.B = append(b.B, payload...)
	return s.send(ctx, item{h: h, buf: b, s: s})
}

// MaxBatchedPayload is the largest payload Sender.Send encodes into a
// batch buffer shared with the Sender's other queued small messages.
const MaxBatchedPayload = 1024

// sendSmall encodes payload into the batch at the tail of the Sender's lane
// if it is this Sender's and has room, else into a new batch item.
//
// Its fast path, a fold into the tail (spillway's TryFold: one lane lock,
// no wait), is a send that is not counted in Conn.sending: the message
// joins an item already queued, which Conn.queued counts until a token
// holder takes it under the same lane lock, so Drain, which waits for
// queued to reach zero, writes it; a fold cannot happen once finish has
// closed the lanes. A send that sees stopped, or would wait, takes the
// counted path below.
func (s *Sender) sendSmall(ctx context.Context, h frame.Header, payload []byte) error {
	c := s.c
	if c.stopped.Load() {
		return wrapClosed(c.causeErr())
	}
	// Filled field by field, the header too: h arrives in registers and
	// is spilled with narrow stores; copied whole it would be read back
	// with 16-byte loads, a store-forwarding stall (20% of this path in
	// BenchmarkSendSmall's profile; see frame.NextInto).
	var f smallFold
	f.s, f.payload, f.need = s, payload, len(payload)+int(c.frameExtra)
	f.h.Length, f.h.Kind, f.h.Flags, f.h.CRC = h.Length, h.Kind, h.Flags, h.CRC
	f.h.Stream, f.h.Type = h.Stream, h.Type
	switch s.q.TryFold(int64(len(payload)), f.fold) {
	case spillway.Folded:
		return nil
	case spillway.NoTail:
		if f.err != nil {
			return frameErr(f.err)
		}
		return s.sendNewBatch(ctx, h, payload, f.need)
	}
	return s.sendSmallWait(ctx, h, &f)
}

// sendSmallWait is sendSmall when the weight budget is spent: it waits for
// it in Fold, counted in sending (out of line: the fast path keeps a small
// frame without a defer).
func (s *Sender) sendSmallWait(ctx context.Context, h frame.Header, f *smallFold) error {
	c := s.c
	c.sending.Add(1)
	defer c.sendDone()
	if c.stopped.Load() {
		return wrapClosed(c.causeErr())
	}
	folded, err := s.q.Fold(ctx, int64(len(f.payload)), f.fold)
	switch {
	case err != nil:
		return c.queueErr(err)
	case f.err != nil:
		return frameErr(f.err)
	case folded:
		return nil
	}
	return s.sendNewBatch(ctx, h, f.payload, f.need)
}

// sendNewBatch queues payload, framed, as a new batch item of one message.
func (s *Sender) sendNewBatch(ctx context.Context, h frame.Header, payload []byte, need int) error {
	c := s.c
	buf := getBatchBuf(need)
	b, err := frame.AppendFramedRef(buf.B, c.opts.Framing, &h, payload)
	if err != nil {
		putBatchBuf(buf)
		return frameErr(err)
	}
	buf.B = b
	return s.send(ctx, item{h: frame.Header{Length: uint32(len(payload))}, buf: buf, frames: 1, s: s})
}

// smallFold is sendSmall's fold of one message into the tail of its lane.
type smallFold struct {
	s       *Sender
	payload []byte
	h       frame.Header
	need    int   // the framed message's most bytes
	err     error // a framing error (then the fold declined)
}

// fold frames the message into t if t is a batch of this Sender's with
// room; it runs under the lane lock (spillway's Fold rules).
func (f *smallFold) fold(t *item) bool {
	if t.s != f.s || t.frames == 0 || len(t.buf.B)+f.need > batchBufSize {
		return false
	}
	if cap(t.buf.B)-len(t.buf.B) < f.need { // a small batch grows into a large buffer, once
		big := getBatchBuf(batchBufSize)
		big.B = append(big.B, t.buf.B...)
		putBatchBuf(t.buf)
		t.buf = big
	}
	// By reference (see sendSmall): a copy of f.h would stall.
	b, err := frame.AppendFramedRef(t.buf.B, f.s.c.opts.Framing, &f.h, f.payload)
	if err != nil {
		f.err = err
		return false
	}
	t.buf.B = b
	t.frames++
	return true
}

// SendBuffer queues buf's bytes (buf.B) with header h without copying:
// buf belongs to the connection from this call on, whatever the result, and
// goes back to the pool after it is written or failed. Payloads above
// Options.CopyThreshold are written by reference (writev).
func (s *Sender) SendBuffer(ctx context.Context, h frame.Header, buf *pool.Buffer) error {
	if len(buf.B) > s.c.opts.MaxFrameSize {
		n := len(buf.B)
		pool.PutBuffer(buf)
		return tooLarge(n, s.c.opts.MaxFrameSize)
	}
	return s.send(ctx, item{h: h, buf: buf, s: s})
}

// SendEncoder queues a message whose payload enc appends straight into the
// writer's buffer when it is written (see Encoder). enc must stay usable
// until then; it counts frame.HeaderSize bytes against QueueBytes.
func (s *Sender) SendEncoder(ctx context.Context, h frame.Header, enc Encoder) error {
	return s.send(ctx, item{h: h, enc: enc, s: s})
}

// send queues it for the caller, whose send fails with the result.
func (s *Sender) send(ctx context.Context, it item) error { return s.enqueue(ctx, it, false) }

// enqueue queues it. If that fails, the item's buffer is freed and, with
// accepted (a batch of replies whose Replies returned nil), its messages
// go to the failure callback.
func (s *Sender) enqueue(ctx context.Context, it item, accepted bool) error {
	c := s.c
	c.sending.Add(1)
	defer c.sendDone()
	if c.stopped.Load() {
		return c.sendFailed(&it, wrapClosed(c.causeErr()), accepted)
	}
	c.queued.Add(1) // before the item is in the queue: queued never dips below zero
	if err := s.q.Send(ctx, it); err != nil {
		c.queued.Add(-1)
		return c.sendFailed(&it, c.queueErr(err), accepted)
	}
	c.startWriter()
	return nil
}

// startWriter starts a writer goroutine for what was just queued, unless
// one runs (or the reader writes).
func (c *Conn) startWriter() {
	if c.wt.take(tokenWriter) {
		go c.writerFn()
	}
}

// SendBatch frames messages for one Sender ahead of time and queues them
// together: one Send for many messages, one queue item, one lane lock.
// Get one with Sender.Batch; it is a value to keep and reuse (a
// sending goroutine's own, not safe for concurrent use). Its messages join
// the Sender's order when Send queues them.
type SendBatch struct {
	s      *Sender
	buf    *pool.Buffer // the framed messages; nil when empty
	frames int32
	bytes  int64 // payload bytes: the batch's weight against QueueBytes
}

// Batch returns an empty SendBatch of s.
func (s *Sender) Batch() SendBatch { return SendBatch{s: s} }

// Len returns the number of messages appended and not yet queued.
func (b *SendBatch) Len() int { return int(b.frames) }

// Append copies payload, framed with header h in the connection's framing
// (which fills h.Length), to the end of the batch. It never blocks. It
// returns ErrFrameTooLarge (over Options.MaxFrameSize), a framing error
// (frame.ErrMalformed, frame.ErrLineBreak), or ErrBatchFull when the batch
// holds QueueMessages messages or WriteBatchBytes bytes (half of
// QueueBytes if less): Send, then Append again. On an error nothing was
// appended.
func (b *SendBatch) Append(h frame.Header, payload []byte) error {
	c := b.s.c
	if len(payload) > c.opts.MaxFrameSize {
		return tooLarge(len(payload), c.opts.MaxFrameSize)
	}
	need := len(payload) + int(c.frameExtra)
	if b.buf == nil {
		b.buf = getBatchBuf(need) // over the batch buffers' classes: pool's large buffers
	} else {
		if int(b.frames) >= c.opts.QueueMessages || len(b.buf.B)+len(payload) > c.replyBatchBytes() {
			return ErrBatchFull
		}
		if cap(b.buf.B)-len(b.buf.B) < need && cap(b.buf.B) < batchBufSize { // from the small class to the large, once
			big := getBatchBuf(batchBufSize)
			big.B = append(big.B, b.buf.B...)
			putBatchBuf(b.buf)
			b.buf = big
		}
	}
	nb, err := frame.AppendFramedRef(b.buf.B, c.opts.Framing, &h, payload)
	if err != nil {
		if b.frames == 0 {
			putBatchBuf(b.buf)
			b.buf = nil
		}
		return frameErr(err)
	}
	b.buf.B = nb
	b.frames++
	b.bytes += int64(len(payload))
	return nil
}

// Send queues the batch's messages, in order, as one item on the Sender's
// lane. It waits like Sender.Send while the queue has no room for all of
// them (each counts against QueueMessages, their payload bytes against
// QueueBytes) until ctx ends, or returns ErrBackpressure at once under
// Options.FailWhenFull. With a nil result each message will be written or
// reported to the failure callback, and the batch is empty, ready for
// more; with an error none was queued and the batch keeps them (Send
// again, or Reset). An empty batch is a no-op.
func (b *SendBatch) Send(ctx context.Context) error {
	if b.frames == 0 {
		return nil
	}
	s := b.s
	c := s.c
	c.sending.Add(1)
	defer c.sendDone()
	if c.stopped.Load() {
		return wrapClosed(c.causeErr())
	}
	it := item{h: frame.Header{Length: uint32(b.bytes)}, buf: b.buf, frames: int(b.frames), s: s}
	c.queued.Add(1)
	if err := s.q.SendCounted(ctx, it, int(b.frames)); err != nil {
		c.queued.Add(-1)
		return c.queueErr(err)
	}
	b.buf, b.frames, b.bytes = nil, 0, 0
	c.startWriter()
	return nil
}

// Reset drops the batch's messages without queuing them.
func (b *SendBatch) Reset() {
	putBatchBuf(b.buf)
	b.buf, b.frames, b.bytes = nil, 0, 0
}

// sendFailed ends an item that was not queued and returns err: with
// accepted its messages go to the failure callback; else (the caller
// gets err) its buffer just goes back.
func (c *Conn) sendFailed(it *item, err error, accepted bool) error {
	switch {
	case accepted:
		c.failItem(it, err)
	case it.frames > 0:
		putBatchBuf(it.buf)
	default:
		pool.PutBuffer(it.buf)
	}
	return err
}

// frameErr maps a frame encoding error to the socket's errors.
func frameErr(err error) error {
	if errors.Is(err, frame.ErrFrameTooLarge) {
		return fmt.Errorf("%w: %w", ErrFrameTooLarge, err)
	}
	return err
}

func tooLarge(n, limit int) error {
	return fmt.Errorf("%w: payload of %d bytes over the maximum %d: %w", ErrFrameTooLarge, n, limit, frame.ErrFrameTooLarge)
}

// sendDone ends a send (see Conn.sending): while the connection is
// stopped, Drain waits for sends in flight, and each one that finishes
// wakes it.
func (c *Conn) sendDone() {
	c.sending.Add(-1)
	if c.stopped.Load() {
		c.wt.signal()
	}
}
