/*
 * t_owner.c - what the engine does for a process that dies or misuses a
 * pool: objects of dead owners counted and reported by pid
 * (SLAB_STORE_USER) or freed (SLAB_RECLAIM_DEAD), ownership handed over
 * with slab_give, the use of a destroyed cache caught, and per-cache caps;
 * and the scrub's bounded steps (scrub_chunked, scrub_timed_steps); reclaim
 * beside live owners (reclaim_races), a dead process's plain pool discarded
 * whole (discard_dead_pool).
 */
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <time.h>

#include "internal.h"	/* cache_node, shm_lock_depth: scrub_chunked */
#include "layout.h"	/* CACHE_QUARANTINE */
#include "unit.h"

static unsigned int oo_objects_of(const struct kmem_cache *s)
{
	return s->oo & 0xffff;
}

static const struct slab_report *find_kind(enum slab_error k)
{
	for (int i = 0; i < nrep && i < MAXREP; i++)
		if (rep[i].kind == (uint32_t)k)
			return &rep[i];
	return NULL;
}

/* a shared page through which a child tells the parent what it did */
struct child_out {
	uint64_t given[16];		/* offsets of objects given to the parent */
	int nr_given;
	int allocated;
	volatile int ready;
};

static struct child_out *shared_out(void)
{
	struct child_out *o = mmap(NULL, sizeof(*o), PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	CHECKF(o != MAP_FAILED, "mmap: %s", strerror(errno));
	if (o == MAP_FAILED)
		return NULL;
	memset(o, 0, sizeof(*o));
	return o;
}

/*
 * a child allocates n objects of s, stamps them, gives `give` of them to the
 * parent, says so, and then stops for good: the parent kills it.
 */
static pid_t child_holding(struct arena *a, struct kmem_cache *s, int n, int give,
			   struct child_out *o)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	for (int i = 0; i < n; i++) {
		uint64_t *p = slab_alloc(a, s, 0);

		if (!p)
			_exit(3);
		p[0] = 0xc0ffee00u + (uint64_t)i;
		o->allocated++;
		if (i < give) {
			if (slab_give(a, s, p, (uint32_t)parent))
				_exit(4);
			o->given[o->nr_given++] = arena_offset(a, p);
		}
	}
	o->ready = 1;
	for (;;)
		pause();
}

static bool wait_ready(struct child_out *o)
{
	for (int i = 0; i < 5000 && !o->ready; i++)
		usleep(1000);
	CHECKF(o->ready, "the child never got ready (allocated %d)", o->allocated);
	return o->ready;
}

/* kill pid and wait until it is a zombie, without reaping it */
static void kill_leave_zombie(pid_t pid)
{
	siginfo_t si;

	kill(pid, SIGKILL);
	memset(&si, 0, sizeof(si));
	CHECK(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0);
}

ISOLATED(reclaim_dead_owner)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s = a ? unit_cache(a, "owned", 72, 0, SLAB_RECLAIM_DEAD, NULL) : NULL;
	struct child_out *o = shared_out();
	struct slab_scrub_result r;
	struct slab_cache_info ci;
	struct slab_validate_result v;
	const struct slab_report *lr;
	char want[64];
	pid_t pid;

	if (!s || !o)
		return;
	reports_reset();
	pid = child_holding(a, s, 300, 10, o);
	if (!wait_ready(o))
		return;
	CHECK(slab_owner(a, s, arena_ptr(a, o->given[0])) == (uint32_t)getpid());
	kill_leave_zombie(pid);
	/* a zombie is dead: its objects need not wait for it to be reaped */
	CHECK(slab_scrub(a, &r) == 0);
	CHECKF(r.leaked_objects == 290 && r.reclaimed_objects == 290 && r.dead_pids == 1,
	       "scrub: leaked %llu reclaimed %llu dead pids %u (want 290, 290, 1)",
	       (unsigned long long)r.leaked_objects, (unsigned long long)r.reclaimed_objects,
	       r.dead_pids);
	lr = find_kind(SLAB_ERR_LEAK);
	snprintf(want, sizeof(want), "pid %d died holding 290 objects: freed", (int)pid);
	CHECKF(lr && !strcmp(lr->detail, want) && !strcmp(lr->cache_name, "owned"),
	       "report: '%s' in '%s' (want '%s')", lr ? lr->detail : "none",
	       lr ? lr->cache_name : "", want);
	waitpid(pid, NULL, 0);
	unit_info(a, s, &ci);
	CHECKF(ci.active_objs == 10, "active %llu (want the 10 given away)",
	       (unsigned long long)ci.active_objs);
	for (int i = 0; i < o->nr_given; i++) {
		uint64_t *p = arena_ptr(a, o->given[i]);

		CHECKF(p[0] == 0xc0ffee00u + (uint64_t)i, "given object %d changed", i);
		slab_free(a, s, p);
	}
	CHECK(unit_validate(a, NULL, &v) == 0);
	unit_info(a, s, &ci);
	CHECK(ci.active_objs == 0);
	/* once freed, nothing more to find or report */
	CHECK(slab_scrub(a, &r) == 0 && r.leaked_objects == 0 && r.reclaimed_objects == 0);
	CHECKF(count_kind(SLAB_ERR_LEAK) == 1 && nrep == 1, "%d reports", nrep);
	arena_close(a);
}

ISOLATED(store_user_leak_reported_once)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s = a ? unit_cache(a, "tracked", 100, 0, SLAB_STORE_USER, NULL) : NULL;
	struct child_out *o = shared_out();
	struct slab_scrub_result r;
	struct slab_cache_info ci;
	char want[64];
	pid_t pid;

	if (!s || !o)
		return;
	reports_reset();
	pid = child_holding(a, s, 50, 0, o);
	if (!wait_ready(o))
		return;
	CHECK(slab_scrub(a, &r) == 0 && r.leaked_objects == 0);	/* alive: not a leak */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	CHECK(slab_scrub(a, &r) == 0);
	CHECKF(r.leaked_objects == 50 && r.reclaimed_objects == 0 && r.dead_pids == 1,
	       "leaked %llu reclaimed %llu", (unsigned long long)r.leaked_objects,
	       (unsigned long long)r.reclaimed_objects);
	snprintf(want, sizeof(want), "pid %d died holding 50 objects (leaked)", (int)pid);
	CHECKF(nrep == 1 && !strcmp(rep[0].detail, want), "report '%s' (want '%s'), %d reports",
	       rep[0].detail, want, nrep);
	/* still leaked, still counted, but told once */
	CHECK(slab_scrub(a, &r) == 0 && r.leaked_objects == 50);
	CHECKF(nrep == 1, "%d reports after a second scrub", nrep);
	unit_info(a, s, &ci);
	CHECK(ci.active_objs == 50);
	arena_close(a);
}

