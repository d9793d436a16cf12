// Package load is the load generator behind psbench: it drives a System
// (a transport under test: protosocket, grpc-go, a raw TCP echo) through
// one scenario, closed loop (N callers, each waiting for its reply) or open
// loop (a fixed offered rate whose latency is measured from the scheduled
// send time, so a stall cannot hide behind coordinated omission), and
// returns a Result: an HDR histogram of latencies, counts of operations and
// errors, allocation, GC and CPU deltas over the measured window, and the
// throughput of every second.
//
// In a unary open loop one pacer goroutine keeps time for the whole run:
// it wakes at most about every 50-100 µs (a nanosleep on Linux, which an
// idle process does not delay by a millisecond as time.Sleep can), and
// hands every send due by then to an idle caller, which blocks on that
// hand-off and never on a timer of its own. Streams are paced by their one
// sender goroutine each.
//
// Sweep raises the offered rate step by step and reports the highest rate
// whose p99.9 stays under a threshold.
//
// A new transport plugs in by implementing System (see system.go); nothing
// else in the harness needs to know about it.
package load
