/*
 * t_slub.c - kmem_cache-level behaviour of the SLUB engine: argument checks,
 * cache sharing by name, object placement, validate counts, __GFP_ZERO,
 * constructors, bulk operations, shrink, destroy, statistics, the scrub of
 * a scribbled list.  t_slub_threads.c has the engine under threads, races
 * and scribbled descriptors.
 */
#include <pthread.h>

#include "internal.h"	/* scrub_scribbled_list: the node's list, pd.list */
#include "unit.h"

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
	qsort(sorted, (size_t)got, sizeof(*sorted), unit_cmp_ptr);
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
		qsort(sorted, N, sizeof(*sorted), unit_cmp_ptr);
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
       T_CASE(scrub_scribbled_list))