ISOLATED(give_and_owner_errors)
{
	struct arena *a = unit_arena();
	struct kmem_cache *plain = a ? unit_cache(a, "plain", 64, 0, 0, NULL) : NULL;
	struct kmem_cache *s = a ? unit_cache(a, "owned", 64, 0, SLAB_RECLAIM_DEAD, NULL) : NULL;
	struct slab_cache_info ci;
	void *p, *q, *x;

	if (!plain || !s)
		return;
	unit_info(a, s, &ci);
	CHECKF(ci.flags & SLAB_STORE_USER, "SLAB_RECLAIM_DEAD implies SLAB_STORE_USER");
	p = slab_alloc(a, plain, 0);
	q = slab_alloc(a, s, 0);
	x = slab_alloc(a, s, 0);
	CHECK(p && q && x);
	CHECK(slab_give(a, plain, p, (uint32_t)getpid()) == -EINVAL);	/* no owners kept */
	CHECK(slab_owner(a, plain, p) == 0);
	CHECK(slab_owner(a, s, q) == (uint32_t)getpid());
	CHECK(slab_give(a, s, q, 0x7ffffff0u) == -ESRCH);
	CHECK(slab_give(a, s, (char *)q + 8, (uint32_t)getpid()) == -EINVAL);	/* interior */
	CHECK(slab_give(a, s, p, (uint32_t)getpid()) == -EINVAL);	/* another cache's */
	/* a process is given objects once it has entered the arena (its slot) */
	{
		int go[2];
		char c = 0;
		pid_t peer = -1, idle = fork();

		if (idle == 0)
			pause();	/* forked, never entered: no slot */
		CHECK(pipe(go) == 0 && (peer = fork()) >= 0);
		if (peer == 0) {
			slab_free(a, s, slab_alloc(a, s, 0));	/* enters */
			c = write(go[1], "x", 1) == 1;
			pause();
		}
		CHECK(read(go[0], &c, 1) == 1);
		CHECK(slab_give(a, s, q, (uint32_t)idle) == -ESRCH);
		CHECK(slab_give(a, s, q, (uint32_t)peer) == 0);
		CHECK(slab_owner(a, s, q) == (uint32_t)peer);
		CHECK(slab_give(a, s, q, (uint32_t)getpid()) == -EPERM);	/* not ours any more */
		kill(peer, SIGKILL);
		kill(idle, SIGKILL);
		waitpid(peer, NULL, 0);
		waitpid(idle, NULL, 0);
		close(go[0]);
		close(go[1]);
	}
	slab_free(a, s, x);
	CHECK(slab_give(a, s, x, (uint32_t)getpid()) == -EINVAL);	/* free */
	CHECK(slab_owner(a, s, x) == 0);
	slab_free(a, s, q);
	slab_free(a, plain, p);
	arena_close(a);
}

ISOLATED(destroyed_cache_use_caught)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s, *t;
	struct slab_validate_result v;
	uint64_t used0, used1;
	void *p;

	if (!a)
		return;
	reports_reset();
	s = unit_cache(a, "short.lived", 128, 0, 0, NULL);
	t = unit_cache(a, "other", 128, 0, 0, NULL);
	if (!s || !t)
		return;
	p = slab_alloc(a, s, 0);
	slab_free(a, s, p);
	CHECK(slab_cache_destroy(a, s) == 0);
	errno = 0;
	CHECKF(slab_alloc(a, s, 0) == NULL && errno == EINVAL, "alloc from a destroyed cache: %s",
	       strerror(errno));
	p = slab_alloc(a, t, 0);
	slab_free(a, s, p);		/* an object freed into the destroyed cache */
	CHECKF(count_kind(SLAB_ERR_DESTROYED) == 2 && nrep == 2, "%d reports", nrep);
	CHECK(!strcmp(rep[0].cache_name, "short.lived"));
	CHECK(strstr(rep[0].detail, "destroyed") != NULL);
	CHECK(rep[1].object == arena_offset(a, p));
	slab_free(a, t, p);		/* p was untouched: it still belongs to t */
	CHECK(slab_cache_destroy(a, s) == -EINVAL);	/* twice */
	CHECK(unit_validate(a, NULL, &v) == 0);
	/* pools made after it do not take its descriptor: the use is still caught
	 * (without the quarantine the very next pool would reuse that memory) */
	{
		struct kmem_cache *later[CACHE_QUARANTINE - 1];

		reports_reset();
		for (int i = 0; i < CACHE_QUARANTINE - 1; i++) {
			char nm[32];

			snprintf(nm, sizeof(nm), "later.%d", i);
			later[i] = unit_cache(a, nm, 128, 0, 0, NULL);
			if (!later[i])
				return;
			CHECKF(later[i] != s, "pool %s reuses the destroyed one's descriptor", nm);
		}
		errno = 0;
		CHECKF(slab_alloc(a, s, 0) == NULL && errno == EINVAL && nrep == 1 &&
		       count_kind(SLAB_ERR_DESTROYED) == 1 && !strcmp(rep[0].cache_name, "short.lived"),
		       "after %d pools made: alloc from the destroyed cache: %s, %d reports",
		       CACHE_QUARANTINE - 1, strerror(errno), nrep);
		for (int i = 0; i < CACHE_QUARANTINE - 1; i++)
			CHECK(slab_cache_destroy(a, later[i]) == 0);
	}
	/* destroyed caches give their memory back: many made and destroyed use no more */
	used0 = arena_used_bytes(a);
	for (int i = 0; i < 300; i++) {
		struct kmem_cache *c = unit_cache(a, "churn", 64 + (size_t)(i % 5) * 8, 0, 0, NULL);

		if (!c)
			return;
		p = slab_alloc(a, c, 0);
		slab_free(a, c, p);
		CHECK(slab_cache_destroy(a, c) == 0);
		if (i == 100)
			used0 = arena_used_bytes(a);
	}
	used1 = arena_used_bytes(a);
	CHECKF(used1 <= used0, "arena used grew from %llu to %llu over 200 create/destroy",
	       (unsigned long long)used0, (unsigned long long)used1);
	CHECK(unit_validate(a, NULL, &v) == 0);
	CHECK(slab_cache_find(a, "churn") == NULL);
	arena_close(a);
}

ISOLATED(cap_objects)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s = a ? unit_cache(a, "capped", 64, 0, 0, NULL) : NULL;
	struct slab_cache_info ci;
	void **p;
	uint64_t per, want;
	size_t n = 0;

	if (!s)
		return;
	unit_info(a, s, &ci);
	per = ci.objs_per_slab;
	CHECK(slab_cache_set_limits(a, s, 3 * per + per / 2, 0) == 0);
	unit_info(a, s, &ci);
	CHECK(ci.max_objects == 3 * per + per / 2 && ci.max_bytes == 0);
	want = 3 * per;			/* whole slabs: 3.5 slabs' worth allows 3 */
	p = calloc(want + 10, sizeof(*p));
	for (;;) {
		errno = 0;
		void *x = slab_alloc(a, s, 0);

		if (!x)
			break;
		if (n < want + 10)
			p[n] = x;
		n++;
		if (n > want + 10)
			break;
	}
	CHECKF(n == want && errno == EDQUOT, "allocated %zu (want %llu), then errno %s", n,
	       (unsigned long long)want, strerror(errno));
	slab_free(a, s, p[0]);
	p[0] = slab_alloc(a, s, 0);
	CHECK(p[0] != NULL);
	CHECK(slab_alloc(a, s, 0) == NULL && errno == EDQUOT);
	CHECK(slab_alloc_bulk(a, s, 0, 2, p + want) == 0 && errno == EDQUOT);
	CHECK(slab_cache_set_limits(a, s, 0, 0) == 0);	/* lifted */
	p[want] = slab_alloc(a, s, 0);
	CHECK(p[want] != NULL);
	for (size_t i = 0; i <= want && i < n + 1; i++)
		if (p[i])
			slab_free(a, s, p[i]);
	free(p);
	arena_close(a);
}

