/*
 * slub.c - the SLUB engine's allocation and free paths, shared by every
 * process that maps the arena.
 *
 * Lock order (outermost first; a path may skip levels, never go back up):
 *
 *   1. slab_mutex (arena_hdr)        the list of caches, cache ids, refcounts
 *   2. kmem_cache_cpu.lock           one CPU's slab, partial list and intent
 *                                    (several at once only in ascending CPU
 *                                    order: validate and scrub)
 *   3. kmem_cache_node.list_lock     a node's partial and full lists
 *                                    (several: ascending node order)
 *   4. buddy_zone.lock               the page allocator (buddy.c), and each
 *                                    cache's slab counts and charges
 *                                    (struct acct_log in layout.h)
 *
 * No lock is held across a system call or a constructor: allocating a new
 * slab (which may fallocate and runs the ctor) drops the CPU lock first.
 *
 * kmem_cache_cpu.lock stands in for the kernel's local_lock: it makes one
 * process at a time the owner of a CPU's slow path.  It protects slab_pfn,
 * slab_start/slab_bytes (written under it, read locklessly), partial,
 * partial_slabs and the intent log.  If its owner dies, cpu_repair()
 * finishes a deactivation recorded in the intent log, or deactivates
 * whatever cpu slab is half-installed, and cuts the partial list at the
 * first entry that is not a partial slab of this CPU (scrub finds the rest).
 *
 * kmem_cache_node.list_lock, what it protects and its repair: see slab.c,
 * which holds the node lists.
 *
 * The lockless fast path.  Each cache has one kmem_cache_cpu per CPU of the
 * machine, shared by all processes.  Alloc reads tid, then the freelist head,
 * then the head's (encoded) free pointer, and swaps {head, tid} for {next,
 * tid + 1} with one 16-byte CAS.  Free pushes likewise when the object lies
 * in the cpu slab.  tid changes on every successful swap, so a process that
 * was preempted, migrated or raced between its loads and its CAS fails the
 * CAS and retries: the ABA problem of a plain pointer CAS cannot happen.
 * The CPU number only chooses the structure; it need not be current, since
 * the CAS is locked.  A process that dies between its loads and its CAS has
 * changed nothing.
 *
 * The free pointer read by alloc may belong to an object another process has
 * just allocated and is writing: the value read is then garbage, but the CAS
 * fails because tid moved.  Before the CAS the value is checked to lie in the
 * cpu slab at an object boundary; a value that fails the check while tid has
 * not moved is corruption, reported and never followed.
 *
 * Slabs and the lock-free slab freelist.  A slab's own {freelist, counters}
 * pair (page_desc.slab) is also changed only by CAS.  A free into a slab
 * that is not the current cpu slab pushes onto it without a lock
 * (__slab_free) and takes a lock only when the slab must change list: a
 * full slab that gets a free goes to the freeing CPU's partial list, an
 * empty node-partial slab above min_partial goes back to the page allocator.
 *
 * Whose geometry.  The public paths (slab_alloc, slab_free, the bulk calls,
 * slab_shrink) turn the handle they are given, the shared descriptor, into
 * this process's checked copy of it (cache_geom, geom.c) and pass the copy
 * down: every `s` below is a copy, and every size, offset, key, CPU or node
 * count, per-CPU or node address read through it was checked when the copy
 * was made, so a scribble on the descriptor cannot turn into a division by
 * zero or an access outside the arena here.  What the paths read from shared
 * memory besides (a CPU's freelist and cpu slab fields, page descriptors,
 * free pointers) is checked before it is followed, as before: an object's
 * offset must leave room for a whole slot in the arena.  The few fields that
 * change (state, errors, caps, charges) are the shared descriptor's,
 * cache_shared().
 *
 * Death outside locks.  A slab that leaves every list (it is being frozen,
 * unfrozen, moved or freed) carries its mover's pid in counters.owner,
 * written by the same CAS that changes its state.  slab_scrub() puts back
 * slabs that are on no list, are frozen or have free objects, and whose
 * owner no longer lives.  A slab being made or discarded: see slab.c.
 *
 * Layer: above slab.c, geom.c, meta.c, list.c, lock.c, ident.c, report.c,
 * os.c, which it calls; it still calls slub_debug.c's debug paths
 * (slab_alloc_debug, slab_free_debug): a debug cache's handle goes there
 * from the public paths.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

/* ---- small helpers ----------------------------------------------------- */

struct kmem_cache_cpu *cache_cpu(struct arena *a, struct kmem_cache *s, unsigned int cpu)
{
	return (struct kmem_cache_cpu *)arena_at(a, s->cpu_slab +
						 (aoff_t)cpu * sizeof(struct kmem_cache_cpu));
}

static inline void stat_add(struct kmem_cache_cpu *c, enum slab_stat st)
{
	stat_inc_relaxed(&c->stat[st]);
}


/*
 * obj_index_ok - x (offset from the slab's start) is an object's address:
 * x < bytes and x % size == red_left_pad, without a division (reciprocal
 * exact for x < 2^22 and size < 2^22, see cache_setup()).
 */
static inline bool obj_index_ok(const struct kmem_cache *s, uint64_t x, uint64_t bytes)
{
	uint64_t q = (x * s->reciprocal) >> 44;

	return x < bytes && x - q * s->size == s->red_left_pad;
}

/* the head page of a slab of cache s holding offset off, or NULL */
static struct page_desc *slab_of(struct arena *a, struct kmem_cache *s, aoff_t off)
{
	struct page_desc *pd;
	uint32_t head;

	if (off >= a->size)
		return NULL;
	head = pd_of_off(a, off)->head;
	if (head < a->first_pfn || head >= a->nr_pages)
		return NULL;
	pd = pd_of_pfn(a, head);
	if ((pd->flags & (PG_HEAD | PG_SLAB)) != (PG_HEAD | PG_SLAB) || (s && pd->cache != s->self))
		return NULL;
	return pd;
}

