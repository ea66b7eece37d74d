/*
 * t_restart_adopt.c - end-to-end tests of a new slubd that adopts the arena
 * file (or refuses one that is no arena of this layout), and of socket
 * activation.
 *
 *   sigterm_adopt          SIGTERM (exit 0), the arena file stays; a new slubd
 *                          (the default arena file next to the socket) adopts
 *                          it: same pools, same active_objs, same offsets; the
 *                          old client reconnects by itself and frees everything
 *   socket_activation      slubd started by systemd-socket-activate serves the
 *                          inherited socket, never makes its own, and leaves
 *                          the path behind at exit
 *   adopt_refuses_foreign  garbage, a short file, or an arena of another layout
 *                          version at the arena path: slubd refuses to start,
 *                          names the file and leaves it untouched
 *
 * slubd is restarted here on the socket of a daemon that e2e_start() started
 * (the same struct e2e_slubd, so that e2e's cleanup kills whatever runs and
 * removes the directory): see rs_restart() in e2e_restart.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "slub.h"
#include "e2e_restart.h"

/* ---- (2) SIGTERM, then a new slubd adopts the arena ------------------------------------ */

#define S_POOL		"rs.adopt"
#define S_SIZE		200
#define S_OBJS		500
#define S_RZ_POOL	"rs.adopt.rz"
#define S_RZ_SIZE	72
#define S_RZ_OBJS	50
#define S_KM		20

static uint8_t s_byte(int pool, int i, int j)
{
	return (uint8_t)(pool * 59 + i * 13 + j);
}

static void s_fill(uint8_t *o, int pool, int i, int n)
{
	for (int j = 0; j < n; j++)
		o[j] = s_byte(pool, i, j);
}

static int s_bad(const uint8_t *o, int pool, int i, int n)
{
	for (int j = 0; j < n; j++)
		if (o[j] != s_byte(pool, i, j))
			return j;
	return -1;
}

struct s_down_arg {
	struct kmem_cache *s;
};

/* a forked child while slubd is down: the pools work, the control path says ENOTCONN */
static void s_down_child(void *arg)
{
	struct s_down_arg *a = arg;
	struct kmem_cache *s2;
	void *o[100];
	char *k;

	errno = 0;
	s2 = kmem_cache_create(S_POOL, S_SIZE, 0, 0, NULL);
	CHECKF(s2 == NULL && errno == ENOTCONN, "child, slubd down: kmem_cache_create gave %p, errno %d "
	       "(%s); want NULL, ENOTCONN", (void *)s2, errno, strerror(errno));
	for (int i = 0; i < 100; i++) {
		o[i] = kmem_cache_alloc(a->s, GFP_KERNEL);
		CHECKF(o[i] != NULL, "child, slubd down: kmem_cache_alloc: %s", strerror(errno));
		if (!o[i])
			return;
		s_fill(o[i], 7, i, S_SIZE);
	}
	for (int i = 0; i < 100; i++) {
		CHECKF(s_bad(o[i], 7, i, S_SIZE) < 0, "child, slubd down: object %d changed", i);
		kmem_cache_free(a->s, o[i]);
	}
	k = kmalloc(5000, GFP_KERNEL);
	CHECKF(k != NULL, "child, slubd down: kmalloc: %s", strerror(errno));
	if (k) {
		memset(k, 0x3c, 5000);
		kfree(k);
	}
}

struct s_fresh_arg {
	const char *sock;
	uint64_t pool_off, obj_off;
};

