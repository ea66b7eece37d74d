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
 *     access, restored each time.  Only if that fails (the size cannot be
 *     restored, or one access faults again GUARD_MAX_REPEATS times in a row:
 *     huge pages that cannot be had again, say) does the handler siglongjmp()
 *     out of fn, and guarded() returns
 *     -EFAULT: that request gets an error.  Locks of the arena that fn held
 *     then stay held by this thread (a robust mutex is freed by its owner's
 *     death only): later requests needing them wait; slubd itself goes on.
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
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "slubd.h"

/* faults at one address in a row, each after a restored size, before giving up */
#define GUARD_MAX_REPEATS 8

struct guard_frame {
	sigjmp_buf jb;
	int fd;				/* the arena's fd: restored through it */
	uintptr_t lo, hi;		/* the arena's mapping */
	uint64_t size;			/* its size */
	volatile sig_atomic_t faults;	/* SIGBUS taken in this frame */
	volatile uintptr_t last;	/* the address of the last one */
	volatile sig_atomic_t repeats;	/* faults in a row at that address */
	volatile sig_atomic_t cut;	/* the size seen at the first fault, in 4 KiB pages (+1) */
	struct guard_frame *prev;
};

static __thread struct guard_frame *guard_cur;

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
		log_msg("the arena file was cut to %llu bytes while slubd used it (the arena has "
			"%llu): %s; what lay past the cut reads as zeros (slubctl validate names "
			"the pools that lost objects)",
			g.cut ? (unsigned long long)(g.cut - 1) * 4096 : 0ULL,
			(unsigned long long)g.size,
			rc ? "the request failed (the size could not be restored in time)" :
			"size restored, the request went on");
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
	struct arena *a;
	struct slab_scrub_result *r;
	int rc;
};

static void scrub_fn(void *arg)
{
	struct scrub_args *x = arg;

	x->rc = slab_scrub(x->a, x->r);
}

int guarded_scrub(struct server *s, struct slab_scrub_result *r)
{
	struct scrub_args x = { s->arena, r, -EFAULT };

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
