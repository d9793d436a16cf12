package frame_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
)

// countingWriter records every Write.
type countingWriter struct {
	bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.Buffer.Write(p)
}

func TestWriterChunksRoundTrip(t *testing.T) {
	// Payloads around and across chunk boundaries, with every framing,
	// small chunks, copied (bytes.Buffer) and referenced (TCP, CopyThreshold 100).
	ps := payloads(120, 0, 1, 99, 100, 101, 255, 256, 257, 700, 3000)
	for _, fr := range framings {
		for _, chunkSize := range []int{frame.MinChunkSize, 1000, 0} {
			t.Run(fr.name, func(t *testing.T) {
				p := pool.NewSlabPool(pool.Options{MinSlabSize: 256})
				var out countingWriter
				w := frame.NewWriter(&out, frame.WriterOptions{Framing: fr.f, ChunkSize: chunkSize, Pool: p})
				for i, pl := range ps {
					require.NoError(t, w.WriteFrame(frame.Header{Stream: uint32(i), Flags: frame.FlagCRC}, pl))
				}
				total := w.Buffered()
				require.NoError(t, w.Flush())
				assert.Equal(t, total, out.Len())
				assert.Zero(t, p.Stats().SlabsInUse, "Flush returns every chunk")
				got, _, err := readAll(frame.NewReader(&out, frame.ReaderOptions{Framing: fr.f}))
				require.ErrorIs(t, err, io.EOF)
				assert.Equal(t, ps, got)

				client, server := tcpPair(t)
				res := readFrames(client, frame.ReaderOptions{Framing: fr.f}, len(ps), false)
				w = frame.NewWriter(server, frame.WriterOptions{Framing: fr.f, ChunkSize: chunkSize, Pool: p, CopyThreshold: 100})
				require.True(t, w.Writev())
				for i, pl := range ps {
					require.NoError(t, w.WriteFrame(frame.Header{Stream: uint32(i)}, pl))
				}
				require.NoError(t, w.Flush())
				assert.Equal(t, ps, <-res)
				assert.Zero(t, p.Stats().SlabsInUse, "Flush returns every chunk")
			})
		}
	}
}

func TestWriterChunkSizeOption(t *testing.T) {
	// The same 64 frames of 100 bytes (7.4 KiB with headers): one Write
	// with the default chunks, one per 256-byte chunk with the smallest.
	ps := payloads(64, 100)
	tests := []struct {
		chunkSize  int
		wantWrites int
	}{
		{0, 1},
		{8 << 10, 1},
		// 7424 bytes fill 29 chunks of 256 exactly, but a header never
		// straddles two chunks: the bytes left before one spill into a 30th.
		{frame.MinChunkSize, 30},
	}
	for _, tt := range tests {
		var out countingWriter
		w := frame.NewWriter(&out, frame.WriterOptions{ChunkSize: tt.chunkSize})
		for _, p := range ps {
			require.NoError(t, w.WriteFrame(frame.Header{}, p))
		}
		assert.Equal(t, tt.wantWrites, w.HoldsChunks(), "chunk size %d", tt.chunkSize)
		require.NoError(t, w.Flush())
		assert.Equal(t, tt.wantWrites, out.writes, "chunk size %d", tt.chunkSize)
		assert.Equal(t, uint64(tt.wantWrites), w.Stats().Syscalls)
	}

	small := pool.NewSlabPool(pool.Options{MaxSlabSize: 4096})
	for _, tt := range []struct {
		name string
		opts frame.WriterOptions
		ok   bool
	}{
		{"zero", frame.WriterOptions{}, true},
		{"min", frame.WriterOptions{ChunkSize: frame.MinChunkSize}, true},
		{"under min", frame.WriterOptions{ChunkSize: frame.MinChunkSize - 1}, false},
		{"negative", frame.WriterOptions{ChunkSize: -1}, false},
		{"over the pool's largest class", frame.WriterOptions{ChunkSize: 8192, Pool: small}, false},
		{"default over a small pool", frame.WriterOptions{Pool: small}, false},
		{"the pool's largest class", frame.WriterOptions{ChunkSize: 4096, Pool: small}, true},
	} {
		err := tt.opts.Validate()
		if tt.ok {
			assert.NoError(t, err, tt.name)
			continue
		}
		require.ErrorIs(t, err, frame.ErrInvalidOptions, tt.name)
		var oe *frame.OptionError
		require.ErrorAs(t, err, &oe)
		assert.Equal(t, "ChunkSize", oe.Field, tt.name)
	}
}

func TestWriterSmallBatchSkipsPool(t *testing.T) {
	p := pool.NewSlabPool(pool.Options{})
	var out countingWriter
	w := frame.NewWriter(&out, frame.WriterOptions{Pool: p})
	ps := payloads(40, 10) // 40 frames of 26 bytes: 1040 bytes, past the 1 KiB small chunk
	for i, pl := range ps {
		require.NoError(t, w.WriteFrame(frame.Header{Stream: uint32(i)}, pl))
		if w.Buffered() <= 1024 {
			assert.Zero(t, w.HoldsChunks(), "frame %d: a batch within 1 KiB takes nothing from the pool", i)
			assert.Zero(t, p.Stats().Gets)
		} else {
			assert.Equal(t, 1, w.HoldsChunks(), "frame %d: moved to one pooled chunk", i)
		}
	}
	require.NoError(t, w.Flush())
	assert.Equal(t, 1, out.writes, "still one Write: the small chunk moved into the pooled one")
	assert.Zero(t, p.Stats().SlabsInUse)
	got, _, err := readAll(frame.NewReader(&out, frame.ReaderOptions{}))
	require.ErrorIs(t, err, io.EOF)
	assert.Equal(t, ps, got)
}

