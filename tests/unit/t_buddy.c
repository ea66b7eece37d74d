/*
 * t_buddy.c - the page allocator (shm/buddy.c): every order, alignment,
 * merging, exhaustion, and a seeded random alloc/free sequence checked with
 * buddy_check and an independent overlap check.
 */
#include "unit.h"
#include "internal.h"

#define PAGE 4096ull

static int check_buddy(struct arena *a, const char *when)
{
	char err[256] = "";
	int rc = buddy_check(a, err, sizeof(err));

	CHECKF(rc == 0, "buddy_check after %s: rc=%d '%s'", when, rc, err);
	return rc;
}

static int get_info(struct arena *a, struct buddy_info *bi)
{
	int rc;

	memset(bi, 0, sizeof(*bi));
	rc = buddy_info(a, bi);
	CHECKF(rc == 0, "buddy_info rc=%d", rc);
	return rc;
}

static uint64_t free_pages_in_blocks(const struct buddy_info *bi)
{
	uint64_t n = 0;

	for (int o = 0; o <= BUDDY_MAX_ORDER; o++)
		n += bi->free_blocks[o] << o;
	return n;
}

static void check_same_blocks(const struct buddy_info *x, const struct buddy_info *y,
			      const char *when)
{
	CHECKF(x->nr_free == y->nr_free, "%s: nr_free %llu, at start %llu", when,
	       (unsigned long long)y->nr_free, (unsigned long long)x->nr_free);
	for (int o = 0; o <= BUDDY_MAX_ORDER; o++)
		CHECKF(x->free_blocks[o] == y->free_blocks[o],
		       "%s: free_blocks[%d] %llu, at start %llu (blocks not merged back)", when,
		       o, (unsigned long long)y->free_blocks[o],
		       (unsigned long long)x->free_blocks[o]);
}

static void info_sane(struct arena *a, const struct buddy_info *bi)
{
	CHECK(bi->nr_pages > 0);
	CHECK(bi->nr_free <= bi->nr_pages);
	CHECK(bi->nr_pages * PAGE <= arena_size(a));
	CHECKF(free_pages_in_blocks(bi) == bi->nr_free, "blocks hold %llu pages, nr_free %llu",
	       (unsigned long long)free_pages_in_blocks(bi), (unsigned long long)bi->nr_free);
	CHECK(bi->chunks_backed <= bi->chunks_total);
	CHECK(arena_free_bytes(a) == bi->nr_free * PAGE);
}

ISOLATED(each_order)
{
	struct arena *a = unit_arena();
	struct buddy_info b0, bi;
	unsigned char *blk[BUDDY_MAX_ORDER + 1];
	uint64_t used0;

	REQUIRE(a);
	REQUIRE(get_info(a, &b0) == 0);
	info_sane(a, &b0);
	used0 = arena_used_bytes(a);
	check_buddy(a, "create");

	/* one block of every order, all alive at once */
	for (unsigned int o = 0; o <= BUDDY_MAX_ORDER; o++) {
		size_t len = PAGE << o;
		aoff_t off;

		errno = 0;
		blk[o] = buddy_alloc_pages(a, o);
		CHECKF(blk[o] != NULL, "order %u: NULL errno %d", o, errno);
		if (!blk[o])
			continue;
		off = arena_offset(a, blk[o]);
		CHECKF(off != 0 && off % len == 0, "order %u at offset %#llx", o, (unsigned long long)off);
		CHECK(off + len <= arena_size(a));
		memset(blk[o], 0xa0 + o, len);
		CHECK(get_info(a, &bi) == 0);
		CHECKF(bi.nr_free == b0.nr_free - ((1ull << (o + 1)) - 1),
		       "order %u: nr_free %llu", o, (unsigned long long)bi.nr_free);
		CHECK(arena_used_bytes(a) == used0 + (((2ull << o) - 1) * PAGE));
		info_sane(a, &bi);
		check_buddy(a, "alloc");
	}
	/* no block overwrote another */
	for (unsigned int o = 0; o <= BUDDY_MAX_ORDER; o++) {
		size_t len = PAGE << o;

		if (!blk[o])
			continue;
		for (size_t i = 0; i < len; i += 512)
			if (blk[o][i] != 0xa0 + o) {
				CHECKF(0, "order %u block overwritten at +%zu", o, i);
				break;
			}
	}
	/* free in an order different from allocation */
	for (unsigned int i = 0; i <= BUDDY_MAX_ORDER; i++) {
		unsigned int o = (i * 7) % (BUDDY_MAX_ORDER + 1);

		if (blk[o])
			buddy_free_pages(a, blk[o], o);
		check_buddy(a, "free");
	}
	CHECK(get_info(a, &bi) == 0);
	check_same_blocks(&b0, &bi, "all freed");
	CHECK(arena_used_bytes(a) == used0);

	/* one order at a time: alloc, write all, free, back to the start */
	for (unsigned int o = 0; o <= BUDDY_MAX_ORDER; o++) {
		unsigned char *p = buddy_alloc_pages(a, o);

		CHECKF(p != NULL, "order %u", o);
		if (!p)
			continue;
		CHECK(arena_offset(a, p) % (PAGE << o) == 0);
		memset(p, 0x5a, PAGE << o);
		buddy_free_pages(a, p, o);
		CHECK(get_info(a, &bi) == 0);
		check_same_blocks(&b0, &bi, "alloc+free one");
		check_buddy(a, "alloc+free one");
	}

	/* an order above the maximum is refused */
	errno = 0;
	CHECK(buddy_alloc_pages(a, BUDDY_MAX_ORDER + 1) == NULL);
	CHECK(errno != 0);
	CHECK(get_info(a, &bi) == 0);
	check_same_blocks(&b0, &bi, "order too big");
	arena_close(a);
}

