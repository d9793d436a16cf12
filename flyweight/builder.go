package flyweight

import (
	"encoding/binary"
	"math"
)

// Builder appends records to a caller-owned buffer. The buffer may come
// from a pool (pass its bytes to Reset and take them back with Bytes);
// Builder never allocates except when append must grow the buffer, so a
// buffer with enough capacity makes building allocation-free.
//
// Errors are sticky: the first misuse (a variable field out of slot order,
// a record over 4 GiB, an unended group) is kept and reported by Err and by
// RecordWriter.Finish; later writes are still performed but the result must
// be discarded. The zero Builder is ready to use with a nil buffer.
type Builder struct {
	buf  []byte
	err  error
	open int // groups begun and not yet ended
}

// NewBuilder returns a Builder that appends to buf (existing contents are
// kept; pass buf[:0] to reuse the whole buffer).
func NewBuilder(buf []byte) Builder { return Builder{buf: buf} }

// Reset makes b append to buf (existing contents are kept; pass buf[:0] to
// reuse the whole buffer) and clears any error.
func (b *Builder) Reset(buf []byte) {
	b.buf = buf
	b.err = nil
	b.open = 0
}

// Bytes returns the buffer including everything appended so far. It is
// the caller's buffer (or its grown copy); the Builder keeps appending to
// it, so copy it or stop using the Builder before modifying it.
func (b *Builder) Bytes() []byte { return b.buf }

// Len returns len(b.Bytes()).
func (b *Builder) Len() int { return len(b.buf) }

// Err returns the first error recorded, if any.
func (b *Builder) Err() error { return b.err }

func (b *Builder) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// RecordWriter writes one record (a message or a group element). Fixed
// fields may be written in any order and more than once; variable fields
// and groups must be written in increasing slot order (each at most once),
// and a record's variable fields must not be written while one of its
// groups is open. It holds a pointer to its Builder.
type RecordWriter struct {
	b         *Builder
	start     int // offset of the record in b.buf
	fixedLen  int
	slotCount int
	next      int // lowest slot that may still be written
	depth     int // b.open when the record began
}

// BeginRecord appends a record header with a zeroed fixed block of
// fixedLen bytes and slotCount absent slots. Both must be at most 65535.
func (b *Builder) BeginRecord(fixedLen, slotCount int) RecordWriter {
	if fixedLen < 0 || fixedLen > math.MaxUint16 || slotCount < 0 || slotCount > math.MaxUint16 {
		b.fail(ErrTooLarge)
		fixedLen, slotCount = 0, 0
	}
	start := len(b.buf)
	n := recordHeaderLen + fixedLen + slotCount*slotLen
	if cap(b.buf)-start >= n { // the common, pre-grown case: no append call
		b.buf = b.buf[:start+n]
		clear(b.buf[start+recordHeaderLen:])
	} else {
		b.buf = append(b.buf, make([]byte, n)...) // compiles to a grow-and-clear, no temporary
	}
	binary.LittleEndian.PutUint32(b.buf[start:start+recordHeaderLen], uint32(fixedLen)|uint32(slotCount)<<16)
	return RecordWriter{b: b, start: start, fixedLen: fixedLen, slotCount: slotCount, depth: b.open}
}

// fixedAt returns the fixed block from byte off on.
func (w *RecordWriter) fixedAt(off int) []byte {
	return w.b.buf[w.start+recordHeaderLen : w.start+recordHeaderLen+w.fixedLen][off:]
}

// Fixed returns the record's fixed block in the Builder's buffer, so that
// generated setters can store at constant offsets after one length check.
// It is valid until the next append to the Builder (a variable field, a
// group or another record may move the buffer); take it again after that.
func (w *RecordWriter) Fixed() []byte {
	s := w.start + recordHeaderLen
	return w.b.buf[s : s+w.fixedLen : s+w.fixedLen]
}

