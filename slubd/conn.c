/*
 * conn.c - the listening socket and the connections: accept (the access
 * policy, the per-uid cap, the slots), one bufferevent per client, reading
 * whole frames, writing the replies (the attach reply with the arena fd),
 * closing, and the replies the worker posts back (done_cb).
 *
 * A connection reads whole frames only: a header announcing more than
 * SLUBD_MAX_REQUEST, or a body that does not decode, closes that connection
 * (after an error reply when one can be sent) and nothing else.  What one
 * connection holds in slubd is bounded: its input by the read watermark (a
 * few frames), its replies by OUT_PAUSE: once that much is waiting to be
 * sent, slubd stops reading from the connection (its requests wait in the
 * socket, and a client that writes on without reading blocks) until its
 * replies have gone out.  A client that never reads costs a slot and
 * OUT_PAUSE plus one reply, no more; SLUBD_MAX_OUTBUF, past which a
 * connection is cut, is a second line that this keeps from being reached.
 * The attach reply carries the arena's fd in SCM_RIGHTS, sent with sendmsg()
 * once everything before it has been written.
 *
 * Connection slots: access is checked at accept, from SO_PEERCRED and
 * SO_PEERGROUPS, before a slot is taken; so is max_clients_per_uid.  A
 * connection must say Hello within hello_timeout of its accept (an absolute
 * timer, not an idle one), and when every slot is taken a new connection
 * closes the oldest one still waiting for its Hello (past a grace, or of a
 * uid holding more slots: evict_for).  Every refusal is
 * logged and told to the peer in a frame.
 *
 * Locks: none of its own.  All of it runs on the event loop's thread, which
 * alone touches s->conns, the bufferevents, the listener and the timers of
 * each connection; nr_conns is changed with atomics (the worker's stats read
 * it).  work_lock is taken only inside worker.c's calls (job_queue,
 * server_queue_drop, worker_take_done).
 *
 * May call: worker.c (hand a request or a drop to the worker, take what it
 * finished), dispatch.c (dispatch for Hello and what is refused before it;
 * dispatch_done), scrubber.c (server_schedule_scrub), store.c (the socket's
 * checked directory), frame.c, policy_allows, server_status, log_msg.
 */
#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "slubd.h"

/* unsent replies past which a connection is not read until they have gone out */
#define OUT_PAUSE (64u << 10)
/*
 * frames answered in one turn of a connection: then the others' turn (a
 * stats or validate walks the arena, and a client may queue hundreds)
 */
#define FRAMES_PER_TURN 16

/* ---- connections ---------------------------------------------------------- */

/*
 * conn_free - the loop is done with c: off s->conns, its socket closed.  Its
 * references are the worker's to drop (they take arena locks): a JOB_DROP,
 * queued behind the request of c the worker may still run, whose completion
 * frees c.  At shutdown (drop_refs false: the pools outlive slubd) c is
 * freed here unless the worker may still hold it.
 */
void conn_free(struct conn *c, bool drop_refs)
{
	struct server *s = c->srv;

	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	__atomic_sub_fetch(&s->nr_conns, 1, __ATOMIC_RELAXED);	/* stats reads it (worker) */
	bufferevent_free(c->bev);
	c->bev = NULL;
	event_free(c->hello_ev);
	c->hello_ev = NULL;
	c->closed = true;
	if (drop_refs) {
		if (!server_queue_drop(s, c))
			/* c is left as it is: the worker may still hold it */
			log_msg("client pid %d: out of memory: its pool references stay", (int)c->pid);
		server_status(s);
	} else {
		free(c->refs);	/* shutdown: server_fini stopped the worker first */
		free(c);
	}
}

static void conn_close(struct conn *c, const char *why)
{
	if (why)
		log_msg("client pid %d uid %u%s%s: %s", (int)c->pid, (unsigned)c->uid,
			c->who[0] ? " " : "", c->who, why);
	conn_free(c, true);
}

/* start closing: flush what is queued, then free (write_cb) */
static void conn_finish(struct conn *c)
{
	c->state = CONN_CLOSING;
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_close(c, NULL);
}

/* write what is queued now; true if the output is empty */
static bool flush_now(struct conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	while (evbuffer_get_length(out) > 0)
		if (evbuffer_write(out, fd) <= 0)
			return false;
	return true;
}

