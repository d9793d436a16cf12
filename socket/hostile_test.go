package socket_test

import (
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// serverCollector starts a server whose connections deliver payloads and
// their close cause to the returned collector.
func serverCollector(t *testing.T, opts socket.Options) (net.Addr, *collector) {
	col := newCollector(1024)
	addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor { return col }, opts)
	return addr, col
}

func closeErr(t *testing.T, col *collector) error {
	t.Helper()
	select {
	case err := <-col.closed:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("server connection not closed within 10s")
		return nil
	}
}

func mustFrame(t *testing.T, h frame.Header, p []byte) []byte {
	b, err := frame.AppendFrame(nil, h, p)
	require.NoError(t, err)
	return b
}

func TestHostilePeers(t *testing.T) {
	good := mustFrame(t, frame.Header{Stream: 1}, []byte("hello"))
	over := frame.AppendHeader(nil, frame.Header{Length: 1 << 20})
	for _, tc := range []struct {
		name  string
		opts  socket.Options
		peer  func(t *testing.T, nc *net.TCPConn)
		msgs  []string
		check func(t *testing.T, err error)
	}{
		{
			name: "closes mid-frame",
			peer: func(t *testing.T, nc *net.TCPConn) { _, _ = nc.Write(append(good, good[:7]...)) },
			msgs: []string{"hello"},
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, socket.ErrProtocol)
				assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
				assert.ErrorIs(t, err, frame.ErrTruncated)
			},
		},
		{
			name: "reset",
			peer: func(t *testing.T, nc *net.TCPConn) {
				_, _ = nc.Write(good[:3])
				time.Sleep(20 * time.Millisecond) // let the server read the partial frame
				require.NoError(t, nc.SetLinger(0))
			},
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, socket.ErrClosed)
				assert.ErrorIs(t, err, syscall.ECONNRESET)
			},
		},
		{
			name: "garbage prefix",
			peer: func(t *testing.T, nc *net.TCPConn) {
				_, _ = nc.Write(append([]byte("GET / HTTP/1.1\r\n\r\n"), good...))
			},
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, socket.ErrProtocol)
				assert.ErrorIs(t, err, frame.ErrMalformed)
				var pe *socket.ProtocolError
				assert.ErrorAs(t, err, &pe)
			},
		},
		{
			name: "length over the maximum",
			opts: socket.Options{MaxFrameSize: 1024},
			peer: func(t *testing.T, nc *net.TCPConn) { _, _ = nc.Write(over) },
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, socket.ErrFrameTooLarge)
				assert.ErrorIs(t, err, frame.ErrFrameTooLarge)
			},
		},
		{
			name: "zero length",
			peer: func(t *testing.T, nc *net.TCPConn) {
				_, _ = nc.Write(append(mustFrame(t, frame.Header{}, nil), good...))
			},
			msgs:  []string{"", "hello"},
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, io.EOF) },
		},
		{
			name: "one byte at a time",
			peer: func(t *testing.T, nc *net.TCPConn) {
				for _, b := range append(append([]byte(nil), good...), good...) {
					_, err := nc.Write([]byte{b})
					require.NoError(t, err)
				}
			},
			msgs:  []string{"hello", "hello"},
			check: func(t *testing.T, err error) { assert.ErrorIs(t, err, io.EOF) },
		},
		{
			name: "never-finished frame ended by the idle timeout",
			opts: socket.Options{IdleTimeout: 100 * time.Millisecond},
			peer: func(t *testing.T, nc *net.TCPConn) {
				_, _ = nc.Write(good[:10])
				buf := make([]byte, 1)
				_, err := nc.Read(buf) // the server closes us
				assert.Error(t, err)
			},
			check: func(t *testing.T, err error) {
				assert.ErrorIs(t, err, socket.ErrIdleTimeout)
				var ne net.Error
				require.ErrorAs(t, err, &ne)
				assert.True(t, ne.Timeout())
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, col := serverCollector(t, tc.opts)
			nc, err := net.Dial("tcp", addr.String())
			require.NoError(t, err)
			tc.peer(t, nc.(*net.TCPConn))
			require.NoError(t, nc.Close())
			tc.check(t, closeErr(t, col))
			var got []string
			for len(col.ch) > 0 {
				got = append(got, string(<-col.ch))
			}
			assert.Equal(t, tc.msgs, got)
		})
	}
}
