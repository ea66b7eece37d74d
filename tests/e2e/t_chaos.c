/*
 * t_chaos.c - slubd and several client processes doing random work on shared
 * pools, while client after client is SIGKILLed: at random moments, and at
 * deterministic points inside slow paths that hold locks (shm_test_hook).
 *
 *   chaos_kills    one slubd; T_CHAOS_CLIENTS clients (4), each attached on
 *                  its own, opening four pools - chaos.plain (no flags),
 *                  chaos.user (SLAB_STORE_USER), chaos.debug (1000-byte
 *                  objects, SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER:
 *                  a client writes every byte of such an object and none
 *                  past it, so validate's red zone and poison checks must
 *                  find nothing), chaos.reclaim (SLAB_RECLAIM_DEAD) - and
 *                  using kmalloc (16 B .. 2 KiB, now and then a 2 MiB
 *                  block).  A client allocates, frees, hands objects to the
 *                  others through rings in shared memory (kmem_cache_give
 *                  first in the pools that track owners), takes what it is
 *                  handed, runs bursts, shrinks.
 *
 *                  The test kills T_CHAOS_KILLS clients (200), one at a time,
 *                  and starts a new client in the dead one's place each time.
 *                  T_CHAOS_HOOK_PCT percent of the kills (50) land at one of
 *                  the nine hook points a client reaches (taken in turn;
 *                  HOOK_SLAB_MUTEX is slubd's own): the victim is told to
 *                  stop itself there (raise(SIGSTOP) from the hook), the test
 *                  sees it stopped (waitpid WUNTRACED) and SIGKILLs it in
 *                  place, holding what the engine holds there.  A hook not
 *                  reached within T_CHAOS_REACH_MS (2000) becomes a kill at
 *                  a random point, counted apart.  The other kills come after
 *                  a random delay, wherever the victim is.
 *
 *                  Checked all along:
 *                  - never an object twice: a table, one entry per 8 bytes of
 *                    arena, says which client holds the object that starts
 *                    there; a client claims an entry (0 -> itself) when it
 *                    allocates, and gives it up before it frees.  A claim
 *                    that finds another holder is a failure, unless the
 *                    holder is a dead client and the object was of
 *                    chaos.reclaim (slubd freed it, someone got it again).
 *                    Every object carries a stamp checked whenever it
 *                    changes hands and before it is freed.
 *                  - bounded blocking: after each kill every live client does
 *                    T_CHAOS_PROGRESS_OPS operations (20) within
 *                    T_CHAOS_STALL_MS (2000), and no operation of a client
 *                    takes longer than that.  A client that does not move is
 *                    shown (its state, its stack when gdb is installed).
 *                  - the engine reports nothing but leaks: a monitor process
 *                    maps the arena (its file) and reads the report ring; a
 *                    double free, a corrupt free pointer or any other report
 *                    is a failure.
 *                  Every T_CHAOS_ROUND kills (50) and at the end, a round: the
 *                  live clients pause between operations, and once slubd's
 *                  scrub has run (polled, 5 s at most):
 *                  - validate: 0 errors;
 *                  - chaos.reclaim holds exactly the objects the table gives
 *                    to live clients: what dead clients held is back;
 *                  - chaos.plain, chaos.user, chaos.debug and kmalloc hold
 *                    what live and dead clients hold, plus at most one object
 *                    per kill (the one a victim had allocated but not yet
 *                    recorded);
 *                  - each live client holds, or has waiting in its rings,
 *                    exactly the objects the table gives it: nothing lost;
 *                  - slubd reported each dead client that held objects of
 *                    chaos.user by its pid, with their number (SLAB_ERR_LEAK
 *                    "pid P died holding N objects (leaked)"; or, past 16 dead
 *                    owners in one scrub, in a report of the rest, "processes
 *                    died holding N objects"), and each
 *                    that held objects of chaos.reclaim ("...: freed"); and
 *                    never a live client (nor in chaos.debug, whose leak
 *                    reports are not counted otherwise).
 *                  Then one live client frees what dead clients left in
 *                  chaos.plain, chaos.user, chaos.debug and kmalloc (any
 *                  process may free
 *                  any object), so that memory stays bounded however many
 *                  kills are asked.  At the end the clients free everything,
 *                  chaos.reclaim must be empty, and once the clients are gone
 *                  and the caches shrunk the arena uses what it used before
 *                  them (give or take a slab per object left).
 *
 *                  A hand-over is recorded (struct ch_pending) before it
 *                  starts; a client that takes a dead one's place finishes
 *                  or undoes the hand-over its predecessor died in (asking
 *                  kmem_cache_owner whether the give happened), so that the
 *                  counts above stay exact.
 *
 *                  A 2 MiB kmalloc block has no owner: a victim killed inside
 *                  that kmalloc or kfree leaks 2 MiB that nothing can tell
 *                  from a block in use.  Such kills are allowed
 *                  T_CHAOS_LARGE_KILLS times (8); after that a kill waits for
 *                  the victim to leave the block alone.
 *
 * Environment: T_CHAOS_KILLS, T_CHAOS_CLIENTS (2..8), T_CHAOS_SEED (else from
 * the clock; printed), T_CHAOS_HOOK_PCT, T_CHAOS_HOOKS (hook names to use,
 * e.g. "punch,new_slab"; default all), T_CHAOS_ROUND, T_CHAOS_STALL_MS,
 * T_CHAOS_REACH_MS, T_CHAOS_PROGRESS_OPS, T_CHAOS_LARGE_KILLS,
 * T_CHAOS_VERBOSE (a line per round, slubctl stats at the end).  The case
 * gives itself 60 s plus 1 s per kill (E2E_TIMEOUT, if larger, wins).  The
 * seed picks victims, hooks and operations; timing is not reproducible, so a
 * failure is rerun with its seed and many kills rather than replayed.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "slub.h"
#include "shm.h"	/* shm_test_hook, enum shm_hook */

#define CH_MAX_CLIENTS	8
#define CH_RING		64		/* hand-over ring, per (receiver, sender) */
#define CH_HELD_MAX	1024		/* objects a client keeps (bursts apart) */
#define CH_BURST_MAX	400
#define CH_SHIFT	3		/* the table: one entry per 8 bytes of arena */
#define CH_START_MS	15000		/* a new client must be up within */
#define CH_SCRUB_MS	5000		/* slubd's scrub must have run within */

/* the pools are K_PLAIN .. K_RECLAIM; those that do not reclaim, K_PLAIN .. K_DEBUG */
enum ch_kind { K_NONE, K_PLAIN, K_USER, K_DEBUG, K_RECLAIM, K_KMALLOC, K_LARGE, K_NR };

static const char *const kind_name[K_NR] = {
	"-", "chaos.plain", "chaos.user", "chaos.debug", "chaos.reclaim", "kmalloc", "kmalloc-large",
};
static const unsigned int pool_size[K_NR] = { 0, 64, 96, 1000, 128, 0, 0 };
static const unsigned long pool_flags[K_NR] = {
	0, 0, SLAB_STORE_USER, SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER, SLAB_RECLAIM_DEAD, 0, 0
};
static const unsigned int held_cap[K_NR] = { 0, 64, 32, 32, 256, 48, 0 };

/* the pools that track owners: a hand-over gives the object first */
static bool tracks_owner(uint32_t kind)
{
	return kind == K_USER || kind == K_DEBUG || kind == K_RECLAIM;
}

/* the hook points a client reaches (HOOK_SLAB_MUTEX is slubd's: pools are made there) */
static const enum shm_hook ch_hooks[] = {
	HOOK_CPU_LOCKED, HOOK_CPU_DEACTIVATE, HOOK_LIST_LOCKED, HOOK_ZONE_LOCKED,
	HOOK_NEW_SLAB, HOOK_FREE_TRANSIT, HOOK_PUNCH, HOOK_SLAB_ACCT, HOOK_DISCARD,
};
#define CH_NR_HOOKS	((int)(sizeof(ch_hooks) / sizeof(ch_hooks[0])))

static const char *hook_name(int h)
{
	switch (h) {
	case HOOK_CPU_LOCKED: return "cpu_locked";
	case HOOK_CPU_DEACTIVATE: return "cpu_deactivate";
	case HOOK_LIST_LOCKED: return "list_locked";
	case HOOK_ZONE_LOCKED: return "zone_locked";
	case HOOK_SLAB_MUTEX: return "slab_mutex";
	case HOOK_NEW_SLAB: return "new_slab";
	case HOOK_FREE_TRANSIT: return "free_transit";
	case HOOK_PUNCH: return "punch";
	case HOOK_SLAB_ACCT: return "slab_acct";
	case HOOK_DISCARD: return "discard";
	}
	return "?";
}

/* ---- shared state ------------------------------------------------------------------ */

/* a table entry: the holder's token and the object's kind */
#define ENTRY(token, kind)	((uint32_t)(token) << 3 | (uint32_t)(kind))
#define ENTRY_TOKEN(e)		((e) >> 3)
#define ENTRY_KIND(e)		((e) & 7u)

struct ch_item {			/* an object handed over */
	uint64_t off;
	uint32_t to;			/* the receiver's token */
	uint32_t kind;
};

struct ch_ring {			/* one sender, one receiver */
	uint64_t head;			/* the sender's slot writes it */
	uint8_t pad0[56];
	uint64_t tail;			/* the receiver's slot writes it */
	uint8_t pad1[56];
	struct ch_item it[CH_RING];
};

struct ch_pending {			/* a hand-over under way */
	uint32_t active;
	uint32_t kind;
	uint64_t off;
	uint32_t from, to;		/* tokens */
	int32_t pid;			/* the receiver's */
	uint32_t dst;			/* its slot */
	uint64_t head;			/* the ring's head when it began */
	uint32_t stamp_token, stamp_seq;	/* the object's stamp: this allocation of it */
};

struct ch_slot {
	uint64_t ident;			/* token << 32 | pid of the client in it; 0: none */
	int32_t arm;			/* stop at this hook (enum shm_hook); 0: none */
	int32_t at_hook;		/* where it stopped */
	uint32_t ready;			/* up, its predecessor's hand-over resolved */
	uint32_t paused;		/* the pause generation it stopped at */
	uint32_t collected;		/* the pause generation it collected in */
	uint32_t final_done;
	uint64_t ops, allocs, frees, sent, received, discarded, bursts, shrinks, large;
	uint64_t give_esrch, reused, forward, max_op_ns, large_enomem;
	int32_t in_large;		/* 1: in a 2 MiB kmalloc, 2: in its kfree */
	int32_t no_large;		/* start no 2 MiB kmalloc (about to be killed) */
	uint64_t held[K_NR];		/* what it holds, now */
	struct ch_pending pend;
	uint8_t pad[64];
};

/* what the monitor read in the arena's report ring */
#define CH_MON_MAX	16384
#define CH_MON_MSGS	6
struct ch_report {			/* SLAB_ERR_LEAK: "pid P died holding N objects" */
	uint32_t pid, objects;
	uint32_t kind;			/* K_USER, K_DEBUG or K_RECLAIM */
	uint32_t freed;			/* the objects were freed (SLAB_RECLAIM_DEAD) */
};

struct ch_mon {
	uint32_t stop, up;
	uint64_t polls, seen, lost, other;
	uint32_t nrep, nmsg;
	struct ch_report rep[CH_MON_MAX];
	char msg[CH_MON_MSGS][320];
};

