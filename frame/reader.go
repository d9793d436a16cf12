package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"syscall"

	"github.com/protosocket-go/protosocket/internal/framehook"
	"github.com/protosocket-go/protosocket/pool"
)

// DefaultSlabSize is the default ReaderOptions.SlabSize.
const DefaultSlabSize = 32 << 10

// maxEmptyReads is how many (0, nil) reads in a row a Reader tolerates
// before failing with io.ErrNoProgress.
const maxEmptyReads = 100

// ReaderOptions configures a Reader. The zero value is valid: the default
// format, 4 MiB maximum payload, 32 KiB slabs from the default pool.
type ReaderOptions struct {
	// Framing splits the stream into frames. Nil means Default.
	Framing Framing
	// MaxFrameSize is the largest payload accepted, checked as soon as a
	// frame's length is read. Zero means DefaultMaxFrameSize; at most
	// HardMaxFrameSize. It bounds a frame, not the memory a peer makes a
	// Reader take: that grows with the bytes received (see Reader).
	MaxFrameSize int
	// SlabSize is the size of the slab taken for each batch of reads; a
	// frame larger than it is moved to larger slabs as its bytes arrive.
	// Zero means DefaultSlabSize.
	SlabSize int
	// Pool supplies the slabs. Nil means pool.Default().
	Pool *pool.SlabPool
	// Budget bounds the slabs that partial frames hold beyond SlabSize,
	// shared with other Readers (see Budget). Nil means DefaultBudget(),
	// the process-wide one (DefaultBudgetBytes).
	Budget *Budget
	// SkipOversized turns a frame whose announced payload length is over
	// MaxFrameSize (and at most MaxSkipSize) from a stream error into a
	// frame: Next returns it at once, with its header (Header.Length is
	// the announced length, Header.CRC is zero: nothing is checked),
	// Oversized set and an empty Payload, and the Reader discards its
	// bytes as they arrive, holding no more than one SlabSize slab for
	// them, whatever the length. Off (the zero value), such a frame fails
	// the stream with ErrFrameTooLarge. It needs a length-prefixed
	// framing: Default, Fixed32 or Varint (Validate refuses it with
	// Lines or another Framing).
	SkipOversized bool
	// MaxSkipSize is the largest announced payload length SkipOversized
	// skips; a longer one fails the stream with ErrFrameTooLarge. Zero
	// means DefaultMaxSkipSize (1 GiB) or MaxFrameSize if that is larger;
	// otherwise at least MaxFrameSize and at most HardMaxFrameSize. Set
	// only with SkipOversized.
	MaxSkipSize int
}

func (o *ReaderOptions) ensureDefaults() {
	if o.Framing == nil {
		o.Framing = Default
	}
	if o.MaxFrameSize == 0 {
		o.MaxFrameSize = DefaultMaxFrameSize
	}
	if o.SlabSize == 0 {
		o.SlabSize = DefaultSlabSize
	}
	if o.Pool == nil {
		o.Pool = pool.Default()
	}
	if o.Budget == nil {
		o.Budget = defaultBudget
	}
}

// Validate reports the first bad field as an *OptionError (matching
// ErrInvalidOptions). Zero fields are valid: they mean the defaults.
func (o ReaderOptions) Validate() error {
	o.ensureDefaults()
	if err := validateSizes(o.MaxFrameSize, o.SlabSize); err != nil {
		return err
	}
	switch {
	case o.MaxSkipSize != 0 && !o.SkipOversized:
		return &OptionError{"MaxSkipSize", int64(o.MaxSkipSize), "set without SkipOversized"}
	case o.MaxSkipSize != 0 && (o.MaxSkipSize < o.MaxFrameSize || o.MaxSkipSize > HardMaxFrameSize):
		return &OptionError{"MaxSkipSize", int64(o.MaxSkipSize), fmt.Sprintf("must be in [MaxFrameSize (%d), %d]", o.MaxFrameSize, HardMaxFrameSize)}
	case o.SkipOversized && !skipsLengths(o.Framing):
		return &OptionError{"SkipOversized", 1, "needs a length-prefixed framing (Default, Fixed32 or Varint)"}
	}
	return nil
}

// skipLimit is the largest announced length skipped (0: skip mode off).
func (o *ReaderOptions) skipLimit() int32 {
	if !o.SkipOversized {
		return 0
	}
	n := o.MaxSkipSize
	if n == 0 {
		n = max(DefaultMaxSkipSize, o.MaxFrameSize)
	}
	return int32(n)
}

