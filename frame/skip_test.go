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

var skipFramings = []struct {
	name string
	f    frame.Framing
}{{"default", frame.Default}, {"varint", frame.Varint}, {"fixed32", frame.Fixed32}}

// dripReader serves its data in reads of at most chunk bytes, then errAgain
// (like a non-blocking socket with nothing left) until more is added.
type dripReader struct {
	data  []byte
	chunk int
	eof   bool
}

var errAgain = errors.New("test: would block")

func (d *dripReader) Read(p []byte) (int, error) {
	if len(d.data) == 0 {
		if d.eof {
			return 0, io.EOF
		}
		return 0, errAgain
	}
	n := copy(p[:min(len(p), d.chunk)], d.data)
	d.data = d.data[n:]
	return n, nil
}

// TestSkipOversized: in skip mode a frame over MaxFrameSize comes up as
// its header with Oversized set and no payload, the frames around it are
// intact, and while its body drips in the Reader holds one SlabSize slab
// (never the announced length) and reports Partial.
func TestSkipOversized(t *testing.T) {
	const (
		maxFrame = 1024
		slab     = 4096
		big      = 200 << 10 // 200x the maximum, 50x the slab
	)
	for _, fr := range skipFramings {
		for _, chunk := range []int{1, 7, 1000, 1 << 20} {
			t.Run(fr.name, func(t *testing.T) {
				p := pool.NewSlabPool(pool.Options{MinSlabSize: 256})
				before := encode(t, fr.f, [][]byte{[]byte("before")}, 0)
				over, err := frame.AppendFramed(nil, fr.f, frame.Header{Kind: 9, Flags: 0x0100, Stream: 77, Type: 42}, bytes.Repeat([]byte{'z'}, big))
				require.NoError(t, err)
				after := encode(t, fr.f, [][]byte{[]byte("after")}, 0)
				src := &dripReader{chunk: chunk}
				r := frame.NewReader(src, frame.ReaderOptions{Framing: fr.f, MaxFrameSize: maxFrame, SlabSize: slab, Pool: p, SkipOversized: true})
				defer r.Close()
				// next returns the next frame, or a frame of length ^0 when
				// the source has nothing more for now.
				next := func() frame.Frame {
					t.Helper()
					f, err := r.Next()
					if err == errAgain {
						require.LessOrEqual(t, p.Stats().BytesInUse, int64(slab), "one slab while waiting")
						return frame.Frame{Header: frame.Header{Length: ^uint32(0)}}
					}
					require.NoError(t, err)
					return f
				}
				src.data = append(append([]byte{}, before...), over...)
				f := next()
				assert.Equal(t, "before", string(f.Payload))
				f = next()
				require.True(t, f.Oversized)
				assert.Equal(t, uint32(big), f.Header.Length)
				assert.Empty(t, f.Payload)
				if fr.f == frame.Default {
					assert.Equal(t, frame.Header{Length: big, Kind: 9, Flags: 0x0100, Stream: 77, Type: 42}, f.Header)
				}
				// Drain the oversized body: nothing comes up, memory stays at one slab.
				for len(src.data) > 0 {
					f := next()
					require.Equal(t, ^uint32(0), f.Header.Length, "no frame inside the skipped body")
				}
				if r.Buffered() == 0 {
					assert.False(t, framehook.ReaderPartial(r), "skip finished")
				}
				src.data = append(src.data, after...)
				src.eof = true
				f = next()
				assert.False(t, f.Oversized)
				assert.Equal(t, "after", string(f.Payload))
				_, err = r.Next()
				require.ErrorIs(t, err, io.EOF)
				assert.Equal(t, uint64(3), r.Stats().Frames)
				assert.Equal(t, uint64(len(before)+len(over)+len(after)), r.Stats().Bytes)
				require.NoError(t, r.Close())
				assert.Zero(t, p.Stats().SlabsInUse)
			})
		}
	}
}

// TestSkipPartialAndSlab: while the body of a skipped frame is missing the
// Reader reports Partial and holds a slab (socket's frame timer runs on
// both), and a frame retained from the slab is not overwritten.
func TestSkipPartialAndSlab(t *testing.T) {
	p := pool.NewSlabPool(pool.Options{MinSlabSize: 256})
	first := encode(t, frame.Default, [][]byte{[]byte("keep me")}, 0)
	hdr := frame.AppendHeader(nil, frame.Header{Length: 10000, Stream: 5})
	src := &dripReader{chunk: 1 << 20, data: append(append(first, hdr...), make([]byte, 100)...)}
	r := frame.NewReader(src, frame.ReaderOptions{MaxFrameSize: 1000, SlabSize: 512, Pool: p, SkipOversized: true})
	defer r.Close()
	kept, err := r.Next()
	require.NoError(t, err)
	kept.Retain()
	f, err := r.Next()
	require.NoError(t, err)
	require.True(t, f.Oversized)
	assert.False(t, framehook.ReaderPartial(r), "false after Next returned a frame")
	_, err = r.Next()
	require.ErrorIs(t, err, errAgain)
	assert.True(t, framehook.ReaderPartial(r), "the skipped body is still arriving")
	assert.True(t, framehook.ReaderHoldsSlab(r), "a slab is held while skipping")
	src.data = bytes.Repeat([]byte{0xee}, 9900-100)
	_, err = r.Next()
	require.ErrorIs(t, err, errAgain)
	assert.Equal(t, "keep me", string(kept.Payload), "a retained frame's slab is not read over")
	kept.Release()
	src.data = bytes.Repeat([]byte{0xee}, 100)
	_, err = r.Next()
	require.ErrorIs(t, err, errAgain)
	assert.False(t, framehook.ReaderPartial(r))
	assert.False(t, framehook.ReaderHoldsSlab(r), "skip done, nothing buffered: no slab")
	assert.Equal(t, int64(0), p.Stats().SlabsInUse)
}

