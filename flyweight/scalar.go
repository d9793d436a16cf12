package flyweight

import (
	"encoding/binary"
	"math"
)

// The XAt functions read a little-endian value at b[off:]. They never
// panic: ok is false (and the value zero) when off is negative or the value
// does not fit in b. The PutX functions write a little-endian value at
// b[off:] and report false, writing nothing, when it does not fit. The
// AppendX functions append a little-endian value to b, like
// binary.LittleEndian.AppendUint32.

// inRange reports whether [off, off+n) lies within a buffer of length l,
// without overflow.
func inRange(l, off, n int) bool { return off >= 0 && off <= l && l-off >= n }

// Uint8At reads a uint8 at b[off:]; ok is false if it does not fit.
func Uint8At(b []byte, off int) (v uint8, ok bool) {
	if !inRange(len(b), off, 1) {
		return 0, false
	}
	return b[off], true
}

// PutUint8 writes v at b[off:]; it reports false if it does not fit.
func PutUint8(b []byte, off int, v uint8) bool {
	if !inRange(len(b), off, 1) {
		return false
	}
	b[off] = v
	return true
}

// AppendUint8 appends v to b.
func AppendUint8(b []byte, v uint8) []byte { return append(b, v) }

// Uint16At reads a uint16 at b[off:]; ok is false if it does not fit.
func Uint16At(b []byte, off int) (v uint16, ok bool) {
	if !inRange(len(b), off, 2) {
		return 0, false
	}
	return binary.LittleEndian.Uint16(b[off:]), true
}

// PutUint16 writes v at b[off:]; it reports false if it does not fit.
func PutUint16(b []byte, off int, v uint16) bool {
	if !inRange(len(b), off, 2) {
		return false
	}
	binary.LittleEndian.PutUint16(b[off:], v)
	return true
}

// AppendUint16 appends v to b in little-endian order.
func AppendUint16(b []byte, v uint16) []byte { return binary.LittleEndian.AppendUint16(b, v) }

// Uint32At reads a uint32 at b[off:]; ok is false if it does not fit.
func Uint32At(b []byte, off int) (v uint32, ok bool) {
	if !inRange(len(b), off, 4) {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b[off:]), true
}

// PutUint32 writes v at b[off:]; it reports false if it does not fit.
func PutUint32(b []byte, off int, v uint32) bool {
	if !inRange(len(b), off, 4) {
		return false
	}
	binary.LittleEndian.PutUint32(b[off:], v)
	return true
}

// AppendUint32 appends v to b in little-endian order.
func AppendUint32(b []byte, v uint32) []byte { return binary.LittleEndian.AppendUint32(b, v) }

// Uint64At reads a uint64 at b[off:]; ok is false if it does not fit.
func Uint64At(b []byte, off int) (v uint64, ok bool) {
	if !inRange(len(b), off, 8) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(b[off:]), true
}

// PutUint64 writes v at b[off:]; it reports false if it does not fit.
func PutUint64(b []byte, off int, v uint64) bool {
	if !inRange(len(b), off, 8) {
		return false
	}
	binary.LittleEndian.PutUint64(b[off:], v)
	return true
}

// AppendUint64 appends v to b in little-endian order.
func AppendUint64(b []byte, v uint64) []byte { return binary.LittleEndian.AppendUint64(b, v) }

// Int8At reads a int8 at b[off:]; ok is false if it does not fit.
func Int8At(b []byte, off int) (int8, bool) {
	v, ok := Uint8At(b, off)
	return int8(v), ok
}

// PutInt8 writes v at b[off:]; it reports false if it does not fit.
func PutInt8(b []byte, off int, v int8) bool { return PutUint8(b, off, uint8(v)) }

// AppendInt8 appends v to b in little-endian order.
func AppendInt8(b []byte, v int8) []byte { return AppendUint8(b, uint8(v)) }

