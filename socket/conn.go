package socket

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/framehook"
	"github.com/protosocket-go/protosocket/pool"
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
// than frame.Default) and Payload. With Options.Oversized set to
// OversizedSkip, a frame over MaxFrameSize comes with Oversized set, its
// announced length in Header.Length and an empty Payload.
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
	qmu     sync.Mutex            // serializes making and dropping q; guards done
	senders atomic.Int32          // open Senders
	sending atomic.Int32          // sends between their stopped check and their result (sendDone)

	// The writer side (wtoken.go, writer.go).
	wt       writeToken               // the right to the writer side
	queued   atomic.Int64             // items being queued or queued and not yet taken by a token holder; never below zero
	w        *writerState             // taken from writerPool by a token holder, put back when it lets go idle; touched only by the holder of wt
	out      framehook.WriterCounters // the frame.Writers' counts, whichever wrote
	writerFn func()                   // c.writeLoop, bound once: go c.writerFn() allocates nothing

	// The reader (readloop.go, reader.go, deadline.go, reply.go); reader goroutine only
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
	appending   bool          // a ReplyAppend's append function runs (reader goroutine only): replies from inside it are refused
	readWake    chan struct{} // made by the reader before it first blocks
	peekBuf     [1]byte
	peekParked  bool  // peekCB saw EAGAIN: its next call follows a wake-up
	readerFin   bool  // the reader ran finish itself (read after readerWG.Wait)
	idleMisses  uint8 // idle checks in a row that found no frame (deadline.go)

	// The lifecycle (conn.go).
	closing  atomic.Bool // abort ran
	draining atomic.Bool
	stopped  atomic.Bool // reading must stop (abort or Drain)
	readerWG sync.WaitGroup
	done     chan struct{} // made on demand under qmu (done.go)
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
	c := newConn(nc, sharedOptions(&opts), nil)
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
	c.fr = frame.NewReader(src, frame.ReaderOptions{Framing: o.Framing, MaxFrameSize: o.MaxFrameSize, SlabSize: o.ReadSlabSize, Pool: o.SlabPool,
		SkipOversized: o.Oversized == OversizedSkip, MaxSkipSize: o.MaxSkipSize})
	c.frameExtra = int32(max(o.Framing.Overhead(), 0) + len(o.Framing.Suffix()))
	c.writerFn = c.writeLoop
	c.resumeFn = c.readResume
	return c
}

func (c *Conn) start() {
	c.readerWG.Add(1)
	go c.readLoop()
}

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.nc.LocalAddr() }

// RemoteAddr returns the peer's network address.
func (c *Conn) RemoteAddr() net.Addr { return c.nc.RemoteAddr() }

// NetConn returns the underlying connection, for socket options and
// inspection. Do not read from or write to it.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Err returns nil while the connection is open; afterwards an error that
// matches ErrClosed and the cause: io.EOF (the peer closed), a
// *ProtocolError, ErrIdleTimeout, ErrFrameTimeout, ErrWriteTimeout,
// ErrDisconnected, a network error, or nothing more for Close and Drain.
func (c *Conn) Err() error {
	if !c.isFinished() {
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
	<-c.Closed()
	return nil
}

// Drain stops reading, writes everything already queued, then closes the
// connection and waits for its goroutines. Sends that start after Drain
// fail with ErrClosed. If ctx ends first the connection is closed at once
// and the unwritten messages are reported failed; Drain then returns
// ctx's error. Do not call it from OnMessage.
func (c *Conn) Drain(ctx context.Context) error {
	if c.closing.Load() || !c.draining.CompareAndSwap(false, true) {
		<-c.Closed()
		return nil
	}
	c.closeStop()
	c.wakeReader()
	stopAF := context.AfterFunc(ctx, func() { c.abort(context.Cause(ctx)) })
	defer stopAF()
	c.readerWG.Wait()
	if c.readerFin {
		<-c.Closed()
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
		if c.sending.Load() == 0 && c.queued.Load() == 0 {
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
		logClosed(l, c.nc, c.srv != nil, c.causeErr())
	}
	c.signalDone()
	if c.srv != nil {
		c.srv.connDone(c)
	}
}

// Stats are a connection's counters.
type Stats struct {
	FramesIn      uint64 // frames handed to the Reactor
	BytesIn       uint64 // bytes read from the socket
	Reads         uint64 // read calls (after a short read the next one reports the socket empty without a system call)
	FramesOut     uint64 // frames written
	BytesOut      uint64 // bytes written, framing included
	WriteSyscalls uint64 // write or writev calls
	Failed        uint64 // queued messages reported failed
	QueueDepth    int64  // queue items being queued or not yet taken by the writer (a Sender's batch of small messages, or a batch of replies, is one)
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
		Failed: c.failed.Load(), QueueDepth: c.queued.Load(), Unfinished: int64(c.unfinished.Load())}
	s.FramesOut, s.BytesOut, s.WriteSyscalls = c.out.Frames.Load(), c.out.Bytes.Load(), c.out.Syscalls.Load()
	return s
}
