/*
 * t_e2e.c - end-to-end tests: a real slubd, real client processes linking
 * libslub, the control protocol on the wire, slubctl.
 *
 * Every case starts its own slubd (64 MiB arena, no huge pages) on a socket
 * in a private directory, runs in a forked child of its own (a fresh,
 * never-attached library) under a timeout, and ends by checking that slubd
 * is still alive and exits 0 on SIGTERM.  See e2e.h.
 *
 *   shared_pool          processes share a pool, hand objects to each other by
 *                        pointer and by offset, free each other's objects;
 *                        stats, validate and slubctl agree with what they did
 *   create_errors        every error of kmem_cache_create and slub_attach,
 *                        with its exact errno; slubd's own checks on the wire
 *   access_refused       a uid the policy does not allow is refused (root only)
 *   fork_child           a forked child uses the pools without re-attaching;
 *                        its control calls reconnect on their own
 *   garbage              slubd survives hostile and broken clients
 *   destroy_lifetime     pool lifetime: references, objects, detach, exit
 *   validate_corrupt     validate and slubctl validate see a write after free
 *   config_limits        max_clients and max_refs of the config file
 *   config_file          [arena] size and socket_mode of the config file; the
 *                        command line wins
 *   config_max_caches    [limits] max_caches
 *   command_line         slubd's command line: --help, bad values, a busy socket
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "slub.h"

/* ---- shared helpers of the cases ---------------------------------------- */

