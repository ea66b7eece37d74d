/*
 * t_scribble.c - a client that scribbles on the arena never makes an innocent
 * process die of a signal (DESIGN.md, "Processes, identity and trust").
 *
 * Library level, no daemon.  The parent makes an arena and three pools; three
 * innocent children open them (each allocates from every pool and from
 * kmalloc once: the geometry each process uses is then its own checked copy),
 * say they are ready, and then loop: allocate from each pool and kmalloc,
 * write a pattern over the whole object, read it back, free.  While they run,
 * the parent plays the hostile client:
 *
 *   field_*        one field of every pool descriptor (and of kmalloc-64's) that
 *                  the alloc/free paths read, set to each of a few bad values
 *                  (0, all ones, 1, 3, a large odd number, an offset near the end
 *                  of the arena);
 *   random_words   64 to 2048 random 64-bit words over the first 4 MiB of the arena (the
 *                  header, the process lives, the page descriptors) and over the
 *                  8 KiB around each pool descriptor, several rounds.
 *
 * Checked: every innocent child exits on its own (never killed by a signal,
 * never hung: bounded by a generous 60 s), and so does a "late" child that
 * opens the pools only after the scribble (it may get errors: an inconsistent
 * descriptor is reported and refused).  In field_* an innocent must also get no
 * object that another innocent holds at the same time (a byte map outside the
 * arena, as in t_mp), and no pattern mismatch: a scribble confined to a
 * descriptor may cost a late opener errors, never the processes that opened the
 * pool before it.  In random_words, wrong objects, failed allocations and
 * reports are allowed (the scribble reaches the page descriptors and per-CPU
 * freelists); only signals and hangs fail.
 *
 * forged_whole, forged_mix: a late opener (a fresh mapping, no copy from
 * before) of a pool whose descriptor was given another pool's geometry, at
 * the same time as the innocents: see forged_case.
 *
 * reincarnated_pool: no scribble; a pool this process freed into (kfree) but
 * never opened is destroyed by another process and a new one made on its
 * descriptor: this process's copy of the old geometry is not used for the new
 * pool.
 *
 * Size: T_SCRIBBLE_MS (milliseconds each innocent runs after the scribble,
 * default 100), T_SCRIBBLE_ROUNDS (random_words rounds, default 20).
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "tlib.h"
#include "layout.h"
#include "shm.h"

#define NR_POOLS	3
#define NR_INNOCENT	3
#define KM_SIZE		48		/* kmalloc-64 */

static const unsigned int pool_size[NR_POOLS] = { 64, 200, 1000 };
static const unsigned long pool_flags[NR_POOLS] = { 0, SLAB_HWCACHE_ALIGN, SLAB_RED_ZONE };

struct shared {
	uint32_t ready;			/* innocents that opened every pool */
	uint32_t go;			/* the scribble is done: run */
	uint64_t double_handout;	/* an object another innocent held */
	uint64_t mismatch;		/* a pattern read back wrong */
	uint64_t failed;		/* allocations that failed (allowed) */
	uint64_t ops;
	uint64_t late_ops, late_failed;	/* forged_*: the late opener's */
	uint32_t late_ready;
};

static struct arena *ar;
static struct kmem_cache *pool[NR_POOLS];
static struct shared *sh;
static uint8_t *own;			/* one byte per 8 arena bytes: held by an innocent */
static size_t own_len;
static unsigned long run_ms = 100;
static uint64_t total_ops, total_failed, total_runs;	/* over a case, for its summary line */

static uint64_t rng;

/* claim (1) or release (0) p in the byte map; false: not as expected */
static bool own_flip(void *p, bool claim)
{
	aoff_t off = arena_offset(ar, p);
	uint8_t from = claim ? 0 : 1, to = claim ? 1 : 0;

	if (!off || off / 8 >= own_len)
		return true;	/* not in the arena: counted by the pattern check */
	return __atomic_compare_exchange_n(&own[off / 8], &from, to, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_RELAXED);
}

