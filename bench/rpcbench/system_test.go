package rpcbench_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/bench/rpcbench"
	"github.com/protosocket-go/protosocket/internal/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

func TestSystemScenarios(t *testing.T) {
	for _, sc := range []load.Scenario{load.Unary, load.Bidi, load.Pipelined, load.ServerStream} {
		t.Run(string(sc), func(t *testing.T) {
			sys := rpcbench.New()
			opts := load.Options{Scenario: sc, Payload: 16, Conns: 1, Concurrency: 8}
			srv, err := sys.Serve(context.Background(), "127.0.0.1:0", opts)
			require.NoError(t, err)
			defer srv.Close()
			cl, err := sys.Dial(context.Background(), srv.Addr(), opts)
			require.NoError(t, err)
			defer cl.Close()
			r, err := load.Run(context.Background(), cl, load.Config{Options: opts, Duration: 200 * time.Millisecond})
			require.NoError(t, err)
			assert.Positive(t, r.Ops)
			assert.Zero(t, r.Errors, "first error: %v", r.FirstError)
		})
	}
}
