package socket

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/pool"
	"github.com/protosocket-go/protosocket/spillway"
)

// Defaults for Options fields left zero.
const (
	DefaultLanes            = 8
	DefaultQueueMessages    = 1024
	DefaultQueueBytes       = 4 << 20
	DefaultMaxUnfinished    = 1024
	DefaultWriteBatchBytes  = 256 << 10
	DefaultKeepAlive        = 15 * time.Second
	DefaultHandshakeTimeout = 10 * time.Second
	DefaultConnectTimeout   = 10 * time.Second
	DefaultMaxHandshakes    = 128
	// DefaultIdleTimeout is a server connection's IdleTimeout: a peer that
	// sends no whole frame for 5 minutes is closed.
	DefaultIdleTimeout = 5 * time.Minute
	// DefaultFrameTimeout is FrameTimeout: a started frame completes
	// within 30 s (4 MiB, the default MaxFrameSize, at 140 KiB/s).
	DefaultFrameTimeout = 30 * time.Second
	// DefaultFirstByteTimeout is FirstByteTimeout: a TLS client sends
	// its ClientHello within 3 s of connecting.
	DefaultFirstByteTimeout = 3 * time.Second
	// DefaultMaxConns is a server's MaxConns.
	DefaultMaxConns = 10000
)

// Options configures connections, servers and clients. The zero value
// works: the default frame format, 4 MiB frames, 32 KiB read slabs,
// TCP_NODELAY on, 15 s keepalive, 30 s to complete a started inbound frame,
// no write timeout; a server closes connections idle for 5 minutes and
// holds at most 10,000. Every field is applied; see each field.
type Options struct {
	// Framing is the wire framing: frame.Default (nil), frame.Varint,
	// frame.Fixed32, frame.Lines or your own.
	Framing frame.Framing
	// MaxFrameSize is the largest payload read or written; a longer
	// inbound frame closes the connection with ErrFrameTooLarge (unless
	// Oversized is OversizedSkip), a longer outbound one fails its send.
	// Zero means frame.DefaultMaxFrameSize.
	MaxFrameSize int
	// Oversized is what an inbound frame over MaxFrameSize does: close
	// the connection (OversizedClose, what the zero value means here), or
	// come up to the Reactor as a Message with Oversized set, its header
	// (Header.Length: the announced length) and an empty Payload, while
	// its bytes are discarded as they arrive (OversizedSkip: memory stays
	// at one ReadSlabSize slab whatever the length; FrameTimeout still
	// bounds the time its bytes take). Skipping needs frame.Default,
	// frame.Fixed32 or frame.Varint framing. Package rpc makes the zero
	// value OversizedSkip.
	Oversized OversizedAction
	// MaxSkipSize is the largest announced length OversizedSkip skips; a
	// longer frame closes the connection with ErrFrameTooLarge. Zero
	// means frame.DefaultMaxSkipSize (1 GiB, or MaxFrameSize if larger);
	// otherwise at least MaxFrameSize. Set only with OversizedSkip.
	MaxSkipSize int
	// ReadSlabSize is the size of the pooled slab each batch of reads
	// lands in. Zero means frame.DefaultSlabSize (32 KiB).
	ReadSlabSize int
	// SlabPool supplies the read slabs. Nil means pool.Default().
	SlabPool *pool.SlabPool
	// CopyThreshold: outbound payloads up to this size are copied into the
	// writer's contiguous buffer; longer ones are passed to writev by
	// reference. Zero means frame.DefaultCopyThreshold.
	CopyThreshold int

	// Lanes is the number of spillway lanes Senders are spread over.
	// Zero means DefaultLanes.
	Lanes int
	// QueueMessages bounds the messages queued in one lane (one Sender,
	// unless senders share lanes). Zero means DefaultQueueMessages.
	QueueMessages int
	// QueueBytes bounds the payload bytes queued on the connection (a
	// single larger message is still accepted into an empty queue).
	// Zero means DefaultQueueBytes; negative means no byte bound.
	QueueBytes int64
	// FailWhenFull makes sends fail with ErrBackpressure instead of
	// blocking when the queue is full.
	FailWhenFull bool
	// WriteBatchBytes is how much the writer buffers before it flushes
	// even though more messages are queued; it flushes earlier whenever
	// the queue runs empty. Zero means DefaultWriteBatchBytes.
	WriteBatchBytes int

	// MaxUnfinished is how many inbound messages may be retained
	// (Message.Retain) or in progress (Conn.BeginWork) at once; at the
	// limit the reader stops reading until some finish, so TCP pushes
	// back on the peer. Zero means DefaultMaxUnfinished.
	MaxUnfinished int

	// DisableNoDelay turns TCP_NODELAY off (it is on by default).
	DisableNoDelay bool
	// KeepAlive is the TCP keepalive idle time. Zero means
	// DefaultKeepAlive; negative disables keepalive.
	KeepAlive time.Duration
	// IdleTimeout closes a connection on which no whole frame arrived for
	// this long (with ErrIdleTimeout); it also ends a frame that never
	// completes. A TCP or Unix connection is checked every IdleTimeout/4
	// at no cost per frame, so it closes between 1 and 1¼ × IdleTimeout
	// after the last frame; on others (TLS) the deadline is refreshed at
	// most every IdleTimeout/8, so they close between 7/8 and 1 ×
	// IdleTimeout after it. Zero means DefaultIdleTimeout on a server's connections
	// (Serve) and none on others (Dial, NewConn); negative means none.
	IdleTimeout time.Duration
	// FrameTimeout bounds the time from the first bytes of an inbound
	// frame to its last: a peer that starts a frame and stalls is closed
	// with ErrFrameTimeout, whatever IdleTimeout is. It applies on TCP and
	// Unix connections (on TLS and other connections, where reads block
	// inside the TLS record layer, only IdleTimeout does). Zero means
	// DefaultFrameTimeout; negative means none.
	FrameTimeout time.Duration
	// WriteTimeout bounds each flush to the socket; when it passes the
	// connection closes with ErrWriteTimeout. Zero means none.
	WriteTimeout time.Duration
	// HandshakeTimeout bounds the TLS handshake. Zero means
	// DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// FirstByteTimeout bounds, on a TLS server connection, the wait for
	// the peer's first byte, before the connection takes one of the
	// MaxHandshakes slots: a connection that never sends a ClientHello
	// holds no slot and is closed with ErrHandshakeTimeout after
	// FirstByteTimeout (or HandshakeTimeout, if shorter). Zero means
	// DefaultFirstByteTimeout; negative means the slot is taken at once,
	// as the handshake starts. It needs a TCP or Unix socket on a unix
	// system; elsewhere the slot is taken at once.
	FirstByteTimeout time.Duration
	// ConnectTimeout bounds Dial (connect plus TLS handshake). Zero means
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration

	// TLS, if non-nil, runs TLS over the connection: a server config for
	// Serve and Listen, a client config for Dial.
	TLS *tls.Config

	// ReusePort sets SO_REUSEPORT on listening sockets; with AcceptLoops
	// above 1, Listen opens that many sockets on the same port and Serve
	// runs one accept loop on each. Unix only: elsewhere Listen fails
	// with an error matching errors.ErrUnsupported.
	ReusePort bool
	// AcceptLoops is the number of listening sockets (and accept loops)
	// Listen opens with ReusePort. Zero means 1.
	AcceptLoops int
	// Backlog is the listen backlog. Zero means the system default
	// (somaxconn). Unix only: elsewhere a non-zero Backlog fails Listen
	// with an error matching errors.ErrUnsupported.
	Backlog int
	// MaxConns bounds the connections a server holds; connections
	// accepted beyond it are closed at once. Zero means DefaultMaxConns;
	// negative means no bound.
	MaxConns int
	// MaxHandshakes bounds TLS handshakes in progress on a server; further
	// connections wait (within HandshakeTimeout) for a slot. Zero means
	// DefaultMaxHandshakes.
	MaxHandshakes int

	// Logger, if non-nil, receives connection and accept events (log.go):
	// accepted, established and closed connections with both addresses
	// and the close cause, connections refused (MaxConns, a nil reactor)
	// and accept failures. With none, no logging code runs.
	Logger *slog.Logger
	// OnSendFailure, if non-nil, is called for every message that was
	// queued (its send returned nil) but could not be written, on the
	// goroutine that failed it, unless the Sender has its own callback.
	OnSendFailure func(Failure)
}

