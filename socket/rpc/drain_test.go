package rpc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// class names the one class of the error contract err belongs to (the
// package doc's table) and fails the test when it matches none or more
// than one.
func class(t testing.TB, err error) string {
	t.Helper()
	if err == nil {
		return "ok"
	}
	var e *rpc.Error
	var got []string
	if errors.Is(err, rpc.ErrUnavailable) {
		got = append(got, "unavailable")
	}
	if errors.Is(err, rpc.ErrClosed) {
		got = append(got, "closed")
	}
	if errors.Is(err, context.Canceled) || (errors.Is(err, context.DeadlineExceeded) && !errors.As(err, &e)) {
		got = append(got, "ctx")
	}
	if len(got) == 0 && errors.As(err, &e) {
		got = append(got, "coded")
	}
	if len(got) != 1 {
		t.Errorf("error %q (%T) is in %d classes of the contract %v, want exactly 1", err, err, len(got), got)
		return "bad"
	}
	return got[0]
}

// countingServer serves mEcho (Pooled) and mEchoInline and counts the
// calls its handlers ran.
type countingServer struct {
	srv       *rpc.Server
	addr      string
	processed atomic.Int64
}

func startCounting(t testing.TB) *countingServer {
	t.Helper()
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	cs := &countingServer{srv: srv}
	echo := func(_ context.Context, req, dst []byte) ([]byte, error) {
		cs.processed.Add(1)
		return append(dst, req...), nil
	}
	srv.Handle(mEcho, echo, rpc.Pooled)
	srv.Handle(mEchoInline, echo, rpc.Inline)
	cs.addr = serve(t, srv)
	return cs
}

// TestDrainUnderLoadLosesNothing drains a server under the load of 64
// callers, again and again. Every call succeeds on it, or is refused as
// not processed (ErrUnavailable) and then succeeds on the standby server;
// every call the drained server ran reached its caller.
func TestDrainUnderLoadLosesNothing(t *testing.T) {
	rounds := 50
	if testing.Short() {
		rounds = 10
	}
	var totalOK, totalRefused int64
	for round := range rounds {
		a, b := startCounting(t), startCounting(t)
		ca := dial(t, a.addr, rpc.ClientOptions{})
		cb := dial(t, b.addr, rpc.ClientOptions{})
		ctx, cancelRound := context.WithTimeout(context.Background(), time.Minute)
		defer cancelRound()
		var okA, okB, refused, lost atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i := range 64 {
			// The caller is made before its goroutine runs: on a loaded
			// machine a goroutine could first run after the drain closed
			// the connection (NewCaller: connection closed).
			k, err := ca.NewCaller()
			require.NoError(t, err)
			wg.Go(func() {
				method := mEcho
				if i%2 == 1 {
					method = mEchoInline
				}
				defer k.Close()
				var req, dst []byte
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					req = fmt.Appendf(req[:0], "%d/%d/%d", round, i, n)
					dst, err = k.Call(ctx, method, req, dst[:0])
					switch class(t, err) {
					case "ok":
						assert.Equal(t, string(req), string(dst))
						okA.Add(1)
						continue
					case "unavailable":
						refused.Add(1)
						dst, err = cb.Call(ctx, method, req, dst[:0])
						if err == nil && bytes.Equal(dst, req) {
							okB.Add(1)
							continue
						}
					}
					lost.Add(1)
					t.Errorf("round %d: call %s lost: %v", round, req, err)
					return
				}
			})
		}
		time.Sleep(30 * time.Millisecond) // load before the drain
		dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		require.NoError(t, a.srv.Drain(dctx), "round %d", round)
		cancel()
		time.Sleep(10 * time.Millisecond) // the callers move over
		close(stop)
		wg.Wait()
		wait(t, ca.Closed()) // the client closed the drained connection itself
		require.Zero(t, lost.Load())
		require.Equal(t, a.processed.Load(), okA.Load(), "round %d: every call the drained server ran reached its caller", round)
		require.Equal(t, b.processed.Load(), okB.Load(), "round %d: every refused call succeeded on retry", round)
		require.Equal(t, refused.Load(), okB.Load())
		totalOK += okA.Load()
		totalRefused += refused.Load()
		require.NoError(t, b.srv.Close())
	}
	t.Logf("%d drains: %d calls answered by the draining server, %d refused unprocessed and retried, 0 lost", rounds, totalOK, totalRefused)
}

