package main

import (
	"github.com/protosocket-go/protosocket/bench/internal/compatsys"
	"github.com/protosocket-go/protosocket/bench/internal/greetersys"
	"github.com/protosocket-go/protosocket/bench/internal/grpcsys"
	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/bench/internal/otelsys"
	"github.com/protosocket-go/protosocket/bench/internal/rawsys"
	"github.com/protosocket-go/protosocket/bench/internal/socketsys"
	"github.com/protosocket-go/protosocket/bench/internal/typedsys"
	"github.com/protosocket-go/protosocket/bench/rpcbench"
)

// registry lists the systems psbench knows, in their default order: the
// first one is the system -vs compares against the other. "protosocket" is
// the RPC layer (socket/rpc) through bench/rpcbench; a new transport
// implements load.System (and Describer, for its line of the legend under
// the table) and adds one line here.
var registry = []load.System{
	rpcbench.New(), // "protosocket": socket/rpc
	rawsys.New(),
	grpcsys.New(),
}

// optIn systems run only when named (-systems, -vs), never by default, so
// the default run stays short: the greeter pair (bench/internal/greetersys)
// serves the unary scenario only (psbench -systems greeter-ps -vs
// greeter-grpc compares them); "protosocket-otel" is protosocket with
// otel/otelrpc's interceptors (psbench -systems
// protosocket,protosocket-otel shows their cost per call); "compat" is socket/rpc/compat over the
// protoecho schema (psbench -systems protosocket,compat); "typed" is the
// codecgen-generated typed stubs (bench/internal/typedsys; psbench
// -systems protosocket,typed puts it next to the raw-bytes RPC); "socket"
// is protosocket's socket layer alone, pipelined and bidi scenarios only
// (bench/internal/socketsys; psbench -scenario pipelined -systems
// protosocket,socket,raw prints protosocket/socket: the RPC stream over
// the layer it runs on).
var optIn = []load.System{greetersys.PS{}, greetersys.GRPC{}, compatsys.New(), typedsys.New(), otelsys.New(), socketsys.New()}

func lookup(name string) load.System {
	for _, s := range append(registry[:len(registry):len(registry)], optIn...) {
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
