/*
 * t_ctl.c - slubctl's arguments, messages and exit statuses (issue 12).
 *
 *   usage_errors     each bad argument: exit 2, a message naming the exact
 *                    limit, and nothing sent: slubctl points at a socket this
 *                    test listens on, and no connection ever arrives (a good
 *                    command does connect: the check can see one)
 *   flags_both_ways  --flags takes every SLAB_* name (reclaim_dead too), with
 *                    SLAB_ prefix and any case, and numbers; stats prints them
 *                    by name, stats --json as flag_names beside the number
 *   slubd_reasons    slubd's reason once, verbatim: no command repeated, no
 *                    errno text; exit 1
 *   destroy_status   destroy that removes nothing (objects still allocated)
 *                    exits 1 and says what holds the pool; once they are
 *                    freed it removes it, exit 0
 *   versions         slubctl --version and slubd --version: the release and
 *                    the control protocol
 *   clients_count    stats' clients leaves out the slubctl asking: 0 alone,
 *                    1 with one program attached
 *   arena_size       slubd --arena-size 3M refused (exit 2, the minimum
 *                    named), 9M rounded up to 12 MiB with a message
 *   permission_hint  another uid: refused by the socket's mode (connect), or
 *                    by [access]: the message says who is admitted and what
 *                    to do
 *   stats_fields     the path counters are listed once (shm/stats_list.h): the
 *                    protocol's CacheStats has a uint64 field for each, and no
 *                    field that is neither one nor a figure named here; stats
 *                    --json carries every counter, and nr_partial, for every
 *                    cache
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "e2e.h"
#include "harness.h"
#include "stats_list.h"
#include "slub.h"

#define OTHER_UID 65534

static int has(const char *out, const char *s)
{
	return out && strstr(out, s);
}

/* the line of out that begins with "  NAME " (a list under stats' table) holds s */
static int line_has(const char *out, const char *name, const char *s)
{
	char head[64];
	const char *p, *end;

	snprintf(head, sizeof(head), "\n  %s ", name);
	p = out ? strstr(out, head) : NULL;
	if (!p)
		return 0;
	end = strchr(p + 1, '\n');
	p = strstr(p, s);
	return p && (!end || p < end);
}

/* how many times s is in out */
static int count(const char *out, const char *s)
{
	int n = 0;

	for (const char *p = out; p && (p = strstr(p, s)); p += strlen(s))
		n++;
	return n;
}

/* ---- usage errors never reach slubd ------------------------------------------ */

struct bad {
	const char *args[6];
	const char *want;	/* in slubctl's output */
};

