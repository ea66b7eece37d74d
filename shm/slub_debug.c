/*
 * slub_debug.c - the debug caches' locked paths (red zones, poison, owner
 * tracking: the object checks themselves are debug_obj.c's) and the owners
 * of objects.  Reports are report.c's, validate validate.c's, the scrub
 * scrub.c's, the statistics stats.c's.
 *
 * Debug caches (SLAB_RED_ZONE, SLAB_POISON, SLAB_STORE_USER) use no CPU
 * slabs, as the kernel's debug caches do since 6.2: every alloc and free
 * runs under the node's list_lock, where each object can be checked whole
 * (and a process that dies inside one leaves a step the next locker
 * finishes: "debug steps" below).  Their slabs are on the node's partial
 * list or, with no free object, on its full list.
 *
 * validate and scrub take every CPU lock of a cache (ascending) and then its
 * node locks (ascending), so that no slow path moves a slab while they look;
 * the lockless paths still run, so their counts are exact only while no
 * process allocates or frees.
 *
 * A corrupted arena.  Validate, scrub and stats (each in its own file) read what any process (or a
 * stray write) may have scribbled on, so each of them: checks a cache's
 * descriptor whole (cache_check) before it takes the cache's locks or
 * follows its offsets, and only reports a cache that fails; checks a slab's
 * page descriptor (slab_shape) before it sizes anything by it; follows a
 * link only after olist_next or pd_of_lru checked it, and stops each walk
 * at a bound (the pages of the arena, the objects of the slab) and at the
 * first entry seen twice; prints names through cache_name_safe.  Scrub
 * repairs only what it understands: it puts back an orphan whose slab is
 * whole, on a cache whose lists were found whole, and leaves anything else
 * for validate to report.
 *
 * Layer: above slub.c, debug_obj.c, geom.c, ident.c, list.c, meta.c,
 * report.c, os.c, which it calls.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* ---- debug steps ---------------------------------------------------------- */

/*
 * pair_set - a debug slab's {freelist, counters}, changed under its node
 * lock, in one 16-byte CAS from the values read under that lock, so that a
 * process dying here leaves the old pair or the new one, never half.  The
 * CAS fails only if something wrote the pair without the lock (corruption):
 * then plain stores, as before.
 */
static void pair_set(atomic_pair_t *p, uint64_t old_lo, uint64_t old_hi, uint64_t lo, uint64_t hi)
{
	if (!cas128_full(p, old_lo, old_hi, lo, hi)) {
		atomic_store_relaxed(&p->lo, lo);
		atomic_store_relaxed(&p->hi, hi);
	}
}

/*
 * Debug steps.  Under its node lock, an object of a debug cache changes
 * from free to allocated (slab_alloc_debug) or back (debug_free_locked) in
 * two parts that no single instruction can join: its freelist membership,
 * committed by one pair_set, and its bytes - the red zones (RED_INACTIVE on
 * a free object, RED_ACTIVE on an allocated one) and the poison of a free
 * object - written by plain stores.  validate checks the bytes against the
 * membership, so a process killed between the two parts would leave an
 * object that looks overrun though nothing wrote outside it: on alloc, one
 * popped with its red zone still inactive; on free, one poisoned and
 * inactive but not yet pushed.
 *
 * So each step is recorded in its slab's page descriptor (debug_step: the
 * object's index + 1 and the direction, set and cleared by one store each)
 * before any of its writes, and cleared after the last.  The order within
 * a step is fixed so that the membership tells how far a dead process got:
 *   alloc: pop (pair_set), then the red zone made active.  Still on the
 *          freelist: nothing validate checks has changed (the alloc track
 *          may already name the dead process; it is read only for an
 *          allocated object).  Off it: the allocation happened, only the
 *          red zone may lag.
 *   free:  the bytes made a free object's (red zone inactive, poison),
 *          then push (pair_set).  On the freelist: the bytes are whole.  Off
 *          it: the free had passed its checks, only the push may lag.
 * Every step runs under the node lock, so a process dying inside one leaves
 * that lock to its next locker, which runs node_repair() before anything
 * else - validate and scrub too (they lock every node first).
 * node_repair() calls debug_step_repair(), which rolls the recorded step
 * forward: an allocated object gets its active red zone (it is the dead
 * allocator's, its pid already the owner: scrub reports or reclaims it), a
 * half-freed one is freed.  Thus no death leaves an object whose bytes and
 * membership disagree, and validate's red zone and poison checks need not
 * excuse anything: any disagreement they find was written by something,
 * never left by a death.  Only the recorded object is touched: an overrun
 * of any other, or of this one before its step began (the free and alloc
 * checks report it), is still seen.
 */
