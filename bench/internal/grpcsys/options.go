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
	// call (a stuck call is released only when the client closes).
	BackgroundContext
	// SharedContext: one context derived from context.Background, no
	// deadline, shared by every caller of the client (what
	// /work/shared/grpc-baseline passes: its README says
	// context.Background, its code a context.WithCancel of it). grpc-go
	// derives a cancelable context from it per call, which registers
	// with, and unregisters from, the shared parent under its mutex.
	SharedContext
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
	case SharedContext:
		return "shared-ctx"
	}
	return fmt.Sprintf("CallContext(%d)", int(m))
}

// Codec says how the payload bytes pass through grpc-go's codec layer.
type Codec int

// The codecs. Every one carries the payload bytes unchanged; they differ
// in what grpc-go does around them per call.
const (
	// CodecBuffers (the default) is an encoding.CodecV2, forced on both
	// sides (grpc.ForceCodecV2, grpc.ForceServerCodecV2): nothing is
	// bridged per call, a received message is copied straight from
	// grpc-go's buffers into the caller's reply buffer, a unary request's
	// wire form is made once per request buffer, and the server echoes
	// the buffers it received without copying them.
	CodecBuffers Codec = iota
	// CodecBytes is an encoding.Codec (the []byte API) forced on both
	// sides (grpc.ForceCodec, grpc.ForceServerCodec): grpc-go wraps it in
	// a CodecV2 bridge per call on the client (ForceCodec's before hook),
	// and copies every received message into a new slice
	// (BufferSlice.Materialize) before the codec sees it. psbench's codec
	// before this one.
	CodecBytes
	// CodecSubtype is an encoding.Codec registered with
	// encoding.RegisterCodec and chosen per call by content-subtype
	// (grpc.CallContentSubtype), the server looking it up by the
	// request's content-type: a bridge per call on both sides, plus
	// Materialize. The configuration of /work/shared/grpc-baseline
	// (-codec raw).
	CodecSubtype
)

// String names the codec as the benchmark prints it.
func (c Codec) String() string {
	switch c {
	case CodecBuffers:
		return "codec-v2"
	case CodecBytes:
		return "codec-v1-forced"
	case CodecSubtype:
		return "codec-v1-subtype"
	}
	return fmt.Sprintf("Codec(%d)", int(c))
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
	// Codec is how payloads pass grpc-go's codec layer (default
	// CodecBuffers).
	Codec Codec
	// DisableRetry, if true, turns grpc-go's transparent retry off
	// (grpc.WithDisableRetry). It measured no different from grpc-go's
	// default (retry on, as in /work/shared/grpc-baseline): the same
	// allocations and CPU per call (bench/README, "grpc-go at its best"),
	// so the default stays.
	DisableRetry bool
	// FreshResponse, if true, gives every unary call a new response
	// message, as /work/shared/grpc-baseline does, instead of the caller's
	// reused one (kept only to measure what that costs).
	FreshResponse bool
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

// Validate reports a CallContext or Codec that is not one of the constants, or a
// Window below grpc-go's 64 KiB minimum or negative.
func (o Options) Validate() error {
	switch {
	case o.CallContext < CallerContext || o.CallContext > SharedContext:
		return &OptionError{"CallContext", int64(o.CallContext), "not a CallContext constant"}
	case o.Codec < CodecBuffers || o.Codec > CodecSubtype:
		return &OptionError{"Codec", int64(o.Codec), "not a Codec constant"}
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
	out := []grpc.ServerOption{grpc.MaxRecvMsgSize(maxMsg), grpc.MaxSendMsgSize(maxMsg)}
	switch o.Codec {
	case CodecBuffers:
		out = append(out, grpc.ForceServerCodecV2(codecV2{}))
	case CodecBytes:
		out = append(out, grpc.ForceServerCodec(codec{name: codecBytesName}))
	}
	if o.ServerWorkers > 0 {
		out = append(out, grpc.NumStreamWorkers(o.ServerWorkers))
	}
	if o.Window > 0 {
		out = append(out, grpc.InitialWindowSize(o.Window), grpc.InitialConnWindowSize(o.Window))
	}
	return out
}

func (o Options) dialOptions() []grpc.DialOption {
	call := []grpc.CallOption{grpc.MaxCallRecvMsgSize(maxMsg), grpc.MaxCallSendMsgSize(maxMsg)}
	switch o.Codec {
	case CodecBuffers:
		call = append(call, grpc.ForceCodecV2(codecV2{}))
	case CodecBytes:
		call = append(call, grpc.ForceCodec(codec{name: codecBytesName}))
	case CodecSubtype:
		call = append(call, grpc.CallContentSubtype(codecSubtypeName))
	}
	out := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithDefaultCallOptions(call...)}
	if o.DisableRetry {
		out = append(out, grpc.WithDisableRetry())
	}
	if o.Window > 0 {
		out = append(out, grpc.WithInitialWindowSize(o.Window), grpc.WithInitialConnWindowSize(o.Window))
	}
	return out
}

// String describes the options compactly for benchmark names.
func (o Options) String() string {
	s := o.CallContext.String() + "," + o.Codec.String()
	if o.DisableRetry {
		s += ",no-retry"
	}
	if o.FreshResponse {
		s += ",fresh-resp"
	}
	if o.ServerWorkers > 0 {
		s += fmt.Sprintf(",workers=%d", o.ServerWorkers)
	}
	if o.Window > 0 {
		s += fmt.Sprintf(",window=%d", o.Window)
	}
	return s
}
