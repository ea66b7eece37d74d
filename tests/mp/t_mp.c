/*
 * t_mp.c - multi-process stress of the SLUB engine over one shared arena.
 *
 * The parent makes an arena, three caches and an MPMC ring of object offsets
 * inside the arena, then forks N children.  Each child does M random
 * operations: it allocates (from a test cache, kmalloc of 1..9000 bytes, which
 * includes kmalloc_large, kzalloc, bulk alloc), fills every object with a
 * pattern derived from (pid, sequence, size), and then keeps the object, frees
 * it, or hands it to another process through the ring; it pops objects pushed
 * by others, checks their pattern and frees them (a remote free); it frees
 * objects it kept, alone or in bulk.  At the end every child frees what it
 * holds and the parent drains the ring.
 *
 * An "ownership" byte map, one byte per 8 arena bytes, shared by every
 * process and outside the arena, proves that no object is handed out twice:
 * after each allocation the owner flips byte(object) 0 -> 1 with a CAS (a
 * failure means another process holds the same object) and flips it back
 * before each free.
 *
 * Then: no double hand-out, no pattern mismatch, no engine report, every
 * child exited 0, slab_validate() clean with every test cache empty and every
 * other cache back to the count it had before the children ran,
 * buddy_check() clean, and both fast and slow paths taken in each test cache.
 *
 * Size: T_MP_CHILDREN (4), T_MP_OPS (200000 per child), T_MP_SEED, or the
 * same as --children=N --ops=M --seed=S before the case names.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "tlib.h"
#include "shm.h"

#define NR_TEST_CACHES	3
#define KIND_KMALLOC	NR_TEST_CACHES	/* ring/held "kind": 0..2 a test cache, 3 kmalloc */
#define HELD_MAX	128		/* objects a child keeps locally */
#define RING_SLOTS	256		/* power of two */
#define BULK_MAX	16
#define KMALLOC_MAX_TEST 9000		/* above KMALLOC_MAX_CACHE_SIZE: kmalloc_large */

static unsigned int opt_children = 4;
static unsigned long opt_ops = 200000;
static uint64_t opt_seed;

/* ---- shared (MAP_SHARED, made before fork) counters ---------------------- */

struct mp_shared {
	uint64_t double_handout;	/* CAS 0->1 on the ownership byte failed */
	uint64_t bad_free;		/* CAS 1->0 before a free failed */
	uint64_t mismatch;		/* pattern differs from what its writer wrote */
	uint64_t not_zero;		/* kzalloc returned a non-zero byte */
	uint64_t bad_pointer;		/* allocation outside the arena, or misaligned */
	uint64_t small_ksize;		/* ksize() below the requested size */
	uint64_t enomem;		/* allocation failed */
	uint64_t reports;		/* engine reports seen by report_fn */
	uint64_t handed;		/* objects pushed on the ring */
	uint64_t received;		/* objects popped from the ring */
	uint64_t ops_done;
	struct t_problems problems;	/* every problem counted above, with the first sentences */
};

static struct mp_shared *sh;
static uint8_t *own;			/* ownership map: one byte per 8 arena bytes */
static struct arena *ar;
static struct kmem_cache *tcache[NR_TEST_CACHES];
static unsigned int tsize[NR_TEST_CACHES];

