/*
 * t_slub_threads.c - kmem_cache-level behaviour of the SLUB engine under
 * threads of one process (local and remote frees, geometry tables, cache
 * ids, pinned handles), a per-CPU repair racing an owner stopped at a hook,
 * and scribbled descriptors under the scrub.
 */
#include <pthread.h>

#include "internal.h"	/* scrub_scribbled_list: the node's list, pd.list */
#include "unit.h"

/*
 * threads of one process allocating and freeing at once, half of the frees
 * remote (an object freed by a thread that did not allocate it).  A shared
 * byte per 8 arena bytes says "in use": an allocation must find its byte
 * clear, so no object is ever handed out twice.
 */
enum { MT_THREADS = 4, MT_OPS = 150000, MT_LOCAL = 128, MT_POOL = 4096 };

struct mt_shared {
	struct arena *a;
	struct kmem_cache *s;		/* NULL: kmalloc of mixed sizes */
	unsigned char *inuse;		/* per 8 bytes of arena */
	pthread_mutex_t lock;		/* protects pool */
	void *pool[MT_POOL];
	size_t pool_size[MT_POOL];
	int npool;
	unsigned long errors;
};

static size_t mt_size(struct mt_shared *sh, uint64_t r)
{
	static const size_t sizes[] = { 8, 24, 64, 96, 100, 192, 256, 700, 2048, 5000, 8192, 12000 };

	return sh->s ? slab_cache_size(sh->s) : sizes[r % (sizeof(sizes) / sizeof(sizes[0]))];
}

static void mt_mark(struct mt_shared *sh, void *p, size_t size, int alloc)
{
	aoff_t off = arena_offset(sh->a, p);
	unsigned char old;

	if (!off) {
		__atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED);
		return;
	}
	old = __atomic_exchange_n(&sh->inuse[off >> 3], (unsigned char)alloc, __ATOMIC_ACQ_REL);
	if (old == (unsigned char)alloc) {
		if (__atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED) < 5)
			printf("  object %#llx (size %zu) %s\n", (unsigned long long)off, size,
			       alloc ? "handed out while in use" : "freed while free");
	}
	/* the first and the last word carry the owner's tag */
	(void)size;
}

static void *mt_thread(void *arg)
{
	struct mt_shared *sh = arg;
	void *mine[MT_LOCAL];
	size_t msz[MT_LOCAL];
	uint64_t tag[MT_LOCAL];
	int n = 0;
	uint64_t st = (uint64_t)(uintptr_t)&n | 1;

	for (int op = 0; op < MT_OPS; op++) {
		uint64_t r = t_rand(&st);

		if (n < MT_LOCAL && (n == 0 || r % 2)) {
			size_t sz = mt_size(sh, r >> 8);
			void *p = sh->s ? slab_alloc(sh->a, sh->s, GFP_KERNEL)
					: slab_kmalloc(sh->a, sz, GFP_KERNEL);

			if (!p) {
				__atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED);
				continue;
			}
			mt_mark(sh, p, sz, 1);
			tag[n] = r;
			memcpy(p, &r, 8);
			memcpy((char *)p + sz - 8, &r, 8);
			mine[n] = p;
			msz[n++] = sz;
		} else {
			int i = (int)((r >> 4) % (uint64_t)n);
			void *p = mine[i];
			size_t sz = msz[i];
			uint64_t t1, t2;

			memcpy(&t1, p, 8);
			memcpy(&t2, (char *)p + sz - 8, 8);
			if (t1 != tag[i] || t2 != tag[i])
				__atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED);
			mine[i] = mine[--n];
			msz[i] = msz[n];
			tag[i] = tag[n];
			if (r & 0x100) {
				/* hand it to whoever comes next; free one handed over */
				void *q = NULL;
				size_t qsz = 0;

				pthread_mutex_lock(&sh->lock);
				if (sh->npool < MT_POOL) {
					sh->pool[sh->npool] = p;
					sh->pool_size[sh->npool++] = sz;
					p = NULL;
				}
				if (sh->npool > 1 && (r & 0x200)) {
					q = sh->pool[0];
					qsz = sh->pool_size[0];
					sh->pool[0] = sh->pool[--sh->npool];
					sh->pool_size[0] = sh->pool_size[sh->npool];
				}
				pthread_mutex_unlock(&sh->lock);
				if (q) {
					mt_mark(sh, q, qsz, 0);
					if (sh->s)
						slab_free(sh->a, sh->s, q);
					else
						slab_kfree(sh->a, q);
				}
				if (!p)
					continue;
			}
			mt_mark(sh, p, sz, 0);
			if (sh->s)
				slab_free(sh->a, sh->s, p);
			else
				slab_kfree(sh->a, p);
		}
	}
	while (n > 0) {
		n--;
		mt_mark(sh, mine[n], msz[n], 0);
		if (sh->s)
			slab_free(sh->a, sh->s, mine[n]);
		else
			slab_kfree(sh->a, mine[n]);
	}
	return NULL;
}

