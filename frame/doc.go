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
// frame is retained (Frame.Retain / Frame.Release); under the psdebug
// build tag a view kept past that reads as poison, and a Retain after the
// last Release or a second Release panics, naming the mistake
// (TestDebugKeptViewSeesPoison). A Writer references payloads above
// CopyThreshold until Flush returns; under psdebug one changed meanwhile
// makes Flush panic with MsgRefChanged (TestDebugReferencedPayloadChanged).
// An idle Reader holds
// no slab; on sockets it waits for readability before taking one. With
// the Default framing, a whole buffered frame without CRC is parsed
// inline, with no Framing call: about 12 ns a frame for 16-byte payloads
// (BenchmarkReader, 2 cores), of which some 2 ns is the atomic frame
// counter that keeps Stats exact and race-free from any goroutine.
//
// A Reader's memory grows with the bytes that arrived, never with a length
// a header announced: a partial frame is held in at most
// max(SlabSize, 4 x its bytes so far) (rounded up to the pool's size
// class) and moves to larger slabs (the pool's large classes above 1 MiB)
// as it grows; the growth of all Readers is bounded by a shared Budget
// (process-wide by default, 1 GiB), past which a Reader fails with
// ErrBudget. (Package socket learns that a started frame is waiting for
// its bytes through internal/framehook, to bound the time it may take.)
// See docs/memory.md.
//
// In skip mode (ReaderOptions.SkipOversized) a frame over MaxFrameSize,
// up to MaxSkipSize (DefaultMaxSkipSize, 1 GiB), is returned as its header
// with Frame.Oversized set and no payload, and its bytes are discarded as
// they arrive, in one SlabSize slab: the upper layer answers it (socket/rpc
// fails just that call) and the stream goes on.
//
// # Writer
//
// NewWriter(conn, WriterOptions{}).WriteFrame buffers frames and Flush
// writes them: with writev through syscall.RawConn on sockets (many frames
// per system call, large payloads referenced rather than copied), or one
// Write per chunk elsewhere (one Write for a batch that fits a chunk).
// Frames are copied into fixed-size chunks (WriterOptions.ChunkSize,
// 64 KiB) taken from a pool.SlabPool; a batch that outgrows a chunk
// continues in the next one (another iovec) rather than regrowing and
// copying a buffer, so a steady-state Writer allocates nothing. A batch
// starts in a 1 KiB chunk from a sync.Pool, so flushing a frame or a few
// at a time takes no pool lock. Flush returns every chunk: an idle Writer
// holds none.
//
// DefaultCopyThreshold, 16 KiB, is the size above which payloads are
// referenced rather than copied on the writev path. BenchmarkCopyVsRef
// (batches of 16 frames over loopback TCP, 2 shared cores, -count=10,
// benchstat -col /mode, time per frame):
//
//	size     copy     ref      ref vs copy
//	1 KiB    905 ns   796 ns   ~ (p=0.44)
//	4 KiB    2.65 µs  2.50 µs  ~ (p=0.32)
//	8 KiB    5.44 µs  5.62 µs  ~ (p=0.85)
//	16 KiB   11.0 µs  11.1 µs  ~ (p=0.80)
//	32 KiB   26.8 µs  21.0 µs  -22% (p=0.011)
//	64 KiB   42.6 µs  47.6 µs  ~ (p=0.39)
//	256 KiB  171 µs   146 µs   -15% (p=0.023)
//
// Up to 16 KiB the two cost the same on the wire, so those payloads are
// copied: the caller may reuse them as soon as WriteFrame returns, and a
// Flush makes one iovec per chunk rather than one per frame. Above it
// referencing was faster where the difference was significant, and it
// does not hold a large payload twice until Flush.
//
// # Errors
//
// Malformed input, a length over the maximum, a bad checksum and a stream
// cut mid-frame give *Error values that match ErrMalformed,
// ErrFrameTooLarge, ErrChecksum and ErrTruncated (which also matches
// io.ErrUnexpectedEOF) under errors.Is; a partial frame its Budget cannot
// cover gives ErrBudget; a clean end between frames is io.EOF. No input
// makes this package panic, hang, or hold more than
// max(SlabSize, 4 x the bytes received) per Reader (rounded up to a size
// class, and never more than one slab of the largest frame).
package frame
