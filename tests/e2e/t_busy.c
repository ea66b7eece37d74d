/*
 * t_busy.c - slubd's event loop never waits on a lock that a client can hold.
 *
 *   stopped_cpu_lock   a client SIGSTOPped holding a CPU slab lock (the
 *                      HOOK_CPU_LOCKED point); meanwhile other connections ask
 *                      validate, stats and create: each is answered (an
 *                      answer or "busy ... held by pid N") within 2 s
 *   stopped_list_lock  the same, the client stopped holding a node's list_lock
 *   stopped_zone_lock  the same, holding the page allocator's lock
 *   sigterm_stopped    a client stopped holding a CPU lock, a validate still
 *                      waiting on it: SIGTERM makes slubd exit (0) within 3 s
 *   scribbled_slab_mutex  a live client writes its own thread id into the
 *                      cache-list lock's word (slab_mutex) and stays: the lock
 *                      looks held for ever.  validate, stats and create are
 *                      answered within 2 s; SIGTERM ends slubd within 3 s
 *
 *   destroy_last_ref_busy  a connection drops the last reference of a pool
 *                      whose empty slabs must go back to the page allocator,
 *                      while a client is stopped holding that allocator's lock:
 *                      the answer is truthful - either "busy" with the
 *                      reference still held (a destroy again, once the lock is
 *                      free, removes the pool), or a destroy reply saying the
 *                      pool is not removed (no reference left)
 *
 *   many_scribbled_locks  a live client writes its own thread id into the
 *                      list_lock of each of 150 pools and stays: a validate of
 *                      every pool meets 150 held locks, and a stats queued
 *                      behind it; each is answered within 2 s (the wait of a
 *                      request is bounded as a whole, not per lock)
 *
 *   stats_while_held   a client stopped holding a CPU lock, then a node's
 *                      list_lock, then the page allocator's lock: stats is
 *                      answered with the figures every time, never "busy",
 *                      each within 2 s (stats reads counters and follows the
 *                      lists without their locks: shm/stats.c)
 *
 *   queue_stopped      a client stopped holding a CPU lock; 40 connections
 *                      send validate at once, queued on slubd's one worker:
 *                      each is answered within 2 s of its sending
 *
 *   destroy_busy_lookup  libslub's kmem_cache_destroy forgets its reference
 *                      before it asks; slab_mutex is held (a live client's
 *                      scribble) when the destroy comes.  Once the lock is free
 *                      again the pool goes, the connection still open: slubd
 *                      does not keep a reference its client has given up
 *
 *   close_while_queued  a client stopped holding a CPU lock; 20 connections
 *                      each create a pool of their own (a reference), send
 *                      validate and hang up at once, their requests still on the
 *                      worker or queued: slubd lives, counts one client again,
 *                      and, the holder gone, every one of those pools goes
 *
 *   sigterm_pending_drops  slab_mutex held by a live client's scribble; a
 *                      connection gives up its reference (a drop of its own,
 *                      retried) and another, holding one, hangs up (its drop
 *                      retried too): SIGTERM ends slubd (0) within 3 s
 *
 *   create_many_busy   a client takes slab_mutex itself for 200 ms at a time
 *                      (1.5 s the first time), every few ms; meanwhile creates
 *                      asking 20000 references at once: each is all or nothing -
 *                      an "ok" holds 20000 more references, a "busy" none (the
 *                      pool's refcount, read once the client is gone and the
 *                      drops done, says so)
 *
 *   create_waits_busy  libslub's kmem_cache_create while slab_mutex looks
 *                      held (a live client's scribble) for about 1.2 s: slubd
 *                      answers "busy" after 0.75 s and changed nothing, so the
 *                      library asks again (up to 2 s): the create succeeds
 *                      once the word is put back; held for good, it fails with
 *                      EBUSY (not NULL with no reason), within 8 s
 *
 * Every bound is an upper bound on a wait, never a timing asserted.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "e2e.h"
#include "harness.h"
#include "layout.h"
#include "shm.h"
#include "slub.h"

#define ANSWER_MS	2000	/* each request is answered within this */
#define STOP_MS		3000	/* slubd exits within this after SIGTERM */

struct busy_shared {
	int hook;		/* the hook point to stop at */
	int at;			/* the holder reached it (then it stops) */
	int scribbled;		/* the holder wrote slab_mutex's word */
	int attached;		/* the holder attached already (p2_filler) */
	int release;		/* the scribbler puts slab_mutex's word back (0) */
	int created;		/* create_waits_busy: 1 created, -errno failed */
	char why[160];
};

static struct busy_shared *bs;
static int armed;

static void stop_hook(enum shm_hook where)
{
	if ((int)where != armed)
		return;
	armed = 0;
	__atomic_store_n(&bs->at, (int)where, __ATOMIC_SEQ_CST);
	raise(SIGSTOP);		/* here, holding the lock; the case kills us */
}

