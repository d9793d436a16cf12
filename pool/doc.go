// Package pool provides the memory that protosocket reads into and encodes
// from: reference-counted slabs in size classes, and pooled encode buffers.
//
// # Slabs
//
// A [Slab] is a byte buffer taken from a [SlabPool] with one reference.
// [Slab.Retain] adds a reference and [Slab.Release] drops one; the last
// Release returns the slab to its size class so a later [SlabPool.Get] can
// reuse it without allocating. Sizes from Options.MinSlabSize (4 KiB by
// default) to Options.MaxSlabSize (1 MiB) are served from power-of-two
// classes; larger ones up to Options.MaxLargeSize (64 MiB) from large
// classes, four per doubling (1.25, 1.5, 1.75, 2 MiB, 2.5 MiB, ...), so a
// large frame wastes at most a quarter of its size; a request above that
// gets an exact-size slab that is never pooled.
//
// Idle memory is capped: once the slabs waiting in the power-of-two
// classes add up to Options.MaxIdleBytes (32 MiB by default), or those in
// the large classes to Options.MaxIdleLargeBytes (32 MiB by default),
// further released slabs of that kind are dropped for the garbage
// collector, so a burst does not pin memory forever and large slabs do not
// crowd small ones out. [SlabPool.Trim] drops every idle slab.
//
// A Release after the last Release, or a Retain after it, is a programming
// error like a negative sync.WaitGroup counter and panics with a "pool: ..."
// message whenever it can be detected: always while the slab waits in the
// pool, and reliably under the psdebug build tag (see below). Without the
// tag a slab may be reused as soon as its last reference is dropped, so a
// stale reference to a reused slab cannot be told apart from the new owner's.
//
// # Debug build tag
//
// Built with -tags psdebug, released slabs are filled with [PoisonByte]
// (0xDD) and never reused; any use through the API after the last Release
// ([Slab.Bytes], [Slab.Retain], [Slab.Release], and the frame views built on
// slabs) panics with a message naming the mistake. A []byte view kept past
// its lifetime shows the poison: tests can check it with [Poisoned]. The
// constant [Debug] reports whether the tag is on. Without the tag the checks
// are compiled out and cost nothing.
//
// # Encode buffers
//
// [GetBuffer] and [PutBuffer] hand out [Buffer]s from a
// github.com/valyala/bytebufferpool calibrating pool, which learns the
// typical buffer size of the program. Buffers whose capacity exceeds
// [MaxBufferSize] are dropped instead of pooled.
//
// # Stats
//
// [SlabPool.Stats] reads the counters with atomic loads, no lock, so a
// server can export them as often as it likes.
package pool
