/*
 * t_limits.c - end-to-end tests of slubd's limits: per-pool caps on objects
 * and bytes (kmem_cache_set_limit, slubctl limit), and the daemon's own
 * max_clients and max_caches.  Caps count whole slabs, so each case works
 * out the exact figure from the pool's objs_per_slab (its pools have slabs
 * of one page, where the engine's preferred and minimal slabs are the same).
 *
 *   cap_objects          a cap of 3.5 slabs of objects allows exactly 3
 *                        slabs' worth, then EDQUOT (not ENOMEM); a free
 *                        makes room for one; all freed, the same count again
 *   cap_bytes            slubctl limit --bytes 20K (5 pages): exactly 5
 *                        slabs' worth, then EDQUOT; num_slabs 5
 *   cap_below_usage      a cap under what the pool holds frees nothing and
 *                        changes no object; growth stops (EDQUOT); freed
 *                        slots are reused; after a shrink the cap holds
 *   cap_bulk             kmem_cache_alloc_bulk past a cap: 0, errno EDQUOT,
 *                        nothing allocated; up to the cap it succeeds
 *   cap_remove           0 removes a cap (libslub and slubctl); a cap that
 *                        SetLimit does not name stays as it was
 *   cap_permission       another uid (65534) may not cap a pool root made
 *                        (libslub -EPERM, slubctl exit 1 naming the creator);
 *                        it may cap its own, and root may cap it too
 *   cap_survives_restart caps live in the arena: SIGTERM, a new slubd adopts
 *                        the arena and stats show them; allocation is still
 *                        capped; while slubd is down set_limit is -ENOTCONN,
 *                        and once it is back libslub reconnects by itself
 *   caps_shown           slubctl stats lists the capped pools under the
 *                        table (and only those), --json has max_objects and
 *                        max_bytes for every cache (0: none)
 *   limit_errors         -ENOTCONN before attach, -EINVAL for a bad cache;
 *                        slubctl limit: no such pool, the arena's own cache,
 *                        no cap given, a bad number, no slubd (exit 1, 1, 2,
 *                        2, 3); a SetLimit frame that names no cap is refused
 *                        by the decoder and slubd goes on serving
 *   max_clients_refused  past [limits] max_clients a connection is refused
 *                        with an error that names max_clients, while the
 *                        connections already open are served, and there is
 *                        room again once one closes
 *   max_caches_slubctl   past [limits] max_caches, slubctl create exits 1
 *                        naming max_caches, kmem_cache_create says ENOSPC
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "e2e.h"
#include "harness.h"
#include "slub.h"

#define OTHER	65534		/* nobody: the other uid of cap_permission */
#define OBJ	64		/* object size of the pools: slabs of one page */
#define PAGE	4096u
#define MAXOBJ	4096		/* more objects than any case allocates */

/* ---- helpers --------------------------------------------------------------------- */

/* a pool's figures and caps, from a Stats request of its own */
struct lim {
	uint64_t objs_per_slab, pages_per_slab, active_objs, num_objs, num_slabs;
	uint64_t max_objects, max_bytes;
	int has_caps;		/* slubd reported max_objects and max_bytes */
};

/* 1 listed (*l filled), 0 no such pool, -1 the call failed (a failed check) */
static int lim_stats(const char *sock, const char *name, struct lim *l)
{
	Slubd__Response *resp = e2e_stats_call(sock, name, "t_limits");
	int rc;

	if (!resp)
		return -1;
	if (!resp->err && resp->body_case == SLUBD__RESPONSE__BODY_STATS &&
	    resp->stats->n_caches == 1) {
		const Slubd__CacheStats *cs = resp->stats->caches[0];

		*l = (struct lim){ cs->objs_per_slab, cs->pages_per_slab, cs->active_objs,
				   cs->num_objs, cs->num_slabs, cs->max_objects, cs->max_bytes,
				   cs->has_max_objects && cs->has_max_bytes };
		rc = 1;
	} else {
		CHECKF(resp->err == ENOENT, "stats %s: err %d (%s)", name, resp->err,
		       resp->error ? resp->error : "");
		rc = resp->err == ENOENT ? 0 : -1;
	}
	slubd__response__free_unpacked(resp, NULL);
	return rc;
}

/* the pool's objects per slab; 0 with a failed check unless its slabs are one page */
static uint64_t per_slab(const char *sock, const char *name)
{
	struct lim l;

	if (lim_stats(sock, name, &l) != 1)
		return 0;
	CHECKF(l.pages_per_slab == 1 && l.objs_per_slab > 0 && l.objs_per_slab * 5 < MAXOBJ,
	       "%s: %llu pages and %llu objects per slab: the cases here need one-page slabs",
	       name, (unsigned long long)l.pages_per_slab, (unsigned long long)l.objs_per_slab);
	return l.pages_per_slab == 1 ? l.objs_per_slab : 0;
}

/*
 * allocate from s into o[*n...] until an allocation fails or max are held;
 * the errno of the failure (0 if none failed)
 */
static int fill(struct kmem_cache *s, void **o, int *n, int max)
{
	while (*n < max) {
		void *p;

		errno = 0;
		p = kmem_cache_alloc(s, GFP_KERNEL);
		if (!p)
			return errno ? errno : -1;
		memset(p, (*n & 0x7f) + 1, OBJ);
		o[(*n)++] = p;
	}
	return 0;
}

