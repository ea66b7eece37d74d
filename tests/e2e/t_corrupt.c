/*
 * t_corrupt.c - end-to-end tests of a corrupted arena: a client that
 * attached to a real slubd scribbles on the arena's metadata through its own
 * mapping (the arena is shared, so slubd sees every byte), and slubd's stats,
 * validate and scrub must report it, never crash, never hang.
 *
 *   scribble_cache   a pool's descriptor: self, name, geometry (size, oo,
 *                    min, offset, red_left_pad, inuse, reciprocal,
 *                    track_off), cpu_slab, nr_cpus, nr_nodes, node[],
 *                    list links, id, flags, state
 *   scribble_node    a pool's kmem_cache_node: partial and full list links
 *                    and counts, a loop in the partial list
 *   scribble_page    page descriptors of slabs: flags, head, cache, slab
 *                    freelist and counters, lru links, order, list, node,
 *                    cpu; a free page dressed up as a slab
 *   scribble_cpu     a pool's kmem_cache_cpu: slab_pfn, partial, its count,
 *                    the lockless freelist
 *   scribble_object  a free pointer inside a free object; red zone and
 *                    poison of a debug pool
 *   scribble_header  the arena header: the cache list, the system cache
 *                    offsets, cache ids, the report ring, the quarantine,
 *                    the buddy zone's free lists, counts and bounds, the
 *                    geometry
 *   restart_scrub    the arena corrupted while slubd is down: a new slubd
 *                    adopts it, scrubs it at start, serves stats and validate
 *
 * t_corrupt_locks.c has the report ring and the locks (report_ring,
 * lock_word*, lock_kind*), t_corrupt_random.c the seeded random scribbles
 * (random_scribbles).
 *
 * Each scribble is an E2E case of its own, in a fresh slubd and arena (e2e
 * allows 4 daemons a case): slubctl stats (table and --json) and slubctl
 * validate, and the Stats and Validate requests over the protocol, each
 * answered within OP_TIMEOUT_MS; validate finds errors (slubctl exits 1) and
 * names the pool; stats answers (or says what is wrong); slubctl creates and
 * destroys a pool; slubd's scrub (200 ms after a client leaves) runs over
 * the damage; the client detaches (slubd drops its references, destroying
 * the pools); slubd stays alive, serves another client, and exits 0 on
 * SIGTERM.
 *
 * The random scribbles (t_corrupt_random.c) leave the locks alone: the
 * lock_word cases (t_corrupt_locks.c) scribble them one at a time.
 *
 * $T_CORRUPT_SHRINK=1 adds slubctl shrink to every scribble: slab_shrink
 * (slub.c) follows a corrupt cache unchecked, and crashes or hangs slubd on
 * 18 of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "slub.h"
#include "layout.h"
#include "e2e_corrupt.h"

/* ---- the cache descriptor ------------------------------------------------- */

