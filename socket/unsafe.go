package socket

// This is the only file of package socket that uses unsafe.

import "unsafe"

// stackAddr returns the address of p, a local variable of the caller, as
// a number that is only ever compared: it changes when the runtime moves
// the goroutine's stack (to grow or shrink it). p does not escape.
func stackAddr(p *byte) uintptr { return uintptr(unsafe.Pointer(p)) }