/* does next lie at an object boundary of the slab whose head is pd? */
static bool next_in_slab(struct arena *a, struct kmem_cache *s, struct page_desc *pd, aoff_t next)
{
	aoff_t start = slab_start(pd_pfn(a, pd));

	return next == 0 ||
	       (next >= start && obj_index_ok(s, next - start, (uint64_t)slab_objects(pd) * s->size));
}

/*
 * get_freelist - take a slab's whole freelist; the slab stays (or becomes)
 * frozen, owned by this process, all its objects counted in use.  If it has
 * no free object it is unfrozen instead (full, on no list), as the kernel's
 * get_freelist does.
 */
static aoff_t get_freelist(struct arena *a, struct page_desc *pd, struct kmem_cache_cpu *c)
{
	uint64_t fl, cnt;

	(void)a;
	for (;;) {
		load128_relaxed(&pd->slab, &fl, &cnt);
		if (cas128_full(&pd->slab, fl, cnt, 0,
				CNT_MAKE(CNT_OBJECTS(cnt), CNT_OBJECTS(cnt), fl != 0, arena_self(a))))
			return fl;
		stat_add(c, CMPXCHG_DOUBLE_FAIL);
	}
}

/* ---- deactivation ------------------------------------------------------ */

/*
 * count_list - walk a freelist of slab pd from fl: its length and tail.
 * A link that leaves the slab is reported and the list cut there (the
 * objects below are leaked, never followed).
 */
static uint32_t count_list(struct arena *a, struct kmem_cache *s, struct page_desc *pd,
			   aoff_t fl, aoff_t *tail)
{
	uint32_t n = 0, max = slab_objects(pd);

	*tail = 0;
	while (fl && n < max) {
		aoff_t next = get_freepointer(a, s, fl);

		n++;
		*tail = fl;
		if (!next_in_slab(a, s, pd, next)) {
			slab_report(a, s, SLAB_ERR_FREELIST, fl,
				    "free pointer of object %#llx decodes to %#llx, outside its slab",
				    (unsigned long long)fl, (unsigned long long)next);
			set_freepointer(a, s, fl, 0);
			break;
		}
		fl = next;
	}
	return n;
}

static void cpu_intent_done(struct kmem_cache_cpu *c)
{
	atomic_store_release(&c->intent, INTENT_NONE);
}

/*
 * deactivate_slab - a slab leaves its CPU: splice the CPU's freelist fl
 * (objects of this slab) onto the slab's own freelist and unfreeze it in one
 * CAS, then put it where it belongs: back to the page allocator if empty and
 * the node has enough partial slabs, on the node partial list if it has free
 * objects, nowhere if full.
 *
 * c's lock is held and its intent log names this deactivation.  The log is
 * closed as soon as the CAS has unfrozen the slab: from there the slab is an
 * ordinary one of ours on no list (a death leaves an orphan, which scrub puts
 * back), and others may reach it (a free to a full slab, then a partial list,
 * then another CPU freezes it again), so a repairer must no longer take it
 * for our half-deactivated cpu slab and splice fl into it a second time.
 */
static void deactivate_slab(struct arena *a, struct kmem_cache *s, struct page_desc *pd, aoff_t fl,
			    struct kmem_cache_cpu *c)
{
	struct kmem_cache_node *n = slab_node(a, s, pd);
	aoff_t tail;
	uint32_t free_delta = count_list(a, s, pd, fl, &tail);
	uint64_t old_fl, cnt, new_fl;
	uint32_t inuse;

	for (;;) {
		load128_relaxed(&pd->slab, &old_fl, &cnt);
		new_fl = old_fl;
		inuse = CNT_INUSE(cnt);
		if (tail) {
			set_freepointer(a, s, tail, old_fl);
			new_fl = fl;
			inuse = inuse >= free_delta ? inuse - free_delta : 0;
		}
		if (cas128_full(&pd->slab, old_fl, cnt, new_fl,
				CNT_MAKE(inuse, CNT_OBJECTS(cnt), 0, arena_self(a))))
			break;
		stat_add(c, CMPXCHG_DOUBLE_FAIL);
	}
	cpu_intent_done(c);
	if (inuse == 0 && atomic_load_relaxed(&n->nr_partial) >= s->min_partial) {
		stat_add(c, DEACTIVATE_EMPTY);
		stat_add(c, FREE_SLAB);
		slab_discard(a, pd);
	} else if (new_fl) {
		/* if n's lock cannot be taken, the slab stays on no list: leaked */
		if (node_lock(a, s, n))
			return;
		if (pd->list == SL_NONE)
			add_partial(a, n, pd, true);
		node_unlock(n);
		stat_add(c, DEACTIVATE_PARTIAL);
	} else {
		stat_add(c, DEACTIVATE_FULL);
	}
}

/*
 * cpu_take_locked - with c's lock held and slab_bytes 0: take c's lockless
 * freelist, leaving {0, tid + TID_TAKE}, the take recorded in the intent log
 * (intent_tid, then intent_freelist) before the CAS.
 *
 * How a repairer tells whether the take happened (cpu_repair).  While c's
 * lock is held (by us, or by us dead), c->fl changes only by fast-path CASes,
 * each adding 1 to tid, and by our take.  Few fast ones can succeed: allocs
 * only pop what is on the list, and frees push only while slab_bytes is not
 * 0 (a free that read tid before slab_bytes was cleared has one CAS to win;
 * any later change fails it, and its retry sees 0 and goes the slow way).
 * So from a load of {fl, T} the fast paths reach {x, T + k} with k bounded
 * by the objects of one slab and the threads, never T + TID_TAKE (2^62 + 1);
 * after our CAS the pair stays {0, T + TID_TAKE}: allocs see 0, frees see
 * slab_bytes 0.  Hence "c->fl == {0, intent_tid}" at repair time means the
 * CAS of the take recorded in the log happened, and intent_freelist is what
 * it took; anything else means it did not, and c->fl still holds the list,
 * less what fast allocs popped meanwhile.  (A take may not add 1 like the
 * fast paths: an alloc that pops the last object, next 0, between our load
 * and our CAS leaves exactly {0, T + 1}, and a repairer that took that for
 * our take would link the object it handed out back onto the slab.)
 *
 * A death between the stores: intent_tid is written first, with release
 * before intent_freelist, so a log with the new intent_freelist always has
 * the new intent_tid.  One with the new intent_tid and an older
 * intent_freelist cannot match: its CAS did not happen.  One older than
 * this take (the loop's first pass not yet logged) names the tid an earlier
 * take left, which has moved on unless c->fl is still {0, that tid}: then
 * nothing is there to take, and cpu_detach_locked cleared intent_freelist
 * before it opened the log, so the repairer takes 0 (an earlier take is
 * never finished twice).  A retry (the CAS failed) logs again: the pair has
 * moved on from the tid the failed pass logged.
 */