// PutUint8 writes v at byte off of the fixed block.
func (w *RecordWriter) PutUint8(off int, v uint8) { w.fixedAt(off)[0] = v }

// PutUint16 writes v at byte off of the fixed block.
func (w *RecordWriter) PutUint16(off int, v uint16) {
	binary.LittleEndian.PutUint16(w.fixedAt(off), v)
}

// PutUint32 writes v at byte off of the fixed block.
func (w *RecordWriter) PutUint32(off int, v uint32) {
	binary.LittleEndian.PutUint32(w.fixedAt(off), v)
}

// PutUint64 writes v at byte off of the fixed block.
func (w *RecordWriter) PutUint64(off int, v uint64) {
	binary.LittleEndian.PutUint64(w.fixedAt(off), v)
}

// PutBool writes v as 0 or 1 at byte off of the fixed block.
func (w *RecordWriter) PutBool(off int, v bool) { w.fixedAt(off)[0] = boolByte(v) }

// PutFloat32 writes v at byte off of the fixed block.
func (w *RecordWriter) PutFloat32(off int, v float32) { w.PutUint32(off, math.Float32bits(v)) }

// PutFloat64 writes v at byte off of the fixed block.
func (w *RecordWriter) PutFloat64(off int, v float64) { w.PutUint64(off, math.Float64bits(v)) }

// PutBytes copies p to byte off of the fixed block (for [N]byte arrays).
func (w *RecordWriter) PutBytes(off int, p []byte) { copy(w.fixedAt(off)[:len(p)], p) }

// BeginVar starts the data of slot i at the end of the buffer. The caller
// appends the data with the Append methods and calls EndVar(i).
func (w *RecordWriter) BeginVar(i int) {
	if !w.beginVar(i) {
		return
	}
	b := w.b
	off := len(b.buf) - w.start
	if off > math.MaxUint32 {
		b.fail(ErrTooLarge)
		return
	}
	binary.LittleEndian.PutUint32(b.buf[w.start+w.slotAt(i):], uint32(off))
}

// EndVar sets the length of slot i to what was appended since BeginVar(i).
func (w *RecordWriter) EndVar(i int) {
	if i < 0 || i >= w.slotCount {
		return
	}
	b := w.b
	s := w.start + w.slotAt(i)
	off := int(binary.LittleEndian.Uint32(b.buf[s:]))
	if off == 0 { // BeginVar failed
		return
	}
	n := len(b.buf) - w.start - off
	if n > math.MaxUint32 || len(b.buf)-w.start > math.MaxUint32 {
		b.fail(ErrTooLarge)
		return
	}
	binary.LittleEndian.PutUint32(b.buf[s+4:], uint32(n))
}

func (w *RecordWriter) slotAt(i int) int { return recordHeaderLen + w.fixedLen + i*slotLen }

// SetBytes writes p as the data of slot i.
func (w *RecordWriter) SetBytes(i int, p []byte) {
	if w.beginVar(i) {
		w.b.buf = append(w.b.buf, p...)
		w.endVar(i, len(p))
	}
}

// SetString writes s as the data of slot i.
func (w *RecordWriter) SetString(i int, s string) {
	if w.beginVar(i) {
		w.b.buf = append(w.b.buf, s...)
		w.endVar(i, len(s))
	}
}

// beginVar checks that slot i may be written now and records it as
// written.
func (w *RecordWriter) beginVar(i int) bool {
	if i < w.next || i >= w.slotCount || w.b.open != w.depth {
		w.b.fail(ErrBuildOrder)
		return false
	}
	w.next = i + 1
	return true
}

// endVar sets slot i to the n bytes just appended.
func (w *RecordWriter) endVar(i, n int) {
	b := w.b
	end := len(b.buf) - w.start
	if end > math.MaxUint32 {
		b.fail(ErrTooLarge)
		return
	}
	s := b.buf[w.start+w.slotAt(i):]
	binary.LittleEndian.PutUint32(s, uint32(end-n))
	binary.LittleEndian.PutUint32(s[4:], uint32(n))
}