/* read exactly n bytes from a pipe; 0, or -1 on EOF or error */
static int read_exact(int fd, void *buf, size_t n)
{
	uint8_t *p = buf;

	while (n) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int write_exact(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * probe - a fresh client process: attach, create a pool, allocate, write,
 * check, free, kmalloc, detach.  What every robustness step ends with.
 */
static void probe_child(void *arg)
{
	const char *sock = arg;
	struct kmem_cache *s;
	void *objs[64];
	char *k;
	int rc = slub_attach(sock);

	CHECKF(rc == 0, "probe: slub_attach: %d (%s)", rc, strerror(-rc));
	if (rc)
		return;
	s = kmem_cache_create("e2e.probe", 48, 0, 0, NULL);
	CHECKF(s != NULL, "probe: kmem_cache_create: %s", strerror(errno));
	if (!s)
		return;
	for (int i = 0; i < 64; i++) {
		objs[i] = kmem_cache_alloc(s, GFP_KERNEL);
		CHECKF(objs[i] != NULL, "probe: kmem_cache_alloc: %s", strerror(errno));
		if (!objs[i])
			return;
		memset(objs[i], i, 48);
	}
	for (int i = 0; i < 64; i++) {
		const uint8_t *b = objs[i];

		CHECKF(b[0] == i && b[47] == i, "probe: object %d changed", i);
		kmem_cache_free(s, objs[i]);
	}
	k = kmalloc(1000, GFP_KERNEL);
	CHECKF(k != NULL, "probe: kmalloc: %s", strerror(errno));
	if (k) {
		memset(k, 0x5a, 1000);
		kfree(k);
	}
	kmem_cache_destroy(s);
	slub_detach();
}

static void probe(struct e2e_slubd *d, const char *when)
{
	char what[160];

	snprintf(what, sizeof(what), "a fresh client %s", when);
	if (!e2e_alive(d, when))
		return;
	t_wait(t_fork(probe_child, d->sock), what);
	e2e_alive(d, when);
}

/* one raw request on c; the response (free it) or NULL with a failed check */
static Slubd__Response *raw_call(struct ctl_conn *c, Slubd__Request *req, int *fd_out)
{
	Slubd__Response *resp = NULL;
	char err[256] = "";
	int rc = ctl_call(c, req, &resp, fd_out, err, sizeof(err));

	CHECKF(rc == 0, "request %u: %s", req->id, err);
	return rc ? NULL : resp;
}

/* is the decimal number n in text, as a whole number? */
static int names_number(const char *text, unsigned long n)
{
	for (const char *p = text; p && *p; p++) {
		char *end;

		if (*p < '0' || *p > '9' || (p > text && p[-1] >= '0' && p[-1] <= '9'))
			continue;
		if (strtoul(p, &end, 10) == n)
			return 1;
	}
	return 0;
}

/* ---- (a) processes share a pool ------------------------------------------ */

#define A_WORKERS	4
#define A_MSGS		1500	/* handed from each worker to the next */
#define A_KEEP		40	/* objects each worker leaves allocated when it exits */
#define A_SIZE		200
#define A_ALIGN		8
#define A_NAME		"e2e.shared"
#define A_MAGIC		0x5e1f0b1eu

struct a_obj {
	uint32_t magic, sender, seq, pad;
	uint8_t data[A_SIZE - 16];
};
_Static_assert(sizeof(struct a_obj) == A_SIZE, "a_obj is one object of the pool");

enum { M_PTR, M_OFF, M_KMALLOC };

struct a_msg {
	uint32_t type, seq;
	uint64_t val;		/* the pointer or the offset */
	uint64_t len;		/* kmalloc: bytes written */
};

struct a_shared {
	int ready;				/* workers that opened the pool */
	uint64_t cache_off[A_WORKERS];		/* slub_offset() of the pool in each */
	uint64_t keep_off[A_WORKERS][A_KEEP];	/* objects left allocated */
	uint64_t allocs[A_WORKERS], frees[A_WORKERS];	/* of the pool, by each */
};

struct a_worker {
	struct a_shared *sh;
	const char *sock;
	int id;
	int (*pipes)[2];	/* pipes[i]: messages to worker i */
};

static void a_fill(struct a_obj *o, uint32_t sender, uint32_t seq)
{
	o->magic = A_MAGIC;
	o->sender = sender;
	o->seq = seq;
	for (size_t j = 0; j < sizeof(o->data); j++)
		o->data[j] = (uint8_t)(sender * 131 + seq * 7 + j);
}

/* -1 if o is what a_fill(sender, seq) wrote, else the first bad byte */
static long a_bad(const struct a_obj *o, uint32_t sender, uint32_t seq)
{
	if (o->magic != A_MAGIC || o->sender != sender || o->seq != seq)
		return 0;
	for (size_t j = 0; j < sizeof(o->data); j++)
		if (o->data[j] != (uint8_t)(sender * 131 + seq * 7 + j))
			return (long)(16 + j);
	return -1;
}

static uint8_t k_byte(uint32_t sender, uint32_t seq, size_t j)
{
	return (uint8_t)(sender * 17 + seq * 3 + j * 5);
}

static void a_worker(void *arg)
{
	struct a_worker *w = arg;
	struct a_shared *sh = w->sh;
	const int me = w->id, from = (w->id + A_WORKERS - 1) % A_WORKERS;
	int in = w->pipes[me][0], out = w->pipes[(me + 1) % A_WORKERS][1], bad = 0, rc;
	struct kmem_cache *s, *s2;
	uint64_t deadline;

	for (int i = 0; i < A_WORKERS; i++) {
		if (i != me)
			close(w->pipes[i][0]);
		if (i != (me + 1) % A_WORKERS)
			close(w->pipes[i][1]);
	}
	rc = slub_attach(w->sock);
	CHECKF(rc == 0, "worker %d: slub_attach: %d (%s)", me, rc, strerror(-rc));
	if (rc)
		return;
	s = kmem_cache_create(A_NAME, A_SIZE, A_ALIGN, 0, NULL);
	CHECKF(s != NULL, "worker %d: kmem_cache_create: %s", me, strerror(errno));
	if (!s)
		return;
	/* the same name and geometry again: the same pool, the same pointer */
	s2 = kmem_cache_create(A_NAME, A_SIZE, A_ALIGN, 0, NULL);
	CHECKF(s2 == s, "worker %d: second kmem_cache_create gave %p, the first %p", me, (void *)s2,
	       (void *)s);
	CHECKF(kmem_cache_size(s) == A_SIZE, "worker %d: kmem_cache_size %u", me, kmem_cache_size(s));
	sh->cache_off[me] = slub_offset(s);
	CHECKF(sh->cache_off[me] != 0 && slub_ptr(sh->cache_off[me]) != NULL,
	       "worker %d: the cache is not in the arena (offset %#llx)", me,
	       (unsigned long long)sh->cache_off[me]);

	/* everyone has the pool open: then all allocate and free at once */
	__atomic_add_fetch(&sh->ready, 1, __ATOMIC_SEQ_CST);
	deadline = t_now_ms() + 10000;
	while (__atomic_load_n(&sh->ready, __ATOMIC_SEQ_CST) < A_WORKERS) {
		if (t_now_ms() > deadline) {
			CHECKF(0, "worker %d: the others did not open the pool within 10 s", me);
			return;
		}
		t_sleep_ms(1);
	}

	/* produce: objects by pointer and by offset, kmalloc buffers by offset */
	for (uint32_t seq = 0; seq < A_MSGS; seq++) {
		struct a_msg m = { .seq = seq };

		if (seq % 3 == 2) {
			size_t len = seq % 150 == 2 ? 9000 + seq : 1 + (seq * 37 + (uint32_t)me * 101) % 6000;
			uint8_t *p = kmalloc(seq % 6 == 5 ? len / 2 + 1 : len, GFP_KERNEL);

			CHECKF(p != NULL, "worker %d: kmalloc(%zu): %s", me, len, strerror(errno));
			if (!p)
				return;
			if (seq % 6 == 5) {
				/* half written, grown by krealloc, the rest written */
				for (size_t j = 0; j < len / 2 + 1; j++)
					p[j] = k_byte((uint32_t)me, seq, j);
				p = krealloc(p, len, GFP_KERNEL);
				CHECKF(p != NULL, "worker %d: krealloc(%zu): %s", me, len, strerror(errno));
				if (!p)
					return;
				for (size_t j = len / 2 + 1; j < len; j++)
					p[j] = k_byte((uint32_t)me, seq, j);
			} else {
				for (size_t j = 0; j < len; j++)
					p[j] = k_byte((uint32_t)me, seq, j);
			}
			m.type = M_KMALLOC;
			m.val = slub_offset(p);
			m.len = len;
		} else {
			struct a_obj *o = kmem_cache_alloc(s, seq & 1 ? __GFP_ZERO : GFP_KERNEL);

			CHECKF(o != NULL, "worker %d: kmem_cache_alloc: %s", me, strerror(errno));
			if (!o)
				return;
			sh->allocs[me]++;
			if (seq & 1) {
				const uint8_t *b = (const uint8_t *)o;
				int nz = 0;

				for (size_t j = 0; j < A_SIZE; j++)
					nz |= b[j];
				if (nz && bad++ < 3)
					CHECKF(0, "worker %d: __GFP_ZERO object %u is not zeroed", me, seq);
			}
			a_fill(o, (uint32_t)me, seq);
			m.type = seq % 3 == 0 ? M_PTR : M_OFF;
			m.val = m.type == M_PTR ? (uint64_t)(uintptr_t)o : slub_offset(o);
		}
		if (write_exact(out, &m, sizeof(m))) {
			CHECKF(0, "worker %d: write to the next worker: %s", me, strerror(errno));
			return;
		}
	}
	close(out);

	/* consume what the previous worker made: check it, free it here */
	for (uint32_t n = 0; n < A_MSGS; n++) {
		struct a_msg m;

		if (read_exact(in, &m, sizeof(m))) {
			CHECKF(0, "worker %d: message %u of %d never came", me, n, A_MSGS);
			return;
		}
		if (m.seq != n && bad++ < 3)
			CHECKF(0, "worker %d: message %u has seq %u", me, n, m.seq);
		if (m.type == M_KMALLOC) {
			uint8_t *p = slub_ptr(m.val);
			size_t j;

			if (!p) {
				CHECKF(0, "worker %d: kmalloc offset %#llx is not in the arena", me,
				       (unsigned long long)m.val);
				return;
			}
			if (ksize(p) < m.len && bad++ < 3)
				CHECKF(0, "worker %d: ksize %zu < %llu", me, ksize(p), (unsigned long long)m.len);
			for (j = 0; j < m.len && p[j] == k_byte((uint32_t)from, m.seq, j); j++)
				;
			if (j < m.len && bad++ < 3)
				CHECKF(0, "worker %d: kmalloc buffer %u of worker %d: byte %zu of %llu differs",
				       me, m.seq, from, j, (unsigned long long)m.len);
			kfree(p);
		} else {
			struct a_obj *o = m.type == M_PTR ? (struct a_obj *)(uintptr_t)m.val
							 : slub_ptr(m.val);
			long at;

			if (!o || slub_offset(o) == 0) {
				CHECKF(0, "worker %d: object %u of worker %d (%s %#llx) is not in the arena",
				       me, m.seq, from, m.type == M_PTR ? "pointer" : "offset",
				       (unsigned long long)m.val);
				return;
			}
			at = a_bad(o, (uint32_t)from, m.seq);
			if (at >= 0 && bad++ < 3)
				CHECKF(0, "worker %d: object %u of worker %d: byte %ld differs", me, m.seq,
				       from, at);
			kmem_cache_free(s, o);
			sh->frees[me]++;
		}
	}
	CHECKF(bad == 0, "worker %d: %d bad objects in all", me, bad);

	/* leave some allocated: they outlive this process */
	for (int k = 0; k < A_KEEP; k++) {
		struct a_obj *o = kmem_cache_alloc(s, GFP_KERNEL);

		CHECKF(o != NULL, "worker %d: kmem_cache_alloc: %s", me, strerror(errno));
		if (!o)
			return;
		sh->allocs[me]++;
		a_fill(o, (uint32_t)me, 100000u + (uint32_t)k);
		sh->keep_off[me][k] = slub_offset(o);
	}
	/* exit without kmem_cache_destroy or slub_detach: slubd drops the references */
}

E2E_CASE(shared_pool)
{
	struct e2e_slubd *d = e2e_start(NULL);
	struct a_shared *sh;
	int pipes[A_WORKERS][2];
	struct a_worker w[A_WORKERS];
	pid_t pid[A_WORKERS];
	struct e2e_cache c = { .refcount = -1 }, c2;
	struct e2e_arena ar;
	struct e2e_validate v;
	uint64_t allocs = 0, frees = 0, n;
	struct kmem_cache *s;
	char *json = NULL, backing[320] = "";
	void *objs[300], *bulk[64];
	int ok = 1, rc;

	REQUIRE(d != NULL);
	sh = t_shared(sizeof(*sh));
	REQUIRE(sh != NULL);
	for (int i = 0; i < A_WORKERS; i++) {
		REQUIRE(pipe(pipes[i]) == 0);
		fcntl(pipes[i][0], F_SETPIPE_SZ, 1 << 20);	/* room for every message */
	}
	for (int i = 0; i < A_WORKERS; i++) {
		w[i] = (struct a_worker){ sh, d->sock, i, pipes };
		pid[i] = t_fork(a_worker, &w[i]);
	}
	for (int i = 0; i < A_WORKERS; i++) {
		close(pipes[i][0]);
		close(pipes[i][1]);
	}
	for (int i = 0; i < A_WORKERS; i++) {
		char what[32];

		snprintf(what, sizeof(what), "worker %d", i);
		ok &= t_wait(pid[i], what);
	}
	REQUIRE(ok);
	REQUIRE(e2e_alive(d, "after the workers exited"));
	for (int i = 0; i < A_WORKERS; i++) {
		CHECKF(sh->cache_off[i] == sh->cache_off[0] && sh->cache_off[i] != 0,
		       "worker %d opened the pool at offset %#llx, worker 0 at %#llx", i,
		       (unsigned long long)sh->cache_off[i], (unsigned long long)sh->cache_off[0]);
		allocs += sh->allocs[i];
		frees += sh->frees[i];
	}

	/* stats: every reference went with its process; the kept objects stay */
	CHECKF(e2e_wait_refcount(d->sock, A_NAME, 0, 3000, &c),
	       "%s: refcount %d 3 s after every process that opened it exited, want 0", A_NAME,
	       c.refcount);
	REQUIRE(e2e_cache_stats(d->sock, A_NAME, &c, &ar) == 1);
	CHECKF(c.active_objs == A_WORKERS * A_KEEP, "active_objs %llu, want %d",
	       (unsigned long long)c.active_objs, A_WORKERS * A_KEEP);
	CHECKF(c.object_size == A_SIZE, "object_size %llu", (unsigned long long)c.object_size);
	CHECKF(c.num_objs >= c.active_objs && c.num_slabs >= c.active_slabs && c.active_slabs > 0,
	       "num_objs %llu active_objs %llu num_slabs %llu active_slabs %llu",
	       (unsigned long long)c.num_objs, (unsigned long long)c.active_objs,
	       (unsigned long long)c.num_slabs, (unsigned long long)c.active_slabs);
	/* counters may lose increments between processes (shm/atomic.h), never gain */
	n = c.alloc_fastpath + c.alloc_slowpath;
	CHECKF(n > 0 && n <= allocs, "alloc_fastpath + alloc_slowpath = %llu, the workers allocated %llu",
	       (unsigned long long)n, (unsigned long long)allocs);
	n = c.free_fastpath + c.free_slowpath;
	CHECKF(n > 0 && n <= frees, "free_fastpath + free_slowpath = %llu, the workers freed %llu",
	       (unsigned long long)n, (unsigned long long)frees);
	CHECKF(c.errors == 0, "%s: %llu errors reported", A_NAME, (unsigned long long)c.errors);
	CHECKF(ar.size == 64u << 20, "arena size %llu, want 64 MiB", (unsigned long long)ar.size);
	CHECKF(e2e_backing_is_file(ar.backing, d->arena), "backing '%s' with --hugepages off "
	       "--arena-file %s", ar.backing, d->arena);
	CHECKF(ar.used > 0 && ar.used <= ar.size, "arena used %llu", (unsigned long long)ar.used);

	/* validate, over the protocol and with slubctl */
	REQUIRE(e2e_validate(d->sock, A_NAME, &v) == 0);
	CHECKF(v.err == 0 && v.errors == 0, "validate %s: err %d, %llu errors: %s", A_NAME, v.err,
	       (unsigned long long)v.errors, v.first_error);
	CHECKF(v.allocated == A_WORKERS * A_KEEP, "validate %s: allocated %llu, want %d", A_NAME,
	       (unsigned long long)v.allocated, A_WORKERS * A_KEEP);
	CHECKF(v.allocated + v.free == v.objects, "validate: allocated %llu + free %llu != objects %llu",
	       (unsigned long long)v.allocated, (unsigned long long)v.free,
	       (unsigned long long)v.objects);
	REQUIRE(e2e_validate(d->sock, NULL, &v) == 0);
	CHECKF(v.err == 0 && v.errors == 0 && v.caches > 1, "validate all: err %d, %llu errors (%s), %llu caches",
	       v.err, (unsigned long long)v.errors, v.first_error, (unsigned long long)v.caches);
	rc = e2e_slubctl(d, &json, "validate", NULL);
	CHECKF(rc == 0, "slubctl validate: exit %d:\n%s", rc, json ? json : "");
	free(json);
	rc = e2e_slubctl(d, &json, "validate", A_NAME, NULL);
	CHECKF(rc == 0, "slubctl validate %s: exit %d:\n%s", A_NAME, rc, json ? json : "");
	free(json);
	rc = e2e_slubctl(d, &json, "stats", A_NAME, "--json", NULL);
	CHECKF(rc == 0, "slubctl stats --json: exit %d:\n%s", rc, json ? json : "");
	if (rc == 0) {
		uint64_t active = ~0ull, ref = ~0ull, size = 0;

		CHECKF(e2e_json_cache_num(json, A_NAME, "active_objs", &active) == 0 &&
		       active == A_WORKERS * A_KEEP, "slubctl --json: active_objs %llu, want %d:\n%s",
		       (unsigned long long)active, A_WORKERS * A_KEEP, json);
		CHECKF(e2e_json_cache_num(json, A_NAME, "refcount", &ref) == 0 && ref == 0,
		       "slubctl --json: refcount %llu, want 0", (unsigned long long)ref);
		CHECKF(e2e_json_obj_num(json, "arena", "size", &size) == 0 && size == 64u << 20,
		       "slubctl --json: arena size %llu:\n%s", (unsigned long long)size, json);
		CHECKF(e2e_json_obj_str(json, "arena", "backing", backing, sizeof(backing)) == 0 &&
		       e2e_backing_is_file(backing, d->arena), "slubctl --json: arena backing "
		       "'%s'", backing);
	}
	free(json);

	/* this process opens the pool too and takes the objects the workers left */
	rc = slub_attach(d->sock);
	REQUIRE(rc == 0);
	s = kmem_cache_create(A_NAME, A_SIZE, A_ALIGN, 0, NULL);
	REQUIRE(s != NULL);
	CHECKF(slub_offset(s) == sh->cache_off[0], "the pool is at %#llx here, %#llx in the workers",
	       (unsigned long long)slub_offset(s), (unsigned long long)sh->cache_off[0]);
	CHECKF(e2e_wait_refcount(d->sock, A_NAME, 1, 1000, &c), "refcount %d after one open, want 1",
	       c.refcount);
	for (int i = 0; i < A_WORKERS; i++) {
		for (int k = 0; k < A_KEEP; k++) {
			struct a_obj *o = slub_ptr(sh->keep_off[i][k]);

			if (!o) {
				CHECKF(0, "kept object %d/%d: offset %#llx not in the arena", i, k,
				       (unsigned long long)sh->keep_off[i][k]);
				continue;
			}
			CHECKF(a_bad(o, (uint32_t)i, 100000u + (uint32_t)k) < 0,
			       "kept object %d/%d changed after its process exited", i, k);
			kmem_cache_free(s, o);
		}
	}
	REQUIRE(e2e_cache_stats(d->sock, A_NAME, &c, NULL) == 1);
	CHECKF(c.active_objs == 0, "active_objs %llu after every object was freed",
	       (unsigned long long)c.active_objs);

	/* one process alone: the counters are exact */
	for (int i = 0; i < 300; i++) {
		objs[i] = kmem_cache_alloc(s, GFP_KERNEL);
		REQUIRE(objs[i] != NULL);
		a_fill(objs[i], 9, (uint32_t)i);
	}
	REQUIRE(e2e_cache_stats(d->sock, A_NAME, &c2, NULL) == 1);
	CHECKF(c2.active_objs == 300, "active_objs %llu with 300 allocated", (unsigned long long)c2.active_objs);
	for (int i = 0; i < 300; i++) {
		CHECKF(a_bad(objs[i], 9, (uint32_t)i) < 0, "object %d changed", i);
		kmem_cache_free(s, objs[i]);
	}
	REQUIRE(e2e_cache_stats(d->sock, A_NAME, &c2, NULL) == 1);
	CHECKF(c2.alloc_fastpath + c2.alloc_slowpath - c.alloc_fastpath - c.alloc_slowpath == 300,
	       "300 allocations by one process counted as %llu",
	       (unsigned long long)(c2.alloc_fastpath + c2.alloc_slowpath - c.alloc_fastpath -
				    c.alloc_slowpath));
	CHECKF(c2.free_fastpath + c2.free_slowpath - c.free_fastpath - c.free_slowpath == 300,
	       "300 frees by one process counted as %llu",
	       (unsigned long long)(c2.free_fastpath + c2.free_slowpath - c.free_fastpath -
				    c.free_slowpath));
	CHECKF(c2.active_objs == 0, "active_objs %llu", (unsigned long long)c2.active_objs);

	/* bulk */
	CHECK(kmem_cache_alloc_bulk(s, __GFP_ZERO, 64, bulk) == 64);
	for (int i = 0; i < 64; i++) {
		CHECKF(bulk[i] && slub_offset(bulk[i]) && ((const uint8_t *)bulk[i])[A_SIZE - 1] == 0,
		       "bulk object %d: %p", i, bulk[i]);
		for (int j = 0; j < i; j++)
			CHECKF(bulk[i] != bulk[j], "bulk objects %d and %d are the same", i, j);
	}
	REQUIRE(e2e_cache_stats(d->sock, A_NAME, &c2, NULL) == 1);
	CHECKF(c2.active_objs == 64, "active_objs %llu with 64 bulk objects", (unsigned long long)c2.active_objs);
	kmem_cache_free_bulk(s, 64, bulk);
	REQUIRE(e2e_validate(d->sock, A_NAME, &v) == 0);
	CHECKF(v.err == 0 && v.errors == 0 && v.allocated == 0, "validate %s: err %d errors %llu allocated %llu",
	       A_NAME, v.err, (unsigned long long)v.errors, (unsigned long long)v.allocated);

	/* the last reference goes, the pool is empty: it goes too */
	kmem_cache_destroy(s);
	CHECKF(e2e_wait_listed(d->sock, A_NAME, 0, 1000, NULL) == 0,
	       "%s still listed after its last reference went, empty", A_NAME);
	e2e_stop(d);
}

/* ---- (b) errors of kmem_cache_create and slub_attach ----------------------- */

static void ctor_fill(void *p)
{
	memset(p, 0xc7, 16);
}

/* a name as C source would write it, cut at 40 bytes */
static const char *shown(const char *name, char buf[200])
{
	size_t n = 0, len;

	if (!name)
		return "(null)";
	len = strlen(name);
	for (size_t i = 0; i < len && i < 40 && n < 190; i++) {
		unsigned char ch = (unsigned char)name[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '"')
			buf[n++] = (char)ch;
		else
			n += (size_t)snprintf(buf + n, 200 - n, "\\x%02x", ch);
	}
	if (len > 40)
		n += (size_t)snprintf(buf + n, 200 - n, "...(%zu bytes)", len);
	buf[n] = '\0';
	return buf;
}

static void expect_einval_etc(const char *name, size_t size, size_t align, unsigned long flags,
			      void (*ctor)(void *), int want, const char *what)
{
	struct kmem_cache *s;
	char buf[200];
	int e;

	errno = 0;
	s = kmem_cache_create(name, size, align, flags, ctor);
	e = errno;
	CHECKF(s == NULL && e == want,
	       "%s: kmem_cache_create(\"%s\", %zu, %zu, %#lx, %s) = %p, errno %d (%s); want NULL, %s",
	       what, shown(name, buf), size, align, flags, ctor ? "ctor" : "NULL", (void *)s, e,
	       strerror(e), strerror(want));
	if (s)
		kmem_cache_destroy(s);
}

static struct kmem_cache *expect_ok(const char *name, size_t size, size_t align, unsigned long flags,
				    void (*ctor)(void *), const char *what)
{
	struct kmem_cache *s;

	errno = 0;
	s = kmem_cache_create(name, size, align, flags, ctor);
	CHECKF(s != NULL, "%s: kmem_cache_create(\"%s\", %zu, %zu, %#lx) failed: %s", what, name, size,
	       align, flags, strerror(errno));
	return s;
}

/* create, allocate one object, write all of it, free, destroy */
static void expect_usable(const char *name, size_t size, size_t align, unsigned long flags,
			  const char *what)
{
	struct kmem_cache *s = expect_ok(name, size, align, flags, NULL, what);
	uint8_t *o;

	if (!s)
		return;
	CHECKF(kmem_cache_size(s) == size, "%s: kmem_cache_size %u", what, kmem_cache_size(s));
	o = kmem_cache_alloc(s, GFP_KERNEL);
	CHECKF(o != NULL, "%s: kmem_cache_alloc: %s", what, strerror(errno));
	if (o) {
		CHECKF(align < 2 || ((uintptr_t)o & (align - 1)) == 0, "%s: object %p not aligned to %zu",
		       what, (void *)o, align);
		memset(o, 0xa1, size);
		kmem_cache_free(s, o);
	}
	kmem_cache_destroy(s);
}

/* a raw Create on an attached connection; the response's err */
static int raw_create(struct ctl_conn *c, const char *name, uint64_t size, uint64_t align,
		      uint64_t flags, char *error, size_t errlen)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__CreateRequest cr = SLUBD__CREATE_REQUEST__INIT;
	Slubd__Response *resp;
	int err;

	cr.name = (char *)name;
	cr.size = size;
	cr.has_align = 1;
	cr.align = align;
	cr.has_flags = 1;
	cr.flags = flags;
	req.body_case = SLUBD__REQUEST__BODY_CREATE;
	req.create = &cr;
	resp = raw_call(c, &req, NULL);
	if (!resp)
		return -1;
	err = resp->err;
	snprintf(error, errlen, "%s", resp->error ? resp->error : "");
	if (!err)
		CHECKF(resp->body_case == SLUBD__RESPONSE__BODY_CREATE && resp->create->offset != 0,
		       "create %s: a success without an offset", name);
	slubd__response__free_unpacked(resp, NULL);
	return err;
}

E2E_CASE(create_errors)
{
	static const char *const bad_names[] = {
		"", "a b", "a/b", "a*b", "tab\there", "new\nline", "del\x7f", "caf\xc3\xa9", "a@b",
		"a+b", "a,b", "a;b", "a\"b", "a\\b", "a#b", "(x)", "a=b", "~home",
	};
	struct e2e_slubd *d = e2e_start(NULL);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct kmem_cache *s, *s2, *keep;
	struct e2e_cache kc = { .refcount = -1 };
	char path[200], name31[32], name32[33], error[256];
	struct ctl_conn c;
	int local = 0, rc, fd, afd = -1;

	REQUIRE(d != NULL);

	/* before slub_attach: not connected */
	errno = 0;
	s = kmem_cache_create("e2e.early", 64, 0, 0, NULL);
	CHECKF(s == NULL && errno == ENOTCONN, "kmem_cache_create before attach: %p errno %d (%s)",
	       (void *)s, errno, strerror(errno));
	errno = 0;
	CHECKF(kmalloc(32, GFP_KERNEL) == NULL && errno == ENOTCONN, "kmalloc before attach: errno %d",
	       errno);
	CHECK(slub_offset(&local) == 0);
	CHECK(slub_ptr(4096) == NULL);

	/* nobody there */
	snprintf(path, sizeof(path), "%s/nosuch.sock", d->dir);
	rc = slub_attach(path);
	CHECKF(rc == -ENOENT, "slub_attach(no such socket): %d (%s), want -ENOENT", rc, strerror(-rc));
	snprintf(path, sizeof(path), "%s/dead.sock", d->dir);
	REQUIRE(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);	/* bound, never listening */
	rc = slub_attach(sa.sun_path);
	CHECKF(rc == -ECONNREFUSED, "slub_attach(a socket nobody listens on): %d (%s), want -ECONNREFUSED",
	       rc, strerror(-rc));
	close(fd);
	errno = 0;
	CHECKF(kmem_cache_create("e2e.early", 64, 0, 0, NULL) == NULL && errno == ENOTCONN,
	       "kmem_cache_create after failed attaches: errno %d", errno);

	rc = slub_attach(d->sock);
	REQUIRE(rc == 0);
	rc = slub_attach(d->sock);
	CHECKF(rc == -EISCONN, "second slub_attach: %d (%s), want -EISCONN", rc, strerror(-rc));
	CHECK(slub_offset(&local) == 0);
	CHECK(slub_ptr(1ull << 50) == NULL);

	/* names */
	memset(name31, 'n', 31);
	name31[31] = '\0';
	memcpy(name31, "e2e.", 4);
	memset(name32, 'n', 32);
	name32[32] = '\0';
	expect_usable(name31, 64, 0, 0, "a 31-byte name");
	expect_einval_etc(name32, 64, 0, 0, NULL, EINVAL, "a 32-byte name");
	expect_usable("e2e.Az09_:-x", 64, 0, 0, "every kind of allowed byte");
	expect_usable("a", 8, 0, 0, "a 1-byte name");
	/* a refused create must not cost the process the pools it has open */
	keep = expect_ok("e2e.keep", 64, 0, 0, NULL, "a pool kept open");
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++)
		expect_einval_etc(bad_names[i], 64, 0, 0, NULL, EINVAL, "a name with a forbidden byte");
	expect_einval_etc(NULL, 64, 0, 0, NULL, EINVAL, "a NULL name");
	for (size_t n = 200; n <= 5000; n = n * 5 / 2) {	/* 200, 500, 1250, 3125 bytes */
		char *longname = malloc(n + 1);

		if (!longname)
			break;
		memset(longname, 'x', n);
		longname[n] = '\0';
		expect_einval_etc(longname, 64, 0, 0, NULL, EINVAL, "a long name");
		free(longname);
	}
	{
		char *huge = malloc(6001);	/* more than a request frame may hold */

		if (huge) {
			memset(huge, 'y', 6000);
			huge[6000] = '\0';
			expect_einval_etc(huge, 64, 0, 0, NULL, EINVAL, "a 6000-byte name");
			free(huge);
		}
	}
	if (keep) {
		CHECKF(e2e_wait_refcount(d->sock, "e2e.keep", 1, 200, &kc),
		       "an open pool lost its reference after refused creates: %s, refcount %d",
		       e2e_cache_stats(d->sock, "e2e.keep", NULL, NULL) == 1 ? "listed" : "gone",
		       kc.refcount);
		kmem_cache_destroy(keep);
	}

	/* sizes */
	expect_einval_etc("e2e.size0", 0, 0, 0, NULL, EINVAL, "size 0");
	expect_usable("e2e.size1", 1, 0, 0, "size 1");
	expect_usable("e2e.size1m", 1u << 20, 0, 0, "size 1 MiB");
	expect_einval_etc("e2e.size1m1", (1u << 20) + 1, 0, 0, NULL, EINVAL, "size 1 MiB + 1");
	expect_einval_etc("e2e.sizemax", SIZE_MAX, 0, 0, NULL, EINVAL, "size SIZE_MAX");
	expect_einval_etc("e2e.size4g", (1ull << 32) + 64, 0, 0, NULL, EINVAL, "size 4 GiB + 64");

	/* alignments */
	expect_usable("e2e.al0", 24, 0, 0, "align 0");
	expect_usable("e2e.al1", 24, 1, 0, "align 1");
	expect_usable("e2e.al64", 24, 64, 0, "align 64");
	expect_usable("e2e.al4096", 24, 4096, 0, "align 4096");
	expect_einval_etc("e2e.al3", 24, 3, 0, NULL, EINVAL, "align 3");
	expect_einval_etc("e2e.al24", 24, 24, 0, NULL, EINVAL, "align 24");
	expect_einval_etc("e2e.al8192", 24, 8192, 0, NULL, EINVAL, "align 8192");
	expect_einval_etc("e2e.al8g", 24, 1ull << 33, 0, NULL, EINVAL, "align 8 GiB");
	expect_einval_etc("e2e.almax", 24, SIZE_MAX, 0, NULL, EINVAL, "align SIZE_MAX");

	/* flags */
	expect_usable("e2e.flags", 100, 0,
		      SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_HWCACHE_ALIGN, "every flag");
	expect_einval_etc("e2e.fl1", 64, 0, 0x1, NULL, EINVAL, "flag 0x1");
	expect_einval_etc("e2e.fl2", 64, 0, SLAB_POISON | 0x40000000ul, NULL, EINVAL, "flag 0x40000000");
	expect_einval_etc("e2e.fl3", 64, 0, 1ul << 40, NULL, EINVAL, "flag 1 << 40");

	/* the same name with another geometry */
	s = expect_ok("e2e.geo", 64, 8, 0, NULL, "the first e2e.geo");
	if (s) {
		expect_einval_etc("e2e.geo", 65, 8, 0, NULL, EEXIST, "another size");
		expect_einval_etc("e2e.geo", 64, 16, 0, NULL, EEXIST, "another align");
		expect_einval_etc("e2e.geo", 64, 8, SLAB_POISON, NULL, EEXIST, "other flags");
		expect_einval_etc("e2e.geo", 64, 8, 0, ctor_fill, EEXIST, "a ctor where there was none");
		s2 = expect_ok("e2e.geo", 64, 8, 0, NULL, "the same geometry again");
		CHECKF(s2 == s, "the same pool opened twice: %p, then %p", (void *)s, (void *)s2);
		kmem_cache_destroy(s2);
		kmem_cache_destroy(s);
	}
	s = expect_ok("e2e.ctor", 64, 0, 0, ctor_fill, "a pool with a ctor");
	if (s) {
		uint8_t *o = kmem_cache_alloc(s, GFP_KERNEL);

		CHECKF(o && o[0] == 0xc7 && o[15] == 0xc7, "the ctor did not run on a new object");
		expect_einval_etc("e2e.ctor", 64, 0, 0, NULL, EEXIST, "no ctor where there was one");
		kmem_cache_free(s, o);
		kmem_cache_destroy(s);
	}

	/* slubd checks on its own what reaches it on the wire */
	if (e2e_ctl_connect(d->sock, &c, "e2e-raw") >= 0) {
		Slubd__Request req = SLUBD__REQUEST__INIT;
		Slubd__AttachRequest at = SLUBD__ATTACH_REQUEST__INIT;
		Slubd__Response *resp;
		static const struct { const char *name; uint64_t size, align, flags; } bad[] = {
			{ "bad name", 32, 0, 0 }, { "", 32, 0, 0 },
			{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 32, 0, 0 },
			{ "e2e.raw0", 0, 0, 0 }, { "e2e.rawbig", 2u << 20, 0, 0 },
			{ "e2e.rawhuge", 1ull << 40, 0, 0 }, { "e2e.rawal", 32, 3, 0 },
			{ "e2e.rawal2", 32, 1ull << 40, 0 }, { "e2e.rawfl", 32, 0, 1 },
			{ "e2e.rawfl2", 32, 0, 1ull << 63 },
		};

		req.body_case = SLUBD__REQUEST__BODY_ATTACH;
		req.attach = &at;
		resp = raw_call(&c, &req, &afd);
		if (resp) {
			CHECKF(resp->err == 0 && resp->body_case == SLUBD__RESPONSE__BODY_ATTACH,
			       "raw attach: err %d (%s)", resp->err, resp->error ? resp->error : "");
			CHECKF(afd >= 0, "raw attach: no arena descriptor came with the reply");
			if (resp->body_case == SLUBD__RESPONSE__BODY_ATTACH) {
				CHECKF(resp->attach->size == 64u << 20, "attach: size %llu",
				       (unsigned long long)resp->attach->size);
				CHECKF(e2e_backing_is_file(resp->attach->backing, d->arena),
				       "attach: backing %s", resp->attach->backing);
			}
			slubd__response__free_unpacked(resp, NULL);
		}
		if (afd >= 0)
			close(afd);
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			rc = raw_create(&c, bad[i].name, bad[i].size, bad[i].align, bad[i].flags, error,
					sizeof(error));
			CHECKF(rc == EINVAL && error[0], "raw create \"%s\" size %llu align %llu flags %#llx: "
			       "err %d (%s), want EINVAL with a reason", bad[i].name,
			       (unsigned long long)bad[i].size, (unsigned long long)bad[i].align,
			       (unsigned long long)bad[i].flags, rc, error);
		}
		rc = raw_create(&c, "e2e.raw", 32, 0, 0, error, sizeof(error));
		CHECKF(rc == 0, "raw create e2e.raw: err %d (%s)", rc, error);
		rc = raw_create(&c, "e2e.raw", 33, 0, 0, error, sizeof(error));
		CHECKF(rc == EEXIST && error[0], "raw create e2e.raw with another size: err %d (%s)", rc,
		       error);
		ctl_close(&c);
	}

	/* detached: not connected again, until the next attach */
	slub_detach();
	errno = 0;
	s = kmem_cache_create("e2e.late", 64, 0, 0, NULL);
	CHECKF(s == NULL && errno == ENOTCONN, "kmem_cache_create after slub_detach: %p errno %d (%s)",
	       (void *)s, errno, strerror(errno));
	errno = 0;
	CHECKF(kmalloc(32, GFP_KERNEL) == NULL && errno == ENOTCONN, "kmalloc after slub_detach: errno %d",
	       errno);
	CHECK(slub_ptr(4096) == NULL);
	rc = slub_attach(d->sock);
	CHECKF(rc == 0, "slub_attach after slub_detach: %d (%s)", rc, strerror(-rc));
	if (rc == 0)
		expect_usable("e2e.again", 64, 0, 0, "after attaching again");
	e2e_alive(d, "after the error cases");
	e2e_stop(d);
}

