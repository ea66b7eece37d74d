/*
 * slub_cache.c - caches: their geometry, the bootstrap of the arena's own
 * caches (kmem_cache_init), creating, opening and destroying named caches.
 * kmalloc over the kernel's size classes is kmalloc.c's.
 *
 * slab_mutex (arena_hdr, cache_list.c) protects the list of caches, cache
 * ids, and each cache's refcount and state.  It is the outermost lock.
 * Nothing that may make a system call (a new slab, a punch) runs under it: a
 * new cache is built before the lock is taken and linked under it (see
 * link_locked); a destroyed cache is unlinked under it and its memory freed
 * after.
 *
 * A corrupted descriptor.  cache_of_off() (meta.c) is the cheap test the
 * paths use (the offset, self, state); cache_check() (meta.c too) is the
 * whole one, for whatever walks a cache's structures on another's behalf (stats, validate, scrub,
 * destroy): the per-CPU array and the node descriptors must be where such
 * things are, and the geometry must keep every object inside its slab.  A
 * cache that fails it is reported, never walked.
 *
 * Layer: near the top.  It calls validate.c (shrink's check), slub.c,
 * buddy.c, cache_list.c, geom.c, kmalloc_debug.c, list.c, lock.c, meta.c,
 * names.c, report.c, os.c; only arena.c calls it (slab_bootstrap).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static inline uint32_t oo_make(unsigned int order, unsigned int size)
{
	uint32_t objs = (uint32_t)((PAGE_SIZE << order) / size);

	return (uint32_t)(order << 16) | (objs > MAX_OBJS_PER_SLAB ? MAX_OBJS_PER_SLAB : objs);
}


/* ---- geometry ----------------------------------------------------------- */

static unsigned int calc_align(unsigned long flags, size_t align, size_t size)
{
	size_t ralign = align ? align : 8;

	if (flags & SLAB_HWCACHE_ALIGN) {
		size_t hw = CACHE_LINE;

		while (size <= hw / 2 && hw > 8)
			hw /= 2;
		if (hw > ralign)
			ralign = hw;
	}
	return (unsigned int)(ralign < 8 ? 8 : ralign);
}

/* the kernel's calc_slab_order(): the smallest order wasting <= 1/fract */
static unsigned int calc_slab_order(unsigned int size, unsigned int min_order,
				    unsigned int max_order, unsigned int fract)
{
	unsigned int order;

	for (order = min_order; order <= max_order; order++) {
		unsigned int slab_size = (unsigned int)(PAGE_SIZE << order);
		unsigned int rem = slab_size % size;

		if (rem <= slab_size / fract)
			break;
	}
	return order;
}

/* the kernel's calculate_order(), with slub_min_order/max_order/min_objects */
static int calculate_order(unsigned int size, unsigned int nr_cpus)
{
	unsigned int min_objects = 4 * (fls32(nr_cpus) + 1);
	unsigned int max_objects = (unsigned int)((PAGE_SIZE << SLUB_MAX_SLAB_ORDER) / size);
	unsigned int min_order, order;

	if (min_objects > max_objects)
		min_objects = max_objects;
	min_order = get_order((uint64_t)min_objects * size);	/* >= slub_min_order (0) */
	if ((PAGE_SIZE << min_order) / size > MAX_OBJS_PER_SLAB)
		return (int)get_order((uint64_t)size * MAX_OBJS_PER_SLAB) - 1;
	for (unsigned int fract = 16; fract > 1; fract /= 2) {
		order = calc_slab_order(size, min_order, SLUB_MAX_SLAB_ORDER, fract);
		if (order <= SLUB_MAX_SLAB_ORDER)
			return (int)order;
	}
	order = get_order(size);
	return order <= BUDDY_MAX_ORDER ? (int)order : -ENOSYS;
}

/*
 * calculate_sizes - the slot layout, as the kernel's calculate_sizes():
 *   [left red zone][object][right red zone to a word][free pointer, when it
 *   cannot live inside the object][alloc track][free track][padding to align]
 */
