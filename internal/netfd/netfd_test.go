//go:build unix

package netfd_test

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/internal/netfd"
)

func tcpPair(t *testing.T) (a, b net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	a, err = net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	b, err = ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	return a, b
}

// control runs f on the raw descriptor of c.
func control(t *testing.T, c net.Conn, f func(fd uintptr)) {
	rc := netfd.RawConn(c)
	require.NotNil(t, rc)
	require.NoError(t, rc.Control(f))
}

// Read and Peek tell the four states apart: nothing yet (ErrAgain), data
// (Peek leaves it in place), EOF, and a failed descriptor.
func TestReadPeekStates(t *testing.T) {
	a, b := tcpPair(t)
	var pb [1]byte
	buf := make([]byte, 8)
	control(t, b, func(fd uintptr) {
		assert.ErrorIs(t, netfd.Peek(fd, &pb[0]), netfd.ErrAgain)
		n, err := netfd.Read(fd, buf)
		assert.Equal(t, 0, n)
		assert.ErrorIs(t, err, netfd.ErrAgain)
	})
	_, err := a.Write([]byte("hi"))
	require.NoError(t, err)
	require.NoError(t, b.(*net.TCPConn).SetReadDeadline(time.Now().Add(5*time.Second)))
	// wait until the bytes arrived (a blocking peek through the poller)
	rc := netfd.RawConn(b)
	require.NoError(t, rc.Read(func(fd uintptr) bool { return netfd.Peek(fd, &pb[0]) != netfd.ErrAgain }))
	control(t, b, func(fd uintptr) {
		require.NoError(t, netfd.Peek(fd, &pb[0]))
		assert.Equal(t, byte('h'), pb[0])
		n, err := netfd.Read(fd, buf)
		require.NoError(t, err)
		assert.Equal(t, "hi", string(buf[:n]))
	})
	require.NoError(t, a.Close())
	require.NoError(t, rc.Read(func(fd uintptr) bool { return netfd.Peek(fd, &pb[0]) != netfd.ErrAgain }))
	control(t, b, func(fd uintptr) {
		assert.NoError(t, netfd.Peek(fd, &pb[0]), "EOF is for the next Read to find")
		_, err := netfd.Read(fd, buf)
		assert.ErrorIs(t, err, io.EOF)
	})
	var se *os.SyscallError
	_, err = netfd.Read(^uintptr(0)>>1, buf)
	require.ErrorAs(t, err, &se)
	assert.ErrorIs(t, err, syscall.EBADF)
	err = netfd.Peek(^uintptr(0)>>1, &pb[0])
	require.ErrorAs(t, err, &se)
	assert.False(t, errors.Is(err, netfd.ErrAgain))
}

// Listen applies a new backlog and SetReusePort lets a second socket bind
// the same port.
func TestListenOptions(t *testing.T) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) { serr = netfd.SetReusePort(fd) }); err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	ln2, err := lc.Listen(t.Context(), "tcp", ln.Addr().String())
	require.NoError(t, err, "SO_REUSEPORT lets a second socket bind the port")
	defer ln2.Close()
	rc := netfd.RawConn(ln)
	require.NotNil(t, rc)
	var lerr error
	require.NoError(t, rc.Control(func(fd uintptr) { lerr = netfd.Listen(fd, 16) }))
	assert.NoError(t, lerr)
	assert.Nil(t, netfd.RawConn(struct{}{}), "no descriptor, no RawConn")
}