static int k_self(struct cr *c) { c->plain->self += 64; return 1; }
static int k_name_no_nul(struct cr *c)
{
	memset(c->plain->name + 8, 'Z', sizeof(c->plain->name) - 8);
	return 1;
}
static int k_name_garbage(struct cr *c)
{
	for (size_t i = 0; i < sizeof(c->plain->name); i++)
		c->plain->name[i] = (char)(0x80 + i * 7);
	return 1;
}
static int k_size0(struct cr *c) { c->plain->size = 0; return 1; }
static int k_size_huge(struct cr *c) { c->plain->size = 0xffffffffu; return 1; }
static int k_size_small(struct cr *c) { c->plain->size = 8; return 1; }
static int k_oo_huge(struct cr *c) { c->plain->oo = 0xffffffffu; return 1; }
static int k_oo_objs0(struct cr *c) { c->plain->oo &= ~0xffffu; return 1; }
static int k_oo_objs_more(struct cr *c) { c->plain->oo += 100; return 1; }
static int k_min_huge(struct cr *c) { c->plain->min = 0xffff00ffu; return 1; }
static int k_offset_huge(struct cr *c) { c->plain->offset = 0x7fffffffu; return 1; }
static int k_redpad_huge(struct cr *c) { c->dbg->red_left_pad = 0x10000000u; return 1; }
static int k_inuse_huge(struct cr *c) { c->plain->inuse = 0xffffffffu; return 1; }
static int k_objsize_huge(struct cr *c) { c->dbg->object_size = 0xfffffff0u; return 1; }
static int k_reciprocal(struct cr *c) { c->plain->reciprocal ^= 1; return 1; }
static int k_track_off(struct cr *c) { c->dbg->track_off = 0xfffffff0u; return 1; }
static int k_cpu_slab_zero(struct cr *c) { c->plain->cpu_slab = 0; return 1; }
static int k_cpu_slab_out(struct cr *c) { c->plain->cpu_slab = c->size + 7 * 4096; return 1; }
static int k_cpu_slab_end(struct cr *c) { c->plain->cpu_slab = c->size - 64; return 1; }
static int k_cpu_slab_odd(struct cr *c) { c->plain->cpu_slab += 8; return 1; }
static int k_cpu_slab_other(struct cr *c)
{
	struct page_desc *p = cr_slab_on(c, c->dbg, SL_FULL);

	if (!p)
		return 0;
	c->plain->cpu_slab = (aoff_t)cr_pfn_of(c, p) << PAGE_SHIFT;
	return 1;
}
static int k_nr_cpus(struct cr *c) { c->plain->nr_cpus = 0xffffffffu; return 1; }
static int k_nr_cpus0(struct cr *c) { c->plain->nr_cpus = 0; return 1; }
static int k_nr_nodes(struct cr *c) { c->plain->nr_nodes = 1000; return 1; }
static int k_node_zero(struct cr *c) { c->plain->node[0] = 0; return 1; }
static int k_node_out(struct cr *c) { c->plain->node[0] = ~0ULL - 100; return 1; }
static int k_node_pd(struct cr *c) { c->plain->node[0] = c->h->pd_off + 64 * 5; return 1; }
static int k_node_other(struct cr *c) { c->plain->node[0] = c->dbg->node[0]; return 1; }
static int k_node_inside(struct cr *c) { c->plain->node[0] += 8; return 1; }
static int k_list_next(struct cr *c) { c->plain->list.next = 0x2468ace0; return 1; }
static int k_list_next_out(struct cr *c) { c->plain->list.next = 1ULL << 60; return 1; }
static int k_list_loop(struct cr *c) { c->plain->list.next = cr_off_of(c, &c->plain->list); return 1; }
static int k_list_prev(struct cr *c) { c->plain->list.prev = 0x13579bd8; return 1; }
static int k_id(struct cr *c) { c->plain->id = 0xffffffffu; return 1; }
static int k_flags(struct cr *c) { c->plain->flags = 0xffffffffu; return 1; }
static int k_state_dead(struct cr *c) { c->plain->state = CACHE_DEAD; return 1; }
static int k_state_zero(struct cr *c) { c->plain->state = 0; return 1; }
static int k_everything(struct cr *c)
{
	uint64_t r = 0x5eed;
	uint64_t *w = (uint64_t *)c->plain;

	for (size_t i = 0; i < KMEM_CACHE_SIZE(c->nr_nodes) / 8; i++)
		w[i] = t_rand(&r);
	memcpy(c->plain->name, P_NAME, sizeof(P_NAME));
	c->plain->self = cr_off_of(c, c->plain);
	c->plain->state = CACHE_ACTIVE;
	return 1;
}

