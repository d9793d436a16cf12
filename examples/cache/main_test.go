package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/examples/cache/cachepb"
	"github.com/protosocket-go/protosocket/examples/cache/cacheserver"
	"github.com/protosocket-go/protosocket/flyweight"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/balance"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

// serve starts srv (impl registered with mode) on loopback; the server is
// closed at the end of the test.
func serve(t testing.TB, impl cachepb.CacheServer, mode rpc.Mode) (*rpc.Server, string) {
	t.Helper()
	srv, err := rpc.NewServer(ServerOptions())
	require.NoError(t, err)
	cachepb.RegisterCache(srv, impl, mode)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { _ = srv.Serve(context.Background(), ln); close(done) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return srv, ln.Addr().String()
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(testCtx(t), nil, &out))
	for _, want := range []string{
		"user:1 = \"ada\" (ttl 1m0s)\n",
		"user:3: not found\n",
		"del user:1 (deleted: true)\n",
		"load: 2000 gets from 4 callers",
		"  watch: set user:1 \"ada\"\n  watch: set user:2 \"grace\"\n  watch: deleted user:1 \"\"\n",
		"server drained; bye\n",
	} {
		assert.Contains(t, out.String(), want)
	}
}

func TestCLI(t *testing.T) {
	_, addr := serve(t, cacheserver.New(cacheserver.Options{}), rpc.Inline)
	ctx := testCtx(t)
	var out bytes.Buffer
	for _, args := range [][]string{
		{"-addr", addr, "set", "k", "v", "-ttl", "1h"},
		{"-addr", addr, "get", "k"},
		{"-addr", addr, "del", "k"},
		{"-addr", addr, "get", "k"},
		{"-addr", addr, "watch", "k", "-for", "50ms"},
		{"-addr", addr, "load", "-n", "100", "-c", "2"},
	} {
		require.NoError(t, run(ctx, args, &out), args)
	}
	assert.Contains(t, out.String(), "set k (replaced: false)\nk = \"v\" (ttl 1h0m0s)\ndel k (deleted: true)\nk: not found\nload: 100 gets")
	require.Error(t, run(ctx, []string{"-addr", addr, "get"}, &out))
	require.Error(t, run(ctx, []string{"-addr", addr, "frob"}, &out))
}

// counting wraps a Store and counts the handler calls.
type counting struct {
	*cacheserver.Store
	gets atomic.Int64
}

func (c *counting) Get(ctx context.Context, req cachepb.GetRequest, resp *cachepb.GetResponseBuilder) error {
	c.gets.Add(1)
	return c.Store.Get(ctx, req, resp)
}

func body(typeID uint32, rec []byte) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, typeID), rec...)
}

// TestBadRequests: a request of another message type, a truncated or
// invalid body, and an unknown method each get their own typed error; the
// handler is never called and the connection goes on.
func TestBadRequests(t *testing.T) {
	impl := &counting{Store: cacheserver.New(cacheserver.Options{})}
	_, addr := serve(t, impl, rpc.Inline)
	c := dial(t, addr)
	ctx := testCtx(t)

	var b flyweight.Builder
	setRec, err := cachepb.BuildSetRequest(&b).SetKey("k").SetValue([]byte("v")).Finish()
	require.NoError(t, err)
	getBody := func() []byte {
		var b flyweight.Builder
		rec, err := cachepb.BuildGetRequest(&b).SetKey("k").Finish()
		require.NoError(t, err)
		return body(cachepb.GetRequestTypeID, rec)
	}()

	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"SetRequest sent to Get", body(cachepb.SetRequestTypeID, setRec), "request is message type 3, want 1"},
		{"no type id", []byte{1, 0}, "request too short for a message type id (2 bytes)"},
		{"empty", nil, "request too short"},
		{"truncated", getBody[:len(getBody)-1], "invalid request"},
		{"bad header", body(cachepb.GetRequestTypeID, []byte{0xff, 0xff, 0xff, 0xff}), "invalid request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Call(ctx, cachepb.CacheGetMethod, tc.body, nil)
			var re *rpc.Error
			require.ErrorAs(t, err, &re)
			assert.Equal(t, rpc.CodeInvalidArgument, re.Code)
			assert.ErrorIs(t, err, rpc.ErrInvalidArgument)
			assert.Contains(t, re.Message, tc.want)
		})
	}
	assert.Zero(t, impl.gets.Load(), "the handler never sees a bad request")

	// An unknown method is rpc's CodeUnimplemented (distinct from a missing key,
	// which is found = false).
	_, err = c.Call(ctx, 12345, getBody, nil)
	assert.ErrorIs(t, err, rpc.ErrUnimplemented)

	// The connection is still good.
	tc := cachepb.NewCacheClient(c)
	r, err := tc.Get(ctx, tc.BeginGet().SetKey("missing"))
	require.NoError(t, err)
	assert.False(t, r.Found())
	assert.EqualValues(t, 1, impl.gets.Load())
}

