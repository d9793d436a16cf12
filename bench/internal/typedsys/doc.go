// Package typedsys is psbench's "typed" system: socket/rpc through the
// stubs codecgen generates from a schema service (echopb/echo.schema), the
// path users of typed services run: the request built with the generated
// builder into the client's reused buffer, checked (type id) and wrapped
// as a flyweight view on the server, the response built into the
// response buffer, checked and wrapped on the client. It serves the unary
// scenario only; compare it with the raw-bytes RPC in one run:
//
//	go run ./cmd/psbench -systems protosocket,typed
//
// Its server and client use the same options as the "protosocket" system
// (bench/rpcbench: ServerOptions.ReuseContexts, zero ClientOptions, the
// handler Inline), so the ratio isolates the typed layer. The wire body is 4 bytes
// of type id plus the record (12 bytes of header and slot) longer than
// the raw payload.
package typedsys
