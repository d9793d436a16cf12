package otelrpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/protosocket-go/protosocket/socket/rpc"
)

// ScopeName is the instrumentation scope of the tracer and meter.
const ScopeName = "github.com/protosocket-go/protosocket/otel/otelrpc"

// DefaultMaxMethods is the default of Options.MaxMethods.
const DefaultMaxMethods = 1024

// Attribute keys (OpenTelemetry semantic conventions for RPC).
const (
	KeySystem     = attribute.Key("rpc.system.name")
	KeyMethod     = attribute.Key("rpc.method")
	KeyStatusCode = attribute.Key("rpc.response.status_code")
	// KeyPeerAddress and KeyPeerPort are the client's address and port on
	// a server span (network.peer.*): on spans only, never on metrics,
	// whose attribute sets would grow with every client.
	KeyPeerAddress = attribute.Key("network.peer.address")
	KeyPeerPort    = attribute.Key("network.peer.port")
	// System is the value of KeySystem.
	System = "protosocket"
)

// ErrInvalidOptions is matched by every error Validate returns.
var ErrInvalidOptions = errors.New("otelrpc: invalid options")

// Options configures the interceptors. The zero value works: the global
// providers and the W3C trace-context propagator.
type Options struct {
	// TracerProvider makes the tracer. Nil means otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// MeterProvider makes the meter. Nil means otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// Propagator carries the span context in the metadata. Nil means
	// propagation.TraceContext{} (W3C traceparent, tracestate).
	Propagator propagation.TextMapPropagator
	// MethodName names a method id in span names and the rpc.method
	// attribute; it is called once per method. Nil means the decimal id.
	MethodName func(method uint32) string
	// MaxMethods bounds the distinct method ids given their own name;
	// others are named "other". Zero means DefaultMaxMethods.
	MaxMethods int
}

// Validate reports the first bad field.
func (o Options) Validate() error {
	if o.MaxMethods < 0 {
		return fmt.Errorf("%w: MaxMethods = %d: must not be negative", ErrInvalidOptions, o.MaxMethods)
	}
	return nil
}

// side is the instrumentation of one side (client or server).
type side struct {
	tracer     trace.Tracer
	prop       propagation.TextMapPropagator
	kind       trace.SpanKind
	duration   metric.Float64Histogram
	active     metric.Int64UpDownCounter
	reqSize    metric.Int64Counter
	respSize   metric.Int64Counter
	methodName func(uint32) string
	maxMethods int

	mu      sync.RWMutex
	methods map[uint32]*methodInfo
	other   *methodInfo
}

// methodInfo holds what one method's calls record, made once.
type methodInfo struct {
	spanName string
	attrs    []attribute.KeyValue
	add      []metric.AddOption // the method's attribute set
	start    []trace.SpanStartOption
	byCode   sync.Map // status code name -> []metric.RecordOption
	set      attribute.Set
}

