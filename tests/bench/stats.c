/*
 * stats.c - what slubd's stats costs as the arena grows: the figures of every
 * pool, on a small arena and on a large one holding the same pools, the way
 * slubd answers them now (slab_cache_info_many: the counters, O(pools)) and
 * the way it did before (slab_cache_info_walk: one walk of every page
 * descriptor, O(pages)), in one run.  Not a test: it prints figures and the
 * large/small ratio of each, and exits 0 unless something is broken.
 *
 *   build/tests/bench/stats [--small MIB] [--large MIB] [--pools N] [--reps R]
 *
 * defaults: 256 MiB and 2048 MiB, 1000 pools (as many as the small arena
 * holds, if fewer), each with about two slabs of 256-byte objects, half of
 * them freed (partial slabs, as a live pool has), R = 7.  Figures: ms per
 * stats of all the pools, the median of R.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define OBJ	256

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct figures {
	unsigned int pools, pages;
	double counters_ms, walk_ms;
};

typedef int (*info_fn)(struct arena *, struct kmem_cache *const *, unsigned int,
		       struct slab_cache_info *);

/* the median of reps calls of fn over every pool, in ms */
static double time_stats(struct arena *a, info_fn fn, struct kmem_cache **pools, unsigned int n,
			 struct slab_cache_info *out, unsigned long reps)
{
	uint64_t *t = calloc(reps, sizeof(*t)), med;

	if (!t)
		exit(1);
	for (unsigned long r = 0; r < reps; r++) {
		uint64_t t0 = now_ns();

		if (fn(a, pools, n, out)) {
			fprintf(stderr, "bench stats: the figures failed\n");
			exit(1);
		}
		t[r] = now_ns() - t0;
	}
	qsort(t, reps, sizeof(*t), cmp_u64);
	med = t[reps / 2];
	free(t);
	return (double)med / 1e6;
}

static int run(unsigned long mib, unsigned long want, unsigned long reps, struct figures *f)
{
	struct arena_opts o = { .size = (uint64_t)mib << 20, .huge = ARENA_HUGE_OFF };
	struct kmem_cache **pools = calloc(want + 1, sizeof(*pools));
	struct slab_cache_info *a1 = calloc(want + 1, sizeof(*a1)), *a2 = calloc(want + 1, sizeof(*a2));
	struct arena *a = NULL;
	char err[256] = "";
	unsigned int n = 0;
	int rc;

	if (!pools || !a1 || !a2)
		return -ENOMEM;
	rc = arena_create(&o, &a, err, sizeof(err));
	if (rc == -EEXIST || rc == -ENOMEM || rc == -EBUSY) {
		o.base = 1;
		rc = arena_create(&o, &a, err, sizeof(err));
	}
	if (rc) {
		fprintf(stderr, "bench stats: arena_create %lu MiB: %s (%s)\n", mib, strerror(-rc), err);
		return rc;
	}
	for (unsigned long i = 0; i < want; i++) {
		char name[32];
		unsigned int nobj;
		void **obj;

		snprintf(name, sizeof(name), "stats.%lu", i);
		rc = slab_cache_create(a, name, OBJ, 0, 0, NULL, &pools[n]);
		if (rc)
			break;		/* the arena holds no more: fewer pools */
		nobj = oo_objects(pools[n]->oo) * 2;
		obj = calloc(nobj, sizeof(*obj));
		if (!obj)
			return -ENOMEM;
		for (unsigned int k = 0; k < nobj; k++)
			obj[k] = slab_alloc(a, pools[n], 0);
		for (unsigned int k = 0; k < nobj; k += 2)
			if (obj[k])
				slab_free(a, pools[n], obj[k]);
		free(obj);
		n++;
	}
	f->pools = n;
	f->pages = a->nr_pages;
	f->walk_ms = time_stats(a, slab_cache_info_walk, pools, n, a1, reps);
	f->counters_ms = time_stats(a, slab_cache_info_many, pools, n, a2, reps);
	/* the same figures both ways: nothing moved meanwhile */
	for (unsigned int i = 0; i < n; i++)
		if (a1[i].active_objs != a2[i].active_objs || a1[i].num_objs != a2[i].num_objs ||
		    a1[i].num_slabs != a2[i].num_slabs || a1[i].active_slabs != a2[i].active_slabs) {
			fprintf(stderr, "bench stats: pool %s: the counters and the walk disagree: "
				"slabs %llu active of %llu, objects %llu active of %llu; the walk: "
				"%llu of %llu, %llu of %llu\n", a1[i].name,
				(unsigned long long)a2[i].active_slabs, (unsigned long long)a2[i].num_slabs,
				(unsigned long long)a2[i].active_objs, (unsigned long long)a2[i].num_objs,
				(unsigned long long)a1[i].active_slabs, (unsigned long long)a1[i].num_slabs,
				(unsigned long long)a1[i].active_objs, (unsigned long long)a1[i].num_objs);
			return -EIO;
		}
	arena_close(a);
	free(pools);
	free(a1);
	free(a2);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long small = 256, large = 2048, want = 1000, reps = 7;
	struct figures fs, fl;

	for (int i = 1; i + 1 < argc; i += 2) {
		unsigned long v = strtoul(argv[i + 1], NULL, 0);

		if (!strcmp(argv[i], "--small"))
			small = v;
		else if (!strcmp(argv[i], "--large"))
			large = v;
		else if (!strcmp(argv[i], "--pools"))
			want = v;
		else if (!strcmp(argv[i], "--reps"))
			reps = v;
		else {
			fprintf(stderr, "usage: %s [--small MIB] [--large MIB] [--pools N] [--reps R]\n",
				argv[0]);
			return 2;
		}
	}
	if (!small || !large || !reps || want > SLUB_MAX_CACHES)
		return 2;
	if (run(small, want, reps, &fs))
		return 1;
	/* the large arena gets the pools the small one held: the same work */
	if (run(large, fs.pools, reps, &fl))
		return 1;
	printf("stats bench: every pool's figures, %u pools of %u-byte objects (about two slabs "
	       "each, half freed), median of %lu\n", fs.pools, OBJ, reps);
	printf("  %-34s %10s %10s %8s\n", "", "small", "large", "ratio");
	printf("  %-34s %10u %10u %8.2f\n", "arena pages", fs.pages, fl.pages,
	       (double)fl.pages / fs.pages);
	printf("  %-34s %10.3f %10.3f %8.2f\n", "counters (now), ms", fs.counters_ms, fl.counters_ms,
	       fl.counters_ms / fs.counters_ms);
	printf("  %-34s %10.3f %10.3f %8.2f\n", "page walk (before), ms", fs.walk_ms, fl.walk_ms,
	       fl.walk_ms / fs.walk_ms);
	return 0;
}