/* one object: claim, fill, read back, release, free; false if alloc failed */
static void use_object(void *p, size_t len, uint64_t tag, bool strict, void (*fr)(int, void *),
		       int which)
{
	volatile uint64_t *w = p;
	size_t n = len / 8;
	bool claimed = false;

	if (!p) {
		__atomic_fetch_add(&sh->failed, 1, __ATOMIC_RELAXED);
		return;
	}
	if (strict) {
		claimed = own_flip(p, true);
		if (!claimed)
			__atomic_fetch_add(&sh->double_handout, 1, __ATOMIC_RELAXED);
	}
	for (size_t i = 0; i < n; i++)
		w[i] = tag ^ i;
	for (size_t i = 0; i < n; i++)
		if (w[i] != (tag ^ i)) {
			__atomic_fetch_add(&sh->mismatch, 1, __ATOMIC_RELAXED);
			break;
		}
	if (claimed)
		own_flip(p, false);
	fr(which, p);
}

static void free_one(int which, void *p)
{
	if (which < 0)
		slab_kfree(ar, p);
	else
		slab_free(ar, pool[which], p);
}

static void round_of_ops(uint64_t tag, bool strict)
{
	for (int i = 0; i < NR_POOLS; i++)
		use_object(slab_alloc(ar, pool[i], GFP_KERNEL), pool_size[i], tag + (uint64_t)i,
			   strict, free_one, i);
	use_object(slab_kmalloc(ar, KM_SIZE, GFP_KERNEL), KM_SIZE, tag + 7, strict, free_one, -1);
	__atomic_fetch_add(&sh->ops, 1, __ATOMIC_RELAXED);
}

/* an innocent: open every pool, say so, wait for the scribble, run */
static void __attribute__((noreturn)) innocent(unsigned int k, bool strict, bool late)
{
	uint64_t tag = (uint64_t)getpid() << 32;
	double end;

	if (!late) {
		round_of_ops(tag, strict);
		__atomic_fetch_add(&sh->ready, 1, __ATOMIC_ACQ_REL);
		while (!__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE))
			usleep(200);
	}
	(void)k;
	end = t_now_s() + (double)run_ms / 1000.0;
	for (uint64_t i = 1; t_now_s() < end; i++)
		round_of_ops(tag + (i << 4), strict);
	_exit(0);
}

static void quiet_report(const struct slab_report *r, void *arg)
{
	(void)r;
	(void)arg;
}

