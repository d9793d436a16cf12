package rpc_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

func TestUnaryEcho(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	ctx := testCtx(t)
	for _, tc := range []struct {
		name   string
		method uint32
		req    string
	}{
		{"pooled", mEcho, "hello"},
		{"inline", mEchoInline, "world"},
		{"empty", mEcho, ""},
		{"large", mEcho, string(make([]byte, 200<<10))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Call(ctx, tc.method, []byte(tc.req), nil)
			require.NoError(t, err)
			assert.Equal(t, tc.req, string(got))
		})
	}
	k, err := c.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	dst := []byte("prefix:")
	dst, err = k.Call(ctx, mEcho, []byte("x"), dst)
	require.NoError(t, err)
	assert.Equal(t, "prefix:x", string(dst), "the response is appended to dst")
}

func TestUnaryManyInFlight(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{MaxInFlight: 4096})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	ctx := testCtx(t)
	const callers, calls = 2000, 5
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := range callers {
		wg.Go(func() {
			k, err := c.NewCaller()
			if err != nil {
				errs <- err
				return
			}
			defer k.Close()
			var dst []byte
			for j := range calls {
				want := fmt.Sprintf("c%d-%d", i, j)
				dst, err = k.Call(ctx, mEcho, []byte(want), dst[:0])
				if err != nil || string(dst) != want {
					errs <- fmt.Errorf("call %s: got %q, %v", want, dst, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestUnaryErrors(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	ctx := testCtx(t)
	for _, tc := range []struct {
		name     string
		method   uint32
		sentinel error
		code     rpc.Code
	}{
		{"application", mFail, rpc.ErrApplication, rpc.CodeAppMin + 7},
		{"not found", 999, rpc.ErrUnimplemented, rpc.CodeUnimplemented},
		{"panic", mPanic, rpc.ErrInternal, rpc.CodeInternal},
		{"stream method called unary", mStream, rpc.ErrUnimplemented, rpc.CodeUnimplemented},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Call(ctx, tc.method, []byte("req"), nil)
			require.ErrorIs(t, err, tc.sentinel)
			var e *rpc.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.code, e.Code)
		})
	}
	_, err := c.Call(ctx, mFail, []byte("why"), nil)
	assert.EqualError(t, err, "rpc: application error (code 1007): failed: why")
}

func TestUnaryMetadataAndDeadline(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	k, err := c.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	md, err := rpc.Metadata(nil).Append("k", []byte("v1"))
	require.NoError(t, err)
	got, err := k.CallMetadata(testCtx(t), mInfo, md, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, "v1 deadline in 20s", string(got))
	got, err = k.Call(context.Background(), mInfo, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, "", string(got), "no metadata, no deadline")
}

func TestDeadlineExceeded(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	// The deadline passes once the handler runs (expiringCtx). A 50 ms
	// timeout could pass before the request was sent on a loaded
	// machine: the call still ended with DeadlineExceeded, but no handler
	// ran, and the wait for its context below failed.
	ctx := newExpiringCtx()
	res := make(chan error, 1)
	go func() {
		_, err := c.Call(ctx, mBlock, nil, nil)
		res <- err
	}()
	wait(t, ts.entered)
	ctx.expire()
	select {
	case err := <-res:
		require.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not end with its deadline")
	}
	// The handler's context ended too, by the cancel frame the client
	// sent when its deadline passed (its own deadline is an hour away;
	// TestServerDeadlineTimer checks the server's timer alone).
	select {
	case err := <-ts.ctxErr:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("handler context never ended")
	}
	// An already expired context sends nothing.
	_, err := c.Call(ctx, mEcho, nil, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	past, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
	defer cancel()
	_, err = c.Call(past, mEcho, nil, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

// lazyDeadline reports a deadline but never ends by itself, so a call
// made with it can only be ended by the server's deadline timer. The
// deadline is set, after from then, the first time it is read: when the
// call frames its request. A
// deadline made before the call could pass before the request was sent
// on a loaded machine (the call then failed unsent, with no server
// answer); this one always gives the server the whole timeout.
type lazyDeadline struct {
	context.Context
	after time.Duration
	once  sync.Once
	d     time.Time
}

func (c *lazyDeadline) Deadline() (time.Time, bool) {
	c.once.Do(func() { c.d = time.Now().Add(c.after) })
	return c.d, true
}

func TestDeadlineExceededServerFirst(t *testing.T) {
	// The deadline travels on the wire; here only the server enforces it.
	// The caller still sees an error matching context.DeadlineExceeded.
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	ctx := &lazyDeadline{Context: context.Background(), after: 30 * time.Millisecond}
	_, err := c.Call(ctx, mBlock, nil, nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorIs(t, err, rpc.ErrDeadlineExceeded)
	var e *rpc.Error
	require.ErrorAs(t, err, &e, "the server's answer")
	assert.Equal(t, rpc.CodeDeadlineExceeded, e.Code)
	assert.NotErrorIs(t, err, context.Canceled)
	require.NoError(t, ctx.Err(), "the client's context never fired")
	select {
	case err := <-ts.ctxErr:
		require.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(10 * time.Second):
		t.Fatal("handler context never ended")
	}
}

func TestCancelReachesHandler(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	k, err := c.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() {
		_, err := k.Call(ctx, mBlock, nil, nil)
		res <- err
	}()
	wait(t, ts.entered)
	cancel()
	select {
	case err := <-res:
		require.ErrorIs(t, err, context.Canceled, "client-side cancellation is the context's error")
		var e *rpc.Error
		assert.False(t, errors.As(err, &e), "and not a server error")
	case <-time.After(10 * time.Second):
		t.Fatal("call did not return")
	}
	select {
	case err := <-ts.ctxErr:
		require.ErrorIs(t, err, context.Canceled, "the cancel frame canceled the handler's context")
	case <-time.After(10 * time.Second):
		t.Fatal("handler context was not canceled")
	}
	// The same slot serves the next call; nothing late leaks into it.
	got, err := k.Call(testCtx(t), mEcho, []byte("next"), nil)
	require.NoError(t, err)
	assert.Equal(t, "next", string(got))
}

func TestLateReplyIgnored(t *testing.T) {
	// The client gives up, the server answers anyway (the handler ignores
	// its context): the late reply must not complete the next call.
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	gate := make(chan struct{})
	srv.Handle(1, func(_ context.Context, req, dst []byte) ([]byte, error) {
		if string(req) == "slow" {
			<-gate
		}
		return append(dst, req...), nil
	}, rpc.Pooled)
	addr := serve(t, srv)
	c := dial(t, addr, rpc.ClientOptions{MaxInFlight: 1})
	k, err := c.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = k.Call(ctx, 1, []byte("slow"), nil)
	require.ErrorIs(t, err, context.Canceled)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel2()
	_, err = k.Call(ctx2, 1, []byte("slow"), nil)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	close(gate)
	got, err := k.Call(testCtx(t), 1, []byte("fast"), nil)
	require.NoError(t, err)
	assert.Equal(t, "fast", string(got))
}

func TestOverload(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{MaxInFlight: 2})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			got, err := c.Call(ctx, mBlock, nil, nil)
			assert.NoError(t, err)
			assert.Equal(t, "released", string(got))
		})
	}
	wait(t, ts.entered)
	wait(t, ts.entered)
	_, err := c.Call(ctx, mEcho, []byte("x"), nil)
	require.ErrorIs(t, err, rpc.ErrOverloaded)
	// Inline handlers are not pooled calls: they still run.
	got, err := c.Call(ctx, mEchoInline, []byte("y"), nil)
	require.NoError(t, err)
	assert.Equal(t, "y", string(got))
	assert.Equal(t, uint64(1), ts.srv.Stats().Overloaded)
	close(ts.release)
	wg.Wait()
	// A worker sends its response before it counts its call finished:
	// a call sent as soon as both answers arrived may still find the two
	// counted (and be refused). Room comes back once the workers finish.
	require.Eventually(t, func() bool {
		got, err := c.Call(ctx, mEcho, []byte("z"), nil)
		return err == nil && string(got) == "z"
	}, 10*time.Second, time.Millisecond, "room again once the calls finished")
}

func TestOverloadOptionApplied(t *testing.T) {
	// With the default limit the same three calls all get in.
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	ctx := testCtx(t)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			_, err := c.Call(ctx, mBlock, nil, nil)
			assert.NoError(t, err)
		})
	}
	for range 3 {
		wait(t, ts.entered)
	}
	close(ts.release)
	wg.Wait()
	assert.Zero(t, ts.srv.Stats().Overloaded)
}