#define DEBUG_STEP_ALLOC	1u
#define DEBUG_STEP_FREE		2u

static void debug_step_begin(struct arena *a, const struct kmem_cache *s, struct page_desc *pd,
			     aoff_t off, uint32_t step)
{
	uint32_t idx = (uint32_t)((off - pfn_off(pd_pfn(a, pd))) / s->size);

	atomic_store_relaxed(&pd->debug_step, (idx + 1) << 2 | step);
	atomic_fence_full();		/* the record before any write of the step */
}

static void debug_step_end(struct page_desc *pd)
{
	atomic_store_release(&pd->debug_step, 0);	/* after every write of the step */
}

/*
 * debug_push - the free step's writes, off checked and not on pd's
 * freelist: the bytes of a free object first, then the push; a full slab
 * goes back to the partial list.  The slab's inuse after the push.
 */
static uint32_t debug_push(struct arena *a, struct kmem_cache *s, struct page_desc *pd,
			   struct kmem_cache_node *n, aoff_t off)
{
	uint64_t fl, cnt;
	uint32_t inuse;

	debug_init_object(s, arena_at(a, off), false);
	load128_atomic(&pd->slab, &fl, &cnt);
	inuse = CNT_INUSE(cnt) ? CNT_INUSE(cnt) - 1 : 0;
	set_freepointer(a, s, off, fl);
	pair_set(&pd->slab, fl, cnt, off, CNT_MAKE(inuse, CNT_OBJECTS(cnt), 0, 0));
	if (pd->list == SL_FULL) {
		remove_full(a, n, pd);
		add_partial(a, n, pd, true);
	}
	return inuse;
}

/* ---- the debug caches' paths ---------------------------------------------- */

/*
 * x is an object of the slab whose head is pd: at an object boundary, below
 * the slab's objects, and inside the slab's pages and the arena whatever
 * its counters and order say (s itself passed cache_check, or is a cache
 * the engine uses).
 */
bool in_slab(struct arena *a, const struct kmem_cache *s, struct page_desc *pd, aoff_t x)
{
	uint32_t pfn = pd_pfn(a, pd);
	aoff_t start = pfn_off(pfn);
	uint64_t bytes = (uint64_t)CNT_OBJECTS(atomic_load_relaxed(&pd->slab.hi)) * s->size;
	unsigned int order = pd->order;

	if (order > BUDDY_MAX_ORDER)
		return false;
	if (bytes > PAGE_SIZE << order)
		bytes = PAGE_SIZE << order;
	if (start + bytes > a->size)
		bytes = start < a->size ? a->size - start : 0;
	return s->size && x >= start && x - start < bytes &&
	       (x - start) % s->size == s->red_left_pad &&
	       x - start - s->red_left_pad + s->size <= bytes;
}

void *slab_alloc_debug(struct arena *a, struct kmem_cache *s, void *caller);
void slab_free_debug(struct arena *a, struct kmem_cache *s, aoff_t off, void *caller);

