package frame_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/framehook"
	"github.com/protosocket-go/protosocket/pool"
)

const fuzzMax = 4096

// chunkReader returns data in reads of 1..chunk bytes.
type chunkReader struct {
	data  []byte
	chunk int
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	c.i++
	n := min(len(p), len(c.data), 1+(c.i*7919)%c.chunk)
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func fuzzSeeds(f *testing.F, fr frame.Framing, withIndex bool, idx uint8) {
	for _, ps := range [][][]byte{
		{[]byte("hello")},
		{{}, []byte("a"), bytes.Repeat([]byte("x"), 300)},
		payloads(10, 3, 40, 1000),
	} {
		for _, flags := range []uint16{0, frame.FlagCRC | 0x0300} {
			wire := encode(f, fr, ps, flags)
			if withIndex {
				f.Add(wire, idx, uint8(5))
			} else {
				f.Add(wire, uint8(13))
			}
		}
	}
}

// FuzzReader feeds arbitrary streams to a default-format Reader: no panic,
// no frame over the maximum, and the frames re-encode to exactly the bytes
// consumed, which on io.EOF are all of the input.
func FuzzReader(f *testing.F) {
	fuzzSeeds(f, frame.Default, false, 0)
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		p := pool.NewSlabPool(pool.Options{MinSlabSize: 256})
		r := frame.NewReader(&chunkReader{data: data, chunk: int(chunk) + 1},
			frame.ReaderOptions{MaxFrameSize: fuzzMax, SlabSize: 512, Pool: p})
		var re []byte
		for {
			fr, err := r.Next()
			if err != nil {
				if errors.Is(err, io.EOF) {
					require.True(t, bytes.Equal(data, re), "frames add up to the whole stream")
				} else {
					require.True(t, errors.Is(err, frame.ErrMalformed) || errors.Is(err, frame.ErrFrameTooLarge) ||
						errors.Is(err, frame.ErrChecksum) || errors.Is(err, frame.ErrTruncated), "untyped error %v", err)
					require.True(t, bytes.HasPrefix(data, re), "consumed bytes are a prefix")
				}
				break
			}
			require.LessOrEqual(t, len(fr.Payload), fuzzMax)
			require.Equal(t, int(fr.Header.Length), len(fr.Payload))
			// One slab at a time, never more than the largest frame's
			// class (4096 + header rounds up to 8 KiB).
			require.LessOrEqual(t, p.Stats().BytesInUse, int64(8<<10))
			re = frame.AppendHeader(re, fr.Header)
			re = append(re, fr.Payload...)
		}
		require.NoError(t, r.Close())
		require.Zero(t, p.Stats().SlabsInUse, "every slab returned")
	})
}

var fuzzFramings = []frame.Framing{frame.Default, frame.Varint, frame.Fixed32, frame.Lines}

// FuzzFramings reads arbitrary streams with each framing and checks the
// Reader against splitting the whole input directly: same frames, same
// error class, no frame over the maximum.
func FuzzFramings(f *testing.F) {
	for i, fr := range fuzzFramings {
		fuzzSeeds(f, fr, true, uint8(i))
	}
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"), uint8(3), uint8(1))
	f.Add(bytes.Repeat([]byte{0xff}, 12), uint8(1), uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, which, chunk uint8) {
		fr := fuzzFramings[int(which)%len(fuzzFramings)]
		// Reference: split the whole input at once.
		var want [][]byte
		var wantErr error
		rest := data
		for len(rest) > 0 {
			sp, err := fr.Split(rest, fuzzMax)
			if err != nil {
				var fe *frame.Error
				require.ErrorAs(t, err, &fe, "Split errors are *frame.Error")
				wantErr = fe.Err
				break
			}
			if sp.Kind == frame.NeedMore {
				wantErr = frame.ErrTruncated
				break
			}
			require.Equal(t, frame.Complete, sp.Kind)
			require.LessOrEqual(t, sp.N, len(rest))
			require.LessOrEqual(t, sp.Len, fuzzMax)
			want = append(want, rest[sp.Off:sp.Off+sp.Len])
			rest = rest[sp.N:]
		}
		r := frame.NewReader(&chunkReader{data: data, chunk: int(chunk) + 1},
			frame.ReaderOptions{Framing: fr, MaxFrameSize: fuzzMax, SlabSize: 256})
		defer r.Close()
		var got [][]byte
		for {
			f, err := r.Next()
			if err != nil {
				if wantErr == nil {
					require.ErrorIs(t, err, io.EOF)
				} else {
					require.ErrorIs(t, err, wantErr)
				}
				break
			}
			require.LessOrEqual(t, len(f.Payload), fuzzMax)
			if fr == frame.Lines { // what the reader returns, the writer accepts
				_, err := fr.AppendPrefix(nil, f.Header, f.Payload)
				require.NoError(t, err, "%q", f.Payload)
			}
			got = append(got, append([]byte{}, f.Payload...))
		}
		require.Equal(t, len(want), len(got))
		for i := range want {
			require.Equal(t, want[i], got[i])
		}
	})
}

