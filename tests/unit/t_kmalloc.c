/*
 * t_kmalloc.c - kmalloc's size classes (the kernel's kmalloc_index),
 * ZERO_SIZE_PTR, ksize, kmalloc_large, krealloc and kzalloc.
 */
#include "unit.h"

/* the kernel's kmalloc_index for KMALLOC_MIN_SIZE 8, written out independently */
static int want_index(size_t size)
{
	if (size == 0)
		return 0;
	if (size <= 8)
		return 3;
	if (size > 64 && size <= 96)
		return 1;
	if (size > 128 && size <= 192)
		return 2;
	for (int k = 4; k <= 13; k++)
		if (size <= ((size_t)1 << k))
			return k;
	return -1;
}

static size_t class_size(int idx)
{
	return idx == 1 ? 96 : idx == 2 ? 192 : (size_t)1 << idx;
}

static unsigned int reports;
static struct slab_report last_report;

static void count_reports(const struct slab_report *r, void *arg)
{
	(void)arg;
	reports++;
	last_report = *r;
}

static void expect_no_reports(const char *when)
{
	CHECKF(reports == 0, "%s: %u reports, the last %s (%s): %s", when, reports,
	       slab_error_name((enum slab_error)last_report.kind), last_report.cache_name,
	       last_report.detail);
}

ISOLATED(index_table)
{
	static const struct { size_t size; int idx; } fixed[] = {
		{ 0, 0 }, { 1, 3 }, { 8, 3 }, { 9, 4 }, { 16, 4 }, { 17, 5 }, { 32, 5 },
		{ 33, 6 }, { 64, 6 }, { 65, 1 }, { 96, 1 }, { 97, 7 }, { 128, 7 }, { 129, 2 },
		{ 192, 2 }, { 193, 8 }, { 256, 8 }, { 257, 9 }, { 512, 9 }, { 513, 10 },
		{ 1024, 10 }, { 1025, 11 }, { 2048, 11 }, { 2049, 12 }, { 4096, 12 },
		{ 4097, 13 }, { 8192, 13 }, { 8193, -1 }, { 16384, -1 }, { (size_t)1 << 30, -1 },
		{ SIZE_MAX, -1 },
	};
	int bad = 0;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		CHECKF(kmalloc_index(fixed[i].size) == fixed[i].idx, "kmalloc_index(%zu) = %d, want %d",
		       fixed[i].size, kmalloc_index(fixed[i].size), fixed[i].idx);
	for (size_t sz = 0; sz <= 20000; sz++)
		if (kmalloc_index(sz) != want_index(sz) && bad++ < 10)
			CHECKF(0, "kmalloc_index(%zu) = %d, want %d", sz, kmalloc_index(sz),
			       want_index(sz));
}

/* slab_kmalloc_cache: the class cache, named as the kernel names it */
ISOLATED(kmalloc_caches)
{
	struct arena *a = unit_arena();
	int bad = 0;

	REQUIRE(a);
	for (size_t sz = 1; sz <= KMALLOC_MAX_CACHE_SIZE; sz++) {
		struct kmem_cache *s = slab_kmalloc_cache(a, sz);
		size_t want = class_size(want_index(sz));
		char name[32];

		if (!s) {
			if (bad++ < 5)
				CHECKF(0, "no kmalloc cache for %zu", sz);
			continue;
		}
		if (slab_cache_size(s) != want && bad++ < 5)
			CHECKF(0, "kmalloc cache for %zu has size %u, want %zu", sz, slab_cache_size(s), want);
		if (want >= 1024)
			snprintf(name, sizeof(name), "kmalloc-%zuk", want >> 10);
		else
			snprintf(name, sizeof(name), "kmalloc-%zu", want);
		if (strcmp(slab_cache_name(s), name) && bad++ < 5)
			CHECKF(0, "kmalloc cache for %zu is '%s', want '%s'", sz, slab_cache_name(s), name);
		if (slab_cache_find(a, name) != s && bad++ < 5)
			CHECKF(0, "slab_cache_find(%s) is not the kmalloc cache", name);
	}
	arena_close(a);
}

