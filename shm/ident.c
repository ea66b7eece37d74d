/*
 * ident.c - who is alive: process slots and thread lives.
 *
 * Everything that frees memory or breaks a lock on behalf of a dead process
 * (slab_scrub, buddy_scrub, a waiter that finds a lock word naming nobody)
 * rests on one answer: is this owner dead?  The answer must be the kernel's
 * word, right whatever the uid, the /proc mount options (hidepid), the pid
 * namespace, pid reuse, or which thread of the process still runs; and a
 * process that is merely stopped is alive.  kill(pid, 0) and /proc give none
 * of that.  So:
 *
 *   - A thread life (struct thread_life, in the arena) is a process-shared
 *     robust mutex.  A thread locks one before its first shared lock or
 *     owner record in the arena and holds it until it exits (a TSD destructor
 *     releases it) or its process detaches.  The kernel walks a dying
 *     thread's robust list, however the thread dies, and marks the word
 *     FUTEX_OWNER_DIED: a life word that names a thread and is not marked
 *     belongs to a thread that has not exited.  Stopped, traced or preempted,
 *     it still holds its life.
 *   - A process slot (struct proc_slot) is claimed by the first thread of a
 *     process to need it, by a CAS of its generation; the owner id
 *     gen << 10 | slot is what the arena records as an owner.  A process is
 *     alive while a live life names its id (thread_life.owner, or .claiming
 *     while the claim runs).  Pid reuse cannot keep a dead owner's objects:
 *     a new process has a new id.  A forked child claims its own slot on its
 *     first use (pthread_atfork): what its parent holds stays the parent's.
 *   - Pids appear only in what people read (reports, kmem_cache_owner,
 *     kmem_cache_give): each slot records its claimer's pid as its own pid
 *     namespace sees it, and that namespace; a reader in another namespace
 *     gets 0 (unknown) rather than a pid that means another process there.
 *
 * Claiming a slot.  The claimer holds its life L.  It picks a slot whose
 * current id (gen, s) is dead, stores L.claiming = (gen + 1, s), then CASes
 * the slot's gen from gen to gen + 1: of two claimers one wins; the loser
 * moves on.  After the CAS it stores L.owner = id, then L.claiming = 0, both
 * with release.  A reader (ident_alive) loads gen with acquire, then each
 * life's claiming, then its owner, with acquire: if it reads the slot at the
 * new gen it sees the claiming store (made before the CAS), and if it reads
 * claiming == 0 it sees the owner store (made before that).  So a process
 * is never seen dead while it claims.  A claimer that dies leaves a life
 * marked dead by the kernel, and the slot's id dead with it.
 *
 * Joining.  A new thread of a process that has a slot joins it (L.owner =
 * the id) only while another thread of the process holds a life naming it
 * (members, under maps_lock): then the id is not dead meanwhile.  A reader
 * walks the lives one after another, though: it could pass the joiner's
 * life before the join and reach the other's after that thread left, and
 * see no life at all.  So a joiner, after its owner store, bumps the slot's
 * seq; a leaver clears its owner under maps_lock, after any join made while
 * it was a member.  A reader loads seq (acquire) before its walk and again
 * (after a full fence) when the walk found no life: a reader that saw the
 * leaver's clear sees the joiner's bump, and walks again; one whose first
 * load saw the bump sees the joiner's owner.  A walk retried 8 times
 * answers alive.
 *
 * Held by a connection.  Lives are threads', and a process's threads that
 * touched the arena may all exit while another thread of it, which never
 * did, holds its objects (a program whose worker attached and allocated,
 * then returned them to main and exited).  No robust word outlives its
 * thread, so the process's open connection to slubd answers for it: after
 * attaching, libslub tells slubd its id (Identify), from the thread that
 * claimed it, which holds its life and is blocked in that call meanwhile;
 * slubd stores the id in the slot's held word (ident_hold) and clears it
 * when the connection closes (exit, exec, detach).  An id held is alive
 * (map_alive), so no claimer takes its slot and no scrub frees its objects;
 * a thread of the process that enters while no life of its names the id
 * joins it again (ident_enter), since held stays until the connection
 * closes.  slubd checks the slot before it holds it: the generation is the
 * id's, the id alive by a life at the time (it stores held, then walks, so
 * that a claimer that passed the id as dead before the store finds it alive
 * after - the identifying thread holds its life - or the walk finds it dead
 * and slubd undoes its store), and the slot's pid and namespace are the
 * connection's process's (slubd/held.c).  slubd's own liveness answers ask
 * its private table of what it holds (ident_set_held_fn), not these words,
 * which any client can write; a new slubd adopts the words an old one left
 * and holds them until their processes say them again or are gone
 * (slubd/held.c).  A process that is not connected (a
 * forked child before its first control call, a client whose connection
 * slubd cut) is alive only by its lives: when the last is gone (every
 * thread that touched the arena exited, while threads that never touched it
 * run on), the process is dead to the arena; a thread that comes later
 * claims a new slot, and slubd's scrub may have freed what the old id held
 * in SLAB_RECLAIM_DEAD pools (README).  Whenever this process's id changes
 * (a claim after OWNER_UNKNOWN, or a slot taken from under threads that
 * left without their destructor), every member life is made to name the
 * new id before the id is used.  Members are those lives whose word names
 * their thread, a thread of ours: one whose thread left without its
 * destructor (a raw exit) is dropped before a join, since the kernel freed
 * its life for anyone to take.
 *
 * Forks.  pthread_atfork resets a child; a child made without the handlers
 * (_Fork(), clone() without CLONE_VM) is caught by a private page the
 * kernel wipes in every child (MADV_WIPEONFORK), checked with the fast
 * test.  A thread whose C library state does not match the kernel's (no
 * robust list, or another thread id cached: a raw clone()) takes no life
 * and no shared lock: its operations fail with ENOLCK (lock.c).
 *
 * What can fool this.  A client that scribbles on the ident region can
 * make a dead process look alive (its objects leak) and, by writing what the
 * kernel writes, a live one dead; it is trusted with the arena's contents
 * (DESIGN.md).  The cheap scribbles are caught: a life word of 0 that still
 * names an owner (a release clears the owner first) counts as alive and is
 * reported; a life whose mutex kind is not ours is never taken; an owner
 * id of no possible generation is reported and counts as alive.  Generation
 * wrap (OWNER_GEN_MAX claims of one slot) can make an old dead id look like
 * a live one: a leak, never a double hand-out.  Not caught (open): glibc
 * follows the robust-list links stored inside a held mutex when it unlocks
 * one, so a scribble on those links can fault the thread that unlocks it,
 * as it always could for the arena's locks; and a lock word scribbled to
 * name a live thread waits for it, as for a live holder.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"


/*
 * struct ident_map - one per arena handle of this process: a second mapping
 * of the arena's first chunk, where the lives are locked.  It outlives its
 * arena handle while threads of this process hold lives in it: a robust
 * list entry must stay mapped until its thread releases it or exits, or the
 * kernel's walk of that list at exit stops there.
 */
