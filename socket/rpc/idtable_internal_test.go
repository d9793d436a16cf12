package rpc

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// probes returns how many cells a lookup of id visits.
func (t *idTable) probes(id uint32) int {
	n := 1
	for i := t.home(id); t.vals[i] != nil && t.keys[i] != id; i = (i + 1) & t.mask {
		n++
	}
	return n
}

// TestIDTableCollisionAttack: ids a peer chooses to share low bits
// (i<<11, i<<20, multiples of the table size) or high bits do not pile
// up in one cluster: with the table full to its limit, no lookup visits
// more than a few dozen cells (a plain multiplicative hash of i<<11 put
// all 1024 in one cluster: 1024 probes).
func TestIDTableCollisionAttack(t *testing.T) {
	const limit = 1024
	patterns := map[string]func(i uint32) uint32{
		"i<<11":  func(i uint32) uint32 { return i << 11 },
		"i<<20":  func(i uint32) uint32 { return i<<20 | 1 },
		"i<<22":  func(i uint32) uint32 { return i << 22 },
		"i":      func(i uint32) uint32 { return i + 1 },
		"i*2048": func(i uint32) uint32 { return (i + 1) * 2048 },
	}
	for name, id := range patterns {
		for range 4 { // several seeds
			tb := newIDTable(limit, rand.Uint32())
			c := &serverCall{}
			for i := range uint32(limit) {
				tb.put(id(i), c)
			}
			worst, total := 0, 0
			for i := range uint32(limit) {
				require.Same(t, c, tb.get(id(i)))
				p := tb.probes(id(i))
				worst = max(worst, p)
				total += p
			}
			assert.LessOrEqual(t, worst, 64, "%s: longest probe", name)
			assert.LessOrEqual(t, float64(total)/limit, 4.0, "%s: mean probes", name)
			for i := range uint32(limit) { // deletion keeps every other id findable
				tb.del(id(i))
				if i+1 < limit {
					require.Same(t, c, tb.get(id(i+1)))
				}
				require.Nil(t, tb.get(id(i)))
			}
		}
	}
}
