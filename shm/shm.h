/*
 * shm.h - the interface of shm/, the allocator itself.
 *
 * shm/ is linked into the daemon, the client library, the tests and the
 * benchmarks.  It knows nothing of sockets or protobuf.  Every function that
 * can fail returns 0 or -errno (allocation functions return NULL and set
 * errno); none prints, exits or aborts on bad input.
 *
 * Declarations are grouped by the file that defines them.
 */
#ifndef SHM_SHM_H
#define SHM_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "stats_list.h"

typedef uint64_t aoff_t;	/* a byte offset from the arena's base; 0 is "none" */
typedef unsigned int gfp_t;

/* gfp flags (the kernel's values) */
#define GFP_KERNEL	0u
#define __GFP_ZERO	0x100u

/*
 * cache flags (the kernel's values).  The public ones are also in slub.h,
 * for users; libslub.c includes both headers, so a value that differs fails
 * the build (a macro redefined).  Their names: slab_flag_names (names.c).
 */
#define SLAB_RED_ZONE		0x00000400UL	/* guard bytes around each object */
#define SLAB_POISON		0x00000800UL	/* fill free objects with 0x6b */
#define SLAB_HWCACHE_ALIGN	0x00002000UL	/* align objects to a cache line */
#define SLAB_STORE_USER		0x00010000UL	/* record last alloc and free */
/* slubd's own: free the objects of a process when it dies (implies STORE_USER) */
#define SLAB_RECLAIM_DEAD	0x80000000UL
/*
 * the engine's own, never a user's (the kernel's value): a kmalloc cache that
 * records each object's requested size (kmalloc_debug.c) and red-zones the
 * bytes past it, set with SLAB_RED_ZONE by slab_debug
 */
#define SLAB_KMALLOC		0x00001000UL
#define SLAB_DEBUG_FLAGS	(SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER)
#define SLAB_USER_FLAGS		(SLAB_DEBUG_FLAGS | SLAB_HWCACHE_ALIGN | SLAB_RECLAIM_DEAD)

#define ZERO_SIZE_PTR		((void *)16)
#define ZERO_OR_NULL_PTR(x)	((unsigned long)(x) <= (unsigned long)ZERO_SIZE_PTR)

#define SLUB_NAME_MAX		31		/* bytes in a cache name, without the NUL */
#define SLUB_MAX_OBJECT_SIZE	(1u << 20)	/* largest kmem_cache object */
#define SLUB_MAX_ALIGN		4096u		/* largest align of a cache (a page) */
#define KMALLOC_MAX_CACHE_SIZE	8192u		/* above: kmalloc_large */
#define SLUB_MAX_CACHES		1024		/* caches an arena holds, its own included */
#define ARENA_DEFAULT_BASE	0x600000000000UL
#define ARENA_DEFAULT_SIZE	(256UL << 20)
#define ARENA_MIN_SIZE		(8UL << 20)
#define ARENA_MAX_SIZE		(1ULL << 40)	/* 1 TiB */
#define ARENA_SIZE_STEP		(4UL << 20)	/* a size is rounded up to whole 4 MiB blocks */

struct arena;
struct kmem_cache;

/* ---- shm/names.c: a pool's name, size, align and flags, checked and named -- */

/* the SLAB_* flags by the names slubctl and slubd use; ends with a NULL name */
struct slab_flag_name {
	const char *name;	/* "red_zone": the SLAB_ name in lower case, without SLAB_ */
	unsigned long value;
	const char *what;	/* a few words for help texts */
};
extern const struct slab_flag_name slab_flag_names[];

/*
 * The checks slab_cache_create makes, one argument each: 0, or -EINVAL with
 * a sentence naming the limit in why (when why is not NULL): "name too
 * long: 40 bytes, at most 31", "size must be 1..1048576 bytes (1 MiB), not 0".
 */
