//go:build psdebug

package main

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/examples/cache/cachepb"
	"github.com/protosocket-go/protosocket/examples/cache/cacheserver"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// leaky keeps its Watch stream handle past the handler.
type leaky struct {
	*cacheserver.Store
	kept chan *cachepb.CacheWatchServerStream
}

func (l *leaky) Watch(_ context.Context, _ cachepb.WatchRequest, st *cachepb.CacheWatchServerStream) error {
	l.kept <- st
	return nil
}

// TestStreamHandleAfterReturn: under -tags psdebug a server stream handle
// used after its handler returned panics, naming the mistake.
func TestStreamHandleAfterReturn(t *testing.T) {
	impl := &leaky{Store: cacheserver.New(cacheserver.Options{}), kept: make(chan *cachepb.CacheWatchServerStream, 1)}
	_, addr := serve(t, impl, rpc.Inline)
	c := cachepb.NewCacheClient(dial(t, addr))
	st, err := c.Watch(testCtx(t), c.BeginWatch().SetPrefix("a"))
	require.NoError(t, err)
	defer st.Close()
	_, _ = st.Recv() // io.EOF: the handler has returned
	ss := <-impl.kept
	assert.PanicsWithValue(t, "protosocket: CacheWatchServerStream used after the /cachepb.Cache/Watch handler returned (a stream handle is valid only until then)", func() { ss.Begin() })
}
