/*
 * lock.c - the arena's locks: process-shared, robust pthread mutexes.
 *
 * A process may die at any instruction, holding a lock.  The kernel walks
 * the dead thread's robust list and marks each mutex it held; the next
 * locker gets EOWNERDEAD.  shm_lock_acquire then runs the lock's repair
 * function, which checks and mends the structure the lock protects (each
 * lock's repair is written beside the structure, see buddy.c and slub.c),
 * and marks the mutex consistent.  If the repairer itself dies, the mutex is
 * still inconsistent and the next locker repairs again: repairs are
 * idempotent.
 *
 * The global lock order is written at the top of slub.c.
 *
 * No system call under a shared lock: the page allocator gives memory back
 * to the host with a system call, so a thread that frees a chunk while it
 * holds any lock queues the punch (buddy.c, through shm_defer), and the
 * queue (here) runs when the thread releases its last lock.  So do the callbacks of reports made
 * meanwhile (they may print: report.c).  shm_lock_depth counts the
 * locks held.  lock_failed reports a lock not taken (report.c).
 *
 * Layer: above report.c, beside ident.c (a lock word's owner alive: the
 * two call each other).  It calls report.c, ident.c, os.c; the work queued
 * for after the last unlock (shm_defer) is its caller's.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

void (*shm_test_hook)(enum shm_hook where);
__thread int shm_lock_depth;
__thread uint64_t shm_repair_walk_steps;	/* internal.h: the repairs' page walks */

void shm_hook(enum shm_hook where)
{
	void (*fn)(enum shm_hook) = shm_test_hook;

	if (unlikely(fn != NULL))
		fn(where);
}

int shm_robust_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t at;
	int err;

	if ((err = pthread_mutexattr_init(&at)))
		return -err;
	err = pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED);
	if (!err)
		err = pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST);
	if (!err)
		err = pthread_mutex_init(m, &at);
	pthread_mutexattr_destroy(&at);
	return -err;
}

int shm_lock_init(struct shm_lock *l)
{
	memset(l, 0, sizeof(*l));
	return shm_robust_mutex_init(&l->m);
}

/*
 * A lock word that names no thread.  A robust mutex's word is the kernel's
 * robust-futex ABI: the owner's thread id in its low 30 bits, FUTEX_WAITERS
 * and FUTEX_OWNER_DIED above.  When an owner dies the kernel clears the id
 * and sets OWNER_DIED, and the next locker gets EOWNERDEAD.  A word that
 * names a thread that never took it (scribbled over) would make every
 * locker wait forever.  So a waiter that has seen the same word for
 * LOCK_STALE_NS asks who holds it - not the pid namespace it happens to run
 * in, nor /proc, but the arena's thread lives (ident.c): every thread takes
 * its life before it takes any shared lock, and its life word carries the
 * same thread id as the lock words it holds, as its own namespace sees it.
 * A live life with that id - a running, stopped or traced holder, or a
 * thread of another namespace with the same number - is a held lock: the
 * waiter waits on.  No live life with that id: the word is not a holder's;
 * it is reported as corruption, and the waiter does what the kernel does for
 * a dead owner: one compare-and-swap from the word it saw to OWNER_DIED
 * (keeping WAITERS).  If anything took or released the lock meanwhile the
 * word changed and the swap fails; else its next try gets EOWNERDEAD and
 * runs the lock's repair, as after any death.
 */
#define LOCK_STALE_NS	1000000000L	/* 1 s */

#ifdef __GLIBC__
_Static_assert(offsetof(pthread_mutex_t, __data.__lock) == 0, "the futex word leads the mutex");

static bool stale_break(struct arena *a, struct shm_lock *l, uint32_t seen)
{
	uint32_t *word = (uint32_t *)&l->m;
	uint32_t tid = seen & FUTEX_TID_BITS;

	if (!tid || (seen & FUTEX_DIED_BIT) || ident_tid_alive(a, tid))
		return false;
	if (!atomic_cas_full(word, &seen, (seen & FUTEX_WAIT_BIT) | FUTEX_DIED_BIT))
		return false;
	slab_report(a, NULL, SLAB_ERR_LOCK, arena_off_of(a, l),
		    "lock at %#llx named thread %u, which holds no life: broken",
		    (unsigned long long)arena_off_of(a, l), tid);
	return true;
}

static uint32_t lock_word(struct shm_lock *l)
{
	return atomic_load_acquire((uint32_t *)&l->m);
}
#else
static bool stale_break(struct arena *a, struct shm_lock *l, uint32_t seen)
{
	(void)a;
	(void)l;
	(void)seen;
	return false;
}
static uint32_t lock_word(struct shm_lock *l) { (void)l; return 0; }
#endif