int slab_name_check(const char *name, char *why, size_t len);
bool slab_name_char_ok(char ch);
/* a name of the arena's own caches: kmem_cache, kmem_cache_node, kmalloc-* */
bool slab_name_reserved(const char *name);
int slab_size_check(uint64_t size, char *why, size_t len);
int slab_align_check(uint64_t align, char *why, size_t len);
int slab_flags_check(uint64_t flags, char *why, size_t len);
/*
 * slab_flags_parse - "red_zone,store_user" (any case, an optional SLAB_
 * prefix, '-' for '_'), numbers among them (decimal, 0x, 0), "none" or ""
 * for 0; then slab_flags_check.  0, or -EINVAL with a sentence in why.
 */
int slab_flags_parse(const char *s, uint64_t *out, char *why, size_t len);
/*
 * slab_number_parse - the one reader of numbers and sizes (slubctl's
 * arguments, slubd's options and configuration, flags given as numbers):
 * decimal or 0x hexadecimal digits, no sign, no blanks; then, when
 * suffix_ok, an optional K, M or G (powers of 1024; "KB", "KiB", any case,
 * read the same) or a lone B.  0; -EINVAL for no number or anything after
 * it; -ERANGE for a value past 2^64 - 1.
 */
int slab_number_parse(const char *s, bool suffix_ok, uint64_t *out);
/* "red_zone,store_user", "none", unknown bits as a trailing "0x..." */
const char *slab_flags_format(uint64_t flags, char *buf, size_t len);

/* ---- shm/arena.c ------------------------------------------------------ */

enum arena_huge { ARENA_HUGE_AUTO, ARENA_HUGE_ON, ARENA_HUGE_OFF };
enum arena_backing { ARENA_BACKING_SHM = 1, ARENA_BACKING_HUGETLB = 2 };

struct arena_opts {
	uint64_t size;		/* bytes; 0: ARENA_DEFAULT_SIZE; rounded up to 4 MiB */
	enum arena_huge huge;	/* AUTO: huge pages when reserved, else shm */
	uintptr_t base;		/* 0: ARENA_DEFAULT_BASE; 1: anywhere */
	const char *path;	/* NULL: an anonymous memfd; else a file to create
				 * (on hugetlbfs for huge pages, or tmpfs) */
	unsigned int nr_cpus;	/* 0: the machine's possible CPUs */
};

/*
 * arena_create - make a new arena, format it and bootstrap the allocator
 * (boot caches, kmalloc caches).  On failure returns -errno and writes a
 * sentence into err.  -ENOMEM: huge pages were required (ARENA_HUGE_ON) and
 * too few are reserved, or the size cannot be backed.
 */
int arena_create(const struct arena_opts *o, struct arena **out, char *err, size_t errlen);
/*
 * arena_open - map an existing arena from its fd (the fd is dup'ed), at its
 * recorded base if that address is free, else anywhere (arena_at_base() then
 * says false).  Validates the header: -EPROTO on a bad magic, layout version,
 * architecture or geometry, with the reason in err.
 */
int arena_open(int fd, struct arena **out, char *err, size_t errlen);
void arena_close(struct arena *a);
/*
 * arena_create_on - arena_create on a file the caller opened (and checked,
 * and locked): fd is dup'ed, o->path ignored; never unlinked on failure.
 */
int arena_create_on(int fd, const struct arena_opts *o, struct arena **out, char *err,
		    size_t errlen);
/* the arena file in fd has another size than its header says: restore it
 * (1, *was the size found), or 0 (right already), or -errno (see arena.c) */
int arena_fix_size(int fd, uint64_t *was, uint64_t *size);
pid_t arena_owner_pid(int fd);			/* recorded by the owning slubd; 0: none */
void arena_set_owner_pid(struct arena *a, pid_t pid);
uint64_t arena_created_ns(const struct arena *a);	/* CLOCK_REALTIME at creation */
bool arena_sealed(const struct arena *a);	/* a memfd sealed against size changes */
/* 0: fd's size is sealed (shrink and grow); -EPERM not; -EINVAL not sealable */
int os_check_size_sealed(int fd);

