//go:build psdebug

package testenv

// PSDebug reports whether the binary was built with -tags psdebug, under
// which released slabs are poisoned and never reused, so steady-state
// allocation counts do not apply.
const PSDebug = true
