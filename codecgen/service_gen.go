package codecgen

import (
	"fmt"
	"strconv"
	"strings"
)

// This file generates the typed RPC stubs of a schema's services over
// socket/rpc, shaped like protoc-gen-go-protosocket's (a server interface,
// Register<Service>, a client over *rpc.Client or balance.Pool, stream
// handles), with flyweight views and builders instead of decoded structs.
//
// A typed body on the wire is the message's type id (uint32, little
// endian) followed by the message's record (docs/schema.md, "Services"):
// a request or response of another message type is refused by comparing
// four bytes, before anything else is read.

const (
	rpcPath     = "github.com/protosocket-go/protosocket/socket/rpc"
	balancePath = "github.com/protosocket-go/protosocket/socket/rpc/balance"
)

type svcGen struct {
	*gen
	sv   *Service
	l    string // lower-case service name: the prefix of private helpers
	ctx  string // context.Context
	le   string // binary.LittleEndian
	errT string // rpc.Error
}

func (g *gen) service(sv *Service) {
	s := &svcGen{gen: g, sv: sv, l: lowerFirst(sv.Name), ctx: g.q("context", "Context"), le: g.le(), errT: g.q(rpcPath, "Error")}
	s.ids()
	s.serverInterface()
	s.register()
	for _, m := range sv.Methods {
		if isStream(m) {
			s.serverStream(m)
			s.clientStream(m)
		}
	}
	s.client()
	s.helpers()
}

func isStream(m *Method) bool {
	return m.Kind == ServerStream || m.Kind == ClientStream || m.Kind == Bidi
}

func (s *svcGen) full(m *Method) string { return m.FullName(s.s, s.sv) }

func (s *svcGen) idConst(m *Method) string { return s.sv.Name + m.Name + "Method" }

func (s *svcGen) ids() {
	s.p("// Method ids of service %s: the rpc method ids (the frames' type ids) of", s.sv.Name)
	s.p("// its methods, as written in the schema or derived (codecgen.MethodID, the")
	s.p("// FNV-1a 32-bit hash of \"/package.Service/Method\").")
	s.p("const (")
	for _, m := range s.sv.Methods {
		how := "derived"
		if m.IDSet {
			how = "explicit"
		}
		s.p("// %s is the id of %s (%s, %s).", s.idConst(m), s.full(m), m.Kind, how)
		s.p("%s uint32 = %#x", s.idConst(m), m.ID)
	}
	s.p(")\n")
}

func (s *svcGen) methodDoc(m *Method, indent string) {
	s.p("%s// %s serves %s (%s).", indent, m.Name, s.full(m), m.Kind)
	if m.Doc != "" {
		s.p("%s//", indent)
		for _, l := range splitLines(m.Doc) {
			s.p("%s// %s", indent, l)
		}
	}
}

func (s *svcGen) serverInterface() {
	n := s.sv.Name
	s.p("// %sServer is the server API of service %s over socket/rpc; register an", n, n)
	s.p("// implementation with Register%s.", n)
	s.p("//")
	s.p("// Lifetimes: a request view is valid until the method returns (it reads the")
	s.p("// connection's pooled read buffer); a response builder writes into the")
	s.p("// response buffer and must not be used after the method returns; a stream")
	s.p("// handle is valid until the method returns. Copy what you keep (a view's")
	s.p("// ToValue, or its strings). Return an *rpc.Error to choose the code the")
	s.p("// caller sees; any other error is rpc.CodeUnknown (see rpc.Handler).")
	if s.sv.Doc != "" {
		s.p("//")
		for _, l := range splitLines(s.sv.Doc) {
			s.p("// %s", l)
		}
	}
	s.p("type %sServer interface {", n)
	for _, m := range s.sv.Methods {
		s.methodDoc(m, "\t")
		switch m.Kind {
		case Unary:
			s.p("\t// resp is begun in the response buffer: set its fields; returning nil sends it.")
			s.p("\t%s(ctx %s, req %s, resp %s) error", m.Name, s.ctx, m.Request.Name, bt(m.Response))
		case Oneway:
			s.p("\t// No response is sent; an error returned is dropped.")
			s.p("\t%s(ctx %s, req %s) error", m.Name, s.ctx, m.Request.Name)
		case ServerStream:
			s.p("\t// Send the responses on stream; returning ends the stream (nil: normally).")
			s.p("\t%s(ctx %s, req %s, stream *%s%sServerStream) error", m.Name, s.ctx, m.Request.Name, n, m.Name)
		case ClientStream:
			s.p("\t// Recv the requests from stream until io.EOF; set resp's fields; returning nil sends it.")
			s.p("\t%s(ctx %s, stream *%s%sServerStream, resp %s) error", m.Name, s.ctx, n, m.Name, bt(m.Response))
		case Bidi:
			s.p("\t// Recv and Send on stream (Recv and Send may run on two goroutines at once).")
			s.p("\t%s(ctx %s, stream *%s%sServerStream) error", m.Name, s.ctx, n, m.Name)
		}
	}
	s.p("}\n")
}