func validateSizes(maxFrame, slab int) error {
	if maxFrame < 0 || maxFrame > HardMaxFrameSize {
		return &OptionError{"MaxFrameSize", int64(maxFrame), fmt.Sprintf("must be in [1, %d]", HardMaxFrameSize)}
	}
	if slab < 0 || slab > HardMaxFrameSize {
		return &OptionError{"SlabSize", int64(slab), fmt.Sprintf("must be in [1, %d]", HardMaxFrameSize)}
	}
	return nil
}

// Frame is one frame yielded by Reader.Next.
//
// Payload is a view into the Reader's pooled slab, not a copy. It is valid
// until the next call to Next (or Close) unless you call Retain; then it
// stays valid until the matching Release. A retained frame keeps its whole
// slab alive, so release it promptly or copy what you need. Under the
// psdebug build tag a Payload used past its lifetime reads as poison
// (pool.Poisoned) and Retain/Release after it panic.
//
// Oversized is set only in skip mode (ReaderOptions.SkipOversized): the
// frame's announced length (Header.Length) was over MaxFrameSize, Payload
// is empty and the frame's bytes are discarded as they arrive.
type Frame struct {
	Header    Header // the parsed header; only Length for other framings
	Oversized bool   // skipped: Header.Length bytes announced, none kept
	Payload   []byte // valid until the next Next unless retained
	slab      *pool.Slab
}

// Retain keeps Payload valid past the next call to Next, until Release.
// Call it before Next is called again.
func (f Frame) Retain() {
	if f.slab != nil {
		f.slab.Retain()
	}
}

// Release ends a Retain. Payload must not be used afterwards.
func (f Frame) Release() {
	if f.slab != nil {
		f.slab.Release()
	}
}

// ReaderStats are a Reader's counters.
type ReaderStats struct {
	Frames uint64 // frames returned by Next
	Bytes  uint64 // bytes read from the source
	Reads  uint64 // Read calls on the source
}

// Reader splits a byte stream into frames. It reads into pooled slabs and
// returns frames as views into them: many frames per read, no copy and no
// allocation per frame. A frame that straddles the end of a slab moves only
// its partial tail to a new slab. The length of a frame is checked against
// MaxFrameSize as soon as it is read.
//
// Memory grows with the bytes that arrived, never with the length a header
// announces: a partial frame is held in a slab of at most
// max(SlabSize, 4 x its bytes received so far), rounded up to the pool's
// size class, and moves to a larger one (up to the frame's size) as more
// arrives. A frame cut by the end of the stream, an error or Close releases
// its slabs. See docs/memory.md.
//
// When no partial frame is buffered the Reader holds no slab. If the
// source implements syscall.Conn (TCP and Unix connections), Next waits for
// readability with no buffer at all before taking a slab, so an idle
// connection costs no read memory; read deadlines still apply. Other
// sources (TLS, net.Pipe) are read into a slab taken before the Read.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	src      io.Reader
	rc       syscall.RawConn // non-nil: wait for readability before taking a slab
	framing  Framing
	pool     *pool.SlabPool
	budget   *Budget
	max      int
	slabSize int
	limit    int // largest frame in bytes: max + framing overhead

	// The small fields share one word: the Reader stays in the 240-byte
	// size class (an idle Conn's memory, TestIdleMemoryPerConn in socket).
	isDefault bool    // framing is Default: Next parses headers inline
	partial   bool    // buf[rd:wr] is an unfinished frame (Next went to read)
	charged   bool    // slab is charged to budget (its Cap)
	empty     uint8   // consecutive (0, nil) reads, up to maxEmptyReads
	stop      bool    // Next returns framehook.ErrStopAtPartial where it would read (framehook.ReaderStopAtPartial)
	peekBuf   [1]byte // the byte peeked at by peek

	slab    *pool.Slab
	buf     []byte // slab.Bytes()
	rd, wr  int    // unconsumed bytes are buf[rd:wr]
	off     int64  // stream offset of buf[rd]
	pending error  // read error to report once buffered data is used
	err     error  // sticky error

	peekFn  func(uintptr) bool // r.peek, bound once
	peekErr error

	frames atomic.Uint64
	bytes  atomic.Uint64
	reads  atomic.Uint64

	// Skip mode (skip.go), in the last word of the 240-byte class.
	skipMax  int32  // largest announced length skipped; 0: skip mode off
	skipLeft uint32 // bytes of the skipped frame still to discard
}

