/*
 * t_slub.c - kmem_cache-level behaviour of the SLUB engine: argument checks,
 * cache sharing by name, object placement, validate counts, __GFP_ZERO,
 * constructors, bulk operations, shrink, destroy and statistics.
 */
#include <pthread.h>

#include "internal.h"	/* scrub_scribbled_list: the node's list, pd.list */
#include "unit.h"

static int cmp_ptr(const void *x, const void *y)
{
	uintptr_t a = (uintptr_t)*(void *const *)x, b = (uintptr_t)*(void *const *)y;

	return a < b ? -1 : a > b;
}

/* validate s and compare its counts with what the test holds */
static void expect_counts(struct arena *a, struct kmem_cache *s, uint64_t allocated,
			  const char *when)
{
	struct slab_validate_result r;
	struct slab_cache_info ci;
	int rc = unit_validate(a, s, &r);

	CHECKF(rc == 0, "%s: validate rc=%d: %s", when, rc, r.first_error);
	CHECKF(r.nr_errors == 0, "%s: %llu errors", when, (unsigned long long)r.nr_errors);
	CHECKF(r.allocated == allocated, "%s: validate counts %llu allocated, test holds %llu",
	       when, (unsigned long long)r.allocated, (unsigned long long)allocated);
	CHECKF(r.free + r.allocated == r.objects, "%s: free %llu + allocated %llu != objects %llu",
	       when, (unsigned long long)r.free, (unsigned long long)r.allocated,
	       (unsigned long long)r.objects);
	CHECKF(r.caches == 1, "%s: walked %llu caches", when, (unsigned long long)r.caches);
	if (unit_info(a, s, &ci) == 0) {
		CHECKF(ci.active_objs == allocated, "%s: info active_objs %llu, want %llu", when,
		       (unsigned long long)ci.active_objs, (unsigned long long)allocated);
		CHECKF(ci.num_objs == r.objects, "%s: info num_objs %llu, validate objects %llu",
		       when, (unsigned long long)ci.num_objs, (unsigned long long)r.objects);
		CHECKF(ci.num_slabs == r.slabs, "%s: info num_slabs %llu, validate slabs %llu",
		       when, (unsigned long long)ci.num_slabs, (unsigned long long)r.slabs);
		CHECKF(ci.num_objs <= ci.num_slabs * ci.objs_per_slab,
		       "%s: num_objs %llu, %llu slabs of %u", when, (unsigned long long)ci.num_objs,
		       (unsigned long long)ci.num_slabs, ci.objs_per_slab);
	}
}

ISOLATED(create_bad_args)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s;
	char name32[33], name31[32];
	static const char *bad_names[] = { "", "a b", "a/b", "tab\there", "caf\xc3\xa9", "x*y",
					   "new\nline", "semi;colon" };

	REQUIRE(a);
	memset(name32, 'n', 32);
	name32[32] = '\0';
	memset(name31, 'n', 31);
	name31[31] = '\0';

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		s = (struct kmem_cache *)1;
		CHECKF(slab_cache_create(a, bad_names[i], 64, 0, 0, NULL, &s) == -EINVAL,
		       "name '%s'", bad_names[i]);
	}
	CHECK(slab_cache_create(a, name32, 64, 0, 0, NULL, &s) == -EINVAL);
	CHECK(slab_cache_find(a, name32) == NULL);
	CHECK(slab_cache_create(a, "size0", 0, 0, 0, NULL, &s) == -EINVAL);
	CHECK(slab_cache_create(a, "toobig", SLUB_MAX_OBJECT_SIZE + 1, 0, 0, NULL, &s) == -EINVAL);
	CHECK(slab_cache_create(a, "huge", (size_t)1 << 40, 0, 0, NULL, &s) == -EINVAL);
	CHECK(slab_cache_create(a, "align3", 64, 3, 0, NULL, &s) == -EINVAL);
	CHECK(slab_cache_create(a, "align24", 64, 24, 0, NULL, &s) == -EINVAL);
	CHECK(slab_cache_create(a, "align8k", 64, 8192, 0, NULL, &s) == -EINVAL);
	CHECK(slab_cache_create(a, "flag1", 64, 0, 0x1, NULL, &s) == -EINVAL);
	CHECK(slab_cache_create(a, "flag40000000", 64, 0, 0x40000000UL, NULL, &s) == -EINVAL);
	CHECK(slab_cache_find(a, "size0") == NULL);
	CHECK(slab_cache_find(a, "align3") == NULL);
	CHECK(slab_cache_find(a, "flag1") == NULL);

	/* the limits themselves are fine */
	s = NULL;
	CHECK(slab_cache_create(a, name31, 64, 0, 0, NULL, &s) == 0 && s);
	CHECK(s && slab_cache_find(a, name31) == s);
	CHECK(s && !strcmp(slab_cache_name(s), name31));
	s = NULL;
	CHECK(slab_cache_create(a, "Az09._:-", 1, 0, 0, NULL, &s) == 0 && s);
	CHECK(s && slab_cache_size(s) == 1);
	s = NULL;
	CHECK(slab_cache_create(a, "align4k", 100, 4096, 0, NULL, &s) == 0 && s);
	if (s) {
		void *p = slab_alloc(a, s, GFP_KERNEL);

		CHECK(p && ((uintptr_t)p & 4095) == 0);
		slab_free(a, s, p);
	}
	s = NULL;
	CHECK(slab_cache_create(a, "allflags", 64, 0, SLAB_USER_FLAGS, NULL, &s) == 0 && s);
	s = NULL;
	CHECK(slab_cache_create(a, "max-size", SLUB_MAX_OBJECT_SIZE, 0, 0, NULL, &s) == 0 && s);
	if (s) {
		char *p = slab_alloc(a, s, GFP_KERNEL);

		CHECK(p != NULL);
		if (p) {
			CHECK(arena_offset(a, p) + SLUB_MAX_OBJECT_SIZE <= arena_size(a));
			memset(p, 0x77, SLUB_MAX_OBJECT_SIZE);
			slab_free(a, s, p);
		}
	}
	arena_close(a);
}

ISOLATED(create_same_name)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s1 = NULL, *s2 = NULL, *s3 = NULL;
	struct slab_cache_info ci;

	REQUIRE(a);
	CHECK(slab_cache_find(a, "shared") == NULL);
	REQUIRE(slab_cache_create(a, "shared", 100, 16, 0, NULL, &s1) == 0 && s1);
	CHECK(slab_cache_find(a, "shared") == s1);
	CHECK(unit_info(a, s1, &ci) == 0 && ci.refcount == 1);
	CHECK(!strcmp(ci.name, "shared"));
	CHECK(ci.object_size == 100 && slab_cache_size(s1) == 100);
	CHECK(!strcmp(slab_cache_name(s1), "shared"));

	CHECK(slab_cache_create(a, "shared", 100, 16, 0, NULL, &s2) == 0);
	CHECK(s2 == s1);
	CHECK(unit_info(a, s1, &ci) == 0 && ci.refcount == 2);

	/* other geometry under the same name */
	CHECK(slab_cache_create(a, "shared", 200, 16, 0, NULL, &s3) == -EEXIST);
	CHECK(slab_cache_create(a, "shared", 100, 64, 0, NULL, &s3) == -EEXIST);
	CHECK(slab_cache_create(a, "shared", 100, 16, SLAB_POISON, NULL, &s3) == -EEXIST);
	CHECK(unit_info(a, s1, &ci) == 0 && ci.refcount == 2);

	/* an object allocated through one handle is an object of the other */
	{
		void *p = slab_alloc(a, s2, GFP_KERNEL);
		CHECK(p != NULL);
		expect_counts(a, s1, 1, "one object");
		slab_free(a, s1, p);
	}

	CHECK(slab_cache_destroy(a, s2) == 0);
	CHECK(slab_cache_find(a, "shared") == s1);
	CHECK(unit_info(a, s1, &ci) == 0 && ci.refcount == 1);
	CHECK(slab_cache_destroy(a, s1) == 0);
	CHECK(slab_cache_find(a, "shared") == NULL);

	/* the name is free again, for any geometry */
	s3 = NULL;
	CHECK(slab_cache_create(a, "shared", 200, 0, 0, NULL, &s3) == 0 && s3);
	CHECK(s3 && slab_cache_size(s3) == 200);
	arena_close(a);
}