static bool setup(void)
{
	struct arena_opts ao = { .size = 64 << 20, .huge = ARENA_HUGE_OFF, .base = 0 };
	char err[256] = "";
	int rc = arena_create(&ao, &ar, err, sizeof(err));

	CHECKF(rc == 0, "arena_create: %d %s", rc, err);
	if (rc)
		return false;
	for (int i = 0; i < NR_POOLS; i++) {
		char name[32];

		snprintf(name, sizeof(name), "scribble.%u", pool_size[i]);
		rc = slab_cache_create(ar, name, pool_size[i], 0, pool_flags[i], NULL, &pool[i]);
		CHECKF(rc == 0, "slab_cache_create(%s): %d", name, rc);
		if (rc)
			return false;
	}
	own_len = arena_size(ar) / 8;
	own = mmap(NULL, own_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(own != MAP_FAILED && sh != MAP_FAILED);
	if (own == MAP_FAILED || sh == MAP_FAILED)
		return false;
	slab_set_report_fn(quiet_report, NULL);
	return true;
}

static void teardown(void)
{
	/* the arena is scribbled: no validate, no destroy; just unmap */
	if (own && own != MAP_FAILED)
		munmap(own, own_len);
	if (sh && sh != MAP_FAILED)
		munmap(sh, sizeof(*sh));
	own = NULL;
	sh = NULL;
	if (ar)
		arena_close(ar);
	ar = NULL;
}

/* wait for pid at most until deadline; kill it if it hangs */
static void reap(pid_t pid, const char *what, double deadline)
{
	int st = 0;
	pid_t r;

	for (;;) {
		r = waitpid(pid, &st, WNOHANG);
		if (r == pid || r < 0)
			break;
		if (t_now_s() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			CHECKF(0, "%s (pid %d) hung: killed after the deadline", what, pid);
			return;
		}
		usleep(1000);
	}
	CHECKF(r == pid, "waitpid(%d): %s", pid, strerror(errno));
	if (r != pid)
		return;
	CHECKF(!WIFSIGNALED(st), "%s (pid %d) killed by signal %d (%s)", what, pid,
	       WTERMSIG(st), strsignal(WTERMSIG(st)));
	CHECKF(!WIFEXITED(st) || WEXITSTATUS(st) == 0, "%s (pid %d) exit status %d", what, pid,
	       WEXITSTATUS(st));
}

/*
 * run - innocents open the pools; scribble(arg) runs; they go on; then a late
 * innocent opens them.  strict: no double hand-out and no mismatch in the
 * innocents that opened before the scribble.
 */
static void run(const char *label, void (*scribble)(void *arg), void *arg, bool strict)
{
	pid_t pids[NR_INNOCENT], late;
	double deadline;

	memset(sh, 0, sizeof(*sh));
	memset(own, 0, own_len);
	for (unsigned int k = 0; k < NR_INNOCENT; k++) {
		pids[k] = fork();
		if (pids[k] == 0)
			innocent(k, strict, false);
		CHECK(pids[k] > 0);
	}
	deadline = t_now_s() + 60;
	while (__atomic_load_n(&sh->ready, __ATOMIC_ACQUIRE) < NR_INNOCENT && t_now_s() < deadline)
		usleep(500);
	scribble(arg);
	__atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);
	for (unsigned int k = 0; k < NR_INNOCENT; k++)
		if (pids[k] > 0)
			reap(pids[k], label, deadline);
	total_ops += sh->ops;
	total_failed += sh->failed;
	total_runs++;
	CHECKF(sh->ops > NR_INNOCENT, "%s: the innocents did nothing", label);
	if (strict) {
		CHECKF(sh->double_handout == 0, "%s: %llu objects held by two innocents at once",
		       label, (unsigned long long)sh->double_handout);
		CHECKF(sh->mismatch == 0, "%s: %llu patterns read back wrong", label,
		       (unsigned long long)sh->mismatch);
	}
	/* a process that opens the pools only now: errors allowed, no signal */
	late = fork();
	if (late == 0)
		innocent(NR_INNOCENT, false, true);
	CHECK(late > 0);
	if (late > 0)
		reap(late, label, t_now_s() + 60);
}

/* ---- single fields ----------------------------------------------------------- */

struct field {
	const char *name;
	size_t off, len;
};

#define F(m) { #m, offsetof(struct kmem_cache, m), sizeof(((struct kmem_cache *)0)->m) }
static const struct field fields[] = {
	F(cpu_slab), F(random), F(reciprocal), F(flags), F(size), F(object_size), F(offset),
	F(red_left_pad), F(inuse), F(nr_cpus), F(id), F(self), F(align), F(oo), F(min),
	F(nr_nodes), F(track_off), F(state), { "node0", offsetof(struct kmem_cache, node), sizeof(aoff_t) },
};
#undef F

struct field_arg {
	const struct field *f;
	uint64_t value;
};

static void scribble_field(void *arg)
{
	const struct field_arg *fa = arg;
	struct kmem_cache *victims[NR_POOLS + 1];

	for (int i = 0; i < NR_POOLS; i++)
		victims[i] = pool[i];
	victims[NR_POOLS] = slab_kmalloc_cache(ar, KM_SIZE);
	for (int i = 0; i <= NR_POOLS; i++) {
		char *p = (char *)victims[i] + fa->f->off;

		if (!victims[i])
			continue;
		if (fa->f->len == 8)
			__atomic_store_n((uint64_t *)p, fa->value, __ATOMIC_RELAXED);
		else
			__atomic_store_n((uint32_t *)p, (uint32_t)fa->value, __ATOMIC_RELAXED);
	}
}

static void summary(void)
{
	printf("  %llu scribbles; innocents made %llu rounds of 4 allocations, %llu failed "
	       "(allowed)\n", (unsigned long long)total_runs, (unsigned long long)total_ops,
	       (unsigned long long)total_failed);
	total_ops = total_failed = total_runs = 0;
}

