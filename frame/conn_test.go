package frame_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
)

// tcpPair returns both ends of a loopback TCP connection.
func tcpPair(t testing.TB) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	s, ok := <-accepted
	require.True(t, ok)
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// readFrames reads n frames from c in a goroutine, pausing now and then to
// play a slow peer, and returns their payloads (copied) on the channel.
func readFrames(c net.Conn, opts frame.ReaderOptions, n int, pause bool) <-chan [][]byte {
	out := make(chan [][]byte, 1)
	go func() {
		r := frame.NewReader(c, opts)
		defer r.Close()
		var got [][]byte
		for i := range n {
			f, err := r.Next()
			if err != nil {
				break
			}
			got = append(got, append([]byte{}, f.Payload...))
			if pause && i%200 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		out <- got
	}()
	return out
}

func TestWriterWritevPartialWrites(t *testing.T) {
	client, server := tcpPair(t)
	// A small send buffer (smaller ones stall loopback, whose MSS is 64 KiB),
	// and a small receive buffer: on loopback the bytes leave the send
	// buffer as soon as the receiver's takes them, so a receive buffer of
	// a machine's default (autotuned, or set large) could take the whole
	// batch in one writev.
	require.NoError(t, server.SetWriteBuffer(65536))
	require.NoError(t, client.SetReadBuffer(128<<10))

	// Mixed sizes: small frames copied into the chunk, 100 KiB payloads
	// referenced as their own iovecs; 3 MiB in all, far over the socket
	// buffers, so writev returns short counts and Flush must resume.
	ps := payloads(1200, 16, 300, 100<<10, 7, 40<<10)
	got := readFrames(client, frame.ReaderOptions{}, len(ps), true)
	w := frame.NewWriter(server, frame.WriterOptions{})
	require.True(t, w.Writev())
	for i, p := range ps {
		require.NoError(t, w.WriteFrame(frame.Header{Stream: uint32(i), Flags: frame.FlagCRC}, p))
	}
	total := w.Buffered()
	require.NoError(t, w.Flush())
	assert.Zero(t, w.Buffered())
	st := w.Stats()
	assert.Equal(t, uint64(len(ps)), st.Frames)
	assert.Equal(t, uint64(total), st.Bytes)
	assert.Greater(t, st.Syscalls, uint64(1), "a 3 MiB batch through a 64 KiB send buffer takes several writev calls")
	assert.Equal(t, ps, <-got)
}

func TestWriterIOVMaxCap(t *testing.T) {
	client, server := tcpPair(t)
	// CopyThreshold 1 references every payload: 3000 frames are 6000
	// iovecs, which must be split into writev calls of at most 1024.
	ps := payloads(3000, 2, 3)
	got := readFrames(client, frame.ReaderOptions{Framing: frame.Varint}, len(ps), false)
	w := frame.NewWriter(server, frame.WriterOptions{Framing: frame.Varint, CopyThreshold: 1})
	for _, p := range ps {
		require.NoError(t, w.WriteFrame(frame.Header{}, p))
	}
	require.NoError(t, w.Flush())
	assert.GreaterOrEqual(t, w.Stats().Syscalls, uint64(6), "6000 iovecs need at least 6 writev calls")
	assert.Equal(t, ps, <-got)
}

func TestWriterCoalescesOverPipe(t *testing.T) {
	tests := []struct {
		name string
		ps   [][]byte
	}{
		{"batch within one chunk", payloads(500, 5, 60, 20)},
		{"batch of many chunks", payloads(500, 5, 64<<10, 200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			got := readFrames(b, frame.ReaderOptions{Framing: frame.Fixed32}, len(tt.ps), false)
			w := frame.NewWriter(a, frame.WriterOptions{Framing: frame.Fixed32})
			require.False(t, w.Writev())
			for _, p := range tt.ps {
				require.NoError(t, w.WriteFrame(frame.Header{}, p))
			}
			total := w.Buffered()
			chunks := w.HoldsChunks()
			require.NoError(t, w.Flush())
			// One Write per chunk: each chunk is full but for at most a
			// prefix (4 bytes) it had no room for.
			minChunks := (total + frame.DefaultChunkSize - 1) / frame.DefaultChunkSize
			maxChunks := (total + frame.DefaultChunkSize - 5) / (frame.DefaultChunkSize - 4)
			assert.Equal(t, uint64(chunks), w.Stats().Syscalls, "one Write per chunk without a file descriptor")
			assert.GreaterOrEqual(t, chunks, minChunks)
			assert.LessOrEqual(t, chunks, maxChunks)
			assert.Equal(t, tt.ps, <-got)
		})
	}
}

func TestWriterErrorIsSticky(t *testing.T) {
	client, server := tcpPair(t)
	require.NoError(t, client.Close())
	w := frame.NewWriter(server, frame.WriterOptions{})
	var err error
	// Writing to a connection the peer closed fails within a few flushes (EPIPE/ECONNRESET).
	for range 100 {
		require.NoError(t, w.WriteFrame(frame.Header{}, make([]byte, 64<<10)))
		if err = w.Flush(); err != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	require.Error(t, err)
	assert.Equal(t, err, w.WriteFrame(frame.Header{}, nil))
	assert.Equal(t, err, w.Flush())
}

func TestWriterWriteDeadline(t *testing.T) {
	_, server := tcpPair(t)
	require.NoError(t, server.SetWriteBuffer(4096))
	require.NoError(t, server.SetWriteDeadline(time.Now().Add(50*time.Millisecond)))
	w := frame.NewWriter(server, frame.WriterOptions{})
	for range 200 {
		require.NoError(t, w.WriteFrame(frame.Header{}, make([]byte, 64<<10)))
	}
	err := w.Flush() // the peer never reads
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
}

func TestReaderIdleHoldsNoSlab(t *testing.T) {
	client, server := tcpPair(t)
	p := pool.NewSlabPool(pool.Options{})
	r := frame.NewReader(server, frame.ReaderOptions{Pool: p})
	defer r.Close()
	wire := encode(t, frame.Default, [][]byte{[]byte("one"), []byte("two")}, 0)

	_, err := client.Write(wire[:len(wire)/2+5]) // frame one and part of two
	require.NoError(t, err)
	f, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, "one", string(f.Payload))
	assert.Equal(t, int64(1), p.Stats().SlabsInUse)

	type result struct {
		payload string
		err     error
	}
	done := make(chan result, 1)
	go func() {
		f, err := r.Next()
		done <- result{string(f.Payload), err}
	}()
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, int64(1), p.Stats().SlabsInUse, "a partial frame keeps its slab")
	_, err = client.Write(wire[len(wire)/2+5:])
	require.NoError(t, err)
	res := <-done
	require.NoError(t, res.err)
	assert.Equal(t, "two", res.payload)

	// Now nothing is buffered: the next Next must wait with no slab.
	go func() {
		f, err := r.Next()
		done <- result{string(f.Payload), err}
	}()
	require.Eventually(t, func() bool { return p.Stats().SlabsInUse == 0 },
		5*time.Second, time.Millisecond, "an idle Reader on a socket holds no slab")
	_, err = client.Write(encode(t, frame.Default, [][]byte{[]byte("three")}, 0))
	require.NoError(t, err)
	res = <-done
	require.NoError(t, res.err)
	assert.Equal(t, "three", res.payload)
}

