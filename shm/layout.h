/*
 * layout.h - every structure that lives in the arena.
 *
 * Glossary
 *   arena   one shared mapping: a header, the page descriptors, then pages.
 *           Every process maps it, at ARENA_DEFAULT_BASE where it can.
 *   offset  (aoff_t) a byte offset from the arena's base.  Arena-resident
 *           structures hold offsets, never pointers, so the allocator works
 *           wherever a process mapped the arena.  0 means "none".
 *   pfn     a page's index: offset >> PAGE_SHIFT.
 *   page    4 KiB; described by a struct page_desc in the descriptor array.
 *   block   2^order pages handed out by the buddy allocator, aligned to its
 *           size (in offsets).  Its first page is the head.
 *   chunk   2 MiB (a huge page): the unit in which memory is given back to,
 *           and taken again from, the host.
 *   slab    a block that holds objects of one cache.
 *   cache   struct kmem_cache: objects of one size and its slabs.
 *   cpu slab       the slab whose free objects sit on a CPU's lockless
 *                  freelist (struct kmem_cache_cpu).
 *   cpu partial    slabs with free objects queued for one CPU.
 *   node partial   slabs with free objects shared by all CPUs of a node
 *                  (struct kmem_cache_node).
 *
 * The layout of every structure is pinned by _Static_assert: changing any of
 * them changes ARENA_LAYOUT_VERSION.
 */
#ifndef SHM_LAYOUT_H
#define SHM_LAYOUT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "atomic.h"
#include "shm.h"

#define ARENA_MAGIC		0x414e455241425553ULL	/* "SUBARENA" little-endian */
#define ARENA_LAYOUT_VERSION	4u
#if defined(__x86_64__)
#define ARENA_ARCH		1u
#elif defined(__aarch64__)
#define ARENA_ARCH		2u
#else
#define ARENA_ARCH		0u
#endif

#define PAGE_SHIFT		12
#define PAGE_SIZE		(1UL << PAGE_SHIFT)
#define CHUNK_ORDER		9			/* 2 MiB */
#define CHUNK_SIZE		(PAGE_SIZE << CHUNK_ORDER)
#define BLOCK_MAX_SIZE		(PAGE_SIZE << BUDDY_MAX_ORDER)	/* 4 MiB */
#define ARENA_HDR_SIZE		(64UL << 10)		/* header region, pages 0..15 */
#define IDENT_OFF		ARENA_HDR_SIZE		/* process slots, then thread lives */
#define NR_PROC_SLOTS		1024
#define NR_LIVES		16384
#define IDENT_SIZE		((NR_PROC_SLOTS + NR_LIVES) * 64UL)	/* 1088 KiB */
#define IDENT_MAP_SIZE		(2UL << 20)		/* the first chunk: holds the ident region */
#define CACHE_LINE		64

#define SLUB_MAX_NODES		64
#define SLUB_MAX_CPUS		1024
#define SLUB_MAX_SLAB_ORDER	3			/* slub_max_order (PAGE_ALLOC_COSTLY_ORDER) */
#define SLUB_MIN_SLAB_ORDER	0			/* slub_min_order */
#define MAX_OBJS_PER_SLAB	32767			/* counters hold 16 bits; keep one spare */
#define KMALLOC_SHIFT_LOW	3
#define KMALLOC_SHIFT_HIGH	13
#define NR_KMALLOC		(KMALLOC_SHIFT_HIGH + 1)	/* indexes 1 .. 13 */
#define REPORT_RING		64

/*
 * A lock in the arena: a process-shared, robust pthread mutex, padded to a
 * cache line.  When its owner dies, the next locker gets EOWNERDEAD and must
 * repair what the lock protects before marking it consistent (shm/lock.c).
 */
struct shm_lock {
	union {
		pthread_mutex_t m;
		char pad[CACHE_LINE];
	};
} __attribute__((aligned(CACHE_LINE)));
_Static_assert(sizeof(pthread_mutex_t) <= CACHE_LINE, "mutex fits a line");

/* A node of a circular doubly linked list of arena offsets. */
struct olist {
	aoff_t next;
	aoff_t prev;
};