// AppendUint8 appends v to the data being written (between BeginVar and
// EndVar).
func (w *RecordWriter) AppendUint8(v uint8) { w.b.buf = append(w.b.buf, v) }

// AppendUint16 appends v to the data being written.
func (w *RecordWriter) AppendUint16(v uint16) { w.b.buf = AppendUint16(w.b.buf, v) }

// AppendUint32 appends v to the data being written.
func (w *RecordWriter) AppendUint32(v uint32) { w.b.buf = AppendUint32(w.b.buf, v) }

// AppendUint64 appends v to the data being written.
func (w *RecordWriter) AppendUint64(v uint64) { w.b.buf = AppendUint64(w.b.buf, v) }

// AppendBool appends v as 0 or 1 to the data being written.
func (w *RecordWriter) AppendBool(v bool) { w.b.buf = append(w.b.buf, boolByte(v)) }

// AppendFloat32 appends v to the data being written.
func (w *RecordWriter) AppendFloat32(v float32) { w.AppendUint32(math.Float32bits(v)) }

// AppendFloat64 appends v to the data being written.
func (w *RecordWriter) AppendFloat64(v float64) { w.AppendUint64(math.Float64bits(v)) }

// Finish checks that no group of the record is still open and returns the
// record's bytes (a sub-slice of the Builder's buffer, valid until the
// buffer is reused), or the Builder's first error.
func (w *RecordWriter) Finish() ([]byte, error) {
	b := w.b
	if b.open != w.depth {
		b.fail(ErrOpenGroup)
	}
	if len(b.buf)-w.start > math.MaxUint32 {
		b.fail(ErrTooLarge)
	}
	if b.err != nil {
		return nil, b.err
	}
	return b.buf[w.start:], nil
}

// GroupWriter writes the elements of one group.
type GroupWriter struct {
	parent RecordWriter // copy: start and slot layout only
	slot   int
	start  int // offset of the group data (its count) in the buffer
	cur    int // offset of the current element's length prefix, or -1
	count  int
	depth  int // b.open after the group began
}

// BeginGroup starts the group in slot i. Add elements with Add and finish
// with End before writing later slots of w.
func (w *RecordWriter) BeginGroup(i int) GroupWriter {
	w.BeginVar(i)
	b := w.b
	b.open++
	g := GroupWriter{parent: *w, slot: i, start: len(b.buf), cur: -1, depth: b.open}
	b.buf = append(b.buf, 0, 0, 0, 0)
	return g
}

// Add ends the previous element, if any, and begins a new element record.
func (g *GroupWriter) Add(fixedLen, slotCount int) RecordWriter {
	b := g.parent.b
	if b.open != g.depth {
		b.fail(ErrOpenGroup)
	}
	g.endElement()
	g.count++
	g.cur = len(b.buf)
	b.buf = append(b.buf, 0, 0, 0, 0)
	return b.BeginRecord(fixedLen, slotCount)
}

func (g *GroupWriter) endElement() {
	if g.cur < 0 {
		return
	}
	b := g.parent.b
	n := len(b.buf) - g.cur - elemHeaderLen
	if n > math.MaxUint32 {
		b.fail(ErrTooLarge)
		return
	}
	binary.LittleEndian.PutUint32(b.buf[g.cur:], uint32(n))
	g.cur = -1
}

// End ends the last element and the group, and sets the group's count and
// slot length. Calling End twice records ErrOpenGroup.
func (g *GroupWriter) End() {
	b := g.parent.b
	if b.open != g.depth {
		b.fail(ErrOpenGroup)
		return
	}
	g.endElement()
	if g.count > math.MaxUint32 {
		b.fail(ErrTooLarge)
	}
	binary.LittleEndian.PutUint32(b.buf[g.start:], uint32(g.count))
	b.open--
	g.parent.EndVar(g.slot)
}