static void many_objects(struct arena *a, const char *name, size_t size, size_t align, int n)
{
	struct kmem_cache *s = unit_cache(a, name, size, align, 0, NULL);
	void **p = calloc((size_t)n, sizeof(*p)), **sorted = calloc((size_t)n, sizeof(*p));
	struct slab_cache_info ci;
	size_t want_align = align ? align : sizeof(void *);
	int got = 0, bad = 0;

	if (!s || !p || !sorted) {
		CHECK(0);
		goto out;
	}
	CHECK(unit_info(a, s, &ci) == 0);
	CHECKF(ci.size >= size && ci.size % want_align == 0, "%s: size %u align %u", name,
	       ci.size, ci.align);
	for (got = 0; got < n; got++) {
		aoff_t off;

		p[got] = slab_alloc(a, s, GFP_KERNEL);
		if (!p[got]) {
			CHECKF(0, "%s: alloc %d failed errno %d", name, got, errno);
			break;
		}
		off = arena_offset(a, p[got]);
		if ((off == 0 || off + size > arena_size(a) || (uintptr_t)p[got] % want_align) && bad++ < 5)
			CHECKF(0, "%s: object %d at %p (offset %#llx) misplaced", name, got, p[got],
			       (unsigned long long)off);
		memset(p[got], got & 0xff, size);
		if (got == n / 2)
			expect_counts(a, s, (uint64_t)got + 1, "half allocated");
	}
	expect_counts(a, s, (uint64_t)got, "all allocated");

	/* distinct and not overlapping */
	memcpy(sorted, p, (size_t)got * sizeof(*p));
	qsort(sorted, (size_t)got, sizeof(*sorted), cmp_ptr);
	for (int i = 1; i < got; i++)
		if ((uintptr_t)sorted[i] - (uintptr_t)sorted[i - 1] < size) {
			CHECKF(0, "%s: objects %p and %p overlap", name, sorted[i - 1], sorted[i]);
			break;
		}
	/* each object still holds what was written into it */
	for (int i = 0; i < got; i++) {
		const unsigned char *c = p[i];

		if (c[0] != (i & 0xff) || c[size - 1] != (i & 0xff)) {
			CHECKF(0, "%s: object %d overwritten", name, i);
			break;
		}
	}

	/* free every other one, then the rest */
	for (int i = 0; i < got; i += 2)
		slab_free(a, s, p[i]);
	expect_counts(a, s, (uint64_t)(got / 2), "every other freed");
	for (int i = 1; i < got; i += 2)
		slab_free(a, s, p[i]);
	expect_counts(a, s, 0, "all freed");
	{
		struct slab_validate_result r;
		CHECKF(unit_validate(a, NULL, &r) == 0, "whole arena: %s", r.first_error);
	}
out:
	free(p);
	free(sorted);
}

ISOLATED(many_objects_64)
{
	struct arena *a = unit_arena();

	REQUIRE(a);
	many_objects(a, "objs64", 64, 0, 10000);
	arena_close(a);
}

ISOLATED(many_objects_aligned)
{
	struct arena *a = unit_arena();

	REQUIRE(a);
	many_objects(a, "objs40-a32", 40, 32, 5000);
	many_objects(a, "objs24-a8", 24, 8, 5000);
	many_objects(a, "objs200-a256", 200, 256, 2000);
	many_objects(a, "objs3000", 3000, 0, 1000);
	arena_close(a);
}

ISOLATED(gfp_zero)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s;
	enum { N = 300, SZ = 200 };
	unsigned char *p[N];
	int nonzero = 0;

	REQUIRE(a);
	s = unit_cache(a, "zero", SZ, 0, 0, NULL);
	REQUIRE(s);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			p[i] = slab_alloc(a, s, GFP_KERNEL);
			REQUIRE(p[i]);
			memset(p[i], 0xa5, SZ);
		}
		for (int i = 0; i < N; i++)
			slab_free(a, s, p[i]);
		for (int i = 0; i < N; i++) {
			p[i] = slab_alloc(a, s, __GFP_ZERO);
			REQUIRE(p[i]);
			for (int j = 0; j < SZ; j++)
				if (p[i][j]) {
					nonzero++;
					break;
				}
			memset(p[i], 0x5a, SZ);
		}
		for (int i = 0; i < N; i++)
			slab_free(a, s, p[i]);
	}
	CHECKF(nonzero == 0, "%d objects from __GFP_ZERO were not zeroed", nonzero);
	/* bulk too */
	{
		void *b[N];
		CHECK(slab_alloc_bulk(a, s, __GFP_ZERO, N, b) == N);
		nonzero = 0;
		for (int i = 0; i < N; i++)
			for (int j = 0; j < SZ; j++)
				if (((unsigned char *)b[i])[j]) {
					nonzero++;
					break;
				}
		CHECKF(nonzero == 0, "%d bulk objects not zeroed", nonzero);
		slab_free_bulk(a, s, N, b);
	}
	expect_counts(a, s, 0, "gfp_zero end");
	arena_close(a);
}

#define CTOR_MAGIC 0xc0ffee00c0ffee00ULL
static unsigned long ctor_calls;

static void ctor_fn(void *obj)
{
	ctor_calls++;
	((uint64_t *)obj)[0] = CTOR_MAGIC;
	((uint64_t *)obj)[1] = 0;
	memset((char *)obj + 16, 0xcc, 96 - 16);
}

ISOLATED(ctor_runs_on_new_slabs)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s;
	struct slab_cache_info ci;
	enum { N = 1000 };
	uint64_t *p[N];
	int bad = 0;

	REQUIRE(a);
	ctor_calls = 0;
	s = unit_cache(a, "ctor96", 96, 0, 0, ctor_fn);
	REQUIRE(s);
	CHECKF(ctor_calls == 0, "ctor ran %lu times before any allocation", ctor_calls);
	p[0] = slab_alloc(a, s, GFP_KERNEL);
	REQUIRE(p[0]);
	REQUIRE(unit_info(a, s, &ci) == 0);
	CHECKF(ci.num_slabs == 1 && ctor_calls == ci.objs_per_slab,
	       "after one alloc: %lu ctor calls, %llu slabs of %u objects", ctor_calls,
	       (unsigned long long)ci.num_slabs, ci.objs_per_slab);
	CHECK(p[0][0] == CTOR_MAGIC);
	for (int i = 1; i < N; i++) {
		p[i] = slab_alloc(a, s, GFP_KERNEL);
		REQUIRE(p[i]);
		if (p[i][0] != CTOR_MAGIC || p[i][1] != 0 || ((unsigned char *)p[i])[95] != 0xcc)
			bad++;
	}
	CHECKF(bad == 0, "%d objects not in the ctor's state", bad);
	REQUIRE(unit_info(a, s, &ci) == 0);
	CHECKF(ctor_calls == ci.num_slabs * ci.objs_per_slab,
	       "%lu ctor calls for %llu slabs of %u objects", ctor_calls,
	       (unsigned long long)ci.num_slabs, ci.objs_per_slab);

	/* objects freed untouched come back in the constructed state: the free
	 * pointer must not live inside a constructed object */
	CHECKF(ci.offset_fp >= ci.object_size, "offset_fp %u inside a constructed object of %u",
	       ci.offset_fp, ci.object_size);
	{
		/* the last ten came from the current cpu slab: reusing them makes
		 * no new slab, so the ctor does not run */
		unsigned long calls = ctor_calls;

		bad = 0;
		for (int i = N - 10; i < N; i++)
			slab_free(a, s, p[i]);
		for (int i = N - 10; i < N; i++) {
			p[i] = slab_alloc(a, s, GFP_KERNEL);
			REQUIRE(p[i]);
			if (p[i][0] != CTOR_MAGIC || p[i][1] != 0 || ((unsigned char *)p[i])[95] != 0xcc)
				bad++;
		}
		CHECKF(bad == 0, "%d reused objects lost the ctor's state", bad);
		CHECKF(ctor_calls == calls, "ctor ran %lu more times reusing free objects",
		       ctor_calls - calls);
	}
	/* all freed (empty slabs may go back to the buddy) and allocated again:
	 * the ctor ran once per object of every slab ever made */
	for (int i = 0; i < N; i++)
		slab_free(a, s, p[i]);
	bad = 0;
	for (int i = 0; i < N; i++) {
		p[i] = slab_alloc(a, s, GFP_KERNEL);
		REQUIRE(p[i]);
		if (p[i][0] != CTOR_MAGIC || p[i][1] != 0 || ((unsigned char *)p[i])[95] != 0xcc)
			bad++;
	}
	CHECKF(bad == 0, "%d objects lost the ctor's state after free and reuse", bad);
	REQUIRE(unit_info(a, s, &ci) == 0);
	CHECKF(ctor_calls == ci.stat[ALLOC_SLAB] * ci.objs_per_slab,
	       "%lu ctor calls for %llu slabs made of %u objects", ctor_calls,
	       (unsigned long long)ci.stat[ALLOC_SLAB], ci.objs_per_slab);
	for (int i = 0; i < N; i++)
		slab_free(a, s, p[i]);
	expect_counts(a, s, 0, "ctor end");
	arena_close(a);
}

/*
 * A constructor runs inside an allocation, on this process's copy of the
 * pool's geometry (geom.c).  If the process drops many other copies
 * meanwhile (here the ctor itself creates and destroys 300 pools, as another
 * thread could while the ctor waits), the copy the allocation is using must
 * stay whole, even when a scribble made the process drop that copy first
 * (the pool marked dead for a moment): it was freed after GEOM_RETIRED (256)
 * more drops, and the allocation then read freed memory (a fault, or ASan's
 * heap-use-after-free).
 */
static struct arena *churn_arena;
static int churn_done;
static struct kmem_cache *churn_pool;

