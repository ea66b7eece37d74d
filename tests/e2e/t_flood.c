/*
 * t_flood.c - floods: slubd stays up, serves the others, and keeps its
 * memory bounded.
 *
 *   floods    rounds (10; $T_FLOOD_ROUNDS) of four floods on one slubd with
 *             [limits] max_clients = 96, max_caches = 200, hello_timeout = 1,
 *             while a well-behaved client (the keeper) holds one connection:
 *     slots       95 + 32 connections at once, each sending its Hello: exactly
 *                 95 answered (the keeper holds the 96th slot), the 32 past
 *                 max_clients closed unanswered; the keeper is served with
 *                 every slot taken
 *     garbage     random bytes, headers over the limit, empty frames, frames of
 *                 the maximum size that are garbage (closed) or valid (answered),
 *                 half frames before Hello (closed by hello_timeout) and after
 *                 (left hanging); the keeper is served while they hang
 *     nonreaders  48 connections send 8192 stats requests each (one in 32 of
 *                 every cache, ~1.5 KiB of reply; the others of a missing
 *                 pool, ~200 bytes of error) and never read a reply; none is
 *                 cut, the keeper is served meanwhile; then one of them reads
 *                 every reply, in order, none lost
 *     pools       create past max_caches (answered ENOSPC past it), stats of
 *                 all the pools, many at once, and a connection that asks for
 *                 them and never reads; its pools go with the connection
 *   After each round slubd is alive, a fresh client is served, and slubd's
 *   VmRSS, VmHWM, RssAnon, RssFile and RssShmem (/proc/PID/status) are
 *   printed.  At the end: VmRSS after the last round is within
 *   FLOOD_RSS_SLACK_KIB of VmRSS after round 2 (round 1 warms up malloc's
 *   pools, libevent's tables and the arena pages slubd touches), and VmHWM
 *   stayed below FLOOD_HWM_MAX_KIB.
 *
 * Where /proc does not show slubd's own memory - slubd under $SLUBD_WRAPPER
 * (valgrind), or built with a sanitizer that keeps shadow memory and a
 * quarantine (ASan, TSan) - the rounds are 3, the memory bounds are not
 * checked, and the log says so; under a wrapper the nonreaders are 8 and
 * send 1024 requests each, and the pools flood asks for 10 stats (slubd
 * answers ~50 times slower: the same paths, less volume).  Nothing here
 * asserts how long anything took.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "e2e.h"
#include "harness.h"

#define F_MAX_CLIENTS	96
#define F_MAX_CACHES	200
#define F_PAST		32	/* connections past max_clients */
#define F_NONREADERS	48	/* 8 under a wrapper */
#define F_REQS		8192	/* stats requests of each nonreader (1024 under a wrapper) */
#define F_FULL		32	/* one nonreader request in F_FULL asks for every cache's stats */
#define F_EXTRA_POOLS	50	/* creates past max_caches */
#define F_STATS		20	/* stats requests of the pools flood (10 under a wrapper) */
#define F_BATCH		50	/* requests written before their replies are read */
#define F_ROUNDS	10

/*
 * The bounds, from measurements (gcc -O2, x86_64, Debian 12; 10 runs of
 * build/tests/e2e/t_flood): slubd starts at VmRSS ~5.4 MiB and is at ~7.6
 * MiB after each round (RssAnon ~0.5 MiB, RssFile ~7.1 MiB: its libraries
 * and the arena pages it touched); from round 2 to round 10 VmRSS moved by
 * +40..+80 KiB (a 100-round run levels off ~250 KiB up: malloc's and
 * libevent's tables).  1 MiB of slack is >10 times that, yet a leak of 500
 * bytes per connection (a round opens ~300) would pass it by round 10.
 * VmHWM was 11.8..12.1 MiB; 24 MiB is twice that.  Before slubd stopped
 * reading connections whose replies back up (slubd/server.c, OUT_PAUSE),
 * the nonreaders took VmHWM to ~50 MiB (and to 184 MiB in a first version
 * of this test whose 24 nonreaders asked for full stats only: each may hold
 * SLUBD_MAX_OUTBUF = 8 MiB of unsent replies before it is cut).
 */
