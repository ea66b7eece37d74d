/*
 * slub.h - libslub: the Linux kernel's slab API over pools shared by
 * processes.
 *
 * A process attaches to slubd (slub_attach), which maps the daemon's arena
 * into it.  Pools (caches) are named: every process that creates a cache of
 * the same name and geometry opens the same pool.  Allocation and free never
 * talk to the daemon: they run lock-free on per-CPU freelists in the shared
 * arena.  An object allocated in one process may be freed in any other.
 *
 * Pointers: the arena is mapped at the same address in every process where
 * that address is free, so a pointer stored in the arena by one process is
 * valid in the others.  slub_offset() and slub_ptr() convert between
 * pointers and offsets that are valid everywhere, always.
 *
 * Thread-safe.  After fork() the child goes on using the pools with nothing
 * to call; its control connection is made again when it next needs one.
 *
 * Errors: functions returning int return 0 or -errno; allocation functions
 * return NULL and set errno.  The library prints nothing.
 */
#ifndef SLUB_H
#define SLUB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SLUB_API __attribute__((visibility("default")))

typedef unsigned int gfp_t;

#define GFP_KERNEL	0u		/* no special behaviour */
#define __GFP_ZERO	0x100u		/* return zeroed memory */

/* cache flags (the kernel's values) */
#define SLAB_RED_ZONE		0x00000400UL	/* guard bytes around objects: catch overruns */
#define SLAB_POISON		0x00000800UL	/* fill free objects: catch writes after free */
#define SLAB_HWCACHE_ALIGN	0x00002000UL	/* align objects to a cache line */
#define SLAB_STORE_USER		0x00010000UL	/* record the last alloc and free of each object */
/*
 * slubd's own flag: each object belongs to the process that allocated it (or
 * was given it, kmem_cache_give()); when that process dies, slubd frees the
 * objects it held.  Implies SLAB_STORE_USER (allocation and free then take
 * the pool's node lock: slower than a plain pool).
 */
#define SLAB_RECLAIM_DEAD	0x80000000UL

#define ZERO_SIZE_PTR		((void *)16)	/* kmalloc(0): a unique non-NULL pointer */
#define ZERO_OR_NULL_PTR(x)	((unsigned long)(x) <= (unsigned long)ZERO_SIZE_PTR)

struct kmem_cache;

/**
 * slub_attach - connect to slubd and map an arena's memory.
 * @arena: which arena.  NULL: the socket $SLUBD_SOCKET names if set, else the
 *         arena $SLUBD_ARENA names if set, else the default arena.  A string
 *         without '/' is an arena's name (an [arena NAME] section of slubd's
 *         config): the socket NAME.sock in the default socket's directory
 *         (that of $SLUBD_SOCKET when set, else /run/slubd for root, else
 *         $XDG_RUNTIME_DIR/slubd, else /tmp/slubd-UID); "default" is the
 *         default arena.  A string with a '/' is a socket path, as before.
 *
 * A process is attached to one arena at most: attaching while attached (to
 * the same arena or another) fails with -EISCONN; slub_detach() first.
 *
 * What it trusts: a socket in the built-in directory is used only when that
 * directory is no symbolic link, belongs to root, to this user or to
 * slubd's user, and only its owner may write in it, and the socket is no
 * link; every directory above it, as written and as resolved, is a link or
 * a directory of root's, this user's or slubd's user's, and none but a
 * sticky one (/tmp) is writable by others; any socket, only when the daemon answering it (SO_PEERCRED) runs as
 * root, as this user, or as slubd's user: $SLUBD_DAEMON_UID (a uid or a user
 * name) if set, else the system user "slubd" if there is one.
 *
 * Return: 0; -EISCONN if already attached; -ENOENT or -ECONNREFUSED when no
 * slubd listens there; -EPERM when the socket's directory or the daemon is not
 * trusted (above); -EACCES when slubd's policy refuses this user (that
 * arena's access list); -EINVAL for a bad arena name; -EPROTO on a protocol
 * version mismatch or a bad arena; -ENOMEM.  slub_attach_error() says why,
 * in a sentence.
 */
SLUB_API int slub_attach(const char *arena);

/**
 * slub_attach_error - why this thread's last slub_attach() failed: a
 * sentence naming what was wrong and how to fix it ("" after a success).
 * The library prints nothing itself.
 */
