package socket

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/sched"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/spillway"
)

// Action is what a Reactor tells the connection after a message.
type Action uint8

const (
	// Continue keeps reading.
	Continue Action = iota
	// Disconnect closes the connection (with ErrDisconnected as the
	// cause) once everything queued so far, the replies made in OnMessage
	// included, has been written (within Options.WriteTimeout, if set).
	// Messages that cannot be written are reported to the failure
	// callbacks, as at Close.
	Disconnect
)

// ErrDisconnected is the cause recorded when a Reactor returns Disconnect.
var ErrDisconnected = errors.New("socket: reactor disconnected")

// Reactor handles a connection's inbound messages. OnMessage runs on the
// connection's reader goroutine, one message at a time, in arrival order;
// while it runs nothing else is read. It must not call Conn.Close or
// Conn.Drain (they wait for the reader): return Disconnect instead.
type Reactor interface {
	OnMessage(c *Conn, m Message) Action
}

// CloseReactor is optionally implemented by a Reactor: OnClose is called
// once, when the connection is closed, with the cause (see Conn.Err).
type CloseReactor interface {
	OnClose(c *Conn, err error)
}

// ReactorFunc adapts a function to Reactor.
type ReactorFunc func(c *Conn, m Message) Action

// OnMessage calls f.
func (f ReactorFunc) OnMessage(c *Conn, m Message) Action { return f(c, m) }

// Message is one inbound frame: Header (only Length for framings other
// than frame.Default) and Payload.
//
// Payload is a view into a pooled read slab, valid until OnMessage
// returns. To keep it longer call Retain before returning and Release when
// done; a retained message counts against Options.MaxUnfinished. Under the
// psdebug build tag a Payload used after its lifetime reads as poison and
// Retain after it panics.
type Message struct {
	frame.Frame
	conn *Conn
}

// Retain keeps Payload valid until Release. Call it inside OnMessage.
func (m Message) Retain() {
	m.Frame.Retain()
	m.conn.unfinished.Add(1)
}

// Release ends a Retain; Payload must not be used afterwards.
func (m Message) Release() {
	m.Frame.Release()
	m.conn.EndWork()
}

// Conn is a message-oriented connection: one reader goroutine calls the
// Reactor for each inbound frame; Senders queue outbound frames, which a
// writer goroutine (started when there is something to write, gone when
// there is not) writes in batches. Its methods are safe for concurrent use.
type Conn struct {
	nc      net.Conn
	opts    *Options // shared, defaults filled; never modified
	reactor Reactor
	srv     *server // nil for a client connection
	fr      *frame.Reader

	// The outbound queue's lifecycle (queue.go).
	q       atomic.Pointer[queue] // made by NewSender; nil again once every Sender closed and it is written; closedQueue once finished
	qmu     sync.Mutex            // serializes making and dropping q
	senders atomic.Int32          // open Senders
	sending atomic.Int32          // sends between their stopped check and their result (sendDone)

	// The writer side (wtoken.go, writer.go).
	wt       writeToken           // the right to the writer side
	queued   atomic.Int64         // messages queued and not yet taken by a token holder (see writeToken)
	w        *writerState         // taken from writerPool by a token holder, put back when it lets go idle; touched only by the holder of wt
	out      frame.WriterCounters // the frame.Writers' counts, whichever wrote
	writerFn func()               // c.writeLoop, bound once: go c.writerFn() allocates nothing

	// The reader (reader.go, deadline.go, reply.go); reader goroutine only
	// unless noted.
	resumeFn    func()       // c.readResume, bound once
	rd          readDeadline // the read deadline's owner
	reply       *Sender      // the reader goroutine's own lane, made on first Reply
	nb          *nbReader    // non-blocking source of fr on TCP and Unix sockets
	peekFn      func(uintptr) bool
	peekErr     error
	rbuf        *pool.Buffer  // replies encoded by Reply in the current read batch (after the reader exits, whoever finishes)
	rframes     int32         // frames in rbuf; QueueMessages bounds it
	frameExtra  int32         // the most bytes the framing adds to a payload
	unfinished  atomic.Int32  // retained messages and BeginWork units (any goroutine)
	readBlocked atomic.Bool   // the reader waits on readWake (waitUnfinished, a handshake slot)
	dispatching atomic.Bool   // the reader is dispatching a read batch (see dispatch)
	readWake    chan struct{} // made by the reader before it first blocks
	peekBuf     [1]byte
	peekParked  bool // peekCB saw EAGAIN: its next call follows a wake-up
	readerFin   bool // the reader ran finish itself (read after readerWG.Wait)

	// The lifecycle (conn.go).
	closing  atomic.Bool // abort ran
	draining atomic.Bool
	stopped  atomic.Bool // reading must stop (abort or Drain)
	readerWG sync.WaitGroup
	done     chan struct{}
	cause    atomic.Pointer[errBox]
	failed   atomic.Uint64
}

