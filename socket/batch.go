package socket

import (
	"bytes"
	"errors"
	"sync"
	"time"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/framehook"
	"github.com/protosocket-go/protosocket/pool"
)

// Read batches: the reader hands the Reactor every whole frame of one read
// at once. A BatchReactor takes them in one OnBatch call; a plain Reactor
// gets one OnMessage call per message of the same batch (dispatchBatch).

// BatchReactor is a Reactor that takes a whole read batch in one call:
// the connection calls OnBatch, never OnMessage, for every batch (OnMessage
// is there so that a BatchReactor is a Reactor, for Serve, Dial and
// NewConn; BatchFunc's runs a batch of one message). OnBatch runs on the
// reader goroutine, as OnMessage does, under the same rules: nothing else is
// read while it runs, and it must not call Conn.Close or Conn.Drain.
type BatchReactor interface {
	Reactor
	OnBatch(c *Conn, b *Batch) Action
}

// BatchFunc adapts a function to BatchReactor.
type BatchFunc func(c *Conn, b *Batch) Action

// OnBatch calls f.
func (f BatchFunc) OnBatch(c *Conn, b *Batch) Action { return f(c, b) }

// OnMessage calls f with a batch that holds m alone (the connection itself
// never calls it; see BatchReactor).
func (f BatchFunc) OnMessage(c *Conn, m Message) Action {
	b := batches.Get().(*Batch) // pooled, as the reader's batches are
	b.c, b.first, b.state, b.single = c, m.Frame, batchFirst, true
	b.limits()
	act := f(c, b)
	if pool.Debug {
		b.checkAppend()
	}
	*b = Batch{state: batchDone}
	if !pool.Debug {
		batches.Put(b)
	}
	return act
}

// ErrBatchUnread is the cause recorded when a BatchReactor returns
// Continue without taking a single message of its batch (Batch.Next):
// that message would be offered again for ever.
var ErrBatchUnread = errors.New("socket: OnBatch returned Continue without taking a message")

// Batch is one read batch: the whole frames the reader found in what one
// read brought in (on TCP and Unix sockets; on other connections, TLS
// among them, where a read may block, a batch holds one message). Next
// takes its messages in arrival order; Reply answers them.
//
// A Batch and the Payload of every message taken from it are valid until
// OnBatch returns: Message.Retain keeps a message longer (until Release),
// counting against Options.MaxUnfinished as from OnMessage. Do not keep
// the Batch itself: it is reused for a later batch, possibly of another
// connection. This holds however the batch ends (a framing error met by
// Next fails the stream only once OnBatch returned) and whatever its
// messages are (a skipped oversized message among them). Under the psdebug
// build tag Next, Reply, ReplyAppend and Time on a Batch whose OnBatch has
// returned panic with MsgBatchAfterReturn, and a Payload kept past it
// reads as poison once its slab is released, as OnMessage's does.
//
// A batch ends early, so that the reader checks its bounds before it goes
// on, when Options.MaxUnfinished messages are unfinished or the connection
// is stopping. OnBatch may also return Continue before Next reports the end:
// the messages it did not take form the next batch (a reactor may bound its
// work that way); returning Continue without taking any closes the
// connection with ErrBatchUnread.
type Batch struct {
	c     *Conn
	first frame.Frame // the frame the reader read the batch with; Next yields it first
	err   error       // a read error met by Next: the reader's result once OnBatch returns

	// Reply's fast path, read once per batch (limits).
	maxInline   int   // the largest payload Reply frames into the reply buffer at once
	limitBytes  int   // reply buffer bytes at which Reply hands the batch on (Conn.replyBatchBytes)
	limitFrames int32 // replies at which it does (QueueMessages)

	slab   *pool.Slab // a reference on the Reader's slab, taken with held: the batch's views outlive the Reader letting go of it
	now    int64      // Time's reading (monoNow), 0 until asked
	state  uint8      // batchFirst, batchMore, batchEnded, batchDone
	held   bool       // the Reader is in stop mode for the batch (and slab is its slab, referenced)
	single bool       // BatchFunc.OnMessage's batch of one: Next reads nothing more

	dbg appendCheck // psdebug: the last ReplyAppend's frame (replycheck.go)
}

