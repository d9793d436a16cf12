package codecgen

import (
	"fmt"
	"strings"
)

// appenderMaxSlots mirrors flyweight.AppenderMaxSlots: a direct builder
// keeps one bit per slot in each half of its error word.
const appenderMaxSlots = 31

// hasAppender reports whether message m gets a direct builder (AppendX,
// XAppender): a staged message (scalars, strings, bytes) without optional
// variable fields (the compact form cannot carry a present empty one)
// and with at most appenderMaxSlots variable fields.
//
// Why it exists: bench/codec BenchmarkSmallStruct, codecgen/append vs
// hand-written/marshal (bench/codec/README.md, third round). The staged
// builder stores every field into a value on the stack and copies it at
// Finish (1.26x-1.39x the hand-written marshal); the direct builder's
// setters write into the caller's buffer at once. Its state lives on the
// caller's stack because AppendX (which returns a pointer to it) inlines
// for every message, as Finish does; a setter that does not inline only
// borrows the pointer, which escape analysis sees, so building allocates
// nothing either way. Speed needs the setters inlined too (budget 80): a
// fixed setter always is (one store); a string setter's cost grows with
// the slot-table ends it writes (its own and every later one's): it
// inlines when they are at most five (Go 1.26), so in a message of up to
// five variable fields all do (SmallStruct, checked by bench/codec
// TestSmallStructAppenderInlines), beyond that only the last five's (the
// first of 31 costs about 160). Hence the shape: fixed setters are one store (the last value
// counts, no bookkeeping); string setters append, refresh the record
// pointer and write their slot-table end into their own and every later
// entry (so an unset later slot reads as empty); mistakes and the rare
// large record are bits in one word that Finish tests once, handled out of
// line.
func hasAppender(m *Record) bool {
	if !staged(m) || m.Slots > appenderMaxSlots {
		return false
	}
	for _, f := range m.Fields {
		if !f.Type.IsFixed() && f.Optional {
			return false
		}
	}
	return true
}

// appenderLayout returns the size of the part of the record AppendX
// writes first (header, fixed block, compact slot table) and its header.
func appenderLayout(m *Record) (head int, hdr int) {
	if m.Slots == 0 {
		return 4 + m.FixedLen, m.FixedLen
	}
	return 4 + m.FixedLen + 2*m.Slots, 0x8000 | m.FixedLen | m.Slots<<16
}