// unwrap writes the check of a typed body b (the expression) against
// message r and the Wrap into the variable v; on failure it runs ret with
// the error expression.
func (s *svcGen) unwrap(b, v string, r *Record, m *Method, what string, ret func(err string)) {
	s.p("if len(%s) < 4 || %s.Uint32(%s) != %sTypeID {", b, s.le, b, r.Name)
	ret(fmt.Sprintf("%sWrongType(%q, %q, %sTypeID, %s)", s.l, s.full(m), what, r.Name, b))
	s.p("}")
	s.p("%s, err := Wrap%s(%s[4:])", v, r.Name, b)
	s.p("if err != nil {")
	ret(fmt.Sprintf("%sInvalid(%q, %q, err)", s.l, s.full(m), what))
	s.p("}")
}

func (s *svcGen) register() {
	n := s.sv.Name
	s.p("// %sMethodMode overrides the mode (rpc.Inline or rpc.Pooled) of one unary", n)
	s.p("// or oneway method of service %s in Register%s.", n, n)
	s.p("type %sMethodMode struct {", n)
	s.p("Method uint32 // a %s...Method id", n)
	s.p("Mode   %s", s.q(rpcPath, "Mode"))
	s.p("}\n")
	s.p("// Register%s registers impl's methods on srv under their method ids.", n)
	s.p("// Unary and oneway methods run in mode: rpc.Pooled (the default to choose")
	s.p("// when unsure: handlers that may block) or rpc.Inline (cheap handlers that")
	s.p("// never block, run on the connection's reader); streaming methods run on")
	s.p("// their own goroutines. A request of another message type (its type id) or")
	s.p("// one that does not validate as the method's request is answered with")
	s.p("// rpc.CodeInvalidArgument without calling impl; a response that fails to")
	s.p("// build is rpc.CodeInternal (the connection is kept). A steady-state unary")
	s.p("// call allocates nothing here (with rpc.ServerOptions.ReuseContexts).")
	s.p("// overrides set the mode of single methods: %sMethodMode{%s, rpc.Pooled}.", n, s.idConst(s.sv.Methods[0]))
	s.p("func Register%s(srv *%s, impl %sServer, mode %s, overrides ...%sMethodMode) {", n, s.q(rpcPath, "Server"), n, s.q(rpcPath, "Mode"), n)
	hasUnary := false
	for _, m := range s.sv.Methods {
		hasUnary = hasUnary || m.Kind == Unary || m.Kind == Oneway
	}
	if hasUnary {
		s.p("modeOf := func(method uint32) %s {", s.q(rpcPath, "Mode"))
		s.p("for _, o := range overrides {")
		s.p("if o.Method == method {")
		s.p("return o.Mode")
		s.p("}")
		s.p("}")
		s.p("return mode")
		s.p("}")
	}
	for _, m := range s.sv.Methods {
		switch m.Kind {
		case Unary, Oneway:
			s.p("srv.Handle(%s, func(ctx %s, req, dst []byte) ([]byte, error) {", s.idConst(m), s.ctx)
			s.unwrap("req", "in", m.Request, m, "request", func(e string) { s.p("return dst, %s", e) })
			if m.Kind == Oneway {
				s.p("return dst, impl.%s(ctx, in)", m.Name)
			} else {
				s.p("b := %sBegin(dst, %sTypeID)", s.l, m.Response.Name)
				s.beginResp(m.Response)
				s.p("err = impl.%s(ctx, in, resp)", m.Name)
				s.p("_, berr := resp.Finish()")
				s.endResp(m.Response)
				s.p("out := %sEnd(b)", s.l)
				s.p("if err != nil {")
				s.p("return dst, err")
				s.p("}")
				s.p("if berr != nil {")
				s.p("return dst, %sBuildFailed(%q, berr)", s.l, s.full(m))
				s.p("}")
				s.p("return out, nil")
			}
			s.p("}, modeOf(%s))", s.idConst(m))
		case ServerStream:
			s.p("srv.HandleStream(%s, func(ctx %s, st *%s) error {", s.idConst(m), s.ctx, s.q(rpcPath, "ServerStream"))
			s.p("ss := &%s%sServerStream{st: st}", n, m.Name)
			s.p("b, err := st.Recv(nil)")
			s.p("if err != nil {")
			s.p("if err == %s {", s.q("io", "EOF"))
			s.p("return %sInvalid(%q, \"request\", %s(\"the stream ended before its request\"))", s.l, s.full(m), s.q("errors", "New"))
			s.p("}")
			s.p("return err")
			s.p("}")
			s.unwrap("b", "in", m.Request, m, "request", func(e string) { s.p("return %s", e) })
			s.p("defer ss.done.Store(true)")
			s.p("return impl.%s(ctx, in, ss)", m.Name)
			s.p("})")
		case ClientStream:
			s.p("srv.HandleStream(%s, func(ctx %s, st *%s) error {", s.idConst(m), s.ctx, s.q(rpcPath, "ServerStream"))
			s.p("ss := &%s%sServerStream{st: st}", n, m.Name)
			s.p("b := %sBegin(nil, %sTypeID)", s.l, m.Response.Name)
			s.beginResp(m.Response)
			s.p("err := impl.%s(ctx, ss, resp)", m.Name)
			s.p("ss.done.Store(true)")
			s.p("_, berr := resp.Finish()")
			s.endResp(m.Response)
			s.p("out := b.Bytes()")
			s.p("if err == nil && berr != nil {")
			s.p("err = %sBuildFailed(%q, berr)", s.l, s.full(m))
			s.p("}")
			s.p("if err == nil {")
			s.p("err = st.Send(out)")
			s.p("}")
			s.p("%sEnd(b)", s.l)
			s.p("return err")
			s.p("})")
		case Bidi:
			s.p("srv.HandleStream(%s, func(ctx %s, st *%s) error {", s.idConst(m), s.ctx, s.q(rpcPath, "ServerStream"))
			s.p("ss := &%s%sServerStream{st: st}", n, m.Name)
			s.p("defer ss.done.Store(true)")
			s.p("return impl.%s(ctx, ss)", m.Name)
			s.p("})")
		}
	}
	s.p("}\n")
}

