package rpc

import (
	"runtime"
	"time"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc/internal/wire"
)

// Defaults for option fields left zero.
const (
	DefaultMaxInFlight    = 4096
	DefaultServerInFlight = 1024
	DefaultWorkers        = 64
	DefaultStreamWindow   = 64
	DefaultClientLanes    = 64
	maxSlots              = 1 << 20
)

// ClientOptions configures a Client. The zero value works.
type ClientOptions struct {
	// Socket configures the connection. Its Framing must be nil
	// (frame.Default): the RPC protocol lives in the frame header. A zero
	// Lanes becomes DefaultClientLanes, so callers rarely share a lane; a
	// zero Oversized becomes socket.OversizedSkip, so a response over
	// MaxFrameSize fails only its call (package doc, "Oversized frames").
	Socket socket.Options
	// MaxInFlight is the number of call slots: Callers plus open streams
	// plus concurrent Client.Call calls. It is rounded up to a power of
	// two. Zero means DefaultMaxInFlight.
	MaxInFlight int
	// StreamWindow is the credit a client stream grants the server (the
	// messages it buffers). Zero means DefaultStreamWindow.
	StreamWindow int
	// Interceptor, if non-nil, wraps every unary call of the client
	// (Client.Call, Caller.Call, Caller.CallMetadata). With none a call
	// costs nothing extra. ChainClientInterceptors combines several.
	Interceptor ClientInterceptor
	// StreamInterceptor, if non-nil, wraps every Client.OpenStream. With
	// none an opening costs nothing extra. ChainClientStreamInterceptors
	// combines several.
	StreamInterceptor ClientStreamInterceptor
	// CancelWriteGrace bounds how long a call whose ctx ended waits for
	// its request to be written. A request above Socket.CopyThreshold
	// (16 KiB) is sent by reference: the connection reads the caller's
	// slice until the write ends, so the call cannot return before then,
	// and a partly written frame cannot be taken back. A grpc-go user
	// expects a canceled call to return promptly, even when the server
	// stopped reading; so when the write has not ended CancelWriteGrace
	// after the ctx did, the client closes the connection with a
	// *RequestAbandonedError as its cause (that fails the write and hands
	// the slice back) and the call returns ctx's error. The other calls in
	// flight on the connection then end with a *ClosedError (ErrClosed:
	// they may have run); a half-written frame blocked the connection's
	// writes anyway, since no other frame can pass it. A request still
	// queued is withdrawn at once and never needs this. Zero means
	// DefaultCancelWriteGrace (1 s); negative means wait for the write,
	// bounded only by Socket.WriteTimeout or the connection's close.
	// Positive values under a millisecond are refused: the write of a
	// large request takes about that long even on loopback, so nearly
	// every canceled large call would close its connection.
	//
	// It also bounds how long ClientStream.Close (or the end of a
	// stream's ctx) waits for room on the stream's lane to queue its
	// cancel frame, which is queued at once when there is room. A lane
	// stays full only while the server is not reading; the cancel is then
	// dropped (the connection stays open) and the server's handler ends
	// with its own ctx or the connection; negative waits for room.
	CancelWriteGrace time.Duration
}

// minCancelWriteGrace is the smallest positive CancelWriteGrace.
const minCancelWriteGrace = time.Millisecond

// Validate reports the first bad field as an *OptionError.
func (o ClientOptions) Validate() error {
	if o.CancelWriteGrace > 0 && o.CancelWriteGrace < minCancelWriteGrace {
		return &OptionError{"CancelWriteGrace", int64(o.CancelWriteGrace), "must be negative (wait for the write), 0 (the default) or at least 1ms"}
	}
	if o.MaxInFlight < 0 || o.MaxInFlight > maxSlots {
		return &OptionError{"MaxInFlight", int64(o.MaxInFlight), "must be 0..1<<20"}
	}
	if o.StreamWindow < 0 || o.StreamWindow > 1<<16 {
		return &OptionError{"StreamWindow", int64(o.StreamWindow), "must be 0..65536"}
	}
	if o.Socket.Framing != nil {
		return &OptionError{"Socket.Framing", 0, "must be nil (frame.Default); use package compat for other framings"}
	}
	return validateSocket(o.Socket)
}

func (o *ClientOptions) ensureDefaults() {
	if o.MaxInFlight == 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.StreamWindow == 0 {
		o.StreamWindow = DefaultStreamWindow
	}
	if o.CancelWriteGrace == 0 {
		o.CancelWriteGrace = DefaultCancelWriteGrace
	}
	if o.Socket.Lanes == 0 {
		o.Socket.Lanes = DefaultClientLanes
	}
	if o.Socket.MaxFrameSize == 0 {
		o.Socket.MaxFrameSize = DefaultMaxFrameSize
	}
	skipOversizedByDefault(&o.Socket)
}