/* the list node at off is the lru of a slab of arg (a struct kmem_cache) on a node partial list */
static bool debug_list_valid(struct arena *a, aoff_t off, void *arg)
{
	const struct kmem_cache *s = arg;
	struct page_desc *pd = pd_of_lru(a, off);

	return pd && (pd->flags & (PG_HEAD | PG_SLAB | PG_FREE)) == (PG_HEAD | PG_SLAB) &&
	       pd->cache == s->self && pd->list == SL_NODE_PARTIAL;
}

void *slab_alloc_debug(struct arena *a, struct kmem_cache *s, void *caller)
{
	unsigned int node = os_current_node(s->nr_nodes);
	struct kmem_cache_node *n = cache_node(a, s, node);
	struct page_desc *pd;
	struct olist *it;
	uint64_t fl, cnt;
	aoff_t next;
	bool ok;

	stat_inc_relaxed(&cache_cpu(a, s, shm_current_cpu() % s->nr_cpus)->stat[ALLOC_SLOWPATH]);
	for (;;) {
		int rc = node_lock(a, s, n);

		if (rc) {
			errno = -rc;	/* reported: the allocation fails */
			return NULL;
		}
		it = olist_next(a, &n->partial, &n->partial);
		pd = it ? pd_of_lru(a, arena_off_of(a, it)) : NULL;
		if (pd && !debug_list_valid(a, pd_lru_off(a, pd), s)) {
			/* not a slab of s: cut the list there, never take its objects */
			slab_report(a, s, SLAB_ERR_LIST, pfn_off(pd_pfn(a, pd)),
				    "node %u partial list holds page %u, no slab of this cache: cut",
				    node, pd_pfn(a, pd));
			n->nr_partial = olist_repair(a, &n->partial, debug_list_valid, s, a->nr_pages);
			node_unlock(n);
			continue;
		}
		if (pd)
			break;
		node_unlock(n);
		pd = slab_new_for_debug(a, s, node);
		if (!pd)
			return NULL;
		rc = node_lock(a, s, n);
		if (rc) {
			slab_discard(a, pd);	/* ours alone, on no list */
			errno = -rc;
			return NULL;
		}
		add_partial(a, n, pd, false);
		node_unlock(n);
	}
	load128_atomic(&pd->slab, &fl, &cnt);
	next = fl && in_slab(a, s, pd, fl) ? get_freepointer(a, s, fl) : 1;
	if (!fl || (next && !in_slab(a, s, pd, next))) {
		slab_report(a, s, SLAB_ERR_FREELIST, fl,
			    "free pointer of object %#llx decodes to %#llx: slab quarantined",
			    (unsigned long long)fl, (unsigned long long)next);
		remove_partial(a, n, pd);
		pd->flags |= PG_CORRUPT;
		atomic_store_relaxed(&pd->slab.lo, 0);
		node_unlock(n);
		return slab_alloc_debug(a, s, caller);
	}
	/* an alloc step ("debug steps" above): pop, then the bytes */
	debug_step_begin(a, s, pd, fl, DEBUG_STEP_ALLOC);
	/* the owner first: one that dies after the pop leaves its own id there */
	debug_track(a, s, arena_at(a, fl), 0, caller);
	pair_set(&pd->slab, fl, cnt, next, CNT_MAKE(CNT_INUSE(cnt) + 1, CNT_OBJECTS(cnt), 0, 0));
	if (!next) {
		remove_partial(a, n, pd);
		add_full(a, n, pd);
	}
	ok = debug_alloc_check(a, s, arena_at(a, fl), caller);
	debug_step_end(pd);
	if (!ok) {
		/* written to while free: keep it out of use (allocated, never handed
		 * out), as the kernel does, and take another */
		node_unlock(n);
		return slab_alloc_debug(a, s, caller);
	}
	node_unlock(n);
	return arena_at(a, fl);
}

