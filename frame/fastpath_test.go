package frame_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
)

// FuzzAppendFrame checks the default framing's fast append (no CRC, valid
// flags) against the field-by-field encoding, AppendFramed against
// AppendFrame, and reading back with NextInto against Next: the same
// bytes, the same frames, the same errors. Seeded from the encoder's
// cases: plain, CRC, reserved flag bits, upper-layer flags, empty payload.
func FuzzAppendFrame(f *testing.F) {
	f.Add(uint8(0), uint16(0), uint32(1), uint32(2), []byte("sixteen bytes..."), uint8(0))
	f.Add(uint8(3), frame.FlagCRC, uint32(7), uint32(0), []byte("crc"), uint8(5))
	f.Add(uint8(1), uint16(0x0002), uint32(0), uint32(0), []byte{}, uint8(17))
	f.Add(uint8(255), uint16(0xff00), ^uint32(0), ^uint32(0), bytes.Repeat([]byte{0xaa}, 300), uint8(255))
	f.Fuzz(func(t *testing.T, kind uint8, flags uint16, stream, typ uint32, payload []byte, room uint8) {
		h := frame.Header{Length: 12345, Kind: kind, Flags: flags, Stream: stream, Type: typ, CRC: 99}
		prefix := []byte("prefix")
		dst := make([]byte, len(prefix), len(prefix)+int(room)) // room: sometimes enough, sometimes not
		copy(dst, prefix)
		got, err := frame.AppendFrame(dst, h, payload)
		framed, ferr := frame.AppendFramed(append([]byte(nil), prefix...), frame.Default, h, payload)
		if flags&frame.FlagsReserved != 0 {
			require.ErrorIs(t, err, frame.ErrMalformed)
			require.ErrorIs(t, ferr, frame.ErrMalformed)
			require.Equal(t, prefix, got, "dst unchanged")
			return
		}
		require.NoError(t, err)
		require.NoError(t, ferr)
		want := h
		want.Length = uint32(len(payload))
		want.CRC = 0
		if flags&frame.FlagCRC != 0 {
			want.CRC = frame.Checksum(payload)
		}
		exp := append(frame.AppendHeader(append([]byte(nil), prefix...), want), payload...)
		require.Equal(t, exp, got)
		require.Equal(t, exp, framed)

		// Twice the frame, read with Next and with NextInto.
		stream2 := append(append([]byte(nil), got[len(prefix):]...), got[len(prefix):]...)
		a := frame.NewReader(bytes.NewReader(stream2), frame.ReaderOptions{})
		b := frame.NewReader(bytes.NewReader(stream2), frame.ReaderOptions{})
		defer a.Close()
		defer b.Close()
		for range 3 {
			fa, erra := a.Next()
			fb := frame.Frame{Oversized: true, Payload: []byte("stale")}
			errb := b.NextInto(&fb)
			if erra != nil {
				require.ErrorIs(t, erra, io.EOF)
				require.True(t, errors.Is(errb, io.EOF), "NextInto: %v", errb)
				require.True(t, fb.Oversized, "*f untouched on error")
				break
			}
			require.NoError(t, errb)
			require.Equal(t, want, fa.Header)
			require.Equal(t, fa.Header, fb.Header)
			require.False(t, fb.Oversized)
			require.Equal(t, payload, fa.Payload)
			require.Equal(t, fa.Payload, fb.Payload)
		}
	})
}