ISOLATED(zero_size_and_null)
{
	struct arena *a = unit_arena();
	struct slab_validate_result r;
	uint64_t used;

	REQUIRE(a);
	reports = 0;
	slab_set_report_fn(count_reports, NULL);
	used = arena_used_bytes(a);
	CHECK(slab_kmalloc(a, 0, GFP_KERNEL) == ZERO_SIZE_PTR);
	CHECK(slab_kmalloc(a, 0, __GFP_ZERO) == ZERO_SIZE_PTR);
	CHECK(slab_kzalloc(a, 0, GFP_KERNEL) == ZERO_SIZE_PTR);
	slab_kfree(a, ZERO_SIZE_PTR);
	slab_kfree(a, NULL);
	CHECK(slab_ksize(a, NULL) == 0);
	CHECK(slab_ksize(a, ZERO_SIZE_PTR) == 0);
	CHECK(arena_used_bytes(a) == used);
	expect_no_reports("kfree of NULL / ZERO_SIZE_PTR");
	CHECKF(unit_validate(a, NULL, &r) == 0, "%s", r.first_error);
	slab_set_report_fn(NULL, NULL);
	arena_close(a);
}

static int is_pow2(size_t x)
{
	return x && !(x & (x - 1));
}

ISOLATED(ksize_every_size)
{
	struct arena *a = unit_arena();
	int bad = 0;

	REQUIRE(a);
	reports = 0;
	slab_set_report_fn(count_reports, NULL);
	for (size_t sz = 1; sz <= 9000; sz += (sz < 600 ? 1 : sz < 4200 ? 7 : 13)) {
		unsigned char *p = slab_kmalloc(a, sz, GFP_KERNEL);
		size_t ks;
		aoff_t off;

		if (!p) {
			if (bad++ < 5)
				CHECKF(0, "kmalloc(%zu) failed, errno %d", sz, errno);
			continue;
		}
		off = arena_offset(a, p);
		ks = slab_ksize(a, p);
		if (ks < sz && bad++ < 5)
			CHECKF(0, "ksize %zu < %zu", ks, sz);
		if (sz <= KMALLOC_MAX_CACHE_SIZE) {
			size_t want = class_size(want_index(sz));

			if (ks != want && bad++ < 5)
				CHECKF(0, "kmalloc(%zu): ksize %zu, class %zu", sz, ks, want);
			/* the kernel aligns power-of-two sizes naturally */
			if (is_pow2(want) && off % want && bad++ < 5)
				CHECKF(0, "kmalloc(%zu) at offset %#llx, not %zu-aligned", sz,
				       (unsigned long long)off, want);
		} else if ((ks % 4096 || !is_pow2(ks / 4096)) && bad++ < 5) {
			CHECKF(0, "kmalloc_large(%zu): ksize %zu not a power-of-two number of pages", sz, ks);
		}
		if (off % 8 && bad++ < 5)
			CHECKF(0, "kmalloc(%zu) at offset %#llx, not 8-aligned", sz, (unsigned long long)off);
		if (off == 0 || off + ks > arena_size(a)) {
			CHECKF(0, "kmalloc(%zu) outside the arena", sz);
			break;
		}
		memset(p, 0xab, ks);	/* all of ksize is usable */
		slab_kfree(a, p);
	}
	expect_no_reports("ksize loop");
	{
		struct slab_validate_result r;
		CHECKF(unit_validate(a, NULL, &r) == 0, "%s", r.first_error);
	}
	slab_set_report_fn(NULL, NULL);
	arena_close(a);
}

