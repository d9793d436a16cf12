// Package compat speaks RPC the way the Rust protosocket-rpc does: there
// is no protosocket frame header; the request id and a control code
// (Normal=0, Cancel=1, End=2) live inside the user's own message (the Rust
// examples use protobuf fields 1 and 2), over a framing such as
// frame.Varint. The user supplies a Codec that encodes, parses and reaches
// those two fields; a Go server built with NewServer serves such clients,
// and a Go Client calls such servers. docs/rpc-wire.md ("Compatibility
// mode") states the conventions.
//
// This mode is for interoperability, not speed: its client correlates
// calls through a mutex-guarded map and allocates per call.
package compat