/* the head page of the slab of s holding off, checked (reported if not) */
static struct page_desc *debug_slab_of(struct arena *a, struct kmem_cache *s, aoff_t off,
				       bool report)
{
	struct page_desc *pd = off < a->size ? pd_of_off(a, off) : NULL;

	if (pd && pd->head >= a->first_pfn && pd->head < a->nr_pages)
		pd = pd_of_pfn(a, pd->head);
	else
		pd = NULL;
	if (!pd || (pd->flags & (PG_HEAD | PG_SLAB)) != (PG_HEAD | PG_SLAB) ||
	    (pd->flags & PG_CORRUPT)) {
		if (report)
			slab_report(a, s, SLAB_ERR_BAD_POINTER, off, "%#llx is not an object of any slab",
				    (unsigned long long)off);
		return NULL;
	}
	if (pd->cache != s->self) {
		struct kmem_cache *t = cache_of_off(a, pd->cache);

		char tn[SLUB_NAME_MAX + 1] = "?", sn[SLUB_NAME_MAX + 1];

		if (report)
			slab_report(a, s, SLAB_ERR_WRONG_CACHE, off,
				    "object %#llx of cache %s freed into %s", (unsigned long long)off,
				    t ? cache_name_safe(t, tn) : tn, cache_name_safe(s, sn));
		return NULL;
	}
	if (!in_slab(a, s, pd, off)) {
		if (report)
			slab_report(a, s, SLAB_ERR_BAD_POINTER, off,
				    "%#llx is inside an object, not at its start", (unsigned long long)off);
		return NULL;
	}
	return pd;
}

/* is off on its slab's freelist?  The slab's node lock held */
static bool debug_is_free(struct arena *a, struct kmem_cache *s, struct page_desc *pd, aoff_t off)
{
	uint64_t fl = atomic_load_relaxed(&pd->slab.lo);
	uint32_t objects = CNT_OBJECTS(atomic_load_relaxed(&pd->slab.hi)), steps = 0;

	for (aoff_t x = fl; x && steps <= objects; steps++) {
		if (x == off)
			return true;
		if (!in_slab(a, s, pd, x))
			break;
		x = get_freepointer(a, s, x);
	}
	return false;
}

/*
 * debug_free_locked - free off, an object of slab pd (checked), with pd's
 * node n locked.  Returns true when pd became empty and was taken off its
 * list: the caller discards it once the lock is released.
 */
bool debug_free_locked(struct arena *a, struct kmem_cache *s, struct page_desc *pd,
		       struct kmem_cache_node *n, aoff_t off, void *caller)
{
	uint32_t inuse;

	if (debug_is_free(a, s, pd, off)) {
		char who[96];

		/* the caller first: the report's detail is 80 bytes (slubctl reports) */
		slab_report(a, s, SLAB_ERR_DOUBLE_FREE, off, "object %#llx freed twice, by code at "
			    "%p%s", (unsigned long long)off, caller,
			    debug_owner_text(a, s, arena_at(a, off), who, sizeof(who)));
		return false;
	}
	if (!debug_free_check(a, s, arena_at(a, off), caller))
		return false;
	/* a free step ("debug steps" above): the bytes, then the push */
	debug_step_begin(a, s, pd, off, DEBUG_STEP_FREE);
	inuse = debug_push(a, s, pd, n, off);
	debug_step_end(pd);
	if (inuse == 0 && n->nr_partial > s->min_partial && pd->list == SL_NODE_PARTIAL) {
		remove_partial(a, n, pd);
		/* ours until discarded: scrub must not take it for an orphan */
		atomic_store_relaxed(&pd->slab.hi, CNT_MAKE(0, CNT_OBJECTS(atomic_load_relaxed(&pd->slab.hi)),
							     0, arena_self(a)));
		return true;
	}
	return false;
}

/*
 * slab_shape - can the slab whose head is pd (a PG_SLAB head of s) be
 * walked: only slab flags, an order and object count that s makes, aligned
 * and inside the arena, every page pointing at its head, a node that is.
 * NULL, or what is wrong (in buf).
 */