struct ch_shared {
	uint32_t pause;			/* nonzero: pause between operations (a generation) */
	uint32_t collect;		/* this pause generation: ... */
	int32_t collector;		/* ... this slot frees what dead clients left */
	uint32_t final;			/* at the pause: free everything */
	uint32_t exit_ok;		/* then exit */
	uint32_t nclients;
	int32_t large_budget;		/* kills still allowed inside a 2 MiB kmalloc or kfree */
	uint64_t table_len;		/* entries */
	struct t_problems problems;	/* what the clients found wrong */
	uint64_t twice, corrupt;
	uint64_t collected[K_NR];
	struct ch_slot slot[CH_MAX_CLIENTS];
	struct ch_ring ring[CH_MAX_CLIENTS][CH_MAX_CLIENTS];	/* [receiver][sender] */
	struct ch_mon mon;
};

static struct ch_shared *sh;
static uint32_t *table;			/* table_len entries */
static uint8_t *dead;			/* dead[token]: 1 once the client is (about to be) killed */
static uint32_t max_tokens;
static const char *sock_path;
static int cpus[2], ncpus;

/* ---- a client ------------------------------------------------------------------------ */

struct ch_obj {
	void *p;
	uint32_t kind, len;
};

struct ch_stamp {			/* the first 16 bytes of every object */
	uint32_t magic;			/* CH_MAGIC | kind */
	uint32_t len;
	uint32_t token;			/* of the client that allocated it */
	uint32_t seq;
};
#define CH_MAGIC	0xc4a05000u
#define CH_FREED	0xdeadbeefu

static struct {
	int slot;
	uint32_t token;
	pid_t pid;
	struct kmem_cache *pool[K_NR];
	struct ch_obj held[CH_HELD_MAX];
	int nheld;
	uint64_t rnd;
	uint32_t seq;
} C;

static uint32_t *entry_of(uint64_t off)
{
	if (!off || (off & ((1u << CH_SHIFT) - 1)) || (off >> CH_SHIFT) >= sh->table_len)
		return NULL;
	return &table[off >> CH_SHIFT];
}

static uint64_t crand(void)
{
	return t_rand(&C.rnd);
}

static void stamp(void *p, uint32_t kind, uint32_t len)
{
	struct ch_stamp st = { CH_MAGIC | kind, len, C.token, ++C.seq };
	uint32_t tail = st.magic ^ st.token ^ st.seq;

	memcpy(p, &st, sizeof(st));
	if (len >= sizeof(st) + 4)
		memcpy((char *)p + len - 4, &tail, 4);
}

/* the object's stamp is intact and says kind; its length, or 0 after a report */
static uint32_t stamp_ok(const void *p, uint32_t kind, const char *what)
{
	struct ch_stamp st;
	uint32_t tail = 0;

	memcpy(&st, p, sizeof(st));
	if (st.len >= sizeof(st) + 4)
		memcpy(&tail, (const char *)p + st.len - 4, 4);
	if (st.magic != (CH_MAGIC | kind) || st.len < sizeof(st) ||
	    (kind <= K_RECLAIM && st.len != pool_size[kind]) ||
	    (st.len >= sizeof(st) + 4 && tail != (st.magic ^ st.token ^ st.seq))) {
		__atomic_add_fetch(&sh->corrupt, 1, __ATOMIC_SEQ_CST);
		t_problem(&sh->problems, "client token %u: %s: %s object at %#llx has a broken stamp: magic %#x len %u "
			"token %u seq %u tail %#x", C.token, what, kind_name[kind],
			(unsigned long long)slub_offset(p), st.magic, st.len, st.token, st.seq, tail);
		return 0;
	}
	return st.len;
}

