package rawsys

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/protosocket-go/protosocket/bench/internal/load"
)

// Dial connects opts.Conns echo connections for the unary scenario; for
// the streaming ones it checks that the server answers and opens one
// connection per stream later.
func (System) Dial(ctx context.Context, addr string, opts load.Options) (load.Client, error) {
	c := &client{addr: addr, opts: opts}
	if !opts.Scenario.Streaming() {
		for range max(opts.Conns, 1) {
			uc, err := c.dialUnary(ctx)
			if err != nil {
				_ = c.Close()
				return nil, err
			}
			c.conns = append(c.conns, uc)
		}
		return c, nil
	}
	nc, err := c.dial(ctx, modeEcho)
	if err != nil {
		return nil, err
	}
	_ = nc.Close()
	return c, nil
}

type client struct {
	addr  string
	opts  load.Options
	conns []*uconn
}

func (c *client) dial(ctx context.Context, mode byte) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", c.addr)
	if err != nil {
		return nil, fmt.Errorf("rawsys: %w", err)
	}
	if _, err := nc.Write([]byte{mode}); err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("rawsys: %w", err)
	}
	return nc, nil
}

func (c *client) Close() error {
	for _, uc := range c.conns {
		uc.fail(ErrClosed)
		uc.wg.Wait()
	}
	return nil
}

// NewCaller returns a caller on connection i % Conns.
func (c *client) NewCaller(i int) (load.Caller, error) {
	if len(c.conns) == 0 {
		return nil, fmt.Errorf("rawsys: client dialed for %s has no unary connections", c.opts.Scenario)
	}
	uc := c.conns[i%len(c.conns)]
	return uc.newCaller(c.opts.Payload)
}

// OpenStream opens a dedicated connection for one stream.
func (c *client) OpenStream(ctx context.Context, _ int) (load.Stream, error) {
	mode := byte(modeEcho)
	if c.opts.Scenario == load.ServerStream {
		mode = modeStream
	}
	nc, err := c.dial(ctx, mode)
	if err != nil {
		return nil, err
	}
	s := &stream{c: nc, br: bufio.NewReaderSize(nc, bufSize), bw: bufio.NewWriterSize(nc, bufSize),
		rbuf: make([]byte, 0, c.opts.Payload)} // reused, made before the measured window (load.Stream)
	if mode == modeStream {
		var hdr [hdrSize]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(c.opts.Payload))
		if _, err := nc.Write(hdr[:]); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("rawsys: %w", err)
		}
	}
	return s, nil
}

// stream is one connection used as an ordered message stream.
type stream struct {
	c    net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	hdr  [hdrSize]byte
	rhdr [hdrSize]byte
	rbuf []byte
	once sync.Once
}

func (s *stream) Send(p []byte) error {
	binary.BigEndian.PutUint32(s.hdr[:], uint32(len(p)))
	if _, err := s.bw.Write(s.hdr[:]); err != nil {
		return err
	}
	_, err := s.bw.Write(p)
	return err
}

func (s *stream) Flush() error { return s.bw.Flush() }

func (s *stream) Recv() ([]byte, error) {
	var err error
	s.rbuf, err = readFrame(s.br, &s.rhdr, s.rbuf, load.MaxPayload)
	return s.rbuf, err
}

func (s *stream) Close() error {
	s.once.Do(func() { _ = s.c.Close() })
	return nil
}

// uconn is one connection shared by many unary callers: writes coalesce
// (the last writer in flushes), one reader goroutine completes calls
// through a slot table indexed by the id in the frame.
type uconn struct {
	c       net.Conn
	wmu     sync.Mutex
	bw      *bufio.Writer
	pending atomic.Int32

	smu   sync.Mutex
	slots atomic.Pointer[[]*slot] // copy on grow; read by the reader
	free  []uint32

	replySize int // id and payload of a reply: the reader's buffer
	dead      chan struct{}
	deadOnce  sync.Once
	err       error // set before dead is closed
	wg        sync.WaitGroup
}

