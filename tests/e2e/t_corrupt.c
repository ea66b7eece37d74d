/*
 * t_corrupt.c - end-to-end tests of a corrupted arena: a client that
 * attached to a real slubd scribbles on the arena's metadata through its own
 * mapping (the arena is shared, so slubd sees every byte), and slubd's stats,
 * validate and scrub must report it, never crash, never hang.
 *
 *   scribble_cache   a pool's descriptor: self, name, geometry (size, oo,
 *                    min, offset, red_left_pad, inuse, reciprocal,
 *                    track_off), cpu_slab, nr_cpus, nr_nodes, node[],
 *                    list links, id, flags, state
 *   scribble_node    a pool's kmem_cache_node: partial and full list links
 *                    and counts, a loop in the partial list
 *   scribble_page    page descriptors of slabs: flags, head, cache, slab
 *                    freelist and counters, lru links, order, list, node,
 *                    cpu; a free page dressed up as a slab
 *   scribble_cpu     a pool's kmem_cache_cpu: slab_pfn, partial, its count,
 *                    the lockless freelist
 *   scribble_object  a free pointer inside a free object; red zone and
 *                    poison of a debug pool
 *   scribble_header  the arena header: the cache list, the system cache
 *                    offsets, cache ids, the report ring, the quarantine,
 *                    the buddy zone's free lists, counts and bounds, the
 *                    geometry
 *   random_scribbles a seeded loop of random writes into the header (its
 *                    two locks excepted), page descriptors, cache, node and
 *                    cpu descriptors (their lock lines excepted): first each
 *                    write undone after its checks, then left to pile up
 *   restart_scrub    the arena corrupted while slubd is down: a new slubd
 *                    adopts it, scrubs it at start, serves stats and validate
 *   report_ring      slab_reports() over a scribbled report ring (head, seq,
 *                    unterminated text), read in this process
 *   lock_word*       a lock word naming a thread that does not exist (a node's,
 *                    the zone's, slab_mutex, a CPU's): lock.c breaks it
 *   lock_kind*       a mutex's kind scribbled (pthread: EINVAL), the same
 *                    locks: what needs it fails, a report names the lock
 *
 * Each scribble is an E2E case of its own, in a fresh slubd and arena (e2e
 * allows 4 daemons a case): slubctl stats (table and --json) and slubctl
 * validate, and the Stats and Validate requests over the protocol, each
 * answered within OP_TIMEOUT_MS; validate finds errors (slubctl exits 1) and
 * names the pool; stats answers (or says what is wrong); slubctl creates and
 * destroys a pool; slubd's scrub (200 ms after a client leaves) runs over
 * the damage; the client detaches (slubd drops its references, destroying
 * the pools); slubd stays alive, serves another client, and exits 0 on
 * SIGTERM.
 *
 * The random scribbles leave the locks alone: the lock_word cases scribble
 * them one at a time.
 *
 * $T_CORRUPT_SEED sets the random case's seed, $T_CORRUPT_ITERS its
 * iterations per phase (default 200).  $T_CORRUPT_SHRINK=1 adds slubctl
 * shrink to every scribble: slab_shrink (slub.c) follows a corrupt cache
 * unchecked, and crashes or hangs slubd on 18 of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

static aoff_t off_of(const struct cr *c, const void *p)
{
	return (aoff_t)((const char *)p - c->base);
}

static void *at(const struct cr *c, aoff_t off)
{
	return c->base + off;
}

static struct kmem_cache_cpu *cpu_of(struct cr *c, struct kmem_cache *s, unsigned int cpu)
{
	return (struct kmem_cache_cpu *)at(c, s->cpu_slab) + cpu;
}

/* the CPU of s that has a cpu slab (else CPU 0) */
static struct kmem_cache_cpu *busy_cpu(struct cr *c, struct kmem_cache *s)
{
	for (unsigned int cpu = 0; cpu < c->nr_cpus; cpu++)
		if (cpu_of(c, s, cpu)->slab_pfn)
			return cpu_of(c, s, cpu);
	return cpu_of(c, s, 0);
}

/* the CPU of s that has a cpu partial list, or NULL */
static struct kmem_cache_cpu *partial_cpu(struct cr *c, struct kmem_cache *s)
{
	for (unsigned int cpu = 0; cpu < c->nr_cpus; cpu++)
		if (cpu_of(c, s, cpu)->partial)
			return cpu_of(c, s, cpu);
	return NULL;
}

static struct kmem_cache_node *node0(struct cr *c, struct kmem_cache *s)
{
	return at(c, s->node[0]);
}

/* the first slab head of s on list (SL_*), or NULL */
static struct page_desc *slab_on(struct cr *c, struct kmem_cache *s, int list)
{
	for (uint32_t pfn = c->first_pfn; pfn < c->nr_pages; pfn++) {
		struct page_desc *p = &c->pd[pfn];

		if ((p->flags & (PG_HEAD | PG_SLAB)) == (PG_HEAD | PG_SLAB) && p->cache == s->self &&
		    p->list == list)
			return p;
	}
	return NULL;
}

/* the last free block head of the arena (far from what is in use) */
static struct page_desc *free_head(struct cr *c)
{
	for (uint32_t pfn = c->nr_pages; pfn-- > c->first_pfn;)
		if ((c->pd[pfn].flags & (PG_HEAD | PG_FREE)) == (PG_HEAD | PG_FREE))
			return &c->pd[pfn];
	return NULL;
}

static uint32_t pfn_of(struct cr *c, struct page_desc *p)
{
	return (uint32_t)(p - c->pd);
}

static aoff_t lru_off(struct cr *c, struct page_desc *p)
{
	return off_of(c, &p->lru);
}

/* ---- requests with a deadline ---------------------------------------------- */

/*
 * one request on a fresh connection (after a Hello), each answer within
 * OP_TIMEOUT_MS: 1 answered (*resp), else 0 with a failed check naming what
 * happened (slubd closed, timed out, garbage)
 */
static int cr_call(const char *sock, Slubd__Request *req, Slubd__Response **resp,
		   const char *what)
{
	Slubd__Response *r = NULL;
	int fd = e2e_raw_hello(sock, "t_corrupt", OP_TIMEOUT_MS), rc;

	*resp = NULL;
	if (fd < 0) {
		CHECKF(0, "%s: slubd does not accept a connection, or no Hello answered", what);
		return 0;
	}
	req->id = 2;
	rc = e2e_send_req(fd, req);
	if (rc == 0)
		rc = e2e_recv(fd, OP_TIMEOUT_MS, &r, NULL);
	close(fd);
	if (rc != 1) {
		CHECKF(0, "%s: %s", what, rc == -ETIMEDOUT ? "no answer in time (a hang)" :
		       rc == 0 || rc == -EPIPE ? "slubd closed the connection (did it crash?)" :
		       "a garbled answer");
		return 0;
	}
	*resp = r;
	return 1;
}

struct vres {
	int answered;
	int err;
	uint64_t errors, caches, slabs;
	char first[256];
};

static void cr_validate(struct cr *c, const char *name, struct vres *v)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__ValidateRequest vr = SLUBD__VALIDATE_REQUEST__INIT;
	Slubd__Response *r;

	memset(v, 0, sizeof(*v));
	vr.name = (char *)name;
	req.body_case = SLUBD__REQUEST__BODY_VALIDATE;
	req.validate = &vr;
	if (!cr_call(c->d->sock, &req, &r, name ? "validate NAME" : "validate"))
		return;
	v->answered = 1;
	v->err = r->err;
	if (r->body_case == SLUBD__RESPONSE__BODY_VALIDATE) {
		v->errors = r->validate->errors;
		v->caches = r->validate->caches;
		v->slabs = r->validate->slabs;
		snprintf(v->first, sizeof(v->first), "%s",
			 r->validate->first_error ? r->validate->first_error : "");
	} else {
		CHECKF(r->err != 0 && r->error && *r->error,
		       "validate: neither a report nor an error (err %d)", r->err);
		snprintf(v->first, sizeof(v->first), "%s", r->error ? r->error : "");
	}
	slubd__response__free_unpacked(r, NULL);
}

