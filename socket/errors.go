package socket

import (
	"errors"
	"fmt"

	"github.com/protosocket-go/protosocket/frame"
)

// Sentinel errors. Every error a Conn reports matches one of them (or a
// context error) with errors.Is.
var (
	// ErrClosed: the connection is closed (by Close, Drain, the peer, or an
	// error); Conn.Err gives the cause. Sends on a closed connection and
	// messages failed at close match it.
	ErrClosed = errors.New("socket: connection closed")
	// ErrFrameTooLarge: an inbound or outbound frame is longer than
	// Options.MaxFrameSize. Errors matching it also match
	// frame.ErrFrameTooLarge.
	ErrFrameTooLarge = errors.New("socket: frame too large")
	// ErrProtocol: the peer sent bytes that are not a valid frame (a
	// malformed header, a bad checksum, a stream cut mid-frame). The
	// *ProtocolError wrapping it also unwraps to the frame package's error.
	ErrProtocol = errors.New("socket: protocol error")
	// ErrBackpressure: the outbound queue is full and
	// Options.FailWhenFull is set; the message was not queued.
	ErrBackpressure = errors.New("socket: outbound queue full")
	// ErrIdleTimeout: no whole frame arrived within Options.IdleTimeout.
	// It is a timeout (Timeout() reports true).
	ErrIdleTimeout error = &timeoutError{"socket: idle timeout"}
	// ErrFrameTimeout: an inbound frame was started but not completed
	// within Options.FrameTimeout. It is a timeout (Timeout() reports
	// true).
	ErrFrameTimeout error = &timeoutError{"socket: frame timeout"}
	// ErrWriteTimeout: a write did not complete within
	// Options.WriteTimeout. It is a timeout (Timeout() reports true).
	ErrWriteTimeout error = &timeoutError{"socket: write timeout"}
	// ErrHandshakeTimeout: the TLS handshake did not complete within
	// Options.HandshakeTimeout, or on a server its first byte did not
	// arrive within Options.FirstByteTimeout. It is a timeout (Timeout() reports true).
	ErrHandshakeTimeout error = &timeoutError{"socket: handshake timeout"}
	// ErrBatchFull: a SendBatch holds as many messages (QueueMessages) or
	// bytes (WriteBatchBytes, or half of QueueBytes if less) as one queue
	// item may; Send it, then Append again. Nothing was appended.
	ErrBatchFull = errors.New("socket: send batch full")
	// ErrBadAppend: the append function given to Batch.ReplyAppend
	// returned a slice that does not extend the one it was given (shorter
	// than it, or not holding its bytes). Nothing was replied.
	ErrBadAppend = errors.New("socket: ReplyAppend's append function did not extend dst")
	// ErrReplyInAppend: a reply (Reply, ReplyAppend, ReplyBuffer) was
	// made from inside a Batch.ReplyAppend append function, whose dst is
	// the buffer that reply would go into. That reply is refused (nothing
	// of it is replied; the outer ReplyAppend goes on).
	ErrReplyInAppend = errors.New("socket: reply made inside ReplyAppend's append function")
	// ErrTooManyConns: the server is at Options.MaxConns; the accepted
	// connection was closed at once.
	ErrTooManyConns = errors.New("socket: too many connections")
	// ErrRefusedByReactor is the cause Options.Logger reports when a
	// server's reactor factory returns nil for a connection (it is closed
	// unserved).
	ErrRefusedByReactor = errors.New("socket: connection refused by the reactor factory")
	// ErrInvalidOptions is matched by every error Options.Validate returns.
	ErrInvalidOptions = errors.New("socket: invalid options")
)

// timeoutError is a sentinel that also satisfies net.Error's Timeout.
type timeoutError struct{ msg string }

func (e *timeoutError) Error() string { return e.msg }

// Timeout reports true: the error is a timeout.
func (e *timeoutError) Timeout() bool { return true }

// Temporary reports false (net.Error).
func (e *timeoutError) Temporary() bool { return false }

// ProtocolError is an inbound framing failure. It matches ErrProtocol (or
// ErrFrameTooLarge for an over-long frame) and, through Unwrap, the
// frame package's *frame.Error (frame.ErrMalformed, frame.ErrChecksum,
// frame.ErrTruncated, frame.ErrFrameTooLarge).
type ProtocolError struct {
	Err error // the *frame.Error from the reader
}

// Error implements error.
func (e *ProtocolError) Error() string {
	if errors.Is(e.Err, frame.ErrFrameTooLarge) {
		return "socket: frame too large: " + e.Err.Error()
	}
	return "socket: protocol error: " + e.Err.Error()
}

// Unwrap returns the sentinel (ErrProtocol or ErrFrameTooLarge) and the
// underlying frame error.
func (e *ProtocolError) Unwrap() []error {
	if errors.Is(e.Err, frame.ErrFrameTooLarge) {
		return []error{ErrFrameTooLarge, e.Err}
	}
	return []error{ErrProtocol, e.Err}
}

// OptionError describes one bad Options field. It unwraps to
// ErrInvalidOptions.
type OptionError struct {
	Field  string // name of the field
	Value  int64  // the value given
	Reason string // what is wrong with it
}

// Error implements error.
func (e *OptionError) Error() string {
	return fmt.Sprintf("socket: invalid options: %s = %d: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOptions.
func (e *OptionError) Unwrap() error { return ErrInvalidOptions }

// closedError is ErrClosed with the cause of the close.
type closedError struct{ cause error }

func (e *closedError) Error() string {
	if e.cause == nil || e.cause == ErrClosed {
		return ErrClosed.Error()
	}
	return ErrClosed.Error() + ": " + e.cause.Error()
}

func (e *closedError) Unwrap() []error {
	if e.cause == nil || e.cause == ErrClosed {
		return []error{ErrClosed}
	}
	return []error{ErrClosed, e.cause}
}

// wrapClosed returns an error matching ErrClosed and, if non-nil, cause.
func wrapClosed(cause error) error {
	if cause == nil || cause == ErrClosed {
		return ErrClosed
	}
	return &closedError{cause}
}
