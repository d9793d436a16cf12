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
