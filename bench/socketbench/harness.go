package socketbench

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/bench/internal/rawsys"
	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// msgSize is the payload of every message; the first 8 bytes carry its
// sequence number, checked on the way back.
const msgSize = 16

// errTimeout ends a measurement that stopped making progress.
var errTimeout = errors.New("socketbench: no progress for 10 s")

// stall bounds every wait of the harness.
const stall = 10 * time.Second

// echoClient is one client connection of a system under test.
type echoClient interface {
	// send queues one message.
	send(p []byte) error
	// flush writes what send buffered (no-op for socket, whose writer
	// flushes when its queue runs empty).
	flush() error
	// pipe is the shared counter state of pipelined runs.
	pipe() *pipeState
	// roundTrip sends p and waits for its echo.
	roundTrip(p []byte) error
	// framesPerWrite is the client's frames per write syscall (0 if
	// the system does not count them).
	framesPerWrite() float64
	close()
}

// pipeState is what the receiving side of a pipelined run shares with the
// sender: messages received, the first error, and a wake-up for a sender
// waiting for the window to open.
type pipeState struct {
	sent    atomic.Int64
	recvd   atomic.Int64
	low     atomic.Int64 // the sender waits until sent-recvd <= low
	waiting atomic.Bool
	wake    chan struct{}
	dead    chan struct{} // closed on a receive error
	errOnce sync.Once
	err     error
	next    uint64      // sequence number expected next (receiver only)
	timer   *time.Timer // bounds each wait; reused so waiting allocates nothing
}

func newPipeState() *pipeState {
	t := time.NewTimer(stall)
	t.Stop()
	return &pipeState{wake: make(chan struct{}, 1), dead: make(chan struct{}), timer: t}
}

func (ps *pipeState) fail(err error) {
	ps.errOnce.Do(func() { ps.err = err; close(ps.dead) })
}

// received accounts one echoed message whose payload is p.
func (ps *pipeState) received(p []byte) {
	if len(p) != msgSize || binary.LittleEndian.Uint64(p) != ps.next {
		ps.fail(fmt.Errorf("socketbench: echo %d out of order or changed (%d bytes)", ps.next, len(p)))
		return
	}
	ps.next++
	r := ps.recvd.Add(1)
	if ps.waiting.Load() && ps.sent.Load()-r <= ps.low.Load() && ps.waiting.CompareAndSwap(true, false) {
		ps.wake <- struct{}{}
	}
}

// waitBelow blocks until at most low messages are in flight.
func (ps *pipeState) waitBelow(low int64) error {
	ps.low.Store(low)
	for ps.sent.Load()-ps.recvd.Load() > low {
		ps.waiting.Store(true)
		if ps.sent.Load()-ps.recvd.Load() <= low && ps.waiting.CompareAndSwap(true, false) {
			continue // the window opened: nobody will wake us
		}
		ps.timer.Reset(stall)
		select {
		case <-ps.wake:
			ps.timer.Stop()
		case <-ps.dead:
			ps.timer.Stop()
			return ps.err
		case <-ps.timer.C:
			return errTimeout
		}
	}
	return nil
}

// pipeline sends n messages through c with at most window in flight,
// refilling the window when half of it has come back, and returns once
// all n are echoed.
func pipeline(c echoClient, n, window int) error {
	ps := c.pipe()
	p := make([]byte, msgSize)
	seq := uint64(ps.sent.Load())
	end := ps.sent.Load() + int64(n)
	for ps.sent.Load() < end {
		for ps.sent.Load() < end && ps.sent.Load()-ps.recvd.Load() < int64(window) {
			binary.LittleEndian.PutUint64(p, seq)
			seq++
			ps.sent.Add(1)
			if err := c.send(p); err != nil {
				return err
			}
		}
		if err := c.flush(); err != nil {
			return err
		}
		if err := ps.waitBelow(int64(window / 2)); err != nil {
			return err
		}
	}
	return ps.waitBelow(0)
}

