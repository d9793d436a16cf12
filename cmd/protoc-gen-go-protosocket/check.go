package main

import (
	"fmt"
	"strings"

	"google.golang.org/protobuf/compiler/protogen"
)

// This file owns the generation-time checks: every way a .proto can fail
// to give compilable, unambiguous stubs is reported here, naming the file
// and the element, before any code is written.

// genError is a generation-time error: the .proto file and the element.
func genError(f *protogen.File, element, format string, args ...any) error {
	return fmt.Errorf("%s: %s: %s", f.Desc.Path(), element, fmt.Sprintf(format, args...))
}

// owner names where a package-level Go identifier comes from.
type owner struct {
	file *protogen.File
	what string // "message greeter.HelloRequest", "service greeter.Greeter", ...
}

func (o owner) String() string { return fmt.Sprintf("%s (%s)", o.what, o.file.Desc.Path()) }

// scope is the set of package-level Go identifiers of one Go package:
// protoc-gen-go's (messages, enums, enum values, oneof wrappers,
// extensions, the file descriptor) and, so that grpc-go and protosocket
// stubs can live in one package during a migration, protoc-gen-go-grpc's.
type scope map[string]owner

// collectPackage records the identifiers of every file of the request in
// Go package path. (Files of the package that are not in the request
// cannot be seen; the Go compiler reports those collisions.)
func collectPackage(gen *protogen.Plugin, path protogen.GoImportPath) scope {
	s := scope{}
	for _, f := range gen.Files {
		if f.GoImportPath != path {
			continue
		}
		s[f.GoDescriptorIdent.GoName] = owner{f, "file descriptor"}
		for _, e := range f.Enums {
			s.enum(f, e)
		}
		for _, m := range f.Messages {
			s.message(f, m)
		}
		for _, x := range f.Extensions {
			s[x.GoIdent.GoName] = owner{f, "extension " + string(x.Desc.FullName())}
		}
		for _, sv := range f.Services {
			o := owner{f, "protoc-gen-go-grpc's stubs of service " + string(sv.Desc.FullName())}
			name := sv.GoName
			for _, id := range []string{name + "Server", name + "Client", "New" + name + "Client",
				"Register" + name + "Server", "Unimplemented" + name + "Server", "Unsafe" + name + "Server",
				name + "_ServiceDesc"} {
				s[id] = o
			}
			for _, m := range sv.Methods {
				s[name+"_"+m.GoName+"_FullMethodName"] = o
				if m.Desc.IsStreamingClient() || m.Desc.IsStreamingServer() {
					s[name+"_"+m.GoName+"Server"] = o
					s[name+"_"+m.GoName+"Client"] = o
				}
			}
		}
	}
	return s
}

func (s scope) enum(f *protogen.File, e *protogen.Enum) {
	o := owner{f, "enum " + string(e.Desc.FullName())}
	s[e.GoIdent.GoName] = o
	s[e.GoIdent.GoName+"_name"] = o
	s[e.GoIdent.GoName+"_value"] = o
	for _, v := range e.Values {
		s[v.GoIdent.GoName] = owner{f, "enum value " + string(v.Desc.FullName())}
	}
}

func (s scope) message(f *protogen.File, m *protogen.Message) {
	if m.Desc.IsMapEntry() {
		return
	}
	s[m.GoIdent.GoName] = owner{f, "message " + string(m.Desc.FullName())}
	for _, fd := range m.Fields {
		if fd.Oneof != nil && !fd.Oneof.Desc.IsSynthetic() {
			s[fd.GoIdent.GoName] = owner{f, "oneof field " + string(fd.Desc.FullName())}
		}
	}
	for _, e := range m.Enums {
		s.enum(f, e)
	}
	for _, n := range m.Messages {
		s.message(f, n)
	}
	for _, x := range m.Extensions {
		s[x.GoIdent.GoName] = owner{f, "extension " + string(x.Desc.FullName())}
	}
}

