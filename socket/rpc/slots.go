package rpc

import (
	"math/bits"
	"sync/atomic"
)

// Slot states, in the low byte of slot.word (the call id is above it).
const (
	stIdle      = 0 // no call
	stPending   = 1 // waiting for the reader (or the closer)
	stBusy      = 2 // the reader or the closer is completing it
	stDone      = 3 // completed; done has been signalled
	stAbandoned = 4 // the caller gave up; replies are ignored
	stMeta      = 5 // the reader is writing response metadata; back to stPending after
)

// slot is one call in flight on a client. Its owner (a Caller or a client
// stream) writes the fields before it publishes stPending with word; the
// reader writes dst and err only after it wins the CAS from stPending to
// stBusy, and hands the slot back through done.
type slot struct {
	word   atomic.Uint64 // id<<8 | state
	gen    uint32        // owner only
	done   chan struct{} // capacity 1, one signal per completion
	dst    []byte
	err    error
	rmd    *ResponseMetadata            // where response metadata goes (nil: dropped)
	stream atomic.Pointer[ClientStream] // set while the slot carries a stream
	_      [16]byte                     // keep hot words of neighbours on other cache lines
}

func word(id uint32, st uint64) uint64 { return uint64(id)<<8 | st }

// slotTable is the preallocated slot array with a lock-free free list
// (a Treiber stack whose head carries an ABA tag).
type slotTable struct {
	slots   []slot
	next    []atomic.Uint32 // index+1 of the next free slot, 0 = end
	head    atomic.Uint64   // tag<<32 | index+1 of the first free slot
	bits    uint
	mask    uint32
	genMask uint32
}

func newSlotTable(n int) *slotTable {
	b := uint(bits.Len(uint(n - 1)))
	if n <= 1 {
		b = 0
	}
	size := 1 << b
	t := &slotTable{slots: make([]slot, size), next: make([]atomic.Uint32, size), bits: b, mask: uint32(size - 1), genMask: uint32(1)<<(32-b) - 1}
	for i := range t.slots {
		t.slots[i].done = make(chan struct{}, 1)
	}
	for i := size - 1; i >= 0; i-- {
		t.push(uint32(i))
	}
	return t
}

func (t *slotTable) pop() (uint32, bool) {
	for {
		h := t.head.Load()
		top := uint32(h)
		if top == 0 {
			return 0, false
		}
		nxt := t.next[top-1].Load()
		if t.head.CompareAndSwap(h, (h>>32+1)<<32|uint64(nxt)) {
			return top - 1, true
		}
	}
}

func (t *slotTable) push(i uint32) {
	for {
		h := t.head.Load()
		t.next[i].Store(uint32(h))
		if t.head.CompareAndSwap(h, (h>>32+1)<<32|uint64(i+1)) {
			return
		}
	}
}

// arm gives slot i a new id (next generation; never 0) and marks it
// pending.
func (t *slotTable) arm(i uint32) (uint32, *slot) {
	s := &t.slots[i]
	s.gen = (s.gen + 1) & t.genMask
	if s.gen == 0 {
		s.gen = 1
	}
	id := s.gen<<t.bits | i
	s.word.Store(word(id, stPending))
	return id, s
}

// lookup returns the slot that id names, or nil when id is out of range.
func (t *slotTable) lookup(id uint32) *slot {
	i := id & t.mask
	if id>>t.bits > t.genMask {
		return nil
	}
	return &t.slots[i]
}
