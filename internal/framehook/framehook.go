// Package framehook is how package socket reaches the parts of package
// frame that exist only for it, so they are not frame's public API:
// presetting a pooled frame.Writer's RawConn and counters before a Reset.
// Package frame sets the hooks in its init; a program that imports socket
// imports frame, so they are set before socket runs.
//
// It is internal: its only callers are frame (which sets the hooks) and
// socket.
package framehook

import (
	"sync/atomic"
	"syscall"
)

// WriterCounters are the counts behind frame.Writer.Stats, updated
// atomically: a connection whose Writer is Reset to it from a pool keeps
// its totals in one.
type WriterCounters struct {
	Frames   atomic.Uint64 // frames written
	Bytes    atomic.Uint64 // bytes written, framing included
	Syscalls atomic.Uint64 // writev or Write calls
}

// PresetWriter makes the next Reset of w, a *frame.Writer, use rc as its
// destination's RawConn for the writev path (instead of asking the
// destination for it, which allocates on a net.Conn) and count into c
// (nil: the Writer's own counters, restarted). The preset is used by that
// one Reset. Set by package frame.
var PresetWriter func(w any, rc syscall.RawConn, c *WriterCounters)