/* a process that attaches anew to the new slubd: the same arena, the same pool, the same objects */
static void s_fresh_child(void *arg)
{
	struct s_fresh_arg *a = arg;
	struct kmem_cache *s;
	const uint8_t *o;
	int rc;

	slub_detach();	/* let go of the inherited attachment */
	rc = slub_attach(a->sock);
	CHECKF(rc == 0, "fresh client: slub_attach: %d (%s)", rc, strerror(-rc));
	if (rc)
		return;
	s = kmem_cache_create(S_POOL, S_SIZE, 0, 0, NULL);
	CHECKF(s != NULL, "fresh client: kmem_cache_create: %s", strerror(errno));
	if (!s)
		return;
	CHECKF(slub_offset(s) == a->pool_off, "fresh client: %s at offset %#llx, before the restart "
	       "%#llx", S_POOL, (unsigned long long)slub_offset(s), (unsigned long long)a->pool_off);
	o = slub_ptr(a->obj_off);
	CHECKF(o && s_bad(o, 1, 0, S_SIZE) < 0, "fresh client: object 0 (offset %#llx) differs",
	       (unsigned long long)a->obj_off);
	kmem_cache_destroy(s);
	slub_detach();
}

E2E_CASE(sigterm_adopt)
{
	struct e2e_slubd *d = e2e_start(NULL);
	struct kmem_cache *s, *rz, *s2, *rz2;
	struct e2e_cache c = { .refcount = -1 }, crz = { .refcount = -1 };
	struct e2e_validate v;
	uint8_t *o[S_OBJS], *orz[S_RZ_OBJS], *km[S_KM];
	char arena[200], *out = NULL;
	off_t from = 0, len;
	int rc, bad = 0;

	REQUIRE(d != NULL);
	rs_arena_path(d, arena, sizeof(arena));
	REQUIRE(slub_attach(d->sock) == 0);
	s = kmem_cache_create(S_POOL, S_SIZE, 0, 0, NULL);
	REQUIRE(s != NULL);
	/* a second reference: both are re-taken after the restart */
	REQUIRE(kmem_cache_create(S_POOL, S_SIZE, 0, 0, NULL) == s);
	rz = kmem_cache_create(S_RZ_POOL, S_RZ_SIZE, 0, SLAB_RED_ZONE | SLAB_POISON, NULL);
	REQUIRE(rz != NULL);
	for (int i = 0; i < S_OBJS; i++) {
		o[i] = kmem_cache_alloc(s, GFP_KERNEL);
		REQUIRE(o[i] != NULL);
		s_fill(o[i], 1, i, S_SIZE);
	}
	for (int i = 0; i < S_RZ_OBJS; i++) {
		orz[i] = kmem_cache_alloc(rz, GFP_KERNEL);
		REQUIRE(orz[i] != NULL);
		s_fill(orz[i], 2, i, S_RZ_SIZE);
	}
	for (int i = 0; i < S_KM; i++) {
		km[i] = kmalloc(3000, GFP_KERNEL);
		REQUIRE(km[i] != NULL);
		s_fill(km[i], 3, i, 3000);
	}
	REQUIRE(e2e_cache_stats(d->sock, S_POOL, &c, NULL) == 1);
	CHECKF(c.active_objs == S_OBJS && c.refcount == 2, "before: %s active_objs %llu refcount %d (want %d, 2)",
	       S_POOL, (unsigned long long)c.active_objs, c.refcount, S_OBJS);
	len = rs_file_len(arena);
	CHECKF(len >= (off_t)(64 << 20), "the arena file %s (the default next to the socket): size %lld, "
	       "want at least 64 MiB (%s)", arena, (long long)len, strerror(errno));

	/* SIGTERM: exit 0, the file stays */
	e2e_stop(d);
	REQUIRE(!t_failed);
	CHECKF(rs_file_len(arena) == len, "after SIGTERM the arena file %s is %lld bytes, was %lld", arena,
	       (long long)rs_file_len(arena), (long long)len);

	/* slubd down: this process and a forked child go on allocating */
	{
		void *tmp[64];
		struct s_down_arg da = { s };

		for (int i = 0; i < 64; i++) {
			tmp[i] = kmem_cache_alloc(s, GFP_KERNEL);
			REQUIRE(tmp[i] != NULL);
			memset(tmp[i], 0x99, S_SIZE);
		}
		for (int i = 0; i < 64; i++)
			kmem_cache_free(s, tmp[i]);
		CHECK(t_wait(t_fork(s_down_child, &da), "a child while slubd is down"));
	}

	/* a new slubd on the same socket, the default arena file: it adopts */
	REQUIRE(rs_restart(d, NULL, &from, NULL) == 0);
	CHECKF(rs_log_has_from(d->log, from, "adopted"), "the new slubd did not say \"adopted\" (%s)", arena);
	REQUIRE(e2e_cache_stats(d->sock, S_POOL, &c, NULL) == 1);
	CHECKF(c.active_objs == S_OBJS, "after the restart: %s active_objs %llu, want %d", S_POOL,
	       (unsigned long long)c.active_objs, S_OBJS);
	CHECKF(c.object_size == S_SIZE, "after the restart: %s object_size %llu", S_POOL,
	       (unsigned long long)c.object_size);
	CHECKF(c.refcount == 0, "after the restart, before any client reconnected: %s refcount %d, "
	       "want 0 (the references went with the old connections)", S_POOL, c.refcount);
	REQUIRE(e2e_cache_stats(d->sock, S_RZ_POOL, &crz, NULL) == 1);
	CHECKF(crz.active_objs == S_RZ_OBJS, "after the restart: %s active_objs %llu, want %d",
	       S_RZ_POOL, (unsigned long long)crz.active_objs, S_RZ_OBJS);
	REQUIRE(e2e_validate(d->sock, NULL, &v) == 0);
	CHECKF(v.err == 0 && v.errors == 0, "validate after adopting: err %d, %llu errors: %s", v.err,
	       (unsigned long long)v.errors, v.first_error);
	for (int i = 0; i < S_OBJS; i++)
		bad += s_bad(o[i], 1, i, S_SIZE) >= 0;
	for (int i = 0; i < S_RZ_OBJS; i++)
		bad += s_bad(orz[i], 2, i, S_RZ_SIZE) >= 0;
	for (int i = 0; i < S_KM; i++)
		bad += s_bad(km[i], 3, i, 3000) >= 0;
	CHECKF(bad == 0, "%d objects changed across the restart", bad);

	/* a new process sees the same arena */
	{
		struct s_fresh_arg fa = { d->sock, slub_offset(s), slub_offset(o[0]) };

		CHECK(t_wait(t_fork(s_fresh_child, &fa), "a fresh client of the new slubd"));
	}

	/* the old client: its control calls reconnect on their own (its connection is stale) */
	errno = 0;
	s2 = kmem_cache_create(S_POOL, S_SIZE, 0, 0, NULL);
	CHECKF(s2 == s, "the first kmem_cache_create after the restart: %p, errno %d (%s); want %p",
	       (void *)s2, errno, strerror(errno), (void *)s);
	rz2 = kmem_cache_create(S_RZ_POOL, S_RZ_SIZE, 0, SLAB_RED_ZONE | SLAB_POISON, NULL);
	CHECKF(rz2 == rz, "kmem_cache_create(%s) after the restart: %p (%s)", S_RZ_POOL, (void *)rz2,
	       strerror(errno));
	/* its 2 references re-taken, plus the one just taken */
	REQUIRE(e2e_cache_stats(d->sock, S_POOL, &c, NULL) == 1);
	CHECKF(c.refcount == 3, "%s: refcount %d after the old client (2 references before the "
	       "restart) reconnected and created it once more, want 3", S_POOL, c.refcount);

	for (int i = 0; i < S_OBJS; i++)
		kmem_cache_free(s, o[i]);
	for (int i = 0; i < S_RZ_OBJS; i++)
		kmem_cache_free(rz, orz[i]);
	for (int i = 0; i < S_KM; i++)
		kfree(km[i]);
	REQUIRE(e2e_cache_stats(d->sock, S_POOL, &c, NULL) == 1);
	CHECKF(c.active_objs == 0 && c.errors == 0, "%s: active_objs %llu, errors %llu after every "
	       "object was freed", S_POOL, (unsigned long long)c.active_objs, (unsigned long long)c.errors);
	REQUIRE(e2e_cache_stats(d->sock, S_RZ_POOL, &crz, NULL) == 1);
	CHECKF(crz.active_objs == 0 && crz.errors == 0, "%s: active_objs %llu, errors %llu after every "
	       "object was freed", S_RZ_POOL, (unsigned long long)crz.active_objs,
	       (unsigned long long)crz.errors);
	REQUIRE(e2e_validate(d->sock, NULL, &v) == 0);
	CHECKF(v.err == 0 && v.errors == 0, "validate: err %d, %llu errors: %s", v.err,
	       (unsigned long long)v.errors, v.first_error);
	rc = e2e_slubctl(d, &out, "validate", NULL);
	CHECKF(rc == 0, "slubctl validate: exit %d:\n%s", rc, out ? out : "");
	free(out);

	/* its 3 references dropped one by one: the empty pool goes with the last */
	for (int i = 0; i < 3; i++) {
		REQUIRE(e2e_cache_stats(d->sock, S_POOL, &c, NULL) == 1);
		CHECKF(c.refcount == 3 - i, "%s: refcount %d after %d kmem_cache_destroy, want %d", S_POOL,
		       c.refcount, i, 3 - i);
		kmem_cache_destroy(s);
	}
	CHECKF(e2e_wait_listed(d->sock, S_POOL, 0, 3000, &c) == 0, "%s still listed after its last "
	       "reference was dropped, empty (refcount %d)", S_POOL, c.refcount);
	/* the rest go with the detach */
	slub_detach();
	CHECKF(e2e_wait_listed(d->sock, S_RZ_POOL, 0, 3000, &crz) == 0, "%s still listed after the "
	       "client detached (refcount %d)", S_RZ_POOL, crz.refcount);
	e2e_stop(d);
	CHECKF(access(arena, F_OK) == 0, "the arena file %s is gone after the second SIGTERM", arena);
}

