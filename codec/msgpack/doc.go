// Package msgpack is protosocket's codec for protosocket-messagepack, the
// MessagePack encoding of the Rust protosocket-rpc:
//
//   - Framing: each message is a MessagePack uint32, the marker 0xce then
//     4 bytes big-endian, giving the body length, then the body (what
//     protosocket-messagepack's serializer writes and its decoder reads).
//   - Bodies as rmp-serde encodes them by default: a struct is an array of
//     its fields in declaration order, an Option is nil or the value, a
//     unit enum variant is its name, a newtype variant a one-entry map from
//     its name to its value (examples/rustecho/mpecho has the
//     example-messagepack shapes).
//
// Message types are tinylib/msgp generated code (`//msgp:tuple` for the
// array form), chosen for speed: append-style encoding into the caller's
// buffer and no reflection (the README's dependency table gives the
// benchmark). Compat adapts such a type to socket/rpc/compat, so a Go
// client and server speak protosocket-rpc over MessagePack; its Peek reads
// the id and code (the first two array elements) without decoding the
// rest.
//
// # Errors
//
// Every failure is an *Error matching one sentinel with errors.Is:
// ErrMarker (a length marker other than 0xce; it also matches
// frame.ErrMalformed, so the socket reports it as ErrProtocol),
// ErrTooLarge (a length over the maximum, reported from the 5 prefix bytes,
// before any body byte is buffered; it also matches frame.ErrFrameTooLarge),
// ErrArity (an array with the wrong number of elements), ErrTrailing (bytes
// after the message inside its frame), ErrDecode (any other undecodable
// body) and ErrEncode. One difference from rmp-serde: strings are not
// checked for UTF-8 (msgp does not), where rmp-serde refuses them. A compat reactor that gets a decode error closes
// the connection.
package msgpack
