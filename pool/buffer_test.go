package pool_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/protosocket-go/protosocket/pool"
)

func TestBufferGetPut(t *testing.T) {
	tests := []struct {
		name string
		size int
	}{
		{"small", 100},
		{"medium", 64 << 10},
		{"at cap", pool.MaxBufferSize},
		{"oversized", pool.MaxBufferSize + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := pool.GetBuffer()
			assert.Empty(t, b.B)
			b.B = append(b.B, make([]byte, tt.size)...)
			pool.PutBuffer(b)
			b2 := pool.GetBuffer()
			assert.Empty(t, b2.B, "buffers come back reset")
			assert.LessOrEqual(t, cap(b2.B), pool.MaxBufferSize, "oversized buffers are never pooled")
			pool.PutBuffer(b2)
		})
	}
	pool.PutBuffer(nil)
}
