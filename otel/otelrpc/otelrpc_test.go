package otelrpc_test

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/protosocket-go/protosocket/otel/otelrpc"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

const (
	mEcho  uint32 = 7
	mFail  uint32 = 8
	mPanic uint32 = 9
	mInfo  uint32 = 10
)

func methodName(m uint32) string {
	switch m {
	case mEcho:
		return "echo"
	case mFail:
		return "fail"
	case mPanic:
		return "panic"
	}
	return "unnamed"
}

// serve runs srv on a loopback listener until the test ends.
func serve(t testing.TB, srv *rpc.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(context.Background(), ln) })
	t.Cleanup(func() { _ = srv.Close(); wg.Wait() })
	return ln.Addr().String()
}

func dial(t testing.TB, addr string, opts rpc.ClientOptions) *rpc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := rpc.Dial(ctx, "tcp", addr, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// register adds the test methods: echo answers with the request and the
// trace id the handler's context holds.
func register(srv *rpc.Server) {
	srv.Handle(mEcho, func(ctx context.Context, req, dst []byte) ([]byte, error) {
		dst = append(dst, req...)
		return append(dst, trace.SpanContextFromContext(ctx).TraceID().String()...), nil
	}, rpc.Pooled)
	srv.Handle(mFail, func(_ context.Context, _, dst []byte) ([]byte, error) {
		return dst, rpc.NewError(rpc.CodeAppMin+1, "nope")
	}, rpc.Inline)
	srv.Handle(mPanic, func(context.Context, []byte, []byte) ([]byte, error) { panic("boom") }, rpc.Inline)
	// info answers with the method and the "user" metadata the handler
	// sees through the interceptor's context.
	srv.Handle(mInfo, func(ctx context.Context, _, dst []byte) ([]byte, error) {
		ci, ok := rpc.CallInfoFrom(ctx)
		if !ok {
			return dst, rpc.NewError(rpc.CodeInternal, "no CallInfo")
		}
		v, _ := ci.Metadata.Get("user")
		return append(fmt.Appendf(dst, "%d:", ci.Method), v...), nil
	}, rpc.Inline)
}

type env struct {
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
	client *rpc.Client
}

func setup(t *testing.T) *env {
	e := &env{spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader()}
	e.tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(e.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(e.reader))
	t.Cleanup(func() {
		_ = e.tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	o := otelrpc.Options{TracerProvider: e.tp, MeterProvider: mp, MethodName: methodName}
	si, err := otelrpc.ServerInterceptor(o)
	require.NoError(t, err)
	ci, err := otelrpc.ClientInterceptor(o)
	require.NoError(t, err)
	srv, err := rpc.NewServer(rpc.ServerOptions{Interceptor: si})
	require.NoError(t, err)
	register(srv)
	e.client = dial(t, serve(t, srv), rpc.ClientOptions{Interceptor: ci})
	return e
}

func TestSpansParentChildAcrossTheWire(t *testing.T) {
	e := setup(t)
	ctx, parent := e.tp.Tracer("test").Start(context.Background(), "parent")
	md, err := rpc.Metadata(nil).Append("user", []byte("ann"))
	require.NoError(t, err)
	k, err := e.client.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	got, err := k.CallMetadata(ctx, mEcho, md, []byte("hi:"), nil)
	require.NoError(t, err)
	parent.End()
	traceID := parent.SpanContext().TraceID()
	assert.Equal(t, "hi:"+traceID.String(), string(got), "the handler's context holds the trace")

	spans := e.spans.GetSpans()
	require.Len(t, spans, 3) // server, client, parent (in the order they ended)
	byKind := map[trace.SpanKind]tracetest.SpanStub{}
	for _, s := range spans {
		byKind[s.SpanKind] = s
	}
	cs, ss := byKind[trace.SpanKindClient], byKind[trace.SpanKindServer]
	assert.Equal(t, "protosocket/echo", cs.Name)
	assert.Equal(t, "protosocket/echo", ss.Name)
	assert.Equal(t, parent.SpanContext().SpanID(), cs.Parent.SpanID(), "the client span is the caller's child")
	assert.Equal(t, cs.SpanContext.SpanID(), ss.Parent.SpanID(), "the server span is the client span's child")
	assert.True(t, ss.Parent.IsRemote(), "its parent came over the wire")
	assert.Equal(t, traceID, ss.SpanContext.TraceID())
	assert.Contains(t, ss.Attributes, attribute.String("rpc.system.name", "protosocket"))
	assert.Contains(t, ss.Attributes, attribute.String("rpc.method", "echo"))
	assert.Contains(t, ss.Attributes, attribute.String("network.peer.address", "127.0.0.1"), "the server span names the client")
	for _, kv := range ss.Attributes {
		if kv.Key == "network.peer.port" {
			assert.Positive(t, kv.Value.AsInt64())
		}
	}
	assert.Len(t, attributeKeys(ss.Attributes, "network.peer.port"), 1)
	assert.Empty(t, attributeKeys(cs.Attributes, "network.peer.address"), "the client span has no peer: the interceptor does not know it")
	assert.Equal(t, codes.Unset, ss.Status.Code)

	// The caller's metadata went through unchanged beside the trace
	// context, and the caller's own buffer was not written.
	assert.Equal(t, "user", string(md[1:5]))
	v, ok := md.Get("traceparent")
	assert.False(t, ok, "traceparent leaked into the caller's metadata: %q", v)

	// The handler still sees its CallInfo through the span's context.
	got, err = k.CallMetadata(ctx, mInfo, md, nil, nil)
	require.NoError(t, err)
	assert.Equal(t, "10:ann", string(got))

	// Without a parent the client starts a new trace, which the server
	// continues.
	e.spans.Reset()
	_, err = e.client.Call(context.Background(), mEcho, nil, nil)
	require.NoError(t, err)
	spans = e.spans.GetSpans()
	require.Len(t, spans, 2)
	assert.Equal(t, spans[0].SpanContext.TraceID(), spans[1].SpanContext.TraceID())
	assert.False(t, spans[1].Parent.IsValid(), "the client span is a root")
}

func TestErrorsAndPanics(t *testing.T) {
	e := setup(t)
	_, err := e.client.Call(context.Background(), mFail, nil, nil)
	require.ErrorIs(t, err, rpc.ErrApplication)
	_, err = e.client.Call(context.Background(), mPanic, nil, nil)
	require.ErrorIs(t, err, rpc.ErrInternal)
	spans := e.spans.GetSpans()
	require.Len(t, spans, 4)
	for _, s := range spans {
		assert.Equal(t, codes.Error, s.Status.Code, s.Name)
		want := "application error"
		if s.Name == "protosocket/panic" {
			want = "internal error"
		}
		assert.Contains(t, s.Attributes, attribute.String("rpc.response.status_code", want), s.Name)
	}
}

// collect reads the metrics of r by name.
func collect(t *testing.T, r *sdkmetric.ManualReader) map[string]metricdata.Aggregation {
	var rm metricdata.ResourceMetrics
	require.NoError(t, r.Collect(context.Background(), &rm))
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, otelrpc.ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

func key(attrs attribute.Set) string {
	m, _ := attrs.Value("rpc.method")
	c, ok := attrs.Value("rpc.response.status_code")
	if !ok {
		return m.AsString()
	}
	return m.AsString() + "/" + c.AsString()
}

func TestMetrics(t *testing.T) {
	e := setup(t)
	req := []byte("0123456789")
	for range 5 {
		_, err := e.client.Call(context.Background(), mEcho, req, nil)
		require.NoError(t, err)
	}
	for range 2 {
		_, err := e.client.Call(context.Background(), mFail, req, nil)
		require.Error(t, err)
	}
	m := collect(t, e.reader)
	for _, sideName := range []string{"client", "server"} {
		dur, ok := m["rpc."+sideName+".call.duration"].(metricdata.Histogram[float64])
		require.True(t, ok, sideName)
		counts := map[string]uint64{}
		for _, dp := range dur.DataPoints {
			counts[key(dp.Attributes)] = dp.Count
			assert.Positive(t, dp.Sum, "a duration was recorded")
			sys, _ := dp.Attributes.Value("rpc.system.name")
			assert.Equal(t, "protosocket", sys.AsString())
		}
		assert.Equal(t, map[string]uint64{"echo/ok": 5, "fail/application error": 2}, counts, sideName+": calls and errors by code")

		active, ok := m["rpc."+sideName+".call.active"].(metricdata.Sum[int64])
		require.True(t, ok)
		assert.False(t, active.IsMonotonic)
		for _, dp := range active.DataPoints {
			assert.Zero(t, dp.Value, "%s: nothing in flight at the end (%s)", sideName, key(dp.Attributes))
		}
		sizes := map[string]int64{}
		for _, name := range []string{"request", "response"} {
			s, ok := m["rpc."+sideName+"."+name+".size"].(metricdata.Sum[int64])
			require.True(t, ok)
			for _, dp := range s.DataPoints {
				sizes[name+":"+key(dp.Attributes)] = dp.Value
			}
		}
		// echo's response: the request plus a 32-character trace id.
		assert.Equal(t, map[string]int64{"request:echo": 50, "request:fail": 20, "response:echo": 5 * 42, "response:fail": 0}, sizes, sideName)
	}

}

func TestInFlight(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	si, err := otelrpc.ServerInterceptor(otelrpc.Options{MeterProvider: mp, MethodName: methodName})
	require.NoError(t, err)
	srv, err := rpc.NewServer(rpc.ServerOptions{Interceptor: si})
	require.NoError(t, err)
	entered, release := make(chan struct{}, 3), make(chan struct{})
	srv.Handle(mEcho, func(_ context.Context, _, dst []byte) ([]byte, error) {
		entered <- struct{}{}
		<-release
		return dst, nil
	}, rpc.Pooled)
	c := dial(t, serve(t, srv), rpc.ClientOptions{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { _, _ = c.Call(context.Background(), mEcho, nil, nil) })
	}
	for range 3 {
		<-entered
	}
	active := collect(t, reader)["rpc.server.call.active"].(metricdata.Sum[int64])
	require.Len(t, active.DataPoints, 1)
	assert.Equal(t, int64(3), active.DataPoints[0].Value)
	close(release)
	wg.Wait()
	active = collect(t, reader)["rpc.server.call.active"].(metricdata.Sum[int64])
	assert.Zero(t, active.DataPoints[0].Value)
}

// Method ids past MaxMethods share the name "other": a bounded label set.
func TestMaxMethods(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	ci, err := otelrpc.ClientInterceptor(otelrpc.Options{MeterProvider: mp, MaxMethods: 2})
	require.NoError(t, err)
	invoke := func(_ context.Context, _ uint32, _ rpc.Metadata, _, dst []byte) ([]byte, error) { return dst, nil }
	for m := range uint32(10) {
		_, err := ci(context.Background(), m, nil, nil, nil, invoke)
		require.NoError(t, err)
	}
	dur := collect(t, reader)["rpc.client.call.duration"].(metricdata.Histogram[float64])
	counts := map[string]uint64{}
	for _, dp := range dur.DataPoints {
		counts[key(dp.Attributes)] = dp.Count
	}
	assert.Equal(t, map[string]uint64{"0/ok": 1, "1/ok": 1, "other/ok": 8}, counts)

	_, err = otelrpc.ClientInterceptor(otelrpc.Options{MaxMethods: -1})
	require.ErrorIs(t, err, otelrpc.ErrInvalidOptions)
	_, err = otelrpc.ServerInterceptor(otelrpc.Options{MaxMethods: -1})
	require.ErrorIs(t, err, otelrpc.ErrInvalidOptions)
}

func TestStatusCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{rpc.NewError(rpc.CodeOverloaded, "x"), "overloaded"},
		{rpc.NewError(rpc.CodeDeadlineExceeded, ""), "deadline exceeded"},
		{rpc.NewError(rpc.CodeAppMin+5, ""), "application error"},
		{rpc.NewError(999, ""), "unknown error"}, // an undefined code from a newer peer reads as Unknown
		{context.DeadlineExceeded, "deadline exceeded"},
		{context.Canceled, "canceled"},
		{&rpc.ClosedError{}, "connection closed"},
		{rpc.ErrTooManyCalls, "too many calls in flight"},
		{assert.AnError, "unknown error"},
	} {
		assert.Equal(t, tc.want, otelrpc.StatusCode(tc.err), "%v", tc.err)
	}
}

const (
	testTimeout = 10 * time.Second
	pollEvery   = time.Millisecond
)

// A malformed traceparent from a client (hostile or broken) starts a new
// trace on the server; the call itself is served.
func TestMalformedTraceparent(t *testing.T) {
	e := setup(t)
	plain := dial(t, e.client.Conn().RemoteAddr().String(), rpc.ClientOptions{})
	k, err := plain.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	for _, tp := range []string{"garbage", "00-00000000000000000000000000000000-0000000000000000-01", "ff-" + string(make([]byte, 200))} {
		md, err := rpc.Metadata(nil).Append("traceparent", []byte(tp))
		require.NoError(t, err)
		e.spans.Reset()
		_, err = k.CallMetadata(context.Background(), mEcho, md, []byte("x"), nil)
		require.NoError(t, err)
		spans := e.spans.GetSpans()
		require.Len(t, spans, 1, "only the server's")
		assert.False(t, spans[0].Parent.IsValid(), "%q: a root span", tp)
		assert.True(t, spans[0].SpanContext.IsValid())
	}
}

// attributeKeys returns the attributes of kvs with key k.
func attributeKeys(kvs []attribute.KeyValue, k attribute.Key) []attribute.KeyValue {
	var out []attribute.KeyValue
	for _, kv := range kvs {
		if kv.Key == k {
			out = append(out, kv)
		}
	}
	return out
}
