package socket_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket"
)

// Under the psdebug tag a Payload kept past OnMessage without Retain reads
// as poison, while a retained one stays intact until Release.
func TestPayloadLifetimeDebug(t *testing.T) {
	if !pool.Debug {
		t.Skip("needs -tags psdebug")
	}
	type kept struct {
		view []byte
		msg  socket.Message
	}
	got := make(chan kept, 2)
	conns := make(chan *socket.Conn, 1)
	addr := startServer(t, "tcp", func(sc *socket.Conn) socket.Reactor {
		conns <- sc
		return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
			k := kept{view: m.Payload}
			if string(m.Payload) == "retained" {
				m.Retain()
				k.msg = m
			}
			got <- k
			return socket.Continue
		})
	}, socket.Options{SlabPool: pool.NewSlabPool(pool.Options{MaxIdleBytes: -1})}) // no reuse: a released slab stays poisoned
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), nopReactor, socket.Options{})
	require.NoError(t, err)
	s := c.NewSender(nil)
	require.NoError(t, s.Send(context.Background(), frame.Header{}, []byte("borrowed")))
	first := <-got
	require.NoError(t, s.Send(context.Background(), frame.Header{}, []byte("retained")))
	second := <-got
	s.Close()
	require.NoError(t, c.Close())
	// Once the server connection is finished its reader has let go of
	// every slab (and its exit orders those writes before our reads).
	waitClosed(t, <-conns)
	assert.True(t, pool.Poisoned(first.view), "a view kept past its callback reads as poison")
	assert.Equal(t, "retained", string(second.view))
	second.msg.Release()
	assert.True(t, pool.Poisoned(second.view), "released: poison")
}
