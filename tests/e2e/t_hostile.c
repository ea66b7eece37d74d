/*
 * t_hostile.c - a client of slubd scribbles on pool descriptors while three
 * innocent clients of the same pools allocate, check and free (DESIGN.md,
 * "Processes, identity and trust"; tests/mp/t_scribble.c is the same at the
 * library level, over the whole start of the arena).
 *
 *   descriptor_words  the hostile client opens the pools, then writes random
 *                     64-bit words over every byte of their descriptors and of
 *                     kmalloc-64's (geometry, per-CPU and node offsets, id,
 *                     state, refcount, list links, name, counters), round
 *                     after round, while the innocents run.
 *
 * Checked: every innocent exits 0 (never a signal: each keeps its own checked
 * copy of every pool's geometry, made when it opened the pool), none gets an
 * object another innocent holds at the same time (a byte map outside the
 * arena), no pattern reads back wrong; slubd is alive, answers slubctl stats
 * within OP_TIMEOUT_MS, and exits 0 on SIGTERM.  Failed allocations are
 * allowed (the descriptor's state and caps are the shared ones: a scribbled
 * state reads as a destroyed pool), and counted.
 *
 * $T_HOSTILE_SEED sets the seed, $T_HOSTILE_MS how long the innocents run
 * (default 600).
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"
#include "layout.h"
#include "slub.h"

#define OP_TIMEOUT_MS	e2e_scale_ms(5000)
#define NR_INNOCENT	3
#define NR_POOLS	2
#define KM_SIZE		48
#define ARENA_BYTES	(64ULL << 20)

static const char *const pool_name[NR_POOLS] = { "hostile.64", "hostile.200" };
static const unsigned int pool_size[NR_POOLS] = { 64, 200 };

struct shared {
	uint32_t ready;			/* innocents that opened every pool */
	uint32_t scribbling;		/* the hostile client has begun */
	uint32_t done;			/* the hostile client is done */
	uint64_t double_handout, mismatch, failed, ops, words;
	uint8_t own[ARENA_BYTES / 8];	/* one byte per 8 arena bytes: held by an innocent */
};

static struct shared *sh;
static const char *sock;
static unsigned long run_ms = 600;
static uint64_t seed;

static bool own_flip(void *p, bool claim)
{
	uint64_t off = slub_offset(p);
	uint8_t from = claim ? 0 : 1, to = claim ? 1 : 0;

	if (!off || off / 8 >= sizeof(sh->own))
		return true;
	return __atomic_compare_exchange_n(&sh->own[off / 8], &from, to, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_RELAXED);
}

static void use(void *p, size_t len, uint64_t tag, struct kmem_cache *s)
{
	volatile uint64_t *w = p;
	bool claimed;

	if (!p) {
		__atomic_fetch_add(&sh->failed, 1, __ATOMIC_RELAXED);
		return;
	}
	claimed = own_flip(p, true);
	if (!claimed)
		__atomic_fetch_add(&sh->double_handout, 1, __ATOMIC_RELAXED);
	for (size_t i = 0; i < len / 8; i++)
		w[i] = tag ^ i;
	for (size_t i = 0; i < len / 8; i++)
		if (w[i] != (tag ^ i)) {
			__atomic_fetch_add(&sh->mismatch, 1, __ATOMIC_RELAXED);
			break;
		}
	if (claimed)
		own_flip(p, false);
	if (s)
		kmem_cache_free(s, p);
	else
		kfree(p);
}

static bool open_pools(struct kmem_cache **s)
{
	int rc = slub_attach(sock);

	CHECKF(rc == 0, "slub_attach: %s", strerror(-rc));
	if (rc)
		return false;
	for (int i = 0; i < NR_POOLS; i++) {
		s[i] = kmem_cache_create(pool_name[i], pool_size[i], 0, 0, NULL);
		CHECKF(s[i], "kmem_cache_create(%s): %s", pool_name[i], strerror(errno));
		if (!s[i])
			return false;
	}
	return true;
}

static void innocent(void *arg)
{
	struct kmem_cache *s[NR_POOLS];
	uint64_t tag = (uint64_t)getpid() << 32, end;

	(void)arg;
	if (!open_pools(s))
		return;
	for (int i = 0; i < NR_POOLS; i++)	/* opened: this process's copies are made */
		use(kmem_cache_alloc(s[i], GFP_KERNEL), pool_size[i], tag, s[i]);
	use(kmalloc(KM_SIZE, GFP_KERNEL), KM_SIZE, tag, NULL);
	__atomic_fetch_add(&sh->ready, 1, __ATOMIC_ACQ_REL);
	while (!__atomic_load_n(&sh->scribbling, __ATOMIC_ACQUIRE))
		usleep(200);
	end = t_now_ms() + run_ms;
	for (uint64_t k = 1; t_now_ms() < end; k++) {
		for (int i = 0; i < NR_POOLS; i++)
			use(kmem_cache_alloc(s[i], GFP_KERNEL), pool_size[i], tag + (k << 4) + i, s[i]);
		use(kmalloc(KM_SIZE, GFP_KERNEL), KM_SIZE, tag + (k << 4) + 7, NULL);
		__atomic_fetch_add(&sh->ops, 1, __ATOMIC_RELAXED);
	}
	/* no slub_detach: the descriptors are scribbled, slubd drops our
	 * references when the connection closes */
}