int arena_fd(const struct arena *a);
void *arena_base(const struct arena *a);
uint64_t arena_size(const struct arena *a);
enum arena_backing arena_backing(const struct arena *a);
/* in words: "hugetlb", "hugetlb file PATH", "memfd", "tmpfs file PATH", "file on ext4 PATH" */
const char *arena_backing_name(const struct arena *a);
/* a file system type's name (statfs f_type); *memory: tmpfs, ramfs or hugetlbfs */
const char *os_fs_name(long type, bool *memory, char *buf, size_t len);
long os_hugepages_free(void);	/* 2 MiB huge pages free and not reserved; -1 unknown */
bool arena_at_base(const struct arena *a);	/* mapped at the recorded base? */
uint64_t arena_id(const struct arena *a);	/* the same for every mapping of one arena */
uint64_t arena_recorded_base(const struct arena *a);	/* where its creator mapped it */
unsigned int arena_nr_cpus(const struct arena *a);
uint64_t arena_used_bytes(const struct arena *a);	/* pages not free in the buddy */
uint64_t arena_free_bytes(const struct arena *a);

/* offset <-> pointer; arena_ptr returns NULL for an offset outside the arena */
aoff_t arena_offset(const struct arena *a, const void *p);	/* 0 if not inside */
void *arena_ptr(const struct arena *a, aoff_t off);

/* ---- shm/kmalloc_debug.c: debugging the kmalloc caches (slab_debug=) ----- */

/*
 * The kernel's slab_debug= for the kmalloc caches, applied when an arena is
 * made (their flags are fixed then): "FLAGS[,CACHE...][;FLAGS[,CACHE...]]",
 * FLAGS of F (consistency checks: any debug cache has them), Z (red zone,
 * and with it the requested size of each kmalloc object is kept and the
 * bytes past it red-zoned), P (poison), U (store user), or "-" (none); a
 * CACHE is kmalloc-N, or a prefix ending in '*' (kmalloc-*); none: every
 * kmalloc cache.  A later block overrides an earlier one for its caches.
 */
#define SLAB_DEBUG_TEXT_MAX	160
struct slab_debug_spec {
	unsigned long flags[14];	/* by kmalloc index (kmalloc_index), SLAB_* */
};
/* 0, or -EINVAL with a sentence naming what was wrong in err */
int slab_debug_parse(const char *text, struct slab_debug_spec *out, char *err, size_t errlen);
/* the spec of the arenas this process makes from now on (NULL: none) */
void slab_debug_set(const struct slab_debug_spec *sp);
/*
 * slab_debug_compare - the kmalloc caches of a whether their debug flags
 * are those sp asks: 0 yes; else 1 and a sentence in buf naming the first
 * that differ (an arena adopted from before keeps its caches)
 */
int slab_debug_compare(struct arena *a, const struct slab_debug_spec *sp, char *buf, size_t len);
/* "kmalloc-64 (red zone, poison), ..." of sp, or "none" */
void slab_debug_describe(const struct slab_debug_spec *sp, char *buf, size_t len);
/* ksize for a caller about to use the whole object: past kmalloc's size no longer red */
size_t slab_ksize_whole(struct arena *a, const void *p);

/* ---- shm/buddy.c: the page allocator ----------------------------------- */

#define BUDDY_MAX_ORDER 10		/* blocks of 1 .. 1024 pages (4 MiB) */

/* buddy_alloc_pages - 2^order contiguous pages, backed; NULL+errno ENOMEM */
void *buddy_alloc_pages(struct arena *a, unsigned int order);
void buddy_free_pages(struct arena *a, void *p, unsigned int order);

struct buddy_info {
	uint64_t nr_pages;		/* pages the buddy manages */
	uint64_t nr_free;		/* of which free */
	uint64_t free_blocks[BUDDY_MAX_ORDER + 1];
	uint64_t chunks_backed;		/* 2 MiB chunks backed by host memory */
	uint64_t chunks_total;
	uint64_t punches;		/* chunks given back to the host so far */
};
int buddy_info(struct arena *a, struct buddy_info *bi);
/* buddy_check - every page in exactly one block, lists match; 0 or -EUCLEAN */
int buddy_check(struct arena *a, char *err, size_t errlen);

/* ---- shm/slub.c, slub_cache.c, slub_debug.c: the SLUB engine ------------ */

