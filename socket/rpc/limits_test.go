package rpc_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// A response over the server's MaxFrameSize cannot be sent: the caller
// gets an error frame (CodeInternal) at once instead of waiting for a
// response that never comes, for inline and pooled handlers alike.
func TestResponseOverMaxFrameSizeIsAnError(t *testing.T) {
	srv, err := rpc.NewServer(rpc.ServerOptions{Socket: socket.Options{MaxFrameSize: 1024}})
	require.NoError(t, err)
	big := func(_ context.Context, req, dst []byte) ([]byte, error) {
		return append(dst, make([]byte, 4096)...), nil
	}
	srv.Handle(1, big, rpc.Inline)
	srv.Handle(2, big, rpc.Pooled)
	srv.Handle(3, func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, req...), nil }, rpc.Inline)
	c := dial(t, serve(t, srv), rpc.ClientOptions{})
	for _, method := range []uint32{1, 2} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := c.Call(ctx, method, []byte("x"), nil)
		cancel()
		require.ErrorIs(t, err, rpc.ErrInternal, "method %d", method)
		assert.False(t, errors.Is(err, context.DeadlineExceeded), "answered, not timed out")
		assert.Contains(t, err.Error(), "over the maximum")
	}
	got, err := c.Call(testCtx(t), 3, []byte("still fine"), nil)
	require.NoError(t, err)
	assert.Equal(t, "still fine", string(got))
}

// TestOversizedRequestIsThatCallsError: a request over the server's
// MaxRequestSize is answered with CodeResourceExhausted naming the limit;
// calls in flight on the same connection and later ones go on.
func TestOversizedRequestIsThatCallsError(t *testing.T) {
	ts := startServer(t, rpc.ServerOptions{MaxRequestSize: 1024})
	c := dial(t, ts.addr, rpc.ClientOptions{})
	ctx := testCtx(t)
	inflight := make(chan error, 1)
	go func() {
		got, err := c.Call(ctx, mBlock, []byte("small"), nil)
		if err == nil && string(got) != "released" {
			err = errors.New("wrong response")
		}
		inflight <- err
	}()
	wait(t, ts.entered)
	for _, method := range []uint32{mEcho, mEchoInline, mStream} {
		_, err := c.Call(ctx, method, make([]byte, 4096), nil)
		require.ErrorIs(t, err, rpc.ErrResourceExhausted, "method %d", method)
		var e *rpc.Error
		require.ErrorAs(t, err, &e)
		assert.Contains(t, e.Message, "1024", "the error says the limit")
		assert.NotErrorIs(t, err, rpc.ErrUnavailable, "retrying elsewhere would fail the same way")
	}
	got, err := c.Call(ctx, mEcho, make([]byte, 1000), nil)
	require.NoError(t, err, "the connection goes on")
	assert.Len(t, got, 1000)
	close(ts.release)
	require.NoError(t, <-inflight, "the call in flight was not disturbed")
	assert.Nil(t, c.Err())
	assert.Equal(t, uint64(3), ts.srv.Stats().TooLarge)
}
