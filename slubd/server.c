/*
 * server.c - slubd's event loop (libevent 2) from start to stop: setting up
 * its parts (server_init: the listening socket, the arena, the signals, the
 * scrubber and the worker), serving (server_run, telling systemd or the
 * supervisor), SIGHUP and SIGTERM, and the stop (server_fini).  The parts
 * live apart: the listening socket and the connections (conn.c), the
 * request worker (worker.c), the scrubber (scrubber.c), the arena at start
 * (arena_file.c).
 *
 * Locks: none of its own.  It initializes work_lock, scrub_lock and
 * reports_lock before any thread starts, and tells the threads to stop
 * (worker_tell_stop, scrubber_tell_stop) before it frees what they use.
 * May call: every part of slubd above, store.c, guard.c, held.c, policy.c,
 * reports.c, config.c (SIGHUP), sd_notify.
 *
 * The event loop never waits on a lock that a client can hold.  It answers
 * Hello itself (no arena); every other request goes to the request worker
 * thread (serve_request, the one place where a request that touches the
 * arena is answered), and its connection is not read until the reply is
 * posted back (done_cb, woken through a pipe).  The worker's lock attempts
 * are timed (slab_lock_deadline): a lock held longer than SLUBD_LOCK_WAIT_MS
 * - by a client stopped inside it, or a word scribbled to name a live
 * thread - makes the request answer "busy: LOCK held by pid N", and the
 * worker moves on to the next.  Stats reads counters only, over slubd's own
 * list of pools.  On SIGTERM the worker and the scrubber get under a second
 * to finish; one that does not is left running while the process exits.
 *
 * When a connection closes, its pool references are dropped (by the worker:
 * that takes arena locks; a busy lock makes it try again later); a short timer
 * later (once an exiting process is gone), the scrubber thread (scrubber.c)
 * runs slab_scrub(), which returns what any dead process held half-done
 * (locks are repaired by whoever takes them next).
 *
 * The arena outlives the daemon: it lives in systemd's fd store (a sealed
 * memfd) or in a file (next to the socket by default, or on a hugetlbfs
 * mount for huge pages) - store.c, which also checks the paths and holds the
 * arena's lock; a new slubd adopts it with its pools, and every arena access
 * goes through guard.c (a file cut short).  A stopping slubd drops no pool
 * reference: the processes still attached keep allocating while no daemon
 * runs, and take their references again when they reconnect.  Under systemd the listening
 * socket may come from the socket unit (sd_listen_fds), and the state goes
 * to the service manager with sd_notify.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <systemd/sd-daemon.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "slubd.h"

/*
 * --ready-fd N, the s6 notification-fd convention: once every socket serves
 * (listen() done: a connect succeeds from then on), one line, then the fd is
 * closed; a parent that reads EOF without the line knows slubd did not start
 */
void ready_fd_tell(int *fd)
{
	if (*fd < 0)
		return;
	if (write(*fd, "ready\n", 6) != 6)
		log_msg("--ready-fd %d: cannot write the ready line: %s", *fd, strerror(errno));
	close(*fd);
	*fd = -1;
}

