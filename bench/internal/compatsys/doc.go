// Package compatsys is socket/rpc/compat as a load.System named "compat":
// the Go compat client and server speaking protosocket-rpc's compatible
// protocol (varint-delimited protobuf, the request id and control code
// inside the message, as the Rust protosocket-rpc), next to the native
// "protosocket" system (socket/rpc) in psbench. The message is
// benchpb.Msg, shaped like the Rust examples' messages with the payload as
// bytes, so it carries the same bytes as every other system; it is
// encoded by its vtprotobuf methods through codec/protobuf.
//
// Scenarios: Unary is compat.Client.Call against an Inline (or Pooled)
// handler; Pipelined is the protosocket-rpc way of pipelining, requests
// with their own ids sent without waiting on one connection, answered in
// order by the Inline handler; Bidi is the same (compat has no client
// streaming); ServerStream is a compat streaming call whose handler pushes
// stamped payloads until the client cancels.
package compatsys