static void churn_ctor(void *obj)
{
	memset(obj, 0x5a, 64);
	uint32_t state;

	if (churn_done++)
		return;
	/* a scribbler marks the pool dead for a moment: an alloc here (another
	 * thread of this process, say) finds it so and drops this process's copy */
	state = __atomic_exchange_n(&churn_pool->state, 0, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 4; i++)
		if (slab_alloc(churn_arena, churn_pool, GFP_KERNEL))
			churn_done = -1000;	/* a dead pool gave an object */
	__atomic_store_n(&churn_pool->state, state, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 300; i++) {
		struct kmem_cache *t = NULL;
		char name[32];

		snprintf(name, sizeof(name), "churn.%d", i);
		if (slab_cache_create(churn_arena, name, 32, 0, 0, NULL, &t) == 0)
			slab_cache_destroy(churn_arena, t);
	}
}

ISOLATED(ctor_while_pools_churn)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s;
	void *p[200];

	REQUIRE(a);
	churn_arena = a;
	s = churn_pool = unit_cache(a, "churned", 64, 0, 0, churn_ctor);
	REQUIRE(s);
	for (int i = 0; i < 200; i++) {
		p[i] = slab_alloc(a, s, GFP_KERNEL);
		CHECKF(p[i] != NULL, "alloc %d: %s", i, strerror(errno));
	}
	CHECKF(churn_done > 0, "the pool gave objects while marked dead (%d)", churn_done);
	for (int i = 0; i < 200; i++)
		slab_free(a, s, p[i]);
	arena_close(a);
}

ISOLATED(bulk)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s;
	enum { N = 500 };
	void *p[N], *sorted[N];

	REQUIRE(a);
	s = unit_cache(a, "bulk256", 256, 0, 0, NULL);
	REQUIRE(s);
	for (int round = 0; round < 4; round++) {
		memset(p, 0, sizeof(p));
		CHECK(slab_alloc_bulk(a, s, GFP_KERNEL, N, p) == N);
		for (int i = 0; i < N; i++) {
			CHECK(p[i] != NULL);
			if (!p[i])
				return;
			memset(p[i], i, 256);
		}
		memcpy(sorted, p, sizeof(p));
		qsort(sorted, N, sizeof(*sorted), cmp_ptr);
		for (int i = 1; i < N; i++)
			if ((uintptr_t)sorted[i] - (uintptr_t)sorted[i - 1] < 256) {
				CHECKF(0, "bulk objects %p and %p overlap", sorted[i - 1], sorted[i]);
				break;
			}
		expect_counts(a, s, N, "bulk allocated");
		/* mix: free some singly, the rest in bulk */
		for (int i = 0; i < 10; i++)
			slab_free(a, s, p[i]);
		slab_free_bulk(a, s, N - 10, p + 10);
		expect_counts(a, s, 0, "bulk freed");
	}

	/* more than the arena holds: 0, nothing allocated */
	{
		size_t big = (64u << 20) / 256;
		void **q = calloc(big, sizeof(*q));

		REQUIRE(q);
		errno = 0;
		CHECK(slab_alloc_bulk(a, s, GFP_KERNEL, big, q) == 0);
		CHECK(errno == ENOMEM);
		expect_counts(a, s, 0, "bulk beyond the arena");
		free(q);
		CHECK(slab_alloc_bulk(a, s, GFP_KERNEL, N, p) == N);
		slab_free_bulk(a, s, N, p);
	}
	arena_close(a);
}

ISOLATED(shrink_frees_empty_slabs)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s;
	struct slab_cache_info ci, ci2;
	enum { N = 5000 };
	void **p = calloc(N, sizeof(*p));
	uint64_t used_full, used_empty, used_shrunk, slab_bytes;

	REQUIRE(a && p);
	s = unit_cache(a, "shrink512", 512, 0, 0, NULL);
	REQUIRE(s);
	for (int i = 0; i < N; i++) {
		p[i] = slab_alloc(a, s, GFP_KERNEL);
		REQUIRE(p[i]);
	}
	used_full = arena_used_bytes(a);
	for (int i = 0; i < N; i++)
		slab_free(a, s, p[i]);
	used_empty = arena_used_bytes(a);
	REQUIRE(unit_info(a, s, &ci) == 0);
	CHECK(ci.active_objs == 0);
	CHECK(ci.num_slabs > 0);
	CHECK(used_empty <= used_full);
	slab_bytes = 4096ull << ci.order;

	CHECK(slab_shrink(a, s) == 0);
	REQUIRE(unit_info(a, s, &ci2) == 0);
	used_shrunk = arena_used_bytes(a);
	CHECKF(ci2.num_slabs == 0, "after shrink %llu slabs remain (were %llu)",
	       (unsigned long long)ci2.num_slabs, (unsigned long long)ci.num_slabs);
	CHECK(ci2.num_objs == 0);
	CHECK(ci2.nr_partial == 0);
	CHECKF(used_shrunk < used_empty, "used bytes %llu -> %llu", (unsigned long long)used_empty,
	       (unsigned long long)used_shrunk);
	CHECKF(used_empty - used_shrunk == (ci.num_slabs - ci2.num_slabs) * slab_bytes,
	       "used bytes fell by %llu; %llu slabs of %llu bytes were freed",
	       (unsigned long long)(used_empty - used_shrunk),
	       (unsigned long long)(ci.num_slabs - ci2.num_slabs), (unsigned long long)slab_bytes);
	expect_counts(a, s, 0, "shrunk");

	/* shrink keeps slabs that hold objects */
	for (int i = 0; i < N; i++) {
		p[i] = slab_alloc(a, s, GFP_KERNEL);
		REQUIRE(p[i]);
		memset(p[i], 1, 512);
	}
	REQUIRE(unit_info(a, s, &ci) == 0);
	for (int i = 0; i < N; i++)
		if (i % 100)
			slab_free(a, s, p[i]);
	CHECK(slab_shrink(a, s) == 0);
	REQUIRE(unit_info(a, s, &ci2) == 0);
	CHECK(ci2.num_slabs >= (N / 100 + ci.objs_per_slab - 1) / ci.objs_per_slab);
	CHECK(ci2.num_slabs <= N / 100);
	CHECK(ci2.num_slabs < ci.num_slabs);
	expect_counts(a, s, N / 100, "shrunk, 1% alive");
	for (int i = 0; i < N; i += 100) {
		CHECK(((unsigned char *)p[i])[511] == 1);
		slab_free(a, s, p[i]);
	}
	CHECK(slab_shrink(a, s) == 0);
	REQUIRE(unit_info(a, s, &ci2) == 0);
	CHECK(ci2.num_slabs == 0);
	free(p);
	arena_close(a);
}

/* the literal sequence: destroy while busy, free, destroy again */
ISOLATED(destroy_busy)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s;
	struct slab_cache_info ci;
	void *p[200];
	int n;

	REQUIRE(a);
	s = unit_cache(a, "busy", 64, 0, 0, NULL);
	REQUIRE(s);
	REQUIRE(unit_info(a, s, &ci) == 0);
	n = (int)(3 * ci.objs_per_slab);
	if (n > 200)
		n = 200;
	for (int i = 0; i < n; i++) {
		p[i] = slab_alloc(a, s, GFP_KERNEL);
		REQUIRE(p[i]);
	}
	/* keep only the last one */
	for (int i = 0; i < n - 1; i++)
		slab_free(a, s, p[i]);

	CHECK(slab_cache_destroy(a, s) == -EBUSY);
	CHECK(slab_cache_find(a, "busy") == s);
	if (unit_info(a, s, &ci) == 0) {
		CHECKF(ci.refcount == 0, "refcount %d after destroy", ci.refcount);
		CHECKF(ci.num_slabs == 1, "%llu slabs kept (only one holds an object)",
		       (unsigned long long)ci.num_slabs);
		CHECK(ci.active_objs == 1);
	}
	expect_counts(a, s, 1, "destroyed while busy");
	/* the object is still usable and freeable */
	memset(p[n - 1], 0x42, 64);
	slab_free(a, s, p[n - 1]);
	/*
	 * No reference is left to drop: a second destroy retries the removal
	 * (shm.h), which now succeeds because the cache is empty, and the
	 * refcount never goes below 0.
	 */
	CHECK(slab_cache_destroy(a, s) == 0);
	CHECK(slab_cache_find(a, "busy") == NULL);
	{
		struct slab_validate_result r;
		CHECKF(unit_validate(a, NULL, &r) == 0, "%s", r.first_error);
	}
	arena_close(a);
}

