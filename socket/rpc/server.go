package rpc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/netfd"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

type entry struct {
	h      Handler
	sh     StreamHandler
	mode   Mode
	stream bool
}

// Server serves RPC methods on connections. Register handlers with Handle
// and HandleStream, then Serve a listener (or ServeConn connections).
// Drain stops it gracefully, Close at once.
type Server struct {
	opts ServerOptions

	hmu      sync.Mutex
	handlers atomic.Pointer[map[uint32]entry]

	startOnce sync.Once
	work      chan *serverCall
	workersWG sync.WaitGroup
	streamsWG sync.WaitGroup
	// handoffWG counts the goroutines handing a call to a full worker
	// queue (see dispatch); Close waits for them before closing work.
	handoffWG sync.WaitGroup

	mu         sync.Mutex
	conns      map[*serverConn]struct{}
	serveWG    sync.WaitGroup
	stop       context.CancelFunc // cancels every Serve
	stopCtx    context.Context
	closed     bool
	workClosed bool
	draining   atomic.Bool
	listeners  []*drainListener

	stats    serverCounters
	reqBytes atomic.Int64 // request-copy bytes held by all connections (budget.go)
}

type serverCounters struct {
	calls, overloaded, duplicates, ignored, notFound, unavailable, tooLarge, rejected atomic.Uint64
	overBudget, writeTimeouts                                                         atomic.Uint64
}

// ServerStats are a server's counters.
type ServerStats struct {
	Calls       uint64 // calls and streams accepted
	Overloaded  uint64 // calls refused at MaxInFlight
	Duplicates  uint64 // requests refused because their id was in flight
	Ignored     uint64 // frames for unknown ids or of unknown kinds
	NotFound    uint64 // calls to unregistered methods
	Unavailable uint64 // calls refused while draining
	TooLarge    uint64 // requests refused (fire-and-forget: dropped) over MaxRequestSize or Socket.MaxFrameSize, stream messages over Socket.MaxFrameSize
	Rejected    uint64 // connections ServerOptions.OnConnect rejected
	// OverBudget counts calls refused (CodeOverloaded) because their
	// request copy would pass MaxConnRequestBytes or
	// MaxServerRequestBytes; they are also counted in Overloaded.
	OverBudget uint64
	// WriteTimeouts counts connections closed because a write to them
	// did not complete within the write timeout (ReplyTimeout): peers
	// that stopped reading their replies.
	WriteTimeouts uint64
}

// NewServer returns a server with no handlers.
func NewServer(opts ServerOptions) (*Server, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts.ensureDefaults()
	s := &Server{opts: opts, conns: make(map[*serverConn]struct{})}
	m := map[uint32]entry{}
	s.handlers.Store(&m)
	s.stopCtx, s.stop = context.WithCancel(context.Background())
	return s, nil
}

// Handle registers h for method; mode says where it runs. A later
// registration for the same method replaces it.
func (s *Server) Handle(method uint32, h Handler, mode Mode) {
	s.register(method, entry{h: h, mode: mode})
}

// HandleStream registers a streaming handler for method. Each stream runs
// on its own goroutine and counts against MaxInFlight.
func (s *Server) HandleStream(method uint32, h StreamHandler) {
	s.register(method, entry{sh: h, stream: true})
}

