// Command psbench puts transports side by side on one scenario: it starts
// each system's server and client on loopback (or only one half with
// -server / -client), drives them with a closed or open loop, prints a
// progress line every second and ends with a table (or JSON, or SVG
// charts).
//
// With no flags it runs the default scenario (unary, 16-byte payload, one
// connection, 64 callers) over every registered system: each warms up for
// 0.5 s (not measured, printed) and is then measured for 9 s shared among
// the systems (3 s each), with a progress line per measured second; about
// 11 s in all once built. Longer runs (-duration 4s or more per system)
// alternate the systems in rounds so that drift on a shared machine hits
// them alike. Under the table a legend says what each system and column
// is; a system whose per-second rate moved more than 30% is flagged NOISY.
//
//	go run ./cmd/psbench                           # default scenario, all systems
//	go run ./cmd/psbench -vs grpc -json            # first system next to grpc-go, JSON lines
//	go run ./cmd/psbench -scenario pipelined -concurrency 256 -vs raw
//	go run ./cmd/psbench -rate 20000 -duration 5s  # open loop at 20k/s
//	go run ./cmd/psbench -sweep -svg /tmp/ps.svg   # highest rate with p99.9 < 5ms, charts
//	go run ./cmd/psbench -payloads sweep           # 16 B, 1 KiB, 64 KiB, 1 MiB, 4 MiB: calls/s, allocs, B/op
//	go run ./cmd/psbench -server 127.0.0.1:9000 &  # split: serve every system
//	go run ./cmd/psbench -client 127.0.0.1:9000 -systems protosocket,grpc
//
// Flags:
//
//	-systems LIST   comma-separated systems (default: every registered one)
//	-scenario S     unary | pipelined | stream | bidi (default unary)
//	-payload N      payload bytes (default 16)
//	-conns N        client connections (default 1)
//	-concurrency N  callers (unary) or messages in flight per stream (default 64)
//	-duration D     measured time per system; default 9s shared among the
//	                systems, 1s per step with -sweep, 2s per system and
//	                payload with -payloads
//	-warmup D       unmeasured warm-up of each system (default 500ms)
//	-payloads LIST  run every system at each payload size (16,1K,64K,1M,4M;
//	                "sweep" for exactly those), callers cut to 16 MiB in
//	                flight, systems alternating in rounds of about 1 s
//	                within each payload; one table row per payload and
//	                system
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
//	-server ADDR    only serve until interrupted: each system listens on a
//	                port the kernel picks, and ADDR answers a handshake
//	                that lists them
//	-client ADDR    only drive the server whose handshake is at ADDR: the
//	                client asks it which system is on which port, so the
//	                halves cannot mismatch ports whatever -systems each has
//
// Per-op allocation, GC and CPU figures are process-wide: in one process
// they cover client and server together; with -client, the client only. A run whose server cannot be
// reached prints one line and exits with status 1; so does a run in which
// operations failed (the errors are in the table).
package main
