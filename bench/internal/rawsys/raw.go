package rawsys

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"

	"github.com/protosocket-go/protosocket/bench/internal/load"
)

// Errors of the raw system; match them with errors.Is.
var (
	// ErrProtocol: the peer sent a frame that breaks the format.
	ErrProtocol = errors.New("rawsys: protocol error")
	// ErrClosed: the connection is closed.
	ErrClosed = errors.New("rawsys: connection closed")
)

const (
	modeEcho   = 'E'
	modeStream = 'S'
	hdrSize    = 4
	idSize     = 8
	bufSize    = 64 << 10
	// maxFrame bounds a frame body from the peer.
	maxFrame = load.MaxPayload + idSize
)

// System is the raw TCP echo. The zero value is ready to use.
type System struct{}

// New returns the raw System.
func New() load.System { return System{} }

// Name returns "raw".
func (System) Name() string { return "raw" }

// Serve listens on addr and echoes frames until Close or ctx ends.
func (System) Serve(ctx context.Context, addr string, _ load.Options) (load.Server, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("rawsys: %w", err)
	}
	s := &server{ln: ln, conns: map[net.Conn]struct{}{}}
	s.stop = context.AfterFunc(ctx, func() { _ = s.Close() })
	s.wg.Go(s.accept)
	return s, nil
}

type server struct {
	ln    net.Listener
	stop  func() bool
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  bool
}

func (s *server) Addr() string { return s.ln.Addr().String() }

func (s *server) Close() error {
	s.mu.Lock()
	if s.done {
		s.mu.Unlock()
		s.wg.Wait()
		return nil
	}
	s.done = true
	err := s.ln.Close()
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.stop()
	s.wg.Wait()
	return err
}

func (s *server) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // listener closed
		}
		s.mu.Lock()
		if s.done {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Go(func() {
			serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			_ = c.Close()
		})
		s.mu.Unlock()
	}
}

// serveConn runs one server connection until the peer leaves or breaks
// the protocol.
func serveConn(c net.Conn) {
	br := bufio.NewReaderSize(c, bufSize)
	bw := bufio.NewWriterSize(c, bufSize)
	mode, err := br.ReadByte()
	if err != nil {
		return
	}
	switch mode {
	case modeEcho:
		_ = echo(br, bw)
	case modeStream:
		var hdr [hdrSize]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[:])
		if n < load.StampSize || n > load.MaxPayload {
			return
		}
		p := make([]byte, hdrSize+int(n))
		binary.BigEndian.PutUint32(p, n)
		for {
			load.StampWall(p[hdrSize:])
			if _, err := bw.Write(p); err != nil {
				return
			}
		}
	}
}

// echo copies every frame back, flushing only when no more input is
// buffered: writes coalesce as far as the input allows.
func echo(br *bufio.Reader, bw *bufio.Writer) error {
	var hdr [hdrSize]byte
	for {
		if br.Buffered() == 0 {
			if err := bw.Flush(); err != nil {
				return err
			}
		}
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return err
		}
		n := int(binary.BigEndian.Uint32(hdr[:]))
		if n > maxFrame {
			return fmt.Errorf("%w: frame of %d bytes", ErrProtocol, n)
		}
		if _, err := bw.Write(hdr[:]); err != nil {
			return err
		}
		if n <= br.Size() {
			p, err := br.Peek(n)
			if err != nil {
				return err
			}
			if _, err := bw.Write(p); err != nil {
				return err
			}
			_, _ = br.Discard(n)
			continue
		}
		// Larger than the read buffer: stream it through without
		// holding the whole frame.
		if _, err := io.CopyN(bw, br, int64(n)); err != nil {
			return err
		}
	}
}

// readFrame reads one frame body into buf (grown as needed) and returns
// it; hdr is scratch space for the length (kept by the caller so that it
// does not escape to the heap on every frame).
func readFrame(br *bufio.Reader, hdr *[hdrSize]byte, buf []byte, limit int) ([]byte, error) {
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return buf, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:]))
	if n > limit {
		return buf, fmt.Errorf("%w: frame of %d bytes, limit %d", ErrProtocol, n, limit)
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	_, err := io.ReadFull(br, buf)
	return buf, err
}
