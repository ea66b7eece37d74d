/*
 * t_slots.c - connection slots that cannot be held by peers that do not
 * play: slubctl is served whatever they do.
 *
 *   hello_absolute    hello_timeout counts from the accept: a peer that
 *                     trickles a byte of its Hello every 300 ms is closed
 *                     (with a reply saying why) within 3 s of hello_timeout 1
 *   trickle_full      4 peers trickling their Hellos hold every slot of
 *                     max_clients = 4 (hello_timeout 10): slubctl stats is
 *                     still served (the oldest waiting peer makes room)
 *   disallowed_fill   a uid [access] does not allow (65534) opens 6
 *                     connections and says Hello on each, max_clients = 4:
 *                     each is refused at connect with a reply naming the
 *                     policy, and slubctl stats is served meanwhile (root)
 *   per_uid_cap       max_clients_per_uid = 2: a third connection of the uid
 *                     is refused with a reply naming the cap; once one of
 *                     the two closes, a new one is served
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "frame.h"
#include "e2e.h"
#include "harness.h"

#define OTHER 65534

/* a frame header that announces 100 body bytes (big-endian), then nothing */
static int trickle_start(int fd)
{
	const uint8_t hdr[4] = { 0, 0, 0, 100 };

	return e2e_send(fd, hdr, sizeof(hdr));
}

struct trickle {
	int fds[8];
	int n;
	int ms;		/* trickle for this long */
};

/* one byte to each fd every 300 ms (a write to a closed peer is ignored) */
static void trickler(void *arg)
{
	struct trickle *t = arg;
	uint8_t b = 0;

	signal(SIGPIPE, SIG_IGN);
	for (int waited = 0; waited < t->ms; waited += 300) {
		t_sleep_ms(300);
		for (int i = 0; i < t->n; i++)
			(void)e2e_send(t->fds[i], &b, 1);
	}
}

E2E_CASE(hello_absolute)
{
	struct e2e_opts o = { .config = "[limits]\nhello_timeout = 1\n" };
	struct e2e_slubd *d = e2e_start(&o);
	struct trickle t = { .n = 1, .ms = 6000 };
	uint64_t t0;
	pid_t pid;

	REQUIRE(d != NULL);
	t0 = t_now_ms();
	t.fds[0] = e2e_raw_connect(d->sock);
	REQUIRE(t.fds[0] >= 0);
	REQUIRE(trickle_start(t.fds[0]) == 0);
	pid = t_fork(trickler, &t);
	REQUIRE(pid > 0);
	CHECK(e2e_expect_closed(t.fds[0], 3000, "a peer trickling its Hello, hello_timeout 1 s"));
	printf("  closed %llu ms after connecting\n", (unsigned long long)(t_now_ms() - t0));
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(t.fds[0]);
	e2e_stop(d);
}

