package flyweight

// This file holds the package's only use of unsafe.

import "unsafe"

// StringView returns b as a string without copying. The string aliases b:
// it is valid only while b is unchanged and not reused (for example until
// the pooled buffer that holds b is released), because Go assumes strings
// are immutable. Use String (or string(b)) to get a copy you may keep.
func StringView(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	// unsafe.String builds a string header over b's bytes; sound as long
	// as b is not modified while the string is alive (see above).
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// stringBytes returns the bytes of s without copying, for reading only: the
// result must never be written to (strings are immutable).
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
