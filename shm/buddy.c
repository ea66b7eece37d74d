/*
 * buddy.c - the page allocator: a binary buddy system over the arena's pages.
 *
 * A block of order k is 2^k pages whose first pfn is a multiple of 2^k (the
 * arena's offsets, not its addresses, are what is aligned).  Free blocks sit
 * on the zone's free list of their order; freeing merges a block with its
 * buddy (pfn ^ 2^k) while the buddy is a free block of the same order.
 *
 * Lock: zone.lock (a robust shm_lock) protects the free lists, the counts,
 * and the flags, order and lru of every block head.  It is the innermost lock
 * of the arena: nothing else is taken while it is held, and it is held for no
 * system call.  Outside it, a caller owns the blocks it was given.
 *
 * Only block heads carry meaningful flags.  A position that starts a current
 * block always has accurate flags; that is what lets a merge look at its
 * buddy's head without knowing more.
 *
 * Death.  Every change to a block first marks its head PG_TRANSIT with the
 * changer's pid, then edits lists, then writes the final flags.  If the owner
 * of zone.lock dies, the next locker rebuilds the free lists from the page
 * descriptors (zone_repair): free heads go back on their lists, positions no
 * block covers (an absorbed buddy whose merge did not finish) become free
 * pages again and merge.  Transit blocks of dead processes are freed by
 * buddy_scrub.  So a death can leak at most the block being changed until
 * the next scrub, never lose or double-hand a page.
 *
 * Slab accounting (slab_acct.c).  A slab's block is counted for its cache
 * in the same zone-locked section that takes it from a free list, and
 * uncounted in the one that gives it back: alloc_block and free_block call
 * acct_step with the zone's log under the zone lock, and zone_repair runs
 * acct_finish first; buddy_acct_check compares the counts with the blocks
 * under the zone lock.
 *
 * Corruption.  The pages the buddy manages are [a->first_pfn, a->nr_pages),
 * the process's own copy checked when the arena was opened: the zone's
 * first_pfn and end_pfn in the header are never trusted (buddy_check says
 * when they differ).  Every order read from a page descriptor is checked
 * (head_ok) before it sizes a block, indexes a free area or moves a walk,
 * and a free of something that is no allocated block is reported and
 * ignored.
 *
 * Backing.  Memory goes back to the host a chunk (2 MiB) at a time: when a
 * free block of at least a chunk forms, the freeing process keeps it
 * (PG_TRANSIT), drops the lock, punches the hole, marks the chunk HOLE, and
 * frees the block again.  The allocator reserves a HOLE chunk with
 * fallocate, outside the lock, before it hands out any page of it, and fails
 * with ENOMEM when the host has no memory: never a SIGBUS later.  Huge page
 * arenas are not punched: their pages are reserved for the arena at mmap,
 * and a punched huge page could not be promised back.
 *
 * Layer: above slab_acct.c, meta.c, list.c, lock.c, report.c, ident.c and
 * os.c, which it calls; nothing above.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static struct buddy_zone *zone(struct arena *a)
{
	return &a->hdr->zone;
}

/* pfn starts a block whose order fits the arena (pfn itself checked by the caller) */
static bool head_ok(struct arena *a, uint32_t pfn)
{
	struct page_desc *pd = pd_of_pfn(a, pfn);
	unsigned int order = pd->order;

	return (pd->flags & PG_HEAD) && order <= BUDDY_MAX_ORDER &&
	       (pfn & ((1u << order) - 1)) == 0 && pfn >= a->first_pfn &&
	       (uint64_t)pfn + (1u << order) <= a->nr_pages;
}

static void area_add(struct arena *a, uint32_t pfn, unsigned int order)
{
	struct page_desc *pd = pd_of_pfn(a, pfn);
	struct free_area *fa = &zone(a)->area[order];

	pd->order = (uint8_t)order;
	pd->flags = PG_HEAD | PG_FREE;
	pd->owner = 0;
	olist_add(a, &fa->free_list, &pd->lru);
	fa->nr_free++;
}

static void area_del(struct arena *a, uint32_t pfn)
{
	struct page_desc *pd = pd_of_pfn(a, pfn);

	olist_del(a, &pd->lru);
	zone(a)->area[pd->order].nr_free--;
}