// DefaultMaxFrameSize is the Socket.MaxFrameSize clients and servers use
// when it is zero: a body of frame.DefaultMaxFrameSize (4 MiB) with the
// largest prefix (a timeout and wire.MaxMetadataSize of metadata) fits one
// frame, so a 4 MiB request with a deadline works with the defaults.
const DefaultMaxFrameSize = frame.DefaultMaxFrameSize + maxPrefixSize

// maxPrefixSize is the longest Prefix encoding: timeout, metadata length,
// metadata.
const maxPrefixSize = 8 + 2 + wire.MaxMetadataSize

// Mode is where a unary handler runs.
type Mode uint8

const (
	// Pooled runs the handler on the server's bounded worker pool: the
	// reader keeps reading, and the call counts against
	// ServerOptions.MaxInFlight.
	Pooled Mode = iota
	// Inline runs the handler on the connection's reader goroutine:
	// lowest latency for cheap, non-blocking handlers; nothing else is
	// read from that connection while it runs.
	Inline
)

// ServerOptions configures a Server. The zero value works.
type ServerOptions struct {
	// Socket configures the connections. Its Framing must be nil. A zero
	// Oversized becomes socket.OversizedSkip, so a request over
	// MaxFrameSize fails only its call (package doc, "Oversized frames").
	Socket socket.Options
	// MaxInFlight bounds the pooled calls and streams in progress on one
	// connection; a call past it is answered with CodeOverloaded at once.
	// Zero means DefaultServerInFlight.
	MaxInFlight int
	// Workers is the number of goroutines running Pooled handlers, shared
	// by all connections. Zero means DefaultWorkers (at least 4 per CPU).
	Workers int
	// StreamWindow is the credit a server stream grants the client.
	// Zero means DefaultStreamWindow.
	StreamWindow int
	// Interceptor, if non-nil, wraps every unary handler call. With none
	// set the handler is called directly. ChainInterceptors combines
	// several.
	Interceptor Interceptor
	// StreamInterceptor, if non-nil, wraps every stream handler call.
	// ChainStreamInterceptors combines several.
	StreamInterceptor StreamInterceptor
	// MaxRequestSize is the largest opening frame payload (prefix and
	// body) a call or stream may carry. A larger request is answered with
	// CodeResourceExhausted, naming the limit, without being copied or
	// run; the connection and its other calls go on. One over
	// Socket.MaxFrameSize too is answered the same way (naming that
	// limit) without being read: the frame layer skips its bytes
	// (Socket.Oversized, socket.OversizedSkip by default here; see
	// "Oversized frames" in the package doc). A Client checks its own
	// Socket.MaxFrameSize before sending. Zero means Socket.MaxFrameSize.
	MaxRequestSize int
	// DrainLinger bounds Drain's patience with a client that does not
	// cooperate (docs/guide.md, "Drain"): without the Pong to the drain's
	// Ping after DrainLinger, new calls are refused anyway; a client that
	// does not close is closed after DrainLinger of quiet (no byte read,
	// no call in flight). A client of this package answers at once and
	// closes when its last reply arrives, so the linger never applies to
	// it. Zero means DefaultDrainLinger (1 s).
	DrainLinger time.Duration
	// ReuseContexts makes every handler's ctx the call's pooled state,
	// reused by later calls: no allocation per call, but a ctx kept past
	// its handler then shows a later call (its CallInfo, its deadline, a
	// Done that is not closed). Off (the default), each call's ctx is one
	// small allocation (24 bytes; BenchmarkCall's "safe" and "reuse"
	// cases measure the difference) and safe to keep: canceled for good
	// once the handler returns.
	// Under the psdebug build tag a use of a reused ctx after its handler
	// returned panics naming the mistake.
	ReuseContexts bool
	// ConnWorkers bounds the workers one connection's Pooled calls hold
	// at once (running, or queued for a worker); its further Pooled
	// calls wait in the connection's own queue, in order (still within
	// MaxInFlight), and run as its earlier calls finish. So one
	// connection's slow calls never take the whole pool. Zero means
	// Workers/4 (16 with the default 64 workers), at least 1.
	ConnWorkers int
	// ReplyTimeout is the Socket.WriteTimeout of the server's connections
	// when that is zero: a peer that stops reading its replies is closed
	// after it (ServerStats.WriteTimeouts counts them), which frees the
	// workers waiting to queue replies to it. Zero means
	// DefaultReplyTimeout (10 s); negative means none (Socket.WriteTimeout
	// as set).
	ReplyTimeout time.Duration
	// MaxConnRequestBytes bounds the bytes of request copies (body and
	// metadata of Pooled calls and stream openings, counted as the peer
	// sent them) one connection's calls in progress hold; a call past it
	// is refused with CodeOverloaded (not processed) and counted in
	// ServerStats.OverBudget. Zero means DefaultConnRequestBytes (64 MiB);
	// negative means no byte bound (MaxInFlight still applies).
	MaxConnRequestBytes int64
	// MaxServerRequestBytes is the same bound for all connections
	// together. Zero means DefaultServerRequestBytes (256 MiB); negative
	// means none.
	MaxServerRequestBytes int64
	// MaxConnStreamBytes bounds the bytes of stream messages one
	// connection's server streams hold received but not yet read by
	// their handlers (the stream credit counts messages, StreamWindow per
	// stream, whatever their size). A message past it ends its stream
	// with CodeResourceExhausted. What is counted is what the streams'
	// queues hold: small messages (up to 1 KiB) by the capacity of the
	// byte queue they are copied into, spare room included (the queue
	// starts as a pooled buffer, counted whole, and doubles when full; an
	// emptied queue keeps max(2 KiB, 32 B x StreamWindow) of it, still
	// counted, until its stream ends), larger ones by the capacity of
	// the buffer each is copied into (at most twice the message:
	// power-of-two classes up to 32 KiB, pool's quarter classes above). Near the limit a message that fits is given a
	// buffer of its own size rather than refused for a larger pooled
	// one. So the streams hold at most MaxConnStreamBytes (beyond it
	// only the Go allocator's rounding of the byte queue's growth). The
	// bytes a handler has read are given back in batches, so the count
	// runs ahead of what is held by less than 64 KiB per stream (a
	// stream may end that much early, never late).
	// Zero means DefaultConnStreamBytes
	// (64 MiB); negative means no byte bound (StreamWindow x
	// Socket.MaxFrameSize per stream).
	MaxConnStreamBytes int64
	// OnConnect, if non-nil, runs once per connection on its reader
	// goroutine when the first frame arrives (after the TLS handshake),
	// before that frame is served: for authentication (info.TLS,
	// info.RemoteAddr) and per-connection state (set info.State; handlers
	// read it as CallInfo.Conn.State). It returns nil to accept the
	// connection, or an error to reject it: the first frame, if it is a
	// call or stream, is answered with that error (an *Error keeps its
	// code, say CodeUnauthenticated or CodePermissionDenied; any other
	// error is CodeUnknown, following Handler's rules), nothing else is
	// served and the connection is closed once that answer is written. A
	// panic in it rejects with CodeInternal. It blocks only its own
	// connection.
	OnConnect func(info *ConnInfo) error
	// OnDisconnect, if non-nil, runs once for every connection OnConnect
	// accepted (every connection that sent a frame, without OnConnect),
	// after the connection closed and the last of its handlers returned:
	// per-connection state may be released there. err is the
	// connection's close cause (io.EOF when the client closed it). It
	// runs on the goroutine that saw the end (the reader, or the worker
	// of the last call): keep it short.
	OnDisconnect func(info *ConnInfo, err error)
}

