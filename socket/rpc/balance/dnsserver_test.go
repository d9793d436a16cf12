package balance_test

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// dnsServer is a small authoritative DNS server on loopback (UDP and TCP)
// whose answers the test changes while it runs. It builds the few
// messages the tests need by hand (RFC 1035 §4): A, AAAA and SRV answers,
// NXDOMAIN, SERVFAIL, and a truncated UDP answer that sends the client to
// TCP when the answer is over 1232 bytes (the EDNS size Go's resolver
// announces).
type dnsServer struct {
	udp     net.PacketConn
	tcp     net.Listener
	wg      sync.WaitGroup
	queries atomic.Int64

	// The resolver's connections, closed with the server: a lookup in
	// flight when a test ends (Go's resolver goes on with it after its
	// caller's ctx ended, in its own goroutine) would otherwise wait for
	// its UDP answer until the resolver's own timeout (5 s), past the
	// package's goleak check.
	connMu sync.Mutex
	conns  []net.Conn
	down   bool

	mu    sync.Mutex
	addrs map[string][]netip.Addr // lower-case FQDN -> A and AAAA records
	srvs  map[string][]srvRecord
	rcode uint16         // non-zero: every answer has this RCODE (2 SERVFAIL, 3 NXDOMAIN)
	flip  [][]netip.Addr // if set, A answers for flipA cycle through these
	flipN int
	flipA string
}

type srvRecord struct {
	target string
	port   uint16
}

const (
	typeA    = 1
	typeAAAA = 28
	typeSRV  = 33
)

func startDNS(t *testing.T) *dnsServer {
	t.Helper()
	s := &dnsServer{addrs: map[string][]netip.Addr{}, srvs: map[string][]srvRecord{}}
	var err error
	s.udp, err = net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	s.tcp, err = net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s.wg.Go(s.serveUDP)
	s.wg.Go(s.serveTCP)
	t.Cleanup(func() {
		_ = s.udp.Close()
		_ = s.tcp.Close()
		s.wg.Wait()
		s.connMu.Lock()
		s.down = true
		for _, c := range s.conns {
			_ = c.Close()
		}
		s.conns = nil
		s.connMu.Unlock()
	})
	return s
}

// errDNSDown is what the resolver's Dial returns once the server stopped.
var errDNSDown = errors.New("test DNS server stopped")

// resolver returns a net.Resolver that sends every query to s.
func (s *dnsServer) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		var c net.Conn
		var err error
		if strings.HasPrefix(network, "tcp") {
			c, err = d.DialContext(ctx, "tcp", s.tcp.Addr().String())
		} else {
			c, err = d.DialContext(ctx, "udp", s.udp.LocalAddr().String())
		}
		if err != nil {
			return nil, err
		}
		s.connMu.Lock()
		defer s.connMu.Unlock()
		if s.down {
			_ = c.Close()
			return nil, errDNSDown
		}
		s.conns = append(s.conns, c)
		return c, nil
	}}
}

func (s *dnsServer) setAddrs(name string, ips ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var a []netip.Addr
	for _, ip := range ips {
		a = append(a, netip.MustParseAddr(ip))
	}
	s.addrs[strings.ToLower(name)] = a
}

func (s *dnsServer) setSRV(name string, recs ...srvRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.srvs[strings.ToLower(name)] = recs
}

func (s *dnsServer) setRcode(rc uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rcode = rc
}

func (s *dnsServer) serveUDP() {
	buf := make([]byte, 4096)
	for {
		n, from, err := s.udp.ReadFrom(buf)
		if err != nil {
			return
		}
		resp := s.answer(buf[:n])
		if resp == nil {
			continue
		}
		if len(resp) > 1232 {
			resp = truncated(buf[:n])
		}
		_, _ = s.udp.WriteTo(resp, from)
	}
}

