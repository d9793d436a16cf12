package codecgen

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const svcMsgs = header + "message Req = 1 {\n}\nmessage Resp = 2 {\n}\nstruct P {\n  a int32;\n}\n"

// svcMsgs is 9 lines long: a service declared after it starts on line 10.

func TestServiceParse(t *testing.T) {
	src := svcMsgs + `// S is a service.
service S {
  // U is unary.
  rpc U(Req) returns (Resp);
  rpc SS(Req) returns (stream Resp) = 7;
  rpc CS(stream Req) returns (Resp);
  rpc B(stream Req) returns (stream Resp);
  rpc F(Req) oneway = 9;
}
`
	s, err := Parse("s.schema", []byte(src))
	require.NoError(t, err)
	require.Len(t, s.Services, 1)
	sv := s.Services[0]
	assert.Equal(t, "S is a service.", sv.Doc)
	kinds := []MethodKind{Unary, ServerStream, ClientStream, Bidi, Oneway}
	for i, m := range sv.Methods {
		assert.Equal(t, kinds[i], m.Kind, m.Name)
		assert.Equal(t, "Req", m.Request.Name)
		if m.Kind == Oneway {
			assert.Nil(t, m.Response)
		} else {
			assert.Equal(t, "Resp", m.Response.Name)
		}
	}
	assert.Equal(t, "U is unary.", sv.Methods[0].Doc)
	assert.Equal(t, MethodID("/p.S/U"), sv.Methods[0].ID, "derived id: FNV-1a of /package.Service/Method")
	assert.Equal(t, uint32(7), sv.Methods[1].ID)
	assert.Equal(t, uint32(9), sv.Methods[4].ID)
	// The derived id is FNV-1a 32 (a known value: protoc-gen-go-protosocket's rule).
	assert.Equal(t, uint32(0x811c9dc5), MethodID(""))
}

