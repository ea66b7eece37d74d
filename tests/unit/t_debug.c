/*
 * t_debug.c - misuse and corruption are detected and counted exactly:
 * double free, a corrupted free pointer, red zones, poison, bad and interior
 * pointers, the wrong cache; and the debug flags do not disturb correct use.
 * Every case expects exact report counts, and checks afterwards that caches
 * it did not touch still validate.
 */
#include <sched.h>
#include <sys/prctl.h>

#include "unit.h"

static void dump_reports(void)
{
	for (int i = 0; i < nrep && i < MAXREP; i++)
		printf("    report %d: %s cache '%s' object %#llx: %s\n", i,
		       slab_error_name((enum slab_error)rep[i].kind), rep[i].cache_name,
		       (unsigned long long)rep[i].object, rep[i].detail);
}

/* exactly `total` reports so far, `n` of them of kind k */
static void expect_reports(int total, enum slab_error k, int n, const char *when)
{
	int got = count_kind(k);

	if (nrep != total || got != n) {
		CHECKF(0, "%s: %d reports (want %d), %d of them %s (want %d)", when, nrep, total, got,
		       slab_error_name(k), n);
		dump_reports();
	}
}

/* report i names cache s and the object at obj (when obj is given) */
static void expect_report_fields(struct arena *a, int i, struct kmem_cache *s, const void *obj)
{
	struct slab_cache_info ci;

	if (i >= nrep || i >= MAXREP) {
		CHECKF(0, "no report %d", i);
		return;
	}
	CHECKF(rep[i].pid == (uint32_t)getpid(), "report pid %u", rep[i].pid);
	CHECK(rep[i].time_ns > 0);
	if (s) {
		CHECKF(!strcmp(rep[i].cache_name, slab_cache_name(s)), "report names '%s', want '%s'",
		       rep[i].cache_name, slab_cache_name(s));
		if (unit_info(a, s, &ci) == 0)
			CHECKF(rep[i].cache == ci.offset, "report cache %#llx, descriptor at %#llx",
			       (unsigned long long)rep[i].cache, (unsigned long long)ci.offset);
	}
	if (obj)
		CHECKF(rep[i].object == arena_offset(a, obj), "report object %#llx, want %#llx",
		       (unsigned long long)rep[i].object, (unsigned long long)arena_offset(a, obj));
}

/* an unrelated cache with live objects, to check after the misuse */
struct bystander {
	struct kmem_cache *s;
	void *obj[40];
};

static void bystander_make(struct arena *a, struct bystander *b)
{
	memset(b, 0, sizeof(*b));
	b->s = unit_cache(a, "bystander", 72, 0, 0, NULL);
	if (!b->s)
		return;
	for (int i = 0; i < 40; i++) {
		b->obj[i] = slab_alloc(a, b->s, GFP_KERNEL);
		CHECK(b->obj[i] != NULL);
		if (b->obj[i])
			memset(b->obj[i], 0x70 + (i & 7), 72);
	}
}

static void bystander_check(struct arena *a, struct bystander *b)
{
	struct slab_validate_result r;
	int rc;

	if (!b->s)
		return;
	rc = unit_validate(a, b->s, &r);
	CHECKF(rc == 0 && r.nr_errors == 0, "bystander validate rc=%d: %s", rc, r.first_error);
	CHECKF(r.allocated == 40, "bystander: %llu allocated", (unsigned long long)r.allocated);
	for (int i = 0; i < 40; i++) {
		const unsigned char *c = b->obj[i];

		if (c && (c[0] != 0x70 + (i & 7) || c[71] != 0x70 + (i & 7))) {
			CHECKF(0, "bystander object %d changed", i);
			break;
		}
	}
}

static int validate_rc(struct arena *a, struct kmem_cache *s, struct slab_validate_result *r)
{
	return unit_validate(a, s, r);
}

/* (a) a double free without debug flags */
ISOLATED(double_free_plain)
{
	struct arena *a = unit_arena();
	struct bystander by;
	struct kmem_cache *s;
	struct slab_cache_info ci;
	struct slab_validate_result r;
	struct slab_report ring[8];
	uint64_t cursor = 0;
	void *x, *p1, *p2, *p3;
	int n;

	REQUIRE(a);
	bystander_make(a, &by);
	s = unit_cache(a, "df64", 64, 0, 0, NULL);
	REQUIRE(s);
	/* whatever the ring held before (nothing, normally) */
	while (slab_reports(a, ring, 8, &cursor) > 0)
		;
	reports_reset();

	x = slab_alloc(a, s, GFP_KERNEL);
	REQUIRE(x);
	slab_free(a, s, x);
	expect_reports(0, SLAB_ERR_DOUBLE_FREE, 0, "first free");
	slab_free(a, s, x);
	expect_reports(1, SLAB_ERR_DOUBLE_FREE, 1, "second free");
	expect_report_fields(a, 0, s, x);

	p1 = slab_alloc(a, s, GFP_KERNEL);
	p2 = slab_alloc(a, s, GFP_KERNEL);
	p3 = slab_alloc(a, s, GFP_KERNEL);
	CHECK(p1 && p2 && p3);
	CHECKF(p1 != p2 && p2 != p3 && p1 != p3, "double free handed out %p %p %p", p1, p2, p3);
	expect_reports(1, SLAB_ERR_DOUBLE_FREE, 1, "after the next allocations");

	/* counted on the cache, in the ring */
	if (unit_info(a, s, &ci) == 0)
		CHECKF(ci.errors[SLAB_ERR_DOUBLE_FREE] == 1, "cache counts %llu double frees",
		       (unsigned long long)ci.errors[SLAB_ERR_DOUBLE_FREE]);
	n = slab_reports(a, ring, 8, &cursor);
	CHECKF(n == 1, "ring returned %d reports", n);
	if (n >= 1) {
		CHECK(ring[0].kind == SLAB_ERR_DOUBLE_FREE);
		CHECK(!strcmp(ring[0].cache_name, "df64"));
		CHECK(ring[0].object == arena_offset(a, x));
	}
	CHECK(slab_reports(a, ring, 8, &cursor) == 0);

	/* the refused free left the cache consistent */
	CHECKF(validate_rc(a, s, &r) == 0, "%s", r.first_error);
	CHECKF(r.allocated == 3, "allocated %llu", (unsigned long long)r.allocated);
	slab_free(a, s, p1);
	slab_free(a, s, p2);
	slab_free(a, s, p3);
	CHECKF(validate_rc(a, s, &r) == 0 && r.allocated == 0, "%s", r.first_error);
	expect_reports(1, SLAB_ERR_DOUBLE_FREE, 1, "end");
	bystander_check(a, &by);
	CHECKF(validate_rc(a, NULL, &r) == 0, "whole arena: %s", r.first_error);
	arena_close(a);
}