static bool chunks_backed_any(struct arena *a, uint32_t pfn, unsigned int order)
{
	uint32_t c0 = pfn >> CHUNK_ORDER, c1 = (pfn + (1u << order) - 1) >> CHUNK_ORDER;

	for (uint32_t c = c0; c <= c1; c++)
		if (atomic_load_acquire(&a->chunks[c]) == CHUNK_BACKED)
			return true;
	return false;
}

/*
 * free_locked - put block (pfn, order) back, merging with free buddies.
 * Returns the resulting head; *order_out its order.
 */
static uint32_t free_locked(struct arena *a, uint32_t pfn, unsigned int order,
			    unsigned int *order_out)
{
	pd_of_pfn(a, pfn)->flags = PG_HEAD | PG_TRANSIT;
	pd_of_pfn(a, pfn)->owner = arena_self(a);
	while (order < BUDDY_MAX_ORDER) {
		uint32_t buddy = pfn ^ (1u << order);
		struct page_desc *b;

		if (buddy < a->first_pfn || buddy + (1u << order) > a->nr_pages)
			break;
		b = pd_of_pfn(a, buddy);
		if ((b->flags & (PG_HEAD | PG_FREE)) != (PG_HEAD | PG_FREE) || b->order != order)
			break;
		area_del(a, buddy);
		b->flags = 0;		/* absorbed: no longer a head */
		if (buddy < pfn) {
			pd_of_pfn(a, pfn)->flags = 0;
			pfn = buddy;
			pd_of_pfn(a, pfn)->flags = PG_HEAD | PG_TRANSIT;
			pd_of_pfn(a, pfn)->owner = arena_self(a);
		}
		order++;
	}
	pd_of_pfn(a, pfn)->order = (uint8_t)order;
	*order_out = order;
	return pfn;
}

/*
 * zone_repair - the zone lock's owner died: rebuild the free lists from the
 * page descriptors.  Pass 1 marks every free head, and every position that no
 * block covers, PG_REPAIR (so that no merge follows a stale list link); pass
 * 2 frees them again, merging.  Blocks in transit stay for buddy_scrub.
 */
static void zone_repair(void *arg)
{
	struct arena *a = arg;
	struct buddy_zone *z = zone(a);
	uint32_t pfn;

	acct_finish(a, &z->acct);
	for (unsigned int o = 0; o <= BUDDY_MAX_ORDER; o++) {
		olist_init(a, &z->area[o].free_list);
		z->area[o].nr_free = 0;
	}
	z->nr_free_pages = 0;
	for (pfn = a->first_pfn; pfn < a->nr_pages;) {
		struct page_desc *pd = pd_of_pfn(a, pfn);

		shm_repair_walk_steps++;
		if (!head_ok(a, pfn)) {
			pd->order = 0;
			pd->flags = PG_HEAD | PG_REPAIR;
			pfn++;
			continue;
		}
		/*
		 * Tails: only a block in transit can hold a stale head.  A merge
		 * (free_locked) clears an absorbed buddy's flags before the merged
		 * head gets its order, so a death inside it leaves separate heads
		 * or positions no block covers (made PG_REPAIR above), never a
		 * head inside a block; a split (alloc_block) writes the upper
		 * halves' heads while the block's head, PG_TRANSIT, still has its
		 * old order: those are cleared here, and buddy_scrub frees the
		 * block whole.  The tails of free and allocated blocks are clean
		 * (a block leaves the free lists with clean tails and its
		 * allocator clears them again), and nothing reads a tail as a
		 * head: a merge looks only at its buddy, which lies in no other
		 * block (a buddy of order k inside a block of higher order is in
		 * the same aligned range as its twin), and the walks step from
		 * head to head.  So the walk is one step per block, not per page
		 * (t_owner repair_walk_blocks).
		 */
		if (pd->flags & PG_TRANSIT)
			for (uint32_t p = pfn + 1; p < pfn + (1u << pd->order); p++) {
				shm_repair_walk_steps++;
				pd_of_pfn(a, p)->flags &= (uint16_t)~(PG_HEAD | PG_FREE);
			}
		if (pd->flags & PG_FREE)
			pd->flags = PG_HEAD | PG_REPAIR;
		pfn += 1u << pd->order;
	}
	for (pfn = a->first_pfn; pfn < a->nr_pages;) {
		struct page_desc *pd = pd_of_pfn(a, pfn);
		unsigned int order = pd->order, span = 1u << order;

		if (pd->flags & PG_REPAIR) {
			uint32_t h = free_locked(a, pfn, order, &order);

			area_add(a, h, order);
		}
		pfn += span;
	}
	for (unsigned int o = 0; o <= BUDDY_MAX_ORDER; o++)
		z->nr_free_pages += z->area[o].nr_free << o;
}