#define FLOOD_RSS_SLACK_KIB	1024
#define FLOOD_HWM_MAX_KIB	(24 * 1024)

static const char f_config[] =
	"[limits]\nmax_clients = 96\nmax_caches = 200\nhello_timeout = 1\n";

struct mem {
	long rss, hwm, anon, file, shmem;	/* KiB */
};

static int read_mem(pid_t pid, struct mem *m)
{
	char path[64], line[256];
	FILE *f;

	memset(m, 0, sizeof(*m));
	m->rss = m->hwm = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "VmRSS: %ld", &m->rss);
		sscanf(line, "VmHWM: %ld", &m->hwm);
		sscanf(line, "RssAnon: %ld", &m->anon);
		sscanf(line, "RssFile: %ld", &m->file);
		sscanf(line, "RssShmem: %ld", &m->shmem);
	}
	fclose(f);
	return m->rss >= 0 && m->hwm >= 0 ? 0 : -1;
}

/* ---- requests on the wire ------------------------------------------------- */

/* a frame (header + packed request) into buf; its length */
static size_t frame_req(Slubd__Request *r, uint8_t *buf, size_t cap)
{
	size_t n = slubd__request__get_packed_size(r);

	if (n + SLUBD_FRAME_HDR > cap)
		return 0;
	buf[0] = (uint8_t)(n >> 24);
	buf[1] = (uint8_t)(n >> 16);
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
	slubd__request__pack(r, buf + SLUBD_FRAME_HDR);
	return n + SLUBD_FRAME_HDR;
}

static size_t frame_hello(uint32_t id, uint8_t *buf, size_t cap)
{
	Slubd__Request r;
	Slubd__Hello h;

	e2e_hello_req(&r, &h, id, SLUBD_PROTOCOL_VERSION);
	h.client = "t_flood";
	return frame_req(&r, buf, cap);
}

static size_t frame_stats(uint32_t id, uint8_t *buf, size_t cap)
{
	Slubd__Request r = SLUBD__REQUEST__INIT;
	Slubd__StatsRequest s = SLUBD__STATS_REQUEST__INIT;

	r.id = id;
	r.body_case = SLUBD__REQUEST__BODY_STATS;
	r.stats = &s;
	return frame_req(&r, buf, cap);
}

/* stats of a pool that does not exist: an error reply that echoes the name, escaped (~200 bytes) */
static size_t frame_stats_missing(uint32_t id, uint8_t *buf, size_t cap)
{
	Slubd__Request r = SLUBD__REQUEST__INIT;
	Slubd__StatsRequest s = SLUBD__STATS_REQUEST__INIT;
	char name[41];

	memset(name, 0x01, 40);	/* each byte shown as \x01 */
	name[40] = 0;
	s.name = name;
	r.id = id;
	r.body_case = SLUBD__REQUEST__BODY_STATS;
	r.stats = &s;
	return frame_req(&r, buf, cap);
}

static size_t frame_create(uint32_t id, const char *name, uint64_t size, uint8_t *buf, size_t cap)
{
	Slubd__Request r = SLUBD__REQUEST__INIT;
	Slubd__CreateRequest c = SLUBD__CREATE_REQUEST__INIT;

	c.name = (char *)name;
	c.size = size;
	r.id = id;
	r.body_case = SLUBD__REQUEST__BODY_CREATE;
	r.create = &c;
	return frame_req(&r, buf, cap);
}

/*
 * a frame of exactly SLUBD_MAX_REQUEST body bytes that is a valid request:
 * the packed request, then an unknown length-delimited field (number 1000)
 * that pads it (protobuf keeps unknown fields; slubd ignores them)
 */