/* the same through kfree of a kmalloc object */
ISOLATED(double_kfree)
{
	struct arena *a = unit_arena();
	struct bystander by;
	struct slab_validate_result r;
	void *x, *p1, *p2;

	REQUIRE(a);
	bystander_make(a, &by);
	reports_reset();
	x = slab_kmalloc(a, 100, GFP_KERNEL);
	REQUIRE(x);
	slab_kfree(a, x);
	slab_kfree(a, x);
	expect_reports(1, SLAB_ERR_DOUBLE_FREE, 1, "kfree twice");
	expect_report_fields(a, 0, slab_kmalloc_cache(a, 100), x);
	p1 = slab_kmalloc(a, 100, GFP_KERNEL);
	p2 = slab_kmalloc(a, 100, GFP_KERNEL);
	CHECK(p1 && p2 && p1 != p2);
	slab_kfree(a, p1);
	slab_kfree(a, p2);
	expect_reports(1, SLAB_ERR_DOUBLE_FREE, 1, "end");
	bystander_check(a, &by);
	CHECKF(validate_rc(a, NULL, &r) == 0, "whole arena: %s", r.first_error);
	arena_close(a);
}

/* a double free into a slab that is not the CPU slab (the free slow path) */
ISOLATED(double_free_partial_slab)
{
	struct arena *a = unit_arena();
	struct bystander by;
	struct kmem_cache *s;
	struct slab_cache_info ci;
	struct slab_validate_result r;
	void **obj, **more;
	int n, live = 0;

	REQUIRE(a);
	bystander_make(a, &by);
	s = unit_cache(a, "df-partial", 64, 0, 0, NULL);
	REQUIRE(s);
	REQUIRE(unit_info(a, s, &ci) == 0);
	n = 2 * (int)ci.objs_per_slab;
	obj = calloc((size_t)n, sizeof(*obj));
	more = calloc((size_t)n, sizeof(*more));
	REQUIRE(obj && more);
	for (int i = 0; i < n; i++) {
		obj[i] = slab_alloc(a, s, GFP_KERNEL);
		REQUIRE(obj[i]);
	}
	reports_reset();
	/* obj[1] lives in the first slab, which is no longer the CPU slab */
	slab_free(a, s, obj[1]);
	slab_free(a, s, obj[1]);
	expect_reports(1, SLAB_ERR_DOUBLE_FREE, 1, "double free on the slow path");
	if (nrep)
		expect_report_fields(a, 0, s, obj[1]);
	obj[1] = NULL;
	CHECKF(unit_validate(a, s, &r) == 0, "%s", r.first_error);
	CHECKF(r.allocated == (uint64_t)n - 1, "allocated %llu, want %d", (unsigned long long)r.allocated,
	       n - 1);
	/* the next allocations hand out nothing twice, nothing still in use */
	for (int i = 0; i < n; i++) {
		more[i] = slab_alloc(a, s, GFP_KERNEL);
		REQUIRE(more[i]);
		for (int j = 0; j < n; j++)
			if (obj[j] == more[i] || (j < i && more[j] == more[i])) {
				CHECKF(0, "allocation %d returned %p, already in use", i, more[i]);
				break;
			}
	}
	for (int i = 0; i < n; i++) {
		if (obj[i]) {
			slab_free(a, s, obj[i]);
			live++;
		}
		slab_free(a, s, more[i]);
	}
	expect_reports(1, SLAB_ERR_DOUBLE_FREE, 1, "end");
	CHECKF(unit_validate(a, s, &r) == 0 && r.allocated == 0, "%s, %llu allocated", r.first_error,
	       (unsigned long long)r.allocated);
	bystander_check(a, &by);
	free(obj);
	free(more);
	arena_close(a);
}