ISOLATED(cap_bytes)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s = a ? unit_cache(a, "capped.b", 512, 0, 0, NULL) : NULL;
	struct slab_cache_info ci;
	uint64_t slab_bytes, want;
	size_t n = 0;

	if (!s)
		return;
	unit_info(a, s, &ci);
	slab_bytes = 4096ull << ci.order;
	CHECK(slab_cache_set_limits(a, s, 0, 100) == 0);	/* under a page: nothing */
	errno = 0;
	CHECK(slab_alloc(a, s, 0) == NULL && errno == EDQUOT);
	CHECK(slab_cache_set_limits(a, s, 0, 2 * slab_bytes + 100) == 0);
	want = 2 * (uint64_t)ci.objs_per_slab;
	while (slab_alloc(a, s, 0))
		n++;
	CHECKF(n == want && errno == EDQUOT, "allocated %zu (want %llu): %s", n,
	       (unsigned long long)want, strerror(errno));
	unit_info(a, s, &ci);
	CHECK(ci.num_objs == want);
	arena_close(a);
}

/* processes racing for the last slabs under a cap cannot together pass it */
ISOLATED(cap_races)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s = a ? unit_cache(a, "capped.r", 32, 0, 0, NULL) : NULL;
	struct slab_cache_info ci;
	uint64_t *got = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint64_t total = 0, cap;
	pid_t kids[4];

	if (!s || got == MAP_FAILED)
		return;
	unit_info(a, s, &ci);
	cap = 10 * (uint64_t)ci.objs_per_slab;
	CHECK(slab_cache_set_limits(a, s, cap, 0) == 0);
	for (int k = 0; k < 4; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			uint64_t n = 0;

			while (slab_alloc(a, s, 0))
				n++;
			got[k] = n;
			_exit(errno == EDQUOT ? 0 : 1);
		}
	}
	for (int k = 0; k < 4; k++) {
		int st = 0;

		waitpid(kids[k], &st, 0);
		CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %d: status %#x", k, st);
		total += got[k];
	}
	unit_info(a, s, &ci);
	CHECKF(total == cap && ci.num_objs == cap && ci.active_objs == cap,
	       "allocated %llu, slabs hold %llu (cap %llu)", (unsigned long long)total,
	       (unsigned long long)ci.num_objs, (unsigned long long)cap);
	arena_close(a);
}

/*
 * a pool whose descriptor is the last object of the arena's last page is a
 * pool like any other: found, allocated from, validated, destroyed (a range
 * check once took the descriptor to be as long as SLUB_MAX_NODES nodes make
 * it, past the arena's end)
 */
ISOLATED(cache_at_arena_end)
{
	struct arena *a = unit_arena();
	struct kmem_cache *kc = a ? slab_cache_find(a, "kmem_cache") : NULL, *s = NULL;
	uint64_t size = a ? arena_size(a) : 0;
	size_t n = 0, max = size / 4096;
	void **pages = calloc(max, sizeof(*pages)), *last = NULL, *p = NULL;
	struct slab_validate_result v;
	aoff_t want;

	cpu_set_t one;

	if (!a)
		return;
	REQUIRE(kc != NULL && pages != NULL);
	/* on one CPU: the descriptor freed below must be the one the next
	 * allocation takes from that CPU's freelist (a migration between the two
	 * took another CPU's: 1 run of CI's in several failed so) */
	CPU_ZERO(&one);
	CPU_SET((unsigned int)sched_getcpu(), &one);
	REQUIRE(sched_setaffinity(0, sizeof(one), &one) == 0);
	/* every free page ours, then only the arena's last one free again */
	while (n < max && (pages[n] = buddy_alloc_pages(a, 0)))
		if (arena_offset(a, pages[n++]) == size - 4096)
			last = pages[n - 1];
	REQUIRE(last != NULL);
	buddy_free_pages(a, last, 0);
	/* descriptors until one lands in that page's last slot; give that one back */
	want = size - 4096 + (aoff_t)(oo_objects_of(kc) - 1) * kc->size;
	for (int i = 0; i < 1000 && (p = slab_alloc(a, kc, 0)); i++)
		if (arena_offset(a, p) == want)
			break;
	REQUIRE(p && arena_offset(a, p) == want);
	slab_free(a, kc, p);
	for (size_t i = 0; i < n; i++)
		if (pages[i] != last)
			buddy_free_pages(a, pages[i], 0);
	free(pages);
	s = unit_cache(a, "at.the.end", 100, 0, 0, NULL);
	REQUIRE(s != NULL);
	CHECKF(arena_offset(a, s) == want, "the pool's descriptor is at %#llx, not %#llx",
	       (unsigned long long)arena_offset(a, s), (unsigned long long)want);
	CHECK(slab_cache_find(a, "at.the.end") == s);
	p = slab_alloc(a, s, 0);
	CHECKF(p != NULL, "alloc from it: %s", strerror(errno));
	slab_free(a, s, p);
	CHECK(unit_validate(a, NULL, &v) == 0);
	CHECK(slab_cache_destroy(a, s) == 0);
	CHECK(unit_validate(a, NULL, &v) == 0);
	arena_close(a);
}

/* dies at the countdown-th time it reaches kill_at: inside a slab's count step
 * (HOOK_SLAB_ACCT, holding the zone lock) or discarding an empty slab */
static enum shm_hook kill_at;
static int kill_countdown;

static void kill_hook(enum shm_hook where)
{
	if (where == kill_at && --kill_countdown == 0)
		kill(getpid(), SIGKILL);
}

/*
 * a process that dies while a slab is being counted for a capped pool, or
 * uncounted, leaves no charge behind: once the scrub has run, the pool's
 * counts are exact (validate) and the cap admits exactly as many objects as
 * before, round after round.
 */
ISOLATED_T(cap_kills, 60)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s = a ? unit_cache(a, "capped.k", 64, 0, SLAB_RECLAIM_DEAD, NULL) : NULL;
	struct slab_cache_info ci;
	uint64_t cap, per, seen[2] = { 0, 0 };

	if (!s)
		return;
	unit_info(a, s, &ci);
	per = ci.objs_per_slab;
	cap = 6 * per;
	CHECK(slab_cache_set_limits(a, s, cap, 0) == 0);
	for (int round = 0; round < 24 && !t_failed; round++) {
		struct slab_scrub_result sr;
		struct slab_validate_result vr;
		void **p = calloc(cap + 1, sizeof(*p));
		uint64_t n = 0;
		int st = 0;
		pid_t kid = fork();

		if (kid == 0) {
			kill_at = round % 2 ? HOOK_DISCARD : HOOK_SLAB_ACCT;
			kill_countdown = 1 + round / 2 % 5;
			shm_test_hook = kill_hook;
			for (int pass = 0; pass < 4; pass++) {
				uint64_t k = 0;

				while (k < 4 * per && (p[k] = slab_alloc(a, s, 0)))
					k++;
				while (k)
					slab_free(a, s, p[--k]);
				slab_shrink(a, s);
			}
			_exit(0);	/* the hook never came: the parent says so */
		}
		waitpid(kid, &st, 0);
		CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
		       "round %d: the child was not killed at its hook (status %#x)", round, st);
		seen[round % 2] += WIFSIGNALED(st);
		CHECK(slab_scrub(a, &sr) == 0);
		memset(&vr, 0, sizeof(vr));
		CHECKF(slab_validate(a, s, &vr) == 0 && vr.nr_errors == 0,
		       "round %d: validate: %llu errors, first: %s", round,
		       (unsigned long long)vr.nr_errors, vr.first_error);
		errno = 0;
		while (n < cap + 1 && (p[n] = slab_alloc(a, s, 0)))
			n++;
		CHECKF(n == cap && errno == EDQUOT, "round %d: %llu objects under a cap of %llu (%s)",
		       round, (unsigned long long)n, (unsigned long long)cap, strerror(errno));
		while (n)
			slab_free(a, s, p[--n]);
		slab_shrink(a, s);
		free(p);
	}
	printf("  %llu kills while counting a slab, %llu while discarding one; the cap held %llu "
	       "objects after each\n", (unsigned long long)seen[0], (unsigned long long)seen[1],
	       (unsigned long long)cap);
	arena_close(a);
}

