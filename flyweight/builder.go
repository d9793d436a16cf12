package flyweight

import (
	"encoding/binary"
	"math"
)

// Layout describes a record type for a Builder: its name and slot names
// (for errors) and its fixed block length. Generated code declares one per
// message and group; it must not change while a Builder uses it.
type Layout struct {
	Name     string   // "Car" or "Car.fuel_figures", for errors
	FixedLen int      // bytes in the fixed block, at most 32767 (bit 15 of the header is reserved)
	Slots    []string // one name per variable field, in slot order; at most 65535

	// Set by NewLayout for records of at most clearWindow bytes (0
	// otherwise): the record's size before variable data and its header.
	size int
	hdr  uint32
}

// NewLayout returns the Layout of a record type (generated code declares
// one per message and group with it). A Layout written as a literal works
// the same, on a slower path.
func NewLayout(name string, fixedLen int, slots []string) *Layout {
	l := &Layout{Name: name, FixedLen: fixedLen, Slots: slots}
	if n := recordHeaderLen + fixedLen + len(slots)*slotLen; fixedLen >= 0 && len(slots) <= math.MaxUint16 && n <= clearWindow {
		l.size, l.hdr = n, uint32(fixedLen)|uint32(len(slots))<<16
	}
	return l
}

// Builder appends records to a caller-owned buffer. The buffer may come
// from a pool (pass its bytes to Reset and take them back with Bytes).
// Builder allocates only when append must grow the buffer and, for records
// with groups, when its small offset stack first grows; a buffer with enough
// capacity and a reused Builder make building allocation-free.
//
// The Builder, not the RecordWriter, keeps the building state (which record
// may take variable fields, the next slot, the open groups), so
// RecordWriter and GroupWriter are small values that may be copied and
// passed by value (generated builders chain their setters).
//
// Errors are sticky: the first misuse (a variable field out of slot order,
// a record over 4 GiB, an unended group) is kept as an *Error naming the
// record and field, and reported by Err and by RecordWriter.Finish; later
// writes are still performed but the result must be discarded. The zero
// Builder is ready to use with a nil buffer.
type Builder struct {
	buf  []byte
	err  error
	cur  int         // start of the record whose variable fields may be written
	next int         // lowest slot of that record that may still be written
	open []openGroup // groups begun and not yet ended, innermost last
	offs []uint32    // element offsets of the open groups, outermost first
}

// openGroup is a group between BeginGroup and End.
type openGroup struct {
	rec     int    // start of the record that owns the group
	next    int    // that record's next slot once the group ends
	slotPos int    // offset of the group's slot entry, or -1 (out of order)
	start   int    // offset of the group's data (its count)
	mark    int    // len(offs) when the group began
	owner   string // the owning record's layout name and the group's field, for errors
	field   string
}

// NewBuilder returns a Builder that appends to buf (existing contents are
// kept; pass buf[:0] to reuse the whole buffer).
func NewBuilder(buf []byte) Builder { return Builder{buf: buf} }

// Reset makes b append to buf (existing contents are kept; pass buf[:0] to
// reuse the whole buffer), clears any error and forgets open groups. Like
// append, the Builder owns buf's spare capacity (the bytes between len and
// cap): it may write there beyond what it appends (BeginRecord clears a
// small record through a fixed-size window). Writers
// taken before Reset must not be used after it.
func (b *Builder) Reset(buf []byte) {
	b.buf = buf
	b.err = nil
	b.cur, b.next = -1, 0
	b.open = b.open[:0]
	b.offs = b.offs[:0]
}

// Bytes returns the buffer including everything appended so far. It is
// the caller's buffer (or its grown copy); the Builder keeps appending to
// it, so copy it or stop using the Builder before modifying it.
func (b *Builder) Bytes() []byte { return b.buf }

// Len returns len(b.Bytes()).
func (b *Builder) Len() int { return len(b.buf) }

// Err returns the first error recorded, if any.
func (b *Builder) Err() error { return b.err }

func (b *Builder) fail(msg, field string, off int, err error) {
	if b.err == nil {
		b.err = newError(msg, field, off, err)
	}
}

