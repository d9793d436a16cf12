// Package grpcsys is the "grpc" System of psbench: grpc-go on loopback
// with insecure credentials, serving a hand-written service
// (psbench.Echo: Unary, Bidi and Stream methods) through a codec that
// passes the payload bytes through unchanged (an encoding.CodecV2 by
// default: see Codec). No protobuf marshaling is
// measured, only grpc-go's own cost (HTTP/2 framing, its per-call
// machinery), so that every system carries exactly the same bytes of user
// payload. The Pipelined scenario has no form in gRPC other than a
// bidirectional stream, so it is served by the same Bidi method as the
// Bidi scenario.
//
// Options holds every knob in which grpcsys and /work/shared/grpc-baseline
// (the reference harness for "grpc-go at its best") differ, so that
// BenchmarkGRPCConfigs measures each one: the zero value is the best
// measured, and the harness's own configuration is CallContext
// SharedContext, Codec CodecSubtype, FreshResponse (bench/README, "grpc-go
// at its best").
package grpcsys