// FuzzRoundTrip writes arbitrary payloads with each framing and reads them
// back: what the Writer accepts, the Reader returns unchanged.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hello\x00world"), uint8(0), uint8(3))
	f.Add([]byte("line one\nline two\r"), uint8(3), uint8(4))
	f.Add(bytes.Repeat([]byte{0x80}, 300), uint8(1), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, which, cut uint8) {
		fr := fuzzFramings[int(which)%len(fuzzFramings)]
		// Payloads: data split at every byte equal to cut.
		var ps [][]byte
		for _, p := range bytes.Split(data, []byte{cut}) {
			if len(p) <= fuzzMax {
				ps = append(ps, p)
			}
		}
		var buf bytes.Buffer
		w := frame.NewWriter(&buf, frame.WriterOptions{Framing: fr, MaxFrameSize: fuzzMax, ChunkSize: frame.MinChunkSize})
		var accepted [][]byte
		for _, p := range ps {
			err := w.WriteFrame(frame.Header{Flags: frame.FlagCRC, Stream: uint32(len(p))}, p)
			if err != nil {
				require.ErrorIs(t, err, frame.ErrLineBreak)
				continue
			}
			accepted = append(accepted, p)
		}
		require.NoError(t, w.Flush())
		r := frame.NewReader(iotestHalf(&buf), frame.ReaderOptions{Framing: fr, MaxFrameSize: fuzzMax, SlabSize: 256})
		defer r.Close()
		got, _, err := readAll(r)
		require.ErrorIs(t, err, io.EOF)
		require.Equal(t, len(accepted), len(got))
		for i := range got {
			require.Equal(t, accepted[i], got[i])
		}
	})
}

func iotestHalf(r io.Reader) io.Reader { return &chunkReader{data: readAllBytes(r), chunk: 97} }

func readAllBytes(r io.Reader) []byte {
	b, _ := io.ReadAll(r)
	return b
}

