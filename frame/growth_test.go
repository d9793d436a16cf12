package frame_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/framehook"
	"github.com/protosocket-go/protosocket/pool"
)

// errDry is what a dripSource returns when it has nothing more for now:
// like a read deadline, it leaves the Reader intact.
var errDry = errors.New("test: no more bytes for now")

// dripSource serves the bytes appended to it, at most chunk per Read, then
// errDry (or io.EOF once closed) when it has none.
type dripSource struct {
	b      bytes.Buffer
	chunk  int
	closed bool
}

func (s *dripSource) Read(p []byte) (int, error) {
	if s.b.Len() == 0 {
		if s.closed {
			return 0, io.EOF
		}
		return 0, errDry
	}
	if s.chunk > 0 && len(p) > s.chunk {
		p = p[:s.chunk]
	}
	return s.b.Read(p)
}

// prefixFor returns the bytes a framing puts before a payload of n bytes.
func prefixFor(t *testing.T, f frame.Framing, n int) []byte {
	t.Helper()
	whole, err := frame.AppendFramed(nil, f, frame.Header{Stream: 1}, make([]byte, n))
	require.NoError(t, err)
	return whole[:len(whole)-n-len(f.Suffix())]
}

// TestPartialFrameMemoryGrowsWithBytesReceived: a header announcing the
// maximum payload costs one SlabSize slab, not MaxFrameSize; as the payload
// arrives the Reader's slab stays within max(SlabSize, 4 x received),
// rounded up to a power-of-two size class (so within 8 x received); the
// frame, once whole, is intact; and a frame cut by the end of the stream
// releases everything.
func TestPartialFrameMemoryGrowsWithBytesReceived(t *testing.T) {
	const (
		maxFrame = 4 << 20
		slab     = 32 << 10
	)
	for _, fr := range []struct {
		name string
		f    frame.Framing
	}{{"default", frame.Default}, {"varint", frame.Varint}, {"fixed32", frame.Fixed32}} {
		for _, chunk := range []int{1 << 10, 16 << 10, 64 << 10, 0} {
			t.Run(fr.name, func(t *testing.T) {
				p := pool.NewSlabPool(pool.Options{MaxSlabSize: 8 << 20, MaxIdleBytes: -1})
				src := &dripSource{chunk: chunk}
				r := frame.NewReader(src, frame.ReaderOptions{Framing: fr.f, MaxFrameSize: maxFrame, SlabSize: slab, Pool: p})
				payload := bytes.Repeat([]byte("0123456789abcdef"), maxFrame/16)
				src.b.Write(prefixFor(t, fr.f, maxFrame))
				received := src.b.Len()

				_, err := r.Next()
				require.ErrorIs(t, err, errDry)
				assert.True(t, framehook.ReaderPartial(r))
				assert.Equal(t, int64(slab), p.Stats().BytesInUse, "a header alone takes one slab")

				sent := 0
				for step := 1 << 10; sent < len(payload); step = step * 3 / 2 {
					n := min(step, len(payload)-sent-1) // the last byte comes below
					if n <= 0 {
						break
					}
					src.b.Write(payload[sent : sent+n])
					sent += n
					received += n
					_, err := r.Next()
					require.ErrorIs(t, err, errDry)
					require.True(t, framehook.ReaderPartial(r))
					held := p.Stats().BytesInUse
					require.LessOrEqual(t, held, int64(max(slab, 8*received)),
						"%d bytes received, %d held", received, held)
				}
				if chunk == 0 {
					// The whole frame but its last byte is here: the frame
					// completes, intact, with one more.
					src.b.Write(payload[sent:])
					f, err := r.Next()
					require.NoError(t, err)
					assert.False(t, framehook.ReaderPartial(r))
					require.Equal(t, len(payload), len(f.Payload))
					assert.True(t, bytes.Equal(payload, f.Payload))
					_, err = r.Next()
					require.ErrorIs(t, err, errDry)
					assert.False(t, framehook.ReaderPartial(r))
					assert.Zero(t, p.Stats().SlabsInUse, "nothing buffered: nothing held")
					return
				}
				// Cut: the stream ends mid-frame.
				src.closed = true
				_, err = r.Next()
				require.ErrorIs(t, err, frame.ErrTruncated)
				assert.False(t, framehook.ReaderPartial(r))
				assert.Zero(t, p.Stats().SlabsInUse, "a cut frame releases its slabs")
				assert.Zero(t, p.Stats().BytesInUse)
			})
		}
	}
}