const char *slab_shape(struct arena *a, const struct kmem_cache *s, const struct page_desc *pd,
			      char *buf, size_t len)
{
	uint32_t pfn = pd_pfn(a, pd), objects = CNT_OBJECTS(atomic_load_relaxed(&pd->slab.hi));
	unsigned int order = pd->order;

	if (pd->flags & ~(PG_HEAD | PG_SLAB | PG_CORRUPT)) {
		snprintf(buf, len, "flags %#x are no slab's", pd->flags);
		return buf;
	}
	if ((objects != oo_objects(s->oo) || order != oo_order(s->oo)) &&
	    (objects != oo_objects(s->min) || order != oo_order(s->min))) {
		snprintf(buf, len, "order %u with %u objects fits neither oo nor min", order, objects);
		return buf;
	}
	if ((pfn & ((1u << order) - 1)) || (uint64_t)pfn + (1u << order) > a->nr_pages) {
		snprintf(buf, len, "a block of order %u cannot start there", order);
		return buf;
	}
	for (uint32_t p = pfn; p < pfn + (1u << order); p++)
		if (pd_of_pfn(a, p)->head != pfn) {
			snprintf(buf, len, "page %u says its block starts at page %u", p,
				 pd_of_pfn(a, p)->head);
			return buf;
		}
	if (pd->node >= s->nr_nodes) {
		snprintf(buf, len, "node %u", pd->node);
		return buf;
	}
	return NULL;
}

/*
 * debug_step_repair - node n of debug cache s was locked by a process that
 * died: roll forward the step it recorded, if any ("debug steps" above).
 * Called by node_repair(), n's lists already rebuilt.  A record is only
 * followed to an object of a slab of s on n whose freelist is whole;
 * anything else is left for validate to report.
 */
void debug_step_repair(struct arena *a, struct kmem_cache *s, struct kmem_cache_node *n)
{
	char why[96];

	/* by blocks (repair_walk_next says why none it skips is one of ours) */
	for (uint32_t pfn = a->first_pfn; pfn < a->nr_pages; pfn = repair_walk_next(a, pfn)) {
		struct page_desc *pd = pd_of_pfn(a, pfn);
		uint32_t rec = atomic_load_relaxed(&pd->debug_step), idx, objects, steps = 0;
		bool on_freelist = false, whole = false;
		aoff_t off, x;

		if (!rec)
			continue;
		if ((pd->flags & (PG_HEAD | PG_SLAB | PG_CORRUPT)) != (PG_HEAD | PG_SLAB) ||
		    pd->cache != s->self || slab_node(a, s, pd) != n)
			continue;	/* no slab of s on n: not this repair's */
		atomic_store_relaxed(&pd->debug_step, 0);
		objects = CNT_OBJECTS(atomic_load_relaxed(&pd->slab.hi));
		idx = (rec >> 2) - 1;
		if (slab_shape(a, s, pd, why, sizeof(why)) || (rec >> 2) == 0 || idx >= objects)
			continue;
		off = pfn_off(pfn) + (aoff_t)idx * s->size + s->red_left_pad;
		for (x = atomic_load_relaxed(&pd->slab.lo); steps <= objects; steps++) {
			if (!x) {
				whole = true;
				break;
			}
			if (!in_slab(a, s, pd, x))
				break;
			if (x == off) {
				on_freelist = whole = true;
				break;
			}
			x = get_freepointer(a, s, x);
		}
		if (!whole || on_freelist)
			continue;	/* unknown, or the bytes are whole (see above) */
		if ((rec & 3) == DEBUG_STEP_ALLOC)
			debug_init_object(s, arena_at(a, off), true);
		else if ((rec & 3) == DEBUG_STEP_FREE &&
			 CNT_INUSE(atomic_load_relaxed(&pd->slab.hi)) > 0)
			debug_push(a, s, pd, n, off);
	}
}