/*
 * scrub_chunked - a scrub walks a cache's slabs in bounded chunks, dropping
 * the cache's locks between them, so that an allocator on another thread
 * goes on meanwhile; and what it frees across chunks it frees once.  The
 * scrub's chunks are seen through the node-lock hook: a lock of the cache's
 * node taken by the scrubbing thread while it also holds the CPU locks
 * (lock_cache) is a chunk.
 */
static struct kmem_cache_node *chunk_node;
static __thread bool chunk_scrubbing;
static volatile uint64_t chunk_ops;		/* the allocator's completed alloc+free */
static uint64_t chunk_events, chunk_ops_first, chunk_ops_last;
static volatile int chunk_stop;

static void chunk_hook(enum shm_hook where)
{
	uint32_t word;

	if (where != HOOK_LIST_LOCKED || !chunk_scrubbing || shm_lock_depth < 2)
		return;
	word = __atomic_load_n((uint32_t *)&chunk_node->list_lock.m, __ATOMIC_RELAXED);
	if ((word & FUTEX_TID_BITS) != (uint32_t)gettid())
		return;		/* another cache's node */
	if (!chunk_events++)
		chunk_ops_first = chunk_ops;
	chunk_ops_last = chunk_ops;
}

struct chunk_alloc {
	struct arena *a;
	struct kmem_cache *s;
	int failed;
};