static int calculate_sizes(struct kmem_cache *s, unsigned int nr_cpus)
{
	unsigned long flags = s->flags;
	uint64_t size = ALIGN_UP((uint64_t)s->object_size, 8);
	int order;

	if ((flags & SLAB_RED_ZONE) && size == s->object_size)
		size += 8;		/* at least one word of right red zone */
	s->inuse = (uint32_t)size;
	if ((flags & (SLAB_POISON | SLAB_RED_ZONE)) || s->has_ctor) {
		s->offset = (uint32_t)size;	/* outside the object */
		size += 8;
	} else {
		s->offset = (uint32_t)(s->object_size / 2) & ~7u;	/* mid-object */
	}
	if (flags & SLAB_STORE_USER) {
		s->track_off = (uint32_t)size;
		size += 2 * sizeof(struct slab_track);
	}
	if (kmalloc_orig_tracked(s))
		size += 8;		/* the requested size (kmalloc_orig_off) */
	if (flags & SLAB_RED_ZONE) {
		s->red_left_pad = (uint32_t)ALIGN_UP(8u, s->align);
		size += s->red_left_pad;
	}
	size = ALIGN_UP(size, s->align);
	if (size > (1u << 22))
		return -EINVAL;
	s->size = (uint32_t)size;
	s->reciprocal = ((1ULL << 44) + size - 1) / size;
	order = calculate_order(s->size, nr_cpus);
	if (order < 0)
		return -EINVAL;
	s->oo = oo_make((unsigned int)order, s->size);
	s->min = oo_make(get_order(s->size), s->size);
	s->max = s->oo > s->min ? s->oo : s->min;
	return 0;
}

/* ---- building and releasing a cache ------------------------------------- */

static void init_node(struct arena *a, struct kmem_cache_node *n)
{
	memset(n, 0, sizeof(*n));
	shm_lock_init(&n->list_lock);
	olist_init(a, &n->partial);
	olist_init(a, &n->full);
}

/*
 * early_node_alloc - the kmem_cache_node cache's own node descriptors, when
 * there is no node yet to allocate them through (the kernel's
 * early_kmem_cache_node_alloc): take a slab straight from the page
 * allocator, use its first object, put the slab on the new node's partial
 * list.
 */
static int early_node_alloc(struct arena *a, struct kmem_cache *s, unsigned int node)
{
	unsigned int order = oo_order(s->oo), objects = oo_objects(s->oo);
	struct kmem_cache_node *n;
	struct page_desc *pd;
	aoff_t start, first;
	uint32_t pfn;
	int rc = buddy_alloc(a, order, PG_SLAB, &pfn);

	if (rc)
		return rc;
	pd = pd_of_pfn(a, pfn);
	start = pfn_off(pfn);
	first = start + s->red_left_pad;
	for (unsigned int i = 1; i < objects; i++) {
		aoff_t obj = start + (aoff_t)i * s->size + s->red_left_pad;
		aoff_t next = i + 1 < objects ? obj + s->size : 0;

		*(uint64_t *)arena_at(a, obj + s->offset) =
			freeptr_encode(s, next, obj + s->offset).v;
	}
	n = arena_at(a, first);
	init_node(a, n);
	s->node[node] = first;
	/* counted by hand (struct acct_log): the node it counts in lives in
	 * this very slab; the arena is still its creator's alone */
	pd->node = (uint16_t)node;
	pd->cache = s->self;
	pd->acct_objects = objects;
	atomic_store_relaxed(&pd->slab.lo, objects > 1 ? first + s->size : 0);
	atomic_store_relaxed(&pd->slab.hi, CNT_MAKE(1, objects, 0, 0));
	n->nr_slabs = 1;
	n->total_objects = objects;
	s->charged_objects += objects;
	s->charged_pages += 1ULL << order;
	add_partial(a, n, pd, false);	/* the node's first slab: nr_partial 1 */
	return 0;
}

