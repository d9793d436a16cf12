package frame

import (
	"errors"
	"fmt"
	"io"
)

// Sentinel errors. Every error from this package matches one of them with
// errors.Is; most come wrapped in an *[Error] that adds where and why.
var (
	// ErrFrameTooLarge: a frame's payload length exceeds the maximum.
	ErrFrameTooLarge = errors.New("frame: frame too large")
	// ErrMalformed: bytes that cannot be a frame (bad version, reserved
	// flag bits set, a varint over 10 bytes or 64 bits, a framing that
	// reported an impossible split).
	ErrMalformed = errors.New("frame: malformed frame")
	// ErrChecksum: the CRC32C in the header does not match the payload.
	ErrChecksum = errors.New("frame: checksum mismatch")
	// ErrTruncated: the stream ended in the middle of a frame. It also
	// matches io.ErrUnexpectedEOF.
	ErrTruncated error = truncatedError{}
	// ErrLineBreak: a payload written with the Lines framing contains '\n'
	// or ends in '\r', so it would not read back as one line.
	ErrLineBreak = errors.New("frame: payload contains a line break")
	// ErrBudget: a partial frame needed a larger slab than its Reader's
	// Budget had left (see Budget).
	ErrBudget = errors.New("frame: partial-frame budget exhausted")
	// ErrClosed: the Reader or Writer was closed.
	ErrClosed = errors.New("frame: closed")
	// ErrInvalidOptions is matched by every error Validate returns.
	ErrInvalidOptions = errors.New("frame: invalid options")
)

type truncatedError struct{}

func (truncatedError) Error() string { return "frame: unexpected EOF in the middle of a frame" }

// Is makes ErrTruncated match io.ErrUnexpectedEOF.
func (truncatedError) Is(target error) bool { return target == io.ErrUnexpectedEOF }

// Error is a framing error with context. Err is one of the sentinels above
// (use errors.Is on the Error itself; Unwrap returns Err).
type Error struct {
	Err    error  // ErrFrameTooLarge, ErrMalformed, ErrChecksum, ErrTruncated, ErrLineBreak or ErrBudget
	Offset int64  // stream offset of the frame's first byte; -1 when unknown
	Detail string // what exactly was wrong
}

// Error implements error.
func (e *Error) Error() string {
	s := e.Err.Error()
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Offset >= 0 {
		s += fmt.Sprintf(" (frame at stream offset %d)", e.Offset)
	}
	return s
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

func newError(err error, format string, args ...any) *Error {
	return &Error{Err: err, Offset: -1, Detail: fmt.Sprintf(format, args...)}
}

// OptionError describes one bad field of ReaderOptions or WriterOptions.
// It unwraps to ErrInvalidOptions.
type OptionError struct {
	Field  string // name of the field
	Value  int64  // the value given
	Reason string // what is wrong with it
}

// Error implements error.
func (e *OptionError) Error() string {
	return fmt.Sprintf("frame: invalid options: %s = %d: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOptions.
func (e *OptionError) Unwrap() error { return ErrInvalidOptions }
