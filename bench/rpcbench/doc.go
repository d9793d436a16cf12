// Package rpcbench is the protosocket RPC layer (socket/rpc) as a
// load.System named "protosocket", the first system of psbench and of
// cmd/rpcbench, driven next to grpc-go: unary calls through one rpc.Caller
// per load caller (0 allocations per call), and Pipelined, Bidi and
// ServerStream through rpc.ClientStream with credit flow control (the
// RPC layer's streams are protosocket's lowest-level ordered streams).
package rpcbench
