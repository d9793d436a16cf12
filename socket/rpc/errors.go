package rpc

import (
	"context"
	"errors"
	"fmt"
)

// Code is the status code of an error frame (docs/rpc-wire.md).
type Code uint32

// Error codes. 1..999 are reserved for this package; applications use
// CodeAppMin and up.
const (
	// CodeCanceled: the call was canceled.
	CodeCanceled Code = 1
	// CodeUnknown: the handler failed with an error that is not an *Error.
	CodeUnknown Code = 2
	// CodeInvalidArgument: the request was not acceptable.
	CodeInvalidArgument Code = 3
	// CodeDeadlineExceeded: the call's deadline passed on the server.
	CodeDeadlineExceeded Code = 4
	// CodeNotFound: no handler is registered for the method.
	CodeNotFound Code = 5
	// CodeOverloaded: the connection is at its in-flight limit; the call
	// was not processed and may be retried.
	CodeOverloaded Code = 6
	// CodeUnavailable: the server is draining; the call was not processed
	// and may be retried on another connection.
	CodeUnavailable Code = 7
	// CodeInternal: the server failed (a handler panicked).
	CodeInternal Code = 8
	// CodeProtocol: the peer broke the protocol for this call (duplicate
	// id, missing credit, malformed prefix).
	CodeProtocol Code = 9
	// CodeAppMin is the first code free for applications.
	CodeAppMin Code = 1000
)

// Sentinel errors. An *Error unwraps to the sentinel of its code, so
// errors.Is(err, ErrOverloaded) works on a received error frame, and
// errors.As(err, &e) with e *Error gives the code and message. An *Error
// with CodeDeadlineExceeded also matches context.DeadlineExceeded.
var (
	ErrCanceled         = errors.New("rpc: canceled")
	ErrUnknown          = errors.New("rpc: unknown error")
	ErrInvalidArgument  = errors.New("rpc: invalid argument")
	ErrDeadlineExceeded = errors.New("rpc: deadline exceeded")
	ErrNotFound         = errors.New("rpc: method not found")
	ErrOverloaded       = errors.New("rpc: overloaded")
	ErrUnavailable      = errors.New("rpc: unavailable")
	ErrInternal         = errors.New("rpc: internal error")
	ErrProtocol         = errors.New("rpc: protocol error")
	// ErrApplication is what an *Error with a code of CodeAppMin or more
	// (or an undefined code) unwraps to.
	ErrApplication = errors.New("rpc: application error")

	// ErrClosed: the connection is closed; calls pending on it end with
	// an error matching it (and the connection's cause).
	ErrClosed = errors.New("rpc: connection closed")
	// ErrTooManyCalls: every call slot of the client is in use
	// (ClientOptions.MaxInFlight).
	ErrTooManyCalls = errors.New("rpc: too many calls in flight")
	// ErrMalformed: bytes from the peer that are not a valid RPC frame body.
	ErrMalformed = errors.New("rpc: malformed frame")
	// ErrMetadataTooLarge: a metadata key, value or block over its limit.
	ErrMetadataTooLarge = errors.New("rpc: metadata too large")
	// ErrStreamClosed: Send on a stream whose sending half has ended.
	ErrStreamClosed = errors.New("rpc: stream closed")
	// ErrInvalidOptions is matched by every error Validate returns.
	ErrInvalidOptions = errors.New("rpc: invalid options")
)

var codeErrs = [...]error{
	CodeCanceled:         ErrCanceled,
	CodeUnknown:          ErrUnknown,
	CodeInvalidArgument:  ErrInvalidArgument,
	CodeDeadlineExceeded: ErrDeadlineExceeded,
	CodeNotFound:         ErrNotFound,
	CodeOverloaded:       ErrOverloaded,
	CodeUnavailable:      ErrUnavailable,
	CodeInternal:         ErrInternal,
	CodeProtocol:         ErrProtocol,
}

// Sentinel returns the sentinel error of code (ErrApplication for
// application or undefined codes).
func (c Code) Sentinel() error {
	if int(c) < len(codeErrs) && codeErrs[c] != nil {
		return codeErrs[c]
	}
	return ErrApplication
}

// Error is an error carried by a KindError frame: a code and a message.
// Return one from a handler to choose the code the caller sees; on the
// client it is what a call returns for an error frame.
type Error struct {
	Code    Code
	Message string
}

// NewError returns an *Error with code and message.
func NewError(code Code, msg string) *Error { return &Error{Code: code, Message: msg} }

// Error implements error.
func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%v (code %d)", e.Code.Sentinel(), e.Code)
	}
	return fmt.Sprintf("%v (code %d): %s", e.Code.Sentinel(), e.Code, e.Message)
}

// Unwrap returns the sentinel of the code.
func (e *Error) Unwrap() error { return e.Code.Sentinel() }

// Is makes an *Error with CodeDeadlineExceeded match
// context.DeadlineExceeded too: the deadline travels on the wire, so the
// server's timer may answer before the client's context fires, and
// errors.Is(err, context.DeadlineExceeded) holds whichever side noticed
// first. (Through Unwrap it also matches ErrDeadlineExceeded; a call
// ended by the client's own context returns ctx.Err(), which does not.)
func (e *Error) Is(target error) bool {
	return target == context.DeadlineExceeded && e.Code == CodeDeadlineExceeded
}

// ClosedError is the error of calls that ended because the connection
// closed. It matches ErrClosed and unwraps to the connection's cause.
type ClosedError struct {
	Cause error
}

// Error implements error.
func (e *ClosedError) Error() string {
	if e.Cause == nil {
		return ErrClosed.Error()
	}
	return ErrClosed.Error() + ": " + e.Cause.Error()
}

// Unwrap returns ErrClosed and the cause.
func (e *ClosedError) Unwrap() []error { return []error{ErrClosed, e.Cause} }

// OptionError describes one bad options field. It unwraps to
// ErrInvalidOptions.
type OptionError struct {
	Field  string
	Value  int64
	Reason string
}

// Error implements error.
func (e *OptionError) Error() string {
	return fmt.Sprintf("%v: %s = %d: %s", ErrInvalidOptions, e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOptions.
func (e *OptionError) Unwrap() error { return ErrInvalidOptions }

func malformed(detail string) error { return fmt.Errorf("%w: %s", ErrMalformed, detail) }

// toError converts a handler's error into the code and message of an
// error frame.
func toError(err error) (Code, string) {
	var e *Error
	if errors.As(err, &e) {
		return e.Code, e.Message
	}
	switch {
	case errors.Is(err, ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return CodeDeadlineExceeded, err.Error()
	case errors.Is(err, ErrCanceled), errors.Is(err, context.Canceled):
		return CodeCanceled, err.Error()
	}
	return CodeUnknown, err.Error()
}
