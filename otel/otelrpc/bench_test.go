package otelrpc_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/otel/otelrpc"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// discard is a span exporter that drops what it is given: the benchmark
// measures making, recording and batching spans, not shipping them.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// pair starts a server and a client over loopback, both instrumented when
// instrumented is true (the SDK's production configuration: every span
// sampled, a batch span processor, a meter provider with a reader).
func pair(tb testing.TB, instrumented bool) *rpc.Client {
	tb.Helper()
	return pairWith(tb, instrumented, rpc.ServerOptions{})
}

func pairWith(tb testing.TB, instrumented bool, so rpc.ServerOptions) *rpc.Client {
	tb.Helper()
	var co rpc.ClientOptions
	if instrumented {
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}), sdktrace.WithSampler(sdktrace.AlwaysSample()))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		tb.Cleanup(func() {
			_ = tp.Shutdown(context.Background())
			_ = mp.Shutdown(context.Background())
		})
		o := otelrpc.Options{TracerProvider: tp, MeterProvider: mp, MethodName: methodName}
		var err error
		so.Interceptor, err = otelrpc.ServerInterceptor(o)
		require.NoError(tb, err)
		co.Interceptor, err = otelrpc.ClientInterceptor(o)
		require.NoError(tb, err)
	}
	srv, err := rpc.NewServer(so)
	require.NoError(tb, err)
	srv.Handle(mEcho, func(_ context.Context, req, dst []byte) ([]byte, error) { return append(dst, req...), nil }, rpc.Inline)
	return dial(tb, serve(tb, srv), co)
}

// BenchmarkCall is a unary call over loopback (16-byte echo, Inline
// handler, one Caller reused), without and with the OpenTelemetry
// interceptors on both sides. -count repeats each sub-benchmark in a row,
// so alternate them from one binary instead (docs/observability.md):
//
//	go test -c -o /tmp/otelrpc.test ./otelrpc
//	for i in 1 2 3 4 5 6 7 8; do for v in plain otel; do
//	  /tmp/otelrpc.test -test.run '^$' -test.bench "Call/$v\$" -test.benchmem
//	done; done
func BenchmarkCall(b *testing.B) {
	for _, bc := range []struct {
		name         string
		instrumented bool
	}{{"plain", false}, {"otel", true}} {
		b.Run(bc.name, func(b *testing.B) {
			c := pair(b, bc.instrumented)
			k, err := c.NewCaller()
			require.NoError(b, err)
			defer k.Close()
			ctx := context.Background()
			req, dst := []byte("0123456789abcdef"), make([]byte, 0, 64)
			b.ReportAllocs()
			cpu0 := cpuTime()
			for b.Loop() {
				if dst, err = k.Call(ctx, mEcho, req, dst[:0]); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time of the process (client and server) per call: less
			// sensitive than ns/op to other processes sharing the machine.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuTime is the process's user plus system CPU time (as psbench's
// Result reads it).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Without the interceptors a call allocates nothing, client and server
// together (with rpc.ServerOptions.ReuseContexts; without it the server
// allocates the handler's context, otel or not): the otel module costs
// nothing to those who do not use it.
func TestPlainCallAllocs(t *testing.T) {
	testenv.SkipIfRace(t)
	c := pairWith(t, false, rpc.ServerOptions{ReuseContexts: true})
	k, err := c.NewCaller()
	require.NoError(t, err)
	defer k.Close()
	ctx := context.Background()
	req, dst := []byte("0123456789abcdef"), make([]byte, 0, 64)
	for range 100 {
		dst, err = k.Call(ctx, mEcho, req, dst[:0])
		require.NoError(t, err)
	}
	allocs := testing.AllocsPerRun(2000, func() { dst, err = k.Call(ctx, mEcho, req, dst[:0]) })
	require.NoError(t, err)
	assert.Zero(t, allocs)
}
