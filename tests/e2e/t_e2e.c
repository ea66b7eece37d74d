/*
 * t_e2e.c - end-to-end tests of pools that processes share: a real slubd,
 * real client processes linking libslub, stats, validate and slubctl.
 *
 * Every case starts its own slubd (64 MiB arena, no huge pages) on a socket
 * in a private directory, runs in a forked child of its own (a fresh,
 * never-attached library) under a timeout, and ends by checking that slubd
 * is still alive and exits 0 on SIGTERM.  See e2e.h.
 *
 *   shared_pool          processes share a pool, hand objects to each other by
 *                        pointer and by offset, free each other's objects;
 *                        stats, validate and slubctl agree with what they did
 *   fork_child           a forked child uses the pools without re-attaching;
 *                        its control calls reconnect on their own
 *   destroy_lifetime     pool lifetime: references, objects, detach, exit
 *   ctor_per_process     constructors: each process's own, on the slabs it makes
 *
 * t_e2e_refuse.c has what slubd and libslub refuse, t_e2e_daemon.c slubd's
 * configuration, command line, validate and scrubber.
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

/* ---- pipes between the processes ---------------------------------------- */

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

T_MAIN(T_CASE(shared_pool), T_CASE(fork_child), T_CASE(destroy_lifetime),
       T_CASE(ctor_per_process))
