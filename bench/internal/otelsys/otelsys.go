// Package otelsys is psbench's "protosocket-otel" system: bench/rpcbench's
// socket/rpc system (the "protosocket" row) with otel/otelrpc's tracing and
// metrics interceptors on both sides, for calls and streams, so that
// `psbench -systems protosocket,protosocket-otel` shows what the
// interceptors cost per call next to the plain fast path.
//
// Every span is sampled and ended into a discarding exporter through a
// synchronous span processor (no background goroutine, so the system needs
// no shutdown); metrics go to a manual reader that is never collected. A
// production setup exports in batches; the per-call work measured here is
// the instrumentation itself (span start and end, context propagation in
// the call's metadata, four instruments per call on each side).
package otelsys

import (
	"context"
	"fmt"
	"sync"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/bench/rpcbench"
	"github.com/protosocket-go/protosocket/otel/otelrpc"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// System is rpcbench's system with the OpenTelemetry interceptors.
type System struct {
	once  *sync.Once
	inner *rpcbench.System
	err   *error
}

// New returns the system; its providers and interceptors are made on first
// use.
func New() load.System {
	var err error
	return System{once: new(sync.Once), inner: new(rpcbench.System), err: &err}
}

// Name implements load.System.
func (System) Name() string { return "protosocket-otel" }

// Description is the system's line in psbench's legend.
func (System) Description() string {
	return "protosocket with otel/otelrpc tracing and metrics interceptors on both sides (every span sampled, exported synchronously to a discarding exporter)"
}

func (s System) setup() error {
	s.once.Do(func() {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(discard{}), sdktrace.WithSampler(sdktrace.AlwaysSample()))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		o := otelrpc.Options{TracerProvider: tp, MeterProvider: mp}
		base := rpcbench.New().(rpcbench.System)
		si, err := otelrpc.ServerInterceptor(o)
		if err != nil {
			*s.err = fmt.Errorf("otelsys: %w", err)
			return
		}
		ci, err := otelrpc.ClientInterceptor(o)
		if err != nil {
			*s.err = fmt.Errorf("otelsys: %w", err)
			return
		}
		st, err := otelrpc.NewStreams(o)
		if err != nil {
			*s.err = fmt.Errorf("otelsys: %w", err)
			return
		}
		base.Server.Interceptor = si
		base.Server.StreamInterceptor = st.ServerInterceptor()
		base.Client = rpc.ClientOptions{Interceptor: ci, StreamInterceptor: st.ClientInterceptor()}
		*s.inner = base
	})
	return *s.err
}

// Serve implements load.System.
func (s System) Serve(ctx context.Context, addr string, opts load.Options) (load.Server, error) {
	if err := s.setup(); err != nil {
		return nil, err
	}
	return s.inner.Serve(ctx, addr, opts)
}

// Dial implements load.System.
func (s System) Dial(ctx context.Context, addr string, opts load.Options) (load.Client, error) {
	if err := s.setup(); err != nil {
		return nil, err
	}
	return s.inner.Dial(ctx, addr, opts)
}

// discard is a span exporter that drops every span.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }
