/*
 * t_arena.c - arena creation, mapping, offsets, reopening, header checks and
 * huge-page backing (shm/arena.c).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <linux/magic.h>

#include "unit.h"

#define MIB (1ull << 20)

/* the number of possible CPUs, from /sys (as "0-1,4-7"); 0 if unknown */
static unsigned int possible_cpus(void)
{
	char buf[256];
	unsigned int n = 0;
	FILE *f = fopen("/sys/devices/system/cpu/possible", "r");
	char *p, *tok, *save = NULL;

	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	for (tok = strtok_r(buf, ",\n", &save); tok; tok = strtok_r(NULL, ",\n", &save)) {
		unsigned long lo = strtoul(tok, &p, 10), hi = lo;

		if (*p == '-')
			hi = strtoul(p + 1, NULL, 10);
		n += (unsigned int)(hi - lo + 1);
	}
	return n;
}

static void fill(void *p, size_t n, unsigned int seed)
{
	unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		c[i] = (unsigned char)(seed + i * 7);
}

static int filled(const void *p, size_t n, unsigned int seed)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i] != (unsigned char)(seed + i * 7))
			return 0;
	return 1;
}

/*
 * Is [ARENA_DEFAULT_BASE, +len) free in this process?  Not always: the
 * AddressSanitizer allocator reserves 0x600000000000 for itself.  Where it is
 * taken, the arena must go elsewhere and say so.
 */
static int default_base_free(uint64_t len)
{
	void *p = mmap((void *)ARENA_DEFAULT_BASE, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED)
		return 0;
	munmap(p, len);
	return p == (void *)ARENA_DEFAULT_BASE;
}

/* where the arena should be, given whether the default base was free */
static void check_placement(struct arena *a, int base_free, const char *what)
{
	if (base_free) {
		CHECKF(arena_base(a) == (void *)ARENA_DEFAULT_BASE, "%s: base %p", what, arena_base(a));
		CHECKF(arena_at_base(a), "%s: not at base", what);
	} else {
		printf("  %s: the default base is taken in this process (sanitizer?)\n", what);
		CHECKF(arena_base(a) != (void *)ARENA_DEFAULT_BASE, "%s: base %p", what, arena_base(a));
		CHECKF(!arena_at_base(a), "%s: says it is at its base", what);
	}
}

/* base 0: the default base; the size is rounded up to a multiple of 4 MiB */
ISOLATED(create_default_base)
{
	struct arena_opts o = { .size = 10 * MIB + 1, .huge = ARENA_HUGE_OFF, .base = 0 };
	struct arena *a = NULL;
	char err[256] = "";
	int base_free = default_base_free(12 * MIB);
	int rc = arena_create(&o, &a, err, sizeof(err));
	unsigned int ncpu = possible_cpus();
	struct slab_validate_result r;
	void *p;

	CHECKF(rc == 0 && a, "rc=%d err='%s'", rc, err);
	REQUIRE(a);
	check_placement(a, base_free, "create");
	CHECK(arena_backing(a) == ARENA_BACKING_SHM);
	CHECKF(!strcmp(arena_backing_name(a), "memfd"), "backing '%s'", arena_backing_name(a));
	CHECKF(arena_size(a) == 12 * MIB, "size %llu", (unsigned long long)arena_size(a));
	CHECK(arena_size(a) % (4 * MIB) == 0);
	CHECK(arena_fd(a) >= 0);
	if (ncpu)
		CHECKF(arena_nr_cpus(a) == ncpu, "nr_cpus %u, possible %u", arena_nr_cpus(a), ncpu);
	else
		CHECK(arena_nr_cpus(a) >= 1);
	/* bootstrap allocated its caches from the buddy; the rest is free */
	CHECK(arena_used_bytes(a) > 0);
	CHECK(arena_free_bytes(a) > 0);
	CHECK(arena_used_bytes(a) + arena_free_bytes(a) <= arena_size(a));
	CHECK(arena_used_bytes(a) % 4096 == 0 && arena_free_bytes(a) % 4096 == 0);

	p = slab_kmalloc(a, 100, GFP_KERNEL);
	CHECK(p != NULL);
	CHECK((char *)p >= (char *)arena_base(a) && (char *)p < (char *)arena_base(a) + arena_size(a));
	if (p) {
		memset(p, 0x11, 100);
		slab_kfree(a, p);
	}
	CHECKF(unit_validate(a, NULL, &r) == 0, "%s", r.first_error);
	arena_close(a);

	/* the base is free again once the arena is closed */
	a = NULL;
	rc = arena_create(&o, &a, err, sizeof(err));
	CHECKF(rc == 0 && a, "second create rc=%d err='%s'", rc, err);
	if (a) {
		check_placement(a, base_free, "second create");
		arena_close(a);
	}
}

