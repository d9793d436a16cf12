package main

import (
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
)

// genService writes one service's stubs: method id constants, the server
// interface and its Register function, the stream types, and the client.
func genService(g *protogen.GeneratedFile, sv *protogen.Service, ids map[*protogen.Method]uint32) {
	n := names(sv)
	ctx := g.QualifiedGoIdent(contextPkg.Ident("Context"))
	svName := string(sv.Desc.FullName())
	hasUnary, hasStream := false, false
	for _, m := range sv.Methods {
		if kindOf(m) == unary {
			hasUnary = true
		} else {
			hasStream = true
		}
	}

	// Method ids.
	g.P()
	g.P("// Method ids of service ", svName, ": protoc-gen-go-protosocket's MethodID,")
	g.P("// the FNV-1a 32-bit hash of the gRPC-style full method name, unless set with")
	g.P("// --go-protosocket_opt=method_id=/", svName, "/Method=N.")
	g.P("const (")
	for _, m := range sv.Methods {
		g.P("\t// ", n.method(m).idConst, " is the id of ", fullMethod(m), ".")
		g.P("\t", n.method(m).idConst, " uint32 = ", fmt.Sprintf("%#x", ids[m]))
	}
	g.P(")")

	// Server interface.
	g.P()
	g.P("// ", n.server, " is the server API of service ", svName, " over")
	g.P("// protosocket (socket/rpc); register an implementation with ", n.register, ".")
	g.P("// The messages and streams handed to a method are reused by the generated")
	g.P("// code: they are valid until the method returns and must not be kept.")
	g.P("// Return an *rpc.Error to choose the code the caller sees; any other error")
	g.P("// is rpc.CodeUnknown (context errors: CodeCanceled, CodeDeadlineExceeded).")
	if sv.Comments.Leading != "" {
		g.P("//")
		for _, line := range commentLines(sv.Comments.Leading) {
			g.P("//", line)
		}
	}
	if svDeprecated(sv) {
		g.P("//")
		g.P("// Deprecated: Do not use.")
	}
	g.P("type ", n.server, " interface {")
	for _, m := range sv.Methods {
		mn := n.method(m)
		in, out := g.QualifiedGoIdent(m.Input.GoIdent), g.QualifiedGoIdent(m.Output.GoIdent)
		methodDoc(g, m, "\t")
		switch kindOf(m) {
		case unary:
			g.P("\t// resp is reset; fill it in.")
			g.P("\t", m.GoName, "(ctx ", ctx, ", req *", in, ", resp *", out, ") error")
		case serverStreaming:
			g.P("\t// Send the responses on stream; returning nil ends the stream.")
			g.P("\t", m.GoName, "(ctx ", ctx, ", req *", in, ", stream *", mn.serverStream, ") error")
		case clientStreaming:
			g.P("\t// Recv the requests from stream until io.EOF; resp is reset, fill it in.")
			g.P("\t", m.GoName, "(ctx ", ctx, ", stream *", mn.serverStream, ", resp *", out, ") error")
		case bidiStreaming:
			g.P("\t// Recv and Send on stream (from two goroutines if need be); returning")
			g.P("\t// ends the stream.")
			g.P("\t", m.GoName, "(ctx ", ctx, ", stream *", mn.serverStream, ") error")
		}
	}
	g.P("}")

	genRegister(g, sv, n)
	for _, m := range sv.Methods {
		if kindOf(m) != unary {
			genServerStream(g, sv, n, m)
			genClientStream(g, sv, n, m)
		}
	}
	genClient(g, sv, n, hasUnary, hasStream)
	genHelpers(g, sv, n, hasUnary)
}

func methodDoc(g *protogen.GeneratedFile, m *protogen.Method, indent string) {
	g.P(indent, "// ", m.GoName, " serves ", fullMethod(m), ".")
	if m.Comments.Leading != "" {
		g.P(indent, "//")
		for _, line := range commentLines(m.Comments.Leading) {
			g.P(indent, "//", line)
		}
	}
	if deprecated(m) {
		g.P(indent, "//")
		g.P(indent, "// Deprecated: Do not use.")
	}
}

