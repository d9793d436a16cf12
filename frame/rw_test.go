package frame_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/framehook"
	"github.com/protosocket-go/protosocket/pool"
)

var framings = []struct {
	name string
	f    frame.Framing
}{
	{"default", frame.Default},
	{"varint", frame.Varint},
	{"fixed32", frame.Fixed32},
	{"lines", frame.Lines},
}

// payloads returns n distinct payloads (no line breaks) of varied sizes.
func payloads(n int, sizes ...int) [][]byte {
	var out [][]byte
	for i := range n {
		size := sizes[i%len(sizes)]
		p := make([]byte, size)
		for j := range p {
			p[j] = 'a' + byte((i+j)%26)
		}
		out = append(out, p)
	}
	return out
}

func encode(t testing.TB, f frame.Framing, ps [][]byte, flags uint16) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := frame.NewWriter(&buf, frame.WriterOptions{Framing: f})
	for i, p := range ps {
		require.NoError(t, w.WriteFrame(frame.Header{Flags: flags, Stream: uint32(i), Type: uint32(i * 3)}, p))
	}
	require.NoError(t, w.Flush())
	return buf.Bytes()
}

// readAll reads every frame, copying payloads, until an error.
func readAll(r *frame.Reader) ([][]byte, []frame.Header, error) {
	var ps [][]byte
	var hs []frame.Header
	for {
		f, err := r.Next()
		if err != nil {
			return ps, hs, err
		}
		ps = append(ps, append([]byte{}, f.Payload...))
		hs = append(hs, f.Header)
	}
}

func TestRoundTripAllFramings(t *testing.T) {
	sizes := []int{0, 1, 15, 16, 300, 5000, 40 << 10, 100 << 10}
	sources := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"one byte at a time", iotest.OneByteReader},
		{"half reads", iotest.HalfReader},
		{"data with EOF", iotest.DataErrReader},
	}
	for _, fr := range framings {
		for _, src := range sources {
			t.Run(fr.name+"/"+src.name, func(t *testing.T) {
				ps := payloads(40, sizes...)
				if src.name == "one byte at a time" {
					ps = payloads(20, 0, 1, 17, 5000, 33<<10)
				}
				wire := encode(t, fr.f, ps, 0)
				p := pool.NewSlabPool(pool.Options{})
				r := frame.NewReader(src.wrap(bytes.NewReader(wire)), frame.ReaderOptions{Framing: fr.f, Pool: p})
				got, hs, err := readAll(r)
				require.ErrorIs(t, err, io.EOF)
				require.Equal(t, len(ps), len(got))
				for i := range ps {
					require.Equal(t, ps[i], got[i], "frame %d", i)
					if fr.f == frame.Default {
						assert.Equal(t, uint32(i), hs[i].Stream)
						assert.Equal(t, uint32(i*3), hs[i].Type)
					}
					assert.Equal(t, uint32(len(ps[i])), hs[i].Length)
				}
				st := r.Stats()
				assert.Equal(t, uint64(len(ps)), st.Frames)
				assert.Equal(t, uint64(len(wire)), st.Bytes)
				assert.False(t, framehook.ReaderHoldsSlab(r), "no slab held after EOF")
				assert.Equal(t, int64(0), p.Stats().SlabsInUse)
				_, err = r.Next()
				assert.ErrorIs(t, err, io.EOF, "EOF is sticky")
			})
		}
	}
}

func TestManyFramesPerRead(t *testing.T) {
	ps := payloads(200, 16)
	wire := encode(t, frame.Default, ps, 0)
	r := frame.NewReader(bytes.NewReader(wire), frame.ReaderOptions{SlabSize: 64 << 10})
	got, _, err := readAll(r)
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, got, 200)
	// 200 frames of 32 bytes fit one 64 KiB slab: one read with data, one for EOF.
	assert.Equal(t, uint64(2), r.Stats().Reads)
}

