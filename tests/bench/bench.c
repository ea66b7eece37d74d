/*
 * bench.c - the engine's figures, each beside glibc malloc/free doing the
 * same work.  Not a test: it prints, and exits 0 unless something is broken.
 *
 *   (a) slab_alloc + slab_free of a 64-byte object in a hot loop, through
 *       the private handle libslub gives its users (slab_cache_pin: this
 *       process's checked copy of the pool's geometry, used as it is, by
 *       slab_alloc_pinned / slab_free_pinned as kmem_cache_alloc/free do)
 *   (a') the same through the shared descriptor (the copy looked up per call)
 *   (b) alloc 1000 objects, free them LIFO
 *   (c) alloc 1000 objects, free them FIFO
 *   (d) slab_kmalloc + slab_kfree cycling over sizes 8 .. 8192
 *   (e) two processes at once, each the hot loop of (a) on the same cache
 *   (f) bare loops of two `lock cmpxchg16b` per iteration: the floor of a
 *       fast path built on one double-word CAS per alloc and one per free.
 *       "regs": the expected values kept in registers (no load at all);
 *       "load+cas": each CAS preceded by a load of the pair, as any real
 *       CAS loop must, since its expected value comes from memory.  (a) and
 *       both (f) loops are measured interleaved, rep by rep, so that noise
 *       from the host hits them alike.
 *   (g) instructions per alloc+free pair under callgrind
 *   (h) (a) while another process keeps storing the pool descriptor's first
 *       cache line back (the same values, so nothing changes): what the
 *       fast path pays for each shared line it reads that someone else
 *       writes.  The alloc and free paths read this process's private copy
 *       of the pool's geometry (shm/geom.c), not the descriptor, so (h)
 *       should stay near (a); before the copy, every operation missed.
 *
 * Every figure is ns per alloc+free pair (per iteration for (f)), the median
 * of REPS repetitions of about 50-100 ms each, CLOCK_MONOTONIC, nothing
 * pinned.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "layout.h"
#include "shm.h"

#if defined(__has_include) && !defined(BENCH_NO_CALLGRIND_H)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND_H 1
#endif
#endif

#define REPS		11
#define BATCH		1000
#define OBJ_SIZE	64
#define TARGET_NS	70000000ull	/* one repetition: about 70 ms */
#define CG_ITERS	100000

static struct arena *ar;
static struct kmem_cache *cache;	/* the shared descriptor */
static struct kmem_cache *handle;	/* the private handle (slab_cache_pin): what libslub gives */

/* keep the compiler from eliding a malloc/free pair or a loop */
static inline void escape(void *p)
{
	__asm__ __volatile__("" : : "g"(p) : "memory");
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(err));
	exit(1);
}

/* ---- the loops: each does n units of work and returns nothing ----------- */

typedef void (*loop_fn)(uint64_t n);

static void slub_hot(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		void *p = slab_alloc_pinned(ar, handle, GFP_KERNEL);
		if (__builtin_expect(!p, 0))
			die("slab_alloc", errno);
		slab_free_pinned(ar, handle, p);
	}
}

/* (a'): the same through the shared descriptor: the copy is looked up */
static void slub_hot_shared(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		void *p = slab_alloc(ar, cache, GFP_KERNEL);
		if (__builtin_expect(!p, 0))
			die("slab_alloc", errno);
		slab_free(ar, cache, p);
	}
}

static void glibc_hot(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		void *p = malloc(OBJ_SIZE);
		escape(p);
		free(p);
	}
}

static void *batch[BATCH];

static void slub_lifo(uint64_t n)
{
	for (uint64_t r = 0; r < n; r++) {
		for (int i = 0; i < BATCH; i++)
			if (!(batch[i] = slab_alloc_pinned(ar, handle, GFP_KERNEL)))
				die("slab_alloc", errno);
		for (int i = BATCH - 1; i >= 0; i--)
			slab_free_pinned(ar, handle, batch[i]);
	}
}

static void glibc_lifo(uint64_t n)
{
	for (uint64_t r = 0; r < n; r++) {
		for (int i = 0; i < BATCH; i++)
			escape(batch[i] = malloc(OBJ_SIZE));
		for (int i = BATCH - 1; i >= 0; i--)
			free(batch[i]);
	}
}