// newSide makes a side's tracer and, unless prefix is empty, its
// instruments.
func newSide(o Options, kind trace.SpanKind, prefix string) (*side, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	tp := o.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	mp := o.MeterProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	s := &side{tracer: tp.Tracer(ScopeName), prop: o.Propagator, kind: kind,
		methodName: o.MethodName, maxMethods: o.MaxMethods, methods: map[uint32]*methodInfo{}}
	if s.prop == nil {
		s.prop = propagation.TraceContext{}
	}
	if s.methodName == nil {
		s.methodName = func(m uint32) string { return strconv.FormatUint(uint64(m), 10) }
	}
	if s.maxMethods == 0 {
		s.maxMethods = DefaultMaxMethods
	}
	s.other = s.newMethod("other")
	if prefix == "" {
		return s, nil
	}
	m := mp.Meter(ScopeName)
	var err error
	if s.duration, err = m.Float64Histogram(prefix+".call.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of RPC calls; its count by status code is the calls and the errors."),
		metric.WithExplicitBucketBoundaries(0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
			0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)); err != nil {
		return nil, err
	}
	if s.active, err = m.Int64UpDownCounter(prefix+".call.active", metric.WithUnit("{call}"),
		metric.WithDescription("RPC calls in flight.")); err != nil {
		return nil, err
	}
	if s.reqSize, err = m.Int64Counter(prefix+".request.size", metric.WithUnit("By"),
		metric.WithDescription("Bytes of request bodies.")); err != nil {
		return nil, err
	}
	if s.respSize, err = m.Int64Counter(prefix+".response.size", metric.WithUnit("By"),
		metric.WithDescription("Bytes of response bodies.")); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *side) newMethod(name string) *methodInfo {
	attrs := []attribute.KeyValue{KeySystem.String(System), KeyMethod.String(name)}
	set := attribute.NewSet(attrs...)
	return &methodInfo{spanName: System + "/" + name, attrs: attrs, set: set,
		add:   []metric.AddOption{metric.WithAttributeSet(set)},
		start: []trace.SpanStartOption{trace.WithSpanKind(s.kind), trace.WithAttributes(attrs...)}}
}

func (s *side) method(m uint32) *methodInfo {
	s.mu.RLock()
	mi := s.methods[m]
	s.mu.RUnlock()
	if mi != nil {
		return mi
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if mi = s.methods[m]; mi != nil {
		return mi
	}
	if len(s.methods) >= s.maxMethods {
		return s.other
	}
	mi = s.newMethod(s.methodName(m))
	s.methods[m] = mi
	return mi
}

// recordOpts returns the record options of a call of mi that ended with
// status code code.
func (mi *methodInfo) recordOpts(code string) []metric.RecordOption {
	if v, ok := mi.byCode.Load(code); ok {
		return v.([]metric.RecordOption)
	}
	kv := append(append([]attribute.KeyValue(nil), mi.attrs...), KeyStatusCode.String(code))
	opts := []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(kv...))}
	v, _ := mi.byCode.LoadOrStore(code, opts)
	return v.([]metric.RecordOption)
}

// end records a finished call.
func (s *side) end(ctx context.Context, mi *methodInfo, span trace.Span, start time.Time, reqBytes, respBytes int, err error) {
	code := StatusCode(err)
	endSpan(span, err)
	s.duration.Record(ctx, time.Since(start).Seconds(), mi.recordOpts(code)...)
	s.active.Add(ctx, -1, mi.add...)
	s.reqSize.Add(ctx, int64(reqBytes), mi.add...)
	s.respSize.Add(ctx, int64(respBytes), mi.add...)
}

// StatusCode names err's status for the rpc.response.status_code
// attribute: "ok" for nil, else the rpc sentinel it matches without the
// "rpc: " prefix (the *rpc.Error's code first), "canceled" and "deadline
// exceeded" for context errors, "unknown error" for anything else.
func StatusCode(err error) string {
	if err == nil {
		return "ok"
	}
	var e *rpc.Error
	if errors.As(err, &e) {
		return trim(e.Code.Sentinel())
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline exceeded"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	for _, s := range []error{rpc.ErrClosed, rpc.ErrTooManyCalls, rpc.ErrMetadataTooLarge, rpc.ErrMalformed, rpc.ErrStreamClosed} {
		if errors.Is(err, s) {
			return trim(s)
		}
	}
	return trim(rpc.ErrUnknown)
}

func trim(sentinel error) string { return strings.TrimPrefix(sentinel.Error(), "rpc: ") }

