package rpc_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// TestCallerSharedContextCancel: calls that reuse one cancelable context
// wait through the Caller's watch of it (ctxwatch.go); canceling it ends
// the call in flight at once with context.Canceled, a cancel frame
// reaches the handler, the next call with it fails the same way, and a
// call with another context still works.
func TestCallerSharedContextCancel(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	k, err := c.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 3 {
		out, err := k.Call(ctx, mEcho, []byte("hi"), nil)
		require.NoError(t, err)
		assert.Equal(t, "hi", string(out))
	}
	require.Equal(t, 1, rpc.WatchesOf(c), "the second call with one context watches it")

	res := make(chan error, 1)
	go func() {
		_, err := k.Call(ctx, mBlock, nil, nil)
		res <- err
	}()
	<-ts.entered
	cancel()
	select {
	case err := <-res:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not end with its context")
	}
	select {
	case err := <-ts.ctxErr:
		require.ErrorIs(t, err, context.Canceled, "the handler's context is canceled by the cancel frame")
	case <-time.After(10 * time.Second):
		t.Fatal("no cancel reached the handler")
	}
	_, err = k.Call(ctx, mEcho, []byte("x"), nil)
	require.ErrorIs(t, err, context.Canceled)

	out, err := k.Call(context.Background(), mEcho, []byte("after"), nil)
	require.NoError(t, err)
	assert.Equal(t, "after", string(out))
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	for range 2 {
		_, err = k.Call(ctx2, mEcho, []byte("y"), nil)
		require.NoError(t, err)
	}
	assert.Equal(t, 1, rpc.WatchesOf(c), "a new context replaces the watch")
	k.Close()
	assert.Zero(t, rpc.WatchesOf(c), "Close drops the watch")
}

// TestWatchesStoppedAtClose: the shared Callers of Client.Call keep their
// watches while the connection lives; closing it drops them, so that a
// context outliving the Client does not hold it.
func TestWatchesStoppedAtClose(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 4 {
		_, err := c.Call(ctx, mEchoInline, []byte("z"), nil)
		require.NoError(t, err)
	}
	require.Positive(t, rpc.WatchesOf(c))
	require.NoError(t, c.Close())
	waitFor(t, "the watches to be dropped", func() bool { return rpc.WatchesOf(c) == 0 })
}

// TestCallAllocsSharedContext: with one cancelable context per caller
// (a deadline on it: every call then carries a timeout) a call allocates
// nothing once the watch is registered.
func TestCallAllocsSharedContext(t *testing.T) {
	testenv.SkipIfRace(t)
	ts := startServer(t, rpc.ServerOptions{ReuseContexts: true})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	k, err := c.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	req, dst := make([]byte, 16), make([]byte, 0, 16)
	for range 100 {
		dst, err = k.Call(ctx, mEchoInline, req, dst[:0])
		require.NoError(t, err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		for range 16 {
			dst, _ = k.Call(ctx, mEchoInline, req, dst[:0])
		}
	})
	assert.Zero(t, allocs, "allocations per 16 calls")
}
