package spillway_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/protosocket-go/protosocket/spillway"
)

// Two producers, one consumer. Values from one Sender arrive in order and a
// batch stays together; there is no order between Senders.
func Example() {
	ctx := context.Background()
	tx, rx := spillway.New(spillway.Options[string]{})
	a, b := tx.Clone(), tx.Clone() // one Sender per producing goroutine
	tx.Close()

	_ = a.Send(ctx, "a1")
	_ = b.Send(ctx, "b1")
	_ = a.SendBatch(ctx, []string{"a2", "a3"})
	_ = b.Send(ctx, "b2")
	a.Close()
	b.Close()

	perSender := map[string][]string{}
	var batch []string
	for {
		var err error
		batch, err = rx.RecvBatch(ctx, batch[:0])
		if errors.Is(err, spillway.ErrDrained) {
			break
		}
		for _, v := range batch {
			perSender[v[:1]] = append(perSender[v[:1]], v)
		}
	}
	fmt.Println("a:", strings.Join(perSender["a"], " "))
	fmt.Println("b:", strings.Join(perSender["b"], " "))
	// Output:
	// a: a1 a2 a3
	// b: b1 b2
}

// Closing the receiver hands every undelivered value back, so a connection
// can fail those messages instead of losing them.
func ExampleReceiver_Close() {
	ctx := context.Background()
	tx, rx := spillway.New(spillway.Options[string]{})
	defer tx.Close()
	_ = tx.SendBatch(ctx, []string{"hello", "world"})

	rx.Close(func(v string) { fmt.Println("failed:", v) })
	fmt.Println(tx.Send(ctx, "late"))
	// Output:
	// failed: hello
	// failed: world
	// spillway: closed
}

// With FailWhenFull a full lane (or weight budget) returns ErrFull instead
// of blocking.
func ExampleSender_Send() {
	ctx := context.Background()
	tx, rx := spillway.New(spillway.Options[[]byte]{
		LaneCapacity: 2,
		MaxWeight:    10,
		Weight:       func(b []byte) int64 { return int64(len(b)) },
		FailWhenFull: true,
	})
	defer rx.Close(nil)
	defer tx.Close()
	fmt.Println(tx.Send(ctx, []byte("12345678")))
	fmt.Println(tx.Send(ctx, []byte("345"))) // 8+3 > 10 bytes
	fmt.Println(tx.Send(ctx, []byte("90")))
	fmt.Println(tx.Send(ctx, []byte("x"))) // lane holds 2 values
	got, _ := rx.TryRecvBatch(nil)
	fmt.Printf("%q\n", got)
	// Output:
	// <nil>
	// spillway: full
	// <nil>
	// spillway: full
	// ["12345678" "90"]
}

// TryRecvBatch lets a writer take what is queued without waiting, for
// example to decide whether to flush now.
func ExampleReceiver_TryRecvBatch() {
	ctx := context.Background()
	tx, rx := spillway.New(spillway.Options[int]{})
	defer rx.Close(nil)
	_ = tx.SendBatch(ctx, []int{1, 2, 3})
	got, err := rx.TryRecvBatch(nil)
	fmt.Println(got, err)
	got, err = rx.TryRecvBatch(got[:0])
	fmt.Println(got, err)
	tx.Close()
	_, err = rx.TryRecvBatch(nil)
	fmt.Println(err)
	// Output:
	// [1 2 3] <nil>
	// [] <nil>
	// spillway: drained
}

// Withdraw takes back a value the receiver has not taken yet (here, a
// buffer lent by reference whose sender gave up on it).
func ExampleSender_Withdraw() {
	ctx := context.Background()
	tx, rx := spillway.New(spillway.Options[*[]byte]{})
	defer rx.Close(nil)
	defer tx.Close()
	a, b := []byte("first"), []byte("second")
	_ = tx.Send(ctx, &a)
	_ = tx.Send(ctx, &b)
	fmt.Println(tx.Withdraw(func(v **[]byte) bool { return *v == &b })) // still queued
	got, _ := rx.TryRecvBatch(nil)
	fmt.Println(len(got), string(*got[0]))
	fmt.Println(tx.Withdraw(func(v **[]byte) bool { return *v == &a })) // taken already
	// Output:
	// true
	// 1 first
	// false
}
