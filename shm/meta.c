/*
 * meta.c - checked lookups of the engine's metadata: a pointer to its
 * arena offset and back (arena_offset, arena_ptr), an arena offset to the
 * cache descriptor there (cache_of_off), whether a handle still names a live
 * cache (cache_unusable), and the whole check of a descriptor before anything
 * walks it (cache_check).  Every offset read from shared memory is checked
 * here before it is followed.
 *
 * Layer: above report.c; it calls report.c only.
 */
#include <errno.h>
#include <stdio.h>

#include "internal.h"

struct kmem_cache *cache_of_off(struct arena *a, aoff_t off)
{
	struct kmem_cache *s;

	if (!arena_range_ok(a, off, desc_bytes(a)) || off % 8)
		return NULL;
	s = arena_at(a, off);
	if (s->self != off || !(s->state & (CACHE_ACTIVE | CACHE_BOOT)))
		return NULL;
	return s;
}

bool cache_unusable(struct arena *a, struct kmem_cache *s, aoff_t obj)
{
	aoff_t off;
	uint32_t state;

	s = cache_shared(a, s);		/* the state is the shared descriptor's */
	off = arena_off_of(a, s);

	if (off && off % 8 == 0 && arena_range_ok(a, off, desc_bytes(a)) && s->self == off) {
		state = atomic_load_acquire(&s->state);
		if (state & (CACHE_ACTIVE | CACHE_BOOT))
			return false;
		if (state == CACHE_DEAD) {
			char nm[SLUB_NAME_MAX + 1];

			slab_report(a, s, SLAB_ERR_DESTROYED, obj,
				    "cache %s used after it was destroyed", cache_name_safe(s, nm));
			errno = EINVAL;
			return true;
		}
	}
	slab_report(a, NULL, SLAB_ERR_DESTROYED, obj,
		    "%#llx is no cache (destroyed long ago, or never one)", (unsigned long long)off);
	errno = EINVAL;
	return true;
}

aoff_t arena_offset(const struct arena *a, const void *p)
{
	uintptr_t x = (uintptr_t)p, b = (uintptr_t)a->base;

	if (x <= b || x >= b + a->size)
		return 0;
	return (aoff_t)(x - b);
}

void *arena_ptr(const struct arena *a, aoff_t off)
{
	return arena_range_ok(a, off, 1) && off < a->size ? a->base + off : NULL;
}

/* ---- checking a descriptor ------------------------------------------------ */

/* order << 16 | objects: a block the buddy can give, holding the objects */
static bool oo_fits(uint32_t oo, uint32_t size)
{
	unsigned int order = oo_order(oo), objects = oo_objects(oo);

	return order <= BUDDY_MAX_ORDER && objects >= 1 && objects <= MAX_OBJS_PER_SLAB &&
	       (uint64_t)objects * size <= PAGE_SIZE << order;
}

/* node descriptor off: an object of the kmem_cache_node cache, in one of its slabs */
static bool node_desc_ok(struct arena *a, aoff_t off)
{
	const struct kmem_cache *nc;
	struct page_desc *hp;
	uint32_t head;
	aoff_t start;

	if (!arena_range_ok(a, off, sizeof(struct kmem_cache_node)) || off % 8)
		return false;
	head = pd_of_off(a, off)->head;
	if (head < a->first_pfn || head >= a->nr_pages)
		return false;
	hp = pd_of_pfn(a, head);
	if ((hp->flags & (PG_HEAD | PG_SLAB | PG_FREE)) != (PG_HEAD | PG_SLAB) ||
	    hp->order > BUDDY_MAX_ORDER || (uint64_t)head + (1u << hp->order) > a->nr_pages)
		return false;
	nc = cache_of_off(a, hp->cache);
	start = pfn_off(head);
	return nc && (nc->state & CACHE_SYSTEM) && nc->object_size == sizeof(struct kmem_cache_node) &&
	       nc->size >= nc->object_size && off >= start + nc->red_left_pad &&
	       (off - start) % nc->size == nc->red_left_pad &&
	       off - start + sizeof(struct kmem_cache_node) <= PAGE_SIZE << hp->order;
}