static void slub_fifo(uint64_t n)
{
	for (uint64_t r = 0; r < n; r++) {
		for (int i = 0; i < BATCH; i++)
			if (!(batch[i] = slab_alloc_pinned(ar, handle, GFP_KERNEL)))
				die("slab_alloc", errno);
		for (int i = 0; i < BATCH; i++)
			slab_free_pinned(ar, handle, batch[i]);
	}
}

static void glibc_fifo(uint64_t n)
{
	for (uint64_t r = 0; r < n; r++) {
		for (int i = 0; i < BATCH; i++)
			escape(batch[i] = malloc(OBJ_SIZE));
		for (int i = 0; i < BATCH; i++)
			free(batch[i]);
	}
}

/* 64 sizes over 8 .. 8192: every class, and sizes between them */
#define NSIZES 64
static size_t sizes[NSIZES];

static void init_sizes(void)
{
	static const size_t classes[] = { 8, 16, 32, 64, 96, 128, 192, 256, 512,
					  1024, 2048, 4096, 8192 };
	int n = 0;
	uint64_t x = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		sizes[n++] = classes[i];
	while (n < NSIZES) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* log-uniform: small sizes as often as large ones */
		unsigned int shift = 3 + (unsigned int)(x % 11);	/* 8 .. 8192 */
		size_t s = ((size_t)1 << shift) - (size_t)((x >> 8) % ((size_t)1 << (shift - 1)));
		sizes[n++] = s < 8 ? 8 : s;
	}
	/* shuffle so the classes are not visited in order */
	for (int i = NSIZES - 1; i > 0; i--) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		int j = (int)(x % (uint64_t)(i + 1));
		size_t t = sizes[i];
		sizes[i] = sizes[j];
		sizes[j] = t;
	}
}

static void slub_kmalloc_loop(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		void *p = slab_kmalloc(ar, sizes[i % NSIZES], GFP_KERNEL);
		if (__builtin_expect(!p, 0))
			die("slab_kmalloc", errno);
		slab_kfree(ar, p);
	}
}

static void glibc_kmalloc_loop(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		void *p = malloc(sizes[i % NSIZES]);
		escape(p);
		free(p);
	}
}

static atomic_pair_t bare_pair;

static void bare_cas(uint64_t n)
{
	bare_pair.lo = 0;
	bare_pair.hi = 0;
	for (uint64_t i = 0; i < n; i++) {
		/* {0, i} -> {1, i} -> {0, i + 1}: both succeed, as alloc and free would */
		if (!cas128_full(&bare_pair, 0, i, 1, i) ||
		    !cas128_full(&bare_pair, 1, i, 0, i + 1))
			die("cas128_full", EIO);
	}
}

static void bare_load_cas(uint64_t n)
{
	bare_pair.lo = 0;
	bare_pair.hi = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t lo, hi;

		load128_relaxed(&bare_pair, &lo, &hi);
		if (!cas128_full(&bare_pair, lo, hi, lo ^ 1, hi))
			die("cas128_full", EIO);
		load128_relaxed(&bare_pair, &lo, &hi);
		if (!cas128_full(&bare_pair, lo, hi, lo ^ 1, hi + 1))
			die("cas128_full", EIO);
	}
}

/* ---- measuring ----------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* iterations that make one repetition last about TARGET_NS */
static uint64_t calibrate(loop_fn f)
{
	uint64_t n = 1;

	for (;;) {
		uint64_t t = now_ns();
		f(n);
		t = now_ns() - t;
		if (t >= TARGET_NS / 8 || n >= (1ull << 40)) {
			uint64_t want = t ? (uint64_t)((double)n * TARGET_NS / (double)t) : n * 8;
			return want ? want : 1;
		}
		n *= 2;
	}
}

/* median ns per unit of f over REPS repetitions; units = n * per_iter */
static double measure_n(loop_fn f, uint64_t n, double per_iter)
{
	double v[REPS];

	f(n / 8 + 1);	/* warm */
	for (int r = 0; r < REPS; r++) {
		uint64_t t = now_ns();
		f(n);
		v[r] = (double)(now_ns() - t) / ((double)n * per_iter);
	}
	qsort(v, REPS, sizeof(v[0]), cmp_double);
	return v[REPS / 2];
}

static double measure(loop_fn f, double per_iter)
{
	return measure_n(f, calibrate(f), per_iter);
}

/*
 * medians of several loops measured in turn within each repetition, and the
 * median over repetitions of f[0]'s time relative to each f[k] in the same
 * repetition (ratio[k]): back-to-back ratios shrug off slow drifts of the host
 */