/*
 * struct page_desc - one per page of the arena, apart from the pages.
 *
 * Invariants (B = a buddy block, S = a slab):
 *   for every page p of a block with head h:  pd[p].head == h
 *   pd[h].flags & PG_FREE   <=> B is on free list pd[h].order of the zone
 *   S frozen               <=> S is some CPU's cpu slab, or a process holds it
 *                              in transit (counters.owner is that process)
 *   S->list == SL_NODE_PARTIAL <=> S is on its node's partial list
 *   S->list == SL_CPU_PARTIAL  <=> S is on a CPU's partial list (pd.cpu)
 *   inuse + |freelist| == objects, for an unfrozen slab (frozen: the CPU's
 *                              lockless freelist holds the difference)
 */
struct page_desc {
	/*
	 * The slab pair, changed together by one 16-byte CAS.
	 * lo: offset of the first free object of the slab (0: none).
	 * hi: counters: inuse [0,16) objects [16,32) frozen [32] owner [33,64)
	 *     (an owner id: struct proc_slot).
	 */
	atomic_pair_t slab;
	struct olist lru;	/* node partial/full list; zone free list;
				 * cpu partial list uses lru.next only */
	aoff_t cache;		/* owning kmem_cache (slab heads; set and cleared under
				 * the zone lock: see struct acct_log) */
	uint32_t head;		/* pfn of this page's block head */
	uint16_t flags;		/* PG_* */
	uint8_t order;		/* block order (heads) */
	uint8_t list;		/* SL_*: which slab list holds it (slab heads) */
	uint32_t owner;		/* owner id holding the block in transit (PG_TRANSIT) */
	uint16_t node;		/* NUMA node the slab belongs to */
	uint16_t cpu;		/* CPU of SL_CPU_PARTIAL */
	uint32_t acct_objects;	/* objects counted for cache (zone lock; see struct acct_log) */
	uint32_t debug_step;	/* debug slabs, under the node lock: the object step under
				 * way (slub_debug.c, "debug steps"); 0: none */
};
_Static_assert(sizeof(struct page_desc) == 64, "page_desc is one cache line");
_Static_assert(offsetof(struct page_desc, slab) == 0, "slab pair first, 16-aligned");

#define PG_RESERVED	0x0001	/* header or descriptor pages, never allocated */
#define PG_HEAD		0x0002	/* first page of a block */
#define PG_FREE		0x0004	/* head of a free block on a zone free list */
#define PG_SLAB		0x0008	/* block is a slab (pd.cache) */
#define PG_LARGE	0x0010	/* block is a kmalloc_large allocation */
#define PG_PERCPU	0x0020	/* block holds kmem_cache_cpu arrays */
#define PG_TRANSIT	0x0040	/* free block held by pd.owner while its chunk is punched */
#define PG_CORRUPT	0x0080	/* slab quarantined after detected corruption */
#define PG_META		0x0100	/* other allocator metadata */
#define PG_REPAIR	0x0200	/* zone_repair's mark, only while it runs */

enum slab_list { SL_NONE = 0, SL_NODE_PARTIAL, SL_CPU_PARTIAL, SL_FULL };

/* counters word */
#define CNT_INUSE(c)	((uint32_t)((c) & 0xffff))
#define CNT_OBJECTS(c)	((uint32_t)(((c) >> 16) & 0xffff))
#define CNT_FROZEN(c)	((uint32_t)(((c) >> 32) & 1))
#define CNT_OWNER(c)	((uint32_t)((c) >> 33))
#define CNT_MAKE(inuse, objects, frozen, owner) \
	((uint64_t)(inuse) | ((uint64_t)(objects) << 16) | ((uint64_t)(frozen) << 32) | \
	 ((uint64_t)(owner) << 33))

/*
 * struct free_area - a zone free list: blocks of one order.
 */
struct free_area {
	struct olist free_list;		/* page_desc.lru of free heads */
	uint64_t nr_free;		/* blocks on the list */
};