/* sizes above KMALLOC_MAX_CACHE_SIZE come straight from the buddy */
ISOLATED(kmalloc_large)
{
	struct arena *a = unit_arena();
	static const size_t sizes[] = { KMALLOC_MAX_CACHE_SIZE + 1, 20000, 65536, 100000,
					1u << 20, (1u << 20) + 1, 4u << 20 };

	REQUIRE(a);
	reports = 0;
	slab_set_report_fn(count_reports, NULL);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t sz = sizes[i], ks;
		uint64_t used0 = arena_used_bytes(a), used1;
		unsigned char *p = slab_kmalloc(a, sz, GFP_KERNEL);

		CHECKF(p != NULL, "kmalloc(%zu) errno %d", sz, errno);
		if (!p)
			continue;
		used1 = arena_used_bytes(a);
		ks = slab_ksize(a, p);
		CHECKF(ks >= sz && ks < 2 * sz + 4096, "kmalloc(%zu): ksize %zu", sz, ks);
		CHECKF(ks % 4096 == 0, "ksize %zu", ks);
		CHECKF(arena_offset(a, p) % 4096 == 0, "kmalloc(%zu) not page-aligned", sz);
		CHECKF(used1 - used0 == ks, "kmalloc(%zu): used grew by %llu, ksize %zu", sz,
		       (unsigned long long)(used1 - used0), ks);
		memset(p, 0xcd, ks);
		CHECK(p[0] == 0xcd && p[ks - 1] == 0xcd);
		slab_kfree(a, p);
		CHECKF(arena_used_bytes(a) == used0, "kfree(%zu): used %llu, was %llu", sz,
		       (unsigned long long)arena_used_bytes(a), (unsigned long long)used0);
	}
	/* larger than the largest buddy block: refused cleanly */
	{
		void *p;

		errno = 0;
		p = slab_kmalloc(a, (4u << 20) + 1, GFP_KERNEL);
		if (p) {
			CHECK(slab_ksize(a, p) > (4u << 20));
			slab_kfree(a, p);
		} else {
			CHECK(errno == ENOMEM);
		}
		errno = 0;
		CHECK(slab_kmalloc(a, (size_t)1 << 40, GFP_KERNEL) == NULL);
		CHECK(errno == ENOMEM);
		errno = 0;
		CHECK(slab_kmalloc(a, (size_t)1 << 63, GFP_KERNEL) == NULL);
		CHECK(errno == ENOMEM);
	}
	/* many large ones alive at once, then all gone */
	{
		uint64_t used0 = arena_used_bytes(a);
		void *p[64];
		int n;

		for (n = 0; n < 64; n++) {
			p[n] = slab_kmalloc(a, 9000 + (size_t)n * 1000, GFP_KERNEL);
			if (!p[n])
				break;
			memset(p[n], n, 9000 + (size_t)n * 1000);
		}
		CHECK(n == 64);
		for (int i = 0; i < n; i++) {
			CHECK(((unsigned char *)p[i])[8999] == (unsigned char)i);
			slab_kfree(a, p[i]);
		}
		CHECK(arena_used_bytes(a) == used0);
	}
	expect_no_reports("kmalloc_large");
	{
		char err[256] = "";
		struct slab_validate_result r;

		CHECKF(buddy_check(a, err, sizeof(err)) == 0, "%s", err);
		CHECKF(unit_validate(a, NULL, &r) == 0, "%s", r.first_error);
	}
	slab_set_report_fn(NULL, NULL);
	arena_close(a);
}

static void fill(unsigned char *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed ^ (i * 13));
}

static size_t first_diff(const unsigned char *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(seed ^ (i * 13)))
			return i;
	return n;
}

ISOLATED(krealloc_keeps_content)
{
	struct arena *a = unit_arena();
	static const size_t steps[] = { 24, 5000, 100000, 8192, 10, 300, 2u << 20, 7, 96 };
	unsigned char *p;
	size_t cur, keep;

	REQUIRE(a);
	reports = 0;
	slab_set_report_fn(count_reports, NULL);

	/* krealloc(NULL) is kmalloc */
	p = slab_krealloc(a, NULL, steps[0], GFP_KERNEL);
	REQUIRE(p != NULL);
	cur = steps[0];
	fill(p, cur, 0x3c);
	for (size_t i = 1; i < sizeof(steps) / sizeof(steps[0]); i++) {
		size_t ns = steps[i];
		unsigned char *q = slab_krealloc(a, p, ns, GFP_KERNEL);

		CHECKF(q != NULL, "krealloc %zu -> %zu", cur, ns);
		if (!q)
			break;
		keep = cur < ns ? cur : ns;
		CHECKF(first_diff(q, keep, 0x3c) == keep, "krealloc %zu -> %zu: byte %zu differs",
		       cur, ns, first_diff(q, keep, 0x3c));
		CHECK(slab_ksize(a, q) >= ns);
		fill(q, ns, 0x3c);
		p = q;
		cur = ns;
	}
	/* krealloc to 0 frees and gives ZERO_SIZE_PTR */
	{
		uint64_t used = arena_used_bytes(a);
		void *big = slab_kmalloc(a, 50000, GFP_KERNEL);

		CHECK(big != NULL);
		CHECK(slab_krealloc(a, big, 0, GFP_KERNEL) == ZERO_SIZE_PTR);
		CHECK(arena_used_bytes(a) == used);
	}
	slab_kfree(a, p);
	/* krealloc(ZERO_SIZE_PTR) allocates */
	p = slab_krealloc(a, ZERO_SIZE_PTR, 40, GFP_KERNEL);
	CHECK(p != NULL && p != ZERO_SIZE_PTR);
	if (p && p != ZERO_SIZE_PTR) {
		CHECK(slab_ksize(a, p) >= 40);
		slab_kfree(a, p);
	}
	expect_no_reports("krealloc");
	{
		struct slab_validate_result r;
		CHECKF(unit_validate(a, NULL, &r) == 0, "%s", r.first_error);
		CHECK(r.nr_errors == 0);
	}
	slab_set_report_fn(NULL, NULL);
	arena_close(a);
}