// OversizedAction is what a connection does with an inbound frame over
// Options.MaxFrameSize (Options.Oversized).
type OversizedAction uint8

const (
	// OversizedDefault, the zero value: OversizedClose for connections
	// of this package; package rpc makes it OversizedSkip.
	OversizedDefault OversizedAction = iota
	// OversizedClose closes the connection with a *ProtocolError matching
	// ErrFrameTooLarge.
	OversizedClose
	// OversizedSkip hands the frame's header to the Reactor as a Message
	// with Oversized set and an empty Payload, and discards its bytes as
	// they arrive; a frame over Options.MaxSkipSize still closes the
	// connection (frame.ReaderOptions.SkipOversized).
	OversizedSkip
)

// Validate reports the first bad field as an *OptionError (matching
// ErrInvalidOptions). Zero fields are valid: they mean the defaults.
func (o Options) Validate() error {
	bad := func(f string, v int64, r string) error { return &OptionError{Field: f, Value: v, Reason: r} }
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"WriteTimeout", o.WriteTimeout}, {"HandshakeTimeout", o.HandshakeTimeout}, {"ConnectTimeout", o.ConnectTimeout}} {
		if d.v < 0 {
			return bad(d.name, int64(d.v), "must not be negative")
		}
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"Lanes", o.Lanes}, {"QueueMessages", o.QueueMessages}, {"WriteBatchBytes", o.WriteBatchBytes},
		{"MaxUnfinished", o.MaxUnfinished}, {"AcceptLoops", o.AcceptLoops}, {"Backlog", o.Backlog},
		{"MaxHandshakes", o.MaxHandshakes}} {
		if n.v < 0 {
			return bad(n.name, int64(n.v), "must not be negative")
		}
	}
	if o.Lanes > spillway.MaxLanes {
		return bad("Lanes", int64(o.Lanes), "at most spillway.MaxLanes")
	}
	if o.QueueMessages > spillway.MaxLaneCapacity {
		return bad("QueueMessages", int64(o.QueueMessages), "at most spillway.MaxLaneCapacity")
	}
	if o.AcceptLoops > 1 && !o.ReusePort {
		return bad("AcceptLoops", int64(o.AcceptLoops), "more than one accept loop needs ReusePort")
	}
	ro := frame.ReaderOptions{Framing: o.Framing, MaxFrameSize: o.MaxFrameSize, SlabSize: o.ReadSlabSize}
	if err := ro.Validate(); err != nil {
		return bad("MaxFrameSize/ReadSlabSize", int64(o.MaxFrameSize), err.Error())
	}
	if o.Oversized > OversizedSkip {
		return bad("Oversized", int64(o.Oversized), "not an OversizedAction")
	}
	ro.SkipOversized, ro.MaxSkipSize = o.Oversized == OversizedSkip, o.MaxSkipSize
	if err := ro.Validate(); err != nil {
		field := "MaxSkipSize"
		if o.MaxSkipSize == 0 {
			field = "Oversized"
		}
		return bad(field, int64(o.MaxSkipSize), err.Error())
	}
	wo := frame.WriterOptions{Framing: o.Framing, MaxFrameSize: o.MaxFrameSize, CopyThreshold: o.CopyThreshold}
	if err := wo.Validate(); err != nil {
		return bad("CopyThreshold", int64(o.CopyThreshold), err.Error())
	}
	return nil
}