struct ident_map {
	uint64_t serial;		/* unique in this process (maps_lock): never reused */
	char *base;
	struct proc_slot *slots;
	struct thread_life *lives;
	struct arena_hdr *hdr;		/* in the same mapping */
	uint32_t self;			/* this process's owner id; 0: none yet */
	struct tl_life *members;	/* this process's lives here (tl_life.mnext) */
	bool closed;			/* its arena handle is closed */
	struct ident_map *next;		/* maps_all */
};

/* process-local: maps_all, and every map's self, members and closed */
static pthread_mutex_t maps_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ident_map *maps_all;

/* a life this process holds: on its thread's list (next) and its map's (mnext, maps_lock) */
struct tl_life {
	struct ident_map *m;
	struct thread_life *life;
	uint32_t tid;			/* its thread */
	struct tl_life *next;
	struct tl_life *mnext;
};
static __thread struct tl_life *tl_lives;
__thread struct ident_map *ident_tl_last;	/* the fast check: a life held here */
#define tl_last ident_tl_last
static __thread uint64_t tl_lifeless;	/* serial of a map it found no life in */
static uint64_t maps_serial;		/* maps_lock */
__thread bool ident_tl_broken;		/* this thread's C library state is not the kernel's */
static pthread_key_t tl_key;
static const uint32_t token_one = 1;	/* where fork detection is unavailable */
const volatile uint32_t *ident_fork_token = &token_one;	/* 0 in a new child (WIPEONFORK) */
static volatile uint32_t *fork_page;
static int life_kind;			/* the mutex kind of a life, as formatted */

static uint32_t life_word(const struct thread_life *L)
{
	return atomic_load_acquire((const uint32_t *)&L->m);
}

static bool word_alive(uint32_t w)
{
	return (w & FUTEX_TID_BITS) && !(w & FUTEX_DIED_BIT);
}

