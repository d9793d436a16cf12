package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/protosocket-go/protosocket/bench/internal/load"
)

// Describer is implemented by a system that explains itself in one line
// of the legend under the table; the three built-in systems are described
// in knownSystems instead.
type Describer interface {
	Description() string
}

// knownSystems says in one line what each built-in system is.
var knownSystems = map[string]string{
	"protosocket": "this project: socket/rpc calls (bench/rpcbench) over TCP, server in its zero-allocation mode (ReuseContexts)",
	"raw":         "a minimal Go TCP echo (length-prefixed frames through bufio, no RPC layer): what plain Go does here",
	"grpc":        "grpc-go over HTTP/2 at its best measured configuration (a pass-through CodecV2, a context per caller, no deadline; bench/README)",
}

func describe(s load.System) string {
	if d, ok := s.(Describer); ok {
		return d.Description()
	}
	if d, ok := knownSystems[s.Name()]; ok {
		return d
	}
	return "(no description)"
}

// scenarioWords says what one operation of each scenario is.
var scenarioWords = map[load.Scenario]string{
	load.Unary:        "one call: a request of payload bytes, answered by an echo of the same size",
	load.Pipelined:    "one message echoed on a stream, many in flight",
	load.ServerStream: "one message the server pushes (latency is one-way)",
	load.Bidi:         "one message echoed on a bidirectional streaming RPC, many in flight",
}

// writeLegend explains the table just printed: the systems, the
// scenario, the loop, and the terms of its columns.
func writeLegend(w io.Writer, f *flags, cfg load.Config) {
	fmt.Fprintln(w, "\nlegend")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, name := range f.systems {
		fmt.Fprintf(tw, "  %s\t%s\n", name, describe(lookup(name)))
	}
	fmt.Fprintf(tw, "  op (%s)\t%s\n", cfg.Scenario, scenarioWords[cfg.Scenario])
	switch {
	case f.sweep:
		fmt.Fprintf(tw, "  open loop\toffered/s: calls sent on a fixed schedule, latency counted from the scheduled time; the sweep raises it while p99.9 < %v\n", f.p999)
	case cfg.Rate > 0:
		fmt.Fprintln(tw, "  open loop\toffered/s: calls sent on a fixed schedule; latency counts from the scheduled time, so stalls show")
	default:
		fmt.Fprintln(tw, "  closed loop\teach caller sends its next op as soon as its last one returns: throughput/s is what the system sustains")
	}
	who := "client and server together (one process)"
	if f.client != "" {
		who = "this client process only"
	}
	fmt.Fprintf(tw, "  per op\tp50..p99.99 latency percentiles; allocs/op, B/op, GCs, cpu-µs/op count %s\n", who)
	if f.payloads == nil && len(f.systems) > 1 {
		fmt.Fprintf(tw, "  ratio a/b\ta's figure over b's (throughput: above 1x a is faster; latency, allocs, cpu: below 1x a is cheaper); \"x vs y\" where either is 0\n")
	}
	if f.payloads != nil {
		fmt.Fprintf(tw, "  conc\tcallers, cut to %d MiB in flight per system (payload x conc)\n", payloadBudget>>20)
	}
	fmt.Fprintf(tw, "  noisy\tthe per-second rate moved more than 30%%: the machine or the system changed under the run (the NOISY line says what moved with it)\n")
	_ = tw.Flush()
	where := "client and server in this process, on loopback"
	if f.client != "" {
		where = "against the -server process at " + f.client
	}
	fmt.Fprintf(w, "Systems took turns (%s), each after an unmeasured warm-up of %v.\n", where, f.warmup)
}
