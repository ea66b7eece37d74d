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
 * holds any lock queues the punch (buddy.c), and the queue runs when the
 * thread releases its last lock.  shm_lock_depth counts the locks held.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <string.h>

#include "internal.h"

void (*shm_test_hook)(enum shm_hook where);
__thread int shm_lock_depth;

void shm_hook(enum shm_hook where)
{
	void (*fn)(enum shm_hook) = shm_test_hook;

	if (unlikely(fn != NULL))
		fn(where);
}

int shm_lock_init(struct shm_lock *l)
{
	pthread_mutexattr_t at;
	int err;

	memset(l, 0, sizeof(*l));
	if ((err = pthread_mutexattr_init(&at)))
		return -err;
	err = pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED);
	if (!err)
		err = pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST);
	if (!err)
		err = pthread_mutex_init(&l->m, &at);
	pthread_mutexattr_destroy(&at);
	return -err;
}

/*
 * lock_wait - the contended case.  A robust mutex wakes one waiter per
 * unlock; a waiter woken and then killed before it takes the lock passes
 * the wakeup on to no one, and the others would sleep until some later
 * unlock.  So waits are timed: every LOCK_RECHECK_NS a waiter looks at the
 * lock again itself, which bounds what such a death costs the others.
 */
#define LOCK_RECHECK_NS 20000000L	/* 20 ms */

static int lock_wait(struct shm_lock *l)
{
	struct timespec ts;
	int err;

	do {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += LOCK_RECHECK_NS;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		err = pthread_mutex_clocklock(&l->m, CLOCK_MONOTONIC, &ts);
	} while (err == ETIMEDOUT);
	return err;
}

int shm_lock_acquire(struct shm_lock *l, void (*repair)(void *arg), void *arg)
{
	int err = pthread_mutex_trylock(&l->m);

	if (unlikely(err == EBUSY))
		err = lock_wait(l);

	if (likely(err == 0)) {
		shm_lock_depth++;
		return 0;
	}
	if (err == EOWNERDEAD) {
		shm_lock_depth++;
		if (repair)
			repair(arg);
		pthread_mutex_consistent(&l->m);
		return 0;
	}
	/* ENOTRECOVERABLE cannot happen: nothing unlocks without consistent */
	return -err;
}

void shm_lock_release(struct shm_lock *l)
{
	pthread_mutex_unlock(&l->m);
	if (--shm_lock_depth == 0)
		buddy_run_deferred();
}
