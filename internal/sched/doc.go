// Package sched holds the scheduler heuristics of package socket, one per
// file, each citing the benchmark that justifies it and each switchable so
// that its effect can be measured again without editing code:
//
//   - nudge.go: the do-nothing goroutine a reader starts before it waits
//     for readability (wakes an idle processor off the critical path);
//   - yields.go: how often the writer goroutine yields before it flushes a
//     batch that is still growing;
//   - move.go: how long a reader whose stack grew waits before it moves to
//     a fresh goroutine (so an idle connection keeps a minimal stack).
//
// Tests and benchmarks inside the module call the Set functions (each
// returns a function that restores the previous value). Any binary built
// from the module, benchmarks in bench/ included, reads the environment
// variable PROTOSOCKET_SCHED at start-up, a comma-separated list of
//
//	nudge=on|off   yields=N   move=off|DURATION
//
// for example PROTOSOCKET_SCHED=nudge=off,yields=0 go test -run TestReport
// ./socketbench/. An invalid setting is reported on stderr and ignored.
//
// It is internal: its only caller is socket.
package sched