static size_t frame_padded(size_t (*mk)(uint32_t, uint8_t *, size_t), uint32_t id, uint8_t *buf)
{
	size_t n = mk(id, buf, SLUBD_FRAME_HDR + SLUBD_MAX_REQUEST), body, pad;
	uint8_t *p;

	if (!n)
		return 0;
	body = n - SLUBD_FRAME_HDR;
	pad = SLUBD_MAX_REQUEST - body - 4;	/* tag (2 bytes) and length (2 bytes) */
	p = buf + n;
	*p++ = (uint8_t)(((1000 << 3) | 2) & 0x7f) | 0x80;
	*p++ = (uint8_t)(((1000 << 3) | 2) >> 7);
	*p++ = (uint8_t)(pad & 0x7f) | 0x80;
	*p++ = (uint8_t)(pad >> 7);
	memset(p, 'p', pad);
	buf[0] = (uint8_t)(SLUBD_MAX_REQUEST >> 24);
	buf[1] = (uint8_t)(SLUBD_MAX_REQUEST >> 16);
	buf[2] = (uint8_t)(SLUBD_MAX_REQUEST >> 8);
	buf[3] = (uint8_t)SLUBD_MAX_REQUEST;
	return SLUBD_FRAME_HDR + SLUBD_MAX_REQUEST;
}

static void put_hdr(uint8_t *p, uint32_t n)
{
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
}

/* one response, which must be a success; 1, else 0 with a failed check naming what */
static int recv_ok(int fd, uint32_t id, const char *what)
{
	Slubd__Response *r;
	int rc = e2e_recv(fd, 10000, &r, NULL);

	if (rc != 1) {
		CHECKF(0, "%s: no response (%d: %s)", what, rc, rc < 0 ? strerror(-rc) : "closed");
		return 0;
	}
	rc = r->id == id && r->err == 0;
	CHECKF(rc, "%s: response id %u err %d (%s), want id %u and success", what, r->id, r->err,
	       r->error ? r->error : "", id);
	slubd__response__free_unpacked(r, NULL);
	return rc;
}

/* ---- the keeper: a well-behaved client that stays connected --------------- */

/*
 * stats over the keeper: 0 (*clients: the connections, the keeper's among them; *pools:
 * the pools that are not the arena's own), or -1
 */
static int keeper_stats(struct ctl_conn *k, const char *when, unsigned int *clients, unsigned int *pools)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__StatsRequest sr = SLUBD__STATS_REQUEST__INIT;
	Slubd__Response *resp = NULL;
	char err[256] = "";
	int rc;

	req.body_case = SLUBD__REQUEST__BODY_STATS;
	req.stats = &sr;
	rc = ctl_call(k, &req, &resp, NULL, err, sizeof(err));
	if (rc || !resp || resp->err || resp->body_case != SLUBD__RESPONSE__BODY_STATS) {
		CHECKF(0, "the keeper was not served %s: %s%s", when, err,
		       resp && resp->error ? resp->error : "");
		if (resp)
			slubd__response__free_unpacked(resp, NULL);
		return -1;
	}
	*clients = resp->stats->clients + 1;	/* the keeper too: slubd counts the others */
	*pools = 0;
	for (size_t i = 0; i < resp->stats->n_caches; i++)
		*pools += !resp->stats->caches[i]->system;
	slubd__response__free_unpacked(resp, NULL);
	return 0;
}

/*
 * wait until slubd counts want_clients connections and want_pools pools
 * (-1: any number): connections a client closed go once slubd has read
 * their end.  1, else 0 with a failed check.
 */
static int wait_for(struct ctl_conn *k, unsigned int want_clients, int want_pools, const char *when)
{
	uint64_t deadline = t_now_ms() + (uint64_t)e2e_scale_ms(10000);
	unsigned int clients = 0, pools = 0;

	for (;;) {
		if (keeper_stats(k, when, &clients, &pools))
			return 0;
		if (clients == want_clients && (want_pools < 0 || pools == (unsigned int)want_pools))
			return 1;
		if (t_now_ms() > deadline)
			break;
		t_sleep_ms(10);
	}
	CHECKF(0, "%s: slubd counts %u clients and %u pools, want %u clients and %d pools", when,
	       clients, pools, want_clients, want_pools);
	return 0;
}

/* only the keeper is connected, and no pool is left */
static int settle(struct ctl_conn *k, const char *when)
{
	return wait_for(k, 1, 0, when);
}

/* ---- the floods ------------------------------------------------------------ */