// ---- protosocket ----

// psServer is a socket echo server; it keeps its connections to read
// their counters.
type psServer struct {
	ln     *socket.Listener
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	conns  []*socket.Conn
}

// echoOne is the one-message echo: a plain Reactor whose OnMessage
// answers each message with Conn.Reply.
var echoOne = socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
	if c.Reply(m.Header, m.Payload) != nil {
		return socket.Disconnect
	}
	return socket.Continue
})

// echoBatch is the batch echo: a BatchReactor answering every message of
// a read batch with Batch.Reply.
var echoBatch = socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
	for m, ok := b.Next(); ok; m, ok = b.Next() {
		if b.Reply(m.Header, m.Payload) != nil {
			return socket.Disconnect
		}
	}
	return socket.Continue
})

// startPS starts the batch echo server (startPSWith(true)).
func startPS() (*psServer, error) { return startPSWith(true) }

// startPSWith starts a socket echo server, with the batch API or the
// one-message one.
func startPSWith(batch bool) (*psServer, error) {
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := socket.Listen(ctx, "tcp", "127.0.0.1:0", socket.Options{})
	if err != nil {
		cancel()
		return nil, err
	}
	s := &psServer{ln: ln, cancel: cancel, done: make(chan struct{})}
	var echo socket.Reactor = echoOne
	if batch {
		echo = echoBatch
	}
	go func() {
		defer close(s.done)
		_ = socket.Serve(ctx, ln, func(c *socket.Conn) socket.Reactor {
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			return echo
		}, socket.Options{})
	}()
	return s, nil
}

func (s *psServer) addr() string { return s.ln.Addr().String() }

// stats sums the counters of the server's connections.
func (s *psServer) stats() socket.Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	var t socket.Stats
	for _, c := range s.conns {
		st := c.Stats()
		t.FramesOut += st.FramesOut
		t.WriteSyscalls += st.WriteSyscalls
	}
	return t
}

func (s *psServer) close() {
	s.cancel()
	<-s.done
}

// psClient is a socket client connection whose reactor checks and counts
// the echoes (pipelined) or hands them to roundTrip. With batch it sends
// through a socket.SendBatch (one Send per refill of the window) and
// takes read batches (OnBatch); without, it uses the one-message APIs
// (Sender.Send per message, OnMessage).
type psClient struct {
	c     *socket.Conn
	snd   *socket.Sender
	sb    socket.SendBatch
	batch bool
	ps    *pipeState
	rt    chan struct{} // one-in-flight replies
}

// psBatchClient is a psClient whose reactor is a BatchReactor.
type psBatchClient struct{ *psClient }

// OnBatch implements socket.BatchReactor.
func (bc psBatchClient) OnBatch(c *socket.Conn, b *socket.Batch) socket.Action {
	for m, ok := b.Next(); ok; m, ok = b.Next() {
		bc.OnMessage(c, m)
	}
	return socket.Continue
}

func dialPS(addr string, batch bool) (*psClient, error) {
	pc := &psClient{ps: newPipeState(), rt: make(chan struct{}, 1), batch: batch}
	var r socket.Reactor = pc
	if batch {
		r = psBatchClient{pc}
	}
	c, err := socket.Dial(context.Background(), "tcp", addr, r, socket.Options{})
	if err != nil {
		return nil, err
	}
	pc.c, pc.snd = c, c.NewSender(nil)
	pc.sb = pc.snd.Batch()
	return pc, nil
}

// OnMessage implements socket.Reactor.
func (pc *psClient) OnMessage(_ *socket.Conn, m socket.Message) socket.Action {
	if m.Header.Stream == 1 { // round trip
		pc.rt <- struct{}{}
		return socket.Continue
	}
	pc.ps.received(m.Payload)
	return socket.Continue
}