// FuzzReaderSkip feeds arbitrary streams to a Reader in skip mode, with
// each length-prefixed framing, and checks it against splitting the whole
// input directly (Split, then SplitOversized for a frame over the
// maximum): the same frames, the oversized ones with their announced
// length and no payload, the same error class; no frame over the maximum;
// at most one slab of the largest frame held at any time, every slab back
// at the end.
func FuzzReaderSkip(f *testing.F) {
	const skipMax = 4 * fuzzMax
	for i, fr := range skipFramings {
		fuzzSeeds(f, fr.f, true, uint8(i))
		for _, n := range []int{fuzzMax + 1, 3 * fuzzMax, skipMax, skipMax + 1} {
			wire, err := frame.AppendFramed(nil, fr.f, frame.Header{Stream: 3, Type: 9}, make([]byte, n))
			require.NoError(f, err)
			wire = append(wire, encode(f, fr.f, [][]byte{[]byte("next")}, 0)...)
			f.Add(wire, uint8(i), uint8(200))
			f.Add(wire[:len(wire)/2], uint8(i), uint8(13))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, which, chunk uint8) {
		fr := skipFramings[int(which)%len(skipFramings)].f
		type want struct {
			payload   []byte
			oversized bool
			length    uint32
		}
		var wants []want
		var wantErr error
		rest := data
		for len(rest) > 0 {
			sp, err := fr.Split(rest, fuzzMax)
			if errors.Is(err, frame.ErrFrameTooLarge) {
				sp, err = frame.SplitOversized(fr, rest, skipMax)
				if err == nil && sp.Kind == frame.Complete {
					wants = append(wants, want{oversized: true, length: uint32(sp.Len)})
					if sp.N > len(rest) {
						wantErr = frame.ErrTruncated
						break
					}
					rest = rest[sp.N:]
					continue
				}
			}
			if err != nil {
				var fe *frame.Error
				require.ErrorAs(t, err, &fe)
				wantErr = fe.Err
				break
			}
			if sp.Kind == frame.NeedMore {
				wantErr = frame.ErrTruncated
				break
			}
			wants = append(wants, want{payload: rest[sp.Off : sp.Off+sp.Len], length: uint32(sp.Len)})
			rest = rest[sp.N:]
		}
		p := pool.NewSlabPool(pool.Options{MinSlabSize: 256})
		r := frame.NewReader(&chunkReader{data: data, chunk: int(chunk) + 1},
			frame.ReaderOptions{Framing: fr, MaxFrameSize: fuzzMax, SlabSize: 512, Pool: p, SkipOversized: true, MaxSkipSize: skipMax})
		var got []want
		for {
			f, err := r.Next()
			if err != nil {
				if wantErr == nil {
					require.ErrorIs(t, err, io.EOF)
				} else {
					require.ErrorIs(t, err, wantErr)
				}
				break
			}
			require.LessOrEqual(t, len(f.Payload), fuzzMax)
			if f.Oversized {
				require.Empty(t, f.Payload)
				require.Greater(t, f.Header.Length, uint32(fuzzMax))
			}
			require.LessOrEqual(t, p.Stats().BytesInUse, int64(8<<10), "one slab of the largest frame at most")
			got = append(got, want{payload: append([]byte{}, f.Payload...), oversized: f.Oversized, length: f.Header.Length})
		}
		require.NoError(t, r.Close())
		require.Zero(t, p.Stats().SlabsInUse, "every slab returned")
		require.Equal(t, len(wants), len(got))
		for i := range wants {
			require.Equal(t, wants[i].oversized, got[i].oversized, "frame %d", i)
			require.Equal(t, wants[i].length, got[i].length, "frame %d", i)
			require.Equal(t, string(wants[i].payload), string(got[i].payload), "frame %d", i)
		}
	})
}