struct sres {
	int answered;
	int err;
	int listed;			/* the pool asked about is listed */
	uint64_t n_caches, pool_errors;
	char error[200];
};

/* Stats for every cache (name NULL) or one; *s says what came back */
static void cr_stats(struct cr *c, const char *name, const char *pool, struct sres *s)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__StatsRequest sr = SLUBD__STATS_REQUEST__INIT;
	Slubd__Response *r;

	memset(s, 0, sizeof(*s));
	sr.name = (char *)name;
	req.body_case = SLUBD__REQUEST__BODY_STATS;
	req.stats = &sr;
	if (!cr_call(c->d->sock, &req, &r, name ? "stats NAME" : "stats"))
		return;
	s->answered = 1;
	s->err = r->err;
	if (r->err) {
		CHECKF(r->error && *r->error, "stats: error %d without a word", r->err);
		snprintf(s->error, sizeof(s->error), "%s", r->error ? r->error : "");
	} else if (r->body_case == SLUBD__RESPONSE__BODY_STATS) {
		s->n_caches = r->stats->n_caches;
		for (size_t i = 0; i < r->stats->n_caches; i++) {
			Slubd__CacheStats *cs = r->stats->caches[i];

			CHECKF(cs->name != NULL, "stats: a cache without a name");
			if (pool && cs->name && !strcmp(cs->name, pool)) {
				s->listed = 1;
				s->pool_errors = cs->errors;
			}
		}
	} else {
		CHECKF(0, "stats: a success without a StatsReply (body %d)", (int)r->body_case);
	}
	slubd__response__free_unpacked(r, NULL);
}

/* slubctl args...: its exit code must be 0 or 1 (an answer), in bounded time */
static int cr_slubctl(struct cr *c, const char *a1, const char *a2, const char *a3, char **out)
{
	uint64_t t0 = t_now_ms();
	int rc = e2e_slubctl(c->d, out, a1, a2, a3, NULL);

	CHECKF(rc == 0 || rc == 1, "slubctl %s %s %s: exit %d%s%s", a1, a2 ? a2 : "",
	       a3 ? a3 : "", rc, out && *out ? ": " : "", out && *out ? *out : "");
	CHECKF(t_now_ms() - t0 < (uint64_t)OP_TIMEOUT_MS, "slubctl %s took %llu ms", a1,
	       (unsigned long long)(t_now_ms() - t0));
	return rc;
}

/* ---- a fresh slubd with two pools in use -------------------------------------- */

static int cr_setup(struct cr *c, const struct e2e_opts *o)
{
	struct vres v;
	aoff_t off;
	int rc;

	memset(c, 0, sizeof(*c));
	c->d = e2e_start(o);
	if (!c->d)
		return -1;
	rc = slub_attach(c->d->sock);
	CHECKF(rc == 0, "slub_attach: %s", strerror(-rc));
	if (rc)
		return -1;
	c->plain = kmem_cache_create(P_NAME, 64, 0, 0, NULL);
	c->dbg = kmem_cache_create(D_NAME, 100, 0, SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER,
				   NULL);
	CHECKF(c->plain && c->dbg, "kmem_cache_create: %s", strerror(errno));
	if (!c->plain || !c->dbg)
		return -1;
	/* slabs everywhere: cpu slab, cpu partial, node partial, full */
	for (int i = 0; i < P_OBJS; i++)
		if (!(c->pobj[i] = kmem_cache_alloc(c->plain, GFP_KERNEL))) {
			CHECKF(0, "alloc %d: %s", i, strerror(errno));
			return -1;
		}
	for (int i = 0; i < P_OBJS; i += 2) {
		kmem_cache_free(c->plain, c->pobj[i]);
		c->pobj[i] = NULL;
	}
	for (int i = 0; i < D_OBJS; i++)
		if (!(c->dobj[i] = kmem_cache_alloc(c->dbg, GFP_KERNEL))) {
			CHECKF(0, "alloc dbg %d: %s", i, strerror(errno));
			return -1;
		}
	for (int i = 1; i < D_OBJS / 2; i += 2) {
		kmem_cache_free(c->dbg, c->dobj[i]);
		c->dobj[i] = NULL;
	}
	/* the handles are private copies (libslub.c): what follows scribbles on
	 * the pools' shared descriptors */
	c->plain = slub_ptr(slub_offset(c->plain));
	c->dbg = slub_ptr(slub_offset(c->dbg));
	off = slub_offset(c->plain);
	c->base = (char *)slub_ptr(off) - off;
	c->h = (struct arena_hdr *)c->base;
	c->size = c->h->size;
	c->nr_pages = c->h->nr_pages;
	c->first_pfn = c->h->zone.first_pfn;
	c->nr_cpus = c->h->nr_cpus;
	c->nr_nodes = c->h->nr_nodes;
	c->pd = at(c, c->h->pd_off);
	cr_validate(c, NULL, &v);
	CHECKF(v.answered && v.err == 0 && v.errors == 0, "validate before any scribble: %llu errors: %s",
	       (unsigned long long)v.errors, v.first);
	if (t_failed)
		return -1;
	t_sleep_ms(SCRUB_WAIT_MS);	/* let the scrub of that close run first */
	return 0;
}

/* ---- one scribble, checked -------------------------------------------------- */

enum expect {
	X_NAMED = 1,	/* validate NAME finds errors naming it (or says no such pool),
			 * validate of all finds errors */
	X_ALL_NAMED,	/* validate of all finds errors, the first naming the pool */
	X_ANY,		/* validate of all finds errors */
	X_NONE,		/* nothing required but an answer */
};

struct kind {
	const char *name;
	int (*fn)(struct cr *c);	/* scribble; 1 done, 0 nothing to scribble on here */
	enum expect x;
	int dbg;			/* the pool concerned is cp-dbg */
};

static void cr_check(struct cr *c, const struct kind *k)
{
	const char *pool = k->dbg ? D_NAME : P_NAME;
	struct vres all, one;
	struct sres st, st1;
	char *out = NULL;
	int rc;

	cr_validate(c, NULL, &all);
	if (!all.answered)
		return;
	if (k->x != X_NONE)
		CHECKF(all.err == 0 && all.errors > 0, "%s: validate found no error (err %d)", k->name,
		       all.err);
	if (k->x == X_ALL_NAMED)
		CHECKF(strstr(all.first, pool) != NULL, "%s: validate's first error names not %s: %s",
		       k->name, pool, all.first);
	cr_validate(c, pool, &one);
	if (k->x == X_NAMED && one.answered) {
		if (one.err == ENOENT)
			CHECKF(strstr(one.first, pool), "%s: validate %s: %s", k->name, pool, one.first);
		else
			CHECKF(one.err == 0 && one.errors > 0 && strstr(one.first, pool),
			       "%s: validate %s: err %d, %llu errors: %s", k->name, pool, one.err,
			       (unsigned long long)one.errors, one.first);
	}
	cr_stats(c, NULL, pool, &st);
	cr_stats(c, pool, pool, &st1);
	printf("  %-24s validate: %llu errors, first: %.110s\n", k->name,
	       (unsigned long long)all.errors, all.first[0] ? all.first : "-");
	printf("  %-24s validate %s: %s%llu errors%s%.90s; stats: %s %llu caches%s",
	       "", pool, one.err ? "err, " : "", (unsigned long long)one.errors,
	       one.first[0] ? ", " : "", one.first, st.err ? "err" : "ok",
	       (unsigned long long)st.n_caches, st.listed ? ", pool listed" : ", pool not listed");
	if (st.listed)
		printf(" (errors %llu)", (unsigned long long)st.pool_errors);
	if (st.err)
		printf(": %s", st.error);
	printf("\n");

	rc = cr_slubctl(c, "validate", NULL, NULL, &out);
	if (k->x != X_NONE)
		CHECKF(rc == 1, "%s: slubctl validate exit %d (errors expected): %s", k->name, rc,
		       out ? out : "");
	free(out);
	out = NULL;
	cr_slubctl(c, "stats", NULL, NULL, &out);
	free(out);
	out = NULL;
	rc = cr_slubctl(c, "stats", "--json", NULL, &out);
	if (rc == 0)
		CHECKF(out && strstr(out, "\"caches\""), "%s: stats --json: %s", k->name,
		       out ? out : "");
	free(out);
	out = NULL;
	cr_slubctl(c, "validate", pool, NULL, NULL);
	/* slubd creates and destroys a pool on the corrupted arena */
	if (cr_slubctl(c, "create", "cp-new", "64", NULL) == 0)
		cr_slubctl(c, "destroy", "cp-new", NULL, NULL);

	/* the scrub after those closes runs over the damage */
	t_sleep_ms(SCRUB_WAIT_MS);
	if (!e2e_alive(c->d, "after the scrub"))
		return;
	cr_validate(c, NULL, &all);
	cr_stats(c, NULL, pool, &st);
	if (getenv("T_CORRUPT_SHRINK")) {
		/* not by default: slab_shrink (slub.c) follows the lists unchecked */
		cr_slubctl(c, "shrink", NULL, NULL, NULL);
		if (!e2e_alive(c->d, "after slubctl shrink"))
			return;
	}
	/* the client leaves: slubd drops its references, destroying the pools */
	slub_detach();
	t_sleep_ms(SCRUB_WAIT_MS);
	if (!e2e_alive(c->d, "after the client left"))
		return;
	cr_validate(c, NULL, &all);
	cr_stats(c, NULL, pool, &st);
	printf("  %-24s after the client left: validate %llu errors, stats %s\n", "",
	       (unsigned long long)all.errors, st.answered ? (st.err ? "err" : "ok") : "-");
}

