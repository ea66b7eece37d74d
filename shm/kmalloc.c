/*
 * kmalloc.c - kmalloc over the kernel's size classes: a size's class
 * (kmalloc_index), kmalloc, kzalloc, kfree, ksize and krealloc; sizes above
 * KMALLOC_MAX_CACHE_SIZE get a page block of their own (kmalloc_large).
 * The kmalloc caches themselves are made by the bootstrap (slub_cache.c)
 * with the debug flags kmalloc_debug.c gives them.
 *
 * Layer: at the top, beside slub_cache.c.  It calls slub.c (slab_alloc,
 * slab_free), slub_debug.c's and debug_obj.c's kmalloc size tracking,
 * geom.c, buddy.c (large blocks), slub_cache.c's cache_of_off, report.c,
 * os.c; nothing calls it but the users of shm/ (libslub, slubd).
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

/* ---- kmalloc -------------------------------------------------------------- */

int kmalloc_index(size_t size)
{
	if (!size)
		return 0;
	if (size <= 8)
		return 3;
	if (size > 64 && size <= 96)
		return 1;
	if (size > 128 && size <= 192)
		return 2;
	if (size > KMALLOC_MAX_CACHE_SIZE)
		return -1;
	return (int)fls32((unsigned int)size - 1);
}

struct kmem_cache *slab_kmalloc_cache(struct arena *a, size_t size)
{
	int i = kmalloc_index(size);

	return i > 0 ? arena_at(a, a->hdr->kmalloc_caches[i]) : NULL;
}

/*
 * kmalloc_large - a block of its own.  It stays PG_TRANSIT, ours (pd.owner),
 * until it is ready to return: a death while it is taken, backed or zeroed
 * leaves a transit block that buddy_scrub frees.  Once PG_LARGE it has no
 * owner (kmalloc memory is handed around freely): a death between that store
 * and the caller's use of the pointer leaks it, a window of a few
 * instructions.
 */
static void *kmalloc_large(struct arena *a, size_t size, gfp_t gfp)
{
	unsigned int order = size <= BLOCK_MAX_SIZE ? get_order(size) : BUDDY_MAX_ORDER + 1;
	uint32_t pfn;
	void *p;
	int rc = order > BUDDY_MAX_ORDER ? -ENOMEM : buddy_alloc(a, order, PG_TRANSIT, &pfn);

	if (rc) {
		errno = -rc;	/* ENOMEM, or the page allocator's lock's error */
		return NULL;
	}
	p = arena_at(a, pfn_off(pfn));
	if (gfp & __GFP_ZERO)
		memset(p, 0, PAGE_SIZE << order);
	atomic_store_release(&pd_of_pfn(a, pfn)->flags, PG_HEAD | PG_LARGE);
	return p;
}

/*
 * kfree of a large block: ours (pd.owner, then PG_TRANSIT by a CAS from
 * PG_LARGE) before it goes back, so that a death on the way leaves a transit
 * block buddy_scrub frees, and a second kfree racing this one finds no large
 * block (reported) instead of freeing it twice.
 */
static void kfree_large(struct arena *a, struct page_desc *pd, aoff_t off)
{
	uint16_t want = PG_HEAD | PG_LARGE;

	pd->owner = arena_self(a);
	if (!atomic_cas_full(&pd->flags, &want, (uint16_t)(PG_HEAD | PG_TRANSIT))) {
		slab_report(a, NULL, SLAB_ERR_DOUBLE_FREE, off,
			    "kfree(%#llx): the large block is being freed already (flags %#x)",
			    (unsigned long long)off, want);
		return;
	}
	buddy_free(a, pd_pfn(a, pd));
}

/*
 * kmalloc_handle - the handle of kmalloc cache i, read from the header once
 * per process (checked: a live descriptor) and kept, so that a later scribble
 * on the header's table does not move this process's kmalloc.
 */
static struct kmem_cache *kmalloc_handle(struct arena *a, int i)
{
	struct kmem_cache *s = __atomic_load_n(&a->kmalloc_k[i], __ATOMIC_ACQUIRE);

	if (likely(s))
		return s;
	s = cache_of_off(a, atomic_load_relaxed(&a->hdr->kmalloc_caches[i]));
	if (s)
		__atomic_store_n(&a->kmalloc_k[i], s, __ATOMIC_RELEASE);
	else
		s = (struct kmem_cache *)a->hdr;	/* no cache: slab_alloc reports it */
	return s;
}

void *slab_kmalloc(struct arena *a, size_t size, gfp_t gfp)
{
	int i = kmalloc_index(size);

	if (i == 0)
		return ZERO_SIZE_PTR;
	struct kmem_cache *s;
	void *p;

	if (i < 0)
		return kmalloc_large(a, size, gfp);
	s = kmalloc_handle(a, i);
	p = slab_alloc(a, s, gfp);
	/*
	 * The red zone past size is written by this process's checked copy of
	 * the geometry, never by the shared descriptor's flags and offsets: a
	 * scribble on those must not steer this write (t_hostile).
	 */
	s = p ? cache_geom(a, s) : NULL;
	if (s && kmalloc_orig_tracked(s))
		kmalloc_set_orig(s, p, size);	/* writes past size are caught */
	return p;
}

