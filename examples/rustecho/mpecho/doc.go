// Package mpecho holds the messages of protosocket's example-messagepack
// (Request, Response and their bodies) as tinylib/msgp generated code in
// rmp-serde's default encoding (see codec/msgpack), with the id and code
// accessors codec/msgpack's Compat needs. Regenerate messages_gen.go with
// `go generate` (msgp v1.6.5); enums.go encodes the two Rust enums by
// hand with msgp's primitives (a unit variant is its name; Option of a
// newtype variant is nil or a one-entry map from the variant's name).
package mpecho