static void *chunk_allocator(void *arg)
{
	struct chunk_alloc *c = arg;

	while (!chunk_stop) {
		void *p = slab_alloc(c->a, c->s, 0);

		if (!p) {
			c->failed = errno;
			break;
		}
		slab_free(c->a, c->s, p);
		__atomic_add_fetch(&chunk_ops, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

#define CHUNK_LIVE	12000
#define CHUNK_DEAD	4000

ISOLATED_T(scrub_chunked, 120)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s = a ? unit_cache(a, "chunked", 64, 0, SLAB_RECLAIM_DEAD, NULL) : NULL;
	struct child_out *o = shared_out();
	struct chunk_alloc ca = { a, s, 0 };
	struct slab_validate_result v;
	struct slab_scrub_result r;
	uint64_t reclaimed = 0, progressed = 0, events = 0, slabs;
	void **live = calloc(CHUNK_LIVE, sizeof(void *));
	pthread_t th;
	pid_t pid;
	int scrubs = 0;

	if (!s || !o || !live)
		return;
	for (int i = 0; i < CHUNK_LIVE; i++)
		REQUIRE((live[i] = slab_alloc(a, s, 0)) != NULL);
	pid = child_holding(a, s, CHUNK_DEAD, 0, o);
	if (!wait_ready(o))
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	slabs = (CHUNK_LIVE + CHUNK_DEAD) / oo_objects_of(s);
	chunk_node = cache_node(a, s, 0);
	shm_test_hook = chunk_hook;
	REQUIRE(pthread_create(&th, NULL, chunk_allocator, &ca) == 0);
	/* until the allocator is seen to go on inside one scrub of the cache (bounded) */
	for (uint64_t t0 = t_now_ms(); scrubs < 200 && (!progressed || scrubs < 3) &&
	     t_now_ms() - t0 < 20000; scrubs++) {
		chunk_events = 0;
		chunk_scrubbing = true;
		CHECK(slab_scrub(a, &r) == 0);
		chunk_scrubbing = false;
		reclaimed += r.reclaimed_objects;
		if (chunk_events > events)
			events = chunk_events;
		if (chunk_events >= 2 && chunk_ops_last > chunk_ops_first)
			progressed++;
	}
	chunk_stop = 1;
	pthread_join(th, NULL);
	shm_test_hook = NULL;
	CHECKF(!ca.failed, "the allocator failed: %s", strerror(ca.failed));
	CHECKF(events >= 2, "a scrub of %llu slabs held the cache's locks in %llu step(s)",
	       (unsigned long long)slabs, (unsigned long long)events);
	CHECKF(progressed > 0, "the allocator made no progress inside any of %d scrubs of the cache "
	       "(%llu locked steps each)", scrubs, (unsigned long long)events);
	CHECKF(reclaimed == CHUNK_DEAD, "%llu objects of the dead process freed (want %d)",
	       (unsigned long long)reclaimed, CHUNK_DEAD);
	CHECK(unit_validate(a, NULL, &v) == 0);
	for (int i = 0; i < CHUNK_LIVE; i++)
		slab_free(a, s, live[i]);
	CHECKF(unit_validate(a, s, &v) == 0 && v.allocated == 0, "%llu objects left", (unsigned long long)v.allocated);
	printf("  %llu slabs: %llu locked steps per scrub; the allocator went on inside %llu of %d "
	       "scrubs (%llu alloc+free in all)\n", (unsigned long long)slabs,
	       (unsigned long long)events, (unsigned long long)progressed, scrubs,
	       (unsigned long long)chunk_ops);
	free(live);
	arena_close(a);
}

/*
 * scrub_timed_steps - a timed scrub (slubd sets a lock deadline before it)
 * gives each locked step the wait afresh: a pool the scrub reaches after
 * the first deadline has passed, whose lock another thread holds for a
 * moment, is waited for and scrubbed, not skipped.  The scrub is held up in
 * its first pool's step (a hook sleeps there) until past the deadline,
 * while a helper takes the other pool's node lock and keeps it a while.
 */
#define TIMED_WAIT_MS	200	/* the scrub's deadline */
#define TIMED_STALL_MS	300	/* the first step, held up */
#define TIMED_HOLD_MS	400	/* the helper's hold of the other pool's lock, from the stall */
static struct kmem_cache_node *timed_node[2];
static int timed_first = -1;
static volatile int timed_go, timed_held;

static void timed_hook(enum shm_hook where)
{
	if (where != HOOK_LIST_LOCKED || !chunk_scrubbing || shm_lock_depth < 2 || timed_first >= 0)
		return;
	for (int i = 0; i < 2; i++) {
		uint32_t word = __atomic_load_n((uint32_t *)&timed_node[i]->list_lock.m,
						__ATOMIC_RELAXED);

		if ((word & FUTEX_TID_BITS) != (uint32_t)gettid())
			continue;
		timed_first = i;	/* the helper takes the other one's */
		__atomic_store_n(&timed_go, 1, __ATOMIC_RELEASE);
		for (int k = 0; k < 2000 && !__atomic_load_n(&timed_held, __ATOMIC_ACQUIRE); k++)
			usleep(1000);
		usleep(TIMED_STALL_MS * 1000);
		return;
	}
}

struct timed_helper {
	struct arena *a;
	struct kmem_cache *s[2];
	int rc;
};

static void *timed_holder(void *arg)
{
	struct timed_helper *h = arg;
	int other;

	while (!__atomic_load_n(&timed_go, __ATOMIC_ACQUIRE))
		usleep(500);
	other = 1 - timed_first;
	h->rc = node_lock(h->a, h->s[other], timed_node[other]);
	__atomic_store_n(&timed_held, 1, __ATOMIC_RELEASE);
	if (h->rc)
		return NULL;
	usleep(TIMED_HOLD_MS * 1000);
	node_unlock(timed_node[other]);
	return NULL;
}

ISOLATED_T(scrub_timed_steps, 60)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s0 = a ? unit_cache(a, "timed.0", 64, 0, SLAB_RECLAIM_DEAD, NULL) : NULL;
	struct kmem_cache *s1 = a ? unit_cache(a, "timed.1", 64, 0, SLAB_RECLAIM_DEAD, NULL) : NULL;
	struct child_out *o0 = shared_out(), *o1 = shared_out();
	struct timed_helper h = { a, { s0, s1 }, 0 };
	struct slab_scrub_result r;
	pthread_t th;
	pid_t p0, p1;
	int rc;

	if (!s0 || !s1 || !o0 || !o1)
		return;
	p0 = child_holding(a, s0, 100, 0, o0);
	p1 = child_holding(a, s1, 100, 0, o1);
	if (!wait_ready(o0) || !wait_ready(o1))
		return;
	kill(p0, SIGKILL);
	kill(p1, SIGKILL);
	waitpid(p0, NULL, 0);
	waitpid(p1, NULL, 0);
	timed_node[0] = cache_node(a, s0, 0);
	timed_node[1] = cache_node(a, s1, 0);
	REQUIRE(pthread_create(&th, NULL, timed_holder, &h) == 0);
	shm_test_hook = timed_hook;
	slab_lock_deadline(TIMED_WAIT_MS);
	chunk_scrubbing = true;
	rc = slab_scrub(a, &r);
	chunk_scrubbing = false;
	slab_lock_deadline(0);
	shm_test_hook = NULL;
	pthread_join(th, NULL);
	CHECKF(timed_first >= 0 && timed_held && h.rc == 0, "the setup did not happen (%d, %d, %d)",
	       timed_first, timed_held, h.rc);
	CHECKF(rc == 0, "scrub: %d", rc);
	CHECKF(r.reclaimed_objects == 200, "%llu objects of the dead processes freed (want 200): the "
	       "pool reached after the deadline was skipped", (unsigned long long)r.reclaimed_objects);
	arena_close(a);
}

/*
 * scrub_drained_partials - a process that drains a CPU partial list (the
 * list already cut off its CPU, each slab on its way to a node list) and
 * dies there - at its first node lock, HOOK_LIST_LOCKED - leaves slabs on no
 * list whose counters still name the process that last freed into them:
 * here the parent, alive.  Two scrubs must put every one of them back
 * (before the fix they stayed on no list as long as that freer lived:
 * "a live process is moving it"), and once the parent frees its objects
 * and shrinks, no slab is left.
 */
static void die_at_list_lock(enum shm_hook where)
{
	if (where == HOOK_LIST_LOCKED)
		raise(SIGKILL);
}

ISOLATED_T(scrub_drained_partials, 60)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s = a ? unit_cache(a, "drained", 256, 0, 0, NULL) : NULL;
	struct slab_cache_info ci;
	struct slab_scrub_result r1, r2;
	struct slab_validate_result vr;
	unsigned int per, chain;
	uint64_t n, orphans;
	void **p;
	cpu_set_t set;
	int cpu = sched_getcpu(), st = 0;
	pid_t kid;

	if (!s)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu < 0 ? 0 : cpu, &set);
	/* parent and child on one CPU: they share its partial list */
	CHECK(sched_setaffinity(0, sizeof(set), &set) == 0);
	unit_info(a, s, &ci);
	per = ci.objs_per_slab;
	chain = s->cpu_partial_slabs;
	CHECKF(chain >= 2, "cpu_partial_slabs %u", chain);
	n = (uint64_t)(chain + 3) * per;
	p = calloc(n, sizeof(*p));
	for (uint64_t i = 0; i < n; i++)
		CHECK((p[i] = slab_alloc(a, s, 0)) != NULL);
	/* slab i holds p[i*per .. (i+1)*per): free one object of each of the
	 * first `chain` full slabs, which fills this CPU's partial list */
	for (unsigned int i = 0; i < chain; i++) {
		slab_free(a, s, p[(uint64_t)i * per]);
		p[(uint64_t)i * per] = NULL;
	}
	kid = fork();
	if (kid == 0) {
		/* one more full slab gets a free object: the list drains, and we
		 * die at the drain's first node lock */
		shm_test_hook = die_at_list_lock;
		slab_free(a, s, p[(uint64_t)chain * per]);
		_exit(0);
	}
	waitpid(kid, &st, 0);
	CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
	       "the child did not die at its node lock (status %#x)", st);
	p[(uint64_t)chain * per] = NULL;	/* freed by the child (its push happened) */
	CHECK(slab_scrub(a, &r1) == 0);
	CHECK(slab_scrub(a, &r2) == 0);
	orphans = r1.orphans + r2.orphans;
	CHECKF(orphans == chain + 1,
	       "two scrubs put back %llu orphans (%llu + %llu), not the %u drained slabs and the "
	       "child's", (unsigned long long)orphans, (unsigned long long)r1.orphans,
	       (unsigned long long)r2.orphans, chain + 1);
	CHECKF(unit_validate(a, s, &vr) == 0 && vr.nr_errors == 0, "validate: %llu errors, first: %s",
	       (unsigned long long)vr.nr_errors, vr.first_error);
	for (uint64_t i = 0; i < n; i++)
		if (p[i])
			slab_free(a, s, p[i]);
	slab_shrink(a, s);
	unit_info(a, s, &ci);
	CHECKF(ci.num_slabs == 0, "%llu slabs left after every object was freed and the cache shrunk "
	       "(%llu on node partial lists)", (unsigned long long)ci.num_slabs,
	       (unsigned long long)ci.nr_partial);
	printf("  a drain of %u CPU partial slabs killed at its node lock: %llu + %llu orphans put back\n",
	       chain, (unsigned long long)r1.orphans, (unsigned long long)r2.orphans);
	free(p);
	arena_close(a);
}

/*
 * repair_walk_blocks - the repair after a process died holding a node's
 * list_lock walks the page descriptors with that lock held (node_unlist,
 * and debug_step_repair for a debug cache): on a large, mostly free arena
 * it must step over whole blocks, not visit each of its pages.  A 1 GiB
 * arena (262144 pages, reserved lazily) with a few slabs: the walks of one
 * repair visit fewer than 1/64 of its pages (before: every page, twice for
 * a debug cache).  The same for the page allocator's lock (zone_repair,
 * before: every page, each block's tail pages written).
 */