const (
	batchFirst = iota // first not taken yet
	batchMore         // first taken: Next reads buffered frames
	batchEnded        // Next reported the end
	batchDone         // OnBatch returned
)

// MsgBatchAfterReturn is the panic message under the psdebug build tag
// when a Batch is used after its OnBatch returned.
const MsgBatchAfterReturn = "socket: Batch used after OnBatch returned (a Batch and its views are valid only during OnBatch)"

// batches pools Batch values: a read batch takes one and gives it back
// when OnBatch returns, so a connection holds none between batches (its
// idle memory does not grow) and one Batch serves many connections.
var batches = sync.Pool{New: func() any { return new(Batch) }}

// Next returns the batch's next message and true, or false at the end of
// the batch. It never reads from the socket: the reader reads the next
// batch once OnBatch returns.
func (b *Batch) Next() (m Message, ok bool) {
	switch b.state {
	case batchFirst:
		b.state = batchMore
		return Message{Frame: b.first, conn: b.c}, true
	case batchMore:
	case batchDone:
		if pool.Debug {
			panic(MsgBatchAfterReturn)
		}
		return Message{}, false
	default:
		return Message{}, false
	}
	c := b.c
	// Only whole frames already read are taken (the Reader's stop mode,
	// below, ends the batch where it would read), and only while the
	// reader's bounds allow: at MaxUnfinished or once stopped the reader
	// must look first.
	if b.single || c.nb == nil || c.fr.Buffered() == 0 || c.stopped.Load() || int(c.unfinished.Load()) >= c.opts.MaxUnfinished {
		b.state = batchEnded
		return Message{}, false
	}
	if !b.held {
		// The Reader stops where it would read (framehook's stop mode): it
		// neither reads nor moves a partial frame at the end of its slab
		// while the batch's views are live; the move waits for the
		// reader's next read, once OnBatch returned, when the slab is
		// reused in place unless a message was retained (TestBatchEndsMidFrame
		// checks both). The reference on the Reader's slab keeps the views
		// valid should the Reader let go of it meanwhile (a framing error
		// fails the stream and releases it): the Reader's, not first's,
		// which a skipped oversized frame does not have
		// (TestBatchViewsOutliveFramingError). In stop mode the Reader
		// stays on that slab, so it holds every view of the batch. One
		// atomic add per batch, not per message.
		b.slab = framehook.ReaderRetainSlab(c.fr)
		b.held = true
		framehook.ReaderStopAtPartial(c.fr, true)
	}
	err := c.fr.NextInto(&m.Frame) // in place: no copy of the frame (see NextInto)
	if err != nil {
		// ErrStopAtPartial: the rest is a partial frame, kept by the
		// Reader exactly as a read that ended there leaves it. Else a
		// framing error, returned by the reader after OnBatch.
		if err != framehook.ErrStopAtPartial {
			b.err = err
		}
		b.state = batchEnded
		return Message{}, false
	}
	c.frameDone()
	m.conn = c
	return m, true
}

// Reply is Conn.Reply for the batch's reactor, with the checks Reply makes
// per message made once per batch: on TCP and Unix sockets each reply is
// framed at once into the reader's reply buffer, and the replies to the
// whole batch are written (or queued as one item) once OnBatch returns, or
// earlier when they reach Options.WriteBatchBytes or QueueMessages. Errors
// and lifetimes are Conn.Reply's; payload is copied. Call it only from
// OnBatch.
func (b *Batch) Reply(h frame.Header, payload []byte) error {
	if pool.Debug {
		if b.state == batchDone {
			panic(MsgBatchAfterReturn)
		}
		b.checkAppend()
	}
	c := b.c
	if c.appending {
		return ErrReplyInAppend
	}
	if rb := c.rbuf; rb != nil && len(payload) <= b.maxInline && len(rb.B) < b.limitBytes && c.rframes < b.limitFrames && !c.stopped.Load() {
		nb, err := frame.AppendFramedRef(rb.B, c.opts.Framing, &h, payload)
		if err != nil {
			return frameErr(err)
		}
		rb.B = nb
		c.rframes++
		return nil
	}
	return c.Reply(h, payload) // the first reply of the batch, a large one, a full buffer, TLS
}

