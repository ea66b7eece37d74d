/*
 * arena.c - creating, opening and describing an arena.
 *
 * Layout (offsets):
 *   0                 struct arena_hdr (in a 64 KiB header region)
 *   IDENT_OFF         struct proc_slot[NR_PROC_SLOTS], struct thread_life[NR_LIVES]
 *                     (process identity, ident.c; in the first chunk, which
 *                     each process maps a second time for its life words)
 *   pd_off            struct page_desc[nr_pages], one per page of the arena
 *   chunk_off         uint8_t chunk state[nr_chunks], one per 2 MiB
 *   first_pfn << 12   pages managed by the buddy allocator, to the end
 *
 * Backing: a memfd (or a file) of 2 MiB huge pages when the host has enough
 * reserved, else of normal shared memory.  A shared hugetlb mapping reserves
 * all its huge pages at mmap, so it cannot SIGBUS later - unless a process
 * that holds the fd punches a hole (no seal forbids that but F_SEAL_WRITE):
 * the punch gives the page's reservation back, and once another takes that
 * huge page, every touch of the hole faults (slubd's guard.c survives it;
 * an innocent client does not); normal shared memory
 * is reserved chunk by chunk with fallocate before the buddy hands a chunk
 * out (buddy.c), so running out of memory is ENOMEM, never SIGBUS.
 *
 * Layer: the top.  It calls slub_cache.c (the bootstrap), buddy.c,
 * geom.c, ident.c, os.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

struct geometry {
	uint64_t size;
	uint32_t nr_pages, nr_chunks, first_pfn;
	aoff_t pd_off, chunk_off;
};

static void geometry_of(uint64_t size, struct geometry *g)
{
	g->size = size;
	g->nr_pages = (uint32_t)(size >> PAGE_SHIFT);
	g->nr_chunks = (uint32_t)(size / CHUNK_SIZE);
	g->pd_off = IDENT_OFF + IDENT_SIZE;
	g->chunk_off = g->pd_off + (aoff_t)g->nr_pages * sizeof(struct page_desc);
	g->first_pfn = (uint32_t)(ALIGN_UP(g->chunk_off + g->nr_chunks, PAGE_SIZE) >> PAGE_SHIFT);
}

uint64_t arena_min_pages_for(uint64_t size)
{
	struct geometry g;

	geometry_of(size, &g);
	return g.first_pfn;
}

static void arena_setup_handle(struct arena *a, char *base, int fd)
{
	struct arena_hdr *h = (struct arena_hdr *)base;

	a->base = base;
	a->fd = fd;
	a->hdr = h;
	a->size = h->size;
	a->nr_pages = h->nr_pages;
	a->nr_cpus = h->nr_cpus;
	a->nr_nodes = h->nr_nodes;
	a->pd = (struct page_desc *)(base + h->pd_off);
	a->chunks = (uint8_t *)(base + h->chunk_off);
	a->first_pfn = h->zone.first_pfn;
	a->backing = (enum arena_backing)h->backing;
	os_backing_desc(fd, a->backing_desc, sizeof(a->backing_desc));
	a->debug_step_repair_fn = debug_step_repair;	/* for slab.c's node repair */
}

/* map fd of size bytes at want, else anywhere (if allowed) */
static char *map_arena(int fd, uint64_t size, uintptr_t want, bool *at, int *rc)
{
	char *p = NULL;

	*at = false;
	if (want) {
		p = os_map(fd, size, want, rc);
		if (p) {
			*at = true;
			return p;
		}
	}
	return os_map(fd, size, 0, rc);
}

/*
 * open the backing: the caller's file (given_fd >= 0, dup'ed), a file to
 * create (o->path), else a memfd of huge pages if asked and possible, else
 * of normal pages.  Says in *huge_out whether it holds huge pages and in
 * *sealable whether it is a memfd that can be sealed.
 */
