package codecgen

import (
	"fmt"
	"os"
	"strconv"
)

// ParseFile reads and parses the schema at path; see Parse.
func ParseFile(path string) (*Schema, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, src)
}

// Parse parses and checks a schema. name is used in positions. Errors are
// returned as ErrorList (every error found, each at file:line:col).
func Parse(name string, src []byte) (*Schema, error) {
	toks, err := lex(name, src)
	if err != nil {
		return nil, ErrorList{err.(*Error)}
	}
	p := &parser{toks: toks}
	s := p.file(name)
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	if errs := check(s); len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

type parser struct {
	toks []tok
	i    int
	errs ErrorList
}

type bailout struct{}

func (p *parser) peek() tok { return p.toks[p.i] }

func (p *parser) next() tok {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) fail(pos Pos, format string, args ...any) {
	p.errs = append(p.errs, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
	panic(bailout{})
}

func describe(t tok) string {
	if t.kind == tEOF {
		return "end of file"
	}
	return strconv.Quote(t.text)
}

func (p *parser) expect(text string) tok {
	t := p.next()
	if t.text != text || t.kind == tEOF {
		p.fail(t.pos, "expected %q, found %s", text, describe(t))
	}
	return t
}

func (p *parser) ident(what string) tok {
	t := p.next()
	if t.kind != tIdent {
		p.fail(t.pos, "expected %s, found %s", what, describe(t))
	}
	return t
}

func (p *parser) integer(what string, min, max int64) (int64, Pos) {
	t := p.next()
	neg := false
	if t.text == "-" {
		neg = true
		t = p.next()
	}
	if t.kind == tChar && !neg { // 'A': its ASCII code (char enums)
		r, _, _, _ := strconv.UnquoteChar(t.text[1:len(t.text)-1], '\'')
		if int64(r) < min || int64(r) > max {
			p.fail(t.pos, "%s %s out of range [%d, %d]", what, t.text, min, max)
		}
		return int64(r), t.pos
	}
	if t.kind != tInt {
		p.fail(t.pos, "expected %s (an integer), found %s", what, describe(t))
	}
	v, err := strconv.ParseInt(t.text, 0, 64)
	if neg {
		v = -v
	}
	if err != nil || v < min || v > max {
		p.fail(t.pos, "%s %s out of range [%d, %d]", what, t.text, min, max)
	}
	return v, t.pos
}

// file parses the whole schema; syntax errors stop at the first one.
func (p *parser) file(name string) (s *Schema) {
	s = &Schema{Path: name}
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(bailout); !ok {
				panic(r)
			}
		}
	}()
	pk := p.expect("package")
	s.Doc = pk.doc
	n := p.ident("package name")
	s.Package, s.PkgPos = n.text, n.pos
	p.expect(";")
	p.expect("schema")
	id, _ := p.integer("schema id", 0, 1<<32-1)
	s.ID = uint32(id)
	p.expect("version")
	v, _ := p.integer("schema version", 1, 1<<16-1)
	s.Version = int(v)
	p.expect(";")
	for p.peek().kind != tEOF {
		t := p.next()
		switch t.text {
		case "enum", "bitset":
			p.enum(s, t)
		case "struct":
			p.structDecl(s, t)
		case "message":
			p.message(s, t)
		case "service":
			p.service(s, t)
		default:
			p.fail(t.pos, "expected enum, bitset, struct, message or service, found %s", describe(t))
		}
	}
	return s
}

func (p *parser) enum(s *Schema, kw tok) {
	name := p.ident(kw.text + " name")
	p.expect(":")
	ut := p.ident("underlying integer type")
	k, ok := scalarNames[ut.text]
	isChar := ut.text == "char"
	if isChar && kw.text == "enum" {
		k, ok = KUint8, true // a char enum: values are ASCII characters ('A')
	}
	if !ok || k == KBool || k == KFloat32 || k == KFloat64 || (kw.text == "bitset" && k <= KInt64) {
		want := "an integer type"
		if kw.text == "bitset" {
			want = "an unsigned integer type"
		}
		p.fail(ut.pos, "%s %s: underlying type must be %s, not %q", kw.text, name.text, want, ut.text)
	}
	p.expect("{")
	var consts []*Const
	for p.peek().text != "}" {
		cn := p.ident("value name")
		p.expect("=")
		v, _ := p.integer("value", -1<<63, 1<<63-1)
		p.expect(";")
		consts = append(consts, &Const{Pos: cn.pos, Name: cn.text, Doc: cn.doc, Value: v})
	}
	p.expect("}")
	if kw.text == "enum" {
		s.Enums = append(s.Enums, &Enum{Pos: name.pos, Name: name.text, Doc: kw.doc, Underlying: k, Values: consts, Char: isChar})
	} else {
		s.Bitsets = append(s.Bitsets, &Bitset{Pos: name.pos, Name: name.text, Doc: kw.doc, Underlying: k, Bits: consts})
	}
}