// appender emits AppendX, XAppender and its methods.
func (g *gen) appender(m *Record) {
	n, l := m.Name, lowerFirst(m.Name)
	head, hdr := appenderLayout(m)
	// A compact record is at most 32767 bytes: when the header, fixed block
	// and slot table alone pass it, the record is large before any field is
	// set (the string setters mark it only when they append), so Finish
	// always rewrites it in the standard form, as AppendTo writes it.
	big := ""
	if m.Slots > 0 && head > 32767 {
		big = ", bad: flyweight.AppenderBig"
	}
	tab := 4 + m.FixedLen
	var defs, varNames []string
	for _, f := range m.Fields {
		if d := defaultLit(f); d != "" {
			defs = append(defs, fmt.Sprintf("a.Set%s(%s)", f.GoName, d))
		}
		if !f.Type.IsFixed() {
			varNames = append(varNames, f.Name)
		}
	}
	order := "Variable fields: none."
	if len(varNames) > 0 {
		order = "Variable fields (strings, bytes) are appended when set: each at most\n// once, in schema order (" + strings.Join(varNames, ", ") + "); an unset one reads as empty."
	}
	g.p(`// Append%[1]s begins a %[1]s at the end of dst and returns its direct builder,
// the fastest way to build one: pass buf[:0] to reuse a buffer. The setters
// write into the buffer as they are called: fixed fields at constant
// offsets, in any order and any number of times (the last value counts).
// %[2]s
// Values are copied when set: the builder keeps no reference to them.
// Finish returns the extended buffer. Chain the calls in one expression or
// keep the builder in a local variable: it then lives on the caller's
// stack and building allocates nothing (unless dst must grow). A builder
// writes one message: using it after Finish is a bug (its setters would
// write into the bytes Finish returned), which -tags psdebug reports with
// a panic.
func Append%[1]s(dst []byte) *%[1]sAppender {
	off := len(dst)`, n, order)
	if len(defs) == 0 && m.Slots <= 2 {
		g.p("dst = append(dst, make([]byte, %d)...)\nrec := (*[%d]byte)(dst[off:])\n%s.PutUint32(rec[0:4], %#08x)", head, head, g.le(), hdr)
		switch m.Slots {
		case 1:
			g.p("%s.PutUint16(rec[%d:%d], %d) // the slot's end: empty until set", g.le(), tab, tab+2, head)
		case 2:
			g.p("%s.PutUint32(rec[%d:%d], %d|%d<<16) // the slots' ends: empty until set", g.le(), tab, tab+4, head, head)
		}
		g.p("return &%sAppender{buf: dst, off: off%s}\n}\n", n, big)
	} else {
		g.p("dst = append(dst, %sBlank[:]...)\nreturn &%sAppender{buf: dst, off: off%s}\n}\n", l, n, big)
		g.p("// %[1]sBlank is what Append%[2]s writes first: the header, the fixed block\n// with the schema defaults and the slot table of an empty record.\nvar %[1]sBlank = %[1]sBlankInit()\n", l, n)
		g.p("func %sBlankInit() (b [%d]byte) {\n%s.PutUint32(b[0:4], %#08x)", l, head, g.le(), hdr)
		for s := range m.Slots {
			g.p("%s.PutUint16(b[%d:%d], %d)", g.le(), tab+2*s, tab+2*s+2, head)
		}
		if len(defs) > 0 {
			g.p("a := %sAppender{buf: b[:]}\n%s", n, strings.Join(defs, "\n"))
		}
		g.p("return b\n}\n")
	}
	g.p(`// %[1]sAppender is the direct builder of a %[2]s, from Append%[1]s.
type %[1]sAppender struct {
	buf []byte    // dst with the record so far
	off int       // where the record starts in buf
	set uint64    // variable fields set, by slot (bit 63: finished, under -tags psdebug)
	bad uint64    // mistakes and a large record: flyweight.FinishAppender's word
	big [%[4]d]uint32 // slot ends past the compact form's 32767, by slot
}

// Finish returns dst with the %[2]s appended, or dst as it was and an
// *flyweight.Error naming the field: flyweight.ErrSetTwice (a variable field
// set twice), flyweight.ErrBuildOrder (one set after a later one) or
// flyweight.ErrTooLarge (a record over 4 GiB). A record over 32767 bytes is
// rewritten here in the standard form (one move of its variable data), so
// the bytes are those %[1]sValue.AppendTo writes.
func (p *%[1]sAppender) Finish() ([]byte, error) {
	if flyweight.Debug {
		p.live("Finish")
		p.set |= 1 << 63
	}
	if p.bad != 0 {
		return p.finishSlow()
	}
	return p.buf, nil
}

// finishSlow is Finish's path for a mistake or a large record (never
// inlined: Finish stays within the inliner's budget, see AppendX).
//
//go:noinline
func (p *%[1]sAppender) finishSlow() ([]byte, error) {
	return flyweight.FinishAppender(p.buf, p.off, %[7]d, %[6]sSlots, p.set, p.bad, p.big[:], %[5]q)
}

// live panics if the builder was finished (called under -tags psdebug).
func (p *%[1]sAppender) live(op string) {
	if p.set&(1<<63) != 0 {
		flyweight.PanicAfterFinish("%[1]sAppender", op, "Append%[1]s")
	}
}
`, n, m.Label, head, m.Slots, m.Label, l, m.FixedLen, m.Slots)
	for _, f := range m.Fields {
		fn, t := f.GoName, f.Type
		if t.IsFixed() {
			g.p("// Set%s sets field %s (the last value set counts).%s\nfunc (p *%sAppender) Set%s(v %s) *%sAppender {\nif flyweight.Debug {\np.live(\"Set%s\")\n}", fn, f.Name, deprecated(f), n, fn, goType(t), n, fn)
			lo, sz := 4+f.Offset, t.Size()
			switch {
			case t.Kind == KBool:
				g.p("var x uint8\nif v {\nx = 1\n}\np.buf[p.off+%d] = x", lo)
			case sz == 1:
				g.p("p.buf[p.off+%d] = %s", lo, g.toBits(t, "v"))
			default:
				g.p("%s.PutUint%d(p.buf[p.off+%d:p.off+%d], %s)", g.le(), 8*sz, lo, lo+sz, g.toBits(t, "v"))
			}
			g.p("return p\n}\n")
			continue
		}
		switch t.Kind {
		case KString:
			g.p("// Set%s appends field %s (once, after the variable fields before it).%s\nfunc (p *%sAppender) Set%s(v string) *%sAppender {", fn, f.Name, deprecated(f), n, fn, n)
			g.appendVar(m, f, "Set"+fn)
			g.p("// Set%sBytes appends field %s from bytes (once, after the variable fields\n// before it).%s\nfunc (p *%sAppender) Set%sBytes(v []byte) *%sAppender {", fn, f.Name, deprecated(f), n, fn, n)
			g.appendVar(m, f, "Set"+fn+"Bytes")
		case KBytes:
			g.p("// Set%s appends field %s (once, after the variable fields before it).%s\nfunc (p *%sAppender) Set%s(v []byte) *%sAppender {", fn, f.Name, deprecated(f), n, fn, n)
			g.appendVar(m, f, "Set"+fn)
		}
	}
}