type errBox struct{ err error }

// NewConn runs an established net.Conn (a *tls.Conn is handshaken first,
// within Options.HandshakeTimeout) as a Conn that hands inbound messages to
// r. Servers and clients normally use Serve and Dial instead.
func NewConn(nc net.Conn, r Reactor, opts Options) (*Conn, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.ensureDefaults()
	applySockopts(nc, &opts)
	c := newConn(nc, &opts, nil)
	c.reactor = r
	c.start()
	return c, nil
}

func newConn(nc net.Conn, o *Options, srv *server) *Conn {
	c := &Conn{nc: nc, opts: o, srv: srv}
	var src io.Reader = nc
	if c.nb = newNBReader(nc, c); c.nb != nil {
		src = c.nb
		c.peekFn = c.peekCB
	}
	c.fr = frame.NewReader(src, frame.ReaderOptions{Framing: o.Framing, MaxFrameSize: o.MaxFrameSize, SlabSize: o.ReadSlabSize, Pool: o.SlabPool})
	c.frameExtra = int32(max(o.Framing.Overhead(), 0) + len(o.Framing.Suffix()))
	c.writerFn = c.writeLoop
	c.resumeFn = c.readResume
	c.done = make(chan struct{})
	return c
}

func (c *Conn) start() {
	c.readerWG.Add(1)
	go c.readLoop()
}

// queue is a connection's outbound spillway queue.
type queue struct {
	root *spillway.Sender[item]
	rx   *spillway.Receiver[item]
}

// closedQueue stands in for the queue of a finished connection: its
// receiver is closed, so every send on it fails.
var closedQueue = func() *queue {
	root, rx := spillway.New(spillway.Options[item]{Lanes: 1, LaneCapacity: 1})
	rx.Close(nil)
	return &queue{root: root, rx: rx}
}()

// queue returns the outbound queue, making it on first use: a connection
// that never sends holds none.
func (c *Conn) queue() *queue {
	if q := c.q.Load(); q != nil {
		return q
	}
	o := c.opts
	root, rx := spillway.New(spillway.Options[item]{
		Lanes:        o.Lanes,
		LaneCapacity: o.QueueMessages,
		MaxWeight:    max(o.QueueBytes, 0),
		Weight:       itemWeight,
		FailWhenFull: o.FailWhenFull,
	})
	if c.q.CompareAndSwap(nil, &queue{root: root, rx: rx}) {
		return c.q.Load()
	}
	rx.Close(nil) // lost the race (or the connection finished)
	root.Close()
	return c.q.Load()
}

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// NetConn returns the underlying connection, for socket options and
// inspection. Do not read from or write to it.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Closed returns a channel that is closed once the connection is closed and
// its goroutines have stopped.
func (c *Conn) Closed() <-chan struct{} { return c.done }

// Err returns nil while the connection is open; afterwards an error that
// matches ErrClosed and the cause: io.EOF (the peer closed), a
// *ProtocolError, ErrIdleTimeout, ErrFrameTimeout, ErrWriteTimeout,
// ErrDisconnected, a network error, or nothing more for Close and Drain.
func (c *Conn) Err() error {
	select {
	case <-c.done:
	default:
		return nil
	}
	return wrapClosed(c.causeErr())
}

func (c *Conn) causeErr() error {
	if b := c.cause.Load(); b != nil {
		return b.err
	}
	return nil
}

// Close closes the connection at once: reading stops, queued messages that
// were not written are reported failed (ErrClosed) to their senders, and
// Close returns once the connection's goroutines have stopped. It is
// idempotent. Do not call it from OnMessage; return Disconnect instead.
func (c *Conn) Close() error {
	c.abort(ErrClosed)
	<-c.done
	return nil
}