static void hostile(void *arg)
{
	struct kmem_cache *s[NR_POOLS + 1];
	uint64_t rnd = seed | 1;

	(void)arg;
	if (!open_pools(s))
		return;
	s[NR_POOLS] = NULL;
	{
		/* kmalloc-64's descriptor: where kfree of a kmalloc(48) object says */
		void *p = kmalloc(KM_SIZE, GFP_KERNEL);
		uint64_t off = slub_offset(p);
		struct page_desc *pd0 = NULL;
		char *base = (char *)slub_ptr(off) - off;
		struct arena_hdr *h = (struct arena_hdr *)base;

		pd0 = (struct page_desc *)(base + h->pd_off);
		s[NR_POOLS] = (struct kmem_cache *)(base + pd0[pd0[off >> PAGE_SHIFT].head].cache);
		kfree(p);
	}
	/* the handles are private copies (libslub.c): scribble the descriptors */
	for (int i = 0; i < NR_POOLS; i++)
		s[i] = slub_ptr(slub_offset(s[i]));
	__atomic_store_n(&sh->scribbling, 1, __ATOMIC_RELEASE);
	for (uint64_t end = t_now_ms() + run_ms / 2; t_now_ms() < end;) {
		for (int i = 0; i <= NR_POOLS; i++) {
			uint64_t *w = (uint64_t *)s[i];
			size_t n = KMEM_CACHE_SIZE(1) / 8;

			for (int k = 0; k < 8; k++)
				__atomic_store_n(&w[t_rand(&rnd) % n], t_rand(&rnd),
						 __ATOMIC_RELAXED);
			sh->words += 8;
		}
		usleep(1000);
	}
	__atomic_store_n(&sh->done, 1, __ATOMIC_RELEASE);
	_exit(0);	/* the connection closes; nothing of ours is freed on a scribbled arena */
}

E2E_CASE(descriptor_words)
{
	struct e2e_slubd *d = e2e_start(NULL);
	pid_t pids[NR_INNOCENT], h;
	uint64_t t0;
	char *out = NULL;
	int rc;

	REQUIRE(d);
	sock = d->sock;
	sh = t_shared(sizeof(*sh));
	REQUIRE(sh);
	printf("  seed %llu (T_HOSTILE_SEED=%llu repeats it)\n", (unsigned long long)seed,
	       (unsigned long long)seed);
	for (int i = 0; i < NR_INNOCENT; i++)
		pids[i] = t_fork(innocent, NULL);
	t0 = t_now_ms();
	while (__atomic_load_n(&sh->ready, __ATOMIC_ACQUIRE) < NR_INNOCENT &&
	       t_now_ms() - t0 < (uint64_t)e2e_scale_ms(20000))
		t_sleep_ms(2);
	CHECK(sh->ready == NR_INNOCENT);
	h = t_fork(hostile, NULL);
	for (int i = 0; i < NR_INNOCENT; i++)
		t_wait(pids[i], "an innocent client");
	t_wait(h, "the hostile client");
	printf("  %llu words scribbled; innocents made %llu rounds of 3 allocations, %llu failed "
	       "(allowed)\n", (unsigned long long)sh->words, (unsigned long long)sh->ops,
	       (unsigned long long)sh->failed);
	CHECKF(sh->ops > 0, "the innocents did nothing");
	CHECKF(sh->double_handout == 0, "%llu objects held by two innocents at once",
	       (unsigned long long)sh->double_handout);
	CHECKF(sh->mismatch == 0, "%llu patterns read back wrong",
	       (unsigned long long)sh->mismatch);
	if (!e2e_alive(d, "after the scribbles"))
		return;
	t0 = t_now_ms();
	rc = e2e_slubctl(d, &out, "stats", NULL);
	CHECKF(rc == 0 || rc == 1, "slubctl stats: exit %d: %s", rc, out ? out : "");
	CHECKF(t_now_ms() - t0 < (uint64_t)OP_TIMEOUT_MS, "slubctl stats took %llu ms",
	       (unsigned long long)(t_now_ms() - t0));
	free(out);
	if (e2e_alive(d, "after slubctl stats"))
		e2e_stop(d);
}

static void __attribute__((constructor)) init_opts(void)
{
	seed = t_env_ul("T_HOSTILE_SEED", (uint64_t)getpid() * 2654435761u);
	run_ms = t_env_ul("T_HOSTILE_MS", run_ms);
}

T_MAIN(T_CASE(descriptor_words))
