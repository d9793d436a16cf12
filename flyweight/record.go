package flyweight

import "encoding/binary"

const (
	// maxFixedLen is the largest fixed block: bit 15 of the header's
	// fixedLen marks a compact record.
	maxFixedLen     = 0x7fff
	compactBit      = 0x8000 // in the header's fixedLen: a compact record
	compactSlotLen  = 2      // u16 end offset
	recordHeaderLen = 4      // u16 fixedLen, u16 slotCount
	slotLen         = 8      // u32 offset, u32 length
	offsetLen       = 4      // u32 element offset in a group's offset table
	groupHeaderLen  = 4      // u32 element count
	// minElement is the fewest bytes a group element takes: an empty
	// record header and its entry in the offset table.
	minElement = recordHeaderLen + offsetLen
)

// Record is a validated view of one record (a message or a group element).
// It is a view into the buffer it was validated from: valid while that
// buffer is, and never reading outside it. The zero Record is empty: every
// fixed field reads as absent and every slot as absent.
type Record struct {
	b      []byte // the whole record
	fixed  uint32 // end of the fixed block: 4 + fixedLen (0 in the zero Record)
	slotsE uint32 // end of the slot table
	base   int    // offset of b in the wrapped buffer, for error reports
	// compact: the slot table holds u16 end offsets (docs/wire-flyweight.md,
	// compact records), not (u32 offset, u32 length) pairs.
	compact bool
}

// Compact reports whether the record is in the compact form: its slot
// table holds one u16 end offset per slot.
func (r Record) Compact() bool { return r.compact }

// Fixed returns the fixed block as written. Its length is the writer's
// fixed block length: fields a newer schema added lie beyond it when an
// older writer produced the record, and the XAt reads report them absent.
func (r Record) Fixed() []byte {
	if r.fixed == 0 {
		return nil
	}
	return r.b[recordHeaderLen:r.fixed:r.fixed]
}

// Bytes returns the whole record.
func (r Record) Bytes() []byte { return r.b }

// Slots returns the number of slots the writer wrote.
func (r Record) Slots() int {
	if r.compact {
		return int(r.slotsE-r.fixed) / compactSlotLen
	}
	return int(r.slotsE-r.fixed) / slotLen
}

// Offset returns the offset of the record in the wrapped buffer.
func (r Record) Offset() int { return r.base }

// FixedOffset returns the offset in the wrapped buffer of byte off of the
// fixed block, for error reports.
func (r Record) FixedOffset(off int) int { return r.base + recordHeaderLen + off }

// slot returns the offset and length of slot i; ok is false when the
// writer did not write slot i.
func (r Record) slot(i int) (off, n int, ok bool) {
	if i < 0 || i >= r.Slots() {
		return 0, 0, false
	}
	if r.compact {
		d, o := CompactSlot(r.b, int(r.fixed), r.Slots(), i)
		if len(d) == 0 {
			return 0, 0, true
		}
		return o, len(d), true
	}
	p := int(r.fixed) + i*slotLen
	s := r.b[p : p+slotLen]
	return int(binary.LittleEndian.Uint32(s)), int(binary.LittleEndian.Uint32(s[4:])), true
}

// CompactSlot returns the data of slot i of compact record r, whose slot
// table of n u16 end offsets starts at tab, and its offset in r; an absent
// (empty) slot or an out-of-range i gives nil. Every read is bounds-checked,
// so any r (and any tab, n, i) is safe: ends that do not fit give nil,
// never a panic. Generated readers inline the same rule for compact records.
func CompactSlot(r []byte, tab, n, i int) ([]byte, int) {
	if uint(i) >= uint(n) || tab < 0 {
		return nil, 0
	}
	p := tab + compactSlotLen*i
	if p+compactSlotLen > len(r) || p < 0 {
		return nil, 0
	}
	start := tab + compactSlotLen*n
	if i > 0 {
		start = int(binary.LittleEndian.Uint16(r[p-compactSlotLen:]))
	}
	end := int(binary.LittleEndian.Uint16(r[p:]))
	if start < 0 || start >= end || end > len(r) { // start < 0: tab + 2n overflowed (a caller's huge n)
		return nil, 0
	}
	return r[start:end:end], start
}

// HasVar reports whether slot i is present (written and not absent).
func (r Record) HasVar(i int) bool {
	off, _, ok := r.slot(i)
	return ok && off != 0
}