static void measure_interleaved(loop_fn *f, int nf, double *out, double *ratio)
{
	double v[8][REPS];
	uint64_t n[8];

	for (int k = 0; k < nf; k++) {
		n[k] = calibrate(f[k]);
		f[k](n[k] / 8 + 1);
	}
	for (int r = 0; r < REPS; r++)
		for (int k = 0; k < nf; k++) {
			uint64_t t = now_ns();
			f[k](n[k]);
			v[k][r] = (double)(now_ns() - t) / (double)n[k];
		}
	for (int k = 0; k < nf; k++) {
		double q[REPS];

		for (int r = 0; r < REPS; r++)
			q[r] = v[0][r] / v[k][r];
		qsort(q, REPS, sizeof(q[0]), cmp_double);
		ratio[k] = q[REPS / 2];
	}
	for (int k = 0; k < nf; k++) {
		qsort(v[k], REPS, sizeof(v[k][0]), cmp_double);
		out[k] = v[k][REPS / 2];
	}
}

static void row(const char *name, double slub, double glibc)
{
	printf("%-44s %10.2f %10.2f %9.2fx\n", name, slub, glibc, slub / glibc);
}

/* ---- (e) two processes at once ------------------------------------------ */

struct pair_shared {
	uint64_t n;
	int ready;		/* children that reached the barrier of rep r */
	int go;			/* the parent's release of rep r (counts reps) */
	double ns[2][REPS];
};

static struct pair_shared *ps;

static void pair_child(int idx, loop_fn f)
{
	alarm(120);
	f(ps->n / 8 + 1);
	for (int r = 0; r < REPS; r++) {
		__atomic_fetch_add(&ps->ready, 1, __ATOMIC_ACQ_REL);
		while (__atomic_load_n(&ps->go, __ATOMIC_ACQUIRE) <= r)
			cpu_relax();
		uint64_t t = now_ns();
		f(ps->n);
		ps->ns[idx][r] = (double)(now_ns() - t) / (double)ps->n;
	}
	_exit(0);
}

/* median ns per pair in each of two processes running f at once */
static void measure_pair(loop_fn f, uint64_t n, double out[2])
{
	pid_t pid[2];

	memset(ps, 0, sizeof(*ps));
	ps->n = n;
	for (int i = 0; i < 2; i++) {
		pid[i] = fork();
		if (pid[i] < 0)
			die("fork", errno);
		if (pid[i] == 0)
			pair_child(i, f);
	}
	for (int r = 0; r < REPS; r++) {
		while (__atomic_load_n(&ps->ready, __ATOMIC_ACQUIRE) < 2 * (r + 1))
			usleep(100);
		__atomic_store_n(&ps->go, r + 1, __ATOMIC_RELEASE);
	}
	for (int i = 0; i < 2; i++) {
		int st;
		if (waitpid(pid[i], &st, 0) != pid[i] || !WIFEXITED(st) || WEXITSTATUS(st))
			die("a benchmark child failed", EIO);
		qsort(ps->ns[i], REPS, sizeof(double), cmp_double);
		out[i] = ps->ns[i][REPS / 2];
	}
}

/* ---- (h) a process writing the descriptor's first line -------------------- */

static void line_writer(volatile int *stop)
{
	uint64_t *w = (uint64_t *)((char *)cache + offsetof(struct kmem_cache, reciprocal));
	uint64_t v = __atomic_load_n(w, __ATOMIC_RELAXED);

	alarm(120);
	while (!*stop)
		for (int i = 0; i < 64; i++)
			__atomic_store_n(w, v, __ATOMIC_RELAXED);	/* the same value */
	_exit(0);
}

/* (a) and the bare load+cas loop, interleaved, while line_writer runs */
static void measure_written(double *hot, double *ratio)
{
	loop_fn f[2] = { slub_hot, bare_load_cas };
	double v[2], r[2];
	int st;
	pid_t pid;

	ps->go = 0;
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0)
		line_writer(&ps->go);
	measure_interleaved(f, 2, v, r);
	__atomic_store_n(&ps->go, 1, __ATOMIC_RELEASE);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		die("the descriptor writer failed", EIO);
	*hot = v[0];
	*ratio = r[1];
}

/* ---- (g) callgrind ------------------------------------------------------- */