/* kmalloc_large: a second kfree and an interior kfree give pages back once only */
ISOLATED(double_kfree_large)
{
	struct arena *a = unit_arena();
	struct bystander by;
	struct slab_validate_result r;
	char err[256] = "";
	unsigned char *p, *q;
	uint64_t used0, used1;

	REQUIRE(a);
	bystander_make(a, &by);
	reports_reset();
	used0 = arena_used_bytes(a);
	p = slab_kmalloc(a, 20000, GFP_KERNEL);
	REQUIRE(p);
	used1 = arena_used_bytes(a);
	slab_kfree(a, p + 4096);	/* inside, not the start */
	CHECKF(nrep == 1 && count_kind(SLAB_ERR_BAD_POINTER) == 1, "interior kfree: %d reports", nrep);
	CHECKF(arena_used_bytes(a) == used1, "interior kfree gave back %llu bytes",
	       (unsigned long long)(used1 - arena_used_bytes(a)));
	memset(p, 0x5c, 20000);
	slab_kfree(a, p);
	CHECK(arena_used_bytes(a) == used0);
	slab_kfree(a, p);
	CHECKF(nrep == 2, "second kfree of a large block: %d reports in all (want 2)", nrep);
	dump_reports();
	CHECKF(arena_used_bytes(a) == used0, "used %llu, before %llu: pages freed twice?",
	       (unsigned long long)arena_used_bytes(a), (unsigned long long)used0);
	CHECKF(buddy_check(a, err, sizeof(err)) == 0, "%s", err);
	/* the pages are handed out once */
	p = slab_kmalloc(a, 20000, GFP_KERNEL);
	q = slab_kmalloc(a, 20000, GFP_KERNEL);
	CHECK(p && q && p != q);
	slab_kfree(a, p);
	slab_kfree(a, q);
	CHECK(arena_used_bytes(a) == used0);
	bystander_check(a, &by);
	CHECKF(unit_validate(a, NULL, &r) == 0, "whole arena: %s", r.first_error);
	arena_close(a);
}

/* with red zones (debug), a double free is caught even when it is not the head */
ISOLATED(double_free_debug_not_head)
{
	struct arena *a = unit_arena();
	struct bystander by;
	struct kmem_cache *s;
	struct slab_validate_result r;
	void *x, *y, *p[4];

	REQUIRE(a);
	bystander_make(a, &by);
	s = unit_cache(a, "df-debug", 64, 0, SLAB_RED_ZONE | SLAB_POISON, NULL);
	REQUIRE(s);
	reports_reset();
	x = slab_alloc(a, s, GFP_KERNEL);
	y = slab_alloc(a, s, GFP_KERNEL);
	REQUIRE(x && y);
	slab_free(a, s, x);
	slab_free(a, s, y);
	slab_free(a, s, x);
	expect_reports(1, SLAB_ERR_DOUBLE_FREE, 1, "free x, y, x");
	expect_report_fields(a, 0, s, x);
	for (int i = 0; i < 4; i++)
		p[i] = slab_alloc(a, s, GFP_KERNEL);
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < i; j++)
			CHECKF(p[i] != p[j], "allocations %d and %d are both %p", j, i, p[i]);
	for (int i = 0; i < 4; i++)
		if (p[i])
			slab_free(a, s, p[i]);
	expect_reports(1, SLAB_ERR_DOUBLE_FREE, 1, "end");
	CHECKF(validate_rc(a, s, &r) == 0 && r.allocated == 0, "rc %s allocated %llu",
	       r.first_error, (unsigned long long)r.allocated);
	bystander_check(a, &by);
	arena_close(a);
}

/*
 * (b) a free pointer overwritten with garbage, in a free object that is not
 * the head of its freelist: validate counts exactly one freelist error.
 * cpu: the objects' slab is the CPU slab; partial: a slab off the CPU.
 */
static void corrupt_freelist(int partial)
{
	struct arena *a = unit_arena();
	struct bystander by;
	struct kmem_cache *s;
	struct slab_cache_info ci;
	struct slab_validate_result r;
	void **obj;
	int n, victim, rc;
	uint64_t garbage = 0x4141414141414141ULL;

	REQUIRE(a);
	bystander_make(a, &by);
	s = unit_cache(a, partial ? "fl-partial" : "fl-cpu", 64, 0, 0, NULL);
	REQUIRE(s);
	REQUIRE(unit_info(a, s, &ci) == 0);
	REQUIRE(ci.objs_per_slab >= 4);
	CHECKF(ci.offset_fp + 8 <= ci.size, "offset_fp %u, size %u", ci.offset_fp, ci.size);
	n = (int)ci.objs_per_slab * (partial ? 2 : 1);
	obj = calloc((size_t)n, sizeof(*obj));
	REQUIRE(obj);
	/* the first objs_per_slab allocations fill the first slab, whatever its order */
	for (int i = 0; i < n; i++) {
		obj[i] = slab_alloc(a, s, GFP_KERNEL);
		REQUIRE(obj[i]);
	}
	/* free the first slab's objects, except obj[0] when the slab must stay off
	 * the CPU and not empty; the last freed (obj[spo-1]) is the head */
	for (int i = partial ? 1 : 0; i < (int)ci.objs_per_slab; i++)
		slab_free(a, s, obj[i]);
	rc = validate_rc(a, s, &r);
	CHECKF(rc == 0, "before the corruption: %s", r.first_error);
	REQUIRE(rc == 0);
	reports_reset();

	victim = (int)ci.objs_per_slab / 2;
	memcpy((char *)obj[victim] + ci.offset_fp, &garbage, sizeof(garbage));

	rc = validate_rc(a, s, &r);
	CHECKF(rc == -EUCLEAN, "validate rc=%d", rc);
	CHECKF(r.errors[SLAB_ERR_FREELIST] == 1, "%llu freelist errors, %llu in all: %s",
	       (unsigned long long)r.errors[SLAB_ERR_FREELIST], (unsigned long long)r.nr_errors,
	       r.first_error);
	CHECK(r.first_error[0] != '\0');
	/* validate returns what it finds in r; any report it also makes names the cache */
	for (int i = 0; i < nrep && i < MAXREP; i++)
		if (rep[i].kind == SLAB_ERR_FREELIST)
			CHECKF(!strcmp(rep[i].cache_name, slab_cache_name(s)), "report names %s",
			       rep[i].cache_name);
	printf("  %s: validate: %s\n", partial ? "partial" : "cpu", r.first_error);
	bystander_check(a, &by);
	free(obj);
	arena_close(a);
}

