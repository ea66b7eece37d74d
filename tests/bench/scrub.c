/*
 * scrub.c - how long slab_scrub takes on a large arena with many pools, and
 * how long it keeps others waiting on the arena's locks.  Not a test: it
 * prints figures and exits 0 unless something is broken.
 *
 *   build/tests/bench/scrub [--size GIB] [--pools N] [--slabs K] [--reps R]
 *
 * defaults: a 16 GiB arena, 1000 pools (every 10th with SLAB_STORE_USER, so
 * that the scrub also checks the owner of each of its objects), each with
 * about K = 4 slabs of allocated 256-byte objects.  The arena reserves its
 * memory lazily, a chunk (2 MiB) at a time: what is populated is the page
 * descriptors (64 bytes per 4 KiB page: 256 MiB for 16 GiB), the per-CPU
 * areas of the pools and their slabs; the bench prints it.
 *
 * Figures, per scrub (the median of R, and the worst):
 *   total       the wall time of one slab_scrub()
 *   wait        the longest time a concurrent thread waited for an arena lock
 *               while the scrub ran: that thread (the prober) takes and drops,
 *               in turn and without pause, cpu 0's lock and node 0's list_lock
 *               of every pool, and the page allocator's lock (buddy_info).
 *               It measures from outside what the scrub holds, whatever the
 *               engine's version, so a build of an older engine gives the
 *               "before" figure with this same file.  On a loaded machine it
 *               includes the time the prober waited for a CPU: the same
 *               prober run for 0.2 s with no scrub gives that floor.
 *   hold        where the engine measures it (SLAB_SCRUB_HOLD_NS): the longest
 *               time the scrub itself held any set of arena locks
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define OBJ	256

static struct arena *ar;
static struct kmem_cache **pools;
static unsigned int nr_pools;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench scrub: %s: %s\n", what, strerror(err));
	exit(1);
}

/* ---- the prober ------------------------------------------------------------ */

static volatile int probing, probe_stop;
static uint64_t probe_max_ns, probe_n;
static const char *probe_max_what;

static void probe_note(uint64_t t0, const char *what)
{
	uint64_t d = now_ns() - t0;

	probe_n++;
	if (d > probe_max_ns) {
		probe_max_ns = d;
		probe_max_what = what;
	}
}

static void *prober(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&probe_stop, __ATOMIC_ACQUIRE)) {
		if (!__atomic_load_n(&probing, __ATOMIC_ACQUIRE)) {
			usleep(200);
			continue;
		}
		for (unsigned int i = 0; i < nr_pools && probing; i++) {
			struct kmem_cache *s = pools[i];
			uint64_t t0 = now_ns();

			if (cpu_lock_for_walk(ar, s, 0) == 0) {
				shm_lock_release(&cache_cpu(ar, s, 0)->lock);
				probe_note(t0, "a cpu lock");
			}
			t0 = now_ns();
			if (node_lock(ar, s, cache_node(ar, s, 0)) == 0) {
				node_unlock(cache_node(ar, s, 0));
				probe_note(t0, "a node list_lock");
			}
			if (i % 16 == 0) {
				struct buddy_info bi;

				t0 = now_ns();
				if (buddy_info(ar, &bi) == 0)
					probe_note(t0, "the zone lock");
			}
		}
	}
	return NULL;
}

/* ---- setup ------------------------------------------------------------------ */