func genRegister(g *protogen.GeneratedFile, sv *protogen.Service, n svcNames) {
	ctx := g.QualifiedGoIdent(contextPkg.Ident("Context"))
	rpcServer := g.QualifiedGoIdent(rpcPkg.Ident("Server"))
	mode := g.QualifiedGoIdent(rpcPkg.Ident("Mode"))
	unmarshal := g.QualifiedGoIdent(codecPkg.Ident("Unmarshal"))
	reset := g.QualifiedGoIdent(protoPkg.Ident("Reset"))

	// Pooled per-call messages of unary methods.
	for _, m := range sv.Methods {
		if kindOf(m) != unary {
			continue
		}
		mn := n.method(m)
		g.P()
		g.P("// ", mn.msgs, " are the messages of one ", m.GoName, " call, pooled.")
		g.P("type ", mn.msgs, " struct {")
		g.P("\treq  ", m.Input.GoIdent)
		g.P("\tresp ", m.Output.GoIdent)
		g.P("}")
		g.P()
		g.P("var ", mn.pool, " = ", syncPkg.Ident("Pool"), "{New: func() any { return new(", mn.msgs, ") }}")
		g.P()
		g.P("// release resets the messages (so the pool pins nothing they referred")
		g.P("// to) and returns them to the pool.")
		g.P("func (m *", mn.msgs, ") release() {")
		g.P("\t", reset, "(&m.req)")
		g.P("\t", reset, "(&m.resp)")
		g.P("\t", mn.pool, ".Put(m)")
		g.P("}")
	}

	g.P()
	g.P("// ", n.register, " registers impl's methods on s under their method")
	g.P("// ids. Unary methods run in mode (rpc.Pooled for handlers that may block,")
	g.P("// rpc.Inline for cheap ones that never do); streaming methods run on their own")
	g.P("// goroutines. A request that does not decode as its message type is answered")
	g.P("// with rpc.CodeInvalidArgument without calling impl.")
	g.P("func ", n.register, "(s *", rpcServer, ", impl ", n.server, ", mode ", mode, ") {")
	for _, m := range sv.Methods {
		mn := n.method(m)
		name := strconv.Quote(fullMethod(m))
		switch kindOf(m) {
		case unary:
			g.P("\ts.Handle(", mn.idConst, ", func(ctx ", ctx, ", req, dst []byte) ([]byte, error) {")
			g.P("\t\tm := ", mn.pool, ".Get().(*", mn.msgs, ")")
			g.P("\t\tdefer m.release()")
			g.P("\t\tif err := ", unmarshal, "(req, &m.req); err != nil {")
			g.P("\t\t\treturn dst, ", n.priv, "_invalid(", name, ", err)")
			g.P("\t\t}")
			g.P("\t\tif err := impl.", m.GoName, "(ctx, &m.req, &m.resp); err != nil {")
			g.P("\t\t\treturn dst, err")
			g.P("\t\t}")
			g.P("\t\treturn ", n.priv, "_reply(", name, ", dst, &m.resp)")
			g.P("\t}, mode)")
		case serverStreaming:
			g.P("\ts.HandleStream(", mn.idConst, ", func(ctx ", ctx, ", st *", rpcPkg.Ident("ServerStream"), ") error {")
			g.P("\t\tss := &", mn.serverStream, "{st: st}")
			g.P("\t\treq := new(", m.Input.GoIdent, ")")
			g.P("\t\tif err := ss.recv(req); err != nil {")
			g.P("\t\t\tif err == ", ioPkg.Ident("EOF"), " {")
			g.P("\t\t\t\treturn ", n.priv, "_invalid(", name, ", ", errorsPkg.Ident("New"), "(\"the stream ended before its request\"))")
			g.P("\t\t\t}")
			g.P("\t\t\treturn err")
			g.P("\t\t}")
			g.P("\t\tdefer ss.done.Store(true)")
			g.P("\t\treturn impl.", m.GoName, "(ctx, req, ss)")
			g.P("\t})")
		case clientStreaming:
			g.P("\ts.HandleStream(", mn.idConst, ", func(ctx ", ctx, ", st *", rpcPkg.Ident("ServerStream"), ") error {")
			g.P("\t\tss := &", mn.serverStream, "{st: st}")
			g.P("\t\tresp := new(", m.Output.GoIdent, ")")
			g.P("\t\terr := impl.", m.GoName, "(ctx, ss, resp)")
			g.P("\t\tif err == nil {")
			g.P("\t\t\terr = ss.send(resp)")
			g.P("\t\t}")
			g.P("\t\tss.done.Store(true)")
			g.P("\t\treturn err")
			g.P("\t})")
		case bidiStreaming:
			g.P("\ts.HandleStream(", mn.idConst, ", func(ctx ", ctx, ", st *", rpcPkg.Ident("ServerStream"), ") error {")
			g.P("\t\tss := &", mn.serverStream, "{st: st}")
			g.P("\t\tdefer ss.done.Store(true)")
			g.P("\t\treturn impl.", m.GoName, "(ctx, ss)")
			g.P("\t})")
		}
	}
	g.P("}")
}