/* objects that no longer hold the pattern fill() wrote */
static int changed(void **o, int n)
{
	int bad = 0;

	for (int i = 0; i < n; i++)
		for (int b = 0; b < OBJ; b++)
			if (((unsigned char *)o[i])[b] != (unsigned char)((i & 0x7f) + 1)) {
				bad++;
				break;
			}
	return bad;
}

static void drain(struct kmem_cache *s, void **o, int *n)
{
	while (*n > 0)
		kmem_cache_free(s, o[--(*n)]);
}

static int has(const char *out, const char *needle)
{
	return out && strstr(out, needle);
}

static void check_clean(const struct e2e_slubd *d, const char *name)
{
	struct e2e_validate v;

	if (e2e_validate(d->sock, name, &v) == 0)
		CHECKF(v.err == 0 && v.errors == 0, "validate %s: err %d, %llu errors: %s", name,
		       v.err, (unsigned long long)v.errors, v.first_error);
}

/*
 * start slubd again on d's socket and its default arena file (next to the
 * socket), its output appended to d's log; 0 once it answers a Hello
 */
static int restart(struct e2e_slubd *d)
{
	const char *bin = e2e_need_bin("SLUBD", "slubd");
	uint64_t deadline = t_now_ms() + E2E_START_TIMEOUT_MS;
	char err[256] = "";
	pid_t pid;

	if (access(bin, X_OK) || d->pid)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(d->log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(bin, bin, "--foreground", "--socket", d->sock, "--arena-size", "64M",
		      "--hugepages", "off", (char *)NULL);
		_exit(127);
	}
	d->pid = pid;	/* the case's cleanup kills it whatever happens */
	while (t_now_ms() < deadline) {
		struct ctl_conn c;
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			d->pid = 0;
			CHECKF(0, "slubd, started again, exited: %s", t_status_str(status, err, sizeof(err)));
			e2e_show_log(d, 20);
			return -1;
		}
		if (ctl_connect(&c, d->sock, "t_limits", err, sizeof(err)) == 0) {
			ctl_close(&c);
			return 0;
		}
		t_sleep_ms(5);
	}
	CHECKF(0, "slubd, started again, did not answer within %d ms: %s", E2E_START_TIMEOUT_MS, err);
	return -1;
}

/* ---- caps ------------------------------------------------------------------------ */

/*
 * the cases' start: a slubd, this process attached, a pool called name of
 * OBJ-byte objects; *ops its objects per slab.  NULL after a failed check.
 */
static struct e2e_slubd *lim_start(const char *name, struct kmem_cache **s, uint64_t *ops)
{
	struct e2e_slubd *d = e2e_start(NULL);

	CHECK(d != NULL);
	if (!d)
		return NULL;
	CHECK(slub_attach(d->sock) == 0);
	*s = t_failed ? NULL : kmem_cache_create(name, OBJ, 0, 0, NULL);
	CHECKF(*s != NULL, "kmem_cache_create(%s): %s", name, strerror(errno));
	*ops = *s ? per_slab(d->sock, name) : 0;
	CHECK(*ops > 0);
	return t_failed ? NULL : d;
}

E2E_CASE(cap_objects)
{
	static void *o[MAXOBJ];
	struct e2e_slubd *d;
	struct kmem_cache *s;
	struct lim l;
	uint64_t ops, cap, want;
	int n = 0, e;

	d = lim_start("lim.obj", &s, &ops);
	REQUIRE(d != NULL);
	cap = 3 * ops + ops / 2;	/* half a slab more than 3: that half is never given */
	want = 3 * ops;
	REQUIRE(kmem_cache_set_limit(s, cap, 0) == 0);
	REQUIRE(lim_stats(d->sock, "lim.obj", &l) == 1);
	CHECKF(l.has_caps && l.max_objects == cap && l.max_bytes == 0,
	       "stats after set_limit(%llu, 0): max_objects %llu max_bytes %llu", (unsigned long long)cap,
	       (unsigned long long)l.max_objects, (unsigned long long)l.max_bytes);

	e = fill(s, o, &n, MAXOBJ);
	CHECKF(n == (int)want, "max_objects %llu, %llu per slab: %d objects allocated, want exactly %llu",
	       (unsigned long long)cap, (unsigned long long)ops, n, (unsigned long long)want);
	CHECKF(e == EDQUOT, "the allocation past the cap failed with %s, want EDQUOT", strerror(e));
	errno = 0;
	CHECK(kmem_cache_zalloc(s, GFP_KERNEL) == NULL && errno == EDQUOT);
	REQUIRE(lim_stats(d->sock, "lim.obj", &l) == 1);
	CHECKF(l.active_objs == want && l.num_objs == want && l.num_objs <= cap,
	       "at the cap: active_objs %llu num_objs %llu, want %llu (max_objects %llu)",
	       (unsigned long long)l.active_objs, (unsigned long long)l.num_objs,
	       (unsigned long long)want, (unsigned long long)cap);

	/* a free makes room for exactly one */
	REQUIRE(n > 0);
	kmem_cache_free(s, o[--n]);
	e = fill(s, o, &n, MAXOBJ);
	CHECKF(n == (int)want && e == EDQUOT, "after one free: %d objects (want %llu), then %s",
	       n, (unsigned long long)want, strerror(e));
	CHECK(changed(o, n) == 0);

	/* all freed: the same count again, never more */
	drain(s, o, &n);
	e = fill(s, o, &n, MAXOBJ);
	CHECKF(n == (int)want && e == EDQUOT, "after freeing all: %d objects (want %llu), then %s",
	       n, (unsigned long long)want, strerror(e));
	drain(s, o, &n);
	check_clean(d, "lim.obj");
	slub_detach();
	e2e_stop(d);
}

