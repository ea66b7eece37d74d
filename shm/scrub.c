/*
 * scrub.c - the scrub: mends what dead processes left (orphaned slabs put
 * back on their lists, objects of dead owners reported or reclaimed,
 * transit blocks given back), and the two scrubs of one cache that slubd
 * asks for: slab_reclaim_dead (a SLAB_RECLAIM_DEAD pool, or reclaim
 * --force) and slab_cache_discard (every slab given back).
 *
 * Scrub repairs only what it understands: it puts back an orphan whose slab
 * is whole, on a cache whose lists were found whole, and leaves anything
 * else for validate to report.  The rules for reading a corrupted arena are
 * at the top of slub_debug.c.
 *
 * Layer: above validate.c, whose walk it uses (lock_cache, walk_freelist,
 * cache_walkable).  It calls validate.c, slub_debug.c (debug_free_locked,
 * the owners' tracks), slub.c's locks and lists, buddy.c (buddy_scrub,
 * buddy_free), the cache list, geom.c, ident.c (who is alive), report.c,
 * lock.c, list.c, os.c; nothing above it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- scrub ---------------------------------------------------------------- */

/*
 * The scrub runs beside allocating processes, on an arena of any size with
 * up to SLUB_MAX_CACHES pools, so it holds each lock for a bounded step and
 * makes no system call while it holds one:
 *
 *   1. The caches are listed (slab_mutex, O(caches)).  Each cache's
 *      descriptor is checked and each of its locks taken and dropped alone:
 *      taking a lock a dead process held runs its repair (lock.c), which
 *      finishes or undoes what it left half done; the orphans that leaves
 *      are found below.
 *   2. One walk over the page descriptors, holding no lock, nominates the
 *      slabs worth a look: those of a listed cache that are on no node list
 *      by their pd.list (orphans, cpu slabs, cpu partial slabs), and, in
 *      caches with SLAB_STORE_USER, those with allocated objects.  The walk
 *      steps over whole blocks (a free 4 MiB block is one step).
 *   3. Cache by cache, the nominees are examined in chunks of at most
 *      SCRUB_CHUNK_SLABS slabs and SCRUB_CHUNK_OBJECTS objects, each chunk
 *      under the cache's locks (every CPU's, then every node's, as
 *      validate takes them) and nothing else: no page walk, no allocation,
 *      no system call (reports' callbacks wait for the last unlock, the
 *      liveness answers come from ident.c's lives).  Between two chunks of
 *      one cache the scrub yields, so that a process waiting for those
 *      locks gets them.  Empty slabs are given back after the unlock.
 *   4. buddy_scrub: the same for page blocks left in transit (buddy.c).
 *
 * Why chunks stay right while the arena changes between them.  Nothing read
 * outside the locks is trusted: the walk of step 2 only nominates, and each
 * nominee is examined whole under its cache's locks - its descriptor, its
 * place (the CPU slabs and CPU partial lists are walked again in each
 * chunk; a node list's membership is pd.list, exact under the node's lock
 * since every move sets it there and node_repair re-marks it after a
 * death), its owner's life and its freelist - before anything is changed.
 * So a slab that moved, was freed or became another cache's since the walk
 * is skipped or seen as it now is.  What a scrub can miss: a slab that
 * became an orphan after the walk passed it, or whose descriptor the walk
 * read mid-change, and an owner that died after its check.  None of these
 * changes until a scrub deals with it - an orphan's mover is dead, a dead
 * owner stays dead (a slot's next claim is a new id, layout.h) - so the next scrub (a
 * client leaving, or every scrub_interval) finds it.  Nothing is freed
 * twice: an orphan is put back by the CAS that makes it ours (a live id),
 * which any later look skips; a dead owner's object is freed under its
 * node's lock only when its slab's freelist, read under that lock, does not
 * hold it, so a later chunk or scrub finds it free.  Nothing is lost: a
 * slab is put back only when found on no list under all its cache's locks.
 *
 * A pd.list scribbled to SL_NONE on a slab that is on a node list must not
 * make it an orphan (putting it back would link it twice): before that,
 * the slab's back links are followed (node_linked) up to SCRUB_LINK_STEPS:
 * a slab that some list links to, as far as they tell, is left alone (a
 * slab taken off a list by olist_del has no links; the tail a repair cut
 * off a broken list is linked to no head: its n-th slab is told in n
 * steps, and once the one before it is put back, in one, so a tail longer
 * than SCRUB_LINK_STEPS goes back over a few scrubs).
 */
