// Package wire is the RPC protocol's codec: its frame kinds and flag bits,
// the opening frame's prefix (timeout and metadata), credit bodies and
// error bodies, as append/parse functions over caller-owned buffers.
// docs/rpc-wire.md describes every byte.
//
// It is internal: package rpc is its one user (and rpc's tests, which speak
// the protocol byte by byte as a hostile peer would). Error codes are the
// wire numbers; rpc translates them to its Code (rpc.CodeFromWire,
// Code.WireCode). Parse errors match ErrMalformed, which rpc re-exports as
// rpc.ErrMalformed.
package wire
