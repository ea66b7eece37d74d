/*
 * t_names.c - named arenas ([arena NAME] sections, one slubd per arena under
 * a supervisor), the client's checks of what it connects to, and sizes past
 * 2^64.  slubd runs as root; the tenants are uids 65534 and 65533.
 *
 *   two_tenants        arenas a (uid 65534) and b (uid 65533): each user
 *                      attaches to its own by name ($SLUBD_ARENA and
 *                      slub_attach("NAME"), through the built-in default
 *                      directory) and stores a pool there; attaching to the
 *                      other's is refused with slubd's reason; the other
 *                      arena never lists that pool; a process attached to
 *                      one arena cannot attach to another (-EISCONN); slubctl
 *                      --arena names the arena it shows
 *   restart_child      the server of arena a SIGKILLed: the supervisor starts
 *                      another (logged), which adopts the arena with its
 *                      pools; the default arena's server never changed
 *   sigterm_stops_all  SIGTERM to the supervisor: every server exits, every
 *                      socket is gone, the supervisor exits 0 after them
 *   sighup_named       [arena b]'s list extended in the file, SIGHUP to the
 *                      supervisor: b's server applies it (uid 65534, refused
 *                      before, attaches)
 *   notify_supervised  under NOTIFY_SOCKET: READY=1 once, from the supervisor,
 *                      when every arena serves; a server killed and
 *                      restarted says neither READY=1 nor STOPPING=1 (which
 *                      would make systemd stop the whole service); STOPPING=1
 *                      once, from the supervisor, at the end
 *   default_unchanged  without [arena NAME] sections slubd is one process
 *                      (the pid answering the socket is slubd's own), as before;
 *                      with them the default arena still answers its socket
 *   bad_names          [arena Bad], [arena slubd], two arenas on one socket,
 *                      bad or unknown keys in a named section: refused at
 *                      start with the reason, exit 2
 *   server_fails_start a named arena's server cannot start (its socket's
 *                      directory cannot be made): every server stops, the
 *                      supervisor exits 1 naming that arena
 *   squatted_tmp_dir   /tmp/slubd-65533 made by uid 65534 (0777, then 0755),
 *                      its slubd.sock a link to 65534's own slubd: uid 65533's
 *                      slub_attach(NULL) and slubctl refuse it, saying why;
 *                      then the directory 65533's own but 0777, then 0755
 *                      with the socket still a link: refused too; 65534's
 *                      slubd never sees a pool of 65533's
 *   foreign_peer       an explicit socket path to a slubd of another uid:
 *                      refused (SO_PEERCRED), unless $SLUBD_DAEMON_UID names
 *                      that uid
 *   size_overflow      --arena-size 17179869184G (2^64 bytes) and
 *                      17592186044480M (2^64 + 64 MiB, which wrapped to a
 *                      valid 64 MiB), and the same in [arena] size: refused
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "e2e.h"
#include "harness.h"
#include "slub.h"

#define UID_A 65534
#define UID_B 65533

static const char *const two_conf =
	"[access]\n"
	"socket_mode = 0666\n"
	"[arena a]\n"
	"size = 16M\n"
	"allow_uids = 65534\n"
	"[arena b]\n"
	"size = 32M\n"
	"allow_uids = 65533\n";

static void be(uid_t uid)
{
	if (setgroups(0, NULL) || setgid(uid) || setuid(uid)) {
		printf("  cannot become uid %u: %s\n", (unsigned)uid, strerror(errno));
		exit(1);
	}
}

/* the pid of the process answering sock (SO_PEERCRED), waiting for it to serve; 0: none */
static pid_t server_pid(const char *sock, int timeout_ms)
{
	uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms);
	char err[256];

	for (;;) {
		struct ctl_conn c;

		if (ctl_connect(&c, sock, "t_names", err, sizeof(err)) == 0) {
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

static void sock_of(const struct e2e_slubd *d, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s.sock", d->dir, name);
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

/*
 * The built-in default directory /tmp/slubd-UID of a tenant uid, made the
 * case's own: in a private mount namespace, something is mounted over it (a
 * tmpfs, or the daemon's directory), so that nothing outside the case sees
 * it.  The mount point itself is an empty directory of root's in /tmp,
 * removed when the case ends (made only if absent; a root-owned empty
 * directory is what a client trusts anyway).
 */
static char mps[2][32];
static int nr_mps;

static void mps_cleanup(void)
{
	for (int i = 0; i < nr_mps; i++) {
		umount2(mps[i], MNT_DETACH);
		rmdir(mps[i]);
	}
	nr_mps = 0;
}

static int private_ns(void)
{
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		printf("  unshare/mount: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* the mount point /tmp/slubd-UID; its path in buf */
static int mount_point(uid_t uid, char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/slubd-%u", (unsigned)uid);
	if (mkdir(buf, 0755) == 0) {
		if (nr_mps < 2)
			snprintf(mps[nr_mps++], sizeof(mps[0]), "%s", buf);
	} else if (errno != EEXIST) {
		printf("  mkdir %s: %s\n", buf, strerror(errno));
		return -1;
	}
	return 0;
}

/* make /tmp/slubd-UID the daemon's directory itself (a bind mount: its owner and mode) */
static int default_dir_is(const struct e2e_slubd *d, uid_t uid)
{
	char dir[32];

	if (mount_point(uid, dir, sizeof(dir)) || mount(d->dir, dir, NULL, MS_BIND, NULL)) {
		printf("  bind %s on %s: %s\n", d->dir, dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* a client of the built-in defaults: no socket, arena or daemon uid from the environment */
static void plain_env(void)
{
	unsetenv("SLUBD_SOCKET");
	unsetenv("SLUBD_ARENA");
	unsetenv("SLUBD_DAEMON_UID");
	unsetenv("XDG_RUNTIME_DIR");
}

/* ---- two tenants ---- */

struct tenant_arg {
	const char *own, *other;	/* arena names */
	uid_t uid;
	const char *pool;
};

static void tenant(void *arg)
{
	const struct tenant_arg *t = arg;
	struct kmem_cache *s;
	char *secret;
	int rc;

	plain_env();
	be(t->uid);
	/* its own arena, by $SLUBD_ARENA */
	setenv("SLUBD_ARENA", t->own, 1);
	rc = slub_attach(NULL);
	CHECKF(rc == 0, "uid %u: slub_attach(NULL) with SLUBD_ARENA=%s: %d (%s)", (unsigned)t->uid,
	       t->own, rc, slub_attach_error());
	if (rc)
		return;
	s = kmem_cache_create(t->pool, 64, 0, 0, NULL);
	CHECKF(s != NULL, "uid %u: create %s in arena %s: %s", (unsigned)t->uid, t->pool, t->own,
	       strerror(errno));
	if (!s)
		return;
	secret = kmem_cache_alloc(s, GFP_KERNEL);
	CHECK(secret != NULL);
	if (secret)
		snprintf(secret, 64, "secret of uid %u", (unsigned)t->uid);
	/* a process is attached to one arena at most */
	rc = slub_attach(t->other);
	CHECKF(rc == -EISCONN, "uid %u attached to %s: slub_attach(\"%s\") gave %d, not -EISCONN",
	       (unsigned)t->uid, t->own, t->other, rc);
	CHECKF(strstr(slub_attach_error(), "slub_detach() first") &&
	       strstr(slub_attach_error(), t->own), "the reason given: \"%s\"", slub_attach_error());
	rc = slub_attach(t->own);
	CHECKF(rc == -EISCONN, "a second slub_attach(\"%s\"): %d", t->own, rc);
	/* the pool stays while this process holds it: the parent looks from the other side */
	slub_detach();
	unsetenv("SLUBD_ARENA");

	/* the other's arena: slubd's policy refuses, with its reason */
	rc = slub_attach(t->other);
	CHECKF(rc == -EACCES, "uid %u: slub_attach(\"%s\") (not its arena): %d (%s), not -EACCES",
	       (unsigned)t->uid, t->other, rc, slub_attach_error());
	{
		char sock[48];

		snprintf(sock, sizeof(sock), "/%s.sock", t->other);
		CHECKF(strstr(slub_attach_error(), sock) != NULL && strstr(slub_attach_error(), "65"),
		       "the reason does not say it: \"%s\"", slub_attach_error());
	}
	/* and by name again, its own: fine */
	rc = slub_attach(t->own);
	CHECKF(rc == 0, "uid %u: slub_attach(\"%s\") after detach: %d (%s)", (unsigned)t->uid, t->own,
	       rc, slub_attach_error());
	if (rc == 0) {
		s = kmem_cache_create(t->pool, 64, 0, 0, NULL);
		CHECK(s != NULL);
		/* kept: slubctl create would keep it; here the pool only needs to exist */
		slub_detach();
	}
}

static void two_tenants_in_ns(void)
{
	struct e2e_opts o = { .config = two_conf, .open_dir = 1 };
	struct tenant_arg ta = { "a", "b", UID_A, "names.a.secret" };
	struct tenant_arg tb = { "b", "a", UID_B, "names.b.secret" };
	char sa[160], sb[160];
	struct e2e_arena ara, arb;
	struct e2e_slubd *d;
	char *out = NULL;
	pid_t pa, pb;
	int rc;

	if (geteuid() != 0)
		SKIP("needs root (slubd as root, clients as uids 65534 and 65533, a mount namespace)");
	REQUIRE(private_ns() == 0);
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	sock_of(d, "a", sa, sizeof(sa));
	sock_of(d, "b", sb, sizeof(sb));
	REQUIRE(server_pid(sa, 10000) > 0 && server_pid(sb, 10000) > 0);
	/* each arena its own: their sizes are their sections' */
	REQUIRE(e2e_cache_stats(sa, "kmalloc-64", NULL, &ara) >= 0);
	REQUIRE(e2e_cache_stats(sb, "kmalloc-64", NULL, &arb) >= 0);
	CHECKF(ara.size == 16u << 20 && arb.size == 32u << 20, "arena sizes %llu and %llu, not 16 "
	       "and 32 MiB", (unsigned long long)ara.size, (unsigned long long)arb.size);
	REQUIRE(default_dir_is(d, UID_A) == 0 && default_dir_is(d, UID_B) == 0);

	/* slubctl --arena and $SLUBD_ARENA: the arena it shows is named */
	rc = e2e_slubctl(d, &out, "stats", NULL);
	CHECKF(rc == 0 && strstr(out, "arena:         default"), "slubctl stats (default): %d\n%s",
	       rc, out ? out : "");
	free(out);
	out = NULL;
	{
		char *argv[] = { (char *)e2e_need_bin("SLUBCTL", "slubctl"), "--arena", "b", "stats",
				 NULL };

		setenv("SLUBD_SOCKET", d->sock, 1);
		rc = e2e_run(argv, &out, 10000);
		unsetenv("SLUBD_SOCKET");
		CHECKF(rc == 0 && strstr(out, "arena:         b (socket ") &&
		       strstr(out, "arena size:    33554432"), "slubctl --arena b stats: %d\n%s", rc,
		       out ? out : "");
		free(out);
		out = NULL;
	}

	pa = t_fork(tenant, &ta);
	pb = t_fork(tenant, &tb);
	t_wait(pa, "uid 65534, tenant of arena a");
	t_wait(pb, "uid 65533, tenant of arena b");
	/* what each stored is in its arena only */
	CHECKF(e2e_cache_stats(sb, ta.pool, NULL, NULL) == 0, "arena b lists a's pool %s", ta.pool);
	CHECKF(e2e_cache_stats(sa, tb.pool, NULL, NULL) == 0, "arena a lists b's pool %s", tb.pool);
	CHECKF(e2e_cache_stats(d->sock, ta.pool, NULL, NULL) == 0 &&
	       e2e_cache_stats(d->sock, tb.pool, NULL, NULL) == 0, "the default arena lists a pool "
	       "of a tenant");
	e2e_stop(d);
}

/* the mount points go whatever happened (REQUIRE returns early; the case ends with _exit) */
E2E_CASE(two_tenants)
{
	two_tenants_in_ns();
	mps_cleanup();
}

/* ---- the supervisor ---- */

E2E_CASE(restart_child)
{
	struct e2e_opts o = { .config = two_conf, .open_dir = 1 };
	char sa[160], *out = NULL;
	struct e2e_slubd *d;
	pid_t a0, a1, def0;
	int rc;

	d = e2e_start(&o);
	REQUIRE(d != NULL);
	sock_of(d, "a", sa, sizeof(sa));
	a0 = server_pid(sa, 10000);
	def0 = server_pid(d->sock, 10000);
	REQUIRE(a0 > 0 && def0 > 0);
	CHECKF(a0 != d->pid && def0 != d->pid && a0 != def0, "supervisor %d, default %d, a %d: not "
	       "one process per arena", (int)d->pid, (int)def0, (int)a0);
	{
		char *argv[] = { (char *)e2e_need_bin("SLUBCTL", "slubctl"), "-s", sa, "create",
				 "names.kept", "100", NULL };

		rc = e2e_run(argv, &out, 10000);
		CHECKF(rc == 0, "slubctl create in arena a: %d\n%s", rc, out ? out : "");
		free(out);
	}
	REQUIRE(kill(a0, SIGKILL) == 0);
	/* a new server for a, within the backoff and a start */
	{
		uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(10000);

		do {
			t_sleep_ms(50);
			a1 = server_pid(sa, 100);
		} while ((a1 == 0 || a1 == a0) && t_now_ms() < end);
	}
	CHECKF(a1 > 0 && a1 != a0, "arena a not served again after its slubd %d was killed (now %d)",
	       (int)a0, (int)a1);
	CHECKF(log_has(d, "arena a: slubd pid") && log_has(d, "restarting it in"),
	       "the supervisor did not log the restart");
	CHECKF(e2e_cache_stats(sa, "names.kept", NULL, NULL) == 1, "the restarted server of a lost "
	       "the pool names.kept");
	CHECKF(server_pid(d->sock, 10000) == def0, "the default arena's server changed");
	CHECK(e2e_alive(d, "after a server of its was killed"));
	if (t_failed)
		e2e_show_log(d, 30);
	e2e_stop(d);
}

E2E_CASE(sigterm_stops_all)
{
	struct e2e_opts o = { .config = two_conf, .open_dir = 1 };
	char sa[160], sb[160];
	struct e2e_slubd *d;
	pid_t pd, pa, pb;

	d = e2e_start(&o);
	REQUIRE(d != NULL);
	sock_of(d, "a", sa, sizeof(sa));
	sock_of(d, "b", sb, sizeof(sb));
	pd = server_pid(d->sock, 10000);
	pa = server_pid(sa, 10000);
	pb = server_pid(sb, 10000);
	REQUIRE(pd > 0 && pa > 0 && pb > 0);
	e2e_stop(d);	/* SIGTERM; exit 0 within the stop timeout */
	CHECKF(kill(pd, 0) && kill(pa, 0) && kill(pb, 0), "a server outlived the supervisor "
	       "(%d %d %d)", (int)pd, (int)pa, (int)pb);
	CHECKF(access(d->sock, F_OK) && access(sa, F_OK) && access(sb, F_OK),
	       "a socket is left after SIGTERM");
	CHECKF(log_has(d, "stopped: every arena's slubd has ended"), "the supervisor's last word is "
	       "missing");
}

/* uid 65534 attaches to arena NAME of sock's directory: slub_attach's answer */
static void attach_as_a(void *arg)
{
	int *rc = arg;

	be(UID_A);
	*rc = slub_attach(getenv("T_NAMES_SOCK"));
	if (*rc == 0)
		slub_detach();
}

E2E_CASE(sighup_named)
{
	struct e2e_opts o = { .config = two_conf, .open_dir = 1 };
	char sb[160], line[256];
	struct e2e_slubd *d;
	int *rc = t_shared(sizeof(int));
	FILE *f;

	if (geteuid() != 0)
		SKIP("needs root (slubd as root, a client as uid 65534)");
	d = e2e_start(&o);
	REQUIRE(d != NULL && rc != NULL);
	sock_of(d, "b", sb, sizeof(sb));
	REQUIRE(server_pid(sb, 10000) > 0);
	setenv("T_NAMES_SOCK", sb, 1);
	t_wait(t_fork(attach_as_a, rc), "uid 65534 attaching to arena b");
	CHECKF(*rc == -EACCES, "uid 65534 attached to arena b before it was allowed: %d", *rc);
	/* arena b's list now names 65534: SIGHUP to the supervisor, passed on to b's server */
	f = fopen(d->conf, "a");
	REQUIRE(f != NULL);
	fputs("[arena b]\nallow_uids = 65533 65534\n", f);
	fclose(f);
	REQUIRE(kill(d->pid, SIGHUP) == 0);
	for (int i = 0; i < 100; i++) {
		t_wait(t_fork(attach_as_a, rc), "uid 65534 attaching to arena b");
		if (*rc == 0)
			break;
		t_sleep_ms(e2e_scale_ms(50));
	}
	CHECKF(*rc == 0, "after SIGHUP, uid 65534 still cannot attach to arena b: %d", *rc);
	snprintf(line, sizeof(line), "SIGHUP: passed to every arena's slubd");
	CHECK(log_has(d, line));
	e2e_stop(d);
}

/* the notify datagrams: text "pid:MSG|" for each, appended to all */
static void notify_drain(int fd, char *all, size_t cap, int ms)
{
	uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(ms);

	do {
		char buf[512], cbuf[CMSG_SPACE(sizeof(struct ucred))];
		struct iovec iov = { buf, sizeof(buf) - 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
		pid_t pid = 0;

		if (n <= 0) {
			t_sleep_ms(10);
			continue;
		}
		buf[n] = 0;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS) {
				struct ucred cr;

				memcpy(&cr, CMSG_DATA(cm), sizeof(cr));
				pid = cr.pid;
			}
		snprintf(all + strlen(all), cap - strlen(all), "%d:%s|", (int)pid, buf);
	} while (t_now_ms() < end);
}

static int count_of(const char *all, const char *what)
{
	int n = 0;

	for (const char *p = all; (p = strstr(p, what)); p++)
		n++;
	return n;
}

E2E_CASE(notify_supervised)
{
	struct e2e_opts o = { .config = two_conf };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/t_names-notify.XXXXXX", sk[160], want[32];
	static char all[16384];
	struct e2e_slubd *d;
	int fd, one = 1;
	pid_t a0, a1 = 0;

	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	REQUIRE(setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) == 0);
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	d = e2e_start(&o);
	unsetenv("NOTIFY_SOCKET");
	REQUIRE(d != NULL);
	/* READY=1 once, from the supervisor, when every arena serves */
	for (int i = 0; i < 100 && !strstr(all, "READY=1"); i++)
		notify_drain(fd, all, sizeof(all), 50);
	snprintf(want, sizeof(want), "%d:READY=1", (int)d->pid);
	CHECKF(strstr(all, want) != NULL, "no READY=1 from the supervisor (pid %d): %s", (int)d->pid,
	       all);
	sock_of(d, "a", sk, sizeof(sk));
	a0 = server_pid(sk, 100);
	CHECKF(a0 > 0, "READY=1 came before arena a served");
	sock_of(d, "b", sk, sizeof(sk));
	CHECKF(server_pid(sk, 100) > 0, "READY=1 came before arena b served");
	/* a server dies and comes back: no READY=1 again, and no STOPPING=1 (the service's end) */
	if (a0 > 0) {
		uint64_t end;

		REQUIRE(kill(a0, SIGKILL) == 0);
		sock_of(d, "a", sk, sizeof(sk));
		end = t_now_ms() + (uint64_t)e2e_scale_ms(10000);
		do {
			notify_drain(fd, all, sizeof(all), 50);
			a1 = server_pid(sk, 50);
		} while ((a1 == 0 || a1 == a0) && t_now_ms() < end);
		CHECKF(a1 > 0 && a1 != a0, "arena a not served again");
		notify_drain(fd, all, sizeof(all), 300);
		CHECKF(count_of(all, "READY=1") == 1 && !strstr(all, "STOPPING=1"), "a server's restart "
		       "said READY=1 again or STOPPING=1 to the service manager: %s", all);
	}
	snprintf(want, sizeof(want), "%d:STOPPING=1", (int)d->pid);
	e2e_stop(d);
	notify_drain(fd, all, sizeof(all), 300);
	CHECKF(strstr(all, want) && count_of(all, "STOPPING=1") == 1, "STOPPING=1 not once, from the "
	       "supervisor: %s", all);
	close(fd);
	unlink(sa.sun_path);
	rmdir(dir);
}

E2E_CASE(default_unchanged)
{
	struct e2e_opts plain = { .config = "[access]\nsocket_mode = 0666\n" };
	struct e2e_opts named = { .config = two_conf };
	struct e2e_slubd *d;
	struct kmem_cache *s;
	pid_t p;

	d = e2e_start(&plain);
	REQUIRE(d != NULL);
	p = server_pid(d->sock, 10000);
	CHECKF(p == d->pid, "without named arenas the socket is answered by pid %d, not slubd (%d)",
	       (int)p, (int)d->pid);
	CHECKF(!log_has(d, "supervising"), "a supervisor without named arenas");
	e2e_stop(d);

	d = e2e_start(&named);
	REQUIRE(d != NULL);
	setenv("SLUBD_SOCKET", d->sock, 1);
	REQUIRE(slub_attach(NULL) == 0);
	s = kmem_cache_create("names.default", 32, 0, 0, NULL);
	CHECK(s != NULL);
	if (s) {
		void *x = kmem_cache_alloc(s, GFP_KERNEL);

		CHECK(x != NULL);
		kmem_cache_free(s, x);
		CHECK(e2e_cache_stats(d->sock, "names.default", NULL, NULL) == 1);
		kmem_cache_destroy(s);
	}
	slub_detach();
	unsetenv("SLUBD_SOCKET");
	e2e_stop(d);
}

/* slubd with this config must refuse to start, exit 2, saying want */
static void refused_conf(const char *conf, const char *want)
{
	char dir[] = "/tmp/t_names.XXXXXX", path[64], sock[64], *out = NULL;
	char *argv[] = { (char *)e2e_need_bin("SLUBD", "slubd"), "--foreground", "--socket", sock,
			 "--hugepages", "off", "--config", path, NULL };
	FILE *f;
	int rc;

	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/c.conf", dir);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	f = fopen(path, "w");
	REQUIRE(f != NULL);
	fputs(conf, f);
	fclose(f);
	rc = e2e_run(argv, &out, 5000);
	CHECKF(rc == 2 && out && strstr(out, want), "config:\n%sslubd: exit %d, want 2 and \"%s\":\n%s",
	       conf, rc, want, out ? out : "");
	free(out);
	unlink(path);
	rmdir(dir);
}

E2E_CASE(bad_names)
{
	refused_conf("[arena Bad]\nsize = 16M\n", "bad arena name");
	refused_conf("[arena slubd]\n", "bad arena name");
	refused_conf("[arena a]\nsocket = /tmp/x/b.sock\n[arena b]\nsocket = /tmp/x/b.sock\n",
		     "share the socket");
	refused_conf("[arena a]\nsize = lots\n", "bad value for [arena a] size");
	refused_conf("[arena]\nsize = 3M\n", "[arena] size = 3M: 3145728 bytes, below the minimum of 8 MiB");
	refused_conf("[arena a]\nsize = 1024G\n[arena b]\nsize = 1025G\n",
		     "[arena b] size = 1025G: 1100585369600 bytes, above the maximum of 1024 GiB");
	refused_conf("[arena a]\nmax_clients = 0\n", "bad value for [arena a] max_clients");
	refused_conf("[arena a]\nflavour = 1\n", "unknown setting [arena a] flavour");
	refused_conf("[arena a]\nsocket = relative/a.sock\n", "bad value for [arena a] socket");
}

/* a server that cannot start while the supervisor starts: all stop, exit 1, saying which */
E2E_CASE(server_fails_start)
{
	char dir[] = "/tmp/t_names.XXXXXX", path[64], sock[64], *out = NULL;
	char *argv[] = { (char *)e2e_need_bin("SLUBD", "slubd"), "--foreground", "--socket", sock,
			 "--hugepages", "off", "--arena-size", "16M", "--config", path, NULL };
	FILE *f;
	int rc;

	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/c.conf", dir);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	f = fopen(path, "w");
	REQUIRE(f != NULL);
	/* a directory that cannot be made: its server fails, the default one had started */
	fputs("[arena a]\nsize = 16M\nsocket = /proc/self/no/a.sock\n", f);
	fclose(f);
	rc = e2e_run(argv, &out, 10000);
	CHECKF(rc == 1 && out && strstr(out, "arena a: slubd pid") &&
	       strstr(out, "could not start") && strstr(out, "stopped: every arena's slubd has ended"),
	       "slubd: exit %d, want 1 and the failing arena named:\n%s", rc, out ? out : "");
	CHECKF(access(sock, F_OK) != 0, "the default arena's socket is left");
	free(out);
	unlink(path);
	snprintf(path, sizeof(path), "%s/slubd.arena", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/a.arena", dir);
	unlink(path);
	rmdir(dir);
}

/* ---- what a client connects to ---- */

struct victim_arg {
	const char *expect;	/* in the reason */
	const char *sock;	/* an explicit socket; NULL: the default */
	const char *daemon_uid;	/* $SLUBD_DAEMON_UID; NULL: unset */
	int want;		/* slub_attach's answer */
};

static void victim(void *arg)
{
	const struct victim_arg *v = arg;
	struct kmem_cache *s;
	int rc;

	plain_env();
	if (v->daemon_uid)
		setenv("SLUBD_DAEMON_UID", v->daemon_uid, 1);
	be(UID_B);
	rc = slub_attach(v->sock);
	CHECKF(rc == v->want, "uid %u: slub_attach(%s): %d (%s), want %d", (unsigned)UID_B,
	       v->sock ? v->sock : "NULL", rc, slub_attach_error(), v->want);
	if (v->expect)
		CHECKF(strstr(slub_attach_error(), v->expect) != NULL,
		       "the reason \"%s\" does not say \"%s\"", slub_attach_error(), v->expect);
	if (rc == 0) {
		/* what a squatter would get */
		s = kmem_cache_create("victim.secret", 64, 0, 0, NULL);
		if (s)
			strcpy(kmem_cache_alloc(s, GFP_KERNEL), "the victim's secret");
		slub_detach();
	}
}

static char slubctl_copy[200];	/* slubctl where another uid may run it */

/* copy slubctl into dir (the build folder may be closed to other uids) */
static int copy_slubctl(const char *dir)
{
	const char *bin = e2e_need_bin("SLUBCTL", "slubctl");
	char buf[65536];
	int in = open(bin, O_RDONLY), out;
	ssize_t n;

	snprintf(slubctl_copy, sizeof(slubctl_copy), "%s/slubctl", dir);
	out = open(slubctl_copy, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (in < 0 || out < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return -1;
	close(in);
	return close(out) || n < 0 ? -1 : 0;
}

/* slubctl as the victim: refuses too, exit 3, saying why */
static void victim_slubctl(void *arg)
{
	char *argv[] = { slubctl_copy, "stats", NULL };
	char *out = NULL;
	int rc;

	plain_env();
	be(UID_B);
	rc = e2e_run(argv, &out, 10000);
	CHECKF(rc == 3 && out && strstr(out, arg), "slubctl stats as uid %u: %d\n%s",
	       (unsigned)UID_B, rc, out ? out : "");
	free(out);
}

static void squatted_in_ns(void)
{
	/* the squatter's slubd, which lets the victim in */
	struct e2e_opts o = {
		.config = "[access]\nsocket_mode = 0666\nallow_uids = 65533\n",
		.open_dir = 1,
		.run_as = UID_A,
	};
	char dir[32], link[64];
	struct victim_arg dir_open = { "mode 0777", NULL, NULL, -EPERM };
	struct victim_arg dir_foreign = { "belongs to uid 65534", NULL, NULL, -EPERM };
	struct victim_arg sock_link = { "symbolic link", NULL, NULL, -EPERM };
	struct e2e_slubd *d;

	if (geteuid() != 0)
		SKIP("needs root (uids 65534 and 65533, a mount namespace)");
	REQUIRE(private_ns() == 0);
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	/* uid 65534 squats uid 65533's default directory, a link to its own slubd in it */
	REQUIRE(mount_point(UID_B, dir, sizeof(dir)) == 0);
	REQUIRE(mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0777") == 0);
	REQUIRE(chown(dir, UID_A, UID_A) == 0 && chmod(dir, 0777) == 0);
	snprintf(link, sizeof(link), "%s/slubd.sock", dir);
	REQUIRE(symlink(d->sock, link) == 0 && lchown(link, UID_A, UID_A) == 0);
	REQUIRE(copy_slubctl(d->dir) == 0);

	t_wait(t_fork(victim, &dir_foreign), "the victim, directory 0777 of uid 65534");
	t_wait(t_fork(victim_slubctl, (void *)"belongs to uid 65534"), "slubctl, directory 0777");
	REQUIRE(chmod(dir, 0755) == 0);
	t_wait(t_fork(victim, &dir_foreign), "the victim, directory 0755 of uid 65534");
	/* the victim's own directory, but open to all (the link planted meanwhile) */
	REQUIRE(chown(dir, UID_B, UID_B) == 0 && chmod(dir, 0777) == 0);
	t_wait(t_fork(victim, &dir_open), "the victim, its directory 0777");
	t_wait(t_fork(victim_slubctl, (void *)"chmod go-w"), "slubctl, its directory 0777");
	/* closed again, the socket in it still a link */
	REQUIRE(chmod(dir, 0755) == 0);
	t_wait(t_fork(victim, &sock_link), "the victim, its directory 0755, the socket a link");
	CHECKF(e2e_cache_stats(d->sock, "victim.secret", NULL, NULL) == 0,
	       "the victim's pool is in the squatter's arena");
	e2e_stop(d);
}

E2E_CASE(squatted_tmp_dir)
{
	squatted_in_ns();
	mps_cleanup();
}

E2E_CASE(foreign_peer)
{
	struct e2e_opts o = {
		.config = "[access]\nsocket_mode = 0666\nallow_uids = 65533\n",
		.open_dir = 1,
		.run_as = UID_A,
	};
	struct victim_arg refused = { "runs as uid 65534", NULL, NULL, -EPERM };
	struct victim_arg trusted = { NULL, NULL, "65534", 0 };
	struct victim_arg by_name = { NULL, NULL, "nobody", 0 };
	struct e2e_slubd *d;

	if (geteuid() != 0)
		SKIP("needs root (slubd as uid 65534, a client as 65533)");
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	refused.sock = trusted.sock = by_name.sock = d->sock;
	t_wait(t_fork(victim, &refused), "a client of a slubd of another uid");
	CHECKF(e2e_cache_stats(d->sock, "victim.secret", NULL, NULL) == 0,
	       "the refused client's pool is in the other uid's arena");
	t_wait(t_fork(victim, &trusted), "SLUBD_DAEMON_UID=65534");
	if (getpwnam("nobody") && getpwnam("nobody")->pw_uid == UID_A)
		t_wait(t_fork(victim, &by_name), "SLUBD_DAEMON_UID=nobody");
	e2e_stop(d);
}

/* ---- sizes past 2^64 ---- */

E2E_CASE(size_overflow)
{
	static const char *const sizes[] = { "17179869184G", "17592186044480M", "18014398509481984K",
					     "18446744073709551616" };
	char dir[] = "/tmp/t_names.XXXXXX", sock[64], conf[128];

	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char *argv[] = { (char *)e2e_need_bin("SLUBD", "slubd"), "--foreground", "--socket",
				 sock, "--hugepages", "off", "--arena-size", (char *)sizes[i], NULL };
		char *out = NULL;
		int rc = e2e_run(argv, &out, 5000);

		CHECKF(rc == 2 && out && strstr(out, "bad --arena-size"), "--arena-size %s: exit %d, "
		       "want 2 (refused):\n%s", sizes[i], rc, out ? out : "");
		free(out);
		snprintf(conf, sizeof(conf), "[arena]\nsize = %s\n", sizes[i]);
		refused_conf(conf, "bad value for [arena] size");
	}
	unlink(sock);
	rmdir(dir);
}

T_MAIN(T_CASE(two_tenants), T_CASE(restart_child), T_CASE(sigterm_stops_all),
       T_CASE(sighup_named), T_CASE(notify_supervised), T_CASE(default_unchanged), T_CASE(bad_names), T_CASE(server_fails_start),
       T_CASE(squatted_tmp_dir),
       T_CASE(foreign_peer), T_CASE(size_overflow))
