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