ISOLATED(freelist_corrupt_cpu_slab)
{
	corrupt_freelist(0);
}

ISOLATED(freelist_corrupt_partial_slab)
{
	corrupt_freelist(1);
}

/* allocating through a corrupted freelist: reported, never a wild pointer */
ISOLATED(freelist_corrupt_then_alloc)
{
	struct arena *a = unit_arena();
	struct bystander by;
	struct kmem_cache *s;
	struct slab_cache_info ci;
	void **obj, **got;
	int n, victim;
	uint64_t garbage = 0x4141414141414141ULL;

	REQUIRE(a);
	bystander_make(a, &by);
	s = unit_cache(a, "fl-alloc", 64, 0, 0, NULL);
	REQUIRE(s);
	REQUIRE(unit_info(a, s, &ci) == 0);
	n = (int)ci.objs_per_slab;
	obj = calloc((size_t)n, sizeof(*obj));
	got = calloc((size_t)n * 2 + 8, sizeof(*got));
	REQUIRE(obj && got);
	for (int i = 0; i < n; i++) {
		obj[i] = slab_alloc(a, s, GFP_KERNEL);
		REQUIRE(obj[i]);
	}
	for (int i = 0; i < n; i++)
		slab_free(a, s, obj[i]);
	reports_reset();
	victim = n / 2;
	memcpy((char *)obj[victim] + ci.offset_fp, &garbage, sizeof(garbage));
	for (int i = 0; i < 2 * n + 8; i++) {
		aoff_t off;

		got[i] = slab_alloc(a, s, GFP_KERNEL);
		if (!got[i])
			continue;
		off = arena_offset(a, got[i]);
		if (off == 0 || slab_ksize(a, got[i]) < 64) {
			CHECKF(0, "allocation %d returned %p (offset %#llx, ksize %zu)", i, got[i],
			       (unsigned long long)off, off ? slab_ksize(a, got[i]) : (size_t)0);
			got[i] = NULL;
			break;
		}
		for (int j = 0; j < i; j++)
			if (got[j] == got[i]) {
				CHECKF(0, "allocations %d and %d are both %p", j, i, got[i]);
				break;
			}
		memset(got[i], 0x99, 64);
	}
	CHECKF(count_kind(SLAB_ERR_FREELIST) >= 1, "the corruption was followed silently (%d reports)",
	       nrep);
	printf("  %d reports while allocating through the corrupted freelist\n", nrep);
	dump_reports();
	bystander_check(a, &by);
	free(obj);
	free(got);
	arena_close(a);
}

/* (c) one byte past the object, or one before it, with SLAB_RED_ZONE */
ISOLATED(redzone_on_free)
{
	struct arena *a = unit_arena();
	struct bystander by;
	struct kmem_cache *s;
	struct slab_cache_info ci;
	unsigned char *x, *y, *z;

	REQUIRE(a);
	bystander_make(a, &by);
	s = unit_cache(a, "rz60", 60, 0, SLAB_RED_ZONE, NULL);
	REQUIRE(s);
	REQUIRE(unit_info(a, s, &ci) == 0);
	CHECK(ci.object_size == 60);
	CHECKF(ci.size > ci.object_size, "size %u: no room for a red zone", ci.size);
	reports_reset();

	/* a clean object: no report */
	z = slab_alloc(a, s, GFP_KERNEL);
	REQUIRE(z);
	memset(z, 0x11, 60);
	slab_free(a, s, z);
	expect_reports(0, SLAB_ERR_REDZONE, 0, "clean object");

	x = slab_alloc(a, s, GFP_KERNEL);
	REQUIRE(x);
	memset(x, 0x22, 60);
	x[ci.object_size] = 0x55;
	slab_free(a, s, x);
	expect_reports(1, SLAB_ERR_REDZONE, 1, "write past the end");
	expect_report_fields(a, 0, s, x);
	if (unit_info(a, s, &ci) == 0)
		CHECKF(ci.errors[SLAB_ERR_REDZONE] == 1, "cache counts %llu",
		       (unsigned long long)ci.errors[SLAB_ERR_REDZONE]);

	/* the left red zone */
	CHECKF(ci.red_left_pad > 0, "red_left_pad 0: no guard before objects");
	if (ci.red_left_pad > 0) {
		y = slab_alloc(a, s, GFP_KERNEL);
		REQUIRE(y);
		y[-1] = 0x55;
		slab_free(a, s, y);
		expect_reports(2, SLAB_ERR_REDZONE, 2, "write before the start");
		expect_report_fields(a, 1, s, y);
	}
	/* and another clean one */
	z = slab_alloc(a, s, GFP_KERNEL);
	REQUIRE(z);
	memset(z, 0x33, 60);
	slab_free(a, s, z);
	CHECKF(count_kind(SLAB_ERR_REDZONE) == nrep, "other kinds reported too");
	CHECKF(nrep == (ci.red_left_pad > 0 ? 2 : 1), "%d reports", nrep);
	bystander_check(a, &by);
	arena_close(a);
}