static aoff_t cpu_take_locked(struct kmem_cache_cpu *c)
{
	uint64_t fl, tid;

	for (;;) {
		load128_relaxed(&c->fl, &fl, &tid);
		c->intent_tid = tid + TID_TAKE;
		atomic_store_release(&c->intent_freelist, fl);
		shm_hook(HOOK_CPU_DETACH);
		if (cas128_full(&c->fl, fl, tid, 0, tid + TID_TAKE))
			return fl;
	}
}

/*
 * cpu_detach_locked - with c's lock held: stop fast frees into the cpu slab
 * (slab_bytes = 0) and take the lockless freelist (cpu_take_locked), the
 * deactivation of the cpu slab opened in the intent log first, so that a
 * repairer can finish it.
 *
 * Ordering: slab_bytes is cleared before the CAS (a full barrier), and the
 * free fast path reads tid before slab_bytes: a free that saw the old
 * slab_bytes read an older tid and its CAS fails.  After the CAS, c->fl
 * stays {0, tid} until the lock holder installs a list: allocs see 0 and
 * queue on the lock, frees see slab_bytes == 0 and take __slab_free.
 */
static aoff_t cpu_detach_locked(struct kmem_cache_cpu *c)
{
	c->intent_pfn = c->slab_pfn;
	c->intent_freelist = 0;
	atomic_store_release(&c->intent, INTENT_DEACTIVATE);
	atomic_store_release(&c->slab_bytes, 0);
	return cpu_take_locked(c);
}

/*
 * cpu_install_locked - make slab pd the cpu slab with lockless freelist fl.
 * c->fl is {0, tid} (cpu_detach_locked ran); nothing else changes it.
 */
static void cpu_install_locked(struct arena *a, struct kmem_cache *s, struct kmem_cache_cpu *c,
			       struct page_desc *pd, aoff_t fl)
{
	uint64_t cur, tid;
	uint32_t pfn = pd_pfn(a, pd);

	c->slab_pfn = pfn;
	for (;;) {
		load128_relaxed(&c->fl, &cur, &tid);
		if (cas128_full(&c->fl, cur, tid, fl, tid + 1))
			break;
	}
	SHM_ASSERT(cur == 0);
	atomic_store_relaxed(&c->slab_start, slab_start(pfn));
	atomic_store_release(&c->slab_bytes, slab_objects(pd) * s->size);
}

/* take the cpu slab away from this CPU; c locked */
static void cpu_deactivate_locked(struct arena *a, struct kmem_cache *s, struct kmem_cache_cpu *c)
{
	uint32_t pfn = c->slab_pfn;
	aoff_t fl = cpu_detach_locked(c);

	shm_hook(HOOK_CPU_DEACTIVATE);
	c->slab_pfn = 0;
	if (pfn)
		deactivate_slab(a, s, pd_of_pfn(a, pfn), fl, c);
	cpu_intent_done(c);
}

/*
 * cpu_flush_locked - leave c with no cpu slab and an empty lockless list,
 * whatever it held (a slab another process installed while we had dropped
 * the lock, or a stray list a dead process left).
 */
static void cpu_flush_locked(struct arena *a, struct kmem_cache *s, struct kmem_cache_cpu *c)
{
	aoff_t stray;
	struct page_desc *pd;

	if (c->slab_pfn) {
		cpu_deactivate_locked(a, s, c);
		stat_add(c, CPUSLAB_FLUSH);
		return;
	}
	stray = cpu_detach_locked(c);
	pd = stray ? slab_of(a, s, stray) : NULL;
	if (pd && CNT_FROZEN(atomic_load_relaxed(&pd->slab.hi)))
		deactivate_slab(a, s, pd, stray, c);
	cpu_intent_done(c);
}

/* ---- CPU partial lists -------------------------------------------------- */

static struct page_desc *cpu_partial_pd(struct arena *a, aoff_t off)
{
	return off ? pd_of_lru(a, off) : NULL;
}

/*
 * put_partials_locked - move a chain of former cpu partial slabs to their
 * node partial lists; empty ones beyond min_partial are discarded after the
 * locks are dropped (the caller gets them in *empty, linked by lru.next).
 */
static void put_partials_locked(struct arena *a, struct kmem_cache *s, aoff_t chain,
				aoff_t *empty, struct kmem_cache_cpu *c)
{
	while (chain) {
		struct page_desc *pd = cpu_partial_pd(a, chain);
		struct kmem_cache_node *n;

		if (!pd)
			break;
		chain = pd->lru.next;
		n = slab_node(a, s, pd);
		if (node_lock(a, s, n)) {
			pd->list = SL_NONE;	/* off c's list, on none: leaked */
			continue;
		}
		pd->list = SL_NONE;
		if (CNT_INUSE(atomic_load_relaxed(&pd->slab.hi)) == 0 &&
		    n->nr_partial >= s->min_partial) {
			/* empty and on no list: only we can reach it now */
			atomic_store_relaxed(&pd->slab.hi,
					     CNT_MAKE(0, slab_objects(pd), 0, arena_self(a)));
			pd->lru.next = *empty;
			*empty = pd_lru_off(a, pd);
		} else {
			add_partial(a, n, pd, true);
		}
		node_unlock(n);
		stat_add(c, CPU_PARTIAL_DRAIN);
	}
}

