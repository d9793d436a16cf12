package cacheserver

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/examples/cache/cachepb"
	"github.com/protosocket-go/protosocket/flyweight"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func set(t *testing.T, s *Store, key, value string, ttlMs uint32) (bool, error) {
	t.Helper()
	var b flyweight.Builder
	rec, err := cachepb.BuildSetRequest(&b).SetKey(key).SetValue([]byte(value)).SetTtlMs(ttlMs).Finish()
	require.NoError(t, err)
	req, err := cachepb.WrapSetRequest(rec)
	require.NoError(t, err)
	var rb flyweight.Builder
	rp := cachepb.BuildSetResponse(&rb)
	err = s.Set(context.Background(), req, rp)
	if err != nil {
		return false, err
	}
	out, err := rp.Finish()
	require.NoError(t, err)
	resp, err := cachepb.WrapSetResponse(out)
	require.NoError(t, err)
	return resp.Replaced(), nil
}

func get(t *testing.T, s *Store, key string) cachepb.GetResponse {
	t.Helper()
	var b flyweight.Builder
	rec, _ := cachepb.BuildGetRequest(&b).SetKey(key).Finish()
	req, err := cachepb.WrapGetRequest(rec)
	require.NoError(t, err)
	var rb flyweight.Builder
	rp := cachepb.BuildGetResponse(&rb)
	require.NoError(t, s.Get(context.Background(), req, rp))
	out, err := rp.Finish()
	require.NoError(t, err)
	resp, err := cachepb.WrapGetResponse(out)
	require.NoError(t, err)
	return resp
}

func TestTTL(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	s := New(Options{Now: c.now})
	replaced, err := set(t, s, "k", "v", 1500)
	require.NoError(t, err)
	assert.False(t, replaced)
	r := get(t, s, "k")
	assert.True(t, r.Found())
	assert.EqualValues(t, 1500, r.TtlMs())
	c.t = c.t.Add(1499 * time.Millisecond)
	assert.True(t, get(t, s, "k").Found())
	c.t = c.t.Add(time.Millisecond)
	assert.False(t, get(t, s, "k").Found(), "expired at its deadline")
	replaced, err = set(t, s, "k", "w", 0)
	require.NoError(t, err)
	assert.False(t, replaced, "an expired key is not replaced")
	assert.EqualValues(t, 0, get(t, s, "k").TtlMs())

	_, err = set(t, s, "gone", "x", 10)
	require.NoError(t, err)
	c.t = c.t.Add(time.Second)
	assert.Equal(t, 1, s.Expire())
	assert.False(t, get(t, s, "gone").Found())
}

func TestLimits(t *testing.T) {
	s := New(Options{MaxKey: 4, MaxValue: 8, MaxEntries: 2})
	for _, tc := range []struct {
		key, value string
		code       rpc.Code
	}{
		{"", "v", rpc.CodeInvalidArgument},
		{"12345", "v", rpc.CodeInvalidArgument},
		{"k", strings.Repeat("v", 9), rpc.CodeInvalidArgument},
	} {
		_, err := set(t, s, tc.key, tc.value, 0)
		var re *rpc.Error
		require.ErrorAs(t, err, &re, tc)
		assert.Equal(t, tc.code, re.Code)
	}
	_, err := set(t, s, "a", "1", 0)
	require.NoError(t, err)
	_, err = set(t, s, "b", "1", 0)
	require.NoError(t, err)
	_, err = set(t, s, "c", "1", 0)
	require.ErrorIs(t, err, rpc.ErrResourceExhausted, "MaxEntries")
	replaced, err := set(t, s, "a", "2", 0)
	require.NoError(t, err, "replacing needs no room")
	assert.True(t, replaced)
}
