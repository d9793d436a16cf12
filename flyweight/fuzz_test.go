package flyweight

import (
	"errors"
	"testing"
)

// FuzzRecord feeds arbitrary bytes to the validator and, when they pass,
// reads every slot and element: nothing may panic or read out of range,
// and the element budget holds.
func FuzzRecord(f *testing.F) {
	f.Add(buildSample(f, nil, 0))
	f.Add(buildSample(f, nil, 3))
	f.Add([]byte{})
	f.Add(compactRecord([]byte{1, 2}, "ab", "c"))
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := Limits{MaxElements: 100}
		r, err := validateSample(b, lim)
		if err != nil && !errors.As(err, new(*Error)) {
			t.Fatalf("untyped error %v", err)
		}
		if err != nil {
			return
		}
		for i := 0; i < r.Slots(); i++ {
			_ = r.Var(i)
		}
		g := r.Group(1)
		n := 0
		for i := 0; i < g.Len(); i++ {
			e := g.At(i)
			_ = e.Var(0)
			_, _ = Uint16At(e.Fixed(), 0)
			n++
		}
		if n > 100 {
			t.Fatalf("%d elements passed a limit of 100", n)
		}
	})
}
