package frame

import (
	"syscall"

	"github.com/protosocket-go/protosocket/internal/framehook"
	"github.com/protosocket-go/protosocket/pool"
)

// The hooks that exist only for package socket (internal/framehook).
func init() {
	framehook.PresetWriter = func(w any, rc syscall.RawConn, c *framehook.WriterCounters) {
		fw := w.(*Writer)
		fw.presetRC, fw.presetCounters, fw.preset = rc, c, true
	}
	framehook.ReaderHoldsSlab = func(r any) bool { return r.(*Reader).slab != nil }
	framehook.ReaderPartial = func(r any) bool { return r.(*Reader).partialFrame() }
	framehook.ReaderStopAtPartial = func(r any, on bool) { r.(*Reader).stop = on }
	framehook.ReaderRetainSlab = func(r any) *pool.Slab {
		s := r.(*Reader).slab
		if s != nil {
			s.Retain()
		}
		return s
	}
}
