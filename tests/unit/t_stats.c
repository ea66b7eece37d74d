/*
 * t_stats.c - the statistics of pools (slubd's stats) come from the
 * counters, not from a walk of the arena's pages: they visit no more page
 * descriptors than the pools have slabs, give the figures the page walk
 * (slab_cache_info_walk, the reference) gives on a populated arena, the same
 * pool by pool as many at once (also on an arena whose page descriptors and
 * CPU slabs were scribbled), and validate reports a slab that stats cannot
 * reach.
 */
#include <sched.h>

#include "unit.h"
#include "internal.h"	/* pd_of_pfn, cache_cpu, shm_stats_walk_steps */

#define NPOOLS 24

struct pop {
	struct kmem_cache *s[NPOOLS];
};

/* NPOOLS pools of assorted sizes and flags, with objects allocated and freed on two CPUs */
static int populate(struct arena *a, struct pop *p)
{
	static const size_t sizes[] = { 8, 24, 64, 96, 200, 512, 1000, 3000 };
	uint64_t st = 0x5eed;
	cpu_set_t set;
	int ncpu = 0;

	for (int i = 0; i < NPOOLS; i++) {
		char name[32];
		unsigned long flags = i % 5 == 3 ? SLAB_RED_ZONE | SLAB_POISON : 0;

		snprintf(name, sizeof(name), "pool%d", i);
		p->s[i] = unit_cache(a, name, sizes[i % 8] + (size_t)i, 0, flags, NULL);
		if (!p->s[i])
			return -1;
	}
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		ncpu = CPU_COUNT(&set);
	for (int round = 0; round < 2; round++) {
		if (ncpu > 1) {
			/* best effort: a second CPU's slabs too */
			cpu_set_t one;
			int want = round, seen = 0;

			CPU_ZERO(&one);
			for (int c = 0; c < CPU_SETSIZE; c++)
				if (CPU_ISSET(c, &set) && seen++ == want) {
					CPU_SET(c, &one);
					break;
				}
			(void)sched_setaffinity(0, sizeof(one), &one);
		}
		for (int i = 0; i < NPOOLS; i++) {
			unsigned int n = (unsigned int)(t_rand(&st) % 700);
			void **obj = calloc(n + 1, sizeof(*obj));
			unsigned int got = 0;

			if (!obj)
				return -1;
			for (; got < n; got++)
				if (!(obj[got] = slab_alloc(a, p->s[i], 0)))
					break;
			/* free about half, scattered: partial slabs, full ones, empty ones */
			for (unsigned int k = 0; k < got; k++)
				if (t_rand(&st) % 2)
					slab_free(a, p->s[i], obj[k]);
			free(obj);	/* the rest stay allocated */
		}
	}
	if (ncpu > 1)
		(void)sched_setaffinity(0, sizeof(set), &set);
	return 0;
}

/*
 * slab_cache_info_many over caches[] gives what slab_cache_info gives for
 * each, visiting no page descriptor but the pools' slabs (and CPU slabs);
 * walk: and the four slab figures the page walk finds
 */
