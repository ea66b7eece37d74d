/*
 * guard.c - slubd survives an arena file that an attached process cut short.
 *
 * A file-backed arena (--arena-file, and the default outside systemd) is
 * shared with every attached process through the fd slubd sends it; any of
 * them can ftruncate() the file (a sealed memfd refuses that: store.c).
 * Past the new end, a page of the mapping raises SIGBUS on access.  slubd
 * touches the arena only through guarded(): fn runs with this thread's
 * guard armed, so that
 *
 *   - before fn, the file's size is checked (one fstat) and, if it differs
 *     from the arena's, restored (ftruncate) and reported: what lay past the
 *     cut reads as zeros from then on, like a scribble, which the engine
 *     reports and survives;
 *   - a SIGBUS inside the arena's mapping while fn runs (the cut came during
 *     fn) is handled in this thread: the handler restores the size (ftruncate
 *     is async-signal-safe) and returns, and the faulting access is made
 *     again, now on a page of zeros.  No lock is left held, since fn goes on.
 *     A client cutting again and again only makes fn fault at its next
 *     access, restored each time.
 *   - if the size cannot be restored (ftruncate fails: EFBIG past a limit),
 *     or one access faults again GUARD_MAX_REPEATS times in a row (a hole
 *     punched in a hugetlb arena whose huge page cannot be had again: the
 *     punch gave its reservation back, and no huge page is free), the
 *     handler puts private zero pages (an anonymous mapping made apart, then
 *     moved in place by mremap(MREMAP_FIXED): one step, and nothing lost if
 *     it fails) over what is missing: the part of the mapping past the
 *     file's end, or the one page (a huge page for hugetlb) that keeps
 *     faulting, and returns.  fn goes on, on zeros, to its end, and releases
 *     every lock it took: no arena lock is ever left held by a jump out of
 *     fn.  What slubd wrote there in the meantime is its own and is lost (the
 *     page was lost to the cut anyway and reads as zeros, like a scribble; a
 *     lock word there reads as free to the others, as the cut left it).
 *     Other threads of slubd see the same patch (one address space); a
 *     client sees the file.  After fn, guarded() restores the size if it
 *     can and maps the file back over each patch (mapped apart, then moved
 *     in place); a patch that cannot be yet (no huge page free) is kept on
 *     a list (pending_lock) and tried again before each later guarded call,
 *     so slubd's view and its clients' meet again.  Only if even the patch
 *     fails (no map entry left) does the handler siglongjmp() out of fn:
 *     guarded() returns -EFAULT and logs that locks fn held may stay held
 *     (a restart of slubd clears them).
 *
 * A SIGBUS outside a guard, or at an address outside the arena while its
 * file has its size, is not slubd's to handle: the default action is put
 * back and the access faults again, fatally, as it would have without the
 * handler.  (Outside the arena's mapping while the file is short: the
 * second mapping of its first chunk, where the life words are, ident.c.)
 *
 * Per thread: the guard in force lives in a thread-local frame (guards may
 * nest), so the event loop, the scrubber and any worker thread each have
 * their own.  The handler is installed once, process-wide (guard_init).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "slubd.h"

/* faults at one address in a row, each after a restored size, before giving up */
#define GUARD_MAX_REPEATS 8
/* patches one frame remembers; past that it maps the whole arena back */
#define GUARD_MAX_PATCHES 16
#define HUGE_PAGE (2UL << 20)
#define IDENT_MAP (2UL << 20)	/* the first chunk, mapped a second time (ident.c) */

/* private zeros over [addr, addr + len), in place of the file at off */
struct patch {
	uintptr_t addr;
	uint64_t len, off;
};

struct guard_frame {
	sigjmp_buf jb;
	int fd;				/* the arena's fd: restored through it */
	uintptr_t lo, hi;		/* the arena's mapping */
	uint64_t size;			/* its size */
	volatile sig_atomic_t faults;	/* SIGBUS taken in this frame */
	volatile uintptr_t last;	/* the address of the last one */
	volatile sig_atomic_t repeats;	/* faults in a row at that address */
	volatile sig_atomic_t cut;	/* the size seen at the first fault, in 4 KiB pages (+1) */
	uintptr_t ident;		/* the second mapping of the first chunk; 0: unknown */
	uint64_t page;			/* the arena's page: 4 KiB, or a huge page */
	struct patch patches[GUARD_MAX_PATCHES];
	volatile sig_atomic_t nr_patches;
	volatile sig_atomic_t patch_all;	/* more than fit: map it all back */
	struct guard_frame *prev;
};

