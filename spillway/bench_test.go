package spillway

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// Every benchmark moves b.N values from the given number of sending
// goroutines to one receiving goroutine (the benchmark's own). ns/op is
// nanoseconds per message; msgs/s is the throughput. Run side by side:
//
//	go test -run '^$' -bench . -benchtime 200ms ./spillway/

var benchSenders = []int{1, 4, 16, 64}

// share splits total values over n senders.
func share(total, n, i int) int {
	per := total / n
	if i < total%n {
		per++
	}
	return per
}

// runSenders starts n goroutines running send(i, count) once the timer is
// reset, calls drain until it reports all b.N values, then stops the timer
// and reports msgs/s.
func runSenders(b *testing.B, n int, send func(i, count int), drain func(want int)) {
	b.ReportAllocs()
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		count := share(b.N, n, i)
		wg.Go(func() {
			<-start
			send(i, count)
		})
	}
	b.ResetTimer()
	close(start)
	drain(b.N)
	b.StopTimer()
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func benchSpillway(b *testing.B, n, batch int) {
	ctx := context.Background()
	tx, rx := New(Options[int]{})
	defer rx.Close(nil)
	senders := make([]*Sender[int], n)
	for i := range senders {
		senders[i] = tx.Clone()
	}
	tx.Close()
	send := func(i, count int) {
		s := senders[i]
		defer s.Close()
		if batch == 1 {
			for k := range count {
				if s.Send(ctx, k) != nil {
					panic("send failed")
				}
			}
			return
		}
		vs := make([]int, batch)
		for k := 0; k < count; k += batch {
			if s.SendBatch(ctx, vs[:min(batch, count-k)]) != nil {
				panic("send failed")
			}
		}
	}
	buf := make([]int, 0, 4096)
	drain := func(want int) {
		for got := 0; got < want; {
			var err error
			buf, err = rx.RecvBatch(ctx, buf[:0])
			if err != nil {
				panic(err)
			}
			got += len(buf)
		}
	}
	runSenders(b, n, send, drain)
}

func benchChan(b *testing.B, n, capacity int) {
	ch := make(chan int, capacity)
	send := func(_, count int) {
		for k := range count {
			ch <- k
		}
	}
	drain := func(want int) {
		for range want {
			<-ch
		}
	}
	runSenders(b, n, send, drain)
}

// BenchmarkSpillway sends one value per Send and drains with RecvBatch.
func BenchmarkSpillway(b *testing.B) {
	for _, n := range benchSenders {
		b.Run(fmt.Sprintf("senders=%d", n), func(b *testing.B) { benchSpillway(b, n, 1) })
	}
}

// BenchmarkSpillwaySendBatch sends 16 values per SendBatch.
func BenchmarkSpillwaySendBatch(b *testing.B) {
	for _, n := range benchSenders {
		b.Run(fmt.Sprintf("senders=%d", n), func(b *testing.B) { benchSpillway(b, n, 16) })
	}
}

// BenchmarkChan is the baseline: a buffered channel of capacity 1024.
func BenchmarkChan(b *testing.B) {
	for _, n := range benchSenders {
		b.Run(fmt.Sprintf("senders=%d", n), func(b *testing.B) { benchChan(b, n, 1024) })
	}
}

// BenchmarkChanUnbuffered is an unbuffered channel.
func BenchmarkChanUnbuffered(b *testing.B) {
	for _, n := range benchSenders {
		b.Run(fmt.Sprintf("senders=%d", n), func(b *testing.B) { benchChan(b, n, 0) })
	}
}
