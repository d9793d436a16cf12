package compat

// callTable holds a client's calls in flight by id: a power-of-two array
// indexed by the id's low bits, so finding a reply's call is an index and
// a compare instead of a map access (psbench compat, 256 callers: the map
// cost 5-6% of the CPU). Ids are handed out in sequence, skipping those
// whose slot is taken; the table doubles when half full, so a skip is
// rare. It is guarded by the Client's mu.
type callTable[T any] struct {
	slots []tableSlot[T]
	n     int
	next  uint64
}

type tableSlot[T any] struct {
	id uint64
	c  *T // nil: free
}

// add stores c under a new id and returns the id.
func (t *callTable[T]) add(c *T) uint64 {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	mask := uint64(len(t.slots) - 1)
	for {
		t.next++
		if t.next == 0 {
			continue // 0 is never an id: a message without the field reads as 0
		}
		s := &t.slots[t.next&mask]
		if s.c == nil {
			s.id, s.c = t.next, c
			t.n++
			return t.next
		}
	}
}

func (t *callTable[T]) grow() {
	old := t.slots
	t.slots = make([]tableSlot[T], max(2*len(old), 64))
	mask := uint64(len(t.slots) - 1)
	for _, s := range old {
		if s.c != nil {
			t.slots[s.id&mask] = s // distinct in the old table, so in the new one
		}
	}
}

// get returns the call with id, or nil.
func (t *callTable[T]) get(id uint64) *T {
	if len(t.slots) == 0 {
		return nil
	}
	s := &t.slots[id&uint64(len(t.slots)-1)]
	if s.c != nil && s.id == id {
		return s.c
	}
	return nil
}

// remove frees id's slot if it holds c; it reports whether it did.
func (t *callTable[T]) remove(id uint64, c *T) bool {
	if len(t.slots) == 0 {
		return false
	}
	s := &t.slots[id&uint64(len(t.slots)-1)]
	if s.c != c || s.id != id || c == nil {
		return false
	}
	s.c = nil
	t.n--
	return true
}

// each calls fn for every call and empties the table.
func (t *callTable[T]) drain(fn func(*T)) {
	for i := range t.slots {
		if c := t.slots[i].c; c != nil {
			t.slots[i].c = nil
			fn(c)
		}
	}
	t.n = 0
}
