/*
 * t_corrupt_random.c - a corrupted arena: seeded random scribbles.
 *
 * The scribbles, the requests with a deadline and the checks every scribble
 * gets are in e2e_corrupt.c; t_corrupt.c says what those checks are.
 *
 *   random_scribbles a seeded loop of random writes into the header (its
 *                    two locks excepted), page descriptors, cache, node and
 *                    cpu descriptors (their lock lines excepted): first each
 *                    write undone after its checks, then left to pile up
 *
 * $T_CORRUPT_SEED sets the seed, $T_CORRUPT_ITERS the iterations per phase
 * (default 200).
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
#include "e2e_corrupt.h"

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
	while (it->next != cr_off_of(c, &c->h->slab_caches) && guard++ < 2048) {
		struct kmem_cache *s = cr_at(c, it->next - offsetof(struct kmem_cache, list));

		add_region(g, cr_off_of(c, s), KMEM_CACHE_SIZE(c->nr_nodes));
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
	memcpy(sv->bytes, cr_at(c, sv->off), sv->len);
	memcpy(cr_at(c, sv->off), &v, sv->len);
}

/* iters scribbles, each followed by validate and stats (and every tenth by slubctl) */
static void random_phase(struct cr *c, const struct regions *g, uint64_t *rnd, unsigned int iters,
			 int undo, const char *what)
{
	uint64_t t0 = t_now_ms(), worst = 0;
	unsigned int found = 0, stats_err = 0, done = 0;

	for (unsigned int i = 0; i < iters && !t_failed; i++) {
		struct saved sv;
		struct cr_vres v;
		struct cr_sres s;
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
			memcpy(cr_at(c, sv.off), sv.bytes, sv.len);
		done++;
	}
	printf("  %s: %u scribbles in %llu ms (slowest iteration %llu ms); validate found errors "
	       "after %u, stats answered an error %u times\n", what, done,
	       (unsigned long long)(t_now_ms() - t0), (unsigned long long)worst, found, stats_err);
}

E2E_CASE(random_scribbles)
{
	static struct regions g;
	unsigned int iters = (unsigned int)t_env_ul("T_CORRUPT_ITERS", 200);
	uint64_t seed = t_env_ul("T_CORRUPT_SEED", 0), rnd;
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

T_MAIN(T_CASE(random_scribbles))