func TestFramesStraddleSlabEnds(t *testing.T) {
	// 1000-byte frames in 4 KiB slabs: every fourth frame straddles a slab
	// end, and its tail (not the whole slab) moves to the next slab.
	ps := payloads(50, 1000-frame.HeaderSize)
	wire := encode(t, frame.Default, ps, 0)
	p := pool.NewSlabPool(pool.Options{})
	r := frame.NewReader(bytes.NewReader(wire), frame.ReaderOptions{SlabSize: 4096, Pool: p})
	var held []frame.Frame
	for i := range ps {
		f, err := r.Next()
		require.NoError(t, err)
		require.Equal(t, ps[i], f.Payload)
		f.Retain() // keep every frame: the Reader must not overwrite retained data
		held = append(held, f)
	}
	for i, f := range held {
		assert.Equal(t, ps[i], f.Payload, "retained frame %d intact", i)
		f.Release()
	}
	_, err := r.Next()
	require.ErrorIs(t, err, io.EOF)
	assert.Equal(t, int64(0), p.Stats().SlabsInUse, "all slabs returned")
	assert.GreaterOrEqual(t, p.Stats().Gets, uint64(len(wire)/4096))
}

func TestFrameLargerThanSlab(t *testing.T) {
	big := payloads(1, 3<<20)[0]
	ps := [][]byte{[]byte("small"), big, []byte("after")}
	wire := encode(t, frame.Default, ps, frame.FlagCRC)
	p := pool.NewSlabPool(pool.Options{})
	r := frame.NewReader(bytes.NewReader(wire), frame.ReaderOptions{SlabSize: 4096, Pool: p})
	got, _, err := readAll(r)
	require.ErrorIs(t, err, io.EOF)
	require.Equal(t, ps, got)
	st := p.Stats()
	assert.Equal(t, int64(0), st.SlabsInUse)
	// The big frame grew through large classes (above the 1 MiB class),
	// kept for reuse after it (dropped, poisoned, under psdebug).
	if pool.Debug {
		assert.GreaterOrEqual(t, st.Drops, uint64(1))
	} else {
		assert.GreaterOrEqual(t, st.IdleLargeBytes, int64(3<<20))
	}
}

func TestTruncatedStreams(t *testing.T) {
	for _, fr := range framings {
		wire := encode(t, fr.f, payloads(3, 100), 0)
		for _, cut := range []int{1, 3, len(wire) / 2, len(wire) - 1} {
			t.Run(fmt.Sprintf("%s/cut%d", fr.name, cut), func(t *testing.T) {
				r := frame.NewReader(bytes.NewReader(wire[:cut]), frame.ReaderOptions{Framing: fr.f})
				_, _, err := readAll(r)
				require.ErrorIs(t, err, frame.ErrTruncated)
				require.ErrorIs(t, err, io.ErrUnexpectedEOF)
				assert.False(t, framehook.ReaderHoldsSlab(r))
			})
		}
	}
}

