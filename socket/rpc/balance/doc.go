// Package balance spreads RPC calls over connections: N connections per
// server address, kept up by a goroutine each (reconnect with jittered
// exponential backoff, keepalive pings), and a choice of connection per
// call by power of two random choices on outstanding calls (Pick), or by
// key affinity (PickKey). Connections whose server sent GoAway (draining)
// or that are down are skipped at once. Pool.Call retries a call refused
// as not processed (errors.Is rpc.ErrUnavailable) on another connection,
// up to Options.MaxAttempts tries while its ctx lasts, and never one that
// may have run (rpc.ErrClosed); with WaitForReady it waits, bounded by
// ctx, for a usable connection instead of failing with ErrNoConn, and
// tries a refused call again until ctx ends rather than MaxAttempts times. Errors
// follow the rpc package's table. The address list comes from a
// Resolver, so it can change at run time: Static, DNS (follows a DNS
// name's A/AAAA or SRV records) or HealthChecked (keeps another
// Resolver's addresses whose health service says Serving); see
// docs/observability.md.
package balance
