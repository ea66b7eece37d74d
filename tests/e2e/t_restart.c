/*
 * t_restart.c - end-to-end tests of slubd's restart without loss and of
 * socket activation: the arena lives in a file that outlives the daemon, a
 * new slubd adopts it with every pool and object, attached clients go on
 * allocating while slubd is down and reconnect on their own.
 *
 *   restart_under_load     3 processes allocate, hand objects to each other,
 *                          check and free them, and call kmem_cache_create
 *                          (then kmem_cache_destroy) every few hundred
 *                          operations, while slubd is SIGKILLed and restarted
 *                          on the same socket and arena file 5 times: no
 *                          object handed out twice, no pattern broken,
 *                          progress while slubd is down, ENOTCONN only while
 *                          it is down, the control path back for every
 *                          client, active_objs 0 and validate clean at the end
 *   sigterm_adopt          SIGTERM (exit 0), the arena file stays; a new slubd
 *                          (the default arena file next to the socket) adopts
 *                          it: same pools, same active_objs, same offsets; the
 *                          old client reconnects by itself and frees everything
 *   socket_activation      slubd started by systemd-socket-activate serves the
 *                          inherited socket, never makes its own, and leaves
 *                          the path behind at exit
 *   adopt_refuses_foreign  garbage, a short file, or an arena of another layout
 *                          version at the arena path: slubd refuses to start,
 *                          names the file and leaves it untouched
 *
 * slubd is restarted here on the socket of a daemon that e2e_start() started
 * (the same struct e2e_slubd, so that e2e's cleanup kills whatever runs and
 * removes the directory): see rs_restart().
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "slub.h"

/* ---- helpers: files, logs, starting slubd again ----------------------------------- */

static off_t file_len(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? -1 : sb.st_size;
}

/* the text of path from byte from on (malloc'd, never NULL) */
static char *slurp_from(const char *path, off_t from)
{
	char *buf = NULL;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (from <= 0 || lseek(fd, from, SEEK_SET) == from)
			e2e_read_all(fd, &buf, &len, 1000);
		close(fd);
	}
	return buf ? buf : calloc(1, 1);
}

static int log_has_from(const char *path, off_t from, const char *needle)
{
	char *t = slurp_from(path, from);
	int found = t && strstr(t, needle) != NULL;

	free(t);
	return found;
}