void slab_free_debug(struct arena *a, struct kmem_cache *s, aoff_t off, void *caller)
{
	struct kmem_cache_node *n;
	struct page_desc *pd;
	bool discard;

	if (cache_unusable(a, s, off))
		return;
	pd = debug_slab_of(a, s, off, true);
	if (!pd)
		return;
	stat_inc_relaxed(&cache_cpu(a, s, shm_current_cpu() % s->nr_cpus)->stat[FREE_SLOWPATH]);
	n = slab_node(a, s, pd);
	if (node_lock(a, s, n))
		return;		/* reported: the object stays allocated, leaked */
	discard = debug_free_locked(a, s, pd, n, off, caller);
	node_unlock(n);
	if (discard)
		slab_discard(a, pd);
}

/* ---- owners: who holds an object of a SLAB_STORE_USER cache ---------------- */

/*
 * Owners are the alloc track's owner id (struct slab_track[0]; ident.c),
 * written under the
 * slab's node lock by the allocating process, or by slab_give().  A debug
 * cache allocates and frees only under that lock, so a walker holding it
 * sees each object either free (on its slab's freelist) or allocated with
 * its owner: never between.
 */
struct slab_track *alloc_track(struct kmem_cache *s, void *obj)
{
	return (struct slab_track *)((char *)obj + s->track_off);
}

static int give_pinned(struct arena *a, struct kmem_cache *s, void *obj, aoff_t off, uint32_t pid);

int slab_give(struct arena *a, struct kmem_cache *s, void *obj, uint32_t pid)
{
	aoff_t off = arena_off_of(a, obj);
	int rc;

	if (!s || !cache_of_off(a, arena_off_of(a, s)) || !off)
		return -EINVAL;
	s = geom_fresh(a, s, false);	/* this process's checked copy: track_off, nodes */
	if (!s || !(s->flags & SLAB_STORE_USER))
		return -EINVAL;
	geom_pin(a, s);			/* a lock wait: s stays whole meanwhile (geom.c) */
	rc = give_pinned(a, s, obj, off, pid);
	geom_unpin(a, s);
	return rc;
}

static int give_pinned(struct arena *a, struct kmem_cache *s, void *obj, aoff_t off, uint32_t pid)
{
	struct kmem_cache_node *n;
	struct page_desc *pd;
	uint32_t to;
	int rc = 0;

	to = ident_of_pid(a, pid);	/* a process that entered the arena, alive */
	if (!to)
		return -ESRCH;
	pd = debug_slab_of(a, s, off, false);
	if (!pd)
		return -EINVAL;
	n = slab_node(a, s, pd);
	rc = node_lock(a, s, n);
	if (rc)
		return rc;
	if (debug_is_free(a, s, pd, off))
		rc = -EINVAL;
	else if (alloc_track(s, obj)->owner != arena_self(a))
		rc = -EPERM;
	else {
		alloc_track(s, obj)->owner = to;
		alloc_track(s, obj)->cpu &= ~TRACK_LEAK_SEEN;
	}
	node_unlock(n);
	return rc;
}

uint32_t slab_owner(struct arena *a, struct kmem_cache *s, const void *obj)
{
	aoff_t off = arena_off_of(a, obj);
	struct kmem_cache_node *n;
	struct page_desc *pd;
	uint32_t owner = 0;

	if (!s || !cache_of_off(a, arena_off_of(a, s)) || !off)
		return 0;
	s = geom_fresh(a, s, false);
	if (!s || !(s->flags & SLAB_STORE_USER))
		return 0;
	geom_pin(a, s);			/* a lock wait: s stays whole meanwhile (geom.c) */
	pd = debug_slab_of(a, s, off, false);
	n = pd ? slab_node(a, s, pd) : NULL;
	if (n && !node_lock(a, s, n)) {	/* else reported */
		if (!debug_is_free(a, s, pd, off))
			owner = alloc_track(s, (void *)obj)->owner;
		node_unlock(n);
	}
	geom_unpin(a, s);
	return ident_pid(a, owner);
}
