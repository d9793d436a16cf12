package socket

import (
	"context"
	"testing"

	"github.com/protosocket-go/protosocket/frame"
)

// BenchmarkSendSmall measures Sender.Send of a 16-byte payload alone, the
// per-message path of a stream message: the benchmark holds the write
// token, so no writer runs, and takes the queued batches itself every 256
// messages (as a writer takes a lane), so nearly every Send folds into the
// batch at the tail of its lane.
func BenchmarkSendSmall(b *testing.B) {
	c := testConn(b, true)
	s := c.NewSender(nil)
	defer s.Close()
	if !c.wt.take(tokenWriter) {
		b.Fatal("write token held")
	}
	defer c.wt.release(tokenWriter)
	payload := make([]byte, 16)
	ctx := context.Background()
	var batch []item
	drain := func() {
		q := c.q.Load()
		batch, _ = q.rx.TryRecvBatch(batch[:0])
		c.queued.Add(-int64(len(batch)))
		for i := range batch {
			putBatchBuf(batch[i].buf)
			batch[i] = item{}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%256 == 255 {
			drain()
		}
		if err := s.Send(ctx, frame.Header{Stream: uint32(i)}, payload); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	drain()
}
