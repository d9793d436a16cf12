package rpc_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

const (
	mEcho uint32 = iota + 1
	mEchoInline
	mFail
	mBlock
	mInfo
	mPanic
	mStream
	mNotify
)

// testServer runs a Server on loopback with a few methods registered.
type testServer struct {
	srv     *rpc.Server
	addr    string
	entered chan struct{} // mBlock handlers announce themselves
	release chan struct{} // closing it lets mBlock handlers return
	ctxErr  chan error    // mBlock handlers report their ctx error
	notify  chan []byte   // mNotify (fire-and-forget) payloads
	done    func()
}

func startServer(t testing.TB, opts rpc.ServerOptions) *testServer {
	t.Helper()
	srv, err := rpc.NewServer(opts)
	require.NoError(t, err)
	ts := &testServer{srv: srv, entered: make(chan struct{}, 1024), release: make(chan struct{}),
		ctxErr: make(chan error, 1024), notify: make(chan []byte, 16)}
	echo := func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, req...), nil }
	srv.Handle(mEcho, echo, rpc.Pooled)
	srv.Handle(mEchoInline, echo, rpc.Inline)
	srv.Handle(mFail, func(_ context.Context, req, dst []byte) ([]byte, error) {
		return dst, rpc.NewError(rpc.CodeAppMin+7, "failed: "+string(req))
	}, rpc.Pooled)
	srv.Handle(mBlock, func(ctx context.Context, req, dst []byte) ([]byte, error) {
		ts.entered <- struct{}{}
		select {
		case <-ctx.Done():
			ts.ctxErr <- ctx.Err()
			return dst, ctx.Err()
		case <-ts.release:
			ts.ctxErr <- nil
			return append(dst, "released"...), nil
		}
	}, rpc.Pooled)
	srv.Handle(mInfo, func(ctx context.Context, req, dst []byte) ([]byte, error) {
		info, ok := rpc.CallInfoFrom(ctx)
		if !ok {
			return dst, rpc.NewError(rpc.CodeInternal, "no call info")
		}
		v, _ := info.Metadata.Get("k")
		dst = append(dst, v...)
		if d, ok := ctx.Deadline(); ok {
			dst = append(dst, " deadline in "...)
			dst = append(dst, time.Until(d).Round(time.Second).String()...)
		}
		return dst, nil
	}, rpc.Pooled)
	srv.Handle(mPanic, func(context.Context, []byte, []byte) ([]byte, error) { panic("boom") }, rpc.Inline)
	srv.Handle(mNotify, func(_ context.Context, req, dst []byte) ([]byte, error) {
		ts.notify <- append([]byte(nil), req...)
		return dst, nil
	}, rpc.Pooled)
	ln, err := socket.Listen(context.Background(), "tcp", "127.0.0.1:0", socket.Options{})
	require.NoError(t, err)
	ts.addr = ln.Addr().String()
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(context.Background(), ln) })
	var once sync.Once
	ts.done = func() {
		once.Do(func() {
			select {
			case <-ts.release:
			default:
				close(ts.release)
			}
			require.NoError(t, srv.Close())
			wg.Wait()
		})
	}
	t.Cleanup(ts.done)
	return ts
}

func dial(t testing.TB, addr string, opts rpc.ClientOptions) *rpc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := rpc.Dial(ctx, "tcp", addr, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func wait(t testing.TB, ch <-chan struct{}) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
	}
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// serve runs srv on a loopback listener until the test ends.
func serve(t testing.TB, srv *rpc.Server) string {
	t.Helper()
	ln, err := socket.Listen(context.Background(), "tcp", "127.0.0.1:0", socket.Options{})
	require.NoError(t, err)
	var wg sync.WaitGroup
	n := rpc.ListenersOf(srv)
	returned := make(chan struct{})
	wg.Go(func() { defer close(returned); _ = srv.Serve(context.Background(), ln) })
	t.Cleanup(func() { _ = srv.Close(); wg.Wait() })
	// Serve has registered ln (or returned) before the test can Drain.
	for rpc.ListenersOf(srv) == n {
		select {
		case <-returned:
			return ln.Addr().String()
		case <-time.After(time.Millisecond):
		}
	}
	return ln.Addr().String()
}

// expiringCtx is a context whose deadline passes when the test calls
// expire: Done closes and Err is context.DeadlineExceeded, as for a
// context.WithTimeout whose time came, but at the point the test
// chooses (once the call reached the state under test), with no timer
// racing a loaded machine (a 50 ms timeout could pass before the request
// was even queued). Deadline reports an hour ahead: the call carries a
// deadline on the wire, one the peer never reaches.
type expiringCtx struct {
	d    time.Time
	done chan struct{}
	once sync.Once
}

func newExpiringCtx() *expiringCtx {
	return &expiringCtx{d: time.Now().Add(time.Hour), done: make(chan struct{})}
}

func (c *expiringCtx) Deadline() (time.Time, bool) { return c.d, true }
func (c *expiringCtx) Done() <-chan struct{}       { return c.done }
func (c *expiringCtx) Value(any) any               { return nil }

func (c *expiringCtx) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// expire makes the deadline pass now.
func (c *expiringCtx) expire() { c.once.Do(func() { close(c.done) }) }