/* ---- (c) a uid the policy does not allow ------------------------------------ */

#define NOBODY	65534
#define C_GID	4242	/* in allow_gids */

struct c_arg {
	const char *sock;
	gid_t gid;
	int allowed;
};

static void c_child(void *p)
{
	struct c_arg *a = p;
	struct ctl_conn c;
	char err[256] = "";
	int rc;

	if (setgroups(0, NULL) || setgid(a->gid) || setuid(NOBODY)) {
		CHECKF(0, "dropping to uid %d gid %u: %s", NOBODY, (unsigned)a->gid, strerror(errno));
		return;
	}
	REQUIRE(getuid() == NOBODY && geteuid() == NOBODY && getegid() == a->gid);
	rc = slub_attach(a->sock);
	if (a->allowed) {
		struct kmem_cache *s;
		void *o;

		CHECKF(rc == 0, "uid %d gid %u (gid allowed): slub_attach: %d (%s)", NOBODY,
		       (unsigned)a->gid, rc, strerror(-rc));
		if (rc)
			return;
		s = kmem_cache_create("e2e.nobody", 64, 0, 0, NULL);
		CHECKF(s != NULL, "allowed gid: kmem_cache_create: %s", strerror(errno));
		o = s ? kmem_cache_alloc(s, GFP_KERNEL) : NULL;
		CHECK(o != NULL);
		if (o) {
			memset(o, 1, 64);
			kmem_cache_free(s, o);
		}
		return;
	}
	CHECKF(rc == -EACCES, "uid %d gid %u (not allowed): slub_attach: %d (%s), want -EACCES", NOBODY,
	       (unsigned)a->gid, rc, strerror(-rc));
	errno = 0;
	CHECKF(kmem_cache_create("e2e.nobody", 64, 0, 0, NULL) == NULL && errno == ENOTCONN,
	       "refused: kmem_cache_create errno %d (%s)", errno, strerror(errno));
	errno = 0;
	CHECKF(kmalloc(8, GFP_KERNEL) == NULL, "refused: kmalloc succeeded");

	/* on the wire: attach and create are answered EACCES, no descriptor passes */
	rc = ctl_connect(&c, a->sock, "e2e-nobody", err, sizeof(err));
	if (rc == -EACCES)
		return;		/* refused at hello already: as good */
	CHECKF(rc == 0, "refused uid: connect + hello: %s", err);
	if (rc)
		return;
	{
		Slubd__Request req = SLUBD__REQUEST__INIT;
		Slubd__AttachRequest at = SLUBD__ATTACH_REQUEST__INIT;
		Slubd__CreateRequest cr = SLUBD__CREATE_REQUEST__INIT;
		Slubd__Response *resp;
		int afd = -1;

		req.body_case = SLUBD__REQUEST__BODY_ATTACH;
		req.attach = &at;
		resp = raw_call(&c, &req, &afd);
		if (resp) {
			CHECKF(resp->err == EACCES && resp->body_case != SLUBD__RESPONSE__BODY_ATTACH,
			       "refused uid: attach answered err %d (%s), want EACCES", resp->err,
			       resp->error ? resp->error : "");
			slubd__response__free_unpacked(resp, NULL);
		}
		CHECKF(afd < 0, "refused uid: the arena's descriptor was passed anyway");
		if (afd >= 0)
			close(afd);
		if (c.fd < 0)
			return;
		cr.name = "e2e.nobody2";
		cr.size = 64;
		req.body_case = SLUBD__REQUEST__BODY_CREATE;
		req.create = &cr;
		resp = raw_call(&c, &req, NULL);
		if (resp) {
			CHECKF(resp->err == EACCES, "refused uid: create answered err %d (%s), want EACCES",
			       resp->err, resp->error ? resp->error : "");
			slubd__response__free_unpacked(resp, NULL);
		}
		ctl_close(&c);
	}
}

