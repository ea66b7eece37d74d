/*
 * meta.c - checked lookups of the engine's metadata: an arena offset to the
 * cache descriptor there (cache_of_off), and whether a handle still names a
 * live cache (cache_unusable).  Every offset read from shared memory is
 * checked here before it is followed.
 *
 * Layer: above report.c; it calls report.c only.
 */
#include <errno.h>

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
