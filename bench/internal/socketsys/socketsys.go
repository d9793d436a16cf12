package socketsys

import (
	"context"
	"encoding/binary"
	"errors"
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
// stream OpenStream opens on it.
func (System) Dial(ctx context.Context, addr string, opts load.Options) (load.Client, error) {
	c := &client{scenario: opts.Scenario}
	for range max(opts.Conns, 1) {
		st := &stream{buf: make([]byte, 0, opts.Payload)}
		st.q.init()
		conn, err := socket.Dial(ctx, "tcp", addr, st, socket.Options{})
		if err != nil {
			_ = c.Close()
			return nil, err
		}
		st.conn, st.snd = conn, conn.NewSender(nil)
		st.sb = st.snd.Batch()
		c.streams = append(c.streams, st)
	}
	return c, nil
}

type client struct {
	streams  []*stream
	scenario load.Scenario
}

func (c *client) NewCaller(int) (load.Caller, error) { return nil, ErrUnsupported }

// OpenStream returns connection i % Conns's stream, emptied, with a new
// epoch (the load loop opens one per phase): a reply of an earlier phase
// that arrives now, after that phase's grace period, is dropped instead
// of counting as an answer in this one.
func (c *client) OpenStream(_ context.Context, i int) (load.Stream, error) {
	if c.scenario == load.ServerStream {
		return nil, ErrUnsupported
	}
	st := c.streams[i%len(c.streams)]
	if err := st.conn.Err(); err != nil {
		return nil, err
	}
	st.q.reset()
	st.epoch = st.q.epoch
	return st, nil
}

func (c *client) Close() error {
	for _, st := range c.streams {
		st.snd.Close()
		_ = st.conn.Close()
		<-st.conn.Closed()
	}
	return nil
}

// stream is one connection's echo stream and its reactor.
type stream struct {
	conn *socket.Conn
	snd  *socket.Sender
	sb   socket.SendBatch // Send appends, Flush queues (load loop only)
	q    queue
	buf  []byte // Recv's reused message buffer
	// epoch is the load loop's copy of q.epoch, sent in every message's
	// Header.Stream (the echo returns the header as it came).
	epoch uint32
}

// OnBatch implements socket.BatchReactor: the batch's messages of the
// current epoch are queued under one lock, with one wake-up.
func (st *stream) OnBatch(_ *socket.Conn, b *socket.Batch) socket.Action {
	st.q.mu.Lock()
	for m, ok := b.Next(); ok; m, ok = b.Next() {
		st.q.pushLocked(m.Header.Stream, m.Payload)
	}
	st.q.signalLocked()
	st.q.mu.Unlock()
	return socket.Continue
}

// OnMessage implements socket.Reactor (unused: OnBatch takes every batch).
func (st *stream) OnMessage(_ *socket.Conn, m socket.Message) socket.Action {
	st.q.mu.Lock()
	st.q.pushLocked(m.Header.Stream, m.Payload)
	st.q.signalLocked()
	st.q.mu.Unlock()
	return socket.Continue
}

// OnClose implements socket.CloseReactor: Recv returns errClosed.
func (st *stream) OnClose(_ *socket.Conn, err error) { st.q.close() }

// Send appends p to the batch; a full batch is queued first.
func (st *stream) Send(p []byte) error {
	h := frame.Header{Stream: st.epoch}
	err := st.sb.Append(h, p)
	if errors.Is(err, socket.ErrBatchFull) {
		if err = st.sb.Send(context.Background()); err == nil {
			err = st.sb.Append(h, p)
		}
	}
	return err
}

// Flush queues the batch with one lane lock.
func (st *stream) Flush() error {
	if st.sb.Len() == 0 {
		return nil
	}
	return st.sb.Send(context.Background())
}

// Recv pops the next message, waiting for it.
func (st *stream) Recv() ([]byte, error) {
	var err error
	st.buf, err = st.q.pop(st.buf[:0])
	return st.buf, err
}

// Close ends the stream: a waiting Recv returns. The connection stays
// for the next run's stream (client.Close closes it).
func (st *stream) Close() error { st.q.close(); return nil }

// queue is a stream's received messages, each a 4-byte length and its
// bytes in one reused slice; the reactor pushes, one Recv at a time pops.
type queue struct {
	mu      sync.Mutex
	b       []byte
	r       int
	closed  bool
	waiting bool
	wake    chan struct{}
	// epoch numbers the streams opened on the connection (reset): only
	// replies carrying the current one are queued.
	epoch uint32
}

func (q *queue) init() { q.wake = make(chan struct{}, 1) }

// reset empties the queue for a new stream, of the next epoch.
func (q *queue) reset() {
	q.mu.Lock()
	q.b, q.r, q.closed, q.waiting = q.b[:0], 0, false, false
	q.epoch++
	q.mu.Unlock()
	select {
	case <-q.wake:
	default:
	}
}

// pushLocked queues p, a reply of epoch; one of another epoch (an earlier
// stream's, late) is dropped.
func (q *queue) pushLocked(epoch uint32, p []byte) {
	if q.closed || epoch != q.epoch {
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

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.signalLocked()
	q.mu.Unlock()
}

// pop appends the next message to dst.
func (q *queue) pop(dst []byte) ([]byte, error) {
	for {
		q.mu.Lock()
		if q.r < len(q.b) {
			n := int(binary.LittleEndian.Uint32(q.b[q.r:]))
			q.r += 4
			dst = append(dst, q.b[q.r:q.r+n]...)
			q.r += n
			q.mu.Unlock()
			return dst, nil
		}
		if q.closed {
			q.mu.Unlock()
			return dst, errClosed
		}
		q.waiting = true
		q.mu.Unlock()
		<-q.wake
	}
}