// sendSide writes Begin and Send for the messages of type r a stream
// handle sends.
func (s *svcGen) sendSide(typ string, r *Record, m *Method) {
	s.p("// Begin begins the next %s to Send, in the stream's send buffer (reused by", r.Name)
	s.p("// each Begin: a builder is valid until the next Begin).")
	s.p("func (s *%s) Begin() %s {", typ, bt(r))
	if strings.HasSuffix(typ, "ServerStream") {
		s.p("s.check()")
	}
	s.p("buf := s.b.Bytes()")
	s.p("s.b.Reset(%s.AppendUint32(buf[:0], %sTypeID))", s.le, r.Name)
	if staged(r) {
		s.p("s.mb = *Build%s(&s.b)", r.Name)
		s.p("return &s.mb")
	} else {
		s.p("return Build%s(&s.b)", r.Name)
	}
	s.p("}\n")
	s.p("// Send finishes m (from Begin) and sends it, waiting for the peer's credit.")
	s.p("// A message that fails to build is returned as the builder's error, unsent.")
	s.p("func (s *%s) Send(m %s) error {", typ, bt(r))
	if strings.HasSuffix(typ, "ServerStream") {
		s.p("s.check()")
	}
	s.p("if _, err := m.Finish(); err != nil {")
	s.p("return err")
	s.p("}")
	s.p("return s.st.Send(s.b.Bytes())")
	s.p("}\n")
}