static void compare(struct arena *a, struct kmem_cache *const *caches, unsigned int n,
		    const char *when, bool walk)
{
	struct slab_cache_info *many = calloc(n + 1, sizeof(*many)), *ref = calloc(n + 1, sizeof(*ref));
	struct slab_cache_info one;
	uint64_t steps, slabs = 0;

	if (!many || !ref) {
		CHECKF(0, "%s: out of memory", when);
		free(many);
		free(ref);
		return;
	}
	steps = shm_stats_walk_steps;
	CHECKF(slab_cache_info_many(a, caches, n, many) == 0, "%s: slab_cache_info_many failed", when);
	steps = shm_stats_walk_steps - steps;
	for (unsigned int i = 0; i < n; i++)
		slabs += many[i].num_slabs;
	/* the slabs on lists and the CPU slabs, never the arena's pages */
	CHECKF(steps <= slabs + (uint64_t)n * a->nr_cpus, "%s: %llu page descriptors visited for %u "
	       "pools of %llu slabs on %u CPUs (an arena of %u pages)", when,
	       (unsigned long long)steps, n, (unsigned long long)slabs, a->nr_cpus, a->nr_pages);
	CHECKF(slab_cache_info_walk(a, caches, n, ref) == 0, "%s: slab_cache_info_walk failed", when);
	for (unsigned int i = 0; i < n; i++) {
		int rc;

		memset(&one, 0, sizeof(one));
		rc = slab_cache_info(a, caches[i], &one);
		if (rc) {
			CHECKF(rc == -EINVAL, "%s: entry %u: slab_cache_info rc=%d", when, i, rc);
			CHECKF(many[i].offset == 0, "%s: entry %u is not a cache, yet has offset %#llx",
			       when, i, (unsigned long long)many[i].offset);
			CHECKF(ref[i].offset == 0, "%s: entry %u is not a cache, yet the walk gives "
			       "offset %#llx", when, i, (unsigned long long)ref[i].offset);
			continue;
		}
		CHECKF(!memcmp(&one, &many[i], sizeof(one)),
		       "%s: pool %s (entry %u): per pool: slabs %llu active of %llu, objects %llu "
		       "active of %llu, %llu partial; at once: slabs %llu of %llu, objects %llu of "
		       "%llu, %llu partial", when, one.name, i,
		       (unsigned long long)one.active_slabs, (unsigned long long)one.num_slabs,
		       (unsigned long long)one.active_objs, (unsigned long long)one.num_objs,
		       (unsigned long long)one.nr_partial,
		       (unsigned long long)many[i].active_slabs, (unsigned long long)many[i].num_slabs,
		       (unsigned long long)many[i].active_objs, (unsigned long long)many[i].num_objs,
		       (unsigned long long)many[i].nr_partial);
		if (walk)
			CHECKF(one.num_slabs == ref[i].num_slabs && one.num_objs == ref[i].num_objs &&
			       one.active_objs == ref[i].active_objs &&
			       one.active_slabs == ref[i].active_slabs,
			       "%s: pool %s (entry %u): counters: slabs %llu active of %llu, objects %llu "
			       "active of %llu; the page walk: slabs %llu of %llu, objects %llu of %llu",
			       when, one.name, i,
			       (unsigned long long)one.active_slabs, (unsigned long long)one.num_slabs,
			       (unsigned long long)one.active_objs, (unsigned long long)one.num_objs,
			       (unsigned long long)ref[i].active_slabs, (unsigned long long)ref[i].num_slabs,
			       (unsigned long long)ref[i].active_objs, (unsigned long long)ref[i].num_objs);
	}
	free(many);
	free(ref);
}

ISOLATED(stats_from_counters)
{
	struct arena *a = unit_arena();
	struct kmem_cache *rev[NPOOLS + 3];
	struct pop p;
	uint64_t objs = 0;

	REQUIRE(a);
	REQUIRE(populate(a, &p) == 0);
	compare(a, p.s, NPOOLS, "all pools", true);
	{
		struct slab_cache_info ci;

		for (int i = 0; i < NPOOLS; i++)
			if (unit_info(a, p.s[i], &ci) == 0)
				objs += ci.active_objs;
		CHECKF(objs > 1000, "only %llu objects allocated: the arena is not populated",
		       (unsigned long long)objs);
	}
	/* any order, a pool twice, one that is not a pool, a single pool */
	for (int i = 0; i < NPOOLS; i++)
		rev[i] = p.s[NPOOLS - 1 - i];
	rev[NPOOLS] = p.s[3];
	rev[NPOOLS + 1] = (struct kmem_cache *)((char *)p.s[5] + 8);
	rev[NPOOLS + 2] = NULL;
	compare(a, rev, NPOOLS + 3, "reversed, a duplicate, two non-pools", true);
	compare(a, &p.s[7], 1, "one pool", true);
	compare(a, p.s, 0, "none", true);
	arena_close(a);
}

/* heads of slabs of s, up to max */
static unsigned int heads_of(struct arena *a, struct kmem_cache *s, uint32_t *pfns, unsigned int max)
{
	unsigned int n = 0;

	for (uint32_t pfn = a->first_pfn; pfn < a->nr_pages && n < max; pfn++) {
		struct page_desc *pd = pd_of_pfn(a, pfn);

		if ((pd->flags & (PG_HEAD | PG_SLAB)) == (PG_HEAD | PG_SLAB) && pd->cache == s->self)
			pfns[n++] = pfn;
	}
	return n;
}