int cache_check(struct arena *a, const struct kmem_cache *s, char *why, size_t len)
{
	uint64_t cpu_bytes = (uint64_t)a->nr_cpus * sizeof(struct kmem_cache_cpu);
	uint32_t size = s->size, pad = s->red_left_pad, pfn;
	struct page_desc *pd;

#define BAD(...) do { \
	if (why && len) \
		snprintf(why, len, __VA_ARGS__); \
	return SLAB_ERR_PAGE; \
} while (0)
	if (s->nr_cpus != a->nr_cpus || s->nr_nodes != a->nr_nodes)
		BAD("descriptor says %u CPUs and %u nodes, the arena has %u and %u", s->nr_cpus,
		    s->nr_nodes, a->nr_cpus, a->nr_nodes);
	if (size < 8 || size > (1u << 22) || size % 8)
		BAD("descriptor: object stride %u", size);
	if (!s->align || (s->align & (s->align - 1)) || s->align > PAGE_SIZE || size % s->align)
		BAD("descriptor: alignment %u for stride %u", s->align, size);
	if (s->reciprocal != ((1ULL << 44) + size - 1) / size)
		BAD("descriptor: the reciprocal of the stride is wrong (%#llx)",
		    (unsigned long long)s->reciprocal);
	if (!s->object_size || s->object_size > s->inuse || (uint64_t)pad + s->inuse > size)
		BAD("descriptor: object size %u, in use %u, left red zone %u do not fit stride %u",
		    s->object_size, s->inuse, pad, size);
	if (pad % 8)
		BAD("descriptor: left red zone of %u bytes", pad);
	if (s->offset % 8 || (uint64_t)pad + s->offset + sizeof(uint64_t) > size)
		BAD("descriptor: free pointer at %u does not fit stride %u", s->offset, size);
	if ((s->flags & SLAB_STORE_USER) &&
	    (s->track_off % 8 || (uint64_t)pad + s->track_off + 2 * sizeof(struct slab_track) > size))
		BAD("descriptor: owner records at %u do not fit stride %u", s->track_off, size);
	if (s->flags & ~(SLAB_USER_FLAGS | SLAB_KMALLOC))
		BAD("descriptor: unknown flags %#x", s->flags);
	if (kmalloc_orig_tracked(s) && (uint64_t)pad + kmalloc_orig_off(s) + 8 > size)
		BAD("descriptor: kmalloc's size word at %u does not fit stride %u",
		    kmalloc_orig_off(s), size);
	if (!oo_fits(s->oo, size) || !oo_fits(s->min, size))
		BAD("descriptor: slab geometry %#x / %#x does not fit stride %u", s->oo, s->min, size);
	if (s->id >= SLUB_MAX_CACHES)
		BAD("descriptor: id %u", s->id);
	pfn = (uint32_t)(s->cpu_slab >> PAGE_SHIFT);
	if (s->cpu_slab % PAGE_SIZE || s->cpu_slab >= a->size || pfn < a->first_pfn)
		BAD("descriptor: per-CPU array at %#llx", (unsigned long long)s->cpu_slab);
	pd = pd_of_pfn(a, pfn);
	if ((pd->flags & (PG_HEAD | PG_PERCPU | PG_FREE)) != (PG_HEAD | PG_PERCPU) ||
	    pd->order > BUDDY_MAX_ORDER || (PAGE_SIZE << pd->order) < cpu_bytes ||
	    (uint64_t)pfn + (1u << pd->order) > a->nr_pages)
		BAD("descriptor: per-CPU array at %#llx is in no per-CPU block",
		    (unsigned long long)s->cpu_slab);
	for (unsigned int node = 0; node < a->nr_nodes; node++) {
		if (!node_desc_ok(a, s->node[node]))
			BAD("descriptor: node %u at %#llx is no node descriptor", node,
			    (unsigned long long)s->node[node]);
		for (unsigned int k = 0; k < node; k++)
			if (s->node[k] == s->node[node])
				BAD("descriptor: nodes %u and %u share a descriptor", k, node);
	}
	return 0;
#undef BAD
}
