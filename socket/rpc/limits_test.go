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
