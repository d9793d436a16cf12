package health_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/health"
)

// serve runs srv on a loopback listener until the test ends.
func serve(t testing.TB, srv *rpc.Server, opts socket.Options) string {
	t.Helper()
	ln, err := socket.Listen(context.Background(), "tcp", "127.0.0.1:0", opts)
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(context.Background(), ln) })
	t.Cleanup(func() { _ = srv.Close(); wg.Wait() })
	return ln.Addr().String()
}

func dial(t testing.TB, addr string) *rpc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := rpc.Dial(ctx, "tcp", addr, rpc.ClientOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func newHealthServer(t testing.TB) (*health.Server, string) {
	t.Helper()
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	hs := health.NewServer()
	hs.Register(srv)
	t.Cleanup(hs.Close) // before srv.Close (cleanups run last-first): ends the watches
	return hs, serve(t, srv, socket.Options{})
}

func TestCheck(t *testing.T) {
	hs, addr := newHealthServer(t)
	c := dial(t, addr)
	ctx := testCtx(t)

	st, err := health.Check(ctx, c, "")
	require.NoError(t, err)
	assert.Equal(t, health.Serving, st, `"" is serving from the start`)

	st, err = health.Check(ctx, c, "cache")
	require.NoError(t, err)
	assert.Equal(t, health.ServiceUnknown, st)

	hs.SetServingStatus("cache", health.NotServing)
	st, err = health.Check(ctx, c, "cache")
	require.NoError(t, err)
	assert.Equal(t, health.NotServing, st)

	hs.SetServingStatus("cache", health.Serving)
	st, err = health.Check(ctx, c, "cache")
	require.NoError(t, err)
	assert.Equal(t, health.Serving, st)

	hs.Shutdown()
	hs.SetServingStatus("cache", health.Serving) // ignored until Resume
	for _, name := range []string{"", "cache"} {
		st, err = health.Check(ctx, c, name)
		require.NoError(t, err)
		assert.Equal(t, health.NotServing, st, name)
	}
	hs.Resume()
	st, err = health.Check(ctx, c, "cache")
	require.NoError(t, err)
	assert.Equal(t, health.Serving, st)
}

func TestWatch(t *testing.T) {
	hs, addr := newHealthServer(t)
	c := dial(t, addr)
	ctx := testCtx(t)

	w, err := health.Watch(ctx, c, "cache")
	require.NoError(t, err)
	defer w.Close()
	st, err := w.Recv()
	require.NoError(t, err)
	assert.Equal(t, health.ServiceUnknown, st, "the current status comes first")

	for _, want := range []health.Status{health.Serving, health.NotServing, health.Serving} {
		hs.SetServingStatus("cache", want)
		st, err = w.Recv()
		require.NoError(t, err)
		assert.Equal(t, want, st)
	}
	hs.SetServingStatus("other", health.NotServing) // not this watch's service

	// A second watcher of the same service sees the same changes.
	w2, err := health.Watch(ctx, c, "cache")
	require.NoError(t, err)
	st, err = w2.Recv()
	require.NoError(t, err)
	assert.Equal(t, health.Serving, st)
	hs.Shutdown()
	for _, ww := range []*health.Watcher{w, w2} {
		st, err = ww.Recv()
		require.NoError(t, err)
		assert.Equal(t, health.NotServing, st, "Shutdown reaches the watchers; the change of \"other\" did not")
	}
	require.NoError(t, w2.Close())
	require.Eventually(t, func() bool { return hs.WatcherCount() == 1 }, 5*time.Second, time.Millisecond,
		"a closed watch is forgotten by the server")

	// Close ends the watches normally and refuses new ones.
	hs.Close()
	_, err = w.Recv()
	require.ErrorIs(t, err, io.EOF)
	w3, err := health.Watch(ctx, c, "cache")
	require.NoError(t, err)
	defer w3.Close()
	_, err = w3.Recv()
	require.ErrorIs(t, err, rpc.ErrUnavailable)
	assert.Zero(t, hs.WatcherCount())
}

// A burst of changes reaches a slow watcher as its latest value: the
// server holds one pending status per watch, whatever the rate.
func TestWatchCoalesces(t *testing.T) {
	hs, addr := newHealthServer(t)
	c := dial(t, addr)
	w, err := health.Watch(testCtx(t), c, "svc")
	require.NoError(t, err)
	defer w.Close()
	st, err := w.Recv()
	require.NoError(t, err)
	require.Equal(t, health.ServiceUnknown, st)
	for i := range 10000 {
		hs.SetServingStatus("svc", health.Status(1+i%2))
	}
	hs.SetServingStatus("svc", health.NotServing)
	for st != health.NotServing { // whatever was coalesced, the last one arrives
		st, err = w.Recv()
		require.NoError(t, err)
	}
}

// Bad inputs: a name over the bound (both sides), a watch without a name,
// a server without the health service, a malformed or unknown status.
func TestBadInput(t *testing.T) {
	_, addr := newHealthServer(t)
	c := dial(t, addr)
	ctx := testCtx(t)
	long := strings.Repeat("x", health.MaxServiceName+1)

	_, err := health.Check(ctx, c, long)
	require.ErrorIs(t, err, health.ErrServiceName, "refused by the client")
	_, err = health.Watch(ctx, c, long)
	require.ErrorIs(t, err, health.ErrServiceName)

	_, err = c.Call(ctx, health.MethodCheck, []byte(long), nil) // past the client's check
	require.ErrorIs(t, err, rpc.ErrInvalidArgument, "refused by the server")

	st, err := c.OpenStream(ctx, health.MethodWatch, nil)
	require.NoError(t, err)
	require.NoError(t, st.Send([]byte(long)))
	_, err = st.Recv(nil)
	require.ErrorIs(t, err, rpc.ErrInvalidArgument)
	require.NoError(t, st.Close())

	st, err = c.OpenStream(ctx, health.MethodWatch, nil)
	require.NoError(t, err)
	require.NoError(t, st.CloseSend()) // no name at all
	_, err = st.Recv(nil)
	require.ErrorIs(t, err, rpc.ErrInvalidArgument)
	require.NoError(t, st.Close())

	// A server without the health service, or one that answers oddly.
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	var reply []byte
	var mu sync.Mutex
	srv.Handle(health.MethodCheck, func(_ context.Context, _, dst []byte) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		return append(dst, reply...), nil
	}, rpc.Inline)
	odd := dial(t, serve(t, srv, socket.Options{}))
	for _, tc := range []struct {
		reply []byte
		want  health.Status
		err   error
	}{
		{nil, health.Unknown, health.ErrMalformed},
		{[]byte{1, 1}, health.Unknown, health.ErrMalformed},
		{[]byte{9}, health.Unknown, nil}, // a status from a newer peer
		{[]byte{2}, health.NotServing, nil},
	} {
		mu.Lock()
		reply = tc.reply
		mu.Unlock()
		got, err := health.Check(ctx, odd, "")
		if tc.err != nil {
			require.ErrorIs(t, err, tc.err, "reply %x", tc.reply)
		} else {
			require.NoError(t, err, "reply %x", tc.reply)
		}
		assert.Equal(t, tc.want, got, "reply %x", tc.reply)
	}
	w, err := health.Watch(ctx, odd, "")
	if err == nil { // the refusal may arrive before or after the name is sent
		defer w.Close()
		_, err = w.Recv()
	}
	require.ErrorIs(t, err, rpc.ErrUnimplemented, "no Watch on that server")
}