static int open_arena(void)
{
	char err[256] = "";
	struct arena_opts o = { .size = 128 << 20, .huge = ARENA_HUGE_OFF };
	int rc = arena_create(&o, &ar, err, sizeof(err));

	if (rc == -EEXIST || rc == -ENOMEM || rc == -EBUSY) {
		o.base = 1;	/* the default base is taken (under valgrind, say) */
		rc = arena_create(&o, &ar, err, sizeof(err));
	}
	if (rc) {
		fprintf(stderr, "bench: arena_create: %s (%s)\n", strerror(-rc), err);
		return rc;
	}
	rc = slab_cache_create(ar, "bench.64", OBJ_SIZE, 0, 0, NULL, &cache);
	if (rc) {
		fprintf(stderr, "bench: slab_cache_create: %s\n", strerror(-rc));
		return rc;
	}
	handle = slab_cache_pin(ar, cache);
	if (!handle) {
		fprintf(stderr, "bench: slab_cache_pin: %s\n", strerror(errno));
		return -errno;
	}
	return 0;
}

/* run under callgrind: warm up, then count only the measured loop */
static int callgrind_child(const char *which, uint64_t iters)
{
	loop_fn f = !strcmp(which, "glibc") ? glibc_hot :
		    !strcmp(which, "slubd-shared") ? slub_hot_shared : slub_hot;

	if (f != glibc_hot && open_arena())
		return 1;
	f(1000);
#ifdef HAVE_CALLGRIND_H
	CALLGRIND_START_INSTRUMENTATION;
	f(iters);
	CALLGRIND_STOP_INSTRUMENTATION;
#else
	f(iters);
#endif
	return 0;
}

/* total instructions in a callgrind output file ("summary:" or "totals:") */
static double callgrind_total(const char *file)
{
	char line[512];
	double summary = -1, totals = -1;
	FILE *fp = fopen(file, "r");

	if (!fp)
		return -1;
	while (fgets(line, sizeof(line), fp)) {
		if (!strncmp(line, "summary:", 8))
			summary = strtod(line + 8, NULL);
		else if (!strncmp(line, "totals:", 7))
			totals = strtod(line + 7, NULL);
	}
	fclose(fp);
	/* with --instr-atstart=no, "summary:" can say 0 while "totals:" has the count */
	return totals > 0 ? totals : summary;
}

static double callgrind_run(const char *which, uint64_t iters)
{
	char out[64], arg_out[96], arg_iters[32], self[4096];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	pid_t pid;
	int st;

	if (len <= 0)
		return -1;
	self[len] = 0;
	snprintf(out, sizeof(out), "/tmp/bench-callgrind.%d.%s", (int)getpid(), which);
	snprintf(arg_out, sizeof(arg_out), "--callgrind-out-file=%s", out);
	snprintf(arg_iters, sizeof(arg_iters), "%llu", (unsigned long long)iters);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0) {
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
#ifdef HAVE_CALLGRIND_H
		execlp("valgrind", "valgrind", "--tool=callgrind", "--instr-atstart=no", arg_out,
		       self, "--callgrind-child", which, arg_iters, (char *)NULL);
#else
		execlp("valgrind", "valgrind", "--tool=callgrind", arg_out, self,
		       "--callgrind-child", which, arg_iters, (char *)NULL);
#endif
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) {
		unlink(out);
		return -1;
	}
	double total = callgrind_total(out);
	unlink(out);
	return total;
}

/* instructions per alloc+free pair, or -1 */
static double callgrind_per_op(const char *which)
{
#ifdef HAVE_CALLGRIND_H
	double t = callgrind_run(which, CG_ITERS);
	return t < 0 ? -1 : t / CG_ITERS;
#else
	double t1 = callgrind_run(which, CG_ITERS), t2 = callgrind_run(which, 2 * CG_ITERS);
	return t1 < 0 || t2 < 0 ? -1 : (t2 - t1) / CG_ITERS;
#endif
}

