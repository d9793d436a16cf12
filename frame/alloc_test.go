package frame_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/pool"
)

// loopReader serves data over and over, in reads of at most chunk bytes.
type loopReader struct {
	data  []byte
	off   int
	chunk int
}

func (l *loopReader) Read(p []byte) (int, error) {
	if l.chunk > 0 && len(p) > l.chunk {
		p = p[:l.chunk]
	}
	n := copy(p, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

func TestReaderAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	if pool.Debug {
		t.Skip("psdebug never reuses slabs")
	}
	for _, fr := range framings {
		t.Run(fr.name, func(t *testing.T) {
			// Odd read sizes make frames straddle reads and slab ends.
			wire := encode(t, fr.f, payloads(64, 16, 256, 3000), 0)
			r := frame.NewReader(&loopReader{data: wire, chunk: 5000}, frame.ReaderOptions{Framing: fr.f, SlabSize: 8192})
			defer r.Close()
			next := func() {
				for range 64 {
					f, err := r.Next()
					if err != nil || len(f.Payload) == 0 {
						panic(err)
					}
				}
			}
			next()
			assert.Zero(t, testing.AllocsPerRun(100, next))
		})
	}
}

func TestWriterAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	if pool.Debug {
		t.Skip("psdebug never reuses slabs, the Writer's chunks included")
	}
	// 0.9 MiB per batch: 15 chunks of 64 KiB when copied, all reused from
	// the pool; on TCP the 40 KiB payloads are referenced instead.
	ps := payloads(64, 16, 256, 40<<10)
	batch := func(w *frame.Writer) func() {
		return func() {
			for i, p := range ps {
				if err := w.WriteFrame(frame.Header{Stream: uint32(i)}, p); err != nil {
					panic(err)
				}
			}
			if err := w.Flush(); err != nil {
				panic(err)
			}
		}
	}
	t.Run("coalesce", func(t *testing.T) {
		w := frame.NewWriter(discard{}, frame.WriterOptions{})
		batch(w)()
		assert.Zero(t, testing.AllocsPerRun(100, batch(w)))
	})
	t.Run("writev over TCP", func(t *testing.T) {
		client, server := tcpPair(t)
		w := frame.NewWriter(server, frame.WriterOptions{})
		require.True(t, w.Writev())
		r := frame.NewReader(client, frame.ReaderOptions{})
		defer r.Close()
		// One goroutine writes a batch then reads it back: both the
		// writev path and the Reader's wait-for-readability path.
		writeBatch := batch(w)
		roundTrip := func() {
			writeBatch()
			for range ps {
				if _, err := r.Next(); err != nil {
					panic(err)
				}
			}
		}
		for range 20 { // reach steady state: every slab class the reads hit is pooled
			roundTrip()
		}
		assert.Zero(t, testing.AllocsPerRun(50, roundTrip))
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// testenvSkipAllocs skips allocation tests under the race detector and
// under psdebug (which never reuses slabs).
func testenvSkipAllocs(t *testing.T) {
	t.Helper()
	testenv.SkipIfRace(t)
	if pool.Debug {
		t.Skip("psdebug never reuses slabs")
	}
}