// Var returns the bytes of slot i, or nil when the slot is absent or was
// not written. The result aliases the wrapped buffer (capacity is clipped,
// so appending to it copies).
func (r Record) Var(i int) []byte {
	if r.compact {
		d, _ := CompactSlot(r.b, int(r.fixed), r.Slots(), i)
		return d
	}
	if uint(i) >= uint(r.slotsE-r.fixed)/slotLen {
		return nil
	}
	p := int(r.fixed) + i*slotLen
	s := r.b[p : p+slotLen]
	off := binary.LittleEndian.Uint32(s)
	end := uint64(off) + uint64(binary.LittleEndian.Uint32(s[4:]))
	if off == 0 || end > uint64(len(r.b)) {
		return nil
	}
	return r.b[off:end:end]
}

// FixedUint8 reads the byte at offset off of the fixed block; ok is false
// when the writer's fixed block is too short (an older writer).
func (r Record) FixedUint8(off int) (v uint8, ok bool) {
	if uint(off) >= uint(r.fixed)-recordHeaderLen || r.fixed == 0 {
		return 0, false
	}
	return r.b[recordHeaderLen+off], true
}

// FixedUint16 reads a little-endian uint16 at offset off of the fixed
// block; ok is false when the writer's fixed block is too short.
func (r Record) FixedUint16(off int) (v uint16, ok bool) {
	e := uint(off) + recordHeaderLen + 2
	if uint(off) > uint(r.fixed) || e > uint(r.fixed) {
		return 0, false
	}
	return binary.LittleEndian.Uint16(r.b[e-2 : e]), true
}

// FixedUint32 reads a little-endian uint32 at offset off of the fixed
// block; ok is false when the writer's fixed block is too short.
func (r Record) FixedUint32(off int) (v uint32, ok bool) {
	e := uint(off) + recordHeaderLen + 4
	if uint(off) > uint(r.fixed) || e > uint(r.fixed) {
		return 0, false
	}
	return binary.LittleEndian.Uint32(r.b[e-4 : e]), true
}

// FixedUint64 reads a little-endian uint64 at offset off of the fixed
// block; ok is false when the writer's fixed block is too short.
func (r Record) FixedUint64(off int) (v uint64, ok bool) {
	e := uint(off) + recordHeaderLen + 8
	if uint(off) > uint(r.fixed) || e > uint(r.fixed) {
		return 0, false
	}
	return binary.LittleEndian.Uint64(r.b[e-8 : e]), true
}

// VarOffset returns the offset in the wrapped buffer of slot i's data, for
// error reports.
func (r Record) VarOffset(i int) int {
	off, _, _ := r.slot(i)
	return r.base + off
}

// Group returns the group stored in slot i. An absent slot gives an empty
// group.
func (r Record) Group(i int) Group {
	off, _, _ := r.slot(i)
	return NewGroup(r.Var(i), r.base+off)
}

// NewGroup returns a view of the group whose data (u32 count, the
// elements, u32 element offsets) is d; base is the offset of d in the
// wrapped buffer, for error reports. Every read is bounds-checked, so any d
// is safe: malformed element offsets give empty elements. d shorter than a
// group header gives an empty group.
func NewGroup(d []byte, base int) Group {
	n := GroupLen(d)
	return Group{d: d, n: n, base: base}
}

// GroupLen returns the element count of group data d, or 0 when d is too
// short for its count and offset table.
func GroupLen(d []byte) int {
	if len(d) < groupHeaderLen {
		return 0
	}
	n := uint64(binary.LittleEndian.Uint32(d))
	if n > uint64(len(d)-groupHeaderLen)/offsetLen {
		return 0
	}
	return int(n)
}

// Group is a view of a repeated group's elements with O(1) index access.
// It is a view into the wrapped buffer, valid while that buffer is.
type Group struct {
	d    []byte
	n    int
	base int
}

// Len returns the number of elements.
func (g Group) Len() int { return g.n }

// At returns element i as a record (its header split, its slot table not
// checked: validate it with a Validator first), or the zero Record when i
// is out of range.
func (g Group) At(i int) Record {
	e, off := Element(g.d, g.n, i)
	r, ok := splitRecord(e)
	if !ok {
		return Record{}
	}
	r.base = g.base + off
	return r
}

// Element returns the bytes of element i of group data d holding n
// elements (n from GroupLen or a Validator) and their offset in d. It reads
// the element's two offsets from the group's offset table, so access is
// O(1). An out-of-range i or malformed offsets (possible only if d was not
// validated or changed since) give nil, never a panic.
func Element(d []byte, n, i int) (e []byte, off int) {
	t := len(d) - offsetLen*n
	if uint(i) >= uint(n) || t < groupHeaderLen {
		return nil, 0
	}
	p := t + offsetLen*i
	s := uint64(binary.LittleEndian.Uint32(d[p:]))
	end := uint64(t)
	if i+1 < n {
		end = uint64(binary.LittleEndian.Uint32(d[p+offsetLen:]))
	}
	if s > end || end > uint64(t) {
		return nil, 0
	}
	return d[s:end:end], int(s)
}

