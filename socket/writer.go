package socket

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/sched"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/spillway"
)

// Encoder appends a message's payload to dst and returns the extended
// slice, like binary.AppendUvarint. The connection calls AppendPayload once,
// on its writer goroutine, when the message is about to be written, or not
// at all if the message fails first (then the failure callback gets the
// Encoder back, so a pooled Encoder can be recycled in either place).
type Encoder interface {
	AppendPayload(dst []byte) ([]byte, error)
}

// Failure reports one queued message that was not written.
type Failure struct {
	Header  frame.Header
	Payload []byte  // the payload of Send/SendBuffer, valid until the callback returns; nil for Encoder messages and once the write had begun
	Encoder Encoder // the Encoder of SendEncoder, else nil
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

// NewSender returns a Sender on the next lane. onFail, if non-nil, is
// called for each of its messages that was queued (the send returned nil)
// but not written; nil means Options.OnSendFailure. Close it when done.
// A Sender is meant to last (one per sending goroutine, or one shared):
// the connection lets go of its queue when its last Sender closes, so
// making and closing a connection's only Sender per message remakes the
// queue each time.
func (c *Conn) NewSender(onFail func(Failure)) *Sender {
	if onFail == nil {
		onFail = c.opts.OnSendFailure
	}
	c.qmu.Lock()
	defer c.qmu.Unlock()
	c.senders.Add(1)
	return &Sender{q: c.queue().root.Clone(), c: c, onFail: onFail}
}

// Close releases the Sender's hold on the queue. Messages already queued
// are still written. Once every Sender of a connection is closed and the
// queue is written, the connection lets go of its queue (an idle
// connection holds none; the next NewSender makes another).
func (s *Sender) Close() {
	if !s.closed.CompareAndSwap(false, true) {
		return
	}
	s.q.Close()
	if s.c.senders.Add(-1) == 0 {
		s.c.dropIdleQueue()
	}
}

// dropIdleQueue lets go of the outbound queue when no Sender is open and
// nothing is queued, being sent or being written. A writer that finds no
// Sender open when it exits calls it too.
func (c *Conn) dropIdleQueue() {
	if c.senders.Load() != 0 || c.queued.Load() != 0 || c.wt.held.Load() {
		return
	}
	c.qmu.Lock()
	defer c.qmu.Unlock()
	q := c.q.Load()
	if q == nil || q == closedQueue || c.senders.Load() != 0 || c.queued.Load() != 0 || c.sending.Load() != 0 {
		return
	}
	// Hold the write token, so no writer takes from the queue meanwhile.
	if !c.wt.take(tokenIdle) {
		return // the holder drops it when it lets go
	}
	if c.q.CompareAndSwap(q, nil) { // else finish took it
		q.rx.Close(c.handback) // empty; were a value left, it would be reported, not lost
		q.root.Close()
	}
	c.wt.release(tokenIdle)
	c.wt.signal()
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
	b := pool.GetBuffer()
	b.B = append(b.B, payload...)
	return s.send(ctx, item{h: h, buf: b, s: s})
}

// MaxBatchedPayload is the largest payload Sender.Send encodes into a
// batch buffer shared with the Sender's other queued small messages.
const MaxBatchedPayload = 1024

// sendSmall encodes payload into the batch at the tail of the Sender's lane
// if it is this Sender's and has room, else into a new batch item.
func (s *Sender) sendSmall(ctx context.Context, h frame.Header, payload []byte) error {
	c := s.c
	need := len(payload) + int(c.frameExtra)
	c.sending.Add(1)
	defer c.sendDone()
	if c.stopped.Load() {
		return wrapClosed(c.causeErr())
	}
	w := int64(len(payload)) // weight: payload bytes, as for other items
	if err := s.q.Reserve(ctx, w); err != nil {
		return c.queueErr(err)
	}
	if t := s.q.LockTail(); t != nil && t.s == s && t.frames > 0 && len(t.buf.B)+need <= batchBufSize {
		if cap(t.buf.B)-len(t.buf.B) < need { // a small batch grows into a large buffer, once
			big := getBatchBuf(batchBufSize)
			big.B = append(big.B, t.buf.B...)
			putBatchBuf(t.buf)
			t.buf = big
		}
		b, err := frame.AppendFramed(t.buf.B, c.opts.Framing, h, payload)
		if err != nil {
			s.q.UnlockTail(false, 0)
			s.q.Unreserve(w)
			return frameErr(err)
		}
		t.buf.B = b
		t.frames++
		s.q.UnlockTail(true, w)
		return nil
	}
	s.q.UnlockTail(false, 0)
	s.q.Unreserve(w)
	buf := getBatchBuf(need)
	b, err := frame.AppendFramed(buf.B, c.opts.Framing, h, payload)
	if err != nil {
		putBatchBuf(buf)
		return frameErr(err)
	}
	buf.B = b
	return s.send(ctx, item{h: frame.Header{Length: uint32(len(payload))}, buf: buf, frames: 1, s: s})
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
	if err := s.q.Send(ctx, it); err != nil {
		return c.sendFailed(&it, c.queueErr(err), accepted)
	}
	c.queued.Add(1)
	if c.wt.take(tokenWriter) {
		go c.writerFn()
	}
	return nil
}

// queueErr maps a spillway error to the socket's.
func (c *Conn) queueErr(err error) error {
	switch {
	case errors.Is(err, spillway.ErrFull):
		return ErrBackpressure
	case errors.Is(err, spillway.ErrClosed), errors.Is(err, spillway.ErrSenderClosed):
		return wrapClosed(c.causeErr())
	}
	return err
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
	if c.nb == nil || !c.dispatching.Load() {
		return c.replySender().Send(context.Background(), h, payload)
	}
	if len(payload) > c.opts.MaxFrameSize {
		return tooLarge(len(payload), c.opts.MaxFrameSize)
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
	b, err := frame.AppendFramed(c.rbuf.B, c.opts.Framing, h, payload)
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
	if !c.wt.take(tokenReader) {
		s := c.replySender()
		it.s = s
		return s.enqueue(context.Background(), it, true)
	}
	fw := c.writer()
	c.encode(fw, &it)
	c.drainQueueN(4)
	c.releaseWriter()
	c.wt.release(tokenReader)
	// A send that queued meanwhile either saw the token held and counted
	// itself (we start a writer for it here) or starts one itself.
	if c.queued.Load() > 0 && c.wt.take(tokenWriter) {
		go c.writerFn()
		return nil
	}
	c.writerExited()
	return nil
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

// writerState is touched only by the holder of the write token. A
// writer that exits with nothing buffered puts it back in writerPool, so
// an idle connection holds none (see releaseWriter).
type writerState struct {
	fw       *frame.Writer
	batch    []item
	inflight []item // buffered in fw, not yet flushed
	held     []*pool.Buffer
	scratch  *pool.Buffer
	err      error // sticky: every later item fails with it
}

// release gives the writer's buffers back (the connection is finished).
func (w *writerState) release(c *Conn) {
	w.fw.Discard()
	for i := range w.inflight {
		c.failItem(&w.inflight[i], wrapClosed(c.causeErr()))
	}
	w.inflight = w.inflight[:0]
	w.putHeld()
	pool.PutBuffer(w.scratch)
	w.scratch = nil
	w.batch, w.inflight, w.held = nil, nil, nil
}

func (w *writerState) putHeld() {
	for i, b := range w.held {
		pool.PutBuffer(b)
		w.held[i] = nil
	}
	w.held = w.held[:0]
}

// writeLoop is the writer goroutine, started by a send when none runs and
// gone when the queue is empty, so an idle connection has no writer stack.
func (c *Conn) writeLoop() {
	for {
		c.drainQueueYield(-1, sched.WriterYields())
		c.releaseWriter()
		c.wt.release(tokenWriter)
		// A send that queued after drainQueue saw the queue empty either
		// finds the token free (and starts a writer) or is counted here.
		if c.queued.Load() <= 0 || !c.wt.take(tokenWriter) {
			break
		}
	}
	c.writerExited()
}

// writerExited runs after a holder let go of the write token: it wakes
// the goroutine waiting to take it for good and lets go of a queue no
// Sender uses any more.
func (c *Conn) writerExited() {
	c.wt.signal()
	if c.senders.Load() == 0 && c.q.Load() != nil {
		c.dropIdleQueue()
	}
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

// drainQueue writes everything queued: it takes whole batches, encodes them
// into the frame.Writer, and flushes when the queue is empty or
// WriteBatchBytes are buffered.
func (c *Conn) drainQueue() { c.drainQueueN(-1) }

// drainQueueN is drainQueue taking at most rounds batches (negative: no
// limit); it always flushes what it encoded.
func (c *Conn) drainQueueN(rounds int) { c.drainQueueYield(rounds, 0) }

// drainQueueYield is drainQueueN that, when the queue runs empty right
// after a round that took messages, yields up to yields times before it
// flushes, while each yield brings more (the writer goroutine's yields:
// internal/sched, yields.go).
func (c *Conn) drainQueueYield(rounds, yields int) {
	fw := c.writer()
	w := c.w
	q := c.q.Load()
	grew := false
	for {
		n := 0
		if rounds != 0 && q != nil {
			rounds--
			w.batch, _ = q.rx.TryRecvBatch(w.batch[:0])
			n = len(w.batch)
		}
		if n > 0 {
			c.queued.Add(-int64(n))
			for i := range w.batch {
				c.encode(fw, &w.batch[i])
				w.batch[i] = item{}
			}
			if fw.Buffered() < c.opts.WriteBatchBytes {
				grew = true
				continue
			}
		}
		if n == 0 && grew && yields > 0 && rounds != 0 {
			yields--
			grew = false
			runtime.Gosched()
			continue
		}
		grew = false
		if fw.BufferedFrames() > 0 {
			c.flush(fw)
		}
		if n == 0 {
			pool.PutBuffer(w.scratch) // idle: hold no buffer
			w.scratch = nil
			return
		}
	}
}

// writerPool holds the writer state (and frame.Writer) of connections
// whose writer is idle.
var writerPool sync.Pool

// maxPooledItems bounds the item slices a pooled writerState keeps.
const maxPooledItems = 1024

// writer returns the frame.Writer, taking the writer state from
// writerPool if the connection holds none. Only the holder of the writer
// side calls it.
func (c *Conn) writer() *frame.Writer {
	c.wt.mustHold()
	if c.w == nil {
		w, _ := writerPool.Get().(*writerState)
		if w == nil {
			w = &writerState{fw: new(frame.Writer)}
		}
		var rc syscall.RawConn
		if c.nb != nil {
			rc = c.nb.rc
		}
		w.fw.Reset(c.nc, frame.WriterOptions{Framing: c.opts.Framing, MaxFrameSize: c.opts.MaxFrameSize,
			CopyThreshold: c.opts.CopyThreshold, RawConn: rc, Counters: &c.out})
		c.w = w
	}
	return c.w.fw
}

// releaseWriter puts the writer state back in writerPool if nothing is
// buffered or failed in it (an error is sticky: the connection is going
// down and finish releases it). The holder of the writer side calls it
// before it lets go.
func (c *Conn) releaseWriter() {
	w := c.w
	if w == nil || w.err != nil || w.fw.BufferedFrames() > 0 || len(w.inflight) > 0 || len(w.held) > 0 {
		return
	}
	c.w = nil
	pool.PutBuffer(w.scratch)
	w.scratch = nil
	w.fw.Reset(nil, frame.WriterOptions{}) // no references to the connection
	if cap(w.batch) > maxPooledItems {
		w.batch = nil
	}
	if cap(w.inflight) > maxPooledItems {
		w.inflight = nil
	}
	if cap(w.held) > maxPooledItems {
		w.held = nil
	}
	writerPool.Put(w)
}

func (c *Conn) encode(fw *frame.Writer, it *item) {
	w := c.w
	if w.err != nil {
		c.failItem(it, w.err)
		return
	}
	if it.frames > 0 { // a batch of replies, encoded already
		if err := fw.WriteEncoded(it.buf.B, it.frames); err != nil {
			c.failItem(it, err)
			return
		}
		w.inflight = append(w.inflight, *it) // holds buf until the flush
		return
	}
	var payload []byte
	if it.enc != nil {
		if w.scratch == nil {
			w.scratch = pool.GetBuffer()
		}
		var err error
		w.scratch.B, err = it.enc.AppendPayload(w.scratch.B[:0])
		if err != nil {
			c.failItem(it, fmt.Errorf("socket: encode: %w", err))
			return
		}
		payload = w.scratch.B
	} else {
		payload = it.buf.B
	}
	if err := fw.WriteFrame(it.h, payload); err != nil {
		c.failItem(it, frameErr(err))
		return
	}
	byRef := fw.Writev() && len(payload) > c.opts.CopyThreshold && c.opts.CopyThreshold >= 0
	if it.enc != nil {
		if byRef { // fw references the scratch buffer until Flush
			w.held = append(w.held, w.scratch)
			w.scratch = nil
		}
	} else if byRef {
		w.held = append(w.held, it.buf)
	} else {
		pool.PutBuffer(it.buf)
	}
	w.inflight = append(w.inflight, item{h: it.h, enc: it.enc, s: it.s})
}

func (c *Conn) flush(fw *frame.Writer) {
	if wt := c.opts.WriteTimeout; wt > 0 {
		_ = c.nc.SetWriteDeadline(time.Now().Add(wt))
	}
	err := fw.Flush()
	w := c.w
	w.putHeld()
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) && c.opts.WriteTimeout > 0 && !c.closing.Load() {
			err = ErrWriteTimeout
		}
		c.abort(err)
		w.err = wrapClosed(c.causeErr())
		for i := range w.inflight {
			c.failItem(&w.inflight[i], w.err)
		}
	}
	for i := range w.inflight {
		if it := &w.inflight[i]; it.buf != nil { // a batch of replies
			putBatchBuf(it.buf)
		}
	}
	clear(w.inflight)
	w.inflight = w.inflight[:0]
}

// failItem reports it to its sender's failure callback and frees its
// buffer.
func (c *Conn) failItem(it *item, err error) {
	cb := c.opts.OnSendFailure
	if it.s != nil {
		cb = it.s.onFail
	}
	if it.frames > 0 {
		c.failBatch(it, err, cb)
		return
	}
	c.failed.Add(1)
	if cb != nil {
		f := Failure{Header: it.h, Encoder: it.enc, Err: err}
		if it.buf != nil {
			f.Payload = it.buf.B
		}
		cb(f)
	}
	pool.PutBuffer(it.buf)
	it.buf = nil
}

// failBatch reports each reply of a batch item to cb, with its header and
// payload (split again with the connection's framing), and frees the
// buffer.
func (c *Conn) failBatch(it *item, err error, cb func(Failure)) {
	c.failed.Add(uint64(it.frames))
	if it.buf == nil {
		return
	}
	b := it.buf.B
	for n := 0; cb != nil && n < it.frames && len(b) > 0; {
		sp, serr := c.opts.Framing.Split(b, c.opts.MaxFrameSize)
		if serr != nil || sp.Kind == frame.NeedMore || sp.N <= 0 {
			break // cannot happen: the batch was encoded by this framing
		}
		if sp.Kind == frame.Complete {
			cb(Failure{Header: sp.Header, Payload: b[sp.Off : sp.Off+sp.Len], Err: err})
			n++
		}
		b = b[sp.N:]
	}
	putBatchBuf(it.buf)
	it.buf = nil
}

// Batch buffers (a Sender's small messages, the reader's replies) are
// pooled apart from pool's calibrating buffers, in two classes: a batch
// starts small, so a lone small message queued holds a few hundred bytes,
// not a large buffer, and moves to a large one, once, if more join it.
// Buffers that grew past the large class (reply batches up to
// WriteBatchBytes) go back to the large class's pool unless oversized.
var smallBatchBufs, largeBatchBufs sync.Pool

const (
	smallBatchBufSize = 512      // a new batch of one small frame
	batchBufSize      = 16 << 10 // the most a Sender's batch holds; a reply batch's start
	maxBatchBufKept   = 1 << 20  // bigger ones are dropped, not pooled
)

// getBatchBuf returns an empty batch buffer with room for need bytes (of
// the small class if they fit it).
func getBatchBuf(need int) *pool.Buffer {
	if need <= smallBatchBufSize {
		if b, ok := smallBatchBufs.Get().(*pool.Buffer); ok {
			return b
		}
		return &pool.Buffer{B: make([]byte, 0, smallBatchBufSize)}
	}
	if b, ok := largeBatchBufs.Get().(*pool.Buffer); ok {
		return b
	}
	return &pool.Buffer{B: make([]byte, 0, max(need, batchBufSize))}
}

// putBatchBuf returns a batch buffer to the pool of its class.
func putBatchBuf(b *pool.Buffer) {
	if b == nil {
		return
	}
	b.B = b.B[:0]
	switch c := cap(b.B); {
	case c == smallBatchBufSize:
		smallBatchBufs.Put(b)
	case c >= batchBufSize && c <= maxBatchBufKept:
		largeBatchBufs.Put(b)
	}
}