/* the same, taking a reference again by create before the final destroy */
ISOLATED(destroy_busy_reopen)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s, *s2 = NULL;
	struct slab_cache_info ci;
	void *x;
	uint64_t used0, used1;

	REQUIRE(a);
	used0 = arena_used_bytes(a);
	s = unit_cache(a, "busy2", 128, 0, 0, NULL);
	REQUIRE(s);
	x = slab_alloc(a, s, GFP_KERNEL);
	REQUIRE(x);
	CHECK(slab_cache_destroy(a, s) == -EBUSY);
	CHECK(slab_cache_find(a, "busy2") == s);
	CHECK(slab_cache_create(a, "busy2", 128, 0, 0, NULL, &s2) == 0 && s2 == s);
	CHECK(unit_info(a, s, &ci) == 0 && ci.refcount == 1);
	slab_free(a, s, x);
	CHECK(slab_cache_destroy(a, s) == 0);
	CHECK(slab_cache_find(a, "busy2") == NULL);
	used1 = arena_used_bytes(a);
	/* the cache's slab went back; its descriptor may keep a boot-cache slab */
	CHECKF(used1 <= used0 + (64u << 10), "used %llu -> %llu", (unsigned long long)used0,
	       (unsigned long long)used1);
	{
		struct slab_validate_result r;
		CHECKF(unit_validate(a, NULL, &r) == 0, "%s", r.first_error);
	}
	arena_close(a);
}

ISOLATED(stats_move)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s;
	struct slab_cache_info ci;
	enum { HOT = 100000, MANY = 3000 };
	void *p[MANY];
	uint64_t allocs = 0, frees = 0;

	REQUIRE(a);
	for (int i = 0; i < NR_SLAB_STATS; i++) {
		const char *n = slab_stat_name((enum slab_stat)i);

		CHECKF(n && n[0], "stat %d has no name", i);
		for (int j = 0; n && j < i; j++) {
			const char *m = slab_stat_name((enum slab_stat)j);
			CHECKF(!m || strcmp(n, m), "stats %d and %d both called %s", i, j, n);
		}
	}
	s = unit_cache(a, "stats", 48, 0, 0, NULL);
	REQUIRE(s);
	REQUIRE(unit_info(a, s, &ci) == 0);
	for (int i = 0; i < NR_SLAB_STATS; i++)
		CHECKF(ci.stat[i] == 0, "fresh cache: %s = %llu", slab_stat_name((enum slab_stat)i),
		       (unsigned long long)ci.stat[i]);
	for (int i = 0; i < HOT; i++) {
		void *x = slab_alloc(a, s, GFP_KERNEL);

		REQUIRE(x);
		slab_free(a, s, x);
		allocs++;
		frees++;
	}
	for (int i = 0; i < MANY; i++) {
		p[i] = slab_alloc(a, s, GFP_KERNEL);
		REQUIRE(p[i]);
		allocs++;
	}
	for (int i = 0; i < MANY; i++) {
		slab_free(a, s, p[i]);
		frees++;
	}
	REQUIRE(unit_info(a, s, &ci) == 0);
	CHECKF(ci.stat[ALLOC_FASTPATH] > HOT / 2, "alloc_fastpath %llu",
	       (unsigned long long)ci.stat[ALLOC_FASTPATH]);
	CHECK(ci.stat[ALLOC_SLOWPATH] > 0);
	CHECK(ci.stat[FREE_FASTPATH] > HOT / 2);
	CHECK(ci.stat[ALLOC_SLAB] > 1);
	/* single-threaded, each allocation is counted once, on one path */
	CHECKF(ci.stat[ALLOC_FASTPATH] + ci.stat[ALLOC_SLOWPATH] == allocs,
	       "fast %llu + slow %llu != %llu allocations",
	       (unsigned long long)ci.stat[ALLOC_FASTPATH],
	       (unsigned long long)ci.stat[ALLOC_SLOWPATH], (unsigned long long)allocs);
	CHECKF(ci.stat[FREE_FASTPATH] + ci.stat[FREE_SLOWPATH] == frees,
	       "fast %llu + slow %llu != %llu frees", (unsigned long long)ci.stat[FREE_FASTPATH],
	       (unsigned long long)ci.stat[FREE_SLOWPATH], (unsigned long long)frees);
	CHECKF(ci.stat[ALLOC_SLAB] >= ci.num_slabs, "alloc_slab %llu < %llu slabs",
	       (unsigned long long)ci.stat[ALLOC_SLAB], (unsigned long long)ci.num_slabs);
	for (int i = 0; i < SLAB_ERR_NR; i++)
		CHECK(ci.errors[i] == 0);
	arena_close(a);
}

ISOLATED(hwcache_align)
{
	struct arena *a = unit_arena();
	static const size_t sizes[] = { 33, 40, 64, 100, 129, 1000 };
	int bad = 0;

	REQUIRE(a);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		char name[32];
		struct kmem_cache *s;
		struct slab_cache_info ci;
		void *p[100];

		snprintf(name, sizeof(name), "hw%zu", sizes[k]);
		s = unit_cache(a, name, sizes[k], 0, SLAB_HWCACHE_ALIGN, NULL);
		if (!s)
			continue;
		CHECK(unit_info(a, s, &ci) == 0);
		CHECKF(ci.align % 64 == 0 && ci.size % 64 == 0, "%s: align %u size %u", name,
		       ci.align, ci.size);
		CHECK(ci.flags & SLAB_HWCACHE_ALIGN);
		for (int i = 0; i < 100; i++) {
			p[i] = slab_alloc(a, s, GFP_KERNEL);
			CHECK(p[i] != NULL);
			if (p[i] && ((uintptr_t)p[i] & 63) && bad++ < 5)
				CHECKF(0, "%s: object %p not 64-byte aligned", name, p[i]);
		}
		for (int i = 0; i < 100; i++)
			if (p[i])
				slab_free(a, s, p[i]);
	}
	/* small objects: the kernel halves the line while the object fits twice */
	{
		struct kmem_cache *s = unit_cache(a, "hw20", 20, 0, SLAB_HWCACHE_ALIGN, NULL);
		void *p[10];

		if (s) {
			for (int i = 0; i < 10; i++) {
				p[i] = slab_alloc(a, s, GFP_KERNEL);
				CHECK(p[i] && ((uintptr_t)p[i] & 31) == 0);
			}
			for (int i = 0; i < 10; i++)
				slab_free(a, s, p[i]);
		}
	}
	arena_close(a);
}

/* caches are independent: churn in one leaves another's objects intact */
ISOLATED(caches_independent)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s1, *s2;
	enum { N = 2000 };
	uint32_t *p1[N];
	uint64_t st = 42;
	int found = 0;

	REQUIRE(a);
	s1 = unit_cache(a, "indep-a", 32, 0, 0, NULL);
	s2 = unit_cache(a, "indep-b", 32, 0, 0, NULL);
	REQUIRE(s1 && s2);
	for (int i = 0; i < N; i++) {
		p1[i] = slab_alloc(a, s1, GFP_KERNEL);
		REQUIRE(p1[i]);
		p1[i][0] = (uint32_t)i;
		p1[i][7] = ~(uint32_t)i;
	}
	for (int round = 0; round < 20; round++) {
		void *q[N];

		for (int i = 0; i < N; i++) {
			q[i] = slab_alloc(a, s2, GFP_KERNEL);
			REQUIRE(q[i]);
			memset(q[i], 0xff, 32);
		}
		for (int i = N - 1; i > 0; i--) {	/* free in a shuffled order */
			int j = (int)(t_rand(&st) % (uint64_t)(i + 1));
			void *t = q[i];

			q[i] = q[j];
			q[j] = t;
		}
		for (int i = 0; i < N; i++)
			slab_free(a, s2, q[i]);
	}
	for (int i = 0; i < N; i++)
		if (p1[i][0] == (uint32_t)i && p1[i][7] == ~(uint32_t)i)
			found++;
	CHECKF(found == N, "%d of %d objects intact", found, N);
	expect_counts(a, s1, N, "indep-a");
	expect_counts(a, s2, 0, "indep-b");
	for (int i = 0; i < N; i++)
		slab_free(a, s1, p1[i]);
	expect_counts(a, s1, 0, "indep-a freed");
	arena_close(a);
}

/* boot and kmalloc caches belong to the arena: no user can destroy them */
ISOLATED(system_caches_protected)
{
	struct arena *a = unit_arena();
	struct kmem_cache *k64, *kc, *other = NULL;
	struct slab_validate_result r;
	void *p;

	REQUIRE(a);
	k64 = slab_kmalloc_cache(a, 64);
	kc = slab_cache_find(a, "kmem_cache");
	REQUIRE(k64);
	CHECK(slab_cache_destroy(a, k64) < 0);
	CHECK(slab_cache_destroy(a, k64) < 0);
	CHECK(slab_cache_find(a, slab_cache_name(k64)) == k64);
	CHECK(slab_kmalloc_cache(a, 64) == k64);
	if (kc) {
		CHECK(slab_cache_destroy(a, kc) < 0);
		CHECK(slab_cache_find(a, "kmem_cache") == kc);
	}
	/* a kmalloc cache's name with another geometry is taken */
	CHECK(slab_cache_create(a, slab_cache_name(k64), 100, 0, 0, NULL, &other) == -EEXIST);
	p = slab_kmalloc(a, 64, GFP_KERNEL);
	CHECK(p != NULL);
	slab_kfree(a, p);
	/* caches are still made (their descriptors come from kmem_cache) */
	CHECK(unit_cache(a, "after-sys", 64, 0, 0, NULL) != NULL);
	CHECKF(unit_validate(a, NULL, &r) == 0, "%s", r.first_error);
	arena_close(a);
}

