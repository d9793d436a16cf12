package socket

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// getBatchBuf's buffer has room for need bytes in every class, the large
// class's pooled buffers included (they hold batchBufSize; a larger need,
// a SendBatch's large first payload, comes from pool's large buffers).
func TestGetBatchBufRoom(t *testing.T) {
	for _, need := range []int{0, 1, smallBatchBufSize, smallBatchBufSize + 1, batchBufSize, batchBufSize + 1, 20 << 10, 300 << 10, 1 << 20, 1<<20 + 1, 5 << 20} {
		for range 10 { // sync.Pool may drop what was put (always possible under -race): try a few times
			putBatchBuf(getBatchBuf(batchBufSize)) // a pooled large buffer of the class's smallest size
			b := getBatchBuf(need)
			require.Zero(t, len(b.B), "need %d", need)
			require.GreaterOrEqual(t, cap(b.B), need, "need %d", need)
			putBatchBuf(b)
		}
	}
}
