package main

import (
	"github.com/protosocket-go/protosocket/bench/internal/compatsys"
	"github.com/protosocket-go/protosocket/bench/internal/grpcsys"
	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/bench/internal/rawsys"
	"github.com/protosocket-go/protosocket/bench/rpcbench"
)

// registry lists the systems psbench knows, in their default order: the
// first one is the system -vs compares against the other. "protosocket" is
// the RPC layer (socket/rpc) through bench/rpcbench; a new transport
// implements load.System and adds one line here.
var registry = []load.System{
	rpcbench.New(), // "protosocket": socket/rpc
	rawsys.New(),
	grpcsys.New(),
	compatsys.New(), // "compat": socket/rpc/compat over protoecho (unary only)
}

func lookup(name string) load.System {
	for _, s := range registry {
		if s.Name() == name {
			return s
		}
	}
	return nil
}

func registeredNames() []string {
	names := make([]string, len(registry))
	for i, s := range registry {
		names[i] = s.Name()
	}
	return names
}