static void fields_case(size_t first, size_t last)
{
	for (size_t i = first; i < last; i++) {
		const uint64_t values[] = { 0, ~0ULL, 1, 3, 0x7fffffffULL, 0x12345679ULL,
					    (uint64_t)(64 << 20) - 8 };

		for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++) {
			struct field_arg fa = { &fields[i], values[v] };
			char label[96];

			if (!setup()) {
				teardown();
				return;
			}
			snprintf(label, sizeof(label), "%s = %#llx", fields[i].name,
				 (unsigned long long)values[v]);
			run(label, scribble_field, &fa, true);
			teardown();
			if (t_failed)
				return;
		}
	}
	summary();
}

static void field_geometry(void) { fields_case(0, 9); }
static void field_layout(void) { fields_case(9, sizeof(fields) / sizeof(fields[0])); }

/* ---- random words -------------------------------------------------------------- */

static void scribble_words(void *arg)
{
	char *base = arena_base(ar);
	uint64_t size = arena_size(ar), span = 4 << 20;
	unsigned int words = *(unsigned int *)arg;

	for (unsigned int i = 0; i < words; i++) {
		uint64_t off = (t_rand(&rng) % (span / 8)) * 8;

		if (off < size)
			__atomic_store_n((uint64_t *)(base + off), t_rand(&rng), __ATOMIC_RELAXED);
	}
	for (int p = 0; p < NR_POOLS; p++) {
		aoff_t d = arena_offset(ar, pool[p]);

		for (unsigned int i = 0; i < words / 8; i++) {
			uint64_t off = d - 4096 + (t_rand(&rng) % 1024) * 8;

			if (off < size)
				__atomic_store_n((uint64_t *)(base + off), t_rand(&rng), __ATOMIC_RELAXED);
		}
	}
}

static void random_words(void)
{
	unsigned long rounds = t_env_ul("T_SCRIBBLE_ROUNDS", 20);

	for (unsigned long r = 0; r < rounds; r++) {
		unsigned int words = 64u << (r % 6);
		char label[64];

		rng = 0x9e3779b97f4a7c15ULL * (r + 1);
		if (!setup()) {
			teardown();
			return;
		}
		snprintf(label, sizeof(label), "round %lu (%u words)", r, words);
		run(label, scribble_words, &words, false);
		teardown();
		if (t_failed) {
			printf("  failed in %s (seed %#llx)\n", label,
			       (unsigned long long)(0x9e3779b97f4a7c15ULL * (r + 1)));
			return;
		}
	}
	summary();
}

/* ---- a forged, self-consistent geometry ----------------------------------------- */

/*
 * forged_*: pool 0's descriptor is overwritten with pool 1's geometry (its
 * per-CPU array, nodes, key, sizes, order; pool 0 keeps its own self, id,
 * name, state), while the innocents (who opened every pool before) run.  A
 * late opener - a process that maps the arena afresh only now, so has no
 * copy from before - opens pool 0 and uses it at the same time.  The forged
 * descriptor passes every check (it is pool 1's geometry), so the late
 * opener allocates from pool 1's slabs through "pool 0".  forged_whole: all
 * of pool 1's geometry; forged_mix: pool 1's per-CPU array and nodes with
 * pool 0's own sizes and key (passes the checks too: they cannot tell whose
 * per-CPU array it is).  Checked: nobody dies of a signal or hangs; what
 * happens to the innocents (whose pool 1 the late opener now shares) is
 * printed, for the record.
 */
static const size_t forged_whole_fields[] = {
	offsetof(struct kmem_cache, cpu_slab), offsetof(struct kmem_cache, random),
	offsetof(struct kmem_cache, reciprocal), offsetof(struct kmem_cache, flags),
	offsetof(struct kmem_cache, size), offsetof(struct kmem_cache, object_size),
	offsetof(struct kmem_cache, offset), offsetof(struct kmem_cache, red_left_pad),
	offsetof(struct kmem_cache, inuse), offsetof(struct kmem_cache, align),
	offsetof(struct kmem_cache, oo), offsetof(struct kmem_cache, min),
	offsetof(struct kmem_cache, max), offsetof(struct kmem_cache, track_off),
	offsetof(struct kmem_cache, node),
};

