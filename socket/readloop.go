package socket

import (
	"errors"
	"io"
	"os"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/framehook"
	"github.com/protosocket-go/protosocket/internal/sched"
)

// The reader goroutine: reading frames, dispatching them to the Reactor,
// waiting for readability and for unfinished work, and moving to a fresh
// goroutine (see readFrames).

// errMoved is readFrames' result when a fresh reader goroutine took over.
var errMoved = errors.New("socket: reader moved")

// moveReader starts a fresh reader goroutine (see readFrames).
//
//go:noinline
func (c *Conn) moveReader() error {
	go c.resumeFn()
	return errMoved
}

// readLoop is the first reader goroutine.
func (c *Conn) readLoop() {
	cause := c.handshake()
	if cause == nil {
		cause = c.readFrames()
	}
	c.readExit(cause)
}

// readResume is a later reader goroutine, started by moveReader.
func (c *Conn) readResume() { c.readExit(c.readFrames()) }

// readExit ends the reader: it writes what is queued for a Disconnect and
// finishes the connection, unless reading moved to another goroutine.
func (c *Conn) readExit(cause error) {
	if cause == errMoved {
		return
	}
	c.dispatching.Store(false)
	holdsWriter := false
	switch {
	case cause == ErrDisconnected && !c.stopped.Load():
		// The reactor disconnected: everything queued before (its replies
		// above all) is written first, within WriteTimeout; what cannot be
		// written goes to the failure callbacks. Sends racing with this
		// are failed by finish.
		c.wt.acquire()
		holdsWriter = true
		c.encodeReplies()
		c.drainQueue()
	case c.nb != nil && !c.stopped.Load():
		c.flushReplies() // write replies made before an error
	}
	// Stopped: Drain writes the replies left in rbuf, finish fails them.
	if cause == nil { // stopped for Drain: Drain finishes the connection
		c.readerWG.Done()
		return
	}
	c.abort(cause)
	c.readerFin = true
	c.readerWG.Done()
	c.finish(holdsWriter)
}

// readFrames reads and dispatches until an error (returned) or Drain
// (returns nil), or errMoved when it handed reading to a fresh goroutine.
// It keeps its own frame small and calls the rest out of line: while idle
// the reader goroutine is parked in waitReadable right below it.
//
// A reader whose stack moved (grew) since readFrames began arms the move
// timer (internal/sched, move.go) before it waits: a wait that outlasts it
// starts a fresh goroutine to wait and read in its place and exits, so an
// idle connection's reader ends with a minimal stack (see
// TestIdleMemoryPerConn). A reader that waits in the middle of a frame
// arms the frame timer (Options.FrameTimeout). Both are purposes of the
// read deadline (deadline.go).
func (c *Conn) readFrames() error {
	var mark byte
	base := sched.StackAddr(&mark)
	for {
		if stop, err := c.beforeRead(); stop {
			return err
		}
		var err error
		if c.nb != nil && !framehook.ReaderHoldsSlab(c.fr) {
			c.flushReplies()
			// Nothing buffered and no read yet since the last wait: wait
			// for readability here, holding no slab, with as few frames
			// on the stack as possible (a fresh reader parks within its
			// 2 KiB stack).
			if err = c.wait(sched.StackAddr(&mark) != base); err == errMoved {
				return c.moveReader()
			}
		}
		var f frame.Frame
		if err == nil {
			f, err = c.fr.Next()
		}
		for err == errWouldBlock { // read everything: wait, holding no slab
			if err = c.wait(sched.StackAddr(&mark) != base); err == nil {
				f, err = c.fr.Next()
			} else if err == errMoved {
				return c.moveReader()
			}
		}
		if err != nil {
			return c.afterReadErr(err)
		}
		c.frameDone()
		if err := c.dispatch(f); err != nil {
			if err == ErrDisconnected || err == ErrBatchUnread {
				return err
			}
			return c.afterReadErr(err)
		}
	}
}