// RecordWriter writes one record (a message or a group element). Fixed
// fields may be written in any order and more than once; variable fields
// and groups must be written in increasing slot order (each at most once),
// and only while the record is the innermost one being built (not while
// one of its groups is open, nor after the next element of its group
// began). It is a small value holding a pointer to its Builder.
type RecordWriter struct {
	b     *Builder
	l     *Layout
	start int // offset of the record in b.buf
}

// BeginRecord appends a record of layout l with a zeroed fixed block and
// absent slots and makes it the record that takes variable fields. Use it
// for top-level records; group elements come from GroupWriter.Add.
func (b *Builder) BeginRecord(l *Layout) RecordWriter {
	// The common case inline: no open group, a small record and a
	// pre-grown buffer. The record is cleared through a constant-size
	// window (a few vector stores instead of a memclr call); bytes of the
	// window past the record lie in the buffer's spare capacity, which
	// the Builder owns.
	start := len(b.buf)
	if n := l.size; n != 0 && cap(b.buf)-start >= clearWindow && len(b.open) == 0 {
		r := (*[clearWindow]byte)(b.buf[start : start+clearWindow])
		*r = [clearWindow]byte{}
		binary.LittleEndian.PutUint32(r[:], l.hdr)
		b.buf = b.buf[:start+n]
		b.cur, b.next = start, 0
		return RecordWriter{b: b, l: l, start: start}
	}
	return b.beginRecordSlow(l)
}

// clearWindow is the largest record (header, fixed block and slot table)
// that BeginRecord and GroupWriter.Add clear with constant-size stores.
const clearWindow = 64

//go:noinline
func (b *Builder) beginRecordSlow(l *Layout) RecordWriter {
	if len(b.open) != 0 {
		b.fail(l.Name, "header", len(b.buf), ErrOpenGroup)
	}
	return b.begin(l)
}

func (b *Builder) begin(l *Layout) RecordWriter {
	fixedLen, slots := l.FixedLen, len(l.Slots)
	if fixedLen < 0 || fixedLen > maxFixedLen || slots > math.MaxUint16 {
		b.fail(l.Name, "header", len(b.buf), ErrTooLarge)
		fixedLen, slots = 0, 0
		l = &Layout{Name: l.Name} // keeps later writes in bounds; the result is discarded
	}
	start := len(b.buf)
	n := recordHeaderLen + fixedLen + slots*slotLen
	if cap(b.buf)-start >= n {
		b.buf = b.buf[:start+n]
		clear(b.buf[start+recordHeaderLen:])
	} else {
		b.buf = append(b.buf, make([]byte, n)...) // compiles to a grow-and-clear, no temporary
	}
	binary.LittleEndian.PutUint32(b.buf[start:start+recordHeaderLen], uint32(fixedLen)|uint32(slots)<<16)
	b.cur, b.next = start, 0
	return RecordWriter{b: b, l: l, start: start}
}

// Record returns the record's bytes from its header to the end of the
// Builder's buffer, so that generated setters store fixed fields at
// constant offsets (4 + the field's offset in the fixed block) after one
// length check. It is valid until the next append to the Builder.
func (w RecordWriter) Record() []byte {
	if w.start > len(w.b.buf) {
		return nil
	}
	return w.b.buf[w.start:]
}

// fixedAt returns the fixed block from byte off on.
func (w RecordWriter) fixedAt(off int) []byte {
	return w.b.buf[w.start+recordHeaderLen : w.start+recordHeaderLen+w.l.FixedLen][off:]
}

// Fixed returns the record's fixed block in the Builder's buffer. It is
// valid until the next append to the Builder (a variable field, a group or
// another record may move the buffer); take it again after that.
func (w RecordWriter) Fixed() []byte {
	s := w.start + recordHeaderLen
	return w.b.buf[s : s+w.l.FixedLen : s+w.l.FixedLen]
}

// PutUint8 writes v at byte off of the fixed block.
func (w RecordWriter) PutUint8(off int, v uint8) { w.fixedAt(off)[0] = v }

// PutUint16 writes v at byte off of the fixed block.
func (w RecordWriter) PutUint16(off int, v uint16) {
	binary.LittleEndian.PutUint16(w.fixedAt(off), v)
}