static uint32_t os_tid(void)
{
	return (uint32_t)gettid();
}

static void members_prune_locked(struct ident_map *m);

/* ---- pid namespaces, for the pids people read ---------------------------- */

static uint64_t my_pidns;		/* 0: not looked up (reset in a forked child) */
__thread unsigned long shm_locked_syscalls;	/* internal.h */

uint64_t os_pidns(void)
{
	struct stat st;

	if (!my_pidns) {
		shm_syscall_note();
		my_pidns = stat("/proc/self/ns/pid", &st) == 0 ? (uint64_t)st.st_ino : 1;
	}
	return my_pidns == 1 ? 0 : my_pidns;
}

/* ---- formatting and mapping ------------------------------------------------ */

static int life_init(struct thread_life *L)
{
	memset(L, 0, sizeof(*L));
	return shm_robust_mutex_init(&L->m);
}

#ifdef __GLIBC__
static int mutex_kind(const pthread_mutex_t *m) { return m->__data.__kind; }
#else
static int mutex_kind(const pthread_mutex_t *m) { (void)m; return 0; }
#endif

static void tl_destructor(void *arg);

/*
 * In a forked child only the forking thread runs, and it holds no life: the
 * robust mutexes are its parent thread's (glibc empties the child's robust
 * list).  Forget them; the child claims its own slot on first use.  No
 * prepare handler takes maps_lock (another library's prepare handler may
 * take a lock that a thread holds while it waits for maps_lock): the child
 * makes maps_lock anew, and reads maps_all, which is changed by single
 * pointer stores, so a fork amid a change leaves it whole.
 */
static void ident_atfork_child(void)
{
	struct tl_life *t = tl_lives;

	pthread_mutex_init(&maps_lock, NULL);
	while (t) {
		struct tl_life *next = t->next;

		free(t);
		t = next;
	}
	tl_lives = NULL;
	tl_last = NULL;
	tl_lifeless = 0;
	ident_tl_broken = false;
	pthread_setspecific(tl_key, NULL);
	for (struct ident_map *m = maps_all; m; m = m->next) {
		m->self = 0;
		m->members = NULL;
	}
	my_pidns = 0;
	os_pid_refresh();
	if (fork_page)
		*fork_page = 1;
}

__attribute__((constructor)) static void ident_init(void)
{
	struct thread_life probe;
	void *pg;

	pthread_key_create(&tl_key, tl_destructor);
	pthread_atfork(NULL, NULL, ident_atfork_child);
	if (life_init(&probe) == 0) {
		life_kind = mutex_kind(&probe.m);
		pthread_mutex_destroy(&probe.m);
	}
	pg = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pg != MAP_FAILED && madvise(pg, 4096, MADV_WIPEONFORK) == 0) {
		fork_page = pg;
		*fork_page = 1;
		ident_fork_token = fork_page;
	} else if (pg != MAP_FAILED) {
		munmap(pg, 4096);	/* before Linux 4.14: pthread_atfork alone */
	}
}

/*
 * Does this thread's C library agree with the kernel?  glibc keeps the
 * thread id it writes into lock words, and registers the robust list the
 * kernel walks at exit; a thread made by a raw clone() has its parent's id
 * and no list, so a lock it held would never be marked when it dies.
 */
static bool runtime_sane(void)
{
	struct robust_list_head *head = NULL;
	pthread_mutexattr_t at;
	pthread_mutex_t probe;
	size_t len = 0;
	bool ok = true;

	shm_syscall_note();
	if (syscall(SYS_get_robust_list, 0, &head, &len) == 0 && !head)
		return false;
#ifdef __GLIBC__
	pthread_mutexattr_init(&at);
	pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK);
	if (pthread_mutex_init(&probe, &at) == 0) {
		if (pthread_mutex_lock(&probe) == 0) {
			ok = (uint32_t)probe.__data.__owner == os_tid();
			pthread_mutex_unlock(&probe);
		}
		pthread_mutex_destroy(&probe);
	}
	pthread_mutexattr_destroy(&at);
#else
	(void)at;
	(void)probe;
#endif
	return ok;
}

int ident_format(struct arena *a)
{
	struct thread_life *lives = (struct thread_life *)(a->base + IDENT_OFF +
							   NR_PROC_SLOTS * sizeof(struct proc_slot));

	memset(a->base + IDENT_OFF, 0, NR_PROC_SLOTS * sizeof(struct proc_slot));
	for (unsigned int i = 0; i < NR_LIVES; i++) {
		int rc = life_init(&lives[i]);

		if (rc)
			return rc;
	}
	return 0;
}