func (s *Server) register(method uint32, e entry) {
	s.hmu.Lock()
	defer s.hmu.Unlock()
	old := *s.handlers.Load()
	m := make(map[uint32]entry, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[method] = e
	s.handlers.Store(&m)
}

// Stats returns the server's counters.
func (s *Server) Stats() ServerStats {
	c := &s.stats
	return ServerStats{Calls: c.calls.Load(), Overloaded: c.overloaded.Load(), Duplicates: c.duplicates.Load(),
		Ignored: c.ignored.Load(), NotFound: c.notFound.Load(), Unavailable: c.unavailable.Load(), TooLarge: c.tooLarge.Load(),
		OverBudget: c.overBudget.Load(), WriteTimeouts: c.writeTimeouts.Load(), Rejected: c.rejected.Load()}
}

func (s *Server) start() {
	s.startOnce.Do(func() {
		s.work = make(chan *serverCall, s.opts.Workers)
		for i := range s.opts.Workers {
			s.workersWG.Add(1)
			go s.worker(i)
		}
	})
}

// Serve accepts connections on ln until Close or Drain (or ctx ends) and
// serves them (a *socket.Listener gets one accept loop per socket). It
// returns nil after a Close, Drain or ctx end. Drain stops the accepting
// at once.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ln.Close()
		return ErrClosed
	}
	s.start()
	s.serveWG.Add(1)
	lns := []net.Listener{ln}
	if l, ok := ln.(*socket.Listener); ok {
		lns = l.Listeners()
	}
	wrapped := make([]*drainListener, len(lns))
	for i, l := range lns {
		wrapped[i] = &drainListener{Listener: l, srv: s, parked: make(chan struct{}), done: make(chan struct{})}
	}
	s.listeners = append(s.listeners, wrapped...)
	draining := s.draining.Load()
	s.mu.Unlock()
	defer s.serveWG.Done()
	if draining {
		for _, l := range wrapped {
			l.stopAccepting()
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopAF := context.AfterFunc(s.stopCtx, cancel)
	defer stopAF()
	group := make([]net.Listener, len(wrapped))
	for i, l := range wrapped {
		group[i] = l
	}
	err := socket.Serve(ctx, socket.ListenerOf(group...), s.newReactor, s.opts.Socket)
	if errors.Is(err, net.ErrClosed) && (ctx.Err() != nil || s.stopCtx.Err() != nil) {
		err = nil
	}
	return err
}

// drainListener lets Drain stop accepting (new dials are refused, so
// clients go elsewhere at once) while socket.Serve keeps serving the
// connections it has: after stopAccepting, Accept waits for the end of
// Serve instead of reporting the closed socket, which would make
// socket.Serve close every connection.
//
// Closing a listening socket resets the connections waiting in its accept
// queue: their clients dialed successfully, may have sent calls, and would
// see "connection reset" for calls the server never read. So where the
// socket can be checked (netfd.Readable) and woken (SetDeadline),
// stopAccepting only wakes the accept loop, and the loop itself accepts
// what is queued, then closes the socket. Those connections are served
// and drained like the others; only a dial that completes between the
// last check and the close is reset.
type drainListener struct {
	net.Listener
	srv        *Server
	once       sync.Once
	stopping   atomic.Bool
	mu         sync.Mutex    // orders stopAccepting's wake-up before the loop's own deadline changes
	shut       bool          // the accept loop closed the socket (guarded by mu)
	taken      int           // connections takeQueued accepted (guarded by mu)
	parked     chan struct{} // closed when Accept waits after stopAccepting
	parkedOnce sync.Once
	done       chan struct{} // closed by Close (Serve ending)
	doneOnce   sync.Once
}

// deadliner is a listener whose blocked Accept a deadline wakes
// (*net.TCPListener, *net.UnixListener).
type deadliner interface{ SetDeadline(time.Time) error }

// queued reports whether a connection waits in ln's accept queue; ok is
// false when that cannot be checked on ln.
func queued(ln net.Listener) (waiting, ok bool) {
	rc := netfd.RawConn(ln)
	if rc == nil {
		return false, false
	}
	var err error
	if cerr := rc.Control(func(fd uintptr) { waiting, err = netfd.Readable(fd) }); cerr != nil || err != nil {
		return false, false
	}
	return waiting, true
}

func (l *drainListener) stopAccepting() {
	l.once.Do(func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.stopping.Store(true)
		if d, ok := l.Listener.(deadliner); ok {
			if _, ok := queued(l.Listener); ok && d.SetDeadline(time.Now()) == nil {
				return // the accept loop takes the queue, then closes
			}
		}
		l.shut = true
		_ = l.Listener.Close()
	})
}

// Accept implements net.Listener.
func (l *drainListener) Accept() (net.Conn, error) {
	if !l.stopping.Load() {
		nc, err := l.Listener.Accept()
		if err == nil || !l.stopping.Load() {
			return nc, err
		}
	}
	if nc, err, ok := l.takeQueued(); ok {
		return nc, err
	}
	l.parkedOnce.Do(func() { close(l.parked) })
	select {
	case <-l.done:
	case <-l.srv.stopCtx.Done():
	}
	return nil, fmt.Errorf("rpc: draining: %w", net.ErrClosed)
}

// takeQueued runs on the accept loop after stopAccepting: it returns a
// connection still waiting in the accept queue (or the error accepting
// it), or closes the socket and returns ok false when none is left.
func (l *drainListener) takeQueued() (nc net.Conn, err error, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.shut {
		return nil, nil, false
	}
	d, _ := l.Listener.(deadliner)
	for d != nil && l.taken < l.queueMax() {
		if waiting, _ := queued(l.Listener); !waiting {
			break
		}
		// A queued connection is accepted at once; the deadline only
		// bounds the wait should it have left the queue meanwhile.
		if d.SetDeadline(time.Now().Add(queuedAcceptBound)) != nil {
			break
		}
		nc, err = l.Listener.Accept()
		if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
			l.taken++
			return nc, err, true
		}
	}
	l.shut = true
	_ = l.Listener.Close()
	return nil, nil, false
}

// queueMax bounds what takeQueued accepts to what the accept queue can
// hold (the listen backlog; Linux's default somaxconn when it is the
// system's): dials that keep arriving after the stop are not taken.
func (l *drainListener) queueMax() int {
	if b := l.srv.opts.Socket.Backlog; b > 0 {
		return b
	}
	return 4096
}

// queuedAcceptBound bounds takeQueued's Accept of a connection the accept
// queue held a moment before (it returns at once unless the connection
// left the queue).
const queuedAcceptBound = time.Second

// Close implements net.Listener (socket.Serve calls it when it stops).
func (l *drainListener) Close() error {
	l.doneOnce.Do(func() { close(l.done) })
	l.stopping.Store(false)
	return l.Listener.Close()
}