/* how many times needle occurs in the file */
static int log_count(const char *path, const char *needle)
{
	char *t = slurp_from(path, 0);
	int n = 0;

	for (const char *p = t; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(t);
	return n;
}

/* print what the log holds from byte from on, indented (a failed start) */
static void show_log_from(const char *path, off_t from)
{
	char *t = slurp_from(path, from), *p = t;

	printf("  --- %s from byte %lld ---\n", path, (long long)from);
	while (p && *p) {
		char *nl = strchr(p, '\n');

		printf("  | %.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
		if (!nl)
			break;
		p = nl + 1;
	}
	printf("  --- end ---\n");
	fflush(stdout);
	free(t);
}

static void close_fds_from(int lowfd)
{
	for (int fd = lowfd; fd < 4096; fd++)
		close(fd);
}

/*
 * spawn_logged - fork and exec argv[0] with stdin /dev/null and stdout and
 * stderr appended to log (env_name=env_val set first when env_name is
 * given); the child dies with the case.  -1 with a failed check.
 */
static pid_t spawn_logged(char *const argv[], const char *log, int trunc, const char *env_name,
			  const char *env_val)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		CHECKF(0, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | (trunc ? O_TRUNC : 0), 0644);
		int nul = open("/dev/null", O_RDONLY);
		sigset_t none_blocked;

		if (fd < 0 || nul < 0)
			_exit(126);
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		close_fds_from(3);
		sigemptyset(&none_blocked);
		sigprocmask(SIG_SETMASK, &none_blocked, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (env_name)
			setenv(env_name, env_val, 1);
		execv(argv[0], argv);
		fprintf(stderr, "t_restart: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

/* a Hello on sock answered: 1, else 0 (*err says why) */
static int hello_ok(const char *sock, char *err, size_t errlen)
{
	struct ctl_conn c;

	if (ctl_connect(&c, sock, "t_restart", err, errlen))
		return 0;
	ctl_close(&c);
	return 1;
}

/*
 * rs_restart - start slubd again on d->sock (the daemon before it must be
 * gone: d->pid 0), its output appended to d->log, and wait until it serves:
 * a Hello answered and "ready" in what this instance printed.  arena: its
 * --arena-file, NULL for none (the default, next to the socket).  *from:
 * where its output begins in d->log.  d->pid is the new daemon, so that
 * e2e_stop(d), e2e_alive(d) and the case's cleanup see it.  0, or -1 with a
 * failed check and its log shown.
 */
static int rs_restart(struct e2e_slubd *d, const char *arena, off_t *from, uint64_t *took_ms)
{
	const char *bin = e2e_need_bin("SLUBD", "slubd");
	char *argv[16], lasterr[256] = "no attempt yet", how[96];
	int argc = 0, sock_ok = 0, ready = 0;
	uint64_t t0 = t_now_ms(), deadline = t0 + E2E_START_TIMEOUT_MS;
	off_t off;
	pid_t pid;

	if (access(bin, X_OK))
		return -1;
	if (d->pid) {
		CHECKF(0, "rs_restart: the previous slubd (pid %d) still runs", (int)d->pid);
		return -1;
	}
	off = file_len(d->log);
	if (off < 0)
		off = 0;
	if (from)
		*from = off;
	argv[argc++] = (char *)bin;
	argv[argc++] = "--foreground";
	argv[argc++] = "--socket";
	argv[argc++] = d->sock;
	argv[argc++] = "--arena-size";
	argv[argc++] = "64M";
	argv[argc++] = "--hugepages";
	argv[argc++] = "off";
	if (arena) {
		argv[argc++] = "--arena-file";
		argv[argc++] = (char *)arena;
	}
	argv[argc] = NULL;
	pid = spawn_logged(argv, d->log, 0, NULL, NULL);
	if (pid < 0)
		return -1;
	d->pid = pid;
	for (;;) {
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			d->pid = 0;
			CHECKF(0, "slubd, started again on %s, exited during startup: %s", d->sock,
			       t_status_str(status, how, sizeof(how)));
			show_log_from(d->log, off);
			return -1;
		}
		if (!sock_ok)
			sock_ok = hello_ok(d->sock, lasterr, sizeof(lasterr));
		if (!ready)
			ready = log_has_from(d->log, off, "ready");
		if (sock_ok && ready)
			break;
		if (t_now_ms() > deadline) {
			CHECKF(0, "slubd, started again on %s, did not serve within %d ms: socket %s (%s); "
			       "\"ready\" %s", d->sock, E2E_START_TIMEOUT_MS,
			       sock_ok ? "answered" : "did not answer", sock_ok ? "ok" : lasterr,
			       ready ? "printed" : "never printed");
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			d->pid = 0;
			show_log_from(d->log, off);
			return -1;
		}
		t_sleep_ms(2);
	}
	if (took_ms)
		*took_ms = t_now_ms() - t0;
	return 0;
}

/* send sig to the running slubd and reap it; its wait status (-1: had to be SIGKILLed after timeout_ms) */
static int rs_kill(struct e2e_slubd *d, int sig, int timeout_ms)
{
	int status;

	if (!d->pid) {
		CHECKF(0, "rs_kill: no slubd runs");
		return -1;
	}
	kill(d->pid, sig);
	status = e2e_waitpid_timeout(d->pid, timeout_ms);
	d->pid = 0;
	return status;
}

static void arena_path(const struct e2e_slubd *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s/slubd.arena", d->dir);
}

/* ---- (1) restart under load --------------------------------------------------------- */

#define R_CLIENTS	3
#define R_RESTARTS	5
#define R_POOL		"rs.load"
#define R_SIZE		128
#define R_ALIGN		8
#define R_SLOTS		64	/* mailbox slots of each client */
#define R_HOLD		64	/* objects a client keeps a while */
#define R_CTL_EVERY	256	/* a kmem_cache_create every so many operations */
#define R_MAGIC		0x7e57a11cu
#define R_SHIFT		3	/* the ownership map: one byte per 8 bytes of arena */
#define R_KMALLOC	1u	/* low bit of a mailbox value: a kmalloc'ed object */
#define R_CLIENT_MS	45000	/* a client that runs longer has failed */

struct r_hdr {
	uint32_t magic;
	uint16_t sender;
	uint16_t kind;		/* 0: of the pool; 1: kmalloc */
	uint32_t len;		/* bytes written, the header included */
	uint32_t pad;
	uint64_t seq;
};

struct r_shared {
	int ready, stopped, drained, may_exit, stop;
	int down;		/* 1 from before a SIGKILL until the new slubd serves */
	uint64_t gen;		/* bumped at each change of down */
	uint64_t ops[R_CLIENTS];
	uint64_t ctl_ok[R_CLIENTS];
	uint64_t ctl_fail_down[R_CLIENTS];	/* ENOTCONN while slubd was down: fine */
	uint64_t ctl_fail_up[R_CLIENTS];	/* failed while it served: a bug */
	uint64_t ctl_bad_errno[R_CLIENTS];	/* failed with something else than ENOTCONN */
	int first_bad_errno[R_CLIENTS];
	uint64_t ctl_other_ptr[R_CLIENTS];	/* succeeded with another cache pointer */
	uint64_t last_ok_gen[R_CLIENTS];	/* gen when the last successful call began */
	uint64_t last_call_gen[R_CLIENTS];	/* gen when the last call began */
	int last_call_errno[R_CLIENTS];		/* and how it ended */
	uint64_t ctl_max_ms[R_CLIENTS];		/* the longest control call */
	int final_ok[R_CLIENTS], final_errno[R_CLIENTS];
	uint64_t cache_off[R_CLIENTS];
	uint64_t twice, corrupt, not_owned, alloc_fail, sent, received;
	uint64_t mailbox[R_CLIENTS][R_SLOTS];
};

struct r_arg {
	struct r_shared *sh;
	uint8_t *owner;		/* ownership map: 0 free, else client + 1 */
	uint64_t map_len;	/* bytes of the map */
	const char *sock;
	int id;
};

static uint8_t r_byte(uint32_t sender, uint64_t seq, size_t j)
{
	return (uint8_t)(sender * 131u + (uint32_t)seq * 7u + (uint32_t)j);
}

static void r_fill(void *obj, uint32_t me, uint64_t seq, uint16_t kind, uint32_t len)
{
	struct r_hdr *h = obj;
	uint8_t *b = obj;

	h->magic = R_MAGIC;
	h->sender = (uint16_t)me;
	h->kind = kind;
	h->len = len;
	h->pad = 0;
	h->seq = seq;
	for (size_t j = sizeof(*h); j < len; j++)
		b[j] = r_byte(me, seq, j);
}

/* -1: intact; else the first byte that is not what r_fill wrote */
static long r_bad(const void *obj, uint16_t kind)
{
	const struct r_hdr *h = obj;
	const uint8_t *b = obj;

	if (h->magic != R_MAGIC || h->sender >= R_CLIENTS || h->kind != kind ||
	    h->len < sizeof(*h) || h->len > (kind ? 2048u : R_SIZE) || h->pad)
		return 0;
	for (size_t j = sizeof(*h); j < h->len; j++)
		if (b[j] != r_byte(h->sender, h->seq, j))
			return (long)j;
	return -1;
}

struct r_client {
	struct r_arg *a;
	struct kmem_cache *s;
	uint64_t held[R_HOLD];
	int nheld, reported;
	uint64_t seq;
};

#define R_REPORT(c, ...) do { if ((c)->reported++ < 5) CHECKF(0, __VA_ARGS__); else t_failed = 1; } while (0)

static uint8_t *r_slot(struct r_client *c, uint64_t off)
{
	uint64_t i = off >> R_SHIFT;

	if ((off & ((1u << R_SHIFT) - 1)) || i >= c->a->map_len)
		return NULL;
	return &c->a->owner[i];
}

static void *r_obj(uint64_t val)
{
	return slub_ptr(val & ~(uint64_t)R_KMALLOC);
}

/* a new object, written, owned by this client; its mailbox value or 0 */
static uint64_t r_new(struct r_client *c, uint64_t *rnd)
{
	struct r_shared *sh = c->a->sh;
	const int me = c->a->id;
	uint64_t r = t_rand(rnd), off;
	int km = (r & 3) == 0;
	uint32_t len = km ? (uint32_t)(sizeof(struct r_hdr) + (r >> 8) % (2048 - sizeof(struct r_hdr) + 1))
			  : R_SIZE;
	void *o = km ? kmalloc(len, GFP_KERNEL) : kmem_cache_alloc(c->s, GFP_KERNEL);
	uint8_t *own, zero = 0;

	if (!o) {
		__atomic_add_fetch(&sh->alloc_fail, 1, __ATOMIC_RELAXED);
		R_REPORT(c, "client %d: %s(%u) failed: %s", me, km ? "kmalloc" : "kmem_cache_alloc", len,
			 strerror(errno));
		return 0;
	}
	off = slub_offset(o);
	own = r_slot(c, off);
	if (!own) {
		R_REPORT(c, "client %d: new object %p has offset %#llx, not in the arena", me, o,
			 (unsigned long long)off);
		return 0;
	}
	if (km && ksize(o) < len)
		R_REPORT(c, "client %d: ksize %zu of a kmalloc(%u)", me, ksize(o), len);
	if (!__atomic_compare_exchange_n(own, &zero, (uint8_t)(me + 1), 0, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST)) {
		__atomic_add_fetch(&sh->twice, 1, __ATOMIC_RELAXED);
		R_REPORT(c, "client %d: %s gave offset %#llx, which client %d still owns: handed out twice",
			 me, km ? "kmalloc" : "kmem_cache_alloc", (unsigned long long)off, zero - 1);
		return 0;	/* leave it: the other owner frees it */
	}
	r_fill(o, (uint32_t)me, c->seq++, (uint16_t)km, len);
	return off | (km ? R_KMALLOC : 0);
}

/* check an object this client owns, give up ownership, free it */
static void r_free(struct r_client *c, uint64_t val, const char *what)
{
	struct r_shared *sh = c->a->sh;
	const int me = c->a->id;
	uint16_t kind = (uint16_t)(val & R_KMALLOC);
	void *o = r_obj(val);
	uint8_t *own = r_slot(c, val & ~(uint64_t)R_KMALLOC), mine = (uint8_t)(me + 1);
	long at;

	if (!o || !own) {
		R_REPORT(c, "client %d: %s value %#llx is not in the arena", me, what, (unsigned long long)val);
		return;
	}
	at = r_bad(o, kind);
	if (at >= 0) {
		__atomic_add_fetch(&sh->corrupt, 1, __ATOMIC_RELAXED);
		R_REPORT(c, "client %d: %s object at %#llx (%s) is corrupt at byte %ld", me, what,
			 (unsigned long long)(val & ~(uint64_t)R_KMALLOC), kind ? "kmalloc" : R_POOL, at);
	}
	if (!__atomic_compare_exchange_n(own, &mine, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		__atomic_add_fetch(&sh->not_owned, 1, __ATOMIC_RELAXED);
		R_REPORT(c, "client %d: %s object at %#llx is owned by %d, not by this client", me, what,
			 (unsigned long long)(val & ~(uint64_t)R_KMALLOC), mine - 1);
		return;
	}
	memset(o, 0xdd, sizeof(struct r_hdr));	/* a stale copy elsewhere would show */
	if (kind)
		kfree(o);
	else
		kmem_cache_free(c->s, o);
}

/* hand val to client dst through its mailbox; 1 if it went */
static int r_send(struct r_client *c, uint64_t val, int dst, uint64_t *rnd)
{
	struct r_shared *sh = c->a->sh;
	uint8_t *own = r_slot(c, val & ~(uint64_t)R_KMALLOC);
	uint64_t r = t_rand(rnd);

	__atomic_store_n(own, (uint8_t)(dst + 1), __ATOMIC_SEQ_CST);
	for (int t = 0; t < 4; t++) {
		uint64_t *slot = &sh->mailbox[dst][(r + (uint64_t)t * 17) % R_SLOTS], zero = 0;

		if (__atomic_compare_exchange_n(slot, &zero, val, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
			__atomic_add_fetch(&sh->sent, 1, __ATOMIC_RELAXED);
			return 1;
		}
	}
	__atomic_store_n(own, (uint8_t)(c->a->id + 1), __ATOMIC_SEQ_CST);
	return 0;
}

/* take what is in this client's mailbox (up to max): check ownership, then keep or free */
static void r_receive(struct r_client *c, int max, uint64_t *rnd)
{
	struct r_shared *sh = c->a->sh;
	const int me = c->a->id;
	uint64_t r = t_rand(rnd);

	for (int t = 0; t < R_SLOTS && max > 0; t++) {
		uint64_t *slot = &sh->mailbox[me][(r + (uint64_t)t) % R_SLOTS];
		uint64_t val = __atomic_exchange_n(slot, 0, __ATOMIC_SEQ_CST);
		uint8_t *own;

		if (!val)
			continue;
		max--;
		__atomic_add_fetch(&sh->received, 1, __ATOMIC_RELAXED);
		own = r_slot(c, val & ~(uint64_t)R_KMALLOC);
		if (!own || !r_obj(val)) {
			R_REPORT(c, "client %d: mailbox value %#llx is not in the arena", me,
				 (unsigned long long)val);
			continue;
		}
		if (__atomic_load_n(own, __ATOMIC_SEQ_CST) != me + 1) {
			__atomic_add_fetch(&sh->not_owned, 1, __ATOMIC_RELAXED);
			R_REPORT(c, "client %d: received object %#llx is marked as client %d's", me,
				 (unsigned long long)val, __atomic_load_n(own, __ATOMIC_SEQ_CST) - 1);
			continue;
		}
		if (c->nheld < R_HOLD && (t_rand(rnd) & 1)) {
			long at = r_bad(r_obj(val), (uint16_t)(val & R_KMALLOC));

			if (at >= 0) {
				__atomic_add_fetch(&sh->corrupt, 1, __ATOMIC_RELAXED);
				R_REPORT(c, "client %d: received object %#llx is corrupt at byte %ld", me,
					 (unsigned long long)val, at);
			}
			c->held[c->nheld++] = val;
		} else {
			r_free(c, val, "received");
		}
	}
}

/*
 * one kmem_cache_create of the pool (and a kmem_cache_destroy of the
 * reference it took: libslub re-takes every reference held, one request
 * each, when it reconnects): counted as a success, a failure while slubd
 * was down (ENOTCONN), or a bug
 */
static int r_control(struct r_client *c)
{
	struct r_shared *sh = c->a->sh;
	const int me = c->a->id;
	uint64_t g0 = __atomic_load_n(&sh->gen, __ATOMIC_SEQ_CST), g1, t0 = t_now_ms(), took;
	int d0 = __atomic_load_n(&sh->down, __ATOMIC_SEQ_CST), d1, e;
	struct kmem_cache *s2;

	errno = 0;
	s2 = kmem_cache_create(R_POOL, R_SIZE, R_ALIGN, 0, NULL);
	e = errno;
	took = t_now_ms() - t0;
	g1 = __atomic_load_n(&sh->gen, __ATOMIC_SEQ_CST);
	d1 = __atomic_load_n(&sh->down, __ATOMIC_SEQ_CST);
	if (took > sh->ctl_max_ms[me])
		sh->ctl_max_ms[me] = took;
	sh->last_call_gen[me] = g0;
	sh->last_call_errno[me] = s2 ? 0 : e;
	if (s2) {
		sh->ctl_ok[me]++;
		__atomic_store_n(&sh->last_ok_gen[me], g0, __ATOMIC_SEQ_CST);
		if (s2 != c->s) {
			sh->ctl_other_ptr[me]++;
			R_REPORT(c, "client %d: kmem_cache_create(%s) gave %p, first %p", me, R_POOL,
				 (void *)s2, (void *)c->s);
			return 0;
		}
		/* drop the reference just taken: the first one keeps the pool */
		kmem_cache_destroy(s2);
		return 0;
	}
	if (e != ENOTCONN) {
		if (!sh->ctl_bad_errno[me]++)
			sh->first_bad_errno[me] = e;
		R_REPORT(c, "client %d: kmem_cache_create(%s) failed with errno %d (%s), want ENOTCONN "
			 "(slubd %s)", me, R_POOL, e, strerror(e), d0 || d1 || g0 != g1 ? "down" : "up");
	} else if (d0 || d1 || g0 != g1) {
		sh->ctl_fail_down[me]++;
	} else {
		sh->ctl_fail_up[me]++;
		R_REPORT(c, "client %d: kmem_cache_create(%s) failed with ENOTCONN while slubd served "
			 "(gen %llu)", me, R_POOL, (unsigned long long)g0);
	}
	return -e;
}

/* wait until *v reaches want; 0, or -1 after ms */
static int r_wait_count(int *v, int want, int ms)
{
	uint64_t deadline = t_now_ms() + (uint64_t)ms;

	while (__atomic_load_n(v, __ATOMIC_SEQ_CST) < want) {
		if (t_now_ms() > deadline)
			return -1;
		t_sleep_ms(1);
	}
	return 0;
}

static void r_client_main(void *arg)
{
	struct r_arg *a = arg;
	struct r_shared *sh = a->sh;
	const int me = a->id;
	struct r_client c = { .a = a };
	uint64_t rnd = 0x51ab0000u + (uint64_t)me * 7919, ops = 0, deadline;
	int rc;

	rc = slub_attach(a->sock);
	CHECKF(rc == 0, "client %d: slub_attach: %d (%s)", me, rc, strerror(-rc));
	if (rc)
		return;
	c.s = kmem_cache_create(R_POOL, R_SIZE, R_ALIGN, 0, NULL);
	CHECKF(c.s != NULL, "client %d: kmem_cache_create: %s", me, strerror(errno));
	if (!c.s)
		return;
	sh->cache_off[me] = slub_offset(c.s);
	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
	if (r_wait_count(&sh->ready, R_CLIENTS, 10000)) {
		CHECKF(0, "client %d: the others did not open the pool within 10 s", me);
		return;
	}

	deadline = t_now_ms() + R_CLIENT_MS;
	while (!__atomic_load_n(&sh->stop, __ATOMIC_SEQ_CST)) {
		uint64_t r = t_rand(&rnd);
		unsigned int what = (unsigned int)(r % 8);

		if (what < 4) {
			/* a new object: keep it, or send it to another client */
			uint64_t val = r_new(&c, &rnd);

			if (val) {
				int dst = (me + 1 + (int)((r >> 8) % (R_CLIENTS - 1))) % R_CLIENTS;

				if (what < 3 && r_send(&c, val, dst, &rnd))
					;
				else if (c.nheld < R_HOLD)
					c.held[c.nheld++] = val;
				else
					r_free(&c, val, "new");
			}
		} else if (what < 6) {
			r_receive(&c, 4, &rnd);
		} else if (c.nheld) {
			/* free, or pass on, one object kept a while */
			int i = (int)((r >> 8) % (uint64_t)c.nheld);
			uint64_t val = c.held[i];

			c.held[i] = c.held[--c.nheld];
			if (what == 7 && r_send(&c, val, (me + 1) % R_CLIENTS, &rnd))
				;
			else
				r_free(&c, val, "kept");
		}
		ops++;
		__atomic_store_n(&sh->ops[me], ops, __ATOMIC_RELAXED);
		if (ops % R_CTL_EVERY == 0)
			r_control(&c);
		if (ops % 1024 == 0 && t_now_ms() > deadline) {
			CHECKF(0, "client %d: still running after %d ms, never told to stop", me, R_CLIENT_MS);
			break;
		}
	}

	/* everyone stops sending; then the mailboxes are drained, the kept objects freed */
	__atomic_add_fetch(&sh->stopped, 1, __ATOMIC_SEQ_CST);
	if (r_wait_count(&sh->stopped, R_CLIENTS, 10000))
		CHECKF(0, "client %d: the others did not stop within 10 s", me);
	r_receive(&c, R_SLOTS, &rnd);
	for (int i = 0; i < R_SLOTS; i++)
		CHECKF(__atomic_load_n(&sh->mailbox[me][i], __ATOMIC_SEQ_CST) == 0,
		       "client %d: mailbox slot %d still full after the drain", me, i);
	while (c.nheld)
		r_free(&c, c.held[--c.nheld], "kept");

	/* slubd serves now (the parent stops the clients after the last restart): the control path works */
	errno = 0;
	{
		struct kmem_cache *s2 = kmem_cache_create(R_POOL, R_SIZE, R_ALIGN, 0, NULL);

		sh->final_ok[me] = s2 == c.s;
		sh->final_errno[me] = s2 ? 0 : errno;
	}
	__atomic_add_fetch(&sh->drained, 1, __ATOMIC_SEQ_CST);
	/* stay attached (holding the pool) until the parent has looked at the stats */
	if (r_wait_count(&sh->may_exit, 1, 20000))
		CHECKF(0, "client %d: never allowed to exit", me);
	/* exit without kmem_cache_destroy: slubd drops the references with the connection */
}

static void r_sum(const struct r_shared *sh, uint64_t out[R_CLIENTS])
{
	for (int i = 0; i < R_CLIENTS; i++)
		out[i] = __atomic_load_n(&sh->ops[i], __ATOMIC_SEQ_CST);
}

E2E_CASE(restart_under_load)
{
	struct e2e_slubd *d = e2e_start(NULL);
	struct r_shared *sh;
	struct r_arg args[R_CLIENTS];
	struct e2e_arena ar;
	struct e2e_cache c = { .refcount = -1 };
	struct e2e_validate v;
	uint8_t *owner;
	uint64_t rnd = 0xfeed5eed, before[R_CLIENTS], paused[R_CLIENTS], after[R_CLIENTS];
	uint64_t down_ops = 0, min_pause_ops = UINT64_MAX, down_ms = 0, start_ms = 0, max_start_ms = 0;
	uint64_t ops = 0, ctl_ok = 0, ctl_down = 0, ctl_up = 0, ctl_bad = 0, final_gen = 0, ctl_max = 0;
	char arena[200], *out = NULL;
	pid_t pid[R_CLIENTS];
	int restarts = 0, ok = 1, rc;

	REQUIRE(d != NULL);
	arena_path(d, arena, sizeof(arena));
	CHECKF(access(arena, F_OK) == 0, "no arena file at %s (the default next to the socket %s): %s",
	       arena, d->sock, strerror(errno));
	REQUIRE(e2e_cache_stats(d->sock, NULL, NULL, &ar) >= 0);
	REQUIRE(ar.size > 0);
	sh = t_shared(sizeof(*sh));
	owner = t_shared(ar.size >> R_SHIFT);
	REQUIRE(sh != NULL && owner != NULL);
	for (int i = 0; i < R_CLIENTS; i++) {
		args[i] = (struct r_arg){ sh, owner, ar.size >> R_SHIFT, d->sock, i };
		pid[i] = t_fork(r_client_main, &args[i]);
	}
	if (r_wait_count(&sh->ready, R_CLIENTS, 10000)) {
		CHECKF(0, "the clients did not open the pool within 10 s (%d did)", sh->ready);
		__atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);
		__atomic_store_n(&sh->may_exit, 1, __ATOMIC_SEQ_CST);
		for (int i = 0; i < R_CLIENTS; i++)
			t_wait(pid[i], "a client");
		return;
	}

	for (int k = 0; k < R_RESTARTS && !t_failed; k++) {
		int pause = 200 + (int)(t_rand(&rnd) % 201), status;
		uint64_t took = 0, t0;
		char how[96];

		t_sleep_ms(300 + (int)(t_rand(&rnd) % 201));
		if (!e2e_alive(d, "before a SIGKILL"))
			break;
		__atomic_store_n(&sh->down, 1, __ATOMIC_SEQ_CST);
		__atomic_add_fetch(&sh->gen, 1, __ATOMIC_SEQ_CST);
		t0 = t_now_ms();
		status = rs_kill(d, SIGKILL, 5000);
		CHECKF(status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		       "restart %d: slubd after SIGKILL: %s", k + 1, t_status_str(status, how, sizeof(how)));
		CHECKF(access(arena, F_OK) == 0, "restart %d: the arena file %s is gone after SIGKILL", k + 1,
		       arena);
		r_sum(sh, before);
		t_sleep_ms(pause);
		r_sum(sh, paused);
		for (int i = 0; i < R_CLIENTS; i++) {
			CHECKF(paused[i] > before[i], "restart %d: client %d made no progress in the %d ms "
			       "slubd was down (ops %llu)", k + 1, i, pause, (unsigned long long)paused[i]);
			if (paused[i] - before[i] < min_pause_ops)
				min_pause_ops = paused[i] - before[i];
		}
		{
			off_t from = 0;

			if (rs_restart(d, arena, &from, &took))
				break;
			CHECKF(log_has_from(d->log, from, "adopted"), "restart %d: slubd did not say "
			       "\"adopted\" for the arena file %s", k + 1, arena);
		}
		r_sum(sh, after);
		for (int i = 0; i < R_CLIENTS; i++)
			down_ops += after[i] - before[i];
		down_ms += t_now_ms() - t0;
		start_ms += took;
		if (took > max_start_ms)
			max_start_ms = took;
		__atomic_store_n(&sh->down, 0, __ATOMIC_SEQ_CST);
		final_gen = __atomic_add_fetch(&sh->gen, 1, __ATOMIC_SEQ_CST);
		restarts++;
	}
	CHECKF(restarts == R_RESTARTS, "%d restarts of %d", restarts, R_RESTARTS);

	/*
	 * a while up after the last restart (until every client's control path
	 * worked again, at most 5 s), then stop: the clients drain and free
	 */
	t_sleep_ms(200);
	for (uint64_t deadline = t_now_ms() + 5000; restarts && t_now_ms() < deadline;) {
		int all = 1;

		for (int i = 0; i < R_CLIENTS; i++)
			all &= __atomic_load_n(&sh->last_ok_gen[i], __ATOMIC_SEQ_CST) >= final_gen;
		if (all)
			break;
		t_sleep_ms(5);
	}
	__atomic_store_n(&sh->stop, 1, __ATOMIC_SEQ_CST);
	if (r_wait_count(&sh->drained, R_CLIENTS, 15000))
		CHECKF(0, "%d of %d clients drained within 15 s", sh->drained, R_CLIENTS);
	else if (e2e_alive(d, "after the clients freed everything")) {
		REQUIRE(e2e_cache_stats(d->sock, R_POOL, &c, NULL) == 1);
		CHECKF(c.active_objs == 0, "%s: active_objs %llu after the clients freed everything",
		       R_POOL, (unsigned long long)c.active_objs);
		CHECKF(c.errors == 0, "%s: %llu errors reported", R_POOL, (unsigned long long)c.errors);
		CHECKF(c.refcount >= R_CLIENTS, "%s: refcount %d with %d clients holding it", R_POOL,
		       c.refcount, R_CLIENTS);
		REQUIRE(e2e_validate(d->sock, NULL, &v) == 0);
		CHECKF(v.err == 0 && v.errors == 0, "validate: err %d, %llu errors: %s", v.err,
		       (unsigned long long)v.errors, v.first_error);
		rc = e2e_slubctl(d, &out, "validate", NULL);
		CHECKF(rc == 0, "slubctl validate: exit %d:\n%s", rc, out ? out : "");
		free(out);
		out = NULL;
		rc = e2e_slubctl(d, &out, "stats", R_POOL, "--json", NULL);
		if (rc == 0) {
			uint64_t active = ~0ull;

			CHECKF(e2e_json_cache_num(out, R_POOL, "active_objs", &active) == 0 && active == 0,
			       "slubctl stats --json: %s active_objs %llu, want 0:\n%s", R_POOL,
			       (unsigned long long)active, out);
		} else {
			CHECKF(0, "slubctl stats --json: exit %d:\n%s", rc, out ? out : "");
		}
		free(out);
	}
	__atomic_store_n(&sh->may_exit, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < R_CLIENTS; i++) {
		char what[32];

		snprintf(what, sizeof(what), "client %d", i);
		ok &= t_wait(pid[i], what);
	}

	for (int i = 0; i < R_CLIENTS; i++) {
		ops += sh->ops[i];
		ctl_ok += sh->ctl_ok[i];
		ctl_down += sh->ctl_fail_down[i];
		ctl_up += sh->ctl_fail_up[i];
		ctl_bad += sh->ctl_bad_errno[i];
		if (sh->ctl_max_ms[i] > ctl_max)
			ctl_max = sh->ctl_max_ms[i];
		CHECKF(sh->cache_off[i] == sh->cache_off[0] && sh->cache_off[i],
		       "client %d opened %s at offset %#llx, client 0 at %#llx", i, R_POOL,
		       (unsigned long long)sh->cache_off[i], (unsigned long long)sh->cache_off[0]);
		CHECKF(sh->ctl_fail_up[i] == 0, "client %d: %llu kmem_cache_create failed with ENOTCONN "
		       "while slubd served", i, (unsigned long long)sh->ctl_fail_up[i]);
		CHECKF(sh->ctl_bad_errno[i] == 0, "client %d: %llu kmem_cache_create failed with another "
		       "errno than ENOTCONN, the first %d (%s)", i, (unsigned long long)sh->ctl_bad_errno[i],
		       sh->first_bad_errno[i], strerror(sh->first_bad_errno[i]));
		CHECKF(sh->ctl_other_ptr[i] == 0, "client %d: %llu kmem_cache_create gave another cache",
		       i, (unsigned long long)sh->ctl_other_ptr[i]);
		CHECKF(restarts == 0 || sh->last_ok_gen[i] >= final_gen,
		       "client %d: no kmem_cache_create succeeded after the last restart (last success "
		       "at gen %llu, the last restart ended gen %llu, 5 s before; the last call began "
		       "at gen %llu, errno %d; the longest call took %llu ms)", i,
		       (unsigned long long)sh->last_ok_gen[i], (unsigned long long)final_gen,
		       (unsigned long long)sh->last_call_gen[i], sh->last_call_errno[i],
		       (unsigned long long)sh->ctl_max_ms[i]);
		CHECKF(sh->final_ok[i], "client %d: the last kmem_cache_create, slubd serving, failed: %s",
		       i, strerror(sh->final_errno[i]));
	}
	CHECKF(sh->twice == 0, "%llu objects handed out twice", (unsigned long long)sh->twice);
	CHECKF(sh->corrupt == 0, "%llu objects corrupt", (unsigned long long)sh->corrupt);
	CHECKF(sh->not_owned == 0, "%llu objects were not their holder's", (unsigned long long)sh->not_owned);
	CHECKF(sh->alloc_fail == 0, "%llu allocations failed", (unsigned long long)sh->alloc_fail);
	CHECKF(sh->received == sh->sent, "%llu objects sent, %llu received", (unsigned long long)sh->sent,
	       (unsigned long long)sh->received);
	/* the test means something only if the control path was tried while slubd was down */
	CHECKF(restarts == 0 || ctl_down > 0, "no kmem_cache_create was tried while slubd was down");
	{
		uint64_t left = 0;

		for (uint64_t i = 0; i < (ar.size >> R_SHIFT); i++)
			left += owner[i] != 0;
		CHECKF(left == 0, "%llu objects still marked owned after the clients freed everything",
		       (unsigned long long)left);
	}
	if (ok && e2e_alive(d, "after the clients exited")) {
		/* every reference went with the clients' connections, old instances' too: the pool goes */
		rc = e2e_wait_listed(d->sock, R_POOL, 0, 3000, &c);
		CHECKF(rc == 0, "%s still listed 3 s after every client exited (refcount %d, active_objs "
		       "%llu): references from before a restart linger?", R_POOL, c.refcount,
		       (unsigned long long)c.active_objs);
	}
	CHECKF(log_count(d->log, "adopted") >= restarts, "\"adopted\" %d times in the log, %d restarts",
	       log_count(d->log, "adopted"), restarts);
	printf("  restart_under_load: %d clients, %llu ops (%llu while slubd was down, at least %llu by "
	       "each client in each pause), %llu objects passed between clients, %d restarts (down %llu "
	       "ms in all, adopt to ready %llu ms avg, %llu max), control calls: %llu ok, %llu failed "
	       "while down (ENOTCONN), %llu failed while up, %llu other errno, the longest %llu ms\n",
	       R_CLIENTS, (unsigned long long)ops, (unsigned long long)down_ops,
	       (unsigned long long)(min_pause_ops == UINT64_MAX ? 0 : min_pause_ops),
	       (unsigned long long)sh->sent, restarts, (unsigned long long)down_ms,
	       (unsigned long long)(restarts ? start_ms / (uint64_t)restarts : 0),
	       (unsigned long long)max_start_ms, (unsigned long long)ctl_ok,
	       (unsigned long long)ctl_down, (unsigned long long)ctl_up, (unsigned long long)ctl_bad,
	       (unsigned long long)ctl_max);
	fflush(stdout);
	e2e_stop(d);
}

/* ---- (2) SIGTERM, then a new slubd adopts the arena ------------------------------------ */

#define S_POOL		"rs.adopt"
#define S_SIZE		200
#define S_OBJS		500
#define S_RZ_POOL	"rs.adopt.rz"
#define S_RZ_SIZE	72
#define S_RZ_OBJS	50
#define S_KM		20

static uint8_t s_byte(int pool, int i, int j)
{
	return (uint8_t)(pool * 59 + i * 13 + j);
}

static void s_fill(uint8_t *o, int pool, int i, int n)
{
	for (int j = 0; j < n; j++)
		o[j] = s_byte(pool, i, j);
}

static int s_bad(const uint8_t *o, int pool, int i, int n)
{
	for (int j = 0; j < n; j++)
		if (o[j] != s_byte(pool, i, j))
			return j;
	return -1;
}

struct s_down_arg {
	struct kmem_cache *s;
};

/* a forked child while slubd is down: the pools work, the control path says ENOTCONN */
static void s_down_child(void *arg)
{
	struct s_down_arg *a = arg;
	struct kmem_cache *s2;
	void *o[100];
	char *k;

	errno = 0;
	s2 = kmem_cache_create(S_POOL, S_SIZE, 0, 0, NULL);
	CHECKF(s2 == NULL && errno == ENOTCONN, "child, slubd down: kmem_cache_create gave %p, errno %d "
	       "(%s); want NULL, ENOTCONN", (void *)s2, errno, strerror(errno));
	for (int i = 0; i < 100; i++) {
		o[i] = kmem_cache_alloc(a->s, GFP_KERNEL);
		CHECKF(o[i] != NULL, "child, slubd down: kmem_cache_alloc: %s", strerror(errno));
		if (!o[i])
			return;
		s_fill(o[i], 7, i, S_SIZE);
	}
	for (int i = 0; i < 100; i++) {
		CHECKF(s_bad(o[i], 7, i, S_SIZE) < 0, "child, slubd down: object %d changed", i);
		kmem_cache_free(a->s, o[i]);
	}
	k = kmalloc(5000, GFP_KERNEL);
	CHECKF(k != NULL, "child, slubd down: kmalloc: %s", strerror(errno));
	if (k) {
		memset(k, 0x3c, 5000);
		kfree(k);
	}
}

struct s_fresh_arg {
	const char *sock;
	uint64_t pool_off, obj_off;
};

/* a process that attaches anew to the new slubd: the same arena, the same pool, the same objects */
static void s_fresh_child(void *arg)
{
	struct s_fresh_arg *a = arg;
	struct kmem_cache *s;
	const uint8_t *o;
	int rc;

	slub_detach();	/* let go of the inherited attachment */
	rc = slub_attach(a->sock);
	CHECKF(rc == 0, "fresh client: slub_attach: %d (%s)", rc, strerror(-rc));
	if (rc)
		return;
	s = kmem_cache_create(S_POOL, S_SIZE, 0, 0, NULL);
	CHECKF(s != NULL, "fresh client: kmem_cache_create: %s", strerror(errno));
	if (!s)
		return;
	CHECKF(slub_offset(s) == a->pool_off, "fresh client: %s at offset %#llx, before the restart "
	       "%#llx", S_POOL, (unsigned long long)slub_offset(s), (unsigned long long)a->pool_off);
	o = slub_ptr(a->obj_off);
	CHECKF(o && s_bad(o, 1, 0, S_SIZE) < 0, "fresh client: object 0 (offset %#llx) differs",
	       (unsigned long long)a->obj_off);
	kmem_cache_destroy(s);
	slub_detach();
}

E2E_CASE(sigterm_adopt)
{
	struct e2e_slubd *d = e2e_start(NULL);
	struct kmem_cache *s, *rz, *s2, *rz2;
	struct e2e_cache c = { .refcount = -1 }, crz = { .refcount = -1 };
	struct e2e_validate v;
	uint8_t *o[S_OBJS], *orz[S_RZ_OBJS], *km[S_KM];
	char arena[200], *out = NULL;
	off_t from = 0, len;
	int rc, bad = 0;

	REQUIRE(d != NULL);
	arena_path(d, arena, sizeof(arena));
	REQUIRE(slub_attach(d->sock) == 0);
	s = kmem_cache_create(S_POOL, S_SIZE, 0, 0, NULL);
	REQUIRE(s != NULL);
	/* a second reference: both are re-taken after the restart */
	REQUIRE(kmem_cache_create(S_POOL, S_SIZE, 0, 0, NULL) == s);
	rz = kmem_cache_create(S_RZ_POOL, S_RZ_SIZE, 0, SLAB_RED_ZONE | SLAB_POISON, NULL);
	REQUIRE(rz != NULL);
	for (int i = 0; i < S_OBJS; i++) {
		o[i] = kmem_cache_alloc(s, GFP_KERNEL);
		REQUIRE(o[i] != NULL);
		s_fill(o[i], 1, i, S_SIZE);
	}
	for (int i = 0; i < S_RZ_OBJS; i++) {
		orz[i] = kmem_cache_alloc(rz, GFP_KERNEL);
		REQUIRE(orz[i] != NULL);
		s_fill(orz[i], 2, i, S_RZ_SIZE);
	}
	for (int i = 0; i < S_KM; i++) {
		km[i] = kmalloc(3000, GFP_KERNEL);
		REQUIRE(km[i] != NULL);
		s_fill(km[i], 3, i, 3000);
	}
	REQUIRE(e2e_cache_stats(d->sock, S_POOL, &c, NULL) == 1);
	CHECKF(c.active_objs == S_OBJS && c.refcount == 2, "before: %s active_objs %llu refcount %d (want %d, 2)",
	       S_POOL, (unsigned long long)c.active_objs, c.refcount, S_OBJS);
	len = file_len(arena);
	CHECKF(len >= (off_t)(64 << 20), "the arena file %s (the default next to the socket): size %lld, "
	       "want at least 64 MiB (%s)", arena, (long long)len, strerror(errno));

	/* SIGTERM: exit 0, the file stays */
	e2e_stop(d);
	REQUIRE(!t_failed);
	CHECKF(file_len(arena) == len, "after SIGTERM the arena file %s is %lld bytes, was %lld", arena,
	       (long long)file_len(arena), (long long)len);

	/* slubd down: this process and a forked child go on allocating */
	{
		void *tmp[64];
		struct s_down_arg da = { s };

		for (int i = 0; i < 64; i++) {
			tmp[i] = kmem_cache_alloc(s, GFP_KERNEL);
			REQUIRE(tmp[i] != NULL);
			memset(tmp[i], 0x99, S_SIZE);
		}
		for (int i = 0; i < 64; i++)
			kmem_cache_free(s, tmp[i]);
		CHECK(t_wait(t_fork(s_down_child, &da), "a child while slubd is down"));
	}

	/* a new slubd on the same socket, the default arena file: it adopts */
	REQUIRE(rs_restart(d, NULL, &from, NULL) == 0);
	CHECKF(log_has_from(d->log, from, "adopted"), "the new slubd did not say \"adopted\" (%s)", arena);
	REQUIRE(e2e_cache_stats(d->sock, S_POOL, &c, NULL) == 1);
	CHECKF(c.active_objs == S_OBJS, "after the restart: %s active_objs %llu, want %d", S_POOL,
	       (unsigned long long)c.active_objs, S_OBJS);
	CHECKF(c.object_size == S_SIZE, "after the restart: %s object_size %llu", S_POOL,
	       (unsigned long long)c.object_size);
	CHECKF(c.refcount == 0, "after the restart, before any client reconnected: %s refcount %d, "
	       "want 0 (the references went with the old connections)", S_POOL, c.refcount);
	REQUIRE(e2e_cache_stats(d->sock, S_RZ_POOL, &crz, NULL) == 1);
	CHECKF(crz.active_objs == S_RZ_OBJS, "after the restart: %s active_objs %llu, want %d",
	       S_RZ_POOL, (unsigned long long)crz.active_objs, S_RZ_OBJS);
	REQUIRE(e2e_validate(d->sock, NULL, &v) == 0);
	CHECKF(v.err == 0 && v.errors == 0, "validate after adopting: err %d, %llu errors: %s", v.err,
	       (unsigned long long)v.errors, v.first_error);
	for (int i = 0; i < S_OBJS; i++)
		bad += s_bad(o[i], 1, i, S_SIZE) >= 0;
	for (int i = 0; i < S_RZ_OBJS; i++)
		bad += s_bad(orz[i], 2, i, S_RZ_SIZE) >= 0;
	for (int i = 0; i < S_KM; i++)
		bad += s_bad(km[i], 3, i, 3000) >= 0;
	CHECKF(bad == 0, "%d objects changed across the restart", bad);

	/* a new process sees the same arena */
	{
		struct s_fresh_arg fa = { d->sock, slub_offset(s), slub_offset(o[0]) };

		CHECK(t_wait(t_fork(s_fresh_child, &fa), "a fresh client of the new slubd"));
	}

	/* the old client: its control calls reconnect on their own (its connection is stale) */
	errno = 0;
	s2 = kmem_cache_create(S_POOL, S_SIZE, 0, 0, NULL);
	CHECKF(s2 == s, "the first kmem_cache_create after the restart: %p, errno %d (%s); want %p",
	       (void *)s2, errno, strerror(errno), (void *)s);
	rz2 = kmem_cache_create(S_RZ_POOL, S_RZ_SIZE, 0, SLAB_RED_ZONE | SLAB_POISON, NULL);
	CHECKF(rz2 == rz, "kmem_cache_create(%s) after the restart: %p (%s)", S_RZ_POOL, (void *)rz2,
	       strerror(errno));
	/* its 2 references re-taken, plus the one just taken */
	REQUIRE(e2e_cache_stats(d->sock, S_POOL, &c, NULL) == 1);
	CHECKF(c.refcount == 3, "%s: refcount %d after the old client (2 references before the "
	       "restart) reconnected and created it once more, want 3", S_POOL, c.refcount);

	for (int i = 0; i < S_OBJS; i++)
		kmem_cache_free(s, o[i]);
	for (int i = 0; i < S_RZ_OBJS; i++)
		kmem_cache_free(rz, orz[i]);
	for (int i = 0; i < S_KM; i++)
		kfree(km[i]);
	REQUIRE(e2e_cache_stats(d->sock, S_POOL, &c, NULL) == 1);
	CHECKF(c.active_objs == 0 && c.errors == 0, "%s: active_objs %llu, errors %llu after every "
	       "object was freed", S_POOL, (unsigned long long)c.active_objs, (unsigned long long)c.errors);
	REQUIRE(e2e_cache_stats(d->sock, S_RZ_POOL, &crz, NULL) == 1);
	CHECKF(crz.active_objs == 0 && crz.errors == 0, "%s: active_objs %llu, errors %llu after every "
	       "object was freed", S_RZ_POOL, (unsigned long long)crz.active_objs,
	       (unsigned long long)crz.errors);
	REQUIRE(e2e_validate(d->sock, NULL, &v) == 0);
	CHECKF(v.err == 0 && v.errors == 0, "validate: err %d, %llu errors: %s", v.err,
	       (unsigned long long)v.errors, v.first_error);
	rc = e2e_slubctl(d, &out, "validate", NULL);
	CHECKF(rc == 0, "slubctl validate: exit %d:\n%s", rc, out ? out : "");
	free(out);

	/* its 3 references dropped one by one: the empty pool goes with the last */
	for (int i = 0; i < 3; i++) {
		REQUIRE(e2e_cache_stats(d->sock, S_POOL, &c, NULL) == 1);
		CHECKF(c.refcount == 3 - i, "%s: refcount %d after %d kmem_cache_destroy, want %d", S_POOL,
		       c.refcount, i, 3 - i);
		kmem_cache_destroy(s);
	}
	CHECKF(e2e_wait_listed(d->sock, S_POOL, 0, 3000, &c) == 0, "%s still listed after its last "
	       "reference was dropped, empty (refcount %d)", S_POOL, c.refcount);
	/* the rest go with the detach */
	slub_detach();
	CHECKF(e2e_wait_listed(d->sock, S_RZ_POOL, 0, 3000, &crz) == 0, "%s still listed after the "
	       "client detached (refcount %d)", S_RZ_POOL, crz.refcount);
	e2e_stop(d);
	CHECKF(access(arena, F_OK) == 0, "the arena file %s is gone after the second SIGTERM", arena);
}

/* ---- (3) socket activation -------------------------------------------------------- */

static const char *find_in_path(const char *prog, char *buf, size_t len)
{
	const char *path = getenv("PATH");
	char dirs[4096];

	snprintf(dirs, sizeof(dirs), "%s:/usr/bin:/bin:/usr/sbin:/sbin", path ? path : "");
	for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if (!*dir)
			continue;
		snprintf(buf, len, "%s/%s", dir, prog);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

struct a_ctx {
	char dir[100], sock[160], arena[160], log[160], own[160];
	pid_t pid;
};

static void activation(struct a_ctx *x, const char *ssa)
{
	const char *slubd = e2e_need_bin("SLUBD", "slubd");
	struct e2e_slubd fake;
	struct e2e_cache c = { .refcount = -1 };
	struct kmem_cache *s, *s2;
	struct stat sb;
	uint8_t *o[100];
	char *k, *out = NULL, how[96];
	uint64_t deadline;
	int rc = -1, status;

	REQUIRE(access(slubd, X_OK) == 0);
	{
		char *argv[] = { (char *)ssa, "-l", x->sock, (char *)slubd, "--foreground", "--arena-size",
				 "64M", "--hugepages", "off", "--arena-file", x->arena, NULL };

		/* $SLUBD_SOCKET: where a slubd that ignored the inherited socket would make its own */
		x->pid = spawn_logged(argv, x->log, 1, "SLUBD_SOCKET", x->own);
	}
	REQUIRE(x->pid > 0);
	deadline = t_now_ms() + 5000;
	while (!(stat(x->sock, &sb) == 0 && S_ISSOCK(sb.st_mode))) {
		if (t_now_ms() > deadline || waitpid(x->pid, &status, WNOHANG) == x->pid) {
			CHECKF(0, "systemd-socket-activate never listened on %s", x->sock);
			show_log_from(x->log, 0);
			return;
		}
		t_sleep_ms(5);
	}
	/* the first connection starts slubd; it must get through */
	deadline = t_now_ms() + 10000;
	while ((rc = slub_attach(x->sock)) == -ECONNREFUSED || rc == -ENOENT) {
		if (t_now_ms() > deadline)
			break;
		t_sleep_ms(10);
	}
	CHECKF(rc == 0, "slub_attach through the socket of systemd-socket-activate: %d (%s)", rc,
	       strerror(-rc));
	if (rc) {
		show_log_from(x->log, 0);
		return;
	}
	deadline = t_now_ms() + 5000;
	while (!log_has_from(x->log, 0, "from systemd") && t_now_ms() < deadline)
		t_sleep_ms(10);
	CHECKF(log_has_from(x->log, 0, "from systemd"), "slubd did not say it serves a socket "
	       "\"from systemd\"");
	CHECKF(waitpid(x->pid, &status, WNOHANG) == 0, "slubd is not running after the attach");

	s = kmem_cache_create("rs.act", 96, 0, 0, NULL);
	CHECKF(s != NULL, "kmem_cache_create through the activated socket: %s", strerror(errno));
	if (s) {
		for (int i = 0; i < 100; i++) {
			o[i] = kmem_cache_alloc(s, GFP_KERNEL);
			REQUIRE(o[i] != NULL);
			memset(o[i], i, 96);
		}
		CHECKF(e2e_cache_stats(x->sock, "rs.act", &c, NULL) == 1 && c.active_objs == 100,
		       "stats through the activated socket: rs.act active_objs %llu, want 100",
		       (unsigned long long)c.active_objs);
		for (int i = 0; i < 100; i++) {
			CHECKF(o[i][0] == i && o[i][95] == i, "object %d changed", i);
			kmem_cache_free(s, o[i]);
		}
	}
	k = kmalloc(1500, GFP_KERNEL);
	CHECKF(k != NULL, "kmalloc: %s", strerror(errno));
	if (k) {
		memset(k, 0x11, 1500);
		kfree(k);
	}
	memset(&fake, 0, sizeof(fake));
	snprintf(fake.sock, sizeof(fake.sock), "%s", x->sock);
	rc = e2e_slubctl(&fake, &out, "validate", NULL);
	CHECKF(rc == 0, "slubctl validate through the activated socket: exit %d:\n%s", rc, out ? out : "");
	free(out);
	CHECKF(access(x->arena, F_OK) == 0, "no arena file at %s (--arena-file)", x->arena);
	CHECKF(access(x->own, F_OK) != 0, "slubd made a socket of its own at %s ($SLUBD_SOCKET)", x->own);

	/* SIGTERM the pid we started: systemd-socket-activate became slubd */
	kill(x->pid, SIGTERM);
	status = e2e_waitpid_timeout(x->pid, E2E_STOP_TIMEOUT_MS);
	x->pid = 0;
	CHECKF(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "activated slubd after SIGTERM: %s, want exit 0", t_status_str(status, how, sizeof(how)));
	CHECKF(lstat(x->sock, &sb) == 0 && S_ISSOCK(sb.st_mode), "%s is gone after slubd exited: "
	       "the socket is systemd's, slubd must not unlink it", x->sock);
	CHECKF(access(x->arena, F_OK) == 0, "the arena file %s is gone after SIGTERM", x->arena);
	/* down: the control path says ENOTCONN, the pools work */
	errno = 0;
	s2 = kmem_cache_create("rs.act", 96, 0, 0, NULL);
	CHECKF(s2 == NULL && errno == ENOTCONN, "kmem_cache_create with slubd gone: %p, errno %d (%s)",
	       (void *)s2, errno, strerror(errno));
	if (s) {
		void *p = kmem_cache_alloc(s, GFP_KERNEL);

		CHECKF(p != NULL, "kmem_cache_alloc with slubd gone: %s", strerror(errno));
		if (p)
			kmem_cache_free(s, p);
	}
	slub_detach();
	if (t_failed)
		show_log_from(x->log, 0);
}

E2E_CASE(socket_activation)
{
	static char why[300];
	const char *tmp = getenv("TMPDIR");
	char ssa_buf[512];
	const char *ssa = find_in_path("systemd-socket-activate", ssa_buf, sizeof(ssa_buf));
	struct a_ctx x;

	if (!ssa) {
		snprintf(why, sizeof(why), "systemd-socket-activate is not installed (not in $PATH, "
			 "/usr/bin or /bin)");
		SKIP(why);
	}
	memset(&x, 0, sizeof(x));
	if (!tmp || !*tmp || strlen(tmp) > 60)
		tmp = "/tmp";
	snprintf(x.dir, sizeof(x.dir), "%s/slubd-act.XXXXXX", tmp);
	REQUIRE(mkdtemp(x.dir) != NULL);
	snprintf(x.sock, sizeof(x.sock), "%s/act.sock", x.dir);
	snprintf(x.arena, sizeof(x.arena), "%s/a.arena", x.dir);
	snprintf(x.log, sizeof(x.log), "%s/act.log", x.dir);
	snprintf(x.own, sizeof(x.own), "%s/own.sock", x.dir);
	activation(&x, ssa);
	if (x.pid > 0) {
		kill(x.pid, SIGKILL);
		waitpid(x.pid, NULL, 0);
	}
	unlink(x.sock);
	unlink(x.arena);
	{
		char lock[sizeof(x.arena) + 8];	/* slubd's owner lock beside its arena */

		snprintf(lock, sizeof(lock), "%s.lock", x.arena);
		unlink(lock);
	}
	unlink(x.log);
	unlink(x.own);
	rmdir(x.dir);
}

/* ---- (4) a file that is no arena of this layout: refused ---------------------------- */

static int write_at(const char *path, off_t at, const void *buf, size_t n, off_t size, int create)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0644);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (size >= 0 && ftruncate(fd, size))
		rc = -errno;
	if (!rc && pwrite(fd, buf, n, at) != (ssize_t)n)
		rc = -EIO;
	close(fd);
	return rc;
}

static int read_at(const char *path, off_t at, void *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	rc = pread(fd, buf, n, at) == (ssize_t)n ? 0 : -EIO;
	close(fd);
	return rc;
}

/* slubd on sock with arena as --arena-file (NULL: the default) must exit non-zero, naming the file */
static void expect_refused(const char *sock, const char *arena, const char *named, const char *what)
{
	const char *bin = e2e_need_bin("SLUBD", "slubd");
	char *argv[16], *out = NULL;
	int argc = 0, rc;
	uint64_t t0 = t_now_ms();

	argv[argc++] = (char *)bin;
	argv[argc++] = "--foreground";
	argv[argc++] = "--socket";
	argv[argc++] = (char *)sock;
	argv[argc++] = "--arena-size";
	argv[argc++] = "64M";
	argv[argc++] = "--hugepages";
	argv[argc++] = "off";
	if (arena) {
		argv[argc++] = "--arena-file";
		argv[argc++] = (char *)arena;
	}
	argv[argc] = NULL;
	rc = e2e_run(argv, &out, 8000);
	CHECKF(rc > 0, "slubd with %s at %s: exit %d after %llu ms, want a refusal (non-zero exit):\n%s",
	       what, named, rc, (unsigned long long)(t_now_ms() - t0), out ? out : "");
	CHECKF(rc <= 0 || (out && strstr(out, named)), "slubd refused %s but did not name the file %s:\n%s",
	       what, named, out ? out : "");
	free(out);
}

E2E_CASE(adopt_refuses_foreign)
{
	struct e2e_slubd *d = e2e_start(NULL);
	char arena[200], garbage[200], gsock[200];
	uint8_t junk[65536], back[65536], hdr[12], hdr2[12];
	uint64_t rnd = 0xbadf11e;
	uint32_t version;
	off_t len;
	off_t from = 0;

	REQUIRE(d != NULL);
	arena_path(d, arena, sizeof(arena));
	snprintf(garbage, sizeof(garbage), "%s/garbage.arena", d->dir);
	snprintf(gsock, sizeof(gsock), "%s/g.sock", d->dir);

	/* garbage of the arena's size */
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)t_rand(&rnd);
	REQUIRE(write_at(garbage, 0, junk, sizeof(junk), 64 << 20, 1) == 0);
	expect_refused(gsock, garbage, garbage, "64 MiB of garbage");
	CHECKF(file_len(garbage) == (off_t)(64 << 20) && read_at(garbage, 0, back, sizeof(back)) == 0 &&
	       !memcmp(back, junk, sizeof(junk)), "the refused garbage file %s was changed", garbage);
	/* a file too short to hold a header */
	REQUIRE(write_at(garbage, 0, junk, 100, -1, 1) == 0);
	expect_refused(gsock, garbage, garbage, "100 bytes of garbage");
	CHECKF(file_len(garbage) == 100, "the refused 100-byte file %s is %lld bytes now", garbage,
	       (long long)file_len(garbage));

	/* a real arena, with its layout version (offset 8, 32 bits) bumped */
	{
		struct e2e_validate v;

		REQUIRE(e2e_validate(d->sock, NULL, &v) == 0);	/* something ran in it */
	}
	e2e_stop(d);
	REQUIRE(!t_failed);
	len = file_len(arena);
	REQUIRE(len > 0);
	REQUIRE(read_at(arena, 0, hdr, sizeof(hdr)) == 0);
	memcpy(&version, hdr + 8, sizeof(version));
	memcpy(hdr2, hdr, sizeof(hdr));
	version++;
	memcpy(hdr2 + 8, &version, sizeof(version));
	REQUIRE(write_at(arena, 0, hdr2, sizeof(hdr2), -1, 0) == 0);
	expect_refused(d->sock, NULL, arena, "an arena of layout version +1 (the default file)");
	expect_refused(d->sock, arena, arena, "an arena of layout version +1 (--arena-file)");
	{
		uint8_t now[12];

		CHECKF(file_len(arena) == len && read_at(arena, 0, now, sizeof(now)) == 0 &&
		       !memcmp(now, hdr2, sizeof(now)), "the refused arena file %s was changed", arena);
	}

	/* the version put back: adopted, and it works */
	REQUIRE(write_at(arena, 0, hdr, sizeof(hdr), -1, 0) == 0);
	REQUIRE(rs_restart(d, NULL, &from, NULL) == 0);
	CHECKF(log_has_from(d->log, from, "adopted"), "slubd did not say \"adopted\" with the version "
	       "put back");
	{
		struct kmem_cache *s;
		void *p;

		REQUIRE(slub_attach(d->sock) == 0);
		s = kmem_cache_create("rs.back", 64, 0, 0, NULL);
		CHECKF(s != NULL, "kmem_cache_create after the version was put back: %s", strerror(errno));
		if (s) {
			p = kmem_cache_alloc(s, GFP_KERNEL);
			CHECK(p != NULL);
			if (p) {
				memset(p, 0x42, 64);
				kmem_cache_free(s, p);
			}
			kmem_cache_destroy(s);
		}
		slub_detach();
	}
	e2e_stop(d);
}

T_MAIN(T_CASE(restart_under_load), T_CASE(sigterm_adopt), T_CASE(socket_activation),
       T_CASE(adopt_refuses_foreign))
