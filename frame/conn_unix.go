//go:build unix

package frame

import (
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/protosocket-go/protosocket/internal/netfd"
)

// rawConn returns the RawConn of a source or destination with a file
// descriptor (TCP, Unix and UDP connections, os.File), or nil.
func rawConn(x any) syscall.RawConn {
	sc, ok := x.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// peek is the RawConn.Read callback that waits for readability without a
// buffer: a 1-byte MSG_PEEK into a field of the Reader (not the stack,
// which would make it escape and allocate per call).
// On EAGAIN it returns false so the netpoller parks the goroutine; anything
// else (data, EOF, an error the next Read reports) ends the wait.
func (r *Reader) peek(fd uintptr) bool {
	for {
		switch errno := netfd.PeekByte(fd, &r.peekBuf[0]); errno {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		case 0:
			r.peekErr = nil
		default:
			r.peekErr = errno
		}
		return true
	}
}

// iovec is one gather entry of a writev.
type iovec = unix.Iovec

// iovMax is the kernel's IOV_MAX: the most iovecs one writev takes.
const iovMax = 1024

// supportsWritev reports whether this platform has the writev path.
const supportsWritev = true

func makeIovec(b []byte) iovec {
	v := iovec{Base: &b[0]}
	v.SetLen(len(b))
	return v
}

// writevCall is the RawConn.Write callback: it writes w.iov[w.iovPos:] in
// calls of at most iovMax entries, advancing past partial writes, and
// returns false on EAGAIN so the netpoller parks the goroutine (write
// deadlines apply there).
func (w *Writer) writevCall(fd uintptr) bool {
	for w.iovPos < len(w.iov) {
		end := min(w.iovPos+iovMax, len(w.iov))
		n, errno := writev(int(fd), w.iov[w.iovPos:end])
		w.counters.Syscalls.Add(1)
		switch errno {
		case 0:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			w.werr = errno
			return true
		}
		if n == 0 {
			w.werr = syscall.EIO // a writev of non-empty iovecs that wrote nothing
			return true
		}
		for n > 0 {
			v := &w.iov[w.iovPos]
			if n < int(v.Len) {
				advance(v, n)
				break
			}
			n -= int(v.Len)
			w.iovPos++
		}
	}
	return true
}