static unsigned int mt_reports;

static void mt_report(const struct slab_report *r, void *arg)
{
	(void)arg;
	if (__atomic_add_fetch(&mt_reports, 1, __ATOMIC_RELAXED) < 5)
		printf("  report: %s %s %s\n", slab_error_name((enum slab_error)r->kind), r->cache_name,
		       r->detail);
}

static void mt_run(int use_cache)
{
	struct arena *a = unit_arena();
	struct mt_shared *sh = calloc(1, sizeof(*sh));
	pthread_t th[MT_THREADS];
	struct slab_validate_result r;
	uint64_t used0;

	REQUIRE(a && sh);
	sh->a = a;
	sh->inuse = calloc(arena_size(a) >> 3, 1);
	REQUIRE(sh->inuse);
	pthread_mutex_init(&sh->lock, NULL);
	if (use_cache) {
		sh->s = unit_cache(a, "mt64", 64, 0, 0, NULL);
		REQUIRE(sh->s);
	}
	mt_reports = 0;
	slab_set_report_fn(mt_report, NULL);
	used0 = arena_used_bytes(a);
	for (int i = 0; i < MT_THREADS; i++)
		REQUIRE(pthread_create(&th[i], NULL, mt_thread, sh) == 0);
	for (int i = 0; i < MT_THREADS; i++)
		pthread_join(th[i], NULL);
	/* what is left in the pool */
	for (int i = 0; i < sh->npool; i++) {
		mt_mark(sh, sh->pool[i], sh->pool_size[i], 0);
		if (sh->s)
			slab_free(a, sh->s, sh->pool[i]);
		else
			slab_kfree(a, sh->pool[i]);
	}
	CHECKF(sh->errors == 0, "%lu errors (objects handed out twice, tags overwritten, NULLs)",
	       sh->errors);
	CHECKF(mt_reports == 0, "%u reports", mt_reports);
	CHECKF(unit_validate(a, sh->s, &r) == 0, "validate: %s", r.first_error);
	if (sh->s) {
		CHECKF(r.allocated == 0, "allocated %llu after all were freed",
		       (unsigned long long)r.allocated);
		CHECK(r.free == r.objects);
		{
			struct slab_cache_info ci;

			if (unit_info(a, sh->s, &ci) == 0)
				printf("  alloc fast %llu slow %llu, free fast %llu slow %llu, "
				       "cas fails cpu %llu slab %llu\n",
				       (unsigned long long)ci.stat[ALLOC_FASTPATH],
				       (unsigned long long)ci.stat[ALLOC_SLOWPATH],
				       (unsigned long long)ci.stat[FREE_FASTPATH],
				       (unsigned long long)ci.stat[FREE_SLOWPATH],
				       (unsigned long long)ci.stat[CMPXCHG_DOUBLE_CPU_FAIL],
				       (unsigned long long)ci.stat[CMPXCHG_DOUBLE_FAIL]);
		}
		CHECK(slab_shrink(a, sh->s) == 0);
	} else {
		for (size_t sz = 8; sz <= KMALLOC_MAX_CACHE_SIZE; sz *= 2)
			CHECK(slab_shrink(a, slab_kmalloc_cache(a, sz)) == 0);
	}
	CHECKF(unit_validate(a, NULL, &r) == 0, "whole arena: %s", r.first_error);
	printf("  used bytes: %llu before, %llu after\n", (unsigned long long)used0,
	       (unsigned long long)arena_used_bytes(a));
	slab_set_report_fn(NULL, NULL);
	free(sh->inuse);
	free(sh);
	arena_close(a);
}

