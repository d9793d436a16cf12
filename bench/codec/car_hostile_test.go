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

// TestSmallStructHostile feeds 100,000 single and 100,000 stacked (2-6)
// mutations of SmallStruct in the compact record form (layout 3) to Wrap:
// rejections are *flyweight.Error, Wrap agrees with the runtime's generic
// record check, and accepted inputs are fully read, validated, dumped and
// re-encoded to a message that re-encodes to the same bytes. A panic fails the test.
func TestSmallStructHostile(t *testing.T) {
	var w flyweight.Builder
	valid := append([]byte(nil), build(&w, nil)...)
	require.NotZero(t, valid[1]&0x80, "the compact form")
	r := rand.New(rand.NewPCG(7, 8))
	for _, stacked := range []bool{false, true} {
		accepted, rejected, compact := 0, 0, 0
		for i := 0; i < 100_000; i++ {
			b := mutateCar(r, valid)
			if stacked {
				for k := 1 + r.IntN(5); k > 0; k-- {
					b = mutateCar(r, b)
				}
			}
			m, err := WrapSmallStruct(b)
			_, gerr := flyweight.WrapRecord(b, "SmallStruct", nil)
			require.Equal(t, err == nil, gerr == nil, "Wrap and the generic check disagree on %x: %v, %v", b, err, gerr)
			if err != nil {
				var fe *flyweight.Error
				require.ErrorAs(t, err, &fe)
				rejected++
				continue
			}
			accepted++
			if b[1]&0x80 != 0 {
				compact++
			}
			_ = m.Validate()
			sink += readAll(m) + len(m.String())
			v := m.ToValue()
			out, err := v.AppendTo(nil)
			require.NoError(t, err)
			m2, err := WrapSmallStruct(out)
			require.NoError(t, err)
			v2 := m2.ToValue()
			out2, err := v2.AppendTo(nil)
			require.NoError(t, err)
			require.Equal(t, out, out2, "re-encoding is not stable (bit for bit: NaN != NaN)")
		}
		assert.NotZero(t, accepted)
		assert.NotZero(t, rejected)
		assert.NotZero(t, compact)
		t.Logf("stacked=%v: 100000 inputs, %d accepted (%d compact) and fully read, %d rejected with *flyweight.Error", stacked, accepted, compact, rejected)
	}
}