// ClientInterceptor returns an rpc.ClientInterceptor that traces and
// measures each unary call and injects the trace context into its
// metadata.
func ClientInterceptor(o Options) (rpc.ClientInterceptor, error) {
	s, err := newSide(o, trace.SpanKindClient, "rpc.client")
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, method uint32, md rpc.Metadata, req, dst []byte, invoke rpc.Invoker) ([]byte, error) {
		mi := s.method(method)
		start := time.Now()
		ctx, span := s.tracer.Start(ctx, mi.spanName, mi.start...)
		s.active.Add(ctx, 1, mi.add...)
		// A copy: the caller's metadata may have spare capacity shared
		// with other calls.
		c := mdCarrier{md: make(rpc.Metadata, len(md), len(md)+128)}
		copy(c.md, md)
		s.prop.Inject(ctx, &c)
		n := len(dst)
		out, err := invoke(ctx, method, c.md, req, dst)
		s.end(ctx, mi, span, start, len(req), max(len(out)-n, 0), err)
		return out, err
	}, nil
}

// ServerInterceptor returns an rpc.Interceptor that continues the
// client's trace (from the call's metadata) with a server span per call,
// measures the call, and gives the handler a context holding the span.
// That context wraps rpc's handler context and has its lifetime: valid
// until the handler returns (rpc.CallInfoFrom works on it).
func ServerInterceptor(o Options) (rpc.Interceptor, error) {
	s, err := newSide(o, trace.SpanKindServer, "rpc.server")
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, method uint32, req, dst []byte, h rpc.Handler) (out []byte, err error) {
		mi := s.method(method)
		start := time.Now()
		if ci, ok := rpc.CallInfoFrom(ctx); ok && len(ci.Metadata) > 0 {
			ctx = s.prop.Extract(ctx, &mdCarrier{md: ci.Metadata})
		}
		ctx, span := s.tracer.Start(ctx, mi.spanName, mi.start...)
		setPeer(ctx, span)
		s.active.Add(ctx, 1, mi.add...)
		n := len(dst)
		defer func() {
			if r := recover(); r != nil {
				s.end(ctx, mi, span, start, len(req), 0, rpc.NewError(rpc.CodeInternal, "handler panic"))
				panic(r) // rpc turns it into CodeInternal
			}
			s.end(ctx, mi, span, start, len(req), max(len(out)-n, 0), err)
		}()
		return h(ctx, req, dst)
	}, nil
}

// mdCarrier is a propagation.TextMapCarrier over rpc.Metadata.
type mdCarrier struct{ md rpc.Metadata }

// Get returns the first value of key.
func (c mdCarrier) Get(key string) string {
	v, _ := c.md.Get(key)
	return string(v)
}

// Set appends key; a pair over the metadata limits is dropped.
func (c *mdCarrier) Set(key, value string) {
	if md, err := c.md.Append(key, []byte(value)); err == nil {
		c.md = md
	}
}

// Keys lists the keys.
func (c mdCarrier) Keys() []string {
	var keys []string
	c.md.Range(func(k, _ []byte) bool { keys = append(keys, string(k)); return true })
	return keys
}

// setPeer sets the client's address on a recording server span, from the
// CallInfo of rpc's handler context. It parses the address per recorded
// span only: an unsampled call pays one IsRecording check.
func setPeer(ctx context.Context, span trace.Span) {
	if !span.IsRecording() {
		return
	}
	ci, ok := rpc.CallInfoFrom(ctx)
	if !ok || ci.Conn == nil || ci.Conn.RemoteAddr == nil {
		return
	}
	switch a := ci.Conn.RemoteAddr.(type) {
	case *net.TCPAddr:
		span.SetAttributes(KeyPeerAddress.String(a.IP.String()), KeyPeerPort.Int(a.Port))
	case *net.UnixAddr:
		if a.Name != "" {
			span.SetAttributes(KeyPeerAddress.String(a.Name))
		}
	default:
		if host, port, err := net.SplitHostPort(a.String()); err == nil {
			kv := []attribute.KeyValue{KeyPeerAddress.String(host)}
			if n, err := strconv.Atoi(port); err == nil {
				kv = append(kv, KeyPeerPort.Int(n))
			}
			span.SetAttributes(kv...)
		} else {
			span.SetAttributes(KeyPeerAddress.String(a.String()))
		}
	}
}