func (p *parser) structDecl(s *Schema, kw tok) {
	name := p.ident("struct name")
	st := &Struct{Pos: name.pos, Name: name.text, Doc: kw.doc}
	p.expect("{")
	for p.peek().text != "}" {
		fn := p.ident("field name")
		f := &Field{Pos: fn.pos, Name: fn.text, Doc: fn.doc, Since: 1}
		f.Type = p.typ()
		if t := p.peek(); t.kind == tIdent && t.text == "optional" {
			p.next()
			f.Optional = true // a null sentinel value means absent
		}
		p.expect(";")
		st.Fields = append(st.Fields, f)
	}
	p.expect("}")
	s.Structs = append(s.Structs, st)
}

func (p *parser) message(s *Schema, kw tok) {
	name := p.ident("message name")
	p.expect("=")
	id, _ := p.integer("message type id", 0, 1<<32-1)
	r := &Record{Pos: name.pos, Name: name.text, Label: name.text, Doc: kw.doc, TypeID: uint32(id), IsMessage: true}
	r.Fields = p.fields(r)
	s.Messages = append(s.Messages, r)
}

// service parses "service Name { rpc ...; ... }". A method is
//
//	rpc Name(Req) returns (Resp) [= ID];                 unary
//	rpc Name(Req) returns (stream Resp) [= ID];          server stream
//	rpc Name(stream Req) returns (Resp) [= ID];          client stream
//	rpc Name(stream Req) returns (stream Resp) [= ID];   bidi
//	rpc Name(Req) oneway [= ID];                         fire-and-forget
func (p *parser) service(s *Schema, kw tok) {
	name := p.ident("service name")
	sv := &Service{Pos: name.pos, Name: name.text, Doc: kw.doc}
	p.expect("{")
	for p.peek().text != "}" {
		if p.peek().kind == tEOF {
			p.fail(p.peek().pos, "expected \"rpc\" or \"}\", found end of file")
		}
		r := p.next()
		if r.text != "rpc" {
			p.fail(r.pos, "service %s: expected \"rpc\" or \"}\", found %s", sv.Name, describe(r))
		}
		mn := p.ident("method name")
		m := &Method{Pos: mn.pos, Name: mn.text, Doc: r.doc}
		p.expect("(")
		reqStream := p.streamKw()
		rq := p.ident("request message name")
		m.ReqName, m.ReqPos = rq.text, rq.pos
		p.expect(")")
		switch t := p.next(); t.text {
		case "returns":
			p.expect("(")
			respStream := p.streamKw()
			rs := p.ident("response message name")
			m.RespName, m.RespPos = rs.text, rs.pos
			p.expect(")")
			switch {
			case reqStream && respStream:
				m.Kind = Bidi
			case reqStream:
				m.Kind = ClientStream
			case respStream:
				m.Kind = ServerStream
			default:
				m.Kind = Unary
			}
		case "oneway":
			if reqStream {
				p.fail(t.pos, "method %s.%s: a oneway method takes one request, not a stream", sv.Name, m.Name)
			}
			m.Kind = Oneway
		default:
			p.fail(t.pos, "method %s.%s: expected \"returns\" or \"oneway\", found %s", sv.Name, m.Name, describe(t))
		}
		if p.peek().text == "=" {
			p.next()
			id, pos := p.integer("method id", 1, 1<<32-1)
			m.ID, m.IDSet, m.IDPos = uint32(id), true, pos
		}
		p.expect(";")
		sv.Methods = append(sv.Methods, m)
	}
	p.expect("}")
	s.Services = append(s.Services, sv)
}

// streamKw consumes an optional "stream" before a message name.
func (p *parser) streamKw() bool {
	if t := p.peek(); t.kind == tIdent && t.text == "stream" && p.toks[p.i+1].kind == tIdent {
		p.next()
		return true
	}
	return false
}

// fields parses "{ field... }".
func (p *parser) fields(parent *Record) []*Field {
	p.expect("{")
	var fs []*Field
	for p.peek().text != "}" {
		if p.peek().kind == tEOF {
			p.fail(p.peek().pos, "expected a field or \"}\", found end of file")
		}
		fs = append(fs, p.field(parent))
	}
	p.expect("}")
	return fs
}