#define CACHE_KINDS(X) \
	X(cache, self, X_ALL_NAMED, 0) \
	X(cache, name_no_nul, X_ALL_NAMED, 0) \
	X(cache, name_garbage, X_ANY, 0) \
	X(cache, size0, X_NAMED, 0) \
	X(cache, size_huge, X_NAMED, 0) \
	X(cache, size_small, X_NAMED, 0) \
	X(cache, oo_huge, X_NAMED, 0) \
	X(cache, oo_objs0, X_NAMED, 0) \
	X(cache, oo_objs_more, X_NAMED, 0) \
	X(cache, min_huge, X_NAMED, 0) \
	X(cache, offset_huge, X_NAMED, 0) \
	X(cache, redpad_huge, X_NAMED, 1) \
	X(cache, inuse_huge, X_NAMED, 0) \
	X(cache, objsize_huge, X_NAMED, 1) \
	X(cache, reciprocal, X_NAMED, 0) \
	X(cache, track_off, X_NAMED, 1) \
	X(cache, cpu_slab_zero, X_NAMED, 0) \
	X(cache, cpu_slab_out, X_NAMED, 0) \
	X(cache, cpu_slab_end, X_NAMED, 0) \
	X(cache, cpu_slab_odd, X_NAMED, 0) \
	X(cache, cpu_slab_other, X_NAMED, 0) \
	X(cache, nr_cpus, X_NAMED, 0) \
	X(cache, nr_cpus0, X_NAMED, 0) \
	X(cache, nr_nodes, X_NAMED, 0) \
	X(cache, node_zero, X_NAMED, 0) \
	X(cache, node_out, X_NAMED, 0) \
	X(cache, node_pd, X_NAMED, 0) \
	X(cache, node_other, X_NAMED, 0) \
	X(cache, node_inside, X_NAMED, 0) \
	X(cache, list_next, X_ALL_NAMED, 0) \
	X(cache, list_next_out, X_ALL_NAMED, 0) \
	X(cache, list_loop, X_ALL_NAMED, 0) \
	X(cache, list_prev, X_ALL_NAMED, 0) \
	X(cache, id, X_NAMED, 0) \
	X(cache, flags, X_NAMED, 0) \
	X(cache, state_dead, X_ALL_NAMED, 0) \
	X(cache, state_zero, X_ALL_NAMED, 0) \
	X(cache, everything, X_NAMED, 0)

CACHE_KINDS(DEF_CASE)

/* ---- the node ----------------------------------------------------------------- */

static int k_partial_next_junk(struct cr *c)
{
	cr_node0(c, c->plain)->partial.next = c->h->pd_off + 64 * 3 + 16;
	return 1;
}
static int k_partial_next_out(struct cr *c) { cr_node0(c, c->plain)->partial.next = 1ULL << 62; return 1; }
static int k_partial_next_zero(struct cr *c) { cr_node0(c, c->plain)->partial.next = 0; return 1; }
static int k_partial_prev(struct cr *c) { cr_node0(c, c->plain)->partial.prev = 12344; return 1; }
static int k_partial_loop(struct cr *c)
{
	struct page_desc *p = cr_slab_on(c, c->plain, SL_NODE_PARTIAL);

	if (!p)
		return 0;
	p->lru.next = cr_lru_off(c, p);
	return 1;
}
static int k_partial_cross(struct cr *c)
{
	/* the plain pool's partial list runs on into the debug pool's */
	struct page_desc *p = cr_slab_on(c, c->plain, SL_NODE_PARTIAL);
	struct page_desc *q = cr_slab_on(c, c->dbg, SL_NODE_PARTIAL);

	if (!p || !q)
		return 0;
	p->lru.next = cr_lru_off(c, q);
	return 1;
}
static int k_nr_partial(struct cr *c) { cr_node0(c, c->plain)->nr_partial = 1ULL << 40; return 1; }
static int k_full_next(struct cr *c) { cr_node0(c, c->dbg)->full.next = 0x0badf00d; return 1; }
static int k_full_prev(struct cr *c) { cr_node0(c, c->dbg)->full.prev = c->size; return 1; }
static int k_nr_full(struct cr *c) { cr_node0(c, c->dbg)->nr_full = 77777; return 1; }
static int k_nr_slabs(struct cr *c) { cr_node0(c, c->plain)->nr_slabs += 1000; return 1; }
static int k_total_objects(struct cr *c) { cr_node0(c, c->plain)->total_objects = ~0ULL; return 1; }
static int k_charged_objects(struct cr *c) { c->plain->charged_objects += 3; return 1; }
static int k_charged_pages(struct cr *c) { c->plain->charged_pages = 0; return 1; }