// checkService reports a service that cannot be generated: no methods,
// two methods with one Go name, a client method name taken twice (M and
// MInto), a method id of 0, or a generated identifier already declared in
// the package (by protoc-gen-go, protoc-gen-go-grpc or another service).
// It then records the service's identifiers and ids in taken and ids.
func checkService(f *protogen.File, sv *protogen.Service, taken scope, ids map[uint32]owner, idOf func(*protogen.Method) (uint32, error)) error {
	el := "service " + string(sv.Desc.FullName())
	if len(sv.Methods) == 0 {
		return genError(f, el, "a service with no methods has no protosocket stubs (remove it, or generate this file without --go-protosocket_out)")
	}
	mine := map[string]string{}
	claim := func(id, what string) error {
		if o, ok := taken[id]; ok {
			return genError(f, what, "generated identifier %s collides with %s; rename one of them", id, o)
		}
		if prev, ok := mine[id]; ok {
			return genError(f, what, "generated identifier %s is also generated for %s; rename one of them", id, prev)
		}
		mine[id] = what
		return nil
	}
	n := names(sv)
	for _, id := range []string{n.server, n.register, n.client, n.newClient, n.newPoolClient,
		n.priv + "_invalid", n.priv + "_reply", n.priv + "_unary", n.priv + "_protocol"} {
		if err := claim(id, el); err != nil {
			return err
		}
	}
	clientMethods := map[string]string{}
	seenMethod := map[string]string{}
	for _, m := range sv.Methods {
		mel := "method " + string(m.Desc.FullName())
		if prev, ok := seenMethod[m.GoName]; ok {
			return genError(f, mel, "its Go name %s is also the Go name of method %s", m.GoName, prev)
		}
		seenMethod[m.GoName] = string(m.Desc.Name())
		mn := n.method(m)
		ids2 := []string{mn.idConst, mn.pool, mn.msgs}
		if k := kindOf(m); k != unary {
			ids2 = append(ids2, mn.serverStream, mn.clientStream)
		}
		for _, id := range ids2 {
			if err := claim(id, mel); err != nil {
				return err
			}
		}
		cms := []string{m.GoName}
		if kindOf(m) == unary {
			cms = append(cms, m.GoName+"Into")
		}
		for _, cm := range cms {
			if prev, ok := clientMethods[cm]; ok {
				return genError(f, mel, "client method %s.%s is also generated for method %s; rename one of them", n.client, cm, prev)
			}
			clientMethods[cm] = string(m.Desc.Name())
		}
		id, err := idOf(m)
		if err != nil {
			return genError(f, mel, "%v", err)
		}
		if id == 0 {
			return genError(f, mel, "method id 0 is reserved; set another with --go-protosocket_opt=method_id=%s=N", fullMethod(m))
		}
		if o, ok := ids[id]; ok {
			return genError(f, mel, "method id %d (%#x) of %s is also the id of %s; set one with --go-protosocket_opt=method_id=%s=N", id, id, fullMethod(m), o, fullMethod(m))
		}
		ids[id] = owner{f, "method " + fullMethod(m)}
	}
	for id, what := range mine {
		taken[id] = owner{f, what}
	}
	return nil
}

// fullMethod is m's gRPC-style full name, "/pkg.Service/Method".
func fullMethod(m *protogen.Method) string {
	return "/" + string(m.Parent.Desc.FullName()) + "/" + string(m.Desc.Name())
}

// parseMethodIDs parses method_id parameters, "/pkg.Service/Method=N".
func parseMethodIDs(params []string) (map[string]uint32, error) {
	out := map[string]uint32{}
	for _, p := range params {
		i := strings.LastIndexByte(p, '=')
		if i <= 0 || !strings.HasPrefix(p, "/") {
			return nil, fmt.Errorf("method_id=%s: want /package.Service/Method=N", p)
		}
		var n uint32
		if _, err := fmt.Sscan(p[i+1:], &n); err != nil {
			return nil, fmt.Errorf("method_id=%s: %q is not a uint32", p, p[i+1:])
		}
		if _, dup := out[p[:i]]; dup {
			return nil, fmt.Errorf("method_id=%s: %s is given twice", p, p[:i])
		}
		out[p[:i]] = n
	}
	return out, nil
}