// ServeConn serves one established connection (for example one end of a
// net.Pipe) until it closes or the server closes.
func (s *Server) ServeConn(nc net.Conn) (*socket.Conn, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = nc.Close()
		return nil, ErrClosed
	}
	s.start()
	s.mu.Unlock()
	sc := s.newServerConn()
	if sc == nil {
		_ = nc.Close()
		return nil, ErrClosed
	}
	conn, err := socket.NewConn(nc, sc, s.opts.Socket)
	if err != nil {
		s.removeConn(sc)
		close(sc.ready) // a Close or Drain that took sc in its snapshot meanwhile must not wait for it (sc.conn stays nil)
		return nil, err
	}
	sc.setConn(conn)
	return conn, nil
}

func (s *Server) newReactor(c *socket.Conn) socket.Reactor {
	sc := s.newServerConn()
	if sc == nil {
		return nil
	}
	sc.setConn(c)
	return sc
}

func (s *Server) newServerConn() *serverConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	sc := &serverConn{srv: s, ready: make(chan struct{}), idle: make(chan struct{}, 1),
		drainCh: make(chan struct{}), acked: make(chan struct{}), idSeed: rand.Uint32()}
	sc.sbud.limit = s.opts.MaxConnStreamBytes
	s.conns[sc] = struct{}{}
	return sc
}

func (s *Server) removeConn(sc *serverConn) {
	s.mu.Lock()
	delete(s.conns, sc)
	s.mu.Unlock()
}

func (s *Server) snapshot() []*serverConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*serverConn, 0, len(s.conns))
	for sc := range s.conns {
		out = append(out, sc)
	}
	return out
}

// Drain stops the server gracefully, losing no call (docs/guide.md,
// "Drain"): it stops accepting connections (new dials are refused), and
// on every connection it sends GoAway then a Ping. Until the client's Pong
// comes back every request is served as usual: it may have been sent
// before the client saw the GoAway. After the Pong, requests (which raced
// the GoAway) are refused with CodeUnavailable, not processed, and open
// streams end with CodeUnavailable (their handlers saw
// ServerStream.Draining first). A client of this package stops sending
// at the GoAway and closes the connection once its last reply has
// arrived; the server waits for that close (a client that does not close
// is closed after ServerOptions.DrainLinger of quiet), writes what is
// queued and closes. When ctx ends first the rest is closed at once and
// Drain returns ctx's error.
func (s *Server) Drain(ctx context.Context) error {
	s.mu.Lock()
	s.draining.Store(true)
	lns := s.listeners
	s.mu.Unlock()
	for _, l := range lns {
		l.stopAccepting()
	}
	// A connection accepted just before the stop is still being set up
	// by its accept loop: wait until every loop is parked, so that it is
	// registered (and drained below, not cut short by Close).
	for _, l := range lns {
		select {
		case <-l.parked:
		case <-l.done:
		case <-ctx.Done():
		}
	}
	var err error
	var mu sync.Mutex
	var wg sync.WaitGroup
	t := time.NewTicker(time.Millisecond)
	defer t.Stop()
	for {
		s.mu.Lock()
		for sc := range s.conns {
			if !sc.drainStarted {
				sc.drainStarted = true
				wg.Go(func() {
					if e := sc.drain(ctx); e != nil {
						mu.Lock()
						if err == nil {
							err = e
						}
						mu.Unlock()
					}
				})
			}
		}
		n := len(s.conns) // each leaves when it closes
		s.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-t.C:
			continue
		case <-ctx.Done():
		}
		break
	}
	wg.Wait()
	mu.Lock()
	if err == nil {
		err = ctx.Err()
	}
	mu.Unlock()
	if e := s.Close(); e != nil && err == nil {
		err = e
	}
	return err
}

// DefaultDrainLinger is ServerOptions.DrainLinger's default.
const DefaultDrainLinger = time.Second

// Close closes the server at once: listeners, connections (their calls'
// contexts are canceled), then the worker pool. It waits for every
// goroutine the server started.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.stop()
	s.serveWG.Wait()
	for _, sc := range s.snapshot() {
		<-sc.ready
		if sc.conn != nil { // nil: ServeConn's NewConn failed
			_ = sc.conn.Close()
		}
	}
	s.streamsWG.Wait()
	s.handoffWG.Wait()        // no reader is left to start another: conns are closed
	s.startOnce.Do(func() {}) // no pool starts after this
	s.mu.Lock()
	w := s.work
	closeWork := w != nil && !s.workClosed
	s.workClosed = true
	s.mu.Unlock()
	if closeWork {
		close(w)
		s.workersWG.Wait()
	}
	return nil
}

// dispatch queues a pooled call for the workers without ever blocking the
// connection's reader: when the queue is full a goroutine waits for room.
// Those goroutines are bounded by MaxInFlight per connection (the call is
// already counted). A reader blocked here would stop reading Cancel frames
// and the peer's close, so handlers waiting on their context would wait
// for a cancel that is never read: a hang a hostile peer can cause.
func (s *Server) dispatch(c *serverCall) {
	select {
	case s.work <- c:
		return
	default:
	}
	s.handoffWG.Add(1)
	go func() {
		defer s.handoffWG.Done()
		select {
		case s.work <- c:
		case <-s.stopCtx.Done(): // closing: the call never runs
			c.sc.abandonPooled(c)
		}
	}()
}

