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
 * kmem_cache_reclaim - free the objects of @s whose owner process is dead
 * (what SLAB_RECLAIM_DEAD does when slubd notices a death), now, in this
 * process: for a pool made with SLAB_STORE_USER, where a dead process's
 * objects are otherwise only reported.  An object of a live process is
 * never freed.  Return: the number of objects freed (0 or more); -EINVAL
 * when @s keeps no owners (no SLAB_STORE_USER or SLAB_RECLAIM_DEAD);
 * -EIO when one of the pool's locks cannot be taken (reported: slubctl
 * reports); -ENOTCONN before slub_attach().
 */
SLUB_API int kmem_cache_reclaim(struct kmem_cache *s);

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

/**
 * kmem_cache_lookup - open the existing pool called @name, whatever its
 * geometry (as DPDK's rte_mempool_lookup): a second process need not know
 * the size, align and flags its creator chose.  The reference it takes is
 * the one kmem_cache_create takes, dropped by kmem_cache_destroy; the
 * handle is the one kmem_cache_create would give for that pool (a process
 * that opened the pool already gets the same pointer).  It never creates a
 * pool.  A pool made with a constructor is opened too, but this process has
 * none: an allocation that needs a new slab fails with ENOEXEC (open it
 * with kmem_cache_create and the ctor instead).
 *
 * Return: the cache, or NULL with errno: ENOENT (no pool has that name; the
 * arena's own caches, kmem_cache, kmem_cache_node and kmalloc-*, are none),
 * EINVAL (a bad name), and as kmem_cache_create: ENOTCONN, EACCES, EMFILE,
 * ENOMEM, ESTALE.
 */
SLUB_API struct kmem_cache *kmem_cache_lookup(const char *name);

/*
 * struct kmem_cache_stats - one pool's figures, as `slubctl stats` shows
 * them.  Its size stays fixed: fields added later take the reserved words
 * and raise version, so a program built against this header keeps working
 * with a later library (and reads version to know what was filled).
 */
#define SLUB_STATS_VERSION	1
struct kmem_cache_stats {
	uint32_t version;		/* SLUB_STATS_VERSION of the library that filled it */
	uint32_t objs_per_slab;		/* objects in one slab */
	char name[32];			/* the pool's name, NUL-terminated */
	uint64_t object_size;		/* the size it was created with */
	uint64_t size;			/* the slot: object, debug metadata, alignment */
	uint64_t align;			/* the objects' alignment */
	uint64_t flags;			/* SLAB_* it was created with */
	uint64_t pages_per_slab;	/* 4 KiB pages in one slab */
	uint64_t active_objs;		/* objects allocated (exact while nothing runs) */
	uint64_t num_objs;		/* objects of its slabs, allocated or free */
	uint64_t active_slabs;		/* slabs holding an allocated object */
	uint64_t num_slabs;		/* slabs it holds */
	int64_t refcount;		/* references of every process (slubd's "refs") */
	uint64_t alloc_fastpath;	/* allocations served lock-free, every process */
	uint64_t alloc_slowpath;	/* allocations that took a slow path */
	uint64_t free_fastpath;		/* frees made lock-free */
	uint64_t free_slowpath;		/* frees that took a slow path */
	uint64_t errors;		/* misuse and corruption reports counted against it */
	uint64_t max_objects;		/* its cap, kmem_cache_set_limit(); 0: none */
	uint64_t max_bytes;		/* its cap in bytes of slabs; 0: none */
	uint64_t reserved[16];		/* zero; later fields */
};

/**
 * kmem_cache_stats - @s's figures into @st, read from the arena by this
 * process (no request to slubd): the counters slubd's stats read, with the
 * same lock-free walk of the arena's page descriptors (it takes no lock and
 * costs a walk of the arena's pages: not for a fast path).
 * Return: 0; -EINVAL for a bad cache or @st NULL; -ENOTCONN when not
 * attached.
 */