/* ---- (3) socket activation -------------------------------------------------------- */

static const char *find_in_path(const char *prog, char *buf, size_t len)
{
	const char *path = getenv("PATH");
	char dirs[4096];

	snprintf(dirs, sizeof(dirs), "%s:/usr/bin:/bin:/usr/sbin:/sbin", path ? path : "");
	for (char *save = NULL, *dir = strtok_r(dirs, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		if (!*dir)
			continue;
		snprintf(buf, len, "%s/%s", dir, prog);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	return NULL;
}

struct a_ctx {
	char dir[100], sock[160], arena[160], log[160], own[160];
	pid_t pid;
};

static void activation(struct a_ctx *x, const char *ssa)
{
	const char *slubd = e2e_need_bin("SLUBD", "slubd");
	struct e2e_slubd fake;
	struct e2e_cache c = { .refcount = -1 };
	struct kmem_cache *s, *s2;
	struct stat sb;
	uint8_t *o[100];
	char *k, *out = NULL, how[96];
	uint64_t deadline;
	int rc = -1, status;

	REQUIRE(access(slubd, X_OK) == 0);
	{
		char *argv[] = { (char *)ssa, "-l", x->sock, (char *)slubd, "--foreground", "--arena-size",
				 "64M", "--hugepages", "off", "--arena-file", x->arena, NULL };

		/* $SLUBD_SOCKET: where a slubd that ignored the inherited socket would make its own */
		x->pid = rs_spawn_logged(argv, x->log, 1, "SLUBD_SOCKET", x->own);
	}
	REQUIRE(x->pid > 0);
	deadline = t_now_ms() + 5000;
	while (!(stat(x->sock, &sb) == 0 && S_ISSOCK(sb.st_mode))) {
		if (t_now_ms() > deadline || waitpid(x->pid, &status, WNOHANG) == x->pid) {
			CHECKF(0, "systemd-socket-activate never listened on %s", x->sock);
			rs_show_log_from(x->log, 0);
			return;
		}
		t_sleep_ms(5);
	}
	/* the first connection starts slubd; it must get through */
	deadline = t_now_ms() + 10000;
	while ((rc = slub_attach(x->sock)) == -ECONNREFUSED || rc == -ENOENT) {
		if (t_now_ms() > deadline)
			break;
		t_sleep_ms(10);
	}
	CHECKF(rc == 0, "slub_attach through the socket of systemd-socket-activate: %d (%s)", rc,
	       strerror(-rc));
	if (rc) {
		rs_show_log_from(x->log, 0);
		return;
	}
	deadline = t_now_ms() + 5000;
	while (!rs_log_has_from(x->log, 0, "from systemd") && t_now_ms() < deadline)
		t_sleep_ms(10);
	CHECKF(rs_log_has_from(x->log, 0, "from systemd"), "slubd did not say it serves a socket "
	       "\"from systemd\"");
	CHECKF(waitpid(x->pid, &status, WNOHANG) == 0, "slubd is not running after the attach");

	s = kmem_cache_create("rs.act", 96, 0, 0, NULL);
	CHECKF(s != NULL, "kmem_cache_create through the activated socket: %s", strerror(errno));
	if (s) {
		for (int i = 0; i < 100; i++) {
			o[i] = kmem_cache_alloc(s, GFP_KERNEL);
			REQUIRE(o[i] != NULL);
			memset(o[i], i, 96);
		}
		CHECKF(e2e_cache_stats(x->sock, "rs.act", &c, NULL) == 1 && c.active_objs == 100,
		       "stats through the activated socket: rs.act active_objs %llu, want 100",
		       (unsigned long long)c.active_objs);
		for (int i = 0; i < 100; i++) {
			CHECKF(o[i][0] == i && o[i][95] == i, "object %d changed", i);
			kmem_cache_free(s, o[i]);
		}
	}
	k = kmalloc(1500, GFP_KERNEL);
	CHECKF(k != NULL, "kmalloc: %s", strerror(errno));
	if (k) {
		memset(k, 0x11, 1500);
		kfree(k);
	}
	memset(&fake, 0, sizeof(fake));
	snprintf(fake.sock, sizeof(fake.sock), "%s", x->sock);
	rc = e2e_slubctl(&fake, &out, "validate", NULL);
	CHECKF(rc == 0, "slubctl validate through the activated socket: exit %d:\n%s", rc, out ? out : "");
	free(out);
	CHECKF(access(x->arena, F_OK) == 0, "no arena file at %s (--arena-file)", x->arena);
	CHECKF(access(x->own, F_OK) != 0, "slubd made a socket of its own at %s ($SLUBD_SOCKET)", x->own);

	/* SIGTERM the pid we started: systemd-socket-activate became slubd */
	kill(x->pid, SIGTERM);
	status = e2e_waitpid_timeout(x->pid, E2E_STOP_TIMEOUT_MS);
	x->pid = 0;
	CHECKF(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "activated slubd after SIGTERM: %s, want exit 0", t_status_str(status, how, sizeof(how)));
	CHECKF(lstat(x->sock, &sb) == 0 && S_ISSOCK(sb.st_mode), "%s is gone after slubd exited: "
	       "the socket is systemd's, slubd must not unlink it", x->sock);
	CHECKF(access(x->arena, F_OK) == 0, "the arena file %s is gone after SIGTERM", x->arena);
	/* down: the control path says ENOTCONN, the pools work */
	errno = 0;
	s2 = kmem_cache_create("rs.act", 96, 0, 0, NULL);
	CHECKF(s2 == NULL && errno == ENOTCONN, "kmem_cache_create with slubd gone: %p, errno %d (%s)",
	       (void *)s2, errno, strerror(errno));
	if (s) {
		void *p = kmem_cache_alloc(s, GFP_KERNEL);

		CHECKF(p != NULL, "kmem_cache_alloc with slubd gone: %s", strerror(errno));
		if (p)
			kmem_cache_free(s, p);
	}
	slub_detach();
	if (t_failed)
		rs_show_log_from(x->log, 0);
}

E2E_CASE(socket_activation)
{
	static char why[300];
	const char *tmp = getenv("TMPDIR");
	char ssa_buf[512];
	const char *ssa = find_in_path("systemd-socket-activate", ssa_buf, sizeof(ssa_buf));
	struct a_ctx x;

	if (!ssa) {
		snprintf(why, sizeof(why), "systemd-socket-activate is not installed (not in $PATH, "
			 "/usr/bin or /bin)");
		SKIP(why);
	}
	memset(&x, 0, sizeof(x));
	if (!tmp || !*tmp || strlen(tmp) > 60)
		tmp = "/tmp";
	snprintf(x.dir, sizeof(x.dir), "%s/slubd-act.XXXXXX", tmp);
	REQUIRE(mkdtemp(x.dir) != NULL);
	snprintf(x.sock, sizeof(x.sock), "%s/act.sock", x.dir);
	snprintf(x.arena, sizeof(x.arena), "%s/a.arena", x.dir);
	snprintf(x.log, sizeof(x.log), "%s/act.log", x.dir);
	snprintf(x.own, sizeof(x.own), "%s/own.sock", x.dir);
	activation(&x, ssa);
	if (x.pid > 0) {
		kill(x.pid, SIGKILL);
		waitpid(x.pid, NULL, 0);
	}
	unlink(x.sock);
	unlink(x.arena);
	{
		char lock[sizeof(x.arena) + 8];	/* slubd's owner lock beside its arena */

		snprintf(lock, sizeof(lock), "%s.lock", x.arena);
		unlink(lock);
	}
	unlink(x.log);
	unlink(x.own);
	rmdir(x.dir);
}

/* ---- (4) a file that is no arena of this layout: refused ---------------------------- */

static int write_at(const char *path, off_t at, const void *buf, size_t n, off_t size, int create)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0), 0644);
	int rc = 0;

	if (fd < 0)
		return -errno;
	if (size >= 0 && ftruncate(fd, size))
		rc = -errno;
	if (!rc && pwrite(fd, buf, n, at) != (ssize_t)n)
		rc = -EIO;
	close(fd);
	return rc;
}