#define SCRUB_CHUNK_SLABS	64	/* slabs examined per locked step */
#define SCRUB_CHUNK_OBJECTS	8192	/* objects whose owner is checked per locked step */
#define SCRUB_LINK_STEPS	64	/* back links followed to tell a listed slab */
#define SCRUB_CPU_PARTIAL_MAX	4096	/* a CPU partial list longer is broken */

/* the dead owners a scrub of one cache found; id 0 stands for the rest */
#define SCRUB_PIDS 16
#define SCRUB_MEMO 64
struct dead_owner {
	uint32_t id, objects, freed, unreported;
	uint32_t pid;			/* its pid as we see it; 0: unknown */
	bool foreign;			/* a pid of another pid namespace */
	aoff_t first;			/* one of its objects, for the report */
};
struct dead_owners {
	unsigned int nr;
	struct dead_owner o[SCRUB_PIDS + 1];
	/* owners already looked up, so that a walk of the lives runs once per
	 * dead owner, not once per object, while the locks are held; live ones
	 * are found in the scrub's snapshot */
	uint32_t alive[SCRUB_MEMO];	/* found alive */
	uint32_t pooled[SCRUB_MEMO];	/* found dead, counted under id 0 */
	unsigned int nr_alive, nr_pooled;
	const uint32_t *snap;		/* ident_snapshot, taken before any lock */
};

static struct dead_owner *dead_owner(struct arena *a, struct dead_owners *d, uint32_t id)
{
	for (unsigned int i = 0; i < d->nr; i++)
		if (d->o[i].id == id)
			return &d->o[i];
	for (unsigned int i = 0; i < d->nr_alive; i++)
		if (d->alive[i] == id)
			return NULL;
	for (unsigned int i = 0; i < d->nr_pooled; i++)
		if (d->pooled[i] == id)
			return dead_owner(a, d, 0);
	if (id && ((OWNER_GEN(id) && d->snap[OWNER_SLOT(id)] == OWNER_GEN(id)) ||
		   ident_alive(a, id))) {
		if (d->nr_alive < SCRUB_MEMO)
			d->alive[d->nr_alive++] = id;
		return NULL;
	}
	if (d->nr >= SCRUB_PIDS && id) {
		/* too many dead owners to name: pool the rest in o[SCRUB_PIDS] */
		if (d->nr_pooled < SCRUB_MEMO)
			d->pooled[d->nr_pooled++] = id;
		id = 0;
	}
	for (unsigned int i = 0; i < d->nr; i++)
		if (d->o[i].id == id)
			return &d->o[i];
	/* the pid: read from the slot (os_pidns was looked up before any lock) */
	d->o[d->nr] = (struct dead_owner){ .id = id };
	d->o[d->nr].pid = ident_slot_pid(a, id, &d->o[d->nr].foreign);
	return &d->o[d->nr++];
}

/* "pid 42", "pid 42 of another pid namespace", "a process": a dead owner, for a report */
static const char *dead_owner_text(const struct dead_owner *d, char *buf, size_t len)
{
	if (!d->pid)
		snprintf(buf, len, "%s", d->id ? "a process" : "processes");
	else
		snprintf(buf, len, "pid %u%s", d->pid, d->foreign ? " of another pid namespace" : "");
	return buf;
}

/* a nominee of step 2: a slab head, and the cache (its index) it named */
struct scrub_nominee {
	uint32_t cache, pfn;
};

/* one cache's chunk, under its locks */
struct scrub_chunk {
	struct walk w;			/* its seen[] only (per object of one slab) */
	const struct scrub_nominee *nom;
	unsigned int nr;
	bool *on_cpu;			/* per nominee: a CPU slab, or on a CPU partial list */
	bool cpu_whole;			/* every CPU partial list walked to its end */
	aoff_t empty;			/* slabs to give back after the unlock (lru.next) */
	bool reclaim;			/* free dead owners' objects (SLAB_RECLAIM_DEAD, or asked) */
	bool discard;			/* give every slab back, objects and all (slab_cache_discard) */
	struct dead_owners *dead;
	struct slab_scrub_result *r;
};

