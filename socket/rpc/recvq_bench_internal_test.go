package rpc

import (
	"fmt"
	"testing"
)

// BenchmarkRecvQueuePushPop pushes and pops one message at a time
// through a server stream's receive queue with a budget (recvq.go), at
// one size per path: inline, calibrating-pool buffer, large class.
func BenchmarkRecvQueuePushPop(b *testing.B) {
	for _, size := range []int{16, 2 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			rb := &recvBudget{limit: 64 << 20}
			var q recvQueue
			q.init(64)
			q.rb = rb
			msg := make([]byte, size)
			dst := make([]byte, 0, size)
			b.ReportAllocs()
			for b.Loop() {
				if q.push(msg, 64) != admitOK {
					b.Fatal("refused")
				}
				q.mu.Lock()
				dst = q.popLocked(dst[:0])
				q.mu.Unlock()
			}
		})
	}
}
