package cacheserver

import (
	"github.com/protosocket-go/protosocket/examples/cache/cachepb"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// Register registers st's Cache methods on srv. Get, Set, Delete and
// Touch take the store's lock and never block otherwise, so they run
// rpc.Inline (on the connection's reader: no hand-off to a worker); Watch
// runs on its own goroutine, as every stream does.
func Register(srv *rpc.Server, st *Store) {
	cachepb.RegisterCache(srv, st, rpc.Inline)
}
