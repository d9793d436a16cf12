// Package pssys is the "protosocket" System of psbench: the socket
// package's server and client on loopback, carrying the load loop's
// payloads in default-format frames (frame.Default) with no codec in
// between, so that every system carries the same bytes of user payload.
//
// This is an interim unary on raw socket frames, until socket/rpc exists:
// a unary call is a data frame whose header stream id identifies the
// caller (the upper 16 bits are the caller's slot on its connection, the
// lower 16 bits the call's sequence number, so a late reply to an
// abandoned call is told apart); the server echoes the frame with its
// header unchanged, and the client's reactor completes the call through a
// slot array preallocated at Dial and indexed by the id (no map, no
// allocation per call). Many callers share a connection, one call in
// flight each.
//
// Pipelined and Bidi streams use one dedicated connection each, whose
// frames the server echoes in order; socket/ has no streams of its own yet,
// so the two are the same here (as in the raw system). Received messages
// are retained (socket.Message.Retain) and handed to Recv, which releases
// each one at the next Recv: no copy on the receive path.
//
// ServerStream: the client sends one frame of kind KindServerStream whose
// 4-byte big-endian payload is the payload size; the server then pushes
// frames of that size, stamped with its wall clock, as fast as the
// connection's bounded queue lets it, until the client goes.
package pssys