ISOLATED(stats_scribbled)
{
	struct arena *a = unit_arena();
	uint32_t h0[4], h1[4], h2[4];
	struct pop p;

	REQUIRE(a);
	REQUIRE(populate(a, &p) == 0);
	REQUIRE(heads_of(a, p.s[1], h1, 4) >= 3 && heads_of(a, p.s[2], h2, 4) >= 2 &&
		heads_of(a, p.s[0], h0, 4) >= 1);
	/* a slab of pool1 said to be pool0's; another said to be nobody's cache */
	pd_of_pfn(a, h1[0])->cache = p.s[0]->self;
	pd_of_pfn(a, h1[1])->cache = (aoff_t)0xdeadbeef0ULL;
	/* a slab quarantined after a corrupt free pointer: all of it counts allocated */
	pd_of_pfn(a, h1[2])->flags |= PG_CORRUPT;
	/* a tail page said to be a slab head of pool2, with garbage counters */
	if (h2[0] + 1 < a->nr_pages && !(pd_of_pfn(a, h2[0] + 1)->flags & PG_HEAD)) {
		struct page_desc *t = pd_of_pfn(a, h2[0] + 1);

		t->flags |= PG_HEAD | PG_SLAB;
		t->cache = p.s[2]->self;
	}
	/* CPU slabs: one outside the arena, one another pool's, one pool0's own */
	atomic_store_relaxed(&cache_cpu(a, p.s[3], 0)->slab_pfn, a->nr_pages + 5);
	atomic_store_relaxed(&cache_cpu(a, p.s[4], 0)->slab_pfn, h2[1]);
	atomic_store_relaxed(&cache_cpu(a, p.s[6], 0)->slab_pfn, h0[0]);
	if (a->nr_cpus > 1)
		atomic_store_relaxed(&cache_cpu(a, p.s[0], 1)->slab_pfn, h0[0]);
	/* a freelist pointing out of the slab */
	atomic_store_relaxed(&cache_cpu(a, p.s[5], 0)->fl.lo, (aoff_t)12345);
	compare(a, p.s, NPOOLS, "scribbled", false);
	/* a descriptor that fails its checks: shown, not walked */
	p.s[8]->size = 0;
	compare(a, p.s, NPOOLS, "scribbled descriptor", false);
	arena_close(a);
}

/*
 * a slab with free objects taken off its node's partial list, on no list and
 * held by a live process (this one) as a mover holds it (between its list
 * lock and its CPU lock, which validate may hold): stats, which follows the
 * lists, counts its free objects as allocated until the mover is done; the
 * walk finds them; validate, which compares the two on listed slabs only,
 * reports nothing (the state is a live mover's, not an error)
 */
ISOLATED(stats_transit_not_error)
{
	struct arena *a = unit_arena();
	struct slab_validate_result r;
	struct page_desc *victim = NULL;
	struct slab_cache_info ci, ref;
	struct kmem_cache *s;
	struct pop p;

	REQUIRE(a);
	REQUIRE(populate(a, &p) == 0);
	REQUIRE(slab_validate(a, NULL, &r) == 0);
	for (int i = 0; i < NPOOLS && !victim; i++) {
		s = p.s[i];
		for (uint32_t pfn = a->first_pfn; pfn < a->nr_pages; pfn++) {
			struct page_desc *pd = pd_of_pfn(a, pfn);

			if ((pd->flags & (PG_HEAD | PG_SLAB)) == (PG_HEAD | PG_SLAB) &&
			    pd->cache == s->self && pd->list == SL_NODE_PARTIAL) {
				victim = pd;
				break;
			}
		}
	}
	REQUIRE(victim);
	{
		struct kmem_cache_node *n = cache_node(a, s, victim->node);
		uint64_t cnt = atomic_load_relaxed(&victim->slab.hi);

		olist_del(a, &victim->lru);
		n->nr_partial--;
		victim->list = SL_NONE;
		atomic_store_relaxed(&victim->slab.hi, CNT_MAKE(CNT_INUSE(cnt), CNT_OBJECTS(cnt), 0,
								arena_self(a)));
	}
	REQUIRE(unit_info(a, s, &ci) == 0);
	REQUIRE(slab_cache_info_walk(a, &s, 1, &ref) == 0);
	CHECKF(ci.active_objs > ref.active_objs, "%s: stats count %llu objects allocated, the walk "
	       "%llu: the slab off its list is not missed", ci.name,
	       (unsigned long long)ci.active_objs, (unsigned long long)ref.active_objs);
	CHECKF(slab_validate(a, s, &r) == 0 && r.nr_errors == 0, "validate: %llu errors (%llu of "
	       "the counters), first: %s", (unsigned long long)r.nr_errors,
	       (unsigned long long)r.errors[SLAB_ERR_COUNTERS], r.first_error);
	arena_close(a);
}

T_MAIN(T_CASE(stats_from_counters),
       T_CASE(stats_scribbled),
       T_CASE(stats_transit_not_error))