/*
 * struct acct_log - slab accounting's undo record (shm/buddy.c).
 *
 * A cache's slab counts - nr_slabs and total_objects of each node,
 * charged_objects and charged_pages of the cache - count exactly the
 * allocated block heads whose pd.cache names the cache (its slabs, and
 * blocks on their way to or from being one), pd.acct_objects objects and
 * 2^order pages each.  Counts and pd.cache change together, only under the
 * zone lock, in one step that this record describes while it runs: what the
 * counts were before, and which block.  The step's commit is the write of
 * pd.cache; a locker that finds the lock's owner dead (zone_repair) and
 * active set sets the counts to before + delta if pd.cache shows the commit,
 * else to before.  So a death anywhere in the step neither loses nor
 * doubles a slab's count.
 */
struct acct_log {
	uint32_t active;		/* 1 while a step runs */
	int32_t dir;			/* +1: block counted for cache; -1: uncounted */
	uint32_t pfn;			/* the block's head */
	uint32_t node;			/* its node */
	aoff_t cache;			/* the cache counted */
	uint64_t objects, pages;	/* the step's delta */
	uint64_t nr_slabs, total_objects;	/* the node's counts before */
	uint64_t charged_objects, charged_pages;	/* the cache's counts before */
};

/*
 * struct buddy_zone - the page allocator's state.
 *   sum over orders of nr_free[o] << o == nr_free_pages
 * lock: see shm/buddy.c; protects every field and the PG_FREE/order/lru of
 * free heads, and the slab counts (struct acct_log).
 */
struct buddy_zone {
	struct shm_lock lock;		/* lock order 4 (innermost): all below; buddy.c */
	struct free_area area[BUDDY_MAX_ORDER + 1];
	uint64_t nr_free_pages;
	uint32_t first_pfn;		/* first page the buddy manages */
	uint32_t end_pfn;		/* one past the last */
	uint64_t punches;		/* chunks given back to the host */
	struct acct_log acct;		/* the slab count step under way */
};

/*
 * struct kmem_cache_cpu - one per CPU per cache, shared by every process.
 *
 * The lockless pair {freelist, tid} is changed only by cas128: the fast
 * paths pop and push objects; the slow path (holding lock) takes the whole
 * list or installs a new one.  Every successful change moves tid on (by 1,
 * and by TID_TAKE for a take), so a process that read the pair, was preempted
 * or migrated, and comes back finds its CAS failing instead of corrupting
 * the list (the ABA guard): a value of tid comes back only after 2^62 changes.
 *
 * slab_start/slab_bytes: the cpu slab's object area, read by the free fast
 * path to decide whether an object belongs to the cpu slab.  slab_bytes == 0:
 * no cpu slab.  The slow path clears slab_bytes before it takes the freelist
 * and sets it after it installs one (see the ordering notes in slub.c).
 */
struct kmem_cache_cpu {
	/* line 0: what the fast paths touch */
	atomic_pair_t fl;		/* lo: freelist (offset of first free object), hi: tid */
	aoff_t slab_start;		/* offset of the cpu slab's first page */
	uint32_t slab_bytes;		/* its object area in bytes; 0: none */
	uint32_t slab_pfn;		/* pfn of the cpu slab (slow path only) */
	uint64_t alloc_fast;		/* ALLOC_FASTPATH, here to stay on this line */
	uint64_t free_fast;		/* FREE_FASTPATH, likewise */
	/* the rest of line 0: protected by lock */
	aoff_t partial;			/* lru offset of the first cpu partial slab */
	uint32_t partial_slabs;		/* slabs on that list */
	uint32_t intent;		/* INTENT_*: a half-done deactivation */
	/* line 1 */
	struct shm_lock lock;		/* lock order 2: slab_*, partial*, intent*; slub.c */
	/* lines 2..5: protected by lock, but the counters (relaxed, approximate) */
	uint64_t stat[NR_SLAB_STATS];	/* [ALLOC_FASTPATH], [FREE_FASTPATH] unused */
	aoff_t intent_freelist;		/* the freelist taken from fl */
	uint64_t intent_tid;		/* the tid that take leaves behind (+ TID_TAKE) */
	uint32_t intent_pfn;		/* the slab being deactivated */
	uint8_t pad1[4 * CACHE_LINE - NR_SLAB_STATS * 8 - 20];
};
_Static_assert(sizeof(struct kmem_cache_cpu) == 6 * CACHE_LINE, "kmem_cache_cpu is 6 lines");
_Static_assert(offsetof(struct kmem_cache_cpu, lock) == CACHE_LINE, "lock on its own line");
_Static_assert(offsetof(struct kmem_cache_cpu, partial) + 16 == CACHE_LINE, "fast fields in line 0");

