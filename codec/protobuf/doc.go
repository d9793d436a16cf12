// Package protobuf is protosocket's codec for google.golang.org/protobuf
// messages over varint length-delimited framing: a uvarint body length,
// then the body, byte for byte the stream written by Java's
// writeDelimitedTo (read by parseDelimitedFrom), protobufjs's
// encodeDelimited and prost's encode_length_delimited.
//
// The package name is protobuf; it imports google.golang.org/protobuf/proto
// as proto, so both names can be used side by side.
//
// # Encoding
//
// AppendDelimited and Append append to a caller-owned buffer with
// proto.MarshalOptions.MarshalAppend (like binary.AppendUvarint);
// MarshalBuffer fills a pooled buffer and Send hands it to a socket.Sender
// without a copy. With socket/ the connection's framing is frame.Varint
// (the socket adds the length prefix), so payloads are bare bodies.
//
// # Decoding
//
// Unmarshal resets the message and decodes into it with
// proto.UnmarshalOptions{Merge: false}, so one message can be reused for
// every read. SplitDelimited finds one delimited message in a buffer and
// Reader reads them from an io.Reader, both with a maximum body size.
//
// # Errors
//
// Every failure is an *Error that matches one sentinel with errors.Is:
// ErrMalformedVarint (a length prefix longer than 10 bytes or overflowing
// 64 bits), ErrTooLarge (a length over the maximum, reported as soon as the
// prefix shows it, before any body byte is read), ErrTruncated (the stream
// ended inside a message), ErrDecode (a body protobuf cannot decode) or
// ErrEncode. errors.As gives the *Error, with the message type and the
// protobuf error as Cause. A reactor that gets any of them returns
// socket.Disconnect: the stream cannot be trusted after it.
//
// # RPC compatibility mode
//
// Compat adapts a generated message type to socket/rpc/compat.Codec: the
// request id and control code are ordinary fields of the message (numbers
// 1 and 2 by default, as in the Rust protosocket-rpc examples), read and
// written on the generated struct through Go reflection (protoreflect's
// Set allocates); Compat.Peek reads both off the wire without decoding the
// rest. docs/wire.md ("Protobuf framing and compatibility conventions")
// states the conventions.
//
// # vtprotobuf
//
// A flat proto3 message (no nested messages, lists, maps or oneofs) whose
// generated code has protoc-gen-go-vtproto's marshal, unmarshal and size
// methods is encoded and decoded by them: the same bytes, its strings
// still checked for UTF-8 here, several times faster
// (BenchmarkCodecPaths). examples/protoecho's messages have them.
package protobuf