// genServerStream writes the server's side of a streaming method.
func genServerStream(g *protogen.GeneratedFile, sv *protogen.Service, n svcNames, m *protogen.Method) {
	mn := n.method(m)
	k := kindOf(m)
	name := strconv.Quote(fullMethod(m))
	g.P()
	g.P("// ", mn.serverStream, " is the server's side of a ", fullMethod(m), " stream.")
	g.P("// It is valid until the handler returns; under -tags psdebug a use after")
	g.P("// that panics, naming the mistake.")
	if k == bidiStreaming {
		g.P("// Send and Recv may run on two goroutines at once, but neither on two.")
	}
	g.P("type ", mn.serverStream, " struct {")
	g.P("\tst         *", rpcPkg.Ident("ServerStream"))
	g.P("\trbuf, sbuf []byte")
	g.P("\tdone       ", syncAtomicPkg.Ident("Bool"), " // the handler returned: under -tags psdebug a later use panics")
	g.P("}")
	if k == serverStreaming || k == bidiStreaming {
		g.P()
		g.P("// Send sends one response, waiting for the client's credit.")
		g.P("func (s *", mn.serverStream, ") Send(m *", m.Output.GoIdent, ") error { return s.send(m) }")
	}
	// send: the response(s); recv: the request(s).
	g.P()
	g.P("func (s *", mn.serverStream, ") send(m *", m.Output.GoIdent, ") error {")
	g.P("\tif ", poolPkg.Ident("Debug"), " && s.done.Load() {")
	g.P("\t\tpanic(", strconv.Quote("protosocket: "+mn.serverStream+" used after the "+fullMethod(m)+" handler returned (a stream is valid only until then)"), ")")
	g.P("\t}")
	g.P("\tb, err := ", n.priv, "_reply(", name, ", s.sbuf[:0], m)")
	g.P("\tif err != nil {")
	g.P("\t\treturn err")
	g.P("\t}")
	g.P("\ts.sbuf = b")
	g.P("\treturn s.st.Send(b)")
	g.P("}")
	if k == clientStreaming || k == bidiStreaming {
		g.P()
		g.P("// Recv decodes the next request into m (reset first). At the end of the")
		g.P("// client's messages it returns io.EOF; a message that does not decode is an")
		g.P("// *rpc.Error with rpc.CodeInvalidArgument (return it and the client sees it).")
		g.P("func (s *", mn.serverStream, ") Recv(m *", m.Input.GoIdent, ") error { return s.recv(m) }")
	}
	g.P()
	g.P("func (s *", mn.serverStream, ") recv(m *", m.Input.GoIdent, ") error {")
	g.P("\tif ", poolPkg.Ident("Debug"), " && s.done.Load() {")
	g.P("\t\tpanic(", strconv.Quote("protosocket: "+mn.serverStream+" used after the "+fullMethod(m)+" handler returned (a stream is valid only until then)"), ")")
	g.P("\t}")
	g.P("\tb, err := s.st.Recv(s.rbuf[:0])")
	g.P("\ts.rbuf = b")
	g.P("\tif err != nil {")
	g.P("\t\treturn err")
	g.P("\t}")
	g.P("\tif err := ", codecPkg.Ident("Unmarshal"), "(b, m); err != nil {")
	g.P("\t\treturn ", n.priv, "_invalid(", name, ", err)")
	g.P("\t}")
	g.P("\treturn nil")
	g.P("}")
}

