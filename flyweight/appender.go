package flyweight

import (
	"encoding/binary"
	"math/bits"
	"strconv"
)

// This file holds the runtime half of codecgen's direct builders
// (AppendX / XAppender, generated for messages of scalars, strings and
// bytes): their setters write into the caller's buffer inline and keep
// their mistakes in one word, read by Finish; the rare paths (an error,
// a record too large for the compact form) are here.

// AppenderBig is the bit of a direct builder's error word set when its
// record outgrew the compact form (more than 32767 bytes); bits 0..30 mark
// slots set after a later slot or twice, bits 32..62 those set twice.
const AppenderBig = 1 << 63

// AppenderMaxSlots is the most variable fields a message may have to get
// a direct builder (one bit per slot in each half of the error word).
const AppenderMaxSlots = 31

// AppenderError returns the error of a direct builder's error word bad
// (without AppenderBig), naming the first slot at fault: ErrSetTwice for a
// variable field set twice, ErrBuildOrder for one set after a later one. names are the message's slot names in slot order. It returns nil
// when bad marks no slot.
func AppenderError(msg string, names []string, bad uint64) error {
	late := bad & (1<<31 - 1)
	if late == 0 {
		return nil
	}
	i := bits.TrailingZeros64(late)
	if bad&(1<<(32+i)) != 0 {
		return newError(msg, appenderSlot(names, i), 0, ErrSetTwice)
	}
	return newError(msg, appenderSlot(names, i), 0, ErrBuildOrder)
}

func appenderSlot(names []string, i int) string {
	if i < len(names) {
		return names[i]
	}
	return "slot " + strconv.Itoa(i)
}

// WidenCompact rewrites the compact record that a direct builder wrote at
// buf[off:] (fixedLen bytes of fixed block, n slots, everything after it
// the record's data) in the standard form, for a record that outgrew the
// compact one, and returns the extended buffer. set marks the slots the
// builder set; big holds the true end of each slot whose end passed
// 32767 (the compact table keeps only the low 16 bits), 0 for the others.
// Unset slots become absent. A record over 4 GiB gives buf[:off] and
// ErrTooLarge naming msg.
func WidenCompact(buf []byte, off, fixedLen, n int, set uint64, big []uint32, msg string) ([]byte, error) {
	ctab := off + 4 + fixedLen
	cdata := 2 * n
	size := uint64(len(buf) - off)
	grow := 6 * n
	if size+uint64(grow) > 0xffffffff || n > len(big) {
		return buf[:off], newError(msg, "header", 0, ErrTooLarge)
	}
	var ends [AppenderMaxSlots]uint64
	prev := uint64(4 + fixedLen + cdata)
	for i := range n {
		e := prev
		if set&(1<<i) != 0 {
			e = uint64(binary.LittleEndian.Uint16(buf[ctab+2*i:]))
			if big[i] != 0 {
				e = uint64(big[i])
			}
		}
		if e < prev || e > size { // cannot happen for a builder's record
			return buf[:off], newError(msg, "slot "+strconv.Itoa(i), 0, ErrBadOffset)
		}
		ends[i], prev = e, e
	}
	old := len(buf)
	buf = append(buf, make([]byte, grow)...)
	copy(buf[ctab+8*n:], buf[ctab+cdata:old])
	binary.LittleEndian.PutUint16(buf[off:], uint16(fixedLen))
	start := uint64(4 + fixedLen + cdata)
	for i := range n {
		e := ends[i]
		var entry uint64
		if e > start {
			entry = (start+uint64(grow))&0xffffffff | (e-start)<<32
		}
		binary.LittleEndian.PutUint64(buf[ctab+8*i:], entry)
		start = e
	}
	return buf, nil
}

// PanicAfterFinish panics, under -tags psdebug, when a direct builder is
// used after its Finish: a builder writes one message, and its setters
// would write into the bytes Finish returned (op names the call, typ the
// builder type, begin the function that starts the next message).
func PanicAfterFinish(typ, op, begin string) {
	panic("flyweight: " + typ + "." + op + " called after Finish: a builder writes one message; begin the next with " + begin)
}