static int open_backing(const struct arena_opts *o, int given_fd, uint64_t size, int *fd,
			bool *huge_out, bool *sealable, char *err, size_t errlen)
{
	long need = (long)(size / CHUNK_SIZE), have = os_hugepages_free();
	bool try_huge = o->huge != ARENA_HUGE_OFF;
	int rc;

	*huge_out = false;
	*sealable = false;
	if (given_fd >= 0 || o->path) {
		if (given_fd >= 0) {
			*fd = fcntl(given_fd, F_DUPFD_CLOEXEC, 0);
			if (*fd < 0)
				return fail(err, errlen, -errno, "cannot dup the arena file's fd: %s",
					    strerror(errno));
		} else {
			rc = os_create_file(o->path, fd);
			if (rc)
				return fail(err, errlen, rc, "cannot create arena file %s: %s",
					    o->path, strerror(-rc));
		}
		*huge_out = os_is_hugetlbfs(*fd);
		if (o->huge == ARENA_HUGE_ON && !*huge_out) {
			close(*fd);
			if (given_fd < 0)
				unlink(o->path);
			return fail(err, errlen, -EINVAL,
				    "huge pages required but %s is not on hugetlbfs",
				    o->path ? o->path : "the arena file");
		}
		return 0;
	}
	if (try_huge && have >= need) {
		rc = os_memfd("slub-arena", true, fd, sealable);
		if (rc == 0) {
			*huge_out = true;
			return 0;
		}
	}
	if (o->huge == ARENA_HUGE_ON)
		return fail(err, errlen, -ENOMEM,
			    "huge pages required: the arena needs %ld free 2 MiB huge pages, "
			    "the host has %ld (reserve them in /proc/sys/vm/nr_hugepages)",
			    need, have < 0 ? 0 : have);
	return os_memfd("slub-arena", false, fd, sealable);
}

static void format_header(struct arena *a, const struct geometry *g, bool huge, uintptr_t base,
			  unsigned int nr_cpus)
{
	struct arena_hdr *h = a->hdr;

	h->version = ARENA_LAYOUT_VERSION;
	h->arch = ARENA_ARCH;
	h->size = g->size;
	h->base = base;
	h->page_size = PAGE_SIZE;
	h->nr_pages = g->nr_pages;
	h->nr_cpus = nr_cpus;
	h->nr_nodes = os_nr_nodes();
	h->backing = huge ? ARENA_BACKING_HUGETLB : ARENA_BACKING_SHM;
	h->state = ARENA_INIT;
	h->pd_off = g->pd_off;
	h->chunk_off = g->chunk_off;
	h->nr_chunks = g->nr_chunks;
	h->hdr_size = sizeof(*h);
	h->secret = os_random64();
	h->created_ns = os_now_ns();
	h->zone.first_pfn = g->first_pfn;
	h->zone.end_pfn = g->nr_pages;
	atomic_store_release(&h->magic, ARENA_MAGIC);
}