#define INTENT_NONE		0
#define INTENT_DEACTIVATE	1	/* intent_pfn is leaving this CPU */

/*
 * TID_TAKE - what taking the whole freelist (cpu_detach_locked) adds to tid;
 * every other change adds 1.  A take's tid is one that no run of fewer than
 * 2^62 other changes reaches, so a repairer that finds {0, intent_tid} knows
 * that the take happened (see cpu_repair in slub.c).
 */
#define TID_TAKE		((1ULL << 62) + 1)

/*
 * struct kmem_cache_node - one per NUMA node per cache.
 *   nr_partial == length of partial
 *   every slab on partial has list == SL_NODE_PARTIAL and node == this node
 * list_lock protects partial, nr_partial, full and the list field of slabs
 * on them.
 */
struct kmem_cache_node {
	struct shm_lock list_lock;	/* lock order 3: the fields below; slub.c */
	uint64_t nr_partial;
	struct olist partial;		/* page_desc.lru, slabs with free objects */
	struct olist full;		/* debug caches: slabs with none free */
	uint64_t nr_full;
	uint64_t nr_slabs;		/* all slabs of this node (zone lock: acct_log) */
	uint64_t total_objects;		/* their objects (zone lock: acct_log) */
	uint8_t pad[CACHE_LINE - 64];
};
_Static_assert(sizeof(struct kmem_cache_node) == 2 * CACHE_LINE, "node is 2 lines");

/*
 * struct kmem_cache - a cache's descriptor, itself an object of the
 * "kmem_cache" cache (or, during bootstrap, a boot descriptor in the header).
 *
 *   size >= inuse >= object_size;  size % align == 0
 *   red_left_pad + object at offset k*size in the slab (k < objects)
 *   offset + 8 <= size: the free pointer lies inside the slot
 *   oo = order << 16 | objects-per-slab; min likewise for the smallest order
 *
 * Written once under slab_mutex when the cache is made; only refcount and
 * state change later (under slab_mutex), errors are atomic counters.
 */
struct kmem_cache {
	/* line 0: read by the fast paths */
	aoff_t cpu_slab;		/* kmem_cache_cpu[nr_cpus] */
	uint64_t random;		/* freelist hardening key */
	uint64_t reciprocal;		/* ceil(2^44 / size): index without division */
	uint32_t flags;			/* SLAB_* */
	uint32_t size;			/* slot stride */
	uint32_t object_size;		/* what the user asked for */
	uint32_t offset;		/* free pointer, from the object's start */
	uint32_t red_left_pad;		/* left red zone, before the object */
	uint32_t inuse;			/* metadata start: object_size aligned up */
	uint32_t nr_cpus;
	uint32_t id;			/* index into process-local ctor tables */
	aoff_t self;			/* offset of this descriptor */
	/* line 1 */
	uint32_t align;
	uint32_t oo, min, max;		/* order << 16 | objects */
	uint32_t min_partial;		/* empty slabs a node keeps */
	uint32_t cpu_partial;		/* free objects kept on a cpu partial list */
	uint32_t cpu_partial_slabs;	/* the same in slabs */
	int32_t refcount;		/* processes' references (slab_mutex) */
	uint32_t state;			/* CACHE_* (slab_mutex) */
	uint32_t has_ctor;		/* objects need a constructor */
	uint32_t nr_nodes;
	uint32_t track_off;		/* SLAB_STORE_USER records, from object start */
	uint32_t owner_uid;		/* who made the pool (policy: who may destroy it) */
	uint32_t kept;			/* of refcount, the references slubd itself holds
					 * (slab_mutex): all that survive a daemon restart */
	char name[SLUB_NAME_MAX + 1];
	/* line 2 */
	struct olist list;		/* slab_caches (slab_mutex) */
	uint64_t errors[SLAB_ERR_NR];	/* atomic */
	/*
	 * Caps (kmem_cache_set_limit): 0 is none.  charged_* count the objects
	 * and pages of every slab of the cache, all nodes; a new slab is
	 * counted, and checked against the caps, under the zone lock (struct
	 * acct_log), so racing processes cannot together pass a cap and a
	 * death cannot leave a charge behind.
	 */
	uint64_t max_objects, max_bytes;
	uint64_t charged_objects, charged_pages;
	aoff_t node[SLUB_MAX_NODES];	/* kmem_cache_node, first nr_nodes used */
};
_Static_assert(offsetof(struct kmem_cache, align) == CACHE_LINE, "hot line first");
_Static_assert(offsetof(struct kmem_cache, name) == CACHE_LINE + 56, "line 1");

