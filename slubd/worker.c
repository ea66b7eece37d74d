/*
 * worker.c - the request worker: the thread where every request that
 * touches the arena is answered (serve_request), and where a closed
 * connection's pool references are dropped, so that the event loop never
 * waits on a lock a client can hold.  The loop queues jobs (job_queue,
 * server_queue_drop); the worker takes them in order (job_take), runs them
 * with its lock attempts timed (slab_lock_deadline, SLUBD_LOCK_WAIT_MS: a
 * lock held longer answers "busy"), and posts each back on the done list,
 * waking the loop through done_pipe; the loop sends the replies
 * (server.c's done_cb, through worker_take_done).  A drop that met a busy
 * lock goes back on the waiting list, to run again a second later.
 *
 * Locks: work_lock (slubd's own, a leaf, held only to move jobs between the
 * lists) protects waiting, done, worker_stop and worker_exited; the worker
 * sleeps on work_cond under it.  What the worker alone touches: every
 * connection's refs, s->holders, s->keeper, s->pools (see struct server).
 *
 * May call: guard.c (guarded_dispatch, guarded_drop_refs), dispatch.c
 * (dispatch_done), shm/ (slab_lock_deadline), log_msg.  Nothing of the
 * bufferevents: those are the loop's (server.c).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "slubd.h"

uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void list_append(struct job **head, struct job **tail, struct job *j)
{
	j->next = NULL;
	if (*tail)
		(*tail)->next = j;
	else
		*head = j;
	*tail = j;
}

/* the loop: hand j to the worker */
void job_queue(struct server *s, struct job *j)
{
	pthread_mutex_lock(&s->work_lock);
	list_append(&s->waiting, &s->waiting_tail, j);
	pthread_cond_signal(&s->work_cond);
	pthread_mutex_unlock(&s->work_lock);
}

/*
 * server_queue_drop - the worker: drop the references of c, a connection
 * record no loop owns (closed, or made for the purpose: dispatch's
 * drop_later), as a closed connection's are, retried while a lock is busy;
 * the drop's completion frees c.  False: no memory (nothing queued).
 */
bool server_queue_drop(struct server *s, struct conn *c)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return false;
	j->kind = JOB_DROP;
	j->c = c;
	job_queue(s, j);
	return true;
}

/*
 * serve_request - the one place where a request that touches the arena is
 * answered (on the worker): its lock attempts give up after
 * SLUBD_LOCK_WAIT_MS, and dispatch answers "busy" then.
 */
static void serve_request(struct server *s, struct job *j)
{
	slubd__response__init(&j->resp);
	slab_lock_deadline(SLUBD_LOCK_WAIT_MS);
	guarded_dispatch(s, j->c, j->req, &j->resp, &j->scratch, &j->plan);
	slab_lock_deadline(0);
}

/*
 * the first job that may run now (a drop that met a busy lock waits its
 * turn; requests never wait), taken off the list; else NULL and *wait_ms,
 * how long until one may (0: none waits)
 */
static struct job *job_take(struct server *s, uint64_t *wait_ms)
{
	uint64_t now = monotonic_ms();
	struct job *prev = NULL;

	*wait_ms = 0;
	for (struct job *j = s->waiting; j; prev = j, j = j->next) {
		if (j->not_before_ms > now) {
			if (!*wait_ms || j->not_before_ms - now < *wait_ms)
				*wait_ms = j->not_before_ms - now;
			continue;
		}
		if (prev)
			prev->next = j->next;
		else
			s->waiting = j->next;
		if (s->waiting_tail == j)
			s->waiting_tail = prev;
		return j;
	}
	return NULL;
}

void *worker_main(void *arg)
{
	struct server *s = arg;

	pthread_mutex_lock(&s->work_lock);
	for (;;) {
		uint64_t wait_ms;
		struct job *j;

		if (s->worker_stop)
			break;
		j = job_take(s, &wait_ms);
		if (!j) {
			if (wait_ms) {
				struct timespec ts;

				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_sec += (time_t)(wait_ms / 1000);
				ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
				if (ts.tv_nsec >= 1000000000L) {
					ts.tv_sec++;
					ts.tv_nsec -= 1000000000L;
				}
				pthread_cond_timedwait(&s->work_cond, &s->work_lock, &ts);
			} else {
				pthread_cond_wait(&s->work_cond, &s->work_lock);
			}
			continue;
		}
		pthread_mutex_unlock(&s->work_lock);
		if (j->kind == JOB_REQUEST) {
			serve_request(s, j);
		} else {
			slab_lock_deadline(SLUBD_LOCK_WAIT_MS);
			j->done = guarded_drop_refs(s, j->c);
			slab_lock_deadline(0);
		}
		pthread_mutex_lock(&s->work_lock);
		if (j->kind == JOB_DROP && !j->done) {
			/* a lock of a pool it held is busy: the rest in a second */
			j->not_before_ms = monotonic_ms() + 1000;
			list_append(&s->waiting, &s->waiting_tail, j);
			continue;
		}
		list_append(&s->done, &s->done_tail, j);
		pthread_mutex_unlock(&s->work_lock);
		/* a full pipe already has a wakeup in it: EAGAIN is fine */
		if (write(s->done_pipe[1], "", 1) < 0 && errno != EAGAIN)
			log_msg("worker: cannot wake the loop: %s", strerror(errno));
		pthread_mutex_lock(&s->work_lock);
	}
	s->worker_exited = true;
	pthread_cond_broadcast(&s->work_cond);
	pthread_mutex_unlock(&s->work_lock);
	return NULL;
}

/* the loop (done_cb): take the jobs the worker finished, in order */
struct job *worker_take_done(struct server *s)
{
	struct job *list;

	pthread_mutex_lock(&s->work_lock);
	list = s->done;
	s->done = s->done_tail = NULL;
	pthread_mutex_unlock(&s->work_lock);
	return list;
}

/* server_fini: the worker leaves its loop once its current job is done */
void worker_tell_stop(struct server *s)
{
	pthread_mutex_lock(&s->work_lock);
	s->worker_stop = true;
	pthread_cond_signal(&s->work_cond);
	pthread_mutex_unlock(&s->work_lock);
}

/* server_fini, the worker stopped: jobs it will never run or post back */
void free_jobs(struct job *j)
{
	while (j) {
		struct job *next = j->next;

		if (j->kind == JOB_REQUEST) {
			dispatch_done(j->scratch);
			slubd__request__free_unpacked(j->req, NULL);
		} else {
			free(j->c->refs);	/* closed: its drop was its last owner */
			free(j->c);
		}
		free(j);
		j = next;
	}
}