func (s *Server) worker(wid int) {
	defer s.workersWG.Done()
	for call := range s.work {
		for call != nil { // then the calls its connection queued (budget.go)
			sc := call.sc
			sc.runPooled(call, wid)
			call = sc.finishNext(call)
		}
	}
}

// invoke runs h (through the interceptor, if any), turning a panic into
// CodeInternal.
func (s *Server) invoke(call *serverCall, req, dst []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = dst, &Error{Code: CodeInternal, Message: fmt.Sprint("handler panic: ", r)}
		}
	}()
	ctx := call.handlerCtx()
	if ic := s.opts.Interceptor; ic != nil {
		return ic(ctx, call.method, req, dst, call.h)
	}
	return call.h(ctx, req, dst)
}

// serverConn is the reactor of one server connection.
type serverConn struct {
	srv   *Server
	conn  *socket.Conn
	ready chan struct{}
	rx    *socket.Sender // the reader's lane (inline responses, errors, pongs)

	inline serverCall

	mu         sync.Mutex
	ids        idTable
	free       []*serverCall
	inflight   int
	inflightN  atomic.Int64
	closed     bool
	draining   bool
	idle       chan struct{} // signalled when inflight drops to 0 while draining
	senders    []*socket.Sender
	untracked  []*serverCall // pooled fire-and-forget calls in progress (not in ids)
	goAwaySent bool
	idSeed     uint32 // seeds the id table's hash (a peer cannot aim its ids at one cell)

	// Drain (see Server.Drain). drainStarted is guarded by srv.mu.
	drainStarted bool
	drainCh      chan struct{} // closed at the GoAway: ServerStream.Draining
	acked        chan struct{} // closed when the client's Pong acknowledged the GoAway
	ackOnce      sync.Once
	refusing     atomic.Bool // new calls are refused with CodeUnavailable

	// The connection's share of the server (budget.go), guarded by mu.
	workersHeld int           // Pooled calls running or queued for a worker
	backlog     []*serverCall // Pooled calls waiting for one of its workers
	backHead    int
	reqBytes    int64      // request-copy bytes held by its calls
	sbud        recvBudget // stream messages buffered by its streams

	// The reader's last stream looked up (streamFor): valid while
	// streamDels, bumped under mu whenever a stream's id leaves ids,
	// still reads lastGen. Reader only, but for streamDels.
	lastID     uint32
	lastSS     *serverStream
	lastGen    uint64
	streamDels atomic.Uint64

	// The read batch being served (serverbatch.go), reader only.
	bat batchState

	// Connection setup (ServerOptions.OnConnect), on the reader: info is
	// complete once setupDone; rejected stops serving. connected (under
	// mu) means OnDisconnect is owed; disconnected that it ran.
	info         ConnInfo
	setupDone    bool
	rejected     bool
	connected    bool
	disconnected bool
	closeErr     error
}

const workerLanes = 8

func (sc *serverConn) setConn(c *socket.Conn) {
	sc.conn = c
	sc.info.RemoteAddr, sc.info.LocalAddr = c.RemoteAddr(), c.LocalAddr()
	sc.inline.sc = sc
	sc.senders = make([]*socket.Sender, workerLanes)
	for i := range sc.senders {
		sc.senders[i] = c.NewSender(nil)
	}
	close(sc.ready)
}

// sender returns the lane worker wid sends on (made in setConn).
func (sc *serverConn) sender(wid int) *socket.Sender { return sc.senders[wid%workerLanes] }

func (sc *serverConn) send(conn *socket.Conn, h frame.Header, body []byte) {
	if sc.rx == nil {
		sc.rx = conn.NewSender(nil)
	}
	_ = sc.rx.Send(context.Background(), h, body)
}

// replyError sends an error frame for id from the reader.
func (sc *serverConn) replyError(conn *socket.Conn, id, method uint32, code Code, msg string) {
	if sc.rx == nil {
		sc.rx = conn.NewSender(nil)
	}
	b := pool.GetBuffer()
	b.B = appendErrorBody(b.B[:0], code, msg)
	_ = sc.rx.SendBuffer(context.Background(), frame.Header{Kind: wire.KindError, Stream: id, Type: method}, b)
}

// setupConn completes the connection's ConnInfo and runs
// ServerOptions.OnConnect, on the reader at the first frame; it returns
// the hook's error (nil: accepted).
func (sc *serverConn) setupConn(conn *socket.Conn) (err error) {
	// ServeConn starts the connection's reader before setConn: a peer
	// that writes at once would otherwise be read before sc.conn and the
	// senders are set (found by FuzzServerInboundBatch under -race).
	<-sc.ready
	sc.setupDone = true
	if tc, ok := conn.NetConn().(*tls.Conn); ok {
		st := tc.ConnectionState()
		sc.info.TLS = &st
	}
	if f := sc.srv.opts.OnConnect; f != nil {
		func() {
			defer func() {
				if r := recover(); r != nil {
					err = &Error{Code: CodeInternal, Message: fmt.Sprint("OnConnect panic: ", r)}
				}
			}()
			err = f(&sc.info)
		}()
	}
	if err != nil {
		sc.rejected = true
		sc.srv.stats.rejected.Add(1)
		return err
	}
	sc.mu.Lock()
	sc.connected = !sc.closed
	sc.mu.Unlock()
	return nil
}

