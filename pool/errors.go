package pool

import (
	"errors"
	"fmt"
)

// ErrInvalidOptions is matched (errors.Is) by every error
// [Options.Validate] returns.
var ErrInvalidOptions = errors.New("pool: invalid options")

// OptionError describes one bad [Options] field. It unwraps to
// [ErrInvalidOptions]; use errors.As to get the field name.
type OptionError struct {
	Field  string // name of the Options field
	Value  int64  // the value given
	Reason string // what is wrong with it
}

// Error implements error.
func (e *OptionError) Error() string {
	return fmt.Sprintf("pool: invalid options: %s = %d: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns [ErrInvalidOptions].
func (e *OptionError) Unwrap() error { return ErrInvalidOptions }

// Panic messages for reference-count mistakes. They are exported so tests
// (and users) can match a recovered panic value exactly.
const (
	// MsgDoubleRelease is the panic value of a Release after the last Release.
	MsgDoubleRelease = "pool: Release of a slab after its last Release (double Release)"
	// MsgRetainAfterRelease is the panic value of a Retain after the last Release.
	MsgRetainAfterRelease = "pool: Retain of a slab after its last Release (a frame view kept past its callback? call Retain before the callback returns)"
	// MsgUseAfterRelease is the panic value of a use of a released slab
	// (psdebug builds only).
	MsgUseAfterRelease = "pool: use of slab after its last Release (a frame view kept past its callback? call Retain to keep it)"
)
