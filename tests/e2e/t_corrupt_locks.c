/*
 * t_corrupt_locks.c - a corrupted arena: the report ring, and the locks.
 *
 * The scribbles, the requests with a deadline and the checks every scribble
 * gets are in e2e_corrupt.c; t_corrupt.c says what those checks are.
 *
 *   report_ring      slab_reports() over a scribbled report ring (head, seq,
 *                    unterminated text), read in this process
 *   lock_word*       a lock word naming a thread that does not exist (a node's,
 *                    the zone's, slab_mutex, a CPU's): lock.c breaks it
 *   lock_kind*       a mutex's kind scribbled (pthread: EINVAL), the same
 *                    locks: what needs it fails, a report names the lock
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

/* ---- the report ring, read in this process ------------------------------------- */

/*
 * slab_reports over a ring another process scribbled on: at most max
 * reports, at most the ring's, each string terminated, whatever head,
 * the cursor and the slots say.  The arena is opened here from its file.
 */
E2E_CASE(report_ring)
{
	struct slab_report out[2 * REPORT_RING];
	char path[200], err[200];
	struct arena *a = NULL;
	uint64_t cursor;
	struct cr_vres v;
	struct cr c;
	int fd, n;

	REQUIRE(cr_setup(&c, NULL) == 0);
	snprintf(path, sizeof(path), "%s/slubd.arena", c.d->dir);
	fd = open(path, O_RDWR | O_CLOEXEC);
	REQUIRE(fd >= 0);
	n = arena_open(fd, &a, err, sizeof(err));
	close(fd);
	REQUIRE(n == 0);
	for (int round = 0; round < 4; round++) {
		static const uint64_t heads[] = { ~0ULL - 3, 5, REPORT_RING * 3 + 7, 1ULL << 63 };
		uint64_t head = heads[round];

		c.h->report_head = head;
		for (int i = 0; i < REPORT_RING; i++) {
			/* the odd slots look whole (seq = ticket + 1) for the last
			 * tickets before head that map to them; their text is unterminated */
			uint64_t low = head - REPORT_RING;
			uint64_t t = low + ((uint64_t)i - low % REPORT_RING) % REPORT_RING;

			c.h->reports[i].seq = i % 2 ? t + 1 : (uint64_t)i * 0x9e3779b97f4a7c15ULL;
			memset(&c.h->reports[i].r, 'x', sizeof(c.h->reports[i].r));
		}
		for (int k = 0; k < 3; k++) {
			cursor = k == 0 ? 0 : k == 1 ? head : ~0ULL;
			n = slab_reports(a, out, (int)(sizeof(out) / sizeof(out[0])), &cursor);
			CHECKF(n >= 0 && n <= REPORT_RING, "head %#llx: %d reports", (unsigned long long)head, n);
			if (k == 0)
				printf("  head %#llx: %d reports from a scribbled ring\n",
				       (unsigned long long)head, n);
			for (int i = 0; i < n && i < REPORT_RING; i++)
				CHECK(memchr(out[i].cache_name, 0, sizeof(out[i].cache_name)) &&
				      memchr(out[i].detail, 0, sizeof(out[i].detail)));
			CHECKF(cursor <= head, "cursor %#llx past head %#llx", (unsigned long long)cursor,
			       (unsigned long long)head);
		}
		/* slubd writes reports into that ring: validate finds the scribble below */
		cr_node0(&c, c.plain)->nr_partial += 1;
		cr_validate(&c, NULL, &v);
		CHECK(v.answered && v.errors > 0);
		cr_node0(&c, c.plain)->nr_partial -= 1;
		cursor = 0;
		n = slab_reports(a, out, (int)(sizeof(out) / sizeof(out[0])), &cursor);
		CHECK(n >= 0 && n <= REPORT_RING);
		printf("  head %#llx: %d reports read back after validate\n",
		       (unsigned long long)c.h->report_head, n);
	}
	arena_close(a);
	e2e_alive(c.d, "after the report ring");
	e2e_stop(c.d);
}

/* ---- locks ----------------------------------------------------------------------- */

/*
 * A lock word that says a thread holds it which does not exist (scribbled,
 * 0x3ffffff0 is past any pid_max): a robust mutex only frees itself when its
 * owner dies, so every locker would wait forever.  lock.c's waiters see the
 * same word for a second, find its thread gone, and mark the owner dead as
 * the kernel would: the next locker repairs what the lock protects.  Each
 * case scribbles one lock kind; the usual checks follow (answers within
 * OP_TIMEOUT_MS, 5 s; slubd stays up and serves).  A word naming a live
 * thread is a held lock, not a scribble: it cannot be told apart.
 */
#define DEAD_TID	0x3ffffff0u