static bool have_valgrind(void)
{
	return system("valgrind --version >/dev/null 2>&1") == 0;
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "--callgrind-child"))
		return callgrind_child(argv[2], strtoull(argv[3], NULL, 0));

	uint64_t t_start = now_ns();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (open_arena())
		return 1;
	init_sizes();
	ps = mmap(NULL, sizeof(*ps), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ps == MAP_FAILED)
		die("mmap", errno);

	printf("slubd bench: arena %llu MiB (%s), %ld CPUs online, median of %d reps, ns per alloc+free pair\n\n",
	       (unsigned long long)(arena_size(ar) >> 20), arena_backing_name(ar),
	       sysconf(_SC_NPROCESSORS_ONLN), REPS);
	printf("%-44s %10s %10s %10s\n", "benchmark", "slubd", "glibc", "slubd/glibc");
	printf("%-44s %10s %10s %10s\n", "---------", "-----", "-----", "-----------");

	loop_fn hot_loops[4] = { slub_hot, glibc_hot, bare_cas, bare_load_cas };
	double hv[4], hr[4];

	measure_interleaved(hot_loops, 4, hv, hr);
	double hot = hv[0], ghot = hv[1], bare = hv[2], bare_ld = hv[3];
	row("(a) hot alloc+free, 64 B", hot, ghot);

	loop_fn shared_loops[4] = { slub_hot_shared, glibc_hot, bare_cas, bare_load_cas };
	double sv[4], sr[4];

	measure_interleaved(shared_loops, 4, sv, sr);
	row("(a') (a) by the shared descriptor (lookup)", sv[0], sv[1]);
	row("(b) alloc 1000, free LIFO, 64 B", measure(slub_lifo, BATCH), measure(glibc_lifo, BATCH));
	row("(c) alloc 1000, free FIFO, 64 B", measure(slub_fifo, BATCH), measure(glibc_fifo, BATCH));
	row("(d) kmalloc+kfree, sizes 8..8192 cycling", measure(slub_kmalloc_loop, 1),
	    measure(glibc_kmalloc_loop, 1));

	double sp[2], gp[2];
	measure_pair(slub_hot, calibrate(slub_hot), sp);
	measure_pair(glibc_hot, calibrate(glibc_hot), gp);
	row("(e) 2 processes, one cache: process 1", sp[0], gp[0]);
	row("(e) 2 processes, one cache: process 2", sp[1], gp[1]);

	printf("%-44s %10.2f %10s %9.2fx\n", "(f) bare: 2 x lock cmpxchg16b, regs", bare, "",
	       bare / ghot);
	printf("%-44s %10.2f %10s %9.2fx\n", "(f) bare: 2 x (load pair + lock cmpxchg16b)", bare_ld,
	       "", bare_ld / ghot);
	double whot, wratio;

	measure_written(&whot, &wratio);
	printf("%-44s %10.2f %10s %10s\n", "(h) (a), descriptor line 0 written by another", whot,
	       "", "");
	printf("\nratios, median over reps of (a) / each loop run just before or after it:\n");
	printf("  engine hot loop / bare load+cas loop: %.2fx  (target <= 1.30x)%s\n", hr[3],
	       hr[3] <= 1.30 ? "" : "  ABOVE TARGET");
	printf("  engine hot loop / bare regs loop:     %.2fx\n", hr[2]);
	printf("  engine hot loop / glibc:              %.2fx\n", hr[1]);
	printf("  (a') shared descriptor / bare load+cas loop: %.2fx\n", sr[3]);
	printf("  (h) engine hot loop, descriptor written / bare load+cas loop: %.2fx\n", wratio);

	if (!have_valgrind()) {
		printf("(g) callgrind: skipped (valgrind not found)\n");
	} else {
		double ci = callgrind_per_op("slubd"), cg = callgrind_per_op("glibc");
		double cs = callgrind_per_op("slubd-shared");
		if (ci < 0 || cg < 0)
			printf("(g) callgrind: failed (slubd %.1f, glibc %.1f)\n", ci, cg);
		else
			printf("(g) callgrind instructions per alloc+free pair: slubd %.1f, glibc %.1f, ratio %.2fx%s\n",
			       ci, cg, ci / cg,
#ifdef HAVE_CALLGRIND_H
			       ""
#else
			       " (by subtraction: no callgrind.h)"
#endif
			);
		if (cs >= 0)
			printf("(g) callgrind, (a') by the shared descriptor: slubd %.1f\n", cs);
	}

	/* nothing leaked by the benchmark itself */
	struct slab_validate_result r;
	memset(&r, 0, sizeof(r));
	int rc = slab_validate(ar, cache, &r);
	if (rc || r.allocated) {
		fprintf(stderr, "bench: validate after the benchmark: %d, %llu allocated: %s\n", rc,
			(unsigned long long)r.allocated, r.first_error);
		return 1;
	}
	printf("\ntotal time %.1f s\n", (double)(now_ns() - t_start) / 1e9);
	slab_cache_unpin(ar, handle);
	slab_cache_destroy(ar, cache);
	arena_close(ar);
	return 0;
}