// NewReader returns a Reader of frames from src. It panics with the
// *OptionError if opts.Validate fails; validate user-supplied values first.
func NewReader(src io.Reader, opts ReaderOptions) *Reader {
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	opts.ensureDefaults()
	r := &Reader{
		src:      src,
		framing:  opts.Framing,
		pool:     opts.Pool,
		budget:   opts.Budget,
		max:      opts.MaxFrameSize,
		slabSize: opts.SlabSize,
		limit:    opts.MaxFrameSize + opts.Framing.Overhead(),
		skipMax:  opts.skipLimit(),
	}
	_, r.isDefault = opts.Framing.(defaultFraming)
	r.rc = rawConn(src)
	if r.rc != nil {
		r.peekFn = r.peek
	}
	return r
}

// Next returns the next frame. Its Payload is valid until the next call to
// Next unless retained (see Frame).
//
// At a clean end of stream between frames Next returns io.EOF. Framing
// errors are *Error values matching ErrMalformed, ErrFrameTooLarge,
// ErrChecksum, or ErrTruncated (which matches io.ErrUnexpectedEOF) for a
// stream that ends mid-frame (a skipped frame's bytes included); they and
// io.EOF are sticky. In skip mode a frame over MaxFrameSize is returned
// with Oversized set (see ReaderOptions.SkipOversized). Other errors from
// the source (a read deadline, for instance) are returned as they are and
// leave the Reader intact, so Next may be called again.
func (r *Reader) Next() (Frame, error) {
	var f Frame
	if r.wholeFrame(&f) {
		return f, nil
	}
	return r.next()
}

// NextInto is Next storing the frame in *f instead of returning it: a
// caller that keeps the frame inside a larger value (socket's Message)
// saves a copy per frame (BenchmarkPipelinedEcho in bench/socketbench:
// about 6% of the CPU per message). *f is overwritten on success and left
// as it was on error; the lifetimes and errors are Next's.
func (r *Reader) NextInto(f *Frame) error {
	if r.wholeFrame(f) {
		return nil
	}
	g, err := r.next()
	if err == nil {
		*f = g
	}
	return err
}

// wholeFrame is Next's fast path: when a whole default-format frame
// without CRC is buffered it stores it in *f, consumes it and returns true.
func (r *Reader) wholeFrame(f *Frame) bool {
	if !r.isDefault || r.err != nil {
		return false
	}
	rd := r.rd
	b := r.buf[rd:r.wr]
	if len(b) < HeaderSize {
		return false
	}
	n := binary.LittleEndian.Uint32(b)
	flags := binary.LittleEndian.Uint16(b[6:])
	if b[4] != Version || flags&(FlagsReserved|FlagCRC) != 0 ||
		uint64(n) > uint64(r.max) || uint64(n) > uint64(len(b)-HeaderSize) {
		return false
	}
	end := rd + HeaderSize + int(n)
	// Field by field: a Header literal is built on the stack and copied
	// with wide loads over its narrow stores (a store-forwarding stall).
	h := &f.Header
	h.Length, h.Kind, h.Flags, h.CRC = n, b[5], flags, 0
	h.Stream, h.Type = binary.LittleEndian.Uint32(b[8:]), binary.LittleEndian.Uint32(b[12:])
	f.Oversized = false
	f.Payload = r.buf[rd+HeaderSize : end : end]
	f.slab = r.slab
	r.rd = end
	r.off += int64(end - rd)
	r.partial = false
	r.frames.Add(1)
	return true
}