// TestDrainEndsStreamsUnavailable: a stream handler that watches
// Draining ends its stream with ErrUnavailable; one that does not is
// ended by the server with CodeUnavailable; either way the client's Recv
// says "unavailable" (resubscribe elsewhere) and Drain does not wait for
// its deadline.
func TestDrainEndsStreamsUnavailable(t *testing.T) {
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	const sWatch, sIgnore uint32 = 1, 2
	handlerErrs := make(chan error, 2)
	srv.HandleStream(sWatch, func(ctx context.Context, st *rpc.ServerStream) error {
		for {
			select {
			case <-st.Draining():
				handlerErrs <- nil
				return rpc.ErrUnavailable
			case <-time.After(time.Millisecond):
				if err := st.Send([]byte("tick")); err != nil {
					handlerErrs <- err
					return err
				}
			}
		}
	})
	srv.HandleStream(sIgnore, func(ctx context.Context, st *rpc.ServerStream) error {
		if err := st.Send([]byte("hello")); err != nil {
			return err
		}
		<-ctx.Done() // ignores Draining: the server ends it
		handlerErrs <- ctx.Err()
		return ctx.Err()
	})
	addr := serve(t, srv)
	c := dial(t, addr, rpc.ClientOptions{})
	ctx := testCtx(t)
	var sts []*rpc.ClientStream
	for _, m := range []uint32{sWatch, sIgnore} {
		st, err := c.OpenStream(ctx, m, nil)
		require.NoError(t, err)
		defer st.Close()
		_, err = st.Recv(nil) // open and flowing
		require.NoError(t, err)
		sts = append(sts, st)
	}
	drained := make(chan error, 1)
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	go func() { drained <- srv.Drain(dctx) }()
	for i, st := range sts {
		var err error
		for err == nil {
			_, err = st.Recv(nil)
		}
		assert.ErrorIs(t, err, rpc.ErrUnavailable, "stream %d ends unavailable", i)
		assert.Equal(t, "unavailable", class(t, err))
		st.Close()
	}
	require.NoError(t, <-drained, "Drain finished without waiting for its deadline")
	for range 2 {
		select {
		case <-handlerErrs:
		case <-time.After(10 * time.Second):
			t.Fatal("a stream handler was not told of the drain")
		}
	}
	wait(t, c.Closed())
	_, err = c.OpenStream(ctx, sWatch, nil)
	require.ErrorIs(t, err, rpc.ErrUnavailable, "after the drain a stream is not opened")
}

// TestKillUnderLoadErrClosedOnly kills a server (listener and
// connections closed at once) with calls in flight under 64 callers:
// every call the server may have run fails with ErrClosed, never with
// ErrUnavailable, and a call that failed as not sent never ran.
func TestKillUnderLoadErrClosedOnly(t *testing.T) {
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	var processed atomic.Int64
	entered := make(chan struct{}, 64)
	srv.Handle(mBlock, func(ctx context.Context, req, dst []byte) ([]byte, error) {
		processed.Add(1)
		select {
		case entered <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return dst, ctx.Err()
	}, rpc.Pooled)
	srv.Handle(mEchoInline, func(_ context.Context, req, dst []byte) ([]byte, error) {
		processed.Add(1)
		return append(dst, req...), nil
	}, rpc.Inline)
	addr := serve(t, srv)
	c := dial(t, addr, rpc.ClientOptions{})
	ctx := testCtx(t)
	var ok, closed, unavailable atomic.Int64
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			method := mEchoInline
			if i < 16 {
				method = mBlock // in flight when the server dies
			}
			for {
				_, err := c.Call(ctx, method, []byte("x"), nil)
				switch class(t, err) {
				case "ok":
					ok.Add(1)
					continue
				case "closed":
					closed.Add(1)
				case "unavailable":
					unavailable.Add(1)
				default:
					t.Errorf("unexpected error %v", err)
				}
				return
			}
		})
	}
	for range 16 {
		wait(t, entered)
	}
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, srv.Close())
	wg.Wait()
	require.GreaterOrEqual(t, closed.Load(), int64(16), "the calls in flight end with ErrClosed")
	require.GreaterOrEqual(t, processed.Load(), ok.Load())
	require.LessOrEqual(t, processed.Load(), ok.Load()+closed.Load(), "a call refused as not sent never ran")
	t.Logf("kill: %d ok, %d ErrClosed (may have run), %d ErrUnavailable (not sent)", ok.Load(), closed.Load(), unavailable.Load())
}

