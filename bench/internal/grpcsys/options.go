package grpcsys

import (
	"errors"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/protosocket-go/protosocket/bench/internal/load"
)

// CallContext says which context a unary call hands to grpc-go.
type CallContext int

// The call contexts. The measurement that chose the default is in
// bench/README.md ("grpc-go at its best") and is rerun with
// `go test -run '^$' -bench GRPCConfigs ./internal/grpcsys`.
const (
	// CallerContext (the default): each caller owns a context derived from
	// context.Background, with no deadline, canceled when the load loop's
	// context ends (one context.AfterFunc per caller and run, none per
	// call). grpc-go sends no grpc-timeout, the server arms no timer, and
	// the callers share no parent context whose mutex every call would
	// take: it measured as fast as BackgroundContext while keeping every
	// run bounded.
	CallerContext CallContext = iota
	// RunContext passes the load loop's context as it is: shared by every
	// caller and carrying the run's deadline (what psbench did before;
	// kept for the comparison).
	RunContext
	// BackgroundContext passes context.Background(): nothing can cancel a
	// call (a stuck call is released only when the client closes). The
	// configuration of /work/shared/grpc-baseline.
	BackgroundContext
)

// String names the mode as the benchmark prints it.
func (m CallContext) String() string {
	switch m {
	case CallerContext:
		return "caller-ctx"
	case RunContext:
		return "run-ctx"
	case BackgroundContext:
		return "background-ctx"
	}
	return fmt.Sprintf("CallContext(%d)", int(m))
}

// Options tune grpc-go for a run. The zero value is the best
// configuration measured for psbench's scenarios; each other value is one
// of the alternatives that measurement compared.
type Options struct {
	// CallContext is the context of unary calls (default CallerContext).
	CallContext CallContext
	// ServerWorkers, if positive, sets grpc.NumStreamWorkers on the server
	// (a fixed pool handling streams instead of a goroutine per stream).
	ServerWorkers uint32
	// Window, if positive, sets static initial stream and connection
	// flow-control windows of this many bytes on both sides (grpc-go's
	// default is 64 KiB with BDP-driven growth).
	Window int32
}

// ErrInvalidOptions is matched by every error Options.Validate returns
// (an *OptionError, the library's spelling).
var ErrInvalidOptions = errors.New("grpcsys: invalid options")

// OptionError describes one bad field of Options. It unwraps to
// ErrInvalidOptions.
type OptionError struct {
	Field  string // name of the field
	Value  int64  // the value given
	Reason string // what is wrong with it
}

// Error implements error.
func (e *OptionError) Error() string {
	return fmt.Sprintf("grpcsys: invalid options: %s = %d: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidOptions.
func (e *OptionError) Unwrap() error { return ErrInvalidOptions }

// minWindow is grpc-go's smallest flow-control window: it ignores smaller
// ones, so a smaller Window would silently measure the default.
const minWindow = 64 << 10

// Validate reports a CallContext that is not one of the constants, or a
// Window below grpc-go's 64 KiB minimum or negative.
func (o Options) Validate() error {
	switch {
	case o.CallContext < CallerContext || o.CallContext > BackgroundContext:
		return &OptionError{"CallContext", int64(o.CallContext), "not a CallContext constant"}
	case o.Window < 0 || o.Window > 0 && o.Window < minWindow:
		return &OptionError{"Window", int64(o.Window), fmt.Sprintf("0 for grpc-go's default, or at least %d", minWindow)}
	}
	return nil
}

// maxMsg lets every payload psbench can send through grpc-go's message
// size limits (4 MiB by default, a hair short of -payload 4MiB plus its
// envelope in some versions).
const maxMsg = load.MaxPayload + 1024

func (o Options) serverOptions() []grpc.ServerOption {
	out := []grpc.ServerOption{grpc.ForceServerCodec(codec{}), grpc.MaxRecvMsgSize(maxMsg), grpc.MaxSendMsgSize(maxMsg)}
	if o.ServerWorkers > 0 {
		out = append(out, grpc.NumStreamWorkers(o.ServerWorkers))
	}
	if o.Window > 0 {
		out = append(out, grpc.InitialWindowSize(o.Window), grpc.InitialConnWindowSize(o.Window))
	}
	return out
}

func (o Options) dialOptions() []grpc.DialOption {
	out := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(codec{}), grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)),
	}
	if o.Window > 0 {
		out = append(out, grpc.WithInitialWindowSize(o.Window), grpc.WithInitialConnWindowSize(o.Window))
	}
	return out
}

// String describes the options compactly for benchmark names.
func (o Options) String() string {
	s := o.CallContext.String()
	if o.ServerWorkers > 0 {
		s += fmt.Sprintf(",workers=%d", o.ServerWorkers)
	}
	if o.Window > 0 {
		s += fmt.Sprintf(",window=%d", o.Window)
	}
	return s
}
