package codec

import (
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The hand-written baseline: SmallStruct marshalled the way a careful
// programmer writes it by hand for one fixed schema, with no framework. The
// layout is compact: BirthDay (8 bytes), Money (8), Siblings (4), Spouse
// (1), then Name and Phone, each a u16 length and its bytes; all little
// endian. Size is computed first, so the buffer grows at most once and the
// fixed fields are stored at constant offsets.
type smallStructHand struct {
	Name     string
	BirthDay int64
	Phone    string
	Siblings int32
	Spouse   bool
	Money    float64
}

const handFixed = 8 + 8 + 4 + 1

var errHandShort = errors.New("hand: short buffer")

// handMarshal appends s to buf. Strings longer than 65535 bytes are cut
// (the baseline's format limit; the benchmark's are short).
func handMarshal(buf []byte, s *smallStructHand) []byte {
	name, phone := s.Name[:min(len(s.Name), math.MaxUint16)], s.Phone[:min(len(s.Phone), math.MaxUint16)]
	off := len(buf)
	n := handFixed + 2 + len(name) + 2 + len(phone)
	buf = slices.Grow(buf, n)[:off+n]
	b := buf[off:]
	binary.LittleEndian.PutUint64(b[0:8], uint64(s.BirthDay))
	binary.LittleEndian.PutUint64(b[8:16], math.Float64bits(s.Money))
	binary.LittleEndian.PutUint32(b[16:20], uint32(s.Siblings))
	b[20] = 0
	if s.Spouse {
		b[20] = 1
	}
	binary.LittleEndian.PutUint16(b[21:23], uint16(len(name)))
	p := 23 + copy(b[23:], name)
	binary.LittleEndian.PutUint16(b[p:p+2], uint16(len(phone)))
	copy(b[p+2:], phone)
	return buf
}

// handUnmarshal reads what handMarshal wrote (strings copied).
func handUnmarshal(b []byte, s *smallStructHand) error {
	if len(b) < handFixed+2 {
		return errHandShort
	}
	s.BirthDay = int64(binary.LittleEndian.Uint64(b[0:8]))
	s.Money = math.Float64frombits(binary.LittleEndian.Uint64(b[8:16]))
	s.Siblings = int32(binary.LittleEndian.Uint32(b[16:20]))
	s.Spouse = b[20] != 0
	n := int(binary.LittleEndian.Uint16(b[21:23]))
	if len(b) < 23+n+2 {
		return errHandShort
	}
	s.Name = string(b[23 : 23+n])
	p := 23 + n
	m := int(binary.LittleEndian.Uint16(b[p : p+2]))
	if len(b) < p+2+m {
		return errHandShort
	}
	s.Phone = string(b[p+2 : p+2+m])
	return nil
}

func handValue() *smallStructHand {
	return &smallStructHand{Name: name, BirthDay: birthDay, Phone: phone, Siblings: siblings, Spouse: spouse, Money: money}
}

func TestHandRoundTrip(t *testing.T) {
	b := handMarshal([]byte("x"), handValue())
	var got smallStructHand
	require.NoError(t, handUnmarshal(b[1:], &got))
	assert.Equal(t, *handValue(), got)
	for i := 0; i < len(b)-1; i++ {
		assert.Error(t, handUnmarshal(b[1:1+i], &got), "cut at %d", i)
	}
}