/*
 * slab_cache_create - open the cache called name if it exists with the same
 * size, align and flags (its refcount goes up), else create it.
 * SLAB_RECLAIM_DEAD adds SLAB_STORE_USER to flags.
 * -EINVAL: bad name (empty, > 31 bytes, a byte outside [A-Za-z0-9._:-]),
 *          size 0 or > SLUB_MAX_OBJECT_SIZE, align not 0 or a power of two
 *          (or > 4096), unknown flags;
 * -EEXIST: that name with other geometry;  -ENOMEM.
 * -EINVAL, -EDEADLK, -ENOTRECOVERABLE also: a lock of the arena cannot be
 * taken (a scribbled or unrecoverable mutex), reported (SLAB_ERR_LOCK).
 * The ctor belongs to the calling process (and the children it forks); it
 * runs on every object of each new slab that this process creates.
 */
int slab_cache_create(struct arena *a, const char *name, size_t size, size_t align,
		      unsigned long flags, void (*ctor)(void *), struct kmem_cache **out);
/*
 * slab_cache_destroy - drop one reference.  When none remain, the cache's
 * empty slabs are freed and, if it holds no objects, the cache goes away
 * (returns 0): its descriptor is marked dead and quarantined (the last
 * CACHE_QUARANTINE destroyed caches are kept), so that an allocation or
 * free through it is reported (SLAB_ERR_DESTROYED) and fails instead of
 * touching another cache.  A cache that still holds objects stays, unreferenced, and
 * -EBUSY is returned; destroying such a cache again (once its objects are
 * freed) removes it, or says -EBUSY again.  -EINVAL: not a cache, or one of
 * the arena's own (kmem_cache, kmem_cache_node, kmalloc-*).  -EINVAL,
 * -EDEADLK, -ENOTRECOVERABLE also: a lock of the arena or of s cannot be
 * taken (reported, SLAB_ERR_LOCK); the cache stays, as a busy one does.
 */
int slab_cache_destroy(struct arena *a, struct kmem_cache *s);
/* would slab_cache_create accept these (else it answers -EINVAL)? */
bool slab_cache_args_ok(const char *name, size_t size, size_t align, unsigned long flags);
/*
 * slab_cache_open - slab_cache_create for a process that owns no ctor (the
 * daemon, on behalf of a client): has_ctor records that objects need one,
 * owner_uid who made the pool.  *created says whether it was made now.
 */
int slab_cache_open(struct arena *a, const char *name, size_t size, size_t align,
		    unsigned long flags, bool has_ctor, uint32_t owner_uid, struct kmem_cache **out,
		    bool *created);
/*
 * slab_cache_forget - this process gave up its reference to s (a destroy
 * made elsewhere, by slubd): its private copy of s's geometry is dropped, so
 * that a pool made later at the same address is copied afresh.
 */
void slab_cache_forget(struct arena *a, struct kmem_cache *s);
/*
 * slab_cache_pin - a private handle for the pool s (a shared descriptor, as
 * slab_cache_at / slab_cache_open give): this process's checked copy of its
 * geometry, kept whole until slab_cache_unpin.  slab_alloc / slab_free (and
 * the bulk calls) take it as they take s, without looking the copy up: the
 * handle libslub gives its users.  NULL (errno) if s is no live, consistent
 * cache.  slab_cache_shared: the shared descriptor of a handle (either kind),
 * NULL if it names no live cache.
 */
struct kmem_cache *slab_cache_pin(struct arena *a, struct kmem_cache *s);
/* slab_alloc / slab_free for a private handle h (slab_cache_pin, not NULL):
 * nothing to tell apart or look up */
void *slab_alloc_pinned(struct arena *a, struct kmem_cache *h, gfp_t gfp);
void slab_free_pinned(struct arena *a, struct kmem_cache *h, void *obj);
void slab_cache_unpin(struct arena *a, struct kmem_cache *h);
struct kmem_cache *slab_cache_shared(struct arena *a, struct kmem_cache *h);
/* slab_cache_set_ctor - this process's constructor for s (NULL: none) */
void slab_cache_set_ctor(struct arena *a, struct kmem_cache *s, void (*ctor)(void *));
/* the cache at offset off of the arena, checked; NULL if there is none */
struct kmem_cache *slab_cache_at(struct arena *a, aoff_t off);
int32_t slab_cache_refcount(struct arena *a, struct kmem_cache *s);
uint32_t slab_cache_owner(const struct kmem_cache *s);
/* slab_cache_keep - count one reference (taken by slab_cache_open) as held by
 * the daemon itself (+1), or stop counting one (-1) before dropping it */
