package codecgen

import (
	"bytes"
	"fmt"
	"go/format"
	"strconv"
	"strings"
)

// GenerateTests returns the gofmt'd source of a test file for the code
// Generate produces: per message a round-trip test over sample values, a
// native fuzz target seeded with their encodings, and visitX helpers that
// call every accessor (usable by hand-written hostile-input tests).
func GenerateTests(s *Schema) ([]byte, error) {
	g := &gen{s: s}
	for _, m := range s.Messages {
		for _, r := range records(m) {
			g.sample(r)
			g.empty(r)
			g.visit(r)
		}
		g.testMessage(m)
		if hasAppender(m) {
			g.testAppender(m)
		}
	}
	var out bytes.Buffer
	out.WriteString(versionHeader(s))
	fmt.Fprintf(&out, "package %s\n\nimport (\n\"bytes\"\n\"reflect\"\n\"testing\"\n\n\"github.com/protosocket-go/protosocket/flyweight\"\n)\n\n", s.Package)
	out.Write(g.buf.Bytes())
	src, err := format.Source(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("codecgen: generated test code does not parse (a codecgen bug): %w\n%s", err, out.Bytes())
	}
	return src, nil
}

// sampleExpr returns a Go expression of a non-zero sample value of t.
func sampleExpr(t *Type, k int) string {
	switch t.Kind {
	case KBool:
		return "true"
	case KInt8, KInt16, KInt32, KInt64:
		return strconv.Itoa(-(k%100 + 1))
	case KUint8, KUint16, KUint32, KUint64:
		return strconv.Itoa(k%100 + 1)
	case KFloat32, KFloat64:
		return fmt.Sprintf("%d.5", k%100)
	case KEnum:
		v := t.Enum.Values[k%len(t.Enum.Values)]
		return t.Enum.Name + GoName(v.Name)
	case KBitset:
		v := t.Bitset.Bits[k%len(t.Bitset.Bits)]
		return t.Bitset.Name + GoName(v.Name)
	case KStruct:
		var parts []string
		for i, f := range t.Struct.Fields {
			parts = append(parts, f.GoName+": "+sampleExpr(f.Type, k+i+1))
		}
		return t.Struct.Name + "{" + strings.Join(parts, ", ") + "}"
	case KArray:
		var parts []string
		for i := 0; i < t.Len && i < 2; i++ {
			parts = append(parts, sampleExpr(t.Elem, k+i))
		}
		return goType(t) + "{" + strings.Join(parts, ", ") + "}"
	case KString:
		return strconv.Quote(fmt.Sprintf("s%d-ü", k))
	case KBytes:
		return "[]byte{0, 1, 0xff}"
	case KList:
		return goType(t) + "{" + sampleExpr(t.Elem, k) + ", " + sampleExpr(t.Elem, k+1) + "}"
	}
	return ""
}

func (g *gen) sample(r *Record) {
	n := r.Name
	g.p("// sample%s returns a %sValue with every field set.\nfunc sample%s() %sValue {\nreturn %sValue{", n, n, n, n, n)
	for i, f := range r.Fields {
		if f.Type.Kind == KGroup {
			g.p("%s: []%sValue{sample%s(), empty%s()},", f.GoName, f.Group.Name, f.Group.Name, f.Group.Name)
			continue
		}
		if f.Range != nil {
			g.p("%s: %s,", f.GoName, f.Range.Min.Text) // in range
		} else {
			g.p("%s: %s,", f.GoName, sampleExpr(f.Type, i+1))
		}
		if f.Optional {
			g.p("Has%s: true,", f.GoName)
		}
	}
	g.p("}\n}\n")
}

// empty emits emptyR: the value with no field set, except that fields
// with a range hold their minimum (zero may lie outside the range).
func (g *gen) empty(r *Record) {
	n := r.Name
	g.p("// empty%s returns a %sValue with no field set, except ranged fields at\n// their minimum, so that it validates.\nfunc empty%s() %sValue {\nreturn %sValue{", n, n, n, n, n)
	for _, f := range r.Fields {
		if f.Range != nil && !f.Optional {
			g.p("%s: %s,", f.GoName, f.Range.Min.Text)
		}
	}
	g.p("}\n}\n")
}

