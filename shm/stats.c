/*
 * stats.c - a cache's figures for slubctl stats, /proc/slabinfo style, from
 * its counters: O(CPUs + nodes + slabs on its partial lists) per cache,
 * never a walk of the arena's pages, and no lock taken.
 *
 * Where each figure comes from:
 *
 *   num_slabs, num_objs   the nodes' nr_slabs and total_objects: counted
 *                         under the zone lock, with a log that the next
 *                         locker finishes or undoes after a death (struct
 *                         acct_log, buddy.c), so exact whenever the zone
 *                         lock is free.  A block on its way in or out (made,
 *                         not yet a slab; or being discarded) is counted.
 *   active_objs           num_objs less the free objects.  A free object is
 *                         on the freelist of a slab that is not full, or on
 *                         a CPU's lockless freelist.  A slab with a free
 *                         object is a CPU slab, or on a CPU partial list, or
 *                         on its node's partial list (debug caches: only
 *                         there): so the free objects are counted by reading
 *                         each CPU's slab and following those lists, and a
 *                         full slab, on no list, is never visited.  Each
 *                         slab's free count is objects - inuse of its
 *                         {freelist, counters} pair, which one CAS keeps
 *                         exact (inuse + |freelist| == objects); a CPU slab
 *                         adds the length of its CPU's lockless freelist.
 *   active_slabs          num_slabs less the slabs found with every object
 *                         free.
 *   nr_partial, the path counters, errors and caps: read from the node,
 *                         CPU and cache descriptors as they are.
 *
 * Why not a counter of free (or allocated) objects: objects become free and
 * allocated in lock-free CAS steps (the CPU freelist's {freelist, tid}, a
 * slab's {freelist, counters}); a counter kept beside them is a second
 * store, and a process killed between the CAS and that store would leave it
 * wrong for good (the per-CPU path counters are such counters: approximate).
 * The only exact records are the pairs themselves, so the slabs that may hold
 * free objects are read, and only those: the partial lists hold slabs with
 * free objects, bounded by the slabs in use, never by the arena's size
 * (the kernel counts /proc/slabinfo's active objects the same way,
 * count_partial).
 *
 * No lock.  The lists are followed without their locks, so that a client
 * stopped (or stuck) inside a list lock cannot stall slubd's stats.  A slab
 * moved while the lists are read may be missed or seen twice, so the figures
 * are exact while nothing allocates or frees, as the page walk's were.  It
 * cannot go wild: every offset read from the arena is checked before it is
 * followed (a list link by pd_of_lru, then the slab head's flags and cache;
 * a CPU's slab pfn against nr_pages; a free pointer against the slab's
 * objects), each list walk stops after as many entries as the cache has
 * slabs, a CPU freelist after the slab's objects in use, and the figures are
 * clamped (a free count never above num_objs).
 *
 * validate keeps the full walk of the pages.  It does not compare these
 * figures with its walk: while it holds every lock of a cache, a live
 * process may still hold a slab between its lockless step and the lock it
 * waits for, so the two may differ with nothing wrong (t_owner_scrub
 * scrub_races found such a difference about once in ten runs).  The tests
 * compare them on a still arena (t_stats).
 *
 * slab_cache_info_walk is the page walk these figures replace, kept as the
 * reference the tests and the bench compare them with: not used by slubd.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

__thread uint64_t shm_stats_walk_steps;	/* internal.h */

#define STAT_NAME(e, name, shown) [e] = #name,
static const char *const stat_names[NR_SLAB_STATS] = { SLAB_STAT_LIST(STAT_NAME) };
#undef STAT_NAME

const char *slab_stat_name(enum slab_stat st)
{
	return st < NR_SLAB_STATS ? stat_names[st] : "unknown";
}

/*
 * info_head - what slab_cache_info says of s without following its lists:
 * the descriptor's figures and the counters summed over its CPUs and nodes.
 * -EINVAL when s is no cache; 1 when its descriptor fails cache_check (one
 * more error of that kind counted: nothing is to be followed from it); 0
 * when its slabs may be counted.
 */
