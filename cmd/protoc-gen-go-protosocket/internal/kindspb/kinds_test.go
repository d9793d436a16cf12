package kindspb_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/cmd/protoc-gen-go-protosocket/internal/kindspb"
	"github.com/protosocket-go/protosocket/codec/protobuf"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket/rpc"
	"github.com/protosocket-go/protosocket/socket/rpc/balance"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

// impl serves kinds.Kinds. Unary requests whose text names a failure fail
// that way; the others are echoed.
type impl struct{}

func (impl) Unary(_ context.Context, req *kindspb.Req, resp *kindspb.Resp) error {
	switch req.Text {
	case "app":
		return rpc.NewError(rpc.CodeAppMin+3, "app failure")
	case "plain":
		return errors.New("plain failure")
	case "deadline":
		return fmt.Errorf("waited: %w", context.DeadlineExceeded)
	case "bad-utf8":
		resp.Text = "\xff" // proto3 strings must be UTF-8: the reply cannot be encoded
		return nil
	}
	resp.Text = req.Text
	return nil
}

func (i impl) Old(ctx context.Context, req *kindspb.Req, resp *kindspb.Resp) error {
	return i.Unary(ctx, req, resp)
}

func (impl) ServerStream(_ context.Context, req *kindspb.Req, st *kindspb.PSKinds_ServerStreamServer) error {
	for i := range req.N {
		if err := st.Send(&kindspb.Resp{Text: fmt.Sprint(req.Text, i)}); err != nil {
			return err
		}
	}
	if req.Text == "fail" {
		return rpc.NewError(rpc.CodeAppMin+4, "stream failure")
	}
	return nil
}

func (impl) ClientStream(_ context.Context, st *kindspb.PSKinds_ClientStreamServer, resp *kindspb.Resp) error {
	var m kindspb.Req
	for {
		err := st.Recv(&m)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		resp.Text += m.Text
	}
}

func (impl) Bidi(_ context.Context, st *kindspb.PSKinds_BidiServer) error {
	var m kindspb.Req
	var out kindspb.Resp // reused: the handler allocates nothing of its own
	for {
		err := st.Recv(&m)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		out.Text = m.Text
		if err := st.Send(&out); err != nil {
			return err
		}
	}
}

type other struct{}

func (other) Ping(_ context.Context, req, resp *kindspb.Req) error {
	resp.Text, resp.N = req.Text, req.N+1
	return nil
}

// serve runs srv on a loopback listener until the test ends.
func serve(t testing.TB, srv *rpc.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(context.Background(), ln) })
	t.Cleanup(func() {
		require.NoError(t, srv.Close())
		wg.Wait()
	})
	return ln.Addr().String()
}

// start serves Kinds and Other (unary methods in mode) and returns the
// address.
func start(t testing.TB, mode rpc.Mode) string {
	t.Helper()
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	kindspb.RegisterPSKindsServer(srv, impl{}, mode)
	kindspb.RegisterPSOtherServer(srv, other{}, mode)
	return serve(t, srv)
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

func newPool(t testing.TB, addr string) *balance.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	p, err := balance.New(ctx, balance.Static{addr}, balance.Options{KeepAlive: -1})
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Close() })
	require.NoError(t, p.WaitReady(ctx))
	return p
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestKinds(t *testing.T) {
	for _, mode := range []rpc.Mode{rpc.Pooled, rpc.Inline} {
		addr := start(t, mode)
		clients := map[string]*kindspb.PSKindsClient{
			"conn": kindspb.NewPSKindsClient(dial(t, addr)),
			"pool": kindspb.NewPSKindsPoolClient(newPool(t, addr)),
		}
		for name, c := range clients {
			t.Run(fmt.Sprintf("%s/mode%d", name, mode), func(t *testing.T) {
				ctx := testCtx(t)
				r, err := c.Unary(ctx, &kindspb.Req{Text: "hello"})
				require.NoError(t, err)
				assert.Equal(t, "hello", r.Text)

				out := &kindspb.Resp{Text: "stale", Data: []byte("stale")}
				require.NoError(t, c.UnaryInto(ctx, &kindspb.Req{Text: "again"}, out))
				assert.Equal(t, "again", out.Text)
				assert.Empty(t, out.Data, "the response message is reset before decoding")

				r, err = c.Old(ctx, &kindspb.Req{Text: "old"})
				require.NoError(t, err)
				assert.Equal(t, "old", r.Text)

				ss, err := c.ServerStream(ctx, &kindspb.Req{Text: "s", N: 5})
				require.NoError(t, err)
				var got []string
				for {
					err := ss.Recv(out)
					if err == io.EOF {
						break
					}
					require.NoError(t, err)
					got = append(got, out.Text)
				}
				require.NoError(t, ss.Close())
				assert.Equal(t, []string{"s0", "s1", "s2", "s3", "s4"}, got)

				cs, err := c.ClientStream(ctx)
				require.NoError(t, err)
				for _, s := range []string{"a", "b", "c"} {
					require.NoError(t, cs.Send(&kindspb.Req{Text: s}))
				}
				require.NoError(t, cs.CloseAndRecv(out))
				require.NoError(t, cs.Close())
				assert.Equal(t, "abc", out.Text)

				bs, err := c.Bidi(ctx)
				require.NoError(t, err)
				for _, s := range []string{"x", "y", "z"} {
					require.NoError(t, bs.Send(&kindspb.Req{Text: s}))
					require.NoError(t, bs.Recv(out))
					assert.Equal(t, s, out.Text)
				}
				require.NoError(t, bs.CloseSend())
				assert.Equal(t, io.EOF, bs.Recv(out))
				require.NoError(t, bs.Close())
			})
		}
		oc := kindspb.NewPSOtherClient(dial(t, addr))
		r, err := oc.Ping(testCtx(t), &kindspb.Req{Text: "p", N: 41})
		require.NoError(t, err)
		assert.Equal(t, uint32(42), r.N)
	}
}