// TestErrorContract checks the class of each error a call can end with.
func TestErrorContract(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{MaxInFlight: 2, Socket: socket.Options{MaxFrameSize: 1 << 16}})
	ctx := testCtx(t)
	_, err := c.Call(ctx, mFail, []byte("x"), nil)
	assert.Equal(t, "coded", class(t, err))
	_, err = c.Call(ctx, 999, nil, nil)
	assert.Equal(t, "coded", class(t, err))
	assert.ErrorIs(t, err, rpc.ErrUnimplemented)
	// Over the client's own frame limit: refused before sending.
	_, err = c.Call(ctx, mEcho, make([]byte, 1<<16+1), nil)
	assert.Equal(t, "coded", class(t, err))
	assert.ErrorIs(t, err, rpc.ErrResourceExhausted)
	assert.Contains(t, err.Error(), "65536")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.Call(cctx, mEcho, nil, nil)
	assert.Equal(t, "ctx", class(t, err))
	// Slots exhausted: not sent.
	k1, err := c.NewCaller()
	require.NoError(t, err)
	k2, err := c.NewCaller()
	require.NoError(t, err)
	_, err = c.Call(ctx, mEcho, nil, nil)
	assert.Equal(t, "unavailable", class(t, err))
	assert.ErrorIs(t, err, rpc.ErrTooManyCalls)
	k2.Close()
	// A Caller after its Close: closed, no panic.
	_, err = k2.Call(ctx, mEcho, nil, nil)
	assert.Equal(t, "closed", class(t, err))
	assert.ErrorIs(t, err, rpc.ErrCallerClosed)
	assert.ErrorIs(t, k2.Ping(ctx), rpc.ErrCallerClosed)
	assert.ErrorIs(t, k2.Send(ctx, mNotify, nil), rpc.ErrCallerClosed)
	k2.Close() // twice is fine
	// A stream after its Close.
	k1.Close()
	st, err := c.OpenStream(ctx, mStream, nil)
	if err == nil {
		st.Close()
		// Closed, or the server's NotFound if it came first: never a panic.
		closedOrCoded := []string{"closed", "coded"}
		assert.Contains(t, closedOrCoded, class(t, st.Send([]byte("x"))))
		_, err = st.Recv(nil)
		assert.Contains(t, closedOrCoded, class(t, err))
		if err := st.CloseSend(); err != nil {
			assert.Contains(t, closedOrCoded, class(t, err))
		}
		assert.NoError(t, st.Close())
	} else {
		assert.NotEqual(t, "bad", class(t, err))
	}
	// A call in flight when the connection dies: closed (may have run).
	res := make(chan error, 1)
	go func() {
		_, err := c.Call(context.Background(), mBlock, nil, nil)
		res <- err
	}()
	wait(t, ts.entered)
	require.NoError(t, ts.srv.Close())
	assert.Equal(t, "closed", class(t, <-res))
	wait(t, c.Closed())
	// After the death: not sent.
	_, err = c.Call(ctx, mEcho, nil, nil)
	assert.Equal(t, "unavailable", class(t, err))
	assert.NotErrorIs(t, err, io.EOF)
	_, err = c.OpenStream(ctx, mStream, nil)
	assert.Equal(t, "unavailable", class(t, err))
}