static void flood_slots(const char *sock, struct ctl_conn *k)
{
	int n = F_MAX_CLIENTS - 1 + F_PAST, fds[F_MAX_CLIENTS - 1 + F_PAST];
	int answered = 0, refused = 0, other = 0;
	unsigned int clients = 0, pools = 0;
	uint8_t buf[256];
	size_t len = frame_hello(7, buf, sizeof(buf));

	/* each says Hello at once, so that hello_timeout frees no slot meanwhile */
	for (int i = 0; i < n; i++) {
		fds[i] = e2e_raw_connect(sock);
		if (fds[i] >= 0)
			e2e_send(fds[i], buf, len);	/* refused ones may fail: fine */
	}
	for (int i = 0; i < n; i++) {
		Slubd__Response *r;
		int rc = fds[i] >= 0 ? e2e_recv(fds[i], 10000, &r, NULL) : -1;

		if (rc == 1 && r->err) {
			/* a refusal may say why before it closes */
			slubd__response__free_unpacked(r, NULL);
			rc = e2e_recv(fds[i], 10000, &r, NULL);
			if (rc == 1)
				slubd__response__free_unpacked(r, NULL);
			refused += rc == 0 || rc == -EPIPE;
			other += rc != 0 && rc != -EPIPE;
		} else if (rc == 1) {
			answered += r->id == 7;
			other += r->id != 7;
			slubd__response__free_unpacked(r, NULL);
		} else if (rc == 0 || rc == -EPIPE) {
			refused++;
		} else {
			other++;
		}
	}
	CHECKF(answered == F_MAX_CLIENTS - 1 && refused == F_PAST && other == 0,
	       "slots: %d answered, %d refused, %d other; want %d answered (max_clients %d, the keeper "
	       "holds one) and %d refused", answered, refused, other, F_MAX_CLIENTS - 1, F_MAX_CLIENTS,
	       F_PAST);
	if (keeper_stats(k, "with every slot taken", &clients, &pools) == 0)
		CHECKF(clients == F_MAX_CLIENTS, "slots: slubd counts %u clients, want %d", clients,
		       F_MAX_CLIENTS);
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

struct garbage {
	int closing[32], nclosing;	/* slubd must close these */
	int hanging[8], nhanging;	/* and leave these open */
};

/* open the garbage connections; garbage_finish checks what became of them */
static void garbage_start(const char *sock, struct garbage *g, uint64_t *seed)
{
	static uint8_t big[SLUBD_FRAME_HDR + SLUBD_MAX_REQUEST];
	int *closing = g->closing, *hanging = g->hanging, nclosing = 0, nhanging = 0, fd;
	uint8_t buf[512];
	size_t n;

	/* random bytes, each connection its own */
	for (int i = 0; i < 8; i++) {
		size_t len = 1 + t_rand(seed) % 300;

		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)t_rand(seed);
		buf[0] |= 0x80;	/* a header far over the limit (a short one would wait for its body) */
		if ((fd = e2e_raw_connect(sock)) >= 0) {
			e2e_send(fd, buf, len);
			closing[nclosing++] = fd;
		}
	}
	/* headers: one over the limit, the largest there is, and an empty frame */
	{
		uint32_t hdrs[] = { SLUBD_MAX_REQUEST + 1, 0xffffffffu, 0 };

		for (int i = 0; i < 3; i++)
			if ((fd = e2e_raw_connect(sock)) >= 0) {
				put_hdr(buf, hdrs[i]);
				e2e_send(fd, buf, 4);
				closing[nclosing++] = fd;
			}
	}
	/* a frame of the maximum size that is no request, before and after Hello */
	put_hdr(big, SLUBD_MAX_REQUEST);
	memset(big + SLUBD_FRAME_HDR, 0xff, SLUBD_MAX_REQUEST);
	if ((fd = e2e_raw_connect(sock)) >= 0) {
		e2e_send(fd, big, sizeof(big));
		closing[nclosing++] = fd;
	}
	if ((fd = e2e_raw_hello(sock, "t_flood", 10000)) >= 0) {
		e2e_send(fd, big, sizeof(big));
		closing[nclosing++] = fd;
	}
	/* half frames before Hello: hello_timeout closes them */
	if ((fd = e2e_raw_connect(sock)) >= 0) {
		put_hdr(buf, SLUBD_MAX_REQUEST);
		memset(buf + 4, 'h', 100);
		e2e_send(fd, buf, 104);
		closing[nclosing++] = fd;
	}
	if ((fd = e2e_raw_connect(sock)) >= 0) {
		put_hdr(buf, 64);
		e2e_send(fd, buf, 2);	/* half a header */
		closing[nclosing++] = fd;
	}
	/* frames of the maximum size that are valid: answered */
	if ((fd = e2e_raw_connect(sock)) >= 0) {
		n = frame_padded(frame_hello, 11, big);
		CHECK(n == sizeof(big));
		e2e_send(fd, big, n);
		recv_ok(fd, 11, "a Hello of the maximum frame size");
		n = frame_padded(frame_stats, 12, big);
		e2e_send(fd, big, n);
		recv_ok(fd, 12, "a stats request of the maximum frame size");
		hanging[nhanging++] = fd;
	}
	/* half frames after Hello: they wait for the rest, as long as the peer likes */
	if ((fd = e2e_raw_hello(sock, "t_flood", 10000)) >= 0) {
		put_hdr(buf, SLUBD_MAX_REQUEST);
		memset(buf + 4, 'h', 400);
		e2e_send(fd, buf, 404);
		hanging[nhanging++] = fd;
	}
	if ((fd = e2e_raw_hello(sock, "t_flood", 10000)) >= 0) {
		put_hdr(buf, 64);
		e2e_send(fd, buf, 3);
		hanging[nhanging++] = fd;
	}
	g->nclosing = nclosing;
	g->nhanging = nhanging;
}