/* two order-0 pages that are buddies merge into an order-1 block */
ISOLATED(merge_pairs)
{
	struct arena *a = unit_arena();
	struct buddy_info b0, bi;
	enum { N = 512 };
	void *pg[N];
	int n = 0;

	REQUIRE(a);
	REQUIRE(get_info(a, &b0) == 0);
	for (n = 0; n < N; n++) {
		pg[n] = buddy_alloc_pages(a, 0);
		CHECK(pg[n] != NULL);
		if (!pg[n])
			break;
		*(uint64_t *)pg[n] = (uint64_t)n;
	}
	check_buddy(a, "512 pages");
	/* free every other page first... */
	for (int i = 0; i < n; i += 2)
		buddy_free_pages(a, pg[i], 0);
	check_buddy(a, "evens freed");
	for (int i = 1; i < n; i += 2)
		CHECKF(*(uint64_t *)pg[i] == (uint64_t)i, "page %d overwritten", i);
	/* ...then the odd ones: everything merges back */
	for (int i = 1; i < n; i += 2)
		buddy_free_pages(a, pg[i], 0);
	check_buddy(a, "odds freed");
	CHECK(get_info(a, &bi) == 0);
	check_same_blocks(&b0, &bi, "all pages freed");
	arena_close(a);
}