E2E_CASE(access_refused)
{
	static char why[128];
	struct e2e_opts o = {
		.config = "[access]\nsocket_mode = 0666\nallow_uids = 0\nallow_gids = 4242\n",
		.open_dir = 1,
	};
	struct c_arg refused, allowed;
	struct e2e_slubd *d;
	struct stat sb;

	if (geteuid() != 0) {
		snprintf(why, sizeof(why), "needs root to run a client as uid %d (running as uid %u)",
			 NOBODY, (unsigned)geteuid());
		SKIP(why);
	}
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	CHECKF(stat(d->sock, &sb) == 0 && (sb.st_mode & 0777) == 0666,
	       "socket mode %04o, want 0666 from socket_mode", (unsigned)(sb.st_mode & 0777));
	refused = (struct c_arg){ d->sock, NOBODY, 0 };
	allowed = (struct c_arg){ d->sock, C_GID, 1 };
	t_wait(t_fork(c_child, &refused), "a client of uid 65534 gid 65534");
	e2e_alive(d, "after a refused client");
	t_wait(t_fork(c_child, &allowed), "a client of uid 65534 gid 4242");
	CHECKF(e2e_wait_listed(d->sock, "e2e.nobody2", 0, 0, NULL) == 0,
	       "a refused client's raw create made a pool");
	probe(d, "after the access checks");
	e2e_stop(d);
}

/* ---- (d) fork without attaching again -------------------------------------- */

#define D_OBJS	100
#define D_SIZE	128
#define D_MAGIC	0xf0f0cafeu

struct d_box {			/* in the arena, kzalloc'ed by the parent */
	uint32_t magic;
	uint32_t done;		/* the child finished */
	uint64_t objs[D_OBJS];	/* the child's objects of e2e.fork, as pointers */
	uint64_t f2_obj;	/* an object of e2e.fork2 (made by the child), as an offset */
	uint64_t f2_cache;	/* that pool's offset, as the child saw it */
	uint64_t kobj, klen;	/* a kmalloc'ed buffer of the child */
	uint64_t gc_objs[8];	/* the grandchild's objects of e2e.fork */
};

struct d_arg {
	const char *sock;
	struct kmem_cache *s;
	struct d_box *box;
	uint8_t *pobj;		/* an object of the parent */
};

static void d_grandchild(void *p)
{
	struct d_arg *a = p;
	struct kmem_cache *g;

	for (int i = 0; i < 8; i++) {
		uint8_t *o = kmem_cache_alloc(a->s, GFP_KERNEL);

		CHECKF(o != NULL, "grandchild: kmem_cache_alloc: %s", strerror(errno));
		if (!o)
			return;
		memset(o, 0x90 + i, D_SIZE);
		a->box->gc_objs[i] = (uint64_t)(uintptr_t)o;
	}
	g = kmem_cache_create("e2e.gc", 32, 0, 0, NULL);
	CHECKF(g != NULL, "grandchild: kmem_cache_create: %s", strerror(errno));
}

static void d_child(void *p)
{
	struct d_arg *a = p;
	struct d_box *box = a->box;
	struct kmem_cache *s2, *f2;
	uint8_t *o, *k;
	int rc;

	/* nothing called yet: the pool works as it did in the parent */
	CHECKF(box->magic == D_MAGIC, "child: the parent's box reads %#x", box->magic);
	for (int j = 0; j < D_SIZE; j++)
		if (a->pobj[j] != (uint8_t)(0x30 + j)) {
			CHECKF(0, "child: the parent's object differs at byte %d", j);
			break;
		}
	kmem_cache_free(a->s, a->pobj);
	for (int i = 0; i < D_OBJS; i++) {
		o = kmem_cache_alloc(a->s, GFP_KERNEL);
		CHECKF(o != NULL, "child: kmem_cache_alloc: %s", strerror(errno));
		if (!o)
			return;
		memset(o, 0xc0 + (i & 15), D_SIZE);
		box->objs[i] = (uint64_t)(uintptr_t)o;
	}
	for (int i = 0; i < 300; i++) {		/* churn */
		void *t = kmem_cache_alloc(a->s, GFP_KERNEL);

		CHECK(t != NULL);
		kmem_cache_free(a->s, t);
	}
	rc = slub_attach(a->sock);
	CHECKF(rc == -EISCONN, "child: slub_attach: %d (%s), want -EISCONN: the child is attached",
	       rc, strerror(-rc));

	/* control calls: the child's own connection, made on demand */
	s2 = kmem_cache_create("e2e.fork", D_SIZE, 0, 0, NULL);
	CHECKF(s2 == a->s, "child: kmem_cache_create(e2e.fork) = %p (errno %s), the parent's pool is %p",
	       (void *)s2, strerror(errno), (void *)a->s);
	f2 = kmem_cache_create("e2e.fork2", 64, 0, 0, NULL);
	CHECKF(f2 != NULL, "child: kmem_cache_create(e2e.fork2): %s", strerror(errno));
	if (f2) {
		o = kmem_cache_alloc(f2, GFP_KERNEL);
		CHECK(o != NULL);
		if (o) {
			memset(o, 0x77, 64);
			box->f2_obj = slub_offset(o);
		}
		box->f2_cache = slub_offset(f2);
	}
	k = kmalloc(3000, GFP_KERNEL);
	CHECKF(k != NULL, "child: kmalloc: %s", strerror(errno));
	if (k) {
		for (int j = 0; j < 3000; j++)
			k[j] = (uint8_t)(j * 7);
		box->kobj = slub_offset(k);
		box->klen = 3000;
	}
	/* control calls at the same time as the parent's */
	for (int i = 0; i < 20; i++) {
		char name[32];
		struct kmem_cache *t;

		snprintf(name, sizeof(name), "e2e.dc.%d", i);
		t = kmem_cache_create(name, 16 + (size_t)i * 8, 0, 0, NULL);
		CHECKF(t && kmem_cache_size(t) == 16 + (unsigned)i * 8, "child: create %s: %p (%s)", name,
		       (void *)t, strerror(errno));
		if (t && i % 2)
			kmem_cache_destroy(t);
	}
	/* and one generation further */
	t_wait(t_fork(d_grandchild, a), "grandchild");
	__atomic_store_n(&box->done, 1, __ATOMIC_RELEASE);
}