/* one scribble in a fresh slubd and arena (an E2E case each: e2e allows few daemons a case) */
static void run_kind(const struct kind *k)
{
	uint64_t t0 = t_now_ms();
	struct cr c;

	if (cr_setup(&c, NULL) == 0) {
		if (k->fn(&c))
			cr_check(&c, k);
		else
			printf("  %-24s nothing to scribble on here\n", k->name);
	}
	if (c.d && c.d->pid)
		e2e_stop(c.d);
	printf("  %-24s %llu ms\n", k->name, (unsigned long long)(t_now_ms() - t0));
}

#define DEF_CASE(group, nm, x, dbg) \
	E2E_CASE(group##_##nm) { run_kind(&(const struct kind){ #nm, k_##nm, x, dbg }); }
#define LIST_CASE(group, nm, x, dbg) T_CASE(group##_##nm),

/* ---- the cache descriptor ------------------------------------------------- */

static int k_self(struct cr *c) { c->plain->self += 64; return 1; }
static int k_name_no_nul(struct cr *c)
{
	memset(c->plain->name + 8, 'Z', sizeof(c->plain->name) - 8);
	return 1;
}
static int k_name_garbage(struct cr *c)
{
	for (size_t i = 0; i < sizeof(c->plain->name); i++)
		c->plain->name[i] = (char)(0x80 + i * 7);
	return 1;
}
static int k_size0(struct cr *c) { c->plain->size = 0; return 1; }
static int k_size_huge(struct cr *c) { c->plain->size = 0xffffffffu; return 1; }
static int k_size_small(struct cr *c) { c->plain->size = 8; return 1; }
static int k_oo_huge(struct cr *c) { c->plain->oo = 0xffffffffu; return 1; }
static int k_oo_objs0(struct cr *c) { c->plain->oo &= ~0xffffu; return 1; }
static int k_oo_objs_more(struct cr *c) { c->plain->oo += 100; return 1; }
static int k_min_huge(struct cr *c) { c->plain->min = 0xffff00ffu; return 1; }
static int k_offset_huge(struct cr *c) { c->plain->offset = 0x7fffffffu; return 1; }
static int k_redpad_huge(struct cr *c) { c->dbg->red_left_pad = 0x10000000u; return 1; }
static int k_inuse_huge(struct cr *c) { c->plain->inuse = 0xffffffffu; return 1; }
static int k_objsize_huge(struct cr *c) { c->dbg->object_size = 0xfffffff0u; return 1; }
static int k_reciprocal(struct cr *c) { c->plain->reciprocal ^= 1; return 1; }
static int k_track_off(struct cr *c) { c->dbg->track_off = 0xfffffff0u; return 1; }
static int k_cpu_slab_zero(struct cr *c) { c->plain->cpu_slab = 0; return 1; }
static int k_cpu_slab_out(struct cr *c) { c->plain->cpu_slab = c->size + 7 * 4096; return 1; }
static int k_cpu_slab_end(struct cr *c) { c->plain->cpu_slab = c->size - 64; return 1; }
static int k_cpu_slab_odd(struct cr *c) { c->plain->cpu_slab += 8; return 1; }
static int k_cpu_slab_other(struct cr *c)
{
	struct page_desc *p = slab_on(c, c->dbg, SL_FULL);

	if (!p)
		return 0;
	c->plain->cpu_slab = (aoff_t)pfn_of(c, p) << PAGE_SHIFT;
	return 1;
}
static int k_nr_cpus(struct cr *c) { c->plain->nr_cpus = 0xffffffffu; return 1; }
static int k_nr_cpus0(struct cr *c) { c->plain->nr_cpus = 0; return 1; }
static int k_nr_nodes(struct cr *c) { c->plain->nr_nodes = 1000; return 1; }
static int k_node_zero(struct cr *c) { c->plain->node[0] = 0; return 1; }
static int k_node_out(struct cr *c) { c->plain->node[0] = ~0ULL - 100; return 1; }
static int k_node_pd(struct cr *c) { c->plain->node[0] = c->h->pd_off + 64 * 5; return 1; }
static int k_node_other(struct cr *c) { c->plain->node[0] = c->dbg->node[0]; return 1; }
static int k_node_inside(struct cr *c) { c->plain->node[0] += 8; return 1; }
static int k_list_next(struct cr *c) { c->plain->list.next = 0x2468ace0; return 1; }
static int k_list_next_out(struct cr *c) { c->plain->list.next = 1ULL << 60; return 1; }
static int k_list_loop(struct cr *c) { c->plain->list.next = off_of(c, &c->plain->list); return 1; }
static int k_list_prev(struct cr *c) { c->plain->list.prev = 0x13579bd8; return 1; }
static int k_id(struct cr *c) { c->plain->id = 0xffffffffu; return 1; }
static int k_flags(struct cr *c) { c->plain->flags = 0xffffffffu; return 1; }
static int k_state_dead(struct cr *c) { c->plain->state = CACHE_DEAD; return 1; }
static int k_state_zero(struct cr *c) { c->plain->state = 0; return 1; }
static int k_everything(struct cr *c)
{
	uint64_t r = 0x5eed;
	uint64_t *w = (uint64_t *)c->plain;

	for (size_t i = 0; i < KMEM_CACHE_SIZE(c->nr_nodes) / 8; i++)
		w[i] = t_rand(&r);
	memcpy(c->plain->name, P_NAME, sizeof(P_NAME));
	c->plain->self = off_of(c, c->plain);
	c->plain->state = CACHE_ACTIVE;
	return 1;
}

#define CACHE_KINDS(X) \
	X(cache, self, X_ALL_NAMED, 0) \
	X(cache, name_no_nul, X_ALL_NAMED, 0) \
	X(cache, name_garbage, X_ANY, 0) \
	X(cache, size0, X_NAMED, 0) \
	X(cache, size_huge, X_NAMED, 0) \
	X(cache, size_small, X_NAMED, 0) \
	X(cache, oo_huge, X_NAMED, 0) \
	X(cache, oo_objs0, X_NAMED, 0) \
	X(cache, oo_objs_more, X_NAMED, 0) \
	X(cache, min_huge, X_NAMED, 0) \
	X(cache, offset_huge, X_NAMED, 0) \
	X(cache, redpad_huge, X_NAMED, 1) \
	X(cache, inuse_huge, X_NAMED, 0) \
	X(cache, objsize_huge, X_NAMED, 1) \
	X(cache, reciprocal, X_NAMED, 0) \
	X(cache, track_off, X_NAMED, 1) \
	X(cache, cpu_slab_zero, X_NAMED, 0) \
	X(cache, cpu_slab_out, X_NAMED, 0) \
	X(cache, cpu_slab_end, X_NAMED, 0) \
	X(cache, cpu_slab_odd, X_NAMED, 0) \
	X(cache, cpu_slab_other, X_NAMED, 0) \
	X(cache, nr_cpus, X_NAMED, 0) \
	X(cache, nr_cpus0, X_NAMED, 0) \
	X(cache, nr_nodes, X_NAMED, 0) \
	X(cache, node_zero, X_NAMED, 0) \
	X(cache, node_out, X_NAMED, 0) \
	X(cache, node_pd, X_NAMED, 0) \
	X(cache, node_other, X_NAMED, 0) \
	X(cache, node_inside, X_NAMED, 0) \
	X(cache, list_next, X_ALL_NAMED, 0) \
	X(cache, list_next_out, X_ALL_NAMED, 0) \
	X(cache, list_loop, X_ALL_NAMED, 0) \
	X(cache, list_prev, X_ALL_NAMED, 0) \
	X(cache, id, X_NAMED, 0) \
	X(cache, flags, X_NAMED, 0) \
	X(cache, state_dead, X_ALL_NAMED, 0) \
	X(cache, state_zero, X_ALL_NAMED, 0) \
	X(cache, everything, X_NAMED, 0)

CACHE_KINDS(DEF_CASE)

/* ---- the node ----------------------------------------------------------------- */

static int k_partial_next_junk(struct cr *c)
{
	node0(c, c->plain)->partial.next = c->h->pd_off + 64 * 3 + 16;
	return 1;
}
static int k_partial_next_out(struct cr *c) { node0(c, c->plain)->partial.next = 1ULL << 62; return 1; }
static int k_partial_next_zero(struct cr *c) { node0(c, c->plain)->partial.next = 0; return 1; }
static int k_partial_prev(struct cr *c) { node0(c, c->plain)->partial.prev = 12344; return 1; }
static int k_partial_loop(struct cr *c)
{
	struct page_desc *p = slab_on(c, c->plain, SL_NODE_PARTIAL);

	if (!p)
		return 0;
	p->lru.next = lru_off(c, p);
	return 1;
}
static int k_partial_cross(struct cr *c)
{
	/* the plain pool's partial list runs on into the debug pool's */
	struct page_desc *p = slab_on(c, c->plain, SL_NODE_PARTIAL);
	struct page_desc *q = slab_on(c, c->dbg, SL_NODE_PARTIAL);

	if (!p || !q)
		return 0;
	p->lru.next = lru_off(c, q);
	return 1;
}
static int k_nr_partial(struct cr *c) { node0(c, c->plain)->nr_partial = 1ULL << 40; return 1; }
static int k_full_next(struct cr *c) { node0(c, c->dbg)->full.next = 0x0badf00d; return 1; }
static int k_full_prev(struct cr *c) { node0(c, c->dbg)->full.prev = c->size; return 1; }
static int k_nr_full(struct cr *c) { node0(c, c->dbg)->nr_full = 77777; return 1; }
static int k_nr_slabs(struct cr *c) { node0(c, c->plain)->nr_slabs += 1000; return 1; }
static int k_total_objects(struct cr *c) { node0(c, c->plain)->total_objects = ~0ULL; return 1; }
static int k_charged_objects(struct cr *c) { c->plain->charged_objects += 3; return 1; }
static int k_charged_pages(struct cr *c) { c->plain->charged_pages = 0; return 1; }

#define NODE_KINDS(X) \
	X(node, partial_next_junk, X_NAMED, 0) \
	X(node, partial_next_out, X_NAMED, 0) \
	X(node, partial_next_zero, X_NAMED, 0) \
	X(node, partial_prev, X_NAMED, 0) \
	X(node, partial_loop, X_NAMED, 0) \
	X(node, partial_cross, X_NAMED, 0) \
	X(node, nr_partial, X_NAMED, 0) \
	X(node, full_next, X_NAMED, 1) \
	X(node, full_prev, X_NAMED, 1) \
	X(node, nr_full, X_NAMED, 1) \
	X(node, nr_slabs, X_NAMED, 0) \
	X(node, total_objects, X_NAMED, 0) \
	X(node, charged_objects, X_NAMED, 0) \
	X(node, charged_pages, X_NAMED, 0)

NODE_KINDS(DEF_CASE)

/* ---- page descriptors ------------------------------------------------------- */

static struct page_desc *partial_slab(struct cr *c)
{
	return slab_on(c, c->plain, SL_NODE_PARTIAL);
}

static int k_pg_flags_all(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->flags = 0xffff, 1) : 0;
}
static int k_pg_flags_zero(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->flags = 0, 1) : 0;
}
static int k_pg_flags_free(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->flags |= PG_FREE, 1) : 0;
}
static int k_pg_head(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->head = 0xffffffffu, 1) : 0;
}
static int k_pg_cache_other(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->cache = c->dbg->self, 1) : 0;
}
static int k_pg_cache_junk(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->cache = 0x1234568, 1) : 0;
}
static int k_pg_cache_zero(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->cache = 0, 1) : 0;
}
static int k_pg_freelist_junk(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->slab.lo = ((aoff_t)pfn_of(c, p) << PAGE_SHIFT) + 13, 1) : 0;
}
static int k_pg_freelist_out(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->slab.lo = 1ULL << 63, 1) : 0;
}
static int k_pg_counters(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->slab.hi = ~0ULL, 1) : 0;
}
static int k_pg_counters_dbg(struct cr *c)
{
	struct page_desc *p = slab_on(c, c->dbg, SL_NODE_PARTIAL);

	return p ? (p->slab.hi = CNT_MAKE(0xffff, 0xffff, 0, 0), 1) : 0;
}
static int k_pg_counters_full_dbg(struct cr *c)
{
	struct page_desc *p = slab_on(c, c->dbg, SL_FULL);

	return p ? (p->slab.hi = CNT_MAKE(3, 0xffff, 0, 1), 1) : 0;
}
static int k_pg_inuse(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->slab.hi += 5, 1) : 0;
}
static int k_pg_lru_self(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->lru.next = lru_off(c, p), 1) : 0;
}
static int k_pg_lru_junk(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->lru.next = 0xdead, 1) : 0;
}
static int k_pg_lru_prev(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->lru.prev = 0xbeef0, 1) : 0;
}
static int k_pg_order(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->order = 0xff, 1) : 0;
}
static int k_pg_order_big(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->order = 9, 1) : 0;
}
static int k_pg_list(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->list = 77, 1) : 0;
}
static int k_pg_list_none(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->list = SL_NONE, 1) : 0;
}
static int k_pg_node(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->node = 0xffff, 1) : 0;
}
static int k_pg_cpu(struct cr *c)
{
	struct page_desc *p = slab_on(c, c->plain, SL_CPU_PARTIAL);

	return p ? (p->cpu = 0xffff, 1) : 0;
}
static int k_pg_cpu_slab_counters(struct cr *c)
{
	uint32_t pfn = busy_cpu(c, c->plain)->slab_pfn;

	return pfn ? (c->pd[pfn].slab.hi = CNT_MAKE(1, 0xffff, 1, 1), 1) : 0;
}
static int k_pg_cpu_slab_thawed(struct cr *c)
{
	uint32_t pfn = busy_cpu(c, c->plain)->slab_pfn;

	return pfn ? (c->pd[pfn].slab.hi &= ~(1ULL << 32), 1) : 0;
}
/* a free page dressed up as a slab of the pool, with a junk freelist, on no list */
static int fake_slab(struct cr *c, struct kmem_cache *s, uint64_t counters)
{
	struct page_desc *p = free_head(c);

	if (!p)
		return 0;
	p->flags = PG_HEAD | PG_SLAB;
	p->order = 0;
	p->cache = s->self;
	p->list = SL_NONE;
	p->slab.lo = ((aoff_t)pfn_of(c, p) << PAGE_SHIFT) + 64;
	p->slab.hi = counters;
	return 1;
}
static int k_pg_fake_slab(struct cr *c) { return fake_slab(c, c->plain, CNT_MAKE(0, 0xffff, 0, 0)); }
static int k_pg_fake_slab_dbg(struct cr *c) { return fake_slab(c, c->dbg, CNT_MAKE(0, 0xffff, 0, 0)); }
static int k_pg_fake_slab_ok(struct cr *c)
{
	/* right geometry, a freelist that leaves the slab */
	return fake_slab(c, c->plain, CNT_MAKE(0, c->plain->oo & 0xffff, 0, 0));
}
static int k_pg_fake_slab_frozen(struct cr *c)
{
	return fake_slab(c, c->dbg, CNT_MAKE(1, c->dbg->oo & 0xffff, 1, 0x7ffffff0u));
}
static int k_pg_acct_objects(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	return p ? (p->acct_objects += 7, 1) : 0;
}
static int k_pg_transit(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	/* looks like a block a dead process held in transit: buddy_scrub frees it */
	return p ? (p->flags |= PG_TRANSIT, p->owner = 0x7ffffff0u, 1) : 0;
}