void log_msg(const char *fmt, ...)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;

	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", localtime_r(&now, &tm));
	fprintf(stderr, "%s slubd[%d]: ", ts, (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void server_status(struct server *s)
{
	sd_notifyf(0, "STATUS=serving %u clients; arena %llu MiB %s, %llu MiB used",
		   s->nr_conns, (unsigned long long)(arena_size(s->arena) >> 20),
		   arena_backing_name(s->arena),
		   (unsigned long long)(guarded_used_bytes(s) >> 20));
}

/* ---- signals ---------------------------------------------------------------- */

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *s = arg;

	(void)what;
	if (sig == SIGHUP) {
		struct config c = s->cfg;
		char err[256];

		if (!s->cfg.config_file[0]) {
			log_msg("SIGHUP: no config file to read again");
			return;
		}
		if (config_load(&c, s->cfg.config_file, err, sizeof(err))) {
			log_msg("SIGHUP: %s: keeping the running settings", err);
			return;
		}
		/* what can change live: access policy and limits */
		memcpy(s->cfg.allow_uids, c.allow_uids, sizeof(c.allow_uids));
		s->cfg.nr_allow_uids = c.nr_allow_uids;
		memcpy(s->cfg.allow_gids, c.allow_gids, sizeof(c.allow_gids));
		s->cfg.nr_allow_gids = c.nr_allow_gids;
		s->cfg.max_clients = c.max_clients;
		s->cfg.max_clients_per_uid = c.max_clients_per_uid;
		/* read by the request worker meanwhile (dispatch.c): atomic words */
		__atomic_store_n(&s->cfg.max_refs, c.max_refs, __ATOMIC_RELAXED);
		__atomic_store_n(&s->cfg.max_caches, c.max_caches, __ATOMIC_RELAXED);
		s->cfg.hello_timeout_ms = c.hello_timeout_ms;
		if (s->cfg.scrub_interval_s != c.scrub_interval_s) {
			s->cfg.scrub_interval_s = c.scrub_interval_s;
			scrub_tick_arm(s);
		}
		/* a socket from systemd has the unit's mode: not ours to change */
		if (!s->socket_from_systemd && c.socket_mode != s->cfg.socket_mode &&
		    store_chmod_socket(s, c.socket_mode) == 0)
			s->cfg.socket_mode = c.socket_mode;
		log_msg("SIGHUP: %s read again: access and limits applied; the arena's size and "
			"huge pages apply at the next start", s->cfg.config_file);
		access_again(s);	/* conn.c */
		return;
	}
	log_msg("signal %d: shutting down", (int)sig);
	event_base_loopexit(s->base, NULL);
}

int server_init(struct server *s, char *err, size_t errlen)
{
	int rc;

	signal(SIGPIPE, SIG_IGN);
	s->lock_fd = s->sd_socket_fd = s->sock_dirfd = -1;
	rc = guard_init();
	if (rc) {
		snprintf(err, errlen, "cannot set up the SIGBUS guard: %s", strerror(-rc));
		return rc;
	}
	pthread_mutex_init(&s->scrub_lock, NULL);
	pthread_cond_init(&s->scrub_cond, NULL);
	pthread_mutex_init(&s->work_lock, NULL);
	pthread_cond_init(&s->work_cond, NULL);
	s->done_pipe[0] = s->done_pipe[1] = -1;
	s->base = event_base_new();
	if (!s->base) {
		snprintf(err, errlen, "event_base_new failed");
		return -ENOMEM;
	}
	/* what systemd passed: a listening socket, the arena kept in its fd store */
	rc = store_take_fds(s, err, errlen);
	if (rc)
		return rc;
	/* the socket first: it names the default arena file's directory */
	rc = listen_socket(s, err, errlen);	/* conn.c */
	if (rc)
		return rc;
	rc = open_arena(s, err, errlen);	/* arena_file.c */
	if (rc)
		return rc;
	s->sig_term = evsignal_new(s->base, SIGTERM, signal_cb, s);
	s->sig_int = evsignal_new(s->base, SIGINT, signal_cb, s);
	s->sig_hup = evsignal_new(s->base, SIGHUP, signal_cb, s);
	scrubber_events_new(s);	/* s->scrub_timer, s->scrub_tick (NULL: failed) */
	if (!s->sig_term || !s->sig_int || !s->sig_hup || !s->scrub_timer || !s->scrub_tick ||
	    evsignal_add(s->sig_term, NULL) || evsignal_add(s->sig_int, NULL) ||
	    evsignal_add(s->sig_hup, NULL)) {
		snprintf(err, errlen, "cannot set up signal handling");
		return -ENOMEM;
	}
	/* reports reach the log from the arena's ring (reports.c), each once */
	pthread_mutex_init(&s->reports_lock, NULL);
	reports_log(s, false);	/* those made before this slubd: its predecessor logged them */
	rc = pthread_create(&s->scrubber, NULL, scrubber_main, s);
	if (rc) {
		snprintf(err, errlen, "cannot start the scrubber thread: %s", strerror(rc));
		return -rc;
	}
	s->scrubber_started = true;
	if (pipe2(s->done_pipe, O_CLOEXEC | O_NONBLOCK)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return -errno;
	}
	s->done_ev = event_new(s->base, s->done_pipe[0], EV_READ | EV_PERSIST, done_cb, s);
	if (!s->done_ev || event_add(s->done_ev, NULL)) {
		snprintf(err, errlen, "cannot watch the worker's pipe");
		return -ENOMEM;
	}
	rc = pthread_create(&s->worker, NULL, worker_main, s);
	if (rc) {
		snprintf(err, errlen, "cannot start the request worker: %s", strerror(rc));
		return -rc;
	}
	s->worker_started = true;
	scrub_tick_arm(s);
	return 0;
}

/*
 * tell_supervisor - a supervised server (tenants.c) tells the supervisor it serves (one byte on
 * fd, which is closed), with arena_fd (its memfd kept in the fd store) when
 * not -1: the description that carries the owner lock (store.c), the one
 * systemd's store holds too.  The supervisor's copy keeps that lock held
 * while no server runs, as the store's does; the server it restarts gets
 * that same description and re-takes the lock on it (an OFD lock never
 * conflicts with its own description), and no other process can reach a
 * memfd: the lock stops no one it should let in.
 */
static void tell_supervisor(int fd, int arena_fd)
{
	char c = 'r', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (arena_fd >= 0) {
		struct cmsghdr *cm;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &arena_fd, sizeof(int));
	}
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) != 1 && arena_fd >= 0) {
		log_msg("cannot hand the arena to the supervisor (%s): a restart of this "
			"slubd after a crash makes a new arena", strerror(errno));
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		(void)!sendmsg(fd, &mh, MSG_NOSIGNAL);
	}
	close(fd);
}