/* 0, or -errno: the zone lock cannot be taken (reported), the caller fails */
static must_check int zone_lock(struct arena *a)
{
	int rc = shm_lock_acquire(a, &zone(a)->lock, zone_repair, a);

	if (unlikely(rc)) {
		lock_failed(a, NULL, rc, "zone lock (the page allocator)");
		return rc;
	}
	shm_hook(HOOK_ZONE_LOCKED);
	return 0;
}

static void zone_unlock(struct arena *a)
{
	shm_lock_release(&zone(a)->lock);
}

void buddy_init(struct arena *a)
{
	struct buddy_zone *z = zone(a);
	uint32_t pfn = a->first_pfn;

	shm_lock_init(&z->lock);
	for (unsigned int o = 0; o <= BUDDY_MAX_ORDER; o++)
		olist_init(a, &z->area[o].free_list);
	while (pfn < a->nr_pages) {
		unsigned int order = BUDDY_MAX_ORDER;

		while ((pfn & ((1u << order) - 1)) || pfn + (1u << order) > a->nr_pages)
			order--;
		area_add(a, pfn, order);
		z->nr_free_pages += 1u << order;
		pfn += 1u << order;
	}
}

/* back every HOLE chunk of the block; outside any lock */
static int ensure_backed(struct arena *a, uint32_t pfn, unsigned int order)
{
	uint32_t c0 = pfn >> CHUNK_ORDER, c1 = (pfn + (1u << order) - 1) >> CHUNK_ORDER;

	for (uint32_t c = c0; c <= c1; c++) {
		int rc;

		if (atomic_load_acquire(&a->chunks[c]) == CHUNK_BACKED)
			continue;
		rc = os_fallocate(a->fd, (uint64_t)c * CHUNK_SIZE, CHUNK_SIZE);
		if (rc)
			return rc;
		atomic_store_release(&a->chunks[c], CHUNK_BACKED);
	}
	return 0;
}

/*
 * alloc_block - a block of 2^order pages, flags PG_HEAD | flags, or with s a
 * slab's block: checked against s's caps and counted for s on node (objects
 * objects), in transit (PG_TRANSIT, ours) until the caller publishes it.
 */
static int alloc_block(struct arena *a, unsigned int order, uint16_t flags, struct kmem_cache *s,
		       unsigned int node, unsigned int objects, uint32_t *out)
{
	struct buddy_zone *z = zone(a);
	struct kmem_cache_node *n = NULL;
	unsigned int o;
	uint32_t pfn = 0;
	struct page_desc *pd = NULL;
	int rc, repaired = 0;

	if (order > BUDDY_MAX_ORDER)
		return -ENOMEM;
	rc = zone_lock(a);
	if (rc)
		return rc;
	if (s) {
		n = acct_node(a, s, node);
		if (!n) {
			zone_unlock(a);
			return -EINVAL;
		}
		if (!acct_cap_ok(a, s, order, objects)) {
			zone_unlock(a);
			return -EDQUOT;
		}
	}
	for (o = order; o <= BUDDY_MAX_ORDER; o++) {
		struct olist *first;

		if (olist_empty(a, &z->area[o].free_list))
			continue;
		first = olist_next(a, &z->area[o].free_list, &z->area[o].free_list);
		pd = first ? pd_of_lru(a, arena_off_of(a, first)) : NULL;
		if (!pd || !(pd->flags & PG_FREE) || pd->order != o) {
			if (repaired++)
				break;
			zone_repair(a);	/* a corrupt list: rebuild it from the pages */
			o = order - 1;
			continue;
		}
		pfn = pd_pfn(a, pd);
		break;
	}
	if (o > BUDDY_MAX_ORDER || !pd) {
		zone_unlock(a);
		return -ENOMEM;
	}
	area_del(a, pfn);
	pd->flags = PG_HEAD | PG_TRANSIT;
	pd->owner = arena_self(a);
	while (o > order) {
		o--;
		area_add(a, pfn + (1u << o), o);
		shm_hook(HOOK_BUDDY_SPLIT);
	}
	z->nr_free_pages -= 1u << order;
	pd->order = (uint8_t)order;
	if (s) {
		acct_step(a, &z->acct, pd, s, n, node, +1, objects);	/* stays PG_TRANSIT, ours */
	} else {
		pd->cache = 0;
		pd->acct_objects = 0;
		pd->flags = PG_HEAD | flags;
	}
	zone_unlock(a);

	for (uint32_t p = pfn; p < pfn + (1u << order); p++) {
		pd_of_pfn(a, p)->head = pfn;
		if (p != pfn)
			pd_of_pfn(a, p)->flags = 0;
	}
	rc = ensure_backed(a, pfn, order);
	if (rc) {
		buddy_free(a, pfn);
		return -ENOMEM;
	}
	*out = pfn;
	return 0;
}

