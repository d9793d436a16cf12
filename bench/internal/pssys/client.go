package pssys

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// seqBits is the width of the sequence number in a unary stream id; the
// slot index takes the bits above it.
const (
	seqBits = 16
	seqMask = 1<<seqBits - 1
	// maxSlots is the number of slots one connection can address.
	maxSlots = 1 << (32 - seqBits)
)

// Dial connects opts.Conns connections for the unary scenario, each with
// a slot array for its share of opts.Concurrency callers; for the
// streaming scenarios it checks that the server answers and opens one
// connection per stream later.
func (System) Dial(ctx context.Context, addr string, opts load.Options) (load.Client, error) {
	c := &client{addr: addr, opts: opts}
	if opts.Scenario.Streaming() {
		probe, err := socket.Dial(ctx, "tcp", addr, socket.ReactorFunc(func(*socket.Conn, socket.Message) socket.Action {
			return socket.Disconnect
		}), socket.Options{})
		if err != nil {
			return nil, fmt.Errorf("pssys: %w", err)
		}
		_ = probe.Close()
		return c, nil
	}
	conns := max(opts.Conns, 1)
	perConn := min(max((opts.Concurrency+conns-1)/conns, 1), maxSlots)
	for range conns {
		u := newUconn(perConn)
		sc, err := socket.Dial(ctx, "tcp", addr, u, socket.Options{})
		if err != nil {
			_ = c.Close()
			return nil, fmt.Errorf("pssys: %w", err)
		}
		u.c = sc
		c.conns = append(c.conns, u)
	}
	return c, nil
}

type client struct {
	addr  string
	opts  load.Options
	conns []*uconn
}

// Close closes every unary connection and waits for its goroutines.
func (c *client) Close() error {
	for _, u := range c.conns {
		_ = u.c.Close()
	}
	return nil
}

// NewCaller returns a caller on connection i % Conns, holding one slot of
// that connection's slot array until it is closed.
func (c *client) NewCaller(i int) (load.Caller, error) {
	if len(c.conns) == 0 {
		return nil, fmt.Errorf("%w: dialed for %s", ErrWrongScenario, c.opts.Scenario)
	}
	return c.conns[i%len(c.conns)].newCaller()
}

// OpenStream dials a dedicated connection for one stream.
func (c *client) OpenStream(ctx context.Context, _ int) (load.Stream, error) {
	s := &stream{
		in:   make(chan socket.Message, min(max(c.opts.Concurrency, 1), socket.DefaultMaxUnfinished)),
		quit: make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	sc, err := socket.Dial(ctx, "tcp", c.addr, s, socket.Options{})
	if err != nil {
		s.cancel()
		return nil, fmt.Errorf("pssys: %w", err)
	}
	s.c = sc
	s.snd = sc.NewSender(nil)
	if c.opts.Scenario == load.ServerStream {
		var req [4]byte
		binary.BigEndian.PutUint32(req[:], uint32(c.opts.Payload))
		if err := s.snd.Send(ctx, frame.Header{Kind: KindServerStream}, req[:]); err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("pssys: %w", err)
		}
	}
	return s, nil
}

// uconn is one connection shared by unary callers. Its reactor completes
// calls through slots, a fixed array indexed by the slot bits of the
// reply's stream id.
type uconn struct {
	c     *socket.Conn
	slots []slot
	mu    sync.Mutex
	free  []uint32 // free slot indexes
}

// slot is one caller's completion cell: seq is the sequence number of its
// current call, done receives the stream id of its reply.
type slot struct {
	seq  atomic.Uint32
	done chan uint32
}

func newUconn(n int) *uconn {
	u := &uconn{slots: make([]slot, n), free: make([]uint32, n)}
	for i := range u.slots {
		u.slots[i].done = make(chan uint32, 1)
		u.free[i] = uint32(n - 1 - i) // hand out slot 0 first
	}
	return u
}

