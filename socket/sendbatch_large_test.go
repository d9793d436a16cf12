package socket_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket"
)

// A SendBatch whose first payload is large (over CopyThreshold, over the
// batch buffers' classes, over what a batch may add to): it is taken
// whole, written intact (by reference), and the batch refuses a second
// message with ErrBatchFull until it is sent; nothing is lost or
// reordered.
func TestSendBatchLargeFirst(t *testing.T) {
	opts := socket.Options{MaxFrameSize: 4 << 20}
	addr := startServer(t, "tcp", echo, opts)
	col := newCollector(16)
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), col, opts)
	require.NoError(t, err)
	defer c.Close()
	s := c.NewSender(nil)
	defer s.Close()
	sb := s.Batch()
	ctx := context.Background()
	// Under WriteBatchBytes (256 KiB) a second message joins the first.
	mid := bytes.Repeat([]byte{'m'}, 20<<10)
	require.NoError(t, sb.Append(frame.Header{}, mid))
	require.NoError(t, sb.Append(frame.Header{}, []byte("after")))
	require.NoError(t, sb.Send(ctx))
	assert.True(t, bytes.Equal(mid, col.next(t)))
	assert.Equal(t, "after", string(col.next(t)))
	// Over it, the first payload fills the batch on its own.
	for _, n := range []int{300 << 10, 3 << 20} {
		big := bytes.Repeat([]byte{byte(n >> 10)}, n)
		require.NoError(t, sb.Append(frame.Header{Type: 1}, big), "%d bytes", n)
		assert.ErrorIs(t, sb.Append(frame.Header{}, []byte("next")), socket.ErrBatchFull, "%d bytes", n)
		assert.Equal(t, 1, sb.Len())
		require.NoError(t, sb.Send(ctx))
		require.NoError(t, sb.Append(frame.Header{}, []byte("next")))
		require.NoError(t, sb.Send(ctx))
		assert.True(t, bytes.Equal(big, col.next(t)), "%d bytes", n)
		assert.Equal(t, "next", string(col.next(t)))
	}
	assert.ErrorIs(t, sb.Append(frame.Header{}, make([]byte, 4<<20+1)), socket.ErrFrameTooLarge)
	assert.Zero(t, sb.Len())
}

// A large first payload reuses pooled buffers: no allocation per batch in
// steady state, over the batch buffers' largest kept size (1 MiB) too.
func TestSendBatchLargeFirstAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	if pool.Debug {
		t.Skip("psdebug never reuses buffers")
	}
	opts := socket.Options{MaxFrameSize: 4 << 20}
	done := make(chan struct{}, 1)
	addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
		return socket.ReactorFunc(func(c *socket.Conn, m socket.Message) socket.Action {
			done <- struct{}{}
			return socket.Continue
		})
	}, opts)
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), socket.ReactorFunc(func(*socket.Conn, socket.Message) socket.Action { return socket.Continue }), opts)
	require.NoError(t, err)
	defer c.Close()
	s := c.NewSender(nil)
	defer s.Close()
	sb := s.Batch()
	// 2 MiB is over maxBatchBufKept: pool's large buffers, shared by all
	// Ps, so the buffer comes back whichever P the writer released it on.
	// A first payload between 16 KiB and 1 MiB uses the batch buffers'
	// large class, a sync.Pool whose reuse across Ps is best-effort
	// (batchbuf.go): TestSendBatchLargeFirst checks its bytes, not its
	// allocations (in CI it allocated at every batch, never here).
	for _, n := range []int{2 << 20} {
		big := make([]byte, n)
		round := func() {
			require.NoError(t, sb.Append(frame.Header{}, big))
			require.NoError(t, sb.Send(context.Background()))
			<-done
		}
		for range 20 {
			round()
		}
		assert.LessOrEqual(t, testing.AllocsPerRun(20, round), 0.5, "%d bytes", n)
	}
}