/* a client that stops inside the lock of bs->hook */
static void holder(void *arg)
{
	const char *sock = arg;
	unsigned long flags = bs->hook == HOOK_LIST_LOCKED ? SLAB_STORE_USER : 0;
	struct kmem_cache *k;
	static void *objs[20000];

	if (!bs->attached && slub_attach(sock)) {
		snprintf(bs->why, sizeof(bs->why), "slub_attach failed");
		_exit(1);
	}
	k = kmem_cache_create("busy.pool", 96, 0, flags, NULL);
	if (!k) {
		snprintf(bs->why, sizeof(bs->why), "kmem_cache_create: %s", strerror(errno));
		_exit(1);
	}
	armed = bs->hook;
	shm_test_hook = stop_hook;
	for (int round = 0; round < 3; round++) {
		int n = 0;

		while (n < 20000 && (objs[n] = kmem_cache_alloc(k, GFP_KERNEL)))
			n++;
		while (n--)
			kmem_cache_free(k, objs[n]);
		kmem_cache_shrink(k);
	}
	snprintf(bs->why, sizeof(bs->why), "the hook point %d was never reached", bs->hook);
	_exit(1);
}

/* wait until pid is stopped (1), or it ended or the time ran out (0) */
static int wait_stopped(pid_t pid, int ms)
{
	uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(ms);

	while (t_now_ms() < end) {
		int st;
		pid_t r = waitpid(pid, &st, WNOHANG | WUNTRACED);

		if (r == pid && WIFSTOPPED(st))
			return 1;
		if (r == pid)
			return 0;
		t_sleep_ms(5);
	}
	return 0;
}

static void kill_holder(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

enum { Q_VALIDATE, Q_STATS, Q_CREATE, Q_NR };
static const char *const q_name[Q_NR] = { "validate", "stats", "create" };

static int send_query(int fd, int q)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__ValidateRequest vr = SLUBD__VALIDATE_REQUEST__INIT;
	Slubd__StatsRequest sr = SLUBD__STATS_REQUEST__INIT;
	Slubd__CreateRequest cr = SLUBD__CREATE_REQUEST__INIT;

	req.id = 7;
	switch (q) {
	case Q_VALIDATE:
		req.body_case = SLUBD__REQUEST__BODY_VALIDATE;
		req.validate = &vr;
		break;
	case Q_STATS:
		req.body_case = SLUBD__REQUEST__BODY_STATS;
		req.stats = &sr;
		break;
	default:
		cr.name = "busy.new";
		cr.size = 200;
		req.body_case = SLUBD__REQUEST__BODY_CREATE;
		req.create = &cr;
		break;
	}
	return e2e_send_req(fd, &req);
}

/*
 * validate, stats and create, each on a connection of its own, all sent at
 * once: each must be answered within ANSWER_MS of its sending; an answer is
 * a reply or an error that says "busy"
 */
static void ask_all(const char *sock, pid_t holder)
{
	struct ctl_conn c[Q_NR];
	uint64_t sent[Q_NR];

	for (int q = 0; q < Q_NR; q++) {
		if (e2e_ctl_connect(sock, &c[q], "t_busy") < 0)
			return;
	}
	for (int q = 0; q < Q_NR; q++) {
		sent[q] = t_now_ms();
		CHECKF(send_query(c[q].fd, q) == 0, "sending %s", q_name[q]);
	}
	for (int q = 0; q < Q_NR; q++) {
		Slubd__Response *resp = NULL;
		int left = (int)(sent[q] + (uint64_t)e2e_scale_ms(ANSWER_MS) - t_now_ms());
		int rc = e2e_recv(c[q].fd, left > 0 ? left : 1, &resp, NULL);

		CHECKF(rc == 1, "%s: no answer within %d ms (%d: %s)", q_name[q], ANSWER_MS, rc,
		       rc == -ETIMEDOUT ? "timed out" : rc == 0 ? "closed" : "bad frame");
		if (rc == 1) {
			printf("  %s answered in %llu ms: %s\n", q_name[q],
			       (unsigned long long)(t_now_ms() - sent[q]),
			       resp->err ? resp->error : "ok");
			CHECKF(!resp->err || (resp->error && strstr(resp->error, "busy")),
			       "%s: err %d: %s (an answer or busy was expected)", q_name[q], resp->err,
			       resp->error ? resp->error : "");
			if (resp->err && resp->error && strstr(resp->error, "busy")) {
				char want[32];

				snprintf(want, sizeof(want), "held by pid %d;", (int)holder);
				CHECKF(strstr(resp->error, want) != NULL, "%s: the busy answer does "
				       "not name the holder (pid %d): %s", q_name[q], (int)holder,
				       resp->error);
			}
			slubd__response__free_unpacked(resp, NULL);
		}
		ctl_close(&c[q]);
	}
}

/* SIGTERM: slubd exits 0 within STOP_MS */
static void term_within(struct e2e_slubd *d)
{
	uint64_t t0 = t_now_ms();
	char how[96];
	int rc;

	if (!e2e_alive(d, "before SIGTERM"))
		return;
	kill(d->pid, SIGTERM);
	rc = e2e_waitpid_timeout(d->pid, e2e_scale_ms(STOP_MS));
	CHECKF(rc != -1, "slubd still ran %d ms after SIGTERM (killed)", STOP_MS);
	if (rc != -1) {
		CHECKF(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "slubd after SIGTERM: %s",
		       t_status_str(rc, how, sizeof(how)));
		printf("  slubd exited %llu ms after SIGTERM\n",
		       (unsigned long long)(t_now_ms() - t0));
	} else {
		e2e_show_log(d, 30);
	}
	d->pid = 0;
}