// twiceBuilder sets a response field twice: the builder of a message of
// scalars, strings and bytes keeps the last value.
type twiceBuilder struct{ *cacheserver.Store }

func (twiceBuilder) Get(_ context.Context, _ cachepb.GetRequest, resp *cachepb.GetResponseBuilder) error {
	resp.SetValue([]byte("a")).SetFound(true).SetValue([]byte("b"))
	return nil
}

// TestResponseFieldSetTwice: the last value is sent and the connection
// serves the next call. (A response that fails to build is CodeInternal;
// codecgen's svc tests cover it with a message whose builder can fail.)
func TestResponseFieldSetTwice(t *testing.T) {
	_, addr := serve(t, twiceBuilder{cacheserver.New(cacheserver.Options{})}, rpc.Inline)
	c := cachepb.NewCacheClient(dial(t, addr))
	ctx := testCtx(t)
	g, err := c.Get(ctx, c.BeginGet().SetKey("k"))
	require.NoError(t, err)
	assert.True(t, g.Found())
	assert.Equal(t, "b", string(g.Value()))
	r, err := c.Set(ctx, c.BeginSet().SetKey("k").SetValue([]byte("v")))
	require.NoError(t, err)
	assert.False(t, r.Replaced())
}

// TestWrongResponseType: a server answering Get with another message
// type is an error matching rpc.ErrProtocol on the client, not a misread.
func TestWrongResponseType(t *testing.T) {
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	srv.Handle(cachepb.CacheGetMethod, func(_ context.Context, _, dst []byte) ([]byte, error) {
		var b flyweight.Builder
		rec, _ := cachepb.BuildSetResponse(&b).SetReplaced(true).Finish()
		return append(dst, body(cachepb.SetResponseTypeID, rec)...), nil
	}, rpc.Inline)
	srv.Handle(cachepb.CacheDeleteMethod, func(_ context.Context, _, dst []byte) ([]byte, error) {
		return append(dst, 6, 0), nil
	}, rpc.Inline)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { _ = srv.Serve(context.Background(), ln); close(done) }()
	defer func() { _ = srv.Close(); <-done }()
	c := cachepb.NewCacheClient(dial(t, ln.Addr().String()))
	ctx := testCtx(t)
	_, err = c.Get(ctx, c.BeginGet().SetKey("k"))
	require.ErrorIs(t, err, rpc.ErrProtocol)
	assert.Contains(t, err.Error(), "response is message type 4, want 2")
	_, err = c.Delete(ctx, c.BeginDelete().SetKey("k"))
	require.ErrorIs(t, err, rpc.ErrProtocol)
	assert.Contains(t, err.Error(), "too short")
}

// slow is a Store whose Get waits for its ctx (a stuck backend).
type slow struct {
	*cacheserver.Store
	ended chan error
}

func (s *slow) Get(ctx context.Context, _ cachepb.GetRequest, _ *cachepb.GetResponseBuilder) error {
	<-ctx.Done()
	s.ended <- ctx.Err()
	return ctx.Err()
}