/* size 0 is ARENA_DEFAULT_SIZE; exact multiples of 4 MiB stay as they are */
ISOLATED(create_sizes)
{
	static const uint64_t want[][2] = {
		{ 0, ARENA_DEFAULT_SIZE },
		{ 8 * MIB, 8 * MIB },
		{ 8 * MIB + 4096, 12 * MIB },
		{ 16 * MIB - 1, 16 * MIB },
		{ 20 * MIB, 20 * MIB },
	};

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		struct arena_opts o = { .size = want[i][0], .huge = ARENA_HUGE_OFF, .base = 1 };
		struct arena *a = NULL;
		char err[256] = "";
		int rc = arena_create(&o, &a, err, sizeof(err));

		CHECKF(rc == 0 && a, "size %llu: rc=%d err='%s'", (unsigned long long)want[i][0],
		       rc, err);
		if (!a)
			continue;
		CHECKF(arena_size(a) == want[i][1], "asked %llu got %llu want %llu",
		       (unsigned long long)want[i][0], (unsigned long long)arena_size(a),
		       (unsigned long long)want[i][1]);
		CHECK(arena_backing(a) == ARENA_BACKING_SHM);
		arena_close(a);
	}
}

/* below ARENA_MIN_SIZE: refused with a message, or raised to a size that works */
ISOLATED(create_too_small)
{
	static const uint64_t sizes[] = { 1, 4096, 4 * MIB };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct arena_opts o = { .size = sizes[i], .huge = ARENA_HUGE_OFF, .base = 1 };
		struct arena *a = NULL;
		char err[256] = "";
		int rc = arena_create(&o, &a, err, sizeof(err));

		if (rc < 0) {
			CHECKF(err[0] != '\0', "size %llu: rc=%d, no message", (unsigned long long)sizes[i], rc);
			continue;
		}
		CHECK(a != NULL);
		if (!a)
			continue;
		CHECKF(arena_size(a) >= ARENA_MIN_SIZE, "size %llu gave an arena of %llu",
		       (unsigned long long)sizes[i], (unsigned long long)arena_size(a));
		{
			void *p = slab_kmalloc(a, 1000, GFP_KERNEL);
			struct slab_validate_result r;

			CHECK(p != NULL);
			slab_kfree(a, p);
			CHECKF(unit_validate(a, NULL, &r) == 0, "%s", r.first_error);
		}
		arena_close(a);
	}
}

ISOLATED(create_nr_cpus)
{
	struct arena_opts o = { .size = 8 * MIB, .huge = ARENA_HUGE_OFF, .base = 1, .nr_cpus = 3 };
	struct arena *a = NULL;
	char err[256] = "";
	int rc = arena_create(&o, &a, err, sizeof(err));
	void *p[64];

	CHECKF(rc == 0 && a, "rc=%d err='%s'", rc, err);
	REQUIRE(a);
	CHECKF(arena_nr_cpus(a) == 3, "nr_cpus %u", arena_nr_cpus(a));
	for (int i = 0; i < 64; i++) {
		p[i] = slab_kmalloc(a, 256, GFP_KERNEL);
		CHECK(p[i] != NULL);
	}
	for (int i = 0; i < 64; i++)
		slab_kfree(a, p[i]);
	arena_close(a);
}

/*
 * an arena with fewer CPU slots than the machine has CPUs: a process running
 * on a CPU beyond nr_cpus must still allocate and free (and never index past
 * the per-CPU arrays)
 */
