package kindspb_test

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/cmd/protoc-gen-go-protosocket/internal/kindspb"
	"github.com/protosocket-go/protosocket/internal/testenv"
	"github.com/protosocket-go/protosocket/socket/rpc"
)

// keeper keeps the bidi stream its handler was given: the mistake the
// stream's documented lifetime forbids.
type keeper struct {
	impl
	kept chan *kindspb.PSKinds_BidiServer
}

func (k keeper) Bidi(_ context.Context, st *kindspb.PSKinds_BidiServer) error {
	k.kept <- st
	return nil
}

// TestStreamUsedAfterHandler: a server stream used after its handler
// returned panics under -tags psdebug with a message naming the mistake;
// without the tag the use fails with an error.
func TestStreamUsedAfterHandler(t *testing.T) {
	srv, err := rpc.NewServer(rpc.ServerOptions{})
	require.NoError(t, err)
	k := keeper{kept: make(chan *kindspb.PSKinds_BidiServer, 1)}
	kindspb.RegisterPSKindsServer(srv, k, rpc.Pooled)
	c := kindspb.NewPSKindsClient(dial(t, serve(t, srv)))
	bs, err := c.Bidi(testCtx(t))
	require.NoError(t, err)
	defer bs.Close()
	require.Equal(t, io.EOF, bs.Recv(new(kindspb.Resp)), "the handler returned")
	st := <-k.kept
	if testenv.PSDebug {
		const msg = "protosocket: PSKinds_BidiServer used after the /kinds.Kinds/Bidi handler returned (a stream is valid only until then)"
		assert.PanicsWithValue(t, msg, func() { _ = st.Send(&kindspb.Resp{}) })
		assert.PanicsWithValue(t, msg, func() { _ = st.Recv(&kindspb.Req{}) })
		return
	}
	assert.Error(t, st.Send(&kindspb.Resp{}))
	assert.Error(t, st.Recv(&kindspb.Req{}))
}