// PutUint32 writes v at byte off of the fixed block.
func (w RecordWriter) PutUint32(off int, v uint32) {
	binary.LittleEndian.PutUint32(w.fixedAt(off), v)
}

// PutUint64 writes v at byte off of the fixed block.
func (w RecordWriter) PutUint64(off int, v uint64) {
	binary.LittleEndian.PutUint64(w.fixedAt(off), v)
}

// PutBool writes v as 0 or 1 at byte off of the fixed block.
func (w RecordWriter) PutBool(off int, v bool) { w.fixedAt(off)[0] = boolByte(v) }

// PutFloat32 writes v at byte off of the fixed block.
func (w RecordWriter) PutFloat32(off int, v float32) { w.PutUint32(off, math.Float32bits(v)) }

// PutFloat64 writes v at byte off of the fixed block.
func (w RecordWriter) PutFloat64(off int, v float64) { w.PutUint64(off, math.Float64bits(v)) }

// PutBytes copies p to byte off of the fixed block (for [N]byte arrays).
func (w RecordWriter) PutBytes(off int, p []byte) { copy(w.fixedAt(off)[:len(p)], p) }

// slotPos returns the offset of slot i's entry in the buffer.
func (w RecordWriter) slotPos(i int) int { return w.start + recordHeaderLen + w.l.FixedLen + i*slotLen }

// take checks that slot i may be written now and records it as written.
func (w RecordWriter) take(i int) bool {
	b := w.b
	if b.cur != w.start || i < b.next || i >= len(w.l.Slots) {
		w.orderFail(i)
		return false
	}
	b.next = i + 1
	return true
}

// orderFail records ErrBuildOrder for slot i (kept out of the inlined
// setters).
//
//go:noinline
func (w RecordWriter) orderFail(i int) {
	w.b.fail(w.l.Name, slotName(w.l.Slots, i), w.start, ErrBuildOrder)
}

// tooLarge records ErrTooLarge for slot i.
//
//go:noinline
func (w RecordWriter) tooLarge(i int) {
	w.b.fail(w.l.Name, slotName(w.l.Slots, i), w.start, ErrTooLarge)
}

// setSlot sets slot i to the bytes from off (relative to the record) to
// the end of the buffer.
func (w RecordWriter) setSlot(i, off int) {
	b := w.b
	end := len(b.buf) - w.start
	if end > math.MaxUint32 {
		w.tooLarge(i)
		return
	}
	binary.LittleEndian.PutUint64(b.buf[w.slotPos(i):], uint64(off)|uint64(end-off)<<32)
}

// SetBytes writes p as the data of slot i.
func (w RecordWriter) SetBytes(i int, p []byte) {
	b := w.b
	n := len(b.buf)
	if b.cur != w.start || b.next > i || cap(b.buf)-n < len(p) || uint(i) >= uint(len(w.l.Slots)) {
		w.setSlow(i, p)
		return
	}
	b.next = i + 1
	b.buf = b.buf[:n+len(p)]
	copy(b.buf[n:], p)
	w.putSlot(i, n-w.start, len(p))
}

// SetString writes s as the data of slot i.
func (w RecordWriter) SetString(i int, s string) {
	b := w.b
	n := len(b.buf)
	if b.cur != w.start || b.next > i || cap(b.buf)-n < len(s) || uint(i) >= uint(len(w.l.Slots)) {
		w.setSlow(i, stringBytes(s))
		return
	}
	b.next = i + 1
	b.buf = b.buf[:n+len(s)]
	copy(b.buf[n:], s)
	w.putSlot(i, n-w.start, len(s))
}

// putSlot stores slot i's entry: its data is at off (relative to the
// record) and n bytes long.
func (w RecordWriter) putSlot(i, off, n int) {
	if uint64(off)+uint64(n) > math.MaxUint32 {
		w.tooLarge(i)
		return
	}
	pos := w.start + recordHeaderLen + w.l.FixedLen + i*slotLen
	binary.LittleEndian.PutUint64(w.b.buf[pos:pos+slotLen], uint64(off)|uint64(n)<<32)
}

