/*
 * internal.h - what the files of shm/ share with each other, grouped by the
 * file that defines it.  Nothing here is for users of shm/ (see shm.h).
 *
 * The layers of shm/, bottom to top: each file is one concept and calls only
 * files on lines above its own (scripts/shm-calls.py lists every call
 * between files and flags one that goes up).  The lock order is at the top
 * of slub.c.
 *
 *   layout.h atomic.h   the arena's layout; atomics.  internal.h: the
 *                       inline helpers (offsets, the current CPU, free
 *                       pointers), these declarations
 *   os.c names.c        the kernel (the only file that talks to it); what a
 *                       pool may be called and made with (pure)
 *   report.c            the report ring, a cache's name for a message
 *   lock.c  ident.c     robust locks, their repairs' hook, work after the
 *                       last unlock (shm_defer), a lock not taken, a scrub's
 *                       timed steps; who is alive (lives, slots)
 *   list.c              lists of arena offsets
 *   meta.c              checked lookups: pointer <-> offset, offset ->
 *                       cache, cache_check; kmalloc_debug.c: the kmalloc
 *                       caches' names, sizes and debug flags
 *   debug_obj.c         one object's red zones, poison, tracks
 *   slab_acct.c         slab counts and caps (under the zone lock)
 *   cache_list.c        slab_mutex, cache ids, refcounts, the list walked
 *   buddy.c             the page allocator (pages; counts via slab_acct.c)
 *   geom.c              each process's checked copy of a cache's geometry
 *   slab.c              node lists (add_partial, remove_partial,
 *                       add_full, remove_full), making and discarding slabs
 *   slub.c              per-CPU layer, fast paths
 *   slub_debug.c        the debug caches' locked paths, owners
 *   stats.c             a cache's figures from its counters and partial
 *                       lists (no lock, O(pools)); the counters' names
 *   validate.c scrub.c  the full walk and its checks; the scrub
 *   slub_cache.c        geometry, bootstrap, create/open/destroy, shrink;
 *   kmalloc.c           kmalloc over the size classes
 *   arena.c             creating and opening an arena
 *
 * Calls that still go up (to be undone): lock.c and ident.c call each other (a lock's owner alive;
 * ident's robust mutexes); slub.c calls slub_debug.c's debug paths (a
 * debug cache's alloc and free).  slab.c's node repair reaches
 * slub_debug.c's debug_step_repair through the arena handle (set by
 * arena.c), not by name.  report.c reads lock.c's
 * shm_lock_depth (a thread-local count, no call).
 */
#ifndef SHM_INTERNAL_H
#define SHM_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sched.h>
#include <sys/rseq.h>
#include <unistd.h>

#include "layout.h"
#include "shm.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define noinline	__attribute__((noinline))
#define must_check	__attribute__((warn_unused_result))
#define ALIGN_UP(x, a)	(((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ARRAY_SIZE(x)	(sizeof(x) / sizeof((x)[0]))

/*
 * Assertions.  SHM_ASSERT compiles out unless SHM_DEBUG: it is for the
 * engine's own invariants, never for anything a user or another process can
 * break.  What others can break (the arena's contents) is checked always and
 * turned into an error return and a report.
 */
#ifdef SHM_DEBUG
#include <assert.h>
#define SHM_ASSERT(x) assert(x)
#else
#define SHM_ASSERT(x) ((void)0)
#endif

#define GEOM_FRONT	4096		/* slots of the handle -> copy table (geom.c) */
#define GEOM_RETIRED	256		/* dropped copies kept before they are freed */
#define GEOM_GRACE_NS	1000000000ull	/* and for at least as long */
#define GEOM_AGING_MAX	16384		/* waiting at most; then no new copy (geom.c) */
struct cache_geom;

/*
 * struct arena - one process's view of an arena.  Process-local: the values
 * copied from the header were checked when the arena was opened, and are
 * trusted from then on even if the header is scribbled on.
 */
struct arena {
	char *base;			/* where this process mapped it */
	uint64_t size;
	int fd;
	enum arena_backing backing;
	char backing_desc[320];		/* in words, with the path (os_backing_desc) */
	bool at_base;			/* mapped at hdr->base */
	bool sealed;			/* a memfd sealed against shrinking and growing */
	uint32_t nr_pages;
	uint32_t nr_cpus;
	uint32_t nr_nodes;
	uint32_t first_pfn;		/* first page the buddy manages */
	struct arena_hdr *hdr;
	struct page_desc *pd;
	uint8_t *chunks;
	void (*ctor[SLUB_MAX_CACHES])(void *);	/* this process's constructors */
	struct ident_map *im;		/* this process's lives here (ident.c) */
	/* this process's checked copies of cache descriptors (geom.c): by the
	 * handle's address, by cache id, every one made; the kmalloc caches' */
	struct cache_geom *geom_front[GEOM_FRONT];
	struct cache_geom *geom_id[SLUB_MAX_CACHES];
	struct cache_geom *geom_retired[GEOM_RETIRED];
	uint32_t geom_retire_next;
	struct cache_geom *geom_aging;	/* out of the ring, not GEOM_GRACE_NS old yet */
	uint32_t geom_aging_nr;
	struct kmem_cache *kmalloc_k[NR_KMALLOC];	/* handles, read from the header once */
	/* slub_debug.c's debug_step_repair, for slab.c's node repair (which
	 * may not call up by name); set when the arena is opened (arena.c) */
	void (*debug_step_repair_fn)(struct arena *a, struct kmem_cache *s,
				     struct kmem_cache_node *n);
};

/* ---- checked offsets ---------------------------------------------------- */