static void stopped_case(int hook, bool term)
{
	struct e2e_slubd *d = e2e_start(NULL);
	pid_t pid;

	REQUIRE(d != NULL);
	bs = t_shared(sizeof(*bs));
	bs->hook = hook;
	pid = t_fork(holder, d->sock);
	REQUIRE(pid > 0);
	printf("  the holder is pid %d, slubd pid %d\n", (int)pid, (int)d->pid);
	if (!wait_stopped(pid, 20000)) {
		CHECKF(0, "the client did not stop at hook %d: %s", hook, bs->why);
		kill_holder(pid);
		e2e_stop(d);
		return;
	}
	if (term) {
		struct ctl_conn c;

		/* a validate that meets the held lock, then SIGTERM */
		if (e2e_ctl_connect(d->sock, &c, "t_busy") >= 0) {
			CHECK(send_query(c.fd, Q_VALIDATE) == 0);
			t_sleep_ms(200);
			term_within(d);
			ctl_close(&c);
		}
	} else {
		ask_all(d->sock, pid);
		ask_all(d->sock, pid);	/* the lock is still held: again */
		CHECK(e2e_alive(d, "after the requests"));
	}
	kill_holder(pid);
	if (!term) {
		/* the holder is dead: its lock is repaired, everything answers plainly */
		struct e2e_validate v;

		t_sleep_ms(300);
		CHECK(e2e_validate(d->sock, NULL, &v) == 0);
		e2e_stop(d);
	}
}

E2E_CASE(stats_while_held)
{
	static const int hooks[] = { HOOK_CPU_LOCKED, HOOK_LIST_LOCKED, HOOK_ZONE_LOCKED };

	for (size_t h = 0; h < sizeof(hooks) / sizeof(hooks[0]); h++) {
		struct e2e_slubd *d = e2e_start(NULL);
		pid_t pid;

		REQUIRE(d != NULL);
		bs = e2e_shared(sizeof(*bs));
		bs->hook = hooks[h];
		pid = e2e_fork(holder, d->sock);
		REQUIRE(pid > 0);
		if (!wait_stopped(pid, 20000)) {
			CHECKF(0, "the client did not stop at hook %d: %s", hooks[h], bs->why);
			kill_holder(pid);
			e2e_stop(d);
			return;
		}
		for (int round = 0; round < 3; round++) {
			struct ctl_conn c;
			Slubd__Response *resp = NULL;
			uint64_t t0 = e2e_now_ms();
			int rc, found = 0;

			if (e2e_ctl_connect(d->sock, &c, "t_busy") < 0)
				break;
			CHECK(send_query(c.fd, Q_STATS) == 0);
			rc = e2e_recv(c.fd, e2e_scale_ms(ANSWER_MS), &resp, NULL);
			CHECKF(rc == 1, "hook %d: stats: no answer within %d ms (%d)", hooks[h], ANSWER_MS,
			       rc);
			if (rc == 1) {
				CHECKF(!resp->err && resp->body_case == SLUBD__RESPONSE__BODY_STATS,
				       "hook %d: stats answered err %d: %s (the figures were expected, "
				       "not busy)", hooks[h], resp->err, resp->error ? resp->error : "");
				for (size_t i = 0; !resp->err && resp->stats && i < resp->stats->n_caches; i++)
					found |= !strcmp(resp->stats->caches[i]->name, "busy.pool");
				CHECKF(resp->err || found, "hook %d: busy.pool is not in the stats", hooks[h]);
				if (round == 0)
					printf("  hook %d held: stats answered in %llu ms, %zu pools\n", hooks[h],
					       (unsigned long long)(e2e_now_ms() - t0),
					       resp->stats ? resp->stats->n_caches : (size_t)0);
				slubd__response__free_unpacked(resp, NULL);
			}
			ctl_close(&c);
		}
		kill_holder(pid);
		CHECK(e2e_alive(d, "after the stats"));
		e2e_stop(d);
	}
}

E2E_CASE(stopped_cpu_lock)
{
	stopped_case(HOOK_CPU_LOCKED, false);
}

E2E_CASE(stopped_list_lock)
{
	stopped_case(HOOK_LIST_LOCKED, false);
}

E2E_CASE(stopped_zone_lock)
{
	stopped_case(HOOK_ZONE_LOCKED, false);
}

E2E_CASE(sigterm_stopped)
{
	stopped_case(HOOK_CPU_LOCKED, true);
}

/* a live client whose own thread id sits in slab_mutex's word (until bs->release) */
static void scribbler(void *arg)
{
	const char *sock = arg;
	struct kmem_cache *k;
	struct arena_hdr *h;
	aoff_t off;

	if (slub_attach(sock)) {
		snprintf(bs->why, sizeof(bs->why), "slub_attach failed");
		_exit(1);
	}
	k = kmem_cache_create("busy.pool", 96, 0, 0, NULL);
	if (!k) {
		snprintf(bs->why, sizeof(bs->why), "kmem_cache_create: %s", strerror(errno));
		_exit(1);
	}
	off = slub_offset(k);
	h = (struct arena_hdr *)((char *)slub_ptr(off) - off);
	__atomic_store_n((uint32_t *)&h->slab_mutex.m, (uint32_t)getpid(), __ATOMIC_SEQ_CST);
	__atomic_store_n(&bs->scribbled, 1, __ATOMIC_SEQ_CST);
	/* bs->release (create_waits_busy): the word put back; else held until killed */
	while (!__atomic_load_n(&bs->release, __ATOMIC_SEQ_CST))
		t_sleep_ms(2);
	__atomic_store_n((uint32_t *)&h->slab_mutex.m, 0, __ATOMIC_SEQ_CST);
	for (;;)
		pause();
}

