package socket_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/frame"
	"github.com/protosocket-go/protosocket/socket"
)

// tlsConfigs returns a server config with a fresh self-signed certificate
// for 127.0.0.1 and a client config that trusts it.
func tlsConfigs(t *testing.T) (server, client *tls.Config) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "protosocket test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	client = &tls.Config{RootCAs: roots}
	return server, client
}

func TestTLSEcho(t *testing.T) {
	scfg, ccfg := tlsConfigs(t)
	addr := startServer(t, "tcp", echo, socket.Options{TLS: scfg})
	col := newCollector(256)
	c, err := socket.Dial(context.Background(), "tcp", addr.String(), col, socket.Options{TLS: ccfg})
	require.NoError(t, err)
	_, ok := c.NetConn().(*tls.Conn)
	require.True(t, ok)
	s := c.NewSender(nil)
	for i := range 256 {
		require.NoError(t, s.Send(context.Background(), frame.Header{Stream: uint32(i)}, fmt.Appendf(nil, "tls %d", i)))
	}
	for i := range 256 {
		assert.Equal(t, fmt.Sprintf("tls %d", i), string(col.next(t)))
	}
	s.Close()
	require.NoError(t, c.Drain(context.Background()))
	st := c.Stats() // after Drain: the writer's counters are final
	assert.EqualValues(t, 256, st.FramesOut)
	assert.LessOrEqual(t, st.WriteSyscalls, st.FramesOut, "coalesced writes")

	// A client that does not trust the certificate fails in Dial.
	_, err = socket.Dial(context.Background(), "tcp", addr.String(), col, socket.Options{TLS: &tls.Config{}})
	var uae x509.UnknownAuthorityError
	assert.ErrorAs(t, err, &uae)
}

func TestTLSHandshakeTimeout(t *testing.T) {
	scfg, _ := tlsConfigs(t)
	closed := make(chan error, 1)
	addr := startServer(t, "tcp", func(*socket.Conn) socket.Reactor {
		return closeRecorder{nopReactor, closed}
	}, socket.Options{TLS: scfg, HandshakeTimeout: 100 * time.Millisecond})
	nc, err := net.Dial("tcp", addr.String()) // and never say hello
	require.NoError(t, err)
	defer nc.Close()
	select {
	case err := <-closed:
		assert.ErrorIs(t, err, socket.ErrHandshakeTimeout)
	case <-time.After(10 * time.Second):
		t.Fatal("handshake did not time out")
	}
}

func TestTLSMaxHandshakes(t *testing.T) {
	scfg, ccfg := tlsConfigs(t)
	for _, tc := range []struct {
		max    int
		dialOK bool
	}{{1, false}, {0, true}} {
		started := make(chan *socket.Conn, 2)
		addr := startServer(t, "tcp", func(c *socket.Conn) socket.Reactor {
			started <- c
			return echo(c)
		}, socket.Options{TLS: scfg, MaxHandshakes: tc.max, HandshakeTimeout: 5 * time.Second})
		stuck, err := net.Dial("tcp", addr.String())
		require.NoError(t, err)
		_, err = stuck.Write([]byte{0x16}) // the start of a ClientHello, never finished: holds a handshake slot
		require.NoError(t, err)
		sc := <-started
		// Its reader takes the slot once the byte arrived: seen taken, not
		// assumed after a pause (a reader slower than the next client's
		// would leave that one the only slot).
		require.Eventually(t, func() bool { return socket.HandshakeSlotsTaken(sc) == 1 }, 10*time.Second, time.Millisecond,
			"the stuck connection holds a handshake slot")
		// With the only slot held (until HandshakeTimeout, 5 s) the dial
		// cannot finish its handshake within 300 ms; with slots free it
		// must, within a bound that no loaded machine reaches.
		timeout := 10 * time.Second
		if !tc.dialOK {
			timeout = 300 * time.Millisecond
		}
		c, err := socket.Dial(context.Background(), "tcp", addr.String(), nopReactor, socket.Options{TLS: ccfg, ConnectTimeout: timeout})
		if tc.dialOK {
			require.NoError(t, err)
			require.NoError(t, c.Close())
		} else {
			assert.ErrorIs(t, err, socket.ErrHandshakeTimeout, "the only slot is taken")
		}
		require.NoError(t, stuck.Close())
	}
}

type closeRecorder struct {
	socket.Reactor
	ch chan error
}

func (r closeRecorder) OnClose(_ *socket.Conn, err error) { r.ch <- err }
