/*
 * t_owner_scrub.c - the scrub that frees what dead owners left: its bounded
 * steps (scrub_chunked, scrub_timed_steps), drained partial lists, the walk
 * over blocks a dying process left mid-change (repair_walk_blocks), the
 * scrub and reclaim beside live owners (scrub_races, reclaim_races).
 */
#include <pthread.h>
#include <sched.h>
#include <sys/prctl.h>
#include <time.h>

#include "internal.h"	/* cache_node, shm_lock_depth: scrub_chunked */
#include "layout.h"	/* CACHE_QUARANTINE */
#include "unit.h"
#include "owner.h"

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
 * here the parent, alive.  Two scrubs must put every one of them back,
 * although that freer lives (a slab on no list whose last freer lives is
 * not taken for one a live process is moving), and once the parent frees
 * its objects and shrinks, no slab is left.
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

T_MAIN(T_CASE(scrub_chunked),
       T_CASE(scrub_timed_steps),
       T_CASE(scrub_drained_partials),
       T_CASE(repair_walk_blocks),
       T_CASE(scrub_races),
       T_CASE(reclaim_races))
