// Package framehook is how package socket reaches the parts of package
// frame that exist only for it, so they are not frame's public API:
// presetting a pooled frame.Writer's RawConn and counters before a Reset,
// and asking a frame.Reader whether it holds a slab or is in the middle of
// a frame. Package frame sets the hooks in its init; a program that
// imports socket imports frame, so they are set before socket runs.
//
// A hook is an indirect call where Reader.HoldsSlab was an inlined field
// read: socket asks ReaderHoldsSlab once per frame dispatched and once
// per wait. frame's BenchmarkReaderHook puts it at about 1 ns more per
// call (1.7 ns against 0.6 ns, 2 shared cores), some 0.3% of a pipelined
// message's 320 ns; socketbench (TestReport, 8 alternated runs of each
// build on the same loaded machine) saw pipelined msgs/s 1.02x and RTT
// p50 1.00x the inlined method's medians, within its noise.
//
// It is internal: its only callers are frame (which sets the hooks) and
// socket.
package framehook

import (
	"errors"
	"sync/atomic"
	"syscall"

	"github.com/protosocket-go/protosocket/pool"
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
// one Reset, and makes it a connection's Writer: under psdebug it does not
// check that referenced payloads stay unchanged until Flush returns (their
// owners check them where they get them back: socket.Ref's Wait, rpc's
// Call), so a mistake is named by the owner, not by the writer goroutine.
// Set by package frame.
var PresetWriter func(w any, rc syscall.RawConn, c *WriterCounters)

// ReaderHoldsSlab reports whether r, a *frame.Reader, holds a read slab:
// it does while a partial frame, frames not yet returned, the last frame
// returned (until the next Next) or a skipped frame's bytes still to come
// are buffered. socket waits for readability (holding no slab) only when
// it does not, and arms its frame timer when it does. Set by package
// frame.
var ReaderHoldsSlab func(r any) bool

// ReaderPartial reports whether r, a *frame.Reader, is in the middle of a
// frame: Next returned an error (a deadline, a would-block from a
// non-blocking source) while bytes of an unfinished frame were buffered
// or a skipped frame's bytes were still to come. A caller that bounds the
// time to complete a started frame starts its clock when it turns true and
// stops it when Next returns a frame. It is false after Next returns a
// frame (until Next has to read again) and after a sticky error or Close.
// Set by package frame.
var ReaderPartial func(r any) bool

// ReaderStopAtPartial turns r's stop mode on or off: while on, r.Next
// returns the frames already buffered and then ErrStopAtPartial where it
// would read, without reading, moving a partial frame's bytes, or letting
// go of or rewinding its slab when nothing is buffered (socket's
// Batch.Next, which must not read, and whose views must stay where they
// are until OnBatch returns). The Reader is left intact: Next with stop
// mode off goes on where it stopped. Set by package frame.
var ReaderStopAtPartial func(r any, on bool)

// ReaderRetainSlab takes a reference on the slab r, a *frame.Reader,
// holds now and returns it (nil, taking nothing, when r holds none); the
// caller releases it. The slab holds every frame r returned since it last
// read and every frame it can return in stop mode (stop mode neither
// reads nor moves to another slab), whether or not those frames carry a
// slab themselves (a skipped oversized frame does not): socket's read
// batch holds it so that its views outlive the Reader letting go of the
// slab (a framing error met inside the batch fails the stream and
// releases it). Set by package frame.
var ReaderRetainSlab func(r any) *pool.Slab

// ErrStopAtPartial is what a frame.Reader in stop mode returns where it
// would read (see ReaderStopAtPartial).
var ErrStopAtPartial = errors.New("frame: stopped before a read (stop mode)")
