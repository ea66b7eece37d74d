/*
 * t_names_attack.c - named arenas attacked: aliased paths, hostile tenants
 * and the supervisor's servers, each case one attack that slubd must
 * refuse or survive.  slubd runs as root; the tenant is uid 65534.
 *
 *   path_aliases       two arenas given one socket or one arena file through
 *                      different spellings ("./", "//", "x/..", a linked
 *                      directory, a hard link), a named arena's file or socket
 *                      on the default arena's file (slubd.arena, which the
 *                      default arena uses without naming it), a socket on
 *                      another's arena file (its server would unlink it): each
 *                      refused at start, exit 2, naming both arenas: paths
 *                      are compared as resolved, not byte for byte, so that
 *                      "[arena a] file = DIR/./b.arena" cannot make arenas a
 *                      and b one memory
 *   default_name       [arena default] refused at start (slubctl and the logs
 *                      call the unnamed arena "default": two arenas would bear
 *                      that name); slub_attach("default") and slubctl --arena
 *                      default reach the default arena, never a
 *                      DIR/default.sock
 *   numbers_wrap      --arena-size " -18446744073709551552M" (a blank, then a
 *                      minus: strtoull negates, to 64 MiB), "\t-1", " -1G",
 *                      " -0": refused as no size, exit 2 (a minus after
 *                      blanks counts: the first would be a 64 MiB arena, and
 *                      " -1G" is no size, not one too large).  And ids
 *                      past 32 bits or negative in allow_uids/allow_gids
 *                      (4295032830, "-4294902762": both were uid 65534;
 *                      4294967295, which is no id): refused
 *   sighup_revokes     a uid's line removed from [arena b] (and from the
 *                      default [access]), then SIGHUP: that uid is refused (a
 *                      reload starts from the defaults, not the running
 *                      settings: a key absent from the file has no old value)
 *   restart_after_sighup  a uid taken off [arena b]'s list, SIGHUP, then b's
 *                      server killed: the server the supervisor starts in its
 *                      place refuses that uid too (it gets the reloaded
 *                      settings, not those the supervisor read at its start)
 *   parent_link        the victim's $XDG_RUNTIME_DIR lies in a directory
 *                      every user may write: uid 65534 plants a link there to a
 *                      directory of root's whose "slubd" is root's slubd's
 *                      (no link itself, root's, 0711): uid 65533's
 *                      slub_attach(NULL) refuses, saying which directory
 *                      others can write (every directory on the way is
 *                      checked, not only the last: else the victim stores its
 *                      pool in root's arena, which 65534 may attach to)
 *   sighup_at_start    SIGHUP every 100 us from the moment slubd's socket
 *                      exists, a lone slubd (making a 1 GiB arena then) and a
 *                      supervisor: slubd lives and serves, then stops on
 *                      SIGTERM with exit 0 (no SIGHUP kills it, however early:
 *                      while a lone slubd makes its arena, or before the
 *                      supervisor blocks it)
 *   stopped_server     a named arena's server stopped (SIGSTOP) when the
 *                      supervisor gets SIGTERM: it is continued and stops, the
 *                      supervisor exits 0, without waiting for it forever
 *   stuck_server       a server that cannot act on SIGTERM (held in a ptrace
 *                      stop, as one stuck would be): the supervisor kills it
 *                      after its grace (logged), and exits 1 within bounds
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "e2e.h"
#include "harness.h"
#include "slub.h"

#define UID_A 65534

static void be(uid_t uid)
{
	if (setgroups(0, NULL) || setgid(uid) || setuid(uid)) {
		printf("  cannot become uid %u: %s\n", (unsigned)uid, strerror(errno));
		exit(1);
	}
}

/* the pid answering sock (SO_PEERCRED), waiting for it to serve; 0: none */
static pid_t server_pid(const char *sock, int timeout_ms)
{
	uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms);
	char err[256];

	for (;;) {
		struct ctl_conn c;

		if (ctl_connect(&c, sock, "t_names_attack", err, sizeof(err)) == 0) {
			struct ucred cr;
			socklen_t len = sizeof(cr);
			pid_t pid = getsockopt(c.fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) ? 0 : cr.pid;

			ctl_close(&c);
			return pid;
		}
		if (t_now_ms() > end) {
			printf("  %s does not serve: %s\n", sock, err);
			return 0;
		}
		t_sleep_ms(20);
	}
}

