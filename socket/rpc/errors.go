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
	// CodeResourceExhausted: the request is over a size limit (the
	// message says which); it was not processed. Retrying the same
	// request will fail the same way.
	CodeResourceExhausted Code = 10
	// CodeAppMin is the first code free for applications.
	CodeAppMin Code = 1000
)

// Sentinel errors. An *Error unwraps to the sentinel of its code, so
// errors.Is(err, ErrOverloaded) works on a received error frame, and
// errors.As(err, &e) with e *Error gives the code and message. An *Error
// with CodeDeadlineExceeded also matches context.DeadlineExceeded; one
// with CodeOverloaded also matches ErrUnavailable (not processed, safe to
// retry). See the package doc's error table.
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
	// ErrResourceExhausted is the sentinel of CodeResourceExhausted.
	ErrResourceExhausted = errors.New("rpc: resource exhausted")
	// ErrApplication is what an *Error with a code of CodeAppMin or more
	// (or an undefined code) unwraps to.
	ErrApplication = errors.New("rpc: application error")

	// ErrClosed: the connection died with the call in flight, so the
	// call may have run; calls pending on a connection that closes end
	// with a *ClosedError matching it (and the connection's cause). It is
	// also matched by the errors of objects used after their Close
	// (ErrCallerClosed, ErrStreamClosed, a closed balance.Pool).
	ErrClosed = errors.New("rpc: connection closed")
	// ErrTooManyCalls: every call slot of the client is in use
	// (ClientOptions.MaxInFlight). The call was not sent: it matches
	// ErrUnavailable.
	ErrTooManyCalls error = &wrapped{"rpc: too many calls in flight", ErrUnavailable}
	// ErrCallerClosed: a Caller used after its Close. It matches ErrClosed.
	ErrCallerClosed error = &wrapped{"rpc: Caller used after Close", ErrClosed}
	// ErrMalformed: bytes from the peer that are not a valid RPC frame body.
	ErrMalformed = errors.New("rpc: malformed frame")
	// ErrMetadataTooLarge: a metadata key, value or block over its limit.
	ErrMetadataTooLarge error = &Error{Code: CodeInvalidArgument, Message: "rpc: metadata too large"}
	// ErrStreamClosed: Send on a stream whose sending half has ended, or
	// a stream used after Close. It matches ErrClosed.
	ErrStreamClosed error = &wrapped{"rpc: stream closed", ErrClosed}
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

	CodeResourceExhausted: ErrResourceExhausted,
}

// wrapped is a sentinel that also matches a more general one.
type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

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
// An *Error with CodeOverloaded also matches ErrUnavailable: neither was
// processed, both are safe to retry.
func (e *Error) Is(target error) bool {
	switch target {
	case context.DeadlineExceeded:
		return e.Code == CodeDeadlineExceeded
	case ErrUnavailable:
		return e.Code == CodeOverloaded
	}
	return false
}

// notSent is the error of a call that never left the client (the
// connection was closed or draining before its request was queued): it
// was not processed, so it matches ErrUnavailable (and not ErrClosed).
func notSent(why string) *Error {
	return &Error{Code: CodeUnavailable, Message: "not sent: " + why}
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
	case errors.Is(err, ErrUnavailable):
		return CodeUnavailable, err.Error()
	case errors.Is(err, ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return CodeDeadlineExceeded, err.Error()
	case errors.Is(err, ErrCanceled), errors.Is(err, context.Canceled):
		return CodeCanceled, err.Error()
	}
	return CodeUnknown, err.Error()
}