func TestStatusString(t *testing.T) {
	assert.Equal(t, "SERVING", health.Serving.String())
	assert.Equal(t, "NOT_SERVING", health.NotServing.String())
	assert.Equal(t, "UNKNOWN", health.Unknown.String())
	assert.Equal(t, "SERVICE_UNKNOWN", health.ServiceUnknown.String())
	assert.Equal(t, "Status(7)", health.Status(7).String())
}

// A bare client kept by KeepAlive outlives the server's IdleTimeout; one
// without it is closed.
func TestKeepAlive(t *testing.T) {
	// Pings every 20 ms against an IdleTimeout of 1 s: the kept client is
	// closed only if no ping reached the server for 50 intervals. (With
	// 300 ms and a ping timeout of 1 s a loaded machine that delayed the
	// pinger's timer could close it.)
	srv, err := rpc.NewServer(rpc.ServerOptions{Socket: socket.Options{IdleTimeout: time.Second}})
	require.NoError(t, err)
	srv.Handle(1, func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, req...), nil }, rpc.Inline)
	addr := serve(t, srv, socket.Options{})

	kept, idle := dial(t, addr), dial(t, addr)
	stop := health.KeepAlive(kept, 20*time.Millisecond, 10*time.Second)
	defer stop()
	select {
	case <-idle.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("the idle client was not closed by the server's IdleTimeout")
	}
	select {
	case <-kept.Closed():
		t.Fatalf("the pinged client was closed: %v", kept.Err())
	default:
	}
	got, err := kept.Call(testCtx(t), 1, []byte("hi"), nil)
	require.NoError(t, err)
	assert.Equal(t, "hi", string(got))
	stop()
	stop() // idempotent
}