E2E_CASE(scribbled_slab_mutex)
{
	struct e2e_slubd *d = e2e_start(NULL);
	pid_t pid;

	REQUIRE(d != NULL);
	bs = t_shared(sizeof(*bs));
	pid = t_fork(scribbler, d->sock);
	REQUIRE(pid > 0);
	for (int i = 0; i < 2000 && !__atomic_load_n(&bs->scribbled, __ATOMIC_SEQ_CST); i++)
		t_sleep_ms(5);
	if (!bs->scribbled) {
		CHECKF(0, "the client did not scribble: %s", bs->why);
		kill_holder(pid);
		e2e_stop(d);
		return;
	}
	ask_all(d->sock, pid);
	ask_all(d->sock, pid);
	CHECK(e2e_alive(d, "after the requests"));
	term_within(d);
	kill_holder(pid);
}

/*
 * a client that fills and empties busy.p2 (its empty slabs stay with the
 * pool), drops its own reference to it, then stops holding the page
 * allocator's lock (on a pool of its own)
 */
static void p2_filler(void *arg)
{
	const char *sock = arg;
	struct kmem_cache *k2;
	static void *objs[4000];
	int n = 0;

	if (slub_attach(sock)) {
		snprintf(bs->why, sizeof(bs->why), "slub_attach failed");
		_exit(1);
	}
	bs->attached = 1;
	k2 = kmem_cache_create("busy.p2", 96, 0, 0, NULL);
	if (!k2) {
		snprintf(bs->why, sizeof(bs->why), "kmem_cache_create p2: %s", strerror(errno));
		_exit(1);
	}
	while (n < 4000 && (objs[n] = kmem_cache_alloc(k2, GFP_KERNEL)))
		n++;
	while (n--)
		kmem_cache_free(k2, objs[n]);
	kmem_cache_destroy(k2);	/* the test's connection holds the last reference */
	holder(arg);		/* stops at bs->hook */
}

/* one request on fd, its response within ANSWER_MS (NULL: a failed check) */
static Slubd__Response *ask(int fd, Slubd__Request *req, const char *what)
{
	Slubd__Response *resp = NULL;
	int rc;

	if (e2e_send_req(fd, req)) {
		CHECKF(0, "%s: send failed", what);
		return NULL;
	}
	rc = e2e_recv(fd, e2e_scale_ms(ANSWER_MS), &resp, NULL);
	CHECKF(rc == 1, "%s: no answer within %d ms (%d)", what, ANSWER_MS, rc);
	if (rc == 1)
		printf("  %s: %s\n", what, resp->err ? resp->error : "ok");
	return rc == 1 ? resp : NULL;
}

static Slubd__Response *destroy_p2(int fd, const char *what)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__DestroyRequest dr = SLUBD__DESTROY_REQUEST__INIT;

	req.id = 9;
	dr.name = "busy.p2";
	req.body_case = SLUBD__REQUEST__BODY_DESTROY;
	req.destroy = &dr;
	return ask(fd, &req, what);
}

E2E_CASE(destroy_last_ref_busy)
{
	struct e2e_slubd *d = e2e_start(NULL);
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__CreateRequest cr = SLUBD__CREATE_REQUEST__INIT;
	Slubd__Response *resp;
	struct e2e_cache ec;
	struct ctl_conn c;
	pid_t pid;

	REQUIRE(d != NULL);
	bs = t_shared(sizeof(*bs));
	bs->hook = HOOK_ZONE_LOCKED;
	if (e2e_ctl_connect(d->sock, &c, "t_busy") < 0) {
		e2e_stop(d);
		return;
	}
	req.id = 8;
	cr.name = "busy.p2";
	cr.size = 96;
	req.body_case = SLUBD__REQUEST__BODY_CREATE;
	req.create = &cr;
	resp = ask(c.fd, &req, "create busy.p2");
	REQUIRE(resp && !resp->err);
	slubd__response__free_unpacked(resp, NULL);
	pid = t_fork(p2_filler, d->sock);
	REQUIRE(pid > 0);
	if (!wait_stopped(pid, 20000)) {
		CHECKF(0, "the client did not stop at the zone lock: %s", bs->why);
		kill_holder(pid);
		e2e_stop(d);
		return;
	}
	CHECK(e2e_wait_refcount(d->sock, "busy.p2", 1, 5000, &ec) == 1);
	CHECKF(ec.num_slabs > 0, "busy.p2 holds no slabs (%llu): nothing to give back",
	       (unsigned long long)ec.num_slabs);
	resp = destroy_p2(c.fd, "destroy busy.p2 (the zone lock held)");
	if (resp) {
		bool busy = resp->err == EBUSY;

		CHECKF(busy || (resp->body_case == SLUBD__RESPONSE__BODY_DESTROY && !resp->err),
		       "destroy: err %d: %s", resp->err, resp->error ? resp->error : "");
		CHECKF(!(resp->body_case == SLUBD__RESPONSE__BODY_DESTROY && resp->destroy->removed),
		       "the pool was removed: the destroy did not meet the held lock");
		slubd__response__free_unpacked(resp, NULL);
		kill_holder(pid);
		pid = 0;
		t_sleep_ms(300);
		if (busy) {
			/* "try again": the reference must still be ours to drop */
			resp = destroy_p2(c.fd, "destroy busy.p2 again");
			if (resp) {
				CHECKF(resp->body_case == SLUBD__RESPONSE__BODY_DESTROY &&
				       resp->destroy->removed, "busy was answered, but the destroy "
				       "again did not remove the pool (err %d: %s): the first had "
				       "dropped the reference", resp->err, resp->error ? resp->error : "");
				slubd__response__free_unpacked(resp, NULL);
			}
		} else {
			/* "not removed": no reference is left */
			CHECK(e2e_cache_stats(d->sock, "busy.p2", &ec, NULL) == 1);
			CHECKF(ec.refcount == 0, "busy.p2: refcount %d after its last reference "
			       "was dropped", (int)ec.refcount);
		}
	}
	if (pid)
		kill_holder(pid);
	ctl_close(&c);
	CHECK(e2e_alive(d, "after the destroy"));
	e2e_stop(d);
}