func TestReaderErrors(t *testing.T) {
	crcFrame := encode(t, frame.Default, [][]byte{[]byte("payload")}, frame.FlagCRC)
	badCRC := append([]byte{}, crcFrame...)
	badCRC[len(badCRC)-1] ^= 1
	tooBig := frame.AppendHeader(nil, frame.Header{Length: 1 << 30})
	tests := []struct {
		name    string
		framing frame.Framing
		in      []byte
		want    error
	}{
		{"bad CRC", frame.Default, badCRC, frame.ErrChecksum},
		{"bad version", frame.Default, patch(crcFrame, 4, 9), frame.ErrMalformed},
		{"reserved flags", frame.Default, patch(crcFrame, 6, 0x41), frame.ErrMalformed},
		{"length over max", frame.Default, tooBig, frame.ErrFrameTooLarge},
		{"varint over max", frame.Varint, []byte{0xff, 0xff, 0xff, 0x7f}, frame.ErrFrameTooLarge},
		{"varint 11 bytes", frame.Varint, bytes.Repeat([]byte{0x80}, 11), frame.ErrMalformed},
		{"varint 10th byte overflows", frame.Varint, append(bytes.Repeat([]byte{0x80}, 9), 0x02), frame.ErrMalformed},
		{"fixed32 over max", frame.Fixed32, []byte{0x7f, 0, 0, 0}, frame.ErrFrameTooLarge},
		{"line over max", frame.Lines, bytes.Repeat([]byte("x"), 5<<20), frame.ErrFrameTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pool.NewSlabPool(pool.Options{})
			r := frame.NewReader(bytes.NewReader(tt.in), frame.ReaderOptions{Framing: tt.framing, Pool: p})
			_, err := r.Next()
			require.ErrorIs(t, err, tt.want)
			var fe *frame.Error
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, int64(0), fe.Offset)
			_, err2 := r.Next()
			assert.Equal(t, err, err2, "framing errors are sticky")
			require.NoError(t, r.Close())
			assert.Equal(t, int64(0), p.Stats().SlabsInUse)
			// Nothing was allocated for the claimed length (a long line,
			// whose length is unknown, grows through slabs that are kept
			// idle: under three times its bytes).
			assert.Less(t, p.Stats().BytesInUse+p.Stats().IdleBytes, max(int64(8<<20), 3*int64(len(tt.in))))
		})
	}
}

func TestValidVarintNonMinimal(t *testing.T) {
	// 0x83 0x00 is a non-minimal encoding of 3; protobuf accepts it.
	r := frame.NewReader(bytes.NewReader([]byte{0x83, 0x00, 'a', 'b', 'c'}), frame.ReaderOptions{Framing: frame.Varint})
	f, err := r.Next()
	require.NoError(t, err)
	assert.Equal(t, "abc", string(f.Payload))
}

func TestLinesCRLF(t *testing.T) {
	r := frame.NewReader(bytes.NewReader([]byte("one\r\ntwo\n\r\n\nlast\r\n")), frame.ReaderOptions{Framing: frame.Lines})
	got, _, err := readAll(r)
	require.ErrorIs(t, err, io.EOF)
	assert.Equal(t, [][]byte{[]byte("one"), []byte("two"), {}, {}, []byte("last")}, got)
}

func TestLinesWriteRejectsLineBreaks(t *testing.T) {
	var buf bytes.Buffer
	w := frame.NewWriter(&buf, frame.WriterOptions{Framing: frame.Lines})
	for _, p := range []string{"a\nb", "\n", "ends in cr\r"} {
		err := w.WriteFrame(frame.Header{}, []byte(p))
		require.ErrorIs(t, err, frame.ErrLineBreak, "%q", p)
	}
	require.NoError(t, w.WriteFrame(frame.Header{}, []byte("fine\rinside")))
	require.NoError(t, w.Flush())
	assert.Equal(t, "fine\rinside\n", buf.String())
}

func TestMaxFrameSizeOption(t *testing.T) {
	wire := encode(t, frame.Default, [][]byte{make([]byte, 1000)}, 0)
	tests := []struct {
		max  int
		want error
	}{
		{0, io.EOF}, // default 4 MiB
		{1000, io.EOF},
		{999, frame.ErrFrameTooLarge},
	}
	for _, tt := range tests {
		r := frame.NewReader(bytes.NewReader(wire), frame.ReaderOptions{MaxFrameSize: tt.max})
		_, _, err := readAll(r)
		assert.ErrorIs(t, err, tt.want, "max %d", tt.max)

		w := frame.NewWriter(io.Discard, frame.WriterOptions{MaxFrameSize: tt.max})
		err = w.WriteFrame(frame.Header{}, make([]byte, 1000))
		if tt.want == io.EOF {
			assert.NoError(t, err)
		} else {
			assert.ErrorIs(t, err, tt.want)
			assert.Zero(t, w.Buffered())
		}
	}
}