// ReplyAppend is Batch.Reply for a payload that appendPayload appends to
// dst (like binary.AppendUvarint), framed straight into the batch's reply
// buffer on TCP and Unix sockets with the default framing: no copy of the
// payload. dst and the slice appendPayload returns belong to the batch:
// valid only during the call, not to be kept or handed to another
// goroutine; appendPayload must not reply or call ReplyAppend itself
// (such a reply returns ErrReplyInAppend and is not made). A returned
// slice on another array than dst's (append grew it, or appendPayload
// copied dst into an array of its own; either way longer than dst's
// capacity, as only then does append move) becomes the
// batch's reply buffer: the batch takes that array over, writes it and
// pools it, so it must be one that nothing else uses. Under the psdebug
// build tag a dst (or returned slice) written after the call panics with
// MsgReplyAppendDstKept at the batch's next Reply or ReplyAppend or at
// its end, and one read after the replies were written reads as poison
// (pool.Poisoned). Errors and lifetimes are Reply's, and:
//
//   - ErrBadAppend when appendPayload returned a slice that does not
//     extend dst (shorter, or on another array but not holding dst's
//     bytes or not longer than dst's capacity);
//   - ErrReplyInAppend when called from inside another ReplyAppend's
//     append function;
//   - ErrFrameTooLarge (matching frame.ErrFrameTooLarge) when the
//     payload is over Options.MaxFrameSize.
//
// Nothing was replied on an error. On other connections (TLS, net.Pipe),
// with other framings, or with a header flagged for a CRC, the payload is
// appended to a pooled buffer and replied with Reply (one copy). A large
// payload (over Options.CopyThreshold) is better built in a pool.Buffer
// and given to Conn.ReplyBuffer, written by reference: ReplyAppend grows
// the batch's buffer to hold it. Call it only from OnBatch; under the
// psdebug build tag it panics with MsgBatchAfterReturn after.
func (b *Batch) ReplyAppend(h frame.Header, appendPayload func(dst []byte) []byte) error {
	if pool.Debug {
		if b.state == batchDone {
			panic(MsgBatchAfterReturn)
		}
		b.checkAppend()
	}
	c := b.c
	if c.appending {
		return ErrReplyInAppend
	}
	if c.nb == nil || !c.dispatching.Load() || h.Flags&(frame.FlagCRC|frame.FlagsReserved) != 0 || !c.opts.defaultFraming() {
		return b.replyAppendCopy(h, appendPayload)
	}
	rb := c.rbuf
	if rb != nil && (len(rb.B) >= b.limitBytes || c.rframes >= b.limitFrames) {
		if err := c.pushReplies(); err != nil {
			return err
		}
		rb = nil
	}
	if c.stopped.Load() {
		return wrapClosed(c.causeErr())
	}
	if rb == nil {
		rb = getBatchBuf(batchBufSize)
		c.rbuf = rb
	}
	start := len(rb.B)
	dst := append(rb.B, make([]byte, frame.HeaderSize)...) // the header's room, filled below
	c.appending = true
	out := appendPayload(dst)
	c.appending = false
	// On another array, out must be what append makes of dst when it
	// outgrows it: longer than dst's capacity, starting with dst's bytes
	// (the header's room included).
	if len(out) < len(dst) || (&out[0] != &dst[0] && (len(out) <= cap(dst) || !bytes.Equal(out[:len(dst)], dst))) {
		return ErrBadAppend
	}
	n := len(out) - len(dst)
	if n > c.opts.MaxFrameSize {
		return tooLarge(n, c.opts.MaxFrameSize)
	}
	h.Length = uint32(n)
	frame.AppendHeader(out[start:start], h) // in place: the room reserved above
	rb.B = out
	c.rframes++
	if pool.Debug {
		b.noteAppend(rb, start)
	}
	return nil
}