E2E_CASE(cap_bytes)
{
	static void *o[MAXOBJ];
	struct e2e_slubd *d;
	struct kmem_cache *s;
	struct lim l;
	uint64_t ops;
	char *out = NULL;
	int n = 0, e, rc;

	d = lim_start("lim.bytes", &s, &ops);
	REQUIRE(d != NULL);
	rc = e2e_slubctl(d, &out, "limit", "lim.bytes", "--bytes", "20K", NULL);
	CHECKF(rc == 0 && has(out, "max_bytes 20480 (20.0 KiB)") && has(out, "max_objects none"),
	       "slubctl limit lim.bytes --bytes 20K: exit %d:\n%s", rc, out ? out : "");
	free(out);

	e = fill(s, o, &n, MAXOBJ);
	CHECKF(n == (int)(5 * ops), "max_bytes 5 pages, %llu objects per one-page slab: %d objects, "
	       "want exactly %llu", (unsigned long long)ops, n, (unsigned long long)(5 * ops));
	CHECKF(e == EDQUOT, "the allocation past the byte cap failed with %s, want EDQUOT",
	       strerror(e));
	REQUIRE(lim_stats(d->sock, "lim.bytes", &l) == 1);
	CHECKF(l.num_slabs == 5 && l.max_bytes == 20480 && l.max_objects == 0,
	       "num_slabs %llu (want 5), max_bytes %llu, max_objects %llu",
	       (unsigned long long)l.num_slabs, (unsigned long long)l.max_bytes,
	       (unsigned long long)l.max_objects);
	kmem_cache_free(s, o[--n]);
	e = fill(s, o, &n, MAXOBJ);
	CHECKF(n == (int)(5 * ops) && e == EDQUOT, "after one free: %d objects, then %s", n,
	       strerror(e));
	drain(s, o, &n);
	check_clean(d, "lim.bytes");
	slub_detach();
	e2e_stop(d);
}

E2E_CASE(cap_below_usage)
{
	static void *o[MAXOBJ];
	struct e2e_slubd *d;
	struct kmem_cache *s;
	struct lim before, l;
	uint64_t ops;
	char cap[32], *out = NULL;
	int n = 0, e, rc;

	d = lim_start("lim.below", &s, &ops);
	REQUIRE(d != NULL);
	REQUIRE(fill(s, o, &n, (int)(5 * ops)) == 0);
	REQUIRE(lim_stats(d->sock, "lim.below", &before) == 1);
	CHECK(before.num_slabs == 5 && before.active_objs == 5 * ops);

	/* a cap of 2 slabs under 5 slabs in use */
	snprintf(cap, sizeof(cap), "%llu", (unsigned long long)(2 * ops));
	rc = e2e_slubctl(d, &out, "limit", "lim.below", "--objects", cap, NULL);
	CHECKF(rc == 0 && has(out, "above max_objects") && has(out, "stops growing"),
	       "slubctl limit under the pool's use: exit %d:\n%s", rc, out ? out : "");
	free(out);
	REQUIRE(lim_stats(d->sock, "lim.below", &l) == 1);
	CHECKF(l.num_slabs == before.num_slabs && l.active_objs == before.active_objs &&
	       l.num_objs == before.num_objs,
	       "a cap under the use freed something: slabs %llu -> %llu, active_objs %llu -> %llu",
	       (unsigned long long)before.num_slabs, (unsigned long long)l.num_slabs,
	       (unsigned long long)before.active_objs, (unsigned long long)l.active_objs);
	CHECKF(changed(o, n) == 0, "%d objects changed when the cap was set", changed(o, n));
	errno = 0;
	CHECKF(kmem_cache_alloc(s, GFP_KERNEL) == NULL && errno == EDQUOT,
	       "an allocation that needs a 6th slab under a cap of 2: errno %s", strerror(errno));

	/* the slots it has are still used: free 10, allocate 10 */
	for (int i = 0; i < 10; i++)
		kmem_cache_free(s, o[--n]);
	e = fill(s, o, &n, MAXOBJ);
	CHECKF(n == (int)(5 * ops) && e == EDQUOT, "freed slots under the cap: %d objects (want %llu), "
	       "then %s", n, (unsigned long long)(5 * ops), strerror(e));
	CHECK(changed(o, n) == 0);

	/* all freed and shrunk: the cap holds */
	drain(s, o, &n);
	CHECK(kmem_cache_shrink(s) == 0);
	e = fill(s, o, &n, MAXOBJ);
	CHECKF(n == (int)(2 * ops) && e == EDQUOT, "after a shrink: %d objects (want %llu), then %s",
	       n, (unsigned long long)(2 * ops), strerror(e));
	drain(s, o, &n);
	check_clean(d, "lim.below");
	slub_detach();
	e2e_stop(d);
}