struct each {
	int calls, stop_at;
	int saw_user, saw_kmem_cache, saw_kmalloc;
};

static int each_fn(struct kmem_cache *s, void *arg)
{
	struct each *e = arg;
	const char *n = slab_cache_name(s);

	e->calls++;
	e->saw_user += !strcmp(n, "each-user");
	e->saw_kmem_cache += !strcmp(n, "kmem_cache");
	e->saw_kmalloc += !strncmp(n, "kmalloc-", 8);
	return e->stop_at && e->calls == e->stop_at ? 7 : 0;
}

ISOLATED(for_each_cache)
{
	struct arena *a = unit_arena();
	struct each e0 = { 0 }, e1 = { 0 }, e2 = { 0 }, e3 = { .stop_at = 3 };
	struct kmem_cache *s;
	struct slab_validate_result r;
	int rc;

	REQUIRE(a);
	CHECK(slab_for_each_cache(a, each_fn, &e0) == 0);
	CHECKF(e0.saw_kmalloc == 13, "%d kmalloc caches (8..8k with 96 and 192: 13)", e0.saw_kmalloc);
	CHECK(e0.saw_kmem_cache == 1);
	CHECK(e0.saw_user == 0);
	s = unit_cache(a, "each-user", 40, 0, 0, NULL);
	REQUIRE(s);
	CHECK(slab_for_each_cache(a, each_fn, &e1) == 0);
	CHECK(e1.calls == e0.calls + 1 && e1.saw_user == 1);
	rc = slab_for_each_cache(a, each_fn, &e3);
	CHECKF(e3.calls == 3 && rc != 0, "stopped after %d calls, rc %d", e3.calls, rc);
	/* validate of everything walks every cache */
	CHECKF(unit_validate(a, NULL, &r) == 0, "%s", r.first_error);
	CHECKF(r.caches == (uint64_t)e1.calls, "validate walked %llu caches of %d",
	       (unsigned long long)r.caches, e1.calls);
	CHECK(slab_cache_destroy(a, s) == 0);
	CHECK(slab_for_each_cache(a, each_fn, &e2) == 0);
	CHECK(e2.calls == e0.calls && e2.saw_user == 0);
	arena_close(a);
}

/* scrub on a quiet arena of one live process finds nothing and changes nothing */
ISOLATED(scrub_quiet)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s;
	struct slab_scrub_result sr;
	struct slab_validate_result r;
	void *p[300];
	uint64_t used;

	REQUIRE(a);
	s = unit_cache(a, "scrub", 128, 0, SLAB_STORE_USER, NULL);
	REQUIRE(s);
	for (int i = 0; i < 300; i++)
		REQUIRE((p[i] = slab_alloc(a, s, GFP_KERNEL)) != NULL);
	for (int i = 0; i < 300; i += 3)
		slab_free(a, s, p[i]);
	used = arena_used_bytes(a);
	memset(&sr, 0xff, sizeof(sr));
	CHECK(slab_scrub(a, &sr) == 0);
	CHECKF(sr.orphans == 0 && sr.transit_blocks == 0 && sr.leaked_objects == 0,
	       "orphans %llu transit %llu leaked %llu", (unsigned long long)sr.orphans,
	       (unsigned long long)sr.transit_blocks, (unsigned long long)sr.leaked_objects);
	CHECK(arena_used_bytes(a) == used);
	CHECKF(unit_validate(a, s, &r) == 0 && r.allocated == 200, "%s, %llu allocated",
	       r.first_error, (unsigned long long)r.allocated);
	for (int i = 0; i < 300; i++)
		if (i % 3)
			slab_free(a, s, p[i]);
	CHECKF(unit_validate(a, NULL, &r) == 0, "%s", r.first_error);
	arena_close(a);
}

/*
 * scrub_scribbled_list - a slab on a node's partial list whose pd.list a
 * stray write set to SL_NONE is no orphan: the scrub (which takes pd.list
 * for a node list's membership, under the node's lock) follows its links
 * first, and leaves it where it is; validate reports the field.  Put right,
 * the arena validates clean: nothing was linked twice.
 */
ISOLATED(scrub_scribbled_list)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s;
	struct kmem_cache_node *n;
	struct slab_scrub_result sr;
	struct slab_validate_result r;
	struct page_desc *victim = NULL;
	struct olist *it;
	unsigned int per, nslabs = 10, k = 0;
	void **p;

	REQUIRE(a);
	s = unit_cache(a, "scrub.list", 256, 0, SLAB_STORE_USER, NULL);
	REQUIRE(s);
	per = s->oo & 0xffff;
	p = calloc((size_t)per * nslabs, sizeof(void *));
	REQUIRE(p);
	for (unsigned int i = 0; i < per * nslabs; i++)
		REQUIRE((p[i] = slab_alloc(a, s, GFP_KERNEL)) != NULL);
	for (unsigned int i = 0; i < per * nslabs; i += per)
		slab_free(a, s, p[i]);		/* one free object in each: all partial */
	n = cache_node(a, s, 0);
	for (it = &n->partial; (it = olist_next(a, &n->partial, it)) && k < nslabs / 2; k++)
		victim = pd_of_lru(a, arena_offset(a, it));
	REQUIRE(victim && k == nslabs / 2 && n->nr_partial >= nslabs / 2);
	victim->list = SL_NONE;			/* the scribble */
	CHECK(slab_scrub(a, &sr) == 0);
	CHECKF(sr.orphans == 0, "the scrub took a listed slab for an orphan (%llu)",
	       (unsigned long long)sr.orphans);
	CHECKF(victim->list == SL_NONE, "the scrub changed the scribbled field (%u)", victim->list);
	CHECK(unit_validate(a, s, &r) != 0 && r.errors[SLAB_ERR_LIST] > 0);
	victim->list = SL_NODE_PARTIAL;		/* put right */
	CHECKF(unit_validate(a, NULL, &r) == 0, "after the scrub: %s", r.first_error);
	for (unsigned int i = 0; i < per * nslabs; i++)
		if (i % per)
			slab_free(a, s, p[i]);
	CHECKF(unit_validate(a, NULL, &r) == 0, "%s", r.first_error);
	free(p);
	arena_close(a);
}

/*
 * threads of one process allocating and freeing at once, half of the frees
 * remote (an object freed by a thread that did not allocate it).  A shared
 * byte per 8 arena bytes says "in use": an allocation must find its byte
 * clear, so no object is ever handed out twice.
 */
enum { MT_THREADS = 4, MT_OPS = 150000, MT_LOCAL = 128, MT_POOL = 4096 };

struct mt_shared {
	struct arena *a;
	struct kmem_cache *s;		/* NULL: kmalloc of mixed sizes */
	unsigned char *inuse;		/* per 8 bytes of arena */
	pthread_mutex_t lock;		/* protects pool */
	void *pool[MT_POOL];
	size_t pool_size[MT_POOL];
	int npool;
	unsigned long errors;
};

static size_t mt_size(struct mt_shared *sh, uint64_t r)
{
	static const size_t sizes[] = { 8, 24, 64, 96, 100, 192, 256, 700, 2048, 5000, 8192, 12000 };

	return sh->s ? slab_cache_size(sh->s) : sizes[r % (sizeof(sizes) / sizeof(sizes[0]))];
}

static void mt_mark(struct mt_shared *sh, void *p, size_t size, int alloc)
{
	aoff_t off = arena_offset(sh->a, p);
	unsigned char old;

	if (!off) {
		__atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED);
		return;
	}
	old = __atomic_exchange_n(&sh->inuse[off >> 3], (unsigned char)alloc, __ATOMIC_ACQ_REL);
	if (old == (unsigned char)alloc) {
		if (__atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED) < 5)
			printf("  object %#llx (size %zu) %s\n", (unsigned long long)off, size,
			       alloc ? "handed out while in use" : "freed while free");
	}
	/* the first and the last word carry the owner's tag */
	(void)size;
}

