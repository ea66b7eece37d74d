/*
 * t_owner.c - what the engine does for a process that dies or misuses a
 * pool: objects of dead owners counted and reported by pid
 * (SLAB_STORE_USER) or freed (SLAB_RECLAIM_DEAD), ownership handed over
 * with slab_give, the use of a destroyed cache caught, and per-cache caps;
 * a dead process's plain pool discarded whole (discard_dead_pool).
 * t_owner_scrub.c has the scrub's bounded steps and its races.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <time.h>

#include "internal.h"	/* cache_node, shm_lock_depth: scrub_chunked */
#include "layout.h"	/* CACHE_QUARANTINE */
#include "unit.h"
#include "owner.h"

static const struct slab_report *find_kind(enum slab_error k)
{
	for (int i = 0; i < nrep && i < MAXREP; i++)
		if (rep[i].kind == (uint32_t)k)
			return &rep[i];
	return NULL;
}

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
       T_CASE(discard_dead_pool))