func (p *parser) field(parent *Record) *Field {
	first := p.next()
	if first.text == "group" && p.peek().kind == tIdent {
		name := p.ident("group name")
		f := &Field{Pos: name.pos, Name: name.text, Doc: first.doc, Since: 1, Type: &Type{Pos: first.pos, Kind: KGroup}}
		p.expect("=")
		p.fieldID(f)
		p.attrs(f)
		f.Group = &Record{Pos: name.pos, Doc: first.doc, Label: parent.Label + "." + name.text, Depth: parent.Depth + 1}
		f.Group.Fields = p.fields(f.Group)
		return f
	}
	if first.kind != tIdent {
		p.fail(first.pos, "expected a field name, found %s", describe(first))
	}
	f := &Field{Pos: first.pos, Name: first.text, Doc: first.doc, Since: 1}
	f.Type = p.typ()
	p.expect("=")
	p.fieldID(f)
	p.attrs(f)
	p.expect(";")
	return f
}

func (p *parser) fieldID(f *Field) {
	id, _ := p.integer("field id", 1, 1<<16-1)
	f.ID = int(id)
}

// attrs parses "optional", "since N" and "default V" in any order.
func (p *parser) attrs(f *Field) {
	seen := map[string]bool{}
	for {
		t := p.peek()
		if t.kind != tIdent || (t.text != "optional" && t.text != "since" && t.text != "default" && t.text != "deprecated" && t.text != "range" && t.text != "const" && t.text != "type") {
			if t.kind == tIdent {
				p.fail(t.pos, "field %s: unknown attribute %q (want optional, since, default, range, deprecated, const, or type for a group)", f.Name, t.text)
			}
			return
		}
		p.next()
		if seen[t.text] {
			p.fail(t.pos, "field %s: duplicate %q", f.Name, t.text)
		}
		seen[t.text] = true
		switch t.text {
		case "optional":
			f.Optional = true
		case "since":
			v, _ := p.integer("since version", 1, 1<<16-1)
			f.Since = int(v)
			f.SinceSet = true
		case "default":
			f.Default = p.literal()
		case "deprecated":
			f.Deprecated = true
		case "const":
			f.Const = p.literal()
		case "type":
			if f.Type.Kind != KGroup {
				p.fail(t.pos, "field %s: \"type\" names the element type of a group, and %s is not a group", f.Name, f.Name)
			}
			n := p.ident("group element type name")
			f.ElemName, f.ElemPos = n.text, n.pos
		case "range":
			r := &Range{Pos: t.pos, Min: p.literal()}
			if n := p.next(); n.text != ".." {
				p.fail(n.pos, "field %s: expected \"..\" in range MIN..MAX, found %s", f.Name, describe(n))
			}
			r.Max = p.literal()
			f.Range = r
		}
	}
}

func (p *parser) literal() *Literal {
	t := p.next()
	switch {
	case t.text == "-":
		n := p.next()
		if n.kind != tInt && n.kind != tFloat {
			p.fail(n.pos, "expected a number after \"-\", found %s", describe(n))
		}
		return &Literal{Pos: t.pos, Text: "-" + n.text}
	case t.kind == tInt || t.kind == tFloat || t.kind == tIdent || t.kind == tString:
		return &Literal{Pos: t.pos, Text: t.text}
	case t.kind == tChar: // its code, for char enums and uint8 fields
		r, _, _, _ := strconv.UnquoteChar(t.text[1:len(t.text)-1], '\'')
		return &Literal{Pos: t.pos, Text: strconv.Itoa(int(r))}
	}
	p.fail(t.pos, "expected a default value, found %s", describe(t))
	return nil
}

func (p *parser) typ() *Type {
	t := p.next()
	switch {
	case t.text == "[":
		if p.peek().text == "]" {
			p.next()
			elem := p.typ()
			return &Type{Pos: t.pos, Kind: KList, Elem: elem}
		}
		n, _ := p.integer("array length", 1, 1<<16-1)
		p.expect("]")
		elem := p.typ()
		return &Type{Pos: t.pos, Kind: KArray, Len: int(n), Elem: elem}
	case t.kind == tIdent:
		if t.text == "char" { // an ASCII character: uint8 on the wire; [N]char reads as a string
			return &Type{Pos: t.pos, Kind: KUint8, Char: true}
		}
		if k, ok := scalarNames[t.text]; ok {
			return &Type{Pos: t.pos, Kind: k}
		}
		switch t.text {
		case "string":
			return &Type{Pos: t.pos, Kind: KString}
		case "bytes":
			return &Type{Pos: t.pos, Kind: KBytes}
		}
		return &Type{Pos: t.pos, Kind: KNamed, Name: t.text}
	}
	p.fail(t.pos, "expected a type, found %s", describe(t))
	return nil
}

func itoa(i int) string { return strconv.Itoa(i) }
