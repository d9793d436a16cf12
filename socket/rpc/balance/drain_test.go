package balance_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/balance"
)

// class names the one class of the error contract err belongs to and
// fails the test when it matches none or more than one.
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

const (
	mCount       uint32 = 10 // Pooled echo, counted
	mCountInline uint32 = 11 // Inline echo, counted
	mHold        uint32 = 12 // counted, blocks until its ctx ends
)

// counted is a server whose handlers count the calls they ran into a
// counter shared by every incarnation at one address.
type counted struct {
	srv  *rpc.Server
	addr string
	wg   sync.WaitGroup
}

func startCounted(t *testing.T, addr string, processed *atomic.Int64, held chan<- struct{}) *counted {
	t.Helper()
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	echo := func(_ context.Context, req, dst []byte) ([]byte, error) {
		processed.Add(1)
		return append(dst, req...), nil
	}
	srv.Handle(mCount, echo, rpc.Pooled)
	srv.Handle(mCountInline, echo, rpc.Inline)
	srv.Handle(mHold, func(ctx context.Context, req, dst []byte) ([]byte, error) {
		processed.Add(1)
		held <- struct{}{}
		<-ctx.Done()
		return dst, ctx.Err()
	}, rpc.Pooled)
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	require.Eventually(t, func() bool { ln, err = net.Listen("tcp", addr); return err == nil }, 5*time.Second, 5*time.Millisecond)
	s := &counted{srv: srv, addr: ln.Addr().String()}
	s.wg.Go(func() { _ = srv.Serve(context.Background(), ln) })
	t.Cleanup(func() { _ = srv.Close(); s.wg.Wait() })
	return s
}

// TestDrainRestartUnderLoadLosesNothing: three servers behind a Pool and
// 64 callers; one server after another is drained under load and
// restarted at its address. Every call succeeds (the Pool retries the
// calls refused as not processed), or fails with ErrUnavailable and
// succeeds on the caller's retry; the servers ran exactly the calls that
// succeeded: none was lost, none ran twice.
func TestDrainRestartUnderLoadLosesNothing(t *testing.T) {
	rounds := 50
	if testing.Short() {
		rounds = 10
	}
	var processed atomic.Int64
	held := make(chan struct{}, 1)
	servers := make([]*counted, 3)
	addrs := make([]string, 3)
	for i := range servers {
		servers[i] = startCounted(t, "", &processed, held)
		addrs[i] = servers[i].addr
	}
	p := newPool(t, addrs, balance.Options{ConnsPerAddr: 2, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	ctx, cancelAll := context.WithTimeout(context.Background(), 2*time.Minute) // bounds the test on a loaded machine
	defer cancelAll()
	var ok, retried, lost atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			method := mCount
			if i%2 == 1 {
				method = mCountInline
			}
			var req, dst []byte
			var err error
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				req = fmt.Appendf(req[:0], "%d/%d", i, n)
				dst, err = p.Call(ctx, method, req, dst[:0], balance.WaitForReady())
				if class(t, err) == "unavailable" {
					retried.Add(1)
					dst, err = p.Call(ctx, method, req, dst[:0], balance.WaitForReady())
				}
				if err != nil || !bytes.Equal(dst, req) {
					lost.Add(1)
					t.Errorf("call %s lost: %v", req, err)
					return
				}
				ok.Add(1)
			}
		})
	}
	for r := range rounds {
		time.Sleep(20 * time.Millisecond) // load on all three
		s := servers[r%3]
		dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		require.NoError(t, s.srv.Drain(dctx), "round %d", r)
		cancel()
		s.wg.Wait()
		servers[r%3] = startCounted(t, s.addr, &processed, held)
	}
	time.Sleep(20 * time.Millisecond)
	close(stop)
	wg.Wait()
	require.Zero(t, lost.Load())
	require.Equal(t, processed.Load(), ok.Load(), "the servers ran exactly the calls that succeeded")
	t.Logf("%d drains and restarts: %d calls, %d retried by the caller after ErrUnavailable, 0 lost", rounds, ok.Load(), retried.Load())
}

