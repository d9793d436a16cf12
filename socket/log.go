package socket

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
)

// Connection events for Options.Logger, one function per event so their
// messages and attributes are spelled in one place. With no Logger none of
// this runs. Every event carries the peer's address ("remote") and ours
// ("local"); levels: Debug for a connection's normal life (accepted,
// established, closed by EOF or by us), Info for a close with any other
// cause (reset, timeout, protocol error, TLS failure), Warn for refusals
// and accept failures (those are logged in server.go's accept loop).

// logAccepted: a server accepted nc and starts serving it.
func logAccepted(l *slog.Logger, nc net.Conn) {
	l.LogAttrs(context.Background(), slog.LevelDebug, "socket: connection accepted", addrs(nc)...)
}

// logDialed: a client connection is established (after its TLS handshake).
func logDialed(l *slog.Logger, nc net.Conn) {
	l.LogAttrs(context.Background(), slog.LevelDebug, "socket: connection established", addrs(nc)...)
}

// logRefused: the server did not serve nc (MaxConns, or the reactor
// factory returned nil), with err saying why.
func logRefused(l *slog.Logger, nc net.Conn, err error) {
	l.LogAttrs(context.Background(), slog.LevelWarn, "socket: connection rejected", append(addrs(nc), slog.Any("err", err))...)
}

// logClosed: a connection ended with cause (nil or ErrClosed: closed by
// us; io.EOF: by the peer).
func logClosed(l *slog.Logger, nc net.Conn, server bool, cause error) {
	level := slog.LevelInfo
	if cause == nil || errors.Is(cause, io.EOF) || errors.Is(cause, ErrClosed) {
		level = slog.LevelDebug
	}
	side := "client"
	if server {
		side = "server"
	}
	l.LogAttrs(context.Background(), level, "socket: connection closed", append(addrs(nc), slog.String("side", side), slog.Any("cause", cause))...)
}

func addrs(nc net.Conn) []slog.Attr {
	return []slog.Attr{slog.Any("remote", nc.RemoteAddr()), slog.Any("local", nc.LocalAddr())}
}