// OnMessage completes the call whose slot and sequence the reply's
// stream id names; a reply to an unknown slot or an abandoned call is
// dropped.
func (u *uconn) OnMessage(_ *socket.Conn, m socket.Message) socket.Action {
	id := m.Header.Stream
	idx := id >> seqBits
	if int(idx) >= len(u.slots) {
		return socket.Continue
	}
	s := &u.slots[idx]
	if s.seq.Load()&seqMask != id&seqMask {
		return socket.Continue
	}
	select {
	case s.done <- id:
	default:
	}
	return socket.Continue
}

func (u *uconn) newCaller() (*caller, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := len(u.free)
	if n == 0 {
		return nil, fmt.Errorf("%w: all %d slots taken", ErrTooManyCallers, len(u.slots))
	}
	idx := u.free[n-1]
	u.free = u.free[:n-1]
	return &caller{u: u, idx: idx, s: &u.slots[idx], snd: u.c.NewSender(nil)}, nil
}

// caller is one unary caller: its slot and its own Sender (lane).
type caller struct {
	u   *uconn
	idx uint32
	s   *slot
	snd *socket.Sender
}

// Call sends req as one frame whose stream id names the caller's slot and
// this call's sequence number, then waits for the reply with that id.
func (c *caller) Call(ctx context.Context, req []byte) error {
	seq := c.s.seq.Add(1) & seqMask
	id := c.idx<<seqBits | seq
	if err := c.snd.Send(ctx, frame.Header{Stream: id}, req); err != nil {
		return err
	}
	for {
		select {
		case got := <-c.s.done:
			if got == id {
				return nil
			}
		case <-c.u.c.Closed():
			return c.u.c.Err()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close gives the slot back; a late reply to its last call is stale.
func (c *caller) Close() error {
	c.s.seq.Add(1)
	select { // drop a reply that arrived after an abandoned call
	case <-c.s.done:
	default:
	}
	c.snd.Close()
	c.u.mu.Lock()
	c.u.free = append(c.u.free, c.idx)
	c.u.mu.Unlock()
	return nil
}

// stream is one dedicated connection used as an ordered message stream.
// Its reactor retains each message and hands it to Recv through in.
type stream struct {
	c      *socket.Conn
	snd    *socket.Sender
	in     chan socket.Message
	quit   chan struct{}
	once   sync.Once
	ctx    context.Context // ends at Close: unblocks a Send on a full queue
	cancel context.CancelFunc

	held    socket.Message // the message Recv returned last, released at the next Recv
	holding bool
}

// OnMessage hands m, retained, to Recv; it blocks while Recv is behind,
// which stops the reader: TCP pushes back on the server.
func (s *stream) OnMessage(_ *socket.Conn, m socket.Message) socket.Action {
	m.Retain()
	select {
	case s.in <- m:
		return socket.Continue
	case <-s.quit:
		m.Release()
		return socket.Disconnect
	}
}

// Send queues p (copied) as one data frame.
func (s *stream) Send(p []byte) error {
	return s.snd.Send(s.ctx, frame.Header{}, p)
}

// Flush reports a closed connection; the socket's writer flushes on its
// own whenever its queue runs empty.
func (s *stream) Flush() error { return s.c.Err() }

// Recv releases the previous message and returns the next one's payload,
// valid until the next Recv.
func (s *stream) Recv() ([]byte, error) {
	if s.holding {
		s.held.Release()
		s.holding = false
	}
	select {
	case <-s.quit:
		return nil, socket.ErrClosed
	default:
	}
	select {
	case m := <-s.in:
		s.held, s.holding = m, true
		return m.Payload, nil
	case <-s.quit:
		return nil, socket.ErrClosed
	case <-s.c.Closed():
		select { // messages that arrived before the close come first
		case m := <-s.in:
			s.held, s.holding = m, true
			return m.Payload, nil
		default:
		}
		return nil, s.c.Err()
	}
}

// Close closes the connection (a blocked Send, Recv or OnMessage returns)
// and releases the messages still queued for Recv.
func (s *stream) Close() error {
	s.once.Do(func() {
		close(s.quit)
		s.cancel()
		s.snd.Close()
		_ = s.c.Close()
		for {
			select {
			case m := <-s.in:
				m.Release()
			default:
				return
			}
		}
	})
	return nil
}