/* [off, off+len) lies inside the arena, off != 0 */
static inline bool arena_range_ok(const struct arena *a, aoff_t off, uint64_t len)
{
	return off != 0 && off <= a->size && len <= a->size - off;
}

/* the one unchecked conversion: callers have checked off already */
static inline void *arena_at(const struct arena *a, aoff_t off)
{
	return a->base + off;
}

static inline aoff_t arena_off_of(const struct arena *a, const void *p)
{
	return (aoff_t)((const char *)p - a->base);
}

static inline struct page_desc *pd_of_pfn(const struct arena *a, uint32_t pfn)
{
	return &a->pd[pfn];
}

static inline uint32_t pd_pfn(const struct arena *a, const struct page_desc *pd)
{
	return (uint32_t)(pd - a->pd);
}

/* offset of a page descriptor's lru node: what lists link */
static inline aoff_t pd_lru_off(const struct arena *a, const struct page_desc *pd)
{
	return arena_off_of(a, &pd->lru);
}

/* the page descriptor whose lru lies at off, or NULL if off is not one */
static inline struct page_desc *pd_of_lru(const struct arena *a, aoff_t off)
{
	aoff_t pd0 = arena_off_of(a, a->pd) + offsetof(struct page_desc, lru);

	if (off < pd0 || (off - pd0) % sizeof(struct page_desc) ||
	    (off - pd0) / sizeof(struct page_desc) >= a->nr_pages)
		return NULL;
	return &a->pd[(off - pd0) / sizeof(struct page_desc)];
}

/* page descriptor of the page holding arena offset off (off < size) */
static inline struct page_desc *pd_of_off(const struct arena *a, aoff_t off)
{
	return &a->pd[off >> PAGE_SHIFT];
}

static inline aoff_t pfn_off(uint32_t pfn)
{
	return (aoff_t)pfn << PAGE_SHIFT;
}

/* ---- the current CPU ----------------------------------------------------
 * glibc registers rseq for every thread; the kernel keeps rseq.cpu_id
 * current.  Reading it is one load.  Where rseq is not registered (an old
 * kernel, valgrind, GLIBC_TUNABLES=glibc.pthread.rseq=0), a per-thread value
 * from sched_getcpu() refreshed every 64 calls stands in.  Correctness never
 * depends on the CPU being current: every per-CPU change is a locked CAS or
 * happens under the CPU's lock.  A stale CPU only costs sharing.
 */
extern __thread uint32_t shm_cpu_cache;
extern __thread uint32_t shm_cpu_calls;
uint32_t shm_cpu_slow(void);

static inline uint32_t shm_current_cpu(void)
{
#if defined(__x86_64__)
	/* one %fs-relative load: no dependent load of the thread pointer first */
	int32_t cpu;

	__asm__ __volatile__("movl %%fs:%c1(%2), %0"
			     : "=r"(cpu)
			     : "i"(offsetof(struct rseq, cpu_id)), "r"(__rseq_offset));
	if (likely(cpu >= 0))
		return (uint32_t)cpu;
#elif defined(__aarch64__)
	const struct rseq *rs = (const struct rseq *)
		((char *)__builtin_thread_pointer() + __rseq_offset);
	int32_t cpu = (int32_t)atomic_load_relaxed(&rs->cpu_id);

	if (likely(cpu >= 0))
		return (uint32_t)cpu;
#endif
	if (likely((++shm_cpu_calls & 63) != 0))
		return shm_cpu_cache;
	return shm_cpu_slow();
}

/* ---- shm/os.c: the only file that talks to the kernel about memory ------ */

int os_memfd(const char *name, bool huge, int *fd, bool *sealable);
int os_seal_size(int fd);
int os_create_file(const char *path, int *fd);
int os_truncate(int fd, uint64_t size);
int os_file_size(int fd, uint64_t *size);
void *os_map(int fd, uint64_t size, uintptr_t want, int *err);
void os_unmap(void *p, uint64_t size);
void os_advise_hugepage(void *p, uint64_t size);
int os_fallocate(int fd, uint64_t off, uint64_t len);
int os_punch(int fd, void *addr, uint64_t off, uint64_t len);
bool os_is_hugetlbfs(int fd);
void os_backing_desc(int fd, char *out, size_t len);
unsigned int os_nr_cpus(void);
unsigned int os_nr_nodes(void);
unsigned int os_current_node(unsigned int nr_nodes);
uint64_t os_random64(void);
uint64_t os_now_ns(void);
uint32_t os_pid(void);		/* getpid(), cached: for reports only */
void os_pid_refresh(void);	/* in a child the atfork handlers did not see */
uint64_t os_pidns(void);	/* inode of our pid namespace; 0: unknown */

/* ---- shm/ident.c: who is alive (owner ids, layout.h) ------------------- */

int ident_format(struct arena *a);	/* a new arena: every life unlocked */
int ident_open(struct arena *a);	/* map the lives: 0 or -errno */
void ident_close(struct arena *a);	/* this thread's life back; unmap when none held */
uint32_t ident_enter(struct arena *a);
/*
 * arena_self - this process's owner id in a, its thread holding a life
 * there: taken on the thread's first call, so before any shared lock
 * (shm_lock_acquire calls it).  Never 0; OWNER_UNKNOWN when the arena's
 * slots or lives are exhausted.  One thread-local compare after the first.
 */