// reject answers the first frame of a connection OnConnect rejected.
func (sc *serverConn) reject(conn *socket.Conn, h frame.Header, err error) {
	if h.Kind != wire.KindRequest && h.Kind != wire.KindStreamOpen {
		return
	}
	if sc.rx == nil {
		sc.rx = conn.NewSender(nil)
	}
	b := pool.GetBuffer()
	var fl uint16
	b.B, fl = appendError(b.B[:0], toError(err))
	_ = sc.rx.SendBuffer(context.Background(), frame.Header{Kind: wire.KindError, Flags: fl, Stream: h.Stream, Type: h.Type}, b)
}

// disconnectLocked returns the ServerOptions.OnDisconnect call owed
// once the connection has closed and nothing is in flight (nil if none
// or not yet); the caller runs it after releasing sc.mu, which it holds.
func (sc *serverConn) disconnectLocked() func() {
	if !sc.connected || sc.disconnected || !sc.closed || sc.inflight > 0 {
		return nil
	}
	sc.disconnected = true
	f := sc.srv.opts.OnDisconnect
	if f == nil {
		return nil
	}
	err := sc.closeErr
	return func() { f(&sc.info, err) }
}

// OnMessage implements socket.Reactor (the connection calls OnBatch;
// this serves a message alone).
func (sc *serverConn) OnMessage(conn *socket.Conn, m socket.Message) socket.Action {
	return sc.onFrame(conn, m)
}

// onFrame serves one frame (reader goroutine).
func (sc *serverConn) onFrame(conn *socket.Conn, m socket.Message) socket.Action {
	h := m.Header
	if !sc.setupDone {
		if err := sc.setupConn(conn); err != nil {
			sc.reject(conn, h, err)
			return socket.Disconnect
		}
	}
	if sc.rejected {
		return socket.Disconnect
	}
	if m.Oversized { // over Socket.MaxFrameSize, body skipped (oversize.go)
		sc.onOversized(conn, h)
		return socket.Continue
	}
	switch h.Kind {
	case wire.KindRequest, wire.KindFireAndForget, wire.KindStreamOpen:
		sc.onOpen(conn, h, m.Payload)
	case wire.KindCancel:
		sc.mu.Lock()
		if c := sc.lookup(h.Stream); c != nil {
			// A stream ends within its context's cancel, so a
			// handler woken by either sees both.
			if st := c.stream; st != nil {
				c.cancelAround(context.Canceled, st.onCancel)
			} else {
				c.cancel(context.Canceled)
			}
		} else {
			sc.srv.stats.ignored.Add(1)
		}
		sc.mu.Unlock()
	case wire.KindStreamMessage, wire.KindEnd, wire.KindCredit:
		st := sc.streamFor(h.Stream)
		if st == nil {
			sc.srv.stats.ignored.Add(1)
			break
		}
		st.onFrame(h, m.Payload)
	case wire.KindPing:
		sc.send(conn, frame.Header{Kind: wire.KindPong, Stream: h.Stream}, nil)
	case wire.KindPong:
		// The answer to the drain ping (stream 0): the client has seen
		// the GoAway, so what it sends from now on raced it.
		sc.mu.Lock()
		sent := sc.goAwaySent
		sc.mu.Unlock()
		if h.Stream == 0 && sent {
			sc.ack()
		} else {
			sc.srv.stats.ignored.Add(1)
		}
	default:
		sc.srv.stats.ignored.Add(1)
	}
	return socket.Continue
}

// streamFor returns the stream id names, or nil (reader goroutine). A
// run of frames for one stream takes sc.mu only for the first.
func (sc *serverConn) streamFor(id uint32) *serverStream {
	if sc.lastSS != nil && sc.lastID == id && sc.lastGen == sc.streamDels.Load() {
		return sc.lastSS
	}
	sc.mu.Lock()
	c := sc.lookup(id)
	var st *serverStream
	if c != nil {
		st = c.stream
	}
	if st != nil {
		sc.lastID, sc.lastSS, sc.lastGen = id, st, sc.streamDels.Load()
	}
	sc.mu.Unlock()
	return st
}

// delID removes c's id from ids (sc.mu held); removing a stream's
// invalidates the reader's streamFor cache.
func (sc *serverConn) delID(c *serverCall) {
	sc.ids.del(c.id)
	if c.stream != nil {
		sc.streamDels.Add(1)
	}
}

func (sc *serverConn) lookup(id uint32) *serverCall {
	if sc.ids.vals == nil {
		return nil
	}
	return sc.ids.get(id)
}