// TestKillUnderLoadPool: calls in flight when their server dies end with
// ErrClosed (they may have run) and are not retried; afterwards calls
// fail with ErrNoConn (ErrUnavailable), wait with WaitForReady until ctx
// ends, and succeed once a server is back.
func TestKillUnderLoadPool(t *testing.T) {
	var processed atomic.Int64
	held := make(chan struct{}, 64)
	s := startCounted(t, "", &processed, held)
	p := newPool(t, []string{s.addr}, balance.Options{ConnsPerAddr: 2, MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
	ctx := ctx10(t)
	errs := make(chan error, 16)
	for range 16 {
		go func() {
			_, err := p.Call(ctx, mHold, nil, nil)
			errs <- err
		}()
	}
	for range 16 {
		<-held
	}
	require.NoError(t, s.srv.Close()) // listener and connections at once
	for range 16 {
		err := <-errs
		assert.Equal(t, "closed", class(t, err))
	}
	assert.Equal(t, int64(16), processed.Load(), "each ran once: no retry of a call that may have run")
	require.Eventually(t, func() bool {
		_, err := p.Call(ctx, mCount, nil, nil)
		return errors.Is(err, balance.ErrNoConn)
	}, 10*time.Second, time.Millisecond)
	_, err := p.Call(ctx, mCount, nil, nil)
	assert.Equal(t, "unavailable", class(t, err), "ErrNoConn is not processed, safe to retry")
	// A connection the pool dialed while Close ran may still look ready
	// for a moment before its EOF is read (the server closed it unread);
	// a call sent on it fails as the contract says, ErrClosed (may have
	// run), never with anything else. Once the pool has no connection,
	// WaitForReady waits and is bounded by ctx.
	for attempt := 0; ; attempt++ {
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		_, err = p.Call(short, mCount, nil, nil, balance.WaitForReady())
		cancel()
		if c := class(t, err); c != "closed" || attempt == 100 {
			assert.ErrorIs(t, err, context.DeadlineExceeded, "WaitForReady is bounded by ctx")
			assert.Equal(t, "ctx", c)
			break
		}
	}
	res := make(chan error, 1)
	go func() {
		got, err := p.Call(ctx, mCount, []byte("back"), nil, balance.WaitForReady())
		if err == nil && string(got) != "back" {
			err = fmt.Errorf("got %q", got)
		}
		res <- err
	}()
	s.wg.Wait()
	startCounted(t, s.addr, &processed, held)
	require.NoError(t, <-res, "WaitForReady waits for the restarted server")
	require.NoError(t, p.Close())
	_, err = p.Call(ctx, mCount, nil, nil)
	assert.ErrorIs(t, err, balance.ErrClosed)
	assert.Equal(t, "closed", class(t, err))
	assert.ErrorIs(t, p.WaitReady(ctx), balance.ErrClosed)
}

// TestWaitForReadyRetriesRefusalsUntilCtx: a server that refuses calls as
// not processed (Unavailable) more times than MaxAttempts. Without
// WaitForReady the Pool gives up after MaxAttempts tries; with it, the
// call is tried again (after a backoff) until it succeeds, and a ctx
// that ends first ends it. Before WaitForReady retried refusals, a
// restarting server's closed-but-not-yet-read connection could fail a
// WaitForReady call (TestKillUnderLoadPool flaked on it).
func TestWaitForReadyRetriesRefusalsUntilCtx(t *testing.T) {
	// Requests "x" are always refused; "y" the first five times. Counted
	// apart: a try of the call its deadline ended below may still reach
	// the handler late (sent before the deadline, run by a worker a
	// loaded machine held back), which must not count as a try of "y".
	var tries, yTries atomic.Int64
	const yRefusals = 5 // more than MaxAttempts
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	srv.Handle(mCount, func(_ context.Context, req, dst []byte) ([]byte, error) {
		if string(req) != "y" {
			tries.Add(1)
			return dst, &rpc.Error{Code: rpc.CodeUnavailable, Message: "not yet"}
		}
		if yTries.Add(1) <= yRefusals {
			return dst, &rpc.Error{Code: rpc.CodeUnavailable, Message: "not yet"}
		}
		return append(dst, req...), nil
	}, rpc.Pooled)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(context.Background(), ln) })
	t.Cleanup(func() { _ = srv.Close(); wg.Wait() })
	p := newPool(t, []string{ln.Addr().String()}, balance.Options{MaxAttempts: 3, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond})
	ctx := ctx10(t)

	_, err = p.Call(ctx, mCount, []byte("x"), nil)
	require.ErrorIs(t, err, rpc.ErrUnavailable, "without WaitForReady: MaxAttempts tries")
	assert.Equal(t, int64(3), tries.Load())

	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	_, err = p.Call(short, mCount, []byte("x"), nil, balance.WaitForReady())
	// Its deadline ended it: the deadline's error (the server counts the
	// same deadline and may answer first), or the last refusal if the
	// ctx ended while it was on its way back.
	assert.True(t, errors.Is(err, context.DeadlineExceeded) || errors.Is(err, rpc.ErrUnavailable) && short.Err() != nil,
		"WaitForReady ended by %v before its deadline", err)
	cancel()

	got, err := p.Call(ctx, mCount, []byte("y"), nil, balance.WaitForReady())
	require.NoError(t, err, "WaitForReady tries again past MaxAttempts")
	assert.Equal(t, "y", string(got))
	assert.Equal(t, int64(yRefusals+1), yTries.Load(), "each refusal tried once more, the success once")
}
