package flyweight

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppenderError(t *testing.T) {
	names := []string{"a", "b", "c"}
	assert.NoError(t, AppenderError("M", names, 0))
	err := AppenderError("M", names, 1<<2)
	require.ErrorIs(t, err, ErrBuildOrder)
	assert.Equal(t, "c", err.(*Error).Field)
	err = AppenderError("M", names, 1<<1|1<<33|1<<2)
	require.ErrorIs(t, err, ErrSetTwice, "the first slot at fault: b, set twice")
	assert.Equal(t, "b", err.(*Error).Field)
	err = AppenderError("M", names, 1<<5)
	assert.Equal(t, "slot 5", err.(*Error).Field)
}

// TestWidenCompact: a compact record (fixedLen 1, three slots, the middle
// one unset) becomes the standard record with the same content.
func TestWidenCompact(t *testing.T) {
	// header (fixedLen 1, compact; 3 slots), fixed byte 9, ends 13, 13, 14: slot 0 "xy", slot 1 unset, slot 2 "z"
	rec := []byte{1, 0x80, 3, 0, 9, 13, 0, 13, 0, 14, 0, 'x', 'y', 'z'}
	buf := append([]byte("pre"), rec...)
	out, err := WidenCompact(buf, 3, 1, 3, 1|4, make([]uint32, 3), "M")
	require.NoError(t, err)
	std := out[3:]
	r, err := WrapRecord(std, "M", nil)
	require.NoError(t, err)
	assert.False(t, r.Compact())
	assert.Equal(t, []byte{9}, r.Fixed())
	assert.Equal(t, "xy", string(r.Var(0)))
	assert.Empty(t, r.Var(1))
	assert.Equal(t, "z", string(r.Var(2)))
	assert.Equal(t, "pre", string(out[:3]))
	// A builder's impossible record (an end before the previous one).
	bad := []byte{1, 0x80, 1, 0, 9, 2, 0}
	_, err = WidenCompact(bad, 0, 1, 1, 1, make([]uint32, 1), "M")
	assert.True(t, errors.Is(err, ErrBadOffset))
}

// TestFinishAppender: the slow path of a direct builder's Finish names the
// field at fault and the record's offset in the buffer (6: after a
// prefix), leaves the buffer as it was before the record, and widens a
// large record.
func TestFinishAppender(t *testing.T) {
	names := []string{"a", "b", "c"}
	// header (fixedLen 1, compact; 3 slots), fixed byte 9, ends 13, 13, 14
	rec := []byte{1, 0x80, 3, 0, 9, 13, 0, 13, 0, 14, 0, 'x', 'y', 'z'}
	buf := append([]byte("prefix"), rec...)
	for _, c := range []struct {
		bad   uint64
		field string
		want  error
	}{
		{1 << 1, "b", ErrBuildOrder},
		{1<<1 | 1<<33 | 1<<2 | AppenderBig, "b", ErrSetTwice},
		{1 << 2, "c", ErrBuildOrder},
	} {
		out, err := FinishAppender(buf, 6, 1, names, 1|4, c.bad, make([]uint32, 3), "M")
		var fe *Error
		require.ErrorAs(t, err, &fe)
		assert.ErrorIs(t, err, c.want)
		assert.Equal(t, Error{Message: "M", Field: c.field, Offset: 6, Err: c.want}, *fe)
		assert.Equal(t, "prefix", string(out))
		assert.Contains(t, err.Error(), "M."+c.field+" at offset 6")
	}
	out, err := FinishAppender(buf, 6, 1, names, 1|4, AppenderBig, make([]uint32, 3), "M")
	require.NoError(t, err)
	r, err := WrapRecord(out[6:], "M", nil)
	require.NoError(t, err)
	assert.False(t, r.Compact())
	assert.Equal(t, "z", string(r.Var(2)))

	// Past 4 GiB (the size given, not allocated): the last field set, or
	// the header when none is; at the record's offset.
	_, err = widenCompact(buf, 6, 1, 3, 1|2, make([]uint32, 3), "M", names, 1<<32)
	assert.Equal(t, &Error{Message: "M", Field: "b", Offset: 6, Err: ErrTooLarge}, err)
	_, err = widenCompact(buf, 6, 1, 3, 0, make([]uint32, 3), "M", names, 1<<32)
	assert.Equal(t, &Error{Message: "M", Field: "header", Offset: 6, Err: ErrTooLarge}, err)
	_, err = widenCompact(buf, 6, 1, 3, 4, make([]uint32, 3), "M", nil, 1<<32-17)
	assert.Equal(t, &Error{Message: "M", Field: "slot 2", Offset: 6, Err: ErrTooLarge}, err, "size+6n passes 4 GiB; WidenCompact's callers give no names")
	// An impossible end names its slot.
	bad := append([]byte("prefix"), 1, 0x80, 2, 0, 9, 9, 0, 2, 0)
	_, err = FinishAppender(bad, 6, 1, names[:2], 3, AppenderBig, make([]uint32, 2), "M")
	assert.Equal(t, &Error{Message: "M", Field: "b", Offset: 6, Err: ErrBadOffset}, err)
}

// TestTooLargeError: the first field whose data ends past 4 GiB, or the
// header; at the offset given.
func TestTooLargeError(t *testing.T) {
	names := []string{"a", "b", "c"}
	assert.Equal(t, &Error{Message: "M", Field: "b", Offset: 7, Err: ErrTooLarge}, TooLargeError("M", names, 7, 40, 10, 1<<32-50, 1))
	assert.Equal(t, &Error{Message: "M", Field: "c", Offset: 7, Err: ErrTooLarge}, TooLargeError("M", names, 7, 40, 10, 1<<32-51, 2))
	assert.Equal(t, &Error{Message: "M", Field: "header", Offset: 0, Err: ErrTooLarge}, TooLargeError("M", nil, 0, 40))
}
