package compat

import "testing"

// TestCallTable: ids are unique among the calls in flight, skip taken
// slots and 0, survive growth, and a stale id never finds a newer call.
func TestCallTable(t *testing.T) {
	var tb callTable[int]
	vals := make([]int, 1000)
	ids := map[uint64]*int{}
	for i := range vals {
		id := tb.add(&vals[i])
		if id == 0 || ids[id] != nil {
			t.Fatalf("id %d handed out twice or zero", id)
		}
		ids[id] = &vals[i]
	}
	for id, c := range ids {
		if tb.get(id) != c {
			t.Fatalf("id %d lost after growth", id)
		}
	}
	// Free every other call; the survivors keep their slots, so new ids
	// skip them.
	n := 0
	for id, c := range ids {
		if n++; n%2 == 0 {
			if !tb.remove(id, c) || tb.get(id) != nil || tb.remove(id, c) {
				t.Fatalf("remove %d", id)
			}
			delete(ids, id)
		}
	}
	extra := 0
	for range 2000 {
		id := tb.add(&extra)
		if ids[id] != nil {
			t.Fatalf("id %d in use handed out", id)
		}
		if !tb.remove(id, &extra) {
			t.Fatal("remove fresh")
		}
	}
	for id, c := range ids {
		if tb.get(id) != c || tb.get(id+uint64(len(tb.slots))) != nil {
			t.Fatalf("id %d: wrong call", id)
		}
	}
	got := 0
	tb.drain(func(*int) { got++ })
	if got != len(ids) || tb.get(1) != nil {
		t.Fatalf("drained %d of %d", got, len(ids))
	}
}
