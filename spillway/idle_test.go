package spillway

import (
	"context"
	"runtime"
	"testing"

	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// idleItem has the size of socket's queue item: 64 bytes with pointers.
type idleItem struct {
	_    [24]byte // header
	_, _ *byte    // payload, sender
	_    any      // encoder
	n    int
}

// heapAfterGC returns HeapAlloc once repeated collections have run every
// cleanup and freed what they released.
func heapAfterGC() uint64 {
	var ms runtime.MemStats
	for range 4 {
		runtime.GC()
	}
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// TestIdleQueueRetainedBytes measures what an idle queue keeps on the heap,
// the way socket.Conn uses it: the root Sender and the Receiver stay alive
// for the life of the connection, a cloned Sender sends one value, the
// writer takes it with TryRecvBatch, and the clone is closed (or, in the
// second case, stays open but idle). The bounds are the measured figures
// plus a small margin, so a regression fails.
func TestIdleQueueRetainedBytes(t *testing.T) {
	testenv.SkipIfRace(t)
	const queues = 1000
	opts := Options[idleItem]{
		Lanes:        8,
		LaneCapacity: 1024,
		MaxWeight:    4 << 20,
		Weight:       func(idleItem) int64 { return 64 },
	}
	tests := []struct {
		name        string
		closeSender bool
		maxBytes    uint64 // per queue
	}{
		{"sender closed", true, 448}, // 1456 before lanes were freed and the pads, spare and wake channel went
		{"sender open", false, 672},  // 1560 before
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			roots := make([]*Sender[idleItem], 0, queues)
			rxs := make([]*Receiver[idleItem], 0, queues)
			clones := make([]*Sender[idleItem], 0, queues)
			dst := make([]idleItem, 0, 16) // the writer's buffer, not the queue's
			before := heapAfterGC()
			for range queues {
				root, rx := New(opts)
				s := root.Clone()
				require.NoError(t, s.Send(ctx, idleItem{n: 1}))
				var err error
				dst, err = rx.TryRecvBatch(dst[:0])
				require.NoError(t, err)
				require.Len(t, dst, 1)
				dst, err = rx.TryRecvBatch(dst[:0]) // the writer looks again before it flushes
				require.NoError(t, err)
				require.Empty(t, dst)
				if tt.closeSender {
					s.Close()
				} else {
					clones = append(clones, s)
				}
				roots = append(roots, root)
				rxs = append(rxs, rx)
			}
			after := heapAfterGC()
			per := (int64(after) - int64(before)) / queues
			t.Logf("%s: %d bytes retained per idle queue (%d queues)", tt.name, per, queues)
			assert.LessOrEqual(t, per, int64(tt.maxBytes), "retained bytes per idle queue")

			// The queues still work after idling.
			for i, rx := range rxs {
				s := roots[i]
				if !tt.closeSender {
					s = clones[i]
				}
				require.NoError(t, s.Send(ctx, idleItem{n: 2}))
				got, err := rx.TryRecvBatch(dst[:0])
				require.NoError(t, err)
				require.Len(t, got, 1)
				assert.Equal(t, 2, got[0].n)
			}
			for i := range rxs {
				roots[i].Close()
				if !tt.closeSender {
					clones[i].Close()
				}
				rxs[i].Close(nil)
			}
		})
	}
}