#define NODE_KINDS(X) \
	X(node, partial_next_junk, X_NAMED, 0) \
	X(node, partial_next_out, X_NAMED, 0) \
	X(node, partial_next_zero, X_NAMED, 0) \
	X(node, partial_prev, X_NAMED, 0) \
	X(node, partial_loop, X_NAMED, 0) \
	X(node, partial_cross, X_NAMED, 0) \
	X(node, nr_partial, X_NAMED, 0) \
	X(node, full_next, X_NAMED, 1) \
	X(node, full_prev, X_NAMED, 1) \
	X(node, nr_full, X_NAMED, 1) \
	X(node, nr_slabs, X_NAMED, 0) \
	X(node, total_objects, X_NAMED, 0) \
	X(node, charged_objects, X_NAMED, 0) \
	X(node, charged_pages, X_NAMED, 0)

NODE_KINDS(DEF_CASE)

/* ---- page descriptors ------------------------------------------------------- */

static struct page_desc *partial_slab(struct cr *c)
{
	return cr_slab_on(c, c->plain, SL_NODE_PARTIAL);
}

static int k_pg_flags_all(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->flags = 0xffff, 1) : 0;
}
static int k_pg_flags_zero(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->flags = 0, 1) : 0;
}
static int k_pg_flags_free(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->flags |= PG_FREE, 1) : 0;
}
static int k_pg_head(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->head = 0xffffffffu, 1) : 0;
}
static int k_pg_cache_other(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->cache = c->dbg->self, 1) : 0;
}
static int k_pg_cache_junk(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->cache = 0x1234568, 1) : 0;
}
static int k_pg_cache_zero(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->cache = 0, 1) : 0;
}
static int k_pg_freelist_junk(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->slab.lo = ((aoff_t)cr_pfn_of(c, p) << PAGE_SHIFT) + 13, 1) : 0;
}
static int k_pg_freelist_out(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->slab.lo = 1ULL << 63, 1) : 0;
}
static int k_pg_counters(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->slab.hi = ~0ULL, 1) : 0;
}
static int k_pg_counters_dbg(struct cr *c)
{
	struct page_desc *p = cr_slab_on(c, c->dbg, SL_NODE_PARTIAL);

	return p ? (p->slab.hi = CNT_MAKE(0xffff, 0xffff, 0, 0), 1) : 0;
}
static int k_pg_counters_full_dbg(struct cr *c)
{
	struct page_desc *p = cr_slab_on(c, c->dbg, SL_FULL);

	return p ? (p->slab.hi = CNT_MAKE(3, 0xffff, 0, 1), 1) : 0;
}
static int k_pg_inuse(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->slab.hi += 5, 1) : 0;
}
static int k_pg_lru_self(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->lru.next = cr_lru_off(c, p), 1) : 0;
}
static int k_pg_lru_junk(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->lru.next = 0xdead, 1) : 0;
}
static int k_pg_lru_prev(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->lru.prev = 0xbeef0, 1) : 0;
}
static int k_pg_order(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->order = 0xff, 1) : 0;
}
static int k_pg_order_big(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->order = 9, 1) : 0;
}
static int k_pg_list(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->list = 77, 1) : 0;
}
static int k_pg_list_none(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->list = SL_NONE, 1) : 0;
}
static int k_pg_node(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->node = 0xffff, 1) : 0;
}
static int k_pg_cpu(struct cr *c)
{
	struct page_desc *p = cr_slab_on(c, c->plain, SL_CPU_PARTIAL);

	return p ? (p->cpu = 0xffff, 1) : 0;
}
static int k_pg_cpu_slab_counters(struct cr *c)
{
	uint32_t pfn = cr_busy_cpu(c, c->plain)->slab_pfn;

	return pfn ? (c->pd[pfn].slab.hi = CNT_MAKE(1, 0xffff, 1, 1), 1) : 0;
}
static int k_pg_cpu_slab_thawed(struct cr *c)
{
	uint32_t pfn = cr_busy_cpu(c, c->plain)->slab_pfn;

	return pfn ? (c->pd[pfn].slab.hi &= ~(1ULL << 32), 1) : 0;
}
/* a free page dressed up as a slab of the pool, with a junk freelist, on no list */
static int fake_slab(struct cr *c, struct kmem_cache *s, uint64_t counters)
{
	struct page_desc *p = cr_free_head(c);

	if (!p)
		return 0;
	p->flags = PG_HEAD | PG_SLAB;
	p->order = 0;
	p->cache = s->self;
	p->list = SL_NONE;
	p->slab.lo = ((aoff_t)cr_pfn_of(c, p) << PAGE_SHIFT) + 64;
	p->slab.hi = counters;
	return 1;
}
static int k_pg_fake_slab(struct cr *c) { return fake_slab(c, c->plain, CNT_MAKE(0, 0xffff, 0, 0)); }
static int k_pg_fake_slab_dbg(struct cr *c) { return fake_slab(c, c->dbg, CNT_MAKE(0, 0xffff, 0, 0)); }
static int k_pg_fake_slab_ok(struct cr *c)
{
	/* right geometry, a freelist that leaves the slab */
	return fake_slab(c, c->plain, CNT_MAKE(0, c->plain->oo & 0xffff, 0, 0));
}
static int k_pg_fake_slab_frozen(struct cr *c)
{
	return fake_slab(c, c->dbg, CNT_MAKE(1, c->dbg->oo & 0xffff, 1, 0x7ffffff0u));
}
static int k_pg_acct_objects(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->acct_objects += 7, 1) : 0;
}
static int k_pg_transit(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	/* looks like a block a dead process held in transit: buddy_scrub frees it */
	return p ? (p->flags |= PG_TRANSIT, p->owner = 0x7ffffff0u, 1) : 0;
}