/* claim the table entry of a new object; false: someone else holds it (reported) */
static bool claim(void *p, uint32_t kind, const char *how)
{
	uint64_t off = slub_offset(p);
	uint32_t *e = entry_of(off), cur = 0, mine = ENTRY(C.token, kind);

	if (!e) {
		t_problem(&sh->problems, "client token %u: %s returned %p, offset %#llx: not an object of the arena",
			C.token, how, p, (unsigned long long)off);
		return false;
	}
	for (;;) {
		uint32_t t;

		if (__atomic_compare_exchange_n(e, &cur, mine, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			return true;
		t = ENTRY_TOKEN(cur);
		if (ENTRY_KIND(cur) == K_RECLAIM && t < max_tokens &&
		    __atomic_load_n(&dead[t], __ATOMIC_SEQ_CST)) {
			/* a dead client's object of chaos.reclaim: slubd freed it */
			__atomic_add_fetch(&sh->slot[C.slot].reused, 1, __ATOMIC_RELAXED);
			continue;
		}
		__atomic_add_fetch(&sh->twice, 1, __ATOMIC_SEQ_CST);
		t_problem(&sh->problems, "client token %u: %s returned the object at %#llx, which client token %u (%s) "
			"holds as a %s object: handed out twice", C.token, how, (unsigned long long)off, t,
			t < max_tokens && dead[t] ? "dead" : "alive", kind_name[ENTRY_KIND(cur)]);
		return false;
	}
}

/* give up the table entry of an object this client holds */
static void release(void *p, uint32_t kind)
{
	uint32_t *e = entry_of(slub_offset(p)), mine = ENTRY(C.token, kind);

	if (!e || !__atomic_compare_exchange_n(e, &mine, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		t_problem(&sh->problems, "client token %u: the %s object at %#llx I hold is entered as %#x (token %u), "
			"not mine", C.token, kind_name[kind], (unsigned long long)slub_offset(p),
			e ? mine : 0, e ? ENTRY_TOKEN(mine) : 0);
}

static void *raw_alloc(uint32_t kind, uint32_t len)
{
	void *p;

	if (kind == K_KMALLOC || kind == K_LARGE)
		p = kmalloc(len, GFP_KERNEL);
	else
		p = kmem_cache_alloc(C.pool[kind], GFP_KERNEL);
	if (!p && kind == K_LARGE && errno == ENOMEM) {
		/* no free 2 MiB block: the arena may be that fragmented */
		__atomic_add_fetch(&sh->slot[C.slot].large_enomem, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	if (!p)
		t_problem(&sh->problems, "client token %u: allocating a %s object (%u bytes) failed: %s", C.token,
			kind_name[kind], len, strerror(errno));
	return p;
}

static void raw_free(uint32_t kind, void *p)
{
	if (kind == K_KMALLOC || kind == K_LARGE)
		kfree(p);
	else
		kmem_cache_free(C.pool[kind], p);
}

static void count_held(uint32_t kind, int delta)
{
	__atomic_store_n(&sh->slot[C.slot].held[kind],
			 sh->slot[C.slot].held[kind] + (uint64_t)(int64_t)delta, __ATOMIC_RELAXED);
}

/* a new object: allocated, stamped, claimed; NULL if any of it failed (reported) */
static void *obj_new(uint32_t kind, uint32_t *lenp)
{
	uint32_t len;
	void *p;

	if (kind == K_KMALLOC)
		len = 16 + (uint32_t)(crand() % (2048 - 16 + 1));
	else if (kind == K_LARGE)	/* a 2 MiB block, a whole chunk of the arena */
		len = (1u << 20) + 1 + (uint32_t)(crand() % (1u << 20));
	else
		len = pool_size[kind];
	p = raw_alloc(kind, len);
	if (!p)
		return NULL;
	if ((kind == K_KMALLOC || kind == K_LARGE) && ksize(p) < len)
		t_problem(&sh->problems, "client token %u: ksize %zu of a kmalloc(%u)", C.token, ksize(p), len);
	if (kind == K_DEBUG)	/* every byte of it, up to its red zone and not one past */
		memset(p, 0x5a, len);
	stamp(p, kind, len);
	if (!claim(p, kind, kind == K_KMALLOC || kind == K_LARGE ? "kmalloc" : "kmem_cache_alloc"))
		return NULL;	/* left alone: its holder frees it */
	__atomic_add_fetch(&sh->slot[C.slot].allocs, 1, __ATOMIC_RELAXED);
	*lenp = len;
	return p;
}

/* check, unclaim and free an object this client holds */
static void obj_free(void *p, uint32_t kind, const char *what)
{
	struct ch_stamp *st = p;

	stamp_ok(p, kind, what);
	release(p, kind);
	st->magic = CH_FREED;	/* a stale copy elsewhere would show */
	raw_free(kind, p);
	__atomic_add_fetch(&sh->slot[C.slot].frees, 1, __ATOMIC_RELAXED);
}

static void held_add(void *p, uint32_t kind, uint32_t len)
{
	C.held[C.nheld++] = (struct ch_obj){ p, kind, len };
	count_held(kind, 1);
}

static struct ch_obj held_take(int i)
{
	struct ch_obj o = C.held[i];

	C.held[i] = C.held[--C.nheld];
	count_held(o.kind, -1);
	return o;
}

static int held_of_kind(uint32_t kind)
{
	return (int)sh->slot[C.slot].held[kind];
}

/* hand held object i to another client; true if it went */
static bool obj_send(int i)
{
	struct ch_slot *me = &sh->slot[C.slot];
	struct ch_obj o = C.held[i];
	uint32_t n = sh->nclients, dst = (uint32_t)(C.slot + 1 + (int)(crand() % (n - 1))) % n;
	uint64_t ident = __atomic_load_n(&sh->slot[dst].ident, __ATOMIC_SEQ_CST), head, tail;
	uint32_t to = (uint32_t)(ident >> 32), mine = ENTRY(C.token, o.kind);
	pid_t pid = (pid_t)(uint32_t)ident;
	struct ch_ring *r = &sh->ring[dst][C.slot];
	uint32_t *e = entry_of(slub_offset(o.p));

	if (!ident || to >= max_tokens || __atomic_load_n(&dead[to], __ATOMIC_SEQ_CST))
		return false;
	head = r->head;
	tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	if (head - tail >= CH_RING)
		return false;
	if (!stamp_ok(o.p, o.kind, "sending"))
		return false;
	/* recorded first: whoever takes this slot if we die finishes or undoes it */
	me->pend.stamp_token = ((struct ch_stamp *)o.p)->token;
	me->pend.stamp_seq = ((struct ch_stamp *)o.p)->seq;
	me->pend.kind = o.kind;
	me->pend.off = slub_offset(o.p);
	me->pend.from = C.token;
	me->pend.to = to;
	me->pend.pid = pid;
	me->pend.dst = dst;
	me->pend.head = head;
	__atomic_store_n(&me->pend.active, 1, __ATOMIC_SEQ_CST);
	if (tracks_owner(o.kind)) {
		int rc = kmem_cache_give(C.pool[o.kind], o.p, pid);

		if (rc) {
			if (rc != -ESRCH)
				t_problem(&sh->problems, "client token %u: kmem_cache_give(%s, %#llx, pid %d): %d (%s)",
					C.token, kind_name[o.kind], (unsigned long long)slub_offset(o.p),
					(int)pid, rc, strerror(-rc));
			else
				__atomic_add_fetch(&me->give_esrch, 1, __ATOMIC_RELAXED);
			__atomic_store_n(&me->pend.active, 0, __ATOMIC_SEQ_CST);
			return false;
		}
	}
	if (!__atomic_compare_exchange_n(e, &mine, ENTRY(to, o.kind), 0, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		t_problem(&sh->problems, "client token %u: handing over the %s object at %#llx, its entry is %#x, not mine",
			C.token, kind_name[o.kind], (unsigned long long)slub_offset(o.p), mine);
	r->it[head % CH_RING] = (struct ch_item){ slub_offset(o.p), to, o.kind };
	__atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&me->pend.active, 0, __ATOMIC_SEQ_CST);
	held_take(i);
	__atomic_add_fetch(&me->sent, 1, __ATOMIC_RELAXED);
	return true;
}

/* take what others handed to this client (items for a dead predecessor are dropped) */
static void obj_receive(int max)
{
	struct ch_slot *me = &sh->slot[C.slot];

	for (uint32_t j = 0; j < sh->nclients; j++) {
		struct ch_ring *r = &sh->ring[C.slot][j];
		uint64_t tail = r->tail, head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);

		if ((int)j == C.slot)
			continue;
		while (tail != head && max > 0 && C.nheld < CH_HELD_MAX) {
			struct ch_item it = r->it[tail % CH_RING];

			if (it.to != C.token) {
				/* handed to the client that had this slot before: it is dead */
				if (it.to >= max_tokens || !__atomic_load_n(&dead[it.to], __ATOMIC_SEQ_CST))
					t_problem(&sh->problems, "client token %u: an item in my ring is for token %u, alive",
						C.token, it.to);
				__atomic_add_fetch(&me->discarded, 1, __ATOMIC_RELAXED);
			} else {
				uint32_t *e = entry_of(it.off), cur = e ? __atomic_load_n(e, __ATOMIC_SEQ_CST) : 0;
				void *p = slub_ptr(it.off);
				uint32_t len;

				if (!p || cur != ENTRY(C.token, it.kind)) {
					t_problem(&sh->problems, "client token %u: received %s object at %#llx entered as %#x "
						"(token %u), not as mine", C.token, kind_name[it.kind % K_NR],
						(unsigned long long)it.off, cur, ENTRY_TOKEN(cur));
				} else if ((len = stamp_ok(p, it.kind, "received"))) {
					held_add(p, it.kind, len);
					__atomic_add_fetch(&me->received, 1, __ATOMIC_RELAXED);
				}
				max--;
			}
			tail++;
			__atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
		}
	}
}

/* a burst: many objects of chaos.plain at once, freed in a random order */
static void burst(unsigned int n)
{
	static void *b[CH_BURST_MAX];
	unsigned int got = 0;
	uint32_t len;

	if (n > CH_BURST_MAX)
		n = CH_BURST_MAX;
	for (; got < n; got++)
		if (!(b[got] = obj_new(K_PLAIN, &len)))
			break;
	count_held(K_PLAIN, (int)got);
	for (unsigned int i = got; i > 1; i--) {
		unsigned int j = (unsigned int)(crand() % i);
		void *t = b[i - 1];

		b[i - 1] = b[j];
		b[j] = t;
	}
	for (unsigned int i = 0; i < got; i++) {
		obj_free(b[i], K_PLAIN, "burst");
		count_held(K_PLAIN, -1);
	}
	__atomic_add_fetch(&sh->slot[C.slot].bursts, 1, __ATOMIC_RELAXED);
}

/*
 * a 1-2 MiB kmalloc, freed at once: a whole chunk goes back to the host.
 * Such a block has no owner: a process that dies inside kmalloc (once the
 * block is its own) or inside kfree (before the free began) leaks it for
 * good, 2 MiB, which the engine cannot tell from a block in use.  Kills
 * there are allowed sh->large_budget times (in_large tells the test).
 */
static void large(void)
{
	struct ch_slot *me = &sh->slot[C.slot];
	uint32_t len;
	void *p;

	if (__atomic_load_n(&me->no_large, __ATOMIC_SEQ_CST))
		return;
	__atomic_store_n(&me->in_large, 1, __ATOMIC_SEQ_CST);
	p = obj_new(K_LARGE, &len);
	__atomic_store_n(&me->in_large, 0, __ATOMIC_SEQ_CST);
	if (p) {
		count_held(K_LARGE, 1);
		__atomic_store_n(&me->in_large, 2, __ATOMIC_SEQ_CST);
		obj_free(p, K_LARGE, "large");
		__atomic_store_n(&me->in_large, 0, __ATOMIC_SEQ_CST);
		count_held(K_LARGE, -1);
	}
	__atomic_add_fetch(&me->large, 1, __ATOMIC_RELAXED);
}

static void alloc_keep(uint32_t kind)
{
	uint32_t len;
	void *p;

	if (C.nheld >= CH_HELD_MAX || held_of_kind(kind) >= (int)held_cap[kind])
		return;
	p = obj_new(kind, &len);
	if (p)
		held_add(p, kind, len);
}

static void free_one(void)
{
	struct ch_obj o;

	if (!C.nheld)
		return;
	o = held_take((int)(crand() % (uint64_t)C.nheld));
	obj_free(o.p, o.kind, "kept");
}

static uint32_t random_kind(void)
{
	unsigned int r = (unsigned int)(crand() % 100);

	if (r < 30)
		return K_PLAIN;
	if (r < 42)
		return K_USER;
	if (r < 57)
		return K_DEBUG;
	if (r < 80)
		return K_RECLAIM;
	return K_KMALLOC;
}

/* one operation, chosen at random */
static void random_op(uint64_t op)
{
	unsigned int r = (unsigned int)(crand() % 1000);

	if (op % 4 == 0)
		obj_receive(16);
	if (r < 2) {
		burst(50 + (unsigned int)(crand() % 300));
	} else if (r < 3) {
		kmem_cache_shrink(C.pool[crand() % 2 ? K_PLAIN : K_USER]);
		__atomic_add_fetch(&sh->slot[C.slot].shrinks, 1, __ATOMIC_RELAXED);
	} else if (r == 3 && crand() % 32 == 0) {
		large();
	} else if (r < 450) {
		uint32_t kind = random_kind();

		if (held_of_kind(kind) >= (int)held_cap[kind])
			free_one();
		else
			alloc_keep(kind);
	} else if (r < 800) {
		free_one();
	} else if (C.nheld) {
		int i = (int)(crand() % (uint64_t)C.nheld);

		if (!obj_send(i) && crand() % 2)
			free_one();
	}
}

/* armed for hook h: what reaches it soonest */
static void hook_op(int h)
{
	switch (h) {
	case HOOK_PUNCH:
		large();
		break;
	case HOOK_CPU_DEACTIVATE:
		alloc_keep(K_PLAIN);
		kmem_cache_shrink(C.pool[K_PLAIN]);
		break;
	case HOOK_LIST_LOCKED: {
		uint32_t k = crand() % 2 ? K_USER : K_DEBUG;

		if (held_of_kind(k) >= (int)held_cap[k])
			free_one();
		alloc_keep(k);
		break;
	}
	case HOOK_DISCARD:
		burst(CH_BURST_MAX);
		kmem_cache_shrink(C.pool[K_PLAIN]);
		break;
	default:	/* CPU_LOCKED, NEW_SLAB, ZONE_LOCKED, FREE_TRANSIT, SLAB_ACCT */
		burst(CH_BURST_MAX);
		break;
	}
}

static void chaos_hook(enum shm_hook where)
{
	struct ch_slot *me = &sh->slot[C.slot];

	if (__atomic_load_n(&me->arm, __ATOMIC_SEQ_CST) != (int)where)
		return;
	/* inside a 2 MiB kmalloc or kfree (but for the punch, which gives it back) */
	if (where != HOOK_PUNCH && __atomic_load_n(&me->in_large, __ATOMIC_SEQ_CST) &&
	    __atomic_load_n(&sh->large_budget, __ATOMIC_SEQ_CST) <= 0)
		return;
	__atomic_store_n(&me->at_hook, (int)where, __ATOMIC_SEQ_CST);
	raise(SIGSTOP);		/* here, holding what the engine holds: the SIGKILL comes */
	__atomic_store_n(&me->at_hook, 0, __ATOMIC_SEQ_CST);
}

/* the hand-over the client before us in this slot died in: finish it or leave it */
static void resolve_predecessor(void)
{
	struct ch_slot *me = &sh->slot[C.slot];
	struct ch_pending pd;
	struct ch_stamp st;
	struct ch_ring *r;
	uint32_t *e, cur;
	bool forward = false;

	if (!__atomic_load_n(&me->pend.active, __ATOMIC_SEQ_CST))
		return;
	pd = me->pend;
	e = entry_of(pd.off);
	if (!e || pd.kind >= K_NR || pd.dst >= sh->nclients || pd.from >= max_tokens ||
	    !dead[pd.from]) {
		t_problem(&sh->problems, "client token %u: the hand-over record of slot %d is bad (from token %u, "
			"offset %#llx)", C.token, C.slot, pd.from, (unsigned long long)pd.off);
		goto out;
	}
	r = &sh->ring[pd.dst][C.slot];
	cur = __atomic_load_n(e, __ATOMIC_SEQ_CST);
	/*
	 * Still the object the dead sender was handing over?  If it was freed
	 * meanwhile (chaos.reclaim: slubd freed it, its owner being dead) and
	 * allocated again, its new allocator stamped it before entering it.
	 */
	st = *(struct ch_stamp *)slub_ptr(pd.off);
	if (st.magic != (CH_MAGIC | pd.kind) || st.token != pd.stamp_token || st.seq != pd.stamp_seq)
		goto out;
	if (cur == ENTRY(pd.from, pd.kind)) {
		/* the entry never moved: did the give happen? */
		if (tracks_owner(pd.kind)) {
			pid_t owner = kmem_cache_owner(C.pool[pd.kind], slub_ptr(pd.off));

			if (owner == pd.pid) {
				uint32_t from = cur;

				forward = __atomic_compare_exchange_n(e, &from, ENTRY(pd.to, pd.kind), 0,
								      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
			}
		}
		/* else the dead sender's still: leaked (reclaimed in chaos.reclaim) */
	} else if (cur == ENTRY(pd.to, pd.kind)) {
		forward = true;
	}
	if (forward && __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) == pd.head) {
		r->it[pd.head % CH_RING] = (struct ch_item){ pd.off, pd.to, pd.kind };
		__atomic_store_n(&r->head, pd.head + 1, __ATOMIC_RELEASE);
		__atomic_add_fetch(&me->forward, 1, __ATOMIC_RELAXED);
	}
out:
	__atomic_store_n(&me->pend.active, 0, __ATOMIC_SEQ_CST);
}

/* paused: free what dead clients left in the pools that do not reclaim */
static void collect(void)
{
	for (uint64_t i = 1; i < sh->table_len; i++) {
		uint32_t cur = __atomic_load_n(&table[i], __ATOMIC_RELAXED), t, k;
		void *p;

		if (!cur)
			continue;
		t = ENTRY_TOKEN(cur);
		k = ENTRY_KIND(cur);
		if (k == K_RECLAIM || t >= max_tokens || !__atomic_load_n(&dead[t], __ATOMIC_SEQ_CST))
			continue;
		if (!__atomic_compare_exchange_n(&table[i], &cur, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			continue;
		p = slub_ptr(i << CH_SHIFT);
		if (!p || k == K_NONE || k >= K_NR) {
			t_problem(&sh->problems, "collector: entry %#x at offset %#llx", cur, (unsigned long long)(i << CH_SHIFT));
			continue;
		}
		stamp_ok(p, k, "left by a dead client");
		((struct ch_stamp *)p)->magic = CH_FREED;
		raw_free(k, p);
		__atomic_add_fetch(&sh->collected[k], 1, __ATOMIC_RELAXED);
	}
}

/* at the end: take what is handed to us, free everything */
static void free_all(void)
{
	int got;

	do {
		obj_receive(CH_HELD_MAX);
		got = C.nheld;
		while (C.nheld)
			free_one();
	} while (got);
}

static void pause_point(void)
{
	struct ch_slot *me = &sh->slot[C.slot];
	uint32_t gen = __atomic_load_n(&sh->pause, __ATOMIC_SEQ_CST);

	if (!gen)
		return;
	__atomic_store_n(&me->paused, gen, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&sh->pause, __ATOMIC_SEQ_CST) == gen) {
		if (__atomic_load_n(&sh->collect, __ATOMIC_SEQ_CST) == gen &&
		    __atomic_load_n(&sh->collector, __ATOMIC_SEQ_CST) == C.slot &&
		    __atomic_load_n(&me->collected, __ATOMIC_SEQ_CST) != gen) {
			collect();
			__atomic_store_n(&me->collected, gen, __ATOMIC_SEQ_CST);
		}
		if (__atomic_load_n(&sh->final, __ATOMIC_SEQ_CST) &&
		    !__atomic_load_n(&me->final_done, __ATOMIC_SEQ_CST)) {
			free_all();
			__atomic_store_n(&me->final_done, 1, __ATOMIC_SEQ_CST);
		}
		if (__atomic_load_n(&sh->exit_ok, __ATOMIC_SEQ_CST))
			_exit(0);
		t_sleep_us(500);
	}
}

struct ch_arg {
	int slot;
	uint32_t token;
	uint64_t seed;
};

static void client_main(void *arg)
{
	const struct ch_arg *a = arg;
	struct ch_slot *me = &sh->slot[a->slot];
	uint64_t op = 0;
	int rc;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	memset(&C, 0, sizeof(C));
	C.slot = a->slot;
	C.token = a->token;
	C.pid = getpid();
	C.rnd = a->seed;
	if (ncpus > 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpus[a->slot % ncpus], &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	rc = slub_attach(sock_path);
	if (rc) {
		t_problem(&sh->problems, "client token %u: slub_attach(%s): %d (%s)", C.token, sock_path, rc, strerror(-rc));
		_exit(1);
	}
	for (int k = K_PLAIN; k <= K_RECLAIM; k++) {
		C.pool[k] = kmem_cache_create(kind_name[k], pool_size[k], 0, pool_flags[k], NULL);
		if (!C.pool[k]) {
			t_problem(&sh->problems, "client token %u: kmem_cache_create(%s): %s", C.token, kind_name[k],
				strerror(errno));
			_exit(1);
		}
	}
	resolve_predecessor();
	for (int k = 0; k < K_NR; k++)
		me->held[k] = 0;
	shm_test_hook = chaos_hook;
	__atomic_store_n(&me->ident, (uint64_t)C.token << 32 | (uint32_t)C.pid, __ATOMIC_SEQ_CST);
	__atomic_store_n(&me->ready, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		uint64_t t0, dt;
		int h;

		pause_point();
		t0 = t_now_ns();
		h = __atomic_load_n(&me->arm, __ATOMIC_SEQ_CST);
		if (h)
			hook_op(h);
		else
			random_op(op);
		dt = t_now_ns() - t0;
		if (dt > me->max_op_ns)
			__atomic_store_n(&me->max_op_ns, dt, __ATOMIC_RELAXED);
		__atomic_store_n(&me->ops, ++op, __ATOMIC_RELEASE);
	}
}

/* ---- the monitor: the engine's reports ------------------------------------------- */

/*
 * A process that maps the arena (its file, next to the socket) without
 * attaching, and reads the engine's report ring: the leak reports of the
 * scrub (SLAB_ERR_LEAK, one per dead owner: "pid P died holding N objects")
 * go to sh->mon.rep; any other report (a double free, a corrupt free
 * pointer, ...) is a problem, but for validate's own, which the test reads
 * from validate itself.
 */
static void monitor_main(void *arg)
{
	const char *path = arg;
	struct slab_report r[64];
	struct ch_mon *m = &sh->mon;
	struct arena *a = NULL;
	uint64_t cursor = 0;
	char err[256] = "";
	int fd, rc;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = open(path, O_RDWR | O_CLOEXEC);
	rc = fd < 0 ? -errno : arena_open(fd, &a, err, sizeof(err));
	if (fd >= 0)
		close(fd);
	if (rc) {
		t_problem(&sh->problems, "monitor: opening the arena %s: %d (%s) %s", path, rc, strerror(-rc), err);
		_exit(1);
	}
	__atomic_store_n(&m->up, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&m->stop, __ATOMIC_SEQ_CST)) {
		uint64_t before = cursor;
		int n = slab_reports(a, r, 64, &cursor);

		if (cursor - before > (uint64_t)n && before)
			m->lost += cursor - before - (uint64_t)n;
		for (int i = 0; i < n; i++) {
			unsigned int pid, objects;
			uint32_t k = !strcmp(r[i].cache_name, kind_name[K_USER]) ? K_USER :
				     !strcmp(r[i].cache_name, kind_name[K_DEBUG]) ? K_DEBUG :
				     !strcmp(r[i].cache_name, kind_name[K_RECLAIM]) ? K_RECLAIM : K_NONE;

			m->seen++;
			/* "pid P died holding N objects", or for the rest "processes died ..." */
			pid = 0;
			if (r[i].kind == SLAB_ERR_LEAK && k != K_NONE &&
			    (sscanf(r[i].detail, "pid %u died holding %u objects", &pid, &objects) == 2 ||
			     sscanf(r[i].detail, "processes died holding %u objects", &objects) == 1)) {
				/* a ring: the test takes them at each round, far fewer */
				m->rep[m->nrep % CH_MON_MAX] = (struct ch_report){ pid, objects, k,
							strstr(r[i].detail, "freed") != NULL };
				__atomic_store_n(&m->nrep, m->nrep + 1, __ATOMIC_RELEASE);
				continue;
			}
			if (!strncmp(r[i].detail, "validate: ", 10))
				continue;
			if (m->nmsg < CH_MON_MSGS)
				snprintf(m->msg[m->nmsg++], sizeof(m->msg[0]), "%s in %s, object %#llx, seen by "
					 "pid %u: %s", slab_error_name(r[i].kind), r[i].cache_name,
					 (unsigned long long)r[i].object, r[i].pid, r[i].detail);
			__atomic_add_fetch(&m->other, 1, __ATOMIC_SEQ_CST);
		}
		__atomic_add_fetch(&m->polls, 1, __ATOMIC_SEQ_CST);
		t_sleep_us(3000);
	}
	arena_close(a);
	_exit(0);
}

/* ---- the test: stats over the control socket -------------------------------------- */

struct ch_stats {
	uint64_t active[K_NR], errors[K_NR];
	int listed[K_NR];
	uint64_t arena_size, arena_used;
};

/* one Stats request; 0, or -1 with a failed check */
static int get_stats(struct ch_stats *out)
{
	Slubd__Response *resp = e2e_stats_call(sock_path, NULL, "t_chaos");

	memset(out, 0, sizeof(*out));
	if (!resp || resp->err || resp->body_case != SLUBD__RESPONSE__BODY_STATS) {
		CHECKF(!resp, "stats: err %d (%s), body %d", resp->err, resp->error ? resp->error : "",
		       (int)resp->body_case);
		if (resp)
			slubd__response__free_unpacked(resp, NULL);
		return -1;
	}
	out->arena_size = resp->stats->arena_size;
	out->arena_used = resp->stats->arena_used;
	for (size_t i = 0; i < resp->stats->n_caches; i++) {
		Slubd__CacheStats *cs = resp->stats->caches[i];
		int k = K_NONE;

		if (!strncmp(cs->name, "kmalloc-", 8))
			k = K_KMALLOC;
		for (int j = K_PLAIN; j <= K_RECLAIM; j++)
			if (!strcmp(cs->name, kind_name[j]))
				k = j;
		if (k == K_NONE)
			continue;
		out->listed[k] = 1;
		out->active[k] += cs->active_objs;
		out->errors[k] += cs->errors;
	}
	slubd__response__free_unpacked(resp, NULL);
	return 0;
}

/* ---- the test: the orchestrator ---------------------------------------------------- */

struct ch_client {
	pid_t pid;
	uint32_t token;
};

static struct {
	int n;
	unsigned long kills, hook_pct, round_every, stall_ms, reach_ms, progress_ops;
	uint64_t seed, rnd;
	struct ch_client cl[CH_MAX_CLIENTS];
	uint32_t next_token;
	int32_t *token_slot;		/* token -> slot while it lives; -1 dead */
	unsigned long nkills, hook_kills[HOOK_NR], unreached[HOOK_NR], random_kills;
	unsigned long rounds, hook_turn, large_kills;
	int hooks[CH_NR_HOOKS], nhooks;	/* the hook points used, taken in turn */
	unsigned long verbose;
	/* per token: its pid, the chaos.reclaim objects it held at its death, what
	 * slubd reported of it (objects), whether the reports were checked */
	int32_t *token_pid;
	uint32_t *due_reclaim, *rep_user, *rep_reclaim, *dead_user;
	uint32_t *pend_kind;		/* per token: the kind it was handing over as it died */
	uint8_t *verified;
	uint32_t *pid_token;		/* pid -> token, pid_max entries */
	uint32_t pid_max, mon_done, first_unverified;
	uint64_t pooled_user, pooled_reclaim;	/* reports of "the rest" (pid 0) */
	uint64_t rep_user_objs, rep_reclaim_objs, rep_user_n, rep_reclaim_n, rep_bad;
	uint64_t rep_debug_objs, rep_debug_n;	/* of chaos.debug */
	pid_t mon_pid;
	uint64_t worst_progress_ms, worst_reach_ms, worst_start_ms, worst_scrub_ms;
	uint64_t reclaim_due;		/* chaos.reclaim objects dead clients held */
	uint64_t leaked_seen[K_NR];	/* objects of dead clients found at rounds */
	uint64_t kmalloc_base, arena_base;
	uint64_t ops_retired, sent_retired, recv_retired, reused_retired, forward_retired;
	uint64_t max_op_ns;
	uint64_t user_dead_rounds;	/* rounds where chaos.user held dead clients' objects */
} O;

static uint64_t orand(void)
{
	return t_rand(&O.rnd);
}

static void show_problems(void)
{
	t_problems_show(&sh->problems, "client problem");
	CHECKF(sh->problems.count == 0, "%llu problems in the clients (seed %llu)",
	       (unsigned long long)sh->problems.count, (unsigned long long)O.seed);
}

static int start_client(int slot)
{
	struct ch_slot *s = &sh->slot[slot];
	struct ch_arg a;
	uint64_t t0 = t_now_ms(), took;
	pid_t pid;

	if (O.next_token >= max_tokens) {
		CHECKF(0, "out of tokens");
		return -1;
	}
	a.slot = slot;
	a.token = O.next_token++;
	a.seed = O.seed * 0x9e3779b97f4a7c15ULL + a.token;
	/* keep the hand-over record (pend) and the rings: the new client resolves them */
	s->ident = 0;
	s->arm = 0;
	s->at_hook = 0;
	s->ready = 0;
	s->paused = 0;
	s->collected = 0;
	s->final_done = 0;
	s->in_large = 0;
	s->no_large = 0;
	pid = t_fork(client_main, &a);
	if (pid < 0)
		return -1;
	O.cl[slot].pid = pid;
	O.cl[slot].token = a.token;
	O.token_slot[a.token] = slot;
	O.token_pid[a.token] = pid;
	if ((uint32_t)pid < O.pid_max)
		O.pid_token[pid] = a.token;
	while (!__atomic_load_n(&s->ready, __ATOMIC_SEQ_CST)) {
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			char how[96];

			CHECKF(0, "client token %u (slot %d) ended while starting: %s", a.token, slot,
			       t_status_str(status, how, sizeof(how)));
			O.cl[slot].pid = 0;
			return -1;
		}
		if (t_now_ms() - t0 > CH_START_MS) {
			CHECKF(0, "client token %u (slot %d) not up within %d ms", a.token, slot, CH_START_MS);
			return -1;
		}
		t_sleep_us(200);
	}
	took = t_now_ms() - t0;
	if (took > O.worst_start_ms)
		O.worst_start_ms = took;
	return 0;
}

/* what a client did, added to the totals before its slot is reused */
static void retire_counts(int slot)
{
	struct ch_slot *s = &sh->slot[slot];

	O.ops_retired += s->ops;
	O.sent_retired += s->sent;
	O.recv_retired += s->received;
	O.reused_retired += s->reused;
	O.forward_retired += s->forward;
	if (s->max_op_ns > O.max_op_ns)
		O.max_op_ns = s->max_op_ns;
	s->ops = s->allocs = s->frees = s->sent = s->received = s->discarded = 0;
	s->bursts = s->shrinks = s->large = s->give_esrch = s->reused = s->forward = 0;
	s->max_op_ns = 0;
}

/* chaos.reclaim objects the victim holds or has waiting for it: slubd must free them */
static uint64_t reclaim_held_by(int slot, uint32_t token)
{
	uint64_t n = __atomic_load_n(&sh->slot[slot].held[K_RECLAIM], __ATOMIC_SEQ_CST);

	for (int j = 0; j < O.n; j++) {
		struct ch_ring *r = &sh->ring[slot][j];

		for (uint64_t t = r->tail; t != r->head; t++)
			n += r->it[t % CH_RING].to == token && r->it[t % CH_RING].kind == K_RECLAIM;
	}
	return n;
}

/* SIGKILL the client in slot (already marked dead), reap it */
static void kill_and_reap(int slot)
{
	pid_t pid = O.cl[slot].pid;
	uint64_t deadline = t_now_ms() + 5000;
	int status;

	kill(pid, SIGKILL);
	for (;;) {
		pid_t r = waitpid(pid, &status, 0);

		if (r == pid && (WIFSIGNALED(status) || WIFEXITED(status)))
			break;
		if (r < 0 && errno != EINTR) {
			CHECKF(0, "waitpid(%d): %s", (int)pid, strerror(errno));
			break;
		}
		if (t_now_ms() > deadline) {
			CHECKF(0, "client pid %d not reaped within 5 s of SIGKILL", (int)pid);
			break;
		}
	}
	if (WIFEXITED(status))
		CHECKF(0, "client pid %d exited (%d) before it was killed", (int)pid, WEXITSTATUS(status));
	else if (WTERMSIG(status) != SIGKILL)
		CHECKF(0, "client pid %d died of signal %d (%s) before it was killed", (int)pid,
		       WTERMSIG(status), strsignal(WTERMSIG(status)));
	O.token_slot[O.cl[slot].token] = -1;
	O.cl[slot].pid = 0;
	__atomic_store_n(&sh->slot[slot].ident, 0, __ATOMIC_SEQ_CST);
}

/*
 * about to kill the client in slot at a random point: it starts no 2 MiB
 * kmalloc any more; if it is inside one, that counts against the budget,
 * or else the kill waits until it is out
 */
static void settle_large(int slot)
{
	struct ch_slot *s = &sh->slot[slot];
	uint64_t t0 = t_now_ms();

	__atomic_store_n(&s->no_large, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&s->in_large, __ATOMIC_SEQ_CST))
		return;
	if (__atomic_load_n(&sh->large_budget, __ATOMIC_SEQ_CST) > 0) {
		__atomic_sub_fetch(&sh->large_budget, 1, __ATOMIC_SEQ_CST);
		O.large_kills++;
		return;
	}
	while (__atomic_load_n(&s->in_large, __ATOMIC_SEQ_CST) && t_now_ms() - t0 < O.stall_ms)
		t_sleep_us(100);
	if (__atomic_load_n(&s->in_large, __ATOMIC_SEQ_CST))
		O.large_kills++;	/* stuck there?  the progress check will tell */
}

/* before the kill: no one hands it anything more */
static void mark_dead(int slot)
{
	__atomic_store_n(&dead[O.cl[slot].token], 1, __ATOMIC_SEQ_CST);
}

/*
 * after the kill: what slubd must free as the dead client's, counted once it
 * can no longer change.  An object it was handing over is in its count,
 * though the give may have made the receiver its owner already (its
 * successor settles which): not one slubd must free as the dead client's.
 */
static void count_dead(int slot)
{
	uint64_t due = reclaim_held_by(slot, O.cl[slot].token);
	const struct ch_pending *pe = &sh->slot[slot].pend;
	uint32_t pend = __atomic_load_n(&pe->active, __ATOMIC_SEQ_CST) ? pe->kind : 0;

	if (pend == K_RECLAIM && due)
		due--;
	O.pend_kind[O.cl[slot].token] = pend;
	O.reclaim_due += due;
	O.due_reclaim[O.cl[slot].token] = (uint32_t)due;
}

/* the process a thread belongs to (Tgid in /proc/TID/status), or 0 */
static pid_t tgid_of(int tid)
{
	char path[64], line[128];
	pid_t tgid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	if (!(f = fopen(path, "r")))
		return 0;
	while (!tgid && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Tgid:", 5))
			tgid = (pid_t)atoi(line + 5);
	fclose(f);
	return tgid;
}

/* run gdb on pid with the commands; print the lines that start with one of keep */
static void gdb_show(pid_t pid, const char *const *cmds, int ncmds, const char *keep, char *last,
		     size_t lastlen)
{
	char pids[16], *argv[32], *out = NULL;
	int argc = 0, fd;
	size_t len = 0;
	pid_t g;

	if (access("/usr/bin/gdb", X_OK))
		return;
	snprintf(pids, sizeof(pids), "%d", (int)pid);
	argv[argc++] = "/usr/bin/gdb";
	argv[argc++] = "-p";
	argv[argc++] = pids;
	argv[argc++] = "-batch";
	for (int i = 0; i < ncmds && argc < 30; i++) {
		argv[argc++] = "-ex";
		argv[argc++] = (char *)cmds[i];
	}
	argv[argc] = NULL;
	g = e2e_spawn(argv, &fd);
	if (g <= 0)
		return;
	e2e_read_all(fd, &out, &len, 20000);
	close(fd);
	e2e_waitpid_timeout(g, 1000);
	for (char *l = out ? strtok(out, "\n") : NULL; l; l = strtok(NULL, "\n")) {
		if (!strchr(keep, l[0]))
			continue;
		printf("    %s\n", l);
		if (last) {	/* what was printed, as far as it fits */
			size_t used = strlen(last);

			snprintf(last + used, lastlen - used, "%s\n", l);
		}
	}
	free(out);
}

static void show_task(const char *what, int tid)
{
	char path[64], buf[512] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", tid);
	if ((f = fopen(path, "r"))) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	} else {
		snprintf(buf, sizeof(buf), "(gone: %s)", strerror(errno));
	}
	printf("  %s %d: /proc stat: %.100s\n", what, tid, buf);
}

/*
 * a client that does not move: where is it?  Its state, and with gdb its
 * stack; if it waits for a lock, the lock's owner (its stacks too)
 */
static void show_stuck(int slot)
{
	static const char *const bt[] = { "bt 12" };
	static const char *const all[] = { "thread apply all bt 12" };
	pid_t pid = O.cl[slot].pid;
	char path[64], out[1024] = "";
	const char *m;
	unsigned long long mutex = 0;
	int32_t word[3];
	int fd;

	show_task("client", (int)pid);
	gdb_show(pid, bt, 1, "#", out, sizeof(out));
	/* the mutex it waits for (from the stack): its owner, read from the client's memory */
	m = strstr(out, "mutex=0x");
	if (!m || sscanf(m, "mutex=%llx", &mutex) != 1)
		return;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, word, sizeof(word), (off_t)mutex) != (ssize_t)sizeof(word)) {
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	printf("  it waits for the mutex at %#llx: lock word %#x, owner %d\n", mutex,
	       (unsigned int)word[0], word[2]);
	if ((word[0] & 0x3fffffff) > 0) {
		int tid = word[0] & 0x3fffffff;
		pid_t tgid = tgid_of(tid);

		show_task("the lock's owner, thread", tid);
		if (tgid > 0)
			gdb_show(tgid, all, 1, "#T", NULL, 0);
	}
}

/*
 * a client that has not moved for a while: if it sleeps on a futex (a lock
 * of the arena), who holds it?  /proc/PID/syscall gives the futex's address,
 * /proc/PID/mem its word: the owner's thread id.  Printed at once, while the
 * owner still holds it; its stacks too when gdb is installed.
 */
static void show_waiting(int slot)
{
	static const char *const all[] = { "thread apply all bt 14" };
	pid_t pid = O.cl[slot].pid;
	char path[64], line[256] = "";
	unsigned long long nr = 0, addr = 0;
	pid_t tgid;
	uint32_t word = 0;
	FILE *f;
	int fd, tid;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	if (!(f = fopen(path, "r")))
		return;
	if (!fgets(line, sizeof(line), f) || sscanf(line, "%llu %llx", &nr, &addr) != 2)
		nr = 0;
	fclose(f);
	if (nr != 202)	/* not in futex() */
		return;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (pread(fd, &word, sizeof(word), (off_t)addr) != (ssize_t)sizeof(word))
		word = 0;
	close(fd);
	tid = (int)(word & 0x3fffffffu);
	printf("  client token %u (pid %d) has not moved for %lu ms: it waits on the futex at "
	       "%#llx, word %#x (owner thread %d)\n", O.cl[slot].token, (int)pid, O.stall_ms / 2,
	       addr, word, tid);
	if (!tid)
		return;
	show_task("  the owner, thread", tid);
	tgid = tgid_of(tid);
	snprintf(path, sizeof(path), "/proc/%d/syscall", tid);
	if ((f = fopen(path, "r"))) {
		if (fgets(line, sizeof(line), f))
			printf("    its system call: %s", line);
		fclose(f);
	}
	if (tgid > 0)
		gdb_show(tgid, all, 1, "#T", NULL, 0);
}

/* every client but skip does progress_ops operations within stall_ms */
static void check_progress(int skip, const char *after)
{
	uint64_t base[CH_MAX_CLIENTS], t0 = t_now_ms(), took;
	int done = 0, looked = 0;

	for (int i = 0; i < O.n; i++)
		base[i] = __atomic_load_n(&sh->slot[i].ops, __ATOMIC_ACQUIRE);
	while (!done) {
		done = 1;
		for (int i = 0; i < O.n; i++)
			if (i != skip && __atomic_load_n(&sh->slot[i].ops, __ATOMIC_ACQUIRE) <
					 base[i] + O.progress_ops)
				done = 0;
		if (done || t_now_ms() - t0 > O.stall_ms)
			break;
		if (!looked && t_now_ms() - t0 > O.stall_ms / 2) {
			/* half the bound gone: look at who holds what the slow ones wait for */
			looked = 1;
			for (int i = 0; i < O.n; i++)
				if (i != skip && __atomic_load_n(&sh->slot[i].ops, __ATOMIC_ACQUIRE) <
						 base[i] + O.progress_ops)
					show_waiting(i);
		}
		t_sleep_us(200);
	}
	took = t_now_ms() - t0;
	if (took > O.worst_progress_ms)
		O.worst_progress_ms = took;
	for (int i = 0; i < O.n; i++) {
		uint64_t did = __atomic_load_n(&sh->slot[i].ops, __ATOMIC_ACQUIRE) - base[i];

		if (i != skip && did < O.progress_ops) {
			CHECKF(0, "after %s: client token %u (slot %d) did %llu of %lu operations in %lu ms: "
			       "blocked (seed %llu)", after, O.cl[i].token, i, (unsigned long long)did,
			       O.progress_ops, O.stall_ms, (unsigned long long)O.seed);
			show_stuck(i);
		}
	}
}

static void kill_one(void)
{
	int v = (int)(orand() % (uint64_t)O.n);
	struct ch_slot *s = &sh->slot[v];
	pid_t pid = O.cl[v].pid;
	char what[96];

	if (orand() % 100 < O.hook_pct) {
		int h = O.hooks[O.hook_turn++ % (unsigned long)O.nhooks], status;
		uint64_t t0 = t_now_ms();
		bool stopped = false;

		__atomic_store_n(&s->arm, h, __ATOMIC_SEQ_CST);
		for (;;) {
			pid_t r = waitpid(pid, &status, WNOHANG | WUNTRACED);

			if (r == pid && WIFSTOPPED(status)) {
				stopped = true;
				break;
			}
			if (r == pid) {
				char how[96];

				CHECKF(0, "client token %u ended on its own, armed for %s: %s", O.cl[v].token,
				       hook_name(h), t_status_str(status, how, sizeof(how)));
				O.cl[v].pid = 0;
				return;
			}
			if (t_now_ms() - t0 > O.reach_ms)
				break;
			t_sleep_us(100);
		}
		if (stopped) {
			uint64_t took = t_now_ms() - t0;
			int at = __atomic_load_n(&s->at_hook, __ATOMIC_SEQ_CST);

			CHECKF(at == h, "client token %u stopped at hook %d, armed for %s", O.cl[v].token,
			       at, hook_name(h));
			if (took > O.worst_reach_ms)
				O.worst_reach_ms = took;
			O.hook_kills[h]++;
			if (h != HOOK_PUNCH && __atomic_load_n(&s->in_large, __ATOMIC_SEQ_CST)) {
				__atomic_sub_fetch(&sh->large_budget, 1, __ATOMIC_SEQ_CST);
				O.large_kills++;
			}
			snprintf(what, sizeof(what), "a kill at %s", hook_name(h));
		} else {
			__atomic_store_n(&s->arm, 0, __ATOMIC_SEQ_CST);
			settle_large(v);
			O.unreached[h]++;
			O.random_kills++;
			snprintf(what, sizeof(what), "a kill (%s not reached)", hook_name(h));
		}
	} else {
		t_sleep_us((unsigned int)(orand() % 3000));
		settle_large(v);
		O.random_kills++;
		snprintf(what, sizeof(what), "a kill at a random point");
	}
	mark_dead(v);
	kill_and_reap(v);
	count_dead(v);
	O.nkills++;
	check_progress(v, what);
	retire_counts(v);
	start_client(v);
}

/* a table scan: per token and kind, what live clients hold; what dead ones left */
struct ch_count {
	uint64_t live[K_NR], dead[K_NR];
	uint64_t slot_kind[CH_MAX_CLIENTS][K_NR];
	uint64_t stray;			/* entries of tokens never handed out */
};

static void scan(struct ch_count *c)
{
	memset(c, 0, sizeof(*c));
	memset(O.dead_user, 0, max_tokens * sizeof(*O.dead_user));
	for (uint64_t i = 0; i < sh->table_len; i++) {
		uint32_t cur = __atomic_load_n(&table[i], __ATOMIC_RELAXED), t, k;

		if (!cur)
			continue;
		t = ENTRY_TOKEN(cur);
		k = ENTRY_KIND(cur);
		if (t == 0 || t >= O.next_token || k == K_NONE || k >= K_NR) {
			c->stray++;
			continue;
		}
		if (dead[t]) {
			c->dead[k]++;
			if (k == K_USER)
				O.dead_user[t]++;
		} else {
			c->live[k]++;
			if (O.token_slot[t] >= 0)
				c->slot_kind[O.token_slot[t]][k]++;
			else
				c->stray++;
		}
	}
}

static bool all_paused(uint32_t gen, uint64_t ms)
{
	uint64_t t0 = t_now_ms();

	for (;;) {
		int n = 0;

		for (int i = 0; i < O.n; i++)
			n += __atomic_load_n(&sh->slot[i].paused, __ATOMIC_SEQ_CST) == gen;
		if (n == O.n)
			return true;
		if (t_now_ms() - t0 > ms)
			return false;
		t_sleep_us(200);
	}
}

/* take in what the monitor read since the last call */
static void take_reports(void)
{
	uint32_t n = __atomic_load_n(&sh->mon.nrep, __ATOMIC_ACQUIRE);

	CHECKF(n - O.mon_done <= CH_MON_MAX, "%u leak reports came between two rounds, more than "
	       "the %d the test keeps", n - O.mon_done, CH_MON_MAX);
	if (n - O.mon_done > CH_MON_MAX)
		O.mon_done = n - CH_MON_MAX;
	for (; O.mon_done != n; O.mon_done++) {
		const struct ch_report *r = &sh->mon.rep[O.mon_done % CH_MON_MAX];
		uint32_t t = r->pid < O.pid_max ? O.pid_token[r->pid] : 0;

		if (r->kind == K_USER) {
			O.rep_user_n++;
			O.rep_user_objs += r->objects;
		} else if (r->kind == K_DEBUG) {
			/* chaos.debug's leaks: only checked to name dead clients, not left */
			O.rep_debug_n++;
			O.rep_debug_objs += r->objects;
		} else {
			O.rep_reclaim_n++;
			O.rep_reclaim_objs += r->objects;
		}
		if (r->pid == 0) {	/* too many dead owners at once: "the rest" */
			if (r->kind == K_USER)
				O.pooled_user++;
			else if (r->kind == K_RECLAIM)
				O.pooled_reclaim++;
			continue;
		}
		if (!t || !dead[t] || O.token_pid[t] != (int32_t)r->pid) {
			O.rep_bad++;
			CHECKF(0, "round %lu: slubd reports pid %u died holding %u objects of %s, but %s "
			       "(seed %llu)", O.rounds + 1, r->pid, r->objects, kind_name[r->kind],
			       t ? "that client lives" : "no client of this test had that pid",
			       (unsigned long long)O.seed);
			continue;
		}
		if ((r->kind == K_RECLAIM) != (r->freed != 0))
			CHECKF(0, "round %lu: slubd reports pid %u died holding %u objects of %s, %s",
			       O.rounds + 1, r->pid, r->objects, kind_name[r->kind],
			       r->freed ? "freed" : "not freed");
		/* a second report of the same pid counts all its objects again */
		if (r->kind == K_USER && r->objects > O.rep_user[t])
			O.rep_user[t] = r->objects;
		else if (r->kind == K_RECLAIM)
			O.rep_reclaim[t] += r->objects;	/* freed: each time others */
	}
}

/*
 * has slubd reported every dead client that held objects of chaos.user
 * (left: leaked) or chaos.reclaim (freed)?  Where it pooled owners ("the
 * rest"), the ones it did not name are taken to be in the pool.  With
 * complain, say which are missing.
 */
static bool reports_complete(bool complain)
{
	unsigned int said = 0;
	bool ok = true;

	for (uint32_t t = O.first_unverified; t < O.next_token; t++) {
		if (!dead[t] || O.verified[t])
			continue;
		if (O.dead_user[t] && !O.rep_user[t] && !O.pooled_user) {
			ok = false;
			if (complain && said++ < 5)
				CHECKF(0, "client token %u (pid %d) died holding %u objects of %s: slubd "
				       "reported no leak of that pid (seed %llu)", t, (int)O.token_pid[t],
				       O.dead_user[t], kind_name[K_USER], (unsigned long long)O.seed);
		}
		/*
		 * fewer: an object given to it as it died (the giver waited for the
		 * node lock the scrub held) is counted by the next scrub, which
		 * reports the pid again; the rounds' own connections bring one on
		 */
		if (O.rep_user[t] && O.rep_user[t] < O.dead_user[t])
			ok = false;
		if (O.due_reclaim[t] && !O.rep_reclaim[t] && !O.pooled_reclaim) {
			ok = false;
			if (complain && said++ < 5)
				CHECKF(0, "client token %u (pid %d) died holding about %u objects of %s: slubd "
				       "reported freeing none of that pid (seed %llu)", t, (int)O.token_pid[t],
				       O.due_reclaim[t], kind_name[K_RECLAIM], (unsigned long long)O.seed);
		}
		/* the report may count one more: allocated by the victim, not yet entered */
		if (complain && O.rep_user[t] &&
		    (O.rep_user[t] < O.dead_user[t] || O.rep_user[t] > O.dead_user[t] + 2))
			CHECKF(0, "client token %u (pid %d) left %u objects of %s; slubd reported %u "
			       "(it was handing over: %s) (seed %llu)", t, (int)O.token_pid[t],
			       O.dead_user[t], kind_name[K_USER], O.rep_user[t],
			       O.pend_kind[t] ? kind_name[O.pend_kind[t]] : "nothing",
			       (unsigned long long)O.seed);
	}
	if (complain && said > 5)
		CHECKF(0, "and %u more dead clients of which slubd said nothing", said - 5);
	return ok;
}

/* the dead clients so far are checked: the next round looks at the new ones */
static void reports_verified(void)
{
	uint64_t n = 0, with = 0, left = 0, rep_left = 0, due = 0, rep_freed = 0;

	for (uint32_t t = O.first_unverified; t < O.next_token; t++)
		if (dead[t] && !O.verified[t]) {
			O.verified[t] = 1;
			n++;
			with += O.dead_user[t] != 0;
			left += O.dead_user[t];
			rep_left += O.rep_user[t];
			due += O.due_reclaim[t];
			rep_freed += O.rep_reclaim[t];
		}
	if (O.verbose)
		printf("  %llu dead clients: %llu left %llu objects of %s, slubd named their pids for "
		       "%llu (%llu reports of \"the rest\"); they held about %llu of %s, slubd freed %llu "
		       "naming their pids (%llu reports of the rest)\n", (unsigned long long)n,
		       (unsigned long long)with, (unsigned long long)left, kind_name[K_USER],
		       (unsigned long long)rep_left, (unsigned long long)O.pooled_user,
		       (unsigned long long)due, kind_name[K_RECLAIM], (unsigned long long)rep_freed,
		       (unsigned long long)O.pooled_reclaim);
	while (O.first_unverified < O.next_token && O.verified[O.first_unverified])
		O.first_unverified++;
	O.pooled_user = O.pooled_reclaim = 0;
}

/* let the monitor read the ring twice more: what is there now is then taken */
static void monitor_catch_up(void)
{
	uint64_t p0 = __atomic_load_n(&sh->mon.polls, __ATOMIC_SEQ_CST), t0 = t_now_ms();

	while (__atomic_load_n(&sh->mon.polls, __ATOMIC_SEQ_CST) < p0 + 2 && t_now_ms() - t0 < 2000)
		t_sleep_us(500);
}

static void round_check(bool final)
{
	static uint32_t gen;
	struct ch_count c;
	struct ch_stats st;
	struct e2e_validate v;
	uint64_t t0, untracked = O.nkills + 1, want_km;
	int ok = 0;

	gen++;
	__atomic_store_n(&sh->pause, gen, __ATOMIC_SEQ_CST);
	if (!all_paused(gen, O.stall_ms + 1000)) {
		for (int i = 0; i < O.n; i++)
			CHECKF(sh->slot[i].paused == gen, "round %lu: client token %u (slot %d) did not pause "
			       "within %lu ms", O.rounds + 1, O.cl[i].token, i, O.stall_ms + 1000);
		return;
	}
	scan(&c);
	CHECKF(c.stray == 0, "round %lu: %llu table entries of no known client", O.rounds + 1,
	       (unsigned long long)c.stray);

	/* nothing lost: each live client holds, or has waiting, what the table gives it */
	for (int i = 0; i < O.n; i++) {
		uint64_t ring[K_NR] = { 0 };

		for (int j = 0; j < O.n; j++) {
			struct ch_ring *r = &sh->ring[i][j];

			for (uint64_t t = r->tail; t != r->head; t++)
				if (r->it[t % CH_RING].to == O.cl[i].token && r->it[t % CH_RING].kind < K_NR)
					ring[r->it[t % CH_RING].kind]++;
		}
		for (int k = K_PLAIN; k < K_NR; k++)
			CHECKF(c.slot_kind[i][k] == sh->slot[i].held[k] + ring[k],
			       "round %lu: client token %u: the table gives it %llu %s objects; it holds "
			       "%llu and has %llu waiting in its rings", O.rounds + 1, O.cl[i].token,
			       (unsigned long long)c.slot_kind[i][k], kind_name[k],
			       (unsigned long long)sh->slot[i].held[k], (unsigned long long)ring[k]);
	}

	/* slubd's scrub runs 200 ms after a client's connection closed: poll */
	t0 = t_now_ms();
	for (;;) {
		if (get_stats(&st) || e2e_validate(sock_path, NULL, &v))
			return;
		monitor_catch_up();
		take_reports();
		ok = v.err == 0 && v.errors == 0 &&
		     st.active[K_RECLAIM] == c.live[K_RECLAIM] &&
		     reports_complete(false);
		if (ok || t_now_ms() - t0 > CH_SCRUB_MS)
			break;
		t_sleep_ms(20);
	}
	reports_complete(true);
	reports_verified();
	if (t_now_ms() - t0 > O.worst_scrub_ms)
		O.worst_scrub_ms = t_now_ms() - t0;
	CHECKF(v.err == 0 && v.errors == 0, "round %lu: validate: err %d, %llu errors, first: %s "
	       "(seed %llu)", O.rounds + 1, v.err, (unsigned long long)v.errors, v.first_error,
	       (unsigned long long)O.seed);
	CHECKF(st.active[K_RECLAIM] == c.live[K_RECLAIM], "round %lu: chaos.reclaim holds %llu "
	       "objects, live clients %llu (dead ones held %llu since the start): what dead "
	       "clients held is not back (seed %llu)", O.rounds + 1,
	       (unsigned long long)st.active[K_RECLAIM], (unsigned long long)c.live[K_RECLAIM],
	       (unsigned long long)O.reclaim_due, (unsigned long long)O.seed);
	for (int k = K_PLAIN; k <= K_DEBUG; k++) {
		uint64_t tracked = c.live[k] + c.dead[k];

		CHECKF(st.active[k] >= tracked && st.active[k] - tracked <= untracked,
		       "round %lu: %s holds %llu objects; live clients hold %llu, dead ones left %llu, "
		       "and at most %llu more may have been taken by a victim not yet recorded",
		       O.rounds + 1, kind_name[k], (unsigned long long)st.active[k],
		       (unsigned long long)c.live[k], (unsigned long long)c.dead[k],
		       (unsigned long long)untracked);
	}
	want_km = O.kmalloc_base + c.live[K_KMALLOC] + c.dead[K_KMALLOC];
	CHECKF(st.active[K_KMALLOC] >= want_km && st.active[K_KMALLOC] - want_km <= untracked,
	       "round %lu: the kmalloc caches hold %llu objects; %llu before the clients, live "
	       "clients hold %llu, dead ones left %llu, at most %llu more unrecorded", O.rounds + 1,
	       (unsigned long long)st.active[K_KMALLOC], (unsigned long long)O.kmalloc_base,
	       (unsigned long long)c.live[K_KMALLOC], (unsigned long long)c.dead[K_KMALLOC],
	       (unsigned long long)untracked);
	if (O.verbose)
		printf("  round %lu after %lu kills: arena used %.1f MiB; live clients hold %llu/%llu/%llu/"
		       "%llu/%llu, dead ones left %llu/%llu/%llu/%llu (plain/user/debug/reclaim/kmalloc); "
		       "the scrub took %llu ms\n", O.rounds + 1, O.nkills, (double)st.arena_used / 1048576.0,
		       (unsigned long long)c.live[K_PLAIN], (unsigned long long)c.live[K_USER],
		       (unsigned long long)c.live[K_DEBUG],
		       (unsigned long long)c.live[K_RECLAIM], (unsigned long long)c.live[K_KMALLOC],
		       (unsigned long long)c.dead[K_PLAIN], (unsigned long long)c.dead[K_USER],
		       (unsigned long long)c.dead[K_DEBUG],
		       (unsigned long long)c.dead[K_KMALLOC], (unsigned long long)(t_now_ms() - t0));
	for (int k = K_PLAIN; k < K_NR; k++)
		O.leaked_seen[k] += c.dead[k];
	if (c.dead[K_USER])
		O.user_dead_rounds++;

	/* one live client frees what the dead left (reclaim aside: slubd did) */
	__atomic_store_n(&sh->collector, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sh->collect, gen, __ATOMIC_SEQ_CST);
	t0 = t_now_ms();
	while (__atomic_load_n(&sh->slot[0].collected, __ATOMIC_SEQ_CST) != gen) {
		if (t_now_ms() - t0 > 30000) {
			CHECKF(0, "round %lu: the collector did not finish within 30 s", O.rounds + 1);
			return;
		}
		t_sleep_us(500);
	}

	if (final) {
		__atomic_store_n(&sh->final, 1, __ATOMIC_SEQ_CST);
		t0 = t_now_ms();
		for (int i = 0; i < O.n; i++)
			while (!__atomic_load_n(&sh->slot[i].final_done, __ATOMIC_SEQ_CST)) {
				if (t_now_ms() - t0 > 30000) {
					CHECKF(0, "client token %u did not free its objects within 30 s",
					       O.cl[i].token);
					return;
				}
				t_sleep_us(500);
			}
		scan(&c);
		for (int k = K_PLAIN; k < K_NR; k++)
			CHECKF(c.live[k] == 0 && (k == K_RECLAIM || c.dead[k] == 0),
			       "at the end: %llu %s objects still entered to live clients, %llu to dead "
			       "ones", (unsigned long long)c.live[k], kind_name[k],
			       (unsigned long long)c.dead[k]);
		if (get_stats(&st) || e2e_validate(sock_path, NULL, &v))
			return;
		CHECKF(v.err == 0 && v.errors == 0, "at the end: validate: err %d, %llu errors, first: %s",
		       v.err, (unsigned long long)v.errors, v.first_error);
		CHECKF(st.active[K_RECLAIM] == 0, "at the end: chaos.reclaim holds %llu objects, "
		       "want 0", (unsigned long long)st.active[K_RECLAIM]);
		for (int k = K_PLAIN; k <= K_DEBUG; k++)
			CHECKF(st.active[k] <= untracked, "at the end: %s holds %llu objects, more than "
			       "the %llu a victim may have taken unrecorded", kind_name[k],
			       (unsigned long long)st.active[k], (unsigned long long)untracked);
		CHECKF(st.active[K_KMALLOC] >= O.kmalloc_base &&
		       st.active[K_KMALLOC] - O.kmalloc_base <= untracked,
		       "at the end: the kmalloc caches hold %llu objects, %llu before the clients",
		       (unsigned long long)st.active[K_KMALLOC], (unsigned long long)O.kmalloc_base);
		printf("  at the end: %s %llu, %s %llu, %s %llu, %s %llu, kmalloc %llu (+%llu) objects "
		       "left; arena used %.1f MiB\n", kind_name[K_PLAIN],
		       (unsigned long long)st.active[K_PLAIN], kind_name[K_USER],
		       (unsigned long long)st.active[K_USER], kind_name[K_DEBUG],
		       (unsigned long long)st.active[K_DEBUG], kind_name[K_RECLAIM],
		       (unsigned long long)st.active[K_RECLAIM],
		       (unsigned long long)(st.active[K_KMALLOC] - O.kmalloc_base),
		       (unsigned long long)O.kmalloc_base, (double)st.arena_used / 1048576.0);
	}
	O.rounds++;
	if (!final)
		__atomic_store_n(&sh->pause, 0, __ATOMIC_SEQ_CST);
}

E2E_CASE(chaos_kills)
{
	struct e2e_slubd *d;
	struct ch_stats st;
	uint64_t t_start = t_now_ms(), ops = 0, sent = 0, reused = 0, forward = 0, collected = 0;
	unsigned long hook_total = 0, unreached_total = 0;
	char hooks[512] = "", unreached[256] = "";
	cpu_set_t set;
	size_t hl = 0, ul = 0;

	memset(&O, 0, sizeof(O));
	O.n = (int)t_env_ul("T_CHAOS_CLIENTS", 4);
	O.kills = t_env_ul("T_CHAOS_KILLS", 200);
	O.hook_pct = t_env_ul("T_CHAOS_HOOK_PCT", 50);
	O.round_every = t_env_ul("T_CHAOS_ROUND", 50);
	O.stall_ms = t_env_ul("T_CHAOS_STALL_MS", 2000);
	O.reach_ms = t_env_ul("T_CHAOS_REACH_MS", 2000);
	O.progress_ops = t_env_ul("T_CHAOS_PROGRESS_OPS", 20);
	O.seed = t_env_ul("T_CHAOS_SEED", 0);
	O.verbose = t_env_ul("T_CHAOS_VERBOSE", 0);
	{
		const char *e = getenv("T_CHAOS_HOOKS");	/* names, e.g. "punch,new_slab" */

		for (int i = 0; i < CH_NR_HOOKS; i++)
			if (!e || !*e || strstr(e, hook_name(ch_hooks[i])))
				O.hooks[O.nhooks++] = ch_hooks[i];
		if (!O.nhooks)
			O.hook_pct = 0;
	}
	if (!O.seed)
		O.seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 20;
	O.rnd = O.seed;
	if (O.n < 2)
		O.n = 2;
	if (O.n > CH_MAX_CLIENTS)
		O.n = CH_MAX_CLIENTS;
	if (!O.round_every)
		O.round_every = 50;
	{
		unsigned long want = 60 + O.kills, have = 0;
		const char *e = getenv("E2E_TIMEOUT");

		if (e)
			have = strtoul(e, NULL, 10);
		alarm((unsigned int)(want > have ? want : have));
	}
	printf("  seed %llu (T_CHAOS_SEED), %lu kills, %d clients\n", (unsigned long long)O.seed,
	       O.kills, O.n);
	ncpus = 0;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int c = 0; c < CPU_SETSIZE && ncpus < 2; c++)
			if (CPU_ISSET(c, &set))
				cpus[ncpus++] = c;

	d = e2e_start(NULL);
	REQUIRE(d != NULL);
	sock_path = d->sock;
	REQUIRE(get_stats(&st) == 0);
	REQUIRE(st.arena_size > 0);
	O.kmalloc_base = st.active[K_KMALLOC];
	O.arena_base = st.arena_used;

	sh = t_shared(sizeof(*sh));
	REQUIRE(sh != NULL);
	sh->nclients = (uint32_t)O.n;
	sh->large_budget = (int32_t)t_env_ul("T_CHAOS_LARGE_KILLS", 8);
	sh->table_len = st.arena_size >> CH_SHIFT;
	table = t_shared(sh->table_len * sizeof(*table));
	max_tokens = (uint32_t)(O.kills + (unsigned long)O.n + 2);
	dead = t_shared(max_tokens);
	O.token_slot = calloc(max_tokens, sizeof(*O.token_slot));
	O.token_pid = calloc(max_tokens, sizeof(*O.token_pid));
	O.due_reclaim = calloc(max_tokens, sizeof(*O.due_reclaim));
	O.rep_user = calloc(max_tokens, sizeof(*O.rep_user));
	O.rep_reclaim = calloc(max_tokens, sizeof(*O.rep_reclaim));
	O.dead_user = calloc(max_tokens, sizeof(*O.dead_user));
	O.pend_kind = calloc(max_tokens, sizeof(*O.pend_kind));
	O.verified = calloc(max_tokens, 1);
	{
		FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
		unsigned int pm = 0;

		if (!f || fscanf(f, "%u", &pm) != 1 || pm < 1024 || pm > (1u << 22))
			pm = 1u << 22;
		if (f)
			fclose(f);
		O.pid_max = pm;
	}
	O.pid_token = calloc(O.pid_max, sizeof(*O.pid_token));
	REQUIRE(table != NULL && dead != NULL && O.token_slot != NULL && O.token_pid && O.due_reclaim &&
		O.rep_user && O.rep_reclaim && O.dead_user && O.pend_kind && O.verified && O.pid_token);
	O.next_token = 1;
	O.first_unverified = 1;

	/* the monitor reads the engine's reports from the arena file */
	{
		static char path[200];
		uint64_t t0 = t_now_ms();

		snprintf(path, sizeof(path), "%s/slubd.arena", d->dir);
		O.mon_pid = t_fork(monitor_main, path);
		REQUIRE(O.mon_pid > 0);
		while (!__atomic_load_n(&sh->mon.up, __ATOMIC_SEQ_CST) && !sh->problems.count &&
		       t_now_ms() - t0 < 10000)
			t_sleep_us(500);
		CHECKF(sh->mon.up, "the monitor did not map the arena %s", path);
	}

	for (int i = 0; i < O.n && !t_failed; i++)
		start_client(i);
	t_sleep_ms(50);
	while (O.nkills < O.kills && !t_failed && !sh->problems.count) {
		t_sleep_ms(1 + (int)(orand() % 10));
		kill_one();
		if (O.nkills % O.round_every == 0 && O.nkills < O.kills)
			round_check(false);
		if (!e2e_alive(d, "during the kills"))
			break;
	}
	if (!t_failed)
		round_check(true);
	monitor_catch_up();
	__atomic_store_n(&sh->mon.stop, 1, __ATOMIC_SEQ_CST);
	t_wait(O.mon_pid, "the monitor");
	for (uint32_t i = 0; i < sh->mon.nmsg; i++)
		printf("  engine report: %s\n", sh->mon.msg[i]);
	CHECKF(sh->mon.other == 0, "the engine reported %llu errors other than leaks (seed %llu)",
	       (unsigned long long)sh->mon.other, (unsigned long long)O.seed);
	show_problems();

	for (int i = 0; i < O.n; i++) {
		struct ch_slot *s = &sh->slot[i];

		ops += s->ops;
		sent += s->sent;
		reused += s->reused;
		forward += s->forward;
		if (s->max_op_ns > O.max_op_ns)
			O.max_op_ns = s->max_op_ns;
	}
	ops += O.ops_retired;
	sent += O.sent_retired;
	reused += O.reused_retired;
	forward += O.forward_retired;
	for (int k = 0; k < K_NR; k++)
		collected += sh->collected[k];
	CHECKF(O.max_op_ns / 1000000 <= O.stall_ms, "a client operation took %llu ms (bound %lu ms)",
	       (unsigned long long)(O.max_op_ns / 1000000), O.stall_ms);

	/* the live clients exit (paused at the end; else, after a failure, killed) */
	__atomic_store_n(&sh->exit_ok, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < O.n; i++) {
		char what[64], how[96];
		int status;

		if (O.cl[i].pid <= 0)
			continue;
		snprintf(what, sizeof(what), "client token %u at the end", O.cl[i].token);
		if (O.rounds && sh->final) {
			status = e2e_waitpid_timeout(O.cl[i].pid, 10000);
			CHECKF(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: %s", what,
			       t_status_str(status, how, sizeof(how)));
		} else {
			kill(O.cl[i].pid, SIGKILL);
			waitpid(O.cl[i].pid, &status, 0);
		}
	}
	e2e_alive(d, "after the clients exited");

	/*
	 * the arena's pages are back: with the pools gone (or holding what
	 * victims took unrecorded) and every cache shrunk, what is in use is
	 * what was before the clients, give or take the quarantined pool
	 * descriptors and a slab per object left
	 */
	if (!t_failed && O.rounds && sh->final) {
		uint64_t left = 0, slack, t0 = t_now_ms();

		for (;;) {
			REQUIRE(get_stats(&st) == 0);
			if ((!st.listed[K_PLAIN] && !st.listed[K_USER] && !st.listed[K_DEBUG] &&
			     !st.listed[K_RECLAIM]) ||
			    t_now_ms() - t0 > 3000)
				break;
			t_sleep_ms(20);
		}
		CHECK(e2e_slubctl(d, NULL, "shrink", NULL) == 0);
		REQUIRE(get_stats(&st) == 0);
		for (int k = K_PLAIN; k <= K_KMALLOC; k++)
			left += st.active[k];
		left -= O.kmalloc_base;
		slack = (1u << 20) + left * (32u << 10) + O.large_kills * (2u << 20);
		printf("  arena used: %.2f MiB before the clients, %.2f MiB after (shrunk; %llu objects "
		       "left; %lu kills inside a 2 MiB kmalloc or kfree)\n",
		       (double)O.arena_base / 1048576.0, (double)st.arena_used / 1048576.0,
		       (unsigned long long)left, O.large_kills);
		CHECKF(st.arena_used <= O.arena_base + slack, "the arena uses %.2f MiB after the clients "
		       "exited and every cache was shrunk, %.2f MiB before them: %.2f MiB of dead clients' "
		       "memory is not back (seed %llu)", (double)st.arena_used / 1048576.0,
		       (double)O.arena_base / 1048576.0,
		       (double)(st.arena_used - O.arena_base) / 1048576.0, (unsigned long long)O.seed);
	}
	if (O.verbose) {
		char *out = NULL;

		e2e_slubctl(d, &out, "stats", NULL);
		printf("%s", out ? out : "");
		free(out);
	}

	for (int i = 0; i < CH_NR_HOOKS; i++) {
		int h = ch_hooks[i];

		hook_total += O.hook_kills[h];
		unreached_total += O.unreached[h];
		hl += (size_t)snprintf(hooks + hl, sizeof(hooks) - hl, "%s%s %lu", i ? ", " : "",
				       hook_name(h), O.hook_kills[h]);
		if (O.unreached[h])
			ul += (size_t)snprintf(unreached + ul, sizeof(unreached) - ul, "%s%s %lu",
					       ul ? ", " : "", hook_name(h), O.unreached[h]);
	}
	printf("  hooks reached within %llu ms; after each kill every live client did %lu operations "
	       "within %llu ms; longest client operation %.1f ms; a new client up within %llu ms; "
	       "the scrub done within %llu ms of a pause\n",
	       (unsigned long long)O.worst_reach_ms, O.progress_ops,
	       (unsigned long long)O.worst_progress_ms, (double)O.max_op_ns / 1e6,
	       (unsigned long long)O.worst_start_ms, (unsigned long long)O.worst_scrub_ms);
	printf("  slubd's reports of dead clients: %llu in %s (%llu objects leaked), %llu in %s (%llu "
	       "objects leaked), %llu in %s (%llu objects freed); %llu reports read, %llu lost\n",
	       (unsigned long long)O.rep_user_n, kind_name[K_USER], (unsigned long long)O.rep_user_objs,
	       (unsigned long long)O.rep_debug_n, kind_name[K_DEBUG],
	       (unsigned long long)O.rep_debug_objs,
	       (unsigned long long)O.rep_reclaim_n, kind_name[K_RECLAIM],
	       (unsigned long long)O.rep_reclaim_objs, (unsigned long long)sh->mon.seen,
	       (unsigned long long)sh->mon.lost);
	printf("  dead clients left (seen at rounds): %s %llu, %s %llu, %s %llu, kmalloc %llu; freed "
	       "by a live client: %llu; hand-overs finished for a dead sender: %llu; reclaimed objects "
	       "allocated again: %llu\n", kind_name[K_PLAIN],
	       (unsigned long long)O.leaked_seen[K_PLAIN], kind_name[K_USER],
	       (unsigned long long)O.leaked_seen[K_USER], kind_name[K_DEBUG],
	       (unsigned long long)O.leaked_seen[K_DEBUG], (unsigned long long)O.leaked_seen[K_KMALLOC],
	       (unsigned long long)collected, (unsigned long long)forward, (unsigned long long)reused);
	printf("chaos: %lu kills (%lu at hooks: %s; %lu at random points%s%s%s), %d clients, %llu ops, "
	       "%llu hand-overs, %llu objects twice, worst stall %llu ms, %lu rounds validated, "
	       "reclaimed %llu objects of dead clients, %.1f s\n",
	       O.nkills, hook_total, hooks, O.random_kills, unreached_total ? ", of which " : "",
	       unreached_total ? unreached : "", unreached_total ? " hooks not reached" : "", O.n,
	       (unsigned long long)ops, (unsigned long long)sent, (unsigned long long)sh->twice,
	       (unsigned long long)(O.worst_progress_ms > O.max_op_ns / 1000000 ?
				    O.worst_progress_ms : O.max_op_ns / 1000000),
	       O.rounds, (unsigned long long)O.rep_reclaim_objs,
	       (double)(t_now_ms() - t_start) / 1000.0);
	e2e_stop(d);
}

T_MAIN(T_CASE(chaos_kills))