#define PAGE_KINDS(X) \
	X(page, pg_flags_all, X_NAMED, 0) \
	X(page, pg_flags_zero, X_NAMED, 0) \
	X(page, pg_flags_free, X_NAMED, 0) \
	X(page, pg_head, X_NAMED, 0) \
	X(page, pg_cache_other, X_NAMED, 0) \
	X(page, pg_cache_junk, X_NAMED, 0) \
	X(page, pg_cache_zero, X_NAMED, 0) \
	X(page, pg_freelist_junk, X_NAMED, 0) \
	X(page, pg_freelist_out, X_NAMED, 0) \
	X(page, pg_counters, X_NAMED, 0) \
	X(page, pg_counters_dbg, X_NAMED, 1) \
	X(page, pg_counters_full_dbg, X_NAMED, 1) \
	X(page, pg_inuse, X_NAMED, 0) \
	X(page, pg_lru_self, X_NAMED, 0) \
	X(page, pg_lru_junk, X_NAMED, 0) \
	X(page, pg_lru_prev, X_NAMED, 0) \
	X(page, pg_order, X_NAMED, 0) \
	X(page, pg_order_big, X_NAMED, 0) \
	X(page, pg_list, X_NAMED, 0) \
	X(page, pg_list_none, X_NAMED, 0) \
	X(page, pg_node, X_NAMED, 0) \
	X(page, pg_cpu, X_NAMED, 0) \
	X(page, pg_cpu_slab_counters, X_NAMED, 0) \
	X(page, pg_cpu_slab_thawed, X_NAMED, 0) \
	X(page, pg_fake_slab, X_NAMED, 0) \
	X(page, pg_fake_slab_dbg, X_NAMED, 1) \
	X(page, pg_fake_slab_ok, X_NAMED, 0) \
	X(page, pg_fake_slab_frozen, X_NAMED, 1) \
	X(page, pg_acct_objects, X_NAMED, 0) \
	X(page, pg_transit, X_NAMED, 0)