/* a red zone overwritten on an object that is still allocated: validate finds it */
ISOLATED(redzone_on_validate)
{
	struct arena *a = unit_arena();
	struct bystander by;
	struct kmem_cache *s;
	struct slab_cache_info ci;
	struct slab_validate_result r;
	unsigned char *x[10];
	int rc;

	REQUIRE(a);
	bystander_make(a, &by);
	s = unit_cache(a, "rz-val", 100, 0, SLAB_RED_ZONE, NULL);
	REQUIRE(s);
	REQUIRE(unit_info(a, s, &ci) == 0);
	for (int i = 0; i < 10; i++) {
		x[i] = slab_alloc(a, s, GFP_KERNEL);
		REQUIRE(x[i]);
		memset(x[i], i, 100);
	}
	rc = validate_rc(a, s, &r);
	CHECKF(rc == 0, "%s", r.first_error);
	reports_reset();
	x[4][ci.object_size + 1] = 0;
	rc = validate_rc(a, s, &r);
	CHECKF(rc == -EUCLEAN, "rc=%d", rc);
	CHECKF(r.errors[SLAB_ERR_REDZONE] == 1 && r.nr_errors == 1,
	       "%llu red zone errors, %llu in all: %s",
	       (unsigned long long)r.errors[SLAB_ERR_REDZONE], (unsigned long long)r.nr_errors,
	       r.first_error);
	CHECKF(r.allocated == 10, "allocated %llu", (unsigned long long)r.allocated);
	bystander_check(a, &by);
	arena_close(a);
}

/* the byte range of a free object that the free pointer may occupy */
static int in_fp(const struct slab_cache_info *ci, size_t i)
{
	return i >= ci->offset_fp && i < (size_t)ci->offset_fp + 8;
}

static size_t poison_target(const struct slab_cache_info *ci)
{
	size_t k = 10;

	while (in_fp(ci, k))
		k++;
	return k;
}

/* (d) SLAB_POISON: free objects hold 0x6b; a write into one is found by validate */
ISOLATED(poison_on_validate)
{
	struct arena *a = unit_arena();
	struct bystander by;
	struct kmem_cache *s;
	struct slab_cache_info ci;
	struct slab_validate_result r;
	unsigned char *x, *keep;
	size_t notpoison = 0, k;
	int rc;

	REQUIRE(a);
	bystander_make(a, &by);
	s = unit_cache(a, "po64", 64, 0, SLAB_POISON, NULL);
	REQUIRE(s);
	REQUIRE(unit_info(a, s, &ci) == 0);
	keep = slab_alloc(a, s, GFP_KERNEL);
	x = slab_alloc(a, s, GFP_KERNEL);
	REQUIRE(keep && x);
	memset(x, 0, 64);
	slab_free(a, s, x);
	for (size_t i = 0; i + 1 < ci.object_size; i++)
		if (!in_fp(&ci, i) && x[i] != 0x6b)
			notpoison++;
	CHECKF(notpoison == 0, "%zu bytes of a freed object are not 0x6b", notpoison);
	rc = validate_rc(a, s, &r);
	CHECKF(rc == 0, "before: %s", r.first_error);
	reports_reset();

	k = poison_target(&ci);
	x[k] = 0x00;
	rc = validate_rc(a, s, &r);
	CHECKF(rc == -EUCLEAN, "rc=%d", rc);
	CHECKF(r.errors[SLAB_ERR_POISON] == 1 && r.nr_errors == 1, "%llu poison errors, %llu in all: %s",
	       (unsigned long long)r.errors[SLAB_ERR_POISON], (unsigned long long)r.nr_errors,
	       r.first_error);
	CHECKF(count_kind(SLAB_ERR_POISON) <= 1, "%d poison reports", count_kind(SLAB_ERR_POISON));
	CHECKF(r.allocated == 1 && r.free + 1 == r.objects, "allocated %llu free %llu objects %llu",
	       (unsigned long long)r.allocated, (unsigned long long)r.free,
	       (unsigned long long)r.objects);
	bystander_check(a, &by);
	arena_close(a);
}

/* (d) the same found on allocation: reported once, however many allocations follow */
ISOLATED(poison_on_alloc)
{
	struct arena *a = unit_arena();
	struct bystander by;
	struct kmem_cache *s;
	struct slab_cache_info ci;
	unsigned char *x, **got;
	int n, gotx = 0;

	REQUIRE(a);
	bystander_make(a, &by);
	s = unit_cache(a, "po-alloc", 64, 0, SLAB_POISON, NULL);
	REQUIRE(s);
	REQUIRE(unit_info(a, s, &ci) == 0);
	n = 2 * (int)ci.objs_per_slab + 4;
	got = calloc((size_t)n, sizeof(*got));
	REQUIRE(got);
	x = slab_alloc(a, s, GFP_KERNEL);
	REQUIRE(x);
	slab_free(a, s, x);
	reports_reset();
	x[poison_target(&ci)] = 0x00;
	for (int i = 0; i < n; i++) {
		got[i] = slab_alloc(a, s, GFP_KERNEL);
		CHECK(got[i] != NULL);
		if (got[i] == x)
			gotx++;
		for (int j = 0; j < i; j++)
			if (got[i] && got[j] == got[i]) {
				CHECKF(0, "allocations %d and %d are both %p", j, i, (void *)got[i]);
				break;
			}
	}
	expect_reports(1, SLAB_ERR_POISON, 1, "allocating past the poisoned object");
	if (nrep >= 1)
		expect_report_fields(a, 0, s, x);
	printf("  the poisoned object was %s\n", gotx ? "handed out after the report" : "withheld");
	for (int i = 0; i < n; i++)
		if (got[i])
			slab_free(a, s, got[i]);
	CHECK(count_kind(SLAB_ERR_POISON) == 1);
	bystander_check(a, &by);
	free(got);
	arena_close(a);
}

