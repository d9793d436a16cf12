package socketsys

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/bench/internal/load/loadtest"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

func TestRunStreamScenarios(t *testing.T) {
	loadtest.RunScenarios(t, New(), 2, 300*time.Millisecond,
		loadtest.Scenario{Scenario: load.Pipelined, Concurrency: 64},
		loadtest.Scenario{Scenario: load.Bidi, Concurrency: 256})
}

// Every echo comes back unchanged and in order: each message carries its
// index, read back from Recv.
func TestEchoInOrder(t *testing.T) {
	ctx := context.Background()
	opts := load.Options{Scenario: load.Pipelined, Payload: 16, Conns: 1, Concurrency: 64}
	srv, err := New().Serve(ctx, "127.0.0.1:0", opts)
	require.NoError(t, err)
	defer srv.Close()
	c, err := New().Dial(ctx, srv.Addr(), opts)
	require.NoError(t, err)
	defer c.Close()
	st, err := c.OpenStream(ctx, 0)
	require.NoError(t, err)
	p := make([]byte, 16)
	const n = 10_000
	for sent, got := 0, 0; got < n; {
		for sent < n && sent-got < 64 {
			load.PutStamp(p, int64(sent))
			require.NoError(t, st.Send(p))
			sent++
		}
		require.NoError(t, st.Flush())
		for sent-got > 32 || (sent == n && got < n) {
			m, err := st.Recv()
			require.NoError(t, err)
			require.Len(t, m, 16)
			require.Equal(t, int64(got), load.Stamp(m))
			got++
		}
	}
	require.NoError(t, st.Close())
	_, err = st.Recv()
	assert.ErrorIs(t, err, errClosed, "Recv after Close")
}

func TestUnsupportedScenarios(t *testing.T) {
	ctx := context.Background()
	opts := load.Options{Scenario: load.Unary, Payload: 16, Conns: 1, Concurrency: 1}
	srv, err := New().Serve(ctx, "127.0.0.1:0", opts)
	require.NoError(t, err)
	defer srv.Close()
	c, err := New().Dial(ctx, srv.Addr(), opts)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.NewCaller(0)
	assert.ErrorIs(t, err, ErrUnsupported)
	opts.Scenario = load.ServerStream
	c2, err := New().Dial(ctx, srv.Addr(), opts)
	require.NoError(t, err)
	defer c2.Close()
	_, err = c2.OpenStream(ctx, 0)
	assert.ErrorIs(t, err, ErrUnsupported)
}

func TestDialUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	_, err = New().Dial(context.Background(), addr, load.Options{Scenario: load.Pipelined, Conns: 1})
	require.Error(t, err)
}

// A reply of an earlier stream on the connection (a phase's, arriving
// after its grace period) is not Recv'd by the next one: the server here
// holds the first stream's echoes until the second stream is open, then
// echoes everything in order. Before, the second stream's first Recv
// returned the first stream's message.
func TestLateRepliesStayInTheirPhase(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ln, err := socket.Listen(ctx, "tcp", "127.0.0.1:0", socket.Options{})
	require.NoError(t, err)
	release := make(chan struct{})
	var released sync.Once
	defer released.Do(func() { close(release) })
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	held := socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
		<-release
		return echo(c, b)
	})
	wg.Go(func() {
		_ = socket.Serve(ctx, ln, func(*socket.Conn) socket.Reactor { return held }, socket.Options{})
	})

	opts := load.Options{Scenario: load.Pipelined, Payload: 16, Conns: 1, Concurrency: 64}
	c, err := New().Dial(ctx, ln.Addr().String(), opts)
	require.NoError(t, err)
	defer c.Close()
	p := make([]byte, 16)

	first, err := c.OpenStream(ctx, 0)
	require.NoError(t, err)
	for i := range 10 {
		load.PutStamp(p, int64(1+i))
		require.NoError(t, first.Send(p))
	}
	require.NoError(t, first.Flush())
	require.NoError(t, first.Close()) // the phase ended unanswered

	second, err := c.OpenStream(ctx, 0)
	require.NoError(t, err)
	load.PutStamp(p, 100)
	require.NoError(t, second.Send(p))
	require.NoError(t, second.Flush())
	released.Do(func() { close(release) })
	m, err := second.Recv()
	require.NoError(t, err)
	assert.Equal(t, int64(100), load.Stamp(m), "the second stream received the first one's reply")
	require.NoError(t, second.Close())
}

// heldServer is a socket echo whose reactor waits for release before
// each batch, counting the messages it echoed by Header.Stream (the
// stream's epoch).
type heldServer struct {
	addr    string
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	echoed  map[uint32]int
}

func startHeld(t *testing.T) *heldServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := socket.Listen(ctx, "tcp", "127.0.0.1:0", socket.Options{})
	require.NoError(t, err)
	s := &heldServer{addr: ln.Addr().String(), release: make(chan struct{}), echoed: map[uint32]int{}}
	held := socket.BatchFunc(func(c *socket.Conn, b *socket.Batch) socket.Action {
		<-s.release
		for m, ok := b.Next(); ok; m, ok = b.Next() {
			s.mu.Lock()
			s.echoed[m.Header.Stream]++
			s.mu.Unlock()
			if b.Reply(m.Header, m.Payload) != nil {
				return socket.Disconnect
			}
		}
		return socket.Continue
	})
	var wg sync.WaitGroup
	wg.Go(func() {
		_ = socket.Serve(ctx, ln, func(*socket.Conn) socket.Reactor { return held }, socket.Options{})
	})
	t.Cleanup(func() { s.open(); cancel(); wg.Wait() })
	return s
}