void slab_cache_keep(struct arena *a, struct kmem_cache *s, int delta);
uint32_t slab_cache_kept(struct arena *a, struct kmem_cache *s);
/*
 * slab_adopt - a daemon takes over an arena whose previous daemon is gone:
 * every pool's references held by that daemon's connections went with it,
 * so each refcount becomes the pool's kept count.  Returns the number of
 * pools.  The processes still attached take their references again when they
 * reconnect.
 */
int slab_adopt(struct arena *a);
bool slab_cache_is_system(const struct kmem_cache *s);
/*
 * slab_cache_set_limits - cap s at max_objects objects and max_bytes bytes
 * of slabs (0: no cap).  Counted in whole slabs, over all nodes: a new slab
 * that would pass a cap is refused, and allocation fails with EDQUOT (after
 * giving back the CPU slabs once, so that free objects stranded there count).
 * 0 or -EINVAL.
 */
int slab_cache_set_limits(struct arena *a, struct kmem_cache *s, uint64_t max_objects,
			  uint64_t max_bytes);
struct kmem_cache *slab_cache_find(struct arena *a, const char *name);
const char *slab_cache_name(const struct kmem_cache *s);
unsigned int slab_cache_size(const struct kmem_cache *s);	/* object_size */
/* what slab_cache_open needs to open s again: size, align, flags, ctor or not */
void slab_cache_geometry(const struct kmem_cache *s, size_t *size, size_t *align,
			 unsigned long *flags, bool *has_ctor);

/* slab_alloc: NULL with errno ENOMEM (arena full), EDQUOT (a cap of s),
 * ENOEXEC (objects need a ctor this process never registered) or EINVAL (s
 * was destroyed: reported); or EINVAL, EDEADLK, ENOTRECOVERABLE: a lock the
 * allocation needs cannot be taken (reported, SLAB_ERR_LOCK, naming it).
 * A free that needs such a lock reports it and leaks the object. */
void *slab_alloc(struct arena *a, struct kmem_cache *s, gfp_t gfp);
void slab_free(struct arena *a, struct kmem_cache *s, void *obj);
/* returns nr, or 0 having allocated nothing (errno as slab_alloc) */
int slab_alloc_bulk(struct arena *a, struct kmem_cache *s, gfp_t gfp, size_t nr, void **p);
void slab_free_bulk(struct arena *a, struct kmem_cache *s, size_t nr, void **p);
/* slab_shrink - flush CPU slabs, free empty slabs: 0 or -errno */
int slab_shrink(struct arena *a, struct kmem_cache *s);

void *slab_kmalloc(struct arena *a, size_t size, gfp_t gfp);
void *slab_kzalloc(struct arena *a, size_t size, gfp_t gfp);
void *slab_krealloc(struct arena *a, const void *p, size_t new_size, gfp_t gfp);
void slab_kfree(struct arena *a, const void *p);
size_t slab_ksize(struct arena *a, const void *p);	/* 0 for NULL, ZERO_SIZE_PTR or a bad pointer */
/* kmalloc_index - the kernel's size class index: 0 for size 0, 3..13, 1 (96), 2 (192); -1 above 8 KiB */
int kmalloc_index(size_t size);
struct kmem_cache *slab_kmalloc_cache(struct arena *a, size_t size);

/* what the engine reports: errors of users and corruption it has detected */
enum slab_error {
	SLAB_ERR_DOUBLE_FREE = 1,	/* object freed while free */
	SLAB_ERR_BAD_POINTER,		/* not an object of any slab of the arena */
	SLAB_ERR_WRONG_CACHE,		/* freed into a cache it does not belong to */
	SLAB_ERR_FREELIST,		/* a free pointer that decodes outside its slab or misaligned */
	SLAB_ERR_REDZONE,		/* guard bytes overwritten */
	SLAB_ERR_POISON,		/* a free object written to */
	SLAB_ERR_COUNTERS,		/* slab counters disagree with its freelist */
	SLAB_ERR_LIST,			/* a list link or list membership is wrong */
	SLAB_ERR_PAGE,			/* a page descriptor is inconsistent */
	SLAB_ERR_ORPHAN,		/* a slab on no list, owned by no live process */
	SLAB_ERR_DESTROYED,		/* a destroyed cache used */
	SLAB_ERR_LEAK,			/* objects held by a process that died */
	SLAB_ERR_LOCK,			/* a lock that cannot be taken (the operation failed),
					 * or a lock or life word naming no live thread */
	SLAB_ERR_NR
};
const char *slab_error_name(enum slab_error e);

