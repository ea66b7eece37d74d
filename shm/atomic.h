/*
 * atomic.h - the one place that touches the compiler's atomic builtins.
 *
 * Every operation names its memory order: relaxed, acquire, release or
 * seq_cst ("full").  Arena-resident fields that are read or written outside
 * a lock are declared _Atomic-free plain integers and accessed only through
 * these helpers, so that a reader of the code can see each ordering choice.
 *
 * The double-word compare-and-swap (cas128) is the heart of the lock-free
 * fast path.  On x86-64 it is `lock cmpxchg16b` written out in assembly,
 * because GCC routes 16-byte __atomic calls through libatomic (a call and,
 * on some versions, a lock).  Elsewhere (aarch64) it uses the compiler's
 * 128-bit atomics, which become CASP with LSE or an LL/SC loop.
 */
#ifndef SHM_ATOMIC_H
#define SHM_ATOMIC_H

#include <stdbool.h>
#include <stdint.h>

/* A 16-byte, 16-byte aligned pair updated as one unit. */
typedef struct {
	uint64_t lo;
	uint64_t hi;
} __attribute__((aligned(16))) atomic_pair_t;

#define atomic_load_relaxed(p)     __atomic_load_n((p), __ATOMIC_RELAXED)
#define atomic_load_acquire(p)     __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define atomic_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define atomic_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define atomic_add_relaxed(p, v)   ((void)__atomic_fetch_add((p), (v), __ATOMIC_RELAXED))
#define atomic_fetch_add_relaxed(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define atomic_sub_relaxed(p, v)   ((void)__atomic_fetch_sub((p), (v), __ATOMIC_RELAXED))
#define atomic_exchange_full(p, v) __atomic_exchange_n((p), (v), __ATOMIC_SEQ_CST)
#define atomic_cas_full(p, expp, v) \
	__atomic_compare_exchange_n((p), (expp), (v), false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)
#define atomic_fence_full()        __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define compiler_barrier()         __asm__ __volatile__("" ::: "memory")

/*
 * Statistics counters: a relaxed load and a relaxed store, not a locked
 * read-modify-write.  Two processes bumping the same per-CPU counter at the
 * same instant can lose one increment; that is the price of keeping the
 * counters on in the fast path (a locked add costs as much as the CAS).
 */
#define stat_inc_relaxed(p) atomic_store_relaxed((p), atomic_load_relaxed(p) + 1)

/*
 * cas128_full - if *p == {old_lo, old_hi}, store {new_lo, new_hi}.
 * Returns true on success.  Sequentially consistent: a full barrier on both
 * architectures, which the fast path relies on (stores to an object's free
 * pointer must be visible before the object is published on a freelist).
 */
static inline bool cas128_full(atomic_pair_t *p, uint64_t old_lo, uint64_t old_hi,
			       uint64_t new_lo, uint64_t new_hi)
{
#if defined(__x86_64__)
	bool ok;
	__asm__ __volatile__("lock cmpxchg16b %1"
			     : "=@ccz"(ok), "+m"(*p), "+a"(old_lo), "+d"(old_hi)
			     : "b"(new_lo), "c"(new_hi)
			     : "memory");
	return ok;
#else
	unsigned __int128 expected = ((unsigned __int128)old_hi << 64) | old_lo;
	unsigned __int128 desired = ((unsigned __int128)new_hi << 64) | new_lo;
	return __atomic_compare_exchange_n((unsigned __int128 *)p, &expected, desired, false,
					   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
#endif
}

/*
 * load128_relaxed - read both halves.  The two halves may be torn (read at
 * different instants); every caller validates the pair with cas128_full.
 */
static inline void load128_relaxed(atomic_pair_t *p, uint64_t *lo, uint64_t *hi)
{
	*hi = atomic_load_acquire(&p->hi);
	*lo = atomic_load_relaxed(&p->lo);
}

/*
 * load128_atomic - read both halves as one snapshot (a CAS that writes back
 * what it finds).  For the slow paths that must see a consistent pair.
 */
static inline void load128_atomic(atomic_pair_t *p, uint64_t *lo, uint64_t *hi)
{
#if defined(__x86_64__)
	uint64_t a = 0, d = 0;

	__asm__ __volatile__("lock cmpxchg16b %0"
			     : "+m"(*p), "+a"(a), "+d"(d)
			     : "b"(0ULL), "c"(0ULL)
			     : "memory", "cc");
	*lo = a;
	*hi = d;
#else
	unsigned __int128 v = __atomic_load_n((unsigned __int128 *)p, __ATOMIC_SEQ_CST);

	*lo = (uint64_t)v;
	*hi = (uint64_t)(v >> 64);
#endif
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__)
	__asm__ __volatile__("pause" ::: "memory");
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif /* SHM_ATOMIC_H */