// recvSide writes Recv for the messages of type r a stream handle
// receives; bad is the error helper for a wrong or invalid message.
func (s *svcGen) recvSide(typ string, r *Record, m *Method, what string) {
	s.p("// Recv returns the next %s: a view into the stream's receive buffer, valid", r.Name)
	s.p("// until the next Recv. At the end of the peer's messages it returns io.EOF.")
	if what == "request" {
		s.p("// A message of another type or that does not validate is an *rpc.Error")
		s.p("// with rpc.CodeInvalidArgument (return it and the client sees it).")
	} else {
		s.p("// A message of another type is an error matching rpc.ErrProtocol; one")
		s.p("// that does not validate is the *flyweight.Error.")
	}
	s.p("func (s *%s) Recv() (%s, error) {", typ, r.Name)
	if strings.HasSuffix(typ, "ServerStream") {
		s.p("s.check()")
	}
	s.p("b, err := s.st.Recv(s.rbuf[:0])")
	s.p("if b != nil {")
	s.p("s.rbuf = b")
	s.p("}")
	s.p("if err != nil {")
	s.p("return %s{}, err", r.Name)
	s.p("}")
	if what == "request" {
		s.unwrap("b", "v", r, m, what, func(e string) { s.p("return %s{}, %s", r.Name, e) })
	} else {
		s.p("if len(b) < 4 || %s.Uint32(b) != %sTypeID {", s.le, r.Name)
		s.p("return %s{}, %sBadResponse(%q, %sTypeID, b)", r.Name, s.l, s.full(m), r.Name)
		s.p("}")
		s.p("v, err := Wrap%s(b[4:])", r.Name)
		s.p("if err != nil {")
		s.p("return %s{}, err", r.Name)
		s.p("}")
	}
	s.p("return v, nil")
	s.p("}\n")
}

func (s *svcGen) serverStream(m *Method) {
	typ := s.sv.Name + m.Name + "ServerStream"
	s.p("// %s is the server's side of a %s stream. It is valid until the", typ, s.full(m))
	s.p("// handler returns.")
	if m.Kind == Bidi {
		s.p("// Send and Recv may run on two goroutines at once, but neither on two.")
	}
	s.p("type %s struct {", typ)
	s.p("st   *%s", s.q(rpcPath, "ServerStream"))
	s.p("b    %s // the send buffer", s.q("github.com/protosocket-go/protosocket/flyweight", "Builder"))
	s.p("rbuf []byte")
	if (m.Kind == ServerStream || m.Kind == Bidi) && staged(m.Response) {
		s.p("mb   %sBuilder // the message Begin returns", m.Response.Name)
	}
	s.p("done %s // the handler returned: under -tags psdebug a later use panics", s.q("sync/atomic", "Bool"))
	s.p("}\n")
	s.p("// check panics, under -tags psdebug, on a use after the handler returned.")
	s.p("func (s *%s) check() {", typ)
	s.p("if %s && s.done.Load() {", s.q("github.com/protosocket-go/protosocket/pool", "Debug"))
	s.p("panic(%s)", strconv.Quote("protosocket: "+typ+" used after the "+s.full(m)+" handler returned (a stream handle is valid only until then)"))
	s.p("}")
	s.p("}\n")
	if m.Kind == ServerStream || m.Kind == Bidi {
		s.sendSide(typ, m.Response, m)
	}
	if m.Kind == ClientStream || m.Kind == Bidi {
		s.recvSide(typ, m.Request, m, "request")
	}
	s.p("// Draining is closed when the server drains: end the stream soon.")
	s.p("func (s *%s) Draining() <-chan struct{} { return s.st.Draining() }\n", typ)
}

