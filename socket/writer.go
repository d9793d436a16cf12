package socket

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/framehook"
	"github.com/protosocket-go/protosocket/internal/sched"
	"github.com/protosocket-go/protosocket/pool"
)

// The writer side: whoever holds the write token (wtoken.go) takes
// batches from the queue, encodes them into the frame.Writer and flushes.

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
		// finds the token free (and starts a writer) or is pending here.
		if !c.pending() || !c.wt.take(tokenWriter) {
			break
		}
	}
	c.writerExited()
}

// pending reports whether the queue holds messages no token holder has
// taken (see writeToken).
func (c *Conn) pending() bool {
	q := c.q.Load()
	return q != nil && q.rx.Pending()
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
		framehook.PresetWriter(w.fw, rc, &c.out)
		w.fw.Reset(c.nc, frame.WriterOptions{Framing: c.opts.Framing, MaxFrameSize: c.opts.MaxFrameSize,
			CopyThreshold: c.opts.CopyThreshold})
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
	if r, ok := it.enc.(*Ref); ok && c.encodeRef(fw, it, r) {
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
			w.poisonScratch()
			c.failItem(it, fmt.Errorf("socket: encode: %w", err))
			return
		}
		payload = w.scratch.B
	} else {
		payload = it.buf.B
	}
	if err := fw.WriteFrame(it.h, payload); err != nil {
		if it.enc != nil {
			w.poisonScratch()
		}
		c.failItem(it, frameErr(err))
		return
	}
	byRef := fw.Writev() && len(payload) > c.opts.CopyThreshold && c.opts.CopyThreshold >= 0
	if it.enc != nil {
		if byRef { // fw references the scratch buffer until Flush
			w.held = append(w.held, w.scratch)
			w.scratch = nil
		} else if pool.Debug { // copied: poisoned now, so a dst the Encoder kept reads as poison
			pool.PutBuffer(w.scratch)
			w.scratch = nil
		}
	} else if byRef {
		w.held = append(w.held, it.buf)
	} else {
		pool.PutBuffer(it.buf)
	}
	w.inflight = append(w.inflight, item{h: it.h, enc: it.enc, s: it.s})
}

// poisonScratch, under psdebug, gives back the scratch buffer an Encoder
// appended into and failed with (or whose frame was refused), so a dst it
// kept reads as poison, as after a copy. Without psdebug the buffer is
// reused for the next Encoder.
func (w *writerState) poisonScratch() {
	if pool.Debug && w.scratch != nil {
		pool.PutBuffer(w.scratch)
		w.scratch = nil
	}
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
		} else if it.enc != nil {
			finishRef(it) // written: its payload goes back (sendref.go)
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
	finishRef(it)
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