// Drain stops reading, writes everything already queued, then closes the
// connection and waits for its goroutines. Sends that start after Drain
// fail with ErrClosed. If ctx ends first the connection is closed at once
// and the unwritten messages are reported failed; Drain then returns
// ctx's error. Do not call it from OnMessage.
func (c *Conn) Drain(ctx context.Context) error {
	if c.closing.Load() || !c.draining.CompareAndSwap(false, true) {
		<-c.done
		return nil
	}
	c.closeStop()
	c.wakeReader()
	stopAF := context.AfterFunc(ctx, func() { c.abort(context.Cause(ctx)) })
	defer stopAF()
	c.readerWG.Wait()
	if c.readerFin {
		<-c.done
		return c.drainResult(ctx)
	}
	c.wt.acquire()
	wake := c.wt.waiter()
	if d, ok := ctx.Deadline(); ok && c.opts.WriteTimeout == 0 {
		_ = c.nc.SetWriteDeadline(d)
	}
	c.encodeReplies() // the replies of the reader's last batch go first
	// Sends that began before stopped was set may still be queueing
	// (perhaps waiting for room, which drainQueue makes): drain until none
	// is in flight, so that every send that returned nil is written. Each
	// send that finishes signals wake (sendDone).
	for {
		c.drainQueue()
		if c.sending.Load() == 0 && c.queued.Load() <= 0 {
			break
		}
		if c.closing.Load() {
			break // aborted (ctx ended): finish fails what is left
		}
		select {
		case <-wake:
		case <-ctx.Done():
		}
	}
	c.abort(ErrClosed)
	c.finish(true)
	return c.drainResult(ctx)
}

func (c *Conn) drainResult(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.causeErr(); err != nil && err != ErrClosed {
		return wrapClosed(err)
	}
	return nil
}

// abort records cause (the first cause wins), stops reading and closes the
// socket, which unblocks the reader and the writer. It does not wait.
func (c *Conn) abort(cause error) {
	if !c.closing.CompareAndSwap(false, true) {
		return
	}
	c.cause.Store(&errBox{cause})
	c.closeStop()
	_ = c.nc.Close()
}

func (c *Conn) closeStop() {
	if c.stopped.CompareAndSwap(false, true) {
		// Wake a reader waiting in waitUnfinished or for a handshake
		// slot: it set readBlocked before checking stopped, we set
		// stopped before checking it.
		if c.readBlocked.Load() {
			select {
			case c.readWake <- struct{}{}:
			default:
			}
		}
	}
}

// finish tears the connection down once the reader has exited: it fails
// what is still queued, waits for the writer, and releases the buffers.
func (c *Conn) finish(holdsWriter bool) {
	if q := c.q.Swap(closedQueue); q != nil && q != closedQueue {
		q.rx.Close(c.handback)
		q.root.Close()
	}
	if !holdsWriter {
		c.wt.acquire()
	}
	if it, ok := c.takeReplies(); ok {
		c.failItem(&it, wrapClosed(c.causeErr()))
	}
	if c.w != nil {
		c.w.release(c)
	}
	_ = c.fr.Close()
	err := wrapClosed(c.causeErr())
	if cr, ok := c.reactor.(CloseReactor); ok {
		cr.OnClose(c, err)
	}
	if l := c.opts.Logger; l != nil {
		l.Debug("socket: connection closed", "remote", c.nc.RemoteAddr(), "cause", c.causeErr())
	}
	close(c.done)
	if c.srv != nil {
		c.srv.connDone(c)
	}
}

func (c *Conn) handback(it item) {
	c.queued.Add(-1)
	c.failItem(&it, wrapClosed(c.causeErr()))
}

// encodeReplies hands the reader's encoded replies to the frame.Writer;
// the caller holds the writer side and flushes.
func (c *Conn) encodeReplies() {
	if it, ok := c.takeReplies(); ok {
		c.encode(c.writer(), &it)
	}
}

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

