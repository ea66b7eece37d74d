/* e2e_corrupt.c - helpers of the t_corrupt tests; see e2e_corrupt.h. */
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

#include "e2e_corrupt.h"

/* ---- the arena, as the test sees it ------------------------------------------ */

aoff_t cr_off_of(const struct cr *c, const void *p)
{
	return (aoff_t)((const char *)p - c->base);
}

void *cr_at(const struct cr *c, aoff_t off)
{
	return c->base + off;
}

struct kmem_cache_cpu *cr_cpu_of(struct cr *c, struct kmem_cache *s, unsigned int cpu)
{
	return (struct kmem_cache_cpu *)cr_at(c, s->cpu_slab) + cpu;
}

struct kmem_cache_cpu *cr_busy_cpu(struct cr *c, struct kmem_cache *s)
{
	for (unsigned int cpu = 0; cpu < c->nr_cpus; cpu++)
		if (cr_cpu_of(c, s, cpu)->slab_pfn)
			return cr_cpu_of(c, s, cpu);
	return cr_cpu_of(c, s, 0);
}

struct kmem_cache_cpu *cr_partial_cpu(struct cr *c, struct kmem_cache *s)
{
	for (unsigned int cpu = 0; cpu < c->nr_cpus; cpu++)
		if (cr_cpu_of(c, s, cpu)->partial)
			return cr_cpu_of(c, s, cpu);
	return NULL;
}

struct kmem_cache_node *cr_node0(struct cr *c, struct kmem_cache *s)
{
	return cr_at(c, s->node[0]);
}

struct page_desc *cr_slab_on(struct cr *c, struct kmem_cache *s, int list)
{
	for (uint32_t pfn = c->first_pfn; pfn < c->nr_pages; pfn++) {
		struct page_desc *p = &c->pd[pfn];

		if ((p->flags & (PG_HEAD | PG_SLAB)) == (PG_HEAD | PG_SLAB) && p->cache == s->self &&
		    p->list == list)
			return p;
	}
	return NULL;
}

struct page_desc *cr_free_head(struct cr *c)
{
	for (uint32_t pfn = c->nr_pages; pfn-- > c->first_pfn;)
		if ((c->pd[pfn].flags & (PG_HEAD | PG_FREE)) == (PG_HEAD | PG_FREE))
			return &c->pd[pfn];
	return NULL;
}

uint32_t cr_pfn_of(struct cr *c, struct page_desc *p)
{
	return (uint32_t)(p - c->pd);
}

aoff_t cr_lru_off(struct cr *c, struct page_desc *p)
{
	return cr_off_of(c, &p->lru);
}

/* ---- requests with a deadline ---------------------------------------------- */

int cr_call(const char *sock, Slubd__Request *req, Slubd__Response **resp,
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

void cr_validate(struct cr *c, const char *name, struct cr_vres *v)
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

void cr_stats(struct cr *c, const char *name, const char *pool, struct cr_sres *s)
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

int cr_slubctl(struct cr *c, const char *a1, const char *a2, const char *a3, char **out)
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

int cr_setup(struct cr *c, const struct e2e_opts *o)
{
	struct cr_vres v;
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
	c->pd = cr_at(c, c->h->pd_off);
	cr_validate(c, NULL, &v);
	CHECKF(v.answered && v.err == 0 && v.errors == 0, "validate before any scribble: %llu errors: %s",
	       (unsigned long long)v.errors, v.first);
	if (t_failed)
		return -1;
	t_sleep_ms(SCRUB_WAIT_MS);	/* let the scrub of that close run first */
	return 0;
}

/* ---- one scribble, checked -------------------------------------------------- */

void cr_check(struct cr *c, const struct cr_kind *k)
{
	const char *pool = k->dbg ? D_NAME : P_NAME;
	struct cr_vres all, one;
	struct cr_sres st, st1;
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

void cr_run_kind(const struct cr_kind *k)
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