static struct kmem_cache *kmem_cache_node_cache(struct arena *a)
{
	return arena_at(a, a->hdr->kmem_cache_node);
}

static struct kmem_cache *kmem_cache_cache(struct arena *a)
{
	return arena_at(a, a->hdr->kmem_cache);
}

/*
 * the arena's own caches, checked whole (their lists too): before a create
 * or a release allocates or frees through them, on slow paths that trust
 * what they follow (slub.c).  No lock but slab_mutex held.
 */
static bool system_caches_ok(struct arena *a)
{
	struct kmem_cache *k = cache_of_off(a, a->hdr->kmem_cache);
	struct kmem_cache *n = cache_of_off(a, a->hdr->kmem_cache_node);

	return k && n && !cache_walkable(a, k, NULL, 0) && !cache_walkable(a, n, NULL, 0);
}

/*
 * cache_setup - fill in a new descriptor s (already at its final place):
 * geometry, per-CPU array, node descriptors.  No lock held.
 */
int cache_setup(struct arena *a, struct kmem_cache *s, const char *name, size_t size,
		size_t align, unsigned long flags, bool has_ctor)
{
	unsigned int cpu_bytes = a->nr_cpus * (unsigned int)sizeof(struct kmem_cache_cpu);
	uint32_t pfn;
	int rc;

	s->self = arena_off_of(a, s);
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->flags = (uint32_t)flags;
	s->object_size = (uint32_t)size;
	s->align = calc_align(flags, align, size);
	s->has_ctor = has_ctor;
	s->nr_cpus = a->nr_cpus;
	s->nr_nodes = a->nr_nodes;
	s->random = os_random64() ^ a->hdr->secret;
	rc = calculate_sizes(s, a->nr_cpus);
	if (rc)
		return rc;
	s->min_partial = (fls32(s->size) - 1) / 2;
	if (s->min_partial < 5)
		s->min_partial = 5;
	if (s->min_partial > 10)
		s->min_partial = 10;
	if (flags & SLAB_DEBUG_FLAGS)
		s->cpu_partial = 0;
	else if (s->size >= PAGE_SIZE)
		s->cpu_partial = 2;
	else if (s->size >= 1024)
		s->cpu_partial = 6;
	else if (s->size >= 256)
		s->cpu_partial = 13;
	else
		s->cpu_partial = 30;
	s->cpu_partial_slabs = (s->cpu_partial * 2 + oo_objects(s->oo) - 1) / oo_objects(s->oo);

	rc = buddy_alloc(a, get_order(cpu_bytes), PG_PERCPU, &pfn);
	if (rc)
		return rc;
	s->cpu_slab = pfn_off(pfn);
	for (unsigned int cpu = 0; cpu < a->nr_cpus; cpu++) {
		struct kmem_cache_cpu *c = cache_cpu(a, s, cpu);

		memset(c, 0, sizeof(*c));
		shm_lock_init(&c->lock);
		c->fl.hi = cpu;		/* the kernel's init_tid() */
	}
	for (unsigned int node = 0; node < a->nr_nodes; node++) {
		struct kmem_cache *kn = kmem_cache_node_cache(a);
		struct kmem_cache_node *n;

		if (kn == s) {
			rc = early_node_alloc(a, s, node);
			if (rc)
				return rc;
			continue;
		}
		n = slab_alloc(a, kn, 0);
		if (!n)
			return -ENOMEM;
		init_node(a, n);
		s->node[node] = arena_off_of(a, n);
	}
	return 0;
}

/* free what cache_setup allocated; the cache holds no slab */
void cache_release_pages(struct arena *a, struct kmem_cache *s)
{
	for (unsigned int node = 0; node < s->nr_nodes; node++)
		if (s->node[node])
			slab_free(a, kmem_cache_node_cache(a), arena_at(a, s->node[node]));
	if (s->cpu_slab)
		buddy_free(a, (uint32_t)(s->cpu_slab >> PAGE_SHIFT));
}

/* ---- the bootstrap (kmem_cache_init) ------------------------------------ */