static void forge(bool whole)
{
	char *to = (char *)pool[0], *from = (char *)pool[1];

	for (size_t i = 0; i < sizeof(forged_whole_fields) / sizeof(forged_whole_fields[0]); i++) {
		size_t o = forged_whole_fields[i];
		size_t len = o == offsetof(struct kmem_cache, cpu_slab) ||
				     o == offsetof(struct kmem_cache, random) ||
				     o == offsetof(struct kmem_cache, reciprocal) ||
				     o == offsetof(struct kmem_cache, node) ? 8 : 4;

		if (!whole && o != offsetof(struct kmem_cache, cpu_slab) &&
		    o != offsetof(struct kmem_cache, node))
			continue;
		memcpy(to + o, from + o, len);
	}
}

static void __attribute__((noreturn)) late_forged(aoff_t off0)
{
	struct arena *a2 = NULL;
	struct kmem_cache *s;
	char err[256];
	double end;
	int fd = dup(arena_fd(ar));

	/* a fresh mapping: this process's copies are made only now */
	if (fd < 0 || arena_open(fd, &a2, err, sizeof(err)))
		_exit(7);
	slab_set_report_fn(quiet_report, NULL);
	s = slab_cache_at(a2, off0);
	__atomic_store_n(&sh->late_ready, 1, __ATOMIC_RELEASE);
	if (!s)
		_exit(0);	/* refused: the best outcome */
	end = t_now_s() + (double)run_ms / 1000.0;
	while (t_now_s() < end) {
		void *p = slab_alloc(a2, s, GFP_KERNEL);

		__atomic_fetch_add(&sh->late_ops, 1, __ATOMIC_RELAXED);
		if (!p) {
			__atomic_fetch_add(&sh->late_failed, 1, __ATOMIC_RELAXED);
			continue;
		}
		memset(p, 0x5a, pool_size[0]);	/* what it asked for: 64 bytes */
		slab_free(a2, s, p);
	}
	_exit(0);
}

static void forged_case(bool whole)
{
	pid_t pids[NR_INNOCENT], late;
	double deadline;
	const char *label = whole ? "forged_whole" : "forged_mix";

	if (!setup()) {
		teardown();
		return;
	}
	memset(sh, 0, sizeof(*sh));
	memset(own, 0, own_len);
	for (unsigned int k = 0; k < NR_INNOCENT; k++) {
		pids[k] = fork();
		if (pids[k] == 0)
			innocent(k, true, false);
		CHECK(pids[k] > 0);
	}
	deadline = t_now_s() + 60;
	while (__atomic_load_n(&sh->ready, __ATOMIC_ACQUIRE) < NR_INNOCENT && t_now_s() < deadline)
		usleep(500);
	forge(whole);
	CHECK(pool[0]->cpu_slab == pool[1]->cpu_slab && pool[0]->node[0] == pool[1]->node[0]);
	late = fork();
	if (late == 0)
		late_forged(arena_offset(ar, pool[0]));
	CHECK(late > 0);
	while (!__atomic_load_n(&sh->late_ready, __ATOMIC_ACQUIRE) && t_now_s() < deadline)
		usleep(200);
	__atomic_store_n(&sh->go, 1, __ATOMIC_RELEASE);
	for (unsigned int k = 0; k < NR_INNOCENT; k++)
		if (pids[k] > 0)
			reap(pids[k], label, deadline);
	if (late > 0)
		reap(late, label, deadline);
	printf("  %s: late opener %llu allocations (%llu failed); innocents %llu rounds, %llu "
	       "failed, %llu objects held twice, %llu patterns read back wrong\n", label,
	       (unsigned long long)sh->late_ops, (unsigned long long)sh->late_failed,
	       (unsigned long long)sh->ops, (unsigned long long)sh->failed,
	       (unsigned long long)sh->double_handout, (unsigned long long)sh->mismatch);
	CHECKF(sh->ops > NR_INNOCENT, "%s: the innocents did nothing", label);
	teardown();
}

static void forged_whole(void) { forged_case(true); }
static void forged_mix(void) { forged_case(false); }

/* ---- a pool made again at the same address ------------------------------------ */

/*
 * reincarnated_pool - this process frees (kfree) an object of pool X that it
 * never opened, so holds a copy of X's geometry made on the way; another
 * process destroys X and makes pools until one, Y, of another size, lands on
 * X's descriptor.  Y opened here, and a kfree of a Y object here, must use
 * Y's geometry, not the copy of X: objects 512 bytes apart, each writable
 * whole, validate clean.
 */