/* the attach reply: the frame and the arena fd in one sendmsg() */
static int send_with_fd(struct conn *c, const uint8_t *buf, size_t len)
{
	int afd = arena_fd(c->srv->arena);
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	ssize_t n;

	if (!flush_now(c))
		return -EAGAIN;
	memset(cbuf, 0, sizeof(cbuf));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &afd, sizeof(int));
	n = sendmsg(bufferevent_getfd(c->bev), &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0)
		return -errno;
	if ((size_t)n < len)	/* the fd went with the first bytes; queue the rest */
		evbuffer_add(bufferevent_get_output(c->bev), buf + n, len - (size_t)n);
	return 0;
}

/* queue (or send) a reply; false if c is gone (closed and freed) */
static bool send_response(struct conn *c, Slubd__Response *resp, const struct reply_plan *plan)
{
	uint8_t *buf;
	size_t len;
	int rc = frame_pack(&resp->base, &buf, &len);

	if (rc) {
		conn_close(c, "out of memory packing a reply");
		return false;
	}
	if (plan->send_fd && !resp->err) {
		rc = send_with_fd(c, buf, len);
		if (rc)
			log_msg("client pid %d: cannot pass the arena fd: %s", (int)c->pid, strerror(-rc));
	} else {
		rc = evbuffer_add(bufferevent_get_output(c->bev), buf, len) ? -ENOMEM : 0;
	}
	free(buf);
	if (rc) {
		conn_close(c, "reply could not be sent");
		return false;
	}
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) > SLUBD_MAX_OUTBUF) {
		conn_close(c, "does not read its replies: cut");
		return false;
	}
	if (plan->close_after) {
		conn_finish(c);
		return false;	/* closing: nothing more may be read */
	}
	return true;
}

/* an error reply to a frame that could not be decoded, then close */
static void reject_frame(struct conn *c, int err, const char *msg)
{
	Slubd__Response resp = SLUBD__RESPONSE__INIT;
	struct reply_plan plan = { false, true };

	log_msg("client pid %d: %s: closing the connection", (int)c->pid, msg);
	resp.has_err = 1;
	resp.err = err;
	resp.error = (char *)msg;
	send_response(c, &resp, &plan);
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	unsigned int frames = 0;

	/*
	 * paused (a deferred turn may come after the pause): write_cb reads on;
	 * a request with the worker: its reply, posted back, reads on
	 */
	if (!(bufferevent_get_enabled(bev) & EV_READ) || c->in_worker)
		return;
	while (c->state != CONN_CLOSING) {
		uint8_t hdr[SLUBD_FRAME_HDR], body[SLUBD_MAX_REQUEST];
		char err[160], msg[200];
		Slubd__Response resp = SLUBD__RESPONSE__INIT;
		struct dispatch_scratch *scratch = NULL;
		struct reply_plan plan = { false, false };
		Slubd__Request *req;
		uint32_t len;
		bool alive;
		int rc;

		if (evbuffer_get_length(in) < SLUBD_FRAME_HDR)
			return;
		if (evbuffer_get_length(bufferevent_get_output(bev)) > OUT_PAUSE) {
			/* replies back up: read on once they are out (write_cb) */
			bufferevent_disable(bev, EV_READ);
			return;
		}
		evbuffer_copyout(in, hdr, sizeof(hdr));
		rc = frame_length(hdr, SLUBD_MAX_REQUEST, &len);
		if (rc) {
			snprintf(msg, sizeof(msg), "%s (limit %u bytes)",
				 rc == -EMSGSIZE ? "request frame too large" : "empty request frame",
				 SLUBD_MAX_REQUEST);
			reject_frame(c, -rc, msg);
			return;
		}
		if (evbuffer_get_length(in) < SLUBD_FRAME_HDR + len)
			return;
		if (frames++ == FRAMES_PER_TURN) {
			/* go on after the connections that wait: run again, deferred */
			bufferevent_trigger(bev, EV_READ, BEV_TRIG_DEFER_CALLBACKS);
			return;
		}
		evbuffer_drain(in, SLUBD_FRAME_HDR);
		evbuffer_remove(in, body, len);
		req = request_decode(body, len, err, sizeof(err));
		if (!req) {
			reject_frame(c, EBADMSG, err);
			return;
		}
		c->requests++;
		if (c->state == CONN_READY && c->allowed &&
		    req->body_case != SLUBD__REQUEST__BODY_HELLO) {
			/*
			 * It may touch the arena: to the worker.  Nothing more is
			 * read from c until its reply is back (done_cb).
			 */
			struct job *j = calloc(1, sizeof(*j));

			if (!j) {
				slubd__request__free_unpacked(req, NULL);
				reject_frame(c, ENOMEM, "slubd is out of memory");
				return;
			}
			j->kind = JOB_REQUEST;
			j->c = c;
			j->req = req;
			c->in_worker = true;
			bufferevent_disable(bev, EV_READ);
			job_queue(c->srv, j);
			return;
		}
		/* Hello, and what is refused before or without it: no arena */
		dispatch(c->srv, c, req, &resp, &scratch, &plan);
		if (c->state == CONN_READY)
			evtimer_del(c->hello_ev);	/* said Hello: no deadline more */
		alive = send_response(c, &resp, &plan);	/* false: c is closing or gone */
		dispatch_done(scratch);
		slubd__request__free_unpacked(req, NULL);
		if (!alive)
			return;
	}
}

