package people

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/protosocket-go/protosocket/flyweight"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileCorpus returns valid encodings to mutate: the samples plus a
// Person with many kids.
func hostileCorpus(t *testing.T) [][]byte {
	var out [][]byte
	many := samplePerson()
	for i := 0; i < 20; i++ {
		many.Kids = append(many.Kids, samplePersonKids())
	}
	for _, v := range []PersonValue{{}, samplePerson(), many} {
		b, err := v.AppendTo(nil)
		require.NoError(t, err)
		out = append(out, b)
	}
	return out
}

// mutate derives one hostile input from a valid encoding.
func mutate(r *rand.Rand, valid []byte) []byte {
	b := append([]byte(nil), valid...)
	switch r.IntN(6) {
	case 0: // flip 1-4 random bytes
		for n := 1 + r.IntN(4); n > 0 && len(b) > 0; n-- {
			b[r.IntN(len(b))] ^= byte(1 + r.IntN(255))
		}
	case 1: // truncate
		b = b[:r.IntN(len(b)+1)]
	case 2: // garbage of a similar length
		b = make([]byte, r.IntN(len(valid)+16))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
	case 3: // a random 4-byte window (lengths, offsets, counts) set huge
		if len(b) >= 4 {
			huge := []uint32{0xffffffff, 0x7fffffff, 0x80000000, uint32(len(b)), uint32(len(b) + 1), 1 << 20}
			binary.LittleEndian.PutUint32(b[r.IntN(len(b)-3):], huge[r.IntN(len(huge))])
		}
	case 4: // a random 2-byte window (fixed length, slot count) set huge
		if len(b) >= 2 {
			binary.LittleEndian.PutUint16(b[r.IntN(len(b)-1):], uint16(0xffff-r.IntN(4)))
		}
	case 5: // append garbage after a valid message
		for n := r.IntN(16); n > 0; n-- {
			b = append(b, byte(r.Uint32()))
		}
	}
	return b
}

// TestHostileInput feeds 120,000 mutated valid encodings to Wrap and, when
// Wrap accepts one, to every accessor, iterator, Validate, String and
// ToValue. A panic fails the test; the counts are checked, not assumed.
func TestHostileInput(t *testing.T) {
	const n = 120_000
	corpus := hostileCorpus(t)
	r := rand.New(rand.NewPCG(1, 2))
	fed, accepted, rejected := 0, 0, 0
	for i := 0; i < n; i++ {
		b := mutate(r, corpus[i%len(corpus)])
		fed++
		m, err := WrapPersonLimits(b, flyweight.Limits{MaxElements: 64})
		if err != nil {
			var fe *flyweight.Error
			require.ErrorAs(t, err, &fe, "input %d", i)
			rejected++
			continue
		}
		accepted++
		visitPerson(m)
		v := m.ToValue()
		if _, err := v.AppendTo(nil); err != nil {
			t.Fatalf("input %d: accepted message does not re-encode: %v", i, err)
		}
	}
	assert.Equal(t, n, fed)
	assert.Equal(t, n, accepted+rejected)
	assert.NotZero(t, accepted, "some mutations (e.g. fixed-block flips) stay valid")
	assert.NotZero(t, rejected)
	t.Logf("fed %d mutated inputs: %d accepted and fully read, %d rejected with *flyweight.Error", fed, accepted, rejected)
}

// TestHostileStackedMutations applies 2 to 6 mutations on top of each
// other (100,000 inputs) and, when Wrap accepts the result, reads
// everything and also reads every element through At with indexes out of
// range; then it changes the accepted buffer after Wrap (a reused buffer)
// and reads again: stale or zero values, never a panic.
func TestHostileStackedMutations(t *testing.T) {
	const n = 100_000
	corpus := hostileCorpus(t)
	r := rand.New(rand.NewPCG(3, 4))
	accepted, rejected := 0, 0
	for i := 0; i < n; i++ {
		b := corpus[i%len(corpus)]
		for k := 2 + r.IntN(5); k > 0; k-- {
			b = mutate(r, b)
		}
		m, err := WrapPersonLimits(b, flyweight.Limits{MaxElements: 64})
		if err != nil {
			var fe *flyweight.Error
			require.ErrorAs(t, err, &fe, "input %d", i)
			rejected++
			continue
		}
		accepted++
		visitPerson(m)
		kids := m.Kids()
		for j := -1; j <= kids.Len(); j++ {
			visitPersonKids(kids.At(j))
		}
		// The buffer is reused after Wrap: scribble over it and read again.
		for k := 0; k < 8 && len(b) > 0; k++ {
			b[r.IntN(len(b))] = byte(r.Uint32())
		}
		visitPerson(m)
		_ = m.ToValue()
	}
	assert.Equal(t, n, accepted+rejected)
	assert.NotZero(t, accepted)
	assert.NotZero(t, rejected)
	t.Logf("%d stacked-mutation inputs: %d accepted, fully read and read again after scribbling, %d rejected", n, accepted, rejected)
}

