// Package rawsys is the "raw" System of psbench: a minimal Go TCP echo
// that reads length-prefixed frames and coalesces its writes (a
// bufio.Writer flushed only when the read buffer is drained). It is the
// ceiling of the machine, the distance every real transport is measured
// against.
//
// Wire format: a connection starts with one mode byte. Mode 'E' (echo):
// then frames of a 4-byte big-endian body length and the body, each echoed
// back unchanged. Unary calls put an 8-byte id (caller slot and sequence)
// in front of the payload so that many callers share a connection, one
// call in flight each; Pipelined and Bidi streams (identical here: TCP has
// no streams) use one dedicated connection each. Mode 'S' (server
// stream): then a 4-byte payload size, after which the server writes
// frames of that size, stamped with its wall clock, until the client goes.
package rawsys