// TestSkipBadInputs: the inputs skip mode still refuses, each with its
// typed error and every slab back.
func TestSkipBadInputs(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  frame.ReaderOptions
		wire  []byte
		want  error
		match string
	}{
		{"over the skip limit", frame.ReaderOptions{MaxFrameSize: 100, SkipOversized: true, MaxSkipSize: 1000},
			frame.AppendHeader(nil, frame.Header{Length: 1001}), frame.ErrFrameTooLarge, "skip limit 1000"},
		{"over the default skip limit", frame.ReaderOptions{MaxFrameSize: 100, SkipOversized: true},
			frame.AppendHeader(nil, frame.Header{Length: frame.DefaultMaxSkipSize + 1}), frame.ErrFrameTooLarge, "skip limit"},
		{"varint over the skip limit", frame.ReaderOptions{Framing: frame.Varint, MaxFrameSize: 100, SkipOversized: true, MaxSkipSize: 1000},
			[]byte{0xff, 0xff, 0xff, 0x7f}, frame.ErrFrameTooLarge, "skip limit"},
		{"varint of 11 bytes", frame.ReaderOptions{Framing: frame.Varint, MaxFrameSize: 100, SkipOversized: true},
			bytes.Repeat([]byte{0xff}, 11), frame.ErrFrameTooLarge, ""},
		{"stream ends mid-skip", frame.ReaderOptions{MaxFrameSize: 100, SkipOversized: true},
			append(frame.AppendHeader(nil, frame.Header{Length: 5000}), make([]byte, 300)...), frame.ErrTruncated, "4700 bytes of a skipped"},
		{"stream ends in a varint", frame.ReaderOptions{Framing: frame.Varint, MaxFrameSize: 100, SkipOversized: true},
			[]byte{0xff, 0xff}, frame.ErrTruncated, ""},
		{"reserved flags on an oversized header", frame.ReaderOptions{MaxFrameSize: 100, SkipOversized: true},
			badFlags(frame.AppendHeader(nil, frame.Header{Length: 5000})), frame.ErrMalformed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := pool.NewSlabPool(pool.Options{MinSlabSize: 256})
			tc.opts.Pool, tc.opts.SlabSize = p, 512
			r := frame.NewReader(bytes.NewReader(tc.wire), tc.opts)
			var err error
			for err == nil {
				_, err = r.Next()
			}
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), tc.match)
			var fe *frame.Error
			require.ErrorAs(t, err, &fe)
			assert.Zero(t, p.Stats().SlabsInUse, "a failed stream holds nothing")
			_, again := r.Next()
			assert.Equal(t, err, again, "sticky")
		})
	}
}

func badFlags(h []byte) []byte {
	h[6] |= 0x02
	return h
}

func TestSkipOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  frame.ReaderOptions
		field string
	}{
		{"limit without skip", frame.ReaderOptions{MaxSkipSize: 1 << 30}, "MaxSkipSize"},
		{"limit below the maximum", frame.ReaderOptions{SkipOversized: true, MaxFrameSize: 1000, MaxSkipSize: 999}, "MaxSkipSize"},
		{"limit below the default maximum", frame.ReaderOptions{SkipOversized: true, MaxSkipSize: 1000}, "MaxSkipSize"},
		{"limit over the hard maximum", frame.ReaderOptions{SkipOversized: true, MaxSkipSize: frame.HardMaxFrameSize + 1}, "MaxSkipSize"},
		{"negative limit", frame.ReaderOptions{SkipOversized: true, MaxSkipSize: -1}, "MaxSkipSize"},
		{"lines", frame.ReaderOptions{SkipOversized: true, Framing: frame.Lines}, "SkipOversized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.opts.Validate()
			require.ErrorIs(t, err, frame.ErrInvalidOptions)
			var oe *frame.OptionError
			require.ErrorAs(t, err, &oe)
			assert.Equal(t, tc.field, oe.Field)
			assert.Panics(t, func() { frame.NewReader(bytes.NewReader(nil), tc.opts) })
		})
	}
	for _, ok := range []frame.ReaderOptions{
		{SkipOversized: true},
		{SkipOversized: true, MaxSkipSize: frame.DefaultMaxFrameSize},
		{SkipOversized: true, Framing: frame.Varint, MaxSkipSize: frame.HardMaxFrameSize},
		{SkipOversized: true, Framing: frame.Fixed32, MaxFrameSize: frame.HardMaxFrameSize},
	} {
		require.NoError(t, ok.Validate())
	}
}

// TestSkipOffByDefault: without SkipOversized an oversized frame fails the
// stream as it always did.
func TestSkipOffByDefault(t *testing.T) {
	r := frame.NewReader(bytes.NewReader(frame.AppendHeader(nil, frame.Header{Length: 101})), frame.ReaderOptions{MaxFrameSize: 100})
	_, err := r.Next()
	require.ErrorIs(t, err, frame.ErrFrameTooLarge)
	assert.Contains(t, err.Error(), "exceeds maximum 100")
}
