/*
 * chaos.h - what the files of t_chaos share: the kinds of objects, the hook
 * points, the state in shared memory (sh, the table, dead), the
 * orchestrator's state, and the functions each file offers the others.
 * t_chaos.c says what the test does and why each step can be trusted.
 *
 *   t_chaos.c       the case, the orchestrator: clients started, killed, reaped
 *   chaos/client.c  a client: its random work, hand-overs, the hook stops
 *   chaos/monitor.c the monitor of the report ring, stats over the socket
 *   chaos/diag.c    what a stuck client was doing (gdb, /proc)
 *   chaos/check.c   the rounds: scans of the table, reports, validate
 */
#ifndef TESTS_E2E_CHAOS_CHAOS_H
#define TESTS_E2E_CHAOS_CHAOS_H

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

#include "../e2e.h"
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
static inline bool tracks_owner(uint32_t kind)
{
	return kind == K_USER || kind == K_DEBUG || kind == K_RECLAIM;
}

/* the hook points a client reaches (HOOK_SLAB_MUTEX is slubd's: pools are made there) */
static const enum shm_hook ch_hooks[] = {
	HOOK_CPU_LOCKED, HOOK_CPU_DEACTIVATE, HOOK_LIST_LOCKED, HOOK_ZONE_LOCKED,
	HOOK_NEW_SLAB, HOOK_FREE_TRANSIT, HOOK_PUNCH, HOOK_SLAB_ACCT, HOOK_DISCARD,
};
#define CH_NR_HOOKS	((int)(sizeof(ch_hooks) / sizeof(ch_hooks[0])))

static inline const char *hook_name(int h)
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

extern struct ch_shared *sh;
extern uint32_t *table;			/* table_len entries */
extern uint8_t *dead;			/* dead[token]: 1 once the client is (about to be) killed */
extern uint32_t max_tokens;
extern const char *sock_path;
extern int cpus[2], ncpus;

struct ch_arg {
	int slot;
	uint32_t token;
	uint64_t seed;
};

struct ch_stats {
	uint64_t active[K_NR], errors[K_NR];
	int listed[K_NR];
	uint64_t arena_size, arena_used;
};

struct ch_client {
	pid_t pid;
	uint32_t token;
};

/* the orchestrator's state (t_chaos.c) */
struct ch_orch {
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
};
extern struct ch_orch O;

/* ---- what each file offers ---------------------------------------------------------- */

void client_main(void *arg);
void monitor_main(void *arg);
int get_stats(struct ch_stats *out);
uint64_t orand(void);
void show_problems(void);
int start_client(int slot);
void show_stuck(int slot);
void show_waiting(int slot);
void monitor_catch_up(void);
void round_check(bool final);
void check_progress(int skip, const char *after);
void kill_one(void);

#endif