static void garbage_finish(struct ctl_conn *k, struct garbage *g)
{
	int *closing = g->closing, *hanging = g->hanging, nclosing = g->nclosing, nhanging = g->nhanging;
	unsigned int clients = 0, pools;

	keeper_stats(k, "while garbage and half frames hang", &clients, &pools);
	for (int i = 0; i < nclosing; i++) {
		char what[64];

		snprintf(what, sizeof(what), "garbage connection %d", i);
		e2e_expect_closed(closing[i], 10000, what);
		close(closing[i]);
	}
	CHECKF(nclosing == 15 && nhanging == 3, "garbage: %d + %d connections, want 15 + 3", nclosing,
	       nhanging);
	/* the keeper and the hanging ones: the garbage went, and what other floods closed */
	wait_for(k, 1 + (unsigned int)nhanging, -1, "garbage: after the garbage was closed");
	for (int i = 0; i < nhanging; i++)
		close(hanging[i]);
}

struct nonreader {
	int fd;
	uint8_t *buf;		/* every request, framed */
	size_t len, off;	/* off: written so far */
	int nreq;
	int gone;		/* slubd closed it (EPIPE, ECONNRESET) */
};

/* write what the sockets take, until every request is out or none can take more for a while */
static void pump(struct nonreader *nr, int n)
{
	struct pollfd pfd[F_NONREADERS];

	for (;;) {
		int want = 0, pr;

		for (int i = 0; i < n; i++) {
			pfd[i].fd = nr[i].fd >= 0 && !nr[i].gone && nr[i].off < nr[i].len ? nr[i].fd : -1;
			pfd[i].events = POLLOUT;
			want += pfd[i].fd >= 0;
		}
		if (!want)
			return;
		pr = poll(pfd, (nfds_t)n, e2e_scale_ms(150));
		if (pr <= 0)
			return;	/* nobody could take more: slubd stopped reading them */
		for (int i = 0; i < n; i++) {
			ssize_t w;

			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			w = send(nr[i].fd, nr[i].buf + nr[i].off, nr[i].len - nr[i].off,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0)
				nr[i].off += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				nr[i].gone = 1;
		}
	}
}