// TestKeptContext: a handler's ctx kept past the handler reads canceled
// for good and never shows a later call, on both handler modes.
func TestKeptContext(t *testing.T) {
	for _, mode := range []rpc.Mode{rpc.Pooled, rpc.Inline} {
		srv, err := rpc.NewServer(rpc.ServerOptions{})
		require.NoError(t, err)
		type kept struct {
			ctx, child context.Context
		}
		keep := make(chan kept, 1)
		srv.Handle(1, func(ctx context.Context, req, dst []byte) ([]byte, error) {
			child, cancel := context.WithCancel(ctx) // a goroutine watching ctx
			_ = cancel
			select {
			case keep <- kept{ctx, child}:
			default:
			}
			<-ctx.Done()
			return dst, ctx.Err()
		}, mode)
		srv.Handle(2, func(ctx context.Context, req, dst []byte) ([]byte, error) {
			info, _ := rpc.CallInfoFrom(ctx)
			return fmt.Appendf(dst, "%d", info.ID), nil
		}, mode)
		addr := serve(t, srv)
		c := dial(t, addr, rpc.ClientOptions{})
		ctx := testCtx(t)
		// The call is ended by the server's deadline timer (an inline
		// handler holds the reader: a cancel frame would not be read).
		// The client's context never ends by itself, and its deadline
		// starts when the request is framed (lazyDeadline): with a 20 ms
		// context.WithTimeout, a loaded machine could end the call
		// before its request was sent, and no handler ran to keep its
		// ctx.
		short := &lazyDeadline{Context: ctx, after: 50 * time.Millisecond}
		_, err = c.Call(short, 1, nil, nil)
		require.ErrorIs(t, err, rpc.ErrDeadlineExceeded, "the server's deadline timer ended the call")
		var k kept
		select {
		case k = <-keep:
		case <-time.After(10 * time.Second):
			t.Fatal("the handler did not run")
		}
		wait(t, k.child.Done())
		require.Eventually(t, func() bool { return k.ctx.Err() != nil }, 10*time.Second, time.Millisecond)
		info, ok := rpc.CallInfoFrom(k.ctx)
		require.True(t, ok)
		id := info.ID
		md, err := rpc.Metadata(nil).Append("k", []byte("later call"))
		require.NoError(t, err)
		k2, err := c.NewCaller()
		require.NoError(t, err)
		for range 100 {
			dctx, cancel := context.WithTimeout(ctx, time.Hour)
			_, err := k2.CallMetadata(dctx, 2, md, nil, nil)
			cancel()
			require.NoError(t, err)
			require.ErrorIs(t, k.ctx.Err(), context.Canceled, "mode %d: kept ctx canceled for good", mode)
			wait(t, k.ctx.Done())
			_, has := k.ctx.Deadline()
			require.False(t, has, "no later call's deadline")
			info, ok := rpc.CallInfoFrom(k.ctx)
			require.True(t, ok)
			require.Equal(t, id, info.ID, "its own call, never a later one")
			require.Equal(t, uint32(1), info.Method)
			require.Nil(t, info.Metadata)
		}
		k2.Close()
	}
}

// TestDrainTwice: a second Drain while the first is under way waits for
// the same calls instead of cutting them short.
func TestDrainTwice(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	res := make(chan error, 1)
	go func() {
		got, err := c.Call(context.Background(), mBlock, nil, nil)
		if err == nil && string(got) != "released" {
			err = errors.New("wrong response")
		}
		res <- err
	}()
	wait(t, ts.entered)
	drained := make(chan error, 2)
	for range 2 {
		go func() { drained <- ts.srv.Drain(testCtx(t)) }()
	}
	require.Eventually(t, c.Draining, 10*time.Second, time.Millisecond)
	close(ts.release)
	require.NoError(t, <-res, "the call in flight finished")
	require.NoError(t, <-drained)
	require.NoError(t, <-drained)
}