struct ident_map;
extern __thread struct ident_map *ident_tl_last;
extern const volatile uint32_t *ident_fork_token;	/* 0 in a child no atfork handler saw */
extern __thread bool ident_tl_broken;	/* this thread may take no shared lock */
uint32_t ident_self_of(const struct ident_map *m);
static inline uint32_t arena_self(struct arena *a)
{
	if (likely(ident_tl_last == a->im && *ident_fork_token))
		return ident_self_of(a->im);
	return ident_enter(a);
}
/* does the process of owner id live?  (no system call; O(NR_LIVES)) */
bool ident_alive(struct arena *a, uint32_t id);
/*
 * ident_snapshot - one walk of the lives: gens[slot] = the generation a live
 * life names there, else 0.  A process found there was alive; one not found
 * may have joined since (or be between two threads): ask ident_alive.
 */
void ident_snapshot(struct arena *a, uint32_t gens[NR_PROC_SLOTS]);
/* does a live thread that entered a hold the thread id tid (its own namespace's)? */
bool ident_tid_alive(struct arena *a, uint32_t tid);
/*
 * ident_slot_pid - the pid id's process had, as its own pid namespace saw it
 * (0: unknown, or its slot claimed again since); *foreign: that namespace
 * is not ours.  ident_pid - the same as this process sees it: 0 if foreign.
 */
uint32_t ident_slot_pid(struct arena *a, uint32_t id, bool *foreign);
uint32_t ident_pid(struct arena *a, uint32_t id);
/* the id of the live process pid (this process's pid namespace); 0: none */
uint32_t ident_of_pid(struct arena *a, uint32_t pid);
/* the pid (as its own namespace saw it) of the live thread tid's process; 0: none known */
uint32_t ident_tid_pid(struct arena *a, uint32_t tid);

/* ---- shm/report.c: the report ring --------------------------------------- */

