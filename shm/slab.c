/*
 * slab.c - a cache's node lists (add_partial, remove_partial, add_full,
 * remove_full: every change of a node list goes through them), and making
 * and discarding slabs.
 *
 * The lock order is at the top of slub.c; the node's list_lock is its
 * third level (after slab_mutex and a CPU's lock, before the zone lock).
 *
 * kmem_cache_node.list_lock protects partial, nr_partial, full, nr_full and
 * the list field of the slabs on them.  If its owner dies, node_repair()
 * rebuilds the back links from the forward chain, recounts, and re-marks the
 * list field of every slab of the node (SL_NONE unless found on a list);
 * slabs cut off or left between lists are orphans that scrub puts back.  In
 * a debug cache it also finishes the object step (alloc or free) its owner
 * recorded and died in, so that an object's red zones and poison agree with
 * its freelist (debug_step_repair, "debug steps" in slub_debug.c).
 *
 * Making and discarding.  A slab being made or discarded is a PG_TRANSIT
 * block of its maker (pd.owner), already counted for its cache: buddy_scrub
 * frees such a block of a dead process and takes its count back.
 *
 * Layer: above buddy.c, debug_obj.c, list.c, lock.c, os.c, which it
 * calls.  The node repair of a debug cache rolls forward a debug step,
 * which is slub_debug.c's (above): it reaches it through the arena handle
 * (struct arena.debug_step_repair_fn, set by arena.c), not by name.
 */
#include <errno.h>

#include "internal.h"

/* ---- node lists ---------------------------------------------------------- */

struct kmem_cache_node *cache_node(struct arena *a, struct kmem_cache *s, unsigned int node)
{
	return (struct kmem_cache_node *)arena_at(a, s->node[node]);
}

static void node_repair(void *arg);

struct node_ctx {
	struct arena *a;
	struct kmem_cache *s;
	struct kmem_cache_node *n;
};

/* which node of s n is, for a report (nr_nodes if none) */
static unsigned int node_index(struct arena *a, struct kmem_cache *s, struct kmem_cache_node *n)
{
	unsigned int node = 0;

	while (node < s->nr_nodes && node < SLUB_MAX_NODES && s->node[node] != arena_off_of(a, n))
		node++;
	return node;
}

/*
 * node_lock - take n's list_lock, repairing after a dead owner.  0, or
 * -errno (the lock cannot be taken, reported): then nothing it protects may
 * be touched, and the caller fails or skips its step.
 */
int node_lock(struct arena *a, struct kmem_cache *s, struct kmem_cache_node *n)
{
	struct node_ctx ctx = { a, s, n };
	int rc = shm_lock_acquire(a, &n->list_lock, node_repair, &ctx);

	if (unlikely(rc)) {
		lock_failed(a, s, rc, "node %u list_lock", node_index(a, s, n));
		return rc;
	}
	shm_hook(HOOK_LIST_LOCKED);
	return 0;
}

void node_unlock(struct kmem_cache_node *n)
{
	shm_lock_release(&n->list_lock);
}

static bool node_list_valid(struct arena *a, aoff_t off, void *arg)
{
	struct node_ctx *ctx = arg;
	struct page_desc *pd = pd_of_lru(a, off);

	return pd && (pd->flags & PG_SLAB) && pd->cache == ctx->s->self;
}

/*
 * node_repair_debug - a debug cache's allocator pops an object and then, if
 * the slab is now full, moves it to the full list, both under the node
 * lock: one that died between left a partial slab with no free object.
 * Move such slabs where they belong (bounded by the count just made).
 */
static void node_repair_debug(struct arena *a, struct kmem_cache_node *n)
{
	struct olist *it = olist_next(a, &n->partial, &n->partial);

	for (uint64_t i = 0; it && i < n->nr_partial + 1; i++) {
		struct page_desc *pd = pd_of_lru(a, arena_off_of(a, it));
		struct olist *next = olist_next(a, &n->partial, it);

		if (pd && !atomic_load_relaxed(&pd->slab.lo)) {
			remove_partial(a, n, pd);
			add_full(a, n, pd);
		}
		it = next;
	}
}

/*
 * node_relist - each slab on list head (count of them) says so in pd.list.
 * A slab is linked first and marked after (add_partial, add_full),
 * so one whose mover died between is on a list its pd.list does not name;
 * left so, the next move would take it off one list while counting it off
 * the other.
 */
static void node_relist(struct arena *a, struct olist *head, uint8_t list, uint64_t count)
{
	struct olist *it = head;

	for (uint64_t i = 0; i < count && (it = olist_next(a, head, it)); i++) {
		struct page_desc *pd = pd_of_lru(a, arena_off_of(a, it));

		if (pd)
			pd->list = list;
	}
}

/*
 * node_unlist - every slab of s on n that says it is on one of n's lists
 * says SL_NONE, until node_relist marks the ones that are.  A mover that
 * died between unlinking a slab and linking it elsewhere (or after linking
 * it but before marking it) leaves a slab on no list that names one: left
 * so, a later free would unlink it from a list it is not on while counting
 * it off that list.  Marked SL_NONE it is an orphan, which scrub puts back.
 */