// replyAppendCopy is ReplyAppend through a pooled buffer and Reply. The
// buffer keeps its own array: the slice appendPayload returns is not
// pooled (it may be the caller's own).
func (b *Batch) replyAppendCopy(h frame.Header, appendPayload func(dst []byte) []byte) error {
	buf := pool.GetBuffer()
	defer pool.PutBuffer(buf)
	b.c.appending = true
	out := appendPayload(buf.B[:0])
	b.c.appending = false
	return b.Reply(h, out)
}

// Time returns the batch's time: the clock read once, at the first call
// in the batch (later calls return the same reading), with a monotonic
// reading. It is read on the monotonic clock only and given as the wall
// time package socket started at plus the monotonic time since: comparisons
// with other time.Time values that carry a monotonic reading (time.Now,
// time.Since, Sub, Before, After, a context deadline) are exact, but its
// wall-clock part (Unix, Format, String, or a comparison after Round(0)
// strips the monotonic reading) drifts from the system clock by any step
// of that clock since the process started (NTP, a VM's clock sync): use
// time.Now for a timestamp to log or send. A server that computes
// deadlines from a request's arrival counts them from it (a deadline is a
// comparison on the monotonic clock): every message of the batch arrived
// by then, and one clock read serves the whole batch (a clock read is some
// 100-200 ns on this project's VMs, where it is a system call). It is not
// taken at the read itself, which would cost every batch a clock read
// whether or not anybody asks. Call it only from OnBatch; under the
// psdebug build tag it panics with MsgBatchAfterReturn after.
func (b *Batch) Time() time.Time {
	if pool.Debug && b.state == batchDone {
		panic(MsgBatchAfterReturn)
	}
	if b.now == 0 {
		b.now = monoNow()
	}
	return monoTime(b.now)
}

// limits reads Reply's fast-path bounds from the options (see Conn.Reply:
// what it frames into the reply buffer and when it hands the buffer on).
func (b *Batch) limits() {
	c := b.c
	o := c.opts
	rbb := c.replyBatchBytes()
	b.maxInline = o.MaxFrameSize
	if ct := o.CopyThreshold; ct >= 0 {
		b.maxInline = min(b.maxInline, max(ct, rbb))
	}
	if c.nb == nil {
		b.maxInline = -1 // Reply queues on the reply Sender: no reply buffer
	}
	b.limitBytes, b.limitFrames = rbb, int32(o.QueueMessages)
}

// end lets go of what the batch held (its slab reference, the Reader's
// stop mode) and returns the read error met inside it.
func (b *Batch) end() error {
	if pool.Debug {
		b.checkAppend()
	}
	if b.held {
		framehook.ReaderStopAtPartial(b.c.fr, false)
		if b.slab != nil {
			b.slab.Release()
		}
	}
	return b.err
}

// dispatchBatch hands the read batch that begins with f to the reactor and
// returns nil to go on reading, ErrDisconnected, ErrBatchUnread, or the
// read error met inside the batch (for afterReadErr).
func (c *Conn) dispatchBatch(f frame.Frame) error {
	var act Action
	var err error
	if br, ok := c.reactor.(BatchReactor); ok {
		b := batches.Get().(*Batch)
		b.c, b.first, b.state = c, f, batchFirst
		b.limits() // Batch.Reply's; a plain Reactor replies with Conn.Reply
		act = br.OnBatch(c, b)
		if act == Continue && b.state == batchFirst {
			act = Disconnect
			b.err = ErrBatchUnread
		}
		err = b.end()
		*b = Batch{state: batchDone}
		if !pool.Debug { // under psdebug a kept Batch stays done and panics when used
			batches.Put(b)
		}
	} else {
		// A plain Reactor never sees the Batch: it lives on the reader's
		// stack, without a trip through the pool per read batch.
		var b Batch
		b.c, b.first, b.state = c, f, batchFirst
		r := c.reactor
		for m, ok := b.Next(); ok; m, ok = b.Next() {
			if r.OnMessage(c, m) == Disconnect {
				act = Disconnect
				break
			}
		}
		err = b.end()
	}
	switch {
	case err == ErrBatchUnread:
		return err
	case act == Disconnect:
		return ErrDisconnected
	}
	return err
}