ISOLATED(kzalloc_zeroes)
{
	struct arena *a = unit_arena();
	static const size_t sizes[] = { 8, 64, 96, 100, 192, 1000, 4096, 8192, 20000, 300000 };
	enum { N = 50 };

	REQUIRE(a);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t sz = sizes[k];
		unsigned char *p[N];
		int dirty = 0, n = sz > KMALLOC_MAX_CACHE_SIZE ? 10 : N;

		for (int i = 0; i < n; i++) {
			p[i] = slab_kmalloc(a, sz, GFP_KERNEL);
			REQUIRE(p[i]);
			memset(p[i], 0xff, slab_ksize(a, p[i]));
		}
		for (int i = n - 1; i >= 0; i--)
			slab_kfree(a, p[i]);
		for (int i = 0; i < n; i++) {
			p[i] = (i & 1) ? slab_kzalloc(a, sz, GFP_KERNEL) : slab_kmalloc(a, sz, __GFP_ZERO);
			REQUIRE(p[i]);
			for (size_t j = 0; j < sz; j++)
				if (p[i][j]) {
					dirty++;
					break;
				}
			memset(p[i], 0xee, sz);
		}
		CHECKF(dirty == 0, "size %zu: %d of %d zeroed allocations were not zero", sz, dirty, n);
		for (int i = 0; i < n; i++)
			slab_kfree(a, p[i]);
	}
	arena_close(a);
}

/* kfree finds the cache: kmalloc objects go back to their class */
ISOLATED(kfree_returns_to_class)
{
	struct arena *a = unit_arena();
	static const size_t sizes[] = { 8, 16, 96, 192, 256, 4096, 8192 };

	REQUIRE(a);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct kmem_cache *s = slab_kmalloc_cache(a, sizes[k]);
		struct slab_validate_result r0, r1, r2;
		void *p[100];

		CHECK(s != NULL);
		if (!s)
			continue;
		CHECK(unit_validate(a, s, &r0) == 0);
		for (int i = 0; i < 100; i++)
			CHECK((p[i] = slab_kmalloc(a, sizes[k], GFP_KERNEL)) != NULL);
		CHECK(unit_validate(a, s, &r1) == 0);
		CHECKF(r1.allocated == r0.allocated + 100, "%s: allocated %llu -> %llu",
		       slab_cache_name(s), (unsigned long long)r0.allocated,
		       (unsigned long long)r1.allocated);
		for (int i = 0; i < 100; i++)
			slab_kfree(a, p[i]);
		CHECK(unit_validate(a, s, &r2) == 0);
		CHECKF(r2.allocated == r0.allocated, "%s: allocated %llu after kfree, %llu before",
		       slab_cache_name(s), (unsigned long long)r2.allocated,
		       (unsigned long long)r0.allocated);
	}
	arena_close(a);
}

/*
 * sizes near SIZE_MAX (an overflowed size computation in a caller): NULL and
 * ENOMEM at once, never a hang.  Killed after 10 s.
 */
ISOLATED_T(kmalloc_absurd_sizes, 10)
{
	struct arena *a = unit_arena();
	static const size_t sizes[] = { ((size_t)1 << 63) + 1, SIZE_MAX - 4095, SIZE_MAX };
	void *p;

	REQUIRE(a);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		printf("  kmalloc(%#zx)\n", sizes[i]);
		errno = 0;
		CHECKF(slab_kmalloc(a, sizes[i], GFP_KERNEL) == NULL && errno == ENOMEM,
		       "kmalloc(%#zx) errno %d", sizes[i], errno);
		errno = 0;
		CHECKF(slab_kzalloc(a, sizes[i], GFP_KERNEL) == NULL && errno == ENOMEM,
		       "kzalloc(%#zx) errno %d", sizes[i], errno);
	}
	p = slab_kmalloc(a, 100, GFP_KERNEL);
	REQUIRE(p);
	memset(p, 0x21, 100);
	printf("  krealloc(p, SIZE_MAX)\n");
	errno = 0;
	CHECK(slab_krealloc(a, p, SIZE_MAX, GFP_KERNEL) == NULL && errno == ENOMEM);
	/* a failed krealloc leaves the old object alone */
	CHECK(((unsigned char *)p)[99] == 0x21 && slab_ksize(a, p) >= 100);
	slab_kfree(a, p);
	arena_close(a);
}

