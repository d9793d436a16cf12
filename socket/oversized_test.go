package socket_test

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/socket"
)

// headerCollector records each message's header, payload and Oversized
// mark, and the close cause.
type headerCollector struct {
	ch     chan frame.Frame
	closed chan error
}

func (r *headerCollector) OnMessage(c *socket.Conn, m socket.Message) socket.Action {
	f := m.Frame
	f.Payload = append([]byte(nil), m.Payload...)
	r.ch <- f
	return socket.Continue
}

func (r *headerCollector) OnClose(c *socket.Conn, err error) { r.closed <- err }

func (r *headerCollector) next(t *testing.T) frame.Frame {
	t.Helper()
	select {
	case f := <-r.ch:
		return f
	case err := <-r.closed:
		t.Fatalf("closed: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
	}
	return frame.Frame{}
}

// TestOversizedSkip is the socket end of skip mode over loopback TCP: a
// frame over MaxFrameSize reaches the Reactor as its header marked
// Oversized, the frames after it are read as usual on the same
// connection, and while the peer drips the skipped body the connection
// holds one read slab; FrameTimeout still ends a skip that stalls, and a
// length over MaxSkipSize closes with ErrFrameTooLarge.
func TestOversizedSkip(t *testing.T) {
	const maxFrame = 1024
	good := mustFrame(t, frame.Header{Stream: 1}, []byte("hello"))
	start := func(t *testing.T, opts socket.Options) (*headerCollector, net.Conn, *pool.SlabPool) {
		p := pool.NewSlabPool(pool.Options{MaxIdleBytes: -1})
		opts.SlabPool, opts.MaxFrameSize = p, maxFrame
		col := &headerCollector{ch: make(chan frame.Frame, 16), closed: make(chan error, 1)}
		addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor { return col }, opts)
		nc, err := net.Dial("tcp", addr.String())
		require.NoError(t, err)
		t.Cleanup(func() { nc.Close() })
		return col, nc, p
	}

	t.Run("skipped and the connection goes on", func(t *testing.T) {
		col, nc, p := start(t, socket.Options{Oversized: socket.OversizedSkip})
		const big = 1 << 20
		hdr := frame.AppendHeader(nil, frame.Header{Length: big, Kind: 70, Stream: 9, Type: 3})
		_, err := nc.Write(append(append([]byte{}, good...), hdr...))
		require.NoError(t, err)
		assert.Equal(t, "hello", string(col.next(t).Payload))
		f := col.next(t)
		require.True(t, f.Oversized)
		assert.Equal(t, frame.Header{Length: big, Kind: 70, Stream: 9, Type: 3}, f.Header)
		assert.Empty(t, f.Payload)
		// Drip the body; the server holds one slab (32 KiB) whatever the
		// announced 1 MiB.
		chunk := make([]byte, 64<<10)
		for sent := 0; sent < big; sent += len(chunk) {
			_, err := nc.Write(chunk)
			require.NoError(t, err)
			assert.LessOrEqual(t, p.Stats().BytesInUse, int64(frame.DefaultSlabSize), "one read slab while skipping")
		}
		_, err = nc.Write(good)
		require.NoError(t, err)
		f = col.next(t)
		assert.False(t, f.Oversized)
		assert.Equal(t, "hello", string(f.Payload))
		require.NoError(t, nc.Close())
		err = <-col.closed
		require.ErrorIs(t, err, socket.ErrClosed)
		assert.Zero(t, p.Stats().SlabsInUse)
	})

	t.Run("a stalled skip ends by FrameTimeout", func(t *testing.T) {
		col, nc, p := start(t, socket.Options{Oversized: socket.OversizedSkip, FrameTimeout: 100 * time.Millisecond})
		_, err := nc.Write(append(frame.AppendHeader(nil, frame.Header{Length: 1 << 20}), make([]byte, 1000)...))
		require.NoError(t, err)
		require.True(t, col.next(t).Oversized)
		select {
		case err := <-col.closed:
			assert.ErrorIs(t, err, socket.ErrFrameTimeout)
		case <-time.After(10 * time.Second):
			t.Fatal("not closed by the frame timeout")
		}
		assert.Zero(t, p.Stats().SlabsInUse, "closed mid-skip: the slab is back")
	})

	t.Run("a slow drip is ended by FrameTimeout", func(t *testing.T) {
		col, nc, p := start(t, socket.Options{Oversized: socket.OversizedSkip, FrameTimeout: 200 * time.Millisecond})
		_, err := nc.Write(frame.AppendHeader(nil, frame.Header{Length: 1 << 20}))
		require.NoError(t, err)
		require.True(t, col.next(t).Oversized)
		// 10 bytes every 20 ms: the skip would take 35 minutes.
		end := time.After(10 * time.Second)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case err := <-col.closed:
				assert.ErrorIs(t, err, socket.ErrFrameTimeout)
				assert.Zero(t, p.Stats().SlabsInUse)
				return
			case <-end:
				t.Fatal("a dripping skip outlived FrameTimeout")
			case <-tick.C:
				_, _ = nc.Write(make([]byte, 10))
			}
		}
	})

	t.Run("closed mid-skip", func(t *testing.T) {
		col, nc, p := start(t, socket.Options{Oversized: socket.OversizedSkip})
		_, err := nc.Write(append(frame.AppendHeader(nil, frame.Header{Length: 1 << 20}), make([]byte, 1000)...))
		require.NoError(t, err)
		require.True(t, col.next(t).Oversized)
		require.NoError(t, nc.Close())
		err = <-col.closed
		assert.ErrorIs(t, err, socket.ErrProtocol)
		assert.ErrorIs(t, err, frame.ErrTruncated)
		assert.Zero(t, p.Stats().SlabsInUse)
	})

	t.Run("over MaxSkipSize closes", func(t *testing.T) {
		col, nc, _ := start(t, socket.Options{Oversized: socket.OversizedSkip, MaxSkipSize: 4096})
		_, err := nc.Write(frame.AppendHeader(nil, frame.Header{Length: 4097}))
		require.NoError(t, err)
		err = <-col.closed
		assert.ErrorIs(t, err, socket.ErrFrameTooLarge)
		assert.Contains(t, err.Error(), "skip limit 4096")
	})

	t.Run("off by default", func(t *testing.T) {
		col, nc, _ := start(t, socket.Options{})
		_, err := nc.Write(frame.AppendHeader(nil, frame.Header{Length: 1 << 20}))
		require.NoError(t, err)
		err = <-col.closed
		assert.ErrorIs(t, err, socket.ErrFrameTooLarge)
	})
}

func TestOversizedOptions(t *testing.T) {
	for _, tc := range []struct {
		opts  socket.Options
		field string
	}{
		{socket.Options{Oversized: 3}, "Oversized"},
		{socket.Options{MaxSkipSize: 1 << 30}, "MaxSkipSize"},
		{socket.Options{Oversized: socket.OversizedClose, MaxSkipSize: 1 << 30}, "MaxSkipSize"},
		{socket.Options{Oversized: socket.OversizedSkip, MaxSkipSize: 10}, "MaxSkipSize"},
		{socket.Options{Oversized: socket.OversizedSkip, Framing: frame.Lines}, "Oversized"},
	} {
		err := tc.opts.Validate()
		require.ErrorIs(t, err, socket.ErrInvalidOptions)
		var oe *socket.OptionError
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, tc.field, oe.Field)
	}
	require.NoError(t, socket.Options{Oversized: socket.OversizedSkip, Framing: frame.Varint, MaxSkipSize: 1 << 30}.Validate())
}