static void discard_chain(struct arena *a, aoff_t empty, struct kmem_cache_cpu *c)
{
	while (empty) {
		struct page_desc *pd = cpu_partial_pd(a, empty);

		if (!pd)
			break;
		empty = pd->lru.next;
		stat_add(c, FREE_SLAB);
		slab_discard(a, pd);
	}
}

static void cpu_repair(void *arg);

struct cpu_ctx {
	struct arena *a;
	struct kmem_cache *s;
	struct kmem_cache_cpu *c;
};

/*
 * cpu_lock - take the lock of s's CPU cpu, repairing after a dead owner.
 * NULL with errno set if it cannot be taken (reported): then the caller
 * touches nothing it protects, and fails or skips its step.
 */
static must_check struct kmem_cache_cpu *cpu_lock(struct arena *a, struct kmem_cache *s,
						  unsigned int cpu)
{
	struct kmem_cache_cpu *c = cache_cpu(a, s, cpu);
	struct cpu_ctx ctx = { a, s, c };
	int rc = shm_lock_acquire(a, &c->lock, cpu_repair, &ctx);

	if (unlikely(rc)) {
		lock_failed(a, s, rc, "cpu %u lock", cpu);
		errno = -rc;
		return NULL;
	}
	return c;
}

static void cpu_unlock(struct kmem_cache_cpu *c)
{
	shm_lock_release(&c->lock);
}

static inline unsigned int this_cpu(struct arena *a, struct kmem_cache *s)
{
	uint32_t cpu = shm_current_cpu();

	(void)a;
	return likely(cpu < s->nr_cpus) ? cpu : cpu % s->nr_cpus;
}

/*
 * put_cpu_partial - a slab that just got its first free object (so was full,
 * on no list, and is owned by us through counters.owner) joins this CPU's
 * partial list; when the list is full, the old list drains to the nodes.
 */
static void put_cpu_partial(struct arena *a, struct kmem_cache *s, struct page_desc *pd)
{
	unsigned int cpu = this_cpu(a, s);
	struct kmem_cache_cpu *c = cpu_lock(a, s, cpu);
	aoff_t drain = 0, empty = 0;

	if (!c)
		return;		/* the slab stays on no list, ours: leaked */
	if (c->partial_slabs >= s->cpu_partial_slabs) {
		drain = c->partial;
		c->partial = 0;
		c->partial_slabs = 0;
		put_partials_locked(a, s, drain, &empty, c);
	}
	pd->cpu = (uint16_t)cpu;
	pd->lru.next = c->partial;
	pd->list = SL_CPU_PARTIAL;
	c->partial = pd_lru_off(a, pd);
	c->partial_slabs++;
	stat_add(c, CPU_PARTIAL_FREE);
	cpu_unlock(c);
	discard_chain(a, empty, c);
}

static bool cpu_partial_valid(struct arena *a, struct kmem_cache *s, struct kmem_cache_cpu *c,
			      struct page_desc *pd)
{
	return pd && (pd->flags & (PG_HEAD | PG_SLAB)) == (PG_HEAD | PG_SLAB) &&
	       pd->cache == s->self && pd->list == SL_CPU_PARTIAL &&
	       cache_cpu(a, s, pd->cpu < s->nr_cpus ? pd->cpu : 0) == c;
}

/*
 * cpu_repair - the owner of c->lock died.  Finish a recorded deactivation
 * (or deactivate a half-installed cpu slab), then cut the partial list at
 * its first bad entry.  Idempotent: a repairer that dies leaves a state this
 * function accepts again.
 *
 * A recorded deactivation: the intent log says which slab (intent_pfn) and,
 * through intent_tid, whether the owner's take of the lockless list
 * happened (cpu_take_locked says why {0, intent_tid} in c->fl proves it,
 * whatever fast-path allocs and frees raced with it, and whichever store the
 * owner died after).  If it did, intent_freelist is what it took; if not,
 * the repairer takes what c->fl still holds itself, never an object a fast
 * path has handed out since.  The repairer's own take is logged in turn, so
 * that a repairer that dies is finished by the next.  The slab is
 * deactivated only while still frozen: deactivate_slab closes the log as
 * soon as it has unfrozen it.
 */
static void cpu_repair(void *arg)
{
	struct cpu_ctx *ctx = arg;
	struct arena *a = ctx->a;
	struct kmem_cache *s = ctx->s;
	struct kmem_cache_cpu *c = ctx->c;
	uint32_t pfn = c->slab_pfn;
	uint64_t fl, tid;
	aoff_t taken;
	uint32_t count = 0;
	aoff_t *link = &c->partial;

	if (atomic_load_acquire(&c->intent) == INTENT_DEACTIVATE) {
		pfn = c->intent_pfn;
		load128_atomic(&c->fl, &fl, &tid);
		if (fl == 0 && tid == c->intent_tid) {
			/* the logged take happened (see cpu_take_locked): finish it */
			taken = c->intent_freelist;
		} else {
			/* it did not: what is left of the list is still in c->fl */
			atomic_store_release(&c->slab_bytes, 0);
			taken = cpu_take_locked(c);
		}
	} else {
		taken = cpu_detach_locked(c);
		if (!pfn && taken) {
			struct page_desc *pd = slab_of(a, s, taken);

			pfn = pd ? pd_pfn(a, pd) : 0;
			c->intent_pfn = pfn;
		}
	}
	atomic_store_release(&c->slab_bytes, 0);
	c->slab_pfn = 0;
	if (pfn && pfn < a->nr_pages) {
		struct page_desc *pd = pd_of_pfn(a, pfn);

		if ((pd->flags & PG_SLAB) && pd->cache == s->self &&
		    CNT_FROZEN(atomic_load_relaxed(&pd->slab.hi)))
			deactivate_slab(a, s, pd, taken, c);
	}
	cpu_intent_done(c);

	while (*link) {
		struct page_desc *pd = cpu_partial_pd(a, *link);

		if (!cpu_partial_valid(a, s, c, pd) || count >= a->nr_pages) {
			*link = 0;
			break;
		}
		count++;
		link = &pd->lru.next;
	}
	c->partial_slabs = count;
}

