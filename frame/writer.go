package frame

import (
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"sync"
	"syscall"

	"github.com/protosocket-go/protosocket/internal/framehook"
	"github.com/protosocket-go/protosocket/pool"
)

// DefaultCopyThreshold is the default WriterOptions.CopyThreshold; see
// the package documentation (Writer) for the measurements behind it.
const DefaultCopyThreshold = 16 << 10

// DefaultChunkSize is the default WriterOptions.ChunkSize.
const DefaultChunkSize = 64 << 10

// MinChunkSize is the smallest WriterOptions.ChunkSize accepted.
const MinChunkSize = 256

// smallChunkSize is the size of the first chunk of a batch, taken from
// smallChunks rather than the slab pool: a batch that fits (a frame or a
// few per Flush, the request/response case) never touches the pool's
// locks. A batch that outgrows it moves its bytes (at most this many) to
// a pooled chunk and goes on there.
const smallChunkSize = 1 << 10

// smallChunks holds the small first chunks; sync.Pool is per-P and lets
// the garbage collector reclaim idle ones.
var smallChunks = sync.Pool{New: func() any { return new([smallChunkSize]byte) }}

// maxKeptIovecs bounds the iovec slice a Writer keeps between flushes, so
// one huge batch of referenced payloads does not pin its bookkeeping.
const maxKeptIovecs = iovMax

// WriterOptions configures a Writer. The zero value is valid.
type WriterOptions struct {
	// Framing encodes each frame. Nil means Default.
	Framing Framing
	// MaxFrameSize is the largest payload WriteFrame accepts. Zero means
	// DefaultMaxFrameSize; at most HardMaxFrameSize.
	MaxFrameSize int
	// CopyThreshold: on the writev path, payloads up to this many bytes
	// are copied into the Writer's pooled chunks; larger ones are
	// referenced as their own iovec, with no copy, and the caller must
	// leave them unchanged until Flush returns. Zero means
	// DefaultCopyThreshold; negative means always copy. Without writev
	// (TLS, net.Pipe, bytes.Buffer) every payload is copied.
	CopyThreshold int
	// ChunkSize is the size of the pooled chunks frames are copied into.
	// A batch that outgrows one chunk continues in another (a separate
	// iovec, or a separate Write without writev) instead of growing and
	// copying a buffer. Zero means DefaultChunkSize; at least MinChunkSize
	// and at most pool's MaxSlabSize of Pool.
	ChunkSize int
	// Pool supplies the chunks. Nil means pool.Default().
	Pool *pool.SlabPool
}