static void create_boot_cache(struct arena *a, struct kmem_cache *s, const char *name,
			      size_t size)
{
	int rc = cache_setup(a, s, name, size, 0, SLAB_HWCACHE_ALIGN, false);

	SHM_ASSERT(rc == 0);
	(void)rc;
	link_locked(a, s, 1, CACHE_BOOT | CACHE_SYSTEM);
}

/*
 * bootstrap - move a boot descriptor (in the header) into an object of the
 * kmem_cache cache, as the kernel's bootstrap() does: flush its CPU slabs so
 * every slab is on a node list or full, copy it, and point every slab of it
 * at the copy.
 */
static struct kmem_cache *bootstrap(struct arena *a, struct kmem_cache *boot)
{
	struct kmem_cache *s = slab_alloc(a, kmem_cache_cache(a), 0);
	aoff_t old = boot->self;

	SHM_ASSERT(s);
	flush_all_cpus(a, boot);
	memcpy(s, boot, KMEM_CACHE_SIZE(a->nr_nodes));
	s->self = arena_off_of(a, s);
	for (uint32_t pfn = a->first_pfn; pfn < a->nr_pages; pfn++) {
		struct page_desc *pd = pd_of_pfn(a, pfn);

		if ((pd->flags & PG_SLAB) && pd->cache == old)
			pd->cache = s->self;
	}
	olist_del(a, &boot->list);
	olist_add_tail(a, &a->hdr->slab_caches, &s->list);
	s->state = CACHE_ACTIVE | CACHE_SYSTEM;
	memset(boot, 0, sizeof(*boot));
	return s;
}

void slab_bootstrap(struct arena *a)
{
	struct arena_hdr *h = a->hdr;

	shm_lock_init(&h->slab_mutex);
	olist_init(a, &h->slab_caches);
	h->kmem_cache_node = arena_off_of(a, &h->boot_kmem_cache_node);
	h->kmem_cache = arena_off_of(a, &h->boot_kmem_cache);
	create_boot_cache(a, &h->boot_kmem_cache_node, "kmem_cache_node",
			  sizeof(struct kmem_cache_node));
	create_boot_cache(a, &h->boot_kmem_cache, "kmem_cache", KMEM_CACHE_SIZE(a->nr_nodes));
	h->kmem_cache = bootstrap(a, &h->boot_kmem_cache)->self;
	h->kmem_cache_node = bootstrap(a, &h->boot_kmem_cache_node)->self;
	for (int i = 1; i < NR_KMALLOC; i++) {
		struct kmem_cache *s;

		if (i > 2 && i < KMALLOC_SHIFT_LOW)
			continue;
		s = slab_alloc(a, kmem_cache_cache(a), __GFP_ZERO);
		SHM_ASSERT(s);
		/* slab_debug (kmalloc_debug.c): fixed for the arena's life */
		cache_setup(a, s, kmalloc_names[i], kmalloc_size(i), 0, slab_debug_kmalloc_flags(i),
			    false);
		link_locked(a, s, 1, CACHE_ACTIVE | CACHE_SYSTEM);
		h->kmalloc_caches[i] = s->self;
	}
}

/* ---- named caches -------------------------------------------------------- */

static bool name_ok(const char *name)
{
	return slab_name_check(name, NULL, 0) == 0;
}

/* the limits are names.c's, which slubd and slubctl check by too */
bool slab_cache_args_ok(const char *name, size_t size, size_t align, unsigned long flags)
{
	return name_ok(name) && !slab_size_check(size, NULL, 0) && !slab_align_check(align, NULL, 0) &&
	       !slab_flags_check(flags, NULL, 0);
}

static bool same_geometry(const struct kmem_cache *s, size_t size, size_t align,
			  unsigned long flags, bool has_ctor)
{
	return s->object_size == size && s->flags == flags &&
	       s->align == calc_align(flags, align, size) && (bool)s->has_ctor == has_ctor;
}

