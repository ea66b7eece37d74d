/*
 * unit.h - helpers shared by the unit tests in tests/unit/.
 *
 * Every case runs in a forked child (ISOLATED, through t_isolate of tlib.h),
 * so that a crash or a hang in one case is reported as that case's failure
 * (with the signal) instead of killing the whole test program, and so that
 * cases never share an arena or address-space state.
 */
#ifndef TESTS_UNIT_UNIT_H
#define TESTS_UNIT_UNIT_H

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "tlib.h"
#include "shm.h"

#define UNIT_CASE_TIMEOUT_S 240		/* a case that hangs is killed by SIGALRM */

static inline void unit_run_isolated_t(void (*body)(void), unsigned int timeout_s)
{
	const struct t_isolation o = { .timeout_s = timeout_s };

	t_isolate(body, &o);
}

static inline void unit_run_isolated(void (*body)(void))
{
	unit_run_isolated_t(body, UNIT_CASE_TIMEOUT_S);
}

/* ISOLATED(name) { body } - a case whose body runs in a forked child */
#define ISOLATED(name) \
	static void name##_body(void); \
	static void name(void) { unit_run_isolated(name##_body); } \
	static void name##_body(void)

/* the same, killed after secs seconds (for cases that must not take long) */
#define ISOLATED_T(name, secs) \
	static void name##_body(void); \
	static void name(void) { unit_run_isolated_t(name##_body, (secs)); } \
	static void name##_body(void)

/* qsort's comparison of two pointers (void *), by address */
static inline int unit_cmp_ptr(const void *x, const void *y)
{
	uintptr_t a = (uintptr_t)*(void *const *)x, b = (uintptr_t)*(void *const *)y;

	return a < b ? -1 : a > b;
}

/* the standard arena of a unit case: 32 MiB, plain shm, anywhere */
static inline struct arena *unit_arena(void)
{
	struct arena_opts o = { .size = 32u << 20, .huge = ARENA_HUGE_OFF, .base = 1 };
	struct arena *a = NULL;
	char err[256] = "";
	int rc = arena_create(&o, &a, err, sizeof(err));

	CHECKF(rc == 0 && a != NULL, "arena_create: rc=%d (%s) err='%s'", rc,
	       rc < 0 ? strerror(-rc) : "", err);
	return rc == 0 ? a : NULL;
}

/* a cache that must be created; NULL (and a failed check) otherwise */
static inline struct kmem_cache *unit_cache(struct arena *a, const char *name, size_t size,
					    size_t align, unsigned long flags,
					    void (*ctor)(void *))
{
	struct kmem_cache *s = NULL;
	int rc = slab_cache_create(a, name, size, align, flags, ctor, &s);

	CHECKF(rc == 0 && s != NULL, "slab_cache_create(%s, %zu, %zu, %#lx): rc=%d", name,
	       size, align, flags, rc);
	return rc == 0 ? s : NULL;
}

static inline int unit_info(struct arena *a, struct kmem_cache *s, struct slab_cache_info *ci)
{
	int rc;

	memset(ci, 0, sizeof(*ci));
	rc = slab_cache_info(a, s, ci);
	CHECKF(rc == 0, "slab_cache_info: rc=%d", rc);
	return rc;
}

static inline int unit_validate(struct arena *a, struct kmem_cache *s,
				struct slab_validate_result *r)
{
	memset(r, 0, sizeof(*r));
	return slab_validate(a, s, r);
}

/*
 * Reports: reports_reset() points the engine's report callback at rep[],
 * which keeps the first MAXREP; nrep counts them all.
 */
#define MAXREP 64
static __attribute__((unused)) struct slab_report rep[MAXREP];
static __attribute__((unused)) int nrep;

static __attribute__((unused)) void collect(const struct slab_report *r, void *arg)
{
	(void)arg;
	if (nrep < MAXREP)
		rep[nrep] = *r;
	nrep++;
}

static __attribute__((unused)) void reports_reset(void)
{
	nrep = 0;
	memset(rep, 0, sizeof(rep));
	slab_set_report_fn(collect, NULL);
}

static __attribute__((unused)) int count_kind(enum slab_error k)
{
	int n = 0;

	for (int i = 0; i < nrep && i < MAXREP; i++)
		n += rep[i].kind == (uint32_t)k;
	return n;
}

#endif
