// Package compatsys is socket/rpc/compat as a load.System named "compat":
// a Go compat client and server over the protoecho schema
// (examples/protoecho: varint-delimited protobuf, request_id and code in
// the message, as the Rust protosocket-rpc), next to the native
// "protosocket" system (socket/rpc) in psbench.
//
// Only the unary scenario is served: protoecho's payload is a string field
// (protobuf checks it is UTF-8), which cannot carry the binary time stamps
// of the streaming scenarios; Dial refuses the others with an error.
package compatsys