ISOLATED(nr_cpus_below_machine)
{
	struct arena_opts o = { .size = 8 * MIB, .huge = ARENA_HUGE_OFF, .base = 1, .nr_cpus = 1 };
	struct arena *a = NULL;
	char err[256] = "";
	int rc = arena_create(&o, &a, err, sizeof(err)), last = -1;
	cpu_set_t set;
	struct slab_validate_result r;
	struct kmem_cache *s;
	void *p[2000];

	CHECKF(rc == 0 && a, "rc=%d err='%s'", rc, err);
	REQUIRE(a);
	CHECK(arena_nr_cpus(a) == 1);
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &set))
				last = c;
	if (last <= 0) {
		arena_close(a);
		SKIP("only CPU 0 available: nothing beyond nr_cpus to run on");
	}
	CPU_ZERO(&set);
	CPU_SET(last, &set);
	REQUIRE(sched_setaffinity(0, sizeof(set), &set) == 0);
	s = unit_cache(a, "cpu-beyond", 64, 0, 0, NULL);
	REQUIRE(s);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 2000; i++) {
			p[i] = (i & 1) ? slab_alloc(a, s, GFP_KERNEL) : slab_kmalloc(a, 32, GFP_KERNEL);
			REQUIRE(p[i]);
		}
		for (int i = 0; i < 2000; i++) {
			if (i & 1)
				slab_free(a, s, p[i]);
			else
				slab_kfree(a, p[i]);
		}
	}
	CHECKF(unit_validate(a, NULL, &r) == 0, "%s", r.first_error);
	CHECK(unit_validate(a, s, &r) == 0 && r.allocated == 0);
	arena_close(a);
}

ISOLATED(offset_ptr_round_trip)
{
	struct arena *a = unit_arena();
	int on_stack = 0;
	char *base;
	uint64_t size;
	static const uint64_t offs[] = { 1, 8, 4095, 4096, 65536, 1u << 20 };

	REQUIRE(a);
	base = arena_base(a);
	size = arena_size(a);
	REQUIRE(base != NULL && size == 32u << 20);

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
		CHECKF(arena_ptr(a, offs[i]) == base + offs[i], "off %llu", (unsigned long long)offs[i]);
		CHECKF(arena_offset(a, base + offs[i]) == offs[i], "off %llu", (unsigned long long)offs[i]);
	}
	CHECK(arena_ptr(a, size - 1) == base + size - 1);
	CHECK(arena_offset(a, base + size - 1) == size - 1);

	/* outside */
	CHECK(arena_ptr(a, size) == NULL);
	CHECK(arena_ptr(a, size + 1) == NULL);
	CHECK(arena_ptr(a, size + 4096) == NULL);
	CHECK(arena_ptr(a, UINT64_MAX) == NULL);
	CHECK(arena_ptr(a, (uint64_t)1 << 63) == NULL);
	CHECK(arena_offset(a, &on_stack) == 0);
	CHECK(arena_offset(a, NULL) == 0);
	CHECK(arena_offset(a, (void *)((uintptr_t)base + size)) == 0);
	CHECK(arena_offset(a, (void *)((uintptr_t)base - 1)) == 0);
	CHECK(arena_offset(a, (void *)((uintptr_t)base + size + 4096)) == 0);

	/* objects */
	for (size_t sz = 8; sz <= 65536; sz *= 4) {
		char *p = slab_kmalloc(a, sz, GFP_KERNEL);
		aoff_t off;

		CHECKF(p != NULL, "kmalloc(%zu)", sz);
		if (!p)
			continue;
		off = arena_offset(a, p);
		CHECKF(off > 0 && off + sz <= size, "kmalloc(%zu) off %llu", sz, (unsigned long long)off);
		CHECK(arena_ptr(a, off) == p);
		CHECK(arena_offset(a, p + sz - 1) == off + sz - 1);
		slab_kfree(a, p);
	}
	arena_close(a);
}

/*
 * arena_open on the fd of an arena this process already maps at the default
 * base: the second mapping goes elsewhere and sees the same memory.
 */