func (s *svcGen) clientStream(m *Method) {
	typ := s.sv.Name + m.Name + "ClientStream"
	s.p("// %s is the client's side of a %s stream; Close it in any case.", typ, s.full(m))
	if m.Kind == Bidi {
		s.p("// Send and Recv may run on two goroutines at once, but neither on two.")
	}
	s.p("type %s struct {", typ)
	s.p("st   *%s", s.q(rpcPath, "ClientStream"))
	s.p("b    %s // the send buffer", s.q("github.com/protosocket-go/protosocket/flyweight", "Builder"))
	s.p("rbuf []byte")
	if (m.Kind == ClientStream || m.Kind == Bidi) && staged(m.Request) {
		s.p("mb   %sBuilder // the message Begin returns", m.Request.Name)
	}
	s.p("}\n")
	if m.Kind == ClientStream || m.Kind == Bidi {
		s.sendSide(typ, m.Request, m)
	}
	if m.Kind == ServerStream || m.Kind == Bidi {
		s.recvSide(typ, m.Response, m, "response")
	}
	if m.Kind == ClientStream {
		s.p("// CloseAndRecv ends the requests and returns the server's response, a view")
		s.p("// valid until the stream is closed. A stream that ends without one is")
		s.p("// io.ErrUnexpectedEOF.")
		s.p("func (s *%s) CloseAndRecv() (%s, error) {", typ, m.Response.Name)
		s.p("if err := s.st.CloseSend(); err != nil {")
		s.p("return %s{}, err", m.Response.Name)
		s.p("}")
		s.p("b, err := s.st.Recv(s.rbuf[:0])")
		s.p("s.rbuf = b")
		s.p("if err == %s {", s.q("io", "EOF"))
		s.p("return %s{}, %s", m.Response.Name, s.q("io", "ErrUnexpectedEOF"))
		s.p("}")
		s.p("if err != nil {")
		s.p("return %s{}, err", m.Response.Name)
		s.p("}")
		s.p("if len(b) < 4 || %s.Uint32(b) != %sTypeID {", s.le, m.Response.Name)
		s.p("return %s{}, %sBadResponse(%q, %sTypeID, b)", m.Response.Name, s.l, s.full(m), m.Response.Name)
		s.p("}")
		s.p("return Wrap%s(b[4:])", m.Response.Name)
		s.p("}\n")
	}
	if m.Kind == Bidi {
		s.p("// CloseSend ends the requests: the server's Recv returns io.EOF.")
		s.p("func (s *%s) CloseSend() error { return s.st.CloseSend() }\n", typ)
	}
	s.p("// Close ends the stream (canceling it on the server if it has not ended).")
	s.p("func (s *%s) Close() error { return s.st.Close() }\n", typ)
}