int ident_open(struct arena *a)
{
	struct ident_map *m = calloc(1, sizeof(*m));
	int rc;

	if (!m)
		return -ENOMEM;
	m->base = os_map(a->fd, IDENT_MAP_SIZE, 0, &rc);
	if (!m->base) {
		free(m);
		return rc;
	}
	m->hdr = (struct arena_hdr *)m->base;
	m->slots = (struct proc_slot *)(m->base + IDENT_OFF);
	m->lives = (struct thread_life *)(m->base + IDENT_OFF +
					  NR_PROC_SLOTS * sizeof(struct proc_slot));
	pthread_mutex_lock(&maps_lock);
	m->serial = ++maps_serial;
	m->next = maps_all;
	maps_all = m;
	pthread_mutex_unlock(&maps_lock);
	a->im = m;
	return 0;
}

/* maps_lock held: m is closed and no thread holds a life in it */
static void map_free_locked(struct ident_map *m)
{
	for (struct ident_map **pp = &maps_all; *pp; pp = &(*pp)->next)
		if (*pp == m) {
			*pp = m->next;
			break;
		}
	os_unmap(m->base, IDENT_MAP_SIZE);
	free(m);
}

/*
 * life_release - the calling thread leaves m: its life names no owner
 * (first, so that a released life is never read as a scribbled one), then
 * its mutex is unlocked.  maps_lock held.
 */
static void life_release_locked(struct ident_map *m, struct tl_life *t)
{
	atomic_store_release(&t->life->owner, 0);
	pthread_mutex_unlock(&t->life->m);
	for (struct tl_life **pp = &m->members; *pp; pp = &(*pp)->mnext)
		if (*pp == t) {
			*pp = t->mnext;
			break;
		}
	if (tl_last == m)
		tl_last = NULL;
	if (!m->members && m->closed)
		map_free_locked(m);
}

/* at thread exit: every life the thread holds goes back */
static void tl_destructor(void *arg)
{
	struct tl_life *t = tl_lives;

	(void)arg;	/* tl_lives itself */
	pthread_mutex_lock(&maps_lock);
	while (t) {
		struct tl_life *next = t->next;

		life_release_locked(t->m, t);
		free(t);
		t = next;
	}
	tl_lives = NULL;
	pthread_mutex_unlock(&maps_lock);
}

void ident_close(struct arena *a)
{
	struct ident_map *m = a->im;

	if (!m)
		return;
	pthread_mutex_lock(&maps_lock);
	for (struct tl_life **pp = &tl_lives; *pp; pp = &(*pp)->next) {
		struct tl_life *t = *pp;

		if (t->m == m) {
			*pp = t->next;
			life_release_locked(m, t);
			free(t);
			break;
		}
	}
	pthread_setspecific(tl_key, tl_lives);
	m->closed = true;
	members_prune_locked(m);
	if (!m->members)
		map_free_locked(m);
	pthread_mutex_unlock(&maps_lock);
	a->im = NULL;
}

_Static_assert(SLAB_OWNER_UNKNOWN == OWNER_UNKNOWN, "shm.h says it too");

uint32_t slab_self(struct arena *a)
{
	return arena_self(a);
}

uint32_t ident_self_of(const struct ident_map *m)
{
	return atomic_load_relaxed(&m->self);
}

/* ---- liveness ----------------------------------------------------------- */

/*
 * slubd's own table of the ids it holds (ident_set_held_fn): where set, the
 * only answer to "held?" in this process, since the arena's held words are
 * memory any client can write; elsewhere (clients) the held word answers
 */
static bool (*held_fn)(uint32_t id);

void ident_set_held_fn(bool (*fn)(uint32_t id))
{
	held_fn = fn;
}

/* is id held alive for an open connection of its process?  (gen checked by the caller) */
static bool is_held(struct ident_map *m, uint32_t id)
{
	if (held_fn)
		return held_fn(id);
	return atomic_load_acquire(&m->slots[OWNER_SLOT(id)].held) == id;
}

/* lives ever taken: scans stop there */
static unsigned int lives_used(const struct ident_map *m)
{
	uint32_t n = atomic_load_acquire(&m->hdr->lives_hwm);

	return n < NR_LIVES ? n : NR_LIVES;
}