ISOLATED(open_second_mapping)
{
	struct arena_opts o = { .size = 16 * MIB, .huge = ARENA_HUGE_OFF, .base = 0 };
	struct arena *a = NULL, *b = NULL, *c = NULL;
	char err[256] = "";
	int rc, fd, base_free;
	char *p, *q, *pb, *qa;
	void *abase;
	aoff_t off;
	struct slab_validate_result r;

	base_free = default_base_free(16 * MIB);
	rc = arena_create(&o, &a, err, sizeof(err));
	CHECKF(rc == 0 && a, "create rc=%d err='%s'", rc, err);
	REQUIRE(a);
	check_placement(a, base_free, "create");

	p = slab_kmalloc(a, 300, GFP_KERNEL);
	REQUIRE(p != NULL);
	fill(p, 300, 3);
	off = arena_offset(a, p);
	REQUIRE(off != 0);

	fd = dup(arena_fd(a));
	REQUIRE(fd >= 0);
	err[0] = '\0';
	rc = arena_open(fd, &b, err, sizeof(err));
	CHECKF(rc == 0 && b, "open rc=%d err='%s'", rc, err);
	if (!b) {
		close(fd);
		arena_close(a);
		return;
	}
	CHECK(arena_fd(b) >= 0 && arena_fd(b) != fd);	/* the fd is dup'ed */
	close(fd);

	CHECK(!arena_at_base(b));
	CHECK(arena_base(b) != arena_base(a));
	CHECK(arena_size(b) == arena_size(a));
	CHECK(arena_nr_cpus(b) == arena_nr_cpus(a));
	CHECK(arena_backing(b) == arena_backing(a));

	/* same offset, same bytes, in both directions */
	pb = arena_ptr(b, off);
	CHECK(pb != NULL && pb != p);
	CHECK(arena_offset(b, pb) == off);
	CHECK(arena_offset(b, p) == 0);		/* a's pointer is outside b */
	if (pb) {
		CHECK(filled(pb, 300, 3));
		fill(pb, 300, 9);
		CHECK(filled(p, 300, 9));
	}

	/* the allocator works through the second mapping, at another address */
	q = slab_kmalloc(b, 5000, GFP_KERNEL);
	CHECK(q != NULL);
	if (q) {
		CHECK(arena_offset(b, q) != 0);
		fill(q, 5000, 5);
		qa = arena_ptr(a, arena_offset(b, q));
		CHECK(qa != NULL && filled(qa, 5000, 5));
		CHECK(slab_ksize(a, qa) >= 5000);
		slab_kfree(a, qa);		/* allocated through b, freed through a */
	}
	if (pb)
		slab_kfree(b, pb);		/* and the other way round */
	CHECKF(unit_validate(a, NULL, &r) == 0, "%s", r.first_error);
	CHECK(r.nr_errors == 0);
	CHECKF(unit_validate(b, NULL, &r) == 0, "%s", r.first_error);
	CHECK(r.nr_errors == 0);

	/* once a is gone, the base is free: a third mapping gets it */
	abase = arena_base(a);
	arena_close(a);
	err[0] = '\0';
	rc = arena_open(arena_fd(b), &c, err, sizeof(err));
	CHECKF(rc == 0 && c, "reopen rc=%d err='%s'", rc, err);
	if (c) {
		/* the recorded base is where a was (the default base, unless taken) */
		CHECK(arena_at_base(c));
		CHECKF(arena_base(c) == abase, "reopened at %p, a was at %p", arena_base(c), abase);
		p = slab_kmalloc(c, 64, GFP_KERNEL);
		CHECK(p != NULL);
		slab_kfree(c, p);
		arena_close(c);
	}
	arena_close(b);
}

/* a file given by path: created with the arena's size and openable by path */
ISOLATED(create_at_path)
{
	char path[128];
	struct arena_opts o = { .size = 8 * MIB, .huge = ARENA_HUGE_OFF, .base = 1 };
	struct arena *a = NULL, *b = NULL;
	char err[256] = "";
	struct stat st;
	int rc, fd;
	char *p, *pb;

	if (access("/dev/shm", W_OK) != 0)
		SKIP("no writable /dev/shm");
	snprintf(path, sizeof(path), "/dev/shm/slubd-t_arena-%d", (int)getpid());
	unlink(path);
	o.path = path;
	rc = arena_create(&o, &a, err, sizeof(err));
	CHECKF(rc == 0 && a, "rc=%d err='%s'", rc, err);
	if (!a) {
		unlink(path);
		return;
	}
	CHECK(stat(path, &st) == 0 && (uint64_t)st.st_size == arena_size(a));
	{
		char want[160];

		snprintf(want, sizeof(want), "tmpfs file %s", path);
		CHECKF(!strcmp(arena_backing_name(a), want), "backing '%s', want '%s'",
		       arena_backing_name(a), want);
	}
	p = slab_kmalloc(a, 1000, GFP_KERNEL);
	CHECK(p != NULL);
	if (p)
		fill(p, 1000, 77);
	fd = open(path, O_RDWR);
	CHECK(fd >= 0);
	if (fd >= 0) {
		rc = arena_open(fd, &b, err, sizeof(err));
		CHECKF(rc == 0 && b, "open by path rc=%d err='%s'", rc, err);
		close(fd);
	}
	if (b && p) {
		pb = arena_ptr(b, arena_offset(a, p));
		CHECK(pb != NULL && filled(pb, 1000, 77));
	}
	if (b) {
		CHECKF(!strcmp(arena_backing_name(b), arena_backing_name(a)), "opened: backing "
		       "'%s', made: '%s'", arena_backing_name(b), arena_backing_name(a));
		arena_close(b);
	}
	if (p)
		slab_kfree(a, p);
	arena_close(a);
	unlink(path);
}