func TestSlabSizeOption(t *testing.T) {
	wire := encode(t, frame.Default, payloads(100, 100), 0)
	for _, tt := range []struct {
		slab      int
		wantReads uint64
	}{
		{4096, uint64(len(wire)/4096) + 2},
		{64 << 10, 2},
	} {
		p := pool.NewSlabPool(pool.Options{})
		r := frame.NewReader(bytes.NewReader(wire), frame.ReaderOptions{SlabSize: tt.slab, Pool: p})
		got, _, err := readAll(r)
		require.ErrorIs(t, err, io.EOF)
		require.Len(t, got, 100)
		assert.Equal(t, tt.wantReads, r.Stats().Reads, "slab %d", tt.slab)
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		field string
	}{
		{"reader zero", frame.ReaderOptions{}.Validate(), ""},
		{"writer zero", frame.WriterOptions{}.Validate(), ""},
		{"reader negative max", frame.ReaderOptions{MaxFrameSize: -1}.Validate(), "MaxFrameSize"},
		{"reader huge max", frame.ReaderOptions{MaxFrameSize: frame.HardMaxFrameSize + 1}.Validate(), "MaxFrameSize"},
		{"reader negative slab", frame.ReaderOptions{SlabSize: -5}.Validate(), "SlabSize"},
		{"writer negative max", frame.WriterOptions{MaxFrameSize: -1}.Validate(), "MaxFrameSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.field == "" {
				assert.NoError(t, tt.err)
				return
			}
			require.ErrorIs(t, tt.err, frame.ErrInvalidOptions)
			var oe *frame.OptionError
			require.ErrorAs(t, tt.err, &oe)
			assert.Equal(t, tt.field, oe.Field)
		})
	}
	assert.Panics(t, func() { frame.NewReader(nil, frame.ReaderOptions{SlabSize: -1}) })
	assert.Panics(t, func() { frame.NewWriter(nil, frame.WriterOptions{MaxFrameSize: -1}) })
}

// skipFraming is a test framing: '.' bytes are padding to skip, then a
// Fixed32 frame.
type skipFraming struct{ frame.Framing }

func (s skipFraming) Split(b []byte, max int) (frame.Split, error) {
	n := 0
	for n < len(b) && b[n] == '.' {
		n++
	}
	if n > 0 {
		return frame.Split{Kind: frame.Skip, N: n}, nil
	}
	return s.Framing.Split(b, max)
}

func TestSkip(t *testing.T) {
	wire := encode(t, frame.Fixed32, [][]byte{[]byte("ab"), []byte("cd")}, 0)
	in := append([]byte("..."), wire[:6]...)
	in = append(in, "...."...)
	in = append(in, wire[6:]...)
	r := frame.NewReader(iotest.HalfReader(bytes.NewReader(in)), frame.ReaderOptions{Framing: skipFraming{frame.Fixed32}})
	got, _, err := readAll(r)
	require.ErrorIs(t, err, io.EOF)
	assert.Equal(t, [][]byte{[]byte("ab"), []byte("cd")}, got)
}

// badFraming reports impossible splits; the Reader must reject them.
type badFraming struct {
	frame.Framing
	sp frame.Split
}

func (b badFraming) Split([]byte, int) (frame.Split, error) { return b.sp, nil }

func TestImpossibleSplitIsMalformed(t *testing.T) {
	for _, sp := range []frame.Split{
		{Kind: frame.Complete, N: 100},
		{Kind: frame.Complete, N: 2, Off: 1, Len: 5},
		{Kind: frame.Skip, N: 0},
		{Kind: frame.NeedMore, N: 0},
		{Kind: frame.NeedMore, N: 1 << 30},
		{Kind: 9, N: 1},
	} {
		r := frame.NewReader(bytes.NewReader([]byte("abc")), frame.ReaderOptions{Framing: badFraming{frame.Fixed32, sp}})
		_, err := r.Next()
		assert.ErrorIs(t, err, frame.ErrMalformed, "%+v", sp)
		require.NoError(t, r.Close())
	}
}