// appendVar emits the body of a direct builder's setter of variable
// field f: v appended, the slot-table ends of f and every later slot
// written, mistakes and a large record marked in p.bad.
func (g *gen) appendVar(m *Record, f *Field, op string) {
	s := f.Slot
	g.p("if flyweight.Debug {\np.live(%q)\n}", op)
	// Some slot at or after s already set: twice (own bit) or out of order.
	g.p("if p.set >= %#x {\np.bad |= (p.set&%#x)<<32 | %#x // set twice; set after a later slot\n}", uint64(1)<<s, uint64(1)<<s, uint64(1)<<s)
	g.p("p.set |= %#x\np.buf = append(p.buf, v...)\nr := p.buf[p.off:]\ne := len(r)", uint64(1)<<s)
	g.p("if e > 32767 {\np.bad |= flyweight.AppenderBig\np.big[%d] = uint32(e)\n}", s)
	t := 4 + m.FixedLen + 2*s
	// This slot's end and every later one's, in as few stores as fit.
	for k, at := m.Slots-s, t; k > 0; {
		switch {
		case k >= 4:
			g.p("%s.PutUint64(r[%d:%d], uint64(e)&0xffff*0x0001000100010001)", g.le(), at, at+8)
			k, at = k-4, at+8
		case k >= 2:
			g.p("%s.PutUint32(r[%d:%d], uint32(e)&0xffff*0x10001)", g.le(), at, at+4)
			k, at = k-2, at+4
		default:
			g.p("%s.PutUint16(r[%d:%d], uint16(e))", g.le(), at, at+2)
			k, at = k-1, at+2
		}
	}
	g.p("return p\n}\n")
}

// testAppender emits the generated tests of message m's direct builder:
// the setters and Finish write what the value's AppendTo writes (after
// existing bytes, small and past the compact form's limit), allocate
// nothing, name the field set twice or out of order, and (under -tags
// psdebug) panic naming a use after Finish.
func (g *gen) testAppender(m *Record) {
	n := m.Name
	g.p("// appendAll%s sets every field of v through p, variable fields in slot order.\nfunc appendAll%s(p *%sAppender, v *%sValue) *%sAppender {", n, n, n, n, n)
	for _, f := range m.Fields {
		g.p("p.Set%s(v.%s)", f.GoName, f.GoName)
	}
	g.p("return p\n}\n")
	var bigs []string
	var first, second *Field
	for _, f := range m.Fields {
		if f.Type.IsFixed() {
			continue
		}
		if first == nil {
			first = f
		} else if second == nil {
			second = f
		}
		big := "bytes.Repeat([]byte{'x'}, 70000)"
		if f.Type.Kind == KString {
			big = "string(" + big + ")"
		}
		bigs = append(bigs, fmt.Sprintf("func(v *%sValue) { v.%s = %s }", n, f.GoName, big))
	}
	g.p(`// Test%[1]sAppenderMatchesAppend checks that Append%[1]s's setters and Finish
// write what the value's AppendTo writes, after existing bytes, allocating
// nothing, also for records past the compact form's 32767 bytes.
func Test%[1]sAppenderMatchesAppend(t *testing.T) {
	values := []%[1]sValue{empty%[1]s(), sample%[1]s()}
	for _, big := range []func(*%[1]sValue){%[2]s} {
		v := sample%[1]s()
		big(&v)
		values = append(values, v)
	}
	for i, v := range values {
		direct, err := v.AppendTo([]byte("prefix"))
		if err != nil {
			t.Fatalf("value %%d: %%v", i, err)
		}
		out, err := appendAll%[1]s(Append%[1]s([]byte("prefix")), &v).Finish()
		if err != nil || !bytes.Equal(out, direct) {
			t.Fatalf("value %%d: the direct builder and AppendTo encode differently: %%v\n%%x\n%%x", i, err, direct, out)
		}
		buf := make([]byte, 0, 2*len(direct))
		if a := testing.AllocsPerRun(10, func() {
			if _, err := appendAll%[1]s(Append%[1]s(buf[:0]), &v).Finish(); err != nil {
				t.Fatal(err)
			}
		}); a != 0 && !flyweight.Debug { // -tags psdebug's checks allocate
			t.Errorf("value %%d: the direct builder allocates %%v times", i, a)
		}
	}
`, n, strings.Join(bigs, ", "))
	if first != nil {
		mistakes := []struct{ calls, field, sentinel string }{
			{fmt.Sprintf("p.Set%s(v.%s).Set%s(v.%s)", first.GoName, first.GoName, first.GoName, first.GoName), first.Name, "ErrSetTwice"},
		}
		if second != nil {
			mistakes = append(mistakes, struct{ calls, field, sentinel string }{fmt.Sprintf("p.Set%s(v.%s).Set%s(v.%s)", second.GoName, second.GoName, first.GoName, first.GoName), first.Name, "ErrBuildOrder"})
		}
		for _, mk := range mistakes {
			g.p(`	{
		v := sample%[1]s()
		p := Append%[1]s([]byte("prefix"))
		%[2]s
		out, err := p.Finish()
		if e, ok := err.(*flyweight.Error); !ok || e.Err != flyweight.%[4]s || e.Field != %[3]q || e.Offset != len("prefix") || string(out) != "prefix" {
			t.Fatalf("%[2]s: got %%q, %%v; want the prefix and flyweight.%[4]s naming %[3]s at offset 6 (where the record began)", out, err)
		}
	}
`, n, mk.calls, mk.field, mk.sentinel)
		}
	}
	g.p("}\n")
	g.testAppenderPartial(m)
	g.p(`// Test%[1]sAppenderAfterFinish checks that -tags psdebug reports a direct
// builder used after Finish, naming the mistake.
func Test%[1]sAppenderAfterFinish(t *testing.T) {
	if !flyweight.Debug {
		t.Skip("checked under -tags psdebug")
	}
	v := sample%[1]s()
	p := appendAll%[1]s(Append%[1]s(nil), &v)
	if _, err := p.Finish(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		msg, _ := recover().(string)
		if !bytes.Contains([]byte(msg), []byte("%[1]sAppender.Finish called after Finish")) {
			t.Fatalf("a second Finish: panic %%q, want one naming the mistake", msg)
		}
	}()
	_, _ = p.Finish()
}
`, n)
}

