package frame_test

import (
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

func TestAppendFrameWireBytes(t *testing.T) {
	tests := []struct {
		name    string
		h       frame.Header
		payload string
		wire    string
	}{
		{
			name:    "data frame without CRC",
			h:       frame.Header{Stream: 7, Type: 42},
			payload: "hello",
			wire:    "05000000 01 00 0000 07000000 2a000000 68656c6c6f",
		},
		{
			name:    "CRC32C present",
			h:       frame.Header{Kind: 64, Flags: frame.FlagCRC | 0x0100, Stream: 0x01020304, Type: 0xa1b2c3d4},
			payload: "hello",
			wire:    "05000000 01 40 0101 04030201 d4c3b2a1 4cbb719a 68656c6c6f",
		},
		{
			name: "empty payload",
			h:    frame.Header{Kind: 1},
			wire: "00000000 01 01 0000 00000000 00000000",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := frame.AppendFrame([]byte("prefix"), tt.h, []byte(tt.payload))
			require.NoError(t, err)
			want := append([]byte("prefix"), unhex(t, tt.wire)...)
			assert.Equal(t, hex.EncodeToString(want), hex.EncodeToString(got))

			h, err := frame.ParseHeader(got[len("prefix"):])
			require.NoError(t, err)
			assert.Equal(t, uint32(len(tt.payload)), h.Length)
			assert.Equal(t, tt.h.Kind, h.Kind)
			assert.Equal(t, tt.h.Flags, h.Flags)
			assert.Equal(t, tt.h.Stream, h.Stream)
			assert.Equal(t, tt.h.Type, h.Type)
			if h.Flags&frame.FlagCRC != 0 {
				assert.Equal(t, frame.Checksum([]byte(tt.payload)), h.CRC)
			}
			assert.Equal(t, h, mustParse(t, frame.AppendHeader(nil, h)), "AppendHeader round-trips")
		})
	}
}

func mustParse(t testing.TB, b []byte) frame.Header {
	t.Helper()
	h, err := frame.ParseHeader(b)
	require.NoError(t, err)
	return h
}

func TestParseHeaderErrors(t *testing.T) {
	good := frame.AppendHeader(nil, frame.Header{Length: 3, Flags: frame.FlagCRC})
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, frame.ErrTruncated},
		{"15 bytes", good[:15], frame.ErrTruncated},
		{"CRC flagged, CRC missing", good[:18], frame.ErrTruncated},
		{"version 0", patch(good, 4, 0), frame.ErrMalformed},
		{"version 2", patch(good, 4, 2), frame.ErrMalformed},
		{"reserved flag bit 1", patch(good, 6, 0x03), frame.ErrMalformed},
		{"reserved flag bit 7", patch(good, 6, 0x81), frame.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := frame.ParseHeader(tt.in)
			require.ErrorIs(t, err, tt.want)
			assert.True(t, strings.HasPrefix(err.Error(), "frame: "), err.Error())
			var fe *frame.Error
			assert.True(t, errors.As(err, &fe))
		})
	}
	_, err := frame.ParseHeader(good[:3])
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "ErrTruncated matches io.ErrUnexpectedEOF")
	// Upper flag bits are carried untouched.
	h := mustParse(t, patch(good, 7, 0xff))
	assert.Equal(t, uint16(0xff01), h.Flags)
}

func patch(b []byte, i int, v byte) []byte {
	c := append([]byte(nil), b...)
	c[i] = v
	return c
}

func TestAppendFrameErrors(t *testing.T) {
	_, err := frame.AppendFrame(nil, frame.Header{Flags: 0x0002}, nil)
	require.ErrorIs(t, err, frame.ErrMalformed)
	dst := []byte("keep")
	out, err := frame.AppendFrame(dst, frame.Header{Flags: 0x0080}, []byte("x"))
	require.Error(t, err)
	assert.Equal(t, "keep", string(out))
}