PAGE_KINDS(DEF_CASE)

/* ---- kmem_cache_cpu and objects ------------------------------------------------ */

static int k_cpu_pfn_huge(struct cr *c) { busy_cpu(c, c->plain)->slab_pfn = 0xfffffff0u; return 1; }
static int k_cpu_pfn_meta(struct cr *c) { busy_cpu(c, c->plain)->slab_pfn = 1; return 1; }
static int k_cpu_pfn_other(struct cr *c)
{
	struct page_desc *p = slab_on(c, c->dbg, SL_FULL);

	return p ? (busy_cpu(c, c->plain)->slab_pfn = pfn_of(c, p), 1) : 0;
}
static int k_cpu_partial_junk(struct cr *c)
{
	struct kmem_cache_cpu *k = partial_cpu(c, c->plain);

	if (!k)
		k = busy_cpu(c, c->plain);
	k->partial = 0x4242;
	return 1;
}
static int k_cpu_partial_loop(struct cr *c)
{
	struct page_desc *p = slab_on(c, c->plain, SL_CPU_PARTIAL);

	return p ? (p->lru.next = lru_off(c, p), 1) : 0;
}
static int k_cpu_partial_node(struct cr *c)
{
	/* a cpu partial list that runs into a node partial slab */
	struct kmem_cache_cpu *k = busy_cpu(c, c->plain);
	struct page_desc *p = partial_slab(c);

	return p ? (k->partial = lru_off(c, p), k->partial_slabs = 1, 1) : 0;
}
static int k_cpu_partial_slabs(struct cr *c) { busy_cpu(c, c->plain)->partial_slabs = 999; return 1; }
static int k_cpu_freelist_junk(struct cr *c)
{
	struct kmem_cache_cpu *k = busy_cpu(c, c->plain);

	k->fl.lo = k->slab_start + 3;
	return 1;
}
static int k_cpu_freelist_out(struct cr *c) { busy_cpu(c, c->plain)->fl.lo = 1ULL << 63; return 1; }
static int k_cpu_slab_bytes(struct cr *c) { busy_cpu(c, c->plain)->slab_bytes = 0xffffffffu; return 1; }
static int k_cpu_intent(struct cr *c)
{
	struct kmem_cache_cpu *k = busy_cpu(c, c->plain);

	k->intent = INTENT_DEACTIVATE;
	k->intent_pfn = 0xfffffff0u;
	k->intent_freelist = 0x77;
	return 1;
}
static int k_obj_freeptr_cpu(struct cr *c)
{
	struct kmem_cache_cpu *k = busy_cpu(c, c->plain);

	if (!k->fl.lo)
		return 0;
	*(uint64_t *)at(c, k->fl.lo + c->plain->offset) ^= 0x5a5a5a5a5a5a5a5aULL;
	return 1;
}
static int k_obj_freeptr_node(struct cr *c)
{
	struct page_desc *p = partial_slab(c);

	if (!p || !p->slab.lo)
		return 0;
	*(uint64_t *)at(c, p->slab.lo + c->plain->offset) ^= 0x00000000000ff000ULL;
	return 1;
}
static int k_obj_freeptr_self(struct cr *c)
{
	/* a free pointer that points at its own object: a loop */
	struct page_desc *p = partial_slab(c);
	aoff_t obj, slot;

	if (!p || !p->slab.lo)
		return 0;
	obj = p->slab.lo;
	slot = obj + c->plain->offset;
	*(uint64_t *)at(c, slot) = obj ^ c->plain->random ^ __builtin_bswap64(slot);
	return 1;
}
static int k_obj_redzone(struct cr *c)
{
	char *o = c->dobj[D_OBJS - 1];

	o[c->dbg->object_size] ^= 0x11;
	return 1;
}
static int k_obj_poison(struct cr *c)
{
	struct page_desc *p = slab_on(c, c->dbg, SL_NODE_PARTIAL);

	if (!p || !p->slab.lo)
		return 0;
	*(char *)at(c, p->slab.lo + 5) = 0x11;
	return 1;
}

#define CPU_KINDS(X) \
	X(cpu, cpu_pfn_huge, X_NAMED, 0) \
	X(cpu, cpu_pfn_meta, X_NAMED, 0) \
	X(cpu, cpu_pfn_other, X_NAMED, 0) \
	X(cpu, cpu_partial_junk, X_NAMED, 0) \
	X(cpu, cpu_partial_loop, X_NAMED, 0) \
	X(cpu, cpu_partial_node, X_NAMED, 0) \
	X(cpu, cpu_partial_slabs, X_NAMED, 0) \
	X(cpu, cpu_freelist_junk, X_NAMED, 0) \
	X(cpu, cpu_freelist_out, X_NAMED, 0) \
	X(cpu, cpu_slab_bytes, X_NAMED, 0) \
	X(cpu, cpu_intent, X_NAMED, 0) \
	X(cpu, obj_freeptr_cpu, X_NAMED, 0) \
	X(cpu, obj_freeptr_node, X_NAMED, 0) \
	X(cpu, obj_freeptr_self, X_NAMED, 0) \
	X(cpu, obj_redzone, X_NAMED, 1) \
	X(cpu, obj_poison, X_NAMED, 1)

CPU_KINDS(DEF_CASE)

/* ---- the header ----------------------------------------------------------------- */