/*
 * an arena file on a disk's file system says so, by the file system's name
 * and the path ($TMPDIR, /var/tmp or /tmp, the first on a disk)
 */
ISOLATED(create_on_disk)
{
	struct arena_opts o = { .size = 8 * MIB, .huge = ARENA_HUGE_OFF, .base = 1 };
	struct arena *a = NULL;
	char path[200] = "", want[260], err[256] = "";
	long ftype = 0;
	const char *dir = t_disk_dir(&ftype);
	int rc;

	if (!dir)
		SKIP("none of $TMPDIR, /var/tmp, /tmp is on a disk's file system");
	snprintf(path, sizeof(path), "%s/slubd-t_arena-%d", dir, (int)getpid());
	unlink(path);
	o.path = path;
	rc = arena_create(&o, &a, err, sizeof(err));
	CHECKF(rc == 0 && a, "rc=%d err='%s'", rc, err);
	if (a) {
		const char *b = arena_backing_name(a), *sp = strchr(b + 8, ' ');

		printf("  %s\n", b);
		CHECKF(!strncmp(b, "file on ", 8) && sp && !strcmp(sp + 1, path), "backing '%s' "
		       "for %s", b, path);
		if (ftype == EXT4_SUPER_MAGIC) {
			snprintf(want, sizeof(want), "file on ext4 %s", path);
			CHECKF(!strcmp(b, want), "backing '%s', want '%s'", b, want);
		}
		arena_close(a);
	}
	unlink(path);
}

/* a memfd holding len bytes of src (or of nothing) */
static int memfd_with(const void *src, size_t len, size_t file_size)
{
	int fd = memfd_create("t_arena-bad", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)file_size) != 0) {
		close(fd);
		return -1;
	}
	if (len && pwrite(fd, src, len, 0) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return fd;
}

static void expect_open_fails(int fd, const char *what, int want_errno)
{
	struct arena *b = NULL;
	char err[256];
	int rc;

	memset(err, 0, sizeof(err));
	rc = arena_open(fd, &b, err, sizeof(err));
	if (want_errno)
		CHECKF(rc == -want_errno, "%s: rc=%d, want %d; err='%s'", what, rc, -want_errno, err);
	else
		CHECKF(rc < 0, "%s: rc=%d; err='%s'", what, rc, err);
	if (rc < 0)
		CHECKF(err[0] != '\0', "%s: rc=%d but no message", what, rc);
	else if (b)
		arena_close(b);
}

