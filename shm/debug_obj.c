/*
 * debug_obj.c - the checks of one object of a debug cache: its red zones
 * (SLAB_RED_ZONE), its poison (SLAB_POISON), its alloc and free tracks
 * (SLAB_STORE_USER), and kmalloc's requested size in a red-zoned kmalloc
 * slot.  Each function looks at one object's bytes only; the slab it lies
 * in, the lists and the locks are the callers' (slub_debug.c's locked
 * paths, validate.c).
 *
 * Layer: above report.c.  It calls report.c (slab_report), ident.c
 * (arena_self, ident_pid: who a track names) and os.c (the clock); nothing
 * above it.
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* ---- object checks -------------------------------------------------------- */

bool debug_poisoned(const struct kmem_cache *s)
{
	return (s->flags & SLAB_POISON) && !s->has_ctor;
}

void debug_init_object(struct kmem_cache *s, char *obj, bool active)
{
	if (s->flags & SLAB_RED_ZONE) {
		int v = active ? RED_ACTIVE : RED_INACTIVE;

		memset(obj - s->red_left_pad, v, s->red_left_pad);
		memset(obj + s->object_size, v, s->inuse - s->object_size);
	}
	/* the whole object is the user's until kmalloc says what it asked for */
	if (kmalloc_orig_tracked(s))
		__atomic_store_n((uint64_t *)(obj + kmalloc_orig_off(s)), s->object_size,
				 __ATOMIC_RELEASE);
	if (!active && debug_poisoned(s)) {
		memset(obj, POISON_FREE, s->object_size - 1);
		obj[s->object_size - 1] = (char)POISON_END;
	}
}

static bool bytes_are(const char *p, int v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] != v)
			return false;
	return true;
}

/*
 * kmalloc_set_orig - kmalloc(size) got obj: the bytes from size to
 * object_size become red zone, then the size word says so (release: a
 * reader that sees the size sees the red bytes; one that sees the old word
 * checks none of them)
 */
void kmalloc_set_orig(struct kmem_cache *s, char *obj, size_t size)
{
	if (size > s->object_size)
		size = s->object_size;
	memset(obj + size, RED_ACTIVE, s->object_size - size);
	__atomic_store_n((uint64_t *)(obj + kmalloc_orig_off(s)), size, __ATOMIC_RELEASE);
}

bool debug_redzone_ok(const struct kmem_cache *s, const char *obj, int v)
{
	uint32_t orig;

	if (!bytes_are(obj - s->red_left_pad, v, s->red_left_pad) ||
	    !bytes_are(obj + s->object_size, v, s->inuse - s->object_size))
		return false;
	if (v != RED_ACTIVE || !kmalloc_orig_tracked(s))
		return true;
	orig = kmalloc_orig_size(s, obj);	/* kmalloc's size: past it, red zone too */
	return bytes_are(obj + orig, RED_ACTIVE, s->object_size - orig);
}

/* how many bytes the user of obj asked for (kmalloc's size, else the object's) */
uint32_t debug_asked_size(const struct kmem_cache *s, const char *obj)
{
	return kmalloc_orig_tracked(s) ? kmalloc_orig_size(s, obj) : s->object_size;
}

bool debug_poison_ok(const struct kmem_cache *s, const char *obj)
{
	return bytes_are(obj, POISON_FREE, s->object_size - 1) &&
	       (unsigned char)obj[s->object_size - 1] == POISON_END;
}

void debug_track(struct arena *a, struct kmem_cache *s, char *obj, int which, void *caller)
{
	struct slab_track *t;

	if (!(s->flags & SLAB_STORE_USER))
		return;
	t = (struct slab_track *)(obj + s->track_off) + which;
	t->addr = (uint64_t)(uintptr_t)caller;
	t->time_ns = os_now_ns();
	t->owner = arena_self(a);
	t->cpu = shm_current_cpu();
}

const char *debug_owner_text(struct arena *a, struct kmem_cache *s, const char *obj, char *buf,
			      size_t len)
{
	const struct slab_track *t;

	if (!(s->flags & SLAB_STORE_USER))
		return "";
	t = (const struct slab_track *)(obj + s->track_off);
	snprintf(buf, len, " (last alloc pid %u at %#llx, last free pid %u at %#llx)",
		 ident_pid(a, t[0].owner), (unsigned long long)t[0].addr, ident_pid(a, t[1].owner),
		 (unsigned long long)t[1].addr);
	return buf;
}

bool debug_alloc_check(struct arena *a, struct kmem_cache *s, char *obj, void *caller)
{
	aoff_t off = arena_off_of(a, obj);
	char who[96];
	bool ok = true;

	if (debug_poisoned(s) && !debug_poison_ok(s, obj)) {
		slab_report(a, s, SLAB_ERR_POISON, off,
			    "free object %#llx was written to: withheld%s",
			    (unsigned long long)off, debug_owner_text(a, s, obj, who, sizeof(who)));
		ok = false;
	}
	if (ok && (s->flags & SLAB_RED_ZONE) && !debug_redzone_ok(s, obj, RED_INACTIVE)) {
		slab_report(a, s, SLAB_ERR_REDZONE, off,
			    "red zone of free object %#llx overwritten: withheld%s",
			    (unsigned long long)off, debug_owner_text(a, s, obj, who, sizeof(who)));
		ok = false;
	}
	debug_init_object(s, obj, true);
	debug_track(a, s, obj, 0, caller);
	return ok;
}

/*
 * debug_free_check - an object whose red zone was overwritten is not freed
 * (as in the kernel): it stays allocated, its red zone restored, so that the
 * write that hit it cannot spread into the free list.  A sound object's
 * bytes become a free object's in the free step itself (debug_push).
 */
bool debug_free_check(struct arena *a, struct kmem_cache *s, char *obj, void *caller)
{
	aoff_t off = arena_off_of(a, obj);
	char who[96];

	if ((s->flags & SLAB_RED_ZONE) && !debug_redzone_ok(s, obj, RED_ACTIVE)) {
		slab_report(a, s, SLAB_ERR_REDZONE, off,
			    "red zone of object %#llx overwritten (write past its %u bytes): "
			    "object kept allocated%s",
			    (unsigned long long)off, debug_asked_size(s, obj),
			    debug_owner_text(a, s, obj, who, sizeof(who)));
		debug_init_object(s, obj, true);
		return false;
	}
	debug_track(a, s, obj, 1, caller);
	return true;
}