/* one walk of the lives: does a live one name id? */
static bool walk_alive(struct arena *a, struct ident_map *m, uint32_t id)
{
	unsigned int used = lives_used(m);

	for (unsigned int i = 0; i < used; i++) {
		struct thread_life *L = &m->lives[i];
		uint32_t claiming, owner, w;

		if (unlikely(shm_test_hook != NULL))
			shm_hook(HOOK_IDENT_WALK);
		claiming = atomic_load_acquire(&L->claiming);
		owner = atomic_load_acquire(&L->owner);

		if (owner != id && claiming != id)
			continue;
		w = life_word(L);
		if (word_alive(w))
			return true;
		/*
		 * A release clears the owner, then unlocks: read again after the
		 * word (acquire), a released life names no owner.  Unlocked and
		 * still naming it: scribbled.
		 */
		if (w == 0 && atomic_load_acquire(&L->owner) == id) {
			slab_report(a, NULL, SLAB_ERR_LOCK, IDENT_OFF,
				    "life %u of owner %#x is unlocked but names it: counted alive",
				    i, id);
			return true;
		}
	}
	return false;
}

static bool map_alive(struct arena *a, struct ident_map *m, uint32_t id)
{
	uint32_t slot = OWNER_SLOT(id), gen = OWNER_GEN(id);
	struct proc_slot *P = &m->slots[slot];

	if (id == 0)
		return false;
	if (id == OWNER_UNKNOWN)
		return true;
	if (gen == 0 || gen > OWNER_GEN_MAX) {
		slab_report(a, NULL, SLAB_ERR_LOCK, IDENT_OFF,
			    "owner id %#x names no possible process: counted alive", id);
		return true;
	}
	for (int tries = 0; tries < 8; tries++) {
		uint32_t seq = atomic_load_acquire(&P->seq);

		if (atomic_load_acquire(&P->gen) != gen)
			return false;	/* claimed again since: the id's process is gone */
		if (is_held(m, id))
			return true;	/* an open connection of its answers for it */
		if (walk_alive(a, m, id))
			return true;
		atomic_fence_full();
		if (atomic_load_acquire(&P->seq) == seq)
			return false;	/* no join raced the walk (see "Joining") */
	}
	return true;
}

bool ident_alive(struct arena *a, uint32_t id)
{
	return map_alive(a, a->im, id);
}

/* gens[slot]: the generation a live life names there, else 0 */
static void lives_snapshot(struct ident_map *m, uint32_t gens[NR_PROC_SLOTS])
{
	unsigned int used = lives_used(m);

	memset(gens, 0, NR_PROC_SLOTS * sizeof(gens[0]));
	for (unsigned int i = 0; i < used; i++) {
		struct thread_life *L = &m->lives[i];
		uint32_t owner = atomic_load_acquire(&L->owner);

		if (owner && owner != OWNER_UNKNOWN && word_alive(life_word(L)))
			gens[OWNER_SLOT(owner)] = OWNER_GEN(owner);
	}
}

/* the id slubd holds in slot s for an open connection (checked), else 0 */
static uint32_t held_id(struct ident_map *m, unsigned int s)
{
	uint32_t held = atomic_load_acquire(&m->slots[s].held);

	if (!held || OWNER_SLOT(held) != s || !OWNER_GEN(held) || OWNER_GEN(held) > OWNER_GEN_MAX ||
	    atomic_load_acquire(&m->slots[s].gen) != OWNER_GEN(held))
		return 0;
	return held;
}

void ident_snapshot(struct arena *a, uint32_t gens[NR_PROC_SLOTS])
{
	struct ident_map *m = a->im;

	lives_snapshot(m, gens);
	for (unsigned int s = 0; s < NR_PROC_SLOTS; s++) {
		uint32_t gen = atomic_load_acquire(&m->slots[s].gen);

		if (!gens[s] && gen && gen <= OWNER_GEN_MAX && is_held(m, OWNER_MAKE(gen, s)))
			gens[s] = gen;
	}
}

bool ident_tid_alive(struct arena *a, uint32_t tid)
{
	if (atomic_load_relaxed(&a->im->hdr->lifeless))
		return true;	/* a thread without a life may hold it: cannot tell */

	struct ident_map *m = a->im;
	unsigned int used = lives_used(m);

	for (unsigned int i = 0; i < used; i++) {
		uint32_t w = life_word(&m->lives[i]);

		if (word_alive(w) && (w & FUTEX_TID_BITS) == tid)
			return true;
	}
	return false;
}

