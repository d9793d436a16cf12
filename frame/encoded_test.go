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

// TestAppendFramedMatchesWriter: AppendFramed encodes byte for byte what
// Writer.WriteFrame writes, in every framing, and WriteEncoded passes such
// bytes through between ordinary frames.
func TestAppendFramedMatchesWriter(t *testing.T) {
	ps := payloads(20, 0, 1, 17, 300)
	for _, fr := range framings {
		t.Run(fr.name, func(t *testing.T) {
			want := encode(t, fr.f, ps, 0)
			var got []byte
			for i, p := range ps {
				var err error
				got, err = frame.AppendFramed(got, fr.f, frame.Header{Stream: uint32(i), Type: uint32(i * 3)}, p)
				require.NoError(t, err)
			}
			assert.Equal(t, want, got)

			// Frames 0-9 through WriteFrame, 10-19 pre-encoded: the same stream.
			half := len(encode(t, fr.f, ps[:10], 0))
			var buf bytes.Buffer
			w := frame.NewWriter(&buf, frame.WriterOptions{Framing: fr.f})
			for i, p := range ps[:10] {
				require.NoError(t, w.WriteFrame(frame.Header{Stream: uint32(i), Type: uint32(i * 3)}, p))
			}
			require.NoError(t, w.WriteEncoded(got[half:], 10))
			assert.Equal(t, 20, w.BufferedFrames())
			assert.Equal(t, len(want), w.Buffered())
			require.NoError(t, w.Flush())
			assert.Equal(t, want, buf.Bytes())
			r := frame.NewReader(&buf, frame.ReaderOptions{Framing: fr.f})
			back, _, err := readAll(r)
			require.ErrorIs(t, err, io.EOF)
			assert.Equal(t, ps, back)
		})
	}
}

func TestAppendFramedErrorsLeaveDst(t *testing.T) {
	dst := []byte("keep")
	out, err := frame.AppendFramed(dst, frame.Lines, frame.Header{}, []byte("a\nb"))
	assert.ErrorIs(t, err, frame.ErrLineBreak)
	assert.Equal(t, "keep", string(out))
	out, err = frame.AppendFramed(dst, frame.Default, frame.Header{Flags: 0x2}, nil)
	assert.ErrorIs(t, err, frame.ErrMalformed)
	assert.Equal(t, "keep", string(out))
}

// TestWriteEncodedReferencesAboveThreshold: like a payload, a pre-encoded
// run above CopyThreshold is referenced (writev), at or below it copied.
func TestWriteEncodedReferencesAboveThreshold(t *testing.T) {
	for _, tt := range []struct {
		name       string
		size       int
		referenced bool
	}{{"copied", 64, false}, {"referenced", 4096, true}} {
		t.Run(tt.name, func(t *testing.T) {
			client, server := tcpPair(t)
			got := readFrames(client, frame.ReaderOptions{}, 1, false)
			w := frame.NewWriter(server, frame.WriterOptions{CopyThreshold: 1024})
			b, err := frame.AppendFrame(nil, frame.Header{}, bytes.Repeat([]byte{'a'}, tt.size))
			require.NoError(t, err)
			require.NoError(t, w.WriteEncoded(b, 1))
			b[len(b)-1] = 'b'
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
			assert.Equal(t, want, ps[0][tt.size-1])
		})
	}
}