static void lock_case(const char *nm, struct shm_lock *(*which)(struct cr *c))
{
	struct cr c;
	struct shm_lock *l;
	uint64_t t0;

	REQUIRE(cr_setup(&c, NULL) == 0);
	l = which(&c);
	REQUIRE(l != NULL);
	*(volatile uint32_t *)&l->m = DEAD_TID;	/* the futex word: "held by DEAD_TID" */
	t0 = t_now_ms();
	cr_check(&c, &(const struct cr_kind){ nm, NULL, X_NONE, 0 });
	if (!t_failed)
		printf("  %s: every check answered, all in %llu ms\n", nm,
		       (unsigned long long)(t_now_ms() - t0));
	if (c.d->pid)
		e2e_stop(c.d);
}

static struct shm_lock *lk_node(struct cr *c) { return &cr_node0(c, c->plain)->list_lock; }
static struct shm_lock *lk_node_dbg(struct cr *c) { return &cr_node0(c, c->dbg)->list_lock; }
static struct shm_lock *lk_zone(struct cr *c) { return &c->h->zone.lock; }
static struct shm_lock *lk_slab_mutex(struct cr *c) { return &c->h->slab_mutex; }
static struct shm_lock *lk_cpu(struct cr *c)
{
	struct kmem_cache_cpu *cc = cr_busy_cpu(c, c->plain);

	return cc ? &cc->lock : NULL;
}

E2E_CASE(lock_word) { lock_case("lock_word", lk_node); }
E2E_CASE(lock_word_dbg) { lock_case("lock_word_dbg", lk_node_dbg); }
E2E_CASE(lock_word_zone) { lock_case("lock_word_zone", lk_zone); }
E2E_CASE(lock_word_slab_mutex) { lock_case("lock_word_slab_mutex", lk_slab_mutex); }
E2E_CASE(lock_word_cpu) { lock_case("lock_word_cpu", lk_cpu); }

/*
 * A lock that cannot be taken (issue 10, item 7): the mutex's kind field
 * scribbled, so that pthread answers EINVAL to every locker.  What needs the
 * lock fails (validate, scrub, create, destroy, a client's allocation) and
 * is never run without it; a report in the arena's ring names the lock; the
 * usual checks all answer, and slubd stays up.
 */
static void kind_case(const char *nm, struct shm_lock *(*which)(struct cr *c), const char *lock)
{
	struct slab_report out[REPORT_RING];
	char path[200], err[200];
	struct arena *a = NULL;
	uint64_t cursor = 0;
	struct shm_lock *l;
	bool named = false;
	struct cr c;
	int fd, n;

	REQUIRE(cr_setup(&c, NULL) == 0);
	l = which(&c);
	REQUIRE(l != NULL);
#ifdef __GLIBC__
	l->m.__data.__kind = 0x7f;	/* no mutex type: EINVAL */
#else
	SKIP("needs glibc's mutex fields");
#endif
	cr_check(&c, &(const struct cr_kind){ nm, NULL, X_NONE, 0 });
	snprintf(path, sizeof(path), "%s/slubd.arena", c.d->dir);
	fd = open(path, O_RDWR | O_CLOEXEC);
	CHECKF(fd >= 0 && arena_open(fd, &a, err, sizeof(err)) == 0, "arena_open: %s", err);
	if (fd >= 0)
		close(fd);
	n = a ? slab_reports(a, out, REPORT_RING, &cursor) : 0;
	for (int i = 0; i < n && !named; i++)
		if (out[i].kind == SLAB_ERR_LOCK && strstr(out[i].detail, lock)) {
			named = true;
			printf("  %-24s report: %s: %s\n", nm,
			       out[i].cache_name[0] ? out[i].cache_name : "(arena)", out[i].detail);
		}
	CHECKF(named, "%s: no report names '%s' (%d reports)", nm, lock, n);
	if (a)
		arena_close(a);
	if (c.d->pid)
		e2e_stop(c.d);
}

E2E_CASE(lock_kind) { kind_case("lock_kind", lk_node, "list_lock"); }
E2E_CASE(lock_kind_dbg) { kind_case("lock_kind_dbg", lk_node_dbg, "list_lock"); }
E2E_CASE(lock_kind_zone) { kind_case("lock_kind_zone", lk_zone, "zone lock"); }
E2E_CASE(lock_kind_slab_mutex) { kind_case("lock_kind_slab_mutex", lk_slab_mutex, "slab_mutex"); }
E2E_CASE(lock_kind_cpu) { kind_case("lock_kind_cpu", lk_cpu, "lock"); }

T_MAIN(T_CASE(report_ring), T_CASE(lock_kind), T_CASE(lock_kind_dbg), T_CASE(lock_kind_zone),
       T_CASE(lock_kind_slab_mutex), T_CASE(lock_kind_cpu), T_CASE(lock_word),
       T_CASE(lock_word_dbg), T_CASE(lock_word_zone), T_CASE(lock_word_slab_mutex),
       T_CASE(lock_word_cpu))