static int log_has(const struct e2e_slubd *d, const char *needle)
{
	static char buf[1 << 17];
	FILE *f = fopen(d->log, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = 0;
	return strstr(buf, needle) != NULL;
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* ---- two arenas on one path, spelt differently ---- */

/*
 * slubd with conf (DIR in it replaced by the case's directory) must refuse to
 * start, exit 2, with "share" and both names in its words; nothing may serve
 */
static void refused3(const char *dir, const char *conf_tmpl, const char *w, const char *n1,
		     const char *n2)
{
	char conf[2048], path[160], sock[160], *out = NULL;
	char *argv[] = { (char *)e2e_need_bin("SLUBD", "slubd"), "--foreground", "--socket", sock,
			 "--hugepages", "off", "--arena-size", "16M", "--config", path, NULL };
	const char *p = conf_tmpl;
	size_t n = 0;
	int rc;

	/* DIR -> dir */
	while (*p && n + 200 < sizeof(conf)) {
		if (!strncmp(p, "DIR", 3)) {
			n += (size_t)snprintf(conf + n, sizeof(conf) - n, "%s", dir);
			p += 3;
		} else {
			conf[n++] = *p++;
		}
	}
	conf[n] = 0;
	snprintf(path, sizeof(path), "%s/c.conf", dir);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	if (write_text(path, conf)) {
		CHECKF(0, "writing %s: %s", path, strerror(errno));
		return;
	}
	rc = e2e_run(argv, &out, 4000);
	CHECKF(rc == 2 && out && strstr(out, w) && strstr(out, n1) && strstr(out, n2),
	       "config:\n%sslubd: exit %d, want 2 and \"%s\", \"%s\", \"%s\":\n%s", conf, rc, w, n1,
	       n2, out ? out : "");
	free(out);
}

/* two arenas said to share a path */
static void refused_alias(const char *dir, const char *conf_tmpl, const char *n1, const char *n2)
{
	refused3(dir, conf_tmpl, "share", n1, n2);
}

E2E_CASE(path_aliases)
{
	char dir[] = "/tmp/t_names_attack.XXXXXX", p1[160], p2[160];

	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(p1, sizeof(p1), "%s/sub", dir);
	REQUIRE(mkdir(p1, 0755) == 0);
	snprintf(p1, sizeof(p1), "%s/lnk", dir);
	REQUIRE(symlink(dir, p1) == 0);
	/* an arena file that exists, and a hard link to it */
	snprintf(p1, sizeof(p1), "%s/real.arena", dir);
	snprintf(p2, sizeof(p2), "%s/hard.arena", dir);
	REQUIRE(write_text(p1, "x") == 0 && link(p1, p2) == 0);

	/* one arena file */
	refused_alias(dir, "[arena a]\nfile = DIR/./b.arena\n[arena b]\n", "a", "b");
	refused_alias(dir, "[arena a]\nfile = DIR//b.arena\n[arena b]\n", "a", "b");
	refused_alias(dir, "[arena a]\nfile = DIR/sub/../b.arena\n[arena b]\n", "a", "b");
	refused_alias(dir, "[arena a]\nfile = DIR/lnk/b.arena\n[arena b]\n", "a", "b");
	refused_alias(dir, "[arena a]\nfile = DIR/hard.arena\n[arena b]\nfile = DIR/real.arena\n",
		      "a", "b");
	/* the default arena's file, which its config leaves unnamed */
	refused_alias(dir, "[arena a]\nfile = DIR/slubd.arena\n", "default", "a");
	refused_alias(dir, "[arena]\nfile = DIR/x.arena\n[arena a]\nfile = DIR/sub/../x.arena\n",
		      "default", "a");
	/* one socket */
	refused_alias(dir, "[arena a]\nsocket = DIR/sub/../b.sock\n[arena b]\n", "a", "b");
	refused_alias(dir, "[arena a]\nsocket = DIR/lnk/slubd.sock\n", "default", "a");
	/* a socket on an arena file: the server would unlink that arena's file */
	refused_alias(dir, "[arena a]\nsocket = DIR/slubd.arena\n", "default", "a");
	refused_alias(dir, "[arena a]\n[arena b]\nsocket = DIR/./a.arena\n", "a", "b");

	{
		char cmd[200];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		CHECK(system(cmd) == 0);
	}
}

/* ---- "default": the unnamed arena's name, nobody else's ---- */

E2E_CASE(default_name)
{
	struct e2e_opts o = { .config = "[access]\nsocket_mode = 0666\n[arena a]\nsize = 8M\n" };
	char dir[] = "/tmp/t_names_attack.XXXXXX", *out = NULL;
	struct e2e_slubd *d;
	int rc;

	/* a named arena "default" would be shown and logged as the default one is */
	REQUIRE(mkdtemp(dir) != NULL);
	refused3(dir, "[arena default]\nsize = 8M\n", "bad arena name", "[arena default]",
		 "nor \"default\"");
	{
		char cmd[100];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		CHECK(system(cmd) == 0);
	}
	/* and a client saying "default" means the arena slubctl calls so */
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	setenv("SLUBD_SOCKET", d->sock, 1);
	rc = slub_attach("default");
	CHECKF(rc == 0, "slub_attach(\"default\"): %d (%s)", rc, slub_attach_error());
	if (rc == 0) {
		struct kmem_cache *s = kmem_cache_create("attack.default", 32, 0, 0, NULL);

		CHECK(s != NULL);
		CHECKF(e2e_cache_stats(d->sock, "attack.default", NULL, NULL) == 1, "slub_attach("
		       "\"default\") reached another arena than the default one");
		if (s)
			kmem_cache_destroy(s);
		slub_detach();
	}
	{
		char *argv[] = { (char *)e2e_need_bin("SLUBCTL", "slubctl"), "--arena", "default",
				 "stats", NULL };
		char want[300];

		setenv("SLUBD_SOCKET", d->sock, 1);
		rc = e2e_run(argv, &out, 10000);
		snprintf(want, sizeof(want), "arena:         default (socket %s)", d->sock);
		CHECKF(rc == 0 && out && strstr(out, want), "slubctl --arena default stats: %d, want "
		       "\"%s\":\n%s", rc, want, out ? out : "");
		free(out);
	}
	unsetenv("SLUBD_SOCKET");
	e2e_stop(d);
}

/* ---- a size with a blank before its minus ---- */

E2E_CASE(numbers_wrap)
{
	/* strtoull negates after blanks: 2^64 - 64 MiB-units, negated, is 64 MiB */
	static const char *const sizes[] = { " -18446744073709551552M", "\t-1", " -1G", " -0" };
	char dir[] = "/tmp/t_names_attack.XXXXXX", sock[64];

	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *argv[] = { (char *)e2e_need_bin("SLUBD", "slubd"), "--foreground", "--socket",
				 sock, "--hugepages", "off", "--arena-size", (char *)sizes[i], NULL };
		char *out = NULL;
		int rc = e2e_run(argv, &out, 4000);

		CHECKF(rc == 2 && out && strstr(out, "bad --arena-size") && !strstr(out, "too large"),
		       "--arena-size '%s': exit %d, want 2 (refused as no size):\n%s", sizes[i], rc,
		       out ? out : "");
		free(out);
	}
	/* ids: 2^32 + 65534 was uid 65534, "-4294902762" too (negated, then cut to 32 bits) */
	refused3(dir, "[access]\nallow_uids = 4295032830\n", "bad value for [access] allow_uids",
		 "4295032830", "");
	refused3(dir, "[arena a]\nallow_uids = -4294902762\n", "bad value for [arena a] allow_uids",
		 "-4294902762", "");
	refused3(dir, "[arena a]\nallow_gids = 4294967295\n", "bad value for [arena a] allow_gids",
		 "4294967295", "");
	{
		char cmd[100];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		CHECK(system(cmd) == 0);
	}
}

/* ---- SIGHUP takes away what the file no longer gives ---- */

static void attach_as_a(void *arg)
{
	int *rc = arg;

	be(UID_A);
	*rc = slub_attach(getenv("T_SOCK"));
	if (*rc == 0)
		slub_detach();
}

/* uid 65534's slub_attach to sock: poll until it gives want (up to ~5 s); the last answer */
static int attach_until(const char *sock, int *rc, int want)
{
	setenv("T_SOCK", sock, 1);
	for (int i = 0; i < 100; i++) {
		t_wait(t_fork(attach_as_a, rc), "uid 65534 attaching");
		if (*rc == want)
			break;
		t_sleep_ms(e2e_scale_ms(50));
	}
	return *rc;
}

E2E_CASE(sighup_revokes)
{
	struct e2e_opts o = {
		.config = "[access]\nsocket_mode = 0666\nallow_uids = 65534\n"
			  "[arena b]\nsize = 16M\nallow_uids = 65533 65534\n",
		.open_dir = 1,
	};
	char sb[200];
	struct e2e_slubd *d;
	int *rc = t_shared(sizeof(int));

	if (geteuid() != 0)
		SKIP("needs root (slubd as root, a client as uid 65534)");
	d = e2e_start(&o);
	REQUIRE(d != NULL && rc != NULL);
	snprintf(sb, sizeof(sb), "%s/b.sock", d->dir);
	REQUIRE(server_pid(sb, 10000) > 0);
	CHECKF(attach_until(sb, rc, 0) == 0, "uid 65534 cannot attach to arena b, which allows it: %d",
	       *rc);
	CHECKF(attach_until(d->sock, rc, 0) == 0, "uid 65534 cannot attach to the default arena, "
	       "which allows it: %d", *rc);
	/* the lines that let 65534 in are gone: a reload must take that away */
	REQUIRE(write_text(d->conf, "[access]\nsocket_mode = 0666\n[arena b]\nsize = 16M\n") == 0);
	REQUIRE(kill(d->pid, SIGHUP) == 0);
	CHECKF(attach_until(sb, rc, -EACCES) == -EACCES, "after its allow_uids line was removed and "
	       "SIGHUP, uid 65534 still attaches to arena b: %d", *rc);
	CHECKF(attach_until(d->sock, rc, -EACCES) == -EACCES, "after [access] allow_uids was removed "
	       "and SIGHUP, uid 65534 still attaches to the default arena: %d", *rc);
	e2e_stop(d);
}

/* a server restarted after a SIGHUP: the settings it comes back with are the reloaded ones */
E2E_CASE(restart_after_sighup)
{
	struct e2e_opts o = {
		.config = "[access]\nsocket_mode = 0666\n[arena b]\nsize = 16M\nallow_uids = 65534\n",
		.open_dir = 1,
	};
	char sb[200];
	struct e2e_slubd *d;
	int *rc = t_shared(sizeof(int));
	pid_t b0, b1 = 0;

	if (geteuid() != 0)
		SKIP("needs root (slubd as root, a client as uid 65534)");
	d = e2e_start(&o);
	REQUIRE(d != NULL && rc != NULL);
	snprintf(sb, sizeof(sb), "%s/b.sock", d->dir);
	b0 = server_pid(sb, 10000);
	REQUIRE(b0 > 0);
	CHECKF(attach_until(sb, rc, 0) == 0, "uid 65534 cannot attach to arena b: %d", *rc);
	/* 65534 is taken off b's list, and SIGHUP makes it so */
	REQUIRE(write_text(d->conf, "[access]\nsocket_mode = 0666\n[arena b]\nsize = 16M\n"
			   "allow_uids = 65533\n") == 0);
	REQUIRE(kill(d->pid, SIGHUP) == 0);
	CHECKF(attach_until(sb, rc, -EACCES) == -EACCES, "after SIGHUP uid 65534 still attaches to "
	       "arena b: %d", *rc);
	/* b's server dies: the one the supervisor starts must not let 65534 in again */
	REQUIRE(kill(b0, SIGKILL) == 0);
	for (uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(10000);
	     (b1 == 0 || b1 == b0) && t_now_ms() < end;) {
		t_sleep_ms(50);
		b1 = server_pid(sb, 100);
	}
	REQUIRE(b1 > 0 && b1 != b0);
	setenv("T_SOCK", sb, 1);
	t_wait(t_fork(attach_as_a, rc), "uid 65534 attaching");
	CHECKF(*rc == -EACCES, "arena b's restarted server lets uid 65534 in again (the list of "
	       "before the SIGHUP): %d", *rc);
	e2e_stop(d);
}

/* ---- a planted link above the socket's directory ---- */

struct victim_arg {
	const char *xdg;	/* $XDG_RUNTIME_DIR */
	int want;
	const char *expect;	/* in slub_attach_error() */
};

static void victim(void *arg)
{
	const struct victim_arg *v = arg;
	struct kmem_cache *s;
	int rc;

	unsetenv("SLUBD_SOCKET");
	unsetenv("SLUBD_ARENA");
	unsetenv("SLUBD_DAEMON_UID");
	setenv("XDG_RUNTIME_DIR", v->xdg, 1);
	be(65533);
	rc = slub_attach(NULL);
	CHECKF(rc == v->want, "uid 65533 with XDG_RUNTIME_DIR=%s: slub_attach(NULL) %d (%s), want %d",
	       v->xdg, rc, slub_attach_error(), v->want);
	if (v->expect)
		CHECKF(strstr(slub_attach_error(), v->expect) != NULL, "the reason \"%s\" does not "
		       "say \"%s\"", slub_attach_error(), v->expect);
	if (rc == v->want && rc)
		printf("  refused, as it should be: %s\n", slub_attach_error());
	if (rc == 0) {
		s = kmem_cache_create("victim.secret", 64, 0, 0, NULL);
		if (s)
			strcpy(kmem_cache_alloc(s, GFP_KERNEL), "the victim's secret");
		slub_detach();
	}
}

/* uid 65534 plants the link: a process of its own */
static void plant(void *arg)
{
	char **lnk = arg;

	be(UID_A);
	CHECKF(symlink(lnk[0], lnk[1]) == 0, "symlink %s -> %s: %s", lnk[1], lnk[0], strerror(errno));
}

static void parent_link_in_ns(char *top, char *mnt)
{
	/* root's slubd, whose arena another user (65534) may use too */
	struct e2e_opts o = {
		.config = "[access]\nsocket_mode = 0666\nallow_uids = 65533 65534\n",
		.open_dir = 1,
	};
	struct victim_arg v = { NULL, -EPERM, "writ" };
	char xdg[200], slubd_dir[200];
	char *lnk[2] = { top, xdg };
	struct e2e_slubd *d;

	if (geteuid() != 0)
		SKIP("needs root (uids 65534 and 65533, a mount namespace)");
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		CHECKF(0, "unshare/mount: %s", strerror(errno));
		return;
	}
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	/* a directory of root's, TOP/slubd showing root's slubd's own (a bind mount) */
	REQUIRE(mkdtemp(top) != NULL && chmod(top, 0755) == 0);
	snprintf(slubd_dir, sizeof(slubd_dir), "%s/slubd", top);
	REQUIRE(mkdir(slubd_dir, 0755) == 0);
	snprintf(mnt, 200, "%s", slubd_dir);
	REQUIRE(mount(d->dir, slubd_dir, NULL, MS_BIND, NULL) == 0);
	/*
	 * the victim's $XDG_RUNTIME_DIR lies in a directory every user may write
	 * (no sticky bit): 65534 makes that name a link to TOP, so that
	 * $XDG_RUNTIME_DIR/slubd is root's directory, no link, root's, 0711
	 */
	snprintf(xdg, sizeof(xdg), "%s.open", top);
	REQUIRE(mkdir(xdg, 0777) == 0 && chmod(xdg, 0777) == 0);
	snprintf(xdg + strlen(xdg), sizeof(xdg) - strlen(xdg), "/xdg");
	t_wait(t_fork(plant, lnk), "uid 65534 planting the link");
	v.xdg = xdg;
	t_wait(t_fork(victim, &v), "the victim, its XDG_RUNTIME_DIR a link planted by 65534");
	CHECKF(e2e_cache_stats(d->sock, "victim.secret", NULL, NULL) == 0, "the victim's pool is "
	       "in root's arena, which uid 65534 may attach to");
	e2e_stop(d);
}