static __thread struct guard_frame *guard_cur;

/*
 * move_over - the new mapping m (MAP_FAILED: none was had) moved over p's
 * range in one step (mremap MREMAP_FIXED), or dropped: 0, or -1 with p's
 * range as it was.  Never mmap(MAP_FIXED) over a live range: a MAP_FIXED
 * mmap that fails (no huge page to reserve, no map entry left) leaves the
 * range unmapped, and slubd's next access there would be a SIGSEGV.
 */
static int move_over(void *m, const struct patch *p)
{
	if (m == MAP_FAILED)
		return -1;
	if (mremap(m, p->len, p->len, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)p->addr) ==
	    MAP_FAILED) {
		munmap(m, p->len);
		return -1;
	}
	return 0;
}

/*
 * patch - in the handler: private zeros over what is missing at addr, so
 * that the faulting access goes through.  Past the file's end: all of the
 * mapping from there (one mapping, however many pages were cut); else the
 * one page.  0, or -1 (addr in no mapping of ours, or mmap refused).
 * mmap(2) is not on POSIX's list of async-signal-safe functions, but it is
 * one system call with no user-space lock in glibc: safe here.
 */
static int patch(struct guard_frame *g, uintptr_t addr)
{
	uintptr_t base, end;
	uint64_t eof = 0, from;
	struct stat st;
	struct patch p;

	if (addr >= g->lo && addr < g->hi)
		base = g->lo, end = g->hi;
	else if (g->ident && addr >= g->ident && addr < g->ident + IDENT_MAP)
		base = g->ident, end = g->ident + IDENT_MAP;
	else
		return -1;
	if (fstat(g->fd, &st) == 0)
		eof = (uint64_t)st.st_size;
	from = (addr - base) & ~(g->page - 1);
	eof = (eof + g->page - 1) & ~(g->page - 1);
	p.addr = base + from;
	p.off = from;
	p.len = g->page;
	if (from >= eof)	/* past the end: all of it from the end on */
		p.addr = base + eof, p.off = eof, p.len = end - base - eof;
	if (move_over(mmap(NULL, p.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
		      &p))
		return -1;
	if (g->nr_patches < GUARD_MAX_PATCHES)
		g->patches[g->nr_patches++] = p;
	else
		g->patch_all = 1;
	g->repeats = 0;
	return 0;
}

static void sigbus_handler(int sig, siginfo_t *si, void *uc)
{
	struct guard_frame *g = guard_cur;
	uintptr_t addr = (uintptr_t)si->si_addr;
	struct stat st;

	(void)uc;
	/*
	 * ours: under a guard, a fault (not a kill) in the arena's mapping, or
	 * anywhere while the arena file is short (the second mapping of its
	 * first chunk, for the life words, lies elsewhere: ident.c)
	 */
	if (!g || si->si_code <= 0 || ((addr < g->lo || addr >= g->hi) &&
	    (fstat(g->fd, &st) || (uint64_t)st.st_size >= g->size))) {
		/* not an arena access under a guard: fault again, fatally */
		struct sigaction dfl;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(sig, &dfl, NULL);
		return;
	}
	if (!g->cut && fstat(g->fd, &st) == 0)
		g->cut = (sig_atomic_t)((uint64_t)st.st_size / 4096) + 1;
	g->faults++;
	g->repeats = addr == g->last ? g->repeats + 1 : 1;
	g->last = addr;
	/*
	 * a client cutting again and again only makes the walk fault at its next
	 * address: go on while each restore lets the access through; give up only
	 * when the size cannot be restored, or the same access keeps faulting
	 */
	if (g->repeats <= GUARD_MAX_REPEATS && ftruncate(g->fd, (off_t)g->size) == 0)
		return;		/* the access is made again, on zeros */
	/* the size cannot be put back, or the page cannot be had: zeros of our own */
	if (patch(g, addr) == 0)
		return;
	siglongjmp(g->jb, 1);
}

int guard_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sigbus_handler;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	/*
	 * a restore past RLIMIT_FSIZE (or the file system's limit) fails with
	 * EFBIG, and the kernel also sends SIGXFSZ, whose default action would
	 * kill slubd: a failed restore is the handler's case, not a death
	 */
	signal(SIGXFSZ, SIG_IGN);
	return sigaction(SIGBUS, &sa, NULL) ? -errno : 0;
}