// wait waits for readability after arming the move timer (moved: the
// stack grew since readFrames began) and, in the middle of a frame, the
// frame timer. It returns nil when the socket is readable, errMoved when
// the move timer passed, stopCause when reading must stop, else the error.
//
//go:noinline
func (c *Conn) wait(moved bool) error {
	// time.Now is read only to arm a timer (it is not cheap: see
	// deadline.go).
	if moved && c.rd.moveAt == 0 && c.armMove(monoNow()) {
		return c.stopErr()
	}
	if c.rd.frameAt == 0 && c.opts.FrameTimeout > 0 && framehook.ReaderHoldsSlab(c.fr) && c.armFrame(monoNow()) {
		return c.stopErr()
	}
	for {
		err := c.waitReadable()
		if err == nil {
			return nil
		}
		switch c.fired(err, monoNow()) {
		case firedMove:
			return errMoved
		case firedStale:
			continue
		}
		return err
	}
}

// stopErr is wait's result when reading must stop: the stop cause, or,
// for Drain, a deadline error that afterReadErr turns into it.
func (c *Conn) stopErr() error {
	if err := c.stopCause(); err != nil {
		return err
	}
	return os.ErrDeadlineExceeded
}

// beforeRead waits while too much inbound work is unfinished and refreshes
// the idle deadline. stop reports that reading must end, with err.
//
//go:noinline
func (c *Conn) beforeRead() (stop bool, err error) {
	if int(c.unfinished.Load()) >= c.opts.MaxUnfinished {
		c.flushReplies()
		if !c.waitUnfinished() {
			return true, c.stopCause()
		}
	}
	if c.opts.IdleTimeout > 0 {
		switch {
		case c.rd.idleAt == 0:
			c.armIdle(monoNow())
		case c.nb == nil:
			c.refreshIdle(monoNow())
		}
	}
	if c.stopped.Load() {
		return true, c.stopCause()
	}
	return false, nil
}

//go:noinline
func (c *Conn) afterReadErr(err error) error {
	if c.stopped.Load() {
		return c.stopCause()
	}
	return c.readErr(err)
}

// dispatch hands the read batch that begins with f to the reactor
// (batch.go); its result is dispatchBatch's.
//
// dispatching stays set from the first message of a read batch until
// flushReplies, before the reader next reads, waits or exits: two atomic
// stores a batch rather than a message.
//
//go:noinline
func (c *Conn) dispatch(f frame.Frame) error {
	if !c.dispatching.Load() {
		c.dispatching.Store(true)
	}
	return c.dispatchBatch(f)
}

// stopCause is the reader's result when stop was closed: nil for Drain,
// else the recorded cause.
func (c *Conn) stopCause() error {
	if c.closing.Load() {
		return c.causeErr()
	}
	return nil
}

// waitUnfinished blocks while MaxUnfinished messages are unfinished. It
// returns false if the connection stopped meanwhile.
func (c *Conn) waitUnfinished() bool {
	limit := int32(c.opts.MaxUnfinished)
	if c.readWake == nil {
		c.readWake = make(chan struct{}, 1)
	}
	for {
		c.readBlocked.Store(true)
		if c.stopped.Load() {
			c.readBlocked.Store(false)
			return false
		}
		if c.unfinished.Load() < limit {
			c.readBlocked.Store(false)
			return true
		}
		<-c.readWake
	}
}

func (c *Conn) readErr(err error) error {
	if derr, ok := c.deadlineErr(err, monoNow()); ok {
		return derr
	}
	var fe *frame.Error
	switch {
	case errors.As(err, &fe):
		return &ProtocolError{Err: err}
	case err == io.EOF:
		return io.EOF
	}
	return err
}

// BeginWork counts one unit of inbound work in progress (for example a
// message handed to another goroutine) against Options.MaxUnfinished;
// call EndWork when it is done.
func (c *Conn) BeginWork() { c.unfinished.Add(1) }

// EndWork ends a BeginWork (Message.Release calls it too). When the count
// drops below Options.MaxUnfinished a reader waiting for it resumes.
func (c *Conn) EndWork() {
	if int(c.unfinished.Add(-1)) < c.opts.MaxUnfinished && c.readBlocked.Load() && c.readBlocked.CompareAndSwap(true, false) {
		select {
		case c.readWake <- struct{}{}:
		default:
		}
	}
}
