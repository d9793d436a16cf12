package load

import (
	"errors"
	"fmt"
	"time"
)

// ErrInvalidOptions is matched by every error Validate returns (and
// ParseScenario's); use errors.As with *OptionError for the field. The
// spelling is the library's (socket.ErrInvalidOptions,
// socket.OptionError, and the same in frame, rpc, balance).
var ErrInvalidOptions = errors.New("load: invalid options")

// OptionError describes one bad field of a Config or SweepConfig. It
// unwraps to ErrInvalidOptions.
type OptionError struct {
	Field  string // name of the field
	Value  any    // the value given (a count, a duration, a rate, a scenario name)
	Reason string // what is wrong with it
}

// Error implements error.
func (e *OptionError) Error() string {
	return fmt.Sprintf("load: invalid options: %s = %v: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOptions.
func (e *OptionError) Unwrap() error { return ErrInvalidOptions }

// Defaults of Config; they are the psbench default scenario.
const (
	DefaultPayload     = 16
	DefaultConns       = 1
	DefaultConcurrency = 64
	DefaultDuration    = 10 * time.Second
	// DefaultGrace is how long in-flight operations may take to finish
	// after the measured window before they are canceled and counted as
	// errors.
	DefaultGrace = 2 * time.Second
	// MaxPayload bounds -payload.
	MaxPayload = 16 << 20
	// MaxConcurrency bounds -concurrency.
	MaxConcurrency = 1 << 16
	// MaxConns bounds -conns.
	MaxConns = 1 << 12
)

// Config describes one measured run. Its zero value is the default
// scenario: unary, 16-byte payload, one connection, 64 callers, closed
// loop, 10 s, no warmup.
type Config struct {
	// Options are passed to the System (scenario, payload, conns,
	// concurrency); zero fields take the defaults above.
	Options
	// Duration of the measured window.
	Duration time.Duration
	// Warmup runs the same load for this long before measuring, without
	// recording it. Zero means no warmup.
	Warmup time.Duration
	// Rate is the offered rate in operations per second over all callers
	// or streams (open loop); 0 means closed loop. In open loop latency is
	// measured from each operation's scheduled send time.
	Rate float64
	// Grace bounds how long the run waits for operations in flight at the
	// end of the window; default DefaultGrace.
	Grace time.Duration
	// Progress, if set, is called about once per second with the figures
	// so far, from a goroutine of its own.
	Progress func(Progress)
	// SharedStampMaxSend is the closed-loop stream send loop's switch
	// between a clock reading shared by up to 32 messages and one per
	// message: the stamp is shared while the system's Sends average at
	// most this long (see DefaultSharedStampMaxSend, the default when
	// zero). Negative stamps every message; a very large value always
	// shares (the rule before it existed).
	SharedStampMaxSend time.Duration
	// OpenLoopMaxHold bounds how long the open-loop stream send loop lets
	// a sent message wait for a Flush while it runs behind schedule (it
	// flushes before every sleep in any case); zero means
	// DefaultOpenLoopMaxHold, negative flushes before every send.
	OpenLoopMaxHold time.Duration

	clock clock // nil: the real clock
}

// EnsureDefaults fills zero fields with their defaults.
func (c *Config) EnsureDefaults() {
	if c.Scenario == "" {
		c.Scenario = Unary
	}
	if c.Payload == 0 {
		c.Payload = DefaultPayload
	}
	if c.Conns == 0 {
		c.Conns = DefaultConns
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Grace == 0 {
		c.Grace = DefaultGrace
	}
}

// Validate reports the first bad field as a *OptionError. Call it after
// EnsureDefaults (Run does both).
func (c *Config) Validate() error {
	bad := func(field string, v any, reason string) error {
		return &OptionError{Field: field, Value: v, Reason: reason}
	}
	if _, err := ParseScenario(string(c.Scenario)); err != nil {
		return bad("Scenario", c.Scenario, "unknown scenario")
	}
	switch {
	case c.Payload < 0 || c.Payload > MaxPayload:
		return bad("Payload", c.Payload, fmt.Sprintf("must be within 0..%d", MaxPayload))
	case c.Scenario.Streaming() && c.Payload < StampSize:
		return bad("Payload", c.Payload, fmt.Sprintf("streaming scenarios carry a time stamp: need at least %d bytes", StampSize))
	case c.Conns < 1 || c.Conns > MaxConns:
		return bad("Conns", c.Conns, fmt.Sprintf("must be within 1..%d", MaxConns))
	case c.Concurrency < 1 || c.Concurrency > MaxConcurrency:
		return bad("Concurrency", c.Concurrency, fmt.Sprintf("must be within 1..%d", MaxConcurrency))
	case c.Duration < 0:
		return bad("Duration", c.Duration, "must not be negative")
	case c.Warmup < 0:
		return bad("Warmup", c.Warmup, "must not be negative")
	case c.Grace < 0:
		return bad("Grace", c.Grace, "must not be negative")
	case c.Rate < 0:
		return bad("Rate", c.Rate, "must not be negative")
	case c.Rate > 0 && c.Scenario == ServerStream:
		return bad("Rate", c.Rate, "the server paces a server stream: open loop is not supported")
	}
	return nil
}
