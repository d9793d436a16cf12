package frame

// SetPartialGrowth sets partialGrowth for a benchmark and returns a func
// that restores it.
func SetPartialGrowth(g int) (restore func()) {
	old := partialGrowth
	partialGrowth = g
	return func() { partialGrowth = old }
}
