package codec

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/protosocket-go/protosocket/flyweight"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSmallStructCompact: the staged builder and AppendTo write SmallStruct
// in the compact form of docs/wire-flyweight.md byte for byte (56 bytes),
// the standard form written by the runtime's generic RecordWriter reads
// the same, and a malformed compact slot table is a typed error.
func TestSmallStructCompact(t *testing.T) {
	var w flyweight.Builder
	msg := build(&w, nil)
	m0BirthDay, m0Siblings := birthDay, siblings
	want := binary.LittleEndian.AppendUint16(nil, 21|0x8000)
	want = binary.LittleEndian.AppendUint16(want, 2)
	want = binary.LittleEndian.AppendUint64(want, uint64(m0BirthDay))
	want = binary.LittleEndian.AppendUint32(want, uint32(m0Siblings))
	want = append(want, 1)
	m, err := WrapSmallStruct(msg)
	require.NoError(t, err)
	want = binary.LittleEndian.AppendUint64(want, binary.LittleEndian.Uint64(m.Bytes()[17:25]))
	end := len(want) + 4 + len(name)
	want = binary.LittleEndian.AppendUint16(want, uint16(end))
	want = binary.LittleEndian.AppendUint16(want, uint16(end+len(phone)))
	want = append(append(want, name...), phone...)
	assert.Equal(t, want, msg)
	assert.Len(t, msg, 56)

	v := m.ToValue()
	var rb flyweight.Builder
	refBuildSmallStruct(&rb, &v)
	std, err := WrapSmallStruct(rb.Bytes())
	require.NoError(t, err)
	assert.Len(t, rb.Bytes(), 68, "the standard form")
	assert.Equal(t, v, std.ToValue())

	bad := bytes.Clone(msg)
	binary.LittleEndian.PutUint16(bad[27:], 35) // phone ends before name does
	_, err = WrapSmallStruct(bad)
	assert.ErrorIs(t, err, flyweight.ErrOverlap)

	// A record too large for the compact form is written standard.
	big := SmallStructValue{Name: string(make([]byte, 40000))}
	out, err := big.AppendTo(nil)
	require.NoError(t, err)
	assert.Zero(t, out[1]&0x80)
	bm, err := WrapSmallStruct(out)
	require.NoError(t, err)
	assert.Len(t, bm.NameBytes(), 40000)
}