static int k_caches_next_junk(struct cr *c) { c->h->slab_caches.next = 0x1008; return 1; }
static int k_caches_next_out(struct cr *c) { c->h->slab_caches.next = ~0ULL - 7; return 1; }
static int k_caches_next_zero(struct cr *c) { c->h->slab_caches.next = 0; return 1; }
static int k_caches_loop(struct cr *c)
{
	c->h->slab_caches.next = off_of(c, &c->plain->list);
	c->plain->list.next = off_of(c, &c->plain->list);
	return 1;
}
static int k_caches_prev(struct cr *c) { c->h->slab_caches.prev = 0x3338; return 1; }
static int k_caches_pd(struct cr *c)
{
	/* the cache list runs into a page descriptor */
	struct page_desc *p = partial_slab(c);

	return p ? (c->plain->list.next = lru_off(c, p), 1) : 0;
}
static int k_hdr_kmem_cache(struct cr *c) { c->h->kmem_cache = 0x5550; return 1; }
static int k_hdr_kmem_cache_node(struct cr *c) { c->h->kmem_cache_node = c->size * 2; return 1; }
static int k_hdr_kmalloc(struct cr *c)
{
	for (int i = 0; i < NR_KMALLOC; i++)
		c->h->kmalloc_caches[i] = 0x100 * (aoff_t)i + 1;
	return 1;
}
static int k_hdr_cache_ids(struct cr *c) { memset(c->h->cache_ids, 0xff, sizeof(c->h->cache_ids)); return 1; }
static int k_hdr_reports(struct cr *c)
{
	c->h->report_head = ~0ULL - 3;
	for (int i = 0; i < REPORT_RING; i++) {
		c->h->reports[i].seq = (uint64_t)i * 0x9e3779b97f4a7c15ULL;
		memset(&c->h->reports[i].r, 0xa5, sizeof(c->h->reports[i].r));
	}
	/* and something for validate to report into that ring */
	node0(c, c->plain)->nr_partial += 3;
	return 1;
}
static int k_zone_list_junk(struct cr *c) { c->h->zone.area[0].free_list.next = 0x4000 + 24; return 1; }
static int k_zone_list_out(struct cr *c) { c->h->zone.area[3].free_list.prev = ~0ULL; return 1; }
static int k_zone_list_loop(struct cr *c)
{
	struct page_desc *p = free_head(c);

	return p ? (p->lru.next = lru_off(c, p), 1) : 0;
}
static int k_zone_counts(struct cr *c)
{
	c->h->zone.nr_free_pages = 1ULL << 50;
	c->h->zone.area[3].nr_free = 12345;
	return 1;
}
static int k_zone_bounds(struct cr *c)
{
	c->h->zone.first_pfn = 0;
	c->h->zone.end_pfn = 0xffffffffu;
	return 1;
}
static int k_zone_free_order(struct cr *c)
{
	struct page_desc *p = free_head(c);

	return p ? (p->order = 0xff, 1) : 0;
}
static int k_zone_free_lost(struct cr *c)
{
	struct page_desc *p = free_head(c);

	return p ? (p->flags = 0, 1) : 0;
}
static int k_hdr_geometry(struct cr *c)
{
	c->h->nr_pages = ~0u;
	c->h->nr_cpus = 5000;
	c->h->nr_nodes = 0;
	c->h->pd_off = 3;
	c->h->chunk_off = ~0ULL;
	c->h->nr_chunks = ~0u;
	return 1;
}
static int k_hdr_chunks(struct cr *c)
{
	memset(at(c, c->h->chunk_off), 0x77, c->h->nr_chunks);
	return 1;
}

#define HDR_KINDS(X) \
	X(hdr, caches_next_junk, X_ANY, 0) \
	X(hdr, caches_next_out, X_ANY, 0) \
	X(hdr, caches_next_zero, X_ANY, 0) \
	X(hdr, caches_loop, X_ALL_NAMED, 0) \
	X(hdr, caches_prev, X_ANY, 0) \
	X(hdr, caches_pd, X_ALL_NAMED, 0) \
	X(hdr, hdr_kmem_cache, X_ANY, 0) \
	X(hdr, hdr_kmem_cache_node, X_ANY, 0) \
	X(hdr, hdr_kmalloc, X_ANY, 0) \
	X(hdr, hdr_cache_ids, X_ANY, 0) \
	X(hdr, hdr_reports, X_NAMED, 0) \
	X(hdr, zone_list_junk, X_ANY, 0) \
	X(hdr, zone_list_out, X_ANY, 0) \
	X(hdr, zone_list_loop, X_ANY, 0) \
	X(hdr, zone_counts, X_ANY, 0) \
	X(hdr, zone_bounds, X_ANY, 0) \
	X(hdr, zone_free_order, X_ANY, 0) \
	X(hdr, zone_free_lost, X_ANY, 0) \
	X(hdr, hdr_geometry, X_ANY, 0) \
	X(hdr, hdr_chunks, X_NONE, 0)

HDR_KINDS(DEF_CASE)

/* ---- the report ring, read in this process ------------------------------------- */

/*
 * slab_reports over a ring another process scribbled on: at most max
 * reports, at most the ring's, each string terminated, whatever head,
 * the cursor and the slots say.  The arena is opened here from its file.
 */
E2E_CASE(report_ring)
{
	struct slab_report out[2 * REPORT_RING];
	char path[200], err[200];
	struct arena *a = NULL;
	uint64_t cursor;
	struct vres v;
	struct cr c;
	int fd, n;

	REQUIRE(cr_setup(&c, NULL) == 0);
	snprintf(path, sizeof(path), "%s/slubd.arena", c.d->dir);
	fd = open(path, O_RDWR | O_CLOEXEC);
	REQUIRE(fd >= 0);
	n = arena_open(fd, &a, err, sizeof(err));
	close(fd);
	REQUIRE(n == 0);
	for (int round = 0; round < 4; round++) {
		static const uint64_t heads[] = { ~0ULL - 3, 5, REPORT_RING * 3 + 7, 1ULL << 63 };
		uint64_t head = heads[round];

		c.h->report_head = head;
		for (int i = 0; i < REPORT_RING; i++) {
			/* the odd slots look whole (seq = ticket + 1) for the last
			 * tickets before head that map to them; their text is unterminated */
			uint64_t low = head - REPORT_RING;
			uint64_t t = low + ((uint64_t)i - low % REPORT_RING) % REPORT_RING;

			c.h->reports[i].seq = i % 2 ? t + 1 : (uint64_t)i * 0x9e3779b97f4a7c15ULL;
			memset(&c.h->reports[i].r, 'x', sizeof(c.h->reports[i].r));
		}
		for (int k = 0; k < 3; k++) {
			cursor = k == 0 ? 0 : k == 1 ? head : ~0ULL;
			n = slab_reports(a, out, (int)(sizeof(out) / sizeof(out[0])), &cursor);
			CHECKF(n >= 0 && n <= REPORT_RING, "head %#llx: %d reports", (unsigned long long)head, n);
			if (k == 0)
				printf("  head %#llx: %d reports from a scribbled ring\n",
				       (unsigned long long)head, n);
			for (int i = 0; i < n && i < REPORT_RING; i++)
				CHECK(memchr(out[i].cache_name, 0, sizeof(out[i].cache_name)) &&
				      memchr(out[i].detail, 0, sizeof(out[i].detail)));
			CHECKF(cursor <= head, "cursor %#llx past head %#llx", (unsigned long long)cursor,
			       (unsigned long long)head);
		}
		/* slubd writes reports into that ring: validate finds the scribble below */
		node0(&c, c.plain)->nr_partial += 1;
		cr_validate(&c, NULL, &v);
		CHECK(v.answered && v.errors > 0);
		node0(&c, c.plain)->nr_partial -= 1;
		cursor = 0;
		n = slab_reports(a, out, (int)(sizeof(out) / sizeof(out[0])), &cursor);
		CHECK(n >= 0 && n <= REPORT_RING);
		printf("  head %#llx: %d reports read back after validate\n",
		       (unsigned long long)c.h->report_head, n);
	}
	arena_close(a);
	e2e_alive(c.d, "after the report ring");
	e2e_stop(c.d);
}

/* ---- locks ----------------------------------------------------------------------- */