ISOLATED(open_bad_header)
{
	struct arena_opts o = { .size = 8 * MIB, .huge = ARENA_HUGE_OFF, .base = 1 };
	struct arena *a = NULL, *b = NULL;
	char err[256] = "";
	uint64_t size, word;
	unsigned char *junk;
	uint64_t st = 0x1234567;
	int rc, fd;

	rc = arena_create(&o, &a, err, sizeof(err));
	CHECKF(rc == 0 && a, "rc=%d err='%s'", rc, err);
	REQUIRE(a);
	size = arena_size(a);

	/* sanity: a byte-for-byte copy of a quiescent arena opens */
	fd = memfd_with(arena_base(a), size, size);
	REQUIRE(fd >= 0);
	rc = arena_open(fd, &b, err, sizeof(err));
	CHECKF(rc == 0 && b, "copy: rc=%d err='%s'", rc, err);
	if (b) {
		void *p = slab_kmalloc(b, 64, GFP_KERNEL);
		CHECK(p != NULL);
		slab_kfree(b, p);
		arena_close(b);
	}

	/* wrong magic: the first 8 bytes inverted */
	REQUIRE(pread(fd, &word, 8, 0) == 8);
	word = ~word;
	REQUIRE(pwrite(fd, &word, 8, 0) == 8);
	expect_open_fails(fd, "wrong magic", EPROTO);
	close(fd);

	/* a copy truncated to 1 MiB */
	fd = memfd_with(arena_base(a), 1 * MIB, 1 * MIB);
	REQUIRE(fd >= 0);
	expect_open_fails(fd, "truncated to 1 MiB", 0);
	close(fd);

	/* a copy whose file is 4 MiB shorter than the header says */
	fd = memfd_with(arena_base(a), size - 4 * MIB, size - 4 * MIB);
	REQUIRE(fd >= 0);
	expect_open_fails(fd, "4 MiB short", 0);
	close(fd);

	/* a copy whose file is longer than the header says: geometry mismatch or fine,
	 * but never a crash */
	fd = memfd_with(arena_base(a), size, size + 4 * MIB);
	REQUIRE(fd >= 0);
	b = NULL;
	rc = arena_open(fd, &b, err, sizeof(err));
	if (rc == 0 && b)
		arena_close(b);
	close(fd);

	/* an empty file, a tiny file of garbage */
	fd = memfd_with(NULL, 0, 0);
	REQUIRE(fd >= 0);
	expect_open_fails(fd, "empty", 0);
	close(fd);
	fd = memfd_with("garbage!", 8, 8);
	REQUIRE(fd >= 0);
	expect_open_fails(fd, "8 bytes", 0);
	close(fd);

	/* 8 MiB of random garbage: a bad magic */
	junk = malloc(8 * MIB);
	REQUIRE(junk != NULL);
	for (size_t i = 0; i < 8 * MIB; i += 8) {
		uint64_t x = t_rand(&st);
		memcpy(junk + i, &x, 8);
	}
	fd = memfd_with(junk, 8 * MIB, 8 * MIB);
	REQUIRE(fd >= 0);
	expect_open_fails(fd, "random garbage", EPROTO);
	close(fd);

	/* the real header followed by garbage where the descriptors were */
	memcpy(junk, arena_base(a), 64);
	fd = memfd_with(junk, 8 * MIB, 8 * MIB);
	REQUIRE(fd >= 0);
	b = NULL;
	rc = arena_open(fd, &b, err, sizeof(err));	/* may pass the header; must not crash */
	if (rc == 0 && b)
		arena_close(b);
	close(fd);
	free(junk);

	/* not an fd at all */
	expect_open_fails(-1, "fd -1", 0);

	/* the original is untouched by all this */
	{
		struct slab_validate_result r;
		CHECKF(unit_validate(a, NULL, &r) == 0, "%s", r.first_error);
	}
	arena_close(a);
}

/* ---- huge pages (root only: reserves and restores vm.nr_hugepages) ------ */

#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static int write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");
	int ok;

	if (!f)
		return -1;
	ok = fprintf(f, "%ld\n", v) > 0;
	ok = (fclose(f) == 0) && ok;
	return ok ? 0 : -1;
}

/*
 * make test runs as root on a developer's host: a change of its huge page
 * reservation is said on the terminal, when it is made and when it is undone
 */
static int set_nr_hugepages(long old, long v, const char *why)
{
	if (v != old)
		printf("  note: vm.nr_hugepages %ld -> %ld while this case runs (%s); put back "
		       "to %ld at its end\n", old, v, why, old);
	fflush(stdout);
	return write_long(NR_HUGEPAGES, v);
}

static int restore_nr_hugepages(long old)
{
	int rc = write_long(NR_HUGEPAGES, old);

	printf("  note: vm.nr_hugepages put back to %ld%s\n", old, rc ? ": FAILED" : "");
	fflush(stdout);
	return rc;
}

