/*
 * repair.c - how long the repair after a dead lock holder keeps its lock, on
 * a large arena.  Not a test: it prints figures and exits 0 unless something
 * is broken.
 *
 *   build/tests/bench/repair [--size GIB] [--slabs K] [--reps R]
 *
 * A child takes a lock and is killed holding it (at HOOK_LIST_LOCKED or
 * HOOK_ZONE_LOCKED); the parent then takes the same lock, which runs its
 * repair (node_repair, with debug_step_repair for a debug cache; or
 * zone_repair) before it returns.  The time from the parent's call to its
 * return is what the repair held the lock for (the lock being free, it is
 * all repair).  Three locks are measured: node 0 of a plain cache, node 0 of
 * a debug cache (red zones, poison, owners), and the page allocator's zone
 * lock.  The arena (default 16 GiB, reserved lazily: the page descriptors,
 * 64 bytes per 4 KiB page, are what is touched) holds K slabs of each cache.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static struct arena *ar;
static enum shm_hook die_at;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench repair: %s: %s\n", what, strerror(err));
	exit(1);
}

static void die_hook(enum shm_hook h)
{
	if (h == die_at)
		raise(SIGKILL);
}

/* a child dies holding s's node 0 lock (s NULL: the zone lock) */
static void kill_holder(struct kmem_cache *s)
{
	int st = 0;
	pid_t kid = fork();

	if (kid < 0)
		die("fork", errno);
	if (kid == 0) {
		die_at = s ? HOOK_LIST_LOCKED : HOOK_ZONE_LOCKED;
		shm_test_hook = die_hook;
		if (s) {
			if (node_lock(ar, s, cache_node(ar, s, 0)) == 0)
				node_unlock(cache_node(ar, s, 0));
		} else {
			void *p = slab_kmalloc(ar, 2u << 20, 0);

			if (p)
				slab_kfree(ar, p);
		}
		_exit(3);	/* the hook never came */
	}
	if (waitpid(kid, &st, 0) != kid || !WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		die("the holder did not die at its hook", EPROTO);
}

static int cmp_u64(const void *p, const void *q)
{
	uint64_t a = *(const uint64_t *)p, b = *(const uint64_t *)q;

	return a < b ? -1 : a > b;
}

static void report(const char *what, uint64_t *ns, unsigned long reps)
{
	qsort(ns, reps, sizeof(*ns), cmp_u64);
	printf("  %-34s median %8.3f ms, worst %8.3f ms (%lu kills)\n", what, ns[reps / 2] / 1e6,
	       ns[reps - 1] / 1e6, reps);
}

int main(int argc, char **argv)
{
	unsigned long gib = 16, slabs = 64, reps = 3;
	struct arena_opts o = { .huge = ARENA_HUGE_OFF };
	struct kmem_cache *plain, *debug;
	struct buddy_info bi;
	char err[256] = "";
	uint64_t *t_plain, *t_debug, *t_zone;
	int rc;

	for (int i = 1; i + 1 < argc; i += 2) {
		unsigned long v = strtoul(argv[i + 1], NULL, 0);

		if (!strcmp(argv[i], "--size"))
			gib = v;
		else if (!strcmp(argv[i], "--slabs"))
			slabs = v;
		else if (!strcmp(argv[i], "--reps"))
			reps = v;
		else {
			fprintf(stderr, "usage: %s [--size GIB] [--slabs K] [--reps R]\n", argv[0]);
			return 2;
		}
	}
	if (!gib || !reps)
		die("arguments", EINVAL);
	o.size = (uint64_t)gib << 30;
	rc = arena_create(&o, &ar, err, sizeof(err));
	if (rc == -EEXIST || rc == -ENOMEM || rc == -EBUSY) {
		o.base = 1;
		rc = arena_create(&o, &ar, err, sizeof(err));
	}
	if (rc) {
		fprintf(stderr, "bench repair: arena_create: %s (%s)\n", strerror(-rc), err);
		return 1;
	}
	if ((rc = slab_cache_create(ar, "repair.plain", 256, 0, 0, NULL, &plain)) ||
	    (rc = slab_cache_create(ar, "repair.debug", 256, 0,
				    SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER, NULL, &debug)))
		die("slab_cache_create", -rc);
	/* K slabs of each, every other object freed: partial slabs on the lists */
	for (struct kmem_cache *s = plain;; s = debug) {
		unsigned long n = slabs * (s->oo & 0xffff);

		for (unsigned long i = 0; i < n; i++) {
			void *p = slab_alloc(ar, s, 0);

			if (!p)
				die("slab_alloc", ENOMEM);
			if (i % 2)
				slab_free(ar, s, p);
		}
		if (s == debug)
			break;
	}
	t_plain = calloc(reps, sizeof(uint64_t));
	t_debug = calloc(reps, sizeof(uint64_t));
	t_zone = calloc(reps, sizeof(uint64_t));
	if (!t_plain || !t_debug || !t_zone)
		die("calloc", ENOMEM);
	for (unsigned long r = 0; r < reps; r++) {
		uint64_t t0;

		kill_holder(plain);
		t0 = now_ns();
		if (node_lock(ar, plain, cache_node(ar, plain, 0)))
			die("node_lock", EIO);
		t_plain[r] = now_ns() - t0;
		node_unlock(cache_node(ar, plain, 0));

		kill_holder(debug);
		t0 = now_ns();
		if (node_lock(ar, debug, cache_node(ar, debug, 0)))
			die("node_lock", EIO);
		t_debug[r] = now_ns() - t0;
		node_unlock(cache_node(ar, debug, 0));

		kill_holder(NULL);
		t0 = now_ns();
		if (buddy_info(ar, &bi))	/* takes the zone lock */
			die("buddy_info", EIO);
		t_zone[r] = now_ns() - t0;
	}
	printf("bench repair: %lu GiB arena (%u pages), %lu slabs per cache; the lock held by the "
	       "repair after a killed holder:\n", gib, ar->nr_pages, slabs);
	report("node_repair, plain cache", t_plain, reps);
	report("node_repair + debug_step_repair", t_debug, reps);
	report("zone_repair (+ buddy_info)", t_zone, reps);
	arena_close(ar);
	return 0;
}
