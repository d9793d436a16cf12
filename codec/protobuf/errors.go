package protobuf

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// Sentinel errors; every error of this package matches one of them with
// errors.Is.
var (
	// ErrMalformedVarint: a length prefix of more than 10 bytes, or whose
	// 10th byte overflows 64 bits.
	ErrMalformedVarint = errors.New("protobuf: malformed varint length")
	// ErrTooLarge: a length over the maximum body size.
	ErrTooLarge = errors.New("protobuf: message too large")
	// ErrTruncated: the stream ended inside a length prefix or a body.
	ErrTruncated = errors.New("protobuf: truncated message")
	// ErrDecode: the body is not a valid encoding of the message type.
	ErrDecode = errors.New("protobuf: undecodable message")
	// ErrEncode: the message could not be encoded (for example a string
	// field holding invalid UTF-8, or required fields unset).
	ErrEncode = errors.New("protobuf: unencodable message")
	// ErrField: a Compat field number is missing from the message type or
	// has a kind that cannot hold an id or a control code.
	ErrField = errors.New("protobuf: unusable compat field")
)

// Error is the error type of this package. errors.Is matches Kind (one of
// the sentinels) and Cause; errors.As reaches it for the details.
type Error struct {
	Kind   error                 // one of the sentinels above
	Type   protoreflect.FullName // message type, when known
	Detail string                // what was found, when useful
	Cause  error                 // the protobuf runtime's error, if any
}

func (e *Error) Error() string {
	s := e.Kind.Error()
	if e.Type != "" {
		s += " " + string(e.Type)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns Kind and Cause.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Cause}
}

func newError(kind error, t protoreflect.FullName, cause error, format string, args ...any) *Error {
	e := &Error{Kind: kind, Type: t, Cause: cause}
	if format != "" {
		e.Detail = fmt.Sprintf(format, args...)
	}
	return e
}
