package frame

import "sync/atomic"

// DefaultBudgetBytes is the limit of the process-wide budget that Readers
// share when ReaderOptions.Budget is nil: 1 GiB of slabs held for partial
// frames beyond SlabSize, about 200 frames of the default 4 MiB maximum
// being received at once.
const DefaultBudgetBytes = 1 << 30

// Budget bounds the memory that the partial frames of many Readers hold
// together: a server (or a whole process) shares one, so that many
// connections each sending part of a large frame cannot add up to more
// than Limit. A Reader charges a slab to its budget when a partial frame
// grows past ReaderOptions.SlabSize (the first slab of every connection is
// not charged: it is bounded by the number of connections) and gives it
// back when it lets go of the slab (the frame was read and dispatched, or
// the stream failed or was closed). A growth the budget cannot cover fails
// the Reader with ErrBudget.
//
// Give a Budget a limit of at least one slab of the largest frame
// (MaxFrameSize plus its header, rounded up to the pool's size class, 5 MiB
// for the default 4 MiB), or that frame can never be read. A Budget is safe
// for concurrent use.
type Budget struct {
	limit   int64
	used    atomic.Int64
	refused atomic.Uint64
}

// NewBudget returns a Budget of limit bytes; a limit of zero or less
// means no limit (the Budget only counts).
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

var defaultBudget = NewBudget(DefaultBudgetBytes)

// DefaultBudget returns the process-wide Budget that Readers use when
// ReaderOptions.Budget is nil.
func DefaultBudget() *Budget { return defaultBudget }

// Limit returns the limit given to NewBudget.
func (b *Budget) Limit() int64 { return b.limit }

// Used returns the bytes charged now.
func (b *Budget) Used() int64 { return b.used.Load() }

// Refused returns how many growths the budget refused (each failed a
// Reader with ErrBudget).
func (b *Budget) Refused() uint64 { return b.refused.Load() }

// take charges n bytes, or returns false (charging nothing) when that
// would exceed the limit.
func (b *Budget) take(n int64) bool {
	if u := b.used.Add(n); b.limit > 0 && u > b.limit {
		b.used.Add(-n)
		b.refused.Add(1)
		return false
	}
	return true
}

// give returns n charged bytes.
func (b *Budget) give(n int64) { b.used.Add(-n) }