/* the output drained (the write low watermark is 0) */
static void write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (evbuffer_get_length(bufferevent_get_output(bev)) != 0)
		return;
	if (c->state == CONN_CLOSING) {
		conn_close(c, NULL);
	} else if (!(bufferevent_get_enabled(bev) & EV_READ) && !c->in_worker) {
		/* paused by read_cb: read again, starting with what waits in the input */
		bufferevent_enable(bev, EV_READ);
		read_cb(bev, c);
	}
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_TIMEOUT)
		conn_close(c, "sent no hello in time (hello_timeout): closed");
	else if (what & BEV_EVENT_ERROR)
		conn_close(c, "connection error");
	else if (what & BEV_EVENT_EOF)
		conn_close(c, NULL);
}

/*
 * refuse_conn - tell a connection that is not served why (a Response of id 0,
 * the client's to show), and close it.  Best effort: a fresh socket's send
 * buffer takes one small frame without blocking.
 */
static void refuse_conn(evutil_socket_t fd, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void refuse_conn(evutil_socket_t fd, int err, const char *fmt, ...)
{
	Slubd__Response resp = SLUBD__RESPONSE__INIT;
	char msg[512];
	uint8_t *buf;
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	resp.has_err = 1;
	resp.err = err;
	resp.error = msg;
	if (frame_pack(&resp.base, &buf, &len) == 0) {
		if (send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			log_msg("refusing a connection: %s", strerror(errno));
		free(buf);
	}
	evutil_closesocket(fd);
}

/*
 * conn_refuse - tell c why it is closed (a Response of id 0, written at once,
 * best effort: a small frame fits in the socket's buffer), log it, close it:
 * its slot is free when this returns
 */
static void conn_refuse(struct conn *c, int err, const char *why)
{
	Slubd__Response resp = SLUBD__RESPONSE__INIT;
	uint8_t *buf;
	size_t len;

	resp.has_err = 1;
	resp.err = err;
	resp.error = (char *)why;
	if (frame_pack(&resp.base, &buf, &len) == 0) {
		/* after whatever is queued; what does not fit is lost with the close */
		if (flush_now(c))
			(void)send(bufferevent_getfd(c->bev), buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		free(buf);
	}
	conn_close(c, why);
}

/* hello_timeout after accept, whatever the peer sent meanwhile */
static void hello_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	char why[120];

	(void)fd;
	(void)what;
	if (c->state != CONN_HELLO)
		return;
	snprintf(why, sizeof(why), "no Hello within %u ms of connecting (hello_timeout): closed",
		 c->srv->cfg.hello_timeout_ms);
	conn_refuse(c, ETIMEDOUT, why);
}

/*
 * A connection waiting for its Hello may be closed for a new one once it has
 * had its chance: EVICT_AFTER_MS after its accept (a client says Hello at
 * once; a burst of connections accepted together does not close its own).
 */
#define EVICT_AFTER_MS 250

/* the oldest connection still waiting for its Hello past EVICT_AFTER_MS (NULL: none) */
static struct conn *oldest_waiting(struct server *s)
{
	uint64_t now = monotonic_ms();
	struct conn *old = NULL;

	for (struct conn *c = s->conns; c; c = c->next)
		if (c->state == CONN_HELLO && !c->in_worker && now - c->since_ms >= EVICT_AFTER_MS &&
		    (!old || c->serial < old->serial))
			old = c;
	return old;
}

static int uid_cmp(const void *x, const void *y)
{
	uid_t a = *(const uid_t *)x, b = *(const uid_t *)y;

	return a < b ? -1 : a > b;
}

/* how many of the sorted uids[n] are u */
static unsigned int uid_count(const uid_t *uids, unsigned int n, uid_t u)
{
	unsigned int lo = 0, hi = n, first;

	while (lo < hi) {		/* the first >= u */
		unsigned int mid = lo + (hi - lo) / 2;

		if (uids[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	first = lo;
	hi = n;
	while (lo < hi) {		/* the first > u */
		unsigned int mid = lo + (hi - lo) / 2;

		if (uids[mid] <= u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - first;
}

/*
 * evict_for - every slot is taken: the connection to close for a new one
 * whose uid holds same_uid connections already (NULL: none; the new one is
 * refused).  Only one waiting for its Hello, and of those, one that may go:
 * past its grace (EVICT_AFTER_MS), or - a peer reconnecting faster than the
 * grace keeps every waiting one young - one of a uid that would still hold
 * more slots than the newcomer's once it is closed.  Of those, one of the
 * uid holding the most slots, the oldest: so one uid's connections that
 * never say Hello go before another uid's lone peer that is slow with its
 * Hello, and a uid's own burst never closes its own young ones.  O(n log n)
 * in the connections (bounded by max_clients).
 */
static struct conn *evict_for(struct server *s, unsigned int same_uid)
{
	uint64_t now = monotonic_ms();
	struct conn *best = NULL;
	unsigned int n = 0, best_cnt = 0;
	uid_t *uids = malloc((s->nr_conns + 1) * sizeof(*uids));

	if (!uids)
		return oldest_waiting(s);
	for (struct conn *c = s->conns; c && n < s->nr_conns; c = c->next)
		uids[n++] = c->uid;
	qsort(uids, n, sizeof(*uids), uid_cmp);
	for (struct conn *c = s->conns; c; c = c->next) {
		unsigned int cnt;

		if (c->state != CONN_HELLO || c->in_worker)
			continue;
		cnt = uid_count(uids, n, c->uid);
		if (now - c->since_ms < EVICT_AFTER_MS && cnt <= same_uid + 1)
			continue;	/* in its grace, and its uid holds no more */
		if (!best || cnt > best_cnt || (cnt == best_cnt && c->serial < best->serial)) {
			best = c;
			best_cnt = cnt;
		}
	}
	free(uids);
	return best;
}

/*
 * peer_allowed - the access policy for the peer of fd, from SO_PEERCRED and
 * SO_PEERGROUPS.  The groups are used only as far as the kernel gave them: a
 * failed SO_PEERGROUPS counts none (the uid and primary gid still count).
 */
static bool peer_allowed(struct server *s, evutil_socket_t fd, const struct ucred *cred)
{
	gid_t small[64], *g = small;
	socklen_t glen = sizeof(small);
	unsigned int ng = 0;
	bool ok;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, small, &glen) == 0) {
		ng = glen / sizeof(gid_t);
	} else if (errno == ERANGE && glen > sizeof(small) && (g = malloc(glen))) {
		/* NGROUPS_MAX is 65536: the kernel said the size */
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &glen) == 0)
			ng = glen / sizeof(gid_t);
	} else {
		g = small;	/* another error, or no memory: no groups */
	}
	ok = policy_allows(&s->cfg, cred->uid, cred->gid, g, ng);
	if (g != small)
		free(g);
	return ok;
}

/*
 * access_hint - for a refused peer: whom this slubd admits ([access]) and
 * what to do.  The loop's: SIGHUP changes s->cfg on this thread only.
 */
static void access_hint(const struct server *s, char *buf, size_t len)
{
	const struct config *c = &s->cfg;
	size_t at;

	snprintf(buf, len, "it admits root, uid %u (its own)", (unsigned)geteuid());
	for (unsigned int i = 0; i < c->nr_allow_uids && (at = strlen(buf)) < len; i++)
		snprintf(buf + at, len - at, "%s%u", i ? " " : ", allow_uids ",
			 (unsigned)c->allow_uids[i]);
	for (unsigned int i = 0; i < c->nr_allow_gids && (at = strlen(buf)) < len; i++) {
		struct group *gr = getgrgid(c->allow_gids[i]);

		snprintf(buf + at, len - at, "%s%u%s%s%s", i ? " " : ", the groups of allow_gids ",
			 (unsigned)c->allow_gids[i], gr ? " (" : "", gr ? gr->gr_name : "",
			 gr ? ")" : "");
	}
	at = strlen(buf);
	snprintf(buf + at, len - at, "; ask its administrator to add your uid to allow_uids, or "
		 "you to a group of allow_gids (usermod -aG GROUP USER), in [access] of its "
		 "configuration (then SIGHUP slubd)");
}

/*
 * accept_cb - a new peer.  Before it takes a slot: its credentials
 * (SO_PEERCRED) and the access policy (a peer that may not use slubd is
 * refused, with a reply that says why), the per-uid cap, then max_clients:
 * when every slot is taken, the oldest connection still waiting for its
 * Hello is closed for it (it had its chance), so that peers that connect and
 * say nothing, or trickle, cannot lock out one that says Hello at once.
 */
static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
		      void *arg)
{
	struct server *s = arg;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	unsigned int same_uid = 0;
	struct conn *c;

	(void)l;
	(void)sa;
	(void)salen;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen)) {
		log_msg("SO_PEERCRED: %s", strerror(errno));
		refuse_conn(fd, EPERM, "slubd cannot read the peer's credentials: refused");
		return;
	}
	if (!peer_allowed(s, fd, &cred)) {
		log_msg("refusing pid %d uid %u gid %u: not allowed by [access]", (int)cred.pid,
			(unsigned)cred.uid, (unsigned)cred.gid);
		char hint[400];

		access_hint(s, hint, sizeof(hint));
		refuse_conn(fd, EACCES, "uid %u gid %u may not use this slubd: %s", (unsigned)cred.uid,
			    (unsigned)cred.gid, hint);
		return;
	}
	for (struct conn *o = s->conns; o; o = o->next)
		same_uid += o->uid == cred.uid;
	if (s->cfg.max_clients_per_uid && same_uid >= s->cfg.max_clients_per_uid) {
		log_msg("refusing pid %d uid %u: %u connections of that uid already "
			"(max_clients_per_uid)", (int)cred.pid, (unsigned)cred.uid, same_uid);
		refuse_conn(fd, EUSERS, "uid %u has %u connections to slubd already "
			    "(max_clients_per_uid): try again later", (unsigned)cred.uid, same_uid);
		return;
	}
	if (s->nr_conns >= s->cfg.max_clients) {
		struct conn *old = evict_for(s, same_uid);

		if (!old) {
			log_msg("refusing pid %d uid %u: %u clients already (max_clients)",
				(int)cred.pid, (unsigned)cred.uid, s->nr_conns);
			refuse_conn(fd, EUSERS, "slubd serves %u clients already (max_clients): try "
				    "again later", s->nr_conns);
			return;
		}
		conn_refuse(old, EUSERS, "every slot is taken (max_clients) and this connection "
			    "has not said Hello: closed for a new one");
	}
	c = calloc(1, sizeof(*c));
	if (c)
		c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c && c->bev)
		c->hello_ev = evtimer_new(s->base, hello_timeout_cb, c);
	if (!c || !c->bev || !c->hello_ev) {
		log_msg("out of memory for a connection");
		if (c && c->bev)
			bufferevent_free(c->bev);
		else
			evutil_closesocket(fd);
		free(c);
		return;
	}
	c->srv = s;
	c->state = CONN_HELLO;
	c->pid = cred.pid;
	c->uid = cred.uid;
	c->gid = cred.gid;
	c->allowed = true;
	c->serial = ++s->accepted;
	c->since_ms = monotonic_ms();
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	__atomic_add_fetch(&s->nr_conns, 1, __ATOMIC_RELAXED);
	/* read no more than a few frames ahead of what is being answered */
	bufferevent_setwatermark(c->bev, EV_READ, 0, 4 * (SLUBD_FRAME_HDR + SLUBD_MAX_REQUEST));
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	{
		/* until its Hello, counted from now: trickling bytes does not extend it */
		struct timeval tv = { s->cfg.hello_timeout_ms / 1000,
				      (s->cfg.hello_timeout_ms % 1000) * 1000 };

		evtimer_add(c->hello_ev, &tv);
	}
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	server_status(s);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
	(void)l;
	(void)arg;
	log_msg("accept: %s", strerror(errno));	/* EMFILE and such: keep serving */
}

