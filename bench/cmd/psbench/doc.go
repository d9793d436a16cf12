// Command psbench puts transports side by side on one scenario: it starts
// each system's server and client on loopback (or only one half with
// -server / -client), drives them with a closed or open loop, prints a
// progress line every second and ends with a table (or JSON, or SVG
// charts).
//
// With no flags it runs the default scenario (unary, 16-byte payload, one
// connection, 64 callers) for about 10 s over every registered system,
// alternating between them in rounds so that drift on a shared machine
// hits them alike.
//
//	go run ./cmd/psbench                           # default scenario, all systems
//	go run ./cmd/psbench -vs grpc -json            # first system next to grpc-go, JSON lines
//	go run ./cmd/psbench -scenario pipelined -concurrency 256 -vs raw
//	go run ./cmd/psbench -rate 20000 -duration 5s  # open loop at 20k/s
//	go run ./cmd/psbench -sweep -svg /tmp/ps.svg   # highest rate with p99.9 < 5ms, charts
//	go run ./cmd/psbench -systems raw -server 127.0.0.1:9000 &
//	go run ./cmd/psbench -systems raw -client 127.0.0.1:9000
//
// Flags:
//
//	-systems LIST   comma-separated systems (default: every registered one)
//	-scenario S     unary | pipelined | stream | bidi (default unary)
//	-payload N      payload bytes (default 16)
//	-conns N        client connections (default 1)
//	-concurrency N  callers (unary) or messages in flight per stream (default 64)
//	-duration D     measured time per system; default 10s shared among the
//	                systems, or 1s per step with -sweep
//	-rate N         open loop at N ops/s over all callers; 0 = closed loop.
//	                Latency is measured from the scheduled send time.
//	-vs SYSTEM      compare the first system with SYSTEM (grpc or raw):
//	                both rows and their ratio
//	-sweep          raise the offered rate step by step; report the highest
//	                rate whose p99.9 stays under -p999
//	-p999 D         sweep threshold (default 5ms)
//	-json           JSON Lines on stdout (one object per system and
//	                scenario); the table goes to stderr
//	-svg FILE       charts (latency percentiles against offered rate,
//	                throughput over time, one column per system) as SVG in
//	                FILE, and a PNG copy next to it
//	-server ADDR    only serve (system i listens on ADDR's port + i) until
//	                interrupted
//	-client ADDR    only drive a server started with -server ADDR
//
// Per-op allocation, GC and CPU figures are process-wide: in one process
// they cover client and server together. A run whose server cannot be
// reached prints one line and exits with status 1; so does a run in which
// operations failed (the errors are in the table).
package main