// handshake runs the TLS handshake of a *tls.Conn within HandshakeTimeout,
// holding a server's handshake slot. A server connection takes its slot
// only once the peer's first byte arrived (within FirstByteTimeout): a
// connection that never says hello holds no slot (see waitFirstByte).
func (c *Conn) handshake() error {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return nil
	}
	if c.srv != nil {
		if err := c.waitFirstByte(tc.NetConn()); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.HandshakeTimeout)
	defer cancel()
	if c.srv != nil {
		if err := c.takeHandshakeSlot(ctx); err != nil {
			return err
		}
		defer func() { <-c.srv.hs }()
	}
	if c.stopped.Load() { // a Drain's wake-up may have come before the handshake's deadline
		return ErrClosed
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		if ctx.Err() != nil {
			return ErrHandshakeTimeout
		}
		return err
	}
	return nil
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
		if c.nb != nil && !c.fr.HoldsSlab() {
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
		if !c.dispatch(f) {
			return ErrDisconnected
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
	now := time.Now().UnixNano()
	if moved && c.rd.moveAt == 0 && c.armMove(now) {
		return c.stopErr()
	}
	if c.fr.HoldsSlab() && c.armFrame(now) {
		return c.stopErr()
	}
	for {
		err := c.waitReadable()
		if err == nil {
			return nil
		}
		switch c.fired(err, time.Now().UnixNano()) {
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
		c.refreshIdle(time.Now().UnixNano())
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

// dispatch hands f to the reactor; false means Disconnect.
//
// dispatching stays set from the first message of a read batch until
// flushReplies, before the reader next reads, waits or exits: two atomic
// stores a batch rather than a message.
//
//go:noinline
func (c *Conn) dispatch(f frame.Frame) bool {
	if !c.dispatching.Load() {
		c.dispatching.Store(true)
	}
	return c.reactor.OnMessage(c, Message{Frame: f, conn: c}) != Disconnect
}

// stopCause is the reader's result when stop was closed: nil for Drain,
// else the recorded cause.
func (c *Conn) stopCause() error {
	if c.closing.Load() {
		return c.causeErr()
	}
	return nil
}

// takeHandshakeSlot waits for one of the server's MaxHandshakes slots
// until ctx ends (ErrHandshakeTimeout) or the connection stops (ErrClosed,
// woken by closeStop through readWake, as in waitUnfinished).
func (c *Conn) takeHandshakeSlot(ctx context.Context) error {
	if c.readWake == nil {
		c.readWake = make(chan struct{}, 1)
	}
	defer c.readBlocked.Store(false)
	for {
		c.readBlocked.Store(true)
		if c.stopped.Load() {
			return ErrClosed
		}
		select {
		case c.srv.hs <- struct{}{}:
			return nil
		case <-ctx.Done():
			return ErrHandshakeTimeout
		case <-c.readWake: // stopped, or a spurious EndWork: look again
		}
	}
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
	if derr, ok := c.deadlineErr(err); ok {
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

// Stats are a connection's counters.
type Stats struct {
	FramesIn      uint64 // frames handed to the Reactor
	BytesIn       uint64 // bytes read from the socket
	Reads         uint64 // read calls
	FramesOut     uint64 // frames written
	BytesOut      uint64 // bytes written, framing included
	WriteSyscalls uint64 // write or writev calls
	Failed        uint64 // queued messages reported failed
	QueueDepth    int64  // queue items not yet taken by the writer (a Sender's batch of small messages, or a batch of replies, is one)
	Unfinished    int64  // retained messages (each holds its read slab) plus BeginWork units
}

// FramesPerWrite returns FramesOut/WriteSyscalls (0 before any write).
func (s Stats) FramesPerWrite() float64 {
	if s.WriteSyscalls == 0 {
		return 0
	}
	return float64(s.FramesOut) / float64(s.WriteSyscalls)
}

// Stats returns the connection's counters, read with atomic loads (no
// lock), so it may be called as often as you like from any goroutine.
func (c *Conn) Stats() Stats {
	rs := c.fr.Stats()
	s := Stats{FramesIn: rs.Frames, BytesIn: rs.Bytes, Reads: rs.Reads,
		Failed: c.failed.Load(), QueueDepth: max(c.queued.Load(), 0), Unfinished: int64(c.unfinished.Load())}
	ws := c.out.Stats()
	s.FramesOut, s.BytesOut, s.WriteSyscalls = ws.Frames, ws.Bytes, ws.Syscalls
	return s
}