/*
 * lock_wait - the contended case.  A robust mutex wakes one waiter per
 * unlock; a waiter woken and then killed before it takes the lock passes
 * the wakeup on to no one, and the others would sleep until some later
 * unlock.  So waits are timed: every LOCK_RECHECK_NS a waiter looks at the
 * lock again itself, which bounds what such a death costs the others; and
 * every LOCK_STALE_NS it looks for a word that names no thread (above).
 */
#define LOCK_RECHECK_NS 20000000L	/* 20 ms */

/*
 * Timed attempts (slubd).  A thread that must never wait long on a lock that
 * a client can hold (slubd's request worker) sets a wait budget
 * (shm_lock_timed, shm_lock_budget_ns): what its contended attempts may wait
 * in all; each attempt waits at most what is left, is charged what it
 * waited, and gives up with -ETIMEDOUT when that runs out.  A budget, not a
 * time of day: a request that met a client's scribble on the list_lock of
 * each of 150 pools, each naming that live client, would otherwise wait for
 * each lock (a recheck interval at least, past a deadline) and hold the
 * worker for seconds; spent once, the rest give up at once.  And a walk that
 * is long without waiting on anything (validate of a large arena) keeps its
 * budget for a lock it finds briefly held.  A lock that is merely held (by a
 * live, perhaps stopped, process) is not broken: nothing is reported as corruption (lock_failed
 * notes it with shm_lock_note_busy instead), and the caller skips or fails
 * its step as it does for any lock it cannot take.  What the thread last
 * found busy is kept in shm_lock_busy: which lock (by name) and the thread
 * id its word named, so that the answer can say "held by pid N".
 *
 * busy_memo: after one attempt timed out, the same thread's next attempts
 * on the same lock, while its word still names the same holder, wait no
 * more than LOCK_MEMO_WAIT_NS for LOCK_MEMO_NS, and none within
 * LOCK_MEMO_QUIET_NS of a wait that gave up: a request queued behind one
 * that met a stopped holder does not wait a full deadline more for the same
 * holder.  Not at once: the word names a thread, not a hold - the holder
 * may have let the lock go and be taking it again for a few microseconds
 * (it was stopped, and continued), and such a lock must not read "busy".
 * The short wait ends as any deadline does, with the look for a word that
 * names no live thread: a memo never spares a dead holder's word (an attempt
 * that gives up at once - budget spent, or quiet - does not look; the next
 * wait does).
 */
__thread bool shm_lock_timed;
__thread uint64_t shm_lock_budget_ns;
__thread struct shm_lock_busy shm_lock_busy;
#define LOCK_MEMO_NS	2000000000ull	/* 2 s */
#define LOCK_MEMO_WAIT_NS 50000000ull	/* 50 ms: many brief holds, never a stopped one */
static __thread struct {
	const struct shm_lock *l;
	uint32_t tid;
	uint64_t until;
	uint64_t waited_at;	/* when a wait on it last gave up */
} busy_memo;
#define LOCK_MEMO_QUIET_NS 250000000ull	/* 250 ms: after a wait gave up, none */

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* a contended attempt gave up: remember the holder for the report and the memo */
static int lock_gave_up(struct arena *a, struct shm_lock *l, uint32_t word, bool waited)
{
	uint32_t tid = word & FUTEX_TID_BITS;

	shm_lock_busy.busy = true;
	shm_lock_busy.tid = tid;
	shm_lock_busy.pid = tid ? ident_tid_pid(a, tid) : 0;
	shm_lock_busy.lock[0] = 0;	/* lock_failed names it */
	if (waited) {	/* only a wait that ran out says the holder keeps it */
		busy_memo.l = l;
		busy_memo.tid = tid;
		busy_memo.waited_at = mono_ns();
		busy_memo.until = busy_memo.waited_at + LOCK_MEMO_NS;
	}
	return ETIMEDOUT;
}

void shm_lock_note_busy(const char *name)
{
	size_t n = strlen(name);

	if (n >= sizeof(shm_lock_busy.lock))
		n = sizeof(shm_lock_busy.lock) - 1;
	memcpy(shm_lock_busy.lock, name, n);
	shm_lock_busy.lock[n] = 0;
}

static __thread uint64_t locks_taken;

void slab_lock_deadline(unsigned int ms)
{
	shm_lock_timed = ms != 0;
	shm_lock_budget_ns = (uint64_t)ms * 1000000ull;
	shm_lock_busy.busy = false;
}

bool slab_lock_busy(char *buf, size_t len)
{
	if (!shm_lock_busy.busy)
		return false;
	if (shm_lock_busy.pid)
		snprintf(buf, len, "%s held by pid %u", shm_lock_busy.lock[0] ? shm_lock_busy.lock :
			 "a lock", shm_lock_busy.pid);
	else
		snprintf(buf, len, "%s held by thread %u (no live process of this arena known)",
			 shm_lock_busy.lock[0] ? shm_lock_busy.lock : "a lock", shm_lock_busy.tid);
	return true;
}