SLUB_API const char *slub_attach_error(void);

/**
 * slub_detach - drop every pool reference this process holds, disconnect
 * and unmap the arena.  Pointers into the arena become invalid.
 */
SLUB_API void slub_detach(void);

/**
 * kmem_cache_create - open the pool called @name, or create it.
 * @name:  1..31 bytes of [A-Za-z0-9._:-]
 * @size:  object size, 1 .. 1 MiB
 * @align: 0 or a power of two up to 4096
 * @flags: SLAB_HWCACHE_ALIGN, SLAB_RED_ZONE, SLAB_POISON, SLAB_STORE_USER,
 *         SLAB_RECLAIM_DEAD
 * @ctor:  run on every object of each new slab, in whichever process
 *         creates the slab; processes sharing a pool pass equivalent ctors.
 *
 * A pool of that name with the same size, align, flags (and ctor or not) is
 * opened and its reference count goes up.
 *
 * Return: the cache, or NULL with errno: EINVAL (a bad argument), EEXIST
 * (the name exists with another geometry), ENOMEM, ENOTCONN (not
 * attached, or slubd unreachable), EACCES (policy forbids), ENOSPC (slubd's
 * limit on pools, [limits] max_caches, is reached), EMFILE (this process
 * holds [limits] max_refs references already), ESTALE (slubd came back with
 * another arena than the one this process has mapped).
 */
SLUB_API struct kmem_cache *kmem_cache_create(const char *name, size_t size, size_t align,
					      unsigned long flags, void (*ctor)(void *));

/**
 * kmem_cache_destroy - drop this process's reference to @s.  The pool goes
 * away when no process references it and it holds no objects; a pool that
 * still holds objects stays (slubctl shows it).  Do not use @s afterwards:
 * an allocation or free through a pool that went away is caught (reported
 * as "destroyed cache used", allocation fails with EINVAL) as long as its
 * descriptor is among the last 32 destroyed, which the arena keeps for that.
 */
SLUB_API void kmem_cache_destroy(struct kmem_cache *s);

/**
 * kmem_cache_alloc - an object of @s.  @flags: GFP_KERNEL or __GFP_ZERO.
 * Return: the object, or NULL with errno ENOMEM (the arena is exhausted),
 * EDQUOT (the pool's cap, kmem_cache_set_limit(), is reached) or EINVAL
 * (the pool was destroyed).
 */
SLUB_API void *kmem_cache_alloc(struct kmem_cache *s, gfp_t flags);

/** kmem_cache_zalloc - kmem_cache_alloc() with __GFP_ZERO. */
SLUB_API void *kmem_cache_zalloc(struct kmem_cache *s, gfp_t flags);

/**
 * kmem_cache_free - give @obj back to @s, from any attached process.
 * A pointer that is no object of @s, a free into the wrong cache, and a
 * double free of the object at the head of the freelist are detected,
 * reported (slubctl stats counts them) and ignored.  Any double free is
 * caught in a pool made with SLAB_RED_ZONE, SLAB_POISON or SLAB_STORE_USER;
 * without them, as in the kernel, a double free of another object corrupts
 * the pool's freelist, which slubctl validate then reports.
 */
SLUB_API void kmem_cache_free(struct kmem_cache *s, void *obj);

/**
 * kmem_cache_give - hand the ownership of @obj, an object of @s that this
 * process holds, to the process @pid, before passing it the pointer.  In a
 * pool made with SLAB_RECLAIM_DEAD (or SLAB_STORE_USER, where it decides
 * whose leak a dead process's object is), an object belongs to one process;
 * when it dies its objects are freed.  An object passed on without this call
 * stays its allocator's, and is freed under the receiver if the allocator
 * dies first.
 *
 * @pid is a pid as this process sees it (its pid namespace), of a live
 * process that has attached to the arena (or, forked from one, has used
 * it): a process is known to the arena by the slot it takes then, not by
 * its pid.
 *
 * A process is alive to the arena while one of its threads that used the
 * arena runs (stopped or traced is alive); whatever its uid, /proc or pid
 * namespace.  A process whose every such thread has exited is dead to it,
 * even if other threads run on: hand objects to a thread that has used
 * the arena.
 *
 * Return: 0; -EINVAL when @s does not track owners (no SLAB_STORE_USER or
 * SLAB_RECLAIM_DEAD) or @obj is not an allocated object of @s; -EPERM when
 * @obj belongs to another process; -ESRCH when no live process @pid has
 * attached.
 */
