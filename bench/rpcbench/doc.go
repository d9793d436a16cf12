// Package rpcbench is the protosocket RPC layer (socket/rpc) as a
// load.System, so the psbench harness and cmd/rpcbench can drive it next to
// grpc-go: unary calls through one rpc.Caller per load caller (0
// allocations per call), and streams through rpc.ClientStream with credit
// flow control.
package rpcbench