E2E_CASE(fork_child)
{
	struct e2e_slubd *d = e2e_start(NULL);
	struct kmem_cache *s, *f2, *after;
	struct d_box *box;
	struct d_arg a;
	struct e2e_cache c = { .refcount = -1 };
	struct e2e_validate v;
	uint8_t *k;
	pid_t pid;
	int rc;

	REQUIRE(d != NULL);
	rc = slub_attach(d->sock);
	REQUIRE(rc == 0);
	s = kmem_cache_create("e2e.fork", D_SIZE, 0, 0, NULL);
	REQUIRE(s != NULL);
	box = kzalloc(sizeof(*box), GFP_KERNEL);
	REQUIRE(box != NULL);
	box->magic = D_MAGIC;
	a = (struct d_arg){ d->sock, s, box, kmem_cache_alloc(s, GFP_KERNEL) };
	REQUIRE(a.pobj != NULL);
	for (int j = 0; j < D_SIZE; j++)
		a.pobj[j] = (uint8_t)(0x30 + j);

	pid = t_fork(d_child, &a);
	/* the parent's own control calls, while the child makes its own */
	for (int i = 0; i < 20; i++) {
		char name[32];
		struct kmem_cache *t;

		snprintf(name, sizeof(name), "e2e.dp.%d", i);
		t = kmem_cache_create(name, 24 + (size_t)i * 8, 0, 0, NULL);
		CHECKF(t && kmem_cache_size(t) == 24 + (unsigned)i * 8, "parent: create %s: %p (%s)",
		       name, (void *)t, strerror(errno));
		if (t)
			kmem_cache_destroy(t);
	}
	REQUIRE(t_wait(pid, "the forked child"));
	REQUIRE(__atomic_load_n(&box->done, __ATOMIC_ACQUIRE) == 1);

	/* what the child left in the arena */
	for (int i = 0; i < D_OBJS; i++) {
		uint8_t *o = (uint8_t *)(uintptr_t)box->objs[i];

		REQUIRE(o && slub_offset(o));
		CHECKF(o[0] == (uint8_t)(0xc0 + (i & 15)) && o[D_SIZE - 1] == (uint8_t)(0xc0 + (i & 15)),
		       "the child's object %d reads %#x", i, o[0]);
		kmem_cache_free(s, o);
	}
	for (int i = 0; i < 8; i++) {
		uint8_t *o = (uint8_t *)(uintptr_t)box->gc_objs[i];

		REQUIRE(o && slub_offset(o));
		CHECKF(o[0] == 0x90 + i && o[D_SIZE - 1] == 0x90 + i, "the grandchild's object %d reads %#x",
		       i, o[0]);
		kmem_cache_free(s, o);
	}
	k = slub_ptr(box->kobj);
	REQUIRE(k != NULL);
	CHECKF(ksize(k) >= box->klen, "ksize of the child's buffer: %zu", ksize(k));
	for (int j = 0; j < 3000; j++)
		if (k[j] != (uint8_t)(j * 7)) {
			CHECKF(0, "the child's kmalloc buffer differs at %d", j);
			break;
		}
	kfree(k);
	/* the child's pool, opened here: the same pool; its object freed here */
	f2 = kmem_cache_create("e2e.fork2", 64, 0, 0, NULL);
	REQUIRE(f2 != NULL);
	CHECKF(slub_offset(f2) == box->f2_cache, "e2e.fork2 is at %#llx here, %#llx in the child",
	       (unsigned long long)slub_offset(f2), (unsigned long long)box->f2_cache);
	{
		uint8_t *o = slub_ptr(box->f2_obj);

		REQUIRE(o != NULL);
		CHECKF(o[0] == 0x77 && o[63] == 0x77, "the child's e2e.fork2 object reads %#x", o[0]);
		kmem_cache_free(f2, o);
	}

	/* the parent's connection is still its own */
	after = kmem_cache_create("e2e.after", 40, 0, 0, NULL);
	CHECKF(after != NULL, "parent: kmem_cache_create after the child: %s", strerror(errno));
	kfree(box);

	REQUIRE(e2e_cache_stats(d->sock, "e2e.fork", &c, NULL) == 1);
	CHECKF(c.active_objs == 0, "e2e.fork: active_objs %llu after everything was freed",
	       (unsigned long long)c.active_objs);
	CHECKF(e2e_wait_refcount(d->sock, "e2e.fork", 1, 3000, &c),
	       "e2e.fork: refcount %d once the child is gone, want 1 (the parent's)", c.refcount);
	REQUIRE(e2e_validate(d->sock, "e2e.fork", &v) == 0);
	CHECKF(v.err == 0 && v.errors == 0 && v.allocated == 0, "validate e2e.fork: err %d errors %llu "
	       "allocated %llu (%s)", v.err, (unsigned long long)v.errors,
	       (unsigned long long)v.allocated, v.first_error);
	/* the child's references went with it; the parent's go now */
	CHECKF(e2e_wait_listed(d->sock, "e2e.dc.0", 0, 3000, NULL) == 0,
	       "e2e.dc.0 (empty, the child's) still listed after the child exited");
	CHECKF(e2e_wait_listed(d->sock, "e2e.gc", 0, 3000, NULL) == 0,
	       "e2e.gc (empty, the grandchild's) still listed after it exited");
	CHECKF(e2e_wait_listed(d->sock, "e2e.dp.0", 0, 0, NULL) == 0, "e2e.dp.0 still listed");
	kmem_cache_destroy(f2);
	kmem_cache_destroy(s);
	kmem_cache_destroy(after);
	CHECKF(e2e_wait_listed(d->sock, "e2e.fork", 0, 1000, NULL) == 0, "e2e.fork still listed");
	CHECKF(e2e_wait_listed(d->sock, "e2e.fork2", 0, 1000, NULL) == 0, "e2e.fork2 still listed");
	CHECKF(e2e_wait_listed(d->sock, "e2e.after", 0, 1000, NULL) == 0, "e2e.after still listed");
	REQUIRE(e2e_validate(d->sock, NULL, &v) == 0);
	CHECKF(v.err == 0 && v.errors == 0, "validate: err %d errors %llu (%s)", v.err,
	       (unsigned long long)v.errors, v.first_error);
	e2e_stop(d);
}

/* ---- (e) garbage on the control socket ------------------------------------------ */

static void send_random(const char *sock, uint64_t seed, size_t n)
{
	uint8_t *buf = malloc(n);
	int fd = e2e_raw_connect(sock);

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return;
	}
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)t_rand(&seed);
	(void)e2e_send(fd, buf, n);	/* slubd may cut us off halfway: fine */
	close(fd);
	free(buf);
}

/* a frame with a body of random bytes that is no Request: slubd must close */
static void send_random_frame(const char *sock, uint64_t seed, uint32_t len, int hello_first)
{
	uint8_t *buf = malloc(4 + len);
	char err[160], what[96];
	int fd = e2e_raw_connect(sock);

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return;
	}
	buf[0] = (uint8_t)(len >> 24);
	buf[1] = (uint8_t)(len >> 16);
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	for (uint32_t i = 0; i < len; i++)
		buf[4 + i] = (uint8_t)t_rand(&seed);
	buf[4] = 0xff;		/* field 31, wire type 7: no protobuf message starts so */
	{
		Slubd__Request *r = request_decode(buf + 4, len, err, sizeof(err));

		CHECKF(r == NULL, "the random frame (seed %llu) decodes as a request",
		       (unsigned long long)seed);
		if (r)
			slubd__request__free_unpacked(r, NULL);
	}
	if (hello_first) {
		Slubd__Request req;
		Slubd__Hello h;
		Slubd__Response *resp;

		e2e_hello_req(&req, &h, 1, SLUBD_PROTOCOL_VERSION);
		CHECK(e2e_send_req(fd, &req) == 0);
		if (e2e_recv(fd, 5000, &resp, NULL) == 1) {
			CHECKF(resp->err == 0, "hello: err %d", resp->err);
			slubd__response__free_unpacked(resp, NULL);
		} else {
			CHECKF(0, "no answer to a hello");
		}
	}
	(void)e2e_send(fd, buf, 4 + len);
	snprintf(what, sizeof(what), "a %u-byte frame of random bytes (seed %llu)%s", len,
		 (unsigned long long)seed, hello_first ? " after a hello" : "");
	e2e_expect_closed(fd, 5000, what);
	close(fd);
	free(buf);
}

static void send_header(const char *sock, uint32_t len, size_t body, const char *what)
{
	uint8_t hdr[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len };
	int fd = e2e_raw_connect(sock);

	if (fd < 0)
		return;
	(void)e2e_send(fd, hdr, 4);
	if (body) {
		uint8_t *b = calloc(1, body);

		if (b)
			(void)e2e_send(fd, b, body);
		free(b);
	}
	e2e_expect_closed(fd, 5000, what);
	close(fd);
}

static int packed_frame(Slubd__Request *req, uint8_t **buf, size_t *len)
{
	int rc = frame_pack(&req->base, buf, len);

	CHECKF(rc == 0, "frame_pack: %d", rc);
	return rc;
}

