// Package compat speaks RPC the way the Rust protosocket-rpc does: there
// is no protosocket frame header; the request id and a control code
// (Normal=0, Cancel=1, End=2) live inside the user's own message (the Rust
// examples use protobuf fields 1 and 2), over a framing such as
// frame.Varint. The user supplies a Codec that encodes, parses and reaches
// those two fields (codec/protobuf's Compat, codec/msgpack's); a Go server
// built with NewServer serves such clients, and a Go Client calls such
// servers. docs/rpc-wire.md ("Compatibility mode") states the rules.
//
// # The rules, as protosocket-rpc 2.0 follows them
//
//   - A unary call is one Normal request and one Normal response with the
//     same id; no End. A streaming call is answered by Normal items, then
//     an End (a message with only id and code; anything else in it is
//     ignored).
//   - Servers send Cancel too: to reject a call (a Handler or
//     StreamHandler error, a panic, an unencodable response, a request
//     over MaxInFlight or MaxInFlightBytes) and after aborting a call the
//     client canceled. After a client's Cancel a server sends Cancel if
//     the call was still running, nothing if it had finished; never End.
//   - A client that gets Cancel ends the call: Call fails with
//     ErrCancelledRemotely, a stream's Recv too. A client that cancels
//     sends Cancel (id and code only), frees the id and waits for
//     nothing; what arrives for the id later is ignored.
//   - Codes are read as protosocket-rpc reads them (Read): the field is
//     truncated to 8 bits, and 3..255 mean Cancel.
//   - A request whose id is in flight starts a second call; both answer
//     (Options.RejectDuplicates rejects it instead).
//   - Messages for unknown ids are ignored; a message that does not parse
//     closes the connection.
//
// # Speed
//
// In Inline mode a server runs unary handlers on the connection's reader
// and frames their replies into the reader's batch; in Pooled mode (the
// default) a bounded set of workers per connection runs them. Requests are
// decoded into reused messages and replies encoded into reused buffers:
// with codec/protobuf no allocation per call beyond protobuf-go's own
// (TestServerAllocs). The reader never waits for calls in flight, so a
// Cancel or the peer's close is always seen.
package compat
