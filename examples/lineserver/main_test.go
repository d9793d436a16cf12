package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/internal/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	got, err := runDemo(ctx, &out, 4096)
	require.NoError(t, err)
	assert.Equal(t, []string{"echo: hello", "PROTOSOCKET", "3", "bye"}, got)
	assert.Equal(t, "> hello\n< echo: hello\n> upper protosocket\n< PROTOSOCKET\n> count\n< 3\n> quit\n< bye\nserver closed the connection\n", out.String())
}

// startServer serves on a free port until the test ends.
func startServer(t *testing.T, maxLine int) string {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- serve(ctx, io.Discard, "127.0.0.1:0", maxLine, ready) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-served) })
	return <-ready
}

// What nc does: plain text over TCP, "\r\n" or "\n" line ends.
func TestPlainTCPClient(t *testing.T) {
	addr := startServer(t, 64)
	tests := []struct {
		name   string
		send   string
		want   []string
		closed bool
	}{
		{"commands", "hi there\nupper abc xyz\r\ncount\n", []string{"echo: hi there", "ABC XYZ", "3"}, false},
		{"empty line", "\n", []string{"echo: "}, false},
		{"quit", "one\nquit\n", []string{"echo: one", "bye"}, true},
		{"line too long", strings.Repeat("x", 65) + "\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", addr)
			require.NoError(t, err)
			defer nc.Close()
			require.NoError(t, nc.SetDeadline(time.Now().Add(5*time.Second)))
			_, err = nc.Write([]byte(tt.send))
			require.NoError(t, err)
			br := bufio.NewReader(nc)
			for _, want := range tt.want {
				line, err := br.ReadString('\n')
				require.NoError(t, err)
				assert.Equal(t, want+"\n", line)
			}
			if tt.closed {
				_, err := br.ReadByte()
				assert.ErrorIs(t, err, io.EOF, "server closes the connection")
			}
		})
	}
}

func TestHostPort(t *testing.T) {
	assert.Equal(t, "127.0.0.1 7878", hostPort("127.0.0.1:7878"))
	assert.Equal(t, "::1 80", hostPort("::1:80"))
	assert.Equal(t, "x", hostPort("x"))
}