/* (e) pointers that are not objects */
#define EXPECT_BAD(when) do { \
	total++; \
	expect_reports(total, SLAB_ERR_BAD_POINTER, total, when); \
} while (0)

ISOLATED(bad_pointers)
{
	struct arena *a = unit_arena();
	struct bystander by;
	struct kmem_cache *k64 = NULL, *s;
	struct slab_validate_result r0, r1;
	unsigned char *obj, *sobj;
	void *page;
	long on_stack[4] = { 0 };
	int total = 0;

	REQUIRE(a);
	bystander_make(a, &by);
	k64 = slab_kmalloc_cache(a, 64);
	REQUIRE(k64);
	s = unit_cache(a, "bad-ptr", 64, 0, 0, NULL);
	REQUIRE(s);
	obj = slab_kmalloc(a, 64, GFP_KERNEL);
	sobj = slab_alloc(a, s, GFP_KERNEL);
	REQUIRE(obj && sobj);
	memset(obj, 0x12, 64);
	memset(sobj, 0x34, 64);
	page = buddy_alloc_pages(a, 0);
	REQUIRE(page);
	buddy_free_pages(a, page, 0);	/* a free page inside the arena */
	REQUIRE(unit_validate(a, k64, &r0) == 0);
	reports_reset();

	slab_kfree(a, on_stack);
	EXPECT_BAD("kfree(stack)");
	slab_kfree(a, (void *)(uintptr_t)0x1000);
	EXPECT_BAD("kfree(0x1000)");
	slab_kfree(a, obj + 1);
	EXPECT_BAD("kfree(obj + 1)");
	slab_kfree(a, obj + 32);
	EXPECT_BAD("kfree(obj + 32)");
	slab_kfree(a, (char *)arena_base(a) + 64);
	EXPECT_BAD("kfree(arena header)");
	slab_kfree(a, page);
	EXPECT_BAD("kfree(free page)");
	slab_kfree(a, (char *)arena_base(a) + arena_size(a));
	EXPECT_BAD("kfree(arena end)");
	slab_free(a, s, on_stack);
	EXPECT_BAD("slab_free(stack)");
	slab_free(a, s, sobj + 8);
	EXPECT_BAD("slab_free(obj + 8)");
	slab_free(a, s, page);
	EXPECT_BAD("slab_free(free page)");
	for (int i = 0; i < nrep && i < MAXREP; i++)
		CHECK(rep[i].pid == (uint32_t)getpid());

	/* nothing was freed: the objects are intact and still allocated */
	CHECK(unit_validate(a, k64, &r1) == 0);
	CHECKF(r1.allocated == r0.allocated, "kmalloc-64 allocated %llu -> %llu",
	       (unsigned long long)r0.allocated, (unsigned long long)r1.allocated);
	CHECK(obj[0] == 0x12 && obj[63] == 0x12);
	CHECK(sobj[0] == 0x34 && sobj[63] == 0x34);
	CHECK(on_stack[0] == 0 && on_stack[3] == 0);
	CHECKF(unit_validate(a, s, &r1) == 0 && r1.allocated == 1, "bad-ptr: %s allocated %llu",
	       r1.first_error, (unsigned long long)r1.allocated);
	{
		void *o = slab_kmalloc(a, 64, GFP_KERNEL), *o2 = slab_alloc(a, s, GFP_KERNEL);

		CHECK(o != obj && o2 != sobj);
		slab_kfree(a, o);
		slab_free(a, s, o2);
	}
	/* the real pointers free normally */
	slab_kfree(a, obj);
	slab_free(a, s, sobj);
	expect_reports(total, SLAB_ERR_BAD_POINTER, total, "proper frees");
	CHECK(unit_validate(a, k64, &r1) == 0);
	CHECKF(r1.allocated + 1 == r0.allocated, "kmalloc-64 allocated %llu -> %llu",
	       (unsigned long long)r0.allocated, (unsigned long long)r1.allocated);

	/* ksize of a bad pointer is 0 */
	CHECK(slab_ksize(a, on_stack) == 0);
	/* slab_free of NULL: at most a report, never a crash */
	{
		int before = nrep;

		slab_free(a, s, NULL);
		CHECKF(nrep - before <= 1, "slab_free(NULL): %d reports", nrep - before);
	}
	bystander_check(a, &by);
	CHECKF(unit_validate(a, NULL, &r1) == 0, "whole arena: %s", r1.first_error);
	arena_close(a);
}

/* (e) an object freed into a cache it does not belong to */
ISOLATED(wrong_cache)
{
	struct arena *a = unit_arena();
	struct bystander by;
	struct kmem_cache *ca, *cb, *cc;
	struct slab_validate_result r;
	void *x, *y;
	int total = 0;

	REQUIRE(a);
	bystander_make(a, &by);
	ca = unit_cache(a, "wc-a", 64, 0, 0, NULL);
	cb = unit_cache(a, "wc-b", 64, 0, 0, NULL);
	cc = unit_cache(a, "wc-c", 128, 0, 0, NULL);
	REQUIRE(ca && cb && cc);
	x = slab_alloc(a, ca, GFP_KERNEL);
	y = slab_alloc(a, ca, GFP_KERNEL);
	REQUIRE(x && y);
	reports_reset();

	for (int k = 0; k < 2; k++) {
		struct kmem_cache *wrong = k ? cc : cb;
		void *o = k ? y : x;

		slab_free(a, wrong, o);
		total++;
		expect_reports(total, SLAB_ERR_WRONG_CACHE, total, k ? "into wc-c" : "into wc-b");
		/* the wrong cache is untouched */
		CHECKF(unit_validate(a, wrong, &r) == 0 && r.allocated == 0, "%s: %s, %llu allocated",
		       slab_cache_name(wrong), r.first_error, (unsigned long long)r.allocated);
		/* the object is either still allocated in its own cache (refused) or
		 * was freed there (the kernel's choice); both leave wc-a consistent */
		CHECKF(unit_validate(a, ca, &r) == 0, "wc-a: %s", r.first_error);
		if (r.allocated == (uint64_t)(2 - k))
			slab_free(a, ca, o);
		else
			CHECKF(r.allocated == (uint64_t)(1 - k), "wc-a allocated %llu",
			       (unsigned long long)r.allocated);
		expect_reports(total, SLAB_ERR_WRONG_CACHE, total, "after");
	}
	CHECKF(unit_validate(a, ca, &r) == 0 && r.allocated == 0, "wc-a: %s %llu", r.first_error,
	       (unsigned long long)r.allocated);
	if (unit_validate(a, NULL, &r) != 0)
		CHECKF(0, "whole arena: %s", r.first_error);
	bystander_check(a, &by);
	arena_close(a);
}