/* take a reference to an existing cache; slab_mutex held */
static int open_locked(struct kmem_cache *s, size_t size, size_t align, unsigned long flags,
		       bool has_ctor)
{
	if ((s->state & CACHE_SYSTEM) || !same_geometry(s, size, align, flags, has_ctor))
		return -EEXIST;
	s->refcount++;
	return 0;
}

/* what making a cache's parts failed with, as create says it: the error of a
 * lock that cannot be taken (reported) as it is, anything else ENOMEM */
static int setup_error(int rc)
{
	return rc == -EINVAL || rc == -EDEADLK || rc == -ENOTRECOVERABLE ? rc : -ENOMEM;
}

int slab_cache_open(struct arena *a, const char *name, size_t size, size_t align,
		    unsigned long flags, bool has_ctor, uint32_t owner_uid, struct kmem_cache **out,
		    bool *created)
{
	struct kmem_cache *s, *found;
	int rc;

	*created = false;
	if (!slab_cache_args_ok(name, size, align, flags))
		return -EINVAL;
	if (flags & SLAB_RECLAIM_DEAD)
		flags |= SLAB_STORE_USER;	/* owners are what it reclaims by */

	rc = slab_mutex_lock(a);
	if (rc)
		return rc;
	found = find_locked(a, name);
	rc = found ? open_locked(found, size, align, flags, has_ctor) : 0;
	if (found && !rc && cache_check(a, found, NULL, 0)) {
		found->refcount--;	/* a corrupt descriptor: no one gets it */
		rc = -EUCLEAN;
	}
	slab_mutex_unlock(a);
	if (found) {
		if (!rc) {
			*out = found;
			geom_fresh(a, found, true);
		}
		return rc;
	}
	if (!system_caches_ok(a))
		return -EUCLEAN;	/* validate says what is wrong */

	/* build it outside the lock (it may allocate pages), link it under */
	s = slab_alloc(a, kmem_cache_cache(a), __GFP_ZERO);
	if (!s)
		return setup_error(-errno);
	rc = cache_setup(a, s, name, size, align, flags, has_ctor);
	s->owner_uid = owner_uid;
	if (rc) {
		cache_release_pages(a, s);
		slab_free(a, kmem_cache_cache(a), s);
		return setup_error(rc);
	}
	rc = slab_mutex_lock(a);
	if (rc) {
		cache_release_pages(a, s);
		slab_free(a, kmem_cache_cache(a), s);
		return rc;
	}
	found = find_locked(a, name);
	if (found)
		rc = open_locked(found, size, align, flags, has_ctor);
	else
		rc = link_locked(a, s, 1, CACHE_ACTIVE);
	slab_mutex_unlock(a);
	if (found || rc) {
		cache_release_pages(a, s);
		slab_free(a, kmem_cache_cache(a), s);
		if (found && !rc) {
			*out = found;
			geom_fresh(a, found, true);
		}
		return rc == -ENOSPC ? -ENOMEM : rc;
	}
	*created = true;
	*out = s;
	geom_fresh(a, s, true);	/* opened: this process's copy (reported if it cannot be had) */
	return 0;
}

int slab_cache_create(struct arena *a, const char *name, size_t size, size_t align,
		      unsigned long flags, void (*ctor)(void *), struct kmem_cache **out)
{
	bool created;
	int rc = slab_cache_open(a, name, size, align, flags, ctor != NULL, (uint32_t)geteuid(),
				 out, &created);

	if (!rc)
		slab_cache_set_ctor(a, *out, ctor);
	return rc;
}

void slab_cache_forget(struct arena *a, struct kmem_cache *s)
{
	if (s)
		geom_forget(a, s);
}

struct kmem_cache *slab_cache_pin(struct arena *a, struct kmem_cache *s)
{
	struct kmem_cache *k;

	if (!s || cache_is_copy(a, s) || !cache_of_off(a, arena_off_of(a, s))) {
		errno = EINVAL;
		return NULL;
	}
	k = geom_fresh(a, s, true);
	if (k)
		geom_pin(a, k);	/* never freed before slab_cache_unpin (geom.c) */
	return k;
}

