package codec

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/protosocket-go/protosocket/flyweight"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCompactRecordsRejected: a record whose header sets bit 15 of its
// fixed length (the compact records docs/wire-flyweight.md designs for a
// later layout version) is flyweight.ErrLayout from generated readers, as
// a message and as a group element, never read as a layout-2 record.
func TestCompactRecordsRejected(t *testing.T) {
	// SmallStruct in the designed compact form: header, fixed block, u16
	// end offsets of name and phone, then their bytes.
	var w flyweight.Builder
	std, err := WrapSmallStruct(build(&w, nil))
	require.NoError(t, err)
	c := binary.LittleEndian.AppendUint16(nil, 21|0x8000)
	c = binary.LittleEndian.AppendUint16(c, 2)
	c = append(c, std.Bytes()[4:25]...)
	end := len(c) + 4 + len(name)
	c = binary.LittleEndian.AppendUint16(c, uint16(end))
	c = binary.LittleEndian.AppendUint16(c, uint16(end+len(phone)))
	c = append(append(c, name...), phone...)
	assert.Len(t, c, 56, "the compact SmallStruct's size")
	_, err = WrapSmallStruct(c)
	assert.ErrorIs(t, err, flyweight.ErrLayout)

	msg := buildCar(&w, nil)
	m, err := WrapCar(msg)
	require.NoError(t, err)
	el := m.FuelFigures().At(1).Bytes()
	at := bytes.Index(msg, el)
	require.Positive(t, at)
	for name, off := range map[string]int{"message": 0, "group element": at} {
		b := bytes.Clone(msg)
		b[off+1] |= 0x80
		_, err := WrapCar(b)
		assert.ErrorIs(t, err, flyweight.ErrLayout, name)
	}
}