func TestWriterIdleHoldsNoChunk(t *testing.T) {
	p := pool.NewSlabPool(pool.Options{})
	w := frame.NewWriter(io.Discard, frame.WriterOptions{Pool: p})
	assert.Zero(t, w.HoldsChunks())
	for range 3 {
		require.NoError(t, w.WriteFrame(frame.Header{}, make([]byte, 100<<10)))
	}
	assert.Equal(t, 5, w.HoldsChunks(), "300 KiB in 64 KiB chunks")
	assert.Equal(t, int64(5), p.Stats().SlabsInUse)
	require.NoError(t, w.Flush())
	assert.Zero(t, w.HoldsChunks())
	assert.Zero(t, p.Stats().SlabsInUse, "an idle Writer holds no chunk")

	// A frame the framing rejects after the chunk was taken.
	lw := frame.NewWriter(io.Discard, frame.WriterOptions{Framing: frame.Lines, Pool: p})
	require.ErrorIs(t, lw.WriteFrame(frame.Header{}, []byte("a\nb")), frame.ErrLineBreak)
	assert.Zero(t, lw.Buffered())
	require.NoError(t, lw.Flush())
	assert.Zero(t, p.Stats().SlabsInUse, "Flush with nothing buffered still returns the chunk")

	require.NoError(t, w.WriteFrame(frame.Header{}, []byte("x")))
	assert.Equal(t, 1, w.Discard())
	assert.Zero(t, p.Stats().SlabsInUse, "Discard returns the chunks")
}

// greedyFraming writes a prefix longer than its Overhead claims (a
// Fixed32 length repeated n times); the Writer must still encode it intact.
type greedyFraming struct {
	frame.Framing
	n, overhead int
}

func (g greedyFraming) AppendPrefix(dst []byte, h frame.Header, payload []byte) ([]byte, error) {
	for range g.n {
		dst, _ = frame.Fixed32.AppendPrefix(dst, h, payload)
	}
	return dst, nil
}

func (g greedyFraming) Overhead() int { return g.overhead }

func TestWriterPrefixLongerThanOverheadOrChunk(t *testing.T) {
	tests := []struct {
		name        string
		n, overhead int
	}{
		{"prefix over Overhead", 3, 4},
		{"Overhead over a chunk", 100, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fr := greedyFraming{frame.Fixed32, tt.n, tt.overhead}
			var out bytes.Buffer
			w := frame.NewWriter(&out, frame.WriterOptions{Framing: fr, ChunkSize: frame.MinChunkSize})
			ps := payloads(20, 5, 300)
			for _, p := range ps {
				require.NoError(t, w.WriteFrame(frame.Header{}, p))
			}
			require.NoError(t, w.Flush())
			var want []byte
			for _, p := range ps {
				for range tt.n {
					want, _ = frame.Fixed32.AppendPrefix(want, frame.Header{}, p)
				}
				want = append(want, p...)
			}
			assert.Equal(t, want, out.Bytes())
		})
	}
}

func TestWriterAllocsAcrossChunks(t *testing.T) {
	testenvSkipAllocs(t)
	// A 3 MiB batch of 64 KiB frames fills 49 chunks; in steady state
	// every one comes from the pool: no allocation, no regrowth.
	p := pool.NewSlabPool(pool.Options{})
	w := frame.NewWriter(io.Discard, frame.WriterOptions{Pool: p})
	payload := make([]byte, 64<<10)
	batch := func() {
		for range 48 {
			if err := w.WriteFrame(frame.Header{}, payload); err != nil {
				panic(err)
			}
		}
		if err := w.Flush(); err != nil {
			panic(err)
		}
	}
	batch()
	assert.Zero(t, testing.AllocsPerRun(20, batch))
	assert.Zero(t, p.Stats().SlabsInUse)
}

func TestWriterCopyThresholdOption(t *testing.T) {
	// A payload changed between WriteFrame and Flush shows whether it was
	// copied (the peer gets the old bytes) or referenced (the new ones).
	tests := []struct {
		name       string
		threshold  int
		size       int
		referenced bool
	}{
		{"negative always copies", -1, 100 << 10, false},
		{"default copies 16 KiB", 0, frame.DefaultCopyThreshold, false},
		{"default references above 16 KiB", 0, frame.DefaultCopyThreshold + 1, true},
		{"threshold 1 references", 1, 2, true},
		{"threshold 1 copies 1 byte", 1, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := tcpPair(t)
			got := readFrames(client, frame.ReaderOptions{}, 1, false)
			w := frame.NewWriter(server, frame.WriterOptions{CopyThreshold: tt.threshold})
			payload := bytes.Repeat([]byte{'a'}, tt.size)
			require.NoError(t, w.WriteFrame(frame.Header{}, payload))
			payload[0] = 'b'
			if tt.referenced && pool.Debug {
				// The change shows on the wire, and psdebug names it once
				// the batch is written.
				assert.PanicsWithValue(t, frame.MsgRefChanged, func() { _ = w.Flush() })
			} else {
				require.NoError(t, w.Flush())
			}
			ps := <-got
			require.Len(t, ps, 1)
			want := byte('a')
			if tt.referenced {
				want = 'b'
			}
			assert.Equal(t, want, ps[0][0])
		})
	}
}