func (s *svcGen) client() {
	n := s.sv.Name
	rpcClient := s.q(rpcPath, "Client")
	md := s.q(rpcPath, "Metadata")
	cs := s.q(rpcPath, "ClientStream")
	s.p("// %sClient calls service %s over socket/rpc, on one connection", n, n)
	s.p("// (New%sClient) or on a balance.Pool (New%sPoolClient).", n, n)
	s.p("//")
	s.p("// A %sClient is not safe for concurrent use: it owns a request buffer and", n)
	s.p("// a response buffer that every call reuses, which is what makes a")
	s.p("// steady-state unary call allocation-free. Give each goroutine its own")
	s.p("// (they are cheap, and share the connection). A response view is valid")
	s.p("// until the next call on the client; a request builder from Begin<Method>")
	s.p("// until the next Begin.")
	s.p("type %sClient struct {", n)
	s.p("call func(ctx %s, method uint32, req, dst []byte) ([]byte, error)", s.ctx)
	s.p("send func(ctx %s, method uint32, req []byte) error", s.ctx)
	s.p("open func(ctx %s, method uint32, md %s) (*%s, error)", s.ctx, md, cs)
	s.p("b    %s", s.q("github.com/protosocket-go/protosocket/flyweight", "Builder"))
	s.p("resp []byte")
	seen := map[*Record]bool{}
	for _, m := range s.sv.Methods {
		if r := m.Request; m.Kind != ClientStream && m.Kind != Bidi && staged(r) && !seen[r] {
			seen[r] = true
			s.p("req%s %sBuilder // the request Begin<Method> returns", r.Name, r.Name)
		}
	}
	s.p("}\n")
	s.p("// New%sClient returns a client calling on c.", n)
	s.p("func New%sClient(c *%s) *%sClient {", n, rpcClient, n)
	s.p("return &%sClient{call: c.Call, send: c.Send, open: c.OpenStream}", n)
	s.p("}\n")
	s.p("// New%sPoolClient returns a client calling on p: each unary call goes", n)
	s.p("// through p.Call (a call refused as not processed is retried on another")
	s.p("// connection, up to the pool's MaxAttempts); oneway calls and streams go")
	s.p("// to p.Pick().")
	s.p("func New%sPoolClient(p *%s) *%sClient {", n, s.q(balancePath, "Pool"), n)
	s.p("return &%sClient{", n)
	s.p("call: func(ctx %s, method uint32, req, dst []byte) ([]byte, error) {", s.ctx)
	s.p("return p.Call(ctx, method, req, dst)")
	s.p("},")
	s.p("send: func(ctx %s, method uint32, req []byte) error {", s.ctx)
	s.p("c, err := p.Pick()")
	s.p("if err != nil {")
	s.p("return err")
	s.p("}")
	s.p("return c.Send(ctx, method, req)")
	s.p("},")
	s.p("open: func(ctx %s, method uint32, md %s) (*%s, error) {", s.ctx, md, cs)
	s.p("c, err := p.Pick()")
	s.p("if err != nil {")
	s.p("return nil, err")
	s.p("}")
	s.p("return c.OpenStream(ctx, method, md)")
	s.p("},")
	s.p("}")
	s.p("}\n")
	for _, m := range s.sv.Methods {
		if m.Kind != ClientStream && m.Kind != Bidi {
			s.p("// Begin%s begins the request of a %s call in the client's request", m.Name, m.Name)
			s.p("// buffer: set its fields and pass it to %s. It is valid until the next Begin.", m.Name)
			s.p("func (c *%sClient) Begin%s() %s {", n, m.Name, bt(m.Request))
			s.p("buf := c.b.Bytes()")
			s.p("c.b.Reset(%s.AppendUint32(buf[:0], %sTypeID))", s.le, m.Request.Name)
			if staged(m.Request) {
				s.p("c.req%s = *Build%s(&c.b)", m.Request.Name, m.Request.Name)
				s.p("return &c.req%s", m.Request.Name)
			} else {
				s.p("return Build%s(&c.b)", m.Request.Name)
			}
			s.p("}\n")
		}
		switch m.Kind {
		case Unary:
			s.p("// %s calls %s with req (from Begin%s). The response is a view into the", m.Name, s.full(m), m.Name)
			s.p("// client's response buffer, valid until the next call on c. An error from")
			s.p("// the server is an *rpc.Error; a response of another message type matches")
			s.p("// rpc.ErrProtocol; one that does not validate is the *flyweight.Error.")
			s.p("func (c *%sClient) %s(ctx %s, req %s) (%s, error) {", n, m.Name, s.ctx, bt(m.Request), m.Response.Name)
			s.p("if _, err := req.Finish(); err != nil {")
			s.p("return %s{}, err", m.Response.Name)
			s.p("}")
			s.p("out, err := c.call(ctx, %s, c.b.Bytes(), c.resp[:0])", s.idConst(m))
			s.p("if out != nil {")
			s.p("c.resp = out")
			s.p("}")
			s.p("if err != nil {")
			s.p("return %s{}, err", m.Response.Name)
			s.p("}")
			s.p("if len(out) < 4 || %s.Uint32(out) != %sTypeID {", s.le, m.Response.Name)
			s.p("return %s{}, %sBadResponse(%q, %sTypeID, out)", m.Response.Name, s.l, s.full(m), m.Response.Name)
			s.p("}")
			s.p("return Wrap%s(out[4:])", m.Response.Name)
			s.p("}\n")
		case Oneway:
			s.p("// %s sends req (from Begin%s) to %s, fire-and-forget: a nil", m.Name, m.Name, s.full(m))
			s.p("// result means it was queued; no response or server error comes back.")
			s.p("func (c *%sClient) %s(ctx %s, req %s) error {", n, m.Name, s.ctx, bt(m.Request))
			s.p("if _, err := req.Finish(); err != nil {")
			s.p("return err")
			s.p("}")
			s.p("return c.send(ctx, %s, c.b.Bytes())", s.idConst(m))
			s.p("}\n")
		case ServerStream:
			s.p("// %s opens a %s stream and sends req (from Begin%s); Recv the", m.Name, s.full(m), m.Name)
			s.p("// responses until io.EOF, and Close the stream. ctx bounds the whole stream.")
			s.p("func (c *%sClient) %s(ctx %s, req %s) (*%s%sClientStream, error) {", n, m.Name, s.ctx, bt(m.Request), n, m.Name)
			s.p("if _, err := req.Finish(); err != nil {")
			s.p("return nil, err")
			s.p("}")
			s.p("st, err := c.open(ctx, %s, nil)", s.idConst(m))
			s.p("if err != nil {")
			s.p("return nil, err")
			s.p("}")
			s.p("if err = st.Send(c.b.Bytes()); err == nil {")
			s.p("err = st.CloseSend()")
			s.p("}")
			s.p("// A server that already ended the stream normally (ErrStreamClosed)")
			s.p("// may have sent responses: Recv gives them, then io.EOF.")
			s.p("if err != nil && !%s(err, %s) {", s.q("errors", "Is"), s.q(rpcPath, "ErrStreamClosed"))
			s.p("_ = st.Close()")
			s.p("return nil, err")
			s.p("}")
			s.p("return &%s%sClientStream{st: st}, nil", n, m.Name)
			s.p("}\n")
		case ClientStream, Bidi:
			s.p("// %s opens a %s stream. ctx bounds the whole stream.", m.Name, s.full(m))
			s.p("func (c *%sClient) %s(ctx %s) (*%s%sClientStream, error) {", n, m.Name, s.ctx, n, m.Name)
			s.p("st, err := c.open(ctx, %s, nil)", s.idConst(m))
			s.p("if err != nil {")
			s.p("return nil, err")
			s.p("}")
			s.p("return &%s%sClientStream{st: st}, nil", n, m.Name)
			s.p("}\n")
		}
	}
}

