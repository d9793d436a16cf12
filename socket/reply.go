package socket

import (
	"context"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
)

// Reply batching: the reader encodes the replies to a read batch into one
// buffer and writes it itself, in one writev, when no writer goroutine
// runs (else it queues the batch as one item).

// encodeReplies hands the reader's encoded replies to the frame.Writer;
// the caller holds the writer side and flushes.
func (c *Conn) encodeReplies() {
	if it, ok := c.takeReplies(); ok {
		c.encode(c.writer(), &it)
	}
}

// Reply queues payload (copied) with header h on a Sender reserved for the
// reader goroutine. Call it only from OnMessage: other goroutines use a
// Sender of their own. Replies are backpressure on the reader: while they
// cannot be written reading stops, so TCP pushes back on the peer. When the
// reader writes its replies itself (below) it blocks in that write, up to
// Options.WriteTimeout; when they are queued behind a writer goroutine it
// blocks while the queue is full, or with Options.FailWhenFull the batch
// fails with ErrBackpressure.
//
// Called from OnMessage on a TCP or Unix connection, Reply encodes the
// frame at once into a buffer of the reader's: the replies to a whole read
// batch go on as one item (written by the reader itself, in one writev,
// before it next reads or waits, when no writer goroutine runs). A framing
// error (frame.ErrMalformed, frame.ErrLineBreak) is then returned by Reply
// instead of reaching the failure callback. Should handing a full batch on
// fail (ErrBackpressure under FailWhenFull, or the connection closed), the
// replies already in it go to the failure callback, each with its header
// and payload, and Reply returns the error for its own message.
func (c *Conn) Reply(h frame.Header, payload []byte) error {
	if c.appending {
		return ErrReplyInAppend
	}
	if c.nb == nil || !c.dispatching.Load() {
		return c.replySender().Send(context.Background(), h, payload)
	}
	if len(payload) > c.opts.MaxFrameSize {
		return tooLarge(len(payload), c.opts.MaxFrameSize)
	}
	if ct := c.opts.CopyThreshold; ct >= 0 && len(payload) > ct && len(payload) > c.replyBatchBytes() {
		// It would fill a batch on its own: copy it into a pooled buffer
		// written by reference rather than grow the batch buffer past
		// what its pool keeps (an allocation per large reply).
		b := pool.GetBufferFor(len(payload))
		b.B = append(b.B, payload...)
		return c.ReplyBuffer(h, b)
	}
	if c.rbuf != nil && (int(c.rframes) >= c.opts.QueueMessages || len(c.rbuf.B) >= c.replyBatchBytes()) {
		if err := c.pushReplies(); err != nil {
			return err
		}
	}
	if c.stopped.Load() {
		return wrapClosed(c.causeErr())
	}
	if c.rbuf == nil {
		c.rbuf = getBatchBuf(batchBufSize)
	}
	b, err := frame.AppendFramedRef(c.rbuf.B, c.opts.Framing, &h, payload)
	if err != nil {
		return frameErr(err)
	}
	c.rbuf.B = b
	c.rframes++
	return nil
}

// replySender returns the reader's own Sender, made on first use: a
// connection whose replies the reader always writes itself has no
// outbound queue at all.
func (c *Conn) replySender() *Sender {
	if c.reply == nil {
		c.reply = c.NewSender(nil)
	}
	return c.reply
}

// replyBatchBytes is the size at which the reader hands its encoded
// replies on mid-batch: WriteBatchBytes, or half of QueueBytes if less (a
// batch is queued as one item and must fit the byte bound).
func (c *Conn) replyBatchBytes() int {
	n := c.opts.WriteBatchBytes
	if qb := c.opts.QueueBytes; qb > 0 && qb/2 < int64(n) {
		n = int(max(qb/2, 1))
	}
	return n
}

// takeReplies returns the reader's encoded replies as one item and
// forgets them; ok is false when there are none.
func (c *Conn) takeReplies() (it item, ok bool) {
	if c.rbuf == nil {
		return item{}, false
	}
	if c.rframes == 0 {
		putBatchBuf(c.rbuf)
		c.rbuf = nil
		return item{}, false
	}
	it = item{buf: c.rbuf, frames: int(c.rframes), s: c.reply} // s nil: Options.OnSendFailure
	c.rbuf, c.rframes = nil, 0
	return it, true
}

// pushReplies hands the reader's encoded replies on: if no writer runs,
// the reader writes them (and whatever else is queued, a bounded number of
// batches) itself; else they are queued as one item on the reply lane,
// blocking while the queue is full. Reader goroutine only.
func (c *Conn) pushReplies() error {
	it, ok := c.takeReplies()
	if !ok {
		return nil
	}
	return c.pushItem(it, true)
}

// pushItem hands it on from the reader goroutine, as pushReplies
// describes. accepted is enqueue's.
func (c *Conn) pushItem(it item, accepted bool) error {
	if !c.wt.take(tokenReader) {
		s := c.replySender()
		it.s = s
		return s.enqueue(context.Background(), it, accepted)
	}
	fw := c.writer()
	c.encode(fw, &it)
	c.drainQueueN(4)
	c.releaseWriter()
	c.wt.release(tokenReader)
	// A send that queued meanwhile either saw the token held (we start a
	// writer for it here) or starts one itself.
	if c.pending() && c.wt.take(tokenWriter) {
		go c.writerFn()
		return nil
	}
	c.writerExited()
	return nil
}

// ReplyBuffer is Reply for a payload in a pooled buffer, which belongs to
// the connection from this call on, whatever the result (it goes back to
// the pool after it is written or failed). A payload above
// Options.CopyThreshold is not copied: the replies encoded so far go on
// first, then it is written by reference (writev), by the reader itself
// when no writer goroutine runs, else queued behind it on the reply lane.
// A smaller one is encoded like Reply's. Call it only from OnMessage.
func (c *Conn) ReplyBuffer(h frame.Header, buf *pool.Buffer) error {
	if c.appending {
		pool.PutBuffer(buf)
		return ErrReplyInAppend
	}
	if ct := c.opts.CopyThreshold; c.nb == nil || !c.dispatching.Load() || ct < 0 || len(buf.B) <= ct {
		err := c.Reply(h, buf.B)
		pool.PutBuffer(buf)
		return err
	}
	if len(buf.B) > c.opts.MaxFrameSize {
		n := len(buf.B)
		pool.PutBuffer(buf)
		return tooLarge(n, c.opts.MaxFrameSize)
	}
	if err := c.pushReplies(); err != nil {
		pool.PutBuffer(buf)
		return err
	}
	if c.stopped.Load() {
		pool.PutBuffer(buf)
		return wrapClosed(c.causeErr())
	}
	return c.pushItem(item{h: h, buf: buf, s: c.reply}, false)
}

// flushReplies runs on the reader goroutine before it reads, waits or
// exits: the replies of the read batch go out (see pushReplies).
func (c *Conn) flushReplies() {
	if c.dispatching.Load() {
		c.dispatching.Store(false)
	}
	if c.rbuf != nil {
		_ = c.pushReplies() // a failure went to the failure callback
	}
}