/* ---- node partial lists ------------------------------------------------- */

/*
 * get_partial - with c locked: take a slab from the node's partial list for
 * the cpu slab (frozen, its freelist returned in *fl), and move up to half
 * the cpu partial budget more slabs to c's partial list.  NULL with *err
 * set if the node's lock cannot be taken.
 */
static struct page_desc *get_partial(struct arena *a, struct kmem_cache *s, unsigned int node,
				     struct kmem_cache_cpu *c, aoff_t *fl, int *err)
{
	struct kmem_cache_node *n = cache_node(a, s, node);
	struct page_desc *got = NULL;
	struct olist *it;

	*fl = 0;
	if (!atomic_load_relaxed(&n->nr_partial))
		return NULL;
	*err = node_lock(a, s, n);
	if (*err)
		return NULL;
	while ((it = olist_next(a, &n->partial, &n->partial))) {
		struct page_desc *pd = pd_of_lru(a, arena_off_of(a, it));

		if (!pd || pd->cache != s->self || pd->list != SL_NODE_PARTIAL) {
			node_repair_locked(a, s, n);
			break;
		}
		remove_partial(a, n, pd);
		if (!got) {
			/* if it has no free object after all, it is now full, on no list */
			*fl = get_freelist(a, pd, c);
			if (*fl)
				got = pd;
			continue;
		}
		pd->cpu = (uint16_t)(c - cache_cpu(a, s, 0));
		pd->lru.next = c->partial;
		pd->list = SL_CPU_PARTIAL;
		c->partial = pd_lru_off(a, pd);
		if (++c->partial_slabs >= s->cpu_partial_slabs / 2 + 1)
			break;
	}
	node_unlock(n);
	return got;
}

/* ---- the alloc slow path ------------------------------------------------ */

static void report_freelist(struct arena *a, struct kmem_cache *s, aoff_t obj, aoff_t next)
{
	slab_report(a, s, SLAB_ERR_FREELIST, obj,
		    "free pointer of object %#llx decodes to %#llx: outside its slab or misaligned",
		    (unsigned long long)obj, (unsigned long long)next);
}

/*
 * quarantine - a slab whose freelist is corrupt: never hand out its free
 * objects again, never free its pages (objects in it may be live), keep it
 * off every list.  Reported once; validate counts it.
 */
static void quarantine(struct arena *a, struct page_desc *pd)
{
	uint64_t fl, cnt;

	(void)a;
	do
		load128_relaxed(&pd->slab, &fl, &cnt);
	while (!cas128_full(&pd->slab, fl, cnt, 0,
			    CNT_MAKE(CNT_OBJECTS(cnt), CNT_OBJECTS(cnt), 0, 0)));
	pd->flags |= PG_CORRUPT;
}

/*
 * slab_alloc_slow - the cpu freelist is empty (or its head's free pointer
 * failed the check).  Under the CPU's lock: refill from the cpu slab's own
 * freelist (remote frees), else from the cpu partial list, else the node
 * partial list; else drop the lock, make a new slab, and install it.  A
 * lock that cannot be taken fails the allocation (NULL, errno from the lock).
 */
static noinline void *slab_alloc_slow(struct arena *a, struct kmem_cache *s)
{
	unsigned int cpu = this_cpu(a, s), node = os_current_node(s->nr_nodes);
	struct kmem_cache_cpu *c = cpu_lock(a, s, cpu);
	struct page_desc *pd = NULL;
	aoff_t fl, obj, next;
	bool flushed = false;
	int err = 0;

	if (!c)
		return NULL;
	shm_hook(HOOK_CPU_LOCKED);
	stat_add(c, ALLOC_SLOWPATH);
again:
	fl = cpu_detach_locked(c);
	if (c->slab_pfn) {
		pd = pd_of_pfn(a, c->slab_pfn);
		if (!fl) {
			fl = get_freelist(a, pd, c);	/* unfreezes it when empty */
			if (fl)
				stat_add(c, ALLOC_REFILL);
			else
				stat_add(c, DEACTIVATE_BYPASS);
		}
		if (!fl)
			c->slab_pfn = 0;
	} else if (fl) {
		/* a list with no cpu slab: only a repaired state can leave one; give it back */
		struct page_desc *stray = slab_of(a, s, fl);

		if (stray && CNT_FROZEN(atomic_load_relaxed(&stray->slab.hi)))
			deactivate_slab(a, s, stray, fl, c);
		else
			report_freelist(a, s, fl, fl);
		fl = 0;
	}
	cpu_intent_done(c);
	if (!fl && c->partial) {
		pd = cpu_partial_pd(a, c->partial);
		if (cpu_partial_valid(a, s, c, pd)) {
			c->partial = pd->lru.next;
			c->partial_slabs--;
			pd->list = SL_NONE;
			fl = get_freelist(a, pd, c);
			stat_add(c, CPU_PARTIAL_ALLOC);
		} else {
			cpu_repair(&(struct cpu_ctx){ a, s, c });
		}
		if (!fl)
			goto again;
	}
	if (!fl) {
		pd = get_partial(a, s, node, c, &fl, &err);
		if (pd)
			stat_add(c, ALLOC_FROM_PARTIAL);
		if (err) {
			cpu_unlock(c);
			errno = -err;
			return NULL;
		}
	}
	if (!fl) {
		/* no lock across the page allocator's fallocate and the ctor */
		cpu_unlock(c);
		pd = slab_new(a, s, node);
		if (!pd && errno == EDQUOT && !flushed) {
			/* at the cap: free objects may sit on other CPUs' slabs */
			flushed = true;
			flush_all_cpus(a, s);
			c = cpu_lock(a, s, this_cpu(a, s));
			if (!c)
				return NULL;
			goto again;
		}
		if (!pd)
			return NULL;
		shm_hook(HOOK_NEW_SLAB);
		cpu = this_cpu(a, s);
		c = cpu_lock(a, s, cpu);
		if (!c) {
			/* the new slab is ours alone (frozen, on no list): give it back */
			err = errno;
			slab_discard(a, pd);
			errno = err;
			return NULL;
		}
		stat_add(c, ALLOC_SLAB);
		cpu_flush_locked(a, s, c);
		c->slab_pfn = pd_pfn(a, pd);	/* a repairer finds it from here */
		fl = get_freelist(a, pd, c);
	}

	/* fl: objects of slab pd, which is frozen and ours: check before following */
	obj = fl;
	next = next_in_slab(a, s, pd, obj) ? get_freepointer(a, s, obj) : 0;
	if (!next_in_slab(a, s, pd, obj) || !next_in_slab(a, s, pd, next)) {
		report_freelist(a, s, obj, next);
		c->slab_pfn = 0;
		quarantine(a, pd);
		goto again;
	}
	cpu_install_locked(a, s, c, pd, next);
	cpu_unlock(c);
	return arena_at(a, obj);
}

