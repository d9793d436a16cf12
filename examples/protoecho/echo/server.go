package echo

import (
	"context"
	"net"
	"time"

	"github.com/protosocket-go/protosocket/codec/protobuf"
	"github.com/protosocket-go/protosocket/socket"
	"github.com/protosocket-go/protosocket/socket/rpc/compat"
)

// Limits the server applies to a request.
const (
	MaxStream = 10000 // stream_count above it is served as MaxStream
	MaxDelay  = 60000 // delay_ms above it is served as MaxDelay
)

// Codecs returns the compat codecs of EchoRequest and EchoResponse
// (request_id is field 1, code field 2).
func Codecs() (*protobuf.Compat[EchoRequest, *EchoRequest], *protobuf.Compat[EchoResponse, *EchoResponse]) {
	reqc, err := protobuf.NewCompat[EchoRequest](0, 0)
	if err != nil {
		panic(err) // the generated types have both fields
	}
	respc, err := protobuf.NewCompat[EchoResponse](0, 0)
	if err != nil {
		panic(err)
	}
	return reqc, respc
}

// NewServer returns the echo service as a compat.Server (socket/rpc/compat
// applies protosocket-rpc's rules: Cancel after an aborted call, never
// End; items then End for streams).
func NewServer(opts compat.Options) *compat.Server[EchoRequest, EchoResponse] {
	reqc, respc := Codecs()
	srv := compat.NewServer(reqc, respc, unary, opts)
	srv.HandleStream(func(req *EchoRequest) bool { return req.GetStreamCount() > 0 }, stream)
	return srv
}

// Serve serves the echo service on ln until ctx ends. opts.Framing nil
// means protobuf.Framing. A peer that sends a malformed length, a length
// over opts.MaxFrameSize or a body that is not an EchoRequest is
// disconnected.
func Serve(ctx context.Context, ln net.Listener, opts socket.Options) error {
	return NewServer(compat.Options{Socket: opts}).Serve(ctx, ln)
}

func delay(req *EchoRequest) time.Duration {
	return time.Duration(min(req.GetDelayMs(), MaxDelay)) * time.Millisecond
}

// wait sleeps d unless ctx ends first.
func wait(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func unary(ctx context.Context, req *EchoRequest, resp *EchoResponse) error {
	if err := wait(ctx, delay(req)); err != nil {
		return err
	}
	resp.Message = req.GetMessage()
	return nil
}

func stream(ctx context.Context, req *EchoRequest, s *compat.ServerStream[EchoRequest, EchoResponse]) error {
	n := min(req.GetStreamCount(), MaxStream)
	resp := &EchoResponse{Message: req.GetMessage()}
	for i := range n {
		if err := wait(ctx, delay(req)); err != nil {
			return err
		}
		resp.Seq = i
		if err := s.Send(resp); err != nil {
			return err
		}
	}
	return nil
}
