// Package load is the load generator behind psbench: it drives a System
// (a transport under test: protosocket, grpc-go, a raw TCP echo) through
// one scenario, closed loop (N callers, each waiting for its reply) or open
// loop (a fixed offered rate whose latency is measured from the scheduled
// send time, so a stall cannot hide behind coordinated omission), and
// returns a Result: an HDR histogram of latencies, counts of operations and
// errors, allocation, GC and CPU deltas over the measured window, and the
// throughput of every second.
//
// Sweep raises the offered rate step by step and reports the highest rate
// whose p99.9 stays under a threshold.
//
// A new transport plugs in by implementing System (see system.go); nothing
// else in the harness needs to know about it.
package load
