package rawsys

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

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/bench/internal/load/loadtest"
	"github.com/protosocket-go/protosocket/internal/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

func TestRunEveryScenario(t *testing.T) {
	loadtest.RunScenarios(t, New(), 2, 300*time.Millisecond,
		loadtest.Scenario{Scenario: load.Unary, Concurrency: 16},
		loadtest.Scenario{Scenario: load.Pipelined, Concurrency: 64},
		loadtest.Scenario{Scenario: load.ServerStream, Concurrency: 1},
		loadtest.Scenario{Scenario: load.Bidi, Concurrency: 64})
}

func TestOpenLoopRate(t *testing.T) {
	ctx := context.Background()
	opts := load.Options{Scenario: load.Unary, Payload: 16, Conns: 1, Concurrency: 4}
	srv, err := New().Serve(ctx, "127.0.0.1:0", opts)
	require.NoError(t, err)
	defer srv.Close()
	c, err := New().Dial(ctx, srv.Addr(), opts)
	require.NoError(t, err)
	defer c.Close()
	res, err := load.Run(ctx, c, load.Config{Options: opts, Duration: 500 * time.Millisecond, Rate: 400})
	require.NoError(t, err)
	assert.Equal(t, int64(200), res.Ops, "every scheduled call completes, no more")
	assert.Zero(t, res.Errors)
}

func TestDialUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	for _, sc := range []load.Scenario{load.Unary, load.Pipelined} {
		_, err = New().Dial(context.Background(), addr, load.Options{Scenario: sc, Conns: 1})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "refused")
	}
}

// A peer that announces a frame above the limit is disconnected; the
// server neither allocates it nor hangs.
func TestServerRejectsOversizedFrame(t *testing.T) {
	srv, err := New().Serve(context.Background(), "127.0.0.1:0", load.Options{})
	require.NoError(t, err)
	defer srv.Close()
	nc, err := net.Dial("tcp", srv.Addr())
	require.NoError(t, err)
	defer nc.Close()
	_, err = nc.Write([]byte{modeEcho, 0xff, 0xff, 0xff, 0xff})
	require.NoError(t, err)
	require.NoError(t, nc.SetReadDeadline(time.Now().Add(5*time.Second)))
	_, err = nc.Read(make([]byte, 1))
	assert.ErrorIs(t, err, io.EOF, "server closes the connection")
}

func TestEchoRejects(t *testing.T) {
	var in bytes.Buffer
	in.Write([]byte{0x7f, 0, 0, 0})
	err := echo(bufio.NewReader(&in), bufio.NewWriter(io.Discard))
	assert.ErrorIs(t, err, ErrProtocol)
}

// encodeFrames is the client's encoder: length-prefixed bodies.
func encodeFrames(bodies ...[]byte) []byte {
	var out []byte
	for _, b := range bodies {
		out = binary.BigEndian.AppendUint32(out, uint32(len(b)))
		out = append(out, b...)
	}
	return out
}

// FuzzEcho feeds arbitrary bytes to the server's echo loop: it must end
// with an error (never panic or hang), and the complete frames it echoed
// must be a prefix of the input.
func FuzzEcho(f *testing.F) {
	f.Add(encodeFrames([]byte("0123456789abcdef")))
	f.Add(encodeFrames([]byte{}, []byte("x"), bytes.Repeat([]byte{7}, 100)))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		var out bytes.Buffer
		bw := bufio.NewWriter(&out)
		err := echo(bufio.NewReaderSize(bytes.NewReader(in), 256), bw)
		require.Error(t, err)
		_ = bw.Flush()
		require.True(t, bytes.HasPrefix(in, out.Bytes()), "echo must copy its input")
	})
}