static int info_head(struct arena *a, struct kmem_cache *s, struct slab_cache_info *out)
{
	int bad;

	memset(out, 0, sizeof(*out));
	if (!s || !cache_of_off(a, arena_off_of(a, s)))
		return -EINVAL;
	cache_name_safe(s, out->name);
	out->offset = s->self;
	out->flags = s->flags & ~SLAB_KMALLOC;	/* the engine's own: the user's flags shown */
	out->object_size = s->object_size;
	out->size = s->size;
	out->align = s->align;
	out->offset_fp = s->offset;
	out->red_left_pad = s->red_left_pad;
	out->inuse = s->inuse;
	out->order = oo_order(s->oo) <= BUDDY_MAX_ORDER ? oo_order(s->oo) : 0;
	out->objs_per_slab = oo_objects(s->oo);
	out->min_order = oo_order(s->min) <= BUDDY_MAX_ORDER ? oo_order(s->min) : 0;
	out->min_partial = s->min_partial;
	out->cpu_partial = s->cpu_partial;
	out->refcount = s->refcount;
	out->max_objects = atomic_load_relaxed(&s->max_objects);
	out->max_bytes = atomic_load_relaxed(&s->max_bytes);
	for (int e = 0; e < SLAB_ERR_NR; e++)
		out->errors[e] = atomic_load_relaxed(&s->errors[e]);
	bad = cache_check(a, s, NULL, 0);
	if (bad) {
		out->errors[bad]++;
		return 1;
	}
	for (unsigned int cpu = 0; cpu < s->nr_cpus; cpu++) {
		struct kmem_cache_cpu *c = cache_cpu(a, s, cpu);

		for (int st = 0; st < NR_SLAB_STATS; st++)
			out->stat[st] += atomic_load_relaxed(&c->stat[st]);
		out->stat[ALLOC_FASTPATH] += atomic_load_relaxed(&c->alloc_fast);
		out->stat[FREE_FASTPATH] += atomic_load_relaxed(&c->free_fast);
	}
	for (unsigned int node = 0; node < s->nr_nodes; node++)
		out->nr_partial += atomic_load_relaxed(&cache_node(a, s, node)->nr_partial);
	return 0;
}

/*
 * The geometry the counting follows, read once from a descriptor that
 * passed cache_check and checked again here, so that a scribble on the
 * descriptor meanwhile cannot move a read outside the arena.
 */
struct stats_geom {
	aoff_t self;
	uint32_t size, red_left_pad, nr_cpus, nr_nodes;
	uint32_t fp_offset;		/* the free pointer, from the object's start */
	uint64_t random;		/* the freelist hardening key */
	aoff_t cpu_slab;
	struct kmem_cache_node *node[SLUB_MAX_NODES];
};

static int stats_geom(struct arena *a, struct kmem_cache *s, struct stats_geom *g)
{
	g->self = s->self;
	g->size = __atomic_load_n(&s->size, __ATOMIC_RELAXED);
	g->red_left_pad = __atomic_load_n(&s->red_left_pad, __ATOMIC_RELAXED);
	g->nr_cpus = a->nr_cpus;	/* cache_check: s->nr_cpus == a->nr_cpus */
	g->nr_nodes = __atomic_load_n(&s->nr_nodes, __ATOMIC_RELAXED);
	g->cpu_slab = __atomic_load_n(&s->cpu_slab, __ATOMIC_RELAXED);
	g->fp_offset = __atomic_load_n(&s->offset, __ATOMIC_RELAXED);
	g->random = __atomic_load_n(&s->random, __ATOMIC_RELAXED);
	if (!g->size || (uint64_t)g->red_left_pad + g->fp_offset + sizeof(freeptr_t) > g->size || !g->nr_nodes || g->nr_nodes > SLUB_MAX_NODES ||
	    !arena_range_ok(a, g->cpu_slab, (uint64_t)g->nr_cpus * sizeof(struct kmem_cache_cpu)))
		return -EINVAL;
	for (unsigned int node = 0; node < g->nr_nodes; node++) {
		aoff_t off = __atomic_load_n(&s->node[node], __ATOMIC_RELAXED);

		if (off % 8 || !arena_range_ok(a, off, sizeof(struct kmem_cache_node)))
			return -EINVAL;
		g->node[node] = arena_at(a, off);
	}
	return 0;
}