func (s *svcGen) helpers() {
	l := s.l
	fw := s.q("github.com/protosocket-go/protosocket/flyweight", "Builder")
	code := func(c string) string { return s.q(rpcPath, c) }
	s.p("// %sBuilders hold the builders of responses being built, so a handler's", l)
	s.p("// builder costs no allocation.")
	s.p("var %sBuilders = %s{New: func() any { return new(%s) }}\n", l, s.q("sync", "Pool"), fw)
	seen := map[*Record]bool{}
	for _, m := range s.sv.Methods {
		if r := m.Response; (m.Kind == Unary || m.Kind == ClientStream) && staged(r) && !seen[r] {
			seen[r] = true
			s.p("// %s%sBuilders hold the builders handed to handlers for %s responses.", l, r.Name, r.Name)
			s.p("var %s%sBuilders = %s{New: func() any { return new(%sBuilder) }}\n", l, r.Name, s.q("sync", "Pool"), r.Name)
		}
	}
	s.p("// %sBegin returns a pooled builder appending to dst after the type id.", l)
	s.p("func %sBegin(dst []byte, typeID uint32) *%s {", l, fw)
	s.p("b := %sBuilders.Get().(*%s)", l, fw)
	s.p("b.Reset(%s.AppendUint32(dst, typeID))", s.le)
	s.p("return b")
	s.p("}\n")
	s.p("// %sEnd returns b's bytes and puts b back (holding nothing).", l)
	s.p("func %sEnd(b *%s) []byte {", l, fw)
	s.p("out := b.Bytes()")
	s.p("b.Reset(nil)")
	s.p("%sBuilders.Put(b)", l)
	s.p("return out")
	s.p("}\n")
	s.p("// %sWrongType is the error for a %s body of another message type: the", l, "request")
	s.p("// caller sees rpc.CodeInvalidArgument.")
	s.p("func %sWrongType(method, what string, want uint32, b []byte) error {", l)
	s.p("if len(b) < 4 {")
	s.p("return &%s{Code: %s, Message: method + \": \" + what + \" too short for a message type id (\" + %s(len(b)) + \" bytes)\"}", s.errT, code("CodeInvalidArgument"), s.q("strconv", "Itoa"))
	s.p("}")
	s.p("return &%s{Code: %s, Message: method + \": \" + what + \" is message type \" + %s(uint64(%s.Uint32(b)), 10) + \", want \" + %s(uint64(want), 10)}", s.errT, code("CodeInvalidArgument"), s.q("strconv", "FormatUint"), s.le, s.q("strconv", "FormatUint"))
	s.p("}\n")
	s.p("// %sInvalid is the error for a request that does not validate: the caller", l)
	s.p("// sees rpc.CodeInvalidArgument.")
	s.p("func %sInvalid(method, what string, err error) error {", l)
	s.p("return &%s{Code: %s, Message: method + \": invalid \" + what + \": \" + err.Error()}", s.errT, code("CodeInvalidArgument"))
	s.p("}\n")
	s.p("// %sBuildFailed is the error for a response that fails to build: the", l)
	s.p("// caller sees rpc.CodeInternal.")
	s.p("func %sBuildFailed(method string, err error) error {", l)
	s.p("return &%s{Code: %s, Message: method + \": response: \" + err.Error()}", s.errT, code("CodeInternal"))
	s.p("}\n")
	s.p("// %sBadResponse is the error for a response of another message type: it", l)
	s.p("// matches rpc.ErrProtocol.")
	s.p("func %sBadResponse(method string, want uint32, b []byte) error {", l)
	s.p("if len(b) < 4 {")
	s.p("return %s(\"%%w: %%s: response too short for a message type id (%%d bytes)\", %s, method, len(b))", s.q("fmt", "Errorf"), code("ErrProtocol"))
	s.p("}")
	s.p("return %s(\"%%w: %%s: response is message type %%d, want %%d\", %s, method, %s.Uint32(b), want)", s.q("fmt", "Errorf"), code("ErrProtocol"), s.le)
	s.p("}\n")
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// bt returns the Go type of r's builder as the service code passes it: a
// pointer for a staged builder (see staged), the value otherwise.
func bt(r *Record) string {
	if staged(r) {
		return "*" + r.Name + "Builder"
	}
	return r.Name + "Builder"
}

// beginResp declares resp, the builder of a handler's response r in the
// pooled flyweight.Builder b. A staged builder comes from a pool, so
// handing it to the handler (an interface call) allocates nothing.
func (s *svcGen) beginResp(r *Record) {
	if !staged(r) {
		s.p("resp := Build%s(b)", r.Name)
		return
	}
	s.p("resp := %s%sBuilders.Get().(*%sBuilder)", s.l, r.Name, r.Name)
	s.p("*resp = *Build%s(b)", r.Name)
}

// endResp gives a staged resp back to its pool, holding nothing.
func (s *svcGen) endResp(r *Record) {
	if staged(r) {
		s.p("*resp = %sBuilder{}", r.Name)
		s.p("%s%sBuilders.Put(resp)", s.l, r.Name)
	}
}
