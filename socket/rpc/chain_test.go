package rpc_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/socket/rpc"
)

// trace records interceptor events in order (interceptors may run on
// several goroutines).
type trace struct {
	mu  sync.Mutex
	evs []string
}

func (tr *trace) add(s string) { tr.mu.Lock(); tr.evs = append(tr.evs, s); tr.mu.Unlock() }
func (tr *trace) take() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	s := strings.Join(tr.evs, " ")
	tr.evs = nil
	return s
}

type mdKey struct{}

// Chained interceptors, unary and stream, client and server: the first
// is the outermost; metadata added on the client reaches the server's
// stream handler; a stream interceptor can reject; the client sees a
// stream's end through Done and Err.
func TestChainedInterceptors(t *testing.T) {
	var tr trace
	unary := func(name string) rpc.Interceptor {
		return func(ctx context.Context, m uint32, req, dst []byte, h rpc.Handler) ([]byte, error) {
			tr.add(name + ">")
			out, err := h(ctx, req, dst)
			tr.add("<" + name)
			return out, err
		}
	}
	stream := func(name string) rpc.StreamInterceptor {
		return func(ctx context.Context, m uint32, st *rpc.ServerStream, h rpc.StreamHandler) error {
			tr.add(name + ">")
			if name == "s2" && m == 99 {
				return rpc.NewError(rpc.CodePermissionDenied, "no streams on 99")
			}
			err := h(context.WithValue(ctx, mdKey{}, name), st)
			tr.add("<" + name)
			return err
		}
	}
	srv, err := rpc.NewServer(rpc.ServerOptions{
		Interceptor:       rpc.ChainInterceptors(unary("u1"), nil, unary("u2")),
		StreamInterceptor: rpc.ChainStreamInterceptors(stream("s1"), stream("s2")),
	})
	require.NoError(t, err)
	srv.Handle(1, func(_ context.Context, req, dst []byte) ([]byte, error) { tr.add("h"); return append(dst, req...), nil }, rpc.Inline)
	sh := func(ctx context.Context, st *rpc.ServerStream) error {
		ci, _ := rpc.CallInfoFrom(ctx)
		v, _ := ci.Metadata.Get("who")
		tr.add("sh:" + string(v) + ":" + ctx.Value(mdKey{}).(string))
		return st.Send([]byte("x"))
	}
	srv.HandleStream(2, sh)
	srv.HandleStream(99, sh)

	cunary := func(name string) rpc.ClientInterceptor {
		return func(ctx context.Context, m uint32, md rpc.Metadata, req, dst []byte, inv rpc.Invoker) ([]byte, error) {
			tr.add(name + ">")
			out, err := inv(ctx, m, md, req, dst)
			tr.add("<" + name)
			return out, err
		}
	}
	ends := make(chan string, 2)
	cstream := func(name string) rpc.ClientStreamInterceptor {
		return func(ctx context.Context, m uint32, md rpc.Metadata, open rpc.StreamOpener) (*rpc.ClientStream, error) {
			tr.add(name + ">")
			md, err := md.Append("who", []byte(name))
			if err != nil {
				return nil, err
			}
			st, err := open(ctx, m, md)
			tr.add("<" + name)
			if err == nil && name == "c1" {
				go func() { <-st.Done(); ends <- errName(st.Err()) }()
			}
			return st, err
		}
	}
	c := dial(t, serve(t, srv), rpc.ClientOptions{
		Interceptor:       rpc.ChainClientInterceptors(cunary("k1"), cunary("k2")),
		StreamInterceptor: rpc.ChainClientStreamInterceptors(nil, cstream("c1"), cstream("c2")),
	})
	ctx := testCtx(t)
	got, err := c.Call(ctx, 1, []byte("a"), nil)
	require.NoError(t, err)
	assert.Equal(t, "a", string(got))
	assert.Equal(t, "k1> k2> u1> u2> h <u2 <u1 <k2 <k1", tr.take())

	st, err := c.OpenStream(ctx, 2, nil)
	require.NoError(t, err)
	b, err := st.Recv(nil)
	require.NoError(t, err)
	assert.Equal(t, "x", string(b))
	_, err = st.Recv(nil)
	require.ErrorIs(t, err, io.EOF)
	<-st.Done()
	require.ErrorIs(t, st.Err(), io.EOF)
	require.NoError(t, st.Close())
	// The two sides' events may interleave: compare each side's order.
	evs := tr.take()
	assert.Equal(t, "c1> c2> <c2 <c1", pick(evs, "c"))
	assert.Equal(t, "s1> s2> sh:c1:s2 <s2 <s1", pick(evs, "s"), "c1 added its metadata first")
	assert.Equal(t, "EOF", <-ends, "the interceptor saw the stream's end")

	st, err = c.OpenStream(ctx, 99, nil)
	require.NoError(t, err)
	_, err = st.Recv(nil)
	require.ErrorIs(t, err, rpc.ErrPermissionDenied, "a stream interceptor rejected it")
	require.NoError(t, st.Close())
	assert.Contains(t, <-ends, "permission denied")

	assert.Nil(t, rpc.ChainInterceptors(), "no interceptors: none at all")
	assert.Nil(t, rpc.ChainClientInterceptors(nil))
	assert.Nil(t, rpc.ChainStreamInterceptors())
	assert.Nil(t, rpc.ChainClientStreamInterceptors(nil, nil))
}

// pick keeps the events of one side: those starting (or ending, after
// "<") with prefix p, and the stream handler's for "s".
func pick(evs, p string) string {
	var out []string
	for _, e := range strings.Fields(evs) {
		name := strings.TrimPrefix(e, "<")
		if strings.HasPrefix(name, p) && (len(name) > 1 && name[1] >= '0' && name[1] <= '9' || p == "s" && strings.HasPrefix(name, "sh:")) {
			out = append(out, e)
		}
	}
	return strings.Join(out, " ")
}

func errName(err error) string {
	if err == io.EOF {
		return "EOF"
	}
	if err == nil {
		return "nil"
	}
	return err.Error()
}