/*
 * The process-local copy tables (geom.c, no lock) under threads that at once
 * create, use and destroy their own pools (the copies come and go, the ring of
 * retired copies turns over many times), kmalloc and kfree, and ksize objects
 * of the other threads' pools, which may be destroyed under them (ksize only
 * reads: a size or 0, never a fault).  Run it under SANITIZER=address too.
 * What it watches for: a pool made on the descriptor of one just destroyed
 * by another thread must get its own geometry, not the old pool's (else
 * destroy reports its CPU slab "no slab of it" and free pointers decode
 * with the wrong key), and no copy is freed under a preempted fast path
 * (a SIGSEGV).
 */
enum { GT_THREADS = 6, GT_ROUNDS = 2000, GT_OBJS = 24 };
static struct arena *gt_arena;
static void *gt_seen[GT_THREADS];	/* an object of each thread's current pool */
static unsigned long gt_fail[GT_THREADS];

static void gt_report(const struct slab_report *r, void *arg)
{
	(void)arg;
	printf("  report kind %u cache %s object %#llx: %s\n", r->kind, r->cache_name,
	       (unsigned long long)r->object, r->detail);
}

static void *gt_thread(void *arg)
{
	unsigned int me = (unsigned int)(uintptr_t)arg;
	void *o[GT_OBJS];

	for (unsigned int r = 0; r < GT_ROUNDS; r++) {
		struct kmem_cache *s = NULL;
		char name[32];

		snprintf(name, sizeof(name), "gt.%u.%u", me, r % 3);
		int crc = slab_cache_create(gt_arena, name, 40 + 24 * (r % 3), 0, 0, NULL, &s);

		if (crc) {
			printf("  thread %u round %u: create %s: %d\n", me, r, name, crc);
			gt_fail[me]++;
			continue;
		}
		for (int i = 0; i < GT_OBJS; i++) {
			o[i] = i % 3 ? slab_alloc(gt_arena, s, GFP_KERNEL)
				     : slab_kmalloc(gt_arena, 16 + (size_t)i * 8, GFP_KERNEL);
			if (!o[i]) {
				printf("  thread %u round %u: alloc %d: %s\n", me, r, i, strerror(errno));
				gt_fail[me]++;
			}
		}
		__atomic_store_n(&gt_seen[me], o[1], __ATOMIC_RELEASE);
		for (unsigned int t = 0; t < GT_THREADS; t++)
			(void)slab_ksize(gt_arena, __atomic_load_n(&gt_seen[t], __ATOMIC_ACQUIRE));
		for (int i = 0; i < GT_OBJS; i++)
			if (o[i] && slab_ksize(gt_arena, o[i]) < (i % 3 ? 40u : 16u + (size_t)i * 8)) {
				printf("  thread %u round %u: ksize %d: %zu\n", me, r, i,
				       slab_ksize(gt_arena, o[i]));
				gt_fail[me]++;
			}
		__atomic_store_n(&gt_seen[me], NULL, __ATOMIC_RELEASE);
		for (int i = 0; i < GT_OBJS; i++)
			slab_kfree(gt_arena, o[i]);	/* kfree: found from the page */
		int rc = slab_cache_destroy(gt_arena, s);

		if (rc) {
			printf("  thread %u round %u: destroy %s: %d\n", me, r, name, rc);
			gt_fail[me]++;
		}
	}
	return NULL;
}

ISOLATED_T(geom_tables_threads, 200)
{
	struct arena *a = unit_arena();
	pthread_t th[GT_THREADS];
	unsigned long fails = 0;

	REQUIRE(a);
	gt_arena = a;
	slab_set_report_fn(gt_report, NULL);
	for (unsigned int t = 0; t < GT_THREADS; t++)
		REQUIRE(pthread_create(&th[t], NULL, gt_thread, (void *)(uintptr_t)t) == 0);
	for (unsigned int t = 0; t < GT_THREADS; t++) {
		pthread_join(th[t], NULL);
		fails += gt_fail[t];
	}
	CHECKF(fails == 0, "%lu failed creates, allocations, sizes or destroys", fails);
	arena_close(a);
}

