//go:build !unix

package rpc_test

// processCPU returns 0 where getrusage is missing: the benchmarks' cpu-ns
// metrics read 0 there.
func processCPU() int64 { return 0 }