E2E_CASE(garbage)
{
	struct e2e_slubd *d = e2e_start(NULL);
	Slubd__Request req;
	Slubd__Hello h;
	Slubd__StatsRequest sr = SLUBD__STATS_REQUEST__INIT;
	Slubd__ValidateRequest vr = SLUBD__VALIDATE_REQUEST__INIT;
	Slubd__Response *resp;
	struct ctl_conn *many;
	uint8_t *buf;
	size_t len;
	int fd, slow, rc;

	REQUIRE(d != NULL);
	probe(d, "before anything");

	/* random bytes, then gone */
	for (uint64_t seed = 1; seed <= 6; seed++)
		send_random(d->sock, seed, 16 + (size_t)(seed * 997) % 6000);
	probe(d, "after connections that sent random bytes");

	/* frames of random bytes: closed, with at most an error reply */
	for (uint64_t seed = 10; seed < 14; seed++)
		send_random_frame(d->sock, seed, 8 + (uint32_t)(seed * 331) % 4000, seed & 1);
	probe(d, "after frames of random bytes");

	/* frame headers out of bounds */
	send_header(d->sock, 1u << 30, 0, "a header announcing 1 GiB");
	send_header(d->sock, 0xffffffffu, 0, "a header announcing 4 GiB - 1");
	send_header(d->sock, SLUBD_MAX_REQUEST + 1, SLUBD_MAX_REQUEST + 1, "a frame of MAX_REQUEST + 1");
	send_header(d->sock, 0, 0, "an empty frame");
	probe(d, "after headers out of bounds");

	/* truncated frames, then close */
	e2e_hello_req(&req, &h, 1, SLUBD_PROTOCOL_VERSION);
	REQUIRE(packed_frame(&req, &buf, &len) == 0);
	for (size_t cut = 1; cut < len; cut += 3) {
		fd = e2e_raw_connect(d->sock);
		if (fd < 0)
			break;
		(void)e2e_send(fd, buf, cut);
		close(fd);
	}
	fd = e2e_raw_connect(d->sock);		/* a header promising 100 bytes, 50 sent */
	if (fd >= 0) {
		uint8_t part[54] = { 0, 0, 0, 100 };

		(void)e2e_send(fd, part, sizeof(part));
		close(fd);
	}
	/* one that stays half-sent for the rest of the case: must not hold up others */
	slow = e2e_raw_connect(d->sock);
	if (slow >= 0)
		(void)e2e_send(slow, buf, 2);
	probe(d, "after truncated frames, with a half-sent one still open");

	/* a hello one byte at a time is read whole */
	fd = e2e_raw_connect(d->sock);
	if (fd >= 0) {
		for (size_t i = 0; i < len; i++) {
			(void)e2e_send(fd, buf + i, 1);
			t_sleep_ms(1);
		}
		rc = e2e_recv(fd, 5000, &resp, NULL);
		CHECKF(rc == 1, "a hello sent byte by byte: no answer (%d)", rc);
		if (rc == 1) {
			CHECKF(resp->err == 0 && resp->id == 1 && resp->body_case == SLUBD__RESPONSE__BODY_HELLO &&
			       resp->hello->version == SLUBD_PROTOCOL_VERSION,
			       "a hello sent byte by byte: err %d id %u body %d", resp->err, resp->id,
			       (int)resp->body_case);
			slubd__response__free_unpacked(resp, NULL);
		}
		close(fd);
	}
	free(buf);

	/* pipelined: hello, stats and validate in one write, three answers */
	fd = e2e_raw_connect(d->sock);
	if (fd >= 0) {
		uint8_t *f1, *f2, *f3, *all;
		size_t l1, l2, l3;
		unsigned int seen = 0;

		e2e_hello_req(&req, &h, 1, SLUBD_PROTOCOL_VERSION);
		REQUIRE(packed_frame(&req, &f1, &l1) == 0);
		slubd__request__init(&req);
		req.id = 2;
		req.body_case = SLUBD__REQUEST__BODY_STATS;
		req.stats = &sr;
		REQUIRE(packed_frame(&req, &f2, &l2) == 0);
		req.id = 3;
		req.body_case = SLUBD__REQUEST__BODY_VALIDATE;
		req.validate = &vr;
		REQUIRE(packed_frame(&req, &f3, &l3) == 0);
		all = malloc(l1 + l2 + l3);
		REQUIRE(all != NULL);
		memcpy(all, f1, l1);
		memcpy(all + l1, f2, l2);
		memcpy(all + l1 + l2, f3, l3);
		CHECK(e2e_send(fd, all, l1 + l2 + l3) == 0);
		for (int i = 0; i < 3; i++) {
			rc = e2e_recv(fd, 5000, &resp, NULL);
			CHECKF(rc == 1, "pipelined requests: answer %d of 3 missing (%d)", i + 1, rc);
			if (rc != 1)
				break;
			CHECKF(resp->err == 0 && resp->id >= 1 && resp->id <= 3,
			       "pipelined requests: answer id %u err %d (%s)", resp->id, resp->err,
			       resp->error ? resp->error : "");
			if (resp->id >= 1 && resp->id <= 3)
				seen |= 1u << resp->id;
			slubd__response__free_unpacked(resp, NULL);
		}
		CHECKF(seen == 0xe, "pipelined requests: answered ids mask %#x, want 1, 2, 3", seen);
		free(f1);
		free(f2);
		free(f3);
		free(all);
		close(fd);
	}

	/* a wrong protocol version: EPROTO naming both versions, then closed */
	fd = e2e_raw_connect(d->sock);
	if (fd >= 0) {
		e2e_hello_req(&req, &h, 7, 777);
		CHECK(e2e_send_req(fd, &req) == 0);
		rc = e2e_recv(fd, 5000, &resp, NULL);
		CHECKF(rc == 1, "a hello of version 777: no answer (%d)", rc);
		if (rc == 1) {
			const char *e = resp->error ? resp->error : "";

			CHECKF(resp->err == EPROTO, "a hello of version 777: err %d (%s), want EPROTO",
			       resp->err, e);
			CHECKF(resp->id == 7, "a hello of version 777: answer id %u", resp->id);
			CHECKF(names_number(e, 777) && names_number(e, SLUBD_PROTOCOL_VERSION),
			       "the refusal does not name both versions (777 and %u): \"%s\"",
			       SLUBD_PROTOCOL_VERSION, e);
			slubd__response__free_unpacked(resp, NULL);
		}
		e2e_expect_closed(fd, 5000, "after a refused protocol version");
		close(fd);
	}

	/* the first request is not a hello */
	fd = e2e_raw_connect(d->sock);
	if (fd >= 0) {
		Slubd__AttachRequest at = SLUBD__ATTACH_REQUEST__INIT;
		int afd = -1;

		slubd__request__init(&req);
		req.id = 1;
		req.body_case = SLUBD__REQUEST__BODY_ATTACH;
		req.attach = &at;
		CHECK(e2e_send_req(fd, &req) == 0);
		rc = e2e_recv(fd, 5000, &resp, &afd);
		CHECKF(rc == 0 || rc == 1, "an attach before hello: neither answered nor closed (%d)", rc);
		if (rc == 1) {
			CHECKF(resp->err != 0 && resp->body_case != SLUBD__RESPONSE__BODY_ATTACH,
			       "an attach before hello was served");
			slubd__response__free_unpacked(resp, NULL);
		}
		CHECKF(afd < 0, "an attach before hello got the arena's descriptor");
		if (afd >= 0)
			close(afd);
		close(fd);
	}

	/* a request of no known type: refused (or closed), never served */
	fd = e2e_raw_connect(d->sock);
	if (fd >= 0) {
		e2e_hello_req(&req, &h, 1, SLUBD_PROTOCOL_VERSION);
		CHECK(e2e_send_req(fd, &req) == 0);
		rc = e2e_recv(fd, 5000, &resp, NULL);
		CHECKF(rc == 1 && resp->err == 0, "hello: %d", rc);
		if (rc == 1)
			slubd__response__free_unpacked(resp, NULL);
		slubd__request__init(&req);
		req.id = 2;		/* no body set */
		CHECK(e2e_send_req(fd, &req) == 0);
		rc = e2e_recv(fd, 5000, &resp, NULL);
		CHECKF(rc == 0 || rc == 1, "a request with no body: neither answered nor closed (%d)", rc);
		if (rc == 1) {
			CHECKF(resp->err != 0, "a request with no body answered with success");
			slubd__response__free_unpacked(resp, NULL);
		}
		close(fd);
	}
	fd = e2e_raw_connect(d->sock);		/* after hello, a body of an unknown field only */
	if (fd >= 0) {
		uint8_t g[] = { 0, 0, 0, 5, 0x08, 0x02, 0xa0, 0x01, 0x05 };	/* id = 2; field 20 = 5 */

		e2e_hello_req(&req, &h, 1, SLUBD_PROTOCOL_VERSION);
		CHECK(e2e_send_req(fd, &req) == 0);
		rc = e2e_recv(fd, 5000, &resp, NULL);
		CHECKF(rc == 1 && resp->err == 0, "hello: %d", rc);
		if (rc == 1)
			slubd__response__free_unpacked(resp, NULL);
		(void)e2e_send(fd, g, sizeof(g));
		rc = e2e_recv(fd, 5000, &resp, NULL);
		CHECKF(rc == 0 || rc == 1, "a request of an unknown type: neither answered nor closed (%d)",
		       rc);
		if (rc == 1) {
			CHECKF(resp->err != 0, "a request of an unknown type answered with success");
			slubd__response__free_unpacked(resp, NULL);
		}
		close(fd);
	}
	probe(d, "after protocol errors");

	/* a client that asks and never reads */
	fd = e2e_raw_connect(d->sock);
	if (fd >= 0) {
		e2e_hello_req(&req, &h, 1, SLUBD_PROTOCOL_VERSION);
		CHECK(e2e_send_req(fd, &req) == 0);
		slubd__request__init(&req);
		req.body_case = SLUBD__REQUEST__BODY_STATS;
		req.stats = &sr;
		for (uint32_t i = 0; i < 200; i++) {
			req.id = 2 + i;
			if (e2e_send_req(fd, &req))
				break;
		}
		close(fd);
	}
	probe(d, "after a client that never read its answers");

	/* 100 connections at once, each served */
	many = calloc(100, sizeof(*many));
	REQUIRE(many != NULL);
	for (int i = 0; i < 100; i++) {
		char err[256] = "";

		rc = ctl_connect(&many[i], d->sock, "e2e-many", err, sizeof(err));
		CHECKF(rc == 0, "connection %d of 100: %s", i, err);
		if (rc)
			many[i].fd = -1;
	}
	for (int i = 0; i < 100; i++) {
		if (many[i].fd < 0)
			continue;
		slubd__request__init(&req);
		req.body_case = SLUBD__REQUEST__BODY_STATS;
		req.stats = &sr;
		resp = raw_call(&many[i], &req, NULL);
		if (resp) {
			CHECKF(resp->err == 0 && resp->body_case == SLUBD__RESPONSE__BODY_STATS,
			       "stats on connection %d: err %d", i, resp->err);
			if (i == 99 && resp->body_case == SLUBD__RESPONSE__BODY_STATS)
				/* the 99 others at least: the asking connection is not counted */
				CHECKF(!resp->stats->has_clients || resp->stats->clients >= 99,
				       "stats: %u clients with 100 connected", resp->stats->clients);
			slubd__response__free_unpacked(resp, NULL);
		}
	}
	{
		pid_t kids[16];

		for (int i = 0; i < 16; i++)
			kids[i] = t_fork(probe_child, d->sock);
		for (int i = 0; i < 16; i++)
			t_wait(kids[i], "one of 16 clients attaching at once, beside 100 connections");
	}
	for (int i = 0; i < 100; i++)
		ctl_close(&many[i]);
	free(many);
	if (slow >= 0)
		close(slow);
	probe(d, "after 100 connections");
	e2e_stop(d);
}

/* ---- (f) kmem_cache_destroy and pool lifetime ---------------------------------------- */

struct f_arg {
	const char *sock;
	int cmd[2], ack[2];	/* parent -> child, child -> parent */
	int mode;		/* 0: open e2e.f.two and wait; 1: detach test */
};

static void f_child(void *p)
{
	struct f_arg *a = p;
	char ch = 0;
	int rc;

	close(a->cmd[1]);
	close(a->ack[0]);
	/* attached already, by inheritance: the first create makes this process's own connection */
	rc = slub_attach(a->sock);
	CHECKF(rc == -EISCONN, "f child: slub_attach: %d, want -EISCONN (inherited)", rc);
	if (a->mode == 0) {
		CHECK(kmem_cache_create("e2e.f.two", 72, 0, 0, NULL) != NULL);
	} else {
		struct kmem_cache *e = kmem_cache_create("e2e.f.det1", 40, 0, 0, NULL);
		struct kmem_cache *h = kmem_cache_create("e2e.f.det2", 40, 0, 0, NULL);

		CHECK(e && h);
		if (h) {
			CHECK(kmem_cache_alloc(h, GFP_KERNEL) != NULL);
			CHECK(kmem_cache_alloc(h, GFP_KERNEL) != NULL);
		}
		CHECK(write_exact(a->ack[1], "o", 1) == 0);	/* opened */
		CHECK(read_exact(a->cmd[0], &ch, 1) == 0);
		slub_detach();					/* drop the references, stay alive */
	}
	CHECK(write_exact(a->ack[1], "r", 1) == 0);
	CHECK(read_exact(a->cmd[0], &ch, 1) == 0);		/* until told to exit */
}