/* the file's size differs from the arena's: put it back, say what was lost */
static void guard_check_size(struct server *s)
{
	int fd = arena_fd(s->arena);
	uint64_t size = arena_size(s->arena);
	struct stat st;

	if (arena_sealed(s->arena) || fstat(fd, &st) || (uint64_t)st.st_size == size)
		return;
	if (ftruncate(fd, (off_t)size)) {
		log_msg("the arena file was resized to %llu bytes (the arena has %llu) and its size "
			"cannot be restored: %s", (unsigned long long)st.st_size,
			(unsigned long long)size, strerror(errno));
		return;
	}
	if ((uint64_t)st.st_size < size)
		log_msg("the arena file was cut to %llu bytes by a process that holds it (the arena "
			"has %llu): size restored; the %llu bytes past the cut now read as zeros "
			"(slubctl validate names the pools that lost objects)",
			(unsigned long long)st.st_size, (unsigned long long)size,
			(unsigned long long)(size - (uint64_t)st.st_size));
	else
		log_msg("the arena file was grown to %llu bytes by a process that holds it (the "
			"arena has %llu): size restored", (unsigned long long)st.st_size,
			(unsigned long long)size);
}

/*
 * Patches not yet mapped back (no huge page free, say): tried again before
 * each guarded call.  pending_lock protects the list; it is taken outside
 * any handler and any arena lock, and nothing is taken under it.
 */
static pthread_mutex_t pending_lock = PTHREAD_MUTEX_INITIALIZER;
static struct patch pending[GUARD_MAX_PATCHES];
static unsigned int nr_pending;
static bool pending_all;		/* map the whole arena and the ident chunk back */
static struct {				/* where the ident chunk was found, for fd/ino */
	dev_t dev;
	ino_t ino;
	uintptr_t lo, addr;
} ident_seen;

/* the second mapping of the file's first chunk (ident.c's), from /proc/self/maps */
static uintptr_t ident_mapping(int fd, uintptr_t lo)
{
	unsigned long start, end, off, ino;
	unsigned int maj, min;
	uintptr_t found = 0;
	struct stat st;
	char line[512];
	FILE *f;

	if (fstat(fd, &st))
		return 0;
	if (ident_seen.dev == st.st_dev && ident_seen.ino == st.st_ino && ident_seen.lo == lo)
		return ident_seen.addr;
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %*s %lx %x:%x %lu", &start, &end, &off, &maj, &min,
			   &ino) == 6 && off == 0 && end - start == IDENT_MAP && start != lo &&
		    makedev(maj, min) == st.st_dev && ino == st.st_ino)
			found = start;
	fclose(f);
	ident_seen.dev = st.st_dev;
	ident_seen.ino = st.st_ino;
	ident_seen.lo = lo;
	ident_seen.addr = found;
	return found;
}

/* the file mapped back over p (mapped apart first, then moved): 0, or -errno */
static int unpatch(int fd, const struct patch *p)
{
	void *m = mmap(NULL, p->len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)p->off);
	int e = errno;

	if (m == MAP_FAILED)
		return -e;
	return move_over(m, p) ? -errno : 0;
}