// splitRecord parses a record header without validating slot contents.
func splitRecord(b []byte) (Record, bool) {
	if len(b) < recordHeaderLen {
		return Record{}, false
	}
	if h := binary.LittleEndian.Uint16(b); h&compactBit != 0 {
		f := recordHeaderLen + uint32(h&^compactBit)
		s := f + compactSlotLen*uint32(binary.LittleEndian.Uint16(b[2:]))
		if uint64(s) > uint64(len(b)) {
			return Record{}, false
		}
		return Record{b: b, fixed: f, slotsE: s, compact: true}, true
	}
	f := recordHeaderLen + uint32(binary.LittleEndian.Uint16(b))
	s := f + slotLen*uint32(binary.LittleEndian.Uint16(b[2:])) // at most 4+65535+8*65535: no overflow
	if uint64(s) > uint64(len(b)) {
		return Record{}, false
	}
	return Record{b: b, fixed: f, slotsE: s}, true
}

// Failure codes of checkRecord.
const (
	okRecord = iota
	failHeader
	failAbsentWithLength
	failBeforeData
	failOverlap
	failPastEnd
)

// checkRecord validates the header and slot table of b. On failure it
// returns a code, the failing slot and the offset within b to report.
func checkRecord(b []byte) (r Record, code, slot, at int) {
	r, ok := splitRecord(b)
	if !ok {
		return Record{}, failHeader, 0, 0
	}
	if r.compact {
		// Ends are non-decreasing from the end of the slot table and at
		// most the record's length.
		cur := int(r.slotsE)
		for p := int(r.fixed); p < int(r.slotsE); p += compactSlotLen {
			e := int(binary.LittleEndian.Uint16(b[p:]))
			if e < cur {
				if e < int(r.slotsE) {
					return Record{}, failBeforeData, (p - int(r.fixed)) / compactSlotLen, p
				}
				return Record{}, failOverlap, (p - int(r.fixed)) / compactSlotLen, p
			}
			if e > len(b) {
				return Record{}, failPastEnd, (p - int(r.fixed)) / compactSlotLen, p
			}
			cur = e
		}
		return r, okRecord, 0, 0
	}
	cur := uint64(r.slotsE)
	for p := int(r.fixed); p < int(r.slotsE); p += slotLen {
		s := b[p : p+slotLen]
		off := uint64(binary.LittleEndian.Uint32(s))
		n := uint64(binary.LittleEndian.Uint32(s[4:]))
		if off == 0 {
			if n != 0 {
				return Record{}, failAbsentWithLength, (p - int(r.fixed)) / slotLen, p
			}
			continue
		}
		if off < cur {
			if off < uint64(r.slotsE) {
				return Record{}, failBeforeData, (p - int(r.fixed)) / slotLen, p
			}
			return Record{}, failOverlap, (p - int(r.fixed)) / slotLen, p
		}
		if off+n > uint64(len(b)) { // both < 2^32: no overflow
			return Record{}, failPastEnd, (p - int(r.fixed)) / slotLen, int(off)
		}
		cur = off + n
	}
	return r, okRecord, 0, 0
}

// recordError builds the error for a checkRecord failure (kept out of the
// fast path).
func recordError(msg string, names []string, code, slot, at, base int) error {
	switch code {
	case failHeader:
		return newError(msg, "header", base, ErrShortBuffer)
	case failAbsentWithLength, failBeforeData:
		return newError(msg, slotName(names, slot), base+at, ErrBadOffset)
	case failOverlap:
		return newError(msg, slotName(names, slot), base+at, ErrOverlap)
	}
	return newError(msg, slotName(names, slot), base+at, ErrBadLength)
}

// WrapRecord validates the header and slot table of a top-level record b
// (see Validator.Record) without group bookkeeping; generated Wrap
// functions use it directly for messages and then validate lists and
// groups with a Validator. msg and names label errors.
func WrapRecord(b []byte, msg string, names []string) (Record, error) {
	return WrapRecordAt(b, msg, names, 0)
}

// WrapRecordAt is WrapRecord for a record at offset base of the wrapped
// buffer (a group element); errors report offsets from there.
func WrapRecordAt(b []byte, msg string, names []string, base int) (Record, error) {
	// The loop of checkRecord, repeated here so the common case is one call.
	if len(b) < recordHeaderLen {
		return Record{}, newError(msg, "header", base, ErrShortBuffer)
	}
	f := recordHeaderLen + uint32(binary.LittleEndian.Uint16(b))
	se := f + slotLen*uint32(binary.LittleEndian.Uint16(b[2:]))
	if uint64(se) > uint64(len(b)) || f > recordHeaderLen+maxFixedLen {
		r, code, slot, at := checkRecord(b) // a compact record, or an error
		if code != okRecord {
			return Record{}, recordError(msg, names, code, slot, at, base)
		}
		r.base = base
		return r, nil
	}
	cur := uint64(se)
	for p := int(f); p+slotLen <= int(se); p += slotLen {
		s := b[p : p+slotLen]
		off := uint64(binary.LittleEndian.Uint32(s))
		end := off + uint64(binary.LittleEndian.Uint32(s[4:]))
		if off < cur || end > uint64(len(b)) {
			if off == 0 && end == 0 {
				continue // absent
			}
			_, code, slot, at := checkRecord(b)
			return Record{}, recordError(msg, names, code, slot, at, base)
		}
		cur = end
	}
	return Record{b: b, fixed: f, slotsE: se, base: base}, nil
}