/* mark pfn if it is one of the chunk's nominees (sorted by pfn) */
static void chunk_mark(struct scrub_chunk *c, uint32_t pfn)
{
	unsigned int lo = 0, hi = c->nr;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (c->nom[mid].pfn == pfn) {
			c->on_cpu[mid] = true;
			return;
		}
		if (c->nom[mid].pfn < pfn)
			lo = mid + 1;
		else
			hi = mid;
	}
}

/*
 * chunk_mark_cpus - every CPU lock of s held: mark the nominees that are a
 * CPU slab or on a CPU partial list.  O(CPUs x their partial lists), which
 * put_cpu_partial keeps to about cpu_partial_slabs each.  A list that ends
 * at an entry that is no cpu partial slab of s, or runs on too long, is
 * broken (validate reports it): then a slab beyond the break cannot be told
 * from an orphan, and cpu_whole is false.
 */
static void chunk_mark_cpus(struct arena *a, struct kmem_cache *s, struct scrub_chunk *c)
{
	uint32_t max = s->cpu_partial_slabs + 2;

	if (max > SCRUB_CPU_PARTIAL_MAX)
		max = SCRUB_CPU_PARTIAL_MAX;
	c->cpu_whole = true;
	for (unsigned int cpu = 0; cpu < s->nr_cpus; cpu++) {
		struct kmem_cache_cpu *cc = cache_cpu(a, s, cpu);
		aoff_t link = cc->partial;
		uint32_t count = 0;

		if (cc->slab_pfn)
			chunk_mark(c, cc->slab_pfn);
		while (link) {
			struct page_desc *pd = pd_of_lru(a, link);

			if (!pd || !is_slab_head(pd) || pd->cache != s->self ||
			    pd->list != SL_CPU_PARTIAL || ++count > max) {
				c->cpu_whole = false;
				break;
			}
			chunk_mark(c, pd_pfn(a, pd));
			link = pd->lru.next;
		}
	}
}

/*
 * node_linked - pd (a slab of s on no list by its pd.list) is linked into a
 * node list after all, or cannot be told from one: follow its back links,
 * each checked to link forward to where it came from, up to
 * SCRUB_LINK_STEPS, to one of its node's list heads.  See above.
 */
static bool node_linked(struct arena *a, struct kmem_cache *s, struct page_desc *pd)
{
	struct kmem_cache_node *n = slab_node(a, s, pd);
	aoff_t partial = arena_off_of(a, &n->partial), full = arena_off_of(a, &n->full);
	aoff_t cur = pd_lru_off(a, pd);

	for (unsigned int step = 0; step < SCRUB_LINK_STEPS; step++) {
		aoff_t prev = ((struct olist *)arena_at(a, cur))->prev;

		if (!arena_range_ok(a, prev, sizeof(struct olist)) || prev % 8)
			return false;	/* no link back (olist_del clears them) */
		if (atomic_load_relaxed(&((struct olist *)arena_at(a, prev))->next) != cur)
			return false;	/* nothing links forward to it: on no list */
		if (prev == partial || prev == full)
			return true;
		if (!pd_of_lru(a, prev))
			return true;	/* linked from what is no slab: cannot tell */
		cur = prev;
	}
	return true;			/* too deep to tell: leave it */
}

/*
 * scrub_orphan - cache s's locks held: if the slab pd is an orphan (on no
 * list, not a CPU slab, frozen or with free objects or of a debug cache,
 * and its mover dead), make it ours and put it back where it belongs.
 */
static void scrub_orphan(struct arena *a, struct kmem_cache *s, struct scrub_chunk *c,
			 struct page_desc *pd, bool on_cpu)
{
	struct kmem_cache_node *n;
	uint64_t fl, cnt;
	long nfree;
	char why[96];
	bool cpu_partial = pd->list == SL_CPU_PARTIAL;