func TestServiceErrors(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"duplicate method", svcMsgs + "service S {\n  rpc A(Req) returns (Resp);\n  rpc A(Req) returns (Resp) = 5;\n}\n",
			`s.schema:12:7: duplicate method S.A (first at s.schema:11:7)`},
		{"duplicate id", svcMsgs + "service S {\n  rpc A(Req) returns (Resp) = 5;\n  rpc B(Req) returns (Resp) = 5;\n}\n",
			`s.schema:12:31: method id 5 of S.B already used by S.A (s.schema:11:7)`},
		{"duplicate id across services", svcMsgs + "service S {\n  rpc A(Req) returns (Resp) = 5;\n}\nservice T {\n  rpc B(Req) oneway = 5;\n}\n",
			`s.schema:14:23: method id 5 of T.B already used by S.A`},
		{"derived id taken explicitly", svcMsgs + "service S {\n  rpc A(Req) returns (Resp);\n  rpc B(Req) returns (Resp) = " + itoa(int(MethodID("/p.S/A"))) + ";\n}\n",
			`s.schema:12:31: method id ` + itoa(int(MethodID("/p.S/A"))) + ` of S.B already used by S.A`},
		{"unknown request", svcMsgs + "service S {\n  rpc A(Rq) returns (Resp);\n}\n", `s.schema:11:9: method S.A: unknown request message "Rq"`},
		{"struct as response", svcMsgs + "service S {\n  rpc A(Req) returns (P);\n}\n", `s.schema:11:23: method S.A: response type P is not a message`},
		{"id zero", svcMsgs + "service S {\n  rpc A(Req) returns (Resp) = 0;\n}\n", `s.schema:11:31: method id 0 out of range`},
		{"id too large", svcMsgs + "service S {\n  rpc A(Req) returns (Resp) = 4294967296;\n}\n", `s.schema:11:31: method id 4294967296 out of range`},
		{"oneway stream", svcMsgs + "service S {\n  rpc A(stream Req) oneway;\n}\n", `s.schema:11:21: method S.A: a oneway method takes one request, not a stream`},
		{"missing returns", svcMsgs + "service S {\n  rpc A(Req) (Resp);\n}\n", `s.schema:11:14: method S.A: expected "returns" or "oneway", found "("`},
		{"not rpc", svcMsgs + "service S {\n  method A(Req) returns (Resp);\n}\n", `s.schema:11:3: service S: expected "rpc" or "}", found "method"`},
		{"eof", svcMsgs + "service S {\n  rpc A(Req) returns (Resp);\n", `s.schema:12:1: expected "rpc" or "}", found end of file`},
		{"lower-case method", svcMsgs + "service S {\n  rpc get(Req) returns (Resp);\n}\n", `s.schema:11:7: method name "get" must start with an upper-case letter`},
		{"client method collision", svcMsgs + "service S {\n  rpc BeginA(Req) returns (Resp);\n  rpc A(Req) returns (Resp);\n}\n", `s.schema:11:7: method S.BeginA: the client's BeginA (the request builder of A) has the same name`},
		{"client method collision, other order", svcMsgs + "service S {\n  rpc A(Req) oneway;\n  rpc BeginA(Req) returns (Resp);\n}\n", `s.schema:12:7: method S.BeginA: the client's BeginA`},
		{"empty service", svcMsgs + "service S {\n}\n", `s.schema:10:9: service S declares no methods`},
		{"service named like a message", svcMsgs + "service Req {\n  rpc A(Req) returns (Resp);\n}\n", `s.schema:10:9: service name "Req" is also a message name`},
		{"service generated name collides", svcMsgs + "message SClient = 3 {\n}\nservice S {\n  rpc A(Req) returns (Resp);\n}\n", `s.schema:12:9: service S generates the Go name SClient, which message SClient (s.schema:10:9) also generates`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("s.schema", []byte(tt.src))
			require.Error(t, err)
			assert.True(t, errors.Is(err, ErrSchema))
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestServiceCompat(t *testing.T) {
	old := svcMsgs + "message Other = 3 {\n}\nservice S {\n  rpc A(Req) returns (Resp) = 1;\n  rpc B(Req) returns (Resp) = 2;\n  rpc C(Req) returns (stream Resp) = 3;\n  rpc D(Req) returns (Resp) = 4;\n  rpc E(Req) returns (Resp) = 5;\n  rpc F(Req) returns (Resp);\n}\n"
	cur := svcMsgs + "message Other = 3 {\n}\nservice S {\n  rpc A(Req) returns (Resp) = 1;\n  rpc C(Req) returns (Resp) = 3;\n  rpc D(Other) returns (Resp) = 4;\n  rpc E(Req) returns (Other) = 5;\n  rpc X(Req) returns (Resp) = 2;\n  rpc F(Req) returns (Resp) = 6;\n  rpc G(Req) oneway;\n}\n"
	o, err := Parse("old.schema", []byte(old))
	require.NoError(t, err)
	n, err := Parse("new.schema", []byte(cur))
	require.NoError(t, err)
	var got []string
	for _, e := range Check(o, n) {
		assert.True(t, errors.Is(e, ErrIncompatible))
		got = append(got, e.Error())
	}
	all := strings.Join(got, "\n")
	for _, want := range []string{
		"old.schema:14: method S.B removed",
		"new.schema:17: method id 2 of removed method S.B reused by S.X (was old.schema:14)",
		"new.schema:14: method S.C: kind changed from server stream to unary (was old.schema:15)",
		"new.schema:15: method S.D: request type changed from Req to Other (was old.schema:16)",
		"new.schema:16: method S.E: response type changed from Resp to Other (was old.schema:17)",
		"new.schema:18: method S.F: id changed from " + itoa(int(MethodID("/p.S/F"))) + " to 6 (was old.schema:18)",
	} {
		assert.Contains(t, all, want)
	}
	assert.Len(t, got, 6, all)
	// An identical schema, or one that only adds methods, is compatible.
	assert.Empty(t, Check(o, o))
	added, err := Parse("new.schema", []byte(strings.Replace(old, "}\n", "}\n", 1)+"service T {\n  rpc Z(Req) oneway;\n}\n"))
	require.NoError(t, err)
	assert.Empty(t, Check(o, added))
	// A removed service reports each of its methods.
	gone, err := Parse("new.schema", []byte(svcMsgs+"message Other = 3 {\n}\n"))
	require.NoError(t, err)
	assert.Len(t, Check(o, gone), 6)
}