static int create(const struct arena_opts *o, int given_fd, struct arena **out, char *err,
		  size_t errlen)
{
	struct arena_opts dflt = { 0 };
	uint64_t size;
	uintptr_t want;
	struct geometry g;
	struct arena *a;
	bool huge, at, sealable, sealed = false;
	char *base;
	int fd, rc;

	if (!o)
		o = &dflt;
	size = o->size ? o->size : ARENA_DEFAULT_SIZE;
	if (size < ARENA_MIN_SIZE)
		size = ARENA_MIN_SIZE;
	if (size > (1ULL << 40))
		return fail(err, errlen, -EINVAL, "arena size %llu is above the 1 TiB limit",
			    (unsigned long long)size);
	size = ALIGN_UP(size, BLOCK_MAX_SIZE);
	want = o->base == 0 ? ARENA_DEFAULT_BASE : (o->base == 1 ? 0 : o->base);
	if (want % CHUNK_SIZE)
		return fail(err, errlen, -EINVAL, "base %#lx is not 2 MiB aligned",
			    (unsigned long)want);

	rc = open_backing(o, given_fd, size, &fd, &huge, &sealable, err, errlen);
	if (rc)
		return rc;
	rc = os_truncate(fd, size);
	if (rc) {
		fail(err, errlen, rc, "cannot size the arena to %llu bytes: %s",
		     (unsigned long long)size, strerror(-rc));
		goto out_close;
	}
	/* sized once and for all: nobody it is sent to can shrink or grow it */
	if (sealable) {
		rc = os_seal_size(fd);
		if (rc) {
			fail(err, errlen, rc, "cannot seal the arena memfd's size: %s",
			     strerror(-rc));
			goto out_close;
		}
		sealed = true;
	}
	geometry_of(size, &g);
	if (!huge) {
		/* the metadata is written now: back it before touching it */
		rc = os_fallocate(fd, 0, ALIGN_UP(pfn_off(g.first_pfn), CHUNK_SIZE));
		if (rc) {
			fail(err, errlen, rc, "cannot reserve memory for the arena's metadata: %s",
			     strerror(-rc));
			goto out_close;
		}
	}
	base = map_arena(fd, size, want, &at, &rc);
	if (!base) {
		fail(err, errlen, rc, "cannot map the arena (%llu bytes): %s",
		     (unsigned long long)size, strerror(-rc));
		goto out_close;
	}
	if (!huge)
		os_advise_hugepage(base, size);

	a = calloc(1, sizeof(*a));
	if (!a) {
		rc = fail(err, errlen, -ENOMEM, "out of memory");
		os_unmap(base, size);
		goto out_close;
	}
	a->base = base;
	a->hdr = (struct arena_hdr *)base;
	format_header(a, &g, huge, (uintptr_t)base, o->nr_cpus ? o->nr_cpus : os_nr_cpus());
	arena_setup_handle(a, base, fd);
	a->at_base = at;
	a->sealed = sealed;
	for (uint32_t c = 0; c < g.nr_chunks; c++)
		a->chunks[c] = huge || pfn_off(g.first_pfn) > (uint64_t)c * CHUNK_SIZE ?
			       CHUNK_BACKED : CHUNK_HOLE;
	for (uint32_t p = 0; p < g.first_pfn; p++) {
		a->pd[p].flags = PG_RESERVED;
		a->pd[p].head = p;
	}
	rc = ident_format(a);
	if (!rc)
		rc = ident_open(a);
	if (rc) {
		fail(err, errlen, rc, "cannot set up the arena's process slots: %s", strerror(-rc));
		os_unmap(base, size);
		free(a);
		goto out_close;
	}
	buddy_init(a);
	slab_bootstrap(a);
	atomic_store_release(&a->hdr->state, ARENA_READY);
	(void)arena_self(a);	/* attached: our slot, so that others may give to us */
	*out = a;
	if (err && errlen)
		snprintf(err, errlen, "arena of %llu MiB backed by %s%s at %p%s",
			 (unsigned long long)(size >> 20), arena_backing_name(a),
			 given_fd >= 0 || o->path ? "" :
			 sealed ? " (sealed)" : " (a memfd the kernel could not seal: "
			 "MFD_ALLOW_SEALING with huge pages needs Linux 4.16)",
			 (void *)base, at ? "" : " (the default base was taken)");
	return 0;

out_close:
	close(fd);
	if (o->path && given_fd < 0)
		unlink(o->path);
	return rc;
}

int arena_create(const struct arena_opts *o, struct arena **out, char *err, size_t errlen)
{
	return create(o, -1, out, err, errlen);
}

int arena_create_on(int fd, const struct arena_opts *o, struct arena **out, char *err,
		    size_t errlen)
{
	struct arena_opts oo = o ? *o : (struct arena_opts){ 0 };

	oo.path = NULL;
	return create(&oo, fd, out, err, errlen);
}