/* kfree of an object of a named cache finds its cache (as the kernel allows) */
ISOLATED(kfree_cache_object)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s;
	struct slab_validate_result r;
	void *x;

	REQUIRE(a);
	s = unit_cache(a, "kfree-me", 200, 0, 0, NULL);
	REQUIRE(s);
	reports_reset();
	x = slab_alloc(a, s, GFP_KERNEL);
	REQUIRE(x);
	CHECK(slab_ksize(a, x) >= 200);
	slab_kfree(a, x);
	expect_reports(0, SLAB_ERR_BAD_POINTER, 0, "kfree of a cache object");
	CHECKF(unit_validate(a, s, &r) == 0 && r.allocated == 0, "%s %llu", r.first_error,
	       (unsigned long long)r.allocated);
	arena_close(a);
}

/* (f) all debug flags: correct use raises nothing and validates */
ISOLATED(store_user_clean)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s, *s2;
	struct slab_cache_info ci;
	struct slab_validate_result r;
	enum { N = 1000 };
	unsigned char **p = calloc(N, sizeof(*p));
	int rc, bad = 0;

	REQUIRE(a && p);
	reports_reset();
	s = unit_cache(a, "su128", 128, 0, SLAB_STORE_USER, NULL);
	s2 = unit_cache(a, "su-all", 120, 0, SLAB_STORE_USER | SLAB_RED_ZONE | SLAB_POISON, NULL);
	REQUIRE(s && s2);
	REQUIRE(unit_info(a, s2, &ci) == 0);
	CHECK((ci.flags & SLAB_DEBUG_FLAGS) == SLAB_DEBUG_FLAGS);
	CHECK(ci.size > ci.object_size);	/* red zone at least */
	for (int round = 0; round < 2; round++) {
		struct kmem_cache *c = round ? s2 : s;
		unsigned int osz = slab_cache_size(c);

		for (int i = 0; i < N; i++) {
			p[i] = slab_alloc(a, c, GFP_KERNEL);
			REQUIRE(p[i]);
			memset(p[i], i & 0xff, osz);
		}
		rc = unit_validate(a, c, &r);
		CHECKF(rc == 0 && r.allocated == N, "%s: %s, %llu allocated", slab_cache_name(c),
		       r.first_error, (unsigned long long)r.allocated);
		for (int i = 0; i < N; i += 2)
			slab_free(a, c, p[i]);
		rc = unit_validate(a, c, &r);
		CHECKF(rc == 0 && r.allocated == N / 2, "%s: %s, %llu allocated", slab_cache_name(c),
		       r.first_error, (unsigned long long)r.allocated);
		for (int i = 1; i < N; i += 2) {
			if (p[i][0] != (i & 0xff) || p[i][osz - 1] != (i & 0xff))
				bad++;
			slab_free(a, c, p[i]);
		}
		/* zeroed allocation from a debug cache */
		for (int i = 0; i < 100; i++) {
			p[i] = slab_alloc(a, c, __GFP_ZERO);
			REQUIRE(p[i]);
			for (unsigned int j = 0; j < osz; j++)
				if (p[i][j]) {
					bad++;
					break;
				}
		}
		for (int i = 0; i < 100; i++)
			slab_free(a, c, p[i]);
		rc = unit_validate(a, c, &r);
		CHECKF(rc == 0 && r.allocated == 0, "%s: %s, %llu allocated", slab_cache_name(c),
		       r.first_error, (unsigned long long)r.allocated);
		/* bulk through a debug cache */
		{
			void *b[300];

			CHECK(slab_alloc_bulk(a, c, GFP_KERNEL, 300, b) == 300);
			for (int i = 0; i < 300; i++)
				memset(b[i], 0x3d, osz);
			rc = unit_validate(a, c, &r);
			CHECKF(rc == 0 && r.allocated == 300, "%s bulk: %s, %llu allocated",
			       slab_cache_name(c), r.first_error, (unsigned long long)r.allocated);
			slab_free_bulk(a, c, 300, b);
			rc = unit_validate(a, c, &r);
			CHECKF(rc == 0 && r.allocated == 0, "%s bulk freed: %s, %llu allocated",
			       slab_cache_name(c), r.first_error, (unsigned long long)r.allocated);
		}
		CHECK(slab_shrink(a, c) == 0);
	}
	CHECKF(bad == 0, "%d objects with wrong contents", bad);
	CHECKF(nrep == 0, "%d reports on correct use", nrep);
	dump_reports();
	CHECKF(unit_validate(a, NULL, &r) == 0, "whole arena: %s", r.first_error);
	free(p);
	arena_close(a);
}