func (s *dnsServer) serveTCP() {
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		conns.Go(func() {
			defer c.Close()
			for {
				var l [2]byte
				if _, err := io.ReadFull(c, l[:]); err != nil {
					return
				}
				q := make([]byte, binary.BigEndian.Uint16(l[:]))
				if _, err := io.ReadFull(c, q); err != nil {
					return
				}
				resp := s.answer(q)
				if resp == nil {
					return
				}
				out := binary.BigEndian.AppendUint16(nil, uint16(len(resp)))
				if _, err := c.Write(append(out, resp...)); err != nil {
					return
				}
			}
		})
	}
}

// parseQuestion returns the question's name (lower case, with the final
// dot), type, and the question section's end offset.
func parseQuestion(q []byte) (name string, qtype uint16, end int, ok bool) {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:]) != 1 {
		return "", 0, 0, false
	}
	var labels []string
	i := 12
	for {
		if i >= len(q) {
			return "", 0, 0, false
		}
		l := int(q[i])
		i++
		if l == 0 {
			break
		}
		if l > 63 || i+l > len(q) {
			return "", 0, 0, false
		}
		labels = append(labels, strings.ToLower(string(q[i:i+l])))
		i += l
	}
	if i+4 > len(q) {
		return "", 0, 0, false
	}
	return strings.Join(labels, ".") + ".", binary.BigEndian.Uint16(q[i:]), i + 4, true
}

func header(q []byte, rcode uint16, answers int) []byte {
	h := append([]byte(nil), q[:2]...) // id
	flags := uint16(0x8000|0x0400|0x0080) | binary.BigEndian.Uint16(q[2:])&0x0100 | rcode
	h = binary.BigEndian.AppendUint16(h, flags)
	h = binary.BigEndian.AppendUint16(h, 1)
	h = binary.BigEndian.AppendUint16(h, uint16(answers))
	h = binary.BigEndian.AppendUint16(h, 0)
	return binary.BigEndian.AppendUint16(h, 0)
}

func truncated(q []byte) []byte {
	_, _, end, _ := parseQuestion(q)
	h := header(q, 0, 0)
	h[2] |= 0x02 // TC
	return append(h, q[12:end]...)
}

func appendName(b []byte, name string) []byte {
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

func (s *dnsServer) answer(q []byte) []byte {
	name, qtype, end, ok := parseQuestion(q)
	if !ok {
		return nil
	}
	s.queries.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rcode != 0 {
		return append(header(q, s.rcode, 0), q[12:end]...)
	}
	var rrs [][]byte // type, rdata
	known := false
	switch qtype {
	case typeA, typeAAAA:
		addrs, ok := s.addrs[name]
		if name == s.flipA && len(s.flip) > 0 {
			addrs, ok = s.flip[s.flipN%len(s.flip)], true
			if qtype == typeA {
				s.flipN++
			}
		}
		known = ok
		for _, a := range addrs {
			if a.Is4() && qtype == typeA || a.Is6() && qtype == typeAAAA {
				rrs = append(rrs, a.AsSlice())
			}
		}
	case typeSRV:
		recs, ok := s.srvs[name]
		known = ok
		for _, r := range recs {
			rd := binary.BigEndian.AppendUint16(nil, 1) // priority
			rd = binary.BigEndian.AppendUint16(rd, 1)   // weight
			rd = binary.BigEndian.AppendUint16(rd, r.port)
			rrs = append(rrs, appendName(rd, r.target))
		}
	}
	if !known {
		_, a := s.addrs[name]
		_, v := s.srvs[name]
		if !a && !v && name != s.flipA {
			return append(header(q, 3, 0), q[12:end]...) // NXDOMAIN
		}
	}
	resp := append(header(q, 0, len(rrs)), q[12:end]...)
	for _, rd := range rrs {
		resp = append(resp, 0xC0, 12) // the question's name
		resp = binary.BigEndian.AppendUint16(resp, qtype)
		resp = binary.BigEndian.AppendUint16(resp, 1) // IN
		resp = binary.BigEndian.AppendUint32(resp, 1) // TTL
		resp = binary.BigEndian.AppendUint16(resp, uint16(len(rd)))
		resp = append(resp, rd...)
	}
	return resp
}