/* take every page, one at a time, then by decreasing order */
ISOLATED(exhaust)
{
	struct arena *a = unit_arena();
	struct buddy_info b0, bi;
	struct kmem_cache *s;
	void **pg;
	unsigned int *ord;
	uint64_t n = 0, pages = 0, cap;

	REQUIRE(a);
	/* a fresh cache, before the pages run out: it has no slab yet */
	s = unit_cache(a, "exhaust-cache", 1024, 0, 0, NULL);
	REQUIRE(s);
	REQUIRE(get_info(a, &b0) == 0);
	cap = b0.nr_free + 16;
	pg = calloc(cap, sizeof(*pg));
	ord = calloc(cap, sizeof(*ord));
	REQUIRE(pg && ord);

	/* order 0 until none is left; every page is backed (no SIGBUS) */
	for (;;) {
		void *p;

		errno = 0;
		p = buddy_alloc_pages(a, 0);
		if (!p) {
			CHECKF(errno == ENOMEM, "errno %d", errno);
			break;
		}
		if (n >= cap) {
			CHECKF(0, "more pages than buddy_info said were free (%llu)",
			       (unsigned long long)b0.nr_free);
			break;
		}
		memset(p, 0xee, PAGE);
		pg[n++] = p;
	}
	CHECKF(n == b0.nr_free, "got %llu pages, %llu were free", (unsigned long long)n,
	       (unsigned long long)b0.nr_free);
	CHECK(get_info(a, &bi) == 0);
	CHECK(bi.nr_free == 0);
	CHECK(arena_free_bytes(a) == 0);
	check_buddy(a, "exhausted");
	for (unsigned int o = 0; o <= BUDDY_MAX_ORDER; o++) {
		errno = 0;
		CHECKF(buddy_alloc_pages(a, o) == NULL && errno == ENOMEM, "order %u when full", o);
	}
	/* the slab layer gets ENOMEM too, never a crash */
	errno = 0;
	CHECK(slab_alloc(a, s, GFP_KERNEL) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(slab_kmalloc(a, 100000, GFP_KERNEL) == NULL && errno == ENOMEM);
	/* odd indices first, then even: merging has to join blocks freed apart */
	for (uint64_t i = 1; i < n; i += 2)
		buddy_free_pages(a, pg[i], 0);
	check_buddy(a, "half freed");
	for (uint64_t i = 0; i < n; i += 2)
		buddy_free_pages(a, pg[i], 0);
	check_buddy(a, "all freed");
	CHECK(get_info(a, &bi) == 0);
	check_same_blocks(&b0, &bi, "order-0 exhaustion undone");

	/* largest blocks first: with merging complete, every free page is taken */
	n = 0;
	for (int o = BUDDY_MAX_ORDER; o >= 0; o--) {
		for (;;) {
			void *p = buddy_alloc_pages(a, (unsigned int)o);

			if (!p)
				break;
			CHECK(arena_offset(a, p) % (PAGE << o) == 0);
			if (n >= cap) {
				CHECK(0);
				break;
			}
			((unsigned char *)p)[0] = 1;
			((unsigned char *)p)[(PAGE << o) - 1] = 2;
			pg[n] = p;
			ord[n++] = (unsigned int)o;
			pages += 1ull << o;
		}
	}
	CHECKF(pages == b0.nr_free, "by decreasing order got %llu pages of %llu",
	       (unsigned long long)pages, (unsigned long long)b0.nr_free);
	check_buddy(a, "exhausted by order");
	/* free in reverse */
	while (n > 0) {
		n--;
		buddy_free_pages(a, pg[n], ord[n]);
	}
	check_buddy(a, "all freed again");
	CHECK(get_info(a, &bi) == 0);
	check_same_blocks(&b0, &bi, "exhaustion by order undone");

	{
		struct buddy_info bx;

		if (get_info(a, &bx) == 0)
			printf("  exhaust: chunks backed %llu of %llu, punches %llu\n",
			       (unsigned long long)bx.chunks_backed, (unsigned long long)bx.chunks_total,
			       (unsigned long long)bx.punches);
	}
	/* and the slab layer works again */
	{
		void *o = slab_alloc(a, s, GFP_KERNEL);
		CHECK(o != NULL);
		if (o)
			slab_free(a, s, o);
	}
	free(pg);
	free(ord);
	arena_close(a);
}

struct live {
	aoff_t off;
	unsigned int order;
	uint64_t tag;
};

static int cmp_live(const void *x, const void *y)
{
	const struct live *a = x, *b = y;

	return a->off < b->off ? -1 : a->off > b->off;
}

static void check_no_overlap(struct live *l, size_t n)
{
	struct live *c = malloc(n * sizeof(*c) + 1);

	if (!c) {
		CHECK(0);
		return;
	}
	memcpy(c, l, n * sizeof(*c));
	qsort(c, n, sizeof(*c), cmp_live);
	for (size_t i = 1; i < n; i++)
		if (c[i - 1].off + (PAGE << c[i - 1].order) > c[i].off) {
			CHECKF(0, "blocks overlap: [%#llx order %u] and [%#llx order %u]",
			       (unsigned long long)c[i - 1].off, c[i - 1].order,
			       (unsigned long long)c[i].off, c[i].order);
			break;
		}
	free(c);
}

/* write the tag at the start of every page of the block */
static void tag_block(void *p, unsigned int order, uint64_t tag)
{
	for (uint64_t i = 0; i < (1ull << order); i++)
		*(uint64_t *)((char *)p + i * PAGE) = tag + i;
}

static int tag_intact(const void *p, unsigned int order, uint64_t tag)
{
	for (uint64_t i = 0; i < (1ull << order); i++)
		if (*(const uint64_t *)((const char *)p + i * PAGE) != tag + i)
			return 0;
	return 1;
}

ISOLATED(random_ops)
{
	struct arena *a = unit_arena();
	struct buddy_info b0, bi;
	enum { CAP = 4096, OPS = 20000 };
	struct live *l = calloc(CAP, sizeof(*l));
	size_t n = 0;
	uint64_t st = 0x5eed1234abcdULL, live_pages = 0, nomem = 0, fails = 0;

	REQUIRE(a);
	REQUIRE(l);
	REQUIRE(get_info(a, &b0) == 0);

	for (int op = 1; op <= OPS && fails < 20; op++) {
		uint64_t r = t_rand(&st);
		int want_alloc = live_pages * 4 < b0.nr_free * 3 ? (r % 10) < 6 : (r % 10) < 3;

		if (n == 0)
			want_alloc = 1;
		if (n == CAP)
			want_alloc = 0;
		if (want_alloc) {
			/* geometric order: half are 0, a quarter 1, ... capped */
			unsigned int o = (unsigned int)__builtin_ctzll((r >> 8) | (1ull << BUDDY_MAX_ORDER));
			void *p;

			errno = 0;
			p = buddy_alloc_pages(a, o);
			if (!p) {
				/* only acceptable when no free block is big enough */
				CHECK(errno == ENOMEM);
				if (get_info(a, &bi) == 0)
					for (unsigned int k = o; k <= BUDDY_MAX_ORDER; k++)
						if (bi.free_blocks[k]) {
							CHECKF(0, "op %d: order %u refused with a free block of order %u",
							       op, o, k);
							fails++;
							break;
						}
				nomem++;
				continue;
			}
			l[n].off = arena_offset(a, p);
			l[n].order = o;
			l[n].tag = r & ~0xffffull;
			if (l[n].off == 0 || l[n].off % (PAGE << o)) {
				CHECKF(0, "op %d: order %u at %#llx", op, o, (unsigned long long)l[n].off);
				fails++;
			}
			tag_block(p, o, l[n].tag);
			live_pages += 1ull << o;
			n++;
		} else {
			size_t i = (size_t)(r % n);
			void *p = arena_ptr(a, l[i].off);

			if (!tag_intact(p, l[i].order, l[i].tag)) {
				CHECKF(0, "op %d: block %#llx order %u was overwritten", op,
				       (unsigned long long)l[i].off, l[i].order);
				fails++;
			}
			buddy_free_pages(a, p, l[i].order);
			live_pages -= 1ull << l[i].order;
			l[i] = l[--n];
		}
		if (op % 250 == 0) {
			if (check_buddy(a, "random ops"))
				fails++;
			if (get_info(a, &bi) == 0 && bi.nr_free != b0.nr_free - live_pages) {
				CHECKF(0, "op %d: nr_free %llu, expected %llu", op,
				       (unsigned long long)bi.nr_free,
				       (unsigned long long)(b0.nr_free - live_pages));
				fails++;
			}
		}
		if (op % 1000 == 0)
			check_no_overlap(l, n);
	}
	check_no_overlap(l, n);
	while (n > 0) {
		n--;
		CHECK(tag_intact(arena_ptr(a, l[n].off), l[n].order, l[n].tag));
		buddy_free_pages(a, arena_ptr(a, l[n].off), l[n].order);
	}
	check_buddy(a, "random ops, all freed");
	CHECK(get_info(a, &bi) == 0);
	check_same_blocks(&b0, &bi, "random ops, all freed");
	printf("  random_ops: %d ops, %llu refused for lack of a big enough block\n", OPS,
	       (unsigned long long)nomem);
	free(l);
	arena_close(a);
}

/*
 * A chunk freed while the thread holds a shared lock is not punched under
 * that lock (no system call under a lock): its block waits, in transit, for
 * the thread's last unlock, which punches it and gives it back (the punch is
 * buddy.c's, queued with lock.c's shm_defer).
 */
ISOLATED(deferred_punch)
{
	struct arena *a = unit_arena();
	struct buddy_info b0, bi;
	struct shm_lock l;
	unsigned char *p;

	REQUIRE(a);
	if (a->backing != ARENA_BACKING_SHM) {
		arena_close(a);
		SKIP("the arena is not a punchable memfd");
	}
	p = buddy_alloc_pages(a, CHUNK_ORDER);
	REQUIRE(p);
	memset(p, 0x5a, PAGE << CHUNK_ORDER);
	REQUIRE(get_info(a, &b0) == 0);
	REQUIRE(shm_lock_init(&l) == 0);
	REQUIRE(shm_lock_acquire(a, &l, NULL, NULL) == 0);
	buddy_free_pages(a, p, CHUNK_ORDER);
	REQUIRE(get_info(a, &bi) == 0);
	CHECKF(bi.punches == b0.punches, "punched with a lock held (%llu punches, %llu before)",
	       (unsigned long long)bi.punches, (unsigned long long)b0.punches);
	CHECKF(bi.nr_free < b0.nr_free + (1ull << CHUNK_ORDER),
	       "the chunk is free before its punch (nr_free %llu)", (unsigned long long)bi.nr_free);
	shm_lock_release(&l);
	REQUIRE(get_info(a, &bi) == 0);
	CHECKF(bi.punches == b0.punches + 1, "after the last unlock: %llu punches, %llu before",
	       (unsigned long long)bi.punches, (unsigned long long)b0.punches);
	CHECKF(bi.nr_free == b0.nr_free + (1ull << CHUNK_ORDER), "nr_free %llu, want %llu",
	       (unsigned long long)bi.nr_free, (unsigned long long)(b0.nr_free + (1ull << CHUNK_ORDER)));
	check_buddy(a, "deferred punch");
	arena_close(a);
}

T_MAIN(T_CASE(each_order),
       T_CASE(merge_pairs),
       T_CASE(exhaust),
       T_CASE(random_ops),
       T_CASE(deferred_punch))
