package load

import (
	"context"
	"encoding/binary"
	"fmt"
)

// Scenario names one interaction model the load loop drives.
type Scenario string

// The scenarios. Every System implements all four; where a transport has
// no native form of one (grpc-go has no pipelining without streams, a raw
// TCP echo has no streams), its doc says which form it uses.
const (
	// Unary: each caller sends one request and waits for its response
	// (Caller.Call); -concurrency is the number of callers, spread over
	// the connections.
	Unary Scenario = "unary"
	// Pipelined: one message stream per connection with up to
	// -concurrency echoed messages in flight (Stream.Send / Stream.Recv),
	// at the lowest level the transport offers.
	Pipelined Scenario = "pipelined"
	// ServerStream: one stream per connection on which the server pushes
	// payloads as fast as its flow control lets it; each payload carries
	// the server's send time (StampWall) and latency is one-way.
	ServerStream Scenario = "stream"
	// Bidi: like Pipelined, but over the transport's bidirectional
	// streaming RPC rather than its raw connection.
	Bidi Scenario = "bidi"
)

// Scenarios lists every scenario in display order.
var Scenarios = []Scenario{Unary, Pipelined, ServerStream, Bidi}

// ParseScenario returns the Scenario named s, or an error wrapping
// ErrInvalidOptions.
func ParseScenario(s string) (Scenario, error) {
	for _, sc := range Scenarios {
		if string(sc) == s {
			return sc, nil
		}
	}
	return "", fmt.Errorf("%w: unknown scenario %q (want unary, pipelined, stream or bidi)", ErrInvalidOptions, s)
}

// Streaming reports whether the scenario uses Stream rather than Caller.
func (s Scenario) Streaming() bool { return s != Unary }

// Options is what a System needs to know to serve or dial for a run.
type Options struct {
	// Scenario is the interaction model of the run.
	Scenario Scenario
	// Payload is the size in bytes of every request and response body.
	Payload int
	// Conns is the number of client connections to open.
	Conns int
	// Concurrency is the number of callers (Unary) or the number of
	// messages in flight per stream (Pipelined, Bidi); systems may use it
	// to size buffers or slot tables.
	Concurrency int
}

// System is one transport under test. An implementation must be usable
// for several sequential runs: psbench starts one Server and one Client per
// system and reuses them for every round of an alternating comparison.
//
// Everything runs on loopback unless the user passes -server / -client.
type System interface {
	// Name is the short name used by -systems and -vs and printed in the
	// result rows ("protosocket", "grpc", "raw").
	Name() string
	// Serve starts a server listening on addr ("127.0.0.1:0" picks a free
	// port) and returns once it accepts connections. It must serve every
	// scenario: echo each unary request with a response of the same size,
	// echo every streamed message in order, and for ServerStream push
	// payloads of opts.Payload bytes stamped with StampWall until the
	// stream ends. The server stops when Close is called or ctx ends.
	Serve(ctx context.Context, addr string, opts Options) (Server, error)
	// Dial connects opts.Conns connections to the server at addr and
	// returns once they are usable. An unreachable server must give an
	// error here (within the deadline of ctx), not later.
	Dial(ctx context.Context, addr string, opts Options) (Client, error)
}

// Server is a running server of a System.
type Server interface {
	// Addr is the address the server listens on.
	Addr() string
	// Close stops the server, closes its connections and waits for its
	// goroutines to end.
	Close() error
}

// Client is a set of connections to one Server.
type Client interface {
	// NewCaller returns a caller for the Unary scenario bound to
	// connection i % Conns. Each Caller is used by one goroutine at a time;
	// several Callers share a connection concurrently.
	NewCaller(i int) (Caller, error)
	// OpenStream opens a message stream of the client's scenario
	// (Pipelined, ServerStream or Bidi) on connection i % Conns. The load
	// loop uses each Stream from exactly two goroutines: one calling Send
	// and Flush, the other calling Recv. For ServerStream only Recv is
	// called. Canceling ctx or calling Close ends the stream.
	OpenStream(ctx context.Context, i int) (Stream, error)
	// Close closes every connection and waits for the client's
	// goroutines to end.
	Close() error
}

// Caller performs unary calls.
type Caller interface {
	// Call sends req (opts.Payload bytes, owned by the caller and reused
	// after Call returns) and waits for the response. It must not
	// allocate more than the transport itself needs: the harness reports
	// allocations per operation. A buffer the Caller keeps the response
	// in is made for opts.Payload bytes by NewCaller, before the measured
	// window, and reused, so that its growth is not charged to the
	// transport.
	Call(ctx context.Context, req []byte) error
	// Close releases the caller.
	Close() error
}

// Stream is one ordered message stream.
type Stream interface {
	// Send queues one message whose body is p (owned by the caller,
	// reused after Send returns). The body must reach the peer unchanged:
	// the load loop reads its send time back from the echo. A transport
	// may buffer; Flush pushes what is buffered.
	Send(p []byte) error
	// Flush writes whatever Send buffered. The load loop calls it before
	// it waits (window full or open-loop schedule ahead), so a transport
	// that coalesces writes should write only here or when its buffer is
	// full.
	Flush() error
	// Recv waits for the next message and returns its body, valid until
	// the next call to Recv. A buffer the Stream keeps it in is made for
	// opts.Payload bytes by OpenStream and reused (see Caller.Call).
	Recv() ([]byte, error)
	// Close ends the stream and releases it; a blocked Send, Flush or
	// Recv returns with an error. Close may be called concurrently with
	// them and more than once.
	Close() error
}

// StampSize is the number of payload bytes a time stamp occupies; streaming
// scenarios need payloads at least this large.
const StampSize = 8

// PutStamp writes the time stamp t (nanoseconds) in the first StampSize
// bytes of p.
func PutStamp(p []byte, t int64) { binary.LittleEndian.PutUint64(p, uint64(t)) }

// Stamp reads the time stamp PutStamp wrote in p; 0 if p is too short.
func Stamp(p []byte) int64 {
	if len(p) < StampSize {
		return 0
	}
	return int64(binary.LittleEndian.Uint64(p))
}
