package echo_test

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/codec/protobuf"
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

// TestCancelRaceNeverHangs: calls whose deadline equals the server's delay
// (so the reply is often already on the wire when ctx ends) all return,
// and the connection keeps working. Before, 16-33 of 100 hung waiting for
// an End that never came.
func TestCancelRaceNeverHangs(t *testing.T) {
	addr := serve(t, socket.Options{})
	cl, err := echo.Dial(context.Background(), "tcp", addr, socket.Options{})
	require.NoError(t, err)
	defer cl.Close()
	done := make(chan error, 100)
	for range 100 {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
			defer cancel()
			done <- cl.Call(ctx, &echo.EchoRequest{Message: "race", DelayMs: 5}, func(*echo.EchoResponse) {})
		}()
	}
	for range 100 {
		select {
		case err := <-done:
			if err != nil {
				require.ErrorIs(t, err, context.DeadlineExceeded)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a canceled call hangs")
		}
	}
	require.NoError(t, cl.Call(context.Background(), &echo.EchoRequest{Message: "after"}, func(*echo.EchoResponse) {}))
}

// TestServerCancelNotEnd: after a client's Cancel the protoecho server
// sends Cancel (08 09 10 01), never End, as protosocket-rpc does.
func TestServerCancelNotEnd(t *testing.T) {
	addr := serve(t, socket.Options{})
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	// request_id 9, delay_ms 30000 (field 5); then Cancel for 9.
	_, err = nc.Write([]byte{0x06, 0x08, 0x09, 0x28, 0xb0, 0xea, 0x01, 0x04, 0x08, 0x09, 0x10, 0x01})
	require.NoError(t, err)
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(10*time.Second)))
	b := make([]byte, 5)
	_, err = io.ReadFull(nc, b)
	require.NoError(t, err)
	assert.Equal(t, []byte{0x04, 0x08, 0x09, 0x10, 0x01}, b)
}

// TestClientAgainstRustStyleServer: a server that answers a cancel with
// nothing (or with Cancel) does not make Call hang; a Cancel ends a call
// with ErrCancelledRemotely.
func TestClientAgainstRustStyleServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		r := protobuf.NewReader(nc, 0)
		var req echo.EchoRequest
		for r.Read(&req) == nil {
			if req.GetMessage() == "reject" {
				b, _ := protobuf.AppendDelimited(nil, &echo.EchoResponse{RequestId: req.GetRequestId(), Code: echo.Control_CANCEL})
				_, _ = nc.Write(b)
			} // anything else: never answered, and a Cancel gets nothing
		}
	}()
	cl, err := echo.Dial(context.Background(), "tcp", ln.Addr().String(), socket.Options{})
	require.NoError(t, err)
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, cl.Call(ctx, &echo.EchoRequest{Message: "slow"}, func(*echo.EchoResponse) {}), context.DeadlineExceeded)
	require.ErrorIs(t, cl.Call(context.Background(), &echo.EchoRequest{Message: "reject"}, func(*echo.EchoResponse) {}), echo.ErrCancelledRemotely)
	require.ErrorIs(t, cl.Call(context.Background(), &echo.EchoRequest{Message: "reject", StreamCount: 3}, func(*echo.EchoResponse) {}), echo.ErrCancelledRemotely)
}