/* every field a reader will trust, checked against the file */
static int check_header(const struct arena_hdr *h, uint64_t fsize, char *err, size_t errlen)
{
	struct geometry g;

	if (h->magic != ARENA_MAGIC)
		return fail(err, errlen, -EPROTO, "not a slub arena (bad magic %#llx)",
			    (unsigned long long)h->magic);
	if (h->version != ARENA_LAYOUT_VERSION)
		return fail(err, errlen, -EPROTO,
			    "arena layout version %u, this build reads version %u", h->version,
			    ARENA_LAYOUT_VERSION);
	if (h->arch != ARENA_ARCH)
		return fail(err, errlen, -EPROTO, "arena made on another architecture (%u)",
			    h->arch);
	if (h->state != ARENA_READY)
		return fail(err, errlen, -EPROTO, "arena was never completely formatted");
	if (h->size != fsize || h->size < ARENA_MIN_SIZE || h->size % BLOCK_MAX_SIZE)
		return fail(err, errlen, -EPROTO, "arena size %llu does not match its file (%llu)",
			    (unsigned long long)h->size, (unsigned long long)fsize);
	geometry_of(h->size, &g);
	if (h->page_size != PAGE_SIZE || h->nr_pages != g.nr_pages || h->pd_off != g.pd_off ||
	    h->chunk_off != g.chunk_off || h->nr_chunks != g.nr_chunks ||
	    h->zone.first_pfn != g.first_pfn || h->zone.end_pfn != g.nr_pages ||
	    h->hdr_size != sizeof(struct arena_hdr))
		return fail(err, errlen, -EPROTO, "arena geometry is inconsistent");
	if (h->nr_cpus == 0 || h->nr_cpus > SLUB_MAX_CPUS || h->nr_nodes == 0 ||
	    h->nr_nodes > SLUB_MAX_NODES)
		return fail(err, errlen, -EPROTO, "arena CPU or node count out of range");
	if (h->backing != ARENA_BACKING_SHM && h->backing != ARENA_BACKING_HUGETLB)
		return fail(err, errlen, -EPROTO, "unknown arena backing %u", h->backing);
	return 0;
}

/* a copy of the header of the arena in fd (whose file holds fsize bytes) */
static int read_hdr(int fd, uint64_t fsize, struct arena_hdr *copy)
{
	int rc;

	if (fsize < ARENA_HDR_SIZE)
		return -EPROTO;
	if (pread(fd, copy, sizeof(*copy), 0) != (ssize_t)sizeof(*copy)) {
		/* hugetlbfs files cannot be read(): map the first chunk instead */
		char *p = fsize >= CHUNK_SIZE ? os_map(fd, CHUNK_SIZE, 0, &rc) : NULL;

		if (!p)
			return fsize >= CHUNK_SIZE ? rc : -EPROTO;
		memcpy(copy, p, sizeof(*copy));
		os_unmap(p, CHUNK_SIZE);
	}
	return 0;
}

int arena_open(int fd, struct arena **out, char *err, size_t errlen)
{
	struct arena_hdr copy;
	uint64_t fsize;
	struct arena *a;
	char *base;
	bool at;
	int rc, nfd;

	rc = os_file_size(fd, &fsize);
	if (rc)
		return fail(err, errlen, rc, "cannot stat the arena fd: %s", strerror(-rc));
	if (fsize < ARENA_HDR_SIZE)
		return fail(err, errlen, -EPROTO, "file of %llu bytes is too small for an arena",
			    (unsigned long long)fsize);
	rc = read_hdr(fd, fsize, &copy);
	if (rc)
		return fail(err, errlen, rc, "cannot read the arena header: %s", strerror(-rc));
	rc = check_header(&copy, fsize, err, errlen);
	if (rc)
		return rc;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (nfd < 0)
		return fail(err, errlen, -errno, "cannot dup the arena fd: %s", strerror(errno));
	base = map_arena(nfd, copy.size, copy.base, &at, &rc);
	if (!base) {
		close(nfd);
		return fail(err, errlen, rc, "cannot map the arena: %s", strerror(-rc));
	}
	/* check again what we will trust, in the mapping itself */
	rc = check_header((struct arena_hdr *)base, fsize, err, errlen);
	a = rc ? NULL : calloc(1, sizeof(*a));
	if (!a) {
		if (!rc)
			rc = fail(err, errlen, -ENOMEM, "out of memory");
		os_unmap(base, copy.size);
		close(nfd);
		return rc;
	}
	arena_setup_handle(a, base, nfd);
	a->at_base = at;
	a->sealed = os_check_size_sealed(nfd) == 0;
	if ((a->backing == ARENA_BACKING_HUGETLB) != os_is_hugetlbfs(nfd)) {
		arena_close(a);
		return fail(err, errlen, -EPROTO, "the arena header says %s pages but its file "
			    "is %son hugetlbfs", copy.backing == ARENA_BACKING_HUGETLB ? "huge" :
			    "normal", copy.backing == ARENA_BACKING_HUGETLB ? "not " : "");
	}
	rc = ident_open(a);
	if (rc) {
		arena_close(a);
		return fail(err, errlen, rc, "cannot map the arena's process slots: %s",
			    strerror(-rc));
	}
	(void)arena_self(a);	/* attached: our slot, so that others may give to us */
	*out = a;
	if (err && errlen)
		snprintf(err, errlen, "arena of %llu MiB backed by %s at %p%s",
			 (unsigned long long)(a->size >> 20), arena_backing_name(a), (void *)base,
			 at ? "" : " (its base address is taken here: pointers differ, offsets work)");
	return 0;
}

