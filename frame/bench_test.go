package frame_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/internal/framehook"
)

var benchSizes = []int{16, 256, 64 << 10}

func BenchmarkReader(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			n := max(1, (256<<10)/size)
			var wire []byte
			for range n {
				wire, _ = frame.AppendFrame(wire, frame.Header{}, make([]byte, size))
			}
			r := frame.NewReader(&loopReader{data: wire}, frame.ReaderOptions{SlabSize: 64 << 10})
			defer r.Close()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := r.Next(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

func BenchmarkWriter(b *testing.B) {
	for _, size := range benchSizes {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			batch := max(1, min(64, (512<<10)/size))
			payload := make([]byte, size)
			w := frame.NewWriter(discard{}, frame.WriterOptions{})
			b.SetBytes(int64(size))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := w.WriteFrame(frame.Header{}, payload); err != nil {
					b.Fatal(err)
				}
				if i++; i%batch == 0 {
					if err := w.Flush(); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// drained returns the writing end of a loopback TCP connection whose other
// end is read and discarded until the benchmark ends.
func drained(b *testing.B) net.Conn {
	client, server := tcpPair(b)
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = io.Copy(io.Discard, client) })
	b.Cleanup(func() { server.Close(); wg.Wait() })
	return server
}

// BenchmarkTCPWrite compares one writev per batch of 256 frames with one
// Flush (one write syscall) per frame, for 16-byte payloads over loopback.
func BenchmarkTCPWrite(b *testing.B) {
	for _, mode := range []struct {
		name  string
		batch int
	}{{"writev-batch256", 256}, {"write-per-frame", 1}} {
		b.Run(mode.name, func(b *testing.B) {
			w := frame.NewWriter(drained(b), frame.WriterOptions{})
			payload := make([]byte, 16)
			b.SetBytes(16)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := w.WriteFrame(frame.Header{}, payload); err != nil {
					b.Fatal(err)
				}
				if i++; i%mode.batch == 0 {
					if err := w.Flush(); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(w.Stats().Syscalls)/float64(b.N), "syscalls/frame")
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// BenchmarkCopyVsRef measures where referencing a payload as its own iovec
// beats copying it into the contiguous chunk (DefaultCopyThreshold).
// Batches of 16 frames over loopback TCP.
func BenchmarkCopyVsRef(b *testing.B) {
	for _, size := range []int{1 << 10, 4 << 10, 8 << 10, 16 << 10, 32 << 10, 64 << 10, 256 << 10} {
		for _, mode := range []struct {
			name      string
			threshold int
		}{{"copy", -1}, {"ref", 1}} {
			b.Run(fmt.Sprintf("size=%dKiB/mode=%s", size>>10, mode.name), func(b *testing.B) {
				w := frame.NewWriter(drained(b), frame.WriterOptions{CopyThreshold: mode.threshold})
				payload := make([]byte, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if err := w.WriteFrame(frame.Header{}, payload); err != nil {
						b.Fatal(err)
					}
					if i++; i%16 == 0 {
						if err := w.Flush(); err != nil {
							b.Fatal(err)
						}
					}
				}
				if err := w.Flush(); err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}

// BenchmarkWriterFlushEach is the per-Flush overhead: one 16-byte frame
// per Flush to a destination without a file descriptor.
func BenchmarkWriterFlushEach(b *testing.B) {
	w := frame.NewWriter(discard{}, frame.WriterOptions{})
	payload := make([]byte, 16)
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteFrame(frame.Header{}, payload); err != nil {
			b.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendFrame: one 16-byte frame appended to a buffer with room
// (how Conn.Reply and Sender.Send frame small messages).
func BenchmarkAppendFrame(b *testing.B) {
	payload := make([]byte, 16)
	buf := make([]byte, 0, 64<<10)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if len(buf) > 60<<10 {
			buf = buf[:0]
		}
		var err error
		buf, err = frame.AppendFrame(buf, frame.Header{Stream: uint32(i)}, payload)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLargeFrame reads frames of 1 MiB and 4 MiB arriving 256 KiB per
// read (a loopback socket's typical read), with the partial-frame growth
// factor at 2, 4 (the default) and 8: the cost of the moves while a large
// frame grows against the memory a peer may hold per byte it sent (see
// partialGrowth and docs/memory.md). Large slabs come from the pool's
// large classes, so steady state allocates nothing.
func BenchmarkLargeFrame(b *testing.B) {
	for _, size := range []int{1 << 20, 4 << 20} {
		for _, g := range []int{2, 4, 8} {
			b.Run(fmt.Sprintf("%dKiB/growth=%d", size>>10, g), func(b *testing.B) {
				defer frame.SetPartialGrowth(g)()
				wire, _ := frame.AppendFrame(nil, frame.Header{}, make([]byte, size))
				r := frame.NewReader(&loopReader{data: wire, chunk: 256 << 10}, frame.ReaderOptions{})
				defer r.Close()
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := r.Next(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

var hookSink bool

// BenchmarkReaderHook measures what moving HoldsSlab into
// internal/framehook costs socket per call (once per frame dispatched,
// once per wait): the hook (an indirect call) against Buffered, a method
// of the same shape that inlines.
func BenchmarkReaderHook(b *testing.B) {
	r := frame.NewReader(bytes.NewReader(nil), frame.ReaderOptions{})
	b.Run("method", func(b *testing.B) {
		for b.Loop() {
			hookSink = r.Buffered() != 0
		}
	})
	b.Run("hook", func(b *testing.B) {
		for b.Loop() {
			hookSink = framehook.ReaderHoldsSlab(r)
		}
	})
}