E2E_CASE(destroy_lifetime)
{
	struct e2e_slubd *d = e2e_start(NULL);
	struct kmem_cache *s, *s2;
	struct e2e_cache c = { .refcount = -1 };
	struct f_arg fa;
	uint64_t off[7], cache_off;
	pid_t pid;
	char ch;
	int rc;

	REQUIRE(d != NULL);
	REQUIRE(slub_attach(d->sock) == 0);

	/* empty, one reference: destroy removes it, and the name is free again */
	s = kmem_cache_create("e2e.f.empty", 64, 0, 0, NULL);
	REQUIRE(s != NULL);
	CHECKF(e2e_cache_stats(d->sock, "e2e.f.empty", &c, NULL) == 1 && c.refcount == 1 &&
	       c.active_objs == 0, "a new pool: listed with refcount %d active_objs %llu", c.refcount,
	       (unsigned long long)c.active_objs);
	kmem_cache_destroy(s);
	CHECKF(e2e_wait_listed(d->sock, "e2e.f.empty", 0, 1000, NULL) == 0,
	       "an empty pool still listed after its only reference was destroyed");
	s = kmem_cache_create("e2e.f.empty", 128, 0, 0, NULL);
	CHECKF(s != NULL, "the name of a removed pool with another geometry: %s", strerror(errno));
	if (s)
		kmem_cache_destroy(s);

	/* holding objects: destroy leaves it, unreferenced, listed with its objects */
	s = kmem_cache_create("e2e.f.held", 96, 0, 0, NULL);
	REQUIRE(s != NULL);
	cache_off = slub_offset(s);
	for (int i = 0; i < 7; i++) {
		void *o = kmem_cache_alloc(s, GFP_KERNEL);

		REQUIRE(o != NULL);
		memset(o, i, 96);
		off[i] = slub_offset(o);
	}
	kmem_cache_destroy(s);
	rc = e2e_cache_stats(d->sock, "e2e.f.held", &c, NULL);
	CHECKF(rc == 1, "a destroyed pool that holds 7 objects is not listed");
	if (rc == 1)
		CHECKF(c.active_objs == 7 && c.refcount == 0, "a destroyed pool holding 7 objects: "
		       "active_objs %llu refcount %d", (unsigned long long)c.active_objs, c.refcount);
	/* opened again, emptied, destroyed: gone */
	s2 = kmem_cache_create("e2e.f.held", 96, 0, 0, NULL);
	REQUIRE(s2 != NULL);
	CHECKF(slub_offset(s2) == cache_off, "reopened at %#llx, was %#llx",
	       (unsigned long long)slub_offset(s2), (unsigned long long)cache_off);
	CHECKF(e2e_cache_stats(d->sock, "e2e.f.held", &c, NULL) == 1 && c.refcount == 1 &&
	       c.active_objs == 7, "reopened: refcount %d active_objs %llu", c.refcount,
	       (unsigned long long)c.active_objs);
	for (int i = 0; i < 7; i++) {
		uint8_t *o = slub_ptr(off[i]);

		REQUIRE(o != NULL);
		CHECKF(o[0] == i && o[95] == i, "object %d of the destroyed pool changed", i);
		kmem_cache_free(s2, o);
	}
	kmem_cache_destroy(s2);
	CHECKF(e2e_wait_listed(d->sock, "e2e.f.held", 0, 1000, NULL) == 0,
	       "a pool still listed once emptied and its last reference destroyed");

	/* two processes: it stays until both let go; exiting lets go */
	fa.sock = d->sock;
	fa.mode = 0;
	REQUIRE(pipe(fa.cmd) == 0 && pipe(fa.ack) == 0);
	pid = t_fork(f_child, &fa);
	close(fa.cmd[0]);
	close(fa.ack[1]);
	REQUIRE(read_exact(fa.ack[0], &ch, 1) == 0);
	s = kmem_cache_create("e2e.f.two", 72, 0, 0, NULL);
	REQUIRE(s != NULL);
	CHECKF(e2e_cache_stats(d->sock, "e2e.f.two", &c, NULL) == 1 && c.refcount == 2,
	       "two processes opened e2e.f.two: refcount %d", c.refcount);
	kmem_cache_destroy(s);
	CHECKF(e2e_cache_stats(d->sock, "e2e.f.two", &c, NULL) == 1 && c.refcount == 1,
	       "one of two let go: e2e.f.two listed with refcount %d, want 1", c.refcount);
	CHECK(write_exact(fa.cmd[1], "x", 1) == 0);
	t_wait(pid, "the other process of e2e.f.two");
	CHECKF(e2e_wait_listed(d->sock, "e2e.f.two", 0, 3000, NULL) == 0,
	       "e2e.f.two still listed 3 s after its last holder exited");
	close(fa.cmd[1]);
	close(fa.ack[0]);

	/* slub_detach drops a live process's references */
	fa.mode = 1;
	REQUIRE(pipe(fa.cmd) == 0 && pipe(fa.ack) == 0);
	pid = t_fork(f_child, &fa);
	close(fa.cmd[0]);
	close(fa.ack[1]);
	REQUIRE(read_exact(fa.ack[0], &ch, 1) == 0);
	CHECKF(e2e_cache_stats(d->sock, "e2e.f.det1", &c, NULL) == 1 && c.refcount == 1,
	       "e2e.f.det1 opened: refcount %d", c.refcount);
	CHECK(write_exact(fa.cmd[1], "d", 1) == 0);
	REQUIRE(read_exact(fa.ack[0], &ch, 1) == 0);	/* detached, still alive */
	CHECKF(e2e_wait_listed(d->sock, "e2e.f.det1", 0, 3000, NULL) == 0,
	       "an empty pool still listed after its only holder called slub_detach");
	CHECKF(e2e_wait_refcount(d->sock, "e2e.f.det2", 0, 3000, &c) && c.active_objs == 2,
	       "a pool holding 2 objects after slub_detach: refcount %d active_objs %llu", c.refcount,
	       (unsigned long long)c.active_objs);
	CHECK(write_exact(fa.cmd[1], "x", 1) == 0);
	t_wait(pid, "the process that detached");
	close(fa.cmd[1]);
	close(fa.ack[0]);

	/* this process can detach and attach again too */
	slub_detach();
	REQUIRE(slub_attach(d->sock) == 0);
	s = kmem_cache_create("e2e.f.last", 32, 0, 0, NULL);
	CHECK(s != NULL);
	CHECKF(e2e_wait_refcount(d->sock, "e2e.f.last", 1, 1000, &c), "e2e.f.last: refcount %d",
	       c.refcount);
	e2e_alive(d, "after the destroy cases");
	e2e_stop(d);	/* attached, holding a pool: slubd still exits 0 */
}

/* ---- validate sees corruption ---------------------------------------------------------- */

E2E_CASE(validate_corrupt)
{
	struct e2e_slubd *d = e2e_start(NULL);
	struct kmem_cache *p, *clean;
	struct e2e_validate v;
	uint8_t *keep, *freed;
	char *out = NULL;
	int rc;

	REQUIRE(d != NULL);
	REQUIRE(slub_attach(d->sock) == 0);
	clean = kmem_cache_create("e2e.clean", 64, 0, 0, NULL);
	p = kmem_cache_create("e2e.poison", 64, 0, SLAB_POISON, NULL);
	REQUIRE(clean && p);
	CHECK(kmem_cache_alloc(clean, GFP_KERNEL) != NULL);
	keep = kmem_cache_alloc(p, GFP_KERNEL);
	freed = kmem_cache_alloc(p, GFP_KERNEL);
	REQUIRE(keep && freed);
	kmem_cache_free(p, freed);

	rc = e2e_slubctl(d, &out, "validate", NULL);
	CHECKF(rc == 0, "slubctl validate before any corruption: exit %d:\n%s", rc, out ? out : "");
	free(out);

	freed[10] = 0;		/* a write after free */
	REQUIRE(e2e_validate(d->sock, "e2e.poison", &v) == 0);
	CHECKF(v.errors > 0 && v.first_error[0], "validate e2e.poison after a write after free: "
	       "err %d, %llu errors", v.err, (unsigned long long)v.errors);
	rc = e2e_slubctl(d, &out, "validate", "e2e.poison", NULL);
	CHECKF(rc == 1, "slubctl validate e2e.poison after a write after free: exit %d, want 1:\n%s",
	       rc, out ? out : "");
	free(out);
	rc = e2e_slubctl(d, &out, "validate", NULL);
	CHECKF(rc == 1, "slubctl validate (all) after a write after free: exit %d, want 1:\n%s", rc,
	       out ? out : "");
	free(out);
	rc = e2e_slubctl(d, &out, "validate", "e2e.clean", NULL);
	CHECKF(rc == 0, "slubctl validate e2e.clean (untouched): exit %d:\n%s", rc, out ? out : "");
	free(out);
	REQUIRE(e2e_validate(d->sock, "e2e.clean", &v) == 0);
	CHECKF(v.err == 0 && v.errors == 0 && v.allocated == 1, "validate e2e.clean: err %d errors %llu "
	       "allocated %llu", v.err, (unsigned long long)v.errors, (unsigned long long)v.allocated);

	/* double frees that slub.h says are caught: reported, counted, ignored */
	{
		struct kmem_cache *rz = kmem_cache_create("e2e.df.rz", 64, 0, SLAB_RED_ZONE, NULL);
		struct kmem_cache *pl = kmem_cache_create("e2e.df.plain", 64, 0, 0, NULL);
		struct e2e_cache c = { .errors = 0 };
		void *a, *b, *x, *y;

		REQUIRE(rz && pl);
		a = kmem_cache_alloc(rz, GFP_KERNEL);
		b = kmem_cache_alloc(rz, GFP_KERNEL);
		REQUIRE(a && b);
		kmem_cache_free(rz, a);
		kmem_cache_free(rz, b);
		kmem_cache_free(rz, a);		/* a is not at the head: caught in a debug pool */
		x = kmem_cache_alloc(rz, GFP_KERNEL);
		y = kmem_cache_alloc(rz, GFP_KERNEL);
		CHECKF(x && y && x != y, "after an ignored double free: the same object twice (%p, %p)", x, y);
		CHECKF(e2e_cache_stats(d->sock, "e2e.df.rz", &c, NULL) == 1 && c.errors >= 1,
		       "e2e.df.rz: %llu errors counted after a double free", (unsigned long long)c.errors);
		CHECKF(c.active_objs == 2, "e2e.df.rz: active_objs %llu, want 2", (unsigned long long)c.active_objs);
		REQUIRE(e2e_validate(d->sock, "e2e.df.rz", &v) == 0);
		CHECKF(v.errors == 0 && v.allocated == 2, "validate e2e.df.rz after an ignored double free: "
		       "%llu errors (%s), allocated %llu", (unsigned long long)v.errors, v.first_error,
		       (unsigned long long)v.allocated);

		a = kmem_cache_alloc(pl, GFP_KERNEL);
		REQUIRE(a != NULL);
		kmem_cache_free(pl, a);
		kmem_cache_free(pl, a);		/* at the head of the freelist: caught anywhere */
		x = kmem_cache_alloc(pl, GFP_KERNEL);
		y = kmem_cache_alloc(pl, GFP_KERNEL);
		CHECKF(x && y && x != y, "plain pool, after an ignored double free: the same object twice "
		       "(%p, %p)", x, y);
		CHECKF(e2e_cache_stats(d->sock, "e2e.df.plain", &c, NULL) == 1 && c.errors >= 1,
		       "e2e.df.plain: %llu errors counted after a double free", (unsigned long long)c.errors);
		kmem_cache_free(pl, &c);	/* not an object of the arena at all */
		kmem_cache_free(pl, keep);	/* an object of another pool */
		REQUIRE(e2e_cache_stats(d->sock, "e2e.df.plain", &c, NULL) == 1);
		CHECKF(c.active_objs == 2, "e2e.df.plain: active_objs %llu after bad frees, want 2",
		       (unsigned long long)c.active_objs);
		REQUIRE(e2e_validate(d->sock, "e2e.df.plain", &v) == 0);
		CHECKF(v.errors == 0 && v.allocated == 2, "validate e2e.df.plain: %llu errors (%s), "
		       "allocated %llu", (unsigned long long)v.errors, v.first_error,
		       (unsigned long long)v.allocated);
		REQUIRE(e2e_cache_stats(d->sock, "e2e.poison", &c, NULL) == 1);
		CHECKF(c.active_objs == 1, "e2e.poison: active_objs %llu after a wrong-cache free, want 1",
		       (unsigned long long)c.active_objs);
	}
	e2e_alive(d, "after validating a corrupt pool");
	e2e_stop(d);
}

/* ---- limits of the config file ---------------------------------------------------------- */

E2E_CASE(config_limits)
{
	struct e2e_opts o = { .config = "[limits]\nmax_clients = 4\nmax_refs = 3\n" };
	struct e2e_slubd *d = e2e_start(&o);
	struct ctl_conn c[4];
	struct kmem_cache *s[4];
	char err[256];
	int n = 0, rc;

	REQUIRE(d != NULL);
	/* max_refs: a fourth distinct pool on one connection is refused */
	REQUIRE(slub_attach(d->sock) == 0);
	for (int i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "e2e.ref%d", i);
		errno = 0;
		s[i] = kmem_cache_create(name, 32, 0, 0, NULL);
		if (i < 3)
			CHECKF(s[i] != NULL, "pool %d of max_refs 3: %s", i + 1, strerror(errno));
		else
			CHECKF(s[i] == NULL && errno != 0, "a 4th pool with max_refs = 3 was created");
	}
	CHECKF(e2e_wait_listed(d->sock, "e2e.ref3", 0, 0, NULL) == 0,
	       "the refused 4th pool is listed");
	if (s[0]) {
		kmem_cache_destroy(s[0]);
		s[3] = kmem_cache_create("e2e.ref3", 32, 0, 0, NULL);
		CHECKF(s[3] != NULL, "a pool once a reference was dropped: %s", strerror(errno));
	}
	slub_detach();

	/* max_clients: four at once (retrying while closed ones are still counted) */
	for (int i = 0; i < 4; i++) {
		uint64_t deadline = t_now_ms() + 3000;

		while ((rc = ctl_connect(&c[i], d->sock, "e2e-limit", err, sizeof(err))) != 0 &&
		       t_now_ms() < deadline)
			t_sleep_ms(10);
		CHECKF(rc == 0, "connection %d of max_clients 4: %s", i + 1, err);
		n += rc == 0;
	}
	if (n == 4) {	/* a fifth is turned away */
		struct ctl_conn x;

		rc = ctl_connect(&x, d->sock, "e2e-limit", err, sizeof(err));
		CHECKF(rc != 0, "a 5th connection with max_clients = 4 was served");
		if (rc == 0)
			ctl_close(&x);
	}
	for (int i = 0; i < 4; i++)
		if (i < n)
			ctl_close(&c[i]);
	/* then there is room again */
	{
		uint64_t deadline = t_now_ms() + 3000;
		struct ctl_conn x;

		while ((rc = ctl_connect(&x, d->sock, "e2e-limit", err, sizeof(err))) != 0 &&
		       t_now_ms() < deadline)
			t_sleep_ms(10);
		CHECKF(rc == 0, "no room 3 s after the 4 connections closed: %s", err);
		if (rc == 0)
			ctl_close(&x);
		t_sleep_ms(50);
	}
	probe(d, "once the connections closed");
	e2e_stop(d);
}