	if (pd->list == SL_NODE_PARTIAL || pd->list == SL_FULL || on_cpu || !c->cpu_whole)
		return;			/* listed: pd.list is exact under the node lock */
	if (slab_shape(a, s, pd, why, sizeof(why)))
		return;			/* corrupt: validate reports it */
	if (node_linked(a, s, pd))
		return;			/* its pd.list was scribbled on: validate reports it */
	if (pd->list != SL_NONE)
		pd->list = SL_NONE;	/* a CPU partial list it is no longer on (cpu_repair cut it) */
	load128_atomic(&pd->slab, &fl, &cnt);
	if (!CNT_FROZEN(cnt) && !fl && !(s->flags & SLAB_DEBUG_FLAGS))
		return;			/* full: legitimately on no list */
	/* a full debug slab belongs on the full list: on none, its mover died */
	/*
	 * A live process moving it says so by its id in the counters - except
	 * one that takes slabs off a CPU partial list: put_cpu_partial's and
	 * shrink's drains (put_partials_locked) and the CPU partial alloc cut
	 * slabs off c->partial without making them theirs, so that the counters
	 * still name whoever last froze or freed into them, often a process
	 * still alive.  Such a mover holds that CPU's lock from the cut until
	 * the slab says SL_NONE (set under the node lock in a drain, before the
	 * CPU lock is dropped in the alloc), and we hold every CPU lock of s:
	 * a slab not frozen that still says SL_CPU_PARTIAL and is on no CPU's
	 * list (c->cpu_whole: every list walked to its end) lost its mover, who
	 * died holding a CPU lock, whatever its counters say (t_owner
	 * scrub_drained_partials).  A frozen one is still judged by its owner.
	 */
	if (!(cpu_partial && !CNT_FROZEN(cnt)) && ident_alive(a, CNT_OWNER(cnt)))
		return;			/* a live process is moving it */
	memset(c->w.seen, 0, CNT_OBJECTS(cnt));
	nfree = walk_freelist(&c->w, pd, fl, c->w.seen);
	if (nfree < 0 || CNT_INUSE(cnt) + (uint64_t)nfree != CNT_OBJECTS(cnt))
		return;			/* its freelist or counters are corrupt */
	/* an orphan: unfreeze it, ours now, and put it where it belongs */
	while (!cas128_full(&pd->slab, fl, cnt, fl,
			    CNT_MAKE(CNT_INUSE(cnt), CNT_OBJECTS(cnt), 0, arena_self(a))))
		load128_atomic(&pd->slab, &fl, &cnt);
	c->r->orphans++;
	n = slab_node(a, s, pd);
	if (CNT_INUSE(cnt) == 0 && n->nr_partial >= s->min_partial) {
		pd->lru.next = c->empty;
		c->empty = pd_lru_off(a, pd);
	} else if (fl) {
		add_partial(a, n, pd, true);
	} else if (s->flags & SLAB_DEBUG_FLAGS) {
		add_full(a, n, pd);
	}
}

/*
 * scrub_owners - cache s's locks held, s keeps owners: count the allocated
 * objects of the listed slab pd whose owner is dead, mark them seen so that
 * each dead owner is reported once, and free them if the cache has
 * SLAB_RECLAIM_DEAD (as a kfree would, trusting pd.list as it does).  A slab
 * that becomes empty goes on c->empty, to be discarded after the locks.
 * With the node's lock held, no other process is between an object's alloc
 * and its owner's record (see "owners" above), and no one frees
 * concurrently, so an object is freed once.
 */
static void scrub_owners(struct arena *a, struct kmem_cache *s, struct scrub_chunk *c,
			 struct page_desc *pd)
{
	bool reclaim = c->reclaim;
	uint32_t pfn = pd_pfn(a, pd), objects;
	char why[96];

	if ((pd->flags & (PG_HEAD | PG_SLAB | PG_CORRUPT)) != (PG_HEAD | PG_SLAB) ||
	    pd->cache != s->self || (pd->list != SL_NODE_PARTIAL && pd->list != SL_FULL))
		return;		/* on no list: an orphan left alone, or being discarded */
	if (slab_shape(a, s, pd, why, sizeof(why)))
		return;		/* corrupt: validate reports it; touch nothing */
	objects = CNT_OBJECTS(atomic_load_relaxed(&pd->slab.hi));
	memset(c->w.seen, 0, objects);
	if (walk_freelist(&c->w, pd, atomic_load_relaxed(&pd->slab.lo), c->w.seen) < 0)
		return;		/* a bad freelist: validate reports it; free nothing */
	for (uint32_t i = 0; i < objects; i++) {
		aoff_t off = pfn_off(pfn) + (aoff_t)i * s->size + s->red_left_pad;
		struct slab_track *t = alloc_track(s, arena_at(a, off));
		struct dead_owner *d;

		if (c->w.seen[i] || !t->owner || !(d = dead_owner(a, c->dead, t->owner)))
			continue;
		d->objects++;
		if (!d->first)
			d->first = off;
		if (reclaim) {
			struct kmem_cache_node *n = slab_node(a, s, pd);

			d->freed++;
			if (debug_free_locked(a, s, pd, n, off, NULL)) {
				pd->lru.next = c->empty;
				c->empty = pd_lru_off(a, pd);
				break;	/* empty: nothing more here */
			}
		} else if (!(t->cpu & TRACK_LEAK_SEEN)) {
			t->cpu |= TRACK_LEAK_SEEN;
			d->unreported++;
		}
	}
}

