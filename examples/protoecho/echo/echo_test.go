package echo_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/examples/protoecho/echo"
	"github.com/protosocket-go/protosocket/socket"
)

func serve(t *testing.T, opts socket.Options) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- echo.Serve(ctx, ln, opts) }()
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

func TestUnaryStreamCancel(t *testing.T) {
	addr := serve(t, socket.Options{})
	cl, err := echo.Dial(context.Background(), "tcp", addr, socket.Options{})
	require.NoError(t, err)
	defer cl.Close()

	tests := []struct {
		name  string
		count uint32
		want  int
	}{{"unary", 0, 1}, {"stream 1", 1, 1}, {"stream 20", 20, 20}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seqs []uint32
			err := cl.Call(context.Background(), &echo.EchoRequest{Message: tt.name, StreamCount: tt.count}, func(r *echo.EchoResponse) {
				assert.Equal(t, tt.name, r.GetMessage())
				seqs = append(seqs, r.GetSeq())
			})
			require.NoError(t, err)
			require.Len(t, seqs, tt.want)
			for i, s := range seqs {
				assert.Equal(t, uint32(i), s)
			}
		})
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	got := 0
	err = cl.Call(ctx, &echo.EchoRequest{StreamCount: 100, DelayMs: 60000}, func(*echo.EchoResponse) { got++ })
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Zero(t, got)
	// The connection still serves calls after the cancel.
	require.NoError(t, cl.Call(context.Background(), &echo.EchoRequest{Message: "after"}, func(*echo.EchoResponse) {}))
}

// TestHostilePeer: malformed lengths, oversized lengths and undecodable
// bodies close the connection instead of spinning or panicking.
func TestHostilePeer(t *testing.T) {
	addr := serve(t, socket.Options{MaxFrameSize: 1024})
	tests := []struct {
		name string
		in   []byte
	}{
		{"malformed varint", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80}},
		{"over MaxFrameSize", []byte{0x81, 0x08}}, // 1025
		{"undecodable body", []byte{0x02, 0xff, 0xff}},
		{"wrong wire type", []byte{0x02, 0x0a, 0x05}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer nc.Close()
			_, err = nc.Write(tt.in)
			require.NoError(t, err)
			require.NoError(t, nc.SetReadDeadline(time.Now().Add(10*time.Second)))
			_, err = io.ReadAll(nc)
			require.NoError(t, err, "the server closes the connection (EOF), not a timeout")
		})
	}
	// A valid raw request on the same server is served: the reply is
	// 02 08 05 (length 2, request_id 5, Normal and empty fields omitted).
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Write([]byte{0x02, 0x08, 0x05}) // request_id 5, unary
	require.NoError(t, err)
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(10*time.Second)))
	b := make([]byte, 3)
	_, err = io.ReadFull(nc, b)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x02, 0x08, 0x05}, b)
}
