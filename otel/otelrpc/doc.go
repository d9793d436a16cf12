// Package otelrpc instruments protosocket RPC with OpenTelemetry: a span
// per unary call on the client and on the server, parent and child across
// the wire (W3C trace context carried in the call's metadata), and per
// method metrics. It is built on the rpc interceptors, so a client or
// server without them pays nothing.
//
//	ci, _ := otelrpc.ClientInterceptor(otelrpc.Options{})
//	c, _ := rpc.Dial(ctx, "tcp", addr, rpc.ClientOptions{Interceptor: ci})
//	si, _ := otelrpc.ServerInterceptor(otelrpc.Options{})
//	srv, _ := rpc.NewServer(rpc.ServerOptions{Interceptor: si})
//
// # Spans
//
// Client spans are SpanKindClient, server spans SpanKindServer, named
// "protosocket/" + the method name (Options.MethodName), with attributes
// rpc.system.name = "protosocket", rpc.method and, on failure,
// rpc.response.status_code and an Error status. The client injects the
// span's context with Options.Propagator (W3C traceparent and tracestate
// by default) into a copy of the call's metadata; the server extracts it
// from rpc.CallInfo.Metadata and passes the handler a context holding its
// span (trace.SpanFromContext). A traceparent over the metadata limits is
// not sent (the call still is); a malformed one starts a new trace on the
// server (the propagator ignores it).
//
// # Metrics
//
// Per side (client, server), with attributes rpc.system.name and
// rpc.method, plus rpc.response.status_code where it says so:
//
//	rpc.{client,server}.call.duration  histogram, s, + status code: its
//	                                   count is the calls, by code the errors
//	rpc.{client,server}.call.active    up-down counter, {call}: in flight
//	rpc.{client,server}.request.size   counter, By: request bodies
//	rpc.{client,server}.response.size  counter, By: response bodies
//
// The status code is "ok" or the error's rpc sentinel without its "rpc: "
// prefix ("overloaded", "deadline exceeded", "application error",
// "connection closed", ...): a bounded set whatever the peer sends.
// Methods beyond Options.MaxMethods distinct ids are labeled "other", so a
// client's cardinality stays bounded too.
//
// Streams traces streams (a span per stream on each side) through rpc's
// stream interceptors (Streams.ServerInterceptor, ClientInterceptor) or a
// handler wrapper and an Open helper; they are not in the metrics.
package otelrpc