func (s *heldServer) open() { s.once.Do(func() { close(s.release) }) }

func (s *heldServer) count(epoch uint32) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.echoed[epoch]
}

// A phase that ends by its grace period while the server reads nothing
// ends: up to 512 messages of 1 MiB in flight overflow the connection's
// queue (4 MiB) and the socket buffers (tens of MiB at most, e.g.
// tcp_rmem's 32 MiB), so a Send blocks, and the stream's Close at the end
// of the grace period releases it (it waited on context.Background()
// before, and the load loop never returned). The timed-out phase's
// messages, echoed once the server goes on, are not counted by the next
// phase on the same connection: it has no error, and no more answers than
// the server echoed of its own epoch.
func TestPhaseTimedOutOnStalledServer(t *testing.T) {
	srv := startHeld(t)
	ctx := context.Background()
	opts := load.Options{Scenario: load.Pipelined, Payload: 1 << 20, Conns: 1, Concurrency: 512}
	c, err := New().Dial(ctx, srv.addr, opts)
	require.NoError(t, err)
	defer c.Close()
	cfg := load.Config{Options: opts, Duration: time.Second, Grace: 300 * time.Millisecond}

	type ran struct {
		res *load.Result
		err error
	}
	done := make(chan ran, 1)
	go func() {
		res, err := load.Run(ctx, c, cfg)
		done <- ran{res, err}
	}()
	var first ran
	select {
	case first = <-done:
	case <-time.After(time.Minute): // the phase lasts 1.3 s
		srv.open() // lets the blocked Send go on, so the test ends
		<-done
		t.Fatal("the phase did not end at its grace period: a Send blocked on the stalled server")
	}
	require.ErrorIs(t, first.err, load.ErrNoProgress)
	assert.Zero(t, first.res.Ops)
	t.Logf("first phase: %d errors, first %v", first.res.Errors, first.res.FirstError)
	epoch1 := c.(*client).conns[0].q.epoch
	assert.Zero(t, srv.count(epoch1), "the server echoed nothing yet")

	srv.open()
	cfg.Grace = 0       // the default
	cfg.Concurrency = 8 // 8 MiB in flight, not 512
	cfg.Duration = time.Second / 2
	second, err := load.Run(ctx, c, cfg)
	require.NoError(t, err)
	assert.Zero(t, second.Errors, "first error: %v", second.FirstError)
	assert.Positive(t, second.Ops)
	epoch2 := c.(*client).conns[0].q.epoch
	require.NotEqual(t, epoch1, epoch2)
	assert.LessOrEqual(t, second.Ops, int64(srv.count(epoch2)), "answers the server never echoed in this phase")
	assert.Positive(t, srv.count(epoch1), "the first phase's messages were echoed (late)")
}

// A Close of an earlier stream that comes after the next one opened (the
// load loop's grace timer closes a stream from its own goroutine) leaves
// the next stream open.
func TestLateCloseLeavesTheNextStream(t *testing.T) {
	ctx := context.Background()
	opts := load.Options{Scenario: load.Pipelined, Payload: 16, Conns: 1, Concurrency: 64}
	srv, err := New().Serve(ctx, "127.0.0.1:0", opts)
	require.NoError(t, err)
	defer srv.Close()
	c, err := New().Dial(ctx, srv.Addr(), opts)
	require.NoError(t, err)
	defer c.Close()
	first, err := c.OpenStream(ctx, 0)
	require.NoError(t, err)
	_, err = c.OpenStream(ctx, 0)
	require.ErrorIs(t, err, errStreamOpen, "two open streams on one connection")
	require.NoError(t, first.Close()) // the worker's Close
	second, err := c.OpenStream(ctx, 0)
	require.NoError(t, err)
	_, err = first.Recv()
	assert.ErrorIs(t, err, errClosed, "Recv of a stream a later one replaced")
	require.NoError(t, first.Close()) // the grace timer's, late

	p := make([]byte, 16)
	load.PutStamp(p, 7)
	require.NoError(t, second.Send(p))
	require.NoError(t, second.Flush())
	m, err := second.Recv()
	require.NoError(t, err, "the earlier stream's Close closed this one")
	assert.Equal(t, int64(7), load.Stamp(m))
	require.NoError(t, second.Close())
}

// When the connection closes, every stream on it ends, one opened after
// it too.
func TestConnCloseEndsStreams(t *testing.T) {
	ctx := context.Background()
	opts := load.Options{Scenario: load.Pipelined, Payload: 16, Conns: 1, Concurrency: 64}
	srv, err := New().Serve(ctx, "127.0.0.1:0", opts)
	require.NoError(t, err)
	c, err := New().Dial(ctx, srv.Addr(), opts)
	require.NoError(t, err)
	defer c.Close()
	st, err := c.OpenStream(ctx, 0)
	require.NoError(t, err)
	require.NoError(t, srv.Close())
	_, err = st.Recv()
	assert.ErrorIs(t, err, errClosed)
	cn := c.(*client).conns[0]
	<-cn.conn.Closed()
	require.NoError(t, st.Close())
	epoch, ok := cn.q.reset() // as an OpenStream that passed its Err check just before
	require.True(t, ok)
	_, err = cn.q.pop(epoch, nil)
	assert.ErrorIs(t, err, errClosed, "a stream opened as the connection closed")
}
