package main

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/compiler/protogen"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/pluginpb"

	"github.com/protosocket-go/protosocket/cmd/protoc-gen-go-protosocket/internal/kindspb"
)

var update = flag.Bool("update", false, "rewrite the golden files from the plugin's output")

// goldenProtoc is the compiler version the golden requests claim: the
// one of Debian's protobuf-compiler, which the committed files were first
// made with.
var goldenProtoc = &pluginpb.Version{Major: proto.Int32(3), Minor: proto.Int32(21), Patch: proto.Int32(12)}

// request builds the CodeGeneratorRequest protoc would send for files
// (the last one is generated; all must be given in dependency order).
func request(param string, files ...*descriptorpb.FileDescriptorProto) *pluginpb.CodeGeneratorRequest {
	req := &pluginpb.CodeGeneratorRequest{Parameter: proto.String(param), CompilerVersion: goldenProtoc}
	for _, f := range files {
		req.ProtoFile = append(req.ProtoFile, f)
		req.FileToGenerate = append(req.FileToGenerate, f.GetName())
	}
	return req
}

// runPlugin runs the plugin in-process, as protoc would run the binary.
func runPlugin(t *testing.T, req *pluginpb.CodeGeneratorRequest) *pluginpb.CodeGeneratorResponse {
	t.Helper()
	gen, err := protogen.Options{}.New(req)
	require.NoError(t, err)
	if err := run(gen); err != nil {
		gen.Error(err)
	}
	return gen.Response()
}

func kindsFile() *descriptorpb.FileDescriptorProto {
	return protodesc.ToFileDescriptorProto(kindspb.File_kinds_proto)
}

// TestGolden compares the plugin's output for kinds.proto (every method
// kind) with internal/kindspb/kinds_protosocket.pb.go, which is compiled
// and run by kindspb's tests. go test -update rewrites it.
func TestGolden(t *testing.T) {
	resp := runPlugin(t, request("paths=source_relative", kindsFile()))
	require.Empty(t, resp.GetError())
	require.Len(t, resp.File, 1)
	f := resp.File[0]
	assert.Equal(t, "kinds_protosocket.pb.go", f.GetName())
	assert.Equal(t, uint64(pluginpb.CodeGeneratorResponse_FEATURE_PROTO3_OPTIONAL), resp.GetSupportedFeatures())
	golden := filepath.Join("internal", "kindspb", "kinds_protosocket.pb.go")
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(f.GetContent()), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	assert.Equal(t, string(want), f.GetContent(), "the plugin's output changed: go test -update, then review the diff")
	assert.Contains(t, f.GetContent(), "// versions:\n// \tprotoc-gen-go-protosocket "+version+"\n// \tprotoc                    v3.21.12\n")
	assert.Contains(t, f.GetContent(), "const _ = rpc.SupportPackageIsVersion1")
}

// TestNoServices: a file without services gives no file at all.
func TestNoServices(t *testing.T) {
	fd := kindsFile()
	fd.Service = nil
	resp := runPlugin(t, request("", fd))
	require.Empty(t, resp.GetError())
	assert.Empty(t, resp.File)
}

func method(name, in, out string, cs, ss bool) *descriptorpb.MethodDescriptorProto {
	return &descriptorpb.MethodDescriptorProto{Name: proto.String(name), InputType: proto.String(in),
		OutputType: proto.String(out), ClientStreaming: proto.Bool(cs), ServerStreaming: proto.Bool(ss)}
}

func service(name string, methods ...*descriptorpb.MethodDescriptorProto) *descriptorpb.ServiceDescriptorProto {
	return &descriptorpb.ServiceDescriptorProto{Name: proto.String(name), Method: methods}
}

// collideFile is package bad with service Collide, whose methods M52vu
// and Mguea have the same FNV-1a 32-bit hash (found by a birthday search).
func collideFile() *descriptorpb.FileDescriptorProto {
	return &descriptorpb.FileDescriptorProto{
		Name:        proto.String("bad/collide.proto"),
		Package:     proto.String("bad"),
		Syntax:      proto.String("proto3"),
		Options:     &descriptorpb.FileOptions{GoPackage: proto.String("example.com/bad")},
		MessageType: []*descriptorpb.DescriptorProto{{Name: proto.String("M")}},
		Service: []*descriptorpb.ServiceDescriptorProto{service("Collide",
			method("M52vu", ".bad.M", ".bad.M", false, false),
			method("Mguea", ".bad.M", ".bad.M", false, false))},
	}
}