int buddy_alloc(struct arena *a, unsigned int order, uint16_t flags, uint32_t *out)
{
	return alloc_block(a, order, flags, NULL, 0, 0, out);
}

int buddy_alloc_slab(struct arena *a, struct kmem_cache *s, unsigned int node, unsigned int order,
		     unsigned int objects, uint32_t *out)
{
	return alloc_block(a, order, 0, s, node, objects, out);
}

static void punch_and_free(struct arena *a, uint32_t head, unsigned int order)
{
	struct buddy_zone *z = zone(a);
	unsigned int freed = order;

	shm_hook(HOOK_PUNCH);
	if (os_punch(a->fd, arena_at(a, pfn_off(head)), pfn_off(head), PAGE_SIZE << order) == 0) {
		for (uint32_t c = head >> CHUNK_ORDER; c < (head + (1u << order)) >> CHUNK_ORDER; c++)
			atomic_store_release(&a->chunks[c], CHUNK_HOLE);
		atomic_add_relaxed(&z->punches, 1);
	}
	if (zone_lock(a))
		return;		/* reported: the block stays in transit, ours (leaked) */
	head = free_locked(a, head, order, &order);
	area_add(a, head, order);
	z->nr_free_pages += 1u << freed;
	zone_unlock(a);
}

/*
 * A punch queued by a thread that freed a chunk while holding a lock
 * (shm_defer, lock.c): the block stays PG_TRANSIT (ours) until the thread
 * releases its last lock and lock.c runs this.  If the thread dies first,
 * buddy_scrub() frees it unpunched.
 */
static void punch_deferred(struct arena *a, uint32_t head)
{
	punch_and_free(a, head, pd_of_pfn(a, head)->order);
}

void buddy_free(struct arena *a, uint32_t pfn)
{
	struct buddy_zone *z = zone(a);
	unsigned int order, freed;
	aoff_t bad_cache = 0;
	uint32_t head;

	if (unlikely(pfn < a->first_pfn || pfn >= a->nr_pages || !head_ok(a, pfn) ||
		     (pd_of_pfn(a, pfn)->flags & PG_FREE))) {
		slab_report(a, NULL, SLAB_ERR_PAGE, pfn_off(pfn),
			    "freeing block %u: no allocated block starts there (flags %#x, order %u): "
			    "leaked", pfn, pfn < a->nr_pages ? pd_of_pfn(a, pfn)->flags : 0,
			    pfn < a->nr_pages ? pd_of_pfn(a, pfn)->order : 0);
		return;
	}
	order = freed = pd_of_pfn(a, pfn)->order;
	if (zone_lock(a))
		return;		/* reported: the block is not given back (leaked) */
	if (pd_of_pfn(a, pfn)->cache) {
		/* a slab's block (or one on its way): uncount it */
		struct page_desc *pd = pd_of_pfn(a, pfn);
		struct kmem_cache *s = cache_of_off(a, pd->cache);
		struct kmem_cache_node *n = acct_node(a, s, pd->node);

		if (n) {
			acct_step(a, &zone(a)->acct, pd, s, n, pd->node, -1, pd->acct_objects);
		} else {
			bad_cache = pd->cache;
			atomic_store_release(&pd->cache, 0);
		}
	}
	head = free_locked(a, pfn, order, &order);
	if (order >= CHUNK_ORDER && a->backing == ARENA_BACKING_SHM &&
	    chunks_backed_any(a, head, order) && (shm_lock_depth == 1 || shm_defer_room())) {
		/* keep it (PG_TRANSIT, ours) while its memory goes back */
		z->nr_free_pages += 1u << freed;
		z->nr_free_pages -= 1u << order;
		if (shm_lock_depth > 1) {
			shm_defer(punch_deferred, a, head);
			zone_unlock(a);
		} else {
			zone_unlock(a);
			punch_and_free(a, head, order);
		}
	} else {
		area_add(a, head, order);
		z->nr_free_pages += 1u << freed;
		zone_unlock(a);
	}
	if (bad_cache)
		slab_report(a, NULL, SLAB_ERR_COUNTERS, pfn_off(pfn),
			    "freeing block %u: it names no valid cache (%#llx): no count to take back",
			    pfn, (unsigned long long)bad_cache);
}

