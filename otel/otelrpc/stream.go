package otelrpc

import (
	"context"
	"errors"
	"io"
	"sync"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/protosocket-go/protosocket/socket/rpc"
)

// Streams traces streams, a span per stream on each side. Install its
// interceptors (ServerInterceptor as rpc.ServerOptions.StreamInterceptor,
// ClientInterceptor as rpc.ClientOptions.StreamInterceptor) to trace
// every stream; or wrap single handlers with Handler and open single
// streams with Open. The spans are named and attributed like the unary
// ones, and the trace context travels the same way (in the stream's
// opening metadata). Streams are not counted in the metrics.
type Streams struct {
	client, server *side
}

// NewStreams returns a Streams with o's tracer provider, propagator and
// method names (o's MeterProvider is not used).
func NewStreams(o Options) (*Streams, error) {
	c, err := newSide(o, trace.SpanKindClient, "")
	if err != nil {
		return nil, err
	}
	s, err := newSide(o, trace.SpanKindServer, "")
	if err != nil {
		return nil, err
	}
	return &Streams{client: c, server: s}, nil
}

// ServerInterceptor returns an rpc.StreamInterceptor that does what
// Handler does, for every stream handler of the server.
func (t *Streams) ServerInterceptor() rpc.StreamInterceptor {
	return func(ctx context.Context, _ uint32, st *rpc.ServerStream, h rpc.StreamHandler) error {
		return t.Handler(h)(ctx, st)
	}
}

// ClientInterceptor returns an rpc.ClientStreamInterceptor that gives
// every stream the client opens a client span, the child of ctx's span,
// with the trace context in its metadata. The span ends when the stream
// ends (rpc.ClientStream.Done): the server's end, its error, a cancel,
// Close (a normal end, as with Open) or the connection's death. It
// watches the end from one goroutine per stream, which ends with it.
func (t *Streams) ClientInterceptor() rpc.ClientStreamInterceptor {
	s := t.client
	return func(ctx context.Context, method uint32, md rpc.Metadata, open rpc.StreamOpener) (*rpc.ClientStream, error) {
		mi := s.method(method)
		ctx, span := s.tracer.Start(ctx, mi.spanName, mi.start...)
		carrier := mdCarrier{md: make(rpc.Metadata, len(md), len(md)+128)}
		copy(carrier.md, md)
		s.prop.Inject(ctx, &carrier)
		st, err := open(ctx, method, carrier.md)
		if err != nil {
			endSpan(span, err)
			return nil, err
		}
		go func() {
			<-st.Done()
			err := st.Err()
			if errors.Is(err, io.EOF) || errors.Is(err, rpc.ErrStreamClosed) {
				err = nil
			}
			endSpan(span, err)
		}()
		return st, nil
	}
}

// Handler wraps h: the server span starts when the stream opens, as the
// child of the client's span, and ends when h returns. h's context holds
// it; it wraps rpc's stream context and has its lifetime (until h
// returns).
func (t *Streams) Handler(h rpc.StreamHandler) rpc.StreamHandler {
	s := t.server
	return func(ctx context.Context, st *rpc.ServerStream) (err error) {
		ci, _ := rpc.CallInfoFrom(ctx)
		mi := s.method(ci.Method)
		if len(ci.Metadata) > 0 {
			ctx = s.prop.Extract(ctx, &mdCarrier{md: ci.Metadata})
		}
		ctx, span := s.tracer.Start(ctx, mi.spanName, mi.start...)
		setPeer(ctx, span)
		defer func() {
			if r := recover(); r != nil {
				endSpan(span, rpc.NewError(rpc.CodeInternal, "stream handler panic"))
				panic(r)
			}
			endSpan(span, err)
		}()
		return h(ctx, st)
	}
}

// Open opens a stream on c like c.OpenStream, with a client span that is
// the child of ctx's span. The span ends when Recv returns the stream's
// end (io.EOF: a normal end) or an error, or at Close, whichever is first.
func (t *Streams) Open(ctx context.Context, c *rpc.Client, method uint32, md rpc.Metadata) (*ClientStream, error) {
	s := t.client
	mi := s.method(method)
	ctx, span := s.tracer.Start(ctx, mi.spanName, mi.start...)
	carrier := mdCarrier{md: make(rpc.Metadata, len(md), len(md)+128)}
	copy(carrier.md, md)
	s.prop.Inject(ctx, &carrier)
	st, err := c.OpenStream(ctx, method, carrier.md)
	if err != nil {
		endSpan(span, err)
		return nil, err
	}
	return &ClientStream{ClientStream: st, span: span}, nil
}

// ClientStream is an *rpc.ClientStream whose span ends with the stream.
type ClientStream struct {
	*rpc.ClientStream
	span trace.Span
	once sync.Once
}

// Recv is rpc.ClientStream.Recv; the stream's end or an error ends the
// span.
func (st *ClientStream) Recv(dst []byte) ([]byte, error) {
	out, err := st.ClientStream.Recv(dst)
	if err != nil {
		st.end(err)
	}
	return out, err
}

// Close is rpc.ClientStream.Close; it ends the span if Recv has not.
func (st *ClientStream) Close() error {
	st.end(nil)
	return st.ClientStream.Close()
}

// Span returns the stream's span.
func (st *ClientStream) Span() trace.Span { return st.span }

func (st *ClientStream) end(err error) {
	if errors.Is(err, io.EOF) {
		err = nil
	}
	st.once.Do(func() { endSpan(st.span, err) })
}

func endSpan(span trace.Span, err error) {
	if err != nil {
		code := StatusCode(err)
		span.SetAttributes(KeyStatusCode.String(code))
		span.SetStatus(codes.Error, code)
	}
	span.End()
}
