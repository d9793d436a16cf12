package varint_test

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/internal/varint"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

func TestParseLength(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		max  uint64
		v    uint64
		n    int
		r    varint.Result
	}{
		{"empty", nil, 100, 0, 0, varint.NeedMore},
		{"zero", []byte{0}, 100, 0, 1, varint.Complete},
		{"one byte", []byte{100, 9}, 100, 100, 1, varint.Complete},
		{"two bytes", binary.AppendUvarint(nil, 300), 1000, 300, 2, varint.Complete},
		{"cut", []byte{0x80}, 1000, 0, 0, varint.NeedMore},
		{"over max, first byte", []byte{101}, 100, 101, 0, varint.TooLarge},
		{"over max before the end", []byte{0xff, 0xff}, 1000, 0x3fff, 0, varint.TooLarge},
		{"max uint64", binary.AppendUvarint(nil, ^uint64(0)), ^uint64(0), ^uint64(0), 10, varint.Complete},
		{"overflow", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02}, ^uint64(0), 0, 0, varint.Overflow},
		{"eleven bytes", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x81, 0}, ^uint64(0), 0, 0, varint.Overflow},
	} {
		v, n, r := varint.ParseLength(tc.b, tc.max)
		assert.Equal(t, tc.r, r, tc.name)
		assert.Equal(t, tc.n, n, tc.name)
		assert.Equal(t, tc.v, v, tc.name)
	}
}

// FuzzParseLength: it agrees with binary.Uvarint wherever that one reads a
// value, seeded from the encoder.
func FuzzParseLength(f *testing.F) {
	for _, v := range []uint64{0, 1, 127, 128, 300, 1 << 21, 1<<32 - 1, ^uint64(0)} {
		f.Add(binary.AppendUvarint(nil, v))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, n, r := varint.ParseLength(b, ^uint64(0))
		want, wn := binary.Uvarint(b)
		switch {
		case wn > 0:
			assert.Equal(t, varint.Complete, r)
			assert.Equal(t, want, v)
			assert.Equal(t, wn, n)
		case wn == 0 && len(b) >= binary.MaxVarintLen64:
			// binary.Uvarint wants an 11th byte; the 10th already
			// overflows (it has the continuation bit), as ParseLength says.
			assert.Equal(t, varint.Overflow, r)
		case wn == 0:
			assert.Equal(t, varint.NeedMore, r)
		default:
			assert.Equal(t, varint.Overflow, r)
		}
	})
}
