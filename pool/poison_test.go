package pool_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/protosocket-go/protosocket/pool"
)

func TestPoisoned(t *testing.T) {
	tests := []struct {
		in   []byte
		want bool
	}{
		{nil, false},
		{[]byte{}, false},
		{[]byte{pool.PoisonByte}, true},
		{bytes.Repeat([]byte{pool.PoisonByte}, 100), true},
		{append(bytes.Repeat([]byte{pool.PoisonByte}, 100), 0), false},
		{[]byte("hello"), false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, pool.Poisoned(tt.in), "%x", tt.in)
	}
}