void *buddy_alloc_pages(struct arena *a, unsigned int order)
{
	uint32_t pfn;
	int rc = buddy_alloc(a, order, PG_META, &pfn);

	if (rc) {
		errno = -rc;
		return NULL;
	}
	return arena_at(a, pfn_off(pfn));
}

void buddy_free_pages(struct arena *a, void *p, unsigned int order)
{
	aoff_t off = arena_offset(a, p);
	uint32_t pfn = (uint32_t)(off >> PAGE_SHIFT);

	if (!off || off % PAGE_SIZE || pfn < a->first_pfn || !head_ok(a, pfn) ||
	    (pd_of_pfn(a, pfn)->flags & (PG_FREE | PG_TRANSIT)) ||
	    pd_of_pfn(a, pfn)->order != order) {
		slab_report(a, NULL, SLAB_ERR_BAD_POINTER, off,
			    "buddy_free_pages(%p, %u): not an allocated block of that order", p, order);
		return;
	}
	buddy_free(a, pfn);
}

int buddy_info(struct arena *a, struct buddy_info *bi)
{
	struct buddy_zone *z = zone(a);
	int rc;

	memset(bi, 0, sizeof(*bi));
	rc = zone_lock(a);
	if (rc)
		return rc;
	bi->nr_pages = a->nr_pages - a->first_pfn;
	bi->nr_free = z->nr_free_pages;
	for (unsigned int o = 0; o <= BUDDY_MAX_ORDER; o++)
		bi->free_blocks[o] = z->area[o].nr_free;
	bi->punches = z->punches;
	zone_unlock(a);
	bi->chunks_total = a->size / CHUNK_SIZE;	/* ours, not the header's */
	for (uint32_t c = 0; c < bi->chunks_total; c++)
		bi->chunks_backed += atomic_load_relaxed(&a->chunks[c]) == CHUNK_BACKED;
	return 0;
}

/* the checks' reports: the first failure's text in err (when given), -EUCLEAN in rc */
#define BAD(...) do { \
	if (!rc && err && errlen) \
		snprintf(err, errlen, __VA_ARGS__); \
	rc = -EUCLEAN; \
} while (0)

