package socket

import (
	"testing"

	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/pool"

	"github.com/stretchr/testify/require"
)

// getBatchBuf's buffer has room for need bytes in every class, the large
// class's pooled buffers included (they start at batchBufSize; a need
// between that and maxBatchBufKept is a SendBatch's large first payload).
func TestGetBatchBufRoom(t *testing.T) {
	for _, need := range []int{0, 1, smallBatchBufSize, smallBatchBufSize + 1, batchBufSize, batchBufSize + 1, 20 << 10, 300 << 10, maxBatchBufKept, maxBatchBufKept + 1, 5 << 20} {
		for range 10 { // sync.Pool may drop what was put (always possible under -race): try a few times
			putBatchBuf(getBatchBuf(batchBufSize)) // a pooled large buffer of the class's smallest size
			b := getBatchBuf(need)
			require.Zero(t, len(b.B), "need %d", need)
			require.GreaterOrEqual(t, cap(b.B), need, "need %d", need)
			putBatchBuf(b)
		}
	}
}

// TestGrownBatchBufReused: a batch buffer that grew past its class (a
// reply batch or a SendBatch of many frames grows by append up to
// WriteBatchBytes) is reused by the next batch, not made and grown again
// (a version that sent every buffer of 32 KiB and more to pool's large
// buffers lost it: 11 allocations per cycle).
func TestGrownBatchBufReused(t *testing.T) {
	testenv.SkipIfRace(t)
	if pool.Debug {
		t.Skip("psdebug never reuses buffers")
	}
	chunk := make([]byte, 8<<10)
	cycle := func() {
		b := getBatchBuf(batchBufSize)
		for len(b.B) < 200<<10 {
			b.B = append(b.B, chunk...)
		}
		putBatchBuf(b)
	}
	cycle()
	require.LessOrEqual(t, testing.AllocsPerRun(50, cycle), 0.5)
}