static const struct bad bad_args[] = {
	{ { "create", "x", "-5" }, "SIZE '-5' is negative: size must be 1..1048576 bytes" },
	{ { "create", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "64" },
	  "name too long: 40 bytes, at most 31" },
	{ { "stats", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" }, "name too long: 32 bytes, at most 31" },
	{ { "create", "a/b", "64" }, "'/' in a name (byte 2)" },
	{ { "create", "kmalloc-64", "64" }, "'kmalloc-64' is reserved" },
	{ { "create", "kmem_cache", "64" }, "'kmem_cache' is reserved" },
	{ { "destroy", "kmalloc-8" }, "'kmalloc-8' is reserved" },
	{ { "limit", "kmalloc-64", "--objects", "5" }, "'kmalloc-64' is reserved" },
	{ { "create", "x", "0" }, "size must be 1..1048576 bytes (1 MiB), not 0" },
	{ { "create", "x", "2M" }, "size must be 1..1048576 bytes (1 MiB), not 2097152" },
	{ { "create", "x", "12Q" }, "bad SIZE '12Q'" },
	{ { "create", "x" }, "missing SIZE" },
	{ { "create", "x", "64", "--align", "3" },
	  "align must be 0 or a power of two up to 4096, not 3" },
	{ { "create", "x", "64", "--align", "8K" },
	  "align must be 0 or a power of two up to 4096, not 8192" },
	{ { "create", "x", "64", "--flags", "red_zone,bogus" },
	  "unknown flag 'bogus' (known: red_zone, poison, hwcache_align, store_user, reclaim_dead" },
	{ { "create", "x", "64", "--flags", "0x4" }, "bits 0x4 are no SLAB_* flag" },
	{ { "create", "x", "64", "--flags", "poison,,red_zone" }, "an empty flag name" },
	{ { "create", "x", "64", "--bogus" },
	  "unknown option '--bogus' (create takes --align, --flags, --max-objects, --max-bytes" },
	{ { "stats", "-q" }, "unknown option '-q' (stats takes --json" },
	{ { "create", "x", "64", "--align" }, "option '--align' needs a value" },
};

/* the socket this test listens on (nothing may connect to it): the fd, or -1 */
static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* a connection waiting on fd: 1 (accepted and closed), 0 none */
static int connected(int fd)
{
	int c = accept(fd, NULL, NULL);

	if (c < 0)
		return 0;
	close(c);
	return 1;
}

E2E_CASE(usage_errors)
{
	char dir[96];
	struct e2e_slubd fake = { 0 };
	char *out = NULL;
	int lfd, rc;

	REQUIRE(mkdtemp(e2e_tmp_template(dir, sizeof(dir), "t_ctl")) != NULL);
	snprintf(fake.sock, sizeof(fake.sock), "%s/slubd.sock", dir);
	lfd = listen_on(fake.sock);
	REQUIRE(lfd >= 0);
	for (size_t i = 0; i < sizeof(bad_args) / sizeof(bad_args[0]); i++) {
		const struct bad *b = &bad_args[i];
		char line[256] = "";

		for (int k = 0; k < 6 && b->args[k]; k++)
			snprintf(line + strlen(line), sizeof(line) - strlen(line), " %s", b->args[k]);
		rc = e2e_slubctl(&fake, &out, b->args[0], b->args[1], b->args[2], b->args[3],
				 b->args[4], b->args[5], NULL);
		CHECKF(rc == 2 && has(out, b->want) && count(out, b->want) == 1,
		       "slubctl%s: exit %d, want 2 and \"%s\" once:\n%s", line, rc, b->want,
		       out ? out : "");
		CHECKF(!connected(lfd), "slubctl%s connected to slubd's socket: a usage error was sent",
		       line);
		free(out);
		out = NULL;
	}
	/* the check sees a connection when there is one: a good command makes one */
	{
		const char *bin = e2e_need_bin("SLUBCTL", "slubctl");
		char *argv[] = { (char *)bin, "-s", fake.sock, "stats", NULL };
		int ofd, seen = 0;
		pid_t pid = e2e_spawn(argv, &ofd);

		REQUIRE(pid > 0);
		for (int t = 0; t < e2e_scale_ms(5000) / 10 && !seen; t++) {
			seen = connected(lfd);
			if (!seen)
				t_sleep_ms(10);
		}
		CHECKF(seen, "slubctl stats never connected to the test's socket");
		e2e_read_all(ofd, &out, &(size_t){ 0 }, e2e_scale_ms(5000));
		close(ofd);
		e2e_waitpid_timeout(pid, e2e_scale_ms(5000));
		free(out);
	}
	close(lfd);
	unlink(fake.sock);
	rmdir(dir);
}

/* ---- flags by name, both ways -------------------------------------------------- */

E2E_CASE(flags_both_ways)
{
	struct e2e_slubd *d = e2e_start(&(struct e2e_opts){ 0 });
	char *out = NULL;
	uint64_t v;
	int rc;

	REQUIRE(d != NULL);
	rc = e2e_slubctl(d, &out, "create", "f.dead", "64", "--flags", "reclaim_dead,store_user", NULL);
	CHECKF(rc == 0, "create --flags reclaim_dead,store_user: exit %d:\n%s", rc, out ? out : "");
	free(out);
	rc = e2e_slubctl(d, &out, "create", "f.num", "64", "--flags", "0x400", NULL);
	CHECKF(rc == 0, "create --flags 0x400: exit %d:\n%s", rc, out ? out : "");
	free(out);
	rc = e2e_slubctl(d, &out, "create", "f.case", "64", "--flags", "SLAB_POISON,Hwcache-Align", NULL);
	CHECKF(rc == 0, "create --flags SLAB_POISON,Hwcache-Align: exit %d:\n%s", rc, out ? out : "");
	free(out);

	rc = e2e_slubctl(d, &out, "stats", NULL);
	CHECKF(rc == 0 && has(out, "\nflags:\n") && line_has(out, "f.dead", " store_user,reclaim_dead\n") &&
	       line_has(out, "f.num", " red_zone\n") && line_has(out, "f.case", " poison,hwcache_align\n"),
	       "stats does not name the flags: exit %d:\n%s", rc, out ? out : "");
	free(out);
	rc = e2e_slubctl(d, &out, "stats", "--json", NULL);
	CHECKF(rc == 0 && e2e_json_cache_num(out, "f.dead", "flags", &v) == 0 &&
	       v == (SLAB_RECLAIM_DEAD | SLAB_STORE_USER),
	       "stats --json: f.dead's flags: exit %d:\n%s", rc, out ? out : "");
	CHECKF(has(out, "\"flag_names\": [\n        \"store_user\",\n        \"reclaim_dead\"\n      ]"),
	       "stats --json names no flags (flag_names):\n%s", out ? out : "");
	free(out);
	e2e_stop(d);
}

/* ---- slubd's reasons ------------------------------------------------------------- */

E2E_CASE(slubd_reasons)
{
	struct e2e_slubd *d = e2e_start(&(struct e2e_opts){ 0 });
	char *out = NULL;
	int rc;

	REQUIRE(d != NULL);
	rc = e2e_slubctl(d, &out, "stats", "nosuch", NULL);
	CHECKF(rc == 1 && out && !strcmp(out, "slubctl: stats nosuch: no such pool\n"),
	       "stats of no pool: exit %d, want 1 and slubd's reason alone:\n%s", rc, out ? out : "");
	free(out);
	rc = e2e_slubctl(d, &out, "destroy", "nosuch", NULL);
	CHECKF(rc == 1 && out && !strcmp(out, "slubctl: destroy nosuch: no such pool\n"),
	       "destroy of no pool: exit %d, want 1 and slubd's reason alone:\n%s", rc,
	       out ? out : "");
	free(out);
	rc = e2e_slubctl(d, &out, "create", "r.a", "64", NULL);
	CHECK(rc == 0);
	free(out);
	rc = e2e_slubctl(d, &out, "create", "r.a", "128", NULL);
	CHECKF(rc == 1 && count(out, "r.a") == 1 && has(out, "exists with another size") &&
	       !has(out, "File exists") && !has(out, "create: create"),
	       "create with another size: exit %d, want 1 and slubd's reason once:\n%s", rc,
	       out ? out : "");
	free(out);
	e2e_stop(d);
}

/* ---- destroy's exit status --------------------------------------------------------- */

E2E_CASE(destroy_status)
{
	struct e2e_slubd *d = e2e_start(&(struct e2e_opts){ 0 });
	struct kmem_cache *s;
	char *out = NULL;
	void *p;
	int rc;

	REQUIRE(d != NULL);
	REQUIRE(slub_attach(d->sock) == 0);
	s = kmem_cache_create("d.held", 64, 0, 0, NULL);
	REQUIRE(s != NULL);
	p = kmem_cache_alloc(s, 0);
	REQUIRE(p != NULL);

	rc = e2e_slubctl(d, &out, "destroy", "d.held", NULL);
	CHECKF(rc == 1 && has(out, "pool d.held not removed") && has(out, "allocated object") &&
	       has(out, "free them"),
	       "destroy of a pool with an object allocated: exit %d, want 1 and why:\n%s", rc,
	       out ? out : "");
	free(out);
	CHECKF(e2e_cache_stats(d->sock, "d.held", NULL, NULL) == 1, "d.held is gone after exit 1");

	kmem_cache_free(s, p);
	slub_detach();
	rc = e2e_slubctl(d, &out, "destroy", "d.held", NULL);
	CHECKF(rc == 0 && has(out, "removed pool d.held"),
	       "destroy once its object is freed: exit %d:\n%s", rc, out ? out : "");
	free(out);
	CHECK(e2e_cache_stats(d->sock, "d.held", NULL, NULL) == 0);
	e2e_stop(d);
}

/* ---- versions ---------------------------------------------------------------------- */

E2E_CASE(versions)
{
	static const char *const prog[][2] = { { "SLUBCTL", "slubctl" }, { "SLUBD", "slubd" } };

	for (int i = 0; i < 2; i++) {
		char want[96], *out = NULL;
		char *argv[] = { (char *)e2e_need_bin(prog[i][0], prog[i][1]), "--version", NULL };
		int rc;

		snprintf(want, sizeof(want), "%s %s (control protocol %u)\n", prog[i][1],
			 SLUBD_VERSION, SLUBD_PROTOCOL_VERSION);
		rc = e2e_run(argv, &out, 5000);
		CHECKF(rc == 0 && out && !strcmp(out, want), "%s --version: exit %d, want \"%s\":\n%s",
		       prog[i][1], rc, want, out ? out : "");
		free(out);
	}
}

/* ---- clients ----------------------------------------------------------------------- */

E2E_CASE(clients_count)
{
	struct e2e_slubd *d = e2e_start(&(struct e2e_opts){ 0 });
	char *out = NULL;
	uint64_t v = 99;
	int rc;

	REQUIRE(d != NULL);
	rc = e2e_slubctl(d, &out, "stats", NULL);
	CHECKF(rc == 0 && has(out, "\nclients:       0\n"),
	       "stats with no program attached counts the asking slubctl: exit %d:\n%s", rc,
	       out ? out : "");
	free(out);
	REQUIRE(slub_attach(d->sock) == 0);
	rc = e2e_slubctl(d, &out, "stats", "--json", NULL);
	CHECKF(rc == 0 && e2e_json_obj_num(out, "arena", "clients", &v) == 0 && v == 1,
	       "stats --json with one program attached: clients %llu, want 1:\n%s",
	       (unsigned long long)v, out ? out : "");
	free(out);
	slub_detach();
	e2e_stop(d);
}

/* ---- the statistics' fields --------------------------------------------------------- */

#define STAT_NAME(e, name, shown) #name,
static const char *const stat_field[] = { SLAB_STAT_LIST(STAT_NAME) "nr_partial" };
#undef STAT_NAME

E2E_CASE(stats_fields)
{
	/* CacheStats' fields that are no path counter: the pool's figures */
	static const char *const figure[] = {
		"name", "object_size", "size", "objs_per_slab", "pages_per_slab", "active_objs",
		"num_objs", "active_slabs", "num_slabs", "refcount", "align", "flags", "errors",
		"system", "max_objects", "max_bytes",
	};
	const ProtobufCMessageDescriptor *md = &slubd__cache_stats__descriptor;
	size_t nstat = sizeof(stat_field) / sizeof(stat_field[0]);
	struct e2e_slubd *d;
	char *out = NULL;
	int rc;

	for (size_t i = 0; i < nstat; i++) {
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field_by_name(md, stat_field[i]);

		CHECKF(f && f->type == PROTOBUF_C_TYPE_UINT64 && f->label == PROTOBUF_C_LABEL_OPTIONAL,
		       "CacheStats has no optional uint64 field %s", stat_field[i]);
	}
	for (unsigned int i = 0; i < md->n_fields; i++) {
		const char *nm = md->fields[i].name;
		bool known = false;

		for (size_t k = 0; k < nstat && !known; k++)
			known = !strcmp(nm, stat_field[k]);
		for (size_t k = 0; k < sizeof(figure) / sizeof(figure[0]) && !known; k++)
			known = !strcmp(nm, figure[k]);
		CHECKF(known, "CacheStats field %s is neither a counter of shm/stats_list.h nor a "
		       "figure this test knows", nm);
	}
	d = e2e_start(&(struct e2e_opts){ 0 });
	REQUIRE(d != NULL);
	rc = e2e_slubctl(d, &out, "create", "sf.pool", "100", NULL);
	CHECKF(rc == 0, "create: exit %d:\n%s", rc, out ? out : "");
	free(out);
	out = NULL;
	rc = e2e_slubctl(d, &out, "stats", "--json", NULL);
	CHECKF(rc == 0, "stats --json: exit %d:\n%s", rc, out ? out : "");
	for (size_t i = 0; rc == 0 && i < nstat; i++) {
		static const char *const cache[] = { "sf.pool", "kmem_cache", "kmalloc-64" };

		for (size_t c = 0; c < sizeof(cache) / sizeof(cache[0]); c++) {
			uint64_t v;

			CHECKF(e2e_json_cache_num(out, cache[c], stat_field[i], &v) == 0,
			       "stats --json: %s has no \"%s\"", cache[c], stat_field[i]);
		}
	}
	free(out);
	e2e_stop(d);
}

/* ---- slubd --arena-size ------------------------------------------------------------ */

E2E_CASE(arena_size)
{
	char dir[96], sock[128], *out = NULL;
	char *argv[] = { (char *)e2e_need_bin("SLUBD", "slubd"), "--foreground", "--socket", sock,
			 "--hugepages", "off", "--arena-size", "3M", NULL };
	struct e2e_slubd *d;
	struct e2e_arena ar = { 0 };
	int rc;

	REQUIRE(mkdtemp(e2e_tmp_template(dir, sizeof(dir), "t_ctl")) != NULL);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	rc = e2e_run(argv, &out, 5000);
	CHECKF(rc == 2 && has(out, "--arena-size 3M") && has(out, "below the minimum of 8 MiB"),
	       "slubd --arena-size 3M: exit %d, want 2 and the minimum:\n%s", rc, out ? out : "");
	free(out);
	/* the same in the configuration file: t_names bad_names */
	rmdir(dir);

	d = e2e_start(&(struct e2e_opts){ .arena_size = "9M" });
	REQUIRE(d != NULL);
	REQUIRE(e2e_cache_stats(d->sock, "kmem_cache", NULL, &ar) == 1);
	CHECKF(ar.size == 12u << 20, "--arena-size 9M: an arena of %llu bytes, want 12 MiB",
	       (unsigned long long)ar.size);
	CHECKF(e2e_log_has(d, "--arena-size 9M: 9437184 bytes rounded up to 12 MiB"),
	       "slubd rounded 9M up without saying so");
	e2e_stop(d);
}

/* ---- Permission denied -------------------------------------------------------------- */

struct other {
	const struct e2e_slubd *d;
	int open_socket;	/* socket_mode 0666: [access] decides */
};

static void other_uid(void *arg)
{
	const struct other *o = arg;
	char *out = NULL;
	int rc;

	REQUIRE(setgroups(0, NULL) == 0 && setgid(OTHER_UID) == 0 && setuid(OTHER_UID) == 0);
	rc = e2e_slubctl(o->d, &out, "stats", NULL);
	if (o->open_socket) {
		/* the socket lets everyone connect: slubd's [access] refuses */
		CHECKF(rc == 3 && has(out, "may not use this slubd: it admits root") &&
		       has(out, "allow_uids") && has(out, "usermod -aG"),
		       "uid %d refused by [access]: exit %d, no hint of who may attach:\n%s",
		       OTHER_UID, rc, out ? out : "");
	} else {
		/* the socket's mode (0660, root's group) refuses the connection */
		CHECKF(rc == 3 && has(out, "Permission denied") && has(out, "group root") &&
		       has(out, "its owner and the members of its group") &&
		       has(out, "usermod -aG root"),
		       "uid %d refused by the socket's mode: exit %d, no hint of who may attach:\n%s",
		       OTHER_UID, rc, out ? out : "");
	}
	free(out);
}

/*
 * the other uid runs a copy of slubctl in d's folder (0711): the build
 * folder may be closed to it (CI's clone lies in a 0700 folder)
 */
static void slubctl_for_other(const struct e2e_slubd *d)
{
	static char copy[sizeof(d->dir) + 16], *bin;
	int rc;

	if (!bin)	/* the slubctl under test: $SLUBCTL or the build's, before any copy */
		bin = strdup(e2e_need_bin("SLUBCTL", "slubctl"));
	REQUIRE(bin != NULL);
	snprintf(copy, sizeof(copy), "%s/slubctl", d->dir);
	rc = e2e_copy_file(bin, copy, 0755);
	CHECKF(rc == 0, "copying %s to %s: %s", bin, copy, strerror(-rc));
	REQUIRE(rc == 0 && setenv("SLUBCTL", copy, 1) == 0);
}

E2E_CASE(permission_hint)
{
	struct other o = { 0 };

	if (geteuid() != 0)
		SKIP("needs root (to run slubctl as another uid)");
	o.d = e2e_start(&(struct e2e_opts){ .open_dir = 1 });
	REQUIRE(o.d != NULL);
	slubctl_for_other(o.d);
	REQUIRE(t_wait(t_fork(other_uid, &o), "the other uid's slubctl (socket mode)"));
	e2e_stop((struct e2e_slubd *)o.d);

	o.d = e2e_start(&(struct e2e_opts){ .open_dir = 1,
					    .config = "[access]\nsocket_mode = 0666\nallow_uids = 4242\n" });
	o.open_socket = 1;
	REQUIRE(o.d != NULL);
	slubctl_for_other(o.d);
	REQUIRE(t_wait(t_fork(other_uid, &o), "the other uid's slubctl ([access])"));
	e2e_stop((struct e2e_slubd *)o.d);
}

T_MAIN(T_CASE(stats_fields), T_CASE(usage_errors), T_CASE(flags_both_ways), T_CASE(slubd_reasons),
       T_CASE(destroy_status), T_CASE(versions), T_CASE(clients_count), T_CASE(arena_size),
       T_CASE(permission_hint))