void arena_close(struct arena *a)
{
	if (!a)
		return;
	ident_close(a);
	os_unmap(a->base, a->size);
	close(a->fd);
	geom_free_all(a);
	free(a);
}

/*
 * arena_fix_size - the arena file in fd has another size than its header
 * records (a process that holds the fd truncated or grew it): give it back
 * its size.  Whatever lay past a cut reads as zeros from then on (tmpfs and
 * hugetlbfs fill a hole with zeros), as if scribbled over.  Only a header
 * that looks right (magic, version, architecture, a sane size) is trusted
 * for the size.  1: the size was restored (*was: the size found); 0: the
 * size was right; -errno.
 */
int arena_fix_size(int fd, uint64_t *was, uint64_t *size)
{
	struct arena_hdr h;
	uint64_t fsize;
	int rc = os_file_size(fd, &fsize);

	if (rc)
		return rc;
	*was = fsize;
	rc = read_hdr(fd, fsize, &h);
	if (rc)
		return rc;
	if (h.magic != ARENA_MAGIC || h.version != ARENA_LAYOUT_VERSION || h.arch != ARENA_ARCH ||
	    h.size < ARENA_MIN_SIZE || h.size > (1ULL << 40) || h.size % BLOCK_MAX_SIZE)
		return -EPROTO;
	*size = h.size;
	if (fsize == h.size)
		return 0;
	rc = os_truncate(fd, h.size);
	return rc ? rc : 1;
}

/* the pid the owning slubd wrote in the header (0: none yet or unreadable) */
pid_t arena_owner_pid(int fd)
{
	struct arena_hdr h;
	uint64_t fsize;

	if (os_file_size(fd, &fsize) || read_hdr(fd, fsize, &h) || h.magic != ARENA_MAGIC)
		return 0;
	return (pid_t)h.owner_pid;
}

void arena_set_owner_pid(struct arena *a, pid_t pid)
{
	atomic_store_release(&a->hdr->owner_pid, (uint32_t)pid);
}

uint64_t arena_created_ns(const struct arena *a) { return a->hdr->created_ns; }
bool arena_sealed(const struct arena *a) { return a->sealed; }
int arena_fd(const struct arena *a) { return a->fd; }
void *arena_base(const struct arena *a) { return a->base; }
uint64_t arena_size(const struct arena *a) { return a->size; }
enum arena_backing arena_backing(const struct arena *a) { return a->backing; }
bool arena_at_base(const struct arena *a) { return a->at_base; }
unsigned int arena_nr_cpus(const struct arena *a) { return a->nr_cpus; }
uint64_t arena_id(const struct arena *a) { return a->hdr->secret ^ a->hdr->created_ns; }
uint64_t arena_recorded_base(const struct arena *a) { return a->hdr->base; }

/*
 * what the arena's memory is, as this process sees its fd: "hugetlb" (a
 * memfd of huge pages), "hugetlb file PATH", "memfd", "tmpfs file PATH",
 * "file on FSTYPE PATH" (os_backing_desc)
 */
const char *arena_backing_name(const struct arena *a)
{
	return a->backing_desc;
}

/* from the header, which anyone may have scribbled on: never more than the arena */
uint64_t arena_free_bytes(const struct arena *a)
{
	uint64_t pages = atomic_load_relaxed(&a->hdr->zone.nr_free_pages);

	return pages < a->nr_pages ? pages << PAGE_SHIFT : a->size;
}

uint64_t arena_used_bytes(const struct arena *a)
{
	return a->size - arena_free_bytes(a);
}
