package pool

// PoisonByte fills released slabs under the psdebug build tag.
const PoisonByte = 0xDD

// Poisoned reports whether b is non-empty and every byte of it is
// PoisonByte: under the psdebug tag, the sign that b is a view into a slab
// that was finally released. Tests use it to show that a handler that kept
// a raw []byte view sees poison. Without the tag released slabs are not
// poisoned, so check [Debug] before relying on it.
func Poisoned(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c != PoisonByte {
			return false
		}
	}
	return true
}