uint32_t ident_tid_pid(struct arena *a, uint32_t tid)
{
	struct ident_map *m = a->im;
	unsigned int used = lives_used(m);

	/* for a report only ("held by pid N"): a racing change gives a stale pid */
	for (unsigned int i = 0; i < used && tid; i++) {
		uint32_t w = life_word(&m->lives[i]);
		bool foreign;

		if (word_alive(w) && (w & FUTEX_TID_BITS) == tid)
			return ident_slot_pid(a, atomic_load_acquire(&m->lives[i].owner), &foreign);
	}
	return 0;
}

/* ---- entering: a life for this thread, a slot for this process ----------- */

/*
 * lock a free or dead life, the lowest first (so that scans stop at the
 * high-water mark, raised before the life is used); NULL if every life is
 * held by a live thread
 */
static struct thread_life *life_take(struct ident_map *m)
{
	for (uint32_t i = 0; i < NR_LIVES; i++) {
		struct thread_life *L = &m->lives[i];
		uint32_t hwm;
		int rc;

		if (word_alive(life_word(L)) || mutex_kind(&L->m) != life_kind)
			continue;
		rc = pthread_mutex_trylock(&L->m);
		if (rc == EOWNERDEAD)
			rc = pthread_mutex_consistent(&L->m);
		if (rc != 0)
			continue;
		hwm = atomic_load_acquire(&m->hdr->lives_hwm);
		while (hwm < i + 1 && !atomic_cas_full(&m->hdr->lives_hwm, &hwm, i + 1))
			;
		/* a dead claimer's or owner's id must not live on in it */
		atomic_store_release(&L->claiming, 0);
		atomic_store_release(&L->owner, 0);
		L->tid = os_tid();
		return L;
	}
	return NULL;
}

/* a new slot for this process, kept alive by L; OWNER_UNKNOWN if none is dead */
static uint32_t slot_claim(struct arena *a, struct ident_map *m, struct thread_life *L)
{
	uint32_t start = atomic_fetch_add_relaxed(&m->hdr->slot_hint, 1);

	for (unsigned int k = 0; k < NR_PROC_SLOTS; k++) {
		uint32_t s = (start + k) % NR_PROC_SLOTS;
		struct proc_slot *P = &m->slots[s];
		uint32_t gen = atomic_load_acquire(&P->gen), ngen, id;

		if (gen && gen <= OWNER_GEN_MAX && map_alive(a, m, OWNER_MAKE(gen, s)))
			continue;
		ngen = gen >= OWNER_GEN_MAX ? 1 : gen + 1;
		id = OWNER_MAKE(ngen, s);
		atomic_store_release(&L->claiming, id);	/* before the CAS publishes gen */
		if (!atomic_cas_full(&P->gen, &gen, ngen))
			continue;
		P->pid = os_pid();
		P->pidns = os_pidns();
		P->claimed_ns = os_now_ns();
		atomic_store_release(&L->owner, id);
		atomic_store_release(&L->claiming, 0);
		return id;
	}
	atomic_store_release(&L->claiming, 0);
	return OWNER_UNKNOWN;
}

/*
 * every member life of this process names id (0 for OWNER_UNKNOWN), then
 * the slot's seq says lives joined it ("Joining"); maps_lock held
 */
static void self_set_locked(struct ident_map *m, uint32_t id)
{
	uint32_t was = m->self == OWNER_UNKNOWN ? 0 : m->self;

	for (struct tl_life *t = m->members; t; t = t->mnext) {
		uint32_t expect = was;

		/* from what we set only: a life that is no longer ours is left alone */
		(void)atomic_cas_full(&t->life->owner, &expect, id == OWNER_UNKNOWN ? 0 : id);
	}
	if (id != OWNER_UNKNOWN)
		(void)__atomic_fetch_add(&m->slots[OWNER_SLOT(id)].seq, 1, __ATOMIC_SEQ_CST);
	m->self = id;
}

/*
 * members_prune_locked - forget member lives whose thread is gone without
 * its destructor (a raw exit; a destructor of another library that came
 * back to the arena after ours ran): the kernel marked such a life, and
 * another thread, of any process, may hold it now.  A member counts only
 * while its life word names its thread, and that thread is one of ours.
 * The node is left to its thread (if it somehow runs, it frees it).
 */
static void members_prune_locked(struct ident_map *m)
{
	pid_t me = (shm_syscall_note(), getpid());

	for (struct tl_life **pp = &m->members; *pp;) {
		struct tl_life *t = *pp;
		uint32_t w = life_word(t->life);

		if (word_alive(w) && (w & FUTEX_TID_BITS) == t->tid &&
		    (shm_syscall_note(), syscall(SYS_tgkill, me, (pid_t)t->tid, 0) == 0)) {
			pp = &t->mnext;
			continue;
		}
		*pp = t->mnext;
	}
}

