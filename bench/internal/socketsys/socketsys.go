package socketsys

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// ErrUnsupported is the error of NewCaller and of OpenStream for the
// ServerStream scenario.
var ErrUnsupported = errors.New("socketsys: only the pipelined and bidi scenarios are served")

// errClosed is Recv's error once the stream or its connection closed.
var errClosed = errors.New("socketsys: stream closed")

// errStreamOpen is OpenStream's error for a connection whose stream is
// still open: the run has more streams than Dial made connections
// (load.Options.Conns), and two streams on one connection would take
// each other's replies.
var errStreamOpen = errors.New("socketsys: the connection's stream is still open (dial with Conns >= the run's)")

// System is the socket echo as a load.System.
type System struct{}

// New returns the System.
func New() load.System { return System{} }

// Name implements load.System.
func (System) Name() string { return "socket" }

// Description is psbench's legend line.
func (System) Description() string {
	return "protosocket's socket layer alone (no RPC): batch echo (Batch.Reply), SendBatch per flush, one connection per stream (bench/internal/socketsys)"
}

// echo answers every message of a read batch with Batch.Reply.
var echo = socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
	for m, ok := b.Next(); ok; m, ok = b.Next() {
		if b.Reply(m.Header, m.Payload) != nil {
			return socket.Disconnect
		}
	}
	return socket.Continue
})

// Serve implements load.System.
func (System) Serve(ctx context.Context, addr string, opts load.Options) (load.Server, error) {
	ctx, cancel := context.WithCancel(ctx)
	ln, err := socket.Listen(ctx, "tcp", addr, socket.Options{})
	if err != nil {
		cancel()
		return nil, err
	}
	s := &server{addr: ln.Addr().String(), cancel: cancel}
	s.wg.Go(func() {
		_ = socket.Serve(ctx, ln, func(*socket.Conn) socket.Reactor { return echo }, socket.Options{})
	})
	return s, nil
}

