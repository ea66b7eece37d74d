/*
 * cache_list.c - the list of caches: slab_mutex (arena_hdr), which protects
 * the list, the cache ids and each cache's refcount, kept count and state;
 * the ids; the refcounts (slab_cache_refcount, keep, kept, slab_adopt); and
 * the list walked by a reader (slab_for_each_cache).
 *
 * slab_mutex is the outermost lock.  Nothing that may make a system call (a
 * new slab, a punch) runs under it: a new cache is built before the lock is
 * taken and linked under it; a destroyed cache is unlinked under it and its
 * memory freed after.  If its owner dies, slab_mutex_repair() mends the
 * list's back links and rebuilds the id map from the caches on the list.
 *
 * Layer: above meta.c.  It calls meta.c (cache_of_off), lock.c, list.c,
 * report.c; nothing above it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct kmem_cache *cache_of_list(struct arena *a, struct olist *l)
{
	return cache_of_off(a, arena_off_of(a, l) - offsetof(struct kmem_cache, list));
}

/* ---- slab_mutex --------------------------------------------------------- */

static bool cache_list_valid(struct arena *a, aoff_t off, void *arg)
{
	(void)arg;
	return cache_of_off(a, off - offsetof(struct kmem_cache, list)) != NULL;
}

static void slab_mutex_repair(void *arg)
{
	struct arena *a = arg;
	struct arena_hdr *h = a->hdr;
	struct olist *it = &h->slab_caches;

	olist_repair(a, &h->slab_caches, cache_list_valid, NULL, SLUB_MAX_CACHES);
	memset(h->cache_ids, 0, sizeof(h->cache_ids));
	while ((it = olist_next(a, &h->slab_caches, it))) {
		struct kmem_cache *s = cache_of_list(a, it);

		if (s && s->id < SLUB_MAX_CACHES)
			h->cache_ids[s->id / 8] |= (uint8_t)(1u << (s->id % 8));
	}
}

/* 0, or -errno: slab_mutex cannot be taken (reported), the caller fails */
must_check int slab_mutex_lock(struct arena *a)
{
	int rc = shm_lock_acquire(a, &a->hdr->slab_mutex, slab_mutex_repair, a);

	if (unlikely(rc)) {
		lock_failed(a, NULL, rc, "slab_mutex (the list of caches)");
		return rc;
	}
	shm_hook(HOOK_SLAB_MUTEX);
	return 0;
}

void slab_mutex_unlock(struct arena *a)
{
	shm_lock_release(&a->hdr->slab_mutex);
}

static int id_alloc_locked(struct arena *a)
{
	for (int id = 0; id < SLUB_MAX_CACHES; id++)
		if (!(a->hdr->cache_ids[id / 8] & (1u << (id % 8)))) {
			a->hdr->cache_ids[id / 8] |= (uint8_t)(1u << (id % 8));
			return id;
		}
	return -ENOSPC;
}

void id_free_locked(struct arena *a, uint32_t id)
{
	if (id < SLUB_MAX_CACHES)
		a->hdr->cache_ids[id / 8] &= (uint8_t)~(1u << (id % 8));
}

struct kmem_cache *find_locked(struct arena *a, const char *name)
{
	struct olist *it = &a->hdr->slab_caches;
	unsigned int n = 0;

	while ((it = olist_next(a, &a->hdr->slab_caches, it)) && n++ < SLUB_MAX_CACHES) {
		struct kmem_cache *s = cache_of_list(a, it);

		if (s && !strncmp(s->name, name, sizeof(s->name)))
			return s;
	}
	return NULL;
}

/* link a set-up cache; slab_mutex held */
int link_locked(struct arena *a, struct kmem_cache *s, int32_t refcount, uint32_t state)
{
	int id = id_alloc_locked(a);

	if (id < 0)
		return id;
	s->id = (uint32_t)id;
	s->refcount = refcount;
	atomic_store_release(&s->state, state);
	olist_add_tail(a, &a->hdr->slab_caches, &s->list);
	return 0;
}

/* ---- refcounts ------------------------------------------------------------ */

int32_t slab_cache_refcount(struct arena *a, struct kmem_cache *s)
{
	int32_t r = slab_mutex_lock(a);

	if (r)
		return r;	/* -errno: slab_mutex cannot be taken (reported) */
	r = s->refcount;
	slab_mutex_unlock(a);
	return r;
}

void slab_cache_keep(struct arena *a, struct kmem_cache *s, int delta)
{
	if (slab_mutex_lock(a))
		return;		/* reported: the count stays */
	if (delta > 0 || s->kept > 0)
		s->kept += (uint32_t)delta;
	slab_mutex_unlock(a);
}

uint32_t slab_cache_kept(struct arena *a, struct kmem_cache *s)
{
	uint32_t k;

	if (slab_mutex_lock(a))
		return 0;	/* reported */
	k = s->kept;
	slab_mutex_unlock(a);
	return k;
}

int slab_adopt(struct arena *a)
{
	struct olist *it = &a->hdr->slab_caches;
	int pools = slab_mutex_lock(a);

	if (pools)
		return pools;	/* -errno, reported */
	while ((it = olist_next(a, &a->hdr->slab_caches, it))) {
		struct kmem_cache *s = cache_of_list(a, it);

		if (!s || (s->state & CACHE_SYSTEM))
			continue;
		s->refcount = (int32_t)s->kept;
		pools++;
	}
	slab_mutex_unlock(a);
	return pools;
}

/* ---- walking the list ------------------------------------------------------ */

/*
 * The cache list, walked by a reader: every link checked (olist_next), each
 * entry that is no cache skipped, and the walk bounded: it ends at a link
 * that leaves the arena, at an entry seen before (a loop that misses the
 * head), or after LIST_WALK_MAX (2 * SLUB_MAX_CACHES) entries.  slab_mutex
 * held.
 */

bool seen_before(const aoff_t *seen, unsigned int n, aoff_t off)
{
	for (unsigned int i = 0; i < n; i++)
		if (seen[i] == off)
			return true;
	return false;
}

int slab_for_each_cache(struct arena *a, int (*fn)(struct kmem_cache *s, void *arg), void *arg)
{
	struct kmem_cache *list[SLUB_MAX_CACHES];
	struct olist *it = &a->hdr->slab_caches;
	aoff_t *seen = malloc(LIST_WALK_MAX * sizeof(*seen));
	unsigned int nseen = 0;
	int n = 0, rc = 0;

	if (!seen)
		return -ENOMEM;
	rc = slab_mutex_lock(a);
	if (rc) {
		free(seen);
		return rc;
	}
	while ((it = olist_next(a, &a->hdr->slab_caches, it)) && n < SLUB_MAX_CACHES &&
	       nseen < LIST_WALK_MAX) {
		aoff_t off = arena_off_of(a, it);
		struct kmem_cache *s;

		if (seen_before(seen, nseen, off))
			break;
		seen[nseen++] = off;
		s = cache_of_list(a, it);
		if (s)
			list[n++] = s;
	}
	slab_mutex_unlock(a);
	free(seen);
	for (int i = 0; i < n && !rc; i++)
		rc = fn(list[i], arg);
	return rc;
}