func (g *gen) visit(r *Record) {
	n := r.Name
	g.p("// visit%s calls every accessor of m and iterates every group; it returns a\n// number derived from what it read so the calls are not optimized away.\nfunc visit%s(m %s) int {\nn := len(m.Bytes())", n, n, n)
	for _, f := range r.Fields {
		fn, t := f.GoName, f.Type
		if f.Optional && !t.IsFixed() {
			g.p("if m.Has%s() {\nn++\n}", fn)
		}
		switch {
		case t.IsFixed() && f.Optional:
			g.p("if _, ok := m.%s(); ok {\nn++\n}", fn)
		case t.IsFixed():
			g.p("_ = m.%s()", fn)
		case t.Kind == KString:
			g.p("n += len(m.%s()) + len(m.%sView()) + len(m.%sBytes())", fn, fn, fn)
		case t.Kind == KBytes:
			g.p("n += len(m.%s())", fn)
		case t.Kind == KList:
			g.p("for i := -1; i <= m.%sLen(); i++ {\n_ = m.%sAt(i)\n}\nfor i := range m.%sAll() {\nn += i\n}\nn += len(m.Append%s(nil))", fn, fn, fn, fn)
		case t.Kind == KGroup:
			g.p("if gr := m.%s(); gr.Len() >= 0 {\nn += gr.Len()\nfor i := -1; i <= gr.Len(); i++ {\nn += visit%s(gr.At(i))\n}\nfor i, e := range gr.All() {\nn += i + len(e.Bytes())\n}\nfor e := range gr.Values() {\nn += len(e.Bytes())\n}\n}", fn, f.Group.Name)
		}
	}
	for _, f := range r.Consts {
		g.p("_ = m.%s()", f.GoName)
	}
	for _, f := range r.Fields {
		if isCharArray(f.Type) {
			g.p("n += len(m.%sString())", f.GoName)
		}
	}
	g.p("if m.Validate() == nil {\nn++\n}\nn += len(m.String())\nreturn n\n}\n")
}