int server_run(struct server *s)
{
	/* the pid a second slubd names */
	guarded_set_owner_pid(s);
	/*
	 * a previous slubd, or its clients, may have died in the middle of
	 * things: the scrubber's first scrub (off the loop: a client may hold a
	 * lock it needs)
	 */
	scrub_request(s);
	log_msg("ready: serving %s (protocol %u, %s, arena %llu MiB %s)", s->cfg.socket,
		SLUBD_PROTOCOL_VERSION, s->socket_from_systemd ? "socket from systemd" : "own socket",
		(unsigned long long)(arena_size(s->arena) >> 20), arena_backing_name(s->arena));
	if (s->cfg.supervised) {
		/*
		 * one arena of the supervisor's (tenants.c): it says READY=1 once
		 * all serve, and keeps a memfd arena for this server's successor
		 */
		tell_supervisor(s->cfg.ready_fd, s->in_fd_store ? s->lock_fd : -1);
		s->cfg.ready_fd = -1;
	} else {
		sd_notify(0, "READY=1");
		ready_fd_tell(&s->cfg.notify_fd);
	}
	server_status(s);
	return event_base_dispatch(s->base) < 0 ? -EIO : 0;
}

/*
 * join t by the CLOCK_REALTIME time until; false if it is still running
 * (waiting on an arena lock a client holds, or walking a large arena): then
 * it is left as it is, and what it may touch (the arena, the connections)
 * is not freed.  A robust lock it held is repaired by its next taker.
 */
static bool join_by(pthread_t t, const struct timespec *until)
{
	return pthread_timedjoin_np(t, NULL, until) == 0;
}

void server_fini(struct server *s)
{
	bool quiet = true;	/* no thread of ours touches the arena any more */
	struct timespec until;

	if (s->cfg.ready_fd >= 0) {	/* a supervised server that never served */
		close(s->cfg.ready_fd);
		s->cfg.ready_fd = -1;
	}

	/*
	 * Both threads are told at once and given one common deadline: each
	 * gives up a contended lock within SLUBD_LOCK_WAIT_MS, so both are
	 * normally gone well within a second of SIGTERM.
	 */
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (SLUBD_LOCK_WAIT_MS + 150) * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	if (s->scrubber_started)
		scrubber_tell_stop(s);
	if (s->worker_started)
		worker_tell_stop(s);
	if (s->scrubber_started && !join_by(s->scrubber, &until)) {
		log_msg("the scrubber is still busy: not waiting for it");
		quiet = false;
	}
	s->scrubber_started = false;
	if (s->worker_started && !join_by(s->worker, &until)) {
		log_msg("the request worker is still busy: not waiting for it");
		quiet = false;
	}
	s->worker_started = false;
	/* a supervised server's end is no service's stop: systemd would stop them all */
	if (!s->cfg.supervised)
		sd_notify(0, "STOPPING=1");
	if (!quiet) {
		/*
		 * A thread of ours may still read the arena: nothing it uses may
		 * be freed or unmapped, not even by exit()'s handlers.  The pools
		 * outlive slubd; the process ends here.
		 */
		if (s->listener && !s->socket_from_systemd && s->sock_dirfd >= 0) {
			char dir[sizeof(s->cfg.socket)];

			/* in the checked directory, as below: not by a path a link could turn */
			unlinkat(s->sock_dirfd, store_split(s->cfg.socket, dir, sizeof(dir)), 0);
		}
		log_msg("exiting");
		fflush(NULL);
		_exit(0);
	}
	/* the pools outlive slubd: no reference is dropped (see the top) */
	free_jobs(s->waiting);
	free_jobs(s->done);
	s->waiting = s->done = NULL;
	while (s->conns)
		conn_free(s->conns, false);	/* conn.c */
	free(s->keeper.refs);
	policy_fini(s);
	if (s->done_ev)
		event_free(s->done_ev);
	for (int i = 0; i < 2; i++)
		if (s->done_pipe[i] >= 0)
			close(s->done_pipe[i]);
	if (s->listener) {
		evconnlistener_free(s->listener);
		if (!s->socket_from_systemd && s->sock_dirfd >= 0) {
			char dir[sizeof(s->cfg.socket)];

			unlinkat(s->sock_dirfd, store_split(s->cfg.socket, dir, sizeof(dir)), 0);
		}
	}
	if (s->sig_term)
		event_free(s->sig_term);
	if (s->sig_int)
		event_free(s->sig_int);
	if (s->sig_hup)
		event_free(s->sig_hup);
	if (s->scrub_timer)
		event_free(s->scrub_timer);
	if (s->scrub_tick)
		event_free(s->scrub_tick);
	if (s->base)
		event_base_free(s->base);
	if (s->arena)
		guarded_arena_close(s);
	held_fini();
	store_fini(s);
}