// TestPartialFrameReleasedByClose: Close releases a partial frame's slab.
func TestPartialFrameReleasedByClose(t *testing.T) {
	p := pool.NewSlabPool(pool.Options{})
	src := &dripSource{}
	r := frame.NewReader(src, frame.ReaderOptions{Pool: p})
	src.b.Write(prefixFor(t, frame.Default, frame.DefaultMaxFrameSize))
	src.b.Write(make([]byte, 100<<10))
	_, err := r.Next()
	require.ErrorIs(t, err, errDry)
	require.True(t, framehook.ReaderPartial(r))
	require.NotZero(t, p.Stats().SlabsInUse)
	require.NoError(t, r.Close())
	assert.False(t, framehook.ReaderPartial(r))
	assert.Zero(t, p.Stats().SlabsInUse)
}

// TestPartialFlag: Partial is true only while an unfinished frame waits
// for bytes, not while whole frames are buffered.
func TestPartialFlag(t *testing.T) {
	src := &dripSource{}
	r := frame.NewReader(src, frame.ReaderOptions{})
	assert.False(t, framehook.ReaderPartial(r))
	whole := encode(t, frame.Default, payloads(3, 10), 0)
	src.b.Write(whole[:len(whole)-5]) // two frames and most of a third
	for range 2 {
		_, err := r.Next()
		require.NoError(t, err)
		assert.False(t, framehook.ReaderPartial(r))
	}
	_, err := r.Next()
	require.ErrorIs(t, err, errDry)
	assert.True(t, framehook.ReaderPartial(r))
	src.b.Write(whole[len(whole)-5:])
	_, err = r.Next()
	require.NoError(t, err)
	assert.False(t, framehook.ReaderPartial(r))
	_, err = r.Next()
	require.ErrorIs(t, err, errDry)
	assert.False(t, framehook.ReaderPartial(r), "nothing buffered: no frame started")
	src.b.Write(whole[:3]) // three bytes of a header
	_, err = r.Next()
	require.ErrorIs(t, err, errDry)
	assert.True(t, framehook.ReaderPartial(r))
}

// TestLinesGrowGeometrically: a long line (its size unknown until its end)
// is held within about twice its bytes, not more.
func TestLinesGrowGeometrically(t *testing.T) {
	p := pool.NewSlabPool(pool.Options{MaxSlabSize: 8 << 20, MaxIdleBytes: -1})
	src := &dripSource{chunk: 8 << 10}
	r := frame.NewReader(src, frame.ReaderOptions{Framing: frame.Lines, Pool: p})
	line := bytes.Repeat([]byte("x"), 3<<20)
	received := 0
	for received < len(line) {
		n := min(50<<10, len(line)-received)
		src.b.Write(line[received : received+n])
		received += n
		_, err := r.Next()
		require.ErrorIs(t, err, errDry)
		require.LessOrEqual(t, p.Stats().BytesInUse, int64(max(frame.DefaultSlabSize, 4*received)))
	}
	src.b.WriteString("\n")
	f, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, len(line), len(f.Payload))
}

// TestReaderSize: a Reader stays within the 240-byte size class, part of
// an idle connection's memory (socket's TestIdleMemoryPerConn, 4 KiB
// target); the budget and partial-frame fields must not push it to 256+.
func TestReaderSize(t *testing.T) {
	assert.LessOrEqual(t, frame.SizeofReader, uintptr(240))
}