/*
 * a process SIGKILLed at random moments while it allocates and frees on a
 * red-zoned, poisoned pool, writing every byte of its objects and none past
 * them, leaves nothing that validate takes for an overrun: the step it dies
 * in (an object popped but its red zone not yet active, or poisoned but not
 * yet pushed) is finished by the next locker of the node ("debug steps" in
 * slub_debug.c).  The one real overrun - a byte past an object the case
 * holds - is still found after every kill and the scrub slubd would run,
 * and alone, and on its free.
 */
ISOLATED_T(redzone_kills, 120)
{
	struct arena *a = unit_arena();
	struct kmem_cache *s;
	struct slab_cache_info ci;
	struct slab_validate_result r;
	uint64_t *ops, rnd = 0x5eedf00dULL, total = 0;
	char want[64];
	unsigned char *x;
	int bad = 0, rounds = 200, round;

	REQUIRE(a);
	s = unit_cache(a, "rz-kill", 1000, 0, SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER, NULL);
	REQUIRE(s);
	REQUIRE(unit_info(a, s, &ci) == 0);
	ops = mmap(NULL, sizeof(*ops), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	REQUIRE(ops != MAP_FAILED);
	x = slab_alloc(a, s, GFP_KERNEL);
	REQUIRE(x);
	memset(x, 0x22, ci.object_size);
	x[ci.object_size] = 0x55;		/* the real overrun */
	snprintf(want, sizeof(want), "object %#llx: red zone", (unsigned long long)arena_offset(a, x));
	for (round = 0; round < rounds && !t_failed; round++) {
		uint64_t base = __atomic_load_n(ops, __ATOMIC_ACQUIRE), t0 = 0;
		pid_t kid = fork();
		int st;

		REQUIRE(kid >= 0);
		if (kid == 0) {
			uint64_t k = (uint64_t)round * 0x9e3779b97f4a7c15ULL | 1;
			void *held[16] = { 0 };

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;) {
				unsigned int i = (unsigned int)(t_rand(&k) % 16);

				if (held[i]) {
					slab_free(a, s, held[i]);
					held[i] = NULL;
				} else if ((held[i] = slab_alloc(a, s, GFP_KERNEL))) {
					memset(held[i], 0x5a, ci.object_size);
				}
				__atomic_add_fetch(ops, 1, __ATOMIC_RELEASE);
			}
		}
		/* under way, then killed a random while later */
		while (__atomic_load_n(ops, __ATOMIC_ACQUIRE) < base + 50 && t0++ < 1000000)
			sched_yield();
		usleep((useconds_t)(t_rand(&rnd) % 400));
		kill(kid, SIGKILL);
		waitpid(kid, &st, 0);
		total += __atomic_load_n(ops, __ATOMIC_ACQUIRE) - base;
		/* as slubd does when a client dies: a slab the victim was moving
		 * (on no list, its owner dead) goes back; validate would call it
		 * an orphan until then */
		{
			struct slab_scrub_result sr;

			CHECK(slab_scrub(a, &sr) == 0);
		}
		validate_rc(a, s, &r);
		if (r.nr_errors != 1 || r.errors[SLAB_ERR_REDZONE] != 1 || !strstr(r.first_error, want)) {
			char kinds[200] = "";

			for (int k = 1; k < SLAB_ERR_NR; k++)
				if (r.errors[k])
					snprintf(kinds + strlen(kinds), sizeof(kinds) - strlen(kinds),
						 " %s %llu", slab_error_name(k),
						 (unsigned long long)r.errors[k]);
			CHECKF(0, "round %d: validate after scrub: %llu errors (%s), first: %s; want only "
			       "\"%s\"",
			       round, (unsigned long long)r.nr_errors, kinds, r.first_error, want);
			if (++bad >= 3)
				break;
		}
	}
	printf("  %d kills, %llu operations of the killed processes; %s\n", round,
	       (unsigned long long)total, bad ? "validate saw more than the one overrun" :
	       "validate found the one overrun after each kill, nothing else");
	reports_reset();
	slab_free(a, s, x);
	expect_reports(1, SLAB_ERR_REDZONE, 1, "freeing the overrun object after the kills");
	munmap(ops, sizeof(*ops));
	arena_close(a);
}

ISOLATED(error_names)
{
	for (int k = SLAB_ERR_DOUBLE_FREE; k < SLAB_ERR_NR; k++) {
		const char *n = slab_error_name((enum slab_error)k);

		CHECKF(n && n[0], "error %d has no name", k);
		for (int j = SLAB_ERR_DOUBLE_FREE; n && j < k; j++) {
			const char *m = slab_error_name((enum slab_error)j);
			CHECKF(!m || strcmp(m, n), "errors %d and %d both '%s'", j, k, n);
		}
	}
}

T_MAIN(T_CASE(double_free_plain),
       T_CASE(double_kfree),
       T_CASE(double_free_partial_slab),
       T_CASE(double_kfree_large),
       T_CASE(double_free_debug_not_head),
       T_CASE(freelist_corrupt_cpu_slab),
       T_CASE(freelist_corrupt_partial_slab),
       T_CASE(freelist_corrupt_then_alloc),
       T_CASE(redzone_on_free),
       T_CASE(redzone_on_validate),
       T_CASE(poison_on_validate),
       T_CASE(poison_on_alloc),
       T_CASE(bad_pointers),
       T_CASE(wrong_cache),
       T_CASE(kfree_cache_object),
       T_CASE(store_user_clean),
       T_CASE(redzone_kills),
       T_CASE(error_names))
