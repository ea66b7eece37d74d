/*
 * geom.c - each process's private, checked copy of each cache's geometry
 * (the reasoning is at struct cache_geom in internal.h).
 *
 * No lock: the tables in struct arena are process-local arrays of pointers,
 * each changed by one atomic store, and the copies they point to are written
 * whole before they are published (release) and never changed or freed while
 * the arena is open.  Two threads that miss at once both make a copy; both
 * are right, the last store stays, the other is only memory (counted, and
 * bounded by GEOM_MAX).  A thread that reads a slot just forgotten uses the
 * copy it read: the same as having called a moment earlier.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/*
 * Copies one process may make in all: a cache is copied once, again only
 * after it is destroyed (forgotten) or, for a kfree into a cache this process
 * never opened, after its descriptor changed incarnation.  Only a client
 * that rewrites descriptors over and over drives the count up; past the
 * bound a lookup fails (reported) instead of growing without end.
 */
#define GEOM_MAX	(8 * SLUB_MAX_CACHES)

static struct kmem_cache *geom_install(struct arena *a, struct cache_geom *g, bool by_id)
{
	__atomic_store_n(&a->geom_front[geom_slot(g->shared)], g, __ATOMIC_RELEASE);
	if (by_id)
		__atomic_store_n(&a->geom_id[g->k.id], g, __ATOMIC_RELEASE);
	return &g->k;
}

struct kmem_cache *geom_lookup(struct arena *a, struct kmem_cache *s, aoff_t obj)
{
	uint64_t bytes = KMEM_CACHE_SIZE(a->nr_nodes);
	struct cache_geom *g, *head;
	char why[128];
	aoff_t off;
	uint32_t id;
	int kind;

	/* the handle must be a live descriptor of this arena: cache_of_off checks
	 * its range, alignment, self and state without following anything */
	if (cache_is_copy(a, s) || !cache_of_off(a, off = arena_off_of(a, s))) {
		if (!cache_unusable(a, s, obj)) {	/* it came alive just now: rare */
			slab_report(a, NULL, SLAB_ERR_DESTROYED, obj, "%p is no cache", (void *)s);
			errno = EINVAL;
		}
		return NULL;
	}
	/* a copy made before, under another handle slot (a front collision) */
	id = atomic_load_relaxed(&s->id);
	if (id < SLUB_MAX_CACHES) {
		g = __atomic_load_n(&a->geom_id[id], __ATOMIC_ACQUIRE);
		if (g && g->shared == s && g->k.random == atomic_load_relaxed(&s->random))
			return geom_install(a, g, false);
	}
	if (__atomic_load_n(&a->geom_made, __ATOMIC_RELAXED) >= GEOM_MAX) {
		slab_report(a, s, SLAB_ERR_PAGE, off,
			    "descriptor copied %u times: rewritten over and over, not used",
			    GEOM_MAX);
		errno = EINVAL;
		return NULL;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		errno = ENOMEM;
		return NULL;
	}
	/* one copy, then every check on the copy: nothing read twice */
	memcpy(&g->k, s, bytes);
	g->k.name[SLUB_NAME_MAX] = 0;
	g->shared = s;
	kind = g->k.self != off ? SLAB_ERR_PAGE : cache_check(a, &g->k, why, sizeof(why));
	if (kind) {
		if (g->k.self != off)
			snprintf(why, sizeof(why), "descriptor moved while it was copied");
		slab_report(a, s, (enum slab_error)kind, off, "not used: %s", why);
		free(g);
		errno = EINVAL;
		return NULL;
	}
	__atomic_fetch_add(&a->geom_made, 1, __ATOMIC_RELAXED);
	head = __atomic_load_n(&a->geom_all, __ATOMIC_RELAXED);
	do
		g->all = head;
	while (!__atomic_compare_exchange_n(&a->geom_all, &head, g, true, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED));
	return geom_install(a, g, true);
}

static void forget_slot(struct cache_geom **slot, aoff_t self)
{
	struct cache_geom *g = __atomic_load_n(slot, __ATOMIC_ACQUIRE);

	if (g && g->k.self == self)
		__atomic_compare_exchange_n(slot, &g, NULL, false, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED);
}

void geom_forget(struct arena *a, const struct kmem_cache *s)
{
	aoff_t self = cache_is_copy(a, s) ? s->self : arena_off_of(a, s);

	forget_slot(&a->geom_front[geom_slot(arena_at(a, self))], self);
	for (unsigned int id = 0; id < SLUB_MAX_CACHES; id++)
		forget_slot(&a->geom_id[id], self);
	for (unsigned int i = 0; i < NR_KMALLOC; i++)
		if (a->kmalloc_k[i] && a->kmalloc_k[i]->self == self)
			__atomic_store_n(&a->kmalloc_k[i], NULL, __ATOMIC_RELEASE);
}

void geom_free_all(struct arena *a)
{
	struct cache_geom *g = a->geom_all, *next;

	for (; g; g = next) {
		next = g->all;
		free(g);
	}
	a->geom_all = NULL;
}