/*
 * fastpath_moved - the head's next pointer failed the cheap check against
 * the cpu slab fields.  If the pair has moved, another process got there
 * first: retry.  If not, let the slow path decide under the lock: the
 * fields may be half-installed (a live owner finishing, or a dead one whose
 * lock the slow path repairs), or the free pointer is corrupt (the slow path
 * checks it against the slab itself, reports and quarantines).
 */
static noinline bool fastpath_moved(struct kmem_cache_cpu *c, aoff_t obj, uint64_t tid)
{
	uint64_t fl2, tid2;

	load128_atomic(&c->fl, &fl2, &tid2);
	return fl2 != obj || tid2 != tid;
}

/* ---- the public paths --------------------------------------------------- */

static inline bool cache_debug(const struct kmem_cache *s)
{
	return s->flags & SLAB_DEBUG_FLAGS;
}

void *slab_alloc_debug(struct arena *a, struct kmem_cache *s, void *caller);
void slab_free_debug(struct arena *a, struct kmem_cache *s, aoff_t off, void *caller);

/*
 * The fast paths below are leaves: every way out of them that does more
 * than return is a tail call into a noinline function, so that they save
 * no registers and set up no frame.
 */
static noinline void *alloc_slow_entry(struct arena *a, struct kmem_cache *s, gfp_t gfp,
				       void *caller)
{
	void *p = NULL;

	if (unlikely(!*ident_fork_token))
		(void)arena_self(a);	/* a child of _Fork(): its own slot first (ident.c) */
	geom_pin(a, s);		/* locks, the ctor, fallocate: s stays whole (geom.c) */
	if (unlikely(cache_unusable(a, s, 0))) {
		geom_forget(a, s);	/* destroyed: the next call looks again */
		goto out;
	}
	errno = 0;
	p = cache_debug(s) ? slab_alloc_debug(a, s, caller) : slab_alloc_slow(a, s);
	if (unlikely(!p)) {
		if (!errno)
			errno = ENOMEM;
		goto out;
	}
	if (gfp & __GFP_ZERO)
		memset(p, 0, s->object_size);
out:
	geom_unpin(a, s);
	return p;
}

static noinline void *alloc_zero(struct kmem_cache *s, void *p)
{
	return memset(p, 0, s->object_size);
}

static void *slab_alloc_inline(struct arena *a, struct kmem_cache *s, gfp_t gfp, void *caller);

/* the cheap check of the next pointer failed: retry if raced, else slow */
static noinline void *alloc_recheck(struct arena *a, struct kmem_cache *s, gfp_t gfp, void *caller,
				    struct kmem_cache_cpu *c, aoff_t obj, uint64_t tid)
{
	if (fastpath_moved(c, obj, tid))
		return slab_alloc_inline(a, s, gfp, caller);
	return alloc_slow_entry(a, s, gfp, caller);
}

static __attribute__((always_inline)) inline void *slab_alloc_inline(struct arena *a,
								      struct kmem_cache *s,
								      gfp_t gfp, void *caller)
{
	struct kmem_cache_cpu *c;
	uint64_t tid, obj, next, start, bytes;
	void *p;

	/*
	 * a child of fork() claimed its slot in libslub's atfork handler; one
	 * of _Fork() or clone() (no handler ran) takes the slow path once, which
	 * claims it, so that slubd sees every process that uses a pool
	 */
	if (unlikely(cache_debug(s) || !*ident_fork_token))
		return alloc_slow_entry(a, s, gfp, caller);
redo:
	c = cache_cpu(a, s, this_cpu(a, s));
	/* tid first: a pair read after it is validated by the CAS below */
	tid = atomic_load_acquire(&c->fl.hi);
	obj = atomic_load_relaxed(&c->fl.lo);
	bytes = atomic_load_relaxed(&c->slab_bytes);
	start = atomic_load_relaxed(&c->slab_start);
	/* obj is read from shared memory: it must leave room for a whole slot
	 * (s->size is this process's checked copy) before it is followed */
	if (unlikely(!obj || obj >= geom_obj_limit(s)))
		return alloc_slow_entry(a, s, gfp, caller);
	next = get_freepointer(a, s, obj);
	if (unlikely(next && !obj_index_ok(s, next - start, bytes)))
		return alloc_recheck(a, s, gfp, caller, c, obj, tid);
	if (unlikely(!cas128_full(&c->fl, obj, tid, next, tid + 1))) {
		stat_add(c, CMPXCHG_DOUBLE_CPU_FAIL);
		goto redo;
	}
	stat_inc_relaxed(&c->alloc_fast);
	p = arena_at(a, obj);
	if (unlikely(gfp & __GFP_ZERO))
		return alloc_zero(s, p);
	return p;
}