// TestHandlerErrors: a handler's error reaches the caller with its code.
func TestHandlerErrors(t *testing.T) {
	c := kindspb.NewPSKindsClient(dial(t, start(t, rpc.Pooled)))
	ctx := testCtx(t)
	tests := []struct {
		text string
		want error
		code rpc.Code
	}{
		{"app", rpc.ErrApplication, rpc.CodeAppMin + 3},
		{"plain", rpc.ErrUnknown, rpc.CodeUnknown},
		{"deadline", context.DeadlineExceeded, rpc.CodeDeadlineExceeded},
		{"bad-utf8", rpc.ErrInternal, rpc.CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			_, err := c.Unary(ctx, &kindspb.Req{Text: tt.text})
			require.ErrorIs(t, err, tt.want)
			var e *rpc.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.code, e.Code)
		})
	}
	t.Run("server stream", func(t *testing.T) {
		ss, err := c.ServerStream(ctx, &kindspb.Req{Text: "fail", N: 2})
		require.NoError(t, err)
		defer ss.Close()
		var out kindspb.Resp
		require.NoError(t, ss.Recv(&out))
		require.NoError(t, ss.Recv(&out))
		err = ss.Recv(&out)
		var e *rpc.Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, rpc.CodeAppMin+4, e.Code)
	})
	t.Run("client request cannot be encoded", func(t *testing.T) {
		_, err := c.Unary(ctx, &kindspb.Req{Text: "\xff"})
		require.ErrorIs(t, err, protobuf.ErrEncode)
	})
}

// hostile are request bodies that are not a kinds.Req.
var hostile = map[string][]byte{
	"truncated varint":       {0x10, 0xff},
	"length past the end":    {0x0a, 0x05, 'a'},
	"invalid UTF-8 string":   {0x0a, 0x01, 0xff},
	"field number zero":      {0x00, 0x01},
	"end group without open": {0x0c},
}

