package compat_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket/rpc/compat"
)

// TestServerAllocs: with a codec that allocates nothing (the test codec
// with a Peeker reuses its messages' buffers), a unary round trip through
// the Go client and server allocates nothing in steady state, Inline or
// Pooled: no goroutine, context or buffer per call.
func TestServerAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			srv := compat.NewServer[msg, msg](peekCodec{}, peekCodec{}, func(_ context.Context, req, resp *msg) error {
				resp.body = req.body // encoded before req is reused
				return nil
			}, m.opts)
			addr := serve(t, srv)
			cl, err := compat.Dial[msg, msg](context.Background(), "tcp", addr, peekCodec{}, peekCodec{}, compat.Options{})
			require.NoError(t, err)
			defer cl.Close()
			req, resp := &msg{body: []byte("steady")}, &msg{}
			allocs := testing.AllocsPerRun(1000, func() {
				if err := cl.Call(context.Background(), req, resp); err != nil {
					panic(err)
				}
			})
			assert.Zero(t, allocs)
		})
	}
}