/*
 * The public paths take the handle users hold (the shared descriptor) and
 * work on this process's checked copy of it (geom.c): from here on, every
 * geometry field the engine reads is private.
 */
static noinline void *alloc_lookup(struct arena *a, struct kmem_cache *s, gfp_t gfp, void *caller)
{
	struct kmem_cache *k = geom_lookup(a, s, 0);

	if (unlikely(!k))
		return NULL;
	return slab_alloc_inline(a, k, gfp, caller);
}

/*
 * s is either a shared descriptor (a handle into the arena: its copy is
 * looked up) or a private handle (slab_cache_pin: the copy itself, pinned,
 * used as it is).  A pointer outside the arena is taken for a private handle:
 * what libslub gives its users; NULL goes to the lookup, which refuses it.
 */
static inline struct kmem_cache *handle_geom(struct arena *a, struct kmem_cache *s)
{
	if (likely(cache_is_copy(a, s) && s))
		return s;
	return geom_front(a, s);
}

void *slab_alloc(struct arena *a, struct kmem_cache *s, gfp_t gfp)
{
	struct kmem_cache *k = handle_geom(a, s);

	if (unlikely(!k))
		return alloc_lookup(a, s, gfp, __builtin_return_address(0));
	return slab_alloc_inline(a, k, gfp, __builtin_return_address(0));
}

/*
 * __slab_free - push cnt objects (head .. tail, already linked) onto slab
 * pd's own freelist without a lock; take a lock only when the slab changes
 * list.  See the comment at the top of the file.
 */
static void __slab_free(struct arena *a, struct kmem_cache *s, struct page_desc *pd, aoff_t head,
			aoff_t tail, uint32_t cnt)
{
	struct kmem_cache_node *n = NULL;
	struct kmem_cache_cpu *c = cache_cpu(a, s, this_cpu(a, s));
	uint64_t prior, counters, newcnt;
	uint32_t inuse;
	bool was_frozen, no_node_lock = false;

	stat_add(c, FREE_SLOWPATH);
	for (;;) {
		if (unlikely(n)) {
			node_unlock(n);
			n = NULL;
		}
		load128_relaxed(&pd->slab, &prior, &counters);
		if (unlikely(prior == head)) {
			slab_report(a, s, SLAB_ERR_DOUBLE_FREE, head,
				    "object %#llx freed twice (it heads its slab's freelist)",
				    (unsigned long long)head);
			return;
		}
		inuse = CNT_INUSE(counters);
		if (unlikely(inuse < cnt)) {
			slab_report(a, s, SLAB_ERR_DOUBLE_FREE, head,
				    "object %#llx freed into a slab with %u objects in use",
				    (unsigned long long)head, inuse);
			return;
		}
		set_freepointer(a, s, tail, prior);
		inuse -= cnt;
		was_frozen = CNT_FROZEN(counters);
		newcnt = CNT_MAKE(inuse, CNT_OBJECTS(counters), was_frozen, CNT_OWNER(counters));
		if ((!inuse || !prior) && !was_frozen) {
			if (prior) {
				/* to take it off the node list if empty; without the
				 * lock (reported) it stays there, empty: still a free */
				n = no_node_lock ? NULL : slab_node(a, s, pd);
				if (n && node_lock(a, s, n)) {
					n = NULL;
					no_node_lock = true;
				}
			} else {
				/* full -> partial: we own it until it is on our partial list */
				newcnt = CNT_MAKE(inuse, CNT_OBJECTS(counters), 0, arena_self(a));
			}
		}
		if (cas128_full(&pd->slab, prior, counters, head, newcnt))
			break;
		stat_add(c, CMPXCHG_DOUBLE_FAIL);
	}
	if (likely(!n)) {
		if (was_frozen) {
			stat_add(c, FREE_FROZEN);
		} else if (!prior) {
			shm_hook(HOOK_FREE_TRANSIT);
			put_cpu_partial(a, s, pd);
		}
		return;
	}
	/* n locked: the slab became empty; it may be on a CPU's partial list */
	if (pd->list != SL_NODE_PARTIAL || inuse || n->nr_partial < s->min_partial) {
		node_unlock(n);
		return;
	}
	remove_partial(a, n, pd);
	atomic_store_relaxed(&pd->slab.hi, CNT_MAKE(0, CNT_OBJECTS(counters), 0, arena_self(a)));
	node_unlock(n);
	stat_add(c, FREE_REMOVE_PARTIAL);
	stat_add(c, FREE_SLAB);
	slab_discard(a, pd);
}

/*
 * slab_free_slow - an object not in the current cpu slab: check that it is
 * an object of s at all, then push it onto its slab.
 */
static void slab_free_slow_pinned(struct arena *a, struct kmem_cache *s, aoff_t off);

static noinline void slab_free_slow(struct arena *a, struct kmem_cache *s, aoff_t off)
{
	if (unlikely(!*ident_fork_token))
		(void)arena_self(a);	/* a child of _Fork(): its own slot first (ident.c) */
	geom_pin(a, s);		/* list locks: s stays whole meanwhile (geom.c) */
	slab_free_slow_pinned(a, s, off);
	geom_unpin(a, s);
}

static noinline void free_debug_entry(struct arena *a, struct kmem_cache *s, aoff_t off,
				      void *caller)
{
	geom_pin(a, s);
	slab_free_debug(a, s, off, caller);
	geom_unpin(a, s);
}