static struct kmem_cache_cpu *stats_cpu(struct arena *a, const struct stats_geom *g, unsigned int cpu)
{
	return arena_at(a, g->cpu_slab + (aoff_t)cpu * sizeof(struct kmem_cache_cpu));
}

/*
 * the slab head at pfn, if it is one of g's whose objects lie in its pages
 * and in the arena (objects read from its counters, as the caller will);
 * else NULL
 */
static struct page_desc *stats_slab(struct arena *a, const struct stats_geom *g, uint32_t pfn)
{
	struct page_desc *pd;
	uint32_t objects;
	unsigned int order;

	if (pfn < a->first_pfn || pfn >= a->nr_pages)
		return NULL;
	pd = pd_of_pfn(a, pfn);
	shm_stats_walk_steps++;
	order = pd->order;
	objects = CNT_OBJECTS(atomic_load_relaxed(&pd->slab.hi));
	if ((pd->flags & (PG_HEAD | PG_SLAB)) != (PG_HEAD | PG_SLAB) || pd->cache != g->self ||
	    order > BUDDY_MAX_ORDER || (uint64_t)pfn + (1u << order) > a->nr_pages ||
	    (uint64_t)objects * g->size > PAGE_SIZE << order)
		return NULL;
	return pd;
}

/*
 * freelist_len - how many objects the freelist from fl holds, every link an
 * object of the slab at pd; at most max.  -1 when a link is no object of the
 * slab, or there are more than max (a loop, or a list being changed).  seen:
 * one byte per object of the slab, zeroed, marks the objects met (it finds a
 * loop shorter than max); NULL: max alone bounds the walk.
 */
static long freelist_len(struct arena *a, const struct stats_geom *g, struct page_desc *pd,
			 aoff_t fl, uint64_t max, uint8_t *seen)
{
	uint32_t pfn = pd_pfn(a, pd);
	aoff_t start = pfn_off(pfn);
	uint64_t bytes = (uint64_t)CNT_OBJECTS(atomic_load_relaxed(&pd->slab.hi)) * g->size;
	unsigned int order = pd->order;
	/* what get_freepointer reads: the checked copy's */
	struct kmem_cache k = { .size = g->size, .offset = g->fp_offset, .random = g->random };
	uint64_t n = 0;

	/* read afresh, so checked afresh: the objects lie in the block, the block in the arena */
	if (order > BUDDY_MAX_ORDER || bytes > PAGE_SIZE << order ||
	    (uint64_t)pfn + (1u << order) > a->nr_pages)
		return -1;
	for (; fl; n++) {
		uint64_t x = fl - start;

		if (fl < start || x >= bytes || x % g->size != g->red_left_pad || n >= max ||
		    (seen && seen[x / g->size]++))
			return -1;
		fl = get_freepointer(a, &k, fl);
	}
	return (long)n;
}

struct free_count {
	uint64_t free;		/* objects */
	uint64_t empty;		/* slabs with every object free */
};

/*
 * count the free objects of the slab pd: its own freelist's (objects - inuse
 * of one snapshot of the pair), and, for a CPU slab, those on the CPU's
 * lockless freelist (cpu_fl; at most inuse, which counts them).  A
 * quarantined slab (PG_CORRUPT) counts as all allocated, as validate does.
 */
static void count_free(struct arena *a, const struct stats_geom *g, struct page_desc *pd,
		       bool cpu_slab, aoff_t cpu_fl, struct free_count *fc)
{
	uint64_t fl, cnt;
	uint32_t objects, inuse, nfree;
	long ncpu = 0;

	load128_atomic(&pd->slab, &fl, &cnt);
	objects = CNT_OBJECTS(cnt);
	inuse = CNT_INUSE(cnt);
	if ((pd->flags & PG_CORRUPT) || inuse > objects)
		return;
	nfree = objects - inuse;
	if (cpu_slab) {
		ncpu = freelist_len(a, g, pd, cpu_fl, inuse, NULL);
		if (ncpu < 0)
			ncpu = 0;	/* unreadable: its objects count as allocated */
	}
	fc->free += nfree + (uint64_t)ncpu;
	if (objects && nfree + (uint64_t)ncpu == objects)
		fc->empty++;
}

