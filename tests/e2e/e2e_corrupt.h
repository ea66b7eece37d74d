/*
 * e2e_corrupt.h - helpers of the t_corrupt tests (t_corrupt.c,
 * t_corrupt_locks.c, t_corrupt_random.c): the arena as the test sees it,
 * requests with a deadline, a fresh slubd with two pools in use, one
 * scribble and its checks.  See t_corrupt.c for what every scribble is
 * checked with.
 */
#ifndef TESTS_E2E_E2E_CORRUPT_H
#define TESTS_E2E_E2E_CORRUPT_H

#include <stdint.h>

#include "e2e.h"
#include "slub.h"
#include "layout.h"

#define OP_TIMEOUT_MS	e2e_scale_ms(5000)	/* every request answered within */
#define SCRUB_WAIT_MS	250			/* slubd scrubs 200 ms after a close */
#define P_NAME		"cp-plain"
#define D_NAME		"cp-dbg"
#define P_OBJS		2000
#define D_OBJS		300


/* ---- the arena, as the test sees it ------------------------------------------ */

struct cr {
	struct e2e_slubd *d;
	char *base;
	struct arena_hdr *h;
	struct page_desc *pd;
	uint32_t nr_pages, first_pfn, nr_cpus, nr_nodes;
	uint64_t size;
	struct kmem_cache *plain, *dbg;
	void *pobj[P_OBJS], *dobj[D_OBJS];
};

aoff_t cr_off_of(const struct cr *c, const void *p);
void *cr_at(const struct cr *c, aoff_t off);
struct kmem_cache_cpu *cr_cpu_of(struct cr *c, struct kmem_cache *s, unsigned int cpu);
/* the CPU of s that has a cpu slab (else CPU 0) */
struct kmem_cache_cpu *cr_busy_cpu(struct cr *c, struct kmem_cache *s);
/* the CPU of s that has a cpu partial list, or NULL */
struct kmem_cache_cpu *cr_partial_cpu(struct cr *c, struct kmem_cache *s);
struct kmem_cache_node *cr_node0(struct cr *c, struct kmem_cache *s);
/* the first slab head of s on list (SL_*), or NULL */
struct page_desc *cr_slab_on(struct cr *c, struct kmem_cache *s, int list);
/* the last free block head of the arena (far from what is in use) */
struct page_desc *cr_free_head(struct cr *c);
uint32_t cr_pfn_of(struct cr *c, struct page_desc *p);
aoff_t cr_lru_off(struct cr *c, struct page_desc *p);

/* ---- requests with a deadline ---------------------------------------------- */

/*
 * one request on a fresh connection (after a Hello), each answer within
 * OP_TIMEOUT_MS: 1 answered (*resp), else 0 with a failed check naming what
 * happened (slubd closed, timed out, garbage)
 */
int cr_call(const char *sock, Slubd__Request *req, Slubd__Response **resp, const char *what);

struct cr_vres {
	int answered;
	int err;
	uint64_t errors, caches, slabs;
	char first[256];
};

void cr_validate(struct cr *c, const char *name, struct cr_vres *v);

struct cr_sres {
	int answered;
	int err;
	int listed;			/* the pool asked about is listed */
	uint64_t n_caches, pool_errors;
	char error[200];
};

/* Stats for every cache (name NULL) or one; *s says what came back */
void cr_stats(struct cr *c, const char *name, const char *pool, struct cr_sres *s);
/* slubctl args...: its exit code must be 0 or 1 (an answer), in bounded time */
int cr_slubctl(struct cr *c, const char *a1, const char *a2, const char *a3, char **out);

/* ---- a fresh slubd with two pools in use -------------------------------------- */

int cr_setup(struct cr *c, const struct e2e_opts *o);

/* ---- one scribble, checked -------------------------------------------------- */

enum expect {
	X_NAMED = 1,	/* validate NAME finds errors naming it (or says no such pool),
			 * validate of all finds errors */
	X_ALL_NAMED,	/* validate of all finds errors, the first naming the pool */
	X_ANY,		/* validate of all finds errors */
	X_NONE,		/* nothing required but an answer */
};

struct cr_kind {
	const char *name;
	int (*fn)(struct cr *c);	/* scribble; 1 done, 0 nothing to scribble on here */
	enum expect x;
	int dbg;			/* the pool concerned is cp-dbg */
};

void cr_check(struct cr *c, const struct cr_kind *k);
/* one scribble in a fresh slubd and arena (an E2E case each: e2e allows few daemons a case) */
void cr_run_kind(const struct cr_kind *k);

#define DEF_CASE(group, nm, x, dbg) \
	E2E_CASE(group##_##nm) { cr_run_kind(&(const struct cr_kind){ #nm, k_##nm, x, dbg }); }
#define LIST_CASE(group, nm, x, dbg) T_CASE(group##_##nm),

#endif