// next is Next for every case the fast path leaves: other framings, CRC
// frames, partial frames, errors.
func (r *Reader) next() (Frame, error) {
	if r.err != nil {
		return Frame{}, r.err
	}
	for {
		need := 1
		if r.skipLeft > 0 {
			r.discard()
		}
		if avail := r.wr - r.rd; avail > 0 {
			var sp Split
			var err error
			if r.isDefault {
				sp, err = defaultFraming{}.Split(r.buf[r.rd:r.wr], r.max) // a direct call
			} else {
				sp, err = r.framing.Split(r.buf[r.rd:r.wr], r.max)
			}
			if err != nil {
				if r.skipMax == 0 || !errors.Is(err, ErrFrameTooLarge) {
					return Frame{}, r.fail(err)
				}
				f, skip, n, err := r.skipFrame(err)
				switch {
				case err != nil:
					return Frame{}, r.fail(err)
				case skip:
					return f, nil
				}
				sp = Split{Kind: NeedMore, N: n}
			}
			switch {
			case sp.Kind == Complete && sp.N > 0 && sp.N <= avail && sp.Off >= 0 && sp.Len >= 0 &&
				sp.Len <= r.max && sp.Off <= sp.N-sp.Len:
				start := r.rd + sp.Off
				f := Frame{Header: sp.Header, Payload: r.buf[start : start+sp.Len : start+sp.Len], slab: r.slab}
				r.rd += sp.N
				r.off += int64(sp.N)
				r.partial = false
				r.frames.Add(1)
				return f, nil
			case sp.Kind == Skip && sp.N > 0 && sp.N <= avail:
				r.rd += sp.N
				r.off += int64(sp.N)
				continue
			case sp.Kind == NeedMore && sp.N > 0 && sp.N <= r.limit-avail:
				need = sp.N
			default:
				return Frame{}, r.fail(newError(ErrMalformed, "framing returned an impossible split (kind %d, n %d, off %d, len %d) for %d buffered bytes",
					sp.Kind, sp.N, sp.Off, sp.Len, avail))
			}
		} else if r.slab != nil {
			if r.stop {
				// Nothing buffered: in stop mode the slab stays as it is
				// (neither released nor rewound) until the next Next.
				return Frame{}, framehook.ErrStopAtPartial
			}
			if r.skipLeft == 0 {
				r.releaseSlab() // nothing buffered: hold no memory
			} else {
				r.rewind() // skipping: read over what was discarded
			}
		}
		r.partial = r.wr > r.rd || r.skipLeft > 0
		if err := r.pending; err != nil {
			r.pending = nil
			if err == io.EOF {
				if r.skipLeft > 0 {
					return Frame{}, r.fail(newError(ErrTruncated, "%d bytes of a skipped oversized frame never arrived", r.skipLeft))
				}
				if r.wr > r.rd {
					return Frame{}, r.fail(newError(ErrTruncated, "%d bytes of an unfinished frame buffered", r.wr-r.rd))
				}
				r.err = io.EOF
			}
			return Frame{}, err
		}
		if r.stop {
			// A read batch ends here: no read, and no move of the partial
			// frame either, while the batch's views are live (the move waits
			// for the next Next, when a slab nobody retained is reused).
			return Frame{}, framehook.ErrStopAtPartial
		}
		if err := r.fill(need); err != nil {
			return Frame{}, err
		}
	}
}

// fail records a framing error (with its stream offset) as sticky and
// releases the slab.
func (r *Reader) fail(err error) error {
	var fe *Error
	if errors.As(err, &fe) && fe.Offset < 0 {
		fe.Offset = r.off
	}
	r.err = err
	if r.slab != nil {
		r.releaseSlab() // the stream is dead: hold no memory
	}
	return err
}

// fill makes room for at least need more bytes, or for what the bytes
// received so far allow (see grow), and reads once. A read error is kept
// in r.pending; the returned error is one from waiting.
func (r *Reader) fill(need int) error {
	switch {
	case r.slab == nil:
		if r.rc != nil {
			if err := r.rc.Read(r.peekFn); err != nil {
				return err
			}
			if r.peekErr == syscall.ENOTSOCK {
				r.rc = nil // not a socket: plain reads from now on
			}
			r.peekErr = nil
		}
		r.acquire(r.slabSize)
	case len(r.buf)-r.wr < need:
		if err := r.grow(need); err != nil {
			return err
		}
	}
	n, err := r.src.Read(r.buf[r.wr:])
	r.reads.Add(1)
	if n < 0 || n > len(r.buf)-r.wr {
		n, err = 0, fmt.Errorf("frame: source Read returned invalid count %d", n)
	}
	r.wr += n
	r.bytes.Add(uint64(n))
	switch {
	case err != nil:
		r.pending = err
	case n == 0:
		if r.empty++; r.empty >= maxEmptyReads {
			r.pending = io.ErrNoProgress
		}
	default:
		r.empty = 0
	}
	return nil
}

