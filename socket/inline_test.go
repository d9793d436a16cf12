package socket_test

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// The first send on a connection (and the first after a read of one
// message) is written by the sending goroutine itself. It must never block
// there: against a peer that does not read, a send larger than the socket
// buffers returns at once and a writer goroutine finishes the write once
// the peer reads; every byte arrives, in order.
func TestInlineWriteNeverBlocksTheSender(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err == nil {
			accepted <- nc
		}
		close(accepted)
	}()
	c, err := socket.Dial(context.Background(), "tcp", ln.Addr().String(), newCollector(1), socket.Options{})
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()
	peer := <-accepted
	require.NotNil(t, peer)
	defer peer.Close()
	require.NoError(t, c.NetConn().(*net.TCPConn).SetWriteBuffer(64<<10))
	require.NoError(t, peer.(*net.TCPConn).SetReadBuffer(64<<10))

	s := c.NewSender(nil)
	defer s.Close()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<17) // 2 MiB, far over the socket buffers
	sent := make(chan error, 1)
	go func() {
		err := s.Send(context.Background(), frame.Header{Stream: 1}, big)
		if err == nil {
			err = s.Send(context.Background(), frame.Header{Stream: 2}, []byte("small"))
		}
		sent <- err
	}()
	select {
	case err := <-sent:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Send blocked in a write while the peer did not read")
	}

	r := frame.NewReader(peer, frame.ReaderOptions{MaxFrameSize: 4 << 20})
	defer r.Close()
	f, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, uint32(1), f.Header.Stream)
	assert.True(t, bytes.Equal(big, f.Payload), "the 2 MiB payload arrives whole")
	f, err = r.Next()
	require.NoError(t, err)
	assert.Equal(t, uint32(2), f.Header.Stream)
	assert.Equal(t, "small", string(f.Payload))
	require.Eventually(t, func() bool { return c.Stats().FramesOut == 2 }, 10*time.Second, time.Millisecond)
}