_Static_assert(offsetof(struct kmem_cache, node) == 312, "kmem_cache layout");
#define KMEM_CACHE_SIZE(nr_nodes) (offsetof(struct kmem_cache, node) + (nr_nodes) * sizeof(aoff_t))

#define CACHE_ACTIVE	1
#define CACHE_BOOT	2	/* a boot descriptor, before bootstrap() */
#define CACHE_DEAD	8	/* destroyed, its descriptor in quarantine */
#define CACHE_QUARANTINE 32	/* destroyed descriptors kept, to catch their use */

/* SLAB_STORE_USER: one record for the last alloc and one for the last free */
struct slab_track {
	uint64_t addr;			/* caller, in the caller's address space */
	uint64_t time_ns;
	uint32_t owner;			/* owner id (struct proc_slot); alloc track: the holder */
	uint32_t cpu;
};
_Static_assert(sizeof(struct slab_track) == 24, "track");

struct report_slot {
	uint64_t seq;			/* ticket + 1 once written */
	struct slab_report r;
};

/*
 * Process identity (shm/ident.c has the whole reasoning).
 *
 * Who holds what - a slab in transit (counters.owner), a page block in
 * transit (page_desc.owner), an object of a SLAB_STORE_USER cache
 * (slab_track.owner) - is an owner id: a process slot's index and the
 * generation of the process that claimed it, never a pid.  A process is
 * alive while one of the thread lives that name its slot is alive, or while
 * slubd holds its id for an open connection of the process; a life
 * is a robust mutex that its thread holds for as long as it lives, so the
 * kernel itself marks it (FUTEX_OWNER_DIED) when the thread dies, however
 * it dies, whatever its uid or pid namespace.  A stopped thread holds its
 * life: it is alive.
 *
 * Owner id: gen << OWNER_SLOT_BITS | slot, gen in [1, OWNER_GEN_MAX]; 0 is
 * no owner.  OWNER_UNKNOWN (no slot could be had) is never dead.
 */
#define OWNER_SLOT_BITS		10
#define OWNER_GEN_MAX		((1u << 21) - 2)
#define OWNER_UNKNOWN		0x7fffffffu
#define OWNER_SLOT(id)		((id) & (NR_PROC_SLOTS - 1))
#define OWNER_GEN(id)		((id) >> OWNER_SLOT_BITS)
#define OWNER_MAKE(gen, slot)	((uint32_t)(gen) << OWNER_SLOT_BITS | (uint32_t)(slot))
_Static_assert(NR_PROC_SLOTS == 1u << OWNER_SLOT_BITS, "slot bits");
_Static_assert(OWNER_MAKE(OWNER_GEN_MAX, NR_PROC_SLOTS - 1) < OWNER_UNKNOWN, "ids fit 31 bits");

/*
 * struct proc_slot - one per process that touched the arena, reused by
 * generation.  gen is the generation of its last claimer, changed only by a
 * CAS (ident.c: claiming); seq is bumped each time one more life comes to
 * name the slot (ident.c: joining); held is written by slubd alone: the id
 * it keeps alive while a connection of that process is open (ident.c:
 * "Held by a connection"); the rest is written by the claimer, for reports
 * (the pid as its own pid namespace sees it, and that namespace).
 */
struct proc_slot {
	uint32_t gen;
	uint32_t pid;
	uint64_t pidns;			/* inode of its pid namespace; 0: unknown */
	uint64_t claimed_ns;
	uint32_t seq;			/* bumped after a life comes to name the slot */
	uint32_t held;			/* slubd's: the id an open connection keeps; 0: none */
	uint8_t pad[CACHE_LINE - 32];
};
_Static_assert(sizeof(struct proc_slot) == CACHE_LINE, "slot is a line");