int buddy_check(struct arena *a, char *err, size_t errlen)
{
	struct buddy_zone *z = zone(a);
	uint64_t free_pages = 0, heads[BUDDY_MAX_ORDER + 1] = { 0 };
	uint32_t pfn = a->first_pfn;
	int rc = 0;

	if (err && errlen)
		err[0] = 0;
	if (zone_lock(a)) {
		BAD("the zone lock cannot be taken: not checked");
		return rc;
	}
	if (z->first_pfn != a->first_pfn || z->end_pfn != a->nr_pages)
		BAD("the zone says pages %u..%u, the arena has %u..%u", z->first_pfn, z->end_pfn,
		    a->first_pfn, a->nr_pages);
	while (pfn < a->nr_pages) {
		struct page_desc *pd = pd_of_pfn(a, pfn);

		if (!head_ok(a, pfn)) {
			BAD("page %u is covered by no block", pfn);
			pfn++;
			continue;
		}
		if (pd->flags & PG_FREE) {
			uint32_t buddy = pfn ^ (1u << pd->order);

			free_pages += 1u << pd->order;
			heads[pd->order]++;
			if (pd->order < BUDDY_MAX_ORDER && buddy >= a->first_pfn &&
			    buddy + (1u << pd->order) <= a->nr_pages && head_ok(a, buddy) &&
			    (pd_of_pfn(a, buddy)->flags & PG_FREE) &&
			    pd_of_pfn(a, buddy)->order == pd->order)
				BAD("free blocks %u and %u of order %u were not merged", pfn, buddy,
				    pd->order);
		}
		pfn += 1u << pd->order;
	}
	for (unsigned int o = 0; o <= BUDDY_MAX_ORDER; o++) {
		struct olist *h = &z->area[o].free_list, *n = h;
		aoff_t hoff = arena_off_of(a, h), prev = hoff;
		uint64_t count = 0;

		/* bounded: a list that loops counts more blocks than there are */
		while (count <= a->nr_pages) {
			aoff_t next = atomic_load_relaxed(&n->next);
			struct page_desc *pd;

			if (next == hoff)
				break;
			n = olist_next(a, h, n);
			if (!n) {
				BAD("free list %u: a link leaves the arena (%#llx)", o,
				    (unsigned long long)next);
				break;
			}
			pd = pd_of_lru(a, arena_off_of(a, n));
			if (!pd || !(pd->flags & PG_FREE) || pd->order != o) {
				BAD("free list %u holds %#llx, no free block of that order", o,
				    (unsigned long long)next);
				break;
			}
			if (n->prev != prev)
				BAD("free list %u: the back link of block %u is wrong", o, pd_pfn(a, pd));
			prev = next;
			count++;
		}
		if (count <= a->nr_pages && h->prev != prev)
			BAD("free list %u: the head's back link is wrong", o);
		if (count != z->area[o].nr_free || count != heads[o])
			BAD("free list %u: %llu on the list, count says %llu, %llu free heads", o,
			    (unsigned long long)count, (unsigned long long)z->area[o].nr_free,
			    (unsigned long long)heads[o]);
	}
	if (free_pages != z->nr_free_pages)
		BAD("%llu pages in free blocks, zone says %llu", (unsigned long long)free_pages,
		    (unsigned long long)z->nr_free_pages);
	zone_unlock(a);
	return rc;
}

/*
 * buddy_scrub - free the blocks that dead processes held in transit: a
 * split, merge or punch they did not finish, or a slab's block they were
 * making or discarding (still counted for its cache: buddy_free uncounts
 * it).  Only a head whose flags are exactly PG_TRANSIT is taken; a
 * descriptor with more bits set is corrupt (validate says so), and freeing
 * it could hand out pages still in use.  The victim stays PG_TRANSIT, ours
 * now, until freed: if we die too, the next scrub takes it.
 *
 * Bounded lock holds.  The walk over the pages holds no lock: it only
 * nominates heads that look like a dead process's transit block (reading
 * flags with acquire, then pd.owner: a discarder writes the owner first),
 * and asks ident_alive, which needs no lock and no system call.  Then, for
 * each nominee, the zone lock is taken for one check and one store: the
 * head is still a block head, its flags still exactly PG_TRANSIT and its
 * owner still the dead id seen; then it is ours (pd.owner), and buddy_free
 * gives it back after the lock.  A dead process changes nothing, and only
 * a scrub claims a dead process's block, under the zone lock, by writing
 * its own (live) id: so a block is claimed, and freed, by one scrub only.
 *
 * What the lock-free walk may miss: a block whose head it read mid-change
 * (a split or merge of a neighbour moving the walk by a stale order), or a
 * block that became a dead process's after the walk passed it.  A dead
 * process's transit block does not change until a scrub takes it, so the
 * next scrub's walk finds it.  The walk steps over whole blocks, so a
 * mostly free arena costs a few thousand steps, not one per page.
 */
#define SCRUB_VICTIMS 64	/* nominees per walk: the walk resumes after them */