/* ---- the worker's replies, on the loop -------------------------------------- */

/* the loop: what the worker finished - send the replies, free the dropped */
void done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *s = arg;
	struct job *list;
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	list = worker_take_done(s);
	while (list) {
		struct job *j = list;
		struct conn *c = j->c;

		list = j->next;
		if (j->kind == JOB_DROP) {
			free(c->refs);
			free(c);
			server_schedule_scrub(s);
		} else {
			c->in_worker = false;
			if (!c->closed && send_response(c, &j->resp, &j->plan)) {
				/* read on, starting with what waits in the input */
				bufferevent_enable(c->bev, EV_READ);
				read_cb(c->bev, c);
			}
			dispatch_done(j->scratch);
			slubd__request__free_unpacked(j->req, NULL);
		}
		free(j);
	}
}

/* ---- [access] changed -------------------------------------------------------- */

/*
 * access_again - [access] changed (SIGHUP): each connection's peer is
 * checked again, as at its accept.  One no longer allowed is closed if it
 * has not said Hello (with a reply that says why); one that has is answered
 * EACCES from its next request on (dispatch), its pool references kept, as
 * an attached process still maps the arena; one allowed again is served.
 */
void access_again(struct server *s)
{
	struct conn *next;

	for (struct conn *c = s->conns; c; c = next) {
		struct ucred cred = { c->pid, c->uid, c->gid };
		bool ok;

		next = c->next;
		if (c->closed || c->state == CONN_CLOSING)
			continue;
		ok = peer_allowed(s, bufferevent_getfd(c->bev), &cred);
		if (!ok && c->allowed)
			log_msg("pid %d uid %u: no longer allowed by [access]%s", (int)c->pid,
				(unsigned)c->uid, c->state == CONN_HELLO ? ": closed" : "");
		c->allowed = ok;
		if (!ok && c->state == CONN_HELLO && !c->in_worker)
			conn_refuse(c, EACCES, "this uid may no longer use this slubd ([access] "
				    "changed): closed");
	}
}

