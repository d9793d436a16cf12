package svc

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/flyweight"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

// demo implements every kind of method.
type demo struct{ notified chan string }

func (demo) Unary(_ context.Context, req Req, resp *RespBuilder) error {
	resp.SetText("hi " + req.Name()).SetN(1)
	return nil
}

func (demo) Watch(_ context.Context, req Req, st *DemoWatchServerStream) error {
	for i := range 3 {
		if err := st.Send(st.Begin().SetText(req.Name()).SetN(uint32(i))); err != nil {
			return err
		}
	}
	return nil
}

func (demo) Upload(_ context.Context, st *DemoUploadServerStream, resp *RespBuilder) error {
	var names []string
	for {
		r, err := st.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		names = append(names, r.Name())
	}
	resp.SetText(strings.Join(names, ",")).SetN(uint32(len(names)))
	return nil
}

func (demo) Chat(_ context.Context, st *DemoChatServerStream) error {
	for {
		r, err := st.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := st.Send(st.Begin().SetText(strings.ToUpper(r.Name()))); err != nil {
			return err
		}
	}
}

func (d demo) Notify(_ context.Context, req Req) error {
	d.notified <- req.Name()
	return nil
}

func start(t *testing.T) (*rpc.Client, demo) {
	t.Helper()
	d := demo{notified: make(chan string, 1)}
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	RegisterDemo(srv, d, rpc.Pooled)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { _ = srv.Serve(context.Background(), ln); close(done) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := rpc.Dial(ctx, "tcp", ln.Addr().String(), rpc.ClientOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, d
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestAllKinds runs one method of each kind through the generated stubs.
func TestAllKinds(t *testing.T) {
	conn, d := start(t)
	c := NewDemoClient(conn)
	ctx := ctx(t)

	r, err := c.Unary(ctx, c.BeginUnary().SetName("ada"))
	require.NoError(t, err)
	assert.Equal(t, "hi ada", r.Text())

	ws, err := c.Watch(ctx, c.BeginWatch().SetName("w"))
	require.NoError(t, err)
	for i := range 3 {
		m, err := ws.Recv()
		require.NoError(t, err)
		assert.Equal(t, "w", m.Text())
		assert.EqualValues(t, i, m.N())
	}
	_, err = ws.Recv()
	assert.ErrorIs(t, err, io.EOF)
	require.NoError(t, ws.Close())

	us, err := c.Upload(ctx)
	require.NoError(t, err)
	for _, n := range []string{"a", "b", "c"} {
		require.NoError(t, us.Send(us.Begin().SetName(n)))
	}
	ur, err := us.CloseAndRecv()
	require.NoError(t, err)
	assert.Equal(t, "a,b,c", ur.Text())
	assert.EqualValues(t, 3, ur.N())
	require.NoError(t, us.Close())

	cs, err := c.Chat(ctx)
	require.NoError(t, err)
	for _, n := range []string{"x", "yz"} {
		require.NoError(t, cs.Send(cs.Begin().SetName(n)))
		m, err := cs.Recv()
		require.NoError(t, err)
		assert.Equal(t, strings.ToUpper(n), m.Text())
	}
	require.NoError(t, cs.CloseSend())
	_, err = cs.Recv()
	assert.ErrorIs(t, err, io.EOF)
	require.NoError(t, cs.Close())

	require.NoError(t, c.Notify(ctx, c.BeginNotify().SetName("fire")))
	select {
	case n := <-d.notified:
		assert.Equal(t, "fire", n)
	case <-time.After(5 * time.Second):
		t.Fatal("the oneway call did not arrive")
	}
}

func typed(id uint32, rec []byte) []byte {
	return append(binary.LittleEndian.AppendUint32(nil, id), rec...)
}

// TestStreamBadMessages: a stream message of the wrong type, or a server
// stream that ends before its request, is CodeInvalidArgument.
func TestStreamBadMessages(t *testing.T) {
	conn, _ := start(t)
	ctx := ctx(t)
	var b flyweight.Builder
	resp, _ := BuildResp(&b).SetText("not a request").Finish()

	st, err := conn.OpenStream(ctx, DemoUploadMethod, nil)
	require.NoError(t, err)
	require.NoError(t, st.Send(typed(RespTypeID, resp)))
	require.NoError(t, st.CloseSend())
	_, err = st.Recv(nil)
	var re *rpc.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, rpc.CodeInvalidArgument, re.Code)
	assert.Contains(t, re.Message, "request is message type 2, want 1")
	_ = st.Close()

	st, err = conn.OpenStream(ctx, DemoWatchMethod, nil)
	require.NoError(t, err)
	require.NoError(t, st.CloseSend())
	_, err = st.Recv(nil)
	require.ErrorAs(t, err, &re)
	assert.Equal(t, rpc.CodeInvalidArgument, re.Code)
	assert.Contains(t, re.Message, "the stream ended before its request")
	_ = st.Close()

	st, err = conn.OpenStream(ctx, DemoChatMethod, nil)
	require.NoError(t, err)
	require.NoError(t, st.Send([]byte{1, 0, 0, 0, 0xff}))
	_, err = st.Recv(nil)
	require.ErrorAs(t, err, &re)
	assert.Equal(t, rpc.CodeInvalidArgument, re.Code)
	assert.Contains(t, re.Message, "invalid request")
	_ = st.Close()
	assert.False(t, errors.Is(err, rpc.ErrClosed))
}

// blocking is demo whose Unary waits on release for the name "block".
type blocking struct {
	demo
	entered, release chan struct{}
}

func (b blocking) Unary(ctx context.Context, req Req, resp *RespBuilder) error {
	if req.Name() == "block" {
		close(b.entered)
		<-b.release
	}
	return b.demo.Unary(ctx, req, resp)
}

// modeOverride registers blocking with the given overrides, blocks one
// Unary call in its handler and makes a second on the same connection
// with the given deadline; it returns the second call's error.
func modeOverride(t *testing.T, wait time.Duration, overrides ...DemoMethodMode) error {
	impl := blocking{demo: demo{notified: make(chan string, 1)}, entered: make(chan struct{}), release: make(chan struct{})}
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	RegisterDemo(srv, impl, rpc.Inline, overrides...)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { _ = srv.Serve(context.Background(), ln); close(done) }()
	defer func() { _ = srv.Close(); <-done }()
	ctx := ctx(t)
	conn, err := rpc.Dial(ctx, "tcp", ln.Addr().String(), rpc.ClientOptions{})
	require.NoError(t, err)
	defer conn.Close()

	blocked := make(chan error, 1)
	go func() {
		c := NewDemoClient(conn)
		_, err := c.Unary(ctx, c.BeginUnary().SetName("block"))
		blocked <- err
	}()
	<-impl.entered // the blocking call holds its handler now
	c := NewDemoClient(conn)
	sctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	_, err = c.Unary(sctx, c.BeginUnary().SetName("free"))
	close(impl.release)
	require.NoError(t, <-blocked)
	return err
}

// TestModeOverride: Register's overrides set one method's mode. With
// Unary overridden to Pooled (the default being Inline) a blocked call
// does not hold the connection's reader and a second call completes;
// without the override the second call waits behind it. The second call
// of the first case has 5 s: it fails only if it waits for the blocked
// one, which is released after it returns (with 200 ms, a loaded machine
// could fail a correct server); that of the second case 200 ms, which it
// always exceeds for the same reason.
func TestModeOverride(t *testing.T) {
	require.NoError(t, modeOverride(t, 5*time.Second, DemoMethodMode{DemoUnaryMethod, rpc.Pooled}))
	require.ErrorIs(t, modeOverride(t, 200*time.Millisecond), context.DeadlineExceeded)
}

// lists answers Collect with name's length items, or, for name "bad", a
// response that fails to build (its group begun twice).
type lists struct{}

func (lists) Collect(_ context.Context, req Req, resp BatchBuilder) error {
	if req.Name() == "bad" {
		resp.BeginItems().End()
		resp.BeginItems().End()
		return nil
	}
	g := resp.BeginItems()
	for i := range len(req.Name()) {
		g.Add().SetN(uint32(i))
	}
	g.End()
	return nil
}

// TestResponseFailsToBuild: a response whose builder fails reaches the
// caller as CodeInternal and the connection serves the next call.
func TestResponseFailsToBuild(t *testing.T) {
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	RegisterLists(srv, lists{}, rpc.Inline)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { _ = srv.Serve(context.Background(), ln); close(done) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	c, err := rpc.Dial(ctx(t), "tcp", ln.Addr().String(), rpc.ClientOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	lc := NewListsClient(c)
	_, err = lc.Collect(ctx(t), lc.BeginCollect().SetName("bad"))
	var re *rpc.Error
	require.ErrorAs(t, err, &re)
	assert.Equal(t, rpc.CodeInternal, re.Code)
	b, err := lc.Collect(ctx(t), lc.BeginCollect().SetName("abc"))
	require.NoError(t, err)
	assert.Equal(t, 3, b.Items().Len())
	assert.EqualValues(t, 2, b.Items().At(2).N())
}
