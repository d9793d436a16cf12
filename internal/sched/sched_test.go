package sched_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/protosocket-go/protosocket/internal/sched"
	"github.com/protosocket-go/protosocket/internal/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyTestMain(m) }

func TestDefaults(t *testing.T) {
	assert.Equal(t, "nudge=on,yields=3,move=100ms", sched.String())
}

// Each Set function switches its heuristic and restores it.
func TestSetRestore(t *testing.T) {
	r1 := sched.SetNudge(false)
	r2 := sched.SetWriterYields(-4)
	r3 := sched.SetMoveDelay(0)
	assert.Equal(t, "nudge=off,yields=0,move=off", sched.String())
	sched.Nudge() // starts nothing; goleak in TestMain would see a leak otherwise anyway
	r3()
	r2()
	r1()
	assert.Equal(t, "nudge=on,yields=3,move=100ms", sched.String())
}

// Apply takes the environment syntax and names the bad setting.
func TestApply(t *testing.T) {
	defer sched.SetNudge(true)()
	defer sched.SetWriterYields(sched.DefaultWriterYields)()
	defer sched.SetMoveDelay(sched.DefaultMoveDelay)()
	require.NoError(t, sched.Apply("nudge=off, yields=8,move=5ms"))
	assert.Equal(t, "nudge=off,yields=8,move=5ms", sched.String())
	require.NoError(t, sched.Apply("move=off,nudge=on"))
	assert.Equal(t, int64(0), sched.MoveDelay())
	for _, bad := range []string{"nudge", "nudge=maybe", "yields=-1", "yields=x", "move=0s", "move=soon", "spin=1"} {
		assert.Error(t, sched.Apply(bad), bad)
	}
	assert.Equal(t, time.Duration(0), time.Duration(sched.MoveDelay()))
}

// StackAddr is stable while the stack stays and only compared.
func TestStackAddr(t *testing.T) {
	var b byte
	assert.Equal(t, sched.StackAddr(&b), sched.StackAddr(&b))
}