/*
 * scrub_discard - cache s's locks held, s used by no live process (the
 * caller's word, and its refcount 0: slab_cache_discard): the slab pd, with
 * whatever objects it holds, leaves its list and goes on c->empty, to be
 * given back after the unlock.  What may be some process's at work is left
 * (counted in kept_slabs): a CPU slab or one on a CPU partial list, a slab
 * frozen by a live process, one whose place cannot be told (a CPU partial
 * list broken, a pd.list that says none while a list links it) or whose
 * shape is corrupt.  Its objects are not touched: the slab goes whole.
 */
static void scrub_discard(struct arena *a, struct kmem_cache *s, struct scrub_chunk *c,
			  struct page_desc *pd, bool on_cpu)
{
	struct kmem_cache_node *n = slab_node(a, s, pd);
	uint64_t fl, cnt;
	char why[96];

	load128_atomic(&pd->slab, &fl, &cnt);
	if (on_cpu || slab_shape(a, s, pd, why, sizeof(why)) ||
	    (CNT_FROZEN(cnt) && ident_alive(a, CNT_OWNER(cnt))) ||
	    (pd->list == SL_CPU_PARTIAL && !c->cpu_whole)) {
		c->r->kept_slabs++;
		return;
	}
	if (pd->list == SL_NODE_PARTIAL) {
		remove_partial(a, n, pd);
	} else if (pd->list == SL_FULL) {
		remove_full(a, n, pd);
	} else if (node_linked(a, s, pd)) {
		c->r->kept_slabs++;	/* its pd.list was scribbled on: validate reports it */
		return;
	}
	pd->list = SL_NONE;
	c->r->discarded_objects += CNT_INUSE(cnt);
	c->r->discarded_slabs++;
	/* ours, empty by its counters: slab_discard gives the pages back whole */
	atomic_store_relaxed(&pd->slab.hi, CNT_MAKE(0, CNT_OBJECTS(cnt), 0, arena_self(a)));
	pd->lru.next = c->empty;
	c->empty = pd_lru_off(a, pd);
}

/* what a scrub carries from step to step */
struct scrub_ctx {
	struct arena *a;
	struct slab_scrub_result *r;
	struct kmem_cache *caches[SLUB_MAX_CACHES];
	bool ok[SLUB_MAX_CACHES];	/* passed cache_check, its locks taken */
	unsigned int nr;
	struct { aoff_t self; uint32_t idx; } by_off[SLUB_MAX_CACHES];	/* sorted by self */
	struct scrub_nominee *nom;
	size_t nr_nom, cap_nom;
	struct kmem_cache *only;	/* slab_reclaim_dead: this cache alone, its dead owners' objects freed */
	bool discard;			/* slab_cache_discard: every slab of only given back */
	uint32_t snap[NR_PROC_SLOTS];	/* ident_snapshot */
	bool on_cpu[SCRUB_CHUNK_SLABS];	/* scrub_chunk's */
	uint8_t seen[MAX_OBJS_PER_SLAB + 1];	/* its walk's: per object of one slab */
};

static int collect_cache(struct kmem_cache *s, void *arg)
{
	struct scrub_ctx *x = arg;

	if (x->only && s != x->only)
		return 0;
	if (x->nr < SLUB_MAX_CACHES)
		x->caches[x->nr++] = s;
	return 0;
}

static int cmp_by_off(const void *p, const void *q)
{
	aoff_t a = *(const aoff_t *)p, b = *(const aoff_t *)q;

	return a < b ? -1 : a > b;
}

