package pool_test

import (
	"testing"

	"github.com/protosocket-go/protosocket/pool"
)

// BenchmarkSlabGetRelease measures the cost of one Get/Retain/Release/
// Release cycle; run it with and without -tags psdebug to see what the
// debug checks cost (without the tag they are compiled out).
func BenchmarkSlabGetRelease(b *testing.B) {
	p := pool.NewSlabPool(pool.Options{})
	b.ReportAllocs()
	for b.Loop() {
		s := p.Get(32 << 10)
		s.Retain()
		_ = s.Bytes()
		s.Release()
		s.Release()
	}
}

// BenchmarkSlabGetReleaseParallel measures contention on one size class.
func BenchmarkSlabGetReleaseParallel(b *testing.B) {
	p := pool.NewSlabPool(pool.Options{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s := p.Get(32 << 10)
			_ = s.Bytes()
			s.Release()
		}
	})
}

func BenchmarkBufferGetPut(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		buf := pool.GetBuffer()
		buf.B = append(buf.B, "0123456789abcdef"...)
		pool.PutBuffer(buf)
	}
}