E2E_CASE(cap_bulk)
{
	static void *o[MAXOBJ], *more[MAXOBJ];
	struct e2e_slubd *d;
	struct kmem_cache *s;
	struct lim l;
	uint64_t ops;
	int rc;

	d = lim_start("lim.bulk", &s, &ops);
	REQUIRE(d != NULL);
	REQUIRE(kmem_cache_set_limit(s, 2 * ops, 0) == 0);
	REQUIRE(kmem_cache_alloc_bulk(s, GFP_KERNEL, ops, o) == (int)ops);
	errno = 0;
	rc = kmem_cache_alloc_bulk(s, GFP_KERNEL, 2 * ops, more);
	CHECKF(rc == 0 && errno == EDQUOT, "bulk of %llu past a cap of %llu (%llu held): %d, errno %s, "
	       "want 0 and EDQUOT", (unsigned long long)(2 * ops), (unsigned long long)(2 * ops),
	       (unsigned long long)ops, rc, strerror(errno));
	REQUIRE(lim_stats(d->sock, "lim.bulk", &l) == 1);
	CHECKF(l.active_objs == ops, "a failed bulk left %llu objects allocated, want %llu",
	       (unsigned long long)l.active_objs, (unsigned long long)ops);
	if (rc)
		kmem_cache_free_bulk(s, (size_t)rc, more);
	CHECK(kmem_cache_alloc_bulk(s, GFP_KERNEL, ops, o + ops) == (int)ops);
	errno = 0;
	CHECK(kmem_cache_alloc_bulk(s, GFP_KERNEL, 1, more) == 0 && errno == EDQUOT);
	kmem_cache_free_bulk(s, 2 * ops, o);
	check_clean(d, "lim.bulk");
	slub_detach();
	e2e_stop(d);
}

E2E_CASE(cap_remove)
{
	static void *o[MAXOBJ];
	struct e2e_slubd *d;
	struct kmem_cache *s;
	struct lim l;
	uint64_t ops;
	char *out = NULL;
	int n = 0, e, rc;

	d = lim_start("lim.rm", &s, &ops);
	REQUIRE(d != NULL);

	/* libslub: set, then 0 lifts it */
	REQUIRE(kmem_cache_set_limit(s, ops, 0) == 0);
	e = fill(s, o, &n, MAXOBJ);
	CHECKF(n == (int)ops && e == EDQUOT, "max_objects %llu: %d objects, then %s",
	       (unsigned long long)ops, n, strerror(e));
	REQUIRE(kmem_cache_set_limit(s, 0, 0) == 0);
	e = fill(s, o, &n, (int)(4 * ops));
	CHECKF(n == (int)(4 * ops) && e == 0, "the cap removed: %d objects of %llu, %s", n,
	       (unsigned long long)(4 * ops), strerror(e));
	drain(s, o, &n);
	CHECK(kmem_cache_shrink(s) == 0);

	/* slubctl: both caps, then --objects 0 lifts one and leaves the other */
	rc = e2e_slubctl(d, &out, "limit", "lim.rm", "--objects", "1", "--bytes", "0x2000", NULL);
	CHECKF(rc == 0, "slubctl limit --objects 1 --bytes 0x2000: exit %d:\n%s", rc, out ? out : "");
	free(out);
	REQUIRE(lim_stats(d->sock, "lim.rm", &l) == 1);
	CHECK(l.max_objects == 1 && l.max_bytes == 8192);
	errno = 0;
	CHECKF(kmem_cache_alloc(s, GFP_KERNEL) == NULL && errno == EDQUOT,
	       "max_objects 1 under one slab of %llu objects: errno %s", (unsigned long long)ops,
	       strerror(errno));
	rc = e2e_slubctl(d, &out, "limit", "lim.rm", "--objects", "0", NULL);
	CHECKF(rc == 0 && has(out, "max_objects none") && has(out, "max_bytes 8192"),
	       "slubctl limit --objects 0: exit %d:\n%s", rc, out ? out : "");
	free(out);
	REQUIRE(lim_stats(d->sock, "lim.rm", &l) == 1);
	CHECKF(l.max_objects == 0 && l.max_bytes == 8192, "after --objects 0: max_objects %llu "
	       "max_bytes %llu (want 0 and 8192 kept)", (unsigned long long)l.max_objects,
	       (unsigned long long)l.max_bytes);
	e = fill(s, o, &n, MAXOBJ);
	CHECKF(n == (int)(2 * ops) && e == EDQUOT, "max_bytes 2 pages left: %d objects (want %llu), "
	       "then %s", n, (unsigned long long)(2 * ops), strerror(e));
	rc = e2e_slubctl(d, &out, "limit", "lim.rm", "--bytes", "0", NULL);
	CHECKF(rc == 0 && has(out, "max_objects none, max_bytes none"),
	       "slubctl limit --bytes 0: exit %d:\n%s", rc, out ? out : "");
	free(out);
	e = fill(s, o, &n, (int)(4 * ops));
	CHECKF(n == (int)(4 * ops) && e == 0, "no cap left: %d objects of %llu, %s", n,
	       (unsigned long long)(4 * ops), strerror(e));
	drain(s, o, &n);
	slub_detach();
	e2e_stop(d);
}

