package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, demo(context.Background(), &out))
	assert.Equal(t, `protobuf unary: "hello"
protobuf stream: "a" seq 0
protobuf stream: "b" seq 1
protobuf stream: "c" seq 2
protobuf no body: compat: cancelled remotely
messagepack unary: "hello"
messagepack stream: "a" seq 0
messagepack stream: "b" seq 1
messagepack stream: "c" seq 2
messagepack no body: compat: cancelled remotely
`, out.String())
}

// TestProtoServerBytes: what the Rust example-proto client writes (prost,
// delimited) and what it must read back, byte for byte.
func TestProtoServerBytes(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- newProtoServer(socket.Options{}).Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	nc, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	defer nc.Close()
	br := bufio.NewReader(nc)
	send := func(body ...byte) {
		_, err := nc.Write(append(binary.AppendUvarint(nil, uint64(len(body))), body...))
		require.NoError(t, err)
	}
	recv := func() []byte {
		require.NoError(t, nc.SetReadDeadline(time.Now().Add(10*time.Second)))
		n, err := binary.ReadUvarint(br)
		require.NoError(t, err)
		b := make([]byte, n)
		_, err = io.ReadFull(br, b)
		require.NoError(t, err)
		return b
	}
	// Unary: request_id 300, body {message "x", nanotime 5}; the reply's
	// oneof echo is field 3, encoded like the request's body.
	send(0x08, 0xac, 0x02, 0x1a, 0x05, 0x0a, 0x01, 'x', 0x10, 0x05)
	assert.Equal(t, []byte{0x08, 0xac, 0x02, 0x1a, 0x05, 0x0a, 0x01, 'x', 0x10, 0x05}, recv())
	// STREAM "ab": items in field 4 (sequence 0 omitted), then End.
	send(0x08, 0x02, 0x1a, 0x04, 0x0a, 0x02, 'a', 'b', 0x20, 0x01)
	assert.Equal(t, []byte{0x08, 0x02, 0x22, 0x03, 0x0a, 0x01, 'a'}, recv())
	assert.Equal(t, []byte{0x08, 0x02, 0x22, 0x05, 0x0a, 0x01, 'b', 0x18, 0x01}, recv())
	assert.Equal(t, []byte{0x08, 0x02, 0x10, 0x02}, recv())
	// No body: rejected with Cancel.
	send(0x08, 0x03)
	assert.Equal(t, []byte{0x08, 0x03, 0x10, 0x01}, recv())
}
