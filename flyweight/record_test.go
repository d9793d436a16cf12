package flyweight

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// buildSample writes a record with an 8-byte fixed block, a string slot
// and a group slot holding n elements (each with a 2-byte fixed block and
// one string slot).
func buildSample(t testing.TB, buf []byte, n int) []byte {
	var b Builder
	return buildSampleWith(t, &b, buf, n)
}

var (
	sampleLayout = &Layout{Name: "Sample", FixedLen: 8, Slots: []string{"name", "kids"}}
	kidLayout    = &Layout{Name: "Sample.kids", FixedLen: 2, Slots: []string{"name"}}
)

// buildSampleWith is buildSample with a Builder to reuse.
func buildSampleWith(t testing.TB, b *Builder, buf []byte, n int) []byte {
	b.Reset(buf)
	w := b.BeginRecord(sampleLayout)
	w.PutUint64(0, 42)
	w.SetString(0, "name")
	g := w.BeginGroup(1, kidLayout)
	for i := 0; i < n; i++ {
		e := g.Add()
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
	d := r.Var(1)
	n, err := v.Group(d, "Sample", "kids", r.VarOffset(1), 1)
	if err != nil {
		return Record{}, err
	}
	for i := 0; i < n; i++ {
		if _, err := v.Element(d, n, i, "Sample.kids", []string{"name"}, 1, r.VarOffset(1)); err != nil {
			return Record{}, err
		}
	}
	return r, nil
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
	g := r.Group(1)
	require.Equal(t, 3, g.Len())
	for i := 0; i < g.Len(); i++ {
		e := g.At(i)
		k, _ := Uint16At(e.Fixed(), 0)
		assert.Equal(t, uint16(i), k)
		assert.Equal(t, "kid", string(e.Var(0)))
	}
	assert.Equal(t, Record{}, g.At(3), "out of range")
	assert.Equal(t, Record{}, g.At(-1), "out of range")
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
		{"fixed len huge (compact)", mut(func(b []byte) []byte { binary.LittleEndian.PutUint16(b, 0xffff); return b }), ErrShortBuffer},
		{"fixed len past end", mut(func(b []byte) []byte { binary.LittleEndian.PutUint16(b, 0x7fff); return b }), ErrShortBuffer},
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
		{"group count one less", mut(func(b []byte) []byte {
			off := binary.LittleEndian.Uint32(b[slot0+8:])
			binary.LittleEndian.PutUint32(b[off:], 1)
			return b
		}), ErrBadOffset},
		{"first element offset not 4", mut(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[len(b)-8:], 5)
			return b
		}), ErrBadOffset},
		{"element offsets backwards", mut(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[len(b)-4:], 2)
			return b
		}), ErrBadOffset},
		{"last element past the table", mut(func(b []byte) []byte {
			binary.LittleEndian.PutUint32(b[len(b)-4:], 0xfffffff0)
			return b
		}), ErrBadLength},
		{"element slot past its end", mut(func(b []byte) []byte {
			// the second element's string slot: its length reaches into the table
			off := int(binary.LittleEndian.Uint32(b[slot0+8:]))
			e := off + int(binary.LittleEndian.Uint32(b[len(b)-4:]))
			binary.LittleEndian.PutUint32(b[e+4+2+4:], 100)
			return b
		}), ErrBadLength},
		{"empty group with trailing bytes", func() []byte {
			var bb Builder
			w := bb.BeginRecord(&Layout{Name: "Sample", FixedLen: 8, Slots: []string{"name", "kids"}})
			w.SetString(0, "n")
			w.BeginVar(1)
			w.AppendUint32(0)
			w.AppendUint32(7)
			w.EndVar(1)
			out, err := w.Finish()
			require.NoError(t, err)
			return out
		}(), ErrTrailingData},
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
	r, err := v.Record(b, "Sample", sampleNames, 0, 0)
	require.NoError(t, err)
	_, err = v.Group(r.Var(1), "Sample", "kids", 0, 2)
	assert.ErrorIs(t, err, ErrTooDeep)
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
	g := r.Group(0)
	assert.Equal(t, 0, g.Len())
	assert.Equal(t, Record{}, g.At(0))
}

// NewGroup and Element never panic and never reach outside the group,
// whatever the bytes: malformed offsets give empty elements.
func TestNewGroupAndElement(t *testing.T) {
	// Two empty elements: count 2, two record headers, offsets 4 and 8.
	good := []byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 8, 0, 0, 0}
	tests := []struct {
		name string
		d    []byte
		n    int // Len
		ok   int // elements with a record
	}{
		{"two elements", good, 2, 2},
		{"short header", []byte{1, 0}, 0, 0},
		{"count beyond data", []byte{9, 0, 0, 0, 4, 0, 0, 0}, 0, 0},
		{"offset beyond table", []byte{1, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, 1, 0},
		{"offsets backwards", []byte{2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 4, 0, 0, 0}, 2, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGroup(tc.d, 100)
			require.Equal(t, tc.n, g.Len())
			ok := 0
			for i := -1; i <= g.Len(); i++ {
				if r := g.At(i); r.Bytes() != nil {
					assert.GreaterOrEqual(t, r.Offset(), 100+groupHeaderLen)
					ok++
				}
			}
			assert.Equal(t, tc.ok, ok)
		})
	}
}