// TestDrainStopsAccepting: from the start of a drain new dials are
// refused (on every socket of a multi-socket listener), so clients go
// elsewhere at once, while a call in flight on an existing connection
// still finishes.
func TestDrainStopsAccepting(t *testing.T) {
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	entered, release := make(chan struct{}, 1), make(chan struct{})
	srv.Handle(1, func(_ context.Context, req, dst []byte) ([]byte, error) {
		entered <- struct{}{}
		<-release
		return append(dst, "done"...), nil
	}, rpc.Pooled)
	ln, err := socket.Listen(context.Background(), "tcp", "127.0.0.1:0", socket.Options{ReusePort: true, AcceptLoops: 2})
	require.NoError(t, err)
	addr := ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(context.Background(), ln) }()
	c := dial(t, addr, rpc.ClientOptions{})
	res := make(chan error, 1)
	go func() {
		got, err := c.Call(testCtx(t), 1, nil, nil)
		if err == nil && string(got) != "done" {
			err = errors.New("wrong response")
		}
		res <- err
	}()
	wait(t, entered)
	drained := make(chan error, 1)
	go func() { drained <- srv.Drain(testCtx(t)) }()
	require.Eventually(t, c.Draining, 10*time.Second, time.Millisecond)
	for range 8 { // both sockets: the kernel spreads dials over them
		dctx, cancel := context.WithTimeout(testCtx(t), 5*time.Second)
		_, err := rpc.Dial(dctx, "tcp", addr, rpc.ClientOptions{})
		cancel()
		require.Error(t, err, "a dial during the drain is refused")
	}
	close(release)
	require.NoError(t, <-res)
	require.NoError(t, <-drained)
	require.NoError(t, <-served)
}

// gateListener is a TCP listener whose accept loop is late: its Accept
// waits for open (a loaded machine that has not run the loop yet), while
// the kernel already completes dials into the accept queue. stopped is
// closed when Drain stops it (by a deadline or by closing it).
type gateListener struct {
	*net.TCPListener
	entered, open, stopped chan struct{}
	enterOnce, stopOnce    sync.Once
}

func (g *gateListener) Accept() (net.Conn, error) {
	g.enterOnce.Do(func() { close(g.entered) })
	<-g.open
	return g.TCPListener.Accept()
}

func (g *gateListener) SetDeadline(t time.Time) error {
	g.stopOnce.Do(func() { close(g.stopped) })
	return g.TCPListener.SetDeadline(t)
}

func (g *gateListener) Close() error {
	g.stopOnce.Do(func() { close(g.stopped) })
	return g.TCPListener.Close()
}

// TestDrainServesQueuedConnections: a connection the kernel accepted
// before Drain, but the accept loop had not taken yet, is served and
// drained like the others. Closing the listening socket at once reset it,
// failing calls the server never read with "connection reset by peer"
// (the flake of TestDrainUnderLoadLosesNothing on a loaded machine).
func TestDrainServesQueuedConnections(t *testing.T) {
	cs := startCounting(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	g := &gateListener{TCPListener: ln.(*net.TCPListener),
		entered: make(chan struct{}), open: make(chan struct{}), stopped: make(chan struct{})}
	var served sync.WaitGroup
	served.Go(func() { _ = cs.srv.Serve(context.Background(), g) })
	t.Cleanup(func() { _ = cs.srv.Close(); served.Wait() })
	wait(t, g.entered) // Serve runs; its loop is late

	c := dial(t, ln.Addr().String(), rpc.ClientOptions{}) // in the accept queue
	ctx := testCtx(t)
	const calls = 8
	errs := make(chan error, calls)
	for i := range calls {
		go func() {
			req := fmt.Appendf(nil, "queued/%d", i)
			dst, err := c.Call(ctx, mEcho, req, nil)
			if err == nil && !bytes.Equal(dst, req) {
				err = fmt.Errorf("reply %q to %q", dst, req)
			}
			errs <- err
		}()
	}
	drained := make(chan error, 1)
	go func() { drained <- cs.srv.Drain(ctx) }()
	wait(t, g.stopped)
	close(g.open) // the loop comes round after the stop
	var ok, refused int64
	for range calls {
		switch err := <-errs; class(t, err) {
		case "ok":
			ok++
		case "unavailable":
			refused++
		default:
			t.Errorf("call on a connection queued before Drain lost: %v", err)
		}
	}
	require.NoError(t, <-drained)
	wait(t, c.Closed())
	require.Equal(t, cs.processed.Load(), ok, "every call the server ran reached its caller")
	require.Equal(t, int64(calls), ok+refused)
}