/* this frame's patches, and those still pending, mapped back where they can be */
static void unpatch_all(struct server *s, struct guard_frame *g)
{
	struct patch all[2] = {
		{ (uintptr_t)arena_base(s->arena), arena_size(s->arena), 0 },
		{ 0, IDENT_MAP, 0 },
	};
	struct patch left[GUARD_MAX_PATCHES];
	unsigned int nr_left = 0, nr = 0;
	bool whole;
	int rc = 0;

	pthread_mutex_lock(&pending_lock);
	all[1].addr = ident_seen.addr;	/* found by ident_mapping(), under the lock */
	whole = pending_all || (g && g->patch_all);
	if (g)
		for (int i = 0; i < g->nr_patches && nr_pending < GUARD_MAX_PATCHES; i++)
			pending[nr_pending++] = g->patches[i];
	if (g && g->nr_patches > 0 && nr_pending == GUARD_MAX_PATCHES)
		whole = true;	/* some did not fit: all of it */
	if (whole) {
		for (int i = 0; i < 2; i++)
			if (all[i].addr && (rc = unpatch(arena_fd(s->arena), &all[i])))
				break;
		nr_pending = 0;
		pending_all = rc != 0;
	} else {
		for (unsigned int i = 0; i < nr_pending; i++)
			if ((rc = unpatch(arena_fd(s->arena), &pending[i])))
				left[nr_left++] = pending[i];
		nr = nr_pending - nr_left;
		memcpy(pending, left, nr_left * sizeof(left[0]));
		nr_pending = nr_left;
	}
	pthread_mutex_unlock(&pending_lock);
	if (rc)
		log_msg("a part of the arena that was lost (cut or punched) cannot be mapped back "
			"yet (%s): slubd sees zeros of its own there until it can, tried again at "
			"each request", strerror(-rc));
	else if (whole || nr)
		log_msg("the arena's lost part is mapped back: slubd and its clients see the same "
			"pages again");
}