#define PAGE_KINDS(X) \
	X(page, pg_flags_all, X_NAMED, 0) \
	X(page, pg_flags_zero, X_NAMED, 0) \
	X(page, pg_flags_free, X_NAMED, 0) \
	X(page, pg_head, X_NAMED, 0) \
	X(page, pg_cache_other, X_NAMED, 0) \
	X(page, pg_cache_junk, X_NAMED, 0) \
	X(page, pg_cache_zero, X_NAMED, 0) \
	X(page, pg_freelist_junk, X_NAMED, 0) \
	X(page, pg_freelist_out, X_NAMED, 0) \
	X(page, pg_counters, X_NAMED, 0) \
	X(page, pg_counters_dbg, X_NAMED, 1) \
	X(page, pg_counters_full_dbg, X_NAMED, 1) \
	X(page, pg_inuse, X_NAMED, 0) \
	X(page, pg_lru_self, X_NAMED, 0) \
	X(page, pg_lru_junk, X_NAMED, 0) \
	X(page, pg_lru_prev, X_NAMED, 0) \
	X(page, pg_order, X_NAMED, 0) \
	X(page, pg_order_big, X_NAMED, 0) \
	X(page, pg_list, X_NAMED, 0) \
	X(page, pg_list_none, X_NAMED, 0) \
	X(page, pg_node, X_NAMED, 0) \
	X(page, pg_cpu, X_NAMED, 0) \
	X(page, pg_cpu_slab_counters, X_NAMED, 0) \
	X(page, pg_cpu_slab_thawed, X_NAMED, 0) \
	X(page, pg_fake_slab, X_NAMED, 0) \
	X(page, pg_fake_slab_dbg, X_NAMED, 1) \
	X(page, pg_fake_slab_ok, X_NAMED, 0) \
	X(page, pg_fake_slab_frozen, X_NAMED, 1) \
	X(page, pg_acct_objects, X_NAMED, 0) \
	X(page, pg_transit, X_NAMED, 0)

PAGE_KINDS(DEF_CASE)

/* ---- kmem_cache_cpu and objects ------------------------------------------------ */

