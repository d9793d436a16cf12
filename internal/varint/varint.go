// Package varint parses a uvarint length prefix bounded by a maximum: the
// one implementation behind frame.Varint's Split and codec/protobuf's
// SplitDelimited, which map its results to their own errors.
//
// It is internal: its callers are frame and codec/protobuf.
package varint

import "encoding/binary"

// Result is what ParseLength found.
type Result uint8

const (
	// Complete: the prefix took n bytes and v is the length (<= max).
	Complete Result = iota
	// NeedMore: b ends inside the prefix.
	NeedMore
	// TooLarge: the length is v or more, over max; the prefix bytes
	// seen so far already show it.
	TooLarge
	// Overflow: the value overflows 64 bits (the 10th byte is over 1,
	// which is also how a prefix longer than 10 bytes shows).
	Overflow
)

// ParseLength reads the uvarint length prefix at the start of b. It stops
// as soon as the value exceeds max (TooLarge, with v the value so far), so
// a hostile prefix is refused after the bytes that show it.
func ParseLength(b []byte, max uint64) (v uint64, n int, r Result) {
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if i == len(b) {
			return v, 0, NeedMore
		}
		c := b[i]
		if i == binary.MaxVarintLen64-1 && c > 1 {
			return v, 0, Overflow
		}
		v |= uint64(c&0x7f) << (7 * i)
		if v > max {
			return v, 0, TooLarge
		}
		if c < 0x80 {
			return v, i + 1, Complete
		}
	}
	return v, 0, Overflow // not reached: the 10th byte either ends the prefix or overflows
}