// Validate reports the first bad field as an *OptionError.
func (o ServerOptions) Validate() error {
	if o.MaxInFlight < 0 || o.MaxInFlight > maxSlots {
		return &OptionError{"MaxInFlight", int64(o.MaxInFlight), "must be 0..1<<20"}
	}
	if o.Workers < 0 || o.Workers > 1<<16 {
		return &OptionError{"Workers", int64(o.Workers), "must be 0..65536"}
	}
	if o.StreamWindow < 0 || o.StreamWindow > 1<<16 {
		return &OptionError{"StreamWindow", int64(o.StreamWindow), "must be 0..65536"}
	}
	if o.DrainLinger < 0 {
		return &OptionError{"DrainLinger", int64(o.DrainLinger), "must not be negative"}
	}
	if o.MaxRequestSize < 0 || o.MaxRequestSize > frame.HardMaxFrameSize {
		return &OptionError{"MaxRequestSize", int64(o.MaxRequestSize), "must be 0..frame.HardMaxFrameSize"}
	}
	if o.Socket.Framing != nil {
		return &OptionError{"Socket.Framing", 0, "must be nil (frame.Default); use package compat for other framings"}
	}
	if err := o.validateBudget(); err != nil {
		return err
	}
	return validateSocket(o.Socket)
}

func (o *ServerOptions) ensureDefaults() {
	if o.DrainLinger == 0 {
		o.DrainLinger = DefaultDrainLinger
	}
	if o.Socket.MaxFrameSize == 0 {
		o.Socket.MaxFrameSize = DefaultMaxFrameSize
	}
	skipOversizedByDefault(&o.Socket)
	if o.MaxRequestSize == 0 {
		o.MaxRequestSize = o.Socket.MaxFrameSize
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = DefaultServerInFlight
	}
	if o.Workers == 0 {
		o.Workers = max(DefaultWorkers, 4*runtime.GOMAXPROCS(0))
	}
	if o.StreamWindow == 0 {
		o.StreamWindow = DefaultStreamWindow
	}
	o.budgetDefaults()
}
