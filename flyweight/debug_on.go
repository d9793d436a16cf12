//go:build psdebug

package flyweight

// Debug is true under -tags psdebug: generated direct builders then check
// for use after Finish and panic naming the mistake.
const Debug = true
