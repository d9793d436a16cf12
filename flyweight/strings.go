package flyweight

// String returns a copy of b as a string; it stays valid after b is reused.
// It is the copying alternative to StringView.
func String(b []byte) string { return string(b) }