#define MANY_POOLS 150

/* a live client whose thread id sits in the list_lock of MANY_POOLS pools */
static void many_scribbler(void *arg)
{
	const char *sock = arg;
	char *base = NULL;

	if (slub_attach(sock)) {
		snprintf(bs->why, sizeof(bs->why), "slub_attach failed");
		_exit(1);
	}
	for (int i = 0; i < MANY_POOLS; i++) {
		char name[32];
		struct kmem_cache *k;
		aoff_t off;

		snprintf(name, sizeof(name), "many.%d", i);
		k = kmem_cache_create(name, 64, 0, 0, NULL);
		if (!k) {
			snprintf(bs->why, sizeof(bs->why), "kmem_cache_create %s: %s", name,
				 strerror(errno));
			_exit(1);
		}
		off = slub_offset(k);
		base = (char *)slub_ptr(off) - off;
		__atomic_store_n((uint32_t *)&((struct kmem_cache_node *)(base + k->node[0]))->list_lock.m,
				 (uint32_t)getpid(), __ATOMIC_SEQ_CST);
	}
	__atomic_store_n(&bs->scribbled, 1, __ATOMIC_SEQ_CST);
	for (;;)
		pause();
}

E2E_CASE(many_scribbled_locks)
{
	struct e2e_slubd *d = e2e_start(NULL);
	struct ctl_conn c[2];
	uint64_t sent;
	pid_t pid;

	REQUIRE(d != NULL);
	bs = t_shared(sizeof(*bs));
	pid = t_fork(many_scribbler, d->sock);
	REQUIRE(pid > 0);
	for (int i = 0; i < 4000 && !__atomic_load_n(&bs->scribbled, __ATOMIC_SEQ_CST); i++)
		t_sleep_ms(5);
	if (!bs->scribbled) {
		CHECKF(0, "the client did not scribble: %s", bs->why);
		kill_holder(pid);
		e2e_stop(d);
		return;
	}
	if (e2e_ctl_connect(d->sock, &c[0], "t_busy") < 0 || e2e_ctl_connect(d->sock, &c[1], "t_busy") < 0) {
		kill_holder(pid);
		e2e_stop(d);
		return;
	}
	sent = t_now_ms();
	CHECK(send_query(c[0].fd, Q_VALIDATE) == 0);
	CHECK(send_query(c[1].fd, Q_STATS) == 0);
	for (int q = 0; q < 2; q++) {
		Slubd__Response *resp = NULL;
		int left = (int)(sent + (uint64_t)e2e_scale_ms(ANSWER_MS) - t_now_ms());
		int rc = e2e_recv(c[q].fd, left > 0 ? left : 1, &resp, NULL);

		CHECKF(rc == 1, "%s: no answer within %d ms of its sending (%d)",
		       q ? "stats" : "validate", ANSWER_MS, rc);
		if (rc == 1) {
			printf("  %s answered in %llu ms: %s\n", q ? "stats" : "validate",
			       (unsigned long long)(t_now_ms() - sent),
			       resp->err ? resp->error : "ok");
			slubd__response__free_unpacked(resp, NULL);
		}
		ctl_close(&c[q]);
	}
	CHECK(e2e_alive(d, "after the requests"));
	term_within(d);
	kill_holder(pid);
}

#define QUEUED 40