func TestClientMaxInFlight(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{MaxInFlight: 2})
	k1, err := c.NewCaller()
	require.NoError(t, err)
	k2, err := c.NewCaller()
	require.NoError(t, err)
	_, err = c.NewCaller()
	require.ErrorIs(t, err, rpc.ErrTooManyCalls)
	_, err = c.Call(testCtx(t), mEcho, nil, nil)
	require.ErrorIs(t, err, rpc.ErrTooManyCalls)
	k1.Close()
	_, err = c.Call(testCtx(t), mEcho, nil, nil)
	require.NoError(t, err)
	k2.Close()
}

func TestFireAndForget(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	require.NoError(t, c.Send(testCtx(t), mNotify, []byte("note")))
	select {
	case got := <-ts.notify:
		assert.Equal(t, "note", string(got))
	case <-time.After(10 * time.Second):
		t.Fatal("fire-and-forget not delivered")
	}
	// A fire-and-forget to an unknown method gets no error frame; the
	// connection stays usable.
	require.NoError(t, c.Send(testCtx(t), 999, nil))
	got, err := c.Call(testCtx(t), mEcho, []byte("ok"), nil)
	require.NoError(t, err)
	assert.Equal(t, "ok", string(got))
}

func TestInterceptor(t *testing.T) {
	var seen []uint32
	var mu sync.Mutex
	srv, err := rpc.NewServer(rpc.ServerOptions{Interceptor: func(ctx context.Context, method uint32, req, dst []byte, h rpc.Handler) ([]byte, error) {
		mu.Lock()
		seen = append(seen, method)
		mu.Unlock()
		if string(req) == "deny" {
			return dst, rpc.NewError(rpc.CodeInvalidArgument, "denied")
		}
		dst = append(dst, '[')
		dst, err := h(ctx, req, dst)
		return append(dst, ']'), err
	}})
	require.NoError(t, err)
	srv.Handle(5, func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, req...), nil }, rpc.Inline)
	c := dial(t, serve(t, srv), rpc.ClientOptions{})
	got, err := c.Call(testCtx(t), 5, []byte("a"), nil)
	require.NoError(t, err)
	assert.Equal(t, "[a]", string(got))
	_, err = c.Call(testCtx(t), 5, []byte("deny"), nil)
	require.ErrorIs(t, err, rpc.ErrInvalidArgument)
	mu.Lock()
	assert.Equal(t, []uint32{5, 5}, seen)
	mu.Unlock()
}