// TestLimitsApplied shows that the element limit changes behaviour.
func TestLimitsApplied(t *testing.T) {
	v := samplePerson()
	v.Kids = make([]PersonKidsValue, 10)
	b, err := v.AppendTo(nil)
	require.NoError(t, err)
	// 10 kids, each sample has 2 pets; kids' toys are empty here.
	_, err = WrapPerson(b)
	require.NoError(t, err)
	_, err = WrapPersonLimits(b, flyweight.Limits{MaxElements: 11})
	assert.ErrorIs(t, err, flyweight.ErrTooManyElements)
	_, err = WrapPersonLimits(b, flyweight.Limits{MaxElements: 12})
	assert.NoError(t, err)
	_, err = WrapPersonLimits(b, flyweight.Limits{MaxDepth: 1})
	assert.NoError(t, err)
	one := samplePerson() // kids have toys at depth 2
	b, err = one.AppendTo(nil)
	require.NoError(t, err)
	_, err = WrapPersonLimits(b, flyweight.Limits{MaxDepth: 1})
	assert.ErrorIs(t, err, flyweight.ErrTooDeep)
}

func TestValidateRejectsBadValues(t *testing.T) {
	v := samplePerson()
	b, err := v.AppendTo(nil)
	require.NoError(t, err)
	m, err := WrapPerson(b)
	require.NoError(t, err)
	require.NoError(t, m.Validate())
	tests := []struct {
		name  string
		patch func(b []byte)
		want  error
	}{
		// Fixed offsets: spouse 12, color 21, perms 24 (see people_codec.go).
		{"bool 2", func(b []byte) { b[m.fixedOffset(12)] = 2 }, flyweight.ErrInvalidBool},
		{"bad utf8", func(b []byte) { b[m.slotOffset(0)] = 0xff }, flyweight.ErrInvalidUTF8},
		// height (uint16 at fixed offset 121) has range 30..300.
		{"below range", func(b []byte) { binary.LittleEndian.PutUint16(b[m.fixedOffset(121):], 29) }, flyweight.ErrOutOfRange},
		{"above range", func(b []byte) { binary.LittleEndian.PutUint16(b[m.fixedOffset(121):], 301) }, flyweight.ErrOutOfRange},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := append([]byte(nil), b...)
			tc.patch(c)
			m, err := WrapPerson(c)
			require.NoError(t, err, "Wrap checks structure only")
			assert.ErrorIs(t, m.Validate(), tc.want)
		})
	}
}

// A newer writer may use enum values and bits this schema does not define:
// Validate accepts them and UnknownValue names the field.
func TestValidateAcceptsUnknownValues(t *testing.T) {
	v := samplePerson()
	b, err := v.AppendTo(nil)
	require.NoError(t, err)
	m, err := WrapPerson(b)
	require.NoError(t, err)
	_, ok := m.UnknownValue()
	require.False(t, ok)
	tests := []struct {
		name  string
		patch func(b []byte)
		field string
	}{
		// Fixed offsets: color 21, perms 24 (see people_codec.go).
		{"unknown enum", func(b []byte) { b[m.fixedOffset(21)] = 99 }, "Person.color"},
		{"unknown bits", func(b []byte) { b[m.fixedOffset(24)] = 0x04 }, "Person.perms"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := append([]byte(nil), b...)
			tc.patch(c)
			m, err := WrapPerson(c)
			require.NoError(t, err)
			assert.NoError(t, m.Validate())
			field, ok := m.UnknownValue()
			assert.True(t, ok)
			assert.Equal(t, tc.field, field)
		})
	}
}