static void problem(uint64_t *counter, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(uint64_t *counter, const char *fmt, ...)
{
	char line[T_PROBLEM_LEN];
	va_list ap;

	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	t_problem(&sh->problems, "%s", line);
}

static void report_fn(const struct slab_report *r, void *arg)
{
	(void)arg;
	problem(&sh->reports, "pid %u: engine report %s in %s at 0x%llx: %s", r->pid,
		slab_error_name((enum slab_error)r->kind), r->cache_name,
		(unsigned long long)r->object, r->detail);
}

/* ---- randomness and patterns -------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd_below(uint64_t n)
{
	return t_rand(&rng_state) % n;
}

/* word i of the pattern of an object identified by tag = pid<<32 | seq */
static uint64_t pattern_word(uint64_t tag, size_t size, size_t i)
{
	return t_splitmix64(tag ^ ((uint64_t)size << 44) ^ (i * 0x100000001b3ULL));
}

static void fill(void *p, size_t size, uint64_t tag)
{
	uint8_t *b = p;
	size_t words = size / 8, i;

	for (i = 0; i < words; i++) {
		uint64_t w = pattern_word(tag, size, i);
		memcpy(b + 8 * i, &w, 8);
	}
	if (size % 8) {
		uint64_t w = pattern_word(tag, size, i);
		memcpy(b + 8 * i, &w, size % 8);
	}
}

static bool verify(const void *p, size_t size, uint64_t tag)
{
	const uint8_t *b = p;
	size_t words = size / 8, i;

	for (i = 0; i < words; i++) {
		uint64_t w = pattern_word(tag, size, i), got;
		memcpy(&got, b + 8 * i, 8);
		if (got != w)
			return false;
	}
	if (size % 8) {
		uint64_t w = pattern_word(tag, size, i);
		return !memcmp(b + 8 * i, &w, size % 8);
	}
	return true;
}

/* ---- an object in flight: where it lives and what was written ----------- */

struct obj {
	uint64_t off;		/* arena offset */
	uint32_t kind;		/* 0..2: test cache; KIND_KMALLOC */
	uint32_t size;		/* bytes written (the cache's object size, or kmalloc's) */
	uint64_t tag;		/* pid << 32 | sequence */
};

/* ---- the ring: Vyukov's bounded MPMC queue, in the arena ------------------
 * Each slot carries a sequence number: slot i is free for the producer at
 * position pos when seq == pos, and full for the consumer at pos when
 * seq == pos + 1.  A producer claims pos by CAS on head, writes the payload,
 * then publishes with a release store of seq; a consumer claims by CAS on
 * tail, reads, then frees the slot for position pos + RING_SLOTS.
 */
struct ring_slot {
	uint64_t seq;
	struct obj o;
};

struct ring {
	uint64_t head __attribute__((aligned(64)));
	uint64_t tail __attribute__((aligned(64)));
	struct ring_slot slot[RING_SLOTS] __attribute__((aligned(64)));
};

static struct ring *ring;

static void ring_init(struct ring *r)
{
	r->head = r->tail = 0;
	for (uint64_t i = 0; i < RING_SLOTS; i++)
		r->slot[i].seq = i;
}

static bool ring_push(struct ring *r, const struct obj *o)
{
	uint64_t pos = __atomic_load_n(&r->head, __ATOMIC_RELAXED);

	for (;;) {
		struct ring_slot *sl = &r->slot[pos & (RING_SLOTS - 1)];
		uint64_t seq = __atomic_load_n(&sl->seq, __ATOMIC_ACQUIRE);
		int64_t dif = (int64_t)(seq - pos);

		if (dif == 0) {
			if (__atomic_compare_exchange_n(&r->head, &pos, pos + 1, false,
							__ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
				sl->o = *o;
				__atomic_store_n(&sl->seq, pos + 1, __ATOMIC_RELEASE);
				return true;
			}
		} else if (dif < 0) {
			return false;	/* full */
		} else {
			pos = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
		}
	}
}

static bool ring_pop(struct ring *r, struct obj *o)
{
	uint64_t pos = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);

	for (;;) {
		struct ring_slot *sl = &r->slot[pos & (RING_SLOTS - 1)];
		uint64_t seq = __atomic_load_n(&sl->seq, __ATOMIC_ACQUIRE);
		int64_t dif = (int64_t)(seq - (pos + 1));

		if (dif == 0) {
			if (__atomic_compare_exchange_n(&r->tail, &pos, pos + 1, false,
							__ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
				*o = sl->o;
				__atomic_store_n(&sl->seq, pos + RING_SLOTS, __ATOMIC_RELEASE);
				return true;
			}
		} else if (dif < 0) {
			return false;	/* empty */
		} else {
			pos = __atomic_load_n(&r->tail, __ATOMIC_RELAXED);
		}
	}
}

/* ---- alloc / check / free with the ownership map ------------------------- */

static uint32_t seq_no;
static uint32_t my_pid;

/* an allocation happened: claim it in the ownership map, fill it */
static bool took(void *p, uint32_t kind, uint32_t size, struct obj *o)
{
	aoff_t off = arena_offset(ar, p);

	if (!off || (off & 7)) {
		problem(&sh->bad_pointer, "pid %u: allocation %p (kind %u size %u) outside the arena or misaligned",
			my_pid, p, kind, size);
		return false;
	}
	uint8_t zero = 0;
	if (!__atomic_compare_exchange_n(&own[off >> 3], &zero, 1, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		problem(&sh->double_handout, "pid %u: object at 0x%llx (kind %u size %u) handed out twice",
			my_pid, (unsigned long long)off, kind, size);
	if (kind == KIND_KMALLOC && slab_ksize(ar, p) < size)
		problem(&sh->small_ksize, "pid %u: ksize(0x%llx) = %zu < %u", my_pid,
			(unsigned long long)off, slab_ksize(ar, p), size);
	o->off = off;
	o->kind = kind;
	o->size = size;
	o->tag = (uint64_t)my_pid << 32 | ++seq_no;
	fill(p, size, o->tag);
	return true;
}

static void check_content(const struct obj *o, const char *where)
{
	void *p = arena_ptr(ar, o->off);

	if (!verify(p, o->size, o->tag))
		problem(&sh->mismatch, "pid %u: %s object 0x%llx (kind %u size %u) written by pid %u seq %u changed",
			my_pid, where, (unsigned long long)o->off, o->kind, o->size,
			(unsigned)(o->tag >> 32), (unsigned)o->tag);
}

/* release ownership before the free; true if the object may be freed */
static bool give_up(const struct obj *o)
{
	uint8_t one = 1;

	if (!__atomic_compare_exchange_n(&own[o->off >> 3], &one, 0, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
		problem(&sh->bad_free, "pid %u: freeing 0x%llx (kind %u) whose ownership byte is %u",
			my_pid, (unsigned long long)o->off, o->kind, one);
		return false;
	}
	return true;
}

static void release(const struct obj *o)
{
	if (!give_up(o))
		return;
	void *p = arena_ptr(ar, o->off);
	if (o->kind == KIND_KMALLOC)
		slab_kfree(ar, p);
	else
		slab_free(ar, tcache[o->kind], p);
}

static bool alloc_one(struct obj *o)
{
	uint32_t kind = (uint32_t)rnd_below(NR_TEST_CACHES + 1);
	uint32_t size;
	void *p;
	bool zero = false;

	if (kind == KIND_KMALLOC) {
		size = 1 + (uint32_t)rnd_below(KMALLOC_MAX_TEST);
		zero = rnd_below(8) == 0;
		p = zero ? slab_kzalloc(ar, size, GFP_KERNEL) : slab_kmalloc(ar, size, GFP_KERNEL);
	} else {
		size = tsize[kind];
		zero = rnd_below(8) == 0;
		p = slab_alloc(ar, tcache[kind], zero ? __GFP_ZERO : GFP_KERNEL);
	}
	if (!p) {
		problem(&sh->enomem, "pid %u: allocation of kind %u size %u failed: errno %d",
			my_pid, kind, size, errno);
		return false;
	}
	if (zero) {
		const uint8_t *b = p;
		for (uint32_t i = 0; i < size; i++) {
			if (b[i]) {
				problem(&sh->not_zero, "pid %u: kzalloc(%u) at %p: byte %u is 0x%02x",
					my_pid, size, p, i, b[i]);
				break;
			}
		}
	}
	return took(p, kind, size, o);
}

/* ---- a child ------------------------------------------------------------- */

static struct obj held[HELD_MAX];
static unsigned int nheld;

static void drop_held(unsigned int i)
{
	check_content(&held[i], "kept");
	release(&held[i]);
	held[i] = held[--nheld];
}

/* keep, hand over or free a fresh object */
static void dispose(const struct obj *o)
{
	unsigned int how = (unsigned int)rnd_below(3);

	if (how == 0) {
		if (nheld == HELD_MAX)
			drop_held((unsigned int)rnd_below(nheld));
		held[nheld++] = *o;
		return;
	}
	if (how == 1 && ring_push(ring, o)) {
		__atomic_fetch_add(&sh->handed, 1, __ATOMIC_RELAXED);
		return;
	}
	check_content(o, "fresh");	/* how == 2, or the ring is full */
	release(o);
}

static void free_bulk_held(void)
{
	unsigned int kind = (unsigned int)rnd_below(NR_TEST_CACHES);
	void *p[BULK_MAX];
	size_t n = 0;

	for (unsigned int i = 0; i < nheld && n < BULK_MAX;) {
		if (held[i].kind != kind) {
			i++;
			continue;
		}
		check_content(&held[i], "kept");
		if (give_up(&held[i]))
			p[n++] = arena_ptr(ar, held[i].off);
		held[i] = held[--nheld];
	}
	if (n)
		slab_free_bulk(ar, tcache[kind], n, p);
}

static void alloc_bulk(void)
{
	unsigned int kind = (unsigned int)rnd_below(NR_TEST_CACHES);
	size_t nr = 1 + rnd_below(BULK_MAX);
	void *p[BULK_MAX];

	if (slab_alloc_bulk(ar, tcache[kind], GFP_KERNEL, nr, p) != (int)nr) {
		problem(&sh->enomem, "pid %u: bulk alloc of %zu from cache %u failed: errno %d",
			my_pid, nr, kind, errno);
		return;
	}
	for (size_t i = 0; i < nr; i++) {
		struct obj o;
		if (took(p[i], kind, tsize[kind], &o))
			dispose(&o);
	}
}

static void child(unsigned int idx)
{
	struct obj o;

	alarm(300);	/* a hang ends the child, and the parent sees it */
	my_pid = (uint32_t)getpid();
	rng_state = t_splitmix64(opt_seed ^ (idx + 1) * 0x9e3779b97f4a7c15ULL) | 1;
	for (unsigned long op = 0; op < opt_ops; op++) {
		unsigned int r = (unsigned int)rnd_below(100);

		if (r < 40) {
			if (alloc_one(&o))
				dispose(&o);
		} else if (r < 44) {
			alloc_bulk();
		} else if (r < 70) {
			if (ring_pop(ring, &o)) {
				__atomic_fetch_add(&sh->received, 1, __ATOMIC_RELAXED);
				check_content(&o, "received");
				if (rnd_below(4) == 0 && nheld < HELD_MAX)
					held[nheld++] = o;	/* free it later */
				else
					release(&o);
			}
		} else if (r < 96) {
			if (nheld)
				drop_held((unsigned int)rnd_below(nheld));
		} else {
			free_bulk_held();
		}
	}
	while (nheld)
		drop_held(nheld - 1);
	__atomic_fetch_add(&sh->ops_done, opt_ops, __ATOMIC_RELAXED);
	_exit(0);
}

/* ---- the parent --------------------------------------------------------- */

/* allocated objects per cache, by descriptor offset, before the children ran */
#define MAX_CACHES 64
struct count {
	aoff_t off;
	char name[SLUB_NAME_MAX + 1];
	uint64_t allocated;
};
struct counts {
	int n;
	int failed;
	struct count c[MAX_CACHES];
};

static int count_one(struct kmem_cache *s, void *arg)
{
	struct counts *cs = arg;
	struct slab_validate_result r;
	struct slab_cache_info info;

	if (cs->n == MAX_CACHES)
		return 1;
	memset(&r, 0, sizeof(r));
	if (slab_validate(ar, s, &r) || slab_cache_info(ar, s, &info)) {
		printf("  validate of %s: %s\n", slab_cache_name(s), r.first_error);
		cs->failed = 1;
	}
	struct count *c = &cs->c[cs->n++];
	c->off = arena_offset(ar, s);
	snprintf(c->name, sizeof(c->name), "%s", slab_cache_name(s));
	c->allocated = r.allocated;
	return 0;
}

static void take_counts(struct counts *cs)
{
	memset(cs, 0, sizeof(*cs));
	slab_for_each_cache(ar, count_one, cs);
}

static void stress(const char *tag, unsigned long flags, unsigned long ops)
{
	char err[256] = "";
	struct arena_opts ao = { .size = 64 << 20, .huge = ARENA_HUGE_OFF, .base = 0 };
	static const unsigned int sizes[NR_TEST_CACHES] = { 64, 200, 1000 };
	static const unsigned long extra[NR_TEST_CACHES] = { 0, SLAB_HWCACHE_ALIGN, 0 };
	struct counts before, after;
	double t0 = t_now_s();
	int rc;

	rc = arena_create(&ao, &ar, err, sizeof(err));
	CHECKF(rc == 0, "arena_create: %d %s", rc, err);
	if (rc)
		return;
	size_t own_len = arena_size(ar) / 8;
	own = mmap(NULL, own_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	REQUIRE(own != MAP_FAILED && sh != MAP_FAILED);
	slab_set_report_fn(report_fn, NULL);

	for (int i = 0; i < NR_TEST_CACHES; i++) {
		char name[32];
		snprintf(name, sizeof(name), "mp.%s%u", tag, sizes[i]);
		rc = slab_cache_create(ar, name, sizes[i], 0, flags | extra[i], NULL, &tcache[i]);
		CHECKF(rc == 0, "slab_cache_create(%s): %d", name, rc);
		if (rc)
			goto out;
		tsize[i] = slab_cache_size(tcache[i]);
		CHECK(tsize[i] == sizes[i]);
	}
	take_counts(&before);
	CHECK(!before.failed);
	ring = slab_kmalloc(ar, sizeof(*ring), GFP_KERNEL);
	CHECK(ring != NULL);
	if (!ring)
		goto out;
	ring_init(ring);

	opt_ops = ops;
	pid_t pids[64];
	unsigned int n = opt_children > 64 ? 64 : opt_children;
	for (unsigned int i = 0; i < n; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			child(i);
		CHECK(pids[i] > 0);
	}
	for (unsigned int i = 0; i < n; i++) {
		int st;
		if (pids[i] <= 0)
			continue;
		if (waitpid(pids[i], &st, 0) != pids[i]) {
			CHECKF(0, "waitpid(%d): %s", pids[i], strerror(errno));
			continue;
		}
		CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child %u (pid %d): %s %d", i, pids[i],
		       WIFEXITED(st) ? "exit status" : "killed by signal",
		       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	}

	/* drain the ring: these objects were pushed by children that exited */
	struct obj o;
	my_pid = (uint32_t)getpid();
	while (ring_pop(ring, &o)) {
		sh->received++;
		check_content(&o, "drained");
		release(&o);
	}
	slab_kfree(ar, ring);
	ring = NULL;

	printf("  %s: %u children x %lu ops in %.1f s; %llu objects handed over, %llu received\n",
	       tag[0] ? tag : "plain", n, ops, t_now_s() - t0, (unsigned long long)sh->handed,
	       (unsigned long long)sh->received);
	t_problems_show(&sh->problems, "problem");
	CHECK(sh->handed == sh->received);
	CHECK(sh->ops_done == (uint64_t)n * ops);
	CHECKF(sh->double_handout == 0, "%llu", (unsigned long long)sh->double_handout);
	CHECKF(sh->bad_free == 0, "%llu", (unsigned long long)sh->bad_free);
	CHECKF(sh->mismatch == 0, "%llu", (unsigned long long)sh->mismatch);
	CHECKF(sh->not_zero == 0, "%llu", (unsigned long long)sh->not_zero);
	CHECKF(sh->bad_pointer == 0, "%llu", (unsigned long long)sh->bad_pointer);
	CHECKF(sh->small_ksize == 0, "%llu", (unsigned long long)sh->small_ksize);
	CHECKF(sh->enomem == 0, "%llu", (unsigned long long)sh->enomem);
	CHECKF(sh->reports == 0, "%llu", (unsigned long long)sh->reports);

	/* every object is free again; the ownership map must say so too */
	size_t still_owned = 0;
	for (size_t i = 0; i < own_len; i++)
		still_owned += own[i] != 0;
	CHECKF(still_owned == 0, "%zu objects still marked owned", still_owned);

	struct slab_validate_result r;
	memset(&r, 0, sizeof(r));
	rc = slab_validate(ar, NULL, &r);
	CHECKF(rc == 0 && r.nr_errors == 0, "slab_validate: %d, %llu errors, first: %s", rc,
	       (unsigned long long)r.nr_errors, r.first_error);
	CHECKF(r.allocated + r.free == r.objects, "allocated %llu + free %llu != objects %llu",
	       (unsigned long long)r.allocated, (unsigned long long)r.free,
	       (unsigned long long)r.objects);
	uint64_t base_total = 0;
	for (int i = 0; i < before.n; i++)
		base_total += before.c[i].allocated;
	CHECKF(r.allocated == base_total, "allocated %llu, before the children %llu",
	       (unsigned long long)r.allocated, (unsigned long long)base_total);

	take_counts(&after);
	CHECK(!after.failed);
	CHECKF(after.n == before.n, "%d caches after, %d before", after.n, before.n);
	for (int i = 0; i < after.n; i++) {
		for (int j = 0; j < before.n; j++) {
			if (after.c[i].off != before.c[j].off)
				continue;
			CHECKF(after.c[i].allocated == before.c[j].allocated,
			       "cache %s: %llu objects allocated, %llu before the children",
			       after.c[i].name, (unsigned long long)after.c[i].allocated,
			       (unsigned long long)before.c[j].allocated);
		}
	}

	for (int i = 0; i < NR_TEST_CACHES; i++) {
		struct slab_cache_info info;
		memset(&r, 0, sizeof(r));
		rc = slab_validate(ar, tcache[i], &r);
		CHECKF(rc == 0 && r.allocated == 0, "cache %u: validate %d, %llu allocated", tsize[i],
		       rc, (unsigned long long)r.allocated);
		REQUIRE(slab_cache_info(ar, tcache[i], &info) == 0);
		printf("  %-12s alloc fast %8llu slow %7llu  free fast %8llu slow %7llu  slabs %llu\n",
		       info.name, (unsigned long long)info.stat[ALLOC_FASTPATH],
		       (unsigned long long)info.stat[ALLOC_SLOWPATH],
		       (unsigned long long)info.stat[FREE_FASTPATH],
		       (unsigned long long)info.stat[FREE_SLOWPATH],
		       (unsigned long long)info.num_slabs);
		/* debug caches have no CPU slabs and take no counted path */
		if (!(flags & SLAB_DEBUG_FLAGS))
			CHECKF(info.stat[ALLOC_FASTPATH] > 0 && info.stat[ALLOC_SLOWPATH] > 0 &&
			       info.stat[FREE_FASTPATH] > 0 && info.stat[FREE_SLOWPATH] > 0,
			       "%s: a fast or slow path counter is 0", info.name);
		CHECK(info.active_objs == 0);
		uint64_t errs = 0;
		for (int e = 0; e < SLAB_ERR_NR; e++)
			errs += info.errors[e];
		CHECKF(errs == 0, "%s: %llu errors counted", info.name, (unsigned long long)errs);
	}
	rc = buddy_check(ar, err, sizeof(err));
	CHECKF(rc == 0, "buddy_check: %d %s", rc, err);

	for (int i = 0; i < NR_TEST_CACHES; i++)
		CHECK(slab_cache_destroy(ar, tcache[i]) == 0);
out:
	slab_set_report_fn(NULL, NULL);
	arena_close(ar);
	ar = NULL;
	munmap(own, own_len);
	munmap(sh, sizeof(*sh));
}

static void mp_stress(void)
{
	stress("", 0, opt_ops);
}

/* the same with red zones, poisoning and owner tracking on the test caches */
static void mp_stress_debug(void)
{
	stress("dbg", SLAB_DEBUG_FLAGS, opt_ops / 4 ? opt_ops / 4 : 1);
}

int main(int argc, char **argv)
{
	static const struct t_case cases[] = { T_CASE(mp_stress), T_CASE(mp_stress_debug) };
	char *rest[64];
	int nrest = 0;

	opt_children = (unsigned int)t_env_ul("T_MP_CHILDREN", opt_children);
	opt_ops = t_env_ul("T_MP_OPS", opt_ops);
	opt_seed = t_env_ul("T_MP_SEED", (uint64_t)time(NULL));
	for (int i = 0; i < argc && nrest < 63; i++) {
		if (!strncmp(argv[i], "--children=", 11))
			opt_children = (unsigned int)strtoul(argv[i] + 11, NULL, 0);
		else if (!strncmp(argv[i], "--ops=", 6))
			opt_ops = strtoul(argv[i] + 6, NULL, 0);
		else if (!strncmp(argv[i], "--seed=", 7))
			opt_seed = strtoull(argv[i] + 7, NULL, 0);
		else
			rest[nrest++] = argv[i];
	}
	rest[nrest] = NULL;
	if (!opt_children)
		opt_children = 1;
	printf("# t_mp: children %u, ops %lu, seed %llu (T_MP_SEED to repeat)\n", opt_children,
	       opt_ops, (unsigned long long)opt_seed);
	return t_main(cases, (int)(sizeof(cases) / sizeof(cases[0])), nrest, rest);
}