// genClientStream writes the client's side of a streaming method.
func genClientStream(g *protogen.GeneratedFile, sv *protogen.Service, n svcNames, m *protogen.Method) {
	mn := n.method(m)
	k := kindOf(m)
	in, out := m.Input.GoIdent, m.Output.GoIdent
	g.P()
	g.P("// ", mn.clientStream, " is the client's side of a ", fullMethod(m), " stream.")
	switch k {
	case serverStreaming:
		g.P("// Recv the responses until io.EOF; Close it in any case.")
	case clientStreaming:
		g.P("// Send the requests, then CloseAndRecv the response; Close it in any case.")
	case bidiStreaming:
		g.P("// Send and Recv (Send and Recv may run on two goroutines at once, but")
		g.P("// neither on two), CloseSend when done sending; Close it in any case.")
	}
	g.P("type ", mn.clientStream, " struct {")
	g.P("\tst         *", rpcPkg.Ident("ClientStream"))
	g.P("\trbuf, sbuf []byte")
	g.P("}")
	if k != serverStreaming {
		g.P()
		g.P("// Send sends one request, waiting for the server's credit. After the stream")
		g.P("// ended it returns the end error (rpc.ErrStreamClosed for a normal end).")
		g.P("func (s *", mn.clientStream, ") Send(m *", in, ") error { return s.send(m) }")
	}
	g.P()
	g.P("func (s *", mn.clientStream, ") send(m *", in, ") error {")
	g.P("\tb, err := ", codecPkg.Ident("Append"), "(s.sbuf[:0], m)")
	g.P("\tif err != nil {")
	g.P("\t\treturn err")
	g.P("\t}")
	g.P("\ts.sbuf = b")
	g.P("\treturn s.st.Send(b)")
	g.P("}")
	if k != clientStreaming {
		g.P()
		g.P("// Recv decodes the next response into m (reset first). At the end of the")
		g.P("// stream it returns io.EOF; an error from the server is an *rpc.Error; a")
		g.P("// response that does not decode is a *protobuf.Error (protobuf.ErrDecode).")
		g.P("func (s *", mn.clientStream, ") Recv(m *", out, ") error { return s.recv(m) }")
	}
	g.P()
	g.P("func (s *", mn.clientStream, ") recv(m *", out, ") error {")
	g.P("\tb, err := s.st.Recv(s.rbuf[:0])")
	g.P("\ts.rbuf = b")
	g.P("\tif err != nil {")
	g.P("\t\treturn err")
	g.P("\t}")
	g.P("\treturn ", codecPkg.Ident("Unmarshal"), "(b, m)")
	g.P("}")
	if k == clientStreaming {
		g.P()
		g.P("// CloseAndRecv ends the requests and decodes the server's response into m.")
		g.P("// A stream that ends without one is io.ErrUnexpectedEOF; a second")
		g.P("// response is rpc.ErrProtocol.")
		g.P("func (s *", mn.clientStream, ") CloseAndRecv(m *", out, ") error {")
		g.P("\tif err := s.st.CloseSend(); err != nil {")
		g.P("\t\treturn err")
		g.P("\t}")
		g.P("\tif err := s.recv(m); err != nil {")
		g.P("\t\tif err == ", ioPkg.Ident("EOF"), " {")
		g.P("\t\t\treturn ", ioPkg.Ident("ErrUnexpectedEOF"))
		g.P("\t\t}")
		g.P("\t\treturn err")
		g.P("\t}")
		g.P("\tb, err := s.st.Recv(s.rbuf[:0])")
		g.P("\ts.rbuf = b")
		g.P("\tswitch err {")
		g.P("\tcase ", ioPkg.Ident("EOF"), ":")
		g.P("\t\treturn nil")
		g.P("\tcase nil:")
		g.P("\t\treturn ", n.priv, "_protocol(", strconv.Quote(fullMethod(m)), ", \"a second response\")")
		g.P("\t}")
		g.P("\treturn err")
		g.P("}")
	}
	if k == bidiStreaming {
		g.P()
		g.P("// CloseSend ends the requests: the server's Recv returns io.EOF.")
		g.P("func (s *", mn.clientStream, ") CloseSend() error { return s.st.CloseSend() }")
	}
	g.P()
	g.P("// Close ends the stream (canceling it on the server if it has not ended)")
	g.P("// and releases it.")
	g.P("func (s *", mn.clientStream, ") Close() error { return s.st.Close() }")
}