E2E_CASE(trickle_full)
{
	struct e2e_opts o = { .config = "[limits]\nmax_clients = 4\nhello_timeout = 10\n" };
	struct e2e_slubd *d = e2e_start(&o);
	struct trickle t = { .n = 4, .ms = 8000 };
	char *out = NULL;
	pid_t pid;
	int rc;

	REQUIRE(d != NULL);
	for (int i = 0; i < 4; i++) {
		t.fds[i] = e2e_raw_connect(d->sock);
		REQUIRE(t.fds[i] >= 0);
		REQUIRE(trickle_start(t.fds[i]) == 0);
	}
	pid = t_fork(trickler, &t);
	REQUIRE(pid > 0);
	t_sleep_ms(700);
	for (int round = 0; round < 2; round++) {
		rc = e2e_slubctl(d, &out, "stats", NULL);
		CHECKF(rc == 0, "slubctl stats with 4 trickling peers in max_clients 4: exit %d: %s",
		       rc, out ? out : "");
		free(out);
		out = NULL;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (int i = 0; i < 4; i++)
		close(t.fds[i]);
	e2e_stop(d);
}

struct dis_shared {
	int connected;		/* Hellos answered */
	int refused;		/* refused with a reason naming the policy */
	int other;
	int done;
	char last[200];
};

static struct dis_shared *ds;

/* uid 65534: six connections, each saying Hello, kept open for 3 s */
static void disallowed(void *arg)
{
	const char *sock = arg;
	struct ctl_conn c[6];

	if (setgroups(0, NULL) || setgid(OTHER) || setuid(OTHER)) {
		snprintf(ds->last, sizeof(ds->last), "cannot become uid %d: %s", OTHER,
			 strerror(errno));
		_exit(1);
	}
	for (int i = 0; i < 6; i++) {
		char err[256] = "";

		if (ctl_connect(&c[i], sock, "t_slots", err, sizeof(err)) == 0) {
			__atomic_add_fetch(&ds->connected, 1, __ATOMIC_SEQ_CST);
		} else {
			c[i].fd = -1;
			if (strstr(err, "may not use"))
				__atomic_add_fetch(&ds->refused, 1, __ATOMIC_SEQ_CST);
			else
				__atomic_add_fetch(&ds->other, 1, __ATOMIC_SEQ_CST);
			snprintf(ds->last, sizeof(ds->last), "%s", err);
		}
	}
	__atomic_store_n(&ds->done, 1, __ATOMIC_SEQ_CST);
	t_sleep_ms(3000);
	for (int i = 0; i < 6; i++)
		if (c[i].fd >= 0)
			ctl_close(&c[i]);
}

E2E_CASE(disallowed_fill)
{
	static char why[128];
	struct e2e_opts o = {
		.config = "[access]\nsocket_mode = 0666\nallow_uids = 0\n"
			  "[limits]\nmax_clients = 4\n",
		.open_dir = 1,
	};
	struct e2e_slubd *d;
	char *out = NULL;
	pid_t pid;
	int rc;

	if (geteuid() != 0) {
		snprintf(why, sizeof(why), "needs root to run a peer as uid %d (running as uid %u)",
			 OTHER, (unsigned)geteuid());
		SKIP(why);
	}
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	ds = t_shared(sizeof(*ds));
	pid = t_fork(disallowed, d->sock);
	REQUIRE(pid > 0);
	for (int i = 0; i < 1000 && !__atomic_load_n(&ds->done, __ATOMIC_SEQ_CST); i++)
		t_sleep_ms(5);
	CHECKF(ds->done, "the uid %d peer did not finish connecting: %s", OTHER, ds->last);
	CHECKF(ds->connected == 0 && ds->refused == 6,
	       "uid %d: %d Hellos answered, %d refused naming the policy, %d otherwise (%s)",
	       OTHER, ds->connected, ds->refused, ds->other, ds->last);
	rc = e2e_slubctl(d, &out, "stats", NULL);
	CHECKF(rc == 0, "slubctl stats while uid %d holds its connections: exit %d: %s", OTHER, rc,
	       out ? out : "");
	free(out);
	CHECK(t_wait(pid, "the uid 65534 peer"));
	e2e_stop(d);
}

E2E_CASE(per_uid_cap)
{
	struct e2e_opts o = { .config = "[limits]\nmax_clients_per_uid = 2\n" };
	struct e2e_slubd *d = e2e_start(&o);
	struct ctl_conn c[3];
	char err[256] = "";
	int rc;

	REQUIRE(d != NULL);
	for (int i = 0; i < 2; i++) {
		rc = ctl_connect(&c[i], d->sock, "t_slots", err, sizeof(err));
		REQUIRE(rc == 0);
	}
	rc = ctl_connect(&c[2], d->sock, "t_slots", err, sizeof(err));
	CHECKF(rc != 0 && strstr(err, "max_clients_per_uid"),
	       "a third connection of one uid, max_clients_per_uid 2: %d (%s)", rc, err);
	if (rc == 0)
		ctl_close(&c[2]);
	ctl_close(&c[0]);
	/* the slot of the closed one is free again (the close is seen soon after) */
	for (int i = 0; i < 100; i++) {
		rc = ctl_connect(&c[2], d->sock, "t_slots", err, sizeof(err));
		if (rc == 0)
			break;
		t_sleep_ms(20);
	}
	CHECKF(rc == 0, "a new connection once one closed: %s", err);
	if (rc == 0)
		ctl_close(&c[2]);
	ctl_close(&c[1]);
	e2e_stop(d);
}

/*
 * uid 65534, allowed, connects again and again (every 2 ms) and never says
 * Hello, keeping its last 32 connections open: every slot of max_clients 4
 * is always held by one of its connections younger than the eviction grace
 */
static int flood_ms;

static void reconnector(void *arg)
{
	const char *sock = arg;
	int ring[32], n = 0;
	uint64_t end = t_now_ms() + (uint64_t)flood_ms;

	for (int i = 0; i < 32; i++)
		ring[i] = -1;
	if (setgroups(0, NULL) || setgid(OTHER) || setuid(OTHER))
		_exit(1);
	while (t_now_ms() < end) {
		int fd = e2e_raw_connect(sock);

		if (ring[n % 32] >= 0)
			close(ring[n % 32]);
		ring[n++ % 32] = fd;
		t_sleep_ms(2);
	}
	_exit(0);
}

E2E_CASE(reconnect_flood)
{
	static char why[128];
	struct e2e_opts o = {
		.config = "[access]\nsocket_mode = 0666\nallow_uids = 0 65534\n"
			  "[limits]\nmax_clients = 4\nhello_timeout = 10\n",
		.open_dir = 1,
	};
	struct e2e_slubd *d;
	int served = 0;
	pid_t pid;

	if (geteuid() != 0) {
		snprintf(why, sizeof(why), "needs root to run a peer as uid %d (running as uid %u)",
			 OTHER, (unsigned)geteuid());
		SKIP(why);
	}
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	flood_ms = 6000;
	pid = t_fork(reconnector, d->sock);
	REQUIRE(pid > 0);
	t_sleep_ms(700);
	for (int i = 0; i < 3; i++) {
		char *out = NULL;
		int rc = e2e_slubctl(d, &out, "stats", NULL);

		if (rc == 0)
			served++;
		else
			printf("  slubctl stats: exit %d: %s", rc, out ? out : "");
		free(out);
	}
	CHECKF(served == 3, "slubctl stats (uid 0) served %d times of 3 while uid %d reconnects "
	       "without a Hello", served, OTHER);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	CHECK(e2e_alive(d, "after the flood"));
	e2e_stop(d);
}

/* uid 65534: n connections that never say Hello, kept open for ms */
static int idle_n, idle_ms;

static void idler(void *arg)
{
	const char *sock = arg;
	int fds[8];

	if (setgroups(0, NULL) || setgid(OTHER) || setuid(OTHER))
		_exit(1);
	for (int i = 0; i < idle_n; i++)
		fds[i] = e2e_raw_connect(sock);
	t_sleep_ms(idle_ms);
	for (int i = 0; i < idle_n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	_exit(0);
}

/*
 * slow_hello_fair - max_clients 4: root's peer connects and is slow with its
 * Hello (half of it, then 900 ms); meanwhile uid 65534 fills the other three
 * slots with connections that never speak, and connects a fourth once every
 * one is past the eviction grace.  The one closed for it is one of uid
 * 65534's (the uid holding the most slots), not root's lone peer: its Hello,
 * completed, is answered.
 */
E2E_CASE(slow_hello_fair)
{
	static char why[128];
	struct e2e_opts o = {
		.config = "[access]\nsocket_mode = 0666\nallow_uids = 0 65534\n"
			  "[limits]\nmax_clients = 4\nhello_timeout = 10\n",
		.open_dir = 1,
	};
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__Hello hello = SLUBD__HELLO__INIT;
	Slubd__Response *resp = NULL;
	struct e2e_slubd *d;
	uint8_t *buf = NULL;
	size_t len = 0;
	pid_t p1, p2;
	int fd, rc;

	if (geteuid() != 0) {
		snprintf(why, sizeof(why), "needs root to run a peer as uid %d (running as uid %u)",
			 OTHER, (unsigned)geteuid());
		SKIP(why);
	}
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	hello.version = SLUBD_PROTOCOL_VERSION;
	hello.client = "t_slots";
	req.body_case = SLUBD__REQUEST__BODY_HELLO;
	req.hello = &hello;
	REQUIRE(frame_pack(&req.base, &buf, &len) == 0 && len > 6);
	fd = e2e_raw_connect(d->sock);
	REQUIRE(fd >= 0);
	CHECK(e2e_send(fd, buf, 6) == 0);	/* the header and two bytes: slow */
	t_sleep_ms(50);
	idle_n = 3;
	idle_ms = 3000;
	p1 = t_fork(idler, d->sock);
	REQUIRE(p1 > 0);
	t_sleep_ms(400);			/* every one past the grace (250 ms) */
	idle_n = 1;
	p2 = t_fork(idler, d->sock);		/* a fourth: one must go */
	REQUIRE(p2 > 0);
	t_sleep_ms(400);
	CHECK(e2e_send(fd, buf + 6, len - 6) == 0);
	rc = e2e_recv(fd, e2e_scale_ms(2000), &resp, NULL);
	CHECKF(rc == 1 && !resp->err && resp->body_case == SLUBD__RESPONSE__BODY_HELLO,
	       "root's slow Hello: %s (%s)", rc == 1 ? "answered" : rc == 0 ? "closed" : "no answer",
	       rc == 1 && resp->error ? resp->error : "");
	if (rc == 1)
		slubd__response__free_unpacked(resp, NULL);
	free(buf);
	close(fd);
	kill(p1, SIGKILL);
	kill(p2, SIGKILL);
	waitpid(p1, NULL, 0);
	waitpid(p2, NULL, 0);
	e2e_stop(d);
}

/*
 * many_groups - a peer (uid 65534) in 100 supplementary groups, of which
 * only the last, 20099, is allowed (allow_gids): SO_PEERGROUPS needs more
 * than its first buffer (64), and the peer is served; in 100 groups none
 * of them allowed, it is refused naming the policy
 */
static int mg_last, mg_rc;
static char mg_err[256];

static void grouped(void *arg)
{
	gid_t g[100];
	struct ctl_conn c;

	for (int i = 0; i < 100; i++)
		g[i] = (gid_t)(20000 + i + (mg_last ? 0 : 1000));
	if (setgroups(100, g) || setgid(OTHER) || setuid(OTHER))
		_exit(2);
	mg_rc = ctl_connect(&c, arg, "t_slots", mg_err, sizeof(mg_err));
	if (mg_rc == 0) {
		ctl_close(&c);
		_exit(0);
	}
	_exit(strstr(mg_err, "may not use") ? 1 : 3);
}

E2E_CASE(many_groups)
{
	static char why[128];
	struct e2e_opts o = {
		.config = "[access]\nsocket_mode = 0666\nallow_uids = 0\nallow_gids = 20099\n",
		.open_dir = 1,
	};
	struct e2e_slubd *d;
	int st;
	pid_t pid;

	if (geteuid() != 0) {
		snprintf(why, sizeof(why), "needs root to run a peer as uid %d (running as uid %u)",
			 OTHER, (unsigned)geteuid());
		SKIP(why);
	}
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	for (mg_last = 1; mg_last >= 0; mg_last--) {
		pid = t_fork(grouped, d->sock);
		REQUIRE(pid > 0);
		st = e2e_waitpid_timeout(pid, e2e_scale_ms(5000));
		CHECKF(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == (mg_last ? 0 : 1),
		       "a peer in 100 groups, %s: exit %d (0 served, 1 refused by the policy, 2 "
		       "setup, 3 otherwise)", mg_last ? "the last allowed" : "none allowed",
		       st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	CHECK(e2e_alive(d, "after the peers"));
	e2e_stop(d);
}

/*
 * sighup_revokes - uid 65534 is allowed, has a connection that said Hello
 * and one that has not; [access] loses 65534 and slubd gets SIGHUP: the one
 * waiting for its Hello is closed, and the other's next request is refused
 * (EACCES), not served
 */
struct rv_shared {
	int ready, go, stats_err, closed;
	char why[200];
};
static struct rv_shared *rv;

static void revoked(void *arg)
{
	const char *sock = arg;
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__StatsRequest sr = SLUBD__STATS_REQUEST__INIT;
	Slubd__Response *resp = NULL;
	struct ctl_conn c;
	char err[256] = "";
	int raw, rc;

	if (setgroups(0, NULL) || setgid(OTHER) || setuid(OTHER))
		_exit(2);
	if (ctl_connect(&c, sock, "t_slots", err, sizeof(err))) {
		snprintf(rv->why, sizeof(rv->why), "connect: %s", err);
		_exit(2);
	}
	raw = e2e_raw_connect(sock);
	__atomic_store_n(&rv->ready, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 1000 && !__atomic_load_n(&rv->go, __ATOMIC_SEQ_CST); i++)
		t_sleep_ms(10);
	rv->closed = e2e_expect_closed(raw, e2e_scale_ms(2000), "a pre-Hello peer revoked");
	req.id = 5;
	req.body_case = SLUBD__REQUEST__BODY_STATS;
	req.stats = &sr;
	rc = e2e_send_req(c.fd, &req);
	if (!rc)
		rc = e2e_recv(c.fd, e2e_scale_ms(2000), &resp, NULL);
	rv->stats_err = rc == 1 ? resp->err : rc == 0 ? -1000 : -1001;
	if (rc == 1)
		slubd__response__free_unpacked(resp, NULL);
	close(raw);
	ctl_close(&c);
	_exit(0);
}

E2E_CASE(sighup_revokes)
{
	static char why[128];
	struct e2e_opts o = {
		.config = "[access]\nsocket_mode = 0666\nallow_uids = 0 65534\n",
		.open_dir = 1,
	};
	struct e2e_slubd *d;
	FILE *f;
	pid_t pid;

	if (geteuid() != 0) {
		snprintf(why, sizeof(why), "needs root to run a peer as uid %d (running as uid %u)",
			 OTHER, (unsigned)geteuid());
		SKIP(why);
	}
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	rv = t_shared(sizeof(*rv));
	pid = t_fork(revoked, d->sock);
	REQUIRE(pid > 0);
	for (int i = 0; i < 1000 && !__atomic_load_n(&rv->ready, __ATOMIC_SEQ_CST); i++)
		t_sleep_ms(5);
	CHECKF(rv->ready, "the uid %d peer did not connect: %s", OTHER, rv->why);
	f = fopen(d->conf, "w");
	REQUIRE(f != NULL);
	fputs("[access]\nsocket_mode = 0666\nallow_uids = 0\n", f);
	fclose(f);
	REQUIRE(kill(d->pid, SIGHUP) == 0);
	t_sleep_ms(500);
	__atomic_store_n(&rv->go, 1, __ATOMIC_SEQ_CST);
	t_wait(pid, "the uid 65534 peer");
	CHECKF(rv->closed == 1, "uid %d's connection waiting for its Hello stayed open after "
	       "[access] dropped it", OTHER);
	CHECKF(rv->stats_err == EACCES, "uid %d's stats after [access] dropped it: err %d (%s)",
	       OTHER, rv->stats_err, rv->stats_err == 0 ? "served" : "want EACCES");
	CHECK(e2e_alive(d, "after SIGHUP"));
	e2e_stop(d);
}

T_MAIN(T_CASE(hello_absolute), T_CASE(trickle_full), T_CASE(disallowed_fill), T_CASE(per_uid_cap),
       T_CASE(reconnect_flood), T_CASE(slow_hello_fair),
       T_CASE(many_groups), T_CASE(sighup_revokes))