SLUB_API int kmem_cache_stats(struct kmem_cache *s, struct kmem_cache_stats *st);

/*
 * struct slub_arena_info - the arena this process attached to.  Fixed size,
 * grown through the reserved words as struct kmem_cache_stats is.
 */
#define SLUB_ARENA_INFO_VERSION	1
struct slub_arena_info {
	uint32_t version;		/* SLUB_ARENA_INFO_VERSION of the library that filled it */
	uint32_t at_base;		/* 1: mapped at the address its creator used (pointers
					 * stored in it are valid here); 0: elsewhere, only
					 * offsets (slub_offset) are */
	char arena[64];			/* its name: "default", or an [arena NAME] of slubd's
					 * config; "" when attached by a socket path whose
					 * name tells none */
	char socket[108];		/* the control socket's path */
	char backing[320];		/* what backs its memory, as slubd reports it
					 * (slubctl stats' "backing"): "hugetlb",
					 * "hugetlb file PATH", "memfd", "tmpfs file
					 * PATH", "file on FSTYPE PATH" (slubd(8)) */
	uint64_t base;			/* where it is mapped in this process */
	uint64_t map_base;		/* where its creator mapped it (slubctl stats' "base") */
	uint64_t size;			/* its size in bytes */
	uint64_t arena_id;		/* the same for every mapping of one arena, and changes
					 * when slubd makes a new one */
	uint64_t reserved[16];		/* zero; later fields */
};

/**
 * slub_arena_info - which arena this process is attached to, into @ai.
 * Return: 0; -ENOTCONN when not attached; -EINVAL for @ai NULL.
 */
SLUB_API int slub_arena_info(struct slub_arena_info *ai);

/** kmem_cache_size - the object size @s was created with. */
SLUB_API unsigned int kmem_cache_size(struct kmem_cache *s);

/**
 * kmalloc - @size bytes from the kernel's size classes (8 B .. 8 KiB, plus
 * 96 and 192), or above 8 KiB a block of its own (a power of two of pages),
 * up to 4 MiB: the kernel's limit (KMALLOC_MAX_SIZE with 4 KiB pages).
 * Return: ZERO_SIZE_PTR for 0; NULL with errno ENOMEM (above 4 MiB too) or
 * ENOTCONN.
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

/*
 * slub_offset() and slub_ptr() are inline: the arena's place in this
 * process, __slub_map, is all they read (written by slub_attach and
 * slub_detach only, which may not run while another thread uses the arena).
 * __slub_map is the library's, not an interface: use the two functions.
 * The library still exports both as functions, for programs built against
 * an earlier slub.h; __slub_offset_handle answers for a pool's handle, which
 * lies outside the arena.
 */
struct __slub_map {
	uintptr_t base;			/* 0: not attached */
	uint64_t size;
};
extern SLUB_API struct __slub_map __slub_map;
SLUB_API uint64_t __slub_offset_handle(const void *p);

#ifdef SLUB_NO_INLINE
SLUB_API uint64_t slub_offset(const void *p);
SLUB_API void *slub_ptr(uint64_t offset);
#else
/**
 * slub_offset - @p as an offset into the arena, valid in every process.
 * A pool's handle (kmem_cache_create) gives its descriptor's offset.
 * Return: the offset, or 0 when @p is not in the arena (or not attached).
 */
static inline uint64_t slub_offset(const void *p)
{
	uintptr_t x = (uintptr_t)p, b = __slub_map.base;

	if (x > b && x - b < __slub_map.size)
		return (uint64_t)(x - b);
	return b && p ? __slub_offset_handle(p) : 0;
}

/** slub_ptr - the address of arena @offset here; NULL outside the arena. */
static inline void *slub_ptr(uint64_t offset)
{
	uintptr_t b = __slub_map.base;

	return b && offset && offset < __slub_map.size ? (void *)(b + (uintptr_t)offset) : NULL;
}
#endif

#ifdef __cplusplus
}
#endif

#endif /* SLUB_H */