func (sc *serverConn) onOpen(conn *socket.Conn, h frame.Header, payload []byte) {
	s := sc.srv
	respond := h.Kind != wire.KindFireAndForget
	if len(payload) > s.opts.MaxRequestSize {
		// That call's error: the payload is neither copied nor run, and
		// the connection's other calls go on.
		s.stats.tooLarge.Add(1)
		if respond {
			sc.replyError(conn, h.Stream, h.Type, CodeResourceExhausted,
				fmt.Sprintf("request of %d bytes over the server's limit of %d bytes (ServerOptions.MaxRequestSize); not processed", len(payload), s.opts.MaxRequestSize))
		}
		return
	}
	p, body, err := wire.ParsePrefix(h.Flags, payload)
	var credit uint32
	if err == nil && h.Kind == wire.KindStreamOpen {
		credit, body, err = wire.ParseCredit(body)
	}
	if err != nil {
		if respond {
			sc.replyError(conn, h.Stream, h.Type, CodeProtocol, err.Error())
		}
		return
	}
	e, ok := (*s.handlers.Load())[h.Type]
	if !ok || e.stream != (h.Kind == wire.KindStreamOpen) {
		s.stats.notFound.Add(1)
		if respond {
			sc.replyError(conn, h.Stream, h.Type, CodeUnimplemented, "")
		}
		return
	}
	if sc.refusing.Load() {
		s.stats.unavailable.Add(1)
		if respond {
			sc.replyError(conn, h.Stream, h.Type, CodeUnavailable, "server draining: call not processed")
		}
		return
	}
	var now time.Time // read only for a deadline (batchState.now)
	if p.Timeout > 0 {
		now = sc.bat.now()
	}
	if !e.stream && e.mode == Inline {
		if respond && sc.inflightN.Load() > 0 && sc.isDuplicate(h.Stream) {
			s.stats.duplicates.Add(1)
			sc.replyError(conn, h.Stream, h.Type, CodeProtocol, "duplicate call id")
			return
		}
		s.stats.calls.Add(1)
		c := &sc.inline
		c.setup(h.Stream, h.Type, h.Kind, p, body, now)
		c.h = e.h
		sc.runInline(conn, c)
		return
	}
	sc.mu.Lock()
	if sc.closed {
		sc.mu.Unlock()
		return
	}
	if respond && sc.lookup(h.Stream) != nil {
		sc.mu.Unlock()
		s.stats.duplicates.Add(1)
		sc.replyError(conn, h.Stream, h.Type, CodeProtocol, "duplicate call id")
		return
	}
	if sc.inflight >= s.opts.MaxInFlight {
		sc.mu.Unlock()
		s.stats.overloaded.Add(1)
		if respond {
			sc.replyError(conn, h.Stream, h.Type, CodeOverloaded, "")
		}
		return
	}
	need := len(body) + len(p.Metadata)
	if !sc.reserveReqLocked(need) {
		sc.mu.Unlock()
		s.stats.overloaded.Add(1)
		s.stats.overBudget.Add(1)
		if respond {
			sc.replyError(conn, h.Stream, h.Type, CodeOverloaded, "request bytes over the connection's or server's budget (MaxConnRequestBytes, MaxServerRequestBytes); not processed")
		}
		return
	}
	c := sc.getCallLocked()
	c.reqHeld = need
	if respond {
		if sc.ids.vals == nil {
			sc.ids = newIDTable(s.opts.MaxInFlight, sc.idSeed)
		}
		sc.ids.put(h.Stream, c)
		c.tracked = true
	} else {
		// Not in ids (its id is 0), but still canceled when the
		// connection closes, so a handler waiting on ctx ends.
		c.untrackedIdx = len(sc.untracked)
		sc.untracked = append(sc.untracked, c)
	}
	sc.inflight++
	sc.inflightN.Add(1)
	direct := !e.stream && sc.takeWorkerLocked()
	sc.mu.Unlock()
	s.stats.calls.Add(1)

	c.req = pool.GetBufferFor(len(body) + len(p.Metadata))
	c.req.B = append(c.req.B[:0], body...)
	n := len(c.req.B)
	// The handler's req is capped at its length: an append to it
	// reallocates instead of rewriting the metadata copied after it.
	c.setup(h.Stream, h.Type, h.Kind, p, c.req.B[:n:n], now)
	if p.Metadata != nil { // copy the metadata too, after the body
		c.req.B = append(c.req.B, p.Metadata...)
		c.body = c.req.B[:n:n]
		c.md = Metadata(c.req.B[n:])
	}
	if e.stream {
		sc.startStream(c, e.sh, credit)
		return
	}
	c.h = e.h
	if direct {
		s.dispatch(c)
	} else {
		sc.dispatchPooled(c)
	}
}

func (sc *serverConn) isDuplicate(id uint32) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.lookup(id) != nil
}

func (sc *serverConn) getCallLocked() *serverCall {
	if n := len(sc.free); n > 0 {
		c := sc.free[n-1]
		sc.free = sc.free[:n-1]
		return c
	}
	return &serverCall{sc: sc}
}

// finish removes a pooled call or stream and recycles it.
func (sc *serverConn) finish(c *serverCall) {
	sc.mu.Lock()
	sc.finishLocked(c)
	bye := sc.disconnectLocked()
	sc.mu.Unlock()
	if bye != nil {
		bye()
	}
}

