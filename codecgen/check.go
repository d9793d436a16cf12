package codecgen

import (
	"fmt"
	"go/token"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// MaxGroupDepth is the deepest group nesting a schema may declare
// (messages are depth 0). It stays below flyweight.DefaultMaxDepth.
const MaxGroupDepth = 8

type checker struct {
	s       *Schema
	errs    ErrorList
	types   map[string]any       // enums, bitsets, structs by schema name
	globals map[string]generated // generated top-level Go identifiers
}

// generated is what declared a generated top-level Go identifier.
type generated struct {
	pos  Pos
	what string // "message Car", "enum Build", "the schema header"
}

func (c *checker) errorf(pos Pos, format string, args ...any) {
	c.errs = append(c.errs, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// check resolves names, enforces the semantic rules of docs/schema.md and
// computes the layout.
func check(s *Schema) ErrorList {
	c := &checker{s: s, types: map[string]any{}, globals: map[string]generated{}}
	if !token.IsIdentifier(s.Package) {
		c.errorf(s.PkgPos, "package name %q is a Go keyword", s.Package)
	}
	declare := func(pos Pos, name, kind string, v any) {
		if token.IsKeyword(name) {
			c.errorf(pos, "%s name %q is a Go keyword", kind, name)
			return
		}
		if r := []rune(name); !unicode.IsUpper(r[0]) {
			c.errorf(pos, "%s name %q must start with an upper-case letter (it becomes an exported Go type)", kind, name)
		}
		if _, dup := c.types[name]; dup {
			c.errorf(pos, "duplicate type name %q", name)
			return
		}
		if v != nil {
			c.types[name] = v
		}
	}
	for _, e := range s.Enums {
		declare(e.Pos, e.Name, "enum", e)
	}
	for _, b := range s.Bitsets {
		declare(b.Pos, b.Name, "bitset", b)
	}
	for _, st := range s.Structs {
		declare(st.Pos, st.Name, "struct", st)
	}
	c.global(s.PkgPos, "the schema header", schemaNames...)
	ids := map[uint32]*Record{}
	for _, m := range s.Messages {
		declare(m.Pos, m.Name, "message", nil)
		if o, dup := ids[m.TypeID]; dup {
			c.errorf(m.Pos, "message type id %d already used by %s (%s)", m.TypeID, o.Name, o.Pos)
		}
		ids[m.TypeID] = m
	}
	for _, e := range s.Enums {
		c.checkEnum(e)
	}
	for _, b := range s.Bitsets {
		c.checkBitset(b)
	}
	for _, st := range s.Structs {
		c.checkStruct(st, nil) // names its fields, which structNames needs
		c.global(st.Pos, "struct "+st.Name, structNames(st)...)
	}
	for _, m := range s.Messages {
		c.global(m.Pos, "message "+m.Name, messageNames(m)...)
		c.global(m.Pos, "message "+m.Name, recordNames(m)...)
		c.checkRecord(m, 1)
	}
	// The direct builders' names, once every layout is known (hasAppender
	// reads the resolved types and the slot count).
	for _, m := range s.Messages {
		c.global(m.Pos, "message "+m.Name, appenderNames(m)...)
	}
	c.checkServices(declare)
	return c.errs
}

// global reserves generated top-level identifiers for what (declared at
// pos); a name already reserved is an error naming both declarations.
func (c *checker) global(pos Pos, what string, names ...string) {
	for _, n := range names {
		if o, dup := c.globals[n]; dup {
			c.errorf(pos, "%s generates the Go name %s, which %s (%s) also generates: rename one of them", what, n, o.what, o.pos)
			continue
		}
		c.globals[n] = generated{pos, what}
	}
}

func (c *checker) checkEnum(e *Enum) {
	c.global(e.Pos, "enum "+e.Name, e.Name)
	if len(e.Values) == 0 {
		c.errorf(e.Pos, "enum %s has no values", e.Name)
	}
	names, vals := map[string]bool{}, map[int64]string{}
	for _, v := range e.Values {
		c.constName(v, e.Name, names)
		if o, dup := vals[v.Value]; dup {
			c.errorf(v.Pos, "enum %s: value %d already used by %s", e.Name, v.Value, o)
		}
		vals[v.Value] = v.Name
		if !fits(e.Underlying, v.Value) {
			c.errorf(v.Pos, "enum %s: value %d does not fit %s", e.Name, v.Value, (&Type{Kind: e.Underlying}).String())
		}
	}
}

func (c *checker) checkBitset(b *Bitset) {
	c.global(b.Pos, "bitset "+b.Name, b.Name, lowerFirst(b.Name)+"Known")
	if len(b.Bits) == 0 {
		c.errorf(b.Pos, "bitset %s has no bits", b.Name)
	}
	names, vals := map[string]bool{}, map[int64]string{}
	for _, v := range b.Bits {
		c.constName(v, b.Name, names)
		if o, dup := vals[v.Value]; dup {
			c.errorf(v.Pos, "bitset %s: bit %d already used by %s", b.Name, v.Value, o)
		}
		vals[v.Value] = v.Name
		if v.Value < 0 || v.Value >= int64(8*scalarSize(b.Underlying)) {
			c.errorf(v.Pos, "bitset %s: bit %d out of range [0, %d)", b.Name, v.Value, 8*scalarSize(b.Underlying))
		}
	}
}

func (c *checker) constName(v *Const, typ string, names map[string]bool) {
	if token.IsKeyword(v.Name) {
		c.errorf(v.Pos, "value name %q is a Go keyword", v.Name)
	}
	if names[v.Name] {
		c.errorf(v.Pos, "%s: duplicate value name %q", typ, v.Name)
	}
	names[v.Name] = true
	c.global(v.Pos, "value "+v.Name+" of "+typ, typ+GoName(v.Name))
}

func fits(k Kind, v int64) bool {
	bits := 8 * scalarSize(k)
	if k >= KUint8 && k <= KUint64 {
		return v >= 0 && (bits == 64 || v < 1<<bits)
	}
	return bits == 64 || (v >= -(1<<(bits-1)) && v < 1<<(bits-1))
}

// checkStruct resolves a struct's fields and computes its size; stack
// detects cycles.
func (c *checker) checkStruct(st *Struct, stack []*Struct) {
	if st.Size > 0 {
		return
	}
	for _, s := range stack {
		if s == st {
			c.errorf(st.Pos, "struct %s contains itself", st.Name)
			st.Size = 1
			return
		}
	}
	stack = append(stack, st)
	names := map[string]bool{}
	size := 0
	for _, f := range st.Fields {
		c.fieldName(f, names)
		c.resolve(f.Type, stack)
		if !f.Type.IsFixed() {
			c.errorf(f.Type.Pos, "struct %s: field %s: %s is not a fixed-size type (structs hold only fixed-size fields)", st.Name, f.Name, f.Type)
			continue
		}
		if f.Optional {
			if k := f.Type.Kind; !k.IsScalar() || k == KBool {
				c.errorf(f.Pos, "struct %s: field %s: only integer and float members can be optional (absent is a null value: the maximum of an unsigned type, the minimum of a signed one, NaN for floats), not %s", st.Name, f.Name, f.Type)
			}
		}
		f.Offset = size
		size += f.Type.Size()
	}
	for _, f := range st.Fields {
		if f.Optional && names["Has"+f.GoName] {
			c.errorf(f.Pos, "struct %s: optional field %s generates method Has%s, which collides with a field", st.Name, f.Name, f.GoName)
		}
	}
	if len(st.Fields) == 0 {
		c.errorf(st.Pos, "struct %s has no fields", st.Name)
	}
	if size == 0 {
		size = 1
	}
	st.Size = size
}

func (c *checker) fieldName(f *Field, names map[string]bool) {
	if token.IsKeyword(f.Name) {
		c.errorf(f.Pos, "field name %q is a Go keyword", f.Name)
	}
	f.GoName = GoName(f.Name)
	if names[f.GoName] {
		c.errorf(f.Pos, "duplicate field name %q", f.Name)
	}
	names[f.GoName] = true
}

// resolve binds named types and checks element types.
func (c *checker) resolve(t *Type, stack []*Struct) {
	switch t.Kind {
	case KNamed:
		switch v := c.types[t.Name].(type) {
		case *Enum:
			t.Kind, t.Enum = KEnum, v
		case *Bitset:
			t.Kind, t.Bitset = KBitset, v
		case *Struct:
			t.Kind, t.Struct = KStruct, v
			c.checkStruct(v, stack)
		default:
			hint := ""
			if s := c.suggest(t.Name); s != "" {
				hint = " (did you mean " + s + "?)"
			}
			c.errorf(t.Pos, "unknown type %q%s", t.Name, hint)
			t.Kind = KUint8 // keep going with a harmless type
		}
	case KArray:
		c.resolve(t.Elem, stack)
		if !t.Elem.IsFixed() || t.Elem.Kind == KArray {
			c.errorf(t.Elem.Pos, "array element must be a scalar, enum, bitset or struct, not %s", t.Elem)
			t.Elem = &Type{Kind: KUint8}
		}
	case KList:
		c.resolve(t.Elem, stack)
		if !t.Elem.Kind.IsScalar() {
			c.errorf(t.Elem.Pos, "list element must be a scalar (bool, integer or float), not %s", t.Elem)
			t.Elem = &Type{Kind: KUint8}
		}
	}
}

// checkRecord checks a message or group and computes its layout. minSince
// is the lowest version its fields may carry.
func (c *checker) checkRecord(r *Record, minSince int) {
	if r.Depth > MaxGroupDepth {
		c.errorf(r.Pos, "group %s nests deeper than %d levels", r.Label, MaxGroupDepth)
		return
	}
	names := map[string]bool{}
	methods := map[string]string{}
	for _, m := range reservedMethods {
		methods[m] = ""
	}
	ids := map[int]string{}
	lastSince, lastSinceName := minSince, ""
	for _, f := range r.Fields {
		c.fieldName(f, names)
		if o, dup := ids[f.ID]; dup {
			c.errorf(f.Pos, "%s: field id %d already used by %s", r.Label, f.ID, o)
		}
		ids[f.ID] = f.Name
		if !f.SinceSet && f.Since < minSince {
			f.Since = minSince // fields of a group added later are as new as the group
		}
		if f.Since > c.s.Version {
			c.errorf(f.Pos, "field %s: since %d is newer than the schema version %d", f.Name, f.Since, c.s.Version)
		}
		if f.Since < lastSince {
			if lastSinceName == "" {
				c.errorf(f.Pos, "field %s: since %d is older than its group (since %d)", f.Name, f.Since, lastSince)
			} else {
				c.errorf(f.Pos, "field %s is declared after %s (since %d) and so was added later: mark it \"since %d\" or higher", f.Name, lastSinceName, lastSince, lastSince)
			}
		} else {
			lastSince, lastSinceName = f.Since, f.Name
		}
		for _, m := range fieldMethods(f) {
			if o, dup := methods[m]; dup {
				if o == "" {
					c.errorf(f.Pos, "field %s generates method %s, which is reserved", f.Name, m)
				} else {
					c.errorf(f.Pos, "field %s generates method %s, which field %s also generates", f.Name, m, o)
				}
				continue
			}
			methods[m] = f.Name
		}
		if f.Const != nil {
			c.checkConst(f)
			continue // no wire space
		}
		if f.Type.Kind == KGroup {
			if f.Optional {
				c.errorf(f.Pos, "group %s cannot be optional (an absent group is empty)", f.Name)
			}
			if f.Default != nil {
				c.errorf(f.Default.Pos, "group %s cannot have a default", f.Name)
			}
			if f.Range != nil {
				c.errorf(f.Range.Pos, "group %s cannot have a range", f.Name)
			}
			g := f.Group
			g.Name = r.Name + f.GoName
			if f.ElemName != "" { // "type NAME": a short name instead of the nested one
				g.Name = f.ElemName
				if r := []rune(f.ElemName); !unicode.IsUpper(r[0]) {
					c.errorf(f.ElemPos, "group element type name %q must start with an upper-case letter (it becomes an exported Go type)", f.ElemName)
				}
				if _, dup := c.types[f.ElemName]; dup {
					c.errorf(f.ElemPos, "group element type name %q is already a type of the schema", f.ElemName)
				}
			}
			c.global(f.Pos, "group "+g.Label, recordNames(g)...)
			c.checkRecord(g, f.Since)
			f.Slot = r.Slots
			r.Slots++
			continue
		}
		c.resolve(f.Type, nil)
		if f.Default != nil {
			c.checkDefault(f)
		}
		if f.Range != nil {
			c.checkRange(f)
		}
		if f.Type.IsFixed() {
			f.Offset = r.FixedLen
			if f.Optional {
				r.FixedLen++
			}
			r.FixedLen += f.Type.Size()
		} else {
			f.Slot = r.Slots
			r.Slots++
		}
	}
	fields := r.Fields[:0:0]
	for _, f := range r.Fields {
		if f.Const != nil {
			r.Consts = append(r.Consts, f)
		} else {
			fields = append(fields, f)
		}
	}
	r.Fields = fields
	if r.FixedLen > 0x7fff {
		c.errorf(r.Pos, "%s: fixed block is %d bytes, more than 32767 (bit 15 of the record header's fixed length is reserved for compact records)", r.Label, r.FixedLen)
	}
	if r.Slots > 0xffff {
		c.errorf(r.Pos, "%s: more than 65535 variable fields", r.Label)
	}
}

// fieldMethods lists the reader and builder methods a field generates.
func fieldMethods(f *Field) []string {
	n := f.GoName
	if f.Const != nil {
		return []string{n} // a reader method only
	}
	var m []string
	switch f.Type.Kind {
	case KString:
		m = []string{n, n + "View", n + "Bytes", "Set" + n, "Set" + n + "Bytes"}
	case KBytes:
		m = []string{n, "Set" + n}
	case KList:
		m = []string{n + "Len", n + "At", n + "All", "Append" + n, "Set" + n}
	case KGroup:
		m = []string{n, "Begin" + n}
	default:
		m = []string{n, "Set" + n}
		if isCharArray(f.Type) {
			m = append(m, n+"String", "Set"+n+"String")
		}
	}
	if f.Optional {
		m = append(m, "Has"+n)
	}
	return m
}

// numeric parses literal text as a value of scalar kind k (an integer or
// float kind), reporting whether it is valid and its value as a float64
// for ordering (exact for the integers the checker compares).
func numeric(k Kind, text string) (float64, bool) {
	switch k {
	case KFloat32, KFloat64:
		bits := 64
		if k == KFloat32 {
			bits = 32
		}
		v, err := strconv.ParseFloat(text, bits)
		return v, err == nil
	case KUint64:
		v, err := strconv.ParseUint(text, 0, 64)
		return float64(v), err == nil
	}
	v, err := strconv.ParseInt(text, 0, 64)
	return float64(v), err == nil && fits(k, v)
}

// checkRange validates a range: a numeric (integer or float) field, both
// bounds valid values of its type, MIN <= MAX, and a default inside it.
func (c *checker) checkRange(f *Field) {
	r, k := f.Range, f.Type.Kind
	if !k.IsScalar() || k == KBool {
		c.errorf(r.Pos, "field %s: a range applies to integer and float fields, not %s", f.Name, f.Type)
		return
	}
	lo, okLo := numeric(k, r.Min.Text)
	hi, okHi := numeric(k, r.Max.Text)
	if !okLo {
		c.errorf(r.Min.Pos, "field %s: range bound %s is not a valid %s", f.Name, r.Min.Text, f.Type)
	}
	if !okHi {
		c.errorf(r.Max.Pos, "field %s: range bound %s is not a valid %s", f.Name, r.Max.Text, f.Type)
	}
	if !okLo || !okHi {
		return
	}
	if lo > hi {
		c.errorf(r.Pos, "field %s: empty range %s..%s (MIN > MAX)", f.Name, r.Min.Text, r.Max.Text)
	}
	if f.Default != nil {
		if d, ok := numeric(k, f.Default.Text); ok && (d < lo || d > hi) {
			c.errorf(f.Default.Pos, "field %s: default %s is outside its range %s..%s", f.Name, f.Default.Text, r.Min.Text, r.Max.Text)
		}
	}
}

// checkConst validates a constant field: a scalar, enum or string type, a
// valid value, and none of optional, default or range.
func (c *checker) checkConst(f *Field) {
	c.resolve(f.Type, nil)
	d := f.Const
	if f.Optional || f.Default != nil || f.Range != nil {
		c.errorf(d.Pos, "field %s: a constant cannot be optional or have a default or range", f.Name)
		return
	}
	if f.Type.Kind == KString {
		if !strings.HasPrefix(d.Text, "\"") {
			c.errorf(d.Pos, "field %s: constant %s is not a string literal", f.Name, d.Text)
		}
		return
	}
	if !f.Type.Kind.IsScalar() && f.Type.Kind != KEnum {
		c.errorf(d.Pos, "field %s: constants are scalars, enums or strings, not %s", f.Name, f.Type)
		return
	}
	c.checkLiteral(f, d, "constant")
}

// checkDefault validates a default literal and rewrites it as Go source.
func (c *checker) checkDefault(f *Field) {
	if f.Optional {
		c.errorf(f.Default.Pos, "field %s: an optional field cannot have a default (it reads as absent)", f.Name)
		return
	}
	c.checkLiteral(f, f.Default, "default")
}

// checkLiteral validates d, a default or constant (what) of f's type, and
// rewrites an enum value name as Go source.
func (c *checker) checkLiteral(f *Field, d *Literal, what string) {
	t := f.Type
	bad := func() { c.errorf(d.Pos, "field %s: %s %s is not a valid %s", f.Name, what, d.Text, t) }
	switch {
	case t.Kind == KBool:
		if d.Text != "true" && d.Text != "false" {
			bad()
		}
	case t.Kind == KFloat32 || t.Kind == KFloat64:
		bits := 64
		if t.Kind == KFloat32 {
			bits = 32
		}
		if _, err := strconv.ParseFloat(d.Text, bits); err != nil {
			bad()
		}
	case t.Kind.IsScalar():
		v, err := strconv.ParseInt(d.Text, 0, 64)
		if t.Kind == KUint64 {
			_, err = strconv.ParseUint(d.Text, 0, 64)
		} else if err == nil && !fits(t.Kind, v) {
			err = strconv.ErrRange
		}
		if err != nil {
			bad()
		}
	case t.Kind == KEnum:
		for _, v := range t.Enum.Values {
			if v.Name == d.Text {
				d.Text = t.Enum.Name + GoName(v.Name)
				return
			}
		}
		c.errorf(d.Pos, "field %s: %s %s is not a value of enum %s", f.Name, what, d.Text, t.Enum.Name)
	default:
		c.errorf(d.Pos, "field %s: %ss are allowed on scalar and enum fields only, not %s", f.Name, what, t)
	}
}

// isCharArray reports whether t is [N]char, a fixed-length string.
func isCharArray(t *Type) bool { return t.Kind == KArray && t.Elem.Char }

// initialisms are written in upper case by GoName, as Go style asks.
var initialisms = map[string]bool{"id": true, "url": true, "http": true, "uuid": true, "ip": true, "api": true, "json": true, "tcp": true, "udp": true, "crc": true}

// GoName turns a schema name (snake_case or camelCase) into an exported Go
// identifier: "birth_day" -> "BirthDay", "order_id" -> "OrderID".
func GoName(s string) string {
	var b strings.Builder
	for _, part := range strings.Split(s, "_") {
		if part == "" {
			continue
		}
		if initialisms[part] {
			b.WriteString(strings.ToUpper(part))
			continue
		}
		r := []rune(part)
		r[0] = unicode.ToUpper(r[0])
		b.WriteString(string(r))
	}
	if b.Len() == 0 {
		return "X"
	}
	return b.String()
}

// suggest returns the known type name closest to name (at most two edits
// away), or "".
func (c *checker) suggest(name string) string {
	best, bestD := "", 3
	cands := []string{"string", "bytes"}
	for n := range scalarNames {
		cands = append(cands, n)
	}
	for n := range c.types {
		cands = append(cands, n)
	}
	sort.Strings(cands)
	for _, n := range cands {
		if d := editDistance(strings.ToLower(name), strings.ToLower(n)); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