/*
 * Every cache id in use: pools made until the arena refuses one (an error,
 * no fault), each used (alloc, kfree: found from the page, ksize), so this
 * process holds a copy of every one (SLUB_MAX_CACHES of them: the id table
 * full, the handle table's slots shared by descriptors 256 KiB apart); then
 * half destroyed, as many made again, all used again; validate clean.
 */
ISOLATED_T(every_cache_id, 200)
{
	struct arena_opts o = { .size = 256u << 20, .huge = ARENA_HUGE_OFF, .base = 1 };
	static struct kmem_cache *pools[SLUB_MAX_CACHES + 1];
	static unsigned int sizes[SLUB_MAX_CACHES + 1];
	struct arena *a = NULL;
	unsigned int n = 0, bad = 0;
	char err[256] = "";
	int rc = arena_create(&o, &a, err, sizeof(err));

	REQUIRE(rc == 0 && a);
	for (; n <= SLUB_MAX_CACHES; n++) {
		char nm[32];

		snprintf(nm, sizeof(nm), "id.%u", n);
		sizes[n] = 8 + 8 * (n % 64);
		rc = slab_cache_create(a, nm, sizes[n], 0, 0, NULL, &pools[n]);
		if (rc)
			break;
	}
	printf("  %u pools made, then %d (%s)\n", n, rc, strerror(-rc));
	CHECKF(rc != 0 && n < SLUB_MAX_CACHES, "%u pools made, never refused", n);
	for (int round = 0; round < 2; round++) {
		for (unsigned int i = 0; i < n; i++) {
			void *p = slab_alloc(a, pools[i], GFP_KERNEL), *q = slab_alloc(a, pools[i], GFP_KERNEL);

			if (!p || !q || slab_ksize(a, p) < sizes[i]) {
				if (bad++ < 3)
					printf("  pool %u: %p %p: %s\n", i, p, q, strerror(errno));
				continue;
			}
			memset(p, 0x3c, sizes[i]);
			slab_kfree(a, p);
			slab_free(a, pools[i], q);
		}
		for (unsigned int i = round; i < n; i += 2) {
			char nm[32];

			rc = slab_cache_destroy(a, pools[i]);
			if (rc && bad++ < 3)
				printf("  destroy %u: %d\n", i, rc);
			snprintf(nm, sizeof(nm), "id.again.%u.%u", round, i);
			sizes[i] = 16 + 8 * (i % 32);
			rc = slab_cache_create(a, nm, sizes[i], 0, 0, NULL, &pools[i]);
			if (rc && bad++ < 3)
				printf("  create %u: %d\n", i, rc);
		}
	}
	CHECKF(bad == 0, "%u failed allocations, sizes, destroys or creates", bad);
	bad = 0;
	for (unsigned int i = 0; i < n; i++) {
		struct slab_validate_result r;

		memset(&r, 0, sizeof(r));
		rc = slab_validate(a, pools[i], &r);
		if ((rc || r.nr_errors || r.allocated) && bad++ < 3)
			printf("  validate %u: %d, %llu errors, %llu allocated: %s\n", i, rc,
			       (unsigned long long)r.nr_errors, (unsigned long long)r.allocated,
			       r.first_error);
	}
	CHECKF(bad == 0, "%u pools do not validate clean", bad);
	arena_close(a);
}

/*
 * A private handle (slab_cache_pin, what libslub gives): used by every
 * entry point as the shared descriptor is, inherited by a fork() child (its
 * copy is the parent's, whole), and still whole after the pool's copy was
 * dropped from the tables and 300 more copies after it, since it is
 * pinned.
 */