E2E_CASE(queue_stopped)
{
	struct e2e_slubd *d = e2e_start(NULL);
	static struct ctl_conn c[QUEUED];
	uint64_t sent, worst = 0;
	int open = 0;
	pid_t pid;

	REQUIRE(d != NULL);
	bs = t_shared(sizeof(*bs));
	bs->hook = HOOK_CPU_LOCKED;
	pid = t_fork(holder, d->sock);
	REQUIRE(pid > 0);
	if (!wait_stopped(pid, 20000)) {
		CHECKF(0, "the client did not stop at the CPU lock: %s", bs->why);
		kill_holder(pid);
		e2e_stop(d);
		return;
	}
	while (open < QUEUED && e2e_ctl_connect(d->sock, &c[open], "t_busy") >= 0)
		open++;
	sent = t_now_ms();
	for (int i = 0; i < open; i++)
		CHECK(send_query(c[i].fd, Q_VALIDATE) == 0);
	for (int i = 0; i < open; i++) {
		Slubd__Response *resp = NULL;
		int left = (int)(sent + (uint64_t)e2e_scale_ms(ANSWER_MS) - t_now_ms());
		int rc = e2e_recv(c[i].fd, left > 0 ? left : 1, &resp, NULL);

		CHECKF(rc == 1, "validate %d of %d: no answer within %d ms of its sending (%d)", i + 1,
		       open, ANSWER_MS, rc);
		if (rc == 1) {
			if (t_now_ms() - sent > worst)
				worst = t_now_ms() - sent;
			slubd__response__free_unpacked(resp, NULL);
		}
		ctl_close(&c[i]);
		if (rc != 1)
			break;
	}
	for (int i = 0; i < open; i++)
		if (c[i].fd >= 0)
			ctl_close(&c[i]);
	printf("  %d validates queued: the last answered in %llu ms\n", open,
	       (unsigned long long)worst);
	CHECK(e2e_alive(d, "after the requests"));
	kill_holder(pid);
	e2e_stop(d);
}

E2E_CASE(destroy_busy_lookup)
{
	struct e2e_slubd *d = e2e_start(NULL);
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__CreateRequest cr = SLUBD__CREATE_REQUEST__INIT;
	Slubd__Response *resp;
	struct ctl_conn c;
	pid_t pid;

	REQUIRE(d != NULL);
	bs = t_shared(sizeof(*bs));
	if (e2e_ctl_connect(d->sock, &c, "t_busy") < 0) {
		e2e_stop(d);
		return;
	}
	req.id = 8;
	cr.name = "busy.p2";
	cr.size = 96;
	req.body_case = SLUBD__REQUEST__BODY_CREATE;
	req.create = &cr;
	resp = ask(c.fd, &req, "create busy.p2");
	REQUIRE(resp && !resp->err);
	slubd__response__free_unpacked(resp, NULL);
	pid = t_fork(scribbler, d->sock);
	REQUIRE(pid > 0);
	for (int i = 0; i < 2000 && !__atomic_load_n(&bs->scribbled, __ATOMIC_SEQ_CST); i++)
		t_sleep_ms(5);
	if (!bs->scribbled) {
		CHECKF(0, "the client did not scribble: %s", bs->why);
		kill_holder(pid);
		e2e_stop(d);
		return;
	}
	/* as libslub does: the reference is forgotten, the reply not read for it */
	resp = destroy_p2(c.fd, "destroy busy.p2 (slab_mutex held)");
	if (resp)
		slubd__response__free_unpacked(resp, NULL);
	kill_holder(pid);	/* its word names a dead thread now: broken at the next wait */
	CHECKF(e2e_wait_listed(d->sock, "busy.p2", 0, 5000, NULL) == 0,
	       "busy.p2 still listed 5 s after its only reference was destroyed (the "
	       "connection still open)");
	ctl_close(&c);
	CHECK(e2e_alive(d, "after the destroy"));
	e2e_stop(d);
}

E2E_CASE(close_while_queued)
{
	struct e2e_slubd *d = e2e_start(NULL);
	struct e2e_arena ar;
	pid_t pid;
	int gone = 0;

	REQUIRE(d != NULL);
	bs = t_shared(sizeof(*bs));
	bs->hook = HOOK_CPU_LOCKED;
	pid = t_fork(holder, d->sock);
	REQUIRE(pid > 0);
	if (!wait_stopped(pid, 20000)) {
		CHECKF(0, "the client did not stop at the CPU lock: %s", bs->why);
		kill_holder(pid);
		e2e_stop(d);
		return;
	}
	for (int i = 0; i < 20; i++) {
		Slubd__Request req = SLUBD__REQUEST__INIT;
		Slubd__CreateRequest cr = SLUBD__CREATE_REQUEST__INIT;
		Slubd__Response *resp;
		struct ctl_conn c;
		char name[32];

		if (e2e_ctl_connect(d->sock, &c, "t_busy") < 0)
			break;
		snprintf(name, sizeof(name), "cwq.%d", i);
		req.id = 3;
		cr.name = name;
		cr.size = 64;
		req.body_case = SLUBD__REQUEST__BODY_CREATE;
		req.create = &cr;
		resp = ask(c.fd, &req, name);
		CHECK(resp && !resp->err);
		if (resp)
			slubd__response__free_unpacked(resp, NULL);
		CHECK(send_query(c.fd, Q_VALIDATE) == 0);
		ctl_close(&c);	/* hung up, its validate with the worker or queued */
	}
	CHECK(e2e_alive(d, "after the hang-ups"));
	kill_holder(pid);
	for (int t = 0; t < 100; t++) {
		gone = 0;
		for (int i = 0; i < 20; i++) {
			char name[32];

			snprintf(name, sizeof(name), "cwq.%d", i);
			gone += e2e_cache_stats(d->sock, name, NULL, &ar) == 0;
		}
		if (gone == 20 && ar.clients <= 1)
			break;
		t_sleep_ms(100);
	}
	CHECKF(gone == 20, "%d of 20 pools of hung-up connections went", gone);
	CHECKF(ar.clients <= 1, "slubd counts %u clients, the stats connection alone left",
	       ar.clients);
	CHECK(e2e_alive(d, "at the end"));
	e2e_stop(d);
}

