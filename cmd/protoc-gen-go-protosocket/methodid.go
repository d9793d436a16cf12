package main

import "hash/fnv"

// MethodID is the rpc method id of a protobuf method: the FNV-1a 32-bit
// hash of its gRPC-style full name, "/" + service full name + "/" + method
// name (e.g. "/greeter.Greeter/SayHello"). A client and a server generated
// from the same .proto (by any version of this plugin) agree on it, and
// renaming a package, service or method changes it, as it changes gRPC's
// path. Id 0 is refused (the generator reports it).
func MethodID(fullMethod string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(fullMethod))
	return h.Sum32()
}
