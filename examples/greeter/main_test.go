package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

func TestDemo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	require.NoError(t, demo(ctx, "gopher", 2, &out))
	assert.Equal(t, "Hello gopher\nHello gopher (1)\nHello gopher (2)\n", out.String())
}

// TestCountOverLimit: a stream request over MaxCount is refused.
func TestCountOverLimit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := demo(ctx, "gopher", MaxCount+1, &out)
	require.ErrorIs(t, err, rpc.ErrInvalidArgument)
	assert.Equal(t, "Hello gopher\n", out.String())
}