void slab_cache_unpin(struct arena *a, struct kmem_cache *h)
{
	if (h && cache_is_copy(a, h))
		geom_unpin(a, h);
}

struct kmem_cache *slab_cache_shared(struct arena *a, struct kmem_cache *h)
{
	if (!h)
		return NULL;
	return cache_of_off(a, cache_is_copy(a, h) ? h->self : arena_off_of(a, h));
}

void slab_cache_set_ctor(struct arena *a, struct kmem_cache *s, void (*ctor)(void *))
{
	if (s->id < SLUB_MAX_CACHES)
		a->ctor[s->id] = ctor;
}

struct kmem_cache *slab_cache_at(struct arena *a, aoff_t off)
{
	struct kmem_cache *s = cache_of_off(a, off);

	if (s)
		geom_fresh(a, s, true);	/* how libslub opens a pool: its copy, of this pool */
	return s;
}

uint32_t slab_cache_owner(const struct kmem_cache *s)
{
	return s->owner_uid;
}

int slab_cache_set_limits(struct arena *a, struct kmem_cache *s, uint64_t max_objects,
			  uint64_t max_bytes)
{
	if (!s || !cache_of_off(a, arena_off_of(a, s)))
		return -EINVAL;
	atomic_store_relaxed(&s->max_objects, max_objects);
	atomic_store_relaxed(&s->max_bytes, max_bytes);
	return 0;
}

bool slab_cache_is_system(const struct kmem_cache *s)
{
	return s->state & CACHE_SYSTEM;
}

static uint64_t cache_slabs(struct arena *a, struct kmem_cache *s)
{
	uint64_t n = 0;

	for (unsigned int node = 0; node < s->nr_nodes; node++)
		n += atomic_load_relaxed(&cache_node(a, s, node)->nr_slabs);
	return n;
}

/*
 * quarantine_locked - keep the destroyed s and take the oldest quarantined
 * descriptor out of the ring, for the caller to release once slab_mutex is
 * dropped (quarantine_release).  slab_mutex held.
 *
 * Death: the slot is written before dead_next moves on, and the old
 * descriptor is released only after both: one that dies between leaves s in
 * the slot the next destroy takes (s's quarantine is cut short) and the
 * overwritten descriptor allocated; one that dies after leaves the old one
 * allocated.  A descriptor is never released twice.  What allows the
 * quarantine at all: a destroyed cache has no block left that names it (the
 * slab counts are exact, and destroy waits for them to reach 0), so nothing
 * reaches the descriptor through a page once its memory is reused.
 */
static aoff_t quarantine_locked(struct arena *a, struct kmem_cache *s)
{
	struct arena_hdr *h = a->hdr;
	aoff_t *slot = &h->dead_caches[h->dead_next % CACHE_QUARANTINE];
	aoff_t old = *slot;

	*slot = s->self;
	h->dead_next++;
	return old;
}

/* release a descriptor quarantine_locked gave back, if it still is one */
static void quarantine_release(struct arena *a, aoff_t old)
{
	struct kmem_cache *t;

	if (!old || old % 8 || !arena_range_ok(a, old, desc_bytes(a)))
		return;
	t = arena_at(a, old);
	if (t->self != old || atomic_load_acquire(&t->state) != CACHE_DEAD ||
	    cache_check(a, t, NULL, 0) || !system_caches_ok(a))
		return;		/* not what was put there: leave it */
	/* no copy of it left in this process once its memory can be a new pool
	 * (the thread that destroyed it may not have forgotten its copy yet) */
	geom_forget(a, t);
	cache_release_pages(a, t);
	t->self = 0;
	atomic_store_release(&t->state, 0);
	slab_free(a, kmem_cache_cache(a), t);
}

