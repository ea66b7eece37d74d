/*
 * report.c - the report ring: every problem the engine finds (a double free,
 * a scribbled page descriptor, a lock it cannot take) becomes a struct
 * slab_report, counted in the cache's shared descriptor, kept in the arena's
 * ring of REPORT_RING slots (slab_reports reads it from any process) and
 * handed to this process's callback (slab_set_report_fn).  Also a cache's
 * name as a report prints it (cache_name_safe).
 *
 * Layer: the bottom of the engine, above os.c and names.c.  It calls only
 * os.c (pid, clock) and names.c; it reads lock.c's shm_lock_depth (a
 * thread-local count, no call) to hold callbacks back while locks are held.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- reports ------------------------------------------------------------ */

static void (*report_fn)(const struct slab_report *r, void *arg);
static void *report_arg;

/*
 * Reports made while the thread holds shared locks: the ring gets them at
 * once, the callback (which may print: a system call) only once the last
 * lock is dropped (slab_report_flush).  Per thread, bounded: beyond
 * HELD_REPORTS in one locked section, a report goes to the ring and the
 * cache's error counts only (slab_reports() reads the ring).
 */
#define HELD_REPORTS 32
static __thread struct slab_report held_reports[HELD_REPORTS];
static __thread unsigned int nr_held_reports;

void slab_set_report_fn(void (*fn)(const struct slab_report *r, void *arg), void *arg)
{
	report_fn = fn;
	report_arg = arg;
}

static const char *const error_names[SLAB_ERR_NR] = {
	[SLAB_ERR_DOUBLE_FREE] = "double free",
	[SLAB_ERR_BAD_POINTER] = "bad pointer",
	[SLAB_ERR_WRONG_CACHE] = "wrong cache",
	[SLAB_ERR_FREELIST] = "corrupt free pointer",
	[SLAB_ERR_REDZONE] = "red zone overwritten",
	[SLAB_ERR_POISON] = "write after free",
	[SLAB_ERR_COUNTERS] = "slab counters wrong",
	[SLAB_ERR_LIST] = "slab list wrong",
	[SLAB_ERR_PAGE] = "page descriptor wrong",
	[SLAB_ERR_ORPHAN] = "orphaned slab",
	[SLAB_ERR_DESTROYED] = "destroyed cache used",
	[SLAB_ERR_LEAK] = "objects of a dead process",
	[SLAB_ERR_LOCK] = "lock",
};

const char *slab_error_name(enum slab_error e)
{
	return e > 0 && e < SLAB_ERR_NR ? error_names[e] : "unknown";
}

void slab_report(struct arena *a, struct kmem_cache *s, enum slab_error kind, aoff_t obj,
		 const char *fmt, ...)
{
	struct arena_hdr *h = a->hdr;
	struct slab_report r;
	uint64_t ticket;
	struct report_slot *slot;
	va_list ap;

	memset(&r, 0, sizeof(r));
	r.kind = kind;
	r.pid = os_pid();
	r.cache = s ? s->self : 0;
	r.object = obj;
	r.time_ns = os_now_ns();
	if (s)
		cache_name_safe(s, r.cache_name);
	va_start(ap, fmt);
	vsnprintf(r.detail, sizeof(r.detail), fmt, ap);
	va_end(ap);
	if (s && kind < SLAB_ERR_NR)	/* counted in the shared descriptor */
		atomic_add_relaxed(&cache_shared(a, s)->errors[kind], 1);

	/* the ring: a ticket picks the slot; seq says when it is whole */
	ticket = atomic_fetch_add_relaxed(&h->report_head, 1);
	slot = &h->reports[ticket % REPORT_RING];
	atomic_store_release(&slot->seq, 0);
	slot->r = r;
	atomic_store_release(&slot->seq, ticket + 1);
	if (!report_fn)
		return;
	if (shm_lock_depth > 0) {
		/* a callback may print: it runs when the last lock is dropped */
		if (nr_held_reports < HELD_REPORTS)
			held_reports[nr_held_reports++] = r;
		/* else: in the ring and the counts only */
		return;
	}
	shm_syscall_note();
	report_fn(&r, report_arg);
}

/*
 * slab_report_flush - the callbacks of the reports made while this thread
 * held shared locks (shm_lock_release calls it when the last one goes).  A
 * callback may take locks and report again: each report is taken off the
 * queue before its callback runs.
 */
void slab_report_flush(void)
{
	while (nr_held_reports > 0 && shm_lock_depth == 0) {
		struct slab_report r = held_reports[0];

		memmove(&held_reports[0], &held_reports[1],
			(size_t)--nr_held_reports * sizeof(held_reports[0]));
		if (report_fn)
			report_fn(&r, report_arg);
	}
}

int slab_reports(struct arena *a, struct slab_report *out, int max, uint64_t *cursor)
{
	struct arena_hdr *h = a->hdr;
	uint64_t head = atomic_load_acquire(&h->report_head), t = *cursor;
	int n = 0;

	/*
	 * At most the last REPORT_RING tickets, whatever head says: a cursor
	 * past head (head went back: the ring was scribbled on) starts over at
	 * the oldest slot that can still be whole.
	 */
	if (t > head || (head > REPORT_RING && t < head - REPORT_RING))
		t = head > REPORT_RING ? head - REPORT_RING : 0;
	for (; t < head && n < max; t++) {
		struct report_slot *slot = &h->reports[t % REPORT_RING];

		if (atomic_load_acquire(&slot->seq) != t + 1)
			continue;
		out[n] = slot->r;
		if (atomic_load_acquire(&slot->seq) == t + 1) {
			/* the strings of a slot another process wrote: terminated here */
			out[n].cache_name[sizeof(out[n].cache_name) - 1] = 0;
			out[n].detail[sizeof(out[n].detail) - 1] = 0;
			n++;
		}
	}
	*cursor = t;
	return n;
}

/* ---- a cache's name, as a report prints it -------------------------------- */

static bool name_char_ok(char ch)
{
	return slab_name_char_ok(ch);	/* names.c: the one definition */
}

bool cache_name_ok(const struct kmem_cache *s)
{
	size_t len = strnlen(s->name, sizeof(s->name));

	if (len == 0 || len > SLUB_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!name_char_ok(s->name[i]))
			return false;
	return true;
}

const char *cache_name_safe(const struct kmem_cache *s, char buf[SLUB_NAME_MAX + 1])
{
	size_t i;

	for (i = 0; i < SLUB_NAME_MAX && s->name[i]; i++)
		buf[i] = name_char_ok(s->name[i]) ? s->name[i] : '?';
	if (i == 0)
		buf[i++] = '?';		/* no name at all */
	buf[i] = 0;
	return buf;
}