// ensureServerDefaults fills the zero fields whose default differs on a
// server's connections, then the rest.
func (o *Options) ensureServerDefaults() {
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxConns == 0 {
		o.MaxConns = DefaultMaxConns
	}
	o.ensureDefaults()
}

// defaultFraming reports whether the framing is frame.Default (after
// ensureDefaults).
func (o *Options) defaultFraming() bool { return o.Framing == frame.Default }

// ensureDefaults fills zero fields with their defaults.
func (o *Options) ensureDefaults() {
	if o.Framing == nil {
		o.Framing = frame.Default
	}
	if o.MaxFrameSize == 0 {
		o.MaxFrameSize = frame.DefaultMaxFrameSize
	}
	if o.ReadSlabSize == 0 {
		o.ReadSlabSize = frame.DefaultSlabSize
	}
	if o.SlabPool == nil {
		o.SlabPool = pool.Default()
	}
	if o.CopyThreshold == 0 {
		o.CopyThreshold = frame.DefaultCopyThreshold
	}
	if o.Lanes == 0 {
		o.Lanes = DefaultLanes
	}
	if o.QueueMessages == 0 {
		o.QueueMessages = DefaultQueueMessages
	}
	if o.QueueBytes == 0 {
		o.QueueBytes = DefaultQueueBytes
	}
	if o.WriteBatchBytes == 0 {
		o.WriteBatchBytes = DefaultWriteBatchBytes
	}
	if o.MaxUnfinished == 0 {
		o.MaxUnfinished = DefaultMaxUnfinished
	}
	if o.KeepAlive == 0 {
		o.KeepAlive = DefaultKeepAlive
	}
	if o.HandshakeTimeout == 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.AcceptLoops == 0 {
		o.AcceptLoops = 1
	}
	if o.FrameTimeout == 0 {
		o.FrameTimeout = DefaultFrameTimeout
	}
	if o.FirstByteTimeout == 0 {
		o.FirstByteTimeout = DefaultFirstByteTimeout
	}
	if o.MaxHandshakes == 0 {
		o.MaxHandshakes = DefaultMaxHandshakes
	}
}
