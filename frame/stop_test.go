package frame_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/framehook"
	"github.com/protosocket-go/protosocket/pool"
)

// countingReader counts its Read calls.
type countingReader struct {
	r     io.Reader
	reads int
}

func (c *countingReader) Read(p []byte) (int, error) { c.reads++; return c.r.Read(p) }

// In stop mode (socket's read batches) a Reader returns the frames it has
// buffered, then ErrStopAtPartial where it would read: no read, no slab
// taken for the partial frame at the end of a full slab, and the frames
// returned stay where they were. With stop mode off it goes on: the
// partial frame completes, in the same slab when nobody retained one.
func TestReaderStopAtPartial(t *testing.T) {
	for _, framing := range []frame.Framing{frame.Default, frame.Varint, frame.Lines} {
		var wire []byte
		var want [][]byte
		for i := range 6 {
			p := bytes.Repeat([]byte{byte('a' + i)}, 180)
			want = append(want, p)
			var err error
			wire, err = frame.AppendFramed(wire, framing, frame.Header{}, p)
			require.NoError(t, err)
		}
		slabs := pool.NewSlabPool(pool.Options{})
		src := &countingReader{r: io.MultiReader(bytes.NewReader(wire[:1024]), bytes.NewReader(wire[1024:]))}
		r := frame.NewReader(src, frame.ReaderOptions{Framing: framing, SlabSize: 1024, Pool: slabs})
		first, err := r.Next()
		require.NoError(t, err)
		require.Equal(t, 1, src.reads)
		first.Retain() // as a batch does
		framehook.ReaderStopAtPartial(r, true)
		got := [][]byte{first.Payload}
		for {
			var f frame.Frame
			if err := r.NextInto(&f); err != nil {
				require.ErrorIs(t, err, framehook.ErrStopAtPartial)
				break
			}
			got = append(got, f.Payload)
		}
		assert.Equal(t, 1, src.reads, "stop mode does not read")
		assert.Equal(t, uint64(1), slabs.Stats().Gets, "nor take a slab for the partial frame")
		assert.Equal(t, want[:len(got)], got, "the frames returned stay intact")
		require.Less(t, len(got), 6)
		framehook.ReaderStopAtPartial(r, false)
		first.Release()
		for i := len(got); i < 6; i++ {
			f, err := r.Next()
			require.NoError(t, err)
			assert.Equal(t, want[i], f.Payload)
		}
		if !pool.Debug {
			assert.Equal(t, uint64(1), slabs.Stats().Gets, "the partial frame moved within its slab")
		}
		_, err = r.Next()
		assert.ErrorIs(t, err, io.EOF)
	}
}