/*
 * count_lists - the free objects of s: the CPU slabs, the CPU partial lists,
 * the node partial lists.  max: the cache's slabs, which bounds each list.
 */
static void count_lists(struct arena *a, const struct stats_geom *g, uint64_t max,
			struct free_count *fc)
{
	for (unsigned int cpu = 0; cpu < g->nr_cpus; cpu++) {
		struct kmem_cache_cpu *c = stats_cpu(a, g, cpu);
		uint32_t pfn = atomic_load_relaxed(&c->slab_pfn);
		aoff_t link = atomic_load_relaxed(&c->partial);
		struct page_desc *pd;

		if (pfn && (pd = stats_slab(a, g, pfn)))
			count_free(a, g, pd, true, atomic_load_relaxed(&c->fl.lo), fc);
		/* the CPU partial list: linked by lru.next, 0 ends it */
		for (uint64_t n = 0; link && n < max; n++) {
			struct page_desc *p = pd_of_lru(a, link);

			if (!p || !(p = stats_slab(a, g, pd_pfn(a, p))))
				break;
			count_free(a, g, p, false, 0, fc);
			link = atomic_load_relaxed(&p->lru.next);
		}
	}
	for (unsigned int node = 0; node < g->nr_nodes; node++) {
		struct olist *head = &g->node[node]->partial, *it = head;
		uint64_t n = 0;

		while (n++ < max && (it = olist_next(a, head, it))) {
			struct page_desc *p = pd_of_lru(a, arena_off_of(a, it));

			if (!p || !(p = stats_slab(a, g, pd_pfn(a, p))))
				break;
			count_free(a, g, p, false, 0, fc);
		}
	}
}

/* the figures of s from its counters: info_head's, and the four slab figures */
static int info_counted(struct arena *a, struct kmem_cache *s, struct slab_cache_info *out,
			struct free_count *fc)
{
	struct stats_geom g;
	int rc = info_head(a, s, out);

	if (rc)
		return rc;
	if (stats_geom(a, s, &g))
		return 1;	/* scribbled since cache_check: shown as is */
	for (unsigned int node = 0; node < g.nr_nodes; node++) {
		out->num_slabs += atomic_load_relaxed(&g.node[node]->nr_slabs);
		out->num_objs += atomic_load_relaxed(&g.node[node]->total_objects);
	}
	count_lists(a, &g, out->num_slabs, fc);
	out->active_objs = fc->free < out->num_objs ? out->num_objs - fc->free : 0;
	out->active_slabs = fc->empty < out->num_slabs ? out->num_slabs - fc->empty : 0;
	return 0;
}

/*
 * slab_cache_info - /proc/slabinfo's figures and the counters, from the
 * counters (see the top).  A cache whose descriptor fails cache_check is
 * shown with what the descriptor says and one more error of the kind found
 * (validate tells what): nothing is followed from it.
 */
int slab_cache_info(struct arena *a, struct kmem_cache *s, struct slab_cache_info *out)
{
	struct free_count fc = { 0, 0 };
	int rc = info_counted(a, s, out, &fc);

	return rc < 0 ? rc : 0;
}

int slab_cache_info_many(struct arena *a, struct kmem_cache *const *caches, unsigned int n,
			 struct slab_cache_info *out)
{
	for (unsigned int i = 0; i < n; i++)
		if (slab_cache_info(a, caches[i], &out[i]))
			memset(&out[i], 0, sizeof(out[i]));	/* no cache: zeroed, offset 0 */
	return 0;
}

/*
 * ---- the page walk (the reference) ----
 *
 * slab_cache_info_walk - the four slab figures of each cache of caches[]
 * (the rest as slab_cache_info), found by one walk of every page descriptor
 * of the arena: each slab head of a cache asked is counted, its free objects
 * by following its freelist (and its CPU's, for a CPU slab).  This is how
 * stats was answered before the counters, O(pages); the tests compare the
 * counters with it, and the bench times both.  No lock; the same checks as
 * above before anything read is followed; exact while nothing allocates or
 * frees.  0, or -ENOMEM.
 */
