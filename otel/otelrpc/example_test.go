package otelrpc_test

import (
	"context"
	"fmt"
	"net"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/protosocket-go/protosocket/otel/otelrpc"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// A traced and measured call: the server continues the client's trace.
// In production the providers export (OTLP, say); here they keep what
// they record in memory so the example can print it.
func Example() {
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))
	defer tp.Shutdown(context.Background())
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	opts := otelrpc.Options{
		TracerProvider: tp,
		MeterProvider:  mp,
		MethodName: func(m uint32) string {
			if m == 1 {
				return "Echo"
			}
			return fmt.Sprint(m)
		},
	}

	// Server.
	si, err := otelrpc.ServerInterceptor(opts)
	if err != nil {
		panic(err)
	}
	srv, err := rpc.NewServer(rpc.ServerOptions{Interceptor: si})
	if err != nil {
		panic(err)
	}
	srv.Handle(1, func(_ context.Context, req, dst []byte) ([]byte, error) {
		return append(dst, req...), nil
	}, rpc.Inline)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	done := make(chan struct{})
	go func() { _ = srv.Serve(context.Background(), ln); close(done) }()
	defer func() { _ = srv.Close(); <-done }()

	// Client.
	ci, err := otelrpc.ClientInterceptor(opts)
	if err != nil {
		panic(err)
	}
	c, err := rpc.Dial(context.Background(), "tcp", ln.Addr().String(), rpc.ClientOptions{Interceptor: ci})
	if err != nil {
		panic(err)
	}
	defer c.Close()
	resp, err := c.Call(context.Background(), 1, []byte("hello"), nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(resp))

	// The server span ends first; its parent is the client span.
	got := spans.GetSpans()
	fmt.Println(got[0].Name, got[0].SpanKind, "child of the client span:", got[0].Parent.SpanID() == got[1].SpanContext.SpanID())
	fmt.Println(got[1].Name, got[1].SpanKind)

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		panic(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if h, ok := m.Data.(metricdata.Histogram[float64]); ok {
			fmt.Println(m.Name, "count", h.DataPoints[0].Count)
		}
	}
	// Output:
	// hello
	// protosocket/Echo server child of the client span: true
	// protosocket/Echo client
	// rpc.server.call.duration count 1
	// rpc.client.call.duration count 1
}