void slab_report(struct arena *a, struct kmem_cache *s, enum slab_error kind, aoff_t obj,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* a report's callback waits until the thread holds no shared lock (lock.c calls it) */
void slab_report_flush(void);
bool cache_name_ok(const struct kmem_cache *s);	/* NUL-terminated, of name_ok's bytes */
/* s's name for a message: at most SLUB_NAME_MAX bytes, others shown as '?' */
const char *cache_name_safe(const struct kmem_cache *s, char buf[SLUB_NAME_MAX + 1]);

/* ---- shm/meta.c: checked lookups ------------------------------------------ */
/*
 * The bytes of a descriptor: an object of the kmem_cache cache holds only the
 * first nr_nodes entries of node[] (KMEM_CACHE_SIZE).  A range check against
 * sizeof(struct kmem_cache), which counts SLUB_MAX_NODES of them, failed a
 * live descriptor in the last object of the arena's last page.
 */
static inline uint64_t desc_bytes(const struct arena *a)
{
	return KMEM_CACHE_SIZE(a->nr_nodes);
}
struct kmem_cache *cache_of_off(struct arena *a, aoff_t off);	/* checked */
/*
 * cache_unusable - s is no live cache: destroyed (in quarantine), or not a
 * descriptor at all.  Slow paths only: the fast paths of a destroyed cache
 * fall through to them, since destroy empties every cpu freelist.  Reports
 * (SLAB_ERR_DESTROYED) and sets errno EINVAL when true.
 */
bool cache_unusable(struct arena *a, struct kmem_cache *s, aoff_t obj);
/*
 * cache_check - is the descriptor s (cache_of_off() passed) fit to be
 * walked: CPU and node counts, the per-CPU array in a per-CPU block, each
 * node descriptor an object of the kmem_cache_node cache, and a geometry
 * that keeps every object, free pointer and owner record inside its slab.
 * 0, or a SLAB_ERR_* kind with the reason in why.  Slow paths only.
 */
int cache_check(struct arena *a, const struct kmem_cache *s, char *why, size_t len);
/* arena_offset, arena_ptr: shm.h (the public API) */

/* ---- shm/lock.c ------------------------------------------------------- */

/* a robust mutex's word: the kernel's robust-futex ABI (lock.c, ident.c) */
#define FUTEX_TID_BITS	0x3fffffffu	/* the owner's thread id, its own namespace's */
#define FUTEX_DIED_BIT	0x40000000u	/* FUTEX_OWNER_DIED: the kernel saw it die */
#define FUTEX_WAIT_BIT	0x80000000u	/* FUTEX_WAITERS */
int shm_robust_mutex_init(pthread_mutex_t *m);	/* process-shared, robust: 0 or -errno */
int shm_lock_init(struct shm_lock *l);
/*
 * shm_lock_acquire - lock; when the previous owner died holding it, call
 * repair(arg) while holding it, then mark it consistent.  0, or -errno with
 * the lock not held (EDEADLK, EINVAL, ENOTRECOVERABLE: a scribbled lock, or
 * one whose repair could not be made to hold): the caller must not enter
 * what the lock protects, and says which lock failed (lock_failed).
 */
int shm_lock_acquire(struct arena *a, struct shm_lock *l, void (*repair)(void *arg), void *arg)
	must_check;
void shm_lock_release(struct shm_lock *l);
/*
 * shm_defer - run fn(a, arg) when this thread releases its last shared lock
 * (a punch: no system call under a lock).  Only while a lock is held, and
 * only when shm_defer_room() says the bounded queue has room.
 */
#define SHM_DEFER_MAX 8
bool shm_defer_room(void);
void shm_defer(void (*fn)(struct arena *a, uint32_t arg), struct arena *a, uint32_t arg);
extern __thread int shm_lock_depth;	/* shared locks this thread holds */
/*
 * System calls made while holding a shared lock, counted where the engine
 * makes one (ident.c's, and a report's callback, which may print): the
 * tests hold it at 0.  shm_syscall_note() before each such call.
 */
extern __thread unsigned long shm_locked_syscalls;
static inline void shm_syscall_note(void)
{
	if (unlikely(shm_lock_depth > 0))
		shm_locked_syscalls++;
}
/*
 * Page descriptors visited by the page walks of the repairs after a dead
 * lock holder (node_unlist, debug_step_repair, zone_repair), which hold the
 * lock: the tests read it to see that a walk steps over whole blocks.
 */
extern __thread uint64_t shm_repair_walk_steps;
/* page descriptors visited by the statistics (stats.c): tests */
extern __thread uint64_t shm_stats_walk_steps;
/* stats.c: the four slab figures by a walk of every page (the tests' and bench's reference) */
int slab_cache_info_walk(struct arena *a, struct kmem_cache *const *caches, unsigned int n,
			 struct slab_cache_info *out);

/*
 * repair_walk_next - the page after pfn's block, for the repairs' page walks
 * (node_unlist, debug_step_repair), which hold a node's list_lock and not
 * the zone lock: a head whose order fits moves the walk by its block (a free
 * 4 MiB block is one step), anything else by one page.  What those walks
 * look for is a slab of the node's cache that some list names or that
 * carries a debug step, and such a slab stays allocated, its head a head,
 * for as long as the node's lock is held (it is taken off the node's lists,
 * or put back by a scrub, under that lock before anything frees it).  The
 * range another head's order gives - read after its flags with acquire,
 * blocks being split and merged meanwhile by the zone lock's holder - is,
 * at the instant it is read, that head's block or a merge of free blocks:
 * never one holding such a slab, which is disjoint from every other block
 * and was made (split off, then listed under this lock) before the lock was
 * taken.  A scribbled order can hide a slab from the walk (validate reports
 * the scribble); the walk stays in the arena and ends in at most one step
 * per page.
 */
static inline uint32_t repair_walk_next(const struct arena *a, uint32_t pfn)
{
	const struct page_desc *pd = pd_of_pfn(a, pfn);
	uint16_t flags = atomic_load_acquire(&pd->flags);
	unsigned int order = pd->order;

	shm_repair_walk_steps++;
	if (!(flags & PG_HEAD) || order > BUDDY_MAX_ORDER || (pfn & ((1u << order) - 1)) ||
	    (uint64_t)pfn + (1u << order) > a->nr_pages)
		order = 0;
	return pfn + (1u << order);
}
/*
 * Timed attempts (slubd's request worker, lock.c): with shm_lock_timed set,
 * contended attempts may wait shm_lock_budget_ns in all, then give up with
 * -ETIMEDOUT (unset: wait as long as it takes); shm_lock_busy then says which lock
 * (named by lock_failed through shm_lock_note_busy) and its holder.  A held
 * lock is not a broken one: it is not reported as corruption.
 */
struct shm_lock_busy {
	bool busy;		/* an attempt gave up since the caller cleared it */
	uint32_t tid;		/* the thread id the lock word named */
	uint32_t pid;		/* its process's pid (ident.c); 0: unknown */
	char lock[48];		/* the lock's name */
};
extern __thread bool shm_lock_timed;
extern __thread uint64_t shm_lock_budget_ns;
extern __thread struct shm_lock_busy shm_lock_busy;
void shm_lock_note_busy(const char *name);
void shm_hook(enum shm_hook where);
/* a scrub's locked step, taken at t0 (before the lock), just ended (after the unlock) */
void scrub_hold_note(uint64_t t0, uint64_t *max_hold_ns, uint64_t *steps);
/* before a scrub's locked step: a timed scrub's wait, given afresh */
void scrub_step_arm(void);
extern __thread uint64_t scrub_wait_ns;	/* a timed scrub's wait per step; 0: untimed */
/*
 * lock_failed - report (SLAB_ERR_LOCK) that a lock of s (NULL: one of the
 * arena's) could not be taken: shm_lock_acquire said rc; fmt names the lock.
 */
void lock_failed(struct arena *a, struct kmem_cache *s, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* ---- shm/list.c: circular lists of arena offsets ------------------------ */

void olist_init(struct arena *a, struct olist *head);
bool olist_empty(struct arena *a, const struct olist *head);
void olist_add(struct arena *a, struct olist *head, struct olist *n);	/* at the head */
void olist_add_tail(struct arena *a, struct olist *head, struct olist *n);
void olist_del(struct arena *a, struct olist *n);
/* next node after n, or NULL at the end or on a link that leaves the arena */
struct olist *olist_next(struct arena *a, struct olist *head, struct olist *n);
/*
 * olist_repair - after a death mid-update: walk the forward links from
 * head, cutting the list at the first link that is not a valid node (valid()
 * says, or NULL to accept any in-arena node) or that loops; rewrite every
 * back link.  Returns the number of nodes on the list.
 */
uint64_t olist_repair(struct arena *a, struct olist *head,
		      bool (*valid)(struct arena *a, aoff_t node, void *arg), void *arg,
		      uint64_t max);

/* ---- shm/arena.c ------------------------------------------------------ */

uint64_t arena_min_pages_for(uint64_t size);

/* ---- shm/buddy.c ------------------------------------------------------ */

void buddy_init(struct arena *a);
/* the block's head pfn, or -errno; block flags set to flags (PG_SLAB ...) */
int buddy_alloc(struct arena *a, unsigned int order, uint16_t flags, uint32_t *pfn);
/*
 * buddy_alloc_slab - a block for a slab of s on node holding objects
 * objects: checked against s's caps (-EDQUOT) and counted for s in one
 * locked step (struct acct_log).  It comes back PG_HEAD | PG_TRANSIT, ours
 * (pd.owner), pd.cache and pd.node set; the caller publishes it by setting
 * PG_HEAD | PG_SLAB, or gives it back with buddy_free (which uncounts it).
 * -ENOMEM: no block; -EINVAL: s names no node descriptor.
 */
int buddy_alloc_slab(struct arena *a, struct kmem_cache *s, unsigned int node, unsigned int order,
		     unsigned int objects, uint32_t *pfn);
/*
 * buddy_acct_check - s's slab counts against the blocks that name s,
 * counted under the zone lock, where both are exact.  0, or -EUCLEAN with
 * the first difference in err.
 */
int buddy_acct_check(struct arena *a, struct kmem_cache *s, char *err, size_t errlen);
/* give a block back; a slab's block (pd.cache set) is uncounted first */
void buddy_free(struct arena *a, uint32_t pfn);
/* buddy_scrub - transit blocks of dead processes back; each zone lock hold one
 * check (its bound, upper, and the count of holds added to max_hold_ns, steps) */
int buddy_scrub(struct arena *a, uint64_t *returned, uint64_t *max_hold_ns, uint64_t *steps);

/* ---- shm/slab_acct.c: slab counts and caps (the zone lock held) ----------- */

/* the node descriptor a count of s on node goes to, or NULL if s cannot say */
struct kmem_cache_node *acct_node(struct arena *a, struct kmem_cache *s, unsigned int node);
/* count (dir +1) or uncount (-1) the block pd for s on node n, logged in l */
void acct_step(struct arena *a, struct acct_log *l, struct page_desc *pd, struct kmem_cache *s,
	       struct kmem_cache_node *n, unsigned int node, int dir, uint32_t objects);
/* the zone lock's owner died: finish or undo the count step logged in l */
void acct_finish(struct arena *a, struct acct_log *l);
/* may s take a slab of 2^order pages and objects objects within its caps? */
bool acct_cap_ok(struct arena *a, struct kmem_cache *s, unsigned int order, unsigned int objects);

/* ---- shm/cache_list.c: the list of caches, slab_mutex, ids, refcounts ----- */

/* 0, or -errno: slab_mutex cannot be taken (reported), the caller fails */
int slab_mutex_lock(struct arena *a) must_check;
void slab_mutex_unlock(struct arena *a);
/* slab_mutex held: */
void id_free_locked(struct arena *a, uint32_t id);
struct kmem_cache *find_locked(struct arena *a, const char *name);
/* link a set-up cache, giving it an id: 0, or -ENOSPC */
int link_locked(struct arena *a, struct kmem_cache *s, int32_t refcount, uint32_t state);
/* the cache whose list node is l, or NULL (cache_of_off) */
struct kmem_cache *cache_of_list(struct arena *a, struct olist *l);
#define LIST_WALK_MAX (2 * SLUB_MAX_CACHES)	/* a reader's bound on the cache list */
bool seen_before(const aoff_t *seen, unsigned int n, aoff_t off);

/* ---- shm/geom.c: each process's checked copy of each cache's geometry ------
 *
 * A cache descriptor (struct kmem_cache) lies in the arena, where any
 * attached process can write it.  Its geometry (sizes, offsets, the per-CPU
 * array, the node descriptors, the hardening key, flags, id) never changes
 * after the cache is made, so each process copies it once, checks the copy
 * whole (cache_check: every offset in the arena, of the right kind of page,
 * every object inside its slab), and from then on its alloc and free paths
 * read only the copy: a later scribble on the descriptor cannot reach them.
 * The copy is a struct kmem_cache too, so the engine's functions take either;
 * the fields that do change (refcount, state, errors, caps and charges, list,
 * kept) are read and written in the shared descriptor, cache_shared().
 *
 * The handle libslub gives its users is the copy itself, pinned
 * (slab_cache_pin: never freed while held); its alloc and free look nothing
 * up (slab_alloc_pinned, slab_free_pinned).  A shared descriptor's address
 * is a handle too (the shm/ API, slubd, kfree): lookup by it goes through
 * a direct-mapped table of GEOM_FRONT slots, then by cache id, then a new
 * copy.  A copy is made when the process opens a pool (slab_cache_open,
 * slab_cache_at), or at its first use (kfree of an object of a pool it never
 * opened); it is dropped when the pool is found destroyed, and replaced when
 * the descriptor turns out to be another incarnation (a pool made since at
 * the same address: another hardening key, os_random64() for each).  The
 * tables' rules are at the top of geom.c.
 *
 * What it promises.  A scribble on a descriptor cannot make the alloc and
 * free paths of a process that opened the pool before it fault; nor, while
 * every process using the pool opened it before the scribble, hand out an
 * object twice: they read only the copy, and from the descriptor only state
 * (a scribbled state reads as a destroyed pool: EINVAL, reported), caps and
 * charges (EDQUOT, or no cap) and the error counters they add to.  A process
 * that first copies a scribbled descriptor (it opens the pool after the
 * scribble, or kfrees into a pool it never opened) is refused it when the
 * geometry is inconsistent (cache_check, reported); a scribble that is itself
 * a consistent geometry (another pool's per-CPU array or nodes, another size
 * or key) cannot be told from the pool's own and may give that process
 * objects that overlap others'.  Scribbles on what
 * the paths read besides (CPU freelists, page descriptors, free pointers)
 * are checked against the arena and the slab before they are followed: no
 * fault, but a forged link to an object in use can hand it out again.
 */
struct cache_geom {
	struct kmem_cache k;		/* the copy; k.self: the shared descriptor's offset */
	const struct kmem_cache *shared;	/* the handle this copy answers */
	aoff_t obj_limit;		/* arena size - k.size: an object offset must be below */
	bool opened;			/* this process opened the pool (holds a reference) */
	/* threads inside a slow path on this copy (geom_pin), plus GEOM_ORPHAN
	 * once it has left the retired ring: whoever takes the last of the two
	 * away frees it (geom.c) */
	uint32_t refs;
	uint64_t retired_ns;		/* when it was dropped (CLOCK_MONOTONIC) */
	struct cache_geom *aging;	/* next on the arena's geom_aging stack */
};
#define GEOM_ORPHAN	0x80000000u
_Static_assert(offsetof(struct cache_geom, k) == 0, "a copy's address is its geometry's");
#define CACHE_SYSTEM 0x100	/* kmem_cache.state: boot and kmalloc caches, never destroyed */

/* NULL, reported (about object obj, 0: none) and errno set (EINVAL: no
 * live, consistent cache; ENOMEM) */
struct kmem_cache *geom_lookup(struct arena *a, struct kmem_cache *s, aoff_t obj);
static inline unsigned int geom_slot(const void *s)
{
	/* the line index: descriptors (320 bytes and more) never share one; two
	 * a multiple of 256 KiB apart share a slot, and cost each other a lookup
	 * by id (geom_find) while both are used */
	return (unsigned int)((uintptr_t)s >> 6) & (GEOM_FRONT - 1);
}
/* the copy for handle s if the front table has it, else NULL (no call: the
 * fast paths stay leaves, see slub.c) */
static inline struct kmem_cache *geom_front(struct arena *a, struct kmem_cache *s)
{
	struct cache_geom *g = __atomic_load_n(&a->geom_front[geom_slot(s)], __ATOMIC_ACQUIRE);

	return likely(g && g->shared == s) ? &g->k : NULL;
}
/* the fast paths' bound on an object offset read from shared memory (s: a copy) */
static inline aoff_t geom_obj_limit(const struct kmem_cache *s)
{
	return ((const struct cache_geom *)s)->obj_limit;
}
/* is s a private copy (not inside the arena)? */
static inline bool cache_is_copy(const struct arena *a, const struct kmem_cache *s)
{
	return (uintptr_t)s - (uintptr_t)a->base >= a->size;
}
/* the checked copy for handle s (s: a shared descriptor's address); obj:
 * the object concerned, for a report */
static inline struct kmem_cache *cache_geom_obj(struct arena *a, struct kmem_cache *s, aoff_t obj)
{
	struct kmem_cache *k;

	if (s && cache_is_copy(a, s))
		return s;	/* a private handle (slab_cache_pin): the copy itself */
	k = geom_front(a, s);

	return likely(k) ? k : geom_lookup(a, s, obj);
}
static inline struct kmem_cache *cache_geom(struct arena *a, struct kmem_cache *s)
{
	return cache_geom_obj(a, s, 0);
}
/* the shared descriptor of s (a copy, or already the shared one) */
static inline struct kmem_cache *cache_shared(struct arena *a, struct kmem_cache *s)
{
	return cache_is_copy(a, s) ? (struct kmem_cache *)arena_at(a, s->self) : s;
}
/*
 * geom_pin, geom_unpin - around a path that can stay long on the copy s (a
 * lock wait, the ctor, fallocate, a bulk call): a copy dropped meanwhile is
 * not freed before geom_unpin, however many copies are dropped after it.
 * s that is no copy (a shared descriptor): nothing.
 */
void geom_pin(struct arena *a, struct kmem_cache *s);
void geom_unpin(struct arena *a, struct kmem_cache *s);
/*
 * geom_disown - the last reference to s is being given up (a destroy): this
 * process's copy no longer holds a reference, so geom_fresh checks it
 * against the descriptor's key like any other.  Without it, a pool made
 * later on s's descriptor, opened here, kept the destroyed pool's geometry
 * (per-CPU array, nodes, key) whenever the destroying thread had not yet
 * forgotten its copy: t_slub's geom_tables_threads.
 */
void geom_disown(struct arena *a, const struct kmem_cache *s);
/* forget this process's copy of the cache s (a copy or a handle): destroyed */
void geom_forget(struct arena *a, const struct kmem_cache *s);
/*
 * geom_fresh - cache_geom, for a handle that may name a pool made since this
 * process copied another one at the same address (kfree, ksize, shrink, give,
 * owner, opening a pool).  A copy of a pool this process opened (open: it
 * opens it now) is its own as long as the process holds its reference: used
 * as it is, whatever the descriptor says now.  Any other copy (made for a
 * kfree of an object of a pool never opened here) is checked against the
 * descriptor's key (one shared read) and made again if it is of another
 * incarnation; so a scribbled key can steer only processes that never opened
 * the pool.
 */
struct kmem_cache *geom_fresh(struct arena *a, struct kmem_cache *s, bool open);
void geom_free_all(struct arena *a);	/* arena_close */

/* ---- shm/kmalloc_debug.c: the kmalloc caches' names, sizes, debug flags -- */

/* the debug flags slab_bootstrap gives kmalloc cache i */
unsigned long slab_debug_kmalloc_flags(int i);
/* kmalloc cache i's name (NULL for 0) and size, by kmalloc index */
extern const char *const kmalloc_names[NR_KMALLOC];
size_t kmalloc_size(int index);

/* ---- shm/slab.c: node lists, making and discarding slabs --------------- */

struct kmem_cache_node *cache_node(struct arena *a, struct kmem_cache *s, unsigned int node);
/* discard_empty: the slabs freed, or the first -errno of a node lock not
 * taken (that node is skipped, reported) */
int discard_empty(struct arena *a, struct kmem_cache *s);
/* node_lock: 0, or -errno reported (lock_failed) and not held */
int node_lock(struct arena *a, struct kmem_cache *s, struct kmem_cache_node *n) must_check;
void node_unlock(struct kmem_cache_node *n);
void node_repair_locked(struct arena *a, struct kmem_cache *s, struct kmem_cache_node *n);
/* with n locked: link pd on n's partial list (at its tail if tail), unlink it */
void add_partial(struct arena *a, struct kmem_cache_node *n, struct page_desc *pd, bool tail);
void remove_partial(struct arena *a, struct kmem_cache_node *n, struct page_desc *pd);
/* with n locked: link pd on n's full list (debug caches only), unlink it */
void add_full(struct arena *a, struct kmem_cache_node *n, struct page_desc *pd);
void remove_full(struct arena *a, struct kmem_cache_node *n, struct page_desc *pd);
/* slab_new: frozen, owned by this process; slab_new_for_debug: not frozen.
 * NULL with errno set.  No lock held (the ctor and fallocate may run). */
struct page_desc *slab_new(struct arena *a, struct kmem_cache *s, unsigned int node);
struct page_desc *slab_new_for_debug(struct arena *a, struct kmem_cache *s, unsigned int node);
void slab_discard(struct arena *a, struct page_desc *pd);	/* empty, ours, on no list */

/* ---- shm/slub.c: per-CPU layer, fast paths ------------------------------- */

struct kmem_cache_cpu *cache_cpu(struct arena *a, struct kmem_cache *s, unsigned int cpu);
/* flush_all_cpus: 0, or the first -errno of a lock not taken (what it
 * guards is skipped, reported) */
int flush_all_cpus(struct arena *a, struct kmem_cache *s);
/* cpu_lock_for_walk: 0, or -errno reported (lock_failed) and not held */
int cpu_lock_for_walk(struct arena *a, struct kmem_cache *s, unsigned int cpu) must_check;

/* ---- shm/slub_debug.c: the debug caches' locked paths, owners ----------- */

/*
 * debug_free_locked - free off, an object of slab pd (checked), with pd's
 * node n locked.  Returns true when pd became empty and was taken off its
 * list: the caller discards it once the lock is released.
 */
bool debug_free_locked(struct arena *a, struct kmem_cache *s, struct page_desc *pd,
		       struct kmem_cache_node *n, aoff_t off, void *caller);
#define TRACK_LEAK_SEEN 0x80000000u	/* in slab_track[0].cpu: dead owner reported */
struct slab_track *alloc_track(struct kmem_cache *s, void *obj);	/* obj's alloc track */
/*
 * in_slab - x is an object of the slab whose head is pd: at an object
 * boundary, below the slab's objects, inside its pages and the arena
 */
bool in_slab(struct arena *a, const struct kmem_cache *s, struct page_desc *pd, aoff_t x);
/* can the slab (a PG_SLAB head of s) be walked: NULL, or what is wrong (in buf) */
const char *slab_shape(struct arena *a, const struct kmem_cache *s, const struct page_desc *pd,
		       char *buf, size_t len);
void debug_step_repair(struct arena *a, struct kmem_cache *s, struct kmem_cache_node *n);

/* ---- shm/slub_cache.c: geometry, bootstrap, create, destroy -------------- */

void slab_bootstrap(struct arena *a);	/* kmem_cache_init */
int cache_setup(struct arena *a, struct kmem_cache *s, const char *name, size_t size,
		size_t align, unsigned long flags, bool has_ctor);
void cache_release_pages(struct arena *a, struct kmem_cache *s);

/* ---- kmalloc's size word (inline: debug_obj.c and kmalloc.c read it) ----- */

/*
 * A kmalloc cache with SLAB_KMALLOC and SLAB_RED_ZONE keeps each object's
 * requested size in one word of its slot, after the free pointer and the
 * owner records (calculate_sizes), and the bytes between it and object_size
 * are red zone (RED_ACTIVE) while the object is allocated.
 */
static inline bool kmalloc_orig_tracked(const struct kmem_cache *s)
{
	return (s->flags & (SLAB_KMALLOC | SLAB_RED_ZONE)) == (SLAB_KMALLOC | SLAB_RED_ZONE);
}
static inline uint32_t kmalloc_orig_off(const struct kmem_cache *s)
{
	return (s->flags & SLAB_STORE_USER) ? s->track_off + 2 * (uint32_t)sizeof(struct slab_track) :
					  s->offset + 8u;
}
/* the requested size of obj (allocated), within object_size whatever the word says */
static inline uint32_t kmalloc_orig_size(const struct kmem_cache *s, const char *obj)
{
	uint64_t v = __atomic_load_n((const uint64_t *)(obj + kmalloc_orig_off(s)),
				     __ATOMIC_ACQUIRE);

	return v < s->object_size ? (uint32_t)v : s->object_size;
}

/* ---- shm/debug_obj.c: one object's red zones, poison and tracks ---------- */

#define RED_INACTIVE	0xbb	/* the red zone of a free object */
#define RED_ACTIVE	0xcc	/* of an allocated one */
#define POISON_FREE	0x6b	/* a free object's bytes (SLAB_POISON) */
#define POISON_END	0xa5	/* and its last byte */
/* a free object's bytes (active: false) or an allocated one's (true) */
void debug_init_object(struct kmem_cache *s, char *obj, bool active);
/* alloc and free checks of obj: false, reported, when obj must not be handed out / freed */
bool debug_alloc_check(struct arena *a, struct kmem_cache *s, char *obj, void *caller);
bool debug_free_check(struct arena *a, struct kmem_cache *s, char *obj, void *caller);
/* kmalloc's size for obj: the bytes past it red-zoned */
void kmalloc_set_orig(struct kmem_cache *s, char *obj, size_t size);
bool debug_poisoned(const struct kmem_cache *s);	/* free objects carry poison */
bool debug_poison_ok(const struct kmem_cache *s, const char *obj);
/* obj's red zones all v (RED_ACTIVE: kmalloc's slack past its size too) */
bool debug_redzone_ok(const struct kmem_cache *s, const char *obj, int v);
/* how many bytes the user of obj asked for (kmalloc's size, else the object's) */
uint32_t debug_asked_size(const struct kmem_cache *s, const char *obj);
/* record the caller in obj's alloc (which 0) or free (1) track (SLAB_STORE_USER) */
void debug_track(struct arena *a, struct kmem_cache *s, char *obj, int which, void *caller);
/* " (last alloc pid ..., last free pid ...)" for a message, or "" */
const char *debug_owner_text(struct arena *a, struct kmem_cache *s, const char *obj, char *buf,
			     size_t len);

/* ---- shm/validate.c: walking a cache, validate ---------------------------- */

/* where a walk found each slab of the cache (struct walk.where, per pfn) */
enum where { W_NONE = 0, W_NODE, W_FULL, W_CPU, W_CPU_PARTIAL };

struct walk {
	struct arena *a;
	struct kmem_cache *s;
	uint8_t *where;			/* per pfn */
	uint16_t *cpu_of;		/* per pfn, for W_CPU */
	struct slab_validate_result *r;
	bool report;			/* validate: each error also goes out as a report */
	uint8_t *seen;			/* per object of the slab being checked */
};

int walk_init(struct walk *w, struct arena *a, struct kmem_cache *s,
	      struct slab_validate_result *r, bool report);
void walk_fini(struct walk *w);
/* an error found by the walk: counted in w->r, the first kept, reported if w->report */
void walk_err(struct walk *w, enum slab_error kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* take every cpu lock of s (ascending), then its node locks: 0, or -errno with none held */
int lock_cache(struct arena *a, struct kmem_cache *s, char *why, size_t len);
void unlock_cache(struct arena *a, struct kmem_cache *s);
bool is_slab_head(const struct page_desc *pd);		/* PG_HEAD | PG_SLAB */
/* follow slab pd's freelist from fl, marking seen[]: how many, or -1 on a bad link */
long walk_freelist(struct walk *w, struct page_desc *pd, aoff_t fl, uint8_t *seen);
/* one slab against its counters, freelist, list and (debug) bytes */
void check_slab(struct walk *w, struct page_desc *pd, uint8_t *seen);
/*
 * cache_walkable - cache_check, and with s's locks taken (and dropped),
 * that what flush_all_cpus and discard_empty follow is whole: its node
 * and cpu partial lists end, through slabs of s, its cpu slabs and the
 * heads of their freelists lie where they say.  0, or a SLAB_ERR_* kind;
 * SLAB_ERR_LOCK (errno set) when one of s's locks cannot be taken.
 */
int cache_walkable(struct arena *a, struct kmem_cache *s, char *why, size_t len);
/* the list of caches and the header's own caches, each problem to err() */
void cache_list_check(struct arena *a, void (*err)(void *arg, enum slab_error kind, const char *msg),
		      void *arg);

/*
 * Free pointers (SLUB's CONFIG_SLAB_FREELIST_HARDENED): the link stored in a
 * free object is the next object's offset xor the cache's random key xor the
 * byte-swapped address (offset) of the slot holding it.  A distinct type, so
 * that an encoded value is never used as an offset by accident.
 */
typedef struct {
	uint64_t v;
} freeptr_t;

static inline freeptr_t freeptr_encode(const struct kmem_cache *s, aoff_t next, aoff_t slot)
{
	return (freeptr_t){ next ^ s->random ^ __builtin_bswap64(slot) };
}

static inline aoff_t freeptr_decode(const struct kmem_cache *s, freeptr_t fp, aoff_t slot)
{
	return fp.v ^ s->random ^ __builtin_bswap64(slot);
}

/* the free pointer of free object obj (an offset the caller has checked) */
static inline aoff_t get_freepointer(struct arena *a, const struct kmem_cache *s, aoff_t obj)
{
	freeptr_t fp = { *(volatile uint64_t *)arena_at(a, obj + s->offset) };

	return freeptr_decode(s, fp, obj + s->offset);
}

static inline void set_freepointer(struct arena *a, const struct kmem_cache *s, aoff_t obj,
				   aoff_t next)
{
	*(uint64_t *)arena_at(a, obj + s->offset) = freeptr_encode(s, next, obj + s->offset).v;
}

/* the smallest order whose block holds size bytes */
static inline unsigned int get_order(uint64_t size)
{
	unsigned int order = 0;

	while (order < 63 - PAGE_SHIFT && (PAGE_SIZE << order) < size)
		order++;
	return order;
}

/* the 1-based index of x's highest set bit; 0 for 0 */
static inline unsigned int fls32(unsigned int x)
{
	return x ? 32 - (unsigned int)__builtin_clz(x) : 0;
}

/* kmem_cache.oo / min / max: order << 16 | objects per slab */
static inline unsigned int oo_order(uint32_t oo) { return oo >> 16; }
static inline unsigned int oo_objects(uint32_t oo) { return oo & 0xffff; }

/* a slab's first byte; its object count (slab.c, slub.c) */
static inline aoff_t slab_start(uint32_t pfn) { return pfn_off(pfn); }

static inline uint32_t slab_objects(const struct page_desc *pd)
{
	return CNT_OBJECTS(atomic_load_relaxed(&pd->slab.hi));
}

/* the node a slab belongs to (a bad node number in the page counts as node 0) */
static inline struct kmem_cache_node *slab_node(struct arena *a, struct kmem_cache *s,
						const struct page_desc *pd)
{
	return cache_node(a, s, pd->node < s->nr_nodes ? pd->node : 0);
}

#endif /* SHM_INTERNAL_H */
