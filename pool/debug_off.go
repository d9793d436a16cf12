//go:build !psdebug

package pool

// Debug reports whether the package was built with the psdebug tag, which
// poisons released slabs and checks every use of them.
const Debug = false

// debug gates the checks; as a false constant they are compiled out.
const debug = false

// poison is a no-op without the psdebug tag.
func poison([]byte) {}