static void reincarnated_pool(void)
{
	struct kmem_cache *x, *y;
	void *objs[64];
	int st;
	pid_t pid;

	if (!setup()) {
		teardown();
		return;
	}
	slab_set_report_fn(NULL, NULL);
	pid = fork();
	if (pid == 0) {		/* makes X, hands an object of it over */
		if (slab_cache_create(ar, "re.x", 64, 0, 0, NULL, &x))
			_exit(3);
		sh->ops = arena_offset(ar, slab_alloc(ar, x, GFP_KERNEL));
		_exit(sh->ops ? 0 : 4);
	}
	REQUIRE(pid > 0);
	REQUIRE(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	x = slab_cache_find(ar, "re.x");
	REQUIRE(x);
	slab_kfree(ar, arena_ptr(ar, sh->ops));		/* our copy of X is made here */
	pid = fork();
	if (pid == 0) {
		char nm[32];

		if (slab_cache_destroy(ar, x) != 0)
			_exit(3);
		/* CACHE_QUARANTINE destroys release X's descriptor (the last one
		 * does); shrink puts its slab, wherever it sits, on its node's list;
		 * then pools, kept, until one takes it */
		for (int i = 0; i < CACHE_QUARANTINE; i++) {
			snprintf(nm, sizeof(nm), "re.f%d", i);
			if (slab_cache_create(ar, nm, 512, 0, 0, NULL, &y) || slab_cache_destroy(ar, y))
				_exit(4);
		}
		if (slab_shrink(ar, slab_cache_find(ar, "kmem_cache")))
			_exit(6);
		for (int i = 0; i < 400; i++) {
			snprintf(nm, sizeof(nm), "re.y%d", i);
			if (slab_cache_create(ar, nm, 512, 0, 0, NULL, &y))
				_exit(5);
			if (y == x) {
				void *p = slab_alloc(ar, y, GFP_KERNEL);	/* freed by the parent */

				sh->ops = arena_offset(ar, p);
				sh->ready = (uint32_t)i;
				_exit(0);
			}
		}
		_exit(2);
	}
	REQUIRE(pid > 0);
	REQUIRE(waitpid(pid, &st, 0) == pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 2) {
		teardown();
		SKIP("no new pool landed on the destroyed one's descriptor in 400 tries");
	}
	CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child: status %#x", st);
	if (t_failed) {
		teardown();
		return;
	}
	{
		char nm[32];

		snprintf(nm, sizeof(nm), "re.y%u", sh->ready);
		REQUIRE(slab_cache_create(ar, nm, 512, 0, 0, NULL, &y) == 0);
	}
	CHECK(y == x);
	CHECK(slab_cache_size(y) == 512);
	for (int i = 0; i < 64; i++) {
		objs[i] = slab_alloc(ar, y, GFP_KERNEL);
		REQUIRE(objs[i]);
		memset(objs[i], i, 512);
	}
	for (int i = 0; i < 64; i++) {
		const unsigned char *b = objs[i];
		int bad = 0;

		for (int j = 0; j < 512; j++)
			bad += b[j] != (unsigned char)i;
		CHECKF(bad == 0, "object %d: %d of its 512 bytes overwritten by its neighbours", i,
		       bad);
	}
	for (int i = 0; i < 64; i++)
		slab_free(ar, y, objs[i]);
	slab_kfree(ar, arena_ptr(ar, sh->ops));		/* the child's object, into Y */
	{
		struct slab_validate_result v;

		memset(&v, 0, sizeof(v));
		CHECKF(slab_validate(ar, y, &v) == 0 && v.nr_errors == 0 && v.allocated == 0,
		       "validate: %llu errors, %llu allocated: %s", (unsigned long long)v.nr_errors,
		       (unsigned long long)v.allocated, v.first_error);
	}
	teardown();
}

static void __attribute__((constructor)) init_opts(void)
{
	run_ms = t_env_ul("T_SCRIBBLE_MS", 100);
}

T_MAIN(T_CASE(field_geometry), T_CASE(field_layout), T_CASE(random_words),
       T_CASE(reincarnated_pool), T_CASE(forged_whole), T_CASE(forged_mix))