/* ---- the listening socket ---------------------------------------------------- */

int listen_socket(struct server *s, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX }, bsa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)];
	const char *name;
	struct stat st;
	int fd, rc;
	mode_t old;

	if (s->sd_socket_fd >= 0) {
		/* socket activation (store_take_fds): the unit owns the path, owner, mode */
		socklen_t slen = sizeof(sa);

		fd = s->sd_socket_fd;
		if (getsockname(fd, (struct sockaddr *)&sa, &slen) == 0 && sa.sun_path[0])
			snprintf(s->cfg.socket, sizeof(s->cfg.socket), "%s", sa.sun_path);
		evutil_make_socket_nonblocking(fd);
		evutil_make_socket_closeonexec(fd);
		s->socket_from_systemd = true;
		log_msg("listening socket from systemd: %s", s->cfg.socket);
		goto listen;
	}
	if (strlen(s->cfg.socket) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", s->cfg.socket);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, s->cfg.socket);
	/* the directory: made 0700 (0711 if others may connect), checked, held open */
	name = store_split(s->cfg.socket, dir, sizeof(dir));
	rc = store_open_dir(dir, true, s->cfg.socket_mode & 077 ? 0711 : 0700, err, errlen);
	if (rc < 0)
		return rc;
	s->sock_dirfd = rc;
	if (fstatat(s->sock_dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is no socket: refusing to replace it",
			 s->cfg.socket);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -errno;
	}
	/* the checked directory's socket: through its fd, when the path fits (bsa) */
	if (snprintf(bsa.sun_path, sizeof(bsa.sun_path), "/proc/self/fd/%d/%s", s->sock_dirfd,
		     name) >= (int)sizeof(bsa.sun_path) || access("/proc/self/fd", X_OK))
		bsa = sa;
	/* a socket file nobody answers on is stale; one that answers is another slubd */
	if (connect(fd, (struct sockaddr *)&bsa, sizeof(bsa)) == 0) {
		close(fd);
		snprintf(err, errlen, "another slubd already serves %s", s->cfg.socket);
		return -EADDRINUSE;
	}
	close(fd);
	unlinkat(s->sock_dirfd, name, 0);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	/*
	 * bound in the checked directory itself (through its fd, when the path
	 * fits), with its mode from the umask: no chmod() that a link could
	 * redirect.  One thread runs yet: the umask is ours to change here.
	 */
	old = umask(0777 & ~(mode_t)s->cfg.socket_mode);
	rc = bind(fd, (struct sockaddr *)&bsa, sizeof(bsa));
	umask(old);
	if (rc || listen(fd, 128)) {
		rc = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", s->cfg.socket, strerror(errno));
		close(fd);
		return rc;
	}
listen:
	s->listener = evconnlistener_new(s->base, accept_cb, s, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (!s->listener) {
		close(fd);
		snprintf(err, errlen, "evconnlistener_new failed");
		return -ENOMEM;
	}
	evconnlistener_set_error_cb(s->listener, accept_error_cb);
	return 0;
}
