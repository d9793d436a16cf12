package sched

// This is the only file of package sched that uses unsafe.

import "unsafe"

// StackAddr returns the address of p, a local variable of the caller, as
// a number that is only ever compared: it changes when the runtime moves
// the goroutine's stack (to grow or shrink it), which is how a reader
// tells that its stack grew (see move.go). p does not escape.
func StackAddr(p *byte) uintptr { return uintptr(unsafe.Pointer(p)) }