E2E_CASE(sigterm_pending_drops)
{
	struct e2e_slubd *d = e2e_start(NULL);
	struct ctl_conn c[2];
	pid_t pid;

	REQUIRE(d != NULL);
	bs = t_shared(sizeof(*bs));
	for (int i = 0; i < 2; i++) {
		Slubd__Request req = SLUBD__REQUEST__INIT;
		Slubd__CreateRequest cr = SLUBD__CREATE_REQUEST__INIT;
		Slubd__Response *resp;

		REQUIRE(e2e_ctl_connect(d->sock, &c[i], "t_busy") >= 0);
		req.id = 8;
		cr.name = "busy.p2";
		cr.size = 96;
		req.body_case = SLUBD__REQUEST__BODY_CREATE;
		req.create = &cr;
		resp = ask(c[i].fd, &req, "create busy.p2");
		REQUIRE(resp && !resp->err);
		slubd__response__free_unpacked(resp, NULL);
	}
	pid = t_fork(scribbler, d->sock);
	REQUIRE(pid > 0);
	for (int i = 0; i < 2000 && !__atomic_load_n(&bs->scribbled, __ATOMIC_SEQ_CST); i++)
		t_sleep_ms(5);
	if (!bs->scribbled) {
		CHECKF(0, "the client did not scribble: %s", bs->why);
		kill_holder(pid);
		e2e_stop(d);
		return;
	}
	{
		Slubd__Response *resp = destroy_p2(c[0].fd, "destroy busy.p2 (slab_mutex held)");

		if (resp)
			slubd__response__free_unpacked(resp, NULL);
	}
	ctl_close(&c[1]);	/* its reference: dropped by the worker, retried */
	t_sleep_ms(1500);
	term_within(d);
	ctl_close(&c[0]);
	kill_holder(pid);
}

/* a client that takes slab_mutex itself, 200 ms at a time, every 0-3 ms */
static void mutex_hammer(void *arg)
{
	const char *sock = arg;
	struct kmem_cache *k;
	struct arena_hdr *h;
	uint64_t seed = (uint64_t)getpid();
	void *o;
	aoff_t off;

	if (slub_attach(sock)) {
		snprintf(bs->why, sizeof(bs->why), "slub_attach failed");
		_exit(1);
	}
	k = kmem_cache_create("busy.pool", 96, 0, 0, NULL);
	if (!k || !(o = kmem_cache_alloc(k, GFP_KERNEL))) {
		snprintf(bs->why, sizeof(bs->why), "kmem_cache_create/alloc: %s", strerror(errno));
		_exit(1);
	}
	kmem_cache_free(k, o);
	kmem_cache_shrink(k);	/* this thread has its life: its lock words name it */
	off = slub_offset(k);
	h = (struct arena_hdr *)((char *)slub_ptr(off) - off);
	__atomic_store_n(&bs->scribbled, 1, __ATOMIC_SEQ_CST);
	for (int round = 0; ; round++) {
		if (pthread_mutex_lock(&h->slab_mutex.m) == EOWNERDEAD)
			pthread_mutex_consistent(&h->slab_mutex.m);
		/* the first hold outlasts a request's wait: slubd notes this holder */
		t_sleep_ms(round ? 200 : 1500);
		pthread_mutex_unlock(&h->slab_mutex.m);
		usleep((useconds_t)(t_rand(&seed) % 3000));
	}
}