E2E_CASE(config_file)
{
	struct e2e_opts o = { .config = "; comment\n[arena]\nsize = 32M\nhugepages = off\n"
					"[access]\nsocket_mode = 0600\nallow_uids = 1000, 1001 1002\n"
					"allow_gids = 100,200\n",
			      .arena_size = "" };
	struct e2e_opts o2 = { .config = "[arena]\nsize = 32M\n" };	/* and --arena-size 64M */
	struct e2e_slubd *d = e2e_start(&o);
	struct e2e_arena ar = { .size = 0 };
	struct stat sb;

	REQUIRE(d != NULL);
	REQUIRE(e2e_cache_stats(d->sock, "none", NULL, &ar) == 0);
	CHECKF(ar.size == 32u << 20, "[arena] size = 32M: an arena of %llu bytes", (unsigned long long)ar.size);
	CHECKF(stat(d->sock, &sb) == 0 && (sb.st_mode & 0777) == 0600, "socket_mode = 0600: mode %04o",
	       (unsigned)(sb.st_mode & 0777));
	probe(d, "with a config file");
	e2e_stop(d);
	d = e2e_start(&o2);
	REQUIRE(d != NULL);
	REQUIRE(e2e_cache_stats(d->sock, "none", NULL, &ar) == 0);
	CHECKF(ar.size == 64u << 20, "--arena-size 64M over [arena] size = 32M: an arena of %llu bytes",
	       (unsigned long long)ar.size);
	e2e_stop(d);
}

E2E_CASE(config_max_caches)
{
	struct e2e_opts o = { .config = "[limits]\nmax_caches = 5\n" };
	struct e2e_slubd *d = e2e_start(&o);
	int made = 0;

	REQUIRE(d != NULL);
	REQUIRE(slub_attach(d->sock) == 0);
	for (int i = 0; i < 10; i++) {
		char name[16];

		snprintf(name, sizeof(name), "e2e.mc%d", i);
		made += kmem_cache_create(name, 32 + (size_t)i, 0, 0, NULL) != NULL;
	}
	CHECKF(made >= 1 && made <= 5, "max_caches = 5: %d of 10 pools were made", made);
	errno = 0;
	CHECK(kmem_cache_create("e2e.mc.more", 40, 0, 0, NULL) == NULL && errno == ENOSPC);
	/* leaving drops this process's references: its empty pools go, room again */
	slub_detach();
	probe(d, "with max_caches");
	e2e_stop(d);
}

/* ---- constructors: each process's own, on the slabs it makes ---------------- */

#define CT_SIZE 96

static void ctor_a(void *p)
{
	memset(p, 0xa1, CT_SIZE);
}

/* a second process with its own (equivalent) ctor: makes slabs of its own */
static void ctor_child(void *arg)
{
	const char *sock = arg;
	struct kmem_cache *s;
	uint8_t *o[400];
	int bad = 0;

	/* attach on its own: let go of the inherited mapping (the parent keeps its own) */
	slub_detach();
	REQUIRE(slub_attach(sock) == 0);
	s = kmem_cache_create("e2e.ctor2", CT_SIZE, 0, 0, ctor_a);
	REQUIRE(s != NULL);
	/* more objects than the parent left free: some slabs are made here */
	for (int i = 0; i < 400; i++) {
		o[i] = kmem_cache_alloc(s, GFP_KERNEL);
		REQUIRE(o[i] != NULL);
		for (int j = 0; j < CT_SIZE; j++)
			bad += o[i][j] != 0xa1;
	}
	CHECKF(bad == 0, "child: %d bytes of constructed objects were not the ctor's", bad);
	for (int i = 0; i < 400; i++)
		kmem_cache_free(s, o[i]);
	kmem_cache_destroy(s);
	slub_detach();
}

E2E_CASE(ctor_per_process)
{
	struct e2e_slubd *d = e2e_start(NULL);
	struct kmem_cache *s;
	uint8_t *o[100];
	int bad = 0;

	REQUIRE(d != NULL);
	REQUIRE(slub_attach(d->sock) == 0);
	s = kmem_cache_create("e2e.ctor2", CT_SIZE, 0, 0, ctor_a);
	REQUIRE(s != NULL);
	for (int i = 0; i < 100; i++) {
		o[i] = kmem_cache_alloc(s, GFP_KERNEL);
		REQUIRE(o[i] != NULL);
		for (int j = 0; j < CT_SIZE; j++)
			bad += o[i][j] != 0xa1;
	}
	CHECKF(bad == 0, "parent: %d bytes of constructed objects were not the ctor's", bad);
	/* without a ctor, the same name is another geometry */
	errno = 0;
	CHECK(kmem_cache_create("e2e.ctor2", CT_SIZE, 0, 0, NULL) == NULL && errno == EEXIST);
	REQUIRE(t_wait(t_fork(ctor_child, (void *)d->sock), "the ctor child"));
	for (int i = 0; i < 100; i++)
		kmem_cache_free(s, o[i]);
	kmem_cache_destroy(s);
	slub_detach();
	e2e_stop(d);
}

/* ---- slubd's command line ------------------------------------------------------------------ */

E2E_CASE(command_line)
{
	const char *bin = e2e_need_bin("SLUBD", "slubd");
	struct e2e_slubd *d;
	char *out = NULL, sock2[200], conf[220];
	int rc;

	REQUIRE(access(bin, X_OK) == 0);
	{
		char *argv[] = { (char *)bin, "--help", NULL };

		rc = e2e_run(argv, &out, 5000);
		CHECKF(rc == 0 && out && strstr(out, "--socket") && strstr(out, "--arena-size"),
		       "slubd --help: exit %d:\n%s", rc, out ? out : "");
		free(out);
	}
	d = e2e_start(NULL);
	REQUIRE(d != NULL);
	snprintf(sock2, sizeof(sock2), "%s/other.sock", d->dir);
	{
		char *argv[] = { (char *)bin, "--foreground", "--socket", sock2, "--arena-size", "lots",
				 "--hugepages", "off", NULL };

		rc = e2e_run(argv, &out, 5000);
		CHECKF(rc > 0, "slubd --arena-size lots: exit %d:\n%s", rc, out ? out : "");
		free(out);
	}
	{
		char *argv[] = { (char *)bin, "--foreground", "--socket", sock2, "--hugepages", "maybe",
				 NULL };

		rc = e2e_run(argv, &out, 5000);
		CHECKF(rc > 0, "slubd --hugepages maybe: exit %d:\n%s", rc, out ? out : "");
		free(out);
	}
	{
		char *argv[] = { (char *)bin, "--foreground", "--no-such-option", NULL };

		rc = e2e_run(argv, &out, 5000);
		CHECKF(rc > 0, "slubd --no-such-option: exit %d:\n%s", rc, out ? out : "");
		free(out);
	}
	snprintf(conf, sizeof(conf), "%s/bad.conf", d->dir);
	{
		FILE *f = fopen(conf, "w");
		char *argv[] = { (char *)bin, "--foreground", "--socket", sock2, "--arena-size", "16M",
				 "--hugepages", "off", "--config", conf, NULL };

		REQUIRE(f != NULL);
		fputs("[limits]\nmax_clients = many\n", f);
		fclose(f);
		rc = e2e_run(argv, &out, 5000);
		CHECKF(rc > 0, "slubd with max_clients = many: exit %d:\n%s", rc, out ? out : "");
		free(out);
	}
	/* a second slubd on a socket that is served already: it must not take it */
	{
		char *argv[] = { (char *)bin, "--foreground", "--socket", d->sock, "--arena-size", "16M",
				 "--hugepages", "off", NULL };

		rc = e2e_run(argv, &out, 8000);
		CHECKF(rc > 0, "a second slubd on a busy socket: exit %d:\n%s", rc, out ? out : "");
		free(out);
	}
	probe(d, "after a second slubd tried its socket");
	e2e_stop(d);
}

/* does slubd's log say needle? */
static int log_says(const struct e2e_slubd *d, const char *needle)
{
	FILE *f = fopen(d->log, "r");
	char line[512];
	int found = 0;

	while (f && !found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	if (f)
		fclose(f);
	return found;
}

/* a forked child that never connects allocates from a SLAB_RECLAIM_DEAD pool and dies */
static pid_t scrub_victim(struct kmem_cache *s, int n)
{
	int pfd[2];
	char c = 0;
	pid_t pid;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		for (int i = 0; i < n; i++)
			if (!kmem_cache_alloc(s, GFP_KERNEL))
				_exit(2);
		if (write(pfd[1], "x", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	close(pfd[1]);
	if (pid < 0 || read(pfd[0], &c, 1) != 1)
		pid = -1;
	close(pfd[0]);
	return pid;
}

/*
 * [limits] scrub_interval: slubd scrubs on its own every so often, so that a
 * process without a connection of its own (a client's forked child) is
 * noticed once it dies, while its parent stays attached; with 0 only a
 * connection's close scrubs.
 */
E2E_CASE(scrub_interval)
{
	for (int interval = 1; interval >= 0; interval--) {
		struct e2e_opts o = { .config = interval ? "[limits]\nscrub_interval = 1\n"
							 : "[limits]\nscrub_interval = 0\n" };
		struct e2e_slubd *d = e2e_start(&o);
		struct e2e_cache c = { .active_objs = ~0ULL };
		struct kmem_cache *s;
		char want[64];
		uint64_t t0;
		pid_t pid;
		int st = 0;

		REQUIRE(d != NULL);
		REQUIRE(slub_attach(d->sock) == 0);
		s = kmem_cache_create("e2e.scrub", 48, 0, SLAB_RECLAIM_DEAD, NULL);
		REQUIRE(s != NULL);
		pid = scrub_victim(s, 300);
		REQUIRE(pid > 0);
		CHECK(e2e_cache_stats(d->sock, "e2e.scrub", &c, NULL) == 1 && c.active_objs == 300);
		/* that connection's close scrubs 200 ms later: let it pass first */
		t_sleep_ms(e2e_scale_ms(1000));
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		snprintf(want, sizeof(want), "pid %d died holding 300 objects: freed", (int)pid);
		t0 = t_now_ms();
		/*
		 * the parent stays attached and nothing else connects (a stats
		 * connection's close would scrub): only slubd's log is watched
		 */
		while (!log_says(d, want) &&
		       t_now_ms() - t0 < (uint64_t)e2e_scale_ms(interval ? 5000 : 3000))
			t_sleep_ms(20);
		if (interval) {
			uint64_t ms = t_now_ms() - t0;

			CHECKF(log_says(d, want), "scrub_interval = 1: no scrub found the dead child "
			       "within %llu ms (log: \"%s\")", (unsigned long long)ms, want);
			CHECK(e2e_cache_stats(d->sock, "e2e.scrub", &c, NULL) == 1 && c.active_objs == 0);
			printf("  scrub_interval = 1: the dead child's 300 objects freed %llu ms after "
			       "its death, its parent still attached\n", (unsigned long long)ms);
		} else {
			CHECKF(!log_says(d, want), "scrub_interval = 0: a scrub ran with no connection "
			       "closed");
			/* the parent's connection closes: that scrub finds the child */
			slub_detach();
			t0 = t_now_ms();
			while (!log_says(d, want) && t_now_ms() - t0 < (uint64_t)e2e_scale_ms(5000))
				t_sleep_ms(50);
			CHECKF(log_says(d, want), "scrub_interval = 0: no scrub after the client left");
			REQUIRE(slub_attach(d->sock) == 0);
			CHECK(e2e_cache_stats(d->sock, "e2e.scrub", &c, NULL) == 1 && c.active_objs == 0);
		}
		slub_detach();
		e2e_stop(d);
	}
}

T_MAIN(T_CASE(shared_pool), T_CASE(create_errors), T_CASE(access_refused), T_CASE(fork_child),
       T_CASE(garbage), T_CASE(destroy_lifetime), T_CASE(validate_corrupt), T_CASE(config_limits),
       T_CASE(config_file), T_CASE(config_max_caches), T_CASE(command_line),
       T_CASE(ctor_per_process), T_CASE(scrub_interval))
