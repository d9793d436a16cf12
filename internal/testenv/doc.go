// Package testenv holds small helpers shared by the test suites of
// protosocket: whether the race detector is on (allocation counts are
// meaningless under -race) and the goroutine-leak check every package's
// TestMain runs.
package testenv