func genClient(g *protogen.GeneratedFile, sv *protogen.Service, n svcNames, hasUnary, hasStream bool) {
	ctx := g.QualifiedGoIdent(contextPkg.Ident("Context"))
	svName := string(sv.Desc.FullName())
	callT := "func(ctx " + ctx + ", method uint32, req, dst []byte) ([]byte, error)"
	openT := "func(ctx " + ctx + ", method uint32, md " + g.QualifiedGoIdent(rpcPkg.Ident("Metadata")) + ") (*" + g.QualifiedGoIdent(rpcPkg.Ident("ClientStream")) + ", error)"
	g.P()
	g.P("// ", n.client, " calls service ", svName, " over protosocket, on one")
	g.P("// connection (", n.newClient, ") or on a balance.Pool (", n.newPoolClient, ").")
	g.P("// It is safe for concurrent use.")
	g.P("type ", n.client, " struct {")
	if hasUnary {
		g.P("\tcall ", callT)
	}
	if hasStream {
		g.P("\topen ", openT)
	}
	g.P("}")
	g.P()
	g.P("// ", n.newClient, " returns a client calling on c.")
	g.P("func ", n.newClient, "(c *", rpcPkg.Ident("Client"), ") *", n.client, " {")
	g.P("\treturn &", n.client, "{")
	if hasUnary {
		g.P("\t\tcall: c.Call,")
	}
	if hasStream {
		g.P("\t\topen: c.OpenStream,")
	}
	g.P("\t}")
	g.P("}")
	g.P()
	g.P("// ", n.newPoolClient, " returns a client calling on p: each unary call goes")
	g.P("// through p.Call (a call refused as not processed is retried on another")
	g.P("// connection, up to the pool's MaxAttempts), each stream opens on p.Pick().")
	g.P("func ", n.newPoolClient, "(p *", balancePkg.Ident("Pool"), ") *", n.client, " {")
	g.P("\treturn &", n.client, "{")
	if hasUnary {
		g.P("\t\tcall: func(ctx ", contextPkg.Ident("Context"), ", method uint32, req, dst []byte) ([]byte, error) {")
		g.P("\t\t\treturn p.Call(ctx, method, req, dst)")
		g.P("\t\t},")
	}
	if hasStream {
		g.P("\t\topen: ", openT, " {")
		g.P("\t\t\tc, err := p.Pick()")
		g.P("\t\t\tif err != nil {")
		g.P("\t\t\t\treturn nil, err")
		g.P("\t\t\t}")
		g.P("\t\t\treturn c.OpenStream(ctx, method, md)")
		g.P("\t\t},")
	}
	g.P("\t}")
	g.P("}")

	for _, m := range sv.Methods {
		mn := n.method(m)
		in, out := m.Input.GoIdent, m.Output.GoIdent
		g.P()
		lead := func(what string) {
			g.P("// ", m.GoName, " ", what)
			if m.Comments.Leading != "" {
				g.P("//")
				for _, line := range commentLines(m.Comments.Leading) {
					g.P("//", line)
				}
			}
			if deprecated(m) {
				g.P("//")
				g.P("// Deprecated: Do not use.")
			}
		}
		switch kindOf(m) {
		case unary:
			lead("calls " + fullMethod(m) + " and returns a new response; " + m.GoName + "Into reuses one.")
			g.P("func (c *", n.client, ") ", m.GoName, "(ctx ", ctx, ", in *", in, ") (*", out, ", error) {")
			g.P("\tout := new(", out, ")")
			g.P("\tif err := c.", m.GoName, "Into(ctx, in, out); err != nil {")
			g.P("\t\treturn nil, err")
			g.P("\t}")
			g.P("\treturn out, nil")
			g.P("}")
			g.P()
			g.P("// ", m.GoName, "Into calls ", fullMethod(m), " and decodes the response into out")
			g.P("// (reset first). The request is encoded into a pooled buffer and the")
			g.P("// response read into another, so with a reused out a call allocates only")
			g.P("// what protobuf-go's own encoding and decoding allocate. An error from the")
			g.P("// server is an *rpc.Error; a response that does not decode is a")
			g.P("// *protobuf.Error (protobuf.ErrDecode).")
			g.P("func (c *", n.client, ") ", m.GoName, "Into(ctx ", ctx, ", in *", in, ", out *", out, ") error {")
			g.P("\treturn ", n.priv, "_unary(ctx, c.call, ", mn.idConst, ", in, out)")
			g.P("}")
		case serverStreaming:
			lead("opens a " + fullMethod(m) + " stream and sends in; Recv the responses. ctx bounds the whole stream.")
			g.P("func (c *", n.client, ") ", m.GoName, "(ctx ", ctx, ", in *", in, ") (*", mn.clientStream, ", error) {")
			g.P("\tst, err := c.open(ctx, ", mn.idConst, ", nil)")
			g.P("\tif err != nil {")
			g.P("\t\treturn nil, err")
			g.P("\t}")
			g.P("\ts := &", mn.clientStream, "{st: st}")
			g.P("\tif err = s.send(in); err == nil {")
			g.P("\t\terr = st.CloseSend()")
			g.P("\t}")
			g.P("\t// A server that already ended the stream normally (ErrStreamClosed)")
			g.P("\t// may have sent responses: Recv gives them, then io.EOF.")
			g.P("\tif err != nil && !", errorsPkg.Ident("Is"), "(err, ", rpcPkg.Ident("ErrStreamClosed"), ") {")
			g.P("\t\t_ = st.Close()")
			g.P("\t\treturn nil, err")
			g.P("\t}")
			g.P("\treturn s, nil")
			g.P("}")
		case clientStreaming, bidiStreaming:
			lead("opens a " + fullMethod(m) + " stream. ctx bounds the whole stream.")
			g.P("func (c *", n.client, ") ", m.GoName, "(ctx ", ctx, ") (*", mn.clientStream, ", error) {")
			g.P("\tst, err := c.open(ctx, ", mn.idConst, ", nil)")
			g.P("\tif err != nil {")
			g.P("\t\treturn nil, err")
			g.P("\t}")
			g.P("\treturn &", mn.clientStream, "{st: st}, nil")
			g.P("}")
		}
	}
}