static long meminfo_value(const char *key)
{
	char line[256];
	long v = -1;
	size_t kl = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			v = strtol(line + kl + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void huge_on_body(void)
{
	struct arena_opts o = { .size = 16 * MIB, .huge = ARENA_HUGE_ON, .base = 1 };
	struct arena *a = NULL;
	char err[256] = "";
	int rc = arena_create(&o, &a, err, sizeof(err));
	void *pages;
	char *p;

	CHECKF(rc == 0 && a, "rc=%d err='%s'", rc, err);
	REQUIRE(a);
	CHECK(arena_backing(a) == ARENA_BACKING_HUGETLB);
	CHECK(arena_backing_name(a) && !strcmp(arena_backing_name(a), "hugetlb"));
	CHECK(arena_size(a) == 16 * MIB);
	CHECK(((uintptr_t)arena_base(a) & (2 * MIB - 1)) == 0);
	p = slab_kmalloc(a, 1000, GFP_KERNEL);
	CHECK(p != NULL);
	if (p) {
		memset(p, 0x33, 1000);
		slab_kfree(a, p);
	}
	pages = buddy_alloc_pages(a, 9);	/* one whole 2 MiB huge page */
	CHECK(pages != NULL);
	if (pages) {
		memset(pages, 0x44, 2 * MIB);
		buddy_free_pages(a, pages, 9);
	}
	CHECK(buddy_check(a, err, sizeof(err)) == 0);
	/* take every page twice over: chunks given back in between must be
	 * backed again before use (a SIGBUS here kills the case) */
	for (int round = 0; round < 2; round++) {
		void *pg[8192];
		int n = 0;
		struct buddy_info bi;

		while (n < 8192 && (pg[n] = buddy_alloc_pages(a, 0)) != NULL) {
			memset(pg[n], 0x5e, 4096);
			n++;
		}
		CHECKF(n > 3000, "round %d: only %d pages", round, n);
		while (n > 0)
			buddy_free_pages(a, pg[--n], 0);
		CHECK(buddy_info(a, &bi) == 0);
		printf("  hugetlb round %d: chunks backed %llu of %llu, punches %llu\n", round,
		       (unsigned long long)bi.chunks_backed, (unsigned long long)bi.chunks_total,
		       (unsigned long long)bi.punches);
	}
	CHECK(buddy_check(a, err, sizeof(err)) == 0);
	arena_close(a);

	/* AUTO takes huge pages while they are reserved */
	o.huge = ARENA_HUGE_AUTO;
	a = NULL;
	rc = arena_create(&o, &a, err, sizeof(err));
	CHECKF(rc == 0 && a, "auto: rc=%d err='%s'", rc, err);
	if (a) {
		CHECK(arena_backing(a) == ARENA_BACKING_HUGETLB);
		arena_close(a);
	}
}

static void huge_none_body(void)
{
	struct arena_opts o = { .size = 16 * MIB, .huge = ARENA_HUGE_ON, .base = 1 };
	struct arena *a = NULL;
	char err[256] = "";
	int rc = arena_create(&o, &a, err, sizeof(err));

	CHECKF(rc == -ENOMEM, "rc=%d err='%s'", rc, err);
	CHECKF(err[0] != '\0', "rc=%d, no message", rc);
	if (rc == 0 && a)
		arena_close(a);

	/* AUTO falls back to shm */
	o.huge = ARENA_HUGE_AUTO;
	a = NULL;
	err[0] = '\0';
	rc = arena_create(&o, &a, err, sizeof(err));
	CHECKF(rc == 0 && a, "auto: rc=%d err='%s'", rc, err);
	if (a) {
		void *p = slab_kmalloc(a, 64, GFP_KERNEL);

		CHECK(arena_backing(a) == ARENA_BACKING_SHM);
		CHECK(p != NULL);
		slab_kfree(a, p);
		arena_close(a);
	}
}

/* the body runs in a child; this process restores nr_hugepages whatever happens */
static void huge_pages_on(void)
{
	static char why[160];
	long old, now, extra = 12;

	if (geteuid() != 0)
		SKIP("needs root to reserve huge pages (vm.nr_hugepages)");
	old = read_long(NR_HUGEPAGES);
	if (old < 0)
		SKIP("cannot read " NR_HUGEPAGES);
	if (set_nr_hugepages(old, old + extra, "to test an arena of huge pages") != 0) {
		restore_nr_hugepages(old);
		SKIP("cannot write " NR_HUGEPAGES);
	}
	now = read_long(NR_HUGEPAGES);
	if (now < old + 8 || meminfo_value("HugePages_Free") < 8) {
		restore_nr_hugepages(old);
		snprintf(why, sizeof(why), "could reserve only %ld huge pages (had %ld, HugePages_Free %ld)",
			 now - old, old, meminfo_value("HugePages_Free"));
		SKIP(why);
	}
	unit_run_isolated(huge_on_body);
	if (restore_nr_hugepages(old) != 0 || read_long(NR_HUGEPAGES) != old)
		CHECKF(0, "could not restore %s to %ld", NR_HUGEPAGES, old);
}

static void huge_pages_none(void)
{
	long old;

	if (geteuid() != 0)
		SKIP("needs root to set vm.nr_hugepages to 0");
	old = read_long(NR_HUGEPAGES);
	if (old < 0)
		SKIP("cannot read " NR_HUGEPAGES);
	if (old != 0 && set_nr_hugepages(old, 0, "to test the fallback when none are reserved") != 0) {
		restore_nr_hugepages(old);
		SKIP("cannot write " NR_HUGEPAGES);
	}
	if (meminfo_value("HugePages_Total") != 0) {
		restore_nr_hugepages(old);
		SKIP("huge pages in use elsewhere; cannot get to 0 reserved");
	}
	unit_run_isolated(huge_none_body);
	if ((old != 0 && restore_nr_hugepages(old) != 0) || read_long(NR_HUGEPAGES) != old)
		CHECKF(0, "could not restore %s to %ld", NR_HUGEPAGES, old);
}

/*
 * a memfd arena is sealed against resizing (the fd every client gets, too);
 * an unsealed copy cut or grown gets its size back from arena_fix_size, which
 * trusts only a header that looks right; the owner's pid is read from a file
 */
static void sealed_and_fix_size(void)
{
	struct arena_opts o = { .size = 16 * MIB, .huge = ARENA_HUGE_OFF };
	struct arena *a = NULL, *b = NULL;
	uint64_t size, was = 0, now = 0, word;
	char err[256] = "";
	struct stat st;
	int rc, fd;

	rc = arena_create(&o, &a, err, sizeof(err));
	CHECKF(rc == 0 && a, "rc=%d err='%s'", rc, err);
	REQUIRE(a);
	size = arena_size(a);
	CHECKF(arena_sealed(a), "a memfd arena is not sealed: %s", err);
	CHECK(os_check_size_sealed(arena_fd(a)) == 0);
	errno = 0;
	CHECKF(ftruncate(arena_fd(a), (off_t)(size / 2)) == -1 && errno == EPERM,
	       "shrinking a sealed arena: errno %d", errno);
	errno = 0;
	CHECKF(ftruncate(arena_fd(a), (off_t)(size * 2)) == -1 && errno == EPERM,
	       "growing a sealed arena: errno %d", errno);
	arena_set_owner_pid(a, 4321);

	/* an unsealed copy: cut to half, then grown, each put back */
	fd = memfd_with(arena_base(a), size, size);
	REQUIRE(fd >= 0);
	CHECK(os_check_size_sealed(fd) == -EPERM);
	CHECKF(arena_owner_pid(fd) == 4321, "owner pid %d", (int)arena_owner_pid(fd));
	CHECK(arena_fix_size(fd, &was, &now) == 0 && now == size);
	REQUIRE(ftruncate(fd, (off_t)(size / 2)) == 0);
	rc = arena_fix_size(fd, &was, &now);
	CHECKF(rc == 1 && was == size / 2 && now == size, "cut: rc %d was %llu now %llu", rc,
	       (unsigned long long)was, (unsigned long long)now);
	CHECK(fstat(fd, &st) == 0 && (uint64_t)st.st_size == size);
	REQUIRE(ftruncate(fd, (off_t)(size * 2)) == 0);
	CHECK(arena_fix_size(fd, &was, &now) == 1 && was == size * 2);
	rc = arena_open(fd, &b, err, sizeof(err));
	CHECKF(rc == 0 && b, "the restored copy: rc=%d err='%s'", rc, err);
	if (b)
		arena_close(b);
	/* a bad magic: the size is not touched */
	REQUIRE(pread(fd, &word, 8, 0) == 8);
	word = ~word;
	REQUIRE(pwrite(fd, &word, 8, 0) == 8);
	REQUIRE(ftruncate(fd, (off_t)(size / 2)) == 0);
	CHECK(arena_fix_size(fd, &was, &now) == -EPROTO);
	CHECK(fstat(fd, &st) == 0 && (uint64_t)st.st_size == size / 2);
	close(fd);
	arena_close(a);
}

T_MAIN(T_CASE(create_default_base),
       T_CASE(create_sizes),
       T_CASE(create_too_small),
       T_CASE(create_nr_cpus),
       T_CASE(nr_cpus_below_machine),
       T_CASE(offset_ptr_round_trip),
       T_CASE(open_second_mapping),
       T_CASE(create_at_path),
       T_CASE(create_on_disk),
       T_CASE(open_bad_header),
       T_CASE(sealed_and_fix_size),
       T_CASE(huge_pages_on),
       T_CASE(huge_pages_none))