static void slab_free_slow_pinned(struct arena *a, struct kmem_cache *s, aoff_t off)
{
	struct page_desc *pd = slab_of(a, NULL, off);

	if (cache_unusable(a, s, off)) {
		geom_forget(a, s);
		return;
	}
	if (!pd || (pd->flags & PG_CORRUPT)) {
		slab_report(a, s, SLAB_ERR_BAD_POINTER, off,
			    pd ? "object %#llx lies in a quarantined slab" :
				 "%#llx is not an object of any slab", (unsigned long long)off);
		return;
	}
	if (pd->cache != s->self) {
		struct kmem_cache *t = cache_of_off(a, pd->cache);
		char tn[SLUB_NAME_MAX + 1], sn[SLUB_NAME_MAX + 1];

		/* t is shared: its name may have lost its NUL */
		slab_report(a, s, SLAB_ERR_WRONG_CACHE, off,
			    "object %#llx of cache %s freed into cache %s", (unsigned long long)off,
			    t ? cache_name_safe(t, tn) : "?", cache_name_safe(s, sn));
		return;
	}
	if (!next_in_slab(a, s, pd, off)) {
		slab_report(a, s, SLAB_ERR_BAD_POINTER, off,
			    "%#llx is inside an object, not at its start", (unsigned long long)off);
		return;
	}
	__slab_free(a, s, pd, off, off, 1);
}

static noinline void free_double(struct arena *a, struct kmem_cache *s, aoff_t off)
{
	slab_report(a, s, SLAB_ERR_DOUBLE_FREE, off,
		    "object %#llx freed twice (it heads the CPU freelist)", (unsigned long long)off);
}

static __attribute__((always_inline)) inline void slab_free_inline(struct arena *a,
								    struct kmem_cache *s, void *obj,
								    void *caller)
{
	struct kmem_cache_cpu *c;
	uint64_t tid, fl, start, bytes;
	aoff_t off = (aoff_t)((char *)obj - a->base);

	if (unlikely(cache_debug(s)))
		return free_debug_entry(a, s, off, caller);
	if (unlikely(!*ident_fork_token))
		return slab_free_slow(a, s, off);	/* see slab_alloc_inline */
redo:
	c = cache_cpu(a, s, this_cpu(a, s));
	/* tid before slab_bytes: see cpu_detach_locked() */
	tid = atomic_load_acquire(&c->fl.hi);
	bytes = atomic_load_acquire(&c->slab_bytes);
	start = atomic_load_relaxed(&c->slab_start);
	/* start and bytes are shared: the object must lie in the arena as well */
	if (unlikely(!obj_index_ok(s, off - start, bytes) || off >= geom_obj_limit(s)))
		return slab_free_slow(a, s, off);
	fl = atomic_load_relaxed(&c->fl.lo);
	if (unlikely(fl == off))
		return free_double(a, s, off);
	set_freepointer(a, s, off, fl);
	if (unlikely(!cas128_full(&c->fl, fl, tid, off, tid + 1))) {
		stat_add(c, CMPXCHG_DOUBLE_CPU_FAIL);
		goto redo;
	}
	stat_inc_relaxed(&c->free_fast);
}

static noinline void free_lookup(struct arena *a, struct kmem_cache *s, void *obj, void *caller)
{
	struct kmem_cache *k = geom_lookup(a, s, arena_off_of(a, obj));

	if (unlikely(!k))
		return;		/* reported: the object is leaked */
	slab_free_inline(a, k, obj, caller);
}

void *slab_alloc_pinned(struct arena *a, struct kmem_cache *h, gfp_t gfp)
{
	return slab_alloc_inline(a, h, gfp, __builtin_return_address(0));
}

void slab_free_pinned(struct arena *a, struct kmem_cache *h, void *obj)
{
	if (likely(obj))
		slab_free_inline(a, h, obj, __builtin_return_address(0));
}

void slab_free(struct arena *a, struct kmem_cache *s, void *obj)
{
	struct kmem_cache *k;

	if (unlikely(!obj))
		return;
	k = handle_geom(a, s);
	if (unlikely(!k))
		return free_lookup(a, s, obj, __builtin_return_address(0));
	slab_free_inline(a, k, obj, __builtin_return_address(0));
}

int slab_alloc_bulk(struct arena *a, struct kmem_cache *handle, gfp_t gfp, size_t nr, void **p)
{
	void *caller = __builtin_return_address(0);
	struct kmem_cache *s = cache_geom(a, handle);

	if (unlikely(!s))
		return 0;
	geom_pin(a, s);		/* nr calls on s: it stays whole meanwhile (geom.c) */
	for (size_t i = 0; i < nr; i++) {
		p[i] = slab_alloc_inline(a, s, gfp, caller);
		if (unlikely(!p[i])) {
			int err = errno;	/* ENOMEM, EDQUOT, ...: the first failure's */

			for (size_t j = 0; j < i; j++)
				slab_free_inline(a, s, p[j], caller);
			geom_unpin(a, s);
			errno = err;
			return 0;
		}
	}
	geom_unpin(a, s);
	return (int)nr;
}

void slab_free_bulk(struct arena *a, struct kmem_cache *handle, size_t nr, void **p)
{
	void *caller = __builtin_return_address(0);
	struct kmem_cache *s = cache_geom(a, handle);

	if (unlikely(!s))
		return;
	geom_pin(a, s);
	for (size_t i = 0; i < nr; i++)
		if (p[i])
			slab_free_inline(a, s, p[i], caller);
	geom_unpin(a, s);
}

/* ---- flushing and shrinking --------------------------------------------- */

/* give back every CPU's slab and partial list of s (a CPU whose lock cannot
 * be taken is skipped, reported, and its error returned) */
int flush_all_cpus(struct arena *a, struct kmem_cache *s)
{
	int rc = 0;

	for (unsigned int cpu = 0; cpu < s->nr_cpus; cpu++) {
		struct kmem_cache_cpu *c = cpu_lock(a, s, cpu);
		aoff_t chain, empty = 0;

		if (!c) {
			rc = rc ? rc : -errno;
			continue;
		}
		cpu_flush_locked(a, s, c);
		chain = c->partial;
		c->partial = 0;
		c->partial_slabs = 0;
		put_partials_locked(a, s, chain, &empty, c);
		cpu_unlock(c);
		discard_chain(a, empty, c);
	}
	return rc;
}

int cpu_lock_for_walk(struct arena *a, struct kmem_cache *s, unsigned int cpu)
{
	return cpu_lock(a, s, cpu) ? 0 : -errno;
}