func TestReaderCloseAndNoProgress(t *testing.T) {
	r := frame.NewReader(bytes.NewReader(encode(t, frame.Default, payloads(3, 10), 0)), frame.ReaderOptions{})
	_, err := r.Next()
	require.NoError(t, err)
	assert.True(t, framehook.ReaderHoldsSlab(r))
	require.NoError(t, r.Close())
	assert.False(t, framehook.ReaderHoldsSlab(r))
	_, err = r.Next()
	assert.ErrorIs(t, err, frame.ErrClosed)

	r = frame.NewReader(zeroReader{}, frame.ReaderOptions{})
	_, err = r.Next()
	assert.ErrorIs(t, err, io.ErrNoProgress)
}

type zeroReader struct{}

func (zeroReader) Read([]byte) (int, error) { return 0, nil }

func TestReaderSourceErrorIsNotSticky(t *testing.T) {
	wire := encode(t, frame.Default, payloads(2, 10), 0)
	src := iotest.TimeoutReader(bytes.NewReader(wire)) // second Read fails with ErrTimeout
	r := frame.NewReader(iotest.OneByteReader(src), frame.ReaderOptions{})
	_, err := r.Next()
	require.ErrorIs(t, err, iotest.ErrTimeout)
	got, _, err := readAll(r)
	require.ErrorIs(t, err, io.EOF)
	require.Len(t, got, 2, "reading resumes after a source error")
}

func TestReaderHeaderFields(t *testing.T) {
	// Frames without CRC take the Reader's inline fast path, frames with
	// it the Framing path: both must report every header field as written.
	tests := []struct {
		name string
		h    frame.Header
	}{
		{"plain", frame.Header{Kind: frame.KindData, Stream: 1, Type: 2}},
		{"app kind and upper flags", frame.Header{Kind: frame.KindAppMin + 3, Flags: frame.FlagsUpper, Stream: 1 << 31, Type: 0xdeadbeef}},
		{"with CRC", frame.Header{Kind: 7, Flags: frame.FlagCRC | 0x0100, Stream: 9, Type: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wire, err := frame.AppendFrame(nil, tt.h, []byte("payload"))
			require.NoError(t, err)
			want, err := frame.ParseHeader(wire)
			require.NoError(t, err)
			r := frame.NewReader(bytes.NewReader(wire), frame.ReaderOptions{})
			f, err := r.Next()
			require.NoError(t, err)
			assert.Equal(t, want, f.Header)
			assert.Equal(t, "payload", string(f.Payload))
			assert.Equal(t, len("payload"), cap(f.Payload), "the view cannot be appended into the next frame")
			_, err = r.Next()
			require.ErrorIs(t, err, io.EOF)
		})
	}
}

// TestLinesReaderWriterAgree is the regression test for "0\r\r\n", which
// the reader used to return as payload "0\r" that the writer then refused:
// every payload the reader returns must be writable and read back the same,
// and what it cannot return is ErrMalformed.
func TestLinesReaderWriterAgree(t *testing.T) {
	tests := []struct {
		name, wire string
		want       string
		err        error
	}{
		{"plain", "0\n", "0", nil},
		{"crlf", "0\r\n", "0", nil},
		{"cr inside", "a\rb\r\n", "a\rb", nil},
		{"lone cr line", "\r\n", "", nil},
		{"double cr", "0\r\r\n", "", frame.ErrMalformed},
		{"only double cr", "\r\r\n", "", frame.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := frame.NewReader(bytes.NewReader([]byte(tt.wire)), frame.ReaderOptions{Framing: frame.Lines})
			defer r.Close()
			f, err := r.Next()
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, string(f.Payload))
			var buf bytes.Buffer
			w := frame.NewWriter(&buf, frame.WriterOptions{Framing: frame.Lines})
			require.NoError(t, w.WriteFrame(frame.Header{}, f.Payload))
			require.NoError(t, w.Flush())
			r2 := frame.NewReader(&buf, frame.ReaderOptions{Framing: frame.Lines})
			defer r2.Close()
			f2, err := r2.Next()
			require.NoError(t, err)
			require.Equal(t, tt.want, string(f2.Payload))
		})
	}
}
