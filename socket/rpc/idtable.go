package rpc

// idTable maps the ids of a server connection's calls in flight to their
// calls: open addressing with linear probing and backward-shift deletion,
// sized once to at least twice the in-flight limit, so it never grows
// and never allocates after it is made.
type idTable struct {
	keys []uint32
	vals []*serverCall // nil marks an empty cell
	mask uint32
}

func newIDTable(limit int) idTable {
	n := 16
	for n < 2*limit {
		n <<= 1
	}
	return idTable{keys: make([]uint32, n), vals: make([]*serverCall, n), mask: uint32(n - 1)}
}

func (t *idTable) home(id uint32) uint32 { return (id * 2654435761) & t.mask }

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