// KeepAlive closes a client whose peer stops answering pings.
func TestKeepAliveDeadPeer(t *testing.T) {
	ln, err := socket.Listen(context.Background(), "tcp", "127.0.0.1:0", socket.Options{})
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		nc, err := ln.Accept() // accepts and never reads: pings go unanswered
		if err != nil {
			return
		}
		<-accepted
		_ = nc.Close()
	})
	defer wg.Wait()
	defer close(accepted)
	c := dial(t, ln.Addr().String())
	stop := health.KeepAlive(c, 20*time.Millisecond, 100*time.Millisecond)
	defer stop()
	select {
	case <-c.Closed():
	case <-time.After(10 * time.Second):
		t.Fatal("a client whose peer does not answer pings was not closed")
	}
}

// A hostile client opening watch after watch gets at most the server's
// per-connection MaxInFlight of them (the rest are refused with
// CodeOverloaded), and one that never reads its watch holds one pending
// status on the server however fast statuses change: SetServingStatus
// never waits for a watcher.
func TestWatchAttackBounds(t *testing.T) {
	const limit = 8
	srv, err := rpc.NewServer(rpc.ServerOptions{MaxInFlight: limit})
	require.NoError(t, err)
	hs := health.NewServer()
	hs.Register(srv)
	t.Cleanup(hs.Close)
	c := dial(t, serve(t, srv, socket.Options{}))
	ctx := testCtx(t)

	var open []*health.Watcher
	overloaded := 0
	for range 3 * limit {
		w, err := health.Watch(ctx, c, "svc")
		if err == nil {
			_, err = w.Recv() // the first status, or the refusal
		}
		if err != nil {
			require.ErrorIs(t, err, rpc.ErrOverloaded)
			overloaded++
			if w != nil {
				require.NoError(t, w.Close())
			}
			continue
		}
		open = append(open, w)
	}
	assert.Len(t, open, limit, "watches past MaxInFlight are refused")
	assert.Equal(t, 2*limit, overloaded)
	assert.Equal(t, limit, hs.WatcherCount())

	// None of them reads from now on; statuses change 100000 times.
	for i := range 100_000 {
		hs.SetServingStatus("svc", health.Status(1+i%2))
	}
	hs.SetServingStatus("svc", health.NotServing)
	st, err := open[0].Recv()
	for err == nil && st != health.NotServing {
		st, err = open[0].Recv()
	}
	require.NoError(t, err)
	for _, w := range open {
		require.NoError(t, w.Close())
	}
	require.Eventually(t, func() bool { return hs.WatcherCount() == 0 }, 10*time.Second, time.Millisecond)
}

// A client whose every call slot is taken is busy, not dead: KeepAlive
// skips the ping instead of closing it.
func TestKeepAliveBusyClient(t *testing.T) {
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	entered, release := make(chan struct{}, 4), make(chan struct{})
	srv.Handle(1, func(ctx context.Context, _, dst []byte) ([]byte, error) {
		entered <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return dst, nil
	}, rpc.Pooled)
	addr := serve(t, srv, socket.Options{})
	c, err := rpc.Dial(testCtx(t), "tcp", addr, rpc.ClientOptions{MaxInFlight: 2})
	require.NoError(t, err)
	defer c.Close()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { _, _ = c.Call(context.Background(), 1, nil, nil) })
	}
	<-entered
	<-entered
	_, err = c.NewCaller()
	require.ErrorIs(t, err, rpc.ErrTooManyCalls, "every slot is taken")
	stop := health.KeepAlive(c, 5*time.Millisecond, time.Second)
	time.Sleep(100 * time.Millisecond) // about 20 ping ticks
	stop()
	select {
	case <-c.Closed():
		t.Fatalf("a busy client was closed: %v", c.Err())
	default:
	}
	close(release)
	wg.Wait()
}