func (o *WriterOptions) ensureDefaults() {
	if o.Framing == nil {
		o.Framing = Default
	}
	if o.MaxFrameSize == 0 {
		o.MaxFrameSize = DefaultMaxFrameSize
	}
	if o.CopyThreshold == 0 {
		o.CopyThreshold = DefaultCopyThreshold
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.Pool == nil {
		o.Pool = pool.Default()
	}
}

// Validate reports the first bad field as an *OptionError (matching
// ErrInvalidOptions). Zero fields are valid: they mean the defaults.
func (o WriterOptions) Validate() error {
	o.ensureDefaults()
	if err := validateSizes(o.MaxFrameSize, 0); err != nil {
		return err
	}
	if maxChunk := o.Pool.Options().MaxSlabSize; o.ChunkSize < MinChunkSize || o.ChunkSize > maxChunk {
		return &OptionError{"ChunkSize", int64(o.ChunkSize), fmt.Sprintf("must be in [%d, %d] (the pool's MaxSlabSize)", MinChunkSize, maxChunk)}
	}
	return nil
}

// WriterStats are a Writer's counters, updated when a Flush succeeds.
type WriterStats struct {
	Frames   uint64 // frames written
	Bytes    uint64 // bytes written, framing included
	Syscalls uint64 // writev or Write calls made on the destination
}

// chunk is one piece of the pending output: buf[:used] of a pooled slab,
// or of the small chunk when slab is nil.
type chunk struct {
	slab *pool.Slab
	buf  []byte
	used int
}

// extRef is a referenced payload, written after chunks[chunk][:off].
type extRef struct {
	p     []byte
	chunk int
	off   int
}

// Writer batches frames and writes them with as few system calls as it can.
//
// Headers and payloads are copied into fixed-size chunks (ChunkSize, 64 KiB
// by default) taken from a pool.SlabPool: when one is full the batch goes
// on in the next, so nothing is ever regrown. A batch starts in a small
// 1 KiB chunk from a sync.Pool, so a Flush of a frame or a few takes no
// pool lock; one that outgrows it moves those bytes (at most 1 KiB, once)
// to its first pooled chunk. Flush gives every chunk back, so an idle
// Writer holds no buffer.
//
// If the destination has a file descriptor (TCP and Unix connections),
// Flush gathers the chunks and the payloads larger than CopyThreshold
// (referenced, not copied) into writev calls (at most IOV_MAX iovecs each)
// through syscall.RawConn, so the netpoller parks the goroutine while the
// socket is full and write deadlines apply; partial writes are resumed.
// Other destinations (TLS, net.Pipe, bytes.Buffer) get every payload
// copied and one Write per chunk: one Write per Flush for a batch that
// fits one chunk.
//
// A Writer is not safe for concurrent use.
type Writer struct {
	dst       io.Writer
	rc        syscall.RawConn
	framing   Framing
	isDefault bool // framing is Default: headers are encoded inline
	overhead  int
	suffix    []byte
	max       int
	copyMax   int
	pool      *pool.SlabPool
	chunkSize int

	cur      []byte // Bytes of the last chunk; nil when none is held
	n        int    // bytes used in cur
	chunks   []chunk
	small    *[smallChunkSize]byte // chunks[0].buf while the batch fits it
	refs     []extRef
	scratch  []byte // prefixes of framings that do not fit a chunk
	frames   int    // frames buffered
	buffered int    // bytes buffered
	err      error

	iov      []iovec
	iovPos   int
	werr     error
	writevFn func(uintptr) bool // w.writevCall, bound once

	counters *framehook.WriterCounters // &own unless preset (internal/framehook)
	own      framehook.WriterCounters

	// Set by framehook.PresetWriter for the next Reset only.
	presetRC       syscall.RawConn
	presetCounters *framehook.WriterCounters
	preset         bool // a socket connection's Writer: its owners check their payloads

	// psdebug: checksums of the referenced payloads (refs), checked when
	// Flush has written them; off for a socket connection's Writer.
	checkRefs bool
	refSums   []uint32
}

// MsgRefChanged is the panic value under the psdebug build tag when a
// payload a Writer referenced (WriteFrame's or WriteEncoded's above
// CopyThreshold) changed before Flush returned.
const MsgRefChanged = "frame: a payload referenced by WriteFrame or WriteEncoded changed before Flush returned (it is written from the caller's memory: leave it unchanged until Flush returns)"

// NewWriter returns a Writer of frames to dst. It panics with the
// *OptionError if opts.Validate fails; validate user-supplied values first.
func NewWriter(dst io.Writer, opts WriterOptions) *Writer {
	w := new(Writer)
	w.Reset(dst, opts)
	return w
}

// Reset drops w's buffered frames and makes it a Writer to dst with opts,
// as NewWriter does, keeping the capacity of its bookkeeping: a pooled
// Writer moves between connections without allocating (given its RawConn
// through internal/framehook). Its counters start from zero. It panics with the *OptionError
// if opts.Validate fails. Reset(nil, WriterOptions{}) lets go of the last
// destination (before putting w in a pool). Unlike Stats, Reset must not
// run concurrently with any other method of w.
func (w *Writer) Reset(dst io.Writer, opts WriterOptions) {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	opts.ensureDefaults()
	rc, counters := w.presetRC, w.presetCounters
	w.checkRefs = pool.Debug && !w.preset
	w.presetRC, w.presetCounters, w.preset = nil, nil, false
	w.reset()
	_, isDefault := opts.Framing.(defaultFraming)
	w.dst, w.framing, w.isDefault = dst, opts.Framing, isDefault
	w.overhead, w.suffix = max(0, opts.Framing.Overhead()), opts.Framing.Suffix()
	w.max, w.copyMax, w.pool, w.chunkSize = opts.MaxFrameSize, opts.CopyThreshold, opts.Pool, opts.ChunkSize
	w.err, w.werr, w.iovPos = nil, nil, 0
	w.rc = nil
	if supportsWritev && dst != nil {
		w.rc = rc
		if w.rc == nil {
			w.rc = rawConn(dst)
		}
	}
	if w.rc != nil && w.writevFn == nil {
		w.writevFn = w.writevCall
	}
	if w.rc == nil || w.copyMax < 0 {
		w.copyMax = math.MaxInt // copy everything
	}
	w.own.Frames.Store(0)
	w.own.Bytes.Store(0)
	w.own.Syscalls.Store(0)
	w.counters = counters
	if w.counters == nil {
		w.counters = &w.own
	}
}

// WriteFrame buffers one frame: h (the default format fills Length, and
// CRC if h.Flags has FlagCRC; other framings ignore h) and payload. Nothing
// is written until Flush. A payload above CopyThreshold may be referenced
// rather than copied: leave it unchanged until Flush returns (under the
// psdebug build tag Flush panics with MsgRefChanged if it changed).
//
// Errors: ErrFrameTooLarge if payload is over MaxFrameSize, the framing's
// errors (ErrMalformed for reserved flag bits, ErrLineBreak); the frame is
// then not buffered and the Writer stays usable. After a failed Flush,
// WriteFrame returns that error.
func (w *Writer) WriteFrame(h Header, payload []byte) error {
	if w.err != nil {
		return w.err
	}
	if len(payload) > w.max {
		return newError(ErrFrameTooLarge, "payload length %d exceeds maximum %d", len(payload), w.max)
	}
	var prefix int
	if w.isDefault {
		if h.Flags&FlagsReserved != 0 {
			return newError(ErrMalformed, "reserved flag bits %#04x set", h.Flags&FlagsReserved)
		}
		h.Length = uint32(len(payload))
		if h.Flags&FlagCRC != 0 {
			h.CRC = Checksum(payload)
		}
		if prefix = h.Size(); len(w.cur)-w.n < prefix {
			w.nextChunk()
		}
		putHeader(w.cur[w.n:w.n+prefix], h)
		w.n += prefix
	} else {
		var err error
		if prefix, err = w.writePrefix(h, payload); err != nil {
			return err
		}
	}
	if len(payload) > w.copyMax {
		if w.cur == nil {
			w.nextChunk()
		}
		w.refs = append(w.refs, extRef{p: payload, chunk: len(w.chunks) - 1, off: w.n})
		if w.checkRefs {
			w.refSums = append(w.refSums, crc32.ChecksumIEEE(payload))
		}
	} else if k := copy(w.cur[w.n:], payload); k == len(payload) {
		w.n += k
	} else {
		w.n += k
		w.copyIn(payload[k:])
	}
	if w.suffix != nil {
		w.copyIn(w.suffix)
	}
	w.frames++
	w.buffered += prefix + len(payload) + len(w.suffix)
	return nil
}

// WriteEncoded buffers frames that are already encoded in this Writer's
// framing (by AppendFramed, say): b holds exactly frames whole frames and
// is written as it is, unchecked. Like a payload, b is referenced rather
// than copied when it is longer than CopyThreshold: leave it unchanged
// until Flush returns (checked under psdebug, as WriteFrame's payload).
// After a failed Flush it returns that error.
func (w *Writer) WriteEncoded(b []byte, frames int) error {
	if w.err != nil {
		return w.err
	}
	if len(b) > w.copyMax {
		if w.cur == nil {
			w.nextChunk()
		}
		w.refs = append(w.refs, extRef{p: b, chunk: len(w.chunks) - 1, off: w.n})
		if w.checkRefs {
			w.refSums = append(w.refSums, crc32.ChecksumIEEE(b))
		}
	} else if len(b) > 0 {
		w.copyIn(b)
	}
	w.frames += frames
	w.buffered += len(b)
	return nil
}

// writePrefix appends the framing's prefix for payload and returns its
// length. It is encoded in place when Overhead bytes fit the chunk (a
// fresh one if needed); a framing that writes more than its Overhead, or
// more than a chunk, goes through w.scratch.
func (w *Writer) writePrefix(h Header, payload []byte) (int, error) {
	if len(w.cur)-w.n < w.overhead && w.overhead <= w.chunkSize {
		w.nextChunk()
	}
	if w.cur != nil && w.overhead <= len(w.cur)-w.n {
		b, err := w.framing.AppendPrefix(w.cur[:w.n], h, payload)
		if err != nil {
			return 0, err
		}
		n := len(b) - w.n
		if n <= 0 {
			return 0, nil
		}
		if len(b) <= len(w.cur) && &b[0] == &w.cur[0] {
			w.n = len(b)
			return n, nil
		}
		w.copyIn(b[w.n:]) // append moved it: the framing overran its Overhead
		return n, nil
	}
	b, err := w.framing.AppendPrefix(w.scratch[:0], h, payload)
	if err != nil {
		return 0, err
	}
	w.copyIn(b)
	w.scratch = b[:0]
	return len(b), nil
}

// copyIn copies p into the chunks, continuing in new ones as they fill.
func (w *Writer) copyIn(p []byte) {
	for {
		k := copy(w.cur[w.n:], p)
		w.n += k
		p = p[k:]
		if len(p) == 0 {
			return
		}
		w.nextChunk()
	}
}

// nextChunk closes the current chunk and starts another: the small chunk
// first, then chunks from the pool. When the small chunk fills, its bytes
// move to the first pooled chunk (same offsets) and the batch goes on there.
func (w *Writer) nextChunk() {
	k := len(w.chunks)
	if k == 0 && w.chunkSize >= 2*smallChunkSize {
		w.small = smallChunks.Get().(*[smallChunkSize]byte)
		w.cur, w.n = w.small[:], 0
		w.chunks = append(w.chunks, chunk{buf: w.cur})
		return
	}
	s := w.pool.Get(w.chunkSize)
	buf := s.Bytes()[:w.chunkSize:w.chunkSize] // capped: an overrunning AppendPrefix reallocates
	if k == 1 && w.small != nil {
		copy(buf, w.cur[:w.n])
		w.chunks[0] = chunk{slab: s, buf: buf}
		w.cur = buf // w.n stays: the room left is at least chunkSize/2
		smallChunks.Put(w.small)
		w.small = nil
		return
	}
	if k > 0 {
		w.chunks[k-1].used = w.n
	}
	w.chunks = append(w.chunks, chunk{slab: s, buf: buf})
	w.cur, w.n = buf, 0
}

// Buffered returns the number of bytes buffered and not yet flushed.
func (w *Writer) Buffered() int { return w.buffered }

// BufferedFrames returns the number of frames buffered and not yet flushed.
func (w *Writer) BufferedFrames() int { return w.frames }

// Flush writes every buffered frame and gives the chunks back to the pool.
// It returns once all are written or on the first error; an error is
// sticky (part of a frame may have been written, so the stream cannot
// continue) and later calls return it.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if w.buffered == 0 {
		w.reset() // a chunk taken by a WriteFrame that then failed
		return nil
	}
	if k := len(w.chunks); k > 0 {
		w.chunks[k-1].used = w.n
	}
	var err error
	if w.rc != nil {
		err = w.flushWritev()
	} else {
		err = w.flushWrite()
	}
	if err == nil {
		w.counters.Frames.Add(uint64(w.frames))
		w.counters.Bytes.Add(uint64(w.buffered))
	} else {
		w.err = err
	}
	if w.checkRefs {
		for i, r := range w.refs {
			if crc32.ChecksumIEEE(r.p) != w.refSums[i] {
				w.reset()
				panic(MsgRefChanged)
			}
		}
	}
	w.reset()
	return err
}