struct slab_report {
	uint32_t kind;			/* enum slab_error */
	uint32_t pid;			/* process that detected it */
	aoff_t cache;			/* offset of the cache, 0 if unknown */
	aoff_t object;			/* offset of the object or slab concerned */
	uint64_t time_ns;		/* CLOCK_REALTIME */
	char cache_name[SLUB_NAME_MAX + 1];
	char detail[80];
};
/*
 * slab_set_report_fn - called in the detecting process for each report (the
 * library prints nothing by itself).  Reports also go to the arena's ring,
 * read with slab_reports(), and are counted per cache.  A report made while
 * the thread holds arena locks reaches fn once it has dropped the last one
 * (fn may print: no system call is made under a lock); past 32 in one locked
 * section, only the ring and the counts get them.
 */
void slab_set_report_fn(void (*fn)(const struct slab_report *r, void *arg), void *arg);
/* copy up to max reports newer than *cursor; returns how many, advances *cursor */
int slab_reports(struct arena *a, struct slab_report *out, int max, uint64_t *cursor);

/* SLUB_STATS-like counters, summed over CPUs: the list is stats_list.h */
#define SLAB_STAT_ENUM(e, name, shown) e,
enum slab_stat {
	SLAB_STAT_LIST(SLAB_STAT_ENUM)
	NR_SLAB_STATS
};
#undef SLAB_STAT_ENUM
const char *slab_stat_name(enum slab_stat st);

struct slab_cache_info {
	char name[SLUB_NAME_MAX + 1];
	aoff_t offset;			/* of the descriptor */
	unsigned long flags;
	uint32_t object_size, size, align, offset_fp, red_left_pad, inuse;
	uint32_t order, objs_per_slab, min_order, min_partial, cpu_partial;
	int32_t refcount;
	uint64_t num_slabs, num_objs;	/* slabs and their objects */
	uint64_t active_objs;		/* allocated: exact while quiescent */
	uint64_t active_slabs;		/* slabs with an allocated object */
	uint64_t nr_partial;		/* on node partial lists */
	uint64_t max_objects, max_bytes;	/* caps, 0: none */
	uint64_t stat[NR_SLAB_STATS];
	uint64_t errors[SLAB_ERR_NR];
};
int slab_cache_info(struct arena *a, struct kmem_cache *s, struct slab_cache_info *out);
/*
 * slab_cache_info_many - slab_cache_info of n caches at once (slubd's stats),
 * with the same figures: from the counters, no lock taken, O(caches), not
 * O(pages) (shm/stats.c).  out[i] is caches[i]'s; an entry that is not a
 * cache (slab_cache_info's -EINVAL) is left zeroed, offset 0.  0.
 */
int slab_cache_info_many(struct arena *a, struct kmem_cache *const *caches, unsigned int n,
			 struct slab_cache_info *out);
/* calls fn for every cache (boot and kmalloc caches included); stops at a nonzero return */
int slab_for_each_cache(struct arena *a, int (*fn)(struct kmem_cache *s, void *arg), void *arg);

struct slab_validate_result {
	uint64_t caches, slabs, objects;	/* walked */
	uint64_t allocated, free;		/* objects: allocated + free == objects */
	uint64_t errors[SLAB_ERR_NR];		/* by kind */
	uint64_t nr_errors;			/* sum */
	char first_error[160];			/* the first one, in words */
};
/*
 * slab_validate - check every invariant of one cache (s) or of every cache
 * and the page allocator (s == NULL), as SLUB's validate_slab does, and
 * count objects.  Counts are exact while no process allocates or frees.
 * Returns 0 when consistent, -EUCLEAN when errors were found (see r).
 */