E2E_CASE(create_many_busy)
{
	struct e2e_opts o = { .config = "[limits]\nmax_refs = 100000\n" };
	struct e2e_slubd *d = e2e_start(&o);
	unsigned int oks = 0, busys = 0;
	struct e2e_cache ec;
	struct ctl_conn c;
	pid_t pid;

	REQUIRE(d != NULL);
	bs = t_shared(sizeof(*bs));
	if (e2e_ctl_connect(d->sock, &c, "t_busy") < 0) {
		e2e_stop(d);
		return;
	}
	pid = t_fork(mutex_hammer, d->sock);
	REQUIRE(pid > 0);
	for (int i = 0; i < 2000 && !__atomic_load_n(&bs->scribbled, __ATOMIC_SEQ_CST); i++)
		t_sleep_ms(5);
	if (!bs->scribbled) {
		CHECKF(0, "the client did not start: %s", bs->why);
		kill_holder(pid);
		e2e_stop(d);
		return;
	}
	for (int i = 0; i < 24; i++) {
		Slubd__Request req = SLUBD__REQUEST__INIT;
		Slubd__CreateRequest cr = SLUBD__CREATE_REQUEST__INIT;
		Slubd__Response *resp = NULL;
		int rc;

		t_sleep_ms(300);	/* past the busy memo's quiet time: a short wait each */
		req.id = 11;
		cr.name = "busy.many";
		cr.size = 64;
		cr.has_refs = 1;
		cr.refs = 20000;
		req.body_case = SLUBD__REQUEST__BODY_CREATE;
		req.create = &cr;
		if (e2e_send_req(c.fd, &req))
			break;
		rc = e2e_recv(c.fd, e2e_scale_ms(3000), &resp, NULL);
		CHECKF(rc == 1, "create %d: no answer (%d)", i, rc);
		if (rc != 1)
			break;
		if (!resp->err)
			oks++;
		else if (resp->err == EBUSY)
			busys++;
		else
			CHECKF(0, "create %d: err %d: %s", i, resp->err, resp->error);
		slubd__response__free_unpacked(resp, NULL);
	}
	kill_holder(pid);	/* and its connection's reference to busy.pool */
	printf("  24 creates of 20000 references: %u ok, %u busy\n", oks, busys);
	/* the holder's death is seen and deferred drops done within a few seconds */
	if (oks)
		CHECKF(e2e_wait_refcount(d->sock, "busy.many", (int32_t)(20000 * oks), 10000, &ec) ==
		       1, "busy.many: refcount %d, %u creates of 20000 answered ok: a busy one kept "
		       "some, or an ok one took fewer", (int)ec.refcount, oks);
	else {
		/* none kept: the pool went with its last reference, or has none */
		int listed = 1;

		for (int t = 0; t < 100 && listed; t++) {
			listed = e2e_cache_stats(d->sock, "busy.many", &ec, NULL);
			if (listed == 1 && ec.refcount == 0)
				listed = 0;
			else if (listed)
				t_sleep_ms(100);
		}
		CHECKF(listed == 0, "busy.many: refcount %d 10 s after every create answered busy",
		       (int)ec.refcount);
	}
	ctl_close(&c);
	CHECK(e2e_alive(d, "after the creates"));
	e2e_stop(d);
}


static void late_creator(void *arg)
{
	const char *sock = arg;
	struct kmem_cache *k;

	if (slub_attach(sock)) {
		__atomic_store_n(&bs->created, -ENOTCONN, __ATOMIC_SEQ_CST);
		_exit(1);
	}
	k = kmem_cache_create("busy.later", 64, 0, 0, NULL);
	__atomic_store_n(&bs->created, k ? 1 : -errno, __ATOMIC_SEQ_CST);
	_exit(0);
}

static int create_under_scribble(const char *sock, int release_after_ms)
{
	pid_t pid, cr;
	int got = 0;

	__atomic_store_n(&bs->scribbled, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&bs->release, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&bs->created, 0, __ATOMIC_SEQ_CST);
	pid = t_fork(scribbler, (void *)sock);
	if (pid <= 0)
		return 0;
	for (int i = 0; i < 2000 && !__atomic_load_n(&bs->scribbled, __ATOMIC_SEQ_CST); i++)
		t_sleep_ms(5);
	if (!bs->scribbled) {
		CHECKF(0, "the client did not scribble: %s", bs->why);
		kill_holder(pid);
		return 0;
	}
	cr = t_fork(late_creator, (void *)sock);
	for (int t = 0; t < e2e_scale_ms(8000) / 10; t++) {
		if (release_after_ms >= 0 && t * 10 >= release_after_ms)
			__atomic_store_n(&bs->release, 1, __ATOMIC_SEQ_CST);
		got = __atomic_load_n(&bs->created, __ATOMIC_SEQ_CST);
		if (got)
			break;
		t_sleep_ms(10);
	}
	if (cr > 0) {
		kill(cr, SIGKILL);
		waitpid(cr, NULL, 0);
	}
	kill_holder(pid);
	return got;
}

E2E_CASE(create_waits_busy)
{
	struct e2e_slubd *d = e2e_start(NULL);
	int got;

	REQUIRE(d != NULL);
	bs = t_shared(sizeof(*bs));
	got = create_under_scribble(d->sock, 1200);
	CHECKF(got == 1, "kmem_cache_create with slab_mutex held for 1.2 s: %s",
	       got == 0 ? "no answer within 8 s" : strerror(-got));
	got = create_under_scribble(d->sock, -1);
	CHECKF(got == -EBUSY, "kmem_cache_create with slab_mutex held for good: %s, not EBUSY",
	       got == 0 ? "no answer within 8 s" : got == 1 ? "created" : strerror(-got));
	CHECK(e2e_alive(d, "after the creates"));
	e2e_stop(d);
}

T_MAIN(T_CASE(stats_while_held), T_CASE(stopped_cpu_lock), T_CASE(stopped_list_lock), T_CASE(stopped_zone_lock),
       T_CASE(sigterm_stopped), T_CASE(scribbled_slab_mutex), T_CASE(destroy_last_ref_busy),
       T_CASE(many_scribbled_locks), T_CASE(queue_stopped),
       T_CASE(destroy_busy_lookup), T_CASE(close_while_queued),
       T_CASE(sigterm_pending_drops), T_CASE(create_many_busy),
       T_CASE(create_waits_busy))