uint64_t slab_lock_taken(void)
{
	return locks_taken;
}

static int lock_wait_until(struct arena *a, struct shm_lock *l, uint64_t deadline);

/* a timed thread's wait: at most what is left of its budget, charged after */
static int lock_wait(struct arena *a, struct shm_lock *l)
{
	uint64_t t0, used, deadline;
	uint32_t seen;
	int err;

	if (!shm_lock_timed)
		return lock_wait_until(a, l, 0);
	seen = lock_word(l);
	if (!shm_lock_budget_ns)
		return lock_gave_up(a, l, seen, false);	/* spent: at once */
	t0 = mono_ns();
	deadline = t0 + shm_lock_budget_ns;
	if (busy_memo.l == l && busy_memo.tid == (seen & FUTEX_TID_BITS) && busy_memo.tid &&
	    t0 < busy_memo.until) {
		/*
		 * the same holder still: at once if a wait on it gave up
		 * within LOCK_MEMO_QUIET_NS (a queue of requests behind a
		 * stopped holder costs one short wait per quiet period, not one
		 * each), else a short wait, not the whole budget
		 */
		if (t0 - busy_memo.waited_at < LOCK_MEMO_QUIET_NS)
			return lock_gave_up(a, l, seen, false);
		if (t0 + LOCK_MEMO_WAIT_NS < deadline)
			deadline = t0 + LOCK_MEMO_WAIT_NS;
	}
	err = lock_wait_until(a, l, deadline);
	used = mono_ns() - t0;
	shm_lock_budget_ns -= used < shm_lock_budget_ns ? used : shm_lock_budget_ns;
	return err;
}

/* deadline: CLOCK_MONOTONIC ns after which the wait gives up (0: none) */
static int lock_wait_until(struct arena *a, struct shm_lock *l, uint64_t deadline)
{
	struct timespec ts;
	uint32_t seen = lock_word(l);
	long waited = 0;
	int err;

	do {
		uint64_t until = mono_ns() + LOCK_RECHECK_NS;

		if (deadline && until > deadline)
			until = deadline;	/* no more than the budget left */
		ts.tv_sec = (time_t)(until / 1000000000ull);
		ts.tv_nsec = (long)(until % 1000000000ull);
		err = pthread_mutex_clocklock(&l->m, CLOCK_MONOTONIC, &ts);
		if (err == ETIMEDOUT && (waited += LOCK_RECHECK_NS) >= LOCK_STALE_NS) {
			uint32_t now = lock_word(l);

			/* unchanged for a second (waiters bit aside): is its owner gone? */
			if (((now ^ seen) & ~FUTEX_WAIT_BIT) == 0 && stale_break(a, l, now)) {
				seen = lock_word(l);
				waited = 0;
				continue;	/* broken: the next try gets EOWNERDEAD */
			}
			seen = now;
			waited = 0;
		}
		/*
		 * At its deadline a timed waiter looks for a word that names no
		 * thread too, when the word has not changed since it looked first
		 * (its wait is shorter than LOCK_STALE_NS): such a word is broken
		 * by slubd's requests as by any waiter's.
		 */
		if (err == ETIMEDOUT && deadline && mono_ns() >= deadline) {
			uint32_t now = lock_word(l);

			if (((now ^ seen) & ~FUTEX_WAIT_BIT) == 0 && stale_break(a, l, now)) {
				/* a little more: EOWNERDEAD, or a new holder's word */
				deadline = mono_ns() + 5 * LOCK_RECHECK_NS;
				seen = lock_word(l);
				continue;
			}
			return lock_gave_up(a, l, now, true);
		}
	} while (err == ETIMEDOUT);
	return err;
}

/*
 * trylock_unclaim - glibc's pthread_mutex_trylock (2.36 at least) answers
 * ENOTRECOVERABLE having left the lock word holding our thread id (it
 * compares the old word, 0, with our id before it puts it back), so that the
 * mutex looks held by a live thread: every later locker, this thread
 * included, would wait for it for ever.  Put the word back to free; waiters
 * look again within LOCK_RECHECK_NS, and get ENOTRECOVERABLE themselves.
 */
static void trylock_unclaim(struct shm_lock *l)
{
#ifdef __GLIBC__
	uint32_t *word = (uint32_t *)&l->m, me = (uint32_t)gettid();
	uint32_t seen = atomic_load_acquire(word);

	while ((seen & FUTEX_TID_BITS) == me && !atomic_cas_full(word, &seen, 0))
		;
#else
	(void)l;
#endif
}