/*
 * struct thread_life - one per live thread that touched the arena.  m is
 * the life word: a process-shared robust mutex its thread locked and holds
 * until it exits (or its process detaches).  owner: the slot id it keeps
 * alive; claiming: the slot id its thread is claiming (ident.c); tid: its
 * thread's id as the thread's own pid namespace sees it (the value its
 * life word and every lock word it holds carry).
 */
struct thread_life {
	union {
		pthread_mutex_t m;
		char mpad[48];
	};
	uint32_t owner;
	uint32_t claiming;
	uint32_t tid;
	uint32_t pad;
};
_Static_assert(sizeof(struct thread_life) == CACHE_LINE, "life is a line");

/*
 * struct arena_hdr - at offset 0.  Written once by the creator (before
 * state becomes ARENA_READY), then read-only but for the locked structures.
 */
struct arena_hdr {
	uint64_t magic;
	uint32_t version;		/* ARENA_LAYOUT_VERSION */
	uint32_t arch;			/* ARENA_ARCH */
	uint64_t size;			/* bytes */
	uint64_t base;			/* the address the creator mapped it at */
	uint32_t page_size;
	uint32_t nr_pages;
	uint32_t nr_cpus;
	uint32_t nr_nodes;
	uint32_t backing;		/* enum arena_backing */
	uint32_t state;			/* ARENA_* */
	aoff_t pd_off;			/* struct page_desc[nr_pages] */
	aoff_t chunk_off;		/* uint8_t chunk state [nr_chunks] */
	uint32_t nr_chunks;
	uint32_t hdr_size;		/* sizeof(struct arena_hdr) */
	uint64_t secret;		/* seeds the caches' hardening keys */
	uint64_t created_ns;

	struct buddy_zone zone;

	/* lock order 1 (outermost): slab_caches, cache ids, refcounts, states;
	 * slub_cache.c */
	struct shm_lock slab_mutex;
	struct olist slab_caches;
	aoff_t kmem_cache;		/* descriptor of the "kmem_cache" cache */
	aoff_t kmem_cache_node;		/* descriptor of the "kmem_cache_node" cache */
	aoff_t kmalloc_caches[NR_KMALLOC];
	uint8_t cache_ids[SLUB_MAX_CACHES / 8];	/* ids in use */
	/* destroyed caches, kept (state CACHE_DEAD, no slab, every cpu
	 * freelist empty) so that a process still using one is told, not
	 * handed another cache's objects; a ring, oldest released first
	 * (slab_mutex; a death mid-update leaks one descriptor, never frees
	 * one twice: quarantine_locked in slub_cache.c) */
	aoff_t dead_caches[CACHE_QUARANTINE];
	uint64_t dead_next;

	/* ident.c: where the next slot claim starts looking; lives ever used
	 * (a high-water mark: lives are taken lowest first, and scans stop
	 * there); threads that found no free life (their locks are never
	 * broken: nobody can tell them from a scribble).  All atomic. */
	uint32_t slot_hint;
	uint32_t lives_hwm;
	uint32_t lifeless;
	/* the pid of the slubd that holds the arena's lock (slubd/store.c), for a
	 * second slubd to name in its refusal (an OFD lock reports no pid) */
	uint32_t owner_pid;
	uint64_t report_head;		/* tickets handed out (atomic) */
	struct report_slot reports[REPORT_RING];

	struct kmem_cache boot_kmem_cache;
	struct kmem_cache boot_kmem_cache_node;
};
_Static_assert(sizeof(struct arena_hdr) <= ARENA_HDR_SIZE, "header fits its region");
_Static_assert(sizeof(struct arena_hdr) == 12608, "arena_hdr layout");
_Static_assert(IDENT_OFF + IDENT_SIZE <= IDENT_MAP_SIZE, "the ident region lies in the first chunk");

_Static_assert(offsetof(struct arena_hdr, zone) % CACHE_LINE == 0, "zone aligned");

#define ARENA_INIT	1
#define ARENA_READY	2

#define CHUNK_HOLE	0	/* not backed: fallocate before use */
#define CHUNK_BACKED	1

#endif /* SHM_LAYOUT_H */
