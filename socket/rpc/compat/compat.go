package compat

import (
	"errors"
	"fmt"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// Control is the control code carried in every message.
type Control uint32

// Control codes, as in protosocket-rpc.
const (
	// Normal: a request, or a response (a unary reply or a stream item).
	Normal Control = 0
	// Cancel: from a client, it abandons the call with this id; from a
	// server, it ends the call: a rejection, or a call aborted after the
	// client's Cancel.
	Cancel Control = 1
	// End: the last message of a response stream, sent after its items;
	// unary calls get none. Anything else in an End message is ignored.
	End Control = 2
)

// Read returns the code a protosocket-rpc peer acts on for the code field
// c: the field is truncated to 8 bits (the Rust examples convert their u32
// field with `as u8`, so 256 reads as Normal and 257 as Cancel), and
// 3..255 read as Cancel.
func Read(c Control) Control {
	switch uint8(c) {
	case 0:
		return Normal
	case 2:
		return End
	default:
		return Cancel
	}
}

// Errors. Every error of this package matches one of them (or a context
// error, or a socket error) with errors.Is.
var (
	// ErrClosed: the connection closed before the call ended.
	ErrClosed = errors.New("compat: connection closed")
	// ErrCancelledRemotely: the server sent Cancel for the call: it
	// rejected it (a protosocket-rpc service's "cancelled") or aborted it.
	ErrCancelledRemotely = errors.New("compat: cancelled remotely")
	// ErrNoResponse: the server ended a unary call with End and no
	// response.
	ErrNoResponse = errors.New("compat: call ended without a response")
	// ErrInvalidOptions is matched by every error Options.Validate returns.
	ErrInvalidOptions = errors.New("compat: invalid options")
	// ErrStreamOver: ServerStream.Send after its StreamHandler returned
	// (under -tags psdebug it panics instead).
	ErrStreamOver = errors.New("compat: stream handler already returned")
	// ErrEncode: a message could not be encoded by the Codec (the cause is
	// wrapped too).
	ErrEncode = errors.New("compat: unencodable message")
)

// OptionError describes one bad Options field. It unwraps to
// ErrInvalidOptions.
type OptionError struct {
	Field  string // name of the field
	Value  int64  // the value given
	Reason string // what is wrong with it
}

// Error implements error.
func (e *OptionError) Error() string {
	return fmt.Sprintf("%v: %s = %d: %s", ErrInvalidOptions, e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOptions.
func (e *OptionError) Unwrap() error { return ErrInvalidOptions }

// Codec encodes and parses the user's message type M and reaches its id
// and control fields.
type Codec[M any] interface {
	// Append appends the encoding of m to dst. A message whose fields
	// other than id and control are zero must encode to id and control
	// only (as prost and protobuf-go do): that is the minimal Cancel and
	// End.
	Append(dst []byte, m *M) ([]byte, error)
	// Parse resets m and decodes b into it (b is valid only during the
	// call: copy what is kept).
	Parse(b []byte, m *M) error
	// ID returns m's request id.
	ID(m *M) uint64
	// SetID sets m's request id.
	SetID(m *M, id uint64)
	// Control returns m's control code as it is in the message (Read
	// interprets it).
	Control(m *M) Control
	// SetControl sets m's control code.
	SetControl(m *M, c Control)
}

// Peeker is optionally implemented by a Codec: Peek reads the id and the
// control code of an encoded message without decoding the rest, so the
// server sees a Cancel and the client finds a call before (or instead of)
// a full Parse. Errors are the Codec's decode errors.
type Peeker interface {
	Peek(b []byte) (id uint64, c Control, err error)
}

// Mode says where a Server's unary handler runs.
type Mode uint8

const (
	// Pooled runs handlers on a bounded set of worker goroutines per
	// connection (Options.Workers), started as calls arrive and gone when
	// the connection has none: handlers may block.
	Pooled Mode = iota
	// Inline runs handlers on the connection's reader goroutine, one
	// after the other, and frames their replies into the reader's batch:
	// the fastest path, for handlers that do not block. An inline call is
	// over before the next message is read, so a Cancel never reaches it.
	Inline
)

// Defaults for Options fields left zero.
const (
	// DefaultWorkers is the number of worker goroutines one connection
	// may run for Pooled handlers.
	DefaultWorkers = 16
	// DefaultMaxInFlight is the number of calls (pooled calls waiting or
	// running, and streams) one connection may have; more are rejected
	// with Cancel.
	DefaultMaxInFlight = 1024
	// DefaultMaxInFlightBytes bounds the encoded size of the requests of
	// those calls on one connection; more are rejected with Cancel.
	DefaultMaxInFlightBytes = 64 << 20
)

// Options configures a compat Server or Client. The zero value works.
type Options struct {
	// Socket configures the connection. Framing nil means frame.Varint
	// (protobuf's length-delimited stream). An inbound frame over its
	// MaxFrameSize closes the connection, as in protosocket-rpc: compat
	// does not use socket.OversizedSkip (Validate refuses it).
	Socket socket.Options
	// Mode is where the Server runs unary handlers (Pooled by default).
	Mode Mode
	// Workers bounds the worker goroutines of one server connection
	// (Pooled). Zero means DefaultWorkers.
	Workers int
	// MaxInFlight bounds the pooled calls and streams of one server
	// connection; a request over it is rejected with Cancel (the reader
	// never stops reading for it, so Cancels and the peer's close are
	// always seen). Zero means DefaultMaxInFlight.
	MaxInFlight int
	// MaxInFlightBytes bounds the sum of the encoded request sizes of
	// those calls; a request over it is rejected with Cancel. Zero means
	// DefaultMaxInFlightBytes.
	MaxInFlightBytes int64
	// RejectDuplicates makes the Server reject (with Cancel) a request
	// whose id is that of a pooled call or stream not yet answered (one
	// whose answer, End or Cancel is queued no longer counts as a
	// duplicate, though it counts in MaxInFlight until its goroutine
	// finishes). By
	// default it starts a second call, as protosocket-rpc does: both
	// answer, and a Cancel for the id cancels both.
	RejectDuplicates bool
}

// Validate reports the first bad field as an *OptionError.
func (o Options) Validate() error {
	if o.Mode > Inline {
		return &OptionError{"Mode", int64(o.Mode), "must be Pooled or Inline"}
	}
	if o.Workers < 0 || o.Workers > 1<<16 {
		return &OptionError{"Workers", int64(o.Workers), "must be 0..65536"}
	}
	if o.MaxInFlight < 0 || o.MaxInFlight > 1<<20 {
		return &OptionError{"MaxInFlight", int64(o.MaxInFlight), "must be 0..1<<20"}
	}
	if o.MaxInFlightBytes < 0 {
		return &OptionError{"MaxInFlightBytes", o.MaxInFlightBytes, "must be >= 0"}
	}
	if o.Socket.Oversized == socket.OversizedSkip {
		return &OptionError{"Socket.Oversized", int64(o.Socket.Oversized),
			"compat closes the connection on a frame over Socket.MaxFrameSize (the Rust protocol has no per-call error for it); leave it zero"}
	}
	return o.socketOpts().Validate()
}

func (o Options) socketOpts() socket.Options {
	so := o.Socket
	if so.Framing == nil {
		so.Framing = frame.Varint
	}
	return so
}

func (o *Options) ensureDefaults() {
	if o.Workers == 0 {
		o.Workers = DefaultWorkers
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.MaxInFlightBytes == 0 {
		o.MaxInFlightBytes = DefaultMaxInFlightBytes
	}
}

// peek reads m's id and code through the codec's Peeker if it has one,
// else by parsing into scratch.
func peek[M any](c Codec[M], b []byte, scratch *M) (uint64, Control, bool, error) {
	if p, ok := c.(Peeker); ok {
		id, code, err := p.Peek(b)
		return id, code, false, err
	}
	if err := c.Parse(b, scratch); err != nil {
		return 0, 0, false, err
	}
	return c.ID(scratch), c.Control(scratch), true, nil
}

// appendControl appends the minimal message with only id and code set.
func appendControl[M any](c Codec[M], dst []byte, id uint64, code Control) ([]byte, error) {
	m := new(M)
	c.SetID(m, id)
	c.SetControl(m, code)
	return c.Append(dst, m)
}
