package typedsys

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/protosocket-go/protosocket/bench/internal/load"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestEcho(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	opts := load.Options{Scenario: load.Unary, Payload: 16, Conns: 2, Concurrency: 4}
	srv, err := New().Serve(ctx, "127.0.0.1:0", opts)
	require.NoError(t, err)
	defer srv.Close()
	cl, err := New().Dial(ctx, srv.Addr(), opts)
	require.NoError(t, err)
	defer cl.Close()
	k, err := cl.NewCaller(1)
	require.NoError(t, err)
	defer k.Close()
	for _, n := range []int{0, 16, 4096} {
		require.NoError(t, k.Call(ctx, make([]byte, n)))
	}
	_, err = cl.OpenStream(ctx, 0)
	assert.ErrorIs(t, err, ErrUnsupported)
}