int guarded(struct server *s, void (*fn)(void *), void *arg)
{
	struct guard_frame g;
	volatile int rc = 0;

	if (!s->arena) {
		fn(arg);
		return 0;
	}
	guard_check_size(s);
	memset(&g, 0, sizeof(g));
	g.fd = arena_fd(s->arena);
	g.lo = (uintptr_t)arena_base(s->arena);
	g.size = arena_size(s->arena);
	g.hi = g.lo + g.size;
	g.page = arena_backing(s->arena) == ARENA_BACKING_HUGETLB ? HUGE_PAGE : 4096;
	pthread_mutex_lock(&pending_lock);
	g.ident = ident_mapping(g.fd, g.lo);
	if (nr_pending || pending_all) {
		pthread_mutex_unlock(&pending_lock);
		unpatch_all(s, NULL);
	} else {
		pthread_mutex_unlock(&pending_lock);
	}
	g.prev = guard_cur;
	if (sigsetjmp(g.jb, 1) == 0) {
		__atomic_store_n(&guard_cur, &g, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		fn(arg);
	} else {
		rc = -EFAULT;
	}
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	guard_cur = g.prev;
	if (g.nr_patches || g.patch_all) {
		guard_check_size(s);
		unpatch_all(s, &g);
	}
	if (g.faults && g.cut && (uint64_t)(g.cut - 1) * 4096 >= g.size)
		log_msg("a page of the arena could not be had while slubd used it (the file has its "
			"size: a hole punched in huge pages, and no huge page free): %s; it reads as "
			"zeros (slubctl validate names the pools that lost objects)",
			rc ? "the request failed and locks it held may stay held (restart slubd if "
			"requests stay busy)" : "the request went on, on zeros of slubd's own");
	else if (g.faults)
		log_msg("the arena file was cut to %llu bytes while slubd used it (the arena has "
			"%llu): %s; what lay past the cut reads as zeros (slubctl validate names "
			"the pools that lost objects)",
			g.cut ? (unsigned long long)(g.cut - 1) * 4096 : 0ULL,
			(unsigned long long)g.size,
			rc ? "the request failed and locks it held may stay held (the lost "
			"part could not be replaced by zeros: restart slubd if requests stay busy)" :
			g.nr_patches || g.patch_all ? "the request went on, on zeros of slubd's own "
			"(the size or the page could not be had back in time)" :
			"size restored, the request went on");
	return rc;
}

/*
 * guarded_fd - fn under a guard before slubd holds its arena (store.c's
 * adopt: the arena opened, its pools walked): a SIGBUS while the file fd is
 * shorter than size restores it and retries, as above; one that cannot be
 * undone (no mapping known to patch) jumps out of fn and returns -EFAULT,
 * which fails slubd's start with a message: the locks fn may hold are then
 * a dead process's, which the next slubd's scrub recovers.
 */
int guarded_fd(int fd, uint64_t size, void (*fn)(void *), void *arg)
{
	struct guard_frame g;
	volatile int rc = 0;

	memset(&g, 0, sizeof(g));
	g.fd = fd;
	g.size = size;
	g.page = 4096;
	g.prev = guard_cur;
	if (sigsetjmp(g.jb, 1) == 0) {
		__atomic_store_n(&guard_cur, &g, __ATOMIC_RELAXED);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		fn(arg);
	} else {
		rc = -EFAULT;
	}
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	guard_cur = g.prev;
	if (g.faults)
		log_msg("the arena file was cut while slubd opened it: %s", rc ? "slubd cannot "
			"go on (its size could not be restored)" : "size restored");
	return rc;
}

/* ---- today's call sites in server.c, each through guarded() ---------------- */

struct dispatch_args {
	struct server *s;
	struct conn *c;
	const Slubd__Request *req;
	Slubd__Response *resp;
	struct dispatch_scratch **scratch;
	struct reply_plan *plan;
};

static void dispatch_fn(void *arg)
{
	struct dispatch_args *d = arg;

	dispatch(d->s, d->c, d->req, d->resp, d->scratch, d->plan);
}

void guarded_dispatch(struct server *s, struct conn *c, const Slubd__Request *req,
		      Slubd__Response *resp, struct dispatch_scratch **scratch,
		      struct reply_plan *plan)
{
	struct dispatch_args d = { s, c, req, resp, scratch, plan };

	if (guarded(s, dispatch_fn, &d) == 0)
		return;
	/* the arena faulted under the request: an error, nothing else sent */
	resp->body_case = SLUBD__RESPONSE__BODY__NOT_SET;
	resp->has_err = 1;
	resp->err = EFAULT;
	resp->error = "the arena file was cut short by an attached process while slubd "
		      "read it; slubd restores its size: try again";
	plan->send_fd = false;
}

struct drop_args {
	struct server *s;
	struct conn *c;
	bool done;
};

static void drop_fn(void *arg)
{
	struct drop_args *d = arg;

	d->done = conn_drop_refs(d->s, d->c);
}

/*
 * true when every reference is dropped, or when the arena faulted under the
 * drop (logged; trying again would fault again): the connection is done with
 */
bool guarded_drop_refs(struct server *s, struct conn *c)
{
	struct drop_args d = { s, c, false };

	if (guarded(s, drop_fn, &d) == 0)
		return d.done;
	log_msg("client pid %d: its pool references could not be dropped (the arena faulted)",
		(int)c->pid);
	return true;
}

struct scrub_args {
	struct server *s;
	struct slab_scrub_result *r;
	int rc;
};

static void scrub_fn(void *arg)
{
	struct scrub_args *x = arg;

	held_prune(x->s);	/* processes gone though a connection of theirs is open */
	x->rc = slab_scrub(x->s->arena, x->r);
}

int guarded_scrub(struct server *s, struct slab_scrub_result *r)
{
	struct scrub_args x = { s, r, -EFAULT };

	memset(r, 0, sizeof(*r));
	return guarded(s, scrub_fn, &x) ? -EFAULT : x.rc;
}

static void close_fn(void *arg)
{
	struct server *s = arg;

	arena_close(s->arena);
}

/* arena_close writes this thread's life words back: after a check of the size */
void guarded_arena_close(struct server *s)
{
	if (guarded(s, close_fn, s))
		log_msg("the arena faulted while slubd let go of it");
	s->arena = NULL;
}

static void owner_fn(void *arg)
{
	struct server *s = arg;

	arena_set_owner_pid(s->arena, getpid());
}

void guarded_set_owner_pid(struct server *s)
{
	if (guarded(s, owner_fn, s))
		log_msg("the arena faulted while slubd wrote its pid there");
}

struct used_args {
	struct arena *a;
	uint64_t used;
};

static void used_fn(void *arg)
{
	struct used_args *x = arg;

	x->used = arena_used_bytes(x->a);
}

uint64_t guarded_used_bytes(struct server *s)
{
	struct used_args x = { s->arena, 0 };

	guarded(s, used_fn, &x);
	return x.used;
}