struct walk_cache {
	aoff_t off;			/* of the descriptor: the key */
	unsigned int idx;		/* into caches[] and out[] */
	struct stats_geom g;
};

static int cmp_walk_cache(const void *p, const void *q)
{
	const struct walk_cache *x = p, *y = q;

	return x->off < y->off ? -1 : x->off > y->off;
}

int slab_cache_info_walk(struct arena *a, struct kmem_cache *const *caches, unsigned int n,
			 struct slab_cache_info *out)
{
	struct walk_cache *v = calloc(n + 1, sizeof(*v));
	unsigned int *first = calloc(n + 1, sizeof(*first));	/* of a cache asked twice */
	/* one byte per object a 16-bit count allows: counts are read afresh */
	uint8_t *seen = malloc((size_t)CNT_OBJECTS(~0ULL) + 1);
	unsigned int nr = 0;

	if (!v || !seen || !first) {
		free(v);
		free(seen);
		free(first);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < n; i++) {
		unsigned int j;

		first[i] = i;
		if (info_head(a, caches[i], &out[i])) {
			if (!out[i].offset)
				memset(&out[i], 0, sizeof(out[i]));
			continue;
		}
		if (stats_geom(a, caches[i], &v[nr].g))
			continue;
		for (j = 0; j < nr && v[j].off != v[nr].g.self; j++)
			;
		if (j < nr) {
			first[i] = v[j].idx;	/* counted once, copied below */
			continue;
		}
		v[nr].off = v[nr].g.self;
		v[nr].idx = i;
		nr++;
	}
	qsort(v, nr, sizeof(*v), cmp_walk_cache);
	for (uint32_t pfn = a->first_pfn; nr && pfn < a->nr_pages; pfn++) {
		struct page_desc *pd = pd_of_pfn(a, pfn);
		struct walk_cache key = { .off = pd->cache }, *k;
		struct slab_cache_info *o;
		uint64_t fl, cnt;
		uint32_t objects, inuse;
		long nfree, ncpu = 0;

		shm_stats_walk_steps++;
		if ((pd->flags & (PG_HEAD | PG_SLAB)) != (PG_HEAD | PG_SLAB) ||
		    !(k = bsearch(&key, v, nr, sizeof(*v), cmp_walk_cache)))
			continue;
		o = &out[k->idx];
		o->num_slabs++;
		if (!stats_slab(a, &k->g, pfn))
			continue;	/* counted, nothing in it */
		load128_atomic(&pd->slab, &fl, &cnt);
		objects = CNT_OBJECTS(cnt);
		inuse = CNT_INUSE(cnt);
		o->num_objs += objects;
		if (pd->flags & PG_CORRUPT) {
			o->active_objs += objects;
			o->active_slabs += objects != 0;
			continue;
		}
		memset(seen, 0, objects);
		nfree = freelist_len(a, &k->g, pd, fl, objects, seen);
		for (unsigned int cpu = 0; nfree >= 0 && cpu < k->g.nr_cpus; cpu++) {
			struct kmem_cache_cpu *c = stats_cpu(a, &k->g, cpu);

			if (atomic_load_relaxed(&c->slab_pfn) == pfn) {
				ncpu = freelist_len(a, &k->g, pd, atomic_load_relaxed(&c->fl.lo),
						    objects, seen);
				break;
			}
		}
		if (nfree < 0 || ncpu < 0) {
			o->active_objs += inuse <= objects ? inuse : objects;
			o->active_slabs += inuse != 0;
			continue;
		}
		o->active_objs += objects - (uint64_t)(nfree + ncpu) <= objects ?
				  objects - (uint64_t)(nfree + ncpu) : 0;
		o->active_slabs += (uint64_t)(nfree + ncpu) < objects;
	}
	for (unsigned int i = 0; i < n; i++)
		if (first[i] != i) {
			out[i].num_slabs = out[first[i]].num_slabs;
			out[i].num_objs = out[first[i]].num_objs;
			out[i].active_objs = out[first[i]].active_objs;
			out[i].active_slabs = out[first[i]].active_slabs;
		}
	free(v);
	free(seen);
	free(first);
	return 0;
}
