package frame

import "unsafe"

// SetPartialGrowth sets partialGrowth for a benchmark and returns a func
// that restores it.
func SetPartialGrowth(g int) (restore func()) {
	old := partialGrowth
	partialGrowth = g
	return func() { partialGrowth = old }
}

// SizeofReader is unsafe.Sizeof(Reader{}).
const SizeofReader = unsafe.Sizeof(Reader{})

// SplitOversized is splitOversized, for the fuzz target's reference.
func SplitOversized(f Framing, b []byte, skipMax int) (Split, error) {
	return splitOversized(f, b, skipMax)
}