static int read_at(const char *path, off_t at, void *buf, size_t n)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	rc = pread(fd, buf, n, at) == (ssize_t)n ? 0 : -EIO;
	close(fd);
	return rc;
}

/* slubd on sock with arena as --arena-file (NULL: the default) must exit non-zero, naming the file */
static void expect_refused(const char *sock, const char *arena, const char *named, const char *what)
{
	const char *bin = e2e_need_bin("SLUBD", "slubd");
	char *argv[16], *out = NULL;
	int argc = 0, rc;
	uint64_t t0 = t_now_ms();

	argv[argc++] = (char *)bin;
	argv[argc++] = "--foreground";
	argv[argc++] = "--socket";
	argv[argc++] = (char *)sock;
	argv[argc++] = "--arena-size";
	argv[argc++] = "64M";
	argv[argc++] = "--hugepages";
	argv[argc++] = "off";
	if (arena) {
		argv[argc++] = "--arena-file";
		argv[argc++] = (char *)arena;
	}
	argv[argc] = NULL;
	rc = e2e_run(argv, &out, 8000);
	CHECKF(rc > 0, "slubd with %s at %s: exit %d after %llu ms, want a refusal (non-zero exit):\n%s",
	       what, named, rc, (unsigned long long)(t_now_ms() - t0), out ? out : "");
	CHECKF(rc <= 0 || (out && strstr(out, named)), "slubd refused %s but did not name the file %s:\n%s",
	       what, named, out ? out : "");
	free(out);
}

