/*
 * e2e_ctl.c - slubd control over ctl.h: stats, validate, slubctl (see e2e.h).
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/magic.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "e2e.h"
#include "e2e_int.h"

/* ---- stats and validate -------------------------------------------------- */

/* one request over a fresh connection; the response, or NULL with a failed check */
static Slubd__Response *call_once(const char *sock, Slubd__Request *req, const char *who,
				  const char *what)
{
	struct ctl_conn c;
	Slubd__Response *resp = NULL;
	char err[256] = "";
	int rc = ctl_connect(&c, sock, who, err, sizeof(err));

	if (rc) {
		CHECKF(0, "%s: connecting to slubd at %s: %s", what, sock, err);
		return NULL;
	}
	rc = ctl_call(&c, req, &resp, NULL, err, sizeof(err));
	ctl_close(&c);
	if (rc) {
		CHECKF(0, "%s: %s", what, err);
		return NULL;
	}
	return resp;
}

Slubd__Response *e2e_stats_call(const char *sock, const char *name, const char *who)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__StatsRequest sr = SLUBD__STATS_REQUEST__INIT;
	char what[96];

	snprintf(what, sizeof(what), "stats%s%.64s", name ? " " : "", name ? name : "");
	sr.name = (char *)name;
	req.body_case = SLUBD__REQUEST__BODY_STATS;
	req.stats = &sr;
	return call_once(sock, &req, who, what);
}

int e2e_backing_is_file(const char *backing, const char *path)
{
	size_t n = strlen(backing), m = strlen(path);
	const char *space;

	if (n <= m || strcmp(backing + n - m, path) || backing[n - m - 1] != ' ')
		return 0;
	if (!strncmp(backing, "tmpfs file ", 11))
		return n - m == 11;
	/* "file on FS PATH": one word of file system */
	space = strchr(backing + 8, ' ');
	return !strncmp(backing, "file on ", 8) && space == backing + n - m - 1;
}

int e2e_cache_stats(const char *sock, const char *name, struct e2e_cache *out,
		    struct e2e_arena *arena)
{
	Slubd__Response *resp = e2e_stats_call(sock, NULL, "e2e");
	int found = 0;

	if (!resp)
		return -1;
	if (resp->err || resp->body_case != SLUBD__RESPONSE__BODY_STATS) {
		CHECKF(0, "stats: err %d (%s), body %d", resp->err, resp->error ? resp->error : "",
		       (int)resp->body_case);
		slubd__response__free_unpacked(resp, NULL);
		return -1;
	}
	if (arena) {
		Slubd__StatsReply *s = resp->stats;

		memset(arena, 0, sizeof(*arena));
		arena->size = s->arena_size;
		arena->used = s->arena_used;
		arena->base = s->map_base;
		snprintf(arena->backing, sizeof(arena->backing), "%s", s->backing ? s->backing : "");
		arena->has_clients = s->has_clients;
		arena->clients = s->clients;
	}
	for (size_t i = 0; name && i < resp->stats->n_caches; i++) {
		Slubd__CacheStats *c = resp->stats->caches[i];

		if (strcmp(c->name, name))
			continue;
		CHECKF(!found, "stats: cache %s listed twice", name);
		found = 1;
		if (out) {
			memset(out, 0, sizeof(*out));
			snprintf(out->name, sizeof(out->name), "%s", c->name);
			out->object_size = c->object_size;
			out->size = c->size;
			out->active_objs = c->active_objs;
			out->num_objs = c->num_objs;
			out->active_slabs = c->active_slabs;
			out->num_slabs = c->num_slabs;
			out->refcount = c->refcount;
#define E2E_STAT_COPY(e, name, shown) out->name = c->name;
			SLAB_STAT_LIST(E2E_STAT_COPY)
#undef E2E_STAT_COPY
			out->errors = c->errors;
			out->system = c->system;
		}
	}
	slubd__response__free_unpacked(resp, NULL);
	return found;
}

int e2e_wait_listed(const char *sock, const char *name, int want, int timeout_ms,
		    struct e2e_cache *out)
{
	uint64_t deadline = t_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms);
	int r;

	while ((r = e2e_cache_stats(sock, name, out, NULL)) >= 0 && r != want &&
	       t_now_ms() < deadline)
		t_sleep_ms(10);
	return r;
}

int e2e_wait_refcount(const char *sock, const char *name, int32_t refcount, int timeout_ms,
		      struct e2e_cache *out)
{
	uint64_t deadline = t_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms);
	struct e2e_cache c;
	int r;

	for (;;) {
		r = e2e_cache_stats(sock, name, &c, NULL);
		if (r < 0)
			return 0;
		if (r == 1 && c.refcount == refcount)
			break;
		if (t_now_ms() >= deadline)
			break;
		t_sleep_ms(10);
	}
	if (out && r == 1)
		*out = c;
	return r == 1 && c.refcount == refcount;
}

int e2e_validate(const char *sock, const char *name, struct e2e_validate *v)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__ValidateRequest vr = SLUBD__VALIDATE_REQUEST__INIT;
	Slubd__Response *resp;

	memset(v, 0, sizeof(*v));
	vr.name = (char *)name;
	req.body_case = SLUBD__REQUEST__BODY_VALIDATE;
	req.validate = &vr;
	resp = call_once(sock, &req, "e2e", "validate");
	if (!resp)
		return -1;
	v->err = resp->err;
	if (resp->body_case == SLUBD__RESPONSE__BODY_VALIDATE) {
		Slubd__ValidateReply *r = resp->validate;

		v->caches = r->caches;
		v->slabs = r->slabs;
		v->objects = r->objects;
		v->allocated = r->allocated;
		v->free = r->free;
		v->errors = r->errors;
		snprintf(v->first_error, sizeof(v->first_error), "%s", r->first_error ? r->first_error : "");
	} else if (resp->err == 0) {
		CHECKF(0, "validate: a success without a ValidateReply (body %d)", (int)resp->body_case);
		slubd__response__free_unpacked(resp, NULL);
		return -1;
	} else {
		snprintf(v->first_error, sizeof(v->first_error), "%s", resp->error ? resp->error : "");
	}
	slubd__response__free_unpacked(resp, NULL);
	return 0;
}

int e2e_slubctl(const struct e2e_slubd *d, char **out, ...)
{
	const char *bin = e2e_need_bin("SLUBCTL", "slubctl");
	char *argv[32];
	int argc = 0, rc;
	va_list ap;

	if (out)
		*out = NULL;
	if (access(bin, X_OK))
		return -1;
	argv[argc++] = (char *)bin;
	argv[argc++] = "-s";
	argv[argc++] = (char *)d->sock;
	va_start(ap, out);
	for (char *a; argc < 31 && (a = va_arg(ap, char *));)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	rc = e2e_run(argv, out, 10000);
	return rc;
}