SLUB_API int kmem_cache_give(struct kmem_cache *s, void *obj, pid_t pid);

/**
 * kmem_cache_owner - the process that holds @obj, an allocated object of @s.
 * Return: its pid, as this process sees it; 0 when @s does not track
 * owners, @obj is not an allocated object of @s, or its owner's pid is not
 * one this process can see (another pid namespace's, or gone).
 */
SLUB_API pid_t kmem_cache_owner(struct kmem_cache *s, const void *obj);

/**
 * kmem_cache_alloc_bulk - @nr objects into @p.
 * Return: @nr, or 0 having allocated nothing (errno ENOMEM or EDQUOT, as kmem_cache_alloc).
 */
SLUB_API int kmem_cache_alloc_bulk(struct kmem_cache *s, gfp_t flags, size_t nr, void **p);

/** kmem_cache_free_bulk - free @nr objects of @s from @p (NULL entries skipped). */
SLUB_API void kmem_cache_free_bulk(struct kmem_cache *s, size_t nr, void **p);

/**
 * kmem_cache_shrink - give the CPU slabs of @s back and free its empty slabs.
 * Return: 0; -EINVAL for a bad cache; -ENOTCONN when not attached.
 */
SLUB_API int kmem_cache_shrink(struct kmem_cache *s);

/**
 * kmem_cache_set_limit - cap the pool @s at @max_objects objects and
 * @max_bytes bytes of slab memory (0: no cap), for every process using it.
 * A cap counts whole slabs: once the pool's slabs hold as many objects (or
 * bytes) as allowed, an allocation that needs a new slab fails with EDQUOT,
 * so the objects allocated never exceed @max_objects.  Objects left free on
 * another CPU's slab count against the cap until kmem_cache_shrink().  A cap
 * below what the pool holds now frees nothing; it stops growth.
 *
 * Return: 0; -EPERM unless this process's user made the pool (or is root);
 * -EINVAL for a bad cache; -ENOTCONN when slubd is unreachable.
 */
SLUB_API int kmem_cache_set_limit(struct kmem_cache *s, uint64_t max_objects, uint64_t max_bytes);

/** kmem_cache_size - the object size @s was created with. */
SLUB_API unsigned int kmem_cache_size(struct kmem_cache *s);

/**
 * kmalloc - @size bytes from the kernel's size classes (8 B .. 8 KiB, plus
 * 96 and 192), or whole pages above 8 KiB.
 * Return: ZERO_SIZE_PTR for 0; NULL with errno ENOMEM or ENOTCONN.
 */
SLUB_API void *kmalloc(size_t size, gfp_t flags);

/** kzalloc - kmalloc() with __GFP_ZERO. */
SLUB_API void *kzalloc(size_t size, gfp_t flags);

/**
 * krealloc - resize @p to @new_size, keeping its content; @p NULL or
 * ZERO_SIZE_PTR: kmalloc(); @new_size 0: kfree() and ZERO_SIZE_PTR.
 * Return: the object (maybe @p itself), or NULL with errno ENOMEM (@p is
 * then untouched) or EINVAL (@p is no kmalloc'ed object).
 */
SLUB_API void *krealloc(const void *p, size_t new_size, gfp_t flags);

/** kfree - free a kmalloc'ed object; NULL and ZERO_SIZE_PTR are ignored. */
SLUB_API void kfree(const void *p);

/** ksize - the usable size of a kmalloc'ed object (0 for NULL or a bad pointer). */
SLUB_API size_t ksize(const void *p);

/**
 * slub_offset - @p as an offset into the arena, valid in every process.
 * Return: the offset, or 0 when @p is not in the arena (or not attached).
 */
SLUB_API uint64_t slub_offset(const void *p);

/** slub_ptr - the address of arena @offset here; NULL outside the arena. */
SLUB_API void *slub_ptr(uint64_t offset);

#ifdef __cplusplus
}
#endif

#endif /* SLUB_H */
