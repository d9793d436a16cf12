//go:build psdebug

package pool

// Debug reports whether the package was built with the psdebug tag, which
// poisons released slabs and checks every use of them.
const Debug = true

// debug gates the checks.
const debug = true

// poison fills a released slab with PoisonByte.
func poison(b []byte) {
	for i := range b {
		b[i] = PoisonByte
	}
}