func (sc *serverConn) finishLocked(c *serverCall) {
	if c.tracked {
		sc.delID(c)
	} else if i := c.untrackedIdx; i >= 0 && i < len(sc.untracked) && sc.untracked[i] == c {
		last := len(sc.untracked) - 1
		sc.untracked[i] = sc.untracked[last]
		sc.untracked[i].untrackedIdx = i
		sc.untracked[last] = nil
		sc.untracked = sc.untracked[:last]
	}
	sc.releaseReqLocked(c)
	c.reset()
	sc.free = append(sc.free, c)
	sc.inflight--
	sc.inflightN.Add(-1)
	if sc.inflight == 0 && sc.draining {
		select {
		case sc.idle <- struct{}{}:
		default:
		}
	}
}

// runInline runs the handler on the reader goroutine. Its response goes
// out through conn.Reply: the responses to one read batch are written
// together, by the reader, in one writev.
func (sc *serverConn) runInline(conn *socket.Conn, c *serverCall) {
	if h, resp := sc.respond(c, c.body, true); resp != nil {
		if len(c.hdr) > 0 || len(c.trl) > 0 {
			hdr, trl := c.unaryMD()
			sendMD(func(k uint8, md Metadata) {
				_ = conn.Reply(frame.Header{Kind: k, Stream: h.Stream, Type: h.Type}, md)
			}, hdr, trl)
		}
		if b := sc.bat.b; b != nil && len(resp.B) <= inlineMax {
			_ = b.Reply(h, resp.B) // framed into the batch's replies at once
			pool.PutBuffer(resp)
		} else {
			_ = conn.ReplyBuffer(h, resp) // a failure is reported like a Sender's; a large resp goes by reference
		}
	}
	c.reset()
}

func (sc *serverConn) runPooled(c *serverCall, wid int) {
	if h, resp := sc.respond(c, c.body, false); resp != nil {
		sc.untrack(c)
		snd := sc.sender(wid)
		if len(c.hdr) > 0 || len(c.trl) > 0 {
			hdr, trl := c.unaryMD()
			sendMD(func(k uint8, md Metadata) {
				_ = snd.Send(context.Background(), frame.Header{Kind: k, Stream: h.Stream, Type: h.Type}, md)
			}, hdr, trl)
		}
		_ = snd.SendBuffer(context.Background(), h, resp)
	}
}

// sendMD sends a unary call's header and trailer frames (those not
// empty), in that order, before its response: the client has them when
// the call completes.
func sendMD(send func(kind uint8, md Metadata), hdr, trl Metadata) {
	if len(hdr) > 0 {
		send(wire.KindHeader, hdr)
	}
	if len(trl) > 0 {
		send(wire.KindTrailer, trl)
	}
}

// untrack frees the call's id before its answer is queued: a client may
// reuse an id as soon as the answer arrives, and must not then be
// refused as a duplicate. The call still counts in flight until finish.
func (sc *serverConn) untrack(c *serverCall) {
	sc.mu.Lock()
	if c.tracked {
		sc.delID(c)
		c.tracked = false
	}
	sc.mu.Unlock()
}

// respond runs the handler and returns its response or error frame to
// send, or a nil buffer when nothing is to be sent (fire-and-forget, or a
// call the client canceled). A call whose deadline passed before its
// handler starts gets CodeDeadlineExceeded without running it; inline:
// the call runs on the reader in its read batch, whose clock says so
// (batchState.inlineExpired).
func (sc *serverConn) respond(c *serverCall, req []byte, inline bool) (frame.Header, *pool.Buffer) {
	s := sc.srv
	var resp *pool.Buffer
	var dst []byte
	if c.kind == wire.KindRequest {
		// A large request gets a large response buffer (one that
		// survives garbage collections): the guess that a handler
		// answering a large request answers at about its size (an echo,
		// a transform) costs nothing when wrong but a buffer lent for
		// the call.
		resp = pool.GetBufferFor(len(req))
		dst = resp.B[:0]
	}
	var out []byte
	var err error
	if c.hasDeadline && sc.pastDeadline(c, inline) {
		err = &Error{Code: CodeDeadlineExceeded, Message: "deadline passed before the handler ran"}
	} else {
		out, err = s.invoke(c, req, dst)
		c.retire()
	}
	if resp == nil {
		return frame.Header{}, nil
	}
	if c.canceled() {
		pool.PutBuffer(resp)
		return frame.Header{}, nil
	}
	h := frame.Header{Kind: wire.KindResponse, Stream: c.id, Type: c.method}
	if err != nil {
		resp.B, h.Flags = appendError(resp.B[:0], toError(err))
		h.Kind = wire.KindError
	} else if sameBase(out, dst) {
		resp.B = out
	} else {
		resp.B = append(resp.B[:0], out...) // not the pooled buffer: copy
	}
	if max := s.maxFrameSize(); len(resp.B) > max {
		// The socket would refuse it and the caller would wait for
		// nothing: answer with an error instead.
		n := len(resp.B)
		resp.B = appendErrorBody(resp.B[:0], CodeInternal, fmt.Sprintf("response of %d bytes over the maximum frame size %d", n, max))
		if len(resp.B) > max { // a tiny maximum: the code alone
			resp.B = appendErrorBody(resp.B[:0], CodeInternal, "")
		}
		h.Kind, h.Flags = wire.KindError, 0
	}
	return h, resp
}

// pastDeadline reports whether c's deadline has passed (c.hasDeadline).
func (sc *serverConn) pastDeadline(c *serverCall, inline bool) bool {
	if inline {
		return sc.bat.inlineExpired(c.deadline)
	}
	return !callNow().Before(c.deadline)
}