static void die_at_list_lock_hook(enum shm_hook where)
{
	if (where == HOOK_LIST_LOCKED)
		raise(SIGKILL);
}

static void die_at_zone_lock_hook(enum shm_hook where)
{
	if (where == HOOK_ZONE_LOCKED)
		raise(SIGKILL);
}

static int split_countdown;

static void die_at_split_hook(enum shm_hook where)
{
	if (where == HOOK_BUDDY_SPLIT && --split_countdown == 0)
		raise(SIGKILL);
}

ISOLATED_T(repair_walk_blocks, 60)
{
	uint64_t free_before = 0;
	struct arena_opts ao = { .size = 1ull << 30, .huge = ARENA_HUGE_OFF, .base = 1 };
	struct arena *a = NULL;
	char err[256] = "";
	struct kmem_cache *caches[2];
	struct slab_validate_result vr;

	CHECKF(arena_create(&ao, &a, err, sizeof(err)) == 0, "arena_create: %s", err);
	if (!a)
		return;
	caches[0] = unit_cache(a, "walk.plain", 256, 0, 0, NULL);
	caches[1] = unit_cache(a, "walk.debug", 256, 0, SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER,
			       NULL);
	if (!caches[0] || !caches[1])
		return;
	for (int k = 0; k < 2; k++) {
		struct kmem_cache *s = caches[k];
		struct kmem_cache_node *n = cache_node(a, s, 0);
		uint64_t steps;
		int st = 0;
		pid_t kid;

		for (unsigned int i = 0; i < 8 * oo_objects_of(s); i++) {
			void *p = slab_alloc(a, s, 0);

			CHECK(p != NULL);
			if (p && i % 2)
				slab_free(a, s, p);
		}
		kid = fork();
		if (kid == 0) {
			shm_test_hook = die_at_list_lock_hook;
			if (node_lock(a, s, n) == 0)
				node_unlock(n);
			_exit(3);
		}
		waitpid(kid, &st, 0);
		CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the holder was not killed (%#x)", st);
		steps = shm_repair_walk_steps;
		CHECK(node_lock(a, s, n) == 0);		/* runs the repair */
		node_unlock(n);
		steps = shm_repair_walk_steps - steps;
		CHECKF(steps > 0 && steps < a->nr_pages / 64,
		       "%s: the repair visited %llu page descriptors of %u", s->name,
		       (unsigned long long)steps, a->nr_pages);
		printf("  %s: the repair after a dead holder visited %llu of %u page descriptors\n",
		       s->name, (unsigned long long)steps, a->nr_pages);
		CHECKF(unit_validate(a, s, &vr) == 0 && vr.nr_errors == 0, "validate: %llu errors, first: %s",
		       (unsigned long long)vr.nr_errors, vr.first_error);
	}
	/* the page allocator's lock: zone_repair (a holder killed in a 2 MiB kmalloc) */
	for (int round = 0; round < 2; round++) {
		struct buddy_info bi;
		struct slab_scrub_result sr;
		uint64_t steps;
		char berr[256] = "";
		int st = 0;
		pid_t kid = fork();

		if (kid == 0) {
			shm_test_hook = die_at_zone_lock_hook;
			slab_kfree(a, slab_kmalloc(a, 2u << 20, 0));
			_exit(3);
		}
		waitpid(kid, &st, 0);
		CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the zone holder was not killed (%#x)", st);
		steps = shm_repair_walk_steps;
		CHECK(buddy_info(a, &bi) == 0);		/* takes the zone lock: runs the repair */
		steps = shm_repair_walk_steps - steps;
		CHECKF(steps > 0 && steps < a->nr_pages / 64,
		       "zone repair: visited %llu page descriptors of %u", (unsigned long long)steps,
		       a->nr_pages);
		printf("  zone repair after a dead holder: %llu of %u page descriptors\n",
		       (unsigned long long)steps, a->nr_pages);
		CHECK(slab_scrub(a, &sr) == 0);		/* frees the dead holder's block in transit */
		CHECKF(buddy_check(a, berr, sizeof(berr)) == 0, "buddy_check: %s", berr);
		if (round == 0) {
			CHECK(buddy_info(a, &bi) == 0);
			free_before = bi.nr_free;
		}
		for (int k = 0; k < 2; k++)
			CHECKF(unit_validate(a, caches[k], &vr) == 0 && vr.nr_errors == 0,
			       "validate: %llu errors, first: %s", (unsigned long long)vr.nr_errors,
			       vr.first_error);
		void *big = slab_kmalloc(a, 4u << 20, 0);
		CHECKF(big != NULL, "no 4 MiB block after the repair and the scrub");
		slab_kfree(a, big);
	}
	/*
	 * A holder killed halfway through a split (an upper half already a free
	 * head, the block's head still in transit with its old order): the
	 * repair clears the stale heads inside that block only, the scrub frees
	 * the block whole, and not a page is lost or handed out twice.
	 */
	for (int at = 1; at <= 4; at++) {	/* the smallest free block fitting takes 4 splits here */
		struct buddy_info bi;
		struct slab_scrub_result sr;
		char berr[256] = "";
		int st = 0;
		pid_t kid = fork();

		if (kid == 0) {
			split_countdown = at;
			shm_test_hook = die_at_split_hook;
			slab_kfree(a, slab_kmalloc(a, 16u << 10, 0));	/* a free block split down to order 2 */
			_exit(3);
		}
		waitpid(kid, &st, 0);
		CHECKF(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "split %d: the holder was not killed (%#x)",
		       at, st);
		CHECK(slab_scrub(a, &sr) == 0);
		CHECKF(sr.transit_blocks == 1, "split %d: the scrub freed %llu blocks in transit", at,
		       (unsigned long long)sr.transit_blocks);
		CHECKF(buddy_check(a, berr, sizeof(berr)) == 0, "split %d: buddy_check: %s", at, berr);
		CHECK(buddy_info(a, &bi) == 0);
		CHECKF(bi.nr_free == free_before, "split %d: %llu pages free, %llu before", at,
		       (unsigned long long)bi.nr_free, (unsigned long long)free_before);
		/* every page can be had again, once: take them all in 4 MiB blocks and pages */
		void *big = slab_kmalloc(a, 4u << 20, 0);
		CHECKF(big != NULL, "split %d: no 4 MiB block", at);
		slab_kfree(a, big);
	}
	arena_close(a);
}

/*
 * scrub_races - processes allocate and free in three pools (a plain one, a
 * SLAB_RECLAIM_DEAD one and one with red zones and poison) while two other
 * processes scrub without pause and the parent kills a worker at a random moment every few milliseconds (and
 * stops and resumes another), starting a new one each time; every eighth
 * kill takes a scrubber too, anywhere in its scrub.  Afterwards all
 * are killed, two scrubs run, and: validate finds no error in either pool,
 * the reclaiming pool has no object left allocated (each dead owner's were
 * freed, none twice: a double free would be reported), and once shrunk it
 * holds no slab (none lost off the lists).
 */
struct race_ctl {
	volatile int stop;
	volatile uint64_t ops, scrubs;
};

static void race_worker(struct arena *a, struct kmem_cache *s[3], struct race_ctl *ctl, uint64_t seed)
{
	void *held[3][96] = { { 0 } };

	while (!ctl->stop) {
		int k = (int)(t_rand(&seed) % 3), i = (int)(t_rand(&seed) % 96);

		if (held[k][i]) {
			slab_free(a, s[k], held[k][i]);
			held[k][i] = NULL;
		} else {
			held[k][i] = slab_alloc(a, s[k], 0);
		}
		__atomic_fetch_add(&ctl->ops, 1, __ATOMIC_RELAXED);
	}
	_exit(0);
}

static void race_scrubber(struct arena *a, struct race_ctl *ctl)
{
	while (!ctl->stop) {
		struct slab_scrub_result rr;

		if (slab_scrub(a, &rr) == 0)
			__atomic_fetch_add(&ctl->scrubs, 1, __ATOMIC_RELAXED);
	}
	_exit(0);
}

ISOLATED_T(scrub_races, 90)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s[3];
	struct race_ctl *ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	enum { WORKERS = 4, SCRUBBERS = 2 };
	pid_t w[WORKERS], sc[SCRUBBERS];
	struct slab_scrub_result r;
	struct slab_validate_result vr;
	struct slab_cache_info ci;
	uint64_t seed = 0x5eed, kills = 0, scrubber_kills = 0, t_end;
	int st;

	if (!a || ctl == MAP_FAILED)
		return;
	s[0] = unit_cache(a, "race.plain", 96, 0, 0, NULL);
	s[1] = unit_cache(a, "race.reclaim", 96, 0, SLAB_RECLAIM_DEAD, NULL);
	s[2] = unit_cache(a, "race.debug", 200, 0, SLAB_RED_ZONE | SLAB_POISON, NULL);
	if (!s[0] || !s[1] || !s[2])
		return;
	for (int i = 0; i < WORKERS; i++)
		if ((w[i] = fork()) == 0)
			race_worker(a, s, ctl, 1000 + (uint64_t)i);
	for (int i = 0; i < SCRUBBERS; i++)
		if ((sc[i] = fork()) == 0)
			race_scrubber(a, ctl);
	t_end = t_now_ms() + 4000;
	while (t_now_ms() < t_end) {
		int v = (int)(t_rand(&seed) % WORKERS), u = (v + 1) % WORKERS;

		usleep((useconds_t)(1000 + t_rand(&seed) % 4000));
		kill(w[u], SIGSTOP);
		usleep((useconds_t)(t_rand(&seed) % 2000));
		kill(w[v], SIGKILL);
		waitpid(w[v], &st, 0);
		kill(w[u], SIGCONT);
		kills++;
		if ((w[v] = fork()) == 0)
			race_worker(a, s, ctl, 5000 + kills);
		if (kills % 8 == 0) {
			/* a scrubber dies too, anywhere in its scrub */
			int k = (int)(kills / 8 % SCRUBBERS);

			kill(sc[k], SIGKILL);
			waitpid(sc[k], &st, 0);
			scrubber_kills++;
			if ((sc[k] = fork()) == 0)
				race_scrubber(a, ctl);
		}
	}
	for (int i = 0; i < WORKERS; i++) {
		kill(w[i], SIGKILL);
		waitpid(w[i], &st, 0);
	}
	ctl->stop = 1;
	for (int i = 0; i < SCRUBBERS; i++)
		waitpid(sc[i], &st, 0);
	CHECK(slab_scrub(a, &r) == 0);
	CHECK(slab_scrub(a, &r) == 0);
	for (int k = 0; k < 3; k++) {
		CHECKF(unit_validate(a, s[k], &vr) == 0 && vr.nr_errors == 0, "%s: validate: %llu errors, "
		       "first: %s", s[k]->name, (unsigned long long)vr.nr_errors, vr.first_error);
		unit_info(a, s[k], &ci);
		for (int e = 0; e < SLAB_ERR_NR; e++)
			CHECKF(e == SLAB_ERR_LEAK || ci.errors[e] == 0, "%s: %llu errors of kind %d",
			       s[k]->name, (unsigned long long)ci.errors[e], e);
	}
	CHECK(slab_shrink(a, s[1]) >= 0);
	unit_info(a, s[1], &ci);
	CHECKF(ci.active_objs == 0 && ci.num_slabs == 0,
	       "race.reclaim: %llu objects still allocated, %llu slabs after every owner died and "
	       "the pool was shrunk", (unsigned long long)ci.active_objs,
	       (unsigned long long)ci.num_slabs);
	printf("  %llu worker kills, %llu scrubber kills, %llu worker ops, %llu concurrent scrubs\n",
	       (unsigned long long)kills, (unsigned long long)scrubber_kills,
	       (unsigned long long)ctl->ops, (unsigned long long)ctl->scrubs);
	arena_close(a);
}

/*
 * reclaim_races - slab_reclaim_dead (slubctl reclaim, kmem_cache_reclaim)
 * beside live owners: workers allocate and free in a SLAB_STORE_USER pool,
 * each stamping its objects with its pid and checking the stamps of all it
 * holds before each free, while two processes reclaim without pause and the
 * parent kills a worker every few milliseconds (a new one takes its place),
 * now and then a reclaimer too.  A live worker's object freed under it would
 * show as a stamp changed (handed to another worker, or a free pointer
 * written into it) or as a double free when the worker frees it.  At the
 * end: no stamp ever changed, no error but the dead owners' reports, and
 * one more reclaim leaves the pool empty.
 */
struct reclaim_race {
	volatile int stop;
	volatile uint64_t ops, reclaims, freed, bad;
};

static void reclaim_race_worker(struct arena *a, struct kmem_cache *s, struct reclaim_race *ctl,
				uint64_t seed)
{
	uint64_t *held[64] = { 0 }, me = (uint64_t)getpid() << 32;

	while (!ctl->stop) {
		int i = (int)(t_rand(&seed) % 64);

		if (held[i]) {
			for (int j = 0; j < 64; j++)
				if (held[j] && (held[j][0] != (me | (uint64_t)j) ||
						held[j][7] != ~(me | (uint64_t)j)))
					__atomic_fetch_add(&ctl->bad, 1, __ATOMIC_RELAXED);
			slab_free(a, s, held[i]);
			held[i] = NULL;
		} else if ((held[i] = slab_alloc(a, s, 0))) {
			held[i][0] = me | (uint64_t)i;
			held[i][7] = ~(me | (uint64_t)i);
		}
		__atomic_fetch_add(&ctl->ops, 1, __ATOMIC_RELAXED);
	}
	_exit(0);
}

static void reclaim_race_reclaimer(struct arena *a, struct kmem_cache *s, struct reclaim_race *ctl)
{
	while (!ctl->stop) {
		struct slab_scrub_result rr;

		if (slab_reclaim_dead(a, s, &rr) == 0) {
			__atomic_fetch_add(&ctl->reclaims, 1, __ATOMIC_RELAXED);
			__atomic_fetch_add(&ctl->freed, rr.reclaimed_objects, __ATOMIC_RELAXED);
		}
	}
	_exit(0);
}

ISOLATED_T(reclaim_races, 90)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s = a ? unit_cache(a, "race.owned", 64, 0, SLAB_STORE_USER, NULL) : NULL;
	struct reclaim_race *ctl = mmap(NULL, sizeof(*ctl), PROT_READ | PROT_WRITE,
					MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	enum { WORKERS = 4, RECLAIMERS = 2 };
	pid_t w[WORKERS], rc[RECLAIMERS];
	struct slab_scrub_result r;
	struct slab_validate_result vr;
	struct slab_cache_info ci;
	uint64_t seed = 0x7ec1a1, kills = 0, t_end;
	int st;

	if (!s || ctl == MAP_FAILED)
		return;
	for (int i = 0; i < WORKERS; i++)
		if ((w[i] = fork()) == 0)
			reclaim_race_worker(a, s, ctl, 1000 + (uint64_t)i);
	for (int i = 0; i < RECLAIMERS; i++)
		if ((rc[i] = fork()) == 0)
			reclaim_race_reclaimer(a, s, ctl);
	t_end = t_now_ms() + 4000;
	while (t_now_ms() < t_end) {
		int v = (int)(t_rand(&seed) % WORKERS);

		usleep((useconds_t)(1000 + t_rand(&seed) % 4000));
		kill(w[v], SIGKILL);
		waitpid(w[v], &st, 0);
		kills++;
		if ((w[v] = fork()) == 0)
			reclaim_race_worker(a, s, ctl, 5000 + kills);
		if (kills % 8 == 0) {
			/* a reclaimer dies too, anywhere in its steps */
			int k = (int)(kills / 8 % RECLAIMERS);

			kill(rc[k], SIGKILL);
			waitpid(rc[k], &st, 0);
			if ((rc[k] = fork()) == 0)
				reclaim_race_reclaimer(a, s, ctl);
		}
	}
	ctl->stop = 1;
	for (int i = 0; i < WORKERS; i++)
		waitpid(w[i], &st, 0);
	for (int i = 0; i < RECLAIMERS; i++)
		waitpid(rc[i], &st, 0);
	CHECKF(ctl->bad == 0, "%llu stamps of live workers' objects changed: freed under them",
	       (unsigned long long)ctl->bad);
	CHECKF(ctl->freed > 0, "the reclaimers freed nothing of %llu dead workers",
	       (unsigned long long)kills);
	CHECK(slab_scrub(a, &r) == 0);	/* what a killed reclaimer left half done */
	CHECK(slab_reclaim_dead(a, s, &r) == 0);
	CHECKF(unit_validate(a, s, &vr) == 0 && vr.nr_errors == 0, "validate: %llu errors, first: %s",
	       (unsigned long long)vr.nr_errors, vr.first_error);
	unit_info(a, s, &ci);
	for (int e = 0; e < SLAB_ERR_NR; e++)
		CHECKF(e == SLAB_ERR_LEAK || ci.errors[e] == 0, "%llu errors of kind %s",
		       (unsigned long long)ci.errors[e], slab_error_name((enum slab_error)e));
	CHECKF(ci.active_objs == 0, "%llu objects still allocated once every worker exited and "
	       "the pool was reclaimed", (unsigned long long)ci.active_objs);
	printf("  %llu worker kills, %llu worker ops, %llu reclaims beside them freed %llu objects\n",
	       (unsigned long long)kills, (unsigned long long)ctl->ops,
	       (unsigned long long)ctl->reclaims, (unsigned long long)ctl->freed);
	arena_close(a);
}

/*
 * discard_dead_pool - slab_cache_discard (reclaim --force) on a plain pool
 * that a killed process left 700-odd objects in: full slabs (on no list),
 * partial ones, a CPU slab and CPU partial ones.  Refused while the pool is
 * referenced; then every slab goes back to the page allocator (buddy_check
 * holds, the pages are free again), the pool can be removed, and another
 * pool's objects held by this process are untouched.
 */
ISOLATED(discard_dead_pool)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s = a ? unit_cache(a, "dis.plain", 64, 0, 0, NULL) : NULL;
	struct kmem_cache *other = a ? unit_cache(a, "dis.other", 64, 0, 0, NULL) : NULL;
	struct child_out *o = shared_out();
	struct slab_scrub_result r;
	struct slab_validate_result v;
	struct slab_cache_info ci;
	struct buddy_info b0, b1;
	uint64_t *mine[50];
	char berr[160];
	pid_t pid;

	if (!s || !other || !o)
		return;
	for (int i = 0; i < 50; i++) {
		mine[i] = slab_alloc(a, other, 0);
		REQUIRE(mine[i] != NULL);
		mine[i][0] = 0xd15ca4d00u + (uint64_t)i;
	}
	CHECK(buddy_info(a, &b0) == 0);
	pid = fork();
	if (pid == 0) {
		void *p[1000];

		for (int i = 0; i < 1000; i++)
			if (!(p[i] = slab_alloc(a, s, 0)))
				_exit(3);
		for (int i = 0; i < 1000; i += 3)
			slab_free(a, s, p[i]);	/* partial slabs, CPU partial ones */
		o->ready = 1;
		for (;;)
			pause();
	}
	if (!wait_ready(o))
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unit_info(a, s, &ci);
	CHECKF(ci.active_objs == 666, "dis.plain: %llu objects before, want 666",
	       (unsigned long long)ci.active_objs);
	CHECKF(slab_cache_discard(a, s, &r) == -EBUSY, "discard of a referenced pool not refused");
	CHECK(slab_cache_destroy(a, s) == -EBUSY);	/* unreferenced, kept for its objects */
	CHECK(slab_cache_discard(a, s, &r) == 0);
	CHECKF(r.discarded_objects == 666 && r.kept_slabs == 0, "discarded %llu objects, %llu slabs "
	       "kept (want 666, 0)", (unsigned long long)r.discarded_objects,
	       (unsigned long long)r.kept_slabs);
	CHECKF(slab_cache_destroy(a, s) == 0, "the emptied pool is not removed");
	CHECKF(buddy_check(a, berr, sizeof(berr)) == 0, "buddy_check: %s", berr);
	CHECK(buddy_info(a, &b1) == 0);
	CHECKF(b1.nr_free == b0.nr_free, "%llu pages free after, %llu before the dead process",
	       (unsigned long long)b1.nr_free, (unsigned long long)b0.nr_free);
	for (int i = 0; i < 50; i++)
		CHECKF(mine[i][0] == 0xd15ca4d00u + (uint64_t)i, "our object %d of dis.other changed",
		       i);
	CHECK(unit_validate(a, NULL, &v) == 0 && v.nr_errors == 0);
	for (int i = 0; i < 50; i++)
		slab_free(a, other, mine[i]);
	arena_close(a);
}

T_MAIN(T_CASE(reclaim_dead_owner),
       T_CASE(store_user_leak_reported_once),
       T_CASE(give_and_owner_errors),
       T_CASE(destroyed_cache_use_caught),
       T_CASE(cap_objects),
       T_CASE(cap_bytes),
       T_CASE(cap_races),
       T_CASE(cap_kills),
       T_CASE(cache_at_arena_end),
       T_CASE(scrub_chunked),
       T_CASE(scrub_timed_steps),
       T_CASE(scrub_drained_partials),
       T_CASE(repair_walk_blocks),
       T_CASE(scrub_races),
       T_CASE(reclaim_races),
       T_CASE(discard_dead_pool))
