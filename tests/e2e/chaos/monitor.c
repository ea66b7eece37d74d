/* monitor.c - the monitor of the report ring, stats over the socket (t_chaos); see chaos.h. */
#include "chaos.h"

/* ---- the monitor: the engine's reports ------------------------------------------- */

/*
 * A process that maps the arena (its file, next to the socket) without
 * attaching, and reads the engine's report ring: the leak reports of the
 * scrub (SLAB_ERR_LEAK, one per dead owner: "pid P died holding N objects")
 * go to sh->mon.rep; any other report (a double free, a corrupt free
 * pointer, ...) is a problem, but for validate's own, which the test reads
 * from validate itself.
 */
void monitor_main(void *arg)
{
	const char *path = arg;
	struct slab_report r[64];
	struct ch_mon *m = &sh->mon;
	struct arena *a = NULL;
	uint64_t cursor = 0;
	char err[256] = "";
	int fd, rc;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = open(path, O_RDWR | O_CLOEXEC);
	rc = fd < 0 ? -errno : arena_open(fd, &a, err, sizeof(err));
	if (fd >= 0)
		close(fd);
	if (rc) {
		t_problem(&sh->problems, "monitor: opening the arena %s: %d (%s) %s", path, rc, strerror(-rc), err);
		_exit(1);
	}
	__atomic_store_n(&m->up, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&m->stop, __ATOMIC_SEQ_CST)) {
		uint64_t before = cursor;
		int n = slab_reports(a, r, 64, &cursor);

		if (cursor - before > (uint64_t)n && before)
			m->lost += cursor - before - (uint64_t)n;
		for (int i = 0; i < n; i++) {
			unsigned int pid, objects;
			uint32_t k = !strcmp(r[i].cache_name, kind_name[K_USER]) ? K_USER :
				     !strcmp(r[i].cache_name, kind_name[K_DEBUG]) ? K_DEBUG :
				     !strcmp(r[i].cache_name, kind_name[K_RECLAIM]) ? K_RECLAIM : K_NONE;

			m->seen++;
			/* "pid P died holding N objects", or for the rest "processes died ..." */
			pid = 0;
			if (r[i].kind == SLAB_ERR_LEAK && k != K_NONE &&
			    (sscanf(r[i].detail, "pid %u died holding %u objects", &pid, &objects) == 2 ||
			     sscanf(r[i].detail, "processes died holding %u objects", &objects) == 1)) {
				/* a ring: the test takes them at each round, far fewer */
				m->rep[m->nrep % CH_MON_MAX] = (struct ch_report){ pid, objects, k,
							strstr(r[i].detail, "freed") != NULL };
				__atomic_store_n(&m->nrep, m->nrep + 1, __ATOMIC_RELEASE);
				continue;
			}
			if (!strncmp(r[i].detail, "validate: ", 10))
				continue;
			if (m->nmsg < CH_MON_MSGS)
				snprintf(m->msg[m->nmsg++], sizeof(m->msg[0]), "%s in %s, object %#llx, seen by "
					 "pid %u: %s", slab_error_name(r[i].kind), r[i].cache_name,
					 (unsigned long long)r[i].object, r[i].pid, r[i].detail);
			__atomic_add_fetch(&m->other, 1, __ATOMIC_SEQ_CST);
		}
		__atomic_add_fetch(&m->polls, 1, __ATOMIC_SEQ_CST);
		t_sleep_us(3000);
	}
	arena_close(a);
	_exit(0);
}

/* ---- the test: stats over the control socket -------------------------------------- */

/* one Stats request; 0, or -1 with a failed check */
int get_stats(struct ch_stats *out)
{
	Slubd__Response *resp = e2e_stats_call(sock_path, NULL, "t_chaos");

	memset(out, 0, sizeof(*out));
	if (!resp || resp->err || resp->body_case != SLUBD__RESPONSE__BODY_STATS) {
		CHECKF(!resp, "stats: err %d (%s), body %d", resp->err, resp->error ? resp->error : "",
		       (int)resp->body_case);
		if (resp)
			slubd__response__free_unpacked(resp, NULL);
		return -1;
	}
	out->arena_size = resp->stats->arena_size;
	out->arena_used = resp->stats->arena_used;
	for (size_t i = 0; i < resp->stats->n_caches; i++) {
		Slubd__CacheStats *cs = resp->stats->caches[i];
		int k = K_NONE;

		if (!strncmp(cs->name, "kmalloc-", 8))
			k = K_KMALLOC;
		for (int j = K_PLAIN; j <= K_RECLAIM; j++)
			if (!strcmp(cs->name, kind_name[j]))
				k = j;
		if (k == K_NONE)
			continue;
		out->listed[k] = 1;
		out->active[k] += cs->active_objs;
		out->errors[k] += cs->errors;
	}
	slubd__response__free_unpacked(resp, NULL);
	return 0;
}
