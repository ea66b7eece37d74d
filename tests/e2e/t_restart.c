/*
 * t_restart.c - end-to-end tests of slubd's restart without loss under load:
 * the arena lives in a file that outlives the daemon, a new slubd adopts it
 * with every pool and object, attached clients go on allocating while slubd
 * is down and reconnect on their own.
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
 *
 * t_restart_adopt.c has a calm restart, socket activation and a foreign file.
 *
 * slubd is restarted here on the socket of a daemon that e2e_start() started
 * (the same struct e2e_slubd, so that e2e's cleanup kills whatever runs and
 * removes the directory): see rs_restart() in e2e_restart.c.
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
#include "e2e_restart.h"

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
	rs_arena_path(d, arena, sizeof(arena));
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
			CHECKF(rs_log_has_from(d->log, from, "adopted"), "restart %d: slubd did not say "
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
	CHECKF(rs_log_count(d->log, "adopted") >= restarts, "\"adopted\" %d times in the log, %d restarts",
	       rs_log_count(d->log, "adopted"), restarts);
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

T_MAIN(T_CASE(restart_under_load))