/* ---- who may --------------------------------------------------------------------- */

struct perm_arg {
	const struct e2e_slubd *d;
};

/* copy the program at src into dir, mode 0755; its path in out */
static int copy_exec(const char *src, const char *dir, char *out, size_t len)
{
	char buf[1 << 16];
	int in, fd, rc = 0;
	ssize_t n;

	snprintf(out, len, "%s/slubctl", dir);
	in = open(src, O_RDONLY | O_CLOEXEC);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	CHECKF(in >= 0 && fd >= 0, "copying %s to %s: %s", src, out, strerror(errno));
	while (in >= 0 && fd >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
		if (write(fd, buf, (size_t)n) != n)
			rc = -1;
	if (in < 0 || fd < 0 || fchmod(fd, 0755))
		rc = -1;
	if (in >= 0)
		close(in);
	if (fd >= 0 && close(fd))
		rc = -1;
	return rc;
}

/* as uid 65534: root's pool refused (libslub and slubctl), its own allowed */
static void perm_child(void *arg)
{
	const struct perm_arg *pa = arg;
	struct kmem_cache *s;
	char *out = NULL;
	int rc;

	REQUIRE(setgroups(0, NULL) == 0 && setgid(OTHER) == 0 && setuid(OTHER) == 0);
	REQUIRE(slub_attach(pa->d->sock) == 0);
	s = kmem_cache_create("lim.root", OBJ, 0, 0, NULL);	/* opening it is allowed */
	REQUIRE(s != NULL);
	rc = kmem_cache_set_limit(s, 10, 0);
	CHECKF(rc == -EPERM, "uid %d capping root's pool through libslub: %d (%s), want -EPERM",
	       OTHER, rc, strerror(-rc));
	kmem_cache_destroy(s);
	slub_detach();

	rc = e2e_slubctl(pa->d, &out, "limit", "lim.root", "--objects", "10", NULL);
	/* slubd's reason alone, no errno text after it (slubctl(8)) */
	CHECKF(rc == 1 && has(out, "only its creator (uid 0) or root") &&
	       !has(out, "Operation not permitted") && has(out, "you are uid 65534"),
	       "uid %d: slubctl limit of root's pool: exit %d (want 1, slubd's reason):\n%s", OTHER,
	       rc, out ? out : "");
	free(out);

	rc = e2e_slubctl(pa->d, &out, "create", "lim.nobody", "64", "--max-objects", "256", NULL);
	CHECKF(rc == 0 && has(out, "max_objects 256"), "uid %d: slubctl create --max-objects of "
	       "its own pool: exit %d:\n%s", OTHER, rc, out ? out : "");
	free(out);
}

E2E_CASE(cap_permission)
{
	static char why[128];
	struct e2e_opts o = {
		.config = "[access]\nsocket_mode = 0666\nallow_uids = 0 65534\n",
		.open_dir = 1,
	};
	struct perm_arg pa;
	struct e2e_slubd *d;
	struct lim l;
	char *out = NULL, bin[200];
	int rc;

	if (geteuid() != 0) {
		snprintf(why, sizeof(why), "needs root to run a client as uid %d (running as uid %u)",
			 OTHER, (unsigned)geteuid());
		SKIP(why);
	}
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	/*
	 * the other uid runs a copy of slubctl in the case's directory (0711): the
	 * build tree may be closed to it, and /proc/self/exe is once it changed uid
	 */
	REQUIRE(copy_exec(e2e_need_bin("SLUBCTL", "slubctl"), d->dir, bin, sizeof(bin)) == 0);
	REQUIRE(setenv("SLUBCTL", bin, 1) == 0);
	rc = e2e_slubctl(d, &out, "create", "lim.root", "64", NULL);
	CHECKF(rc == 0, "slubctl create lim.root: exit %d:\n%s", rc, out ? out : "");
	free(out);
	pa.d = d;
	REQUIRE(t_wait(t_fork(perm_child, &pa), "the other uid's client"));
	REQUIRE(lim_stats(d->sock, "lim.root", &l) == 1);
	CHECKF(l.max_objects == 0 && l.max_bytes == 0, "a refused cap is in force: max_objects %llu",
	       (unsigned long long)l.max_objects);
	REQUIRE(lim_stats(d->sock, "lim.nobody", &l) == 1);
	CHECK(l.max_objects == 256);
	/* root may cap any pool */
	rc = e2e_slubctl(d, &out, "limit", "lim.nobody", "--objects", "512", "--bytes", "1M", NULL);
	CHECKF(rc == 0 && has(out, "max_objects 512") && has(out, "max_bytes 1048576 (1.0 MiB)"),
	       "root capping uid %d's pool: exit %d:\n%s", OTHER, rc, out ? out : "");
	free(out);
	rc = e2e_slubctl(d, &out, "limit", "lim.root", "--objects", "100", NULL);
	CHECKF(rc == 0, "root capping its own pool: exit %d:\n%s", rc, out ? out : "");
	free(out);
	e2e_stop(d);
}

/* ---- a restart -------------------------------------------------------------------- */

E2E_CASE(cap_survives_restart)
{
	static void *o[MAXOBJ];
	struct e2e_slubd *d;
	struct kmem_cache *s;
	struct lim l;
	uint64_t ops, v = 0;
	char *out = NULL;
	int n = 0, e, rc;

	d = lim_start("lim.keep", &s, &ops);
	REQUIRE(d != NULL);
	REQUIRE(kmem_cache_set_limit(s, 3 * ops, 8 * PAGE) == 0);
	e = fill(s, o, &n, MAXOBJ);
	CHECKF(n == (int)(3 * ops) && e == EDQUOT, "before the restart: %d objects, then %s", n,
	       strerror(e));

	e2e_stop(d);
	REQUIRE(!t_failed);
	/* slubd down: the cap is the arena's, and set_limit needs slubd */
	errno = 0;
	CHECKF(kmem_cache_alloc(s, GFP_KERNEL) == NULL && errno == EDQUOT,
	       "slubd down: an allocation past the cap: errno %s", strerror(errno));
	rc = kmem_cache_set_limit(s, 0, 0);
	CHECKF(rc == -ENOTCONN, "set_limit while slubd is down: %d (%s), want -ENOTCONN", rc,
	       strerror(-rc));

	REQUIRE(restart(d) == 0);
	REQUIRE(lim_stats(d->sock, "lim.keep", &l) == 1);
	CHECKF(l.max_objects == 3 * ops && l.max_bytes == 8 * PAGE,
	       "after the restart: max_objects %llu max_bytes %llu, want %llu and %u",
	       (unsigned long long)l.max_objects, (unsigned long long)l.max_bytes,
	       (unsigned long long)(3 * ops), 8 * PAGE);
	rc = e2e_slubctl(d, &out, "stats", "--json", NULL);
	CHECKF(rc == 0 && e2e_json_cache_num(out, "lim.keep", "max_objects", &v) == 0 &&
	       v == 3 * ops, "slubctl stats --json after the restart: exit %d, max_objects %llu:\n%s",
	       rc, (unsigned long long)v, out ? out : "");
	free(out);
	errno = 0;
	CHECKF(kmem_cache_alloc(s, GFP_KERNEL) == NULL && errno == EDQUOT,
	       "after the restart: an allocation past the cap: errno %s", strerror(errno));
	/* libslub's connection died with the old slubd: it reconnects and retries */
	rc = kmem_cache_set_limit(s, 4 * ops, 0);
	CHECKF(rc == 0, "set_limit through the new slubd: %d (%s)", rc, strerror(-rc));
	e = fill(s, o, &n, MAXOBJ);
	CHECKF(n == (int)(4 * ops) && e == EDQUOT, "the cap raised after the restart: %d objects "
	       "(want %llu), then %s", n, (unsigned long long)(4 * ops), strerror(e));
	drain(s, o, &n);
	check_clean(d, NULL);
	slub_detach();
	e2e_stop(d);
}

/* ---- what slubctl shows ------------------------------------------------------------ */

E2E_CASE(caps_shown)
{
	struct e2e_slubd *d = e2e_start(NULL);
	char *out = NULL, *caps;
	uint64_t v;
	int rc;

	REQUIRE(d != NULL);
	rc = e2e_slubctl(d, &out, "create", "lim.a", "64", "--max-objects", "1000", NULL);
	CHECKF(rc == 0 && has(out, "created pool lim.a") && has(out, "max_objects 1000, max_bytes none"),
	       "slubctl create --max-objects: exit %d:\n%s", rc, out ? out : "");
	free(out);
	rc = e2e_slubctl(d, &out, "create", "lim.b", "100", "--max-bytes", "2M", NULL);
	CHECKF(rc == 0 && has(out, "max_bytes 2097152 (2.0 MiB)"),
	       "slubctl create --max-bytes 2M: exit %d:\n%s", rc, out ? out : "");
	free(out);
	rc = e2e_slubctl(d, &out, "create", "lim.free", "64", NULL);
	CHECK(rc == 0);
	free(out);

	rc = e2e_slubctl(d, &out, "stats", NULL);
	REQUIRE(rc == 0 && out);
	caps = strstr(out, "\ncaps ");
	CHECKF(caps && has(caps, "lim.a  max_objects 1000, max_bytes none; num_objs 0") &&
	       has(caps, "lim.b  max_objects none, max_bytes 2097152 (2.0 MiB)") &&
	       !has(caps, "lim.free") && !has(caps, "kmalloc"),
	       "slubctl stats: the capped pools, and only those, under the table:\n%s", out);
	free(out);

	rc = e2e_slubctl(d, &out, "stats", "--json", NULL);
	REQUIRE(rc == 0 && out);
	CHECK(e2e_json_cache_num(out, "lim.a", "max_objects", &v) == 0 && v == 1000);
	CHECK(e2e_json_cache_num(out, "lim.a", "max_bytes", &v) == 0 && v == 0);
	CHECK(e2e_json_cache_num(out, "lim.b", "max_bytes", &v) == 0 && v == 2u << 20);
	CHECK(e2e_json_cache_num(out, "lim.free", "max_objects", &v) == 0 && v == 0);
	CHECK(e2e_json_cache_num(out, "kmalloc-64", "max_bytes", &v) == 0 && v == 0);
	free(out);

	/* one pool's stats, table and JSON */
	rc = e2e_slubctl(d, &out, "stats", "lim.free", NULL);
	CHECKF(rc == 0 && !has(out, "\ncaps "), "stats of an uncapped pool shows caps:\n%s",
	       out ? out : "");
	free(out);
	e2e_stop(d);
}

/* ---- errors ------------------------------------------------------------------------- */

E2E_CASE(limit_errors)
{
	struct e2e_slubd *d;
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__SetLimitRequest lr = SLUBD__SET_LIMIT_REQUEST__INIT;
	Slubd__Response *resp = NULL;
	struct kmem_cache *s;
	char *out = NULL, nosock[200];
	void *km;
	int fd, rc;

	/* not attached */
	rc = kmem_cache_set_limit((struct kmem_cache *)&rc, 1, 1);
	CHECKF(rc == -ENOTCONN, "set_limit before attach: %d, want -ENOTCONN", rc);

	d = e2e_start(NULL);
	REQUIRE(d != NULL);
	REQUIRE(slub_attach(d->sock) == 0);
	s = kmem_cache_create("lim.err", OBJ, 0, 0, NULL);
	REQUIRE(s != NULL);
	km = kmalloc(64, GFP_KERNEL);
	REQUIRE(km != NULL);
	CHECK(kmem_cache_set_limit(NULL, 1, 1) == -EINVAL);
	rc = kmem_cache_set_limit((struct kmem_cache *)km, 1, 1);
	CHECKF(rc == -EINVAL, "set_limit of a kmalloc'ed object as a cache: %d, want -EINVAL", rc);
	kfree(km);

	rc = e2e_slubctl(d, &out, "limit", "lim.none", "--objects", "5", NULL);
	CHECKF(rc == 1 && has(out, "no such pool"), "limit of no pool: exit %d:\n%s", rc, out ? out : "");
	free(out);
	rc = e2e_slubctl(d, &out, "limit", "kmalloc-64", "--bytes", "1M", NULL);
	/* a reserved name: refused by slubctl before it asks (exit 2) */
	CHECKF(rc == 2 && has(out, "'kmalloc-64' is reserved") && has(out, "never destroyed nor capped"),
	       "limit of kmalloc-64: exit %d:\n%s", rc, out ? out : "");
	free(out);
	rc = e2e_slubctl(d, &out, "limit", "lim.err", NULL);
	CHECKF(rc == 2 && has(out, "no cap given"), "limit with no cap: exit %d:\n%s", rc, out ? out : "");
	free(out);
	rc = e2e_slubctl(d, &out, "limit", "lim.err", "--bytes", "12Q", NULL);
	CHECKF(rc == 2 && has(out, "--bytes: bad number '12Q'"), "limit --bytes 12Q: exit %d:\n%s", rc,
	       out ? out : "");
	free(out);
	rc = e2e_slubctl(d, &out, "limit", "lim.err", "--objects", "1K", NULL);
	CHECKF(rc == 2 && has(out, "--objects: bad count"), "limit --objects 1K: exit %d:\n%s", rc,
	       out ? out : "");
	free(out);
	rc = e2e_slubctl(d, &out, "create", "lim.err2", "64", "--max-bytes", "-1", NULL);
	CHECKF(rc == 2 && has(out, "--max-bytes: bad number"), "create --max-bytes -1: exit %d:\n%s",
	       rc, out ? out : "");
	free(out);
	CHECKF(e2e_wait_listed(d->sock, "lim.err2", 0, 0, NULL) == 0,
	       "a usage error of create made the pool anyway");
	{
		const char *bin = e2e_need_bin("SLUBCTL", "slubctl");
		char *argv[] = { (char *)bin, "-s", nosock, "limit", "lim.err", "--objects", "1", NULL };

		snprintf(nosock, sizeof(nosock), "%s/none.sock", d->dir);
		rc = e2e_run(argv, &out, 10000);
		CHECKF(rc == 3, "limit with no slubd: exit %d:\n%s", rc, out ? out : "");
		free(out);
	}

	/* a SetLimit that names no cap: the decoder refuses it, slubd goes on */
	fd = e2e_raw_connect(d->sock);
	REQUIRE(fd >= 0);
	{
		Slubd__Hello h = SLUBD__HELLO__INIT;

		h.version = SLUBD_PROTOCOL_VERSION;
		req.id = 1;
		req.body_case = SLUBD__REQUEST__BODY_HELLO;
		req.hello = &h;
		REQUIRE(e2e_send_req(fd, &req) == 0);
		REQUIRE(e2e_recv(fd, 5000, &resp, NULL) == 1);
		CHECK(resp->err == 0);
		slubd__response__free_unpacked(resp, NULL);
	}
	lr.name = "lim.err";
	req.id = 2;
	req.body_case = SLUBD__REQUEST__BODY_SET_LIMIT;
	req.set_limit = &lr;
	REQUIRE(e2e_send_req(fd, &req) == 0);
	rc = e2e_recv(fd, 5000, &resp, NULL);
	CHECKF(rc == 1 && resp->err == EBADMSG && resp->error &&
	       strstr(resp->error, "neither max_objects nor max_bytes"),
	       "a SetLimit with no cap: %d, err %d (%s)", rc, rc == 1 ? resp->err : 0,
	       rc == 1 && resp->error ? resp->error : "");
	if (rc == 1)
		slubd__response__free_unpacked(resp, NULL);
	e2e_expect_closed(fd, 5000, "after a SetLimit with no cap");
	close(fd);
	CHECK(kmem_cache_set_limit(s, 7, 0) == 0);
	e2e_alive(d, "after a SetLimit with no cap");
	slub_detach();
	e2e_stop(d);
}

/* ---- the daemon's limits -------------------------------------------------------------- */

/* a stats request on an open connection: 1 answered */
static int served(struct ctl_conn *c)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__StatsRequest sr = SLUBD__STATS_REQUEST__INIT;
	Slubd__Response *resp;
	char err[256];
	int ok;

	req.body_case = SLUBD__REQUEST__BODY_STATS;
	req.stats = &sr;
	if (ctl_call(c, &req, &resp, NULL, err, sizeof(err)))
		return 0;
	ok = resp->err == 0 && resp->body_case == SLUBD__RESPONSE__BODY_STATS;
	slubd__response__free_unpacked(resp, NULL);
	return ok;
}

