/*
 * scrubber.c - recovery after a client leaves: the scrubber thread runs
 * slab_scrub() (guarded_scrub), which returns what any dead process held
 * half-done, then logs the arena's new reports (reports.c) and gives freed
 * heap back (malloc_trim).  It runs apart from the event loop so that a
 * client stopped while holding an arena lock stalls only the scrub, never
 * the control socket.  A scrub is asked for by a one-shot timer a short
 * while after a connection's references are dropped
 * (server_schedule_scrub: once an exiting process is gone), by a periodic
 * tick (scrub_interval_s: processes that never connected), and once at
 * start (server_run).
 *
 * Locks: scrub_lock (slubd's own, a leaf: nothing is taken under it)
 * protects scrub_wanted and stopping; the thread sleeps on scrub_cond under
 * it and drops it for the scrub.  The scrub's arena lock attempts are timed
 * (slab_lock_deadline, SLUBD_LOCK_WAIT_MS).  The timers (scrub_timer,
 * scrub_tick, scrub_pending) are the event loop's alone.
 *
 * May call: guard.c (guarded_scrub), reports.c (reports_log), shm/
 * (slab_lock_deadline), libevent timers, log_msg.  Nothing of the
 * connections or the worker.
 */
#include <event2/event.h>
#include <malloc.h>
#include <pthread.h>
#include <sys/time.h>

#include "slubd.h"

void *scrubber_main(void *arg)
{
	struct server *s = arg;
	const uint64_t slow_step_ns = 100000000;	/* 100 ms: worth a line in the log */

	pthread_mutex_lock(&s->scrub_lock);
	for (;;) {
		struct slab_scrub_result r;

		while (!s->scrub_wanted && !s->stopping)
			pthread_cond_wait(&s->scrub_cond, &s->scrub_lock);
		if (s->stopping)
			break;
		s->scrub_wanted = false;
		pthread_mutex_unlock(&s->scrub_lock);
		/*
		 * The scrub holds each arena lock for a bounded step (a chunk of a
		 * pool's slabs, one page block) and makes no system call holding
		 * one; its reports reach report_cb (which logs) after the locks.
		 * Its lock attempts are timed as the worker's requests: a scrub
		 * that waited on a stopped client's lock while holding another
		 * would stall every process that needs the one it holds; what it
		 * skips, the next scrub does
		 */
		slab_lock_deadline(SLUBD_LOCK_WAIT_MS);
		/*
		 * a line only for what this scrub did or found first: a dead
		 * owner's leak, still there at every later scrub, was logged
		 * once already (report_cb: each owner once per pool)
		 */
		if (guarded_scrub(s, &r) == 0 &&
		    (r.orphans || r.transit_blocks || r.reclaimed_objects || r.new_leaks))
			log_msg("scrub: recovered what dead processes left: %llu orphaned slabs, %llu page "
				"blocks; %llu objects of dead processes freed, %llu newly found leaked",
				(unsigned long long)r.orphans, (unsigned long long)r.transit_blocks,
				(unsigned long long)r.reclaimed_objects,
				(unsigned long long)r.new_leaks);
		/* what the ring got since: the dead owners just found, clients' misuse */
		reports_log(s, true);
		/* r is zeroed first, so read even after an error; a long step is
		 * a client holding a lock the step waited for, or a starved host */
		if (r.max_hold_ns > slow_step_ns)
			log_msg("scrub: one of its %llu locked steps took %llu ms, locks taken and held",
				(unsigned long long)r.locked_steps,
				(unsigned long long)(r.max_hold_ns / 1000000));
		/*
		 * clients left: what their buffers took goes back to the system, so
		 * that a burst of connections leaves no lasting mark on slubd's size
		 */
		slab_lock_deadline(0);
		malloc_trim(0);
		pthread_mutex_lock(&s->scrub_lock);
	}
	pthread_mutex_unlock(&s->scrub_lock);
	return NULL;
}

/* wake the scrubber thread for one more scrub */
void scrub_request(struct server *s)
{
	pthread_mutex_lock(&s->scrub_lock);
	s->scrub_wanted = true;
	pthread_cond_signal(&s->scrub_cond);
	pthread_mutex_unlock(&s->scrub_lock);
}

/* the one-shot timer server_schedule_scrub armed */
static void scrub_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;

	(void)fd;
	(void)what;
	s->scrub_pending = false;
	scrub_request(s);
}

/*
 * (re)arm the periodic scrub: a process that maps the arena but never
 * connected (a client's forked child) has no connection whose close would
 * trigger one, so its death is noticed at the next tick
 */
void scrub_tick_arm(struct server *s)
{
	struct timeval tv = { (time_t)s->cfg.scrub_interval_s, 0 };

	if (!s->scrub_tick)
		return;
	evtimer_del(s->scrub_tick);
	if (s->cfg.scrub_interval_s)
		evtimer_add(s->scrub_tick, &tv);
}

static void scrub_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	scrub_request(arg);
}

void server_schedule_scrub(struct server *s)
{
	struct timeval tv = { 0, 200 * 1000 };	/* let an exiting process finish exiting */

	if (!s->scrub_pending && s->scrub_timer) {
		s->scrub_pending = true;
		evtimer_add(s->scrub_timer, &tv);
	}
}

/* the two timers server_init sets up (NULL where one cannot be made: it checks) */
void scrubber_events_new(struct server *s)
{
	s->scrub_timer = evtimer_new(s->base, scrub_cb, s);
	s->scrub_tick = event_new(s->base, -1, EV_PERSIST, scrub_tick_cb, s);
}

/* server_fini: the scrubber leaves its loop at its next wakeup */
void scrubber_tell_stop(struct server *s)
{
	pthread_mutex_lock(&s->scrub_lock);
	s->stopping = true;
	pthread_cond_signal(&s->scrub_cond);
	pthread_mutex_unlock(&s->scrub_lock);
}