// partialGrowth is how many times the bytes of a partial frame received so
// far its buffer may hold (at least SlabSize): the rule that makes a
// Reader's memory grow with the bytes that arrived, never with a length
// the peer announced. A frame longer than that is read into the space
// left, then moved to a buffer partialGrowth times larger, and so on:
// geometric growth up to the frame's size. Larger values copy less of a
// large frame while it grows (the sum of the moves is about 1/(g-1) of the
// frame at most) and let a peer hold more per byte it sent.
// BenchmarkLargeFrame/growth=N measures it (g=2, 4, 8); see docs/memory.md.
var partialGrowth = 4

// grow makes room, with buffered := r.wr-r.rd bytes of an unfinished frame
// at r.buf[r.rd:] and need more known to be missing (one, when the length
// is not known yet). It moves the partial frame to the start of its slab
// or to a new slab of at most max(SlabSize, partialGrowth*buffered) bytes
// (rounded up to the pool's size class); when the whole frame does not fit
// that and the slab has room left it does nothing (the read fills the
// room first). A new slab larger than SlabSize is charged to the budget;
// if the budget refuses it the Reader fails with ErrBudget (returned).
func (r *Reader) grow(need int) error {
	buffered := r.wr - r.rd
	target := buffered + need // the whole frame (or one byte more, when its length is unknown)
	allowed := max(r.slabSize, partialGrowth*buffered)
	var size int
	if target > allowed {
		// Not yet justified by the bytes received: fill what is there.
		if r.wr < len(r.buf) {
			return nil
		}
		size = allowed
	} else {
		size = max(r.slabSize, target)
		if buffered > r.slabSize/2 {
			size = max(size, min(2*buffered, allowed)) // unknown final size (lines): grow geometrically
		}
	}
	size = min(size, max(r.limit, target))
	if !pool.Debug && r.slab.Refs() == 1 && len(r.buf) >= size {
		// Nobody retained a frame of this slab, and it is as large as the
		// one we would take: move the tail to its start.
		copy(r.buf, r.buf[r.rd:r.wr])
	} else {
		s := r.pool.Get(size)
		charge := s.Cap() > r.slabSize
		if charge && !r.budget.take(int64(s.Cap())) {
			s.Release()
			return r.fail(newError(ErrBudget, "a partial frame of %d bytes (%d needed) would grow to %d bytes: the budget has %d of %d in use",
				buffered, need, s.Cap(), r.budget.Used(), r.budget.Limit()))
		}
		old, oldCharged, tail := r.slab, r.charged, r.buf[r.rd:r.wr]
		r.slab, r.buf, r.charged = s, s.Bytes(), charge
		copy(r.buf, tail)
		if oldCharged {
			r.budget.give(int64(old.Cap()))
		}
		old.Release()
	}
	r.rd, r.wr = 0, buffered
	return nil
}

func (r *Reader) acquire(size int) {
	r.slab = r.pool.Get(size)
	r.buf = r.slab.Bytes()
	r.rd, r.wr = 0, 0
}

func (r *Reader) releaseSlab() {
	if r.charged {
		r.budget.give(int64(r.slab.Cap()))
		r.charged = false
	}
	r.slab.Release()
	r.slab, r.buf = nil, nil
	r.rd, r.wr = 0, 0
}

// Buffered returns the number of bytes read but not yet returned as frames.
func (r *Reader) Buffered() int { return r.wr - r.rd }

// partialFrame is internal/framehook's ReaderPartial: a frame has begun
// and is not complete (see there).
func (r *Reader) partialFrame() bool {
	return r.err == nil && r.partial && (r.wr > r.rd || r.skipLeft > 0)
}

// Stats returns the Reader's counters; safe to call from any goroutine.
func (r *Reader) Stats() ReaderStats {
	return ReaderStats{Frames: r.frames.Load(), Bytes: r.bytes.Load(), Reads: r.reads.Load()}
}

// Close releases the slab the Reader holds (frames not retained become
// invalid) and makes Next return ErrClosed. It does not close the source;
// to interrupt a blocked Next, close the source or set a read deadline.
// It must not be called concurrently with Next.
func (r *Reader) Close() error {
	if r.slab != nil {
		r.releaseSlab()
	}
	r.pending = nil
	r.err = ErrClosed
	return nil
}
