package rpc_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// mdEcho answers with the request, then "|" and the value of metadata key
// "user" (if any).
func mdEcho(ctx context.Context, req, dst []byte) ([]byte, error) {
	dst = append(dst, req...)
	if ci, ok := rpc.CallInfoFrom(ctx); ok {
		ci.Metadata.Range(func(k, v []byte) bool {
			if string(k) == "user" {
				dst = append(append(dst, '|'), v...)
			}
			return true
		})
	}
	return dst, nil
}

func TestClientInterceptor(t *testing.T) {
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	srv.Handle(9, mdEcho, rpc.Inline)
	addr := serve(t, srv)

	var methods []uint32 // only the test goroutine calls
	ic := func(ctx context.Context, method uint32, md rpc.Metadata, req, dst []byte, invoke rpc.Invoker) ([]byte, error) {
		methods = append(methods, method)
		if string(req) == "local" {
			return dst, rpc.NewError(rpc.CodeInvalidArgument, "refused by the client")
		}
		md, err := md.Append("user", []byte("ann"))
		if err != nil {
			return dst, err
		}
		return invoke(ctx, method, md, append([]byte("re:"), req...), dst)
	}
	c := dial(t, addr, rpc.ClientOptions{Interceptor: ic})

	got, err := c.Call(testCtx(t), 9, []byte("a"), nil)
	require.NoError(t, err)
	assert.Equal(t, "re:a|ann", string(got), "request rewritten, metadata added")

	k, err := c.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	got, err = k.Call(testCtx(t), 9, []byte("b"), nil)
	require.NoError(t, err)
	assert.Equal(t, "re:b|ann", string(got))

	_, err = k.Call(testCtx(t), 9, []byte("local"), nil)
	require.ErrorIs(t, err, rpc.ErrInvalidArgument, "the interceptor's own error")
	_, err = k.Call(testCtx(t), 404, []byte("x"), nil)
	require.ErrorIs(t, err, rpc.ErrUnimplemented, "the server's error passes back through")
	assert.Equal(t, []uint32{9, 9, 9, 404}, methods)

	// Without an interceptor the same call carries neither change.
	plain := dial(t, addr, rpc.ClientOptions{})
	got, err = plain.Call(testCtx(t), 9, []byte("a"), nil)
	require.NoError(t, err)
	assert.Equal(t, "a", string(got))
}

// A pass-through interceptor adds no allocation to a call.
func TestClientInterceptorAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	// ReuseContexts: the server's share is zero too (see TestUnaryAllocs).
	srv, err := rpc.NewServer(rpc.ServerOptions{ReuseContexts: true})
	require.NoError(t, err)
	srv.Handle(9, mdEcho, rpc.Inline)
	calls := 0
	c := dial(t, serve(t, srv), rpc.ClientOptions{Interceptor: func(ctx context.Context, method uint32, md rpc.Metadata, req, dst []byte, invoke rpc.Invoker) ([]byte, error) {
		calls++
		return invoke(ctx, method, md, req, dst)
	}})
	k, err := c.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	ctx := context.Background()
	req, dst := []byte("0123456789abcdef"), make([]byte, 0, 64)
	for range 100 {
		dst, err = k.Call(ctx, 9, req, dst[:0])
		require.NoError(t, err)
	}
	allocs := testing.AllocsPerRun(2000, func() { dst, err = k.Call(ctx, 9, req, dst[:0]) })
	require.NoError(t, err)
	assert.Zero(t, allocs, "allocations per intercepted call, client plus server")
	assert.Equal(t, 2101, calls)
}