// Int16At reads a int16 at b[off:]; ok is false if it does not fit.
func Int16At(b []byte, off int) (int16, bool) {
	v, ok := Uint16At(b, off)
	return int16(v), ok
}

// PutInt16 writes v at b[off:]; it reports false if it does not fit.
func PutInt16(b []byte, off int, v int16) bool { return PutUint16(b, off, uint16(v)) }

// AppendInt16 appends v to b in little-endian order.
func AppendInt16(b []byte, v int16) []byte { return AppendUint16(b, uint16(v)) }

// Int32At reads a int32 at b[off:]; ok is false if it does not fit.
func Int32At(b []byte, off int) (int32, bool) {
	v, ok := Uint32At(b, off)
	return int32(v), ok
}

// PutInt32 writes v at b[off:]; it reports false if it does not fit.
func PutInt32(b []byte, off int, v int32) bool { return PutUint32(b, off, uint32(v)) }

// AppendInt32 appends v to b in little-endian order.
func AppendInt32(b []byte, v int32) []byte { return AppendUint32(b, uint32(v)) }

// Int64At reads a int64 at b[off:]; ok is false if it does not fit.
func Int64At(b []byte, off int) (int64, bool) {
	v, ok := Uint64At(b, off)
	return int64(v), ok
}

// PutInt64 writes v at b[off:]; it reports false if it does not fit.
func PutInt64(b []byte, off int, v int64) bool { return PutUint64(b, off, uint64(v)) }

// AppendInt64 appends v to b in little-endian order.
func AppendInt64(b []byte, v int64) []byte { return AppendUint64(b, uint64(v)) }

// Float32At reads an IEEE-754 float32 at b[off:]; ok is false if it does
// not fit.
func Float32At(b []byte, off int) (float32, bool) {
	v, ok := Uint32At(b, off)
	return math.Float32frombits(v), ok
}

// PutFloat32 writes v at b[off:]; it reports false if it does not fit.
func PutFloat32(b []byte, off int, v float32) bool { return PutUint32(b, off, math.Float32bits(v)) }

// AppendFloat32 appends v to b in little-endian order.
func AppendFloat32(b []byte, v float32) []byte { return AppendUint32(b, math.Float32bits(v)) }

// Float64At reads an IEEE-754 float64 at b[off:]; ok is false if it does
// not fit.
func Float64At(b []byte, off int) (float64, bool) {
	v, ok := Uint64At(b, off)
	return math.Float64frombits(v), ok
}

// PutFloat64 writes v at b[off:]; it reports false if it does not fit.
func PutFloat64(b []byte, off int, v float64) bool { return PutUint64(b, off, math.Float64bits(v)) }

// AppendFloat64 appends v to b in little-endian order.
func AppendFloat64(b []byte, v float64) []byte { return AppendUint64(b, math.Float64bits(v)) }

// BoolAt reads a bool byte at b[off]: any non-zero byte is true (Validate
// in generated code rejects bytes other than 0 and 1); ok is false if off
// is out of range.
func BoolAt(b []byte, off int) (v, ok bool) {
	u, ok := Uint8At(b, off)
	return u != 0, ok
}

// PutBool writes v as one byte (0 or 1) at b[off]; it reports false if off
// is out of range.
func PutBool(b []byte, off int, v bool) bool { return PutUint8(b, off, boolByte(v)) }

// AppendBool appends v as one byte (0 or 1).
func AppendBool(b []byte, v bool) []byte { return append(b, boolByte(v)) }

func boolByte(v bool) uint8 {
	if v {
		return 1
	}
	return 0
}

// Span returns b[off:off+n] with its capacity clipped, or ok false when
// off or n is negative or the span does not fit in b. It never overflows,
// whatever off and n a peer supplied.
func Span(b []byte, off, n int) (s []byte, ok bool) {
	if n < 0 || !inRange(len(b), off, n) {
		return nil, false
	}
	return b[off : off+n : off+n], true
}