static void *mt_thread(void *arg)
{
	struct mt_shared *sh = arg;
	void *mine[MT_LOCAL];
	size_t msz[MT_LOCAL];
	uint64_t tag[MT_LOCAL];
	int n = 0;
	uint64_t st = (uint64_t)(uintptr_t)&n | 1;

	for (int op = 0; op < MT_OPS; op++) {
		uint64_t r = t_rand(&st);

		if (n < MT_LOCAL && (n == 0 || r % 2)) {
			size_t sz = mt_size(sh, r >> 8);
			void *p = sh->s ? slab_alloc(sh->a, sh->s, GFP_KERNEL)
					: slab_kmalloc(sh->a, sz, GFP_KERNEL);

			if (!p) {
				__atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED);
				continue;
			}
			mt_mark(sh, p, sz, 1);
			tag[n] = r;
			memcpy(p, &r, 8);
			memcpy((char *)p + sz - 8, &r, 8);
			mine[n] = p;
			msz[n++] = sz;
		} else {
			int i = (int)((r >> 4) % (uint64_t)n);
			void *p = mine[i];
			size_t sz = msz[i];
			uint64_t t1, t2;

			memcpy(&t1, p, 8);
			memcpy(&t2, (char *)p + sz - 8, 8);
			if (t1 != tag[i] || t2 != tag[i])
				__atomic_add_fetch(&sh->errors, 1, __ATOMIC_RELAXED);
			mine[i] = mine[--n];
			msz[i] = msz[n];
			tag[i] = tag[n];
			if (r & 0x100) {
				/* hand it to whoever comes next; free one handed over */
				void *q = NULL;
				size_t qsz = 0;

				pthread_mutex_lock(&sh->lock);
				if (sh->npool < MT_POOL) {
					sh->pool[sh->npool] = p;
					sh->pool_size[sh->npool++] = sz;
					p = NULL;
				}
				if (sh->npool > 1 && (r & 0x200)) {
					q = sh->pool[0];
					qsz = sh->pool_size[0];
					sh->pool[0] = sh->pool[--sh->npool];
					sh->pool_size[0] = sh->pool_size[sh->npool];
				}
				pthread_mutex_unlock(&sh->lock);
				if (q) {
					mt_mark(sh, q, qsz, 0);
					if (sh->s)
						slab_free(sh->a, sh->s, q);
					else
						slab_kfree(sh->a, q);
				}
				if (!p)
					continue;
			}
			mt_mark(sh, p, sz, 0);
			if (sh->s)
				slab_free(sh->a, sh->s, p);
			else
				slab_kfree(sh->a, p);
		}
	}
	while (n > 0) {
		n--;
		mt_mark(sh, mine[n], msz[n], 0);
		if (sh->s)
			slab_free(sh->a, sh->s, mine[n]);
		else
			slab_kfree(sh->a, mine[n]);
	}
	return NULL;
}

static unsigned int mt_reports;

static void mt_report(const struct slab_report *r, void *arg)
{
	(void)arg;
	if (__atomic_add_fetch(&mt_reports, 1, __ATOMIC_RELAXED) < 5)
		printf("  report: %s %s %s\n", slab_error_name((enum slab_error)r->kind), r->cache_name,
		       r->detail);
}

static void mt_run(int use_cache)
{
	struct arena *a = unit_arena();
	struct mt_shared *sh = calloc(1, sizeof(*sh));
	pthread_t th[MT_THREADS];
	struct slab_validate_result r;
	uint64_t used0;

	REQUIRE(a && sh);
	sh->a = a;
	sh->inuse = calloc(arena_size(a) >> 3, 1);
	REQUIRE(sh->inuse);
	pthread_mutex_init(&sh->lock, NULL);
	if (use_cache) {
		sh->s = unit_cache(a, "mt64", 64, 0, 0, NULL);
		REQUIRE(sh->s);
	}
	mt_reports = 0;
	slab_set_report_fn(mt_report, NULL);
	used0 = arena_used_bytes(a);
	for (int i = 0; i < MT_THREADS; i++)
		REQUIRE(pthread_create(&th[i], NULL, mt_thread, sh) == 0);
	for (int i = 0; i < MT_THREADS; i++)
		pthread_join(th[i], NULL);
	/* what is left in the pool */
	for (int i = 0; i < sh->npool; i++) {
		mt_mark(sh, sh->pool[i], sh->pool_size[i], 0);
		if (sh->s)
			slab_free(a, sh->s, sh->pool[i]);
		else
			slab_kfree(a, sh->pool[i]);
	}
	CHECKF(sh->errors == 0, "%lu errors (objects handed out twice, tags overwritten, NULLs)",
	       sh->errors);
	CHECKF(mt_reports == 0, "%u reports", mt_reports);
	CHECKF(unit_validate(a, sh->s, &r) == 0, "validate: %s", r.first_error);
	if (sh->s) {
		CHECKF(r.allocated == 0, "allocated %llu after all were freed",
		       (unsigned long long)r.allocated);
		CHECK(r.free == r.objects);
		{
			struct slab_cache_info ci;

			if (unit_info(a, sh->s, &ci) == 0)
				printf("  alloc fast %llu slow %llu, free fast %llu slow %llu, "
				       "cas fails cpu %llu slab %llu\n",
				       (unsigned long long)ci.stat[ALLOC_FASTPATH],
				       (unsigned long long)ci.stat[ALLOC_SLOWPATH],
				       (unsigned long long)ci.stat[FREE_FASTPATH],
				       (unsigned long long)ci.stat[FREE_SLOWPATH],
				       (unsigned long long)ci.stat[CMPXCHG_DOUBLE_CPU_FAIL],
				       (unsigned long long)ci.stat[CMPXCHG_DOUBLE_FAIL]);
		}
		CHECK(slab_shrink(a, sh->s) == 0);
	} else {
		for (size_t sz = 8; sz <= KMALLOC_MAX_CACHE_SIZE; sz *= 2)
			CHECK(slab_shrink(a, slab_kmalloc_cache(a, sz)) == 0);
	}
	CHECKF(unit_validate(a, NULL, &r) == 0, "whole arena: %s", r.first_error);
	printf("  used bytes: %llu before, %llu after\n", (unsigned long long)used0,
	       (unsigned long long)arena_used_bytes(a));
	slab_set_report_fn(NULL, NULL);
	free(sh->inuse);
	free(sh);
	arena_close(a);
}

/*
 * The process-local copy tables (geom.c, no lock) under threads that at once
 * create, use and destroy their own pools (the copies come and go, the ring of
 * retired copies turns over many times), kmalloc and kfree, and ksize objects
 * of the other threads' pools, which may be destroyed under them (ksize only
 * reads: a size or 0, never a fault).  Run it under SANITIZER=address too.
 * Before the fixes in geom.c and slab_cache_destroy: about one run in six, a
 * pool made on the descriptor of one just destroyed by another thread got
 * the old pool's geometry (destroy kept reporting its CPU slab "no slab of
 * it", free pointers decoded with the wrong key); about one in 80, SIGSEGV
 * (a copy freed under a preempted fast path).
 */
enum { GT_THREADS = 6, GT_ROUNDS = 2000, GT_OBJS = 24 };
static struct arena *gt_arena;
static void *gt_seen[GT_THREADS];	/* an object of each thread's current pool */
static unsigned long gt_fail[GT_THREADS];

static void gt_report(const struct slab_report *r, void *arg)
{
	(void)arg;
	printf("  report kind %u cache %s object %#llx: %s\n", r->kind, r->cache_name,
	       (unsigned long long)r->object, r->detail);
}

static void *gt_thread(void *arg)
{
	unsigned int me = (unsigned int)(uintptr_t)arg;
	void *o[GT_OBJS];

	for (unsigned int r = 0; r < GT_ROUNDS; r++) {
		struct kmem_cache *s = NULL;
		char name[32];

		snprintf(name, sizeof(name), "gt.%u.%u", me, r % 3);
		int crc = slab_cache_create(gt_arena, name, 40 + 24 * (r % 3), 0, 0, NULL, &s);

		if (crc) {
			printf("  thread %u round %u: create %s: %d\n", me, r, name, crc);
			gt_fail[me]++;
			continue;
		}
		for (int i = 0; i < GT_OBJS; i++) {
			o[i] = i % 3 ? slab_alloc(gt_arena, s, GFP_KERNEL)
				     : slab_kmalloc(gt_arena, 16 + (size_t)i * 8, GFP_KERNEL);
			if (!o[i]) {
				printf("  thread %u round %u: alloc %d: %s\n", me, r, i, strerror(errno));
				gt_fail[me]++;
			}
		}
		__atomic_store_n(&gt_seen[me], o[1], __ATOMIC_RELEASE);
		for (unsigned int t = 0; t < GT_THREADS; t++)
			(void)slab_ksize(gt_arena, __atomic_load_n(&gt_seen[t], __ATOMIC_ACQUIRE));
		for (int i = 0; i < GT_OBJS; i++)
			if (o[i] && slab_ksize(gt_arena, o[i]) < (i % 3 ? 40u : 16u + (size_t)i * 8)) {
				printf("  thread %u round %u: ksize %d: %zu\n", me, r, i,
				       slab_ksize(gt_arena, o[i]));
				gt_fail[me]++;
			}
		__atomic_store_n(&gt_seen[me], NULL, __ATOMIC_RELEASE);
		for (int i = 0; i < GT_OBJS; i++)
			slab_kfree(gt_arena, o[i]);	/* kfree: found from the page */
		int rc = slab_cache_destroy(gt_arena, s);

		if (rc) {
			printf("  thread %u round %u: destroy %s: %d\n", me, r, name, rc);
			gt_fail[me]++;
		}
	}
	return NULL;
}

