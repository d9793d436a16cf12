package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/protosocket-go/protosocket/bench/internal/load"
)

// The split-process handshake. `psbench -server ADDR` listens on ADDR for
// this handshake only and serves each system on a port of its own that the
// kernel picks; `psbench -client ADDR` connects to ADDR and reads which
// system is on which port, so the two halves cannot disagree about ports
// whatever systems either selects. The server writes, and closes:
//
//	psbench-split 1
//	options payload=16
//	system raw 127.0.0.1:40123
//	system grpc 127.0.0.1:40125
//	end
//
// The client reads at most maxHandshake bytes within handshakeTimeout; a
// peer that is not a psbench server (wrong first line, a line it cannot
// parse, no "end") is an ErrHandshake naming what it got.

// ErrHandshake is wrapped by every error of the client side of the
// handshake; match it with errors.Is.
var ErrHandshake = errors.New("psbench: split handshake")

const (
	handshakeMagic   = "psbench-split 1"
	maxHandshake     = 16 << 10
	maxHandshakeSys  = 64
	handshakeTimeout = 3 * time.Second
)

// served is what the server says it serves.
type served struct {
	payload int
	addrs   map[string]string // system name -> address
	order   []string
}

// writeHandshake writes the server's side.
func writeHandshake(w io.Writer, payload int, names, addrs []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\noptions payload=%d\n", handshakeMagic, payload)
	for i, n := range names {
		fmt.Fprintf(&b, "system %s %s\n", n, addrs[i])
	}
	b.WriteString("end\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// readHandshake parses the server's side from r (bounded by the caller).
func readHandshake(r io.Reader) (*served, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrHandshake, fmt.Sprintf(format, a...))
	}
	sc := bufio.NewScanner(io.LimitReader(r, maxHandshake))
	sc.Buffer(make([]byte, 0, 1024), maxHandshake)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, bad("reading the first line: %v", err)
		}
		return nil, bad("the peer closed without a word: not a psbench -server?")
	}
	if got := sc.Text(); got != handshakeMagic {
		return nil, bad("first line %.40q, want %q: not a psbench -server (or another version)", got, handshakeMagic)
	}
	s := &served{addrs: map[string]string{}, payload: -1}
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 1 && f[0] == "end":
			if s.payload < 0 {
				return nil, bad("no options line")
			}
			return s, nil
		case len(f) == 2 && f[0] == "options" && strings.HasPrefix(f[1], "payload="):
			n, err := strconv.Atoi(strings.TrimPrefix(f[1], "payload="))
			if err != nil || n < 0 || n > load.MaxPayload {
				return nil, bad("bad options line %.60q", sc.Text())
			}
			s.payload = n
		case len(f) == 3 && f[0] == "system":
			if _, port, err := net.SplitHostPort(f[2]); err != nil || !validPort(port) {
				return nil, bad("system %.20q: bad address %.60q", f[1], f[2])
			}
			if _, dup := s.addrs[f[1]]; dup {
				return nil, bad("system %.20q listed twice", f[1])
			}
			if len(s.order) == maxHandshakeSys {
				return nil, bad("more than %d systems", maxHandshakeSys)
			}
			s.addrs[f[1]] = f[2]
			s.order = append(s.order, f[1])
		default:
			return nil, bad("unexpected line %.60q", sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		return nil, bad("%v", err)
	}
	return nil, bad("ended before its \"end\" line (cut off, or over %d bytes)", maxHandshake)
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n <= 65535
}

// askServer connects to the -server's handshake address and returns what
// it serves.
func askServer(ctx context.Context, addr string) (*served, error) {
	ctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot reach server at %s: %w", addr, err)
	}
	defer c.Close()
	dl, _ := ctx.Deadline()
	_ = c.SetDeadline(dl)
	s, err := readHandshake(c)
	if err != nil {
		return nil, fmt.Errorf("server at %s: %w", addr, err)
	}
	return s, nil
}

// systemAddr is the address the client dials for a system the server
// listed: the listed port on the host the client reached the handshake at.
// The listed host is not used, so a server can only point the client at
// ports of the host the user named.
func (s *served) systemAddr(ctrl, name string) (string, bool) {
	a, ok := s.addrs[name]
	if !ok {
		return "", false
	}
	_, port, _ := net.SplitHostPort(a) // checked by readHandshake
	host, _, _ := net.SplitHostPort(ctrl)
	return net.JoinHostPort(host, port), true
}

// handshakeServer answers every connection to its listener with the
// handshake, until Close.
type handshakeServer struct {
	ln   net.Listener
	text []byte
	wg   sync.WaitGroup
}

func startHandshakeServer(ctx context.Context, addr string, payload int, names, addrs []string) (*handshakeServer, error) {
	var b strings.Builder
	if err := writeHandshake(&b, payload, names, addrs); err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	h := &handshakeServer{ln: ln, text: []byte(b.String())}
	h.wg.Go(h.accept)
	return h, nil
}

func (h *handshakeServer) accept() {
	for {
		c, err := h.ln.Accept()
		if err != nil {
			return
		}
		h.wg.Go(func() {
			defer c.Close()
			_ = c.SetWriteDeadline(time.Now().Add(handshakeTimeout))
			_, _ = c.Write(h.text)
		})
	}
}

func (h *handshakeServer) Addr() string { return h.ln.Addr().String() }

func (h *handshakeServer) Close() error {
	err := h.ln.Close()
	h.wg.Wait()
	return err
}