static int k_cpu_pfn_huge(struct cr *c) { cr_busy_cpu(c, c->plain)->slab_pfn = 0xfffffff0u; return 1; }
static int k_cpu_pfn_meta(struct cr *c) { cr_busy_cpu(c, c->plain)->slab_pfn = 1; return 1; }
static int k_cpu_pfn_other(struct cr *c)
{
	struct page_desc *p = cr_slab_on(c, c->dbg, SL_FULL);

	return p ? (cr_busy_cpu(c, c->plain)->slab_pfn = cr_pfn_of(c, p), 1) : 0;
}
static int k_cpu_partial_junk(struct cr *c)
{
	struct kmem_cache_cpu *k = cr_partial_cpu(c, c->plain);

	if (!k)
		k = cr_busy_cpu(c, c->plain);
	k->partial = 0x4242;
	return 1;
}
static int k_cpu_partial_loop(struct cr *c)
{
	struct page_desc *p = cr_slab_on(c, c->plain, SL_CPU_PARTIAL);

	return p ? (p->lru.next = cr_lru_off(c, p), 1) : 0;
}
static int k_cpu_partial_node(struct cr *c)
{
	/* a cpu partial list that runs into a node partial slab */
	struct kmem_cache_cpu *k = cr_busy_cpu(c, c->plain);
	struct page_desc *p = partial_slab(c);

	return p ? (k->partial = cr_lru_off(c, p), k->partial_slabs = 1, 1) : 0;
}
static int k_cpu_partial_slabs(struct cr *c) { cr_busy_cpu(c, c->plain)->partial_slabs = 999; return 1; }
static int k_cpu_freelist_junk(struct cr *c)
{
	struct kmem_cache_cpu *k = cr_busy_cpu(c, c->plain);

	k->fl.lo = k->slab_start + 3;
	return 1;
}
static int k_cpu_freelist_out(struct cr *c) { cr_busy_cpu(c, c->plain)->fl.lo = 1ULL << 63; return 1; }
static int k_cpu_slab_bytes(struct cr *c) { cr_busy_cpu(c, c->plain)->slab_bytes = 0xffffffffu; return 1; }
static int k_cpu_intent(struct cr *c)
{
	struct kmem_cache_cpu *k = cr_busy_cpu(c, c->plain);

	k->intent = INTENT_DEACTIVATE;
	k->intent_pfn = 0xfffffff0u;
	k->intent_freelist = 0x77;
	return 1;
}
static int k_obj_freeptr_cpu(struct cr *c)
{
	struct kmem_cache_cpu *k = cr_busy_cpu(c, c->plain);

	if (!k->fl.lo)
		return 0;
	*(uint64_t *)cr_at(c, k->fl.lo + c->plain->offset) ^= 0x5a5a5a5a5a5a5a5aULL;
	return 1;
}
static int k_obj_freeptr_node(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	if (!p || !p->slab.lo)
		return 0;
	*(uint64_t *)cr_at(c, p->slab.lo + c->plain->offset) ^= 0x00000000000ff000ULL;
	return 1;
}
static int k_obj_freeptr_self(struct cr *c)
{
	/* a free pointer that points at its own object: a loop */
	struct page_desc *p = partial_slab(c);
	aoff_t obj, slot;

	if (!p || !p->slab.lo)
		return 0;
	obj = p->slab.lo;
	slot = obj + c->plain->offset;
	*(uint64_t *)cr_at(c, slot) = obj ^ c->plain->random ^ __builtin_bswap64(slot);
	return 1;
}
static int k_obj_redzone(struct cr *c)
{
	char *o = c->dobj[D_OBJS - 1];

	o[c->dbg->object_size] ^= 0x11;
	return 1;
}
static int k_obj_poison(struct cr *c)
{
	struct page_desc *p = cr_slab_on(c, c->dbg, SL_NODE_PARTIAL);

	if (!p || !p->slab.lo)
		return 0;
	*(char *)cr_at(c, p->slab.lo + 5) = 0x11;
	return 1;
}

#define CPU_KINDS(X) \
	X(cpu, cpu_pfn_huge, X_NAMED, 0) \
	X(cpu, cpu_pfn_meta, X_NAMED, 0) \
	X(cpu, cpu_pfn_other, X_NAMED, 0) \
	X(cpu, cpu_partial_junk, X_NAMED, 0) \
	X(cpu, cpu_partial_loop, X_NAMED, 0) \
	X(cpu, cpu_partial_node, X_NAMED, 0) \
	X(cpu, cpu_partial_slabs, X_NAMED, 0) \
	X(cpu, cpu_freelist_junk, X_NAMED, 0) \
	X(cpu, cpu_freelist_out, X_NAMED, 0) \
	X(cpu, cpu_slab_bytes, X_NAMED, 0) \
	X(cpu, cpu_intent, X_NAMED, 0) \
	X(cpu, obj_freeptr_cpu, X_NAMED, 0) \
	X(cpu, obj_freeptr_node, X_NAMED, 0) \
	X(cpu, obj_freeptr_self, X_NAMED, 0) \
	X(cpu, obj_redzone, X_NAMED, 1) \
	X(cpu, obj_poison, X_NAMED, 1)