func TestPing(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	k, err := c.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	require.NoError(t, k.Ping(testCtx(t)))
}

func TestKilledConnectionEndsPendingCalls(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{ConnWorkers: 64}) // all 50 calls run at once
	c := dial(t, ts.addr, rpc.ClientOptions{})
	ctx := context.Background() // no deadline: only the close can end them
	const n = 50
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := c.Call(ctx, mBlock, nil, nil)
			errs <- err
		}()
	}
	for range n {
		wait(t, ts.entered)
	}
	// Kill the server side: its connections close under the calls.
	require.NoError(t, ts.srv.Close())
	for range n {
		select {
		case err := <-errs:
			require.ErrorIs(t, err, rpc.ErrClosed)
			var ce *rpc.ClosedError
			require.ErrorAs(t, err, &ce)
		case <-time.After(10 * time.Second):
			t.Fatal("a pending call hangs after the connection died")
		}
	}
	// A call after the close is not sent: not processed, safe to retry
	// elsewhere.
	_, err := c.Call(ctx, mEcho, nil, nil)
	require.ErrorIs(t, err, rpc.ErrUnavailable)
	require.NotErrorIs(t, err, rpc.ErrClosed)
	ts.done()
}

func TestClientCloseEndsPendingCalls(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	errs := make(chan error, 1)
	go func() {
		_, err := c.Call(context.Background(), mBlock, nil, nil)
		errs <- err
	}()
	wait(t, ts.entered)
	require.NoError(t, c.Close())
	select {
	case err := <-errs:
		require.ErrorIs(t, err, rpc.ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("pending call hangs after Close")
	}
	// The server notices and cancels the handler.
	select {
	case err := <-ts.ctxErr:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("handler not canceled on connection close")
	}
}

// TestUnaryAllocs: with ServerOptions.ReuseContexts a call allocates
// nothing, client and server together; by default the server allocates
// one object per call, the handler's context that is safe to keep.
func TestUnaryAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	for _, tc := range []struct {
		name   string
		method uint32
		reuse  bool
		want   float64
	}{{"pooled/reuse", mEcho, true, 0}, {"inline/reuse", mEchoInline, true, 0},
		{"pooled/safe", mEcho, false, 1}, {"inline/safe", mEchoInline, false, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, rpc.ServerOptions{ReuseContexts: tc.reuse})
			c := dial(t, ts.addr, rpc.ClientOptions{})
			k, err := c.NewCaller()
			require.NoError(t, err)
			defer k.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			req := make([]byte, 16)
			dst := make([]byte, 0, 64)
			for range 2000 { // warm the pools
				dst, err = k.Call(ctx, tc.method, req, dst[:0])
				require.NoError(t, err)
			}
			// Process-wide mallocs: client and server together.
			allocs := testing.AllocsPerRun(2000, func() {
				dst, err = k.Call(ctx, tc.method, req, dst[:0])
			})
			require.NoError(t, err)
			assert.Equal(t, tc.want, allocs, "allocations per call, client plus server")
			allocs = testing.AllocsPerRun(2000, func() {
				dst, err = c.Call(ctx, tc.method, req, dst[:0])
			})
			require.NoError(t, err)
			assert.Equal(t, tc.want, allocs, "allocations per Client.Call")
		})
	}
}