func (g *gen) testMessage(m *Record) {
	// A Wrap that checks only the record itself must reject exactly what the
	// generic record check rejects; one that also validates lists or groups
	// may reject more.
	agree := "(err == nil) != (gerr == nil)"
	if needsDeep(m) {
		agree = "err == nil && gerr != nil"
	}
	n := m.Name
	tmpl := `// Test%sRoundTrip builds sample values, wraps them and checks that every
// field reads back.
func Test%sRoundTrip(t *testing.T) {
	for i, want := range EMPTYSAMPLE {
		b, err := want.AppendTo(nil)
		if err != nil {
			t.Fatalf("sample %%d: build: %%v", i, err)
		}
		m, err := Wrap%s(b)
		if err != nil {
			t.Fatalf("sample %%d: wrap: %%v", i, err)
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("sample %%d: validate: %%v", i, err)
		}
		if got := m.ToValue(); !reflect.DeepEqual(got, want) {
			t.Fatalf("sample %%d: read back\n%%+v\nwant\n%%+v", i, got, want)
		}
		if visit%s(m) == 0 || m.String() == "" {
			t.Fatalf("sample %%d: empty visit or dump", i)
		}
	}
}

// Fuzz%s wraps arbitrary bytes; whatever Wrap accepts must survive every
// accessor and re-encode to a message that wraps and re-encodes identically.
// Wrap's specialised path must agree with the generic record check
// (flyweight.WrapRecord) and give the same reader.
func Fuzz%s(f *testing.F) {
	for _, v := range EMPTYSAMPLE {
		b, err := v.AppendTo(nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Wrap%s(b)
		r, gerr := flyweight.WrapRecord(b, "", nil)
		if %s {
			t.Fatalf("Wrap and the generic record check disagree: %%v, %%v", err, gerr)
		}
		if err != nil {
			return
		}
		if g := %sFromRecord(r); len(g.b) != len(m.b) || cap(g.b) != cap(m.b) || g.ns != m.ns {
			t.Fatalf("Wrap and the generic record check give different readers")
		}
		visit%s(m)
		v := m.ToValue()
		out, err := v.AppendTo(nil)
		if err != nil {
			t.Fatalf("re-encode: %%v", err)
		}
		m2, err := Wrap%s(out)
		if err != nil {
			t.Fatalf("re-encoded message does not wrap: %%v", err)
		}
		v2 := m2.ToValue()
		out2, err := v2.AppendTo(nil)
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("re-encoding is not stable: %%v", err)
		}
		var bb flyweight.Builder
		v.buildInto(Build%s(&bb))
		if bb.Err() != nil || !bytes.Equal(bb.Bytes(), out) {
			t.Fatalf("AppendTo and the Builder encode differently: %%v", bb.Err())
		}
	})
}

// Test%sAppendMatchesBuilder checks that AppendTo writes exactly what the
// Builder path writes, after existing bytes.
func Test%sAppendMatchesBuilder(t *testing.T) {
	for i, v := range EMPTYSAMPLE {
		direct, err := v.AppendTo([]byte("prefix"))
		if err != nil {
			t.Fatalf("sample %%d: %%v", i, err)
		}
		var b flyweight.Builder
		b.Reset([]byte("prefix"))
		v.buildInto(Build%s(&b))
		if b.Err() != nil || !bytes.Equal(direct, b.Bytes()) {
			t.Fatalf("sample %%d: AppendTo and the Builder encode differently: %%v\n%%x\n%%x", i, b.Err(), direct, b.Bytes())
		}
	}
}
`
	if staged(m) {
		g.refBuild(m)
		// The one-pass encoders may choose the compact form; the runtime's
		// generic RecordWriter writes the standard one: compare what they
		// read back as.
		tmpl = strings.ReplaceAll(tmpl, `		var bb flyweight.Builder
		v.buildInto(Build%s(&bb))
		if bb.Err() != nil || !bytes.Equal(bb.Bytes(), out) {`, `		var bb flyweight.Builder
		refBuild%s(&bb, &v)
		m3, err := WRAPN(bb.Bytes())
		v3 := m3.ToValue()
		out3, err3 := v3.AppendTo(nil)
		if bb.Err() != nil || err != nil || err3 != nil || !bytes.Equal(out3, out) { // bytes: NaN != NaN`)
		tmpl = strings.ReplaceAll(tmpl, `		var b flyweight.Builder
		b.Reset([]byte("prefix"))
		v.buildInto(Build%s(&b))
		if b.Err() != nil || !bytes.Equal(direct, b.Bytes()) {`, `		var b flyweight.Builder
		b.Reset([]byte("prefix"))
		refBuild%s(&b, &v)
		m1, err1 := WRAPN(direct[len("prefix"):])
		m2, err2 := WRAPN(b.Bytes()[len("prefix"):])
		v2 := m2.ToValue()
		again, err3 := v2.AppendTo([]byte("prefix"))
		if b.Err() != nil || err1 != nil || err2 != nil || err3 != nil || !bytes.Equal(again, direct) || !reflect.DeepEqual(m1.ToValue(), v) {`)
		tmpl += `
// Test%sSettersMatchAppend checks that the builder's setters with Finish,
// and with the builder's own AppendTo, write what the value's AppendTo
// writes, after existing bytes, and allocate nothing.
func Test%sSettersMatchAppend(t *testing.T) {
	for i, v := range EMPTYSAMPLE {
		direct, err := v.AppendTo([]byte("prefix"))
		if err != nil {
			t.Fatalf("sample %%d: %%v", i, err)
		}
		var b flyweight.Builder
		b.Reset([]byte("prefix"))
		out, err := setAll%s(Build%s(&b), &v).Finish()
		if err != nil || !bytes.Equal(direct, b.Bytes()) || !bytes.Equal(out, direct[len("prefix"):]) {
			t.Fatalf("sample %%d: the setters and AppendTo encode differently: %%v\n%%x\n%%x", i, err, direct, b.Bytes())
		}
		buf := make([]byte, 0, 2*len(direct))
		if a := testing.AllocsPerRun(10, func() {
			b.Reset(buf)
			if _, err := setAll%s(Build%s(&b), &v).Finish(); err != nil {
				t.Fatal(err)
			}
		}); a != 0 && !flyweight.Debug { // -tags psdebug's checks allocate
			t.Errorf("sample %%d: building allocates %%v times", i, a)
		}
		// The builder's AppendTo, without a flyweight.Builder.
		var zb BUILDERT
		alone, err := SETALLN(&zb, &v).AppendTo([]byte("prefix"))
		if err != nil || !bytes.Equal(alone, direct) {
			t.Fatalf("sample %%d: the setters and the builder's AppendTo encode differently: %%v\n%%x\n%%x", i, err, direct, alone)
		}
		if a := testing.AllocsPerRun(10, func() {
			var p BUILDERT
			if _, err := SETALLN(&p, &v).AppendTo(buf[:0]); err != nil {
				t.Fatal(err)
			}
		}); a != 0 && !flyweight.Debug { // -tags psdebug's checks allocate
			t.Errorf("sample %%d: the builder's AppendTo allocates %%v times", i, a)
		}
	}
}
`
		tmpl = strings.ReplaceAll(tmpl, "BUILDERT", n+"Builder")
		tmpl = strings.ReplaceAll(tmpl, "SETALLN(", "setAll"+n+"(")
	}
	tmpl = strings.ReplaceAll(tmpl, "WRAPN(", "Wrap"+n+"(")
	tmpl = strings.ReplaceAll(tmpl, "EMPTYSAMPLE", "[]"+n+"Value{empty"+n+"(), sample"+n+"()}")
	if staged(m) {
		g.p(tmpl, n, n, n, n, n, n, n, agree, lowerFirst(n), n, n, n, n, n, n, n, n, n, n, n, n)
		return
	}
	g.p(tmpl, n, n, n, n, n, n, n, agree, lowerFirst(n), n, n, n, n, n, n)
}