ISOLATED_T(geom_tables_threads, 200)
{
	struct arena *a = unit_arena();
	pthread_t th[GT_THREADS];
	unsigned long fails = 0;

	REQUIRE(a);
	gt_arena = a;
	slab_set_report_fn(gt_report, NULL);
	for (unsigned int t = 0; t < GT_THREADS; t++)
		REQUIRE(pthread_create(&th[t], NULL, gt_thread, (void *)(uintptr_t)t) == 0);
	for (unsigned int t = 0; t < GT_THREADS; t++) {
		pthread_join(th[t], NULL);
		fails += gt_fail[t];
	}
	CHECKF(fails == 0, "%lu failed creates, allocations, sizes or destroys", fails);
	arena_close(a);
}

/*
 * Every cache id in use: pools made until the arena refuses one (an error,
 * no fault), each used (alloc, kfree: found from the page, ksize), so this
 * process holds a copy of every one (SLUB_MAX_CACHES of them: the id table
 * full, the handle table's slots shared by descriptors 256 KiB apart); then
 * half destroyed, as many made again, all used again; validate clean.
 */
ISOLATED_T(every_cache_id, 200)
{
	struct arena_opts o = { .size = 256u << 20, .huge = ARENA_HUGE_OFF, .base = 1 };
	static struct kmem_cache *pools[SLUB_MAX_CACHES + 1];
	static unsigned int sizes[SLUB_MAX_CACHES + 1];
	struct arena *a = NULL;
	unsigned int n = 0, bad = 0;
	char err[256] = "";
	int rc = arena_create(&o, &a, err, sizeof(err));

	REQUIRE(rc == 0 && a);
	for (; n <= SLUB_MAX_CACHES; n++) {
		char nm[32];

		snprintf(nm, sizeof(nm), "id.%u", n);
		sizes[n] = 8 + 8 * (n % 64);
		rc = slab_cache_create(a, nm, sizes[n], 0, 0, NULL, &pools[n]);
		if (rc)
			break;
	}
	printf("  %u pools made, then %d (%s)\n", n, rc, strerror(-rc));
	CHECKF(rc != 0 && n < SLUB_MAX_CACHES, "%u pools made, never refused", n);
	for (int round = 0; round < 2; round++) {
		for (unsigned int i = 0; i < n; i++) {
			void *p = slab_alloc(a, pools[i], GFP_KERNEL), *q = slab_alloc(a, pools[i], GFP_KERNEL);

			if (!p || !q || slab_ksize(a, p) < sizes[i]) {
				if (bad++ < 3)
					printf("  pool %u: %p %p: %s\n", i, p, q, strerror(errno));
				continue;
			}
			memset(p, 0x3c, sizes[i]);
			slab_kfree(a, p);
			slab_free(a, pools[i], q);
		}
		for (unsigned int i = round; i < n; i += 2) {
			char nm[32];

			rc = slab_cache_destroy(a, pools[i]);
			if (rc && bad++ < 3)
				printf("  destroy %u: %d\n", i, rc);
			snprintf(nm, sizeof(nm), "id.again.%u.%u", round, i);
			sizes[i] = 16 + 8 * (i % 32);
			rc = slab_cache_create(a, nm, sizes[i], 0, 0, NULL, &pools[i]);
			if (rc && bad++ < 3)
				printf("  create %u: %d\n", i, rc);
		}
	}
	CHECKF(bad == 0, "%u failed allocations, sizes, destroys or creates", bad);
	bad = 0;
	for (unsigned int i = 0; i < n; i++) {
		struct slab_validate_result r;

		memset(&r, 0, sizeof(r));
		rc = slab_validate(a, pools[i], &r);
		if ((rc || r.nr_errors || r.allocated) && bad++ < 3)
			printf("  validate %u: %d, %llu errors, %llu allocated: %s\n", i, rc,
			       (unsigned long long)r.nr_errors, (unsigned long long)r.allocated,
			       r.first_error);
	}
	CHECKF(bad == 0, "%u pools do not validate clean", bad);
	arena_close(a);
}

/*
 * A private handle (slab_cache_pin, what libslub gives): used by every
 * entry point as the shared descriptor is, inherited by a fork() child (its
 * copy is the parent's, whole), and still whole after the pool's copy was
 * dropped from the tables and 300 more copies after it, since it is
 * pinned.
 */
ISOLATED(pinned_handle)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s, *h;
	void *p[16];
	pid_t pid;
	int st = 0;

	REQUIRE(a);
	s = unit_cache(a, "pinned", 72, 0, 0, NULL);
	REQUIRE(s);
	h = slab_cache_pin(a, s);
	REQUIRE(h && h != s);
	CHECK(slab_cache_shared(a, h) == s && slab_cache_shared(a, s) == s);
	CHECK(slab_cache_pin(a, h) == NULL);	/* a handle is no shared descriptor */
	for (int i = 0; i < 16; i++) {
		p[i] = i % 2 ? slab_alloc(a, h, GFP_KERNEL) : slab_alloc_pinned(a, h, GFP_KERNEL);
		REQUIRE(p[i]);
		memset(p[i], i, 72);
	}
	pid = fork();
	if (pid == 0) {
		int bad = 0;

		for (int i = 0; i < 16; i++) {
			bad += ((unsigned char *)p[i])[71] != i;
			if (i % 3 == 0)
				slab_free_pinned(a, h, p[i]);
			else if (i % 3 == 1)
				slab_free(a, h, p[i]);
			else
				slab_kfree(a, p[i]);
			p[i] = slab_alloc_pinned(a, h, GFP_KERNEL);
			bad += !p[i];
			slab_free(a, s, p[i]);
		}
		_exit(bad ? 1 : 0);
	}
	REQUIRE(pid > 0);
	REQUIRE(waitpid(pid, &st, 0) == pid);
	CHECKF(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child: status %#x", st);
	/* the arena is shared: the child's frees are the parent's too */
	{
		void *q;

		slab_cache_forget(a, s);	/* the copy leaves the tables */
		for (int i = 0; i < 300; i++) {	/* turn the retired ring over */
			struct kmem_cache *t = NULL;
			char nm[32];

			snprintf(nm, sizeof(nm), "pinned.churn.%d", i);
			if (slab_cache_create(a, nm, 32, 0, 0, NULL, &t) == 0)
				slab_cache_destroy(a, t);
		}
		q = slab_alloc_pinned(a, h, GFP_KERNEL);
		CHECK(q != NULL && slab_ksize(a, q) >= 72);
		slab_free_pinned(a, h, q);
	}
	slab_cache_unpin(a, h);
	CHECK(slab_cache_destroy(a, s) == 0);
	arena_close(a);
}

ISOLATED(threads_one_cache)
{
	mt_run(1);
}

ISOLATED(threads_kmalloc_mixed)
{
	mt_run(0);
}

/*
 * The repair of a CPU lock whose holder died while taking the CPU freelist
 * (issue 10, item 5).  The holder (a forked process, flushing the cpu slab)
 * stops at a hook point holding the CPU lock; the freelist is {X, tid} with
 * X the last free object of the cpu slab (its free pointer 0).  Then, with
 * pop, another process takes X on the lock-free fast path and writes into
 * it; then the holder is killed and the next locker repairs.  One CPU
 * structure (nr_cpus 1) so that every process uses the same one; the cache
 * is capped at one slab, so the slab that held X is all there is.
 *
 *   cpu_repair_race: stopped between the load and the CAS (HOOK_CPU_DETACH),
 *     X popped meanwhile.  X is in use: it must never be handed out again,
 *     nor written by the repair.
 *   cpu_repair_untaken: stopped there, no pop before the kill: the take
 *     never happened, X is still on the CPU freelist, and it is handed out
 *     once after the kill (the next alloc pops it lock-free, and the repair
 *     behind it must not take that pop for the dead holder's take).
 *   cpu_repair_taken: stopped after the CAS (HOOK_CPU_DEACTIVATE): the repair
 *     finishes the take, and X is handed out once more.
 */
static int race_fd = -1;
static enum shm_hook race_at;

static void race_hook(enum shm_hook where)
{
	char c = (char)where;

	if (where != race_at)
		return;
	if (write(race_fd, &c, 1) != 1)
		_exit(3);
	for (;;)
		pause();	/* holding the CPU lock: SIGKILL comes */
}

