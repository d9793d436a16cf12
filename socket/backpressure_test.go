package socket_test

import (
	"context"
	"net"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// TestBackpressurePeerNeverReads fills a TCP connection whose peer never
// reads: sends start failing with ErrBackpressure and Go memory stays
// bounded by the queue and the writer's batch.
func TestBackpressurePeerNeverReads(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	peer := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err == nil {
			peer <- nc
		}
		close(peer)
	}()
	const qBytes, batch, size = 64 << 10, 64 << 10, 1024
	c, err := socket.Dial(context.Background(), "tcp", ln.Addr().String(), nopReactor,
		socket.Options{QueueBytes: qBytes, WriteBatchBytes: batch, FailWhenFull: true})
	require.NoError(t, err)
	nc := <-peer
	require.NotNil(t, nc)
	defer nc.Close()

	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	s := c.NewSender(nil)
	payload := make([]byte, size)
	accepted, refused := 0, 0
	for range 200000 {
		if err := s.Send(context.Background(), frame.Header{}, payload); err != nil {
			require.ErrorIs(t, err, socket.ErrBackpressure)
			refused++
			continue
		}
		accepted++
	}
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	st := c.Stats()
	t.Logf("accepted %d (%d written to the kernel), refused %d, queued %d, heap growth %d KiB",
		accepted, st.FramesOut, refused, st.QueueDepth, (int64(ms1.HeapAlloc)-int64(ms0.HeapAlloc))>>10)
	assert.Positive(t, refused)
	assert.LessOrEqual(t, st.QueueDepth*size, int64(qBytes+size))
	assert.Less(t, int64(ms1.HeapAlloc)-int64(ms0.HeapAlloc), int64(4<<20), "Go memory stays bounded")
	s.Close()
	require.NoError(t, c.Close())
	assert.EqualValues(t, accepted, int(c.Stats().FramesOut)+int(c.Stats().Failed), "every accepted message written or failed")
}