ISOLATED(pinned_handle)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s, *h;
	void *p[16];
	pid_t pid;
	int st = 0;

	REQUIRE(a);
	s = unit_cache(a, "pinned", 72, 0, 0, NULL);
	REQUIRE(s);
	h = slab_cache_pin(a, s);
	REQUIRE(h && h != s);
	CHECK(slab_cache_shared(a, h) == s && slab_cache_shared(a, s) == s);
	CHECK(slab_cache_pin(a, h) == NULL);	/* a handle is no shared descriptor */
	for (int i = 0; i < 16; i++) {
		p[i] = i % 2 ? slab_alloc(a, h, GFP_KERNEL) : slab_alloc_pinned(a, h, GFP_KERNEL);
		REQUIRE(p[i]);
		memset(p[i], i, 72);
	}
	pid = fork();
	if (pid == 0) {
		int bad = 0;

		for (int i = 0; i < 16; i++) {
			bad += ((unsigned char *)p[i])[71] != i;
			if (i % 3 == 0)
				slab_free_pinned(a, h, p[i]);
			else if (i % 3 == 1)
				slab_free(a, h, p[i]);
			else
				slab_kfree(a, p[i]);
			p[i] = slab_alloc_pinned(a, h, GFP_KERNEL);
			bad += !p[i];
			slab_free(a, s, p[i]);
		}
		_exit(bad ? 1 : 0);
	}
	REQUIRE(pid > 0);
	REQUIRE(waitpid(pid, &st, 0) == pid);
	CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child: status %#x", st);
	/* the arena is shared: the child's frees are the parent's too */
	{
		void *q;

		slab_cache_forget(a, s);	/* the copy leaves the tables */
		for (int i = 0; i < 300; i++) {	/* turn the retired ring over */
			struct kmem_cache *t = NULL;
			char nm[32];

			snprintf(nm, sizeof(nm), "pinned.churn.%d", i);
			if (slab_cache_create(a, nm, 32, 0, 0, NULL, &t) == 0)
				slab_cache_destroy(a, t);
		}
		q = slab_alloc_pinned(a, h, GFP_KERNEL);
		CHECK(q != NULL && slab_ksize(a, q) >= 72);
		slab_free_pinned(a, h, q);
	}
	slab_cache_unpin(a, h);
	CHECK(slab_cache_destroy(a, s) == 0);
	arena_close(a);
}

ISOLATED(threads_one_cache)
{
	mt_run(1);
}

ISOLATED(threads_kmalloc_mixed)
{
	mt_run(0);
}

/*
 * The repair of a CPU lock whose holder died while taking the CPU freelist
 * (issue 10, item 5).  The holder (a forked process, flushing the cpu slab)
 * stops at a hook point holding the CPU lock; the freelist is {X, tid} with
 * X the last free object of the cpu slab (its free pointer 0).  Then, with
 * pop, another process takes X on the lock-free fast path and writes into
 * it; then the holder is killed and the next locker repairs.  One CPU
 * structure (nr_cpus 1) so that every process uses the same one; the cache
 * is capped at one slab, so the slab that held X is all there is.
 *
 *   cpu_repair_race: stopped between the load and the CAS (HOOK_CPU_DETACH),
 *     X popped meanwhile.  X is in use: it must never be handed out again,
 *     nor written by the repair.
 *   cpu_repair_untaken: stopped there, no pop before the kill: the take
 *     never happened, X is still on the CPU freelist, and it is handed out
 *     once after the kill (the next alloc pops it lock-free, and the repair
 *     behind it must not take that pop for the dead holder's take).
 *   cpu_repair_taken: stopped after the CAS (HOOK_CPU_DEACTIVATE): the repair
 *     finishes the take, and X is handed out once more.
 */
static int race_fd = -1;
static enum shm_hook race_at;

static void race_hook(enum shm_hook where)
{
	char c = (char)where;

	if (where != race_at)
		return;
	if (write(race_fd, &c, 1) != 1)
		_exit(3);
	for (;;)
		pause();	/* holding the CPU lock: SIGKILL comes */
}