// TestDeadline: the client's deadline travels with the call; the client
// gets context.DeadlineExceeded and the handler's ctx ends too.
func TestDeadline(t *testing.T) {
	impl := &slow{Store: cacheserver.New(cacheserver.Options{}), ended: make(chan error, 1)}
	_, addr := serve(t, impl, rpc.Pooled)
	c := cachepb.NewCacheClient(dial(t, addr))
	ctx, cancel := context.WithTimeout(testCtx(t), 50*time.Millisecond)
	defer cancel()
	_, err := c.Get(ctx, c.BeginGet().SetKey("k"))
	require.ErrorIs(t, err, context.DeadlineExceeded)
	select {
	case err := <-impl.ended:
		assert.Error(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("the handler's ctx did not end")
	}
}

// TestWatchCancel: canceling a watch ends it on both sides.
func TestWatchCancel(t *testing.T) {
	st := cacheserver.New(cacheserver.Options{})
	_, addr := serve(t, st, rpc.Inline)
	conn := dial(t, addr)
	c, wc := cachepb.NewCacheClient(conn), cachepb.NewCacheClient(conn)
	ctx := testCtx(t)
	wctx, cancel := context.WithCancel(ctx)
	ws, err := wc.Watch(wctx, wc.BeginWatch().SetPrefix("a"))
	require.NoError(t, err)
	defer ws.Close()
	for st.Watchers() == 0 {
		time.Sleep(time.Millisecond)
	}
	_, err = c.Set(ctx, c.BeginSet().SetKey("b").SetValue([]byte("skipped")))
	require.NoError(t, err)
	_, err = c.Set(ctx, c.BeginSet().SetKey("ab").SetValue([]byte("seen")))
	require.NoError(t, err)
	ev, err := ws.Recv()
	require.NoError(t, err)
	assert.Equal(t, cachepb.EventKindSet, ev.Kind())
	assert.Equal(t, "ab", ev.Key())
	assert.Equal(t, "seen", string(ev.Value()))

	cancel()
	_, err = ws.Recv()
	require.ErrorIs(t, err, context.Canceled)
	require.Eventually(t, func() bool { return st.Watchers() == 0 }, 5*time.Second, time.Millisecond, "the server's watch ended")
}

// TestWatchSlowWatcher: a watcher that falls behind is dropped with
// CodeResourceExhausted instead of holding the writers up.
func TestWatchSlowWatcher(t *testing.T) {
	st := cacheserver.New(cacheserver.Options{WatchBuffer: 4})
	_, addr := serve(t, st, rpc.Inline)
	conn := dial(t, addr)
	c, wc := cachepb.NewCacheClient(conn), cachepb.NewCacheClient(conn)
	ctx := testCtx(t)
	ws, err := wc.Watch(ctx, wc.BeginWatch().SetPrefix(""))
	require.NoError(t, err)
	defer ws.Close()
	for st.Watchers() == 0 {
		time.Sleep(time.Millisecond)
	}
	// The stream window (64) plus the buffer (4) is less than 500 events.
	for range 500 {
		_, err := c.Set(ctx, c.BeginSet().SetKey("k").SetValue([]byte("v")))
		require.NoError(t, err)
	}
	for {
		_, err := ws.Recv()
		if err != nil {
			require.ErrorIs(t, err, rpc.ErrResourceExhausted)
			break
		}
	}
}

// TestDrainDuringLoad: a drain while callers run loses no call: each one
// succeeds or is refused as not processed (rpc.ErrUnavailable) or closed.
func TestDrainDuringLoad(t *testing.T) {
	srv, addr := serve(t, cacheserver.New(cacheserver.Options{}), rpc.Pooled)
	ctx := testCtx(t)
	p, err := balance.New(ctx, balance.Static{addr}, PoolOptions())
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.WaitReady(ctx))
	var ok, refused atomic.Int64
	var other []error
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := cachepb.NewCachePoolClient(p)
			for i := 0; i < 100000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				_, err := c.Get(ctx, c.BeginGet().SetKey("k"))
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, rpc.ErrUnavailable) || errors.Is(err, rpc.ErrClosed):
					refused.Add(1)
					return // the pool has no server left
				default:
					mu.Lock()
					other = append(other, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	for ok.Load() < 200 {
		time.Sleep(time.Millisecond)
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	require.NoError(t, srv.Drain(dctx))
	close(stop)
	wg.Wait()
	assert.Empty(t, other)
	t.Logf("%d calls succeeded, %d refused after the drain", ok.Load(), refused.Load())
}

// TestGetAllocs: a steady-state typed Get allocates nothing, client and
// server together (AllocsPerRun counts every goroutine), on one
// connection and through a balance.Pool.
func TestGetAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	st := cacheserver.New(cacheserver.Options{})
	_, addr := serve(t, st, rpc.Inline)
	ctx := testCtx(t)
	conn := dial(t, addr)
	c := cachepb.NewCacheClient(conn)
	_, err := c.Set(ctx, c.BeginSet().SetKey("k").SetValue([]byte("value")))
	require.NoError(t, err)
	get := func(c *cachepb.CacheClient) func() {
		return func() {
			r, err := c.Get(ctx, c.BeginGet().SetKey("k"))
			if err != nil || !r.Found() {
				t.Fatal(err)
			}
		}
	}
	for range 100 {
		get(c)()
	}
	assert.Zero(t, testing.AllocsPerRun(1000, get(c)), "typed Get on an rpc.Client")

	p, err := balance.New(ctx, balance.Static{addr}, PoolOptions())
	require.NoError(t, err)
	defer p.Close()
	require.NoError(t, p.WaitReady(ctx))
	pc := cachepb.NewCachePoolClient(p)
	for range 100 {
		get(pc)()
	}
	assert.Zero(t, testing.AllocsPerRun(1000, get(pc)), "typed Get on a balance.Pool")
}