E2E_CASE(max_clients_refused)
{
	struct e2e_opts o = { .config = "[limits]\nmax_clients = 3\n" };
	struct e2e_slubd *d = e2e_start(&o);
	struct ctl_conn c[3], x;
	char err[256], *out = NULL;
	int n = 0, rc;

	REQUIRE(d != NULL);
	for (int i = 0; i < 3; i++) {
		uint64_t deadline = t_now_ms() + 3000;

		/* e2e_start's own probe may still be counted for a moment */
		while ((rc = ctl_connect(&c[i], d->sock, "t_limits", err, sizeof(err))) != 0 &&
		       t_now_ms() < deadline)
			t_sleep_ms(10);
		CHECKF(rc == 0, "connection %d of max_clients 3: %s", i + 1, err);
		n += rc == 0;
	}
	REQUIRE(n == 3);
	for (int i = 0; i < 3; i++)
		CHECKF(served(&c[i]), "connection %d of 3 not served", i + 1);

	/* a fourth: refused, and told why */
	rc = ctl_connect(&x, d->sock, "t_limits", err, sizeof(err));
	CHECKF(rc != 0 && strstr(err, "max_clients"), "a 4th connection with max_clients = 3: %d, "
	       "\"%s\" (want a refusal that names max_clients)", rc, rc ? err : "served");
	if (rc == 0)
		ctl_close(&x);
	rc = e2e_slubctl(d, &out, "stats", NULL);
	CHECKF(rc == 3 && has(out, "max_clients"), "slubctl past max_clients: exit %d (want 3 and "
	       "an error naming max_clients):\n%s", rc, out ? out : "");
	free(out);
	rc = slub_attach(d->sock);
	CHECKF(rc != 0, "slub_attach past max_clients: %d", rc);
	if (rc == 0)
		slub_detach();
	/* those already connected are served all along */
	for (int i = 0; i < 3; i++)
		CHECKF(served(&c[i]), "connection %d of 3 not served after the refusals", i + 1);

	/* one closes: there is room again */
	ctl_close(&c[2]);
	{
		uint64_t deadline = t_now_ms() + 3000;

		while ((rc = e2e_slubctl(d, &out, "stats", NULL)) != 0 && t_now_ms() < deadline) {
			free(out);
			out = NULL;
			t_sleep_ms(20);
		}
		CHECKF(rc == 0, "no room 3 s after a connection closed: exit %d:\n%s", rc, out ? out : "");
		free(out);
	}
	ctl_close(&c[0]);
	ctl_close(&c[1]);
	e2e_stop(d);
}

