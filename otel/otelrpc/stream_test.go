package otelrpc_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/protosocket-go/protosocket/otel/otelrpc"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

const (
	mStream    uint32 = 20
	mStreamErr uint32 = 21
)

func TestStreamSpans(t *testing.T) {
	t.Run("wrappers", func(t *testing.T) { testStreamSpans(t, false) })
	t.Run("interceptors", func(t *testing.T) { testStreamSpans(t, true) })
}

func testStreamSpans(t *testing.T, interceptors bool) {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())
	tr, err := otelrpc.NewStreams(otelrpc.Options{TracerProvider: tp, MethodName: func(m uint32) string {
		return map[uint32]string{mStream: "Echo", mStreamErr: "Fail"}[m]
	}})
	require.NoError(t, err)
	var sopts rpc.ServerOptions
	var copts rpc.ClientOptions
	wrap, open := tr.Handler, func(ctx context.Context, c *rpc.Client, m uint32, md rpc.Metadata) (stream, error) {
		return tr.Open(ctx, c, m, md)
	}
	if interceptors {
		sopts.StreamInterceptor = tr.ServerInterceptor()
		copts.StreamInterceptor = tr.ClientInterceptor()
		wrap = func(h rpc.StreamHandler) rpc.StreamHandler { return h }
		open = func(ctx context.Context, c *rpc.Client, m uint32, md rpc.Metadata) (stream, error) {
			return c.OpenStream(ctx, m, md)
		}
	}
	srv, err := rpc.NewServer(sopts)
	require.NoError(t, err)
	// Echo sends back each message, then the trace id its context holds.
	srv.HandleStream(mStream, wrap(func(ctx context.Context, st *rpc.ServerStream) error {
		for {
			msg, err := st.Recv(nil)
			if errors.Is(err, io.EOF) {
				return st.Send([]byte(trace.SpanContextFromContext(ctx).TraceID().String()))
			}
			if err != nil {
				return err
			}
			if err := st.Send(msg); err != nil {
				return err
			}
		}
	}))
	srv.HandleStream(mStreamErr, wrap(func(context.Context, *rpc.ServerStream) error {
		return rpc.NewError(rpc.CodeInvalidArgument, "no")
	}))
	c := dial(t, serve(t, srv), copts)

	ctx, parent := tp.Tracer("test").Start(context.Background(), "parent")
	st, err := open(ctx, c, mStream, nil)
	require.NoError(t, err)
	require.NoError(t, st.Send([]byte("a")))
	require.NoError(t, st.CloseSend())
	got, err := st.Recv(nil)
	require.NoError(t, err)
	assert.Equal(t, "a", string(got))
	got, err = st.Recv(nil)
	require.NoError(t, err)
	assert.Equal(t, parent.SpanContext().TraceID().String(), string(got), "the handler's context holds the trace")
	_, err = st.Recv(nil)
	require.ErrorIs(t, err, io.EOF)
	require.NoError(t, st.Close())
	parent.End()

	require.Eventually(t, func() bool { return len(spans.GetSpans()) == 3 }, testTimeout, pollEvery)
	ended := spans.GetSpans()
	byKind := map[trace.SpanKind]tracetest.SpanStub{}
	for _, s := range ended {
		byKind[s.SpanKind] = s
	}
	cs, ss := byKind[trace.SpanKindClient], byKind[trace.SpanKindServer]
	assert.Equal(t, "protosocket/Echo", cs.Name)
	assert.Equal(t, parent.SpanContext().SpanID(), cs.Parent.SpanID())
	assert.Equal(t, cs.SpanContext.SpanID(), ss.Parent.SpanID(), "server span is the client span's child")
	assert.True(t, ss.Parent.IsRemote())
	assert.Contains(t, ss.Attributes, attribute.String("network.peer.address", "127.0.0.1"), "the server span names the client")
	assert.Equal(t, codes.Unset, cs.Status.Code)
	assert.Equal(t, codes.Unset, ss.Status.Code)

	// A failing stream ends both spans with the error's code.
	spans.Reset()
	st, err = open(context.Background(), c, mStreamErr, nil)
	require.NoError(t, err)
	_, err = st.Recv(nil)
	require.ErrorIs(t, err, rpc.ErrInvalidArgument)
	require.NoError(t, st.Close())
	require.Eventually(t, func() bool { return len(spans.GetSpans()) == 2 }, testTimeout, pollEvery)
	for _, s := range spans.GetSpans() {
		assert.Equal(t, codes.Error, s.Status.Code, s.Name)
		assert.Contains(t, s.Attributes, attribute.String("rpc.response.status_code", "invalid argument"))
	}

	// Closed before its end: the client span ends at Close.
	spans.Reset()
	st, err = open(context.Background(), c, mStream, nil)
	require.NoError(t, err)
	require.NoError(t, st.Close())
	require.Eventually(t, func() bool { return len(spans.GetSpans()) == 2 }, testTimeout, pollEvery, "the server's span ends too")
}

// stream is what both ways of opening give.
type stream interface {
	Send([]byte) error
	CloseSend() error
	Recv([]byte) ([]byte, error)
	Close() error
}