int slab_validate(struct arena *a, struct kmem_cache *s, struct slab_validate_result *r);

struct slab_scrub_result {
	uint64_t orphans;		/* slabs put back on a list or freed */
	uint64_t transit_blocks;	/* page blocks of dead processes returned */
	uint64_t leaked_objects;	/* objects held by dead processes (SLAB_STORE_USER) */
	uint64_t reclaimed_objects;	/* of which freed (SLAB_RECLAIM_DEAD) */
	uint64_t new_leaks;		/* leaked objects first reported by this scrub (not freed) */
	uint64_t discarded_objects;	/* slab_cache_discard: objects given back with their slabs */
	uint64_t discarded_slabs, kept_slabs;	/* and slabs; left (in use, or corrupt) */
	uint32_t dead_pids;		/* processes found dead holding objects */
	/* each arena lock is held for bounded steps: how many, and the longest
	 * (an upper bound: from before taking the locks to after dropping them) */
	uint64_t locked_steps;
	uint64_t max_hold_ns;
};
#define SLAB_SCRUB_HOLD_NS 1		/* slab_scrub_result has max_hold_ns */
/*
 * slab_scrub - find slabs orphaned by dead processes (neither a CPU slab, nor
 * on a list, nor full, and not in the hands of a live process) and put them
 * back; return page blocks a dead process held in transit.  In caches with
 * SLAB_STORE_USER, count the objects whose owner (last allocator, or the
 * process given them) is dead, and report each dead owner once
 * (SLAB_ERR_LEAK, with its pid and count); with SLAB_RECLAIM_DEAD, free
 * them.  Safe while other processes allocate: it holds each lock for a
 * bounded step (a chunk of one cache's slabs, or one page block), never for
 * a walk of the arena's pages, and makes no system call holding one; what
 * changes between its steps the next scrub finds.  0 or -errno.
 */
int slab_scrub(struct arena *a, struct slab_scrub_result *r);
/*
 * slab_reclaim_dead - slab_scrub of the cache s alone (a SLAB_STORE_USER
 * cache), freeing the objects whose owner is dead as SLAB_RECLAIM_DEAD
 * would: r->reclaimed_objects says how many, r->dead_pids whose.  The
 * same bounded locked steps; an object of a live owner is never freed.
 * 0; -EINVAL: s is no cache of a or keeps no owners; -ENOENT: s left the
 * arena's list; -EAGAIN: one of its locks was not taken (reported, or a
 * timed attempt gave up: slab_lock_busy); -ENOMEM.
 */
int slab_reclaim_dead(struct arena *a, struct kmem_cache *s, struct slab_scrub_result *r);
/*
 * slab_cache_discard - every slab of s given back, its objects with it, for
 * a pool no live process uses (the caller checks that; the engine cannot
 * tell a plain pool's objects apart): refcount 0 required (-EBUSY), CPU
 * slabs flushed, then the scrub's bounded steps; r->discarded_objects,
 * discarded_slabs, kept_slabs (left: a live process at work in them, or
 * corrupt).  slab_cache_destroy then removes s.  0 or -errno as
 * slab_reclaim_dead.
 */
int slab_cache_discard(struct arena *a, struct kmem_cache *s, struct slab_scrub_result *r);
/*
 * slab_unheld_pids - the processes alive in the arena (a thread of theirs
 * holds its life word) whose id slubd does not hold for an open connection
 * (ident_hold), this one left out: how many, the first max of their pids in
 * pids (as this process sees them; 0: another pid namespace's).  -EAGAIN:
 * a thread without a life word touched the arena, so that no process can
 * be told absent; -ENOMEM.
 */
int slab_unheld_pids(struct arena *a, uint32_t *pids, unsigned int max);
/*
 * ident_hold - slubd's, for a connection whose process (checked by slubd)
 * says its owner id is id: write the slot's held word, for the clients'
 * claimers and joiners (ident.c: "Held by a connection").  0, or -errno
 * with why (-EINVAL no such id, -ESRCH not alive or not its slot's, -EBUSY
 * the slot is held for another id).  ident_unhold clears it if it is id.
 */
