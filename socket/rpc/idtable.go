package rpc

// idTable maps the ids of a server connection's calls in flight to their
// calls: open addressing with linear probing and backward-shift deletion,
// sized once to at least twice the in-flight limit, so it never grows
// and never allocates after it is made.
type idTable struct {
	keys []uint32
	vals []*serverCall // nil marks an empty cell
	mask uint32
	seed uint32
}

// newIDTable makes a table for limit calls; seed (random per connection)
// keys the hash, so a peer cannot choose ids that share a home cell.
func newIDTable(limit int, seed uint32) idTable {
	n := 16
	for n < 2*limit {
		n <<= 1
	}
	return idTable{keys: make([]uint32, n), vals: make([]*serverCall, n), mask: uint32(n - 1), seed: seed}
}

// home is the id's first cell: murmur3's 32-bit finalizer of the seeded
// id, whose every output bit depends on every input bit (a plain
// multiplicative hash keeps ids that differ only in high bits, i<<11,
// in one cell: 8-11x the CPU per frame, issue #22).
func (t *idTable) home(id uint32) uint32 {
	h := id ^ t.seed
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h & t.mask
}

func (t *idTable) get(id uint32) *serverCall {
	for i := t.home(id); ; i = (i + 1) & t.mask {
		v := t.vals[i]
		if v == nil {
			return nil
		}
		if t.keys[i] == id {
			return v
		}
	}
}

// put adds id; the caller has checked that id is absent and that the
// table holds fewer than limit entries.
func (t *idTable) put(id uint32, c *serverCall) {
	i := t.home(id)
	for t.vals[i] != nil {
		i = (i + 1) & t.mask
	}
	t.keys[i], t.vals[i] = id, c
}

func (t *idTable) del(id uint32) {
	i := t.home(id)
	for {
		if t.vals[i] == nil {
			return
		}
		if t.keys[i] == id {
			break
		}
		i = (i + 1) & t.mask
	}
	// Shift back every later entry of the cluster whose home is not in
	// (i, j], so lookups never stop early at the hole.
	j := i
	for {
		j = (j + 1) & t.mask
		if t.vals[j] == nil {
			break
		}
		k := t.home(t.keys[j])
		if (j > i && (k <= i || k > j)) || (j < i && k <= i && k > j) {
			t.keys[i], t.vals[i] = t.keys[j], t.vals[j]
			i = j
		}
	}
	t.vals[i] = nil
}
