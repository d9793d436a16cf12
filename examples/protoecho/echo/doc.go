// Package echo is the protoecho service: the generated messages of
// ../echo.proto (EchoRequest, EchoResponse, Control), a server and a Go
// client, in protosocket-rpc compatibility mode over varint
// length-delimited protobuf (codec/protobuf, frame.Varint).
//
// A request with stream_count 0 is unary: one Normal reply with the same
// request_id. With stream_count N > 0 the server sends N Normal replies
// (seq 0..N-1), then an End message. A Cancel message with the id stops the
// call; the server then sends Cancel for it if the call was still running
// and nothing if it had finished, never End (protosocket-rpc's rule). The
// server waits delay_ms before each reply. The server is a
// socket/rpc/compat Server (NewServer) and the Client a compat.Client, so
// both follow every rule listed in package compat.
//
// Regenerate echo.pb.go from the repository root with
//
//	protoc --go_out=. --go_opt=module=github.com/protosocket-go/protosocket examples/protoecho/echo.proto
package echo