E2E_CASE(parent_link)
{
	char top[200] = "/tmp/t_names_attack.XXXXXX", mnt[200] = "", cmd[512];

	parent_link_in_ns(top, mnt);
	if (mnt[0])
		umount2(mnt, MNT_DETACH);
	if (strcmp(top, "/tmp/t_names_attack.XXXXXX")) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s.open'", top, top);
		CHECK(system(cmd) == 0);
	}
}

/* ---- SIGHUP while slubd starts ---- */

static void noop(int sig)
{
	(void)sig;
}

/*
 * start slubd (conf in dir, or none; an arena of size) and, from the moment
 * its socket exists (main() runs: a SIGHUP while the dynamic loader still
 * works is no program's to catch), SIGHUP it every 100 us until the log says
 * want; it must live through them, serve, and stop on SIGTERM with exit 0
 */
static void hup_storm(const char *dir, const char *conf, const char *size, const char *want)
{
	char sock[200], cpath[200], log[200], how[96];
	const char *bin = e2e_need_bin("SLUBD", "slubd");
	uint64_t end;
	int st = 0, ready = 0, sent = 0;
	sigset_t hup, old;
	struct stat sst;
	pid_t pid;

	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(cpath, sizeof(cpath), "%s/c.conf", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	unlink(sock);
	if (conf && write_text(cpath, conf)) {
		CHECKF(0, "writing %s: %s", cpath, strerror(errno));
		return;
	}
	fflush(stdout);
	/* until exec: a stray SIGHUP must not end the child (exec resets the handler) */
	sigemptyset(&hup);
	sigaddset(&hup, SIGHUP);
	sigprocmask(SIG_BLOCK, &hup, &old);
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		signal(SIGHUP, noop);
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (fd < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		if (conf)
			execl(bin, bin, "--foreground", "--socket", sock, "--hugepages", "off",
			      "--arena-size", size, "--config", cpath, (char *)NULL);
		else
			execl(bin, bin, "--foreground", "--socket", sock, "--hugepages", "off",
			      "--arena-size", size, (char *)NULL);
		_exit(127);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (pid < 0) {
		CHECKF(0, "fork: %s", strerror(errno));
		return;
	}
	end = t_now_ms() + (uint64_t)e2e_scale_ms(10000);
	/* no sleep: the socket comes a moment before the arena is made */
	while (t_now_ms() < end && waitpid(pid, &st, WNOHANG) == 0 &&
	       !(stat(sock, &sst) == 0 && S_ISSOCK(sst.st_mode)))
		;
	while (t_now_ms() < end && waitpid(pid, &st, WNOHANG) == 0) {
		struct stat lst;

		kill(pid, SIGHUP);
		sent++;
		usleep(100);
		/* the log is read only now and then: reading it takes longer than a signal */
		if (sent % 16 == 0 && stat(log, &lst) == 0 && lst.st_size > 0) {
			static char buf[1 << 16];
			FILE *f = fopen(log, "r");
			size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

			if (f)
				fclose(f);
			buf[n] = 0;
			if (strstr(buf, want)) {
				ready = 1;
				break;
			}
		}
	}
	if (!ready) {
		CHECKF(0, "slubd (%s) under a SIGHUP storm at start: %s after %d SIGHUPs", conf ?
		       "named arenas" : "one arena", waitpid(pid, &st, WNOHANG) == 0 ? "never served" :
		       t_status_str(st, how, sizeof(how)), sent);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		{
			char cmd[300];

			snprintf(cmd, sizeof(cmd), "sed 's/^/  | /' '%s' | tail -5", log);
			CHECK(system(cmd) == 0);
		}
		return;
	}
	kill(pid, SIGTERM);
	st = e2e_waitpid_timeout(pid, 5000);
	CHECKF(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "slubd (%s) after the storm and "
	       "SIGTERM: %s", conf ? "named arenas" : "one arena", st == -1 ? "killed" :
	       t_status_str(st, how, sizeof(how)));
}

E2E_CASE(sighup_at_start)
{
	char dir[100], cmd[140];

	/* on tmpfs: slubd refuses the default arena files next to a socket on a disk */
	snprintf(dir, sizeof(dir), "%s/t_names_attack.XXXXXX", e2e_tmpdir());
	REQUIRE(mkdtemp(dir) != NULL);
	for (int i = 0; i < 3 && !t_failed; i++) {
		char arena[200];

		/* a lone slubd: its socket, then its arena (1 GiB: some milliseconds to make) */
		hup_storm(dir, NULL, "1G", "ready: serving");
		snprintf(arena, sizeof(arena), "%s/slubd.arena", dir);
		unlink(arena);
		/* the supervisor: its servers, starting while it passes the storm on */
		hup_storm(dir, "[access]\nsocket_mode = 0666\n[arena a]\nsize = 8M\n[arena b]\n"
			  "size = 8M\n", "16M", "ready: all 3 arenas serving");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}

/* ---- SIGTERM with a server that does not act on it ---- */

static const char *const two_conf =
	"[access]\nsocket_mode = 0666\n[arena a]\nsize = 16M\n[arena b]\nsize = 16M\n";

E2E_CASE(stopped_server)
{
	struct e2e_opts o = { .config = two_conf };
	char sa[200];
	struct e2e_slubd *d;
	pid_t pa;

	d = e2e_start(&o);
	REQUIRE(d != NULL);
	snprintf(sa, sizeof(sa), "%s/a.sock", d->dir);
	pa = server_pid(sa, 10000);
	REQUIRE(pa > 0);
	REQUIRE(kill(pa, SIGSTOP) == 0);
	t_sleep_ms(100);
	/* SIGTERM, exit 0 within the stop timeout: the stopped server continued and stopped */
	e2e_stop(d);
	CHECKF(kill(pa, 0) != 0, "arena a's server %d outlived the supervisor", (int)pa);
	if (kill(pa, 0) == 0)
		kill(pa, SIGKILL);
}

E2E_CASE(stuck_server)
{
	struct e2e_opts o = { .config = two_conf };
	char sa[200], how[96];
	struct e2e_slubd *d;
	pid_t pa, sup;
	uint64_t t0, took;
	int st;

	if (geteuid() != 0)
		SKIP("needs root (ptrace of slubd's server)");
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	snprintf(sa, sizeof(sa), "%s/a.sock", d->dir);
	pa = server_pid(sa, 10000);
	REQUIRE(pa > 0);
	/* held in a ptrace stop: SIGTERM and SIGCONT wait for the tracer, SIGKILL does not */
	REQUIRE(ptrace(PTRACE_SEIZE, pa, NULL, NULL) == 0);
	REQUIRE(ptrace(PTRACE_INTERRUPT, pa, NULL, NULL) == 0);
	REQUIRE(waitpid(pa, &st, __WALL) == pa);
	sup = d->pid;
	t0 = t_now_ms();
	REQUIRE(kill(sup, SIGTERM) == 0);
	/*
	 * a traced child's death reaches its parent only once its tracer (this
	 * case) has reaped it: reap it meanwhile, as a tracer must
	 */
	st = -1;
	for (uint64_t end = t0 + (uint64_t)e2e_scale_ms(40000); t_now_ms() < end;) {
		int s;

		if (pa && waitpid(pa, &s, __WALL | WNOHANG) == pa && (WIFEXITED(s) || WIFSIGNALED(s)))
			pa = 0;
		if (waitpid(sup, &s, WNOHANG) == sup) {
			st = s;
			break;
		}
		t_sleep_ms(10);
	}
	if (st == -1) {
		kill(sup, SIGKILL);
		waitpid(sup, NULL, 0);
	}
	took = t_now_ms() - t0;
	d->pid = 0;	/* reaped here */
	CHECKF(st != -1, "the supervisor still ran 40 s after SIGTERM, its server stuck");
	CHECKF(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 1, "the supervisor, a server killed "
	       "after its grace: %s, want exit 1", st == -1 ? "killed" : t_status_str(st, how,
	       sizeof(how)));
	CHECKF(log_has(d, "arena a: slubd pid") && log_has(d, "killing it"), "the supervisor "
	       "did not say that it killed the stuck server");
	printf("  the supervisor ended %llu ms after SIGTERM\n", (unsigned long long)took);
	/* the tracee, if it still lives: ours to end and reap, as its tracer */
	if (pa) {
		kill(pa, SIGKILL);
		while (waitpid(pa, &st, __WALL) == pa && !WIFEXITED(st) && !WIFSIGNALED(st))
			;
	}
	if (t_failed)
		e2e_show_log(d, 30);
}

T_MAIN(T_CASE(path_aliases), T_CASE(default_name), T_CASE(numbers_wrap), T_CASE(sighup_revokes), T_CASE(restart_after_sighup),
       T_CASE(parent_link), T_CASE(sighup_at_start), T_CASE(stopped_server),
       T_CASE(stuck_server))
