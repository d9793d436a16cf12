package flyweight

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildSample writes a record with an 8-byte fixed block, a string slot
// and a group slot holding n elements (each with a 2-byte fixed block and
// one string slot).
func buildSample(t testing.TB, buf []byte, n int) []byte {
	var b Builder
	b.Reset(buf)
	w := b.BeginRecord(8, 2)
	w.PutUint64(0, 42)
	w.SetString(0, "name")
	g := w.BeginGroup(1)
	for i := 0; i < n; i++ {
		e := g.Add(2, 1)
		e.PutUint16(0, uint16(i))
		e.SetString(0, "kid")
	}
	g.End()
	out, err := w.Finish()
	require.NoError(t, err)
	return out
}

var sampleNames = []string{"name", "kids"}

func validateSample(b []byte, lim Limits) (Record, error) {
	v := NewValidator(lim)
	r, err := v.Record(b, "Sample", sampleNames, 0, 0)
	if err != nil {
		return Record{}, err
	}
	it, err := v.Group(r, "Sample", "kids", 1)
	if err != nil {
		return Record{}, err
	}
	for {
		_, ok, err := v.Element(&it, "Sample.kids", []string{"name"}, 1)
		if err != nil {
			return Record{}, err
		}
		if !ok {
			break
		}
	}
	return r, v.EndGroup(it, "Sample", "kids")
}

func TestRecordRoundTrip(t *testing.T) {
	b := buildSample(t, nil, 3)
	r, err := validateSample(b, Limits{})
	require.NoError(t, err)
	v, ok := Uint64At(r.Fixed(), 0)
	require.True(t, ok)
	assert.Equal(t, uint64(42), v)
	assert.Equal(t, "name", StringView(r.Var(0)))
	assert.True(t, r.HasVar(0))
	assert.False(t, r.HasVar(5), "slots beyond the writer's table are absent")
	assert.Nil(t, r.Var(5))
	it := r.Group(1)
	assert.Equal(t, 3, it.Len())
	i := 0
	for e, ok := it.Next(); ok; e, ok = it.Next() {
		k, _ := Uint16At(e.Fixed(), 0)
		assert.Equal(t, uint16(i), k)
		assert.Equal(t, "kid", string(e.Var(0)))
		i++
	}
	assert.Equal(t, 3, i)
}

func TestRecordValidationErrors(t *testing.T) {
	good := buildSample(t, nil, 2)
	// The first slot entry sits at 4 (header) + 8 (fixed).
	const slot0 = 12
	mut := func(f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), good...))
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrShortBuffer},
		{"header only", good[:3], ErrShortBuffer},
		{"slot table cut", good[:slot0+4], ErrShortBuffer},
		{"fixed len huge", mut(func(b []byte) []byte { binary.LittleEndian.PutUint16(b, 0xffff); return b }), ErrShortBuffer},
		{"offset into header", mut(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[slot0:], 2); return b }), ErrBadOffset},
		{"absent slot with length", mut(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[slot0:], 0); return b }), ErrBadOffset},
		{"length past end", mut(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[slot0+4:], 0xffffffff); return b }), ErrBadLength},
		{"overlap", mut(func(b []byte) []byte {
			off := binary.LittleEndian.Uint32(b[slot0:])
			binary.LittleEndian.PutUint32(b[slot0+8:], off)
			return b
		}), ErrOverlap},
		{"group count huge", mut(func(b []byte) []byte {
			off := binary.LittleEndian.Uint32(b[slot0+8:])
			binary.LittleEndian.PutUint32(b[off:], 0xffffffff)
			return b
		}), ErrBadLength},
		{"group trailing", mut(func(b []byte) []byte {
			off := binary.LittleEndian.Uint32(b[slot0+8:])
			binary.LittleEndian.PutUint32(b[off:], 1)
			return b
		}), ErrTrailingData},
		{"element length huge", mut(func(b []byte) []byte {
			off := binary.LittleEndian.Uint32(b[slot0+8:])
			binary.LittleEndian.PutUint32(b[off+4:], 0xfffffff0)
			return b
		}), ErrBadLength},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := validateSample(tc.in, Limits{})
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
			var fe *Error
			require.True(t, errors.As(err, &fe))
			assert.Contains(t, fe.Error(), "flyweight: ")
			assert.Contains(t, fe.Error(), "Sample")
		})
	}
}

func TestLimitsApplied(t *testing.T) {
	b := buildSample(t, nil, 10)
	_, err := validateSample(b, Limits{})
	require.NoError(t, err)
	_, err = validateSample(b, Limits{MaxElements: 9})
	assert.ErrorIs(t, err, ErrTooManyElements)
	_, err = validateSample(b, Limits{MaxElements: 10})
	assert.NoError(t, err)

	v := NewValidator(Limits{MaxDepth: 1})
	_, err = v.Record(b, "Sample", sampleNames, 2, 0)
	assert.ErrorIs(t, err, ErrTooDeep)
	_, err = v.Record(b, "Sample", sampleNames, 1, 0)
	assert.NoError(t, err)
}

func TestLimitsValidate(t *testing.T) {
	assert.NoError(t, Limits{}.Validate())
	assert.ErrorIs(t, Limits{MaxDepth: -1}.Validate(), ErrBadLimits)
	assert.ErrorIs(t, Limits{MaxElements: -1}.Validate(), ErrBadLimits)
	d := Limits{}.withDefaults()
	assert.Equal(t, DefaultMaxDepth, d.MaxDepth)
	assert.Equal(t, DefaultMaxElements, d.MaxElements)
}

func TestZeroRecordIsEmpty(t *testing.T) {
	var r Record
	_, ok := Uint32At(r.Fixed(), 0)
	assert.False(t, ok)
	assert.Nil(t, r.Var(0))
	it := r.Group(0)
	_, ok = it.Next()
	assert.False(t, ok)
}

func TestNewGroupIter(t *testing.T) {
	// Two empty elements: count 2, then (len 4, header 0/0) twice.
	good := []byte{2, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0}
	tests := []struct {
		name string
		d    []byte
		want int // elements yielded
	}{
		{"two elements", good, 2},
		{"short header", []byte{1, 0}, 0},
		{"count beyond data", []byte{9, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0}, 1},
		{"element length beyond data", []byte{1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			it := NewGroupIter(tc.d, 100)
			n := 0
			for {
				r, ok := it.Next()
				if !ok {
					break
				}
				assert.Equal(t, 100+groupHeaderLen+n*8+elemHeaderLen, r.Offset())
				n++
			}
			assert.Equal(t, tc.want, n)
		})
	}
}