// setSlow is SetBytes when the slot is out of order or the buffer must
// grow.
//
//go:noinline
func (w RecordWriter) setSlow(i int, p []byte) {
	b := w.b
	if b.cur != w.start || i < b.next || i >= len(w.l.Slots) {
		w.orderFail(i)
		return
	}
	b.next = i + 1
	off := len(b.buf) - w.start
	b.buf = append(b.buf, p...)
	w.putSlot(i, off, len(p))
}

// BeginVar starts the data of slot i at the end of the buffer. The caller
// appends the data with the Append methods and calls EndVar(i).
func (w RecordWriter) BeginVar(i int) {
	if w.take(i) {
		// The offset goes into the slot now; EndVar adds the length.
		binary.LittleEndian.PutUint32(w.b.buf[w.slotPos(i):], uint32(min(len(w.b.buf)-w.start, math.MaxUint32)))
	}
}

// EndVar sets the length of slot i to what was appended since BeginVar(i).
func (w RecordWriter) EndVar(i int) {
	if i < 0 || i >= len(w.l.Slots) {
		return
	}
	off := int(binary.LittleEndian.Uint32(w.b.buf[w.slotPos(i):]))
	if off == 0 { // BeginVar failed
		return
	}
	w.setSlot(i, off)
}

// AppendUint8 appends v to the data being written (between BeginVar and
// EndVar).
func (w RecordWriter) AppendUint8(v uint8) { w.b.buf = append(w.b.buf, v) }

// AppendUint16 appends v to the data being written.
func (w RecordWriter) AppendUint16(v uint16) { w.b.buf = AppendUint16(w.b.buf, v) }

// AppendUint32 appends v to the data being written.
func (w RecordWriter) AppendUint32(v uint32) { w.b.buf = AppendUint32(w.b.buf, v) }

// AppendUint64 appends v to the data being written.
func (w RecordWriter) AppendUint64(v uint64) { w.b.buf = AppendUint64(w.b.buf, v) }

// AppendBool appends v as 0 or 1 to the data being written.
func (w RecordWriter) AppendBool(v bool) { w.b.buf = append(w.b.buf, boolByte(v)) }

// AppendFloat32 appends v to the data being written.
func (w RecordWriter) AppendFloat32(v float32) { w.AppendUint32(math.Float32bits(v)) }

// AppendFloat64 appends v to the data being written.
func (w RecordWriter) AppendFloat64(v float64) { w.AppendUint64(math.Float64bits(v)) }

// Fail records err (a sentinel) for field of the record as the Builder's
// error, unless it has one already; generated setters use it for values
// they cannot write as given.
func (w RecordWriter) Fail(field string, err error) {
	w.b.fail(w.l.Name, field, w.start, err)
}

// Finish checks that no group is still open and returns the record's bytes
// (a sub-slice of the Builder's buffer, valid until the buffer is reused),
// or the Builder's first error.
func (w RecordWriter) Finish() ([]byte, error) {
	b := w.b
	if len(b.open) == 0 && b.err == nil && len(b.buf)-w.start <= math.MaxUint32 && w.start <= len(b.buf) {
		return b.buf[w.start:], nil
	}
	return w.finishSlow()
}

func (w RecordWriter) finishSlow() ([]byte, error) {
	b := w.b
	if len(b.open) != 0 { // the innermost open group, at the offset of its data
		og := b.open[len(b.open)-1]
		b.fail(og.owner, og.field, og.start, ErrOpenGroup)
	}
	if len(b.buf)-w.start > math.MaxUint32 {
		b.fail(w.l.Name, "header", w.start, ErrTooLarge)
	}
	if b.err == nil { // w.start > len(b.buf): w is from before a Reset
		b.fail(w.l.Name, "header", w.start, ErrBuildOrder)
	}
	return nil, b.err
}

