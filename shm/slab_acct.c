/*
 * slab_acct.c - slab accounting: the counts of each cache's slabs (a node's
 * nr_slabs and total_objects, the cache's charged_objects and
 * charged_pages) and its caps (max_objects, max_bytes), out of the page
 * allocator, which calls these under its zone lock.
 *
 * A slab's block is counted for its cache (the node's
 * nr_slabs and total_objects, the cache's charged_objects and
 * charged_pages; caps checked) in the same locked section that takes it
 * from a free list, and uncounted in the one that gives it back.  Between
 * the two its head names the cache (pd.cache): published slabs (PG_SLAB)
 * and blocks on their way in or out (PG_TRANSIT, pd.owner the process
 * moving it).  Each count step is logged (struct acct_log) so that a death
 * inside it is finished or undone by the next locker; a process that dies
 * outside the lock with a block in transit leaves a counted PG_TRANSIT
 * block, which buddy_scrub frees, uncounting it.  So the counts are exact
 * whenever the zone lock is free, and validate checks them under it.
 *
 *
 * Layer: above meta.c and below buddy.c.  It calls meta.c (cache_of_off)
 * and lock.c (shm_hook); buddy.c calls it, holding the zone lock, which
 * also protects the log (struct acct_log, in the zone).
 */
#include "internal.h"

/* the node descriptor a count of s on node goes to, or NULL if s cannot say */
struct kmem_cache_node *acct_node(struct arena *a, struct kmem_cache *s, unsigned int node)
{
	aoff_t off;

	if (!s || node >= s->nr_nodes || node >= SLUB_MAX_NODES)
		return NULL;
	off = s->node[node];
	if (off % 8 || !arena_range_ok(a, off, sizeof(struct kmem_cache_node)))
		return NULL;
	return arena_at(a, off);
}

/* set the four counts from the log: before, plus the delta if committed */
static void acct_set(struct arena *a, struct acct_log *l, bool committed)
{
	struct kmem_cache *s = cache_of_off(a, l->cache);
	struct kmem_cache_node *n = acct_node(a, s, l->node);
	int64_t k = committed ? l->dir : 0;

	if (!n)
		return;		/* the descriptor went bad: validate reports the counts */
	atomic_store_relaxed(&n->nr_slabs, l->nr_slabs + (uint64_t)k);
	atomic_store_relaxed(&n->total_objects, l->total_objects + (uint64_t)k * l->objects);
	atomic_store_relaxed(&s->charged_objects, l->charged_objects + (uint64_t)k * l->objects);
	atomic_store_relaxed(&s->charged_pages, l->charged_pages + (uint64_t)k * l->pages);
}

/*
 * acct_step - count (dir +1) or uncount (-1) the block pd for cache s on
 * node n, with pd.cache as the commit; l is the zone's log.  The log is written whole before it
 * is marked active, and marked inactive only after the counts: a death at
 * any point leaves either an inactive log with the step done or not begun,
 * or an active one that acct_finish completes from pd.cache.
 */
void acct_step(struct arena *a, struct acct_log *l, struct page_desc *pd, struct kmem_cache *s,
	       struct kmem_cache_node *n, unsigned int node, int dir, uint32_t objects)
{

	l->dir = dir;
	l->pfn = pd_pfn(a, pd);
	l->node = node;
	l->cache = s->self;
	l->objects = objects;
	l->pages = 1ULL << pd->order;
	l->nr_slabs = atomic_load_relaxed(&n->nr_slabs);
	l->total_objects = atomic_load_relaxed(&n->total_objects);
	l->charged_objects = atomic_load_relaxed(&cache_shared(a, s)->charged_objects);
	l->charged_pages = atomic_load_relaxed(&cache_shared(a, s)->charged_pages);
	atomic_store_release(&l->active, 1);
	if (dir > 0) {
		pd->acct_objects = objects;
		pd->node = (uint16_t)node;
	}
	atomic_store_release(&pd->cache, dir > 0 ? s->self : 0);	/* the commit */
	shm_hook(HOOK_SLAB_ACCT);
	acct_set(a, l, true);
	atomic_store_release(&l->active, 0);
}

/* the zone lock's owner died: finish or undo the count step it was in */
void acct_finish(struct arena *a, struct acct_log *l)
{
	bool committed;

	if (!atomic_load_acquire(&l->active))
		return;
	if (l->pfn >= a->first_pfn && l->pfn < a->nr_pages) {
		aoff_t now = atomic_load_relaxed(&pd_of_pfn(a, l->pfn)->cache);

		committed = l->dir > 0 ? now == l->cache : now == 0;
		acct_set(a, l, committed);
	}
	atomic_store_release(&l->active, 0);
}

/*
 * acct_cap_ok - may s take a slab of 2^order pages holding objects objects:
 * within its caps (max_objects, max_bytes; 0: none)?  Caps and charges
 * change: the shared descriptor's are read (s may be a copy).
 */
bool acct_cap_ok(struct arena *a, struct kmem_cache *s, unsigned int order, unsigned int objects)
{
	struct kmem_cache *sh = cache_shared(a, s);
	uint64_t max_objects = atomic_load_relaxed(&sh->max_objects);
	uint64_t max_bytes = atomic_load_relaxed(&sh->max_bytes);

	return !((max_objects && atomic_load_relaxed(&sh->charged_objects) + objects > max_objects) ||
		 (max_bytes && (atomic_load_relaxed(&sh->charged_pages) + (1ULL << order)) *
			       PAGE_SIZE > max_bytes));
}