// TestBadInput: every input that cannot give correct stubs is an error
// naming the file and the element, and no file is generated.
func TestBadInput(t *testing.T) {
	req := ".kinds.Req"
	require.Equal(t, MethodID("/bad.Collide/M52vu"), MethodID("/bad.Collide/Mguea"), "the collision test needs colliding names")

	tests := []struct {
		name   string
		param  string
		mutate func(fd *descriptorpb.FileDescriptorProto) []*descriptorpb.FileDescriptorProto
		want   string
	}{
		{"service without methods", "", func(fd *descriptorpb.FileDescriptorProto) []*descriptorpb.FileDescriptorProto {
			fd.Service = append(fd.Service, service("Empty"))
			return nil
		}, "kinds.proto: service kinds.Empty: a service with no methods"},
		{"message named like a generated type", "", func(fd *descriptorpb.FileDescriptorProto) []*descriptorpb.FileDescriptorProto {
			fd.MessageType = append(fd.MessageType, &descriptorpb.DescriptorProto{Name: proto.String("PSKindsClient")})
			return nil
		}, "kinds.proto: service kinds.Kinds: generated identifier PSKindsClient collides with message kinds.PSKindsClient (kinds.proto)"},
		{"enum value named like a method id", "", func(fd *descriptorpb.FileDescriptorProto) []*descriptorpb.FileDescriptorProto {
			fd.EnumType = append(fd.EnumType, &descriptorpb.EnumDescriptorProto{Name: proto.String("PSKinds"),
				Value: []*descriptorpb.EnumValueDescriptorProto{{Name: proto.String("Unary_Method"), Number: proto.Int32(0)}}})
			return nil
		}, "kinds.proto: method kinds.Kinds.Unary: generated identifier PSKinds_Unary_Method collides with enum value kinds.Unary_Method (kinds.proto)"},
		{"oneof wrapper named like a stream type", "", func(fd *descriptorpb.FileDescriptorProto) []*descriptorpb.FileDescriptorProto {
			fd.MessageType = append(fd.MessageType, &descriptorpb.DescriptorProto{Name: proto.String("PSKinds"),
				Field: []*descriptorpb.FieldDescriptorProto{{Name: proto.String("BidiServer"), Number: proto.Int32(1),
					Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), OneofIndex: proto.Int32(0), JsonName: proto.String("BidiServer")}},
				OneofDecl: []*descriptorpb.OneofDescriptorProto{{Name: proto.String("o")}}})
			return nil
		}, "kinds.proto: method kinds.Kinds.Bidi: generated identifier PSKinds_BidiServer collides with oneof field kinds.PSKinds.BidiServer (kinds.proto)"},
		{"grpc-go stubs of another service", "", func(fd *descriptorpb.FileDescriptorProto) []*descriptorpb.FileDescriptorProto {
			fd.Service = append(fd.Service, service("PSKinds", method("Get", req, req, false, false)))
			return nil
		}, "kinds.proto: service kinds.Kinds: generated identifier PSKindsServer collides with protoc-gen-go-grpc's stubs of service kinds.PSKinds (kinds.proto)"},
		{"services whose generated names meet", "", func(fd *descriptorpb.FileDescriptorProto) []*descriptorpb.FileDescriptorProto {
			fd.Service = append(fd.Service, service("Kinds_Bidi", method("Get", req, req, false, false)))
			return nil
		}, "kinds.proto: service kinds.Kinds_Bidi: generated identifier PSKinds_BidiServer collides with method kinds.Kinds.Bidi (kinds.proto)"},
		{"two methods with one Go name", "", func(fd *descriptorpb.FileDescriptorProto) []*descriptorpb.FileDescriptorProto {
			fd.Service[1].Method = append(fd.Service[1].Method, method("ping", req, req, false, false))
			return nil
		}, "kinds.proto: method kinds.Other.ping: its Go name Ping is also the Go name of method Ping"},
		{"client method generated twice", "", func(fd *descriptorpb.FileDescriptorProto) []*descriptorpb.FileDescriptorProto {
			fd.Service[1].Method = append(fd.Service[1].Method, method("PingInto", req, req, false, false))
			return nil
		}, "kinds.proto: method kinds.Other.PingInto: client method PSOtherClient.PingInto is also generated for method Ping"},
		{"the same service name in two files of one Go package", "", func(fd *descriptorpb.FileDescriptorProto) []*descriptorpb.FileDescriptorProto {
			two := proto.Clone(fd).(*descriptorpb.FileDescriptorProto)
			two.Name, two.Package = proto.String("kinds2.proto"), proto.String("kinds2")
			two.MessageType, two.Service = nil, []*descriptorpb.ServiceDescriptorProto{service("Other", method("Ping", req, req, false, false))}
			two.Dependency = []string{"kinds.proto"}
			return []*descriptorpb.FileDescriptorProto{fd, two}
		}, "kinds2.proto: service kinds2.Other: generated identifier PSOtherServer collides with service kinds.Other (kinds.proto)"},
		{"colliding method ids", "", func(*descriptorpb.FileDescriptorProto) []*descriptorpb.FileDescriptorProto {
			return []*descriptorpb.FileDescriptorProto{collideFile()}
		}, "bad/collide.proto: method bad.Collide.Mguea: method id 1808502955 (0x6bcb90ab) of /bad.Collide/Mguea is also the id of method /bad.Collide/M52vu (bad/collide.proto)"},
		{"a set id colliding with a derived one", "method_id=/kinds.Kinds/Bidi=" + strconv.FormatUint(uint64(MethodID("/kinds.Kinds/Unary")), 10), nil,
			"kinds.proto: method kinds.Kinds.Bidi: method id"},
		{"id zero", "method_id=/kinds.Other/Ping=0", nil, "kinds.proto: method kinds.Other.Ping: method id 0 is reserved"},
		{"method_id for no method", "method_id=/kinds.Other/Pong=5", nil, "method_id: no method /kinds.Other/Pong in the files being generated"},
		{"method_id not a number", "method_id=/kinds.Other/Ping=x", nil, `method_id=/kinds.Other/Ping=x: "x" is not a uint32`},
		{"method_id out of range", "method_id=/kinds.Other/Ping=4294967296", nil, "is not a uint32"},
		{"method_id without a name", "method_id=5", nil, "want /package.Service/Method=N"},
		{"method_id given twice", "method_id=/kinds.Other/Ping=5,method_id=/kinds.Other/Ping=6", nil, "/kinds.Other/Ping is given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fd := kindsFile()
			files := []*descriptorpb.FileDescriptorProto{fd}
			if tt.mutate != nil {
				if fs := tt.mutate(fd); fs != nil {
					files = fs
				}
			}
			resp := runPlugin(t, request(tt.param, files...))
			assert.Contains(t, resp.GetError(), tt.want)
			assert.Empty(t, resp.File, "nothing is generated")
		})
	}
}