// genHelpers writes the service's unexported helpers.
func genHelpers(g *protogen.GeneratedFile, sv *protogen.Service, n svcNames, hasUnary bool) {
	ctx := g.QualifiedGoIdent(contextPkg.Ident("Context"))
	msg := g.QualifiedGoIdent(protoPkg.Ident("Message"))
	rpcErr := g.QualifiedGoIdent(rpcPkg.Ident("Error"))
	g.P()
	g.P("// ", n.priv, "_invalid is the error for a request that does not decode:")
	g.P("// the caller sees rpc.CodeInvalidArgument.")
	g.P("func ", n.priv, "_invalid(method string, err error) error {")
	g.P("\treturn &", rpcErr, "{Code: ", rpcPkg.Ident("CodeInvalidArgument"), ", Message: method + \": \" + err.Error()}")
	g.P("}")
	g.P()
	g.P("// ", n.priv, "_reply appends the encoding of a response to dst; a response")
	g.P("// that cannot be encoded (say, invalid UTF-8 in a string field) is")
	g.P("// rpc.CodeInternal.")
	g.P("func ", n.priv, "_reply(method string, dst []byte, m ", msg, ") ([]byte, error) {")
	g.P("\tout, err := ", codecPkg.Ident("Append"), "(dst, m)")
	g.P("\tif err != nil {")
	g.P("\t\treturn dst, &", rpcErr, "{Code: ", rpcPkg.Ident("CodeInternal"), ", Message: method + \": \" + err.Error()}")
	g.P("\t}")
	g.P("\treturn out, nil")
	g.P("}")
	hasCS := false
	for _, m := range sv.Methods {
		if kindOf(m) == clientStreaming {
			hasCS = true
		}
	}
	if hasCS {
		g.P()
		g.P("// ", n.priv, "_protocol is a server that broke a method's shape.")
		g.P("func ", n.priv, "_protocol(method, what string) error {")
		g.P("\treturn ", fmtErrorf(g), "(\"%w: %s: %s\", ", rpcPkg.Ident("ErrProtocol"), ", method, what)")
		g.P("}")
	}
	if hasUnary {
		g.P()
		g.P("// ", n.priv, "_unary encodes in into a pooled buffer, calls method with")
		g.P("// call, and decodes the response, read into another pooled buffer, into out.")
		g.P("func ", n.priv, "_unary(ctx ", ctx, ", call func(", ctx, ", uint32, []byte, []byte) ([]byte, error), method uint32, in, out ", msg, ") error {")
		g.P("\treq := ", poolPkg.Ident("GetBuffer"), "()")
		g.P("\tdefer ", poolPkg.Ident("PutBuffer"), "(req)")
		g.P("\tvar err error")
		g.P("\tif req.B, err = ", codecPkg.Ident("Append"), "(req.B[:0], in); err != nil {")
		g.P("\t\treturn err")
		g.P("\t}")
		g.P("\tresp := ", poolPkg.Ident("GetBuffer"), "()")
		g.P("\tdefer ", poolPkg.Ident("PutBuffer"), "(resp)")
		g.P("\tif resp.B, err = call(ctx, method, req.B, resp.B[:0]); err != nil {")
		g.P("\t\treturn err")
		g.P("\t}")
		g.P("\treturn ", codecPkg.Ident("Unmarshal"), "(resp.B, out)")
		g.P("}")
	}
}

func fmtErrorf(g *protogen.GeneratedFile) string {
	return g.QualifiedGoIdent(protogen.GoImportPath("fmt").Ident("Errorf"))
}

// commentLines splits a .proto comment into its lines (without "//").
func commentLines(c protogen.Comments) []string {
	return strings.Split(strings.TrimSuffix(string(c), "\n"), "\n")
}