E2E_CASE(adopt_refuses_foreign)
{
	struct e2e_slubd *d = e2e_start(NULL);
	char arena[200], garbage[200], gsock[200];
	uint8_t junk[65536], back[65536], hdr[12], hdr2[12];
	uint64_t rnd = 0xbadf11e;
	uint32_t version;
	off_t len;
	off_t from = 0;

	REQUIRE(d != NULL);
	rs_arena_path(d, arena, sizeof(arena));
	snprintf(garbage, sizeof(garbage), "%s/garbage.arena", d->dir);
	snprintf(gsock, sizeof(gsock), "%s/g.sock", d->dir);

	/* garbage of the arena's size */
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)t_rand(&rnd);
	REQUIRE(write_at(garbage, 0, junk, sizeof(junk), 64 << 20, 1) == 0);
	expect_refused(gsock, garbage, garbage, "64 MiB of garbage");
	CHECKF(rs_file_len(garbage) == (off_t)(64 << 20) && read_at(garbage, 0, back, sizeof(back)) == 0 &&
	       !memcmp(back, junk, sizeof(junk)), "the refused garbage file %s was changed", garbage);
	/* a file too short to hold a header */
	REQUIRE(write_at(garbage, 0, junk, 100, -1, 1) == 0);
	expect_refused(gsock, garbage, garbage, "100 bytes of garbage");
	CHECKF(rs_file_len(garbage) == 100, "the refused 100-byte file %s is %lld bytes now", garbage,
	       (long long)rs_file_len(garbage));

	/* a real arena, with its layout version (offset 8, 32 bits) bumped */
	{
		struct e2e_validate v;

		REQUIRE(e2e_validate(d->sock, NULL, &v) == 0);	/* something ran in it */
	}
	e2e_stop(d);
	REQUIRE(!t_failed);
	len = rs_file_len(arena);
	REQUIRE(len > 0);
	REQUIRE(read_at(arena, 0, hdr, sizeof(hdr)) == 0);
	memcpy(&version, hdr + 8, sizeof(version));
	memcpy(hdr2, hdr, sizeof(hdr));
	version++;
	memcpy(hdr2 + 8, &version, sizeof(version));
	REQUIRE(write_at(arena, 0, hdr2, sizeof(hdr2), -1, 0) == 0);
	expect_refused(d->sock, NULL, arena, "an arena of layout version +1 (the default file)");
	expect_refused(d->sock, arena, arena, "an arena of layout version +1 (--arena-file)");
	{
		uint8_t now[12];

		CHECKF(rs_file_len(arena) == len && read_at(arena, 0, now, sizeof(now)) == 0 &&
		       !memcmp(now, hdr2, sizeof(now)), "the refused arena file %s was changed", arena);
	}

	/* the version put back: adopted, and it works */
	REQUIRE(write_at(arena, 0, hdr, sizeof(hdr), -1, 0) == 0);
	REQUIRE(rs_restart(d, NULL, &from, NULL) == 0);
	CHECKF(rs_log_has_from(d->log, from, "adopted"), "slubd did not say \"adopted\" with the version "
	       "put back");
	{
		struct kmem_cache *s;
		void *p;

		REQUIRE(slub_attach(d->sock) == 0);
		s = kmem_cache_create("rs.back", 64, 0, 0, NULL);
		CHECKF(s != NULL, "kmem_cache_create after the version was put back: %s", strerror(errno));
		if (s) {
			p = kmem_cache_alloc(s, GFP_KERNEL);
			CHECK(p != NULL);
			if (p) {
				memset(p, 0x42, 64);
				kmem_cache_free(s, p);
			}
			kmem_cache_destroy(s);
		}
		slub_detach();
	}
	e2e_stop(d);
}

T_MAIN(T_CASE(sigterm_adopt), T_CASE(socket_activation), T_CASE(adopt_refuses_foreign))