int shm_lock_acquire(struct arena *a, struct shm_lock *l, void (*repair)(void *arg), void *arg)
{
	int err;

	(void)arena_self(a);	/* our life first: a holder's word names a life */
	if (unlikely(ident_tl_broken))
		return -ENOLCK;	/* a lock we held would never be marked at our death */
	err = pthread_mutex_trylock(&l->m);
	if (unlikely(err == EBUSY))
		err = lock_wait(a, l);
	else if (unlikely(err == ENOTRECOVERABLE))
		trylock_unclaim(l);

	if (likely(err == 0)) {
		shm_lock_depth++;
		locks_taken++;
		return 0;
	}
	if (err == EOWNERDEAD) {
		shm_lock_depth++;
		locks_taken++;
		if (likely(repair != NULL)) {
			repair(arg);
			err = pthread_mutex_consistent(&l->m);
			if (likely(err == 0))
				return 0;
		} else {
			err = ENOTRECOVERABLE;	/* nothing can mend what it protects */
		}
		/*
		 * Held, but not to be vouched for (consistent refused: the mutex
		 * was scribbled on meanwhile).  Unlocked without consistent, it
		 * says ENOTRECOVERABLE to every later locker, unless the scribble
		 * left it looking consistent (then pthread unlocks it plainly).
		 */
		shm_lock_release(l);
		return -err;
	}
	/*
	 * Not taken: EDEADLK, EINVAL, ENOTRECOVERABLE (a scribbled mutex, or one
	 * given up above), EAGAIN.  The caller must not enter its section.
	 */
	return -err;
}

/*
 * Work for after the thread's last unlock (shm_defer): the page allocator's
 * punches of chunks freed while locks were held.  Per thread, bounded
 * (SHM_DEFER_MAX; a caller asks shm_defer_room first and does without the
 * deferral when it is full), run last in, first out.  An item is taken off
 * the queue before it runs: it may take locks, whose last release runs the
 * rest.  A thread that dies with items queued leaves them undone; what each
 * item finishes must be left safe that way (a punch's block stays in
 * transit, ours, for buddy_scrub).
 */
static __thread struct {
	void (*fn)(struct arena *a, uint32_t arg);
	struct arena *a;
	uint32_t arg;
} deferred[SHM_DEFER_MAX];
static __thread int nr_deferred;

bool shm_defer_room(void)
{
	return nr_deferred < SHM_DEFER_MAX;
}

void shm_defer(void (*fn)(struct arena *a, uint32_t arg), struct arena *a, uint32_t arg)
{
	SHM_ASSERT(nr_deferred < SHM_DEFER_MAX);
	deferred[nr_deferred].fn = fn;
	deferred[nr_deferred].a = a;
	deferred[nr_deferred].arg = arg;
	nr_deferred++;
}

static void run_deferred(void)
{
	while (nr_deferred > 0) {
		int i = --nr_deferred;

		deferred[i].fn(deferred[i].a, deferred[i].arg);
	}
}

void shm_lock_release(struct shm_lock *l)
{
	pthread_mutex_unlock(&l->m);
	if (--shm_lock_depth == 0) {
		run_deferred();	/* punches queued while locks were held (buddy.c) */
		slab_report_flush();	/* reports' callbacks held back meanwhile */
	}
}

/* ---- a scrub's timed, locked steps ---------------------------------------- */

/*
 * A timed scrub (slubd times its attempts before it: shm_lock_timed and
 * shm_lock_budget_ns, lock.c).  The wait allowed then is given to each
 * locked step afresh, so
 * that the last steps of a long scrub may wait for a live allocator as
 * long as the first could; a lock held past it (a stopped client) makes
 * that step give up, and its cache waits for the next scrub.
 */
__thread uint64_t scrub_wait_ns;		/* 0: untimed */

void scrub_step_arm(void)
{
	if (scrub_wait_ns)
		shm_lock_budget_ns = scrub_wait_ns;
}

void scrub_hold_note(uint64_t t0, uint64_t *max_hold_ns, uint64_t *steps)
{
	uint64_t d = os_now_ns() - t0;

	if (max_hold_ns && d > *max_hold_ns)
		*max_hold_ns = d;
	if (steps)
		(*steps)++;
}

/* ---- reporting a lock not taken ------------------------------------------ */

static const char *lock_errname(int err)
{
	switch (err) {
	case EDEADLK: return "EDEADLK";
	case EINVAL: return "EINVAL";
	case ENOTRECOVERABLE: return "ENOTRECOVERABLE";
	case EAGAIN: return "EAGAIN";
	case EPERM: return "EPERM";
	default: return "error";
	}
}

void lock_failed(struct arena *a, struct kmem_cache *s, int rc, const char *fmt, ...)
{
	char name[48];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (rc == -ETIMEDOUT) {
		/* held, not broken: a timed attempt (slubd) gave up; no report */
		shm_lock_note_busy(name);
		return;
	}
	slab_report(a, s, SLAB_ERR_LOCK, 0, "%s not taken: %s (%d)", name, lock_errname(-rc), -rc);
}