static void node_unlist(struct node_ctx *ctx)
{
	struct arena *a = ctx->a;

	/* by blocks (repair_walk_next says why none it skips is one of ours) */
	for (uint32_t pfn = a->first_pfn; pfn < a->nr_pages; pfn = repair_walk_next(a, pfn)) {
		struct page_desc *pd = pd_of_pfn(a, pfn);

		if ((pd->flags & (PG_HEAD | PG_SLAB)) == (PG_HEAD | PG_SLAB) &&
		    pd->cache == ctx->s->self && slab_node(a, ctx->s, pd) == ctx->n &&
		    (pd->list == SL_NODE_PARTIAL || pd->list == SL_FULL))
			pd->list = SL_NONE;
	}
}

static void node_repair(void *arg)
{
	struct node_ctx *ctx = arg;
	struct kmem_cache_node *n = ctx->n;

	n->nr_partial = olist_repair(ctx->a, &n->partial, node_list_valid, ctx, ctx->a->nr_pages);
	n->nr_full = olist_repair(ctx->a, &n->full, node_list_valid, ctx, ctx->a->nr_pages);
	node_unlist(ctx);
	node_relist(ctx->a, &n->partial, SL_NODE_PARTIAL, n->nr_partial);
	node_relist(ctx->a, &n->full, SL_FULL, n->nr_full);
	if (ctx->s->flags & SLAB_DEBUG_FLAGS) {
		node_repair_debug(ctx->a, n);
		/* an object half made: slub_debug.c's debug_step_repair, through
		 * the arena handle (set when it is opened: arena.c), so that this
		 * file calls nothing above it */
		ctx->a->debug_step_repair_fn(ctx->a, ctx->s, n);
	}
}

/* node_repair_locked - with n locked: repair n as after a dead owner (a
 * caller that finds n's list not what its lock promises) */
void node_repair_locked(struct arena *a, struct kmem_cache *s, struct kmem_cache_node *n)
{
	node_repair(&(struct node_ctx){ a, s, n });
}

void add_partial(struct arena *a, struct kmem_cache_node *n, struct page_desc *pd, bool tail)
{
	if (tail)
		olist_add_tail(a, &n->partial, &pd->lru);
	else
		olist_add(a, &n->partial, &pd->lru);
	pd->list = SL_NODE_PARTIAL;
	n->nr_partial++;
}

void remove_partial(struct arena *a, struct kmem_cache_node *n, struct page_desc *pd)
{
	olist_del(a, &pd->lru);
	pd->list = SL_NONE;
	n->nr_partial--;
}

/* the full list: only debug caches keep one (other full slabs are on no list) */
void add_full(struct arena *a, struct kmem_cache_node *n, struct page_desc *pd)
{
	olist_add(a, &n->full, &pd->lru);
	pd->list = SL_FULL;
	n->nr_full++;
}

void remove_full(struct arena *a, struct kmem_cache_node *n, struct page_desc *pd)
{
	olist_del(a, &pd->lru);
	pd->list = SL_NONE;
	n->nr_full--;
}

/*
 * slab_discard - give an empty slab, which the caller owns (on no list,
 * inuse 0), back to the page allocator.  No lock held.
 *
 * The slab first becomes a block in transit, ours (pd.owner written before
 * the flags, with release: buddy_scrub reads them in the other order), so
 * that a kfree through a stale pointer no longer finds a slab, and a death
 * before buddy_free leaves a PG_TRANSIT block of a dead process, still
 * counted for s, that buddy_scrub frees and uncounts.  A death before that
 * leaves an empty slab owned by a dead process: slab_scrub's orphan.
 */
void slab_discard(struct arena *a, struct page_desc *pd)
{
	pd->owner = arena_self(a);
	pd->list = SL_NONE;
	atomic_store_release(&pd->flags, PG_HEAD | PG_TRANSIT);
	shm_hook(HOOK_DISCARD);
	buddy_free(a, pd_pfn(a, pd));
}

/* ---- making slabs ------------------------------------------------------ */

/* per-thread xorshift for freelist shuffling; seeded once per thread */
static __thread uint64_t shuffle_state;

static uint32_t shuffle_rand(void)
{
	uint64_t x = shuffle_state;

	if (unlikely(!x))
		x = os_random64() | 1;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	shuffle_state = x;
	return (uint32_t)(x >> 32);
}

/*
 * slab_new - a slab of fresh pages, its objects constructed and linked in a
 * random order (freelist randomization), returned frozen and owned by this
 * process (counters.owner), its full freelist in page_desc.slab.  No lock
 * held: the ctor and fallocate may run.
 */
struct page_desc *slab_new(struct arena *a, struct kmem_cache *s, unsigned int node)
{
	uint16_t order_idx[4096];
	unsigned int order = oo_order(s->oo), objects = oo_objects(s->oo);
	void (*ctor)(void *) = a->ctor[s->id];
	struct page_desc *pd;
	aoff_t start, first = 0, prev = 0;
	uint32_t pfn;
	int rc;

