package flyweight

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestScalarRoundTrip(t *testing.T) {
	b := make([]byte, 16)
	require.True(t, PutUint16(b, 1, 0xBEEF))
	v16, ok := Uint16At(b, 1)
	require.True(t, ok)
	assert.Equal(t, uint16(0xBEEF), v16)
	assert.Equal(t, []byte{0xEF, 0xBE}, b[1:3], "little-endian")

	require.True(t, PutInt64(b, 8, -5))
	i64, ok := Int64At(b, 8)
	require.True(t, ok)
	assert.Equal(t, int64(-5), i64)

	require.True(t, PutFloat32(b, 0, 1.5))
	f32, _ := Float32At(b, 0)
	assert.Equal(t, float32(1.5), f32)
	require.True(t, PutFloat64(b, 8, math.Pi))
	f64, _ := Float64At(b, 8)
	assert.Equal(t, math.Pi, f64)
	require.True(t, PutBool(b, 4, true))
	bv, _ := BoolAt(b, 4)
	assert.True(t, bv)
	i8, _ := Int8At(append([]byte(nil), 0xff), 0)
	assert.Equal(t, int8(-1), i8)
	i16, _ := Int16At(AppendInt16(nil, -2), 0)
	assert.Equal(t, int16(-2), i16)
	i32, _ := Int32At(AppendInt32(nil, -3), 0)
	assert.Equal(t, int32(-3), i32)
	u32, _ := Uint32At(AppendUint32(nil, 7), 0)
	assert.Equal(t, uint32(7), u32)
	u64, _ := Uint64At(AppendUint64(nil, 9), 0)
	assert.Equal(t, uint64(9), u64)
	af, _ := Float64At(AppendFloat64(nil, 2.5), 0)
	assert.Equal(t, 2.5, af)
	af32, _ := Float32At(AppendFloat32(nil, 2.5), 0)
	assert.Equal(t, float32(2.5), af32)
	ab, _ := BoolAt(AppendBool(nil, true), 0)
	assert.True(t, ab)
	assert.Equal(t, []byte{5}, AppendUint8(nil, 5))
	assert.Equal(t, []byte{0xfe}, AppendInt8(nil, -2))
	assert.Equal(t, 8, len(AppendInt64(nil, 1)))
}

func TestScalarOutOfRange(t *testing.T) {
	b := make([]byte, 8)
	tests := []struct {
		name string
		off  int
	}{
		{"negative", -1},
		{"past end", 8},
		{"straddles end", 5},
		{"huge", math.MaxInt},
		{"min int", math.MinInt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ok := Uint32At(b, tc.off)
			assert.False(t, ok)
			_, ok = Uint64At(b, tc.off)
			assert.False(t, ok)
			assert.False(t, PutUint32(b, tc.off, 1))
			assert.False(t, PutUint64(b, tc.off, 1))
			_, ok = Float64At(b, tc.off)
			assert.False(t, ok)
		})
	}
	_, ok := Uint8At(b, 8)
	assert.False(t, ok)
	assert.False(t, PutUint8(b, 8, 1))
	v, ok := Uint64At(b, 0)
	assert.True(t, ok)
	assert.Zero(t, v, "failed puts wrote nothing")
}

func TestStringViewAndCopy(t *testing.T) {
	b := []byte("hello")
	view := StringView(b)
	cp := String(b)
	b[0] = 'j'
	assert.Equal(t, "jello", view, "a view aliases the buffer")
	assert.Equal(t, "hello", cp, "a copy does not")
	assert.Equal(t, "", StringView(nil))
}

func TestSpan(t *testing.T) {
	b := []byte("abcdef")
	tests := []struct {
		name   string
		off, n int
		want   string
		wantOK bool
	}{
		{"inside", 1, 3, "bcd", true},
		{"to end", 4, 2, "ef", true},
		{"empty at end", 6, 0, "", true},
		{"past end", 4, 3, "", false},
		{"negative off", -1, 1, "", false},
		{"negative n", 1, -1, "", false},
		{"overflowing", 2, math.MaxInt, "", false},
		{"huge off", math.MaxInt, 1, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := Span(b, tc.off, tc.n)
			assert.Equal(t, tc.wantOK, ok)
			assert.Equal(t, tc.want, string(s))
			assert.Equal(t, len(s), cap(s))
		})
	}
}