static void repair_race(enum shm_hook stop_at, bool pop)
{
	struct arena_opts o = { .size = 32u << 20, .huge = ARENA_HUGE_OFF, .base = 1, .nr_cpus = 1 };
	struct arena *a = NULL;
	struct kmem_cache *s;
	struct slab_cache_info ci;
	struct slab_validate_result r;
	static void *held[4096];
	char err[256] = "", c = 0;
	unsigned int per, n = 0, more = 0;
	int pfd[2], status;
	unsigned char *x = NULL;
	pid_t pid;

	REQUIRE(arena_create(&o, &a, err, sizeof(err)) == 0);
	REQUIRE((s = unit_cache(a, "race", 64, 0, 0, NULL)) != NULL);
	REQUIRE(unit_info(a, s, &ci) == 0);
	per = ci.objs_per_slab;
	REQUIRE(per >= 2 && per < 4096);
	REQUIRE(slab_cache_set_limits(a, s, per, 0) == 0);
	/* all but one object of the first slab: the CPU freelist is {X, tid}, X's next 0 */
	for (; n < per - 1; n++)
		REQUIRE((held[n] = slab_alloc(a, s, 0)) != NULL);
	reports_reset();

	REQUIRE(pipe(pfd) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		race_fd = pfd[1];
		race_at = stop_at;
		shm_test_hook = race_hook;
		slab_shrink(a, s);	/* flush: deactivates the cpu slab */
		_exit(2);		/* never reached the hook */
	}
	close(pfd[1]);
	CHECKF(read(pfd[0], &c, 1) == 1 && c == (char)stop_at, "the holder never reached hook %d",
	       (int)stop_at);
	close(pfd[0]);

	if (pop) {
		/* the lock-free pop of the last object, between the holder's load and CAS */
		x = slab_alloc(a, s, 0);
		CHECK(x != NULL);
		if (x)
			memset(x, 0xa5, 64);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (pop && !x)
		return;

	/* the next locker repairs; whatever it hands out, never X */
	while (n + more + 1 < sizeof(held) / sizeof(held[0]) && more <= per) {
		void *p = slab_alloc(a, s, 0);

		if (!p)
			break;
		CHECKF(p != x, "object %p handed out twice (after the repair)", (void *)x);
		held[n + more++] = p;
	}
	CHECKF(more == (pop ? 0u : 1u), "%u objects allocated after the repair, want %u (a slab of %u)",
	       more, pop ? 0u : 1u, per);
	for (int i = 0; x && i < 64; i++)
		if (x[i] != 0xa5) {
			CHECKF(0, "byte %d of the live object overwritten: %#x", i, x[i]);
			break;
		}
	CHECKF(nrep == 0, "%d reports, the first: %s %s", nrep,
	       nrep ? slab_error_name(rep[0].kind) : "", nrep ? rep[0].detail : "");
	if (x)
		held[n + more++] = x;
	qsort(held, n + more, sizeof(held[0]), unit_cmp_ptr);
	for (unsigned int i = 1; i < n + more; i++)
		CHECKF(held[i] != held[i - 1], "object %p handed out twice", held[i]);

	for (unsigned int i = 0; i < n + more; i++)
		if (i == 0 || held[i] != held[i - 1])
			slab_free(a, s, held[i]);
	memset(&r, 0, sizeof(r));
	CHECKF(slab_validate(a, s, &r) == 0 && r.nr_errors == 0, "validate: %llu errors, first: %s",
	       (unsigned long long)r.nr_errors, r.first_error);
	CHECKF(r.allocated == 0, "validate counts %llu allocated after every free",
	       (unsigned long long)r.allocated);
	arena_close(a);
}

ISOLATED_T(cpu_repair_race, 60) { repair_race(HOOK_CPU_DETACH, true); }
ISOLATED_T(cpu_repair_untaken, 60) { repair_race(HOOK_CPU_DETACH, false); }
ISOLATED_T(cpu_repair_taken, 60) { repair_race(HOOK_CPU_DEACTIVATE, false); }

/*
 * scrub_scribbled_descriptors - stray writes over page descriptors (flags,
 * order, list, cache, links, the slab pair, owners, debug steps: random, or
 * random among plausible values) must not make a scrub fault, hang or run
 * away: its lock-free walks step by checked orders, each offset it follows
 * is bounds-checked.  Each round scribbles a fresh arena in a child and runs
 * two scrubs there under an alarm; the parent says which round died how.
 */
static void scribble_round(uint64_t seed)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s[3];
	void *held[3][200];
	struct slab_scrub_result r;

	if (!a)
		_exit(2);
	s[0] = unit_cache(a, "scrib.plain", 64, 0, 0, NULL);
	s[1] = unit_cache(a, "scrib.reclaim", 192, 0, SLAB_RECLAIM_DEAD, NULL);
	s[2] = unit_cache(a, "scrib.debug", 512, 0, SLAB_RED_ZONE | SLAB_POISON, NULL);
	if (!s[0] || !s[1] || !s[2])
		_exit(2);
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < 200; i++)
			held[k][i] = slab_alloc(a, s[k], 0);
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < 200; i += 1 + (int)(t_rand(&seed) % 3))
			if (held[k][i])
				slab_free(a, s[k], held[k][i]);
	for (int w = 0; w < 64; w++) {
		uint32_t pfn = a->first_pfn + (uint32_t)(t_rand(&seed) % (a->nr_pages - a->first_pfn));
		struct page_desc *pd;
		uint64_t v = t_rand(&seed);

		/* half the time a slab's head: a descriptor the scrub looks at */
		if (w % 2) {
			void *o = held[w % 3][t_rand(&seed) % 200];

			if (o)
				pfn = (uint32_t)(arena_offset(a, o) >> 12);
		}
		if (pfn < a->first_pfn || pfn >= a->nr_pages)
			continue;
		pd = pd_of_pfn(a, pfn);
		if (pd->head >= a->first_pfn && pd->head < a->nr_pages && (v & 1))
			pd = pd_of_pfn(a, pd->head);
		v >>= 1;
		if (w % 4 == 1) {
			/* a slab head's list field and back link: the scrub's node_linked */
			pd->list = (uint8_t)(v % 3);
			v = t_rand(&seed);
			pd->lru.prev = v & 1 ? pd_lru_off(a, pd_of_pfn(a, a->first_pfn +
				(uint32_t)((v >> 8) % (a->nr_pages - a->first_pfn)))) : v >> 1;
			continue;
		}
		for (int f = 0; f < 1 + (int)(v % 3); f++, v = t_rand(&seed))	/* fields of one pd */
		switch ((v >> 1) % 10) {
		case 0: pd->flags = (uint16_t)(v >> 8); break;
		case 1: pd->order = (uint8_t)(v >> 8); break;
		case 2: pd->order = (uint8_t)((v >> 8) % 12); break;
		case 3: pd->list = (uint8_t)((v >> 8) % 6); break;
		case 4: pd->cache = v & 1 ? s[(v >> 8) % 3]->self : (aoff_t)(v >> 8); break;
		case 5: pd->lru.prev = v & 2 ? pd_lru_off(a, pd_of_pfn(a, a->first_pfn +
				(uint32_t)((v >> 8) % (a->nr_pages - a->first_pfn)))) : (v >> 8);
			break;
		case 6: pd->lru.next = (v >> 8) % (a->nr_pages * 64ull); break;
		case 7: atomic_store_relaxed(&pd->slab.lo, v & 2 ? (v >> 8) % ((uint64_t)a->nr_pages << 12) : v);
			break;
		case 8: atomic_store_relaxed(&pd->slab.hi, v); break;
		default: pd->debug_step = (uint32_t)(v >> 8); pd->owner = (uint32_t)(v >> 20); break;
		}
	}
	alarm(20);
	if (slab_scrub(a, &r) < 0 || slab_scrub(a, &r) < 0)
		_exit(0);	/* an error is a fine answer */
	_exit(0);
}

ISOLATED_T(scrub_scribbled_descriptors, 240)
{
	int bad = 0, rounds = 1000;

	for (int i = 0; i < rounds && bad < 3; i++) {
		int st = 0;
		pid_t kid = fork();

		if (kid == 0) {
			slab_set_report_fn(NULL, NULL);	/* reports to the ring only */
			scribble_round(0x9e3779b97f4a7c15ull * (uint64_t)(i + 1));
		}
		waitpid(kid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			bad++;
			CHECKF(0, "round %d: the scrub %s %d", i, WIFSIGNALED(st) ? "died of signal" : "exited",
			       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		}
	}
	printf("  %d rounds of 64 scribbled descriptors, %d scrubs died or hung\n", rounds, bad);
}

T_MAIN(T_CASE(scrub_scribbled_descriptors),
       T_CASE(geom_tables_threads),
       T_CASE(every_cache_id),
       T_CASE(pinned_handle),
       T_CASE(threads_one_cache),
       T_CASE(threads_kmalloc_mixed),
       T_CASE(cpu_repair_race),
       T_CASE(cpu_repair_untaken),
       T_CASE(cpu_repair_taken))