func TestReaderReadDeadline(t *testing.T) {
	client, server := tcpPair(t)
	p := pool.NewSlabPool(pool.Options{})
	r := frame.NewReader(server, frame.ReaderOptions{Pool: p})
	defer r.Close()
	require.NoError(t, server.SetReadDeadline(time.Now().Add(20*time.Millisecond)))
	_, err := r.Next()
	require.ErrorIs(t, err, os.ErrDeadlineExceeded)
	assert.Equal(t, int64(0), p.Stats().SlabsInUse)

	require.NoError(t, server.SetReadDeadline(time.Time{}))
	_, err = client.Write(encode(t, frame.Default, [][]byte{[]byte("after")}, 0))
	require.NoError(t, err)
	f, err := r.Next()
	require.NoError(t, err, "a deadline error does not kill the Reader")
	assert.Equal(t, "after", string(f.Payload))

	require.NoError(t, client.Close())
	_, err = r.Next()
	assert.ErrorIs(t, err, io.EOF)
}

func TestReaderOverUnixSocket(t *testing.T) {
	dir := t.TempDir()
	ln, err := net.Listen("unix", dir+"/s")
	require.NoError(t, err)
	defer ln.Close()
	var wg sync.WaitGroup
	ps := payloads(300, 10, 5000)
	wg.Go(func() {
		c, err := ln.Accept()
		if !assert.NoError(t, err) {
			return
		}
		defer c.Close()
		w := frame.NewWriter(c, frame.WriterOptions{})
		for _, p := range ps {
			assert.NoError(t, w.WriteFrame(frame.Header{}, p))
		}
		assert.NoError(t, w.Flush())
		assert.True(t, w.Writev())
	})
	c, err := net.Dial("unix", dir+"/s")
	require.NoError(t, err)
	defer c.Close()
	got, _, err := readAll(frame.NewReader(c, frame.ReaderOptions{}))
	require.ErrorIs(t, err, io.EOF)
	assert.Equal(t, ps, got)
	wg.Wait()
}

func TestReaderOverPipeFile(t *testing.T) {
	// os.File implements syscall.Conn but is not a socket: the Reader
	// falls back to plain reads.
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	defer pr.Close()
	wire := encode(t, frame.Lines, [][]byte{[]byte("a"), []byte("bc")}, 0)
	go func() { pw.Write(wire); pw.Close() }()
	got, _, err := readAll(frame.NewReader(pr, frame.ReaderOptions{Framing: frame.Lines}))
	require.True(t, errors.Is(err, io.EOF), "%v", err)
	assert.Equal(t, [][]byte{[]byte("a"), []byte("bc")}, got)
	_ = bytes.MinRead
}