CPU_KINDS(DEF_CASE)

/* ---- the header ----------------------------------------------------------------- */

static int k_caches_next_junk(struct cr *c) { c->h->slab_caches.next = 0x1008; return 1; }
static int k_caches_next_out(struct cr *c) { c->h->slab_caches.next = ~0ULL - 7; return 1; }
static int k_caches_next_zero(struct cr *c) { c->h->slab_caches.next = 0; return 1; }
static int k_caches_loop(struct cr *c)
{
	c->h->slab_caches.next = cr_off_of(c, &c->plain->list);
	c->plain->list.next = cr_off_of(c, &c->plain->list);
	return 1;
}
static int k_caches_prev(struct cr *c) { c->h->slab_caches.prev = 0x3338; return 1; }
static int k_caches_pd(struct cr *c)
{
	/* the cache list runs into a page descriptor */
	struct page_desc *p = partial_slab(c);

	return p ? (c->plain->list.next = cr_lru_off(c, p), 1) : 0;
}
static int k_hdr_kmem_cache(struct cr *c) { c->h->kmem_cache = 0x5550; return 1; }
static int k_hdr_kmem_cache_node(struct cr *c) { c->h->kmem_cache_node = c->size * 2; return 1; }
static int k_hdr_kmalloc(struct cr *c)
{
	for (int i = 0; i < NR_KMALLOC; i++)
		c->h->kmalloc_caches[i] = 0x100 * (aoff_t)i + 1;
	return 1;
}
static int k_hdr_cache_ids(struct cr *c) { memset(c->h->cache_ids, 0xff, sizeof(c->h->cache_ids)); return 1; }
static int k_hdr_reports(struct cr *c)
{
	c->h->report_head = ~0ULL - 3;
	for (int i = 0; i < REPORT_RING; i++) {
		c->h->reports[i].seq = (uint64_t)i * 0x9e3779b97f4a7c15ULL;
		memset(&c->h->reports[i].r, 0xa5, sizeof(c->h->reports[i].r));
	}
	/* and something for validate to report into that ring */
	cr_node0(c, c->plain)->nr_partial += 3;
	return 1;
}
static int k_zone_list_junk(struct cr *c) { c->h->zone.area[0].free_list.next = 0x4000 + 24; return 1; }
static int k_zone_list_out(struct cr *c) { c->h->zone.area[3].free_list.prev = ~0ULL; return 1; }
static int k_zone_list_loop(struct cr *c)
{
	struct page_desc *p = cr_free_head(c);

	return p ? (p->lru.next = cr_lru_off(c, p), 1) : 0;
}
static int k_zone_counts(struct cr *c)
{
	c->h->zone.nr_free_pages = 1ULL << 50;
	c->h->zone.area[3].nr_free = 12345;
	return 1;
}
static int k_zone_bounds(struct cr *c)
{
	c->h->zone.first_pfn = 0;
	c->h->zone.end_pfn = 0xffffffffu;
	return 1;
}
static int k_zone_free_order(struct cr *c)
{
	struct page_desc *p = cr_free_head(c);

	return p ? (p->order = 0xff, 1) : 0;
}
static int k_zone_free_lost(struct cr *c)
{
	struct page_desc *p = cr_free_head(c);

	return p ? (p->flags = 0, 1) : 0;
}
static int k_hdr_geometry(struct cr *c)
{
	c->h->nr_pages = ~0u;
	c->h->nr_cpus = 5000;
	c->h->nr_nodes = 0;
	c->h->pd_off = 3;
	c->h->chunk_off = ~0ULL;
	c->h->nr_chunks = ~0u;
	return 1;
}
static int k_hdr_chunks(struct cr *c)
{
	memset(cr_at(c, c->h->chunk_off), 0x77, c->h->nr_chunks);
	return 1;
}