E2E_CASE(max_caches_slubctl)
{
	struct e2e_opts o = { .config = "[limits]\nmax_caches = 2\n" };
	struct e2e_slubd *d = e2e_start(&o);
	char *out = NULL;
	int rc;

	REQUIRE(d != NULL);
	CHECK(e2e_slubctl(d, NULL, "create", "lim.c1", "32", NULL) == 0);
	CHECK(e2e_slubctl(d, NULL, "create", "lim.c2", "32", NULL) == 0);
	rc = e2e_slubctl(d, &out, "create", "lim.c3", "32", NULL);
	CHECKF(rc == 1 && has(out, "max_caches") && !has(out, "No space left on device"),
	       "a 3rd pool with max_caches = 2: exit %d:\n%s", rc, out ? out : "");
	free(out);
	/* opening one that exists is no new pool */
	CHECK(e2e_slubctl(d, NULL, "create", "lim.c1", "32", NULL) == 0);
	REQUIRE(slub_attach(d->sock) == 0);
	errno = 0;
	CHECK(kmem_cache_create("lim.c4", 32, 0, 0, NULL) == NULL && errno == ENOSPC);
	CHECK(kmem_cache_create("lim.c2", 32, 0, 0, NULL) != NULL);
	slub_detach();
	e2e_stop(d);
}

T_MAIN(T_CASE(cap_objects), T_CASE(cap_bytes), T_CASE(cap_below_usage), T_CASE(cap_bulk),
       T_CASE(cap_remove), T_CASE(cap_permission), T_CASE(cap_survives_restart),
       T_CASE(caps_shown), T_CASE(limit_errors), T_CASE(max_clients_refused),
       T_CASE(max_caches_slubctl))