uint32_t ident_enter(struct arena *a)
{
	struct ident_map *m = a->im;
	struct thread_life *L;
	struct tl_life *t;
	uint32_t id;

	if (!*ident_fork_token)
		ident_atfork_child();	/* a child of _Fork() or clone(): no handler ran */
	for (t = tl_lives; t; t = t->next)
		if (t->m == m) {
			tl_last = m;
			return atomic_load_relaxed(&m->self);
		}
	if (tl_lifeless == m->serial || ident_tl_broken)
		return OWNER_UNKNOWN;
	if (!runtime_sane()) {
		ident_tl_broken = true;
		slab_report(a, NULL, SLAB_ERR_LOCK, IDENT_OFF,
			    "thread %u has no robust list or another thread's id (a raw clone()?): "
			    "it may take no lock", os_tid());
		return OWNER_UNKNOWN;
	}
	t = malloc(sizeof(*t));
	pthread_mutex_lock(&maps_lock);
	L = t ? life_take(m) : NULL;
	if (!L) {
		/*
		 * No life to be had: what we hold has an owner that never counts
		 * as dead, and the locks we take cannot be told from scribbled
		 * ones, so none is broken from now on (lock.c).  Once per thread.
		 */
		pthread_mutex_unlock(&maps_lock);
		free(t);
		tl_lifeless = m->serial;
		atomic_add_relaxed(&m->hdr->lifeless, 1);
		slab_report(a, NULL, SLAB_ERR_LOCK, IDENT_OFF,
			    "thread %u found no free life of %u: its owner never counts as dead",
			    os_tid(), NR_LIVES);
		return OWNER_UNKNOWN;
	}
	id = m->self;
	members_prune_locked(m);	/* only live members keep id alive for a join */
	if (id && id != OWNER_UNKNOWN &&
	    (m->members || atomic_load_acquire(&m->slots[OWNER_SLOT(id)].held) == id)) {
		/*
		 * join: a member of ours, or slubd for our open connection (held),
		 * keeps id alive meanwhile; then say so
		 */
		struct proc_slot *P = &m->slots[OWNER_SLOT(id)];
		bool by_members = m->members != NULL;

		(void)atomic_exchange_full(&L->owner, id);
		(void)__atomic_fetch_add(&P->seq, 1, __ATOMIC_SEQ_CST);
		if (atomic_load_acquire(&P->gen) != OWNER_GEN(id))
			id = 0;	/* taken from under threads that left without their destructor */
		else if (!by_members && atomic_load_acquire(&P->held) != id)
			id = 0;	/* slubd let go meanwhile (our connection closed): a new one */
	} else {
		id = 0;	/* none yet, none left, or OWNER_UNKNOWN: a slot may be free now */
	}
	if (!id) {
		atomic_store_release(&L->owner, 0);
		id = slot_claim(a, m, L);
		self_set_locked(m, id);
	}
	t->m = m;
	t->life = L;
	t->tid = L->tid;
	t->next = tl_lives;
	tl_lives = t;
	t->mnext = m->members;
	m->members = t;
	tl_last = m;
	pthread_setspecific(tl_key, tl_lives);
	pthread_mutex_unlock(&maps_lock);
	return id;
}

/* ---- pids, as people read them -------------------------------------------- */

uint32_t ident_slot_pid(struct arena *a, uint32_t id, bool *foreign)
{
	struct proc_slot *P;
	uint64_t ns, mine = os_pidns();

	*foreign = false;
	if (id == 0 || id == OWNER_UNKNOWN)
		return 0;
	/* a slot keeps its claimer's pid, dead or alive, until it is claimed again */
	P = &a->im->slots[OWNER_SLOT(id)];
	if (atomic_load_acquire(&P->gen) != OWNER_GEN(id))
		return 0;
	ns = P->pidns;
	*foreign = ns && mine && ns != mine;
	return P->pid;
}