#define HDR_KINDS(X) \
	X(hdr, caches_next_junk, X_ANY, 0) \
	X(hdr, caches_next_out, X_ANY, 0) \
	X(hdr, caches_next_zero, X_ANY, 0) \
	X(hdr, caches_loop, X_ALL_NAMED, 0) \
	X(hdr, caches_prev, X_ANY, 0) \
	X(hdr, caches_pd, X_ALL_NAMED, 0) \
	X(hdr, hdr_kmem_cache, X_ANY, 0) \
	X(hdr, hdr_kmem_cache_node, X_ANY, 0) \
	X(hdr, hdr_kmalloc, X_ANY, 0) \
	X(hdr, hdr_cache_ids, X_ANY, 0) \
	X(hdr, hdr_reports, X_NAMED, 0) \
	X(hdr, zone_list_junk, X_ANY, 0) \
	X(hdr, zone_list_out, X_ANY, 0) \
	X(hdr, zone_list_loop, X_ANY, 0) \
	X(hdr, zone_counts, X_ANY, 0) \
	X(hdr, zone_bounds, X_ANY, 0) \
	X(hdr, zone_free_order, X_ANY, 0) \
	X(hdr, zone_free_lost, X_ANY, 0) \
	X(hdr, hdr_geometry, X_ANY, 0) \
	X(hdr, hdr_chunks, X_NONE, 0)

HDR_KINDS(DEF_CASE)

/* ---- a new slubd adopts a corrupted arena ------------------------------------------ */

E2E_CASE(restart_scrub)
{
	static const struct cr_kind picks[] = {
		{ "pg_cache_other", k_pg_cache_other, X_NONE, 0 },
		{ "pg_counters", k_pg_counters, X_NONE, 0 },
		{ "pg_lru_self", k_pg_lru_self, X_NONE, 0 },
		{ "pg_fake_slab", k_pg_fake_slab, X_NONE, 0 },
		{ "pg_fake_slab_dbg", k_pg_fake_slab_dbg, X_NONE, 1 },
		{ "pg_transit", k_pg_transit, X_NONE, 0 },
		{ "partial_loop", k_partial_loop, X_NONE, 0 },
		{ "cpu_pfn_huge", k_cpu_pfn_huge, X_NONE, 0 },
		{ "cpu_partial_junk", k_cpu_partial_junk, X_NONE, 0 },
		{ "cpu_freelist_junk", k_cpu_freelist_junk, X_NONE, 0 },
		{ "oo_objs_more", k_oo_objs_more, X_NONE, 0 },
		{ "zone_list_junk", k_zone_list_junk, X_NONE, 0 },
	};
	char conf[300];
	struct e2e_opts o = { 0 };
	struct e2e_slubd *d2;
	struct cr_vres v;
	struct cr_sres s;
	struct cr c;

	REQUIRE(cr_setup(&c, NULL) == 0);
	e2e_stop(c.d);		/* the arena file stays; this process keeps it mapped */
	for (size_t i = 0; i < sizeof(picks) / sizeof(picks[0]); i++)
		printf("  %s: %s\n", picks[i].name, picks[i].fn(&c) ? "scribbled" : "nothing there");
	snprintf(conf, sizeof(conf), "[arena]\nfile = %s/slubd.arena\n", c.d->dir);
	o.config = conf;
	d2 = e2e_start(&o);
	REQUIRE(d2 != NULL);
	c.d = d2;		/* its startup scrub ran over the damage */
	cr_validate(&c, NULL, &v);
	CHECKF(v.answered && v.errors > 0, "validate after the restart: %llu errors",
	       (unsigned long long)v.errors);
	printf("  after the restart: validate %llu errors, first: %.120s\n",
	       (unsigned long long)v.errors, v.first);
	cr_stats(&c, NULL, P_NAME, &s);
	CHECK(s.answered);
	cr_slubctl(&c, "stats", NULL, NULL, NULL);
	t_sleep_ms(SCRUB_WAIT_MS);
	if (e2e_alive(d2, "after the restart's scrubs"))
		e2e_stop(d2);
}

T_MAIN(CACHE_KINDS(LIST_CASE) NODE_KINDS(LIST_CASE) PAGE_KINDS(LIST_CASE) CPU_KINDS(LIST_CASE)
       HDR_KINDS(LIST_CASE) T_CASE(restart_scrub))