static int cmp_nominee(const void *p, const void *q)
{
	const struct scrub_nominee *a = p, *b = q;

	if (a->cache != b->cache)
		return a->cache < b->cache ? -1 : 1;
	return a->pfn < b->pfn ? -1 : a->pfn > b->pfn;
}

/* the index of the listed cache at offset off, or -1 */
static int cache_index(const struct scrub_ctx *x, aoff_t off)
{
	unsigned int lo = 0, hi = x->nr;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;

		if (x->by_off[mid].self == off)
			return (int)x->by_off[mid].idx;
		if (x->by_off[mid].self < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* step 1: each lock of s alone, so that a dead holder's leftovers are repaired */
static bool touch_locks(struct arena *a, struct kmem_cache *s, struct slab_scrub_result *r)
{
	for (unsigned int cpu = 0; cpu < s->nr_cpus; cpu++) {
		uint64_t t0 = os_now_ns();

		scrub_step_arm();
		if (cpu_lock_for_walk(a, s, cpu))
			return false;	/* reported: s is skipped */
		shm_lock_release(&cache_cpu(a, s, cpu)->lock);
		scrub_hold_note(t0, &r->max_hold_ns, &r->locked_steps);
	}
	for (unsigned int node = 0; node < s->nr_nodes; node++) {
		uint64_t t0 = os_now_ns();

		scrub_step_arm();
		if (node_lock(a, s, cache_node(a, s, node)))
			return false;
		node_unlock(cache_node(a, s, node));
		scrub_hold_note(t0, &r->max_hold_ns, &r->locked_steps);
	}
	return true;
}

/* step 2: nominate, holding no lock; -ENOMEM */
static int nominate(struct scrub_ctx *x)
{
	struct arena *a = x->a;

	for (uint32_t pfn = a->first_pfn; pfn < a->nr_pages;) {
		struct page_desc *pd = pd_of_pfn(a, pfn);
		uint16_t flags = atomic_load_acquire(&pd->flags);
		unsigned int order = pd->order;
		struct kmem_cache *s;
		uint64_t hi;
		uint8_t list;
		int idx;

		/* a head whose order fits moves the walk by its block; else one page */
		if (!(flags & PG_HEAD) || order > BUDDY_MAX_ORDER || (pfn & ((1u << order) - 1)) ||
		    (uint64_t)pfn + (1u << order) > a->nr_pages)
			order = 0;
		pfn += 1u << order;
		if ((flags & (PG_HEAD | PG_SLAB | PG_CORRUPT)) != (PG_HEAD | PG_SLAB))
			continue;
		idx = cache_index(x, atomic_load_relaxed(&pd->cache));
		if (idx < 0 || !x->ok[idx])
			continue;
		s = x->caches[idx];
		list = pd->list;
		hi = atomic_load_relaxed(&pd->slab.hi);
		if (x->discard) {
			/* every slab of the cache */
		} else if (list == SL_NODE_PARTIAL || list == SL_FULL) {
			if (!(s->flags & SLAB_STORE_USER) || !CNT_INUSE(hi))
				continue;	/* listed, and no owner to check */
		} else if (list == SL_NONE && !CNT_FROZEN(hi) && !atomic_load_relaxed(&pd->slab.lo) &&
			   !(s->flags & SLAB_DEBUG_FLAGS)) {
			continue;		/* full, on no list: where it belongs */
		}	/* (one that names a CPU list may be on none: its field is put right) */
		if (x->nr_nom == x->cap_nom) {
			size_t cap = x->cap_nom ? 2 * x->cap_nom : 4096;
			struct scrub_nominee *n = realloc(x->nom, cap * sizeof(*n));

			if (!n)
				return -ENOMEM;
			x->nom = n;
			x->cap_nom = cap;
		}
		x->nom[x->nr_nom++] = (struct scrub_nominee){ (uint32_t)idx, pd_pfn(a, pd) };
	}
	return 0;
}

/* step 3 for the cache of nom[0 .. nr): its nominees, a chunk at a time */
static void scrub_cache(struct scrub_ctx *x, const struct scrub_nominee *nom, size_t nr)
{
	struct arena *a = x->a;
	struct kmem_cache *s = x->caches[nom[0].cache];
	struct slab_validate_result dummy;
	struct dead_owners dead = { .snap = x->snap };
	struct scrub_chunk c = { .dead = &dead, .r = x->r };
	bool *on_cpu = x->on_cpu;

	c.reclaim = (s->flags & SLAB_RECLAIM_DEAD) || s == x->only;
	c.discard = x->discard;
	size_t done = 0;

	memset(&dummy, 0, sizeof(dummy));
	c.w = (struct walk){ a, s, NULL, NULL, &dummy, false, x->seen };
	c.on_cpu = on_cpu;
	while (done < nr) {
		uint32_t objects = 0;
		uint64_t t0;

		if (done)
			sched_yield();	/* between two chunks of one cache: let its waiters in */
		if (cache_check(a, s, NULL, 0))
			break;		/* scribbled since: validate says why */
		/* the chunk: up to SCRUB_CHUNK_SLABS slabs, SCRUB_CHUNK_OBJECTS objects */
		c.nom = nom + done;
		for (c.nr = 0; done + c.nr < nr && c.nr < SCRUB_CHUNK_SLABS &&
		     objects < SCRUB_CHUNK_OBJECTS; c.nr++)
			objects += oo_objects(s->oo);
		memset(on_cpu, 0, c.nr * sizeof(bool));
		c.empty = 0;
		t0 = os_now_ns();
		scrub_step_arm();
		if (lock_cache(a, s, NULL, 0))
			break;		/* reported (or held: timed out), s is skipped */
		chunk_mark_cpus(a, s, &c);
		for (unsigned int i = 0; i < c.nr; i++) {
			struct page_desc *pd = pd_of_pfn(a, c.nom[i].pfn);

			if (!is_slab_head(pd) || pd->cache != s->self || (pd->flags & PG_CORRUPT))
				continue;	/* no longer a slab of s */
			if (c.discard) {
				scrub_discard(a, s, &c, pd, on_cpu[i]);
				continue;
			}
			scrub_orphan(a, s, &c, pd, on_cpu[i]);
			if (s->flags & SLAB_STORE_USER)
				scrub_owners(a, s, &c, pd);
		}
		unlock_cache(a, s);
		scrub_hold_note(t0, &x->r->max_hold_ns, &x->r->locked_steps);
		while (c.empty) {
			struct page_desc *pd = pd_of_lru(a, c.empty);

			if (!pd)
				break;
			c.empty = pd->lru.next;
			slab_discard(a, pd);
		}
		done += c.nr;
	}
	/* reports after the locks: a report callback may print */
	for (unsigned int i = 0; i < dead.nr; i++) {
		struct dead_owner *d = &dead.o[i];
		char who[48];

		x->r->leaked_objects += d->objects;
		x->r->reclaimed_objects += d->freed;
		x->r->dead_pids++;
		x->r->new_leaks += d->freed ? 0 : d->unreported;
		if (d->freed)
			slab_report(a, s, SLAB_ERR_LEAK, d->first, "%s died holding %u objects: freed",
				    dead_owner_text(d, who, sizeof(who)), d->freed);
		else if (d->unreported)
			slab_report(a, s, SLAB_ERR_LEAK, d->first, "%s died holding %u objects (leaked)",
				    dead_owner_text(d, who, sizeof(who)), d->objects);
	}
}

/*
 * slab_scrub (only NULL: every cache, and the page blocks), slab_reclaim_dead
 * (only) or slab_cache_discard (only, discard)
 */
static int scrub_run(struct arena *a, struct kmem_cache *only, bool discard,
		     struct slab_scrub_result *r)
{
	struct scrub_ctx *x = calloc(1, sizeof(*x));
	uint64_t budget = shm_lock_budget_ns;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!x)
		return -ENOMEM;
	scrub_wait_ns = !shm_lock_timed ? 0 : budget ? budget : 1;
	x->a = a;
	x->r = r;
	x->only = only;
	x->discard = discard;
	(void)os_pidns();	/* looked up now: reports name pids under the locks */
	/* step 1 */
	rc = slab_for_each_cache(a, collect_cache, x);
	if (rc)
		goto out;
	for (unsigned int i = 0; i < x->nr; i++) {
		struct kmem_cache *s = x->caches[i];

		x->ok[i] = !cache_check(a, s, NULL, 0) && touch_locks(a, s, r);
		x->by_off[i].self = s->self;
		x->by_off[i].idx = i;
	}
	qsort(x->by_off, x->nr, sizeof(x->by_off[0]), cmp_by_off);
	/* step 2 */
	rc = nominate(x);
	if (rc)
		goto out;
	if (x->nr_nom)	/* none: x->nom is NULL, which qsort may not be given */
		qsort(x->nom, x->nr_nom, sizeof(*x->nom), cmp_nominee);
	ident_snapshot(a, x->snap);	/* one walk of the lives for every live owner */
	/* step 3 */
	for (size_t i = 0, j; i < x->nr_nom; i = j) {
		for (j = i + 1; j < x->nr_nom && x->nom[j].cache == x->nom[i].cache; j++)
			;
		scrub_cache(x, x->nom + i, j - i);
	}
	/* step 4 (a scrub of the arena only) */
	if (!only)
		rc = buddy_scrub(a, &r->transit_blocks, &r->max_hold_ns, &r->locked_steps);
	else if (!x->nr)
		rc = -ENOENT;	/* s is not on the arena's list now */
	else if (!x->ok[0])
		rc = -EAGAIN;	/* a lock of s not taken (reported, or busy: slab_lock_busy) */
out:
	free(x->nom);
	free(x);
	scrub_wait_ns = 0;
	shm_lock_budget_ns = budget;	/* the caller's, as it was */
	return rc;
}

int slab_scrub(struct arena *a, struct slab_scrub_result *r)
{
	return scrub_run(a, NULL, false, r);
}

/*
 * slab_reclaim_dead - the scrub of one cache, its dead owners' objects freed
 * whatever its flags: the same steps, locks and checks (above).  An object
 * is freed only when its owner record names a process the kernel says is
 * dead (ident.c: a slot's life word, never a pid), read under the slab's
 * node lock, under which no live process is between an allocation and its
 * owner's record; so a live process's object is never freed.  s must be
 * the arena's descriptor of a cache of a (listed: cache_of_off).
 */
int slab_reclaim_dead(struct arena *a, struct kmem_cache *s, struct slab_scrub_result *r)
{
	memset(r, 0, sizeof(*r));
	if (!s || cache_of_off(a, arena_off_of(a, s)) != s)
		return -EINVAL;
	if (!(s->flags & SLAB_STORE_USER))
		return -EINVAL;
	return scrub_run(a, s, false, r);
}

/*
 * slab_cache_discard - give back every slab of s, objects and all, for a
 * pool that no live process uses (the caller's word: slubd's reclaim
 * --force checks that no live process is attached without being known to
 * it, and that none references s).  Its refcount must be 0 (every
 * reference dropped first, slab_cache_destroy having kept it for its
 * objects), else -EBUSY.  The CPUs' slabs are flushed first; then the
 * scrub's steps (its locks, chunks and checks) take each slab off its list
 * and give it back.  A slab that looks in use by a live process is left
 * (r->kept_slabs).  slab_cache_destroy then removes s when none is left.
 */
int slab_cache_discard(struct arena *a, struct kmem_cache *s, struct slab_scrub_result *r)
{
	struct kmem_cache *k;
	int32_t refs;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!s || cache_of_off(a, arena_off_of(a, s)) != s || (s->state & CACHE_SYSTEM))
		return -EINVAL;
	refs = slab_cache_refcount(a, s);
	if (refs)
		return refs < 0 ? refs : -EBUSY;
	/*
	 * the flush follows the descriptor's per-CPU and node offsets: only
	 * once the whole descriptor is checked, and through the geometry this
	 * process checked (as shrink does), so that a client's scribble on the
	 * descriptor cannot make slubd follow a wild pointer (it did: a reviewer's
	 * seed 40 of random words over a pool's descriptor, SIGSEGV in cpu_lock)
	 */
	rc = cache_walkable(a, s, NULL, 0);
	if (rc == SLAB_ERR_LOCK)
		return -errno;
	if (rc)
		return -EUCLEAN;	/* a corrupt descriptor: validate says what */
	k = geom_fresh(a, s, false);
	if (!k)
		return -errno;
	geom_pin(a, k);
	rc = flush_all_cpus(a, k);
	geom_unpin(a, k);
	if (rc)
		return rc;
	return scrub_run(a, s, true, r);
}