/*
 * A lock word that says a thread holds it which does not exist (scribbled,
 * 0x3ffffff0 is past any pid_max): a robust mutex only frees itself when its
 * owner dies, so every locker would wait forever.  lock.c's waiters see the
 * same word for a second, find its thread gone, and mark the owner dead as
 * the kernel would: the next locker repairs what the lock protects.  Each
 * case scribbles one lock kind; the usual checks follow (answers within
 * OP_TIMEOUT_MS, 5 s; slubd stays up and serves).  A word naming a live
 * thread is a held lock, not a scribble: it cannot be told apart.
 */
#define DEAD_TID	0x3ffffff0u

static void lock_case(const char *nm, struct shm_lock *(*which)(struct cr *c))
{
	struct cr c;
	struct shm_lock *l;
	uint64_t t0;

	REQUIRE(cr_setup(&c, NULL) == 0);
	l = which(&c);
	REQUIRE(l != NULL);
	*(volatile uint32_t *)&l->m = DEAD_TID;	/* the futex word: "held by DEAD_TID" */
	t0 = t_now_ms();
	cr_check(&c, &(const struct kind){ nm, NULL, X_NONE, 0 });
	if (!t_failed)
		printf("  %s: every check answered, all in %llu ms\n", nm,
		       (unsigned long long)(t_now_ms() - t0));
	if (c.d->pid)
		e2e_stop(c.d);
}

static struct shm_lock *lk_node(struct cr *c) { return &node0(c, c->plain)->list_lock; }
static struct shm_lock *lk_node_dbg(struct cr *c) { return &node0(c, c->dbg)->list_lock; }
static struct shm_lock *lk_zone(struct cr *c) { return &c->h->zone.lock; }
static struct shm_lock *lk_slab_mutex(struct cr *c) { return &c->h->slab_mutex; }
static struct shm_lock *lk_cpu(struct cr *c)
{
	struct kmem_cache_cpu *cc = busy_cpu(c, c->plain);

	return cc ? &cc->lock : NULL;
}

E2E_CASE(lock_word) { lock_case("lock_word", lk_node); }
E2E_CASE(lock_word_dbg) { lock_case("lock_word_dbg", lk_node_dbg); }
E2E_CASE(lock_word_zone) { lock_case("lock_word_zone", lk_zone); }
E2E_CASE(lock_word_slab_mutex) { lock_case("lock_word_slab_mutex", lk_slab_mutex); }
E2E_CASE(lock_word_cpu) { lock_case("lock_word_cpu", lk_cpu); }

/*
 * A lock that cannot be taken (issue 10, item 7): the mutex's kind field
 * scribbled, so that pthread answers EINVAL to every locker.  What needs the
 * lock fails (validate, scrub, create, destroy, a client's allocation) and
 * is never run without it; a report in the arena's ring names the lock; the
 * usual checks all answer, and slubd stays up.
 */
static void kind_case(const char *nm, struct shm_lock *(*which)(struct cr *c), const char *lock)
{
	struct slab_report out[REPORT_RING];
	char path[200], err[200];
	struct arena *a = NULL;
	uint64_t cursor = 0;
	struct shm_lock *l;
	bool named = false;
	struct cr c;
	int fd, n;

	REQUIRE(cr_setup(&c, NULL) == 0);
	l = which(&c);
	REQUIRE(l != NULL);
#ifdef __GLIBC__
	l->m.__data.__kind = 0x7f;	/* no mutex type: EINVAL */
#else
	SKIP("needs glibc's mutex fields");
#endif
	cr_check(&c, &(const struct kind){ nm, NULL, X_NONE, 0 });
	snprintf(path, sizeof(path), "%s/slubd.arena", c.d->dir);
	fd = open(path, O_RDWR | O_CLOEXEC);
	CHECKF(fd >= 0 && arena_open(fd, &a, err, sizeof(err)) == 0, "arena_open: %s", err);
	if (fd >= 0)
		close(fd);
	n = a ? slab_reports(a, out, REPORT_RING, &cursor) : 0;
	for (int i = 0; i < n && !named; i++)
		if (out[i].kind == SLAB_ERR_LOCK && strstr(out[i].detail, lock)) {
			named = true;
			printf("  %-24s report: %s: %s\n", nm,
			       out[i].cache_name[0] ? out[i].cache_name : "(arena)", out[i].detail);
		}
	CHECKF(named, "%s: no report names '%s' (%d reports)", nm, lock, n);
	if (a)
		arena_close(a);
	if (c.d->pid)
		e2e_stop(c.d);
}

E2E_CASE(lock_kind) { kind_case("lock_kind", lk_node, "list_lock"); }
E2E_CASE(lock_kind_dbg) { kind_case("lock_kind_dbg", lk_node_dbg, "list_lock"); }
E2E_CASE(lock_kind_zone) { kind_case("lock_kind_zone", lk_zone, "zone lock"); }
E2E_CASE(lock_kind_slab_mutex) { kind_case("lock_kind_slab_mutex", lk_slab_mutex, "slab_mutex"); }
E2E_CASE(lock_kind_cpu) { kind_case("lock_kind_cpu", lk_cpu, "lock"); }

/* ---- random scribbles ----------------------------------------------------------- */

struct region {
	aoff_t off;
	uint64_t len;
};

#define MAX_REGIONS 4096

struct regions {
	struct region r[MAX_REGIONS];
	unsigned int n;
	unsigned int hdr, pd, caches;	/* where each kind starts */
};

static void add_region(struct regions *g, aoff_t off, uint64_t len)
{
	if (g->n < MAX_REGIONS && len)
		g->r[g->n++] = (struct region){ off, len };
}

/* the metadata the random writes aim at; locks left out (see the top) */
static void collect_regions(struct cr *c, struct regions *g)
{
	aoff_t zl = offsetof(struct arena_hdr, zone) + offsetof(struct buddy_zone, lock);
	aoff_t sm = offsetof(struct arena_hdr, slab_mutex);
	aoff_t end = sizeof(struct arena_hdr);
	struct olist *it = &c->h->slab_caches;
	unsigned int guard = 0;

	memset(g, 0, sizeof(*g));
	g->hdr = g->n;
	add_region(g, 0, zl);
	add_region(g, zl + CACHE_LINE, sm - zl - CACHE_LINE);
	add_region(g, sm + CACHE_LINE, end - sm - CACHE_LINE);
	g->pd = g->n;
	/* page descriptors of pages in use, and some of free ones */
	for (uint32_t pfn = c->first_pfn; pfn < c->nr_pages; pfn++) {
		struct page_desc *p = &c->pd[pfn];

		if (!(p->flags & PG_FREE) || pfn % 512 == 0)
			add_region(g, c->h->pd_off + (aoff_t)pfn * sizeof(*p), sizeof(*p));
		if (g->n > MAX_REGIONS / 2)
			break;
	}
	add_region(g, c->h->pd_off, (aoff_t)c->nr_pages * sizeof(struct page_desc));
	g->caches = g->n;
	while (it->next != off_of(c, &c->h->slab_caches) && guard++ < 2048) {
		struct kmem_cache *s = at(c, it->next - offsetof(struct kmem_cache, list));

		add_region(g, off_of(c, s), KMEM_CACHE_SIZE(c->nr_nodes));
		for (unsigned int node = 0; node < c->nr_nodes; node++)
			add_region(g, s->node[node] + CACHE_LINE,
				   sizeof(struct kmem_cache_node) - CACHE_LINE);
		for (unsigned int cpu = 0; cpu < c->nr_cpus && cpu < 4; cpu++) {
			aoff_t k = s->cpu_slab + (aoff_t)cpu * sizeof(struct kmem_cache_cpu);

			add_region(g, k, CACHE_LINE);
			add_region(g, k + 2 * CACHE_LINE, sizeof(struct kmem_cache_cpu) - 2 * CACHE_LINE);
		}
		it = &s->list;
	}
}

/* a value worth writing: random bytes, a small number, or an offset that
 * points somewhere plausible */
static uint64_t plausible(struct cr *c, const struct regions *g, uint64_t *rnd)
{
	uint64_t r = t_rand(rnd);

	switch (r % 6) {
	case 0: return t_rand(rnd);
	case 1: return r >> 56;
	case 2: return t_rand(rnd) % c->size;
	case 3: {
		const struct region *x = &g->r[t_rand(rnd) % g->n];

		return x->off + (t_rand(rnd) % x->len & ~7ULL);
	}
	case 4: return c->h->pd_off + (t_rand(rnd) % c->nr_pages) * sizeof(struct page_desc) + 16;
	default: return ~0ULL - (r >> 60);
	}
}