// TestMethodIDParameter: method_id resolves a collision; the set id is
// the one generated.
func TestMethodIDParameter(t *testing.T) {
	resp := runPlugin(t, request("method_id=/bad.Collide/Mguea=0x7", collideFile()))
	require.Empty(t, resp.GetError())
	require.Len(t, resp.File, 1)
	assert.Equal(t, "example.com/bad/collide_protosocket.pb.go", resp.File[0].GetName())
	assert.Contains(t, resp.File[0].GetContent(), "PSCollide_Mguea_Method uint32 = 0x7\n")
	assert.Contains(t, resp.File[0].GetContent(), "PSCollide_M52Vu_Method uint32 = 0x6bcb90ab\n")
}

// TestMethodID pins the derivation: changing it breaks every deployed
// client/server pair, so it must not change.
func TestMethodID(t *testing.T) {
	assert.Equal(t, uint32(0xaf2f831c), MethodID("/greeter.Greeter/SayHello"))
	assert.Equal(t, uint32(0x811c9dc5), MethodID(""), "FNV-1a's offset basis")
}

// TestForeignMessages: methods whose messages live in another Go package
// (here the well-known Empty and Timestamp) refer to them through that
// package's import, in the server interface, the pooled messages and the
// client alike.
func TestForeignMessages(t *testing.T) {
	fd := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("clock.proto"),
		Package:    proto.String("clock"),
		Syntax:     proto.String("proto3"),
		Dependency: []string{"google/protobuf/empty.proto", "google/protobuf/timestamp.proto"},
		Options:    &descriptorpb.FileOptions{GoPackage: proto.String("example.com/clock;clock")},
		Service: []*descriptorpb.ServiceDescriptorProto{service("Clock",
			method("Now", ".google.protobuf.Empty", ".google.protobuf.Timestamp", false, false),
			method("Ticks", ".google.protobuf.Empty", ".google.protobuf.Timestamp", false, true))},
	}
	req := request("paths=source_relative",
		protodesc.ToFileDescriptorProto(emptypb.File_google_protobuf_empty_proto),
		protodesc.ToFileDescriptorProto(timestamppb.File_google_protobuf_timestamp_proto), fd)
	req.FileToGenerate = []string{"clock.proto"}
	resp := runPlugin(t, req)
	require.Empty(t, resp.GetError())
	require.Len(t, resp.File, 1)
	out := resp.File[0].GetContent()
	for _, want := range []string{
		"emptypb \"google.golang.org/protobuf/types/known/emptypb\"",
		"timestamppb \"google.golang.org/protobuf/types/known/timestamppb\"",
		"Now(ctx context.Context, req *emptypb.Empty, resp *timestamppb.Timestamp) error",
		"\treq  emptypb.Empty\n\tresp timestamppb.Timestamp\n",
		"func (c *PSClockClient) Ticks(ctx context.Context, in *emptypb.Empty) (*PSClock_TicksClient, error)",
	} {
		assert.Contains(t, out, want)
	}
}
