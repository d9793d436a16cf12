package compat_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket/rpc/compat"
)

// A ServerStream kept past its handler fails (ErrStreamOver), or panics
// under -tags psdebug; a kept ctx panics under psdebug.
func TestLifetimes(t *testing.T) {
	kept := make(chan *compat.ServerStream[msg, msg], 1)
	keptCtx := make(chan context.Context, 1)
	srv := compat.NewServer[msg, msg](codec{}, codec{}, func(ctx context.Context, req, resp *msg) error {
		keptCtx <- ctx
		return nil
	}, compat.Options{})
	srv.HandleStream(func(req *msg) bool { return string(req.body) == "s" },
		func(_ context.Context, _ *msg, s *compat.ServerStream[msg, msg]) error {
			kept <- s
			return nil
		})
	p := dialRaw(t, serve(t, srv))
	p.send(enc(1, 0, "s"))
	assert.Equal(t, enc(1, 2, ""), p.recv()) // End
	p.send(enc(2, 0, "u"))
	assert.Equal(t, enc(2, 0, ""), p.recv())
	s, ctx := <-kept, <-keptCtx // both replies are out: the handlers returned before them
	if testenv.PSDebug {
		require.PanicsWithValue(t, "compat: ServerStream.Send after its StreamHandler returned", func() { _ = s.Send(&msg{}) })
		require.Panics(t, func() { _ = ctx.Err() })
		return
	}
	require.ErrorIs(t, s.Send(&msg{}), compat.ErrStreamOver)
}