// flushWrite writes each chunk with one Write (there are no references
// without writev).
func (w *Writer) flushWrite() error {
	for _, c := range w.chunks {
		if c.used == 0 {
			continue
		}
		w.counters.Syscalls.Add(1)
		b := c.buf[:c.used]
		n, err := w.dst.Write(b)
		if err == nil && n < len(b) {
			err = io.ErrShortWrite
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (w *Writer) flushWritev() error {
	ri := 0
	for ci, c := range w.chunks {
		b := c.buf[:c.used]
		start := 0
		for ; ri < len(w.refs) && w.refs[ri].chunk == ci; ri++ {
			r := &w.refs[ri]
			if r.off > start {
				w.iov = append(w.iov, makeIovec(b[start:r.off]))
				start = r.off
			}
			w.iov = append(w.iov, makeIovec(r.p))
		}
		if len(b) > start {
			w.iov = append(w.iov, makeIovec(b[start:]))
		}
	}
	w.iovPos, w.werr = 0, nil
	err := w.rc.Write(w.writevFn)
	if err == nil {
		err = w.werr
	}
	clear(w.iov) // drop the pointers into payloads and chunks
	w.iov = w.iov[:0]
	if cap(w.iov) > maxKeptIovecs {
		w.iov = nil
	}
	return err
}

// reset drops the buffered frames and gives the chunks back to the pool.
func (w *Writer) reset() {
	for i := range w.chunks {
		if s := w.chunks[i].slab; s != nil {
			s.Release()
		}
	}
	if w.small != nil {
		smallChunks.Put(w.small)
		w.small = nil
	}
	clear(w.chunks)
	w.chunks = w.chunks[:0]
	clear(w.refs)
	w.refs = w.refs[:0]
	w.refSums = w.refSums[:0]
	if cap(w.refs) > maxKeptIovecs {
		w.refs = nil
	}
	w.cur, w.n = nil, 0
	w.frames, w.buffered = 0, 0
}

// Discard drops the buffered frames without writing them and returns how
// many there were; the Writer stays usable.
func (w *Writer) Discard() int {
	n := w.frames
	w.reset()
	return n
}

// HoldsChunks returns the number of chunks the Writer holds from its
// slab pool: zero between a Flush (or Discard) and the next WriteFrame,
// and zero while the buffered batch fits the small first chunk (1 KiB,
// from a sync.Pool).
func (w *Writer) HoldsChunks() int {
	n := len(w.chunks)
	if w.small != nil {
		n--
	}
	return n
}

// Stats returns the Writer's counters; safe to call from any goroutine.
func (w *Writer) Stats() WriterStats {
	c := w.counters
	return WriterStats{Frames: c.Frames.Load(), Bytes: c.Bytes.Load(), Syscalls: c.Syscalls.Load()}
}

// Writev reports whether Flush uses the writev path (the destination has
// a file descriptor) rather than Write calls.
func (w *Writer) Writev() bool { return w.rc != nil }
