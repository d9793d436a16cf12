// Command protoc-gen-go-protosocket is a protoc plugin that generates
// protosocket (socket/rpc) stubs for the services of .proto files, next to
// the messages protoc-gen-go generates:
//
//	go install github.com/protosocket-go/protosocket/cmd/protoc-gen-go-protosocket
//	protoc --go_out=. --go_opt=paths=source_relative \
//	    --go-protosocket_out=. --go-protosocket_opt=paths=source_relative greeter.proto
//
// For greeter.proto it writes greeter_protosocket.pb.go in the same Go
// package as greeter.pb.go. For each service Greeter:
//
//   - PSGreeter_<Method>_Method: the method ids (below).
//   - PSGreeterServer: the server interface. Unary methods take the request
//     and a response to fill in, SayHello(ctx, req, resp) error; streaming
//     methods take a stream (*PSGreeter_<Method>Server) with Send and/or
//     Recv. The messages are pooled and reused, and the streams are valid
//     until the method returns (under -tags psdebug a stream used later
//     panics, naming the mistake).
//   - RegisterPSGreeterServer(s *rpc.Server, impl, mode): registers every
//     method; a request that does not decode is answered with
//     rpc.CodeInvalidArgument without calling impl.
//   - PSGreeterClient, from NewPSGreeterClient(*rpc.Client) or
//     NewPSGreeterPoolClient(*balance.Pool): SayHello(ctx, in) (*HelloReply,
//     error) as in grpc-go, SayHelloInto(ctx, in, out) error reusing out,
//     and for streams a *PSGreeter_<Method>Client with Send / Recv /
//     CloseSend / CloseAndRecv / Close.
//
// The "PS" prefix keeps every name apart from protoc-gen-go-grpc's, so the
// grpc-go and protosocket stubs of one .proto can be generated into one
// package while a service moves over (docs/migrating-from-grpc.md).
//
// # Method ids
//
// A method's id (the frame's type field) is MethodID of its gRPC-style
// full name: the FNV-1a 32-bit hash of "/" + service full name + "/" +
// method name, e.g. "/greeter.Greeter/SayHello". The parameter
// method_id=/pkg.Service/Method=N (repeatable:
// --go-protosocket_opt=method_id=/greeter.Greeter/SayHello=7) sets one by
// hand. Ids are checked across all the files of one protoc run: two
// methods with one id, or an id of 0, fail the generation.
//
// # Generation-time errors
//
// Each names the .proto file and the service or method: a service with no
// methods; a generated identifier that another one in the Go package
// already has (a message, enum, enum value, oneof wrapper or extension of
// protoc-gen-go, an identifier of protoc-gen-go-grpc, or one generated for
// another service); two methods with one Go name; a client method named
// twice (methods M and MInto); colliding or zero method ids; a method_id
// parameter naming no method. Every streaming kind proto3 can declare
// (unary, server, client, bidirectional) is generated.
//
// # Errors on the wire
//
// A handler's *rpc.Error reaches the caller with its code; any other error
// is rpc.CodeUnknown, context.Canceled and context.DeadlineExceeded map to
// CodeCanceled and CodeDeadlineExceeded. docs/migrating-from-grpc.md maps
// gRPC status codes onto these.
package main