// Validator checks records once so that accessors need no further checks.
// It carries the element budget across all groups of one message; use a
// new Validator (NewValidator) per message. The zero Validator is not
// ready; it must come from NewValidator.
type Validator struct {
	lim      Limits
	elements int
}

// NewValidator returns a Validator applying lim (zero fields take the
// defaults). Negative limits are treated as zero; check them with
// Limits.Validate where they come from configuration.
func NewValidator(lim Limits) Validator {
	if lim.MaxDepth < 0 {
		lim.MaxDepth = 0
	}
	if lim.MaxElements < 0 {
		lim.MaxElements = 0
	}
	return Validator{lim: lim.withDefaults()}
}

// Record validates the record header and slot table of b: the fixed block
// and slot table fit, every present slot lies in the data area, slots are
// forward-only and non-overlapping, and no slot ends past len(b). msg and
// names (the slot names, by index) label errors. base is the offset of b
// in the wrapped buffer (0 for a top-level message).
func (v *Validator) Record(b []byte, msg string, names []string, depth, base int) (Record, error) {
	if depth > v.lim.MaxDepth {
		return Record{}, newError(msg, "header", base, ErrTooDeep)
	}
	r, code, slot, at := checkRecord(b)
	if code != okRecord {
		return Record{}, recordError(msg, names, code, slot, at, base)
	}
	r.base = base
	return r, nil
}

// Group checks the structure of group data d (a group slot's bytes, at
// offset base of the wrapped buffer) whose elements sit at the given depth
// (1 for the groups of a top-level message), charges its element count to
// the message's element budget and returns the count: the count fits the
// bytes (every element takes at least 8), the budget and depth limits
// hold, and the offset table is consistent (the first element starts right
// after the count, each element is at least a record header long and the
// last ends at the table). Each element must then be checked as a record
// (Element gives its bytes).
func (v *Validator) Group(d []byte, msg, field string, base, depth int) (int, error) {
	if len(d) < groupHeaderLen {
		return 0, newError(msg, field, base, ErrShortBuffer)
	}
	count := uint64(binary.LittleEndian.Uint32(d))
	if count == 0 {
		if len(d) != groupHeaderLen {
			return 0, newError(msg, field, base+groupHeaderLen, ErrTrailingData)
		}
		return 0, nil
	}
	// Every element takes at least minElement bytes, so a count larger
	// than the bytes allow is rejected before any traversal.
	if count > uint64((len(d)-groupHeaderLen)/minElement) {
		return 0, newError(msg, field, base, ErrBadLength)
	}
	if count > uint64(v.lim.MaxElements-v.elements) {
		return 0, newError(msg, field, base, ErrTooManyElements)
	}
	if depth > v.lim.MaxDepth {
		return 0, newError(msg, field, base, ErrTooDeep)
	}
	v.elements += int(count)
	n := int(count)
	t := len(d) - offsetLen*n
	tab := d[t:]
	prev := uint64(groupHeaderLen) - recordHeaderLen // the first element starts at groupHeaderLen
	for i := 0; i < n; i++ {
		o := uint64(binary.LittleEndian.Uint32(tab[offsetLen*i:]))
		if i == 0 && o != groupHeaderLen || i > 0 && o < prev+recordHeaderLen {
			return 0, newError(msg, field, base+t+offsetLen*i, ErrBadOffset)
		}
		prev = o
	}
	if prev+recordHeaderLen > uint64(t) {
		return 0, newError(msg, field, base+t+offsetLen*(n-1), ErrBadLength)
	}
	return n, nil
}

// Element validates element i of group data d (n elements, checked by
// Group; base is the offset of d in the wrapped buffer) as a record at the
// given depth.
func (v *Validator) Element(d []byte, n, i int, msg string, names []string, depth, base int) (Record, error) {
	e, off := Element(d, n, i)
	return v.Record(e, msg, names, depth, base+off)
}

func slotName(names []string, i int) string {
	if i < len(names) {
		return names[i]
	}
	return "unknown slot"
}