type server struct {
	addr   string
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (s *server) Addr() string { return s.addr }

func (s *server) Close() error {
	s.cancel()
	s.wg.Wait()
	return nil
}

// Dial implements load.System: opts.Conns connections, each carrying the
// streams OpenStream opens on it, one at a time.
func (System) Dial(ctx context.Context, addr string, opts load.Options) (load.Client, error) {
	c := &client{scenario: opts.Scenario}
	for range max(opts.Conns, 1) {
		cn := &conn{buf: make([]byte, 0, opts.Payload)}
		cn.q.init()
		sc, err := socket.Dial(ctx, "tcp", addr, cn, socket.Options{})
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		cn.conn, cn.snd = sc, sc.NewSender(nil)
		cn.sb = cn.snd.Batch()
		c.conns = append(c.conns, cn)
	}
	return c, nil
}

type client struct {
	conns    []*conn
	scenario load.Scenario
}

func (c *client) NewCaller(int) (load.Caller, error) { return nil, ErrUnsupported }

// OpenStream opens a stream on connection i % Conns, with a new epoch
// (the load loop opens one per phase), and ends the one open there
// before: a reply of an earlier phase that arrives now, after that
// phase's grace period, is dropped instead of counting as an answer in
// this one, and a Close of the earlier stream that comes late (the load
// loop closes a stream from its grace timer too) no longer ends this one.
func (c *client) OpenStream(_ context.Context, i int) (load.Stream, error) {
	if c.scenario == load.ServerStream {
		return nil, ErrUnsupported
	}
	cn := c.conns[i%len(c.conns)]
	if err := cn.conn.Err(); err != nil {
		return nil, err
	}
	epoch, ok := cn.q.reset()
	if !ok {
		return nil, fmt.Errorf("%w: connection %d of %d", errStreamOpen, i%len(c.conns), len(c.conns))
	}
	// Messages an earlier phase's Send left in the batch (a Send ended by
	// its stream's Close keeps them) are dropped, not sent ahead of this
	// phase's: this phase would pay for traffic it does not count. The
	// earlier phase's load loop has returned, and a late Close does not
	// touch the batch.
	cn.sb.Reset()
	st := &stream{c: cn, epoch: epoch}
	st.ctx, st.cancel = context.WithCancel(context.Background())
	return st, nil
}

func (c *client) Close() error {
	for _, cn := range c.conns {
		cn.snd.Close()
		_ = cn.conn.Close()
		<-cn.conn.Closed()
	}
	return nil
}

// conn is one connection, its reactor and its receive queue, shared by
// the streams opened on it one after the other.
type conn struct {
	conn *socket.Conn
	snd  *socket.Sender
	sb   socket.SendBatch // Send appends, Flush queues (load loop only)
	q    queue
	buf  []byte // Recv's reused message buffer
}

// OnBatch implements socket.BatchReactor: the batch's messages of the
// current epoch are queued under one lock, with one wake-up.
func (cn *conn) OnBatch(_ *socket.Conn, b *socket.Batch) socket.Action {
	cn.q.mu.Lock()
	for m, ok := b.Next(); ok; m, ok = b.Next() {
		cn.q.pushLocked(m.Header.Stream, m.Payload)
	}
	cn.q.signalLocked()
	cn.q.mu.Unlock()
	return socket.Continue
}

// OnMessage implements socket.Reactor (unused: OnBatch takes every batch).
func (cn *conn) OnMessage(_ *socket.Conn, m socket.Message) socket.Action {
	cn.q.mu.Lock()
	cn.q.pushLocked(m.Header.Stream, m.Payload)
	cn.q.signalLocked()
	cn.q.mu.Unlock()
	return socket.Continue
}

// OnClose implements socket.CloseReactor: Recv returns errClosed.
func (cn *conn) OnClose(_ *socket.Conn, err error) { cn.q.closeConn() }

// stream is one phase's echo stream on a conn: its messages carry its
// epoch in Header.Stream (the echo returns the header as it came).
type stream struct {
	c     *conn
	epoch uint32
	// ctx ends at Close: a Send or Flush blocked on a full connection
	// queue (a server that stopped reading) returns then, as the load
	// loop's grace period requires.
	ctx    context.Context
	cancel context.CancelFunc
}

// Send appends p to the batch; a full batch is queued first.
func (st *stream) Send(p []byte) error {
	h := frame.Header{Stream: st.epoch}
	sb := &st.c.sb
	err := sb.Append(h, p)
	if errors.Is(err, socket.ErrBatchFull) {
		if err = sb.Send(st.ctx); err == nil {
			err = sb.Append(h, p)
		}
	}
	return err
}

// Flush queues the batch with one lane lock.
func (st *stream) Flush() error {
	if st.c.sb.Len() == 0 {
		return nil
	}
	return st.c.sb.Send(st.ctx)
}

// Recv pops the next message of this stream's epoch, waiting for it.
func (st *stream) Recv() ([]byte, error) {
	var err error
	st.c.buf, err = st.c.q.pop(st.epoch, st.c.buf[:0])
	return st.c.buf, err
}

// Close ends the stream: a waiting Recv and a blocked Send return. The
// connection stays for the next phase's stream (client.Close closes it);
// a Close after that stream opened leaves it be.
func (st *stream) Close() error {
	st.cancel()
	st.c.q.close(st.epoch)
	return nil
}

// queue is a stream's received messages, each a 4-byte length and its
// bytes in one reused slice; the reactor pushes, one Recv at a time pops.
type queue struct {
	mu      sync.Mutex
	b       []byte
	r       int
	closed  bool // the current epoch's stream closed
	dead    bool // the connection closed
	waiting bool
	wake    chan struct{}
	// epoch numbers the streams opened on the connection (reset): only
	// replies carrying the current one are queued.
	epoch uint32
}

func (q *queue) init() { q.wake = make(chan struct{}, 1) }

// reset empties the queue for a new stream and returns its epoch, the
// next one; ok is false while the current epoch's stream is open (not
// closed). A Recv of the earlier stream still waiting returns errClosed
// (a wake-up it leaves behind costs the next pop one more look).
func (q *queue) reset() (epoch uint32, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.epoch != 0 && !q.closed && !q.dead {
		return 0, false
	}
	q.signalLocked()
	q.b, q.r, q.closed = q.b[:0], 0, false
	q.epoch++
	return q.epoch, true
}

// pushLocked queues p, a reply of epoch; one of another epoch (an earlier
// stream's, late) is dropped.
func (q *queue) pushLocked(epoch uint32, p []byte) {
	if q.closed || q.dead || epoch != q.epoch {
		return
	}
	if q.r > 0 && q.r == len(q.b) { // all read: start over at the front
		q.b, q.r = q.b[:0], 0
	} else if q.r > 0 && cap(q.b)-len(q.b) < 4+len(p) {
		k := copy(q.b, q.b[q.r:])
		q.b, q.r = q.b[:k], 0
	}
	q.b = binary.LittleEndian.AppendUint32(q.b, uint32(len(p)))
	q.b = append(q.b, p...)
}

func (q *queue) signalLocked() {
	if q.waiting {
		q.waiting = false
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// close closes the stream of epoch, if it is still the current one.
func (q *queue) close(epoch uint32) {
	q.mu.Lock()
	if epoch == q.epoch {
		q.closed = true
		q.signalLocked()
	}
	q.mu.Unlock()
}

// closeConn closes every stream, the current one and those opened later.
func (q *queue) closeConn() {
	q.mu.Lock()
	q.dead = true
	q.signalLocked()
	q.mu.Unlock()
}

// pop appends the next message of the stream of epoch to dst.
func (q *queue) pop(epoch uint32, dst []byte) ([]byte, error) {
	for {
		q.mu.Lock()
		if epoch != q.epoch { // a later stream opened
			q.mu.Unlock()
			return dst, errClosed
		}
		if q.r < len(q.b) {
			n := int(binary.LittleEndian.Uint32(q.b[q.r:]))
			q.r += 4
			dst = append(dst, q.b[q.r:q.r+n]...)
			q.r += n
			q.mu.Unlock()
			return dst, nil
		}
		if q.closed || q.dead {
			q.mu.Unlock()
			return dst, errClosed
		}
		q.waiting = true
		q.mu.Unlock()
		<-q.wake
	}
}