// TestHostileRequests: bytes that do not decode as the request type are
// answered with CodeInvalidArgument, for every kind, and the connection
// keeps working.
func TestHostileRequests(t *testing.T) {
	c := dial(t, start(t, rpc.Pooled))
	kc := kindspb.NewPSKindsClient(c)
	for name, body := range hostile {
		t.Run(name, func(t *testing.T) {
			ctx := testCtx(t)
			_, err := c.Call(ctx, kindspb.PSKinds_Unary_Method, body, nil)
			require.ErrorIs(t, err, rpc.ErrInvalidArgument)

			for _, m := range []uint32{kindspb.PSKinds_ServerStream_Method, kindspb.PSKinds_ClientStream_Method, kindspb.PSKinds_Bidi_Method} {
				st, err := c.OpenStream(ctx, m, nil)
				require.NoError(t, err)
				require.NoError(t, st.Send(body))
				_, err = st.Recv(nil)
				require.ErrorIs(t, err, rpc.ErrInvalidArgument, "method %#x", m)
				require.NoError(t, st.Close())
			}
			r, err := kc.Unary(ctx, &kindspb.Req{Text: "still here"})
			require.NoError(t, err)
			assert.Equal(t, "still here", r.Text)
		})
	}
	t.Run("server stream without its request", func(t *testing.T) {
		st, err := c.OpenStream(testCtx(t), kindspb.PSKinds_ServerStream_Method, nil)
		require.NoError(t, err)
		require.NoError(t, st.CloseSend())
		_, err = st.Recv(nil)
		require.ErrorIs(t, err, rpc.ErrInvalidArgument)
		require.NoError(t, st.Close())
	})
}

// TestBadResponses: a server that breaks the method's shape or sends
// bytes that are not the response type gives the client a typed error.
func TestBadResponses(t *testing.T) {
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	garbage := []byte{0x0a, 0x05, 'a'}
	srv.Handle(kindspb.PSKinds_Unary_Method, func(_ context.Context, _, dst []byte) ([]byte, error) {
		return append(dst, garbage...), nil
	}, rpc.Pooled)
	srv.HandleStream(kindspb.PSKinds_ServerStream_Method, func(_ context.Context, st *rpc.ServerStream) error {
		return st.Send(garbage)
	})
	// The ClientStream handler sends as many replies as its first request's N.
	srv.HandleStream(kindspb.PSKinds_ClientStream_Method, func(_ context.Context, st *rpc.ServerStream) error {
		b, err := st.Recv(nil)
		if err != nil {
			return err
		}
		var req kindspb.Req
		if err := protobuf.Unmarshal(b, &req); err != nil {
			return err
		}
		for {
			if _, err := st.Recv(nil); err != nil {
				break
			}
		}
		for range req.N {
			if err := st.Send([]byte{0x0a, 0x01, 'r'}); err != nil {
				return err
			}
		}
		return nil
	})
	c := kindspb.NewPSKindsClient(dial(t, serve(t, srv)))
	ctx := testCtx(t)

	_, err = c.Unary(ctx, &kindspb.Req{})
	require.ErrorIs(t, err, protobuf.ErrDecode)

	ss, err := c.ServerStream(ctx, &kindspb.Req{})
	require.NoError(t, err)
	require.ErrorIs(t, ss.Recv(new(kindspb.Resp)), protobuf.ErrDecode)
	require.NoError(t, ss.Close())

	for n, want := range map[uint32]error{0: io.ErrUnexpectedEOF, 1: nil, 2: rpc.ErrProtocol} {
		cs, err := c.ClientStream(ctx)
		require.NoError(t, err)
		require.NoError(t, cs.Send(&kindspb.Req{N: n}))
		var out kindspb.Resp
		err = cs.CloseAndRecv(&out)
		if want == nil {
			require.NoError(t, err)
			assert.Equal(t, "r", out.Text)
		} else {
			require.ErrorIs(t, err, want, "%d replies", n)
		}
		require.NoError(t, cs.Close())
	}
}

// TestClosedConnection: calls on a closed client were never sent, so they
// end with rpc.ErrUnavailable (not processed, safe to retry elsewhere: the
// rpc package's error contract), never with rpc.ErrClosed.
func TestClosedConnection(t *testing.T) {
	rc := dial(t, start(t, rpc.Pooled))
	c := kindspb.NewPSKindsClient(rc)
	require.NoError(t, rc.Close())
	_, err := c.Unary(testCtx(t), &kindspb.Req{})
	require.ErrorIs(t, err, rpc.ErrUnavailable)
	require.NotErrorIs(t, err, rpc.ErrClosed)
	_, err = c.Bidi(testCtx(t))
	require.ErrorIs(t, err, rpc.ErrUnavailable)
	require.NotErrorIs(t, err, rpc.ErrClosed)
}

