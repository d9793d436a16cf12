package rpc_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// TestPooledReqCappedAttack: a Pooled handler that appends to its req
// cannot rewrite the call's metadata, which is copied right after it.
func TestPooledReqCappedAttack(t *testing.T) {
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	srv.Handle(1, func(ctx context.Context, req, dst []byte) ([]byte, error) {
		grown := append(req, "\x01kZZZZZZZZZZZZZZZZ"...) // would overwrite the metadata in place
		_ = grown
		info, _ := rpc.CallInfoFrom(ctx)
		v, _ := info.Metadata.Get("k")
		return append(dst, v...), nil
	}, rpc.Pooled)
	c := dial(t, serve(t, srv), rpc.ClientOptions{})
	md, err := rpc.Metadata(nil).Append("k", []byte("value"))
	require.NoError(t, err)
	k, err := c.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	for _, body := range []string{"", "x", "0123456789abcdef"} {
		got, err := k.CallMetadata(testCtx(t), 1, md, []byte(body), nil)
		require.NoError(t, err)
		assert.Equal(t, "value", string(got), "body %q", body)
	}
}

// TestKeptBuffersPoisoned (psdebug): a Pooled handler's request copy and
// its response buffer, kept past the handler, read as poison once
// released: never as a later call's bytes.
func TestKeptBuffersPoisoned(t *testing.T) {
	if !pool.Debug {
		t.Skip("needs -tags psdebug")
	}
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	type kept struct{ req, out []byte }
	keep := make(chan kept, 1)
	srv.Handle(1, func(ctx context.Context, req, dst []byte) ([]byte, error) {
		out := append(dst, "response"...)
		select {
		case keep <- kept{req, out}:
		default:
		}
		return out, nil
	}, rpc.Pooled)
	c := dial(t, serve(t, srv), rpc.ClientOptions{})
	got, err := c.Call(testCtx(t), 1, []byte("request"), nil)
	require.NoError(t, err)
	require.Equal(t, "response", string(got))
	k := <-keep
	for i := range 10 { // later calls must not show through the kept views
		_, err := c.Call(testCtx(t), 1, fmt.Appendf(nil, "later %d", i), nil)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return pool.Poisoned(k.req) && pool.Poisoned(k.out) }, 10*time.Second, time.Millisecond,
		"kept req %q and response %q are poisoned", k.req, k.out)
}

// TestReusedContextMisusePanics (psdebug): with ReuseContexts, using a
// handler's ctx after the handler returned panics naming the mistake.
func TestReusedContextMisusePanics(t *testing.T) {
	if !pool.Debug {
		t.Skip("needs -tags psdebug")
	}
	srv, err := rpc.NewServer(rpc.ServerOptions{ReuseContexts: true})
	require.NoError(t, err)
	keep := make(chan context.Context, 1)
	srv.Handle(1, func(ctx context.Context, req, dst []byte) ([]byte, error) {
		require.NoError(t, ctx.Err(), "live while the handler runs")
		keep <- ctx
		return dst, nil
	}, rpc.Inline)
	c := dial(t, serve(t, srv), rpc.ClientOptions{})
	_, err = c.Call(testCtx(t), 1, nil, nil)
	require.NoError(t, err)
	ctx := <-keep
	for name, use := range map[string]func(){
		"Err":          func() { _ = ctx.Err() },
		"Done":         func() { _ = ctx.Done() },
		"Deadline":     func() { _, _ = ctx.Deadline() },
		"CallInfoFrom": func() { _, _ = rpc.CallInfoFrom(ctx) },
		"SetHeader":    func() { _ = rpc.SetHeader(ctx, "k", nil) },
		"SetTrailer":   func() { _ = rpc.SetTrailer(ctx, "k", nil) },
	} {
		msg := func() (msg any) {
			defer func() { msg = recover() }()
			use()
			return nil
		}()
		require.NotNil(t, msg, "%s on a reused ctx after the handler returned must panic", name)
		assert.Contains(t, msg, "after the handler returned", name)
		assert.Contains(t, msg, "ReuseContexts", name)
	}
}
