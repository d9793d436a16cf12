package rpc

import (
	"context"
	"reflect"
)

// StreamInterceptor wraps the server's stream handlers (logging,
// metrics, tracing, auth). It must call h with st (or not, to reject the
// stream with its error) and return h's error or its own; it may pass h
// a ctx derived from ctx (which keeps ctx's lifetime: until h returns).
type StreamInterceptor func(ctx context.Context, method uint32, st *ServerStream, h StreamHandler) error

// StreamOpener opens a stream on the wire: the rest of the chain after a
// ClientStreamInterceptor.
type StreamOpener func(ctx context.Context, method uint32, md Metadata) (*ClientStream, error)

// ClientStreamInterceptor wraps Client.OpenStream. It must call open (or
// not, to fail the opening itself) and return its result; the arguments
// may be changed on the way (metadata added). To act when the stream
// ends, watch the returned stream's Done and Err.
type ClientStreamInterceptor func(ctx context.Context, method uint32, md Metadata, open StreamOpener) (*ClientStream, error)

// ChainInterceptors returns one Interceptor running ics in order: the
// first is the outermost (it sees the call first and the result last).
// nil entries are skipped; with none it returns nil (no interceptor, no
// cost). Each interceptor after the first costs one small allocation
// per call (the handler it is given).
func ChainInterceptors(ics ...Interceptor) Interceptor {
	ics = compact(ics)
	switch len(ics) {
	case 0:
		return nil
	case 1:
		return ics[0]
	}
	outer, inner := ics[0], ChainInterceptors(ics[1:]...)
	return func(ctx context.Context, method uint32, req, dst []byte, h Handler) ([]byte, error) {
		return outer(ctx, method, req, dst, func(ctx context.Context, req, dst []byte) ([]byte, error) {
			return inner(ctx, method, req, dst, h)
		})
	}
}

// ChainClientInterceptors is ChainInterceptors for ClientInterceptors.
func ChainClientInterceptors(ics ...ClientInterceptor) ClientInterceptor {
	ics = compact(ics)
	switch len(ics) {
	case 0:
		return nil
	case 1:
		return ics[0]
	}
	outer, inner := ics[0], ChainClientInterceptors(ics[1:]...)
	return func(ctx context.Context, method uint32, md Metadata, req, dst []byte, invoke Invoker) ([]byte, error) {
		return outer(ctx, method, md, req, dst, func(ctx context.Context, method uint32, md Metadata, req, dst []byte) ([]byte, error) {
			return inner(ctx, method, md, req, dst, invoke)
		})
	}
}

// ChainStreamInterceptors is ChainInterceptors for StreamInterceptors.
func ChainStreamInterceptors(ics ...StreamInterceptor) StreamInterceptor {
	ics = compact(ics)
	switch len(ics) {
	case 0:
		return nil
	case 1:
		return ics[0]
	}
	outer, inner := ics[0], ChainStreamInterceptors(ics[1:]...)
	return func(ctx context.Context, method uint32, st *ServerStream, h StreamHandler) error {
		return outer(ctx, method, st, func(ctx context.Context, st *ServerStream) error {
			return inner(ctx, method, st, h)
		})
	}
}

// ChainClientStreamInterceptors is ChainInterceptors for
// ClientStreamInterceptors.
func ChainClientStreamInterceptors(ics ...ClientStreamInterceptor) ClientStreamInterceptor {
	ics = compact(ics)
	switch len(ics) {
	case 0:
		return nil
	case 1:
		return ics[0]
	}
	outer, inner := ics[0], ChainClientStreamInterceptors(ics[1:]...)
	return func(ctx context.Context, method uint32, md Metadata, open StreamOpener) (*ClientStream, error) {
		return outer(ctx, method, md, func(ctx context.Context, method uint32, md Metadata) (*ClientStream, error) {
			return inner(ctx, method, md, open)
		})
	}
}

// compact returns ics without its nil entries (a new slice: the caller's
// is not changed). It runs once, when a chain is built.
func compact[F any](ics []F) []F {
	out := make([]F, 0, len(ics))
	for _, f := range ics {
		if !reflect.ValueOf(f).IsNil() {
			out = append(out, f)
		}
	}
	return out
}
