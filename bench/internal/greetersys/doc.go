// Package greetersys is the protobuf-typed pair of psbench systems: the
// greeter service of examples/greeter (greeter.proto's SayHello) served
// and called over protosocket with the stubs protoc-gen-go-protosocket
// generated ("greeter-ps"), and the same method of the same .proto over
// grpc-go with its default protobuf codec ("greeter-grpc"). It is the
// comparison a team moving a gRPC service over cares about:
//
//	go run ./cmd/psbench -systems greeter-ps -vs greeter-grpc
//
// Both sides do the same protobuf work per call: the caller puts the
// payload in HelloRequest.Name (a string conversion, one allocation on
// both systems), the server answers HelloReply{Message: req.Name} (a
// response of the payload's size), and the caller's reply message is
// reused. On protosocket the client is PSGreeterClient.SayHelloInto over
// one rpc.Client per connection, the server RegisterPSGreeterServer with
// rpc.Inline; on grpc-go the server is a grpc.ServiceDesc written as
// protoc-gen-go-grpc writes it (grpc stubs cannot be generated into
// greeterpb without grpc-go entering the library's module) and the client
// calls ClientConn.Invoke with a reused reply, which allocates less than
// the generated grpc client (that makes a new reply per call).
//
// Only the Unary scenario exists (the greeter has no echo stream);
// OpenStream returns ErrUnsupported.
package greetersys