// testAppenderPartial emits Test%sAppenderPartial: a direct builder with
// fields left unset writes what the staged builder (which starts from the
// schema defaults) writes with the same fields set, so the defaults and the
// empty slot table AppendX begins with are checked (appendAll sets every
// field, which hides them). The subsets: none, every other field (both
// parities), the fixed fields only.
func (g *gen) testAppenderPartial(m *Record) {
	n := m.Name
	subsets := [][]string{{}}
	var even, odd, fixed []string
	for i, f := range m.Fields {
		call := fmt.Sprintf("Set%s(v.%s)", f.GoName, f.GoName)
		if i%2 == 0 {
			even = append(even, call)
		} else {
			odd = append(odd, call)
		}
		if f.Type.IsFixed() {
			fixed = append(fixed, call)
		}
	}
	seen := map[string]bool{"": true}
	for _, sub := range [][]string{even, odd, fixed} {
		k := strings.Join(sub, ".")
		if !seen[k] && len(sub) < len(m.Fields) {
			seen[k] = true
			subsets = append(subsets, sub)
		}
	}
	sample := "v := sample" + n + "()"
	if len(subsets) == 1 {
		sample = "// Only the empty case: a message of at most one field has no other subset than none and all (appendAll)."
	}
	g.p(`// Test%[1]sAppenderPartial checks that Append%[1]s with fields left unset
// writes what Build%[1]s (which starts from the schema defaults) writes
// with the same fields set: the defaults and the empty slots a direct
// builder begins with.
func Test%[1]sAppenderPartial(t *testing.T) {
	%[2]s
	for i, c := range []struct {
		direct func(*%[1]sAppender) *%[1]sAppender
		staged func(*%[1]sBuilder) *%[1]sBuilder
	}{`, n, sample)
	for _, sub := range subsets {
		calls := ""
		if len(sub) > 0 {
			calls = "." + strings.Join(sub, ".")
		}
		g.p("{func(p *%[1]sAppender) *%[1]sAppender { return p%[2]s }, func(p *%[1]sBuilder) *%[1]sBuilder { return p%[2]s }},", n, calls)
	}
	g.p(`} {
		var w flyweight.Builder
		want, err := c.staged(Build%[1]s(&w)).Finish()
		if err != nil {
			t.Fatalf("case %%d: %%v", i, err)
		}
		got, err := c.direct(Append%[1]s([]byte("prefix"))).Finish()
		if err != nil || !bytes.Equal(got, append([]byte("prefix"), want...)) {
			t.Fatalf("case %%d: the direct and the staged builder encode differently: %%v\n%%x\n%%x", i, err, want, got[min(len(got), 6):])
		}
	}
}
`, n)
}