static void flood_nonreaders(const char *sock, struct ctl_conn *k, int nconn, int nreq)
{
	struct nonreader nr[F_NONREADERS];
	unsigned int clients, pools;
	int gone = 0, got = 0;

	for (int i = 0; i < nconn; i++) {
		size_t cap = (size_t)nreq * 64;

		memset(&nr[i], 0, sizeof(nr[i]));
		nr[i].fd = e2e_raw_hello(sock, "t_flood", 10000);
		nr[i].buf = malloc(cap);
		nr[i].nreq = nreq;
		if (!nr[i].buf)
			continue;
		/* one in F_FULL the stats of every cache (~1.5 KiB), the others an error reply */
		for (int r = 0; r < nreq; r++)
			nr[i].len += (r % F_FULL ? frame_stats_missing : frame_stats)((uint32_t)(100 + r),
									 nr[i].buf + nr[i].len,
									 cap - nr[i].len);
	}
	pump(nr, nconn);
	for (int i = 0; i < nconn; i++)
		gone += nr[i].gone;
	keeper_stats(k, "while connections do not read their replies", &clients, &pools);
	CHECKF(gone == 0, "nonreaders: slubd cut %d of %d connections that did not read", gone, nconn);
	/* the first one reads now: every reply comes, in order, while it writes the rest */
	if (nr[0].fd >= 0 && nr[0].buf) {
		int fd = nr[0].fd;

		while (got < nreq) {
			Slubd__Response *r;
			int rc;

			if (nr[0].off < nr[0].len) {
				ssize_t w = send(fd, nr[0].buf + nr[0].off, nr[0].len - nr[0].off,
						 MSG_NOSIGNAL | MSG_DONTWAIT);

				if (w > 0)
					nr[0].off += (size_t)w;
			}
			rc = e2e_recv(fd, 10000, &r, NULL);
			if (rc != 1) {
				CHECKF(0, "nonreaders: reply %d of %d did not come (%d: %s)", got + 1, nreq, rc,
				       rc < 0 ? strerror(-rc) : "closed");
				break;
			}
			if (r->id != (uint32_t)(100 + got) || r->err != (got % F_FULL ? ENOENT : 0)) {
				CHECKF(0, "nonreaders: reply %d is id %u err %d, want id %d and err %d", got,
				       r->id, r->err, 100 + got, got % F_FULL ? ENOENT : 0);
				slubd__response__free_unpacked(r, NULL);
				break;
			}
			slubd__response__free_unpacked(r, NULL);
			got++;
		}
	}
	CHECKF(got == nreq, "nonreaders: %d of %d replies read back", got, nreq);
	for (int i = 0; i < nconn; i++) {
		if (nr[i].fd >= 0)
			close(nr[i].fd);
		free(nr[i].buf);
	}
}

