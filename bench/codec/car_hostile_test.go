package codec

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/protosocket-go/protosocket/flyweight"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mutateCar derives a hostile input from b: flipped bytes, a cut, a 4- or
// 2-byte window set to a huge or boundary value (lengths, offsets, counts,
// element offsets), or appended garbage.
func mutateCar(r *rand.Rand, b []byte) []byte {
	b = append([]byte(nil), b...)
	switch r.IntN(5) {
	case 0:
		for n := 1 + r.IntN(4); n > 0 && len(b) > 0; n-- {
			b[r.IntN(len(b))] ^= byte(1 + r.IntN(255))
		}
	case 1:
		b = b[:r.IntN(len(b)+1)]
	case 2:
		if len(b) >= 4 {
			vals := []uint32{0, 1, 4, 8, 0xffffffff, 0x7fffffff, uint32(len(b)), uint32(len(b) + 1)}
			binary.LittleEndian.PutUint32(b[r.IntN(len(b)-3):], vals[r.IntN(len(vals))])
		}
	case 3:
		if len(b) >= 2 {
			binary.LittleEndian.PutUint16(b[r.IntN(len(b)-1):], uint16(0xffff-r.IntN(4)))
		}
	case 4:
		for n := r.IntN(16); n > 0; n-- {
			b = append(b, byte(r.Uint32()))
		}
	}
	return b
}

// TestCarHostile feeds 100,000 single and 100,000 stacked (2-6) mutations
// of the Car example to Wrap; accepted inputs go through Validate,
// UnknownValue, every accessor, At out of range, String and ToValue, and
// are re-encoded. A panic fails the test.
func TestCarHostile(t *testing.T) {
	var w flyweight.Builder
	valid := append([]byte(nil), buildCar(&w, nil)...)
	r := rand.New(rand.NewPCG(5, 6))
	for _, stacked := range []bool{false, true} {
		accepted, rejected := 0, 0
		for i := 0; i < 100_000; i++ {
			b := mutateCar(r, valid)
			if stacked {
				for k := 1 + r.IntN(5); k > 0; k-- {
					b = mutateCar(r, b)
				}
			}
			m, err := WrapCar(b)
			if err != nil {
				var fe *flyweight.Error
				require.ErrorAs(t, err, &fe)
				rejected++
				continue
			}
			accepted++
			_ = m.Validate()
			_, _ = m.UnknownValue()
			sink += readCar(m) + len(m.String())
			pf := m.PerformanceFigures()
			sink += pf.At(-1).Acceleration().Len() + pf.At(pf.Len()).Acceleration().Len()
			v := m.ToValue()
			if _, err := v.AppendTo(nil); err != nil {
				t.Fatalf("accepted message does not re-encode: %v", err)
			}
		}
		assert.NotZero(t, accepted)
		assert.NotZero(t, rejected)
		t.Logf("stacked=%v: 100000 inputs, %d accepted and fully read, %d rejected with *flyweight.Error", stacked, accepted, rejected)
	}
}
