// Package frame splits byte streams into frames and writes frames back,
// for protosocket's connections: the default frame format, three other
// framings behind one small interface, a zero-copy Reader over pooled
// slabs and a batching writev Writer.
//
// # Default format
//
// A frame is a 16-byte little-endian header (payload length, version 1,
// kind, flags, stream/correlation id, message type id), a CRC32C of the
// payload when flag bit 0 is set, then the payload. docs/wire.md describes
// it byte by byte. AppendHeader, AppendFrame and ParseHeader encode and
// parse it over caller-owned buffers.
//
// # Framings
//
// A Framing tells a Reader where frames are (Complete, NeedMore, Skip, or
// an error) and tells a Writer what goes around a payload. Default, Varint
// (protobuf's writeDelimitedTo), Fixed32 (4-byte big-endian length) and
// Lines (newline-delimited) are provided; socket/ carries any of them.
//
// # Reader
//
// NewReader(conn, ReaderOptions{}).Next returns frames whose Payload is a
// view into a pooled slab, valid until the next call to Next unless the
// frame is retained (Frame.Retain / Frame.Release). An idle Reader holds
// no slab; on sockets it waits for readability before taking one.
//
// # Writer
//
// NewWriter(conn, WriterOptions{}).WriteFrame buffers frames and Flush
// writes them: with writev through syscall.RawConn on sockets (many frames
// per system call, large payloads referenced rather than copied), or
// coalesced into one Write elsewhere.
//
// # Errors
//
// Malformed input, a length over the maximum, a bad checksum and a stream
// cut mid-frame give *Error values that match ErrMalformed,
// ErrFrameTooLarge, ErrChecksum and ErrTruncated (which also matches
// io.ErrUnexpectedEOF) under errors.Is; a clean end between frames is
// io.EOF. No input makes this package panic, hang, or allocate more than
// the configured maximum frame size plus one slab.
package frame
