package sched

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// EnvVar is the environment variable read at start-up (see the package
// documentation).
const EnvVar = "PROTOSOCKET_SCHED"

func init() {
	if v := os.Getenv(EnvVar); v != "" {
		if err := Apply(v); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v (ignored)\n", EnvVar, err)
		}
	}
}

// Apply applies settings in the PROTOSOCKET_SCHED syntax, e.g.
// "nudge=off,yields=0,move=50ms". Each valid setting before the first bad
// one is applied; the bad one is returned as an error.
func Apply(settings string) error {
	for s := range strings.SplitSeq(settings, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(s), "=")
		if !ok {
			return fmt.Errorf("sched: %q is not key=value", s)
		}
		switch k {
		case "nudge":
			switch v {
			case "on":
				SetNudge(true)
			case "off":
				SetNudge(false)
			default:
				return fmt.Errorf("sched: nudge=%q: want on or off", v)
			}
		case "yields":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return fmt.Errorf("sched: yields=%q: want a count >= 0", v)
			}
			SetWriterYields(n)
		case "move":
			if v == "off" {
				SetMoveDelay(0)
				continue
			}
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("sched: move=%q: want off or a positive duration", v)
			}
			SetMoveDelay(d)
		default:
			return fmt.Errorf("sched: unknown setting %q (nudge, yields, move)", k)
		}
	}
	return nil
}

// String describes the current settings in the PROTOSOCKET_SCHED syntax,
// for a benchmark's log.
func String() string {
	nudge, move := "on", "off"
	if !NudgeOn() {
		nudge = "off"
	}
	if d := MoveDelay(); d > 0 {
		move = time.Duration(d).String()
	}
	return fmt.Sprintf("nudge=%s,yields=%d,move=%s", nudge, WriterYields(), move)
}