// TestAllocs: with a reused response message, a generated unary call
// allocates, client and server together, exactly what the same protobuf
// work allocates on its own plus what the raw rpc call allocates: the
// generated code adds nothing.
func TestAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	ctx := context.Background()
	name := strings.Repeat("n", 32)
	req := &kindspb.Req{Text: name, N: 7}

	// protobuf-go's own work per call: encode the request, decode it on the
	// server, encode the response, decode it on the client.
	var sreq kindspb.Req
	var sresp, cresp kindspb.Resp
	var b1, b2 []byte
	protoOnly := testing.AllocsPerRun(2000, func() {
		b1, _ = protobuf.Append(b1[:0], req)
		_ = protobuf.Unmarshal(b1, &sreq)
		sresp.Text = sreq.Text
		b2, _ = protobuf.Append(b2[:0], &sresp)
		_ = protobuf.Unmarshal(b2, &cresp)
	})

	for _, mode := range []rpc.Mode{rpc.Inline, rpc.Pooled} {
		rc := dial(t, start(t, mode))
		c := kindspb.NewPSKindsClient(rc)
		// The raw rpc call of the same bytes (its own test asserts 0).
		srv, err := rpc.NewServer(rpc.ServerOptions{})
		require.NoError(t, err)
		srv.Handle(1, func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, req...), nil }, mode)
		raw := dial(t, serve(t, srv))
		var dst []byte
		for range 2000 {
			dst, err = raw.Call(ctx, 1, b1, dst[:0])
			require.NoError(t, err)
		}
		rawAllocs := testing.AllocsPerRun(2000, func() { dst, err = raw.Call(ctx, 1, b1, dst[:0]) })
		require.NoError(t, err)

		out := new(kindspb.Resp)
		for range 2000 { // warm the pools
			require.NoError(t, c.UnaryInto(ctx, req, out))
		}
		generated := testing.AllocsPerRun(2000, func() { err = c.UnaryInto(ctx, req, out) })
		require.NoError(t, err)
		assert.Equal(t, name, out.Text)
		t.Logf("mode %d: allocs per call: generated %.2f = protobuf-go %.2f + rpc %.2f", mode, generated, protoOnly, rawAllocs)
		assert.Equal(t, protoOnly+rawAllocs, generated, "mode %d: the generated code must add no allocation", mode)
	}
}

// TestStreamAllocs: a message echoed on a generated bidi stream, with
// reused messages on both sides, allocates what protobuf-go's own work
// allocates plus what the raw rpc stream echo allocates, and no more.
func TestStreamAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	ctx := testCtx(t)
	req := &kindspb.Req{Text: strings.Repeat("s", 32)}

	var sreq kindspb.Req
	var sresp, cresp kindspb.Resp
	var b1, b2 []byte
	protoOnly := testing.AllocsPerRun(2000, func() {
		b1, _ = protobuf.Append(b1[:0], req)
		_ = protobuf.Unmarshal(b1, &sreq)
		sresp.Text = sreq.Text
		b2, _ = protobuf.Append(b2[:0], &sresp)
		_ = protobuf.Unmarshal(b2, &cresp)
	})

	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	srv.HandleStream(1, func(_ context.Context, st *rpc.ServerStream) error {
		var buf []byte
		for {
			var err error
			if buf, err = st.Recv(buf[:0]); err != nil {
				return nil
			}
			if err := st.Send(buf); err != nil {
				return err
			}
		}
	})
	raw, err := dial(t, serve(t, srv)).OpenStream(ctx, 1, nil)
	require.NoError(t, err)
	defer raw.Close()
	var buf []byte
	echo := func() {
		if err = raw.Send(b1); err == nil {
			buf, err = raw.Recv(buf[:0])
		}
	}
	for range 2000 {
		echo()
	}
	rawAllocs := testing.AllocsPerRun(2000, echo)
	require.NoError(t, err)

	bs, err := kindspb.NewPSKindsClient(dial(t, start(t, rpc.Pooled))).Bidi(ctx)
	require.NoError(t, err)
	defer bs.Close()
	out := new(kindspb.Resp)
	gen := func() {
		if err = bs.Send(req); err == nil {
			err = bs.Recv(out)
		}
	}
	for range 2000 {
		gen()
	}
	generated := testing.AllocsPerRun(2000, gen)
	require.NoError(t, err)
	assert.Equal(t, req.Text, out.Text)
	t.Logf("allocs per echoed message: generated %.2f = protobuf-go %.2f + rpc stream %.2f", generated, protoOnly, rawAllocs)
	assert.Equal(t, protoOnly+rawAllocs, generated, "the generated stream code must add no allocation")
}