static void flood_pools(const char *sock, struct ctl_conn *k, int round, int nstats)
{
	static uint8_t buf[F_BATCH * 128];
	int fd = e2e_raw_hello(sock, "t_flood", 10000), q = -1, ok = 0, nospc = 0, other = 0, total = F_MAX_CACHES + F_EXTRA_POOLS;
	unsigned int clients, pools;
	uint32_t id = 1000;

	if (fd < 0)
		return;
	/* creates, F_BATCH at a time, past max_caches */
	for (int i = 0; i < total; i += F_BATCH) {
		size_t len = 0;
		int m = total - i < F_BATCH ? total - i : F_BATCH;

		for (int j = 0; j < m; j++) {
			char name[32];

			snprintf(name, sizeof(name), "fl%d.%d", round, i + j);
			len += frame_create(id + (uint32_t)j, name, 16 + (uint64_t)((i + j) % 64) * 8, buf + len,
					    sizeof(buf) - len);
		}
		REQUIRE(e2e_send(fd, buf, len) == 0);
		for (int j = 0; j < m; j++) {
			Slubd__Response *r;
			int rc = e2e_recv(fd, 10000, &r, NULL);

			if (rc != 1) {
				CHECKF(0, "pools: create %d not answered (%d)", i + j, rc);
				close(fd);
				return;
			}
			ok += r->err == 0;
			nospc += r->err == ENOSPC;
			other += r->err != 0 && r->err != ENOSPC;
			slubd__response__free_unpacked(r, NULL);
		}
		id += (uint32_t)m;
	}
	CHECKF(ok == F_MAX_CACHES && nospc == F_EXTRA_POOLS && other == 0,
	       "pools: %d created, %d ENOSPC, %d other errors; want %d (max_caches) and %d", ok, nospc,
	       other, F_MAX_CACHES, F_EXTRA_POOLS);
	/* one that asks for every pool's stats and never reads */
	q = e2e_raw_hello(sock, "t_flood", 10000);
	if (q >= 0) {
		size_t len = 0;

		for (int j = 0; j < F_BATCH; j++)
			len += frame_stats((uint32_t)j, buf + len, sizeof(buf) - len);
		for (int j = 0; j < 20; j++)	/* 1000 replies of ~20 KiB: far past any output bound */
			if (send(q, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
				break;
	}
	/* stats of every pool, F_BATCH at a time */
	for (int i = 0; i < nstats; i += F_BATCH) {
		size_t len = 0;
		int m = nstats - i < F_BATCH ? nstats - i : F_BATCH;

		for (int j = 0; j < m; j++)
			len += frame_stats(id + (uint32_t)j, buf + len, sizeof(buf) - len);
		REQUIRE(e2e_send(fd, buf, len) == 0);
		for (int j = 0; j < m; j++) {
			Slubd__Response *r;
			int rc = e2e_recv(fd, 10000, &r, NULL);

			if (rc != 1 || r->err || r->body_case != SLUBD__RESPONSE__BODY_STATS ||
			    r->stats->n_caches < F_MAX_CACHES) {
				CHECKF(0, "pools: stats %d: %d, err %d, %zu caches", i + j, rc,
				       rc == 1 ? r->err : 0, rc == 1 && r->stats ? r->stats->n_caches : 0);
				if (rc == 1)
					slubd__response__free_unpacked(r, NULL);
				close(fd);
				if (q >= 0)
					close(q);
				return;
			}
			slubd__response__free_unpacked(r, NULL);
		}
		id += F_BATCH;
	}
	if (keeper_stats(k, "with max_caches pools", &clients, &pools) == 0)
		CHECKF(pools == F_MAX_CACHES, "pools: %u listed, want %d", pools, F_MAX_CACHES);
	close(fd);	/* its references go, and with them its pools */
	if (q >= 0)
		close(q);
}

/* a client that just arrived: connect, create, stats, destroy */
static void fresh_client(const char *sock, int round)
{
	struct ctl_conn c;
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__CreateRequest cr = SLUBD__CREATE_REQUEST__INIT;
	Slubd__DestroyRequest dr = SLUBD__DESTROY_REQUEST__INIT;
	Slubd__Response *resp = NULL;
	char err[256] = "", name[32];

	if (ctl_connect(&c, sock, "t_flood-fresh", err, sizeof(err))) {
		CHECKF(0, "round %d: a fresh client could not connect: %s", round, err);
		return;
	}
	snprintf(name, sizeof(name), "fresh.%d", round);
	cr.name = name;
	cr.size = 100;
	req.body_case = SLUBD__REQUEST__BODY_CREATE;
	req.create = &cr;
	CHECKF(ctl_call(&c, &req, &resp, NULL, err, sizeof(err)) == 0 && resp && resp->err == 0,
	       "round %d: a fresh client's create: %s %s", round, err, resp && resp->error ? resp->error : "");
	if (resp)
		slubd__response__free_unpacked(resp, NULL);
	resp = NULL;
	dr.name = name;
	req.body_case = SLUBD__REQUEST__BODY_DESTROY;
	req.destroy = &dr;
	CHECKF(ctl_call(&c, &req, &resp, NULL, err, sizeof(err)) == 0 && resp && resp->err == 0 &&
	       resp->destroy && resp->destroy->removed,
	       "round %d: a fresh client's destroy: %s %s", round, err, resp && resp->error ? resp->error : "");
	if (resp)
		slubd__response__free_unpacked(resp, NULL);
	ctl_close(&c);
}

/* slubd maps a sanitizer runtime that keeps shadow memory or a quarantine: its name, else NULL */
static const char *sanitized(pid_t pid)
{
	static const char *const rt[] = { "libasan", "libtsan", "libmsan", "libhwasan" };
	static char found[32];
	char path[64], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	found[0] = 0;
	while (!found[0] && fgets(line, sizeof(line), f))
		for (size_t i = 0; i < sizeof(rt) / sizeof(rt[0]); i++)
			if (strstr(line, rt[i]))
				snprintf(found, sizeof(found), "%s", rt[i]);
	fclose(f);
	return found[0] ? found : NULL;
}

static int env_int(const char *name, int dflt)
{
	const char *e = getenv(name);
	int v = e && *e ? atoi(e) : 0;

	return v > 0 ? v : dflt;
}

E2E_CASE(floods)
{
	struct e2e_opts o = { .config = f_config };
	int wrapped = e2e_wrapper() != NULL, rounds, nreq = env_int("T_FLOOD_REQS", wrapped ? 1024 : F_REQS);
	int nstats = wrapped ? 10 : F_STATS, nconn = wrapped ? 8 : F_NONREADERS;
	struct e2e_slubd *d = e2e_start(&o);
	const char *san = d ? sanitized(d->pid) : NULL;
	struct mem *m;
	struct ctl_conn k;
	char err[256] = "";
	uint64_t seed = 0x5eed;

	REQUIRE(d != NULL);
	rounds = env_int("T_FLOOD_ROUNDS", wrapped || san ? 3 : F_ROUNDS);
	m = calloc((size_t)rounds + 1, sizeof(*m));
	REQUIRE(m != NULL);
	REQUIRE(ctl_connect(&k, d->sock, "t_flood-keeper", err, sizeof(err)) == 0);
	REQUIRE(settle(&k, "at the start"));
	REQUIRE(read_mem(d->pid, &m[0]) == 0);
	printf("  start:    VmRSS %6ld KiB  VmHWM %6ld KiB  RssAnon %6ld KiB  RssFile %6ld KiB  "
	       "RssShmem %6ld KiB\n", m[0].rss, m[0].hwm, m[0].anon, m[0].file, m[0].shmem);
	for (int r = 1; r <= rounds; r++) {
		char when[64];

		struct garbage g;

		flood_slots(d->sock, &k);
		garbage_start(d->sock, &g, &seed);	/* hangs, and is closed, while the others run */
		flood_nonreaders(d->sock, &k, nconn, nreq);
		flood_pools(d->sock, &k, r, nstats);
		garbage_finish(&k, &g);
		snprintf(when, sizeof(when), "after round %d", r);
		REQUIRE(e2e_alive(d, when));
		fresh_client(d->sock, r);
		settle(&k, when);
		/*
		 * slubd trims its heap after a scrub, 200 ms after the last client
		 * left: from 400 ms on, read until VmRSS stops going down
		 */
		t_sleep_ms(400);
		REQUIRE(read_mem(d->pid, &m[r]) == 0);
		for (int i = 0; i < 10; i++) {
			struct mem again;

			t_sleep_ms(100);
			if (read_mem(d->pid, &again) || again.rss >= m[r].rss)
				break;
			m[r] = again;
		}
		printf("  round %2d: VmRSS %6ld KiB  VmHWM %6ld KiB  RssAnon %6ld KiB  RssFile %6ld KiB  "
		       "RssShmem %6ld KiB\n", r, m[r].rss, m[r].hwm, m[r].anon, m[r].file, m[r].shmem);
		fflush(stdout);
		if (t_failed)
			break;
	}
	if (wrapped) {
		printf("  memory bounds not checked: slubd runs under SLUBD_WRAPPER, whose memory is "
		       "what /proc shows\n");
	} else if (san) {
		printf("  memory bounds not checked: slubd maps %s, whose shadow memory and quarantine "
		       "are what /proc shows\n", san);
	} else if (!t_failed && rounds >= 3) {
		long grew = m[rounds].rss - m[2].rss;

		printf("  VmRSS from round 2 to round %d: %+ld KiB (bound %d KiB); VmHWM %ld KiB (bound "
		       "%d KiB)\n", rounds, grew, FLOOD_RSS_SLACK_KIB, m[rounds].hwm, FLOOD_HWM_MAX_KIB);
		CHECKF(grew <= FLOOD_RSS_SLACK_KIB, "VmRSS grew by %ld KiB from round 2 to round %d, "
		       "more than %d KiB: memory not bounded", grew, rounds, FLOOD_RSS_SLACK_KIB);
		CHECKF(m[rounds].hwm < FLOOD_HWM_MAX_KIB, "VmHWM %ld KiB, not below %d KiB", m[rounds].hwm,
		       FLOOD_HWM_MAX_KIB);
	}
	ctl_close(&k);
	free(m);
	e2e_stop(d);
}

T_MAIN(T_CASE(floods))