// TestStoreGetAllocs: the server's handler path alone (Register's
// dispatch and Store.Get) allocates nothing.
func TestStoreGetAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	st := cacheserver.New(cacheserver.Options{})
	var b flyweight.Builder
	rec, _ := cachepb.BuildSetRequest(&b).SetKey("k").SetValue([]byte("v")).Finish()
	sv, err := cachepb.WrapSetRequest(rec)
	require.NoError(t, err)
	require.NoError(t, st.Set(context.Background(), sv, cachepb.BuildSetResponse(&flyweight.Builder{})))
	b.Reset(nil)
	rec, _ = cachepb.BuildGetRequest(&b).SetKey("k").Finish()
	req, err := cachepb.WrapGetRequest(rec)
	require.NoError(t, err)
	var rb flyweight.Builder
	buf := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(1000, func() {
		rb.Reset(buf[:0])
		if err := st.Get(context.Background(), req, cachepb.BuildGetResponse(&rb)); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)
}

// FuzzDispatch sends hostile bodies to every method of the generated
// server: each call gets a response or a typed error (never an internal
// error or a panic), and the connection survives.
func FuzzDispatch(f *testing.F) {
	var b flyweight.Builder
	rec, _ := cachepb.BuildGetRequest(&b).SetKey("k").Finish()
	f.Add(uint8(0), body(cachepb.GetRequestTypeID, rec))
	b.Reset(nil)
	rec, _ = cachepb.BuildSetRequest(&b).SetKey("k").SetValue([]byte("v")).SetTtlMs(5).Finish()
	f.Add(uint8(1), body(cachepb.SetRequestTypeID, rec))
	f.Add(uint8(2), body(cachepb.DeleteRequestTypeID, rec))
	f.Add(uint8(4), body(cachepb.SetRequestTypeID, rec))
	f.Add(uint8(0), []byte{1, 0, 0, 0, 0, 0, 0, 0})
	impl := &counting{Store: cacheserver.New(cacheserver.Options{})}
	_, addr := serve(f, impl, rpc.Inline)
	conn := dial(f, addr)
	methods := []uint32{cachepb.CacheGetMethod, cachepb.CacheSetMethod, cachepb.CacheDeleteMethod, cachepb.CacheTouchMethod}
	f.Fuzz(func(t *testing.T, m uint8, req []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		method := methods[int(m)%len(methods)]
		if method == cachepb.CacheTouchMethod {
			require.NoError(t, conn.Send(ctx, method, req))
			return
		}
		_, err := conn.Call(ctx, method, req, nil)
		if err != nil {
			var re *rpc.Error
			require.ErrorAs(t, err, &re)
			require.Contains(t, []rpc.Code{rpc.CodeInvalidArgument, rpc.CodeResourceExhausted}, re.Code, re.Message)
		}
		// The connection still serves.
		tc := cachepb.NewCacheClient(conn)
		_, err = tc.Get(ctx, tc.BeginGet().SetKey("probe"))
		require.NoError(t, err)
	})
}