func (pc *psClient) send(p []byte) error {
	if !pc.batch {
		return pc.snd.Send(context.Background(), frame.Header{}, p)
	}
	err := pc.sb.Append(frame.Header{}, p)
	if errors.Is(err, socket.ErrBatchFull) {
		if err = pc.sb.Send(context.Background()); err == nil {
			err = pc.sb.Append(frame.Header{}, p)
		}
	}
	return err
}

// flush queues what send appended (batch); the writer flushes when its
// queue runs empty.
func (pc *psClient) flush() error {
	if !pc.batch {
		return nil
	}
	return pc.sb.Send(context.Background())
}

func (pc *psClient) pipe() *pipeState        { return pc.ps }
func (pc *psClient) framesPerWrite() float64 { return pc.c.Stats().FramesPerWrite() }

func (pc *psClient) roundTrip(p []byte) error {
	if err := pc.snd.Send(context.Background(), frame.Header{Stream: 1}, p); err != nil {
		return err
	}
	t := pc.ps.timer // roundTrip and pipeline are not used at once
	t.Reset(stall)
	defer t.Stop()
	select {
	case <-pc.rt:
		return nil
	case <-pc.c.Closed():
		return pc.c.Err()
	case <-t.C:
		return errTimeout
	}
}

func (pc *psClient) close() {
	pc.snd.Close()
	_ = pc.c.Close()
}

// ---- minimal echo (rawsys) ----

// rawClient speaks rawsys's echo mode: 4-byte big-endian length, body.
// A reader goroutine counts pipelined echoes; roundTrip is used only when
// no pipeline runs and reads the reply itself.
type rawClient struct {
	nc      net.Conn
	bw      *bufio.Writer
	br      *bufio.Reader
	ps      *pipeState
	hdr     [4]byte
	rhdr    [4]byte
	rbuf    []byte
	reading sync.WaitGroup
}

func dialRaw(addr string) (*rawClient, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if _, err := nc.Write([]byte{'E'}); err != nil {
		_ = nc.Close()
		return nil, err
	}
	return &rawClient{nc: nc, bw: bufio.NewWriterSize(nc, 64<<10), br: bufio.NewReaderSize(nc, 64<<10), ps: newPipeState(), rbuf: make([]byte, msgSize)}, nil
}

// startReader runs the pipelined receiver until the connection closes.
func (rc *rawClient) startReader() {
	rc.reading.Go(func() {
		for {
			if err := rc.readOne(); err != nil {
				rc.ps.fail(err)
				return
			}
			rc.ps.received(rc.rbuf)
		}
	})
}

func (rc *rawClient) readOne() error {
	if _, err := io.ReadFull(rc.br, rc.rhdr[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(rc.rhdr[:])
	if n != msgSize {
		return fmt.Errorf("socketbench: raw echo of %d bytes", n)
	}
	_, err := io.ReadFull(rc.br, rc.rbuf)
	return err
}

func (rc *rawClient) send(p []byte) error {
	binary.BigEndian.PutUint32(rc.hdr[:], uint32(len(p)))
	if _, err := rc.bw.Write(rc.hdr[:]); err != nil {
		return err
	}
	_, err := rc.bw.Write(p)
	return err
}

func (rc *rawClient) flush() error            { return rc.bw.Flush() }
func (rc *rawClient) pipe() *pipeState        { return rc.ps }
func (rc *rawClient) framesPerWrite() float64 { return 0 }

func (rc *rawClient) roundTrip(p []byte) error {
	if err := rc.send(p); err != nil {
		return err
	}
	if err := rc.bw.Flush(); err != nil {
		return err
	}
	return rc.readOne()
}

func (rc *rawClient) close() {
	_ = rc.nc.Close()
	rc.reading.Wait()
}

// startRaw starts the rawsys echo server.
func startRaw() (load.Server, error) {
	return rawsys.New().Serve(context.Background(), "127.0.0.1:0", load.Options{})
}