static uint64_t populated_bytes(void)
{
	struct stat st;

	/* what the memfd holds: pages written or reserved (fallocate) */
	return fstat(arena_fd(ar), &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	unsigned long gib = 16, slabs = 4, reps = 3;
	unsigned long want_pools = 1000;
	struct arena_opts o = { .huge = ARENA_HUGE_OFF };
	char err[256] = "";
	uint64_t t0, *total, *wait, *hold, orphans = 0, floor_ns;
	unsigned int per_slab = 0;
	pthread_t th;
	int rc;

	for (int i = 1; i + 1 < argc; i += 2) {
		unsigned long v = strtoul(argv[i + 1], NULL, 0);

		if (!strcmp(argv[i], "--size"))
			gib = v;
		else if (!strcmp(argv[i], "--pools"))
			want_pools = v;
		else if (!strcmp(argv[i], "--slabs"))
			slabs = v;
		else if (!strcmp(argv[i], "--reps"))
			reps = v;
		else {
			fprintf(stderr, "usage: %s [--size GIB] [--pools N] [--slabs K] [--reps R]\n",
				argv[0]);
			return 2;
		}
	}
	if (!gib || !reps || want_pools > SLUB_MAX_CACHES)
		die("arguments", EINVAL);
	o.size = (uint64_t)gib << 30;
	t0 = now_ns();
	rc = arena_create(&o, &ar, err, sizeof(err));
	if (rc == -EEXIST || rc == -ENOMEM || rc == -EBUSY) {
		o.base = 1;
		rc = arena_create(&o, &ar, err, sizeof(err));
	}
	if (rc) {
		fprintf(stderr, "bench scrub: arena_create: %s (%s)\n", strerror(-rc), err);
		return 1;
	}
	pools = calloc(want_pools, sizeof(*pools));
	if (!pools)
		die("calloc", ENOMEM);
	for (unsigned long i = 0; i < want_pools; i++) {
		char name[32];
		unsigned long flags = i % 10 == 9 ? SLAB_STORE_USER : 0;
		unsigned int nobj;

		snprintf(name, sizeof(name), "scrub.%lu", i);
		rc = slab_cache_create(ar, name, OBJ, 0, flags, NULL, &pools[nr_pools]);
		if (rc == -ENOSPC || rc == -EMFILE)
			break;		/* the arena's cache ids are used up */
		if (rc)
			die("slab_cache_create", -rc);
		nobj = (unsigned int)(oo_objects(pools[nr_pools]->oo) * slabs);
		if (!per_slab)
			per_slab = oo_objects(pools[nr_pools]->oo);
		for (unsigned int k = 0; k < nobj; k++)
			if (!slab_alloc(ar, pools[nr_pools], 0))
				die("slab_alloc", errno);
		nr_pools++;
	}
	printf("scrub bench: arena %lu GiB (%u pages of 4 KiB), %u pools (%u with SLAB_STORE_USER), "
	       "about %lu slabs of %u %u-byte objects each, all allocated\n",
	       gib, ar->nr_pages, nr_pools, (nr_pools + 0) / 10, slabs, per_slab, OBJ);
	printf("  set up in %.1f s; populated: %.0f MiB of the arena (page descriptors %.0f MiB), "
	       "%.1f MiB used by the allocator\n",
	       (double)(now_ns() - t0) / 1e9, (double)populated_bytes() / (1 << 20),
	       (double)ar->nr_pages * sizeof(struct page_desc) / (1 << 20),
	       (double)arena_used_bytes(ar) / (1 << 20));
	fflush(stdout);

	total = calloc(reps, sizeof(*total));
	wait = calloc(reps, sizeof(*wait));
	hold = calloc(reps, sizeof(*hold));
	if (!total || !wait || !hold)
		die("calloc", ENOMEM);
	if ((rc = pthread_create(&th, NULL, prober, NULL)))
		die("pthread_create", rc);
	/* the floor: what the prober waits with no scrub running (the machine's noise) */
	probe_max_ns = 0;
	probe_n = 0;
	__atomic_store_n(&probing, 1, __ATOMIC_RELEASE);
	usleep(200000);
	__atomic_store_n(&probing, 0, __ATOMIC_RELEASE);
	usleep(20000);
	printf("  no scrub, 0.2 s: longest wait of the prober %.3f ms (%s; %llu lock attempts)\n",
	       (double)probe_max_ns / 1e6, probe_max_what ? probe_max_what : "-",
	       (unsigned long long)probe_n);
	floor_ns = probe_max_ns;
	for (unsigned long r = 0; r < reps; r++) {
		struct slab_scrub_result sr;

		probe_max_ns = 0;
		probe_n = 0;
		__atomic_store_n(&probing, 1, __ATOMIC_RELEASE);
		usleep(2000);		/* the prober runs */
		t0 = now_ns();
		rc = slab_scrub(ar, &sr);
		total[r] = now_ns() - t0;
		__atomic_store_n(&probing, 0, __ATOMIC_RELEASE);
		usleep(20000);		/* the prober's last sweep ends */
		if (rc)
			die("slab_scrub", -rc);
		wait[r] = probe_max_ns;
		orphans += sr.orphans;
#ifdef SLAB_SCRUB_HOLD_NS
		hold[r] = sr.max_hold_ns;
#endif
		printf("  scrub %lu: %.1f ms; longest wait of the prober %.3f ms (%s; %llu lock "
		       "attempts)",
		       r + 1, (double)total[r] / 1e6, (double)wait[r] / 1e6,
		       probe_max_what ? probe_max_what : "-", (unsigned long long)probe_n);
#ifdef SLAB_SCRUB_HOLD_NS
		printf("; the scrub's longest hold %.3f ms over %llu locked steps",
		       (double)hold[r] / 1e6, (unsigned long long)sr.locked_steps);
#endif
		printf("\n");
		fflush(stdout);
	}
	__atomic_store_n(&probe_stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	qsort(total, reps, sizeof(*total), cmp_u64);
	qsort(wait, reps, sizeof(*wait), cmp_u64);
	qsort(hold, reps, sizeof(*hold), cmp_u64);
	printf("scrub %lu GiB / %u pools: total %.1f ms (median of %lu; worst %.1f ms); longest lock "
	       "wait %.3f ms (median; worst %.3f ms)",
	       gib, nr_pools, (double)total[reps / 2] / 1e6, reps, (double)total[reps - 1] / 1e6,
	       (double)wait[reps / 2] / 1e6, (double)wait[reps - 1] / 1e6);
#ifdef SLAB_SCRUB_HOLD_NS
	printf("; longest hold %.3f ms (median; worst %.3f ms)", (double)hold[reps / 2] / 1e6,
	       (double)hold[reps - 1] / 1e6);
#endif
	printf("; %llu orphans found; the prober's floor with no scrub %.3f ms\n",
	       (unsigned long long)orphans, (double)floor_ns / 1e6);
	arena_close(ar);
	return 0;
}