// BeginAppend hands generated code the Builder's buffer to append one whole
// top-level record in one pass: the generated builders of messages whose
// fields are all scalars, enums, bit sets, strings and bytes collect their
// fields and append the record at Finish. It returns the buffer, or the
// Builder's sticky error, or ErrOpenGroup (naming msg) when a group is
// open, since the record would land inside it. Give the buffer back with
// EndAppend.
func (b *Builder) BeginAppend(msg string) ([]byte, error) {
	if b.err != nil || len(b.open) != 0 {
		return nil, b.beginAppendErr(msg)
	}
	return b.buf, nil
}

//go:noinline
func (b *Builder) beginAppendErr(msg string) error {
	if len(b.open) != 0 {
		b.fail(msg, "header", len(b.buf), ErrOpenGroup)
	}
	return b.err
}

// EndAppend ends what BeginAppend began: buf is the buffer BeginAppend
// returned with one record appended, and becomes the Builder's buffer; no
// record takes variable fields after it. A non-nil err (the append
// failed) becomes the Builder's sticky error instead and the buffer is
// left as it was. It returns the Builder's error.
func (b *Builder) EndAppend(buf []byte, err error) error {
	if err != nil {
		if b.err == nil {
			b.err = err
		}
		return b.err
	}
	b.buf = buf
	b.cur, b.next = -1, 0
	return nil
}

// GroupWriter writes the elements of one group. It is a small value; the
// Builder keeps the group's state.
type GroupWriter struct {
	b     *Builder
	elem  *Layout
	start int // offset of the group data (its count) in the buffer
	depth int // len(b.open) while the group is the innermost open one
}

// BeginGroup starts the group in slot i, whose elements have layout elem.
// Add elements with Add and finish with End before writing later slots of
// w.
func (w RecordWriter) BeginGroup(i int, elem *Layout) GroupWriter {
	b := w.b
	og := openGroup{rec: w.start, next: b.next, slotPos: -1, start: len(b.buf), mark: len(b.offs), owner: w.l.Name, field: slotName(w.l.Slots, i)}
	if w.take(i) {
		og.next, og.slotPos = i+1, w.slotPos(i)
	}
	b.open = append(b.open, og)
	b.cur = -1 // no record takes variable fields until Add
	b.buf = append(b.buf, 0, 0, 0, 0)
	return GroupWriter{b: b, elem: elem, start: og.start, depth: len(b.open)}
}

// innermost reports whether g is the innermost open group.
func (g GroupWriter) innermost() bool {
	b := g.b
	return len(b.open) == g.depth && b.open[g.depth-1].start == g.start
}

// Add begins a new element record (the previous one, if any, ends where
// this one begins).
func (g GroupWriter) Add() RecordWriter {
	b := g.b
	if !g.innermost() {
		b.fail(g.elem.Name, "element", len(b.buf), ErrOpenGroup)
		return b.begin(g.elem)
	}
	off := len(b.buf) - g.start
	if off > math.MaxUint32 {
		b.fail(g.elem.Name, "element", len(b.buf), ErrTooLarge)
	}
	b.offs = append(b.offs, uint32(off))
	return b.begin(g.elem)
}

// End appends the group's element offsets, sets its count and its slot,
// and makes the owning record take variable fields again. Calling End
// twice, or on a group that is not the innermost open one, records
// ErrOpenGroup.
func (g GroupWriter) End() {
	b := g.b
	if !g.innermost() {
		b.fail(g.elem.Name, "group", g.start, ErrOpenGroup)
		return
	}
	og := b.open[g.depth-1]
	offs := b.offs[og.mark:]
	for _, o := range offs {
		b.buf = binary.LittleEndian.AppendUint32(b.buf, o)
	}
	binary.LittleEndian.PutUint32(b.buf[g.start:], uint32(len(offs))) // len(offs) < 2^32: each element takes 4+ bytes of a < 4 GiB record
	b.offs = b.offs[:og.mark]
	b.open = b.open[:g.depth-1]
	b.cur, b.next = og.rec, og.next
	if og.slotPos >= 0 {
		size := len(b.buf) - g.start
		if len(b.buf)-og.rec > math.MaxUint32 {
			b.fail(g.elem.Name, "group", g.start, ErrTooLarge)
			return
		}
		binary.LittleEndian.PutUint64(b.buf[og.slotPos:], uint64(g.start-og.rec)|uint64(size)<<32)
	}
}