// FuzzReaderStop reads arbitrary streams as socket's read batches do:
// after each read, stop mode on (framehook.ReaderStopAtPartial) with the
// Reader's slab retained (framehook.ReaderRetainSlab), frames taken until
// ErrStopAtPartial or an error, then stop mode off and the slab released.
// With every framing, skip mode (framingIdx >= 128) and a MaxFrameSize
// under the slab size (framingIdx bit 64: a skipped frame can lie whole in
// the slab, so a batch can begin with a frame that has no slab): the same
// frames and error class as a plain Reader, no read and no slab taken in
// stop mode, and the batch's views intact until the batch ends, framing
// error included, checked after another user took every slab the pool
// had free and wrote over it (a slab released under the batch's views is
// reused, or poisoned under psdebug).
func FuzzReaderStop(f *testing.F) {
	fuzzSeeds(f, frame.Default, true, 0)
	// An oversized frame that fits the slab first, small frames, garbage:
	// the batch begins with a frame without a slab and ends in a framing
	// error, which releases the Reader's slab under the views.
	// All in the first read (1 + 7919 % 256 = 240 bytes with chunk 255).
	over, _ := frame.AppendFrame(nil, frame.Header{Stream: 9}, make([]byte, 41))
	small := func(i int) []byte {
		w, _ := frame.AppendFrame(nil, frame.Header{Stream: uint32(i)}, bytes.Repeat([]byte{'a' + byte(i)}, 10))
		return w
	}
	garbage := bytes.Repeat([]byte{0xee}, 16)
	f.Add(bytes.Join([][]byte{over, small(0), small(1), small(2), garbage}, nil), uint8(128+64), uint8(255))
	f.Add(bytes.Join([][]byte{over, small(0), over, garbage}, nil), uint8(128+64), uint8(255))
	f.Add(bytes.Join([][]byte{small(0), over, small(1), garbage}, nil), uint8(128+64), uint8(255))
	f.Fuzz(func(t *testing.T, data []byte, framingIdx, chunk uint8) {
		fr := fuzzFramings[int(framingIdx)%len(fuzzFramings)]
		skip := framingIdx >= 128 && fr != frame.Lines
		maxFrame := fuzzMax
		if framingIdx&64 != 0 {
			maxFrame = 40 // under SlabSize
		}
		opts := func(p *pool.SlabPool) frame.ReaderOptions {
			return frame.ReaderOptions{Framing: fr, MaxFrameSize: maxFrame, SlabSize: 512, Pool: p, SkipOversized: skip}
		}
		type got struct {
			h       frame.Header
			over    bool
			payload []byte
		}
		var want []got
		var wantErr error
		plain := frame.NewReader(&chunkReader{data: data, chunk: int(chunk) + 1}, opts(pool.NewSlabPool(pool.Options{MinSlabSize: 256})))
		for {
			f, err := plain.Next()
			if err != nil {
				wantErr = err
				break
			}
			want = append(want, got{f.Header, f.Oversized, bytes.Clone(f.Payload)})
		}
		p := pool.NewSlabPool(pool.Options{MinSlabSize: 256})
		src := &countingReader{r: &chunkReader{data: data, chunk: int(chunk) + 1}}
		r := frame.NewReader(src, opts(p))
		var have []got
		var err error
		for err == nil {
			var first frame.Frame
			if first, err = r.Next(); err != nil {
				break
			}
			slab := framehook.ReaderRetainSlab(r) // as socket's Batch.Next
			framehook.ReaderStopAtPartial(r, true)
			batch := []frame.Frame{first}
			taken := []got{{first.Header, first.Oversized, bytes.Clone(first.Payload)}} // as each was returned
			reads, gets := src.reads, p.Stats().Gets
			for {
				var f frame.Frame
				if e := r.NextInto(&f); e != nil {
					if e != framehook.ErrStopAtPartial {
						err = e
					}
					break
				}
				batch = append(batch, f)
				taken = append(taken, got{f.Header, f.Oversized, bytes.Clone(f.Payload)})
			}
			require.Equal(t, reads, src.reads, "stop mode reads nothing")
			require.Equal(t, gets, p.Stats().Gets, "stop mode takes no slab")
			// The views are intact until the batch ends, even after
			// another reader took what the pool has free and read into it.
			var others []*pool.Slab
			for size := 256; size <= 8<<10; size *= 2 {
				o := p.Get(size)
				for i := range o.Bytes() {
					o.Bytes()[i] = 0x5a
				}
				others = append(others, o)
			}
			for i, f := range batch {
				require.Equal(t, taken[i].payload, f.Payload, "frame %d of the batch moved or was released", i)
			}
			for _, o := range others {
				o.Release()
			}
			have = append(have, taken...)
			framehook.ReaderStopAtPartial(r, false)
			if slab != nil {
				slab.Release()
			}
		}
		require.Equal(t, len(want), len(have))
		for i := range want {
			require.Equal(t, want[i], have[i], "frame %d", i)
		}
		require.Equal(t, errors.Is(wantErr, io.EOF), errors.Is(err, io.EOF), "%v / %v", wantErr, err)
		for _, class := range []error{frame.ErrMalformed, frame.ErrFrameTooLarge, frame.ErrChecksum, frame.ErrTruncated} {
			require.Equal(t, errors.Is(wantErr, class), errors.Is(err, class), "%v / %v", wantErr, err)
		}
		require.NoError(t, r.Close())
		require.Zero(t, p.Stats().SlabsInUse, "every slab returned")
	})
}