// compactRecord encodes a compact record (docs/wire-flyweight.md): header
// u16 fixedLen|0x8000, u16 slotCount, the fixed block, one u16 end offset
// per slot, the data.
func compactRecord(fixed []byte, vars ...string) []byte {
	b := binary.LittleEndian.AppendUint16(nil, uint16(len(fixed))|0x8000)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(vars)))
	b = append(b, fixed...)
	end := len(b) + 2*len(vars)
	for _, v := range vars {
		end += len(v)
		b = binary.LittleEndian.AppendUint16(b, uint16(end))
	}
	for _, v := range vars {
		b = append(b, v...)
	}
	return b
}

// TestCompactRecord: a compact record reads like the standard one (an
// empty slot is absent), at the top level and as a group element, and
// every malformed slot table is a typed error naming the slot.
func TestCompactRecord(t *testing.T) {
	b := compactRecord([]byte{7, 0}, "hi", "", "there")
	r, err := WrapRecord(b, "M", []string{"a", "b", "c"})
	require.NoError(t, err)
	assert.True(t, r.Compact())
	assert.Equal(t, 3, r.Slots())
	assert.Equal(t, []byte{7, 0}, r.Fixed())
	assert.Equal(t, "hi", string(r.Var(0)))
	assert.Nil(t, r.Var(1))
	assert.False(t, r.HasVar(1))
	assert.True(t, r.HasVar(2))
	assert.Equal(t, "there", string(r.Var(2)))
	assert.Nil(t, r.Var(3))
	assert.Equal(t, 12, r.VarOffset(0))

	bad := func(f func(b []byte)) []byte {
		c := compactRecord([]byte{7, 0}, "hi", "", "there")
		f(c)
		return c
	}
	for name, tc := range map[string]struct {
		b    []byte
		want error
		slot string
	}{
		"end before data":   {bad(func(b []byte) { binary.LittleEndian.PutUint16(b[6:], 5) }), ErrBadOffset, "a"},
		"ends decreasing":   {bad(func(b []byte) { binary.LittleEndian.PutUint16(b[8:], 12) }), ErrOverlap, "b"},
		"end past the end":  {bad(func(b []byte) { binary.LittleEndian.PutUint16(b[10:], 200) }), ErrBadLength, "c"},
		"slot table cut":    {b[:9], ErrShortBuffer, "header"},
		"fixed block 32767": {binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(nil, 0xffff), 0), ErrShortBuffer, "header"},
	} {
		_, err := WrapRecord(tc.b, "M", []string{"a", "b", "c"})
		require.ErrorIs(t, err, tc.want, name)
		var fe *Error
		require.ErrorAs(t, err, &fe, name)
		assert.Equal(t, tc.slot, fe.Field, name)
		v := NewValidator(Limits{})
		_, err = v.Record(tc.b, "M", []string{"a", "b", "c"}, 0, 0)
		assert.ErrorIs(t, err, tc.want, name)
	}

	// As a group element.
	el := compactRecord(nil, "x")
	g := binary.LittleEndian.AppendUint32(nil, 1)
	g = append(g, el...)
	g = binary.LittleEndian.AppendUint32(g, 4)
	v := NewValidator(Limits{})
	n, err := v.Group(g, "M", "g", 0, 1)
	require.NoError(t, err)
	e, err := v.Element(g, n, 0, "M.g", nil, 1, 0)
	require.NoError(t, err)
	assert.Equal(t, "x", string(e.Var(0)))
	assert.Equal(t, "x", string(NewGroup(g, 0).At(0).Var(0)))

	// CompactSlot never panics on a malformed table.
	for _, tc := range [][]int{{-1, 1, 0}, {0, 1, 5}, {40, 1, 0}, {0, 100, 99}, {0, math.MaxInt/2 + 1, 0}} {
		d, _ := CompactSlot(b, tc[0], tc[1], tc[2])
		assert.Nil(t, d, "%v", tc)
	}
}

// TestBuilderFixedLenLimit: a layout whose fixed block would set the
// reserved bit is ErrTooLarge, not a record with a corrupt header.
func TestBuilderFixedLenLimit(t *testing.T) {
	var b Builder
	_, err := b.BeginRecord(&Layout{Name: "M", FixedLen: 0x8000}).Finish()
	assert.ErrorIs(t, err, ErrTooLarge)
	b.Reset(nil)
	out, err := b.BeginRecord(NewLayout("M", 0x7fff, nil)).Finish()
	require.NoError(t, err)
	_, err = WrapRecord(out, "M", nil)
	require.NoError(t, err)
}
