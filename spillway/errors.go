package spillway

import (
	"errors"
	"fmt"
	"io"
)

var (
	// ErrClosed is returned by Send and SendBatch after Receiver.Close, and
	// by the receive calls after Receiver.Close.
	ErrClosed = errors.New("spillway: closed")

	// ErrSenderClosed is returned by Send and SendBatch on a Sender that was
	// closed with Sender.Close (or cloned from one).
	ErrSenderClosed = errors.New("spillway: sender closed")

	// ErrFull is returned by Send and SendBatch when the lane or the weight
	// budget has no room and Options.FailWhenFull is set. The value was not
	// queued.
	ErrFull = errors.New("spillway: full")

	// ErrBatchTooLarge is returned by SendBatch for a batch longer than
	// Options.LaneCapacity, and by SendCounted for a count above it: a
	// batch is queued whole in one lane, so it could never fit. Nothing was
	// queued.
	ErrBatchTooLarge = errors.New("spillway: batch larger than lane capacity")

	// ErrDrained is returned by the receive calls once every Sender is
	// closed and every queued value has been received. It is final.
	// errors.Is(ErrDrained, io.EOF) is true.
	ErrDrained error = drainedError{}

	// ErrInvalidOptions is wrapped by every *OptionError.
	ErrInvalidOptions = errors.New("spillway: invalid options")
)

type drainedError struct{}

func (drainedError) Error() string { return "spillway: drained" }

// Is reports io.EOF as equal, so loops written for io.EOF also stop.
func (drainedError) Is(target error) bool { return target == io.EOF }

// OptionError describes one invalid field of Options. It wraps
// ErrInvalidOptions: errors.Is(err, ErrInvalidOptions) is true.
type OptionError struct {
	Field  string // name of the Options field
	Value  int64  // the rejected value (0 for a func field)
	Reason string // what a valid value looks like
}

// Error implements error.
func (e *OptionError) Error() string {
	return fmt.Sprintf("spillway: invalid options: %s = %d: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOptions.
func (e *OptionError) Unwrap() error { return ErrInvalidOptions }