int slab_unheld_pids(struct arena *a, uint32_t *pids, unsigned int max)
{
	uint32_t *gens = calloc(NR_PROC_SLOTS, sizeof(*gens));
	uint32_t self = arena_self(a);
	int n = 0;

	if (!gens)
		return -ENOMEM;
	/* a thread that holds no life word may be anyone's: no one can be told absent */
	if (atomic_load_relaxed(&a->im->hdr->lifeless)) {
		free(gens);
		return -EAGAIN;
	}
	lives_snapshot(a->im, gens);
	for (unsigned int slot = 0; slot < NR_PROC_SLOTS; slot++) {
		uint32_t id = OWNER_MAKE(gens[slot], slot);

		if (!gens[slot] || id == self || is_held(a->im, id))
			continue;
		if ((unsigned int)n < max)
			pids[n] = ident_pid(a, id);
		n++;
	}
	free(gens);
	return n;
}

/* ---- held by a connection (slubd's) ---------------------------------------- */

int ident_hold(struct arena *a, uint32_t id, char *why, size_t len)
{
	struct ident_map *m = a->im;
	struct proc_slot *P;
	uint32_t gen = OWNER_GEN(id), was;

	if (id == 0 || id == OWNER_UNKNOWN || gen == 0 || gen > OWNER_GEN_MAX) {
		snprintf(why, len, "owner id %#x names no process slot", id);
		return -EINVAL;
	}
	P = &m->slots[OWNER_SLOT(id)];
	if (atomic_load_acquire(&P->gen) != gen) {
		snprintf(why, len, "owner id %#x is not its slot's (generation %u there): the process "
			 "is gone, or the id is not its", id, atomic_load_acquire(&P->gen));
		return -ESRCH;
	}
	was = atomic_load_acquire(&P->held);
	if (was == id)
		return 0;	/* held already (another connection of the process's, a restart) */
	if (was != 0 && held_id(m, OWNER_SLOT(id)) == was) {
		snprintf(why, len, "owner id %#x: its slot is held for id %#x", id, was);
		return -EBUSY;
	}
	/*
	 * held first, then the walk: a claimer that read held before this
	 * store saw the id dead by its lives, and then so does the walk, unless
	 * the identifying thread (which holds its life, blocked in its call)
	 * is alive - and then the claimer's walk found it alive too.  Found
	 * dead: undo this store (only ours: a word held before stays).
	 */
	(void)atomic_exchange_full(&P->held, id);
	if (atomic_load_acquire(&P->gen) != gen || !walk_alive(a, m, id)) {
		uint32_t expect = id;

		(void)atomic_cas_full(&P->held, &expect, was);
		snprintf(why, len, "owner id %#x: no live thread of the process names it (it exited?)",
			 id);
		return -ESRCH;
	}
	return 0;
}

int ident_slot_info(struct arena *a, uint32_t id, uint32_t *pid, uint64_t *pidns)
{
	struct proc_slot *P;

	if (id == 0 || id == OWNER_UNKNOWN || !OWNER_GEN(id) || OWNER_GEN(id) > OWNER_GEN_MAX)
		return -EINVAL;
	P = &a->im->slots[OWNER_SLOT(id)];
	*pid = P->pid;
	*pidns = P->pidns;
	return atomic_load_acquire(&P->gen) == OWNER_GEN(id) ? 0 : -ESRCH;
}

int ident_held_list(struct arena *a, uint32_t *ids, unsigned int max)
{
	unsigned int n = 0;

	for (unsigned int s = 0; s < NR_PROC_SLOTS; s++) {
		uint32_t id = held_id(a->im, s);

		if (id && n < max && ids)
			ids[n] = id;
		n += id != 0;
	}
	return (int)n;
}

void ident_unhold(struct arena *a, uint32_t id)
{
	uint32_t expect = id;

	if (id && id != OWNER_UNKNOWN)
		(void)atomic_cas_full(&a->im->slots[OWNER_SLOT(id)].held, &expect, 0);
}


uint32_t ident_pid(struct arena *a, uint32_t id)
{
	bool foreign;
	uint32_t pid = ident_slot_pid(a, id, &foreign);

	return foreign ? 0 : pid;
}

uint32_t ident_of_pid(struct arena *a, uint32_t pid)
{
	struct ident_map *m = a->im;
	uint64_t mine = os_pidns();

	if (pid == 0)
		return 0;
	for (unsigned int s = 0; s < NR_PROC_SLOTS; s++) {
		struct proc_slot *P = &m->slots[s];
		uint32_t gen = atomic_load_acquire(&P->gen);

		if (!gen || gen > OWNER_GEN_MAX || P->pid != pid ||
		    (P->pidns && mine && P->pidns != mine))
			continue;
		if (map_alive(a, m, OWNER_MAKE(gen, s)))
			return OWNER_MAKE(gen, s);
	}
	return 0;
}