void *slab_kzalloc(struct arena *a, size_t size, gfp_t gfp)
{
	return slab_kmalloc(a, size, gfp | __GFP_ZERO);
}

/*
 * what p is: the head page of its block (slab or large), or NULL with the
 * error reported.  Interior pointers are left to slab_free / checked here.
 */
static struct page_desc *kfree_target(struct arena *a, const void *p, aoff_t *off)
{
	struct page_desc *pd;
	uint32_t head;

	*off = arena_offset(a, p);
	if (!*off || *off < pfn_off(a->first_pfn))
		goto bad;
	head = pd_of_off(a, *off)->head;
	if (head < a->first_pfn || head >= a->nr_pages)
		goto bad;
	pd = pd_of_pfn(a, head);
	if (!(pd->flags & PG_HEAD) || !(pd->flags & (PG_SLAB | PG_LARGE)))
		goto bad;
	if ((pd->flags & PG_LARGE) && *off != pfn_off(head))
		goto bad;
	return pd;
bad:
	slab_report(a, NULL, SLAB_ERR_BAD_POINTER, *off,
		    "kfree(%p): not a kmalloc'ed object of this arena", p);
	return NULL;
}

void slab_kfree(struct arena *a, const void *p)
{
	struct page_desc *pd;
	struct kmem_cache *s;
	aoff_t off;

	if (ZERO_OR_NULL_PTR(p))
		return;
	pd = kfree_target(a, p, &off);
	if (!pd)
		return;
	if (pd->flags & PG_LARGE) {
		kfree_large(a, pd, off);
		return;
	}
	s = cache_of_off(a, pd->cache);
	/* the process may never have opened s: its copy may be of a cache gone since */
	if (!s || !geom_fresh(a, s, false)) {
		slab_report(a, NULL, SLAB_ERR_PAGE, off, "kfree(%p): slab of no valid cache", p);
		return;
	}
	slab_free(a, s, (void *)p);
}

size_t slab_ksize(struct arena *a, const void *p)
{
	struct page_desc *pd;
	struct kmem_cache *s;
	aoff_t off;

	if (ZERO_OR_NULL_PTR(p))
		return 0;
	pd = kfree_target(a, p, &off);
	if (!pd)
		return 0;
	if (pd->flags & PG_LARGE)
		return PAGE_SIZE << pd->order;
	s = cache_of_off(a, pd->cache);
	s = s ? geom_fresh(a, s, false) : NULL;	/* the size this process checked */
	return s ? s->object_size : 0;
}

/* p's cache if it is a kmalloc cache keeping requested sizes (p: a checked object) */
static struct kmem_cache *kmalloc_tracked_of(struct arena *a, const void *p)
{
	struct page_desc *pd;
	struct kmem_cache *s;
	aoff_t off = arena_offset(a, p);

	if (!off || off < pfn_off(a->first_pfn))
		return NULL;
	pd = pd_of_pfn(a, pd_of_off(a, off)->head);
	if (!(pd->flags & PG_SLAB))
		return NULL;
	s = cache_of_off(a, pd->cache);
	s = s ? geom_fresh(a, s, false) : NULL;
	return s && kmalloc_orig_tracked(s) ? s : NULL;
}

size_t slab_ksize_whole(struct arena *a, const void *p)
{
	size_t ks = slab_ksize(a, p);
	struct kmem_cache *s = ks ? kmalloc_tracked_of(a, p) : NULL;

	/* as the kernel's ksize(): the caller may use it all, so none of it is red */
	if (s)
		kmalloc_set_orig(s, (char *)p, s->object_size);
	return ks;
}

void *slab_krealloc(struct arena *a, const void *p, size_t new_size, gfp_t gfp)
{
	struct kmem_cache *s;
	size_t ks;
	void *q;

	if (ZERO_OR_NULL_PTR(p))
		return slab_kmalloc(a, new_size, gfp);
	if (new_size == 0) {
		slab_kfree(a, p);
		return ZERO_SIZE_PTR;
	}
	ks = slab_ksize(a, p);
	if (ks == 0) {
		errno = EINVAL;
		return NULL;
	}
	s = kmalloc_tracked_of(a, p);
	if (s)
		ks = kmalloc_orig_size(s, p);	/* past it: red zone, not content */
	if (new_size <= (s ? s->object_size : ks)) {
		if ((gfp & __GFP_ZERO) && new_size < ks)
			memset((char *)p + new_size, 0, ks - new_size);
		else if ((gfp & __GFP_ZERO) && new_size > ks)
			memset((char *)p + ks, 0, new_size - ks);
		if (s)
			kmalloc_set_orig(s, (char *)p, new_size);
		return (void *)p;
	}
	q = slab_kmalloc(a, new_size, gfp);
	if (!q)
		return NULL;
	memcpy(q, p, ks);
	slab_kfree(a, p);
	return q;
}
