package main

import (
	"github.com/protosocket-go/protosocket/bench/internal/grpcsys"
	"github.com/protosocket-go/protosocket/bench/internal/load"
	"github.com/protosocket-go/protosocket/bench/internal/pssys"
	"github.com/protosocket-go/protosocket/bench/internal/rawsys"
)

// registry lists the systems psbench knows, in their default order: the
// first one is the system -vs compares against the other. A new transport
// (protosocket) implements load.System and adds one line here, first.
var registry = []load.System{
	pssys.New(),
	rawsys.New(),
	grpcsys.New(),
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