static void repair_race(enum shm_hook stop_at, bool pop)
{
	struct arena_opts o = { .size = 32u << 20, .huge = ARENA_HUGE_OFF, .base = 1, .nr_cpus = 1 };
	struct arena *a = NULL;
	struct kmem_cache *s;
	struct slab_cache_info ci;
	struct slab_validate_result r;
	static void *held[4096];
	char err[256] = "", c = 0;
	unsigned int per, n = 0, more = 0;
	int pfd[2], status;
	unsigned char *x = NULL;
	pid_t pid;

	REQUIRE(arena_create(&o, &a, err, sizeof(err)) == 0);
	REQUIRE((s = unit_cache(a, "race", 64, 0, 0, NULL)) != NULL);
	REQUIRE(unit_info(a, s, &ci) == 0);
	per = ci.objs_per_slab;
	REQUIRE(per >= 2 && per < 4096);
	REQUIRE(slab_cache_set_limits(a, s, per, 0) == 0);
	/* all but one object of the first slab: the CPU freelist is {X, tid}, X's next 0 */
	for (; n < per - 1; n++)
		REQUIRE((held[n] = slab_alloc(a, s, 0)) != NULL);
	reports_reset();

	REQUIRE(pipe(pfd) == 0);
	pid = fork();
	REQUIRE(pid >= 0);
	if (pid == 0) {
		close(pfd[0]);
		race_fd = pfd[1];
		race_at = stop_at;
		shm_test_hook = race_hook;
		slab_shrink(a, s);	/* flush: deactivates the cpu slab */
		_exit(2);		/* never reached the hook */
	}
	close(pfd[1]);
	CHECKF(read(pfd[0], &c, 1) == 1 && c == (char)stop_at, "the holder never reached hook %d",
	       (int)stop_at);
	close(pfd[0]);

	if (pop) {
		/* the lock-free pop of the last object, between the holder's load and CAS */
		x = slab_alloc(a, s, 0);
		CHECK(x != NULL);
		if (x)
			memset(x, 0xa5, 64);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	if (pop && !x)
		return;

	/* the next locker repairs; whatever it hands out, never X */
	while (n + more + 1 < sizeof(held) / sizeof(held[0]) && more <= per) {
		void *p = slab_alloc(a, s, 0);

		if (!p)
			break;
		CHECKF(p != x, "object %p handed out twice (after the repair)", (void *)x);
		held[n + more++] = p;
	}
	CHECKF(more == (pop ? 0u : 1u), "%u objects allocated after the repair, want %u (a slab of %u)",
	       more, pop ? 0u : 1u, per);
	for (int i = 0; x && i < 64; i++)
		if (x[i] != 0xa5) {
			CHECKF(0, "byte %d of the live object overwritten: %#x", i, x[i]);
			break;
		}
	CHECKF(nrep == 0, "%d reports, the first: %s %s", nrep,
	       nrep ? slab_error_name(rep[0].kind) : "", nrep ? rep[0].detail : "");
	if (x)
		held[n + more++] = x;
	qsort(held, n + more, sizeof(held[0]), cmp_ptr);
	for (unsigned int i = 1; i < n + more; i++)
		CHECKF(held[i] != held[i - 1], "object %p handed out twice", held[i]);

	for (unsigned int i = 0; i < n + more; i++)
		if (i == 0 || held[i] != held[i - 1])
			slab_free(a, s, held[i]);
	memset(&r, 0, sizeof(r));
	CHECKF(slab_validate(a, s, &r) == 0 && r.nr_errors == 0, "validate: %llu errors, first: %s",
	       (unsigned long long)r.nr_errors, r.first_error);
	CHECKF(r.allocated == 0, "validate counts %llu allocated after every free",
	       (unsigned long long)r.allocated);
	arena_close(a);
}

ISOLATED_T(cpu_repair_race, 60) { repair_race(HOOK_CPU_DETACH, true); }
ISOLATED_T(cpu_repair_untaken, 60) { repair_race(HOOK_CPU_DETACH, false); }
ISOLATED_T(cpu_repair_taken, 60) { repair_race(HOOK_CPU_DEACTIVATE, false); }

/*
 * scrub_scribbled_descriptors - stray writes over page descriptors (flags,
 * order, list, cache, links, the slab pair, owners, debug steps: random, or
 * random among plausible values) must not make a scrub fault, hang or run
 * away: its lock-free walks step by checked orders, each offset it follows
 * is bounds-checked.  Each round scribbles a fresh arena in a child and runs
 * two scrubs there under an alarm; the parent says which round died how.
 */
static void scribble_round(uint64_t seed)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s[3];
	void *held[3][200];
	struct slab_scrub_result r;

	if (!a)
		_exit(2);
	s[0] = unit_cache(a, "scrib.plain", 64, 0, 0, NULL);
	s[1] = unit_cache(a, "scrib.reclaim", 192, 0, SLAB_RECLAIM_DEAD, NULL);
	s[2] = unit_cache(a, "scrib.debug", 512, 0, SLAB_RED_ZONE | SLAB_POISON, NULL);
	if (!s[0] || !s[1] || !s[2])
		_exit(2);
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < 200; i++)
			held[k][i] = slab_alloc(a, s[k], 0);
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < 200; i += 1 + (int)(t_rand(&seed) % 3))
			if (held[k][i])
				slab_free(a, s[k], held[k][i]);
	for (int w = 0; w < 64; w++) {
		uint32_t pfn = a->first_pfn + (uint32_t)(t_rand(&seed) % (a->nr_pages - a->first_pfn));
		struct page_desc *pd;
		uint64_t v = t_rand(&seed);

		/* half the time a slab's head: a descriptor the scrub looks at */
		if (w % 2) {
			void *o = held[w % 3][t_rand(&seed) % 200];

			if (o)
				pfn = (uint32_t)(arena_offset(a, o) >> 12);
		}
		if (pfn < a->first_pfn || pfn >= a->nr_pages)
			continue;
		pd = pd_of_pfn(a, pfn);
		if (pd->head >= a->first_pfn && pd->head < a->nr_pages && (v & 1))
			pd = pd_of_pfn(a, pd->head);
		v >>= 1;
		if (w % 4 == 1) {
			/* a slab head's list field and back link: the scrub's node_linked */
			pd->list = (uint8_t)(v % 3);
			v = t_rand(&seed);
			pd->lru.prev = v & 1 ? pd_lru_off(a, pd_of_pfn(a, a->first_pfn +
				(uint32_t)((v >> 8) % (a->nr_pages - a->first_pfn)))) : v >> 1;
			continue;
		}
		for (int f = 0; f < 1 + (int)(v % 3); f++, v = t_rand(&seed))	/* fields of one pd */
		switch ((v >> 1) % 10) {
		case 0: pd->flags = (uint16_t)(v >> 8); break;
		case 1: pd->order = (uint8_t)(v >> 8); break;
		case 2: pd->order = (uint8_t)((v >> 8) % 12); break;
		case 3: pd->list = (uint8_t)((v >> 8) % 6); break;
		case 4: pd->cache = v & 1 ? s[(v >> 8) % 3]->self : (aoff_t)(v >> 8); break;
		case 5: pd->lru.prev = v & 2 ? pd_lru_off(a, pd_of_pfn(a, a->first_pfn +
				(uint32_t)((v >> 8) % (a->nr_pages - a->first_pfn)))) : (v >> 8);
			break;
		case 6: pd->lru.next = (v >> 8) % (a->nr_pages * 64ull); break;
		case 7: atomic_store_relaxed(&pd->slab.lo, v & 2 ? (v >> 8) % ((uint64_t)a->nr_pages << 12) : v);
			break;
		case 8: atomic_store_relaxed(&pd->slab.hi, v); break;
		default: pd->debug_step = (uint32_t)(v >> 8); pd->owner = (uint32_t)(v >> 20); break;
		}
	}
	alarm(20);
	if (slab_scrub(a, &r) < 0 || slab_scrub(a, &r) < 0)
		_exit(0);	/* an error is a fine answer */
	_exit(0);
}

ISOLATED_T(scrub_scribbled_descriptors, 240)
{
	int bad = 0, rounds = 1000;

	for (int i = 0; i < rounds && bad < 3; i++) {
		int st = 0;
		pid_t kid = fork();

		if (kid == 0) {
			slab_set_report_fn(NULL, NULL);	/* reports to the ring only */
			scribble_round(0x9e3779b97f4a7c15ull * (uint64_t)(i + 1));
		}
		waitpid(kid, &st, 0);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			bad++;
			CHECKF(0, "round %d: the scrub %s %d", i, WIFSIGNALED(st) ? "died of signal" : "exited",
			       WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		}
	}
	printf("  %d rounds of 64 scribbled descriptors, %d scrubs died or hung\n", rounds, bad);
}

T_MAIN(T_CASE(create_bad_args),
       T_CASE(create_same_name),
       T_CASE(many_objects_64),
       T_CASE(many_objects_aligned),
       T_CASE(gfp_zero),
       T_CASE(ctor_runs_on_new_slabs),
       T_CASE(ctor_while_pools_churn),
       T_CASE(bulk),
       T_CASE(shrink_frees_empty_slabs),
       T_CASE(destroy_busy),
       T_CASE(destroy_busy_reopen),
       T_CASE(stats_move),
       T_CASE(hwcache_align),
       T_CASE(caches_independent),
       T_CASE(system_caches_protected),
       T_CASE(for_each_cache),
       T_CASE(scrub_quiet),
       T_CASE(scrub_scribbled_list),
       T_CASE(scrub_scribbled_descriptors),
       T_CASE(geom_tables_threads),
       T_CASE(every_cache_id),
       T_CASE(pinned_handle),
       T_CASE(threads_one_cache),
       T_CASE(threads_kmalloc_mixed),
       T_CASE(cpu_repair_race),
       T_CASE(cpu_repair_untaken),
       T_CASE(cpu_repair_taken))
