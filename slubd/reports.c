/*
 * reports.c - slubd's log of the arena's reports (misuse and corruption a
 * process detected, the dead owners a scrub found): the ring in the arena
 * header (slab_reports) read from where slubd last read it, each report
 * logged once, at most SLUBD_REPORT_LOG_MAX lines a minute; the rest are
 * counted and said in one line ("slubctl reports" lists the ring).
 *
 * Who reads: the scrubber after each scrub, and the worker after a
 * reclaim, through guarded() both (the ring is arena memory).  reports_lock
 * (slubd's own mutex, never an arena lock, taken with none held) protects
 * the cursor and the window; log_msg is called under it, which is allowed:
 * no arena lock is held, and the two callers only wait on each other.
 *
 * The ring's slots are written by any process (a ticket, then seq: see
 * slab_report); a slot overwritten before slubd read it is lost to the log
 * and counted as not logged.  Reports of slubd's own validate are not logged
 * one by one: validate answers them and logs its summary.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "slubd.h"

#define REPORTS_WINDOW_MS 60000u

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* one report in one line (also what slubctl reports prints, in its own words) */
static void log_report(const struct slab_report *r)
{
	if (r->kind == SLAB_ERR_LEAK)	/* the scrub's: "pid N died holding M objects ..." */
		log_msg("pool %s: %s", r->cache_name[0] ? r->cache_name : "?", r->detail);
	else
		log_msg("report: %s in pool %s at offset %#llx, detected by pid %u: %s",
			slab_error_name((enum slab_error)r->kind),
			r->cache_name[0] ? r->cache_name : "(unknown)",
			(unsigned long long)r->object, r->pid, r->detail);
}

struct reports_args {
	struct server *s;
	bool log;
};

static void reports_fn(void *arg)
{
	struct reports_args *x = arg;
	struct server *s = x->s;
	struct slab_report r[16];
	uint64_t not_logged = 0, now = mono_ms();
	uint32_t self = (uint32_t)getpid();
	int n;

	if (now - s->reports_window_ms >= REPORTS_WINDOW_MS) {
		s->reports_window_ms = now;
		s->reports_in_window = 0;
	}
	for (;;) {
		uint64_t from = s->reports_cursor;

		n = slab_reports(s->arena, r, (int)(sizeof(r) / sizeof(r[0])), &s->reports_cursor);
		/* tickets passed without a whole slot: overwritten, or being written */
		not_logged += s->reports_cursor - from - (uint64_t)n;
		for (int i = 0; x->log && i < n; i++) {
			if (r[i].pid == self && r[i].kind != SLAB_ERR_LEAK)
				continue;	/* slubd's validate: answered, not logged */
			if (s->reports_in_window >= SLUBD_REPORT_LOG_MAX) {
				not_logged++;
				continue;
			}
			s->reports_in_window++;
			log_report(&r[i]);
		}
		if (s->reports_cursor == from)
			break;
	}
	if (x->log && not_logged)
		log_msg("reports: %llu more not logged (at most %u lines a minute; slubctl reports "
			"lists the last %u)", (unsigned long long)not_logged, SLUBD_REPORT_LOG_MAX,
			SLUBD_MAX_REPORTS);
}

void reports_log(struct server *s, bool log)
{
	struct reports_args x = { s, log };

	pthread_mutex_lock(&s->reports_lock);
	if (s->arena && guarded(s, reports_fn, &x))
		log_msg("reports: the arena faulted while its reports were read");
	pthread_mutex_unlock(&s->reports_lock);
}