	if (s->has_ctor && !ctor) {
		errno = ENOEXEC;	/* this process never registered the ctor */
		return NULL;
	}
	/* the preferred order, else the smallest: for want of pages or of cap
	 * (both checked, and the slab counted, by the page allocator) */
	rc = buddy_alloc_slab(a, s, node, order, objects, &pfn);
	if (rc && s->min != s->oo) {
		order = oo_order(s->min);
		objects = oo_objects(s->min);
		rc = buddy_alloc_slab(a, s, node, order, objects, &pfn);
	}
	if (rc) {
		errno = -rc;
		return NULL;
	}
	pd = pd_of_pfn(a, pfn);
	start = slab_start(pfn);
	for (unsigned int i = 0; i < objects; i++) {
		char *obj = arena_at(a, start + (aoff_t)i * s->size + s->red_left_pad);

		if (s->flags & SLAB_DEBUG_FLAGS)
			debug_init_object(s, obj, false);
		if (ctor)
			ctor(obj);
	}
	/* link the objects in a random order */
	if (objects <= ARRAY_SIZE(order_idx)) {
		for (unsigned int i = 0; i < objects; i++)
			order_idx[i] = (uint16_t)i;
		for (unsigned int i = objects - 1; i > 0; i--) {
			unsigned int j = shuffle_rand() % (i + 1);
			uint16_t t = order_idx[i];

			order_idx[i] = order_idx[j];
			order_idx[j] = t;
		}
	}
	{
		unsigned int stride = 1, base = shuffle_rand() % objects;

		if (objects > ARRAY_SIZE(order_idx))
			do
				stride = 1 + shuffle_rand() % objects;
			while (objects % stride == 0 && stride != 1);
		for (unsigned int k = 0; k < objects; k++) {
			unsigned int i = objects <= ARRAY_SIZE(order_idx) ?
					 order_idx[k] : (unsigned int)((base + (uint64_t)k * stride) % objects);
			aoff_t obj = start + (aoff_t)i * s->size + s->red_left_pad;

			if (prev)
				set_freepointer(a, s, prev, obj);
			else
				first = obj;
			prev = obj;
		}
		set_freepointer(a, s, prev, 0);
	}
	pd->list = SL_NONE;
	pd->cpu = 0;
	pd->debug_step = 0;	/* no debug step under way (slub_debug.c) */
	pd->lru.next = pd->lru.prev = 0;
	atomic_store_relaxed(&pd->slab.lo, first);
	atomic_store_relaxed(&pd->slab.hi, CNT_MAKE(0, objects, 1, arena_self(a)));
	/* last: from here kfree() and scrub see a slab of s (pd.cache and
	 * pd.node were set, and the slab counted, by buddy_alloc_slab) */
	atomic_store_release(&pd->flags, PG_HEAD | PG_SLAB);
	return pd;
}

/* ---- emptying the node lists -------------------------------------------- */

/* free every empty slab on the node partial lists: how many, or the first
 * -errno of a node lock that cannot be taken (that node is skipped) */
int discard_empty(struct arena *a, struct kmem_cache *s)
{
	int freed = 0, rc = 0;

	for (unsigned int node = 0; node < s->nr_nodes; node++) {
		struct kmem_cache_node *n = cache_node(a, s, node);
		aoff_t empty = 0;
		struct olist *it, *nx;
		int err = node_lock(a, s, n);

		if (err) {
			rc = rc ? rc : err;
			continue;
		}
		for (it = olist_next(a, &n->partial, &n->partial); it; it = nx) {
			struct page_desc *pd = pd_of_lru(a, arena_off_of(a, it));

			nx = olist_next(a, &n->partial, it);
			if (!pd || pd->cache != s->self)
				break;
			if (CNT_INUSE(atomic_load_relaxed(&pd->slab.hi)) == 0) {
				remove_partial(a, n, pd);
				atomic_store_relaxed(&pd->slab.hi,
						     CNT_MAKE(0, slab_objects(pd), 0, arena_self(a)));
				pd->lru.next = empty;
				empty = pd_lru_off(a, pd);
			}
		}
		node_unlock(n);
		while (empty) {
			struct page_desc *pd = pd_of_lru(a, empty);

			if (!pd)
				break;
			empty = pd->lru.next;
			slab_discard(a, pd);
			freed++;
		}
	}
	return rc ? rc : freed;
}

/* ---- for slub_debug.c ----------------------------------------------------- */

/* a new slab for a debug cache: not frozen (debug caches have no cpu slabs) */
struct page_desc *slab_new_for_debug(struct arena *a, struct kmem_cache *s, unsigned int node)
{
	struct page_desc *pd = slab_new(a, s, node);

	if (pd)
		atomic_store_relaxed(&pd->slab.hi, CNT_MAKE(0, slab_objects(pd), 0, arena_self(a)));
	return pd;
}