struct saved {
	aoff_t off;
	unsigned int len;
	uint8_t bytes[8];
};

static void scribble_random(struct cr *c, const struct regions *g, uint64_t *rnd, struct saved *sv)
{
	unsigned int which = (unsigned int)(t_rand(rnd) % 10);
	unsigned int lo, hi;
	const struct region *x;
	uint64_t v;

	/* header 2/10, page descriptors 4/10, caches and their nodes and cpus 4/10 */
	if (which < 2)
		lo = g->hdr, hi = g->pd;
	else if (which < 6)
		lo = g->pd, hi = g->caches;
	else
		lo = g->caches, hi = g->n;
	if (hi <= lo)
		lo = 0, hi = g->n;
	x = &g->r[lo + t_rand(rnd) % (hi - lo)];
	sv->len = 1 + (unsigned int)(t_rand(rnd) % 8);
	if (t_rand(rnd) % 2) {
		sv->len = 8;
		sv->off = x->off + ((t_rand(rnd) % x->len) & ~7ULL);
		v = plausible(c, g, rnd);
	} else {
		sv->off = x->off + t_rand(rnd) % x->len;
		v = t_rand(rnd);
	}
	if (sv->off + sv->len > x->off + x->len)
		sv->len = (unsigned int)(x->off + x->len - sv->off);
	memcpy(sv->bytes, at(c, sv->off), sv->len);
	memcpy(at(c, sv->off), &v, sv->len);
}

static unsigned int env_uint(const char *name, unsigned int dflt)
{
	const char *v = getenv(name);

	return v && *v ? (unsigned int)strtoul(v, NULL, 0) : dflt;
}

/* iters scribbles, each followed by validate and stats (and every tenth by slubctl) */
static void random_phase(struct cr *c, const struct regions *g, uint64_t *rnd, unsigned int iters,
			 int undo, const char *what)
{
	uint64_t t0 = t_now_ms(), worst = 0;
	unsigned int found = 0, stats_err = 0, done = 0;

	for (unsigned int i = 0; i < iters && !t_failed; i++) {
		struct saved sv;
		struct vres v;
		struct sres s;
		uint64_t t1 = t_now_ms();

		scribble_random(c, g, rnd, &sv);
		cr_validate(c, NULL, &v);
		cr_stats(c, NULL, NULL, &s);
		found += v.errors > 0;
		stats_err += s.answered && s.err;
		if (i % 10 == 9) {
			cr_slubctl(c, "stats", NULL, NULL, NULL);
			cr_slubctl(c, "stats", "--json", NULL, NULL);
			cr_slubctl(c, "validate", NULL, NULL, NULL);
		}
		if (i % 50 == 25 && cr_slubctl(c, "create", "cp-new", "64", NULL) == 0)
			cr_slubctl(c, "destroy", "cp-new", NULL, NULL);
		if (i % 50 == 49)
			t_sleep_ms(SCRUB_WAIT_MS);	/* a scrub with nothing else running */
		if (!e2e_alive(c->d, "after a random scribble") || t_failed) {
			printf("  %s: iteration %u: %u bytes at %#llx broke it\n", what, i, sv.len,
			       (unsigned long long)sv.off);
			break;
		}
		if (t_now_ms() - t1 > worst)
			worst = t_now_ms() - t1;
		if (undo)
			memcpy(at(c, sv.off), sv.bytes, sv.len);
		done++;
	}
	printf("  %s: %u scribbles in %llu ms (slowest iteration %llu ms); validate found errors "
	       "after %u, stats answered an error %u times\n", what, done,
	       (unsigned long long)(t_now_ms() - t0), (unsigned long long)worst, found, stats_err);
}

E2E_CASE(random_scribbles)
{
	static struct regions g;
	unsigned int iters = env_uint("T_CORRUPT_ITERS", 200);
	uint64_t seed = env_uint("T_CORRUPT_SEED", 0), rnd;
	struct cr c;

	if (!seed)
		seed = (uint64_t)getpid() * 2654435761u ^ t_now_ms();
	rnd = seed | 1;
	printf("  seed %llu (T_CORRUPT_SEED=%llu repeats it)\n", (unsigned long long)seed,
	       (unsigned long long)seed);
	REQUIRE(cr_setup(&c, NULL) == 0);
	collect_regions(&c, &g);
	random_phase(&c, &g, &rnd, iters, 1, "one at a time");
	if (!t_failed)
		random_phase(&c, &g, &rnd, iters, 0, "piling up");
	t_sleep_ms(SCRUB_WAIT_MS);
	if (e2e_alive(c.d, "after the random scribbles"))
		e2e_stop(c.d);
}

/* ---- a new slubd adopts a corrupted arena ------------------------------------------ */

E2E_CASE(restart_scrub)
{
	static const struct kind picks[] = {
		{ "pg_cache_other", k_pg_cache_other, X_NONE, 0 },
		{ "pg_counters", k_pg_counters, X_NONE, 0 },
		{ "pg_lru_self", k_pg_lru_self, X_NONE, 0 },
		{ "pg_fake_slab", k_pg_fake_slab, X_NONE, 0 },
		{ "pg_fake_slab_dbg", k_pg_fake_slab_dbg, X_NONE, 1 },
		{ "pg_transit", k_pg_transit, X_NONE, 0 },
		{ "partial_loop", k_partial_loop, X_NONE, 0 },
		{ "cpu_pfn_huge", k_cpu_pfn_huge, X_NONE, 0 },
		{ "cpu_partial_junk", k_cpu_partial_junk, X_NONE, 0 },
		{ "cpu_freelist_junk", k_cpu_freelist_junk, X_NONE, 0 },
		{ "oo_objs_more", k_oo_objs_more, X_NONE, 0 },
		{ "zone_list_junk", k_zone_list_junk, X_NONE, 0 },
	};
	char conf[300];
	struct e2e_opts o = { 0 };
	struct e2e_slubd *d2;
	struct vres v;
	struct sres s;
	struct cr c;

	REQUIRE(cr_setup(&c, NULL) == 0);
	e2e_stop(c.d);		/* the arena file stays; this process keeps it mapped */
	for (size_t i = 0; i < sizeof(picks) / sizeof(picks[0]); i++)
		printf("  %s: %s\n", picks[i].name, picks[i].fn(&c) ? "scribbled" : "nothing there");
	snprintf(conf, sizeof(conf), "[arena]\nfile = %s/slubd.arena\n", c.d->dir);
	o.config = conf;
	d2 = e2e_start(&o);
	REQUIRE(d2 != NULL);
	c.d = d2;		/* its startup scrub ran over the damage */
	cr_validate(&c, NULL, &v);
	CHECKF(v.answered && v.errors > 0, "validate after the restart: %llu errors",
	       (unsigned long long)v.errors);
	printf("  after the restart: validate %llu errors, first: %.120s\n",
	       (unsigned long long)v.errors, v.first);
	cr_stats(&c, NULL, P_NAME, &s);
	CHECK(s.answered);
	cr_slubctl(&c, "stats", NULL, NULL, NULL);
	t_sleep_ms(SCRUB_WAIT_MS);
	if (e2e_alive(d2, "after the restart's scrubs"))
		e2e_stop(d2);
}

T_MAIN(CACHE_KINDS(LIST_CASE) NODE_KINDS(LIST_CASE) PAGE_KINDS(LIST_CASE) CPU_KINDS(LIST_CASE)
       HDR_KINDS(LIST_CASE) T_CASE(report_ring), T_CASE(random_scribbles), T_CASE(restart_scrub),
       T_CASE(lock_kind), T_CASE(lock_kind_dbg), T_CASE(lock_kind_zone),
       T_CASE(lock_kind_slab_mutex), T_CASE(lock_kind_cpu),
       T_CASE(lock_word), T_CASE(lock_word_dbg), T_CASE(lock_word_zone),
       T_CASE(lock_word_slab_mutex), T_CASE(lock_word_cpu))
