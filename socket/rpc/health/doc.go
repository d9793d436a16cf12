// Package health is the gRPC health-checking protocol's semantics over
// protosocket RPC: a status per service name (Serving, NotServing,
// Unknown, ServiceUnknown), asked once with Check or followed with Watch,
// a server stream that sends the current status and then every change.
//
// # Wire
//
// Register puts two methods on an *rpc.Server:
//
//   - MethodCheck (0xFFFF_0001), unary: the request body is the service
//     name (UTF-8, at most MaxServiceName bytes; "" is the whole server);
//     the response body is one byte, the Status. A name the server does
//     not know answers ServiceUnknown (gRPC answers NOT_FOUND; servers
//     before rpc's full gRPC code set answered an unregistered method with
//     NotFound, which a client must be able to tell apart: see below).
//   - MethodWatch (0xFFFF_0002), stream: the client sends one message,
//     the service name; the server sends one-byte Status messages, the
//     current one first and then each change (a burst of changes may be
//     coalesced into the latest). It ends when the client closes it, the
//     connection closes, or Server.Close is called.
//
// The methods live at the top of the method space (0xFFFF_0000 and up),
// which protosocket's own services use; applications use lower ids.
// A server without the health service answers either method with
// rpc.ErrUnimplemented: a client treats that as "no health checking here"
// (gRPC's rule for UNIMPLEMENTED), so balance.HealthChecked counts such a
// server as serving.
//
// # Bad input
//
// A name over MaxServiceName bytes is refused with
// rpc.CodeInvalidArgument on both sides (ErrServiceName on the client). A
// response that is not one byte is ErrMalformed; a status byte this
// package does not know (from a newer peer) reads as Unknown. Watches are
// bounded by the rpc server's per-connection MaxInFlight (each is a
// stream); each holds one pending status at most.
//
// KeepAlive pings a bare rpc.Client in the background (balance.Pool has
// its own pings), so a dead peer is noticed, and a connection does not sit
// idle past a server's IdleTimeout.
package health