// slot is a caller's completion cell: seq tells the current call from a
// late reply to an abandoned one.
type slot struct {
	seq  atomic.Uint32
	done chan uint32
}

func (c *client) dialUnary(ctx context.Context) (*uconn, error) {
	nc, err := c.dial(ctx, modeEcho)
	if err != nil {
		return nil, err
	}
	uc := &uconn{c: nc, bw: bufio.NewWriterSize(nc, bufSize), dead: make(chan struct{}), replySize: idSize + c.opts.Payload}
	empty := []*slot{}
	uc.slots.Store(&empty)
	uc.wg.Go(uc.readLoop)
	return uc, nil
}

func (uc *uconn) fail(err error) {
	uc.deadOnce.Do(func() {
		uc.err = err
		close(uc.dead)
		_ = uc.c.Close()
	})
}

func (uc *uconn) readLoop() {
	br := bufio.NewReaderSize(uc.c, bufSize)
	buf := make([]byte, 0, uc.replySize) // reused; made before any measured window
	hdr := new([hdrSize]byte)
	for {
		var err error
		buf, err = readFrame(br, hdr, buf, maxFrame)
		if err != nil {
			uc.fail(fmt.Errorf("%w: %w", ErrClosed, err))
			return
		}
		if len(buf) < idSize {
			uc.fail(fmt.Errorf("%w: reply of %d bytes has no id", ErrProtocol, len(buf)))
			return
		}
		id := binary.BigEndian.Uint64(buf)
		idx, seq := uint32(id>>32), uint32(id)
		slots := *uc.slots.Load()
		if int(idx) >= len(slots) {
			continue // unknown id: ignore
		}
		s := slots[idx]
		if s.seq.Load() != seq {
			continue // reply to an abandoned call
		}
		select {
		case s.done <- seq:
		default:
		}
	}
}

func (uc *uconn) newCaller(payload int) (*caller, error) {
	uc.smu.Lock()
	defer uc.smu.Unlock()
	select {
	case <-uc.dead:
		return nil, uc.err
	default:
	}
	var idx uint32
	slots := *uc.slots.Load()
	if n := len(uc.free); n > 0 {
		idx = uc.free[n-1]
		uc.free = uc.free[:n-1]
	} else {
		idx = uint32(len(slots))
		grown := append(append([]*slot(nil), slots...), &slot{done: make(chan uint32, 1)})
		uc.slots.Store(&grown)
		slots = grown
	}
	buf := make([]byte, hdrSize+idSize+payload)
	binary.BigEndian.PutUint32(buf, uint32(idSize+payload))
	return &caller{uc: uc, idx: idx, s: slots[idx], buf: buf}, nil
}

type caller struct {
	uc  *uconn
	idx uint32
	s   *slot
	buf []byte
}

var errPayloadSize = errors.New("rawsys: request size differs from the dialed payload")

func (c *caller) Call(ctx context.Context, req []byte) error {
	if len(req) != len(c.buf)-hdrSize-idSize {
		return errPayloadSize
	}
	uc := c.uc
	seq := c.s.seq.Add(1)
	binary.BigEndian.PutUint64(c.buf[hdrSize:], uint64(c.idx)<<32|uint64(seq))
	copy(c.buf[hdrSize+idSize:], req)

	uc.pending.Add(1)
	uc.wmu.Lock()
	_, err := uc.bw.Write(c.buf)
	if uc.pending.Add(-1) == 0 && err == nil {
		err = uc.bw.Flush()
	}
	uc.wmu.Unlock()
	if err != nil {
		uc.fail(fmt.Errorf("%w: %w", ErrClosed, err))
		return uc.err
	}
	for {
		select {
		case got := <-c.s.done:
			if got == seq {
				return nil
			}
		case <-uc.dead:
			return uc.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (c *caller) Close() error {
	c.s.seq.Add(1) // any late reply is now stale
	c.uc.smu.Lock()
	c.uc.free = append(c.uc.free, c.idx)
	c.uc.smu.Unlock()
	return nil
}