int slab_cache_destroy(struct arena *a, struct kmem_cache *s)
{
	bool last, gone = false;
	aoff_t old = 0;
	char why[120], nm[SLUB_NAME_MAX + 1];
	int kind, rc;

	if (!s || !cache_of_off(a, arena_off_of(a, s)))
		return -EINVAL;
	rc = slab_mutex_lock(a);
	if (rc)
		return rc;
	if ((s->state & CACHE_SYSTEM) || s->refcount < 0) {
		slab_mutex_unlock(a);
		return -EINVAL;
	}
	/* refcount 0: kept earlier because it held objects; try again */
	last = s->refcount == 0 || --s->refcount == 0;
	if (last)
		geom_disown(a, s);	/* before it can be DEAD, released, made again */
	slab_mutex_unlock(a);
	if (!last)
		return 0;

	/*
	 * Flushing follows the cache's lists and freelists (slub.c), which
	 * trusts them: a cache found corrupt stays, unreferenced, reported, as a
	 * busy one does (validate says what is wrong; destroy again retries).
	 */
	kind = cache_walkable(a, s, why, sizeof(why));
	if (kind == SLAB_ERR_LOCK)
		return -errno;	/* a lock of s cannot be taken (reported): kept */
	if (kind) {
		slab_report(a, s, (enum slab_error)kind, 0, "destroy %s: %s: kept",
			    cache_name_safe(s, nm), why);
		return -EUCLEAN;
	}
	rc = flush_all_cpus(a, s);
	if (!rc)
		rc = discard_empty(a, s);
	if (rc < 0)
		return rc;	/* kept, unreferenced: a destroy again retries */
	rc = slab_mutex_lock(a);
	if (rc)
		return rc;
	if (s->refcount == 0 && cache_slabs(a, s) == 0) {
		olist_del(a, &s->list);
		id_free_locked(a, s->id);
		a->ctor[s->id] = NULL;
		atomic_store_release(&s->state, CACHE_DEAD);
		old = quarantine_locked(a, s);
		gone = true;
	}
	slab_mutex_unlock(a);
	if (!gone)
		return -EBUSY;
	geom_forget(a, s);	/* this process's copy: a use from now on looks again */
	/* s stays, CACHE_DEAD, through the next CACHE_QUARANTINE destroys: a
	 * use of it meanwhile is caught (cache_unusable) */
	quarantine_release(a, old);
	return 0;
}

struct kmem_cache *slab_cache_find(struct arena *a, const char *name)
{
	struct kmem_cache *s;

	if (!name_ok(name))
		return NULL;
	if (slab_mutex_lock(a))
		return NULL;	/* reported */
	s = find_locked(a, name);
	slab_mutex_unlock(a);
	return s;
}

const char *slab_cache_name(const struct kmem_cache *s)
{
	return s->name;
}

unsigned int slab_cache_size(const struct kmem_cache *s)
{
	return s->object_size;
}

void slab_cache_geometry(const struct kmem_cache *s, size_t *size, size_t *align,
			 unsigned long *flags, bool *has_ctor)
{
	*size = s->object_size;
	*align = s->align;	/* calc_align() of it is itself */
	*flags = s->flags;
	*has_ctor = s->has_ctor;
}

/* ---- shrinking a cache ---------------------------------------------------- */

int slab_shrink(struct arena *a, struct kmem_cache *s)
{
	int kind, rc, rc2;

	if (!s)
		return -EINVAL;
	kind = cache_walkable(a, s, NULL, 0);
	if (kind == SLAB_ERR_LOCK)
		return -errno;		/* a lock of s cannot be taken (reported) */
	if (kind)
		return -EUCLEAN;	/* a corrupt descriptor or list: validate says what */
	s = geom_fresh(a, s, false);	/* walk with the geometry this process checked */
	if (!s)
		return -errno;
	geom_pin(a, s);		/* lock waits: s stays whole meanwhile */
	rc = flush_all_cpus(a, s);
	rc2 = discard_empty(a, s);
	geom_unpin(a, s);
	return rc ? rc : rc2 < 0 ? rc2 : 0;
}