int buddy_scrub(struct arena *a, uint64_t *returned, uint64_t *max_hold_ns, uint64_t *steps)
{
	struct { uint32_t pfn, owner; } v[SCRUB_VICTIMS];
	uint32_t pfn = a->first_pfn;
	uint64_t t0 = os_now_ns();
	int rc;

	scrub_step_arm();
	rc = zone_lock(a);

	/* taken once first: a dead holder's half-done change is repaired (or the
	 * lock is unusable: said so) before the walk looks */
	*returned = 0;
	if (rc)
		return rc;
	zone_unlock(a);
	scrub_hold_note(t0, max_hold_ns, steps);
	while (pfn < a->nr_pages) {
		unsigned int nv = 0;

		/* no lock: nominate */
		while (pfn < a->nr_pages && nv < SCRUB_VICTIMS) {
			struct page_desc *pd = pd_of_pfn(a, pfn);
			uint16_t flags = atomic_load_acquire(&pd->flags);
			uint32_t owner;

			if (!head_ok(a, pfn)) {
				pfn++;
				continue;
			}
			owner = atomic_load_relaxed(&pd->owner);
			if (flags == (PG_HEAD | PG_TRANSIT) && !ident_alive(a, owner)) {
				v[nv].pfn = pfn;
				v[nv++].owner = owner;
			}
			pfn += 1u << pd->order;
		}
		/* one short locked step per nominee */
		for (unsigned int i = 0; i < nv; i++) {
			struct page_desc *pd = pd_of_pfn(a, v[i].pfn);
			bool mine = false;

			t0 = os_now_ns();
			scrub_step_arm();
			if ((rc = zone_lock(a)))
				return rc;
			if (head_ok(a, v[i].pfn) &&
			    atomic_load_acquire(&pd->flags) == (PG_HEAD | PG_TRANSIT) &&
			    pd->owner == v[i].owner) {
				pd->owner = arena_self(a);	/* ours now */
				mine = true;
			}
			zone_unlock(a);
			scrub_hold_note(t0, max_hold_ns, steps);
			if (mine) {
				buddy_free(a, v[i].pfn);
				(*returned)++;
			}
		}
	}
	return 0;
}

int buddy_acct_check(struct arena *a, struct kmem_cache *s, char *err, size_t errlen)
{
	uint64_t slabs[SLUB_MAX_NODES] = { 0 }, objs[SLUB_MAX_NODES] = { 0 }, pages = 0, all = 0;
	unsigned int nodes = s->nr_nodes < SLUB_MAX_NODES ? s->nr_nodes : SLUB_MAX_NODES;
	int rc = 0;

	if (zone_lock(a)) {
		BAD("the zone lock cannot be taken: counts not checked");
		return rc;
	}
	for (uint32_t pfn = a->first_pfn; pfn < a->nr_pages;) {
		struct page_desc *pd = pd_of_pfn(a, pfn);

		if (!head_ok(a, pfn)) {
			pfn++;
			continue;
		}
		if (!(pd->flags & PG_FREE) && pd->cache == s->self) {
			if (pd->node >= nodes)
				BAD("slab %u is counted on node %u of %u", pfn, pd->node, nodes);
			else {
				slabs[pd->node]++;
				objs[pd->node] += pd->acct_objects;
			}
			pages += 1u << pd->order;
			all += pd->acct_objects;
		}
		pfn += 1u << pd->order;
	}
	for (unsigned int node = 0; node < nodes; node++) {
		struct kmem_cache_node *n = acct_node(a, s, node);

		if (n && (n->nr_slabs != slabs[node] || n->total_objects != objs[node]))
			BAD("node %u counts %llu slabs / %llu objects, %llu / %llu found", node,
			    (unsigned long long)n->nr_slabs, (unsigned long long)n->total_objects,
			    (unsigned long long)slabs[node], (unsigned long long)objs[node]);
	}
	if (s->charged_objects != all || s->charged_pages != pages)
		BAD("charged %llu objects / %llu pages, %llu / %llu found",
		    (unsigned long long)s->charged_objects, (unsigned long long)s->charged_pages,
		    (unsigned long long)all, (unsigned long long)pages);
	zone_unlock(a);
	return rc;
}