// maxFrameSize is the largest payload the server's connections send.
func (s *Server) maxFrameSize() int {
	if n := s.opts.Socket.MaxFrameSize; n > 0 {
		return n
	}
	return frame.DefaultMaxFrameSize
}

// sameBase reports whether out starts where dst does (the handler
// appended to dst without reallocating), so out is the pooled buffer.
func sameBase(out, dst []byte) bool {
	if cap(out) == 0 || cap(dst) == 0 {
		return false
	}
	return &out[:1][0] == &dst[:1][0]
}

// announce starts the drain of the connection: GoAway, then the Ping
// whose Pong says the client has seen it (same lane, so in that order);
// stream handlers are told through Draining.
func (sc *serverConn) announce() {
	<-sc.ready
	if sc.conn == nil { // ServeConn's NewConn failed: nothing to drain
		return
	}
	sc.mu.Lock()
	sc.draining = true
	if sc.goAwaySent || sc.closed {
		sc.mu.Unlock()
		return
	}
	sc.goAwaySent = true
	close(sc.drainCh)
	snd := sc.conn.NewSender(nil)
	sc.mu.Unlock()
	_ = snd.Send(context.Background(), frame.Header{Kind: wire.KindGoAway}, appendErrorBody(nil, CodeUnavailable, "draining"))
	_ = snd.Send(context.Background(), frame.Header{Kind: wire.KindPing}, nil)
	snd.Close()
}

// ack records that the client acknowledged the GoAway (or that it had
// its time to): from now on new calls are refused.
func (sc *serverConn) ack() {
	sc.ackOnce.Do(func() {
		sc.refusing.Store(true)
		close(sc.acked)
	})
}

// drain runs the connection's drain (Server.Drain): announce, wait for
// the acknowledgement, end the streams still open with CodeUnavailable,
// wait for the calls in flight, give the client DrainLinger to close,
// then write what is queued and close.
func (sc *serverConn) drain(ctx context.Context) error {
	sc.announce()
	if sc.conn == nil { // ServeConn's NewConn failed: it left the server already
		return nil
	}
	closed := sc.conn.Closed()
	linger := sc.srv.opts.DrainLinger
	t := time.NewTimer(linger)
	select {
	case <-sc.acked:
	case <-t.C:
	case <-closed:
	case <-ctx.Done():
	}
	t.Stop()
	sc.ack()
	sc.endStreams()
	for {
		sc.mu.Lock()
		n := sc.inflight
		sc.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-sc.idle:
		case <-ctx.Done():
			_ = sc.conn.Close()
			return ctx.Err()
		}
	}
	// The client closes once everything it sent is answered. One that
	// does not is closed after DrainLinger of quiet: no byte read and
	// nothing in flight (a byte read restarts the count: a late request
	// is read and answered, never cut off).
	tick := time.NewTicker(linger / 10)
	defer tick.Stop()
	last, quietSince := sc.conn.Stats().BytesIn, time.Now()
	for {
		select {
		case <-closed: // the client closed: everything it sent was answered
			return nil
		case <-ctx.Done():
			_ = sc.conn.Close()
			return ctx.Err()
		case <-tick.C:
		}
		sc.mu.Lock()
		n := sc.inflight
		sc.mu.Unlock()
		if b := sc.conn.Stats().BytesIn; b != last || n > 0 {
			last, quietSince = b, time.Now()
			continue
		}
		if time.Since(quietSince) >= linger {
			return sc.conn.Drain(ctx)
		}
	}
}

// endStreams ends the streams still open with CodeUnavailable, so their
// clients resubscribe elsewhere; their handlers' contexts are canceled.
func (sc *serverConn) endStreams() {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for _, c := range sc.ids.vals {
		if c != nil && c.stream != nil {
			core := c.stream.pub.core
			c.cancelAround(context.Canceled, func() {
				core.end(&Error{Code: CodeUnavailable, Message: "server draining: stream ended, resubscribe elsewhere"})
			})
		}
	}
}

// OnClose implements socket.CloseReactor: calls in flight are canceled.
func (sc *serverConn) OnClose(conn *socket.Conn, err error) {
	if errors.Is(err, socket.ErrWriteTimeout) {
		sc.srv.stats.writeTimeouts.Add(1)
	}
	sc.mu.Lock()
	sc.closed = true
	sc.closeErr = err
	for _, c := range sc.ids.vals {
		if c != nil {
			if st := c.stream; st != nil {
				c.cancelAround(context.Canceled, func() { st.onConnClose(err) })
			} else {
				c.cancel(context.Canceled)
			}
		}
	}
	// A client that closes after a GoAway has all its answers; its
	// fire-and-forget calls still running were accepted and are left to
	// finish (Drain waits for them). Otherwise they are canceled.
	if !sc.draining || !errors.Is(err, io.EOF) {
		for _, c := range sc.untracked {
			c.cancel(context.Canceled)
		}
	}
	bye := sc.disconnectLocked()
	sc.mu.Unlock()
	if bye != nil {
		bye()
	}
	sc.srv.removeConn(sc)
}