/*
 * kfree and ksize of pointers into the arena that are no kmalloc'ed object:
 * the header, the page descriptors, the process lives, free pages, pages of
 * slabs and of large blocks at offsets no object starts at.  Each kfree is
 * an error, reported, and changes nothing: the objects held meanwhile keep
 * their contents, the kmalloc caches and a pool still validate clean and
 * still allocate.  Never a fault.
 */
static unsigned long nao_reports;

static void nao_count(const struct slab_report *r, void *arg)
{
	(void)r;
	(void)arg;
	nao_reports++;
}

ISOLATED_T(kfree_not_an_object, 120)
{
	struct arena *a = unit_arena();
	struct kmem_cache *pool = NULL;
	enum { N = 64 };
	unsigned char *held[N], *big, *po;
	static const size_t off_in_page[] = { 0, 1, 8, 64, 2048 + 8, 4095 };
	unsigned long kfrees = 0, bad = 0;
	uint64_t size;

	REQUIRE(a);
	REQUIRE(slab_cache_create(a, "nao.pool", 200, 0, 0, NULL, &pool) == 0);
	for (int i = 0; i < N; i++) {
		held[i] = slab_kmalloc(a, (size_t)8 << (i % 11), GFP_KERNEL);
		REQUIRE(held[i]);
		memset(held[i], i + 1, slab_ksize(a, held[i]));
	}
	big = slab_kmalloc(a, 5 * 4096, GFP_KERNEL);
	po = slab_alloc(a, pool, GFP_KERNEL);
	REQUIRE(big && po);
	memset(big, 0x77, 5 * 4096);
	memset(po, 0x66, 200);
	size = arena_size(a);
	slab_set_report_fn(nao_count, NULL);
	for (uint64_t page = 0; page < size; page += 4096)
		for (size_t k = 0; k < sizeof(off_in_page) / sizeof(off_in_page[0]); k++) {
			unsigned char *p = (unsigned char *)arena_base(a) + page + off_in_page[k];
			size_t ks = slab_ksize(a, p);

			(void)ks;
			/* an 8-aligned offset in a slab may start an object: not freed */
			if (off_in_page[k] % 8 && (p < big || p >= big + 5 * 4096)) {
				slab_kfree(a, p);
				kfrees++;
			} else if (!slab_ksize(a, p)) {
				slab_kfree(a, p);
				kfrees++;
			}
		}
	slab_set_report_fn(NULL, NULL);
	printf("  %lu kfrees of no object, %lu reports\n", kfrees, nao_reports);
	CHECKF(nao_reports >= kfrees, "%lu kfrees of no object, %lu reported", kfrees, nao_reports);
	for (int i = 0; i < N; i++)
		for (size_t j = 0; j < slab_ksize(a, held[i]); j++)
			if (held[i][j] != (unsigned char)(i + 1)) {
				bad++;
				break;
			}
	for (size_t j = 0; j < 5 * 4096; j++)
		bad += big[j] != 0x77;
	for (size_t j = 0; j < 200; j++)
		bad += po[j] != 0x66;
	CHECKF(bad == 0, "%lu held objects changed", bad);
	for (int i = 0; i < N; i++) {
		void *q = slab_kmalloc(a, (size_t)8 << (i % 11), GFP_KERNEL);

		CHECKF(q && q != held[i], "kmalloc after: %p", q);
		slab_kfree(a, q);
		slab_kfree(a, held[i]);
	}
	slab_kfree(a, big);
	slab_free(a, pool, po);
	for (int i = 0; i < 11; i++) {
		struct slab_validate_result r;
		struct kmem_cache *km = slab_kmalloc_cache(a, (size_t)8 << i);

		memset(&r, 0, sizeof(r));
		CHECKF(km && slab_validate(a, km, &r) == 0 && r.nr_errors == 0,
		       "validate kmalloc-%zu: %llu errors, first: %s", (size_t)8 << i,
		       (unsigned long long)r.nr_errors, r.first_error);
	}
	arena_close(a);
}

T_MAIN(T_CASE(index_table),
       T_CASE(kmalloc_caches),
       T_CASE(zero_size_and_null),
       T_CASE(ksize_every_size),
       T_CASE(kmalloc_large),
       T_CASE(kmalloc_absurd_sizes),
       T_CASE(krealloc_keeps_content),
       T_CASE(kzalloc_zeroes),
       T_CASE(kfree_returns_to_class),
       T_CASE(kfree_not_an_object))