int ident_hold(struct arena *a, uint32_t id, char *why, size_t len);
void ident_unhold(struct arena *a, uint32_t id);
/* the pid and pid namespace the slot of id records (its claimer's view); -ESRCH: not id's now */
int ident_slot_info(struct arena *a, uint32_t id, uint32_t *pid, uint64_t *pidns);
/* the ids the arena's held words name (a restarting slubd's): how many, the first max in ids */
int ident_held_list(struct arena *a, uint32_t *ids, unsigned int max);
/*
 * ident_set_held_fn - slubd's own answer to "is id held for an open
 * connection?", asked instead of the arena's held words (any client can
 * write those) wherever this process judges liveness.  fn must take no
 * arena lock: it is called under them.
 */
void ident_set_held_fn(bool (*fn)(uint32_t id));
/*
 * this process's owner id in a, claimed now by the calling thread if need
 * be; SLAB_OWNER_UNKNOWN when no slot or life could be had (never dead)
 */
#define SLAB_OWNER_UNKNOWN 0x7fffffffu
uint32_t slab_self(struct arena *a);

/*
 * slab_give - the object obj of s, held by this process, now belongs to the
 * process pid (see SLAB_RECLAIM_DEAD).  -EINVAL: s keeps no owners, or obj
 * is no allocated object of s; -EPERM: another process holds it; -ESRCH: no
 * such live process.
 */
int slab_give(struct arena *a, struct kmem_cache *s, void *obj, uint32_t pid);
/* slab_owner - the pid holding obj, an allocated object of s; 0 if unknown */
uint32_t slab_owner(struct arena *a, struct kmem_cache *s, const void *obj);

/* ---- timed lock attempts (slubd's request worker; lock.c) -----------------
 * slab_lock_deadline: from now on, this thread's contended attempts at an
 * arena lock may wait ms in all (0: as long as it takes) - a budget for
 * waiting, not a time of day: a long walk that waits on nothing keeps it, and
 * a walk that meets many held locks spends it once.  Past it they give up
 * and fail what they were for as a lock that cannot be taken does, without reporting
 * corruption; it clears the busy note.  slab_lock_busy: whether an attempt
 * gave up since, with "LOCK held by pid N" in buf.  slab_lock_taken: the
 * locks this thread has taken so far (to tell whether a call that gave up
 * had changed anything).
 */
void slab_lock_deadline(unsigned int ms);
bool slab_lock_busy(char *buf, size_t len);
uint64_t slab_lock_taken(void);

/* ---- test hooks ---------------------------------------------------------
 * Deterministic points inside slow paths, so that tests can stop or kill a
 * process exactly there.  NULL (the default) costs one predictable branch on
 * slow paths only; the fast paths have none.
 */
enum shm_hook {
	HOOK_CPU_LOCKED = 1,	/* alloc slow path, holding a CPU slab lock */
	HOOK_CPU_DEACTIVATE,	/* halfway through deactivating a CPU slab */
	HOOK_LIST_LOCKED,	/* holding a node's list_lock */
	HOOK_ZONE_LOCKED,	/* holding the page allocator's lock */
	HOOK_SLAB_MUTEX,	/* holding the arena's cache list lock */
	HOOK_NEW_SLAB,		/* a new slab made, not yet installed */
	HOOK_FREE_TRANSIT,	/* a full slab unfrozen by a free, not yet on a list */
	HOOK_PUNCH,		/* a free chunk held while its memory goes back */
	HOOK_SLAB_ACCT,		/* a slab's count half changed, holding the page allocator's lock */
	HOOK_DISCARD,		/* an empty slab leaving its cache, not yet given back */
	HOOK_CPU_DETACH,	/* taking a CPU freelist: intent logged, pair loaded, CAS not done */
	HOOK_IDENT_WALK,	/* before each life a liveness walk reads (ident.c) */
	HOOK_BUDDY_SPLIT,	/* a block half split: an upper half freed, its head's order not yet cut */
};
#define HOOK_NR		(HOOK_BUDDY_SPLIT + 1)
extern void (*shm_test_hook)(enum shm_hook where);

#endif /* SHM_SHM_H */
