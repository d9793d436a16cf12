package rpc_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/socket/rpc"
)

// testTLS returns a server config with a fresh self-signed certificate
// for 127.0.0.1 and a client config that trusts it.
func testTLS(t *testing.T) (server, client *tls.Config) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rpc test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: roots}
}

// A handler sees the peer's and the local address, the TLS state and the
// per-connection state OnConnect set; a ctx kept past its handler still
// gives them.
func TestConnInfo(t *testing.T) {
	for _, withTLS := range []bool{false, true} {
		t.Run(map[bool]string{false: "tcp", true: "tls"}[withTLS], func(t *testing.T) {
			type connState struct{ user string }
			var kept context.Context
			var keptMu sync.Mutex
			scfg, ccfg := testTLS(t)
			opts := rpc.ServerOptions{}
			if withTLS {
				opts.Socket.TLS = scfg
			}
			opts.OnConnect = func(info *rpc.ConnInfo) error {
				if withTLS && info.TLS == nil {
					return errors.New("no TLS state at OnConnect")
				}
				info.State = &connState{user: "u-" + info.RemoteAddr.String()}
				return nil
			}
			srv, err := rpc.NewServer(opts)
			require.NoError(t, err)
			srv.Handle(1, func(ctx context.Context, _, dst []byte) ([]byte, error) {
				ci, ok := rpc.CallInfoFrom(ctx)
				if !ok || ci.Conn == nil {
					return dst, rpc.NewError(rpc.CodeInternal, "no conn info")
				}
				keptMu.Lock()
				kept = ctx
				keptMu.Unlock()
				dst = append(dst, ci.Conn.RemoteAddr.String()...)
				dst = append(dst, '|')
				dst = append(dst, ci.Conn.LocalAddr.String()...)
				dst = append(dst, '|')
				dst = append(dst, ci.Conn.State.(*connState).user...)
				if ci.Conn.TLS != nil && ci.Conn.TLS.HandshakeComplete {
					dst = append(dst, "|tls"...)
				}
				return dst, nil
			}, rpc.Pooled)
			var copts rpc.ClientOptions
			if withTLS {
				copts.Socket.TLS = ccfg
			}
			addr := serve(t, srv)
			c := dial(t, addr, copts)
			got, err := c.Call(testCtx(t), 1, nil, nil)
			require.NoError(t, err)
			local, remote := c.Conn().LocalAddr().String(), c.Conn().RemoteAddr().String()
			want := local + "|" + remote + "|u-" + local
			if withTLS {
				want += "|tls"
			}
			assert.Equal(t, want, string(got))
			keptMu.Lock()
			ci, ok := rpc.CallInfoFrom(kept)
			keptMu.Unlock()
			require.True(t, ok)
			assert.Equal(t, local, ci.Conn.RemoteAddr.String(), "a kept ctx still describes its connection")
		})
	}
}

// OnConnect may reject a connection with a typed error: the first call
// gets it, the connection closes, OnDisconnect is not owed.
func TestOnConnectRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		hook func(*rpc.ConnInfo) error
		want error
	}{
		{"typed", func(*rpc.ConnInfo) error { return rpc.NewError(rpc.CodeUnauthenticated, "who are you") }, rpc.ErrUnauthenticated},
		{"untyped", func(*rpc.ConnInfo) error { return errors.New("nope") }, rpc.ErrUnknown},
		{"panic", func(*rpc.ConnInfo) error { panic("hook bug") }, rpc.ErrInternal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ran := false
			srv, err := rpc.NewServer(rpc.ServerOptions{OnConnect: tc.hook,
				OnDisconnect: func(*rpc.ConnInfo, error) { ran = true }})
			require.NoError(t, err)
			called := make(chan struct{}, 1)
			srv.Handle(1, func(_ context.Context, _, dst []byte) ([]byte, error) { called <- struct{}{}; return dst, nil }, rpc.Inline)
			c := dial(t, serve(t, srv), rpc.ClientOptions{})
			_, err = c.Call(testCtx(t), 1, nil, nil)
			require.ErrorIs(t, err, tc.want)
			wait(t, c.Closed())
			assert.Empty(t, called, "a rejected connection's call never runs")
			assert.Equal(t, uint64(1), srv.Stats().Rejected)
			require.NoError(t, srv.Close())
			assert.False(t, ran, "no OnDisconnect for a rejected connection")
		})
	}
}

// OnDisconnect runs once, after the connection closed and its last
// handler returned.
func TestOnDisconnectAfterHandlers(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var returned bool
	var mu sync.Mutex
	bye := make(chan error, 2)
	srv, err := rpc.NewServer(rpc.ServerOptions{
		OnDisconnect: func(info *rpc.ConnInfo, err error) {
			mu.Lock()
			r := returned
			mu.Unlock()
			if !r {
				err = errors.New("OnDisconnect before the handler returned")
			}
			bye <- err
		},
	})
	require.NoError(t, err)
	srv.Handle(1, func(ctx context.Context, _, dst []byte) ([]byte, error) {
		close(entered)
		<-ctx.Done()
		<-release
		mu.Lock()
		returned = true
		mu.Unlock()
		return dst, nil
	}, rpc.Pooled)
	c := dial(t, serve(t, srv), rpc.ClientOptions{})
	go func() { _, _ = c.Call(context.Background(), 1, nil, nil) }()
	wait(t, entered)
	require.NoError(t, c.Close())
	select {
	case err := <-bye:
		t.Fatalf("OnDisconnect ran while a handler was running: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	select {
	case err := <-bye:
		assert.ErrorIs(t, err, io.EOF, "the client closed it")
	case <-time.After(10 * time.Second):
		t.Fatal("no OnDisconnect")
	}
	require.NoError(t, srv.Close())
	assert.Empty(t, bye, "once")
}