// refBuild emits refBuildX, which writes a value of staged message m
// through the flyweight runtime's generic RecordWriter (the streaming
// builder's path), and setAllX, which sets every field through the
// generated builder: the generated tests check that both write what
// AppendTo writes.
func (g *gen) refBuild(m *Record) {
	n := m.Name
	g.p("// refBuild%s writes v through the runtime's generic RecordWriter.\nfunc refBuild%s(b *flyweight.Builder, v *%sValue) {\nw := b.BeginRecord(%sLayout)", n, n, n, lowerFirst(n))
	for _, f := range m.Fields {
		if f.Type.IsFixed() {
			g.write(f.Type, "w", "v."+f.GoName, strconv.Itoa(f.Offset))
		}
	}
	for _, f := range m.Fields {
		if f.Type.IsFixed() {
			continue
		}
		present := "len(v." + f.GoName + ") > 0"
		if f.Optional {
			present = "v.Has" + f.GoName
		}
		set := "SetString"
		if f.Type.Kind == KBytes {
			set = "SetBytes"
		}
		g.p("if %s {\nw.%s(%d, v.%s)\n}", present, set, f.Slot, f.GoName)
	}
	g.p("_, _ = w.Finish() // errors stay in b (b.Err)\n}\n")
	g.p("// setAll%s sets every field of v through p.\nfunc setAll%s(p *%sBuilder, v *%sValue) *%sBuilder {", n, n, n, n, n)
	for _, f := range m.Fields {
		if f.Optional {
			g.p("if v.Has%s {\np.Set%s(v.%s)\n}", f.GoName, f.GoName, f.GoName)
		} else {
			g.p("p.Set%s(v.%s)", f.GoName, f.GoName)
		}
	}
	g.p("return p\n}\n")
}
