/*
 * t_store.c - the arena's backing, its owner and its paths, against a client
 * and a host that do not play fair (issue 11, items 1-3).
 *
 *   fd_store_memfd     slubd under a service manager (this test plays it: a
 *                      datagram NOTIFY_SOCKET that receives SCM_RIGHTS): the
 *                      arena is a memfd handed to the fd store (FDSTORE=1,
 *                      FDNAME=arena).  A client's ftruncate of the fd it was
 *                      sent, shorter or longer, is refused by the kernel
 *                      (EPERM: sealed); a punched hole reads as zeros and
 *                      slubd answers stats and validate.  slubd stopped, then
 *                      started again with the stored fd and a listening socket
 *                      (LISTEN_FDS=2, LISTEN_FDNAMES=slubd.socket:arena): it
 *                      adopts the arena and the pools are there
 *   fd_store_named     the same with an [arena nb] section (a supervisor, a
 *                      server per arena): each server's memfd is stored under
 *                      its name, and at the restart each gets its own back
 *                      (LISTEN_FDNAMES=slubd.socket:arena-nb:arena): both
 *                      arenas' pools survive
 *   fd_store_crash     the same, a server SIGKILLed (nb twice, the default
 *                      once): the supervisor's restart adopts the same memfd
 *                      arena (made during this run, so not among what systemd
 *                      passed at start) with its pool; no server holds the
 *                      other's arena.  Then a service restart with the stored
 *                      fds, and the same crashes again
 *   file_cut_grow_punch a file-backed arena: a client grows the file, cuts it
 *                      to half while a pool's slabs (half their objects free,
 *                      so validate follows free pointers there) lie past the
 *                      cut, punches a hole; slubd answers stats and validate after each,
 *                      restores the size, and a restarted slubd adopts the
 *                      arena with its pools; then a cut to 1 MiB (into the
 *                      life words slubd's threads use): slubd answers
 *   cut_unrestorable   a cut slubd cannot undo (its RLIMIT_FSIZE lowered) under
 *                      a validate that walks the lost slabs holding the pool's
 *                      locks: slubd lives, the next validates are answered
 *                      (no lock left held), the size comes back later
 *   cut_at_start       a client cuts the arena file again and again while
 *                      slubd starts and adopts it: slubd never dies of SIGBUS
 *   hugetlb_punch      a huge page arena: a client punches a huge page and
 *                      takes the free one: slubd's touches fault for good
 *                      until it is let go; slubd answers, no lock stays held,
 *                      the page is mapped back (SLUBD_TEST_HUGETLB=1: it
 *                      changes vm.nr_hugepages)
 *   two_daemons_dir    two slubds, two sockets, one directory (so one arena
 *                      file): the second refuses, naming the first by pid
 *   two_daemons_file   two slubds, two directories, one --arena-file: the same
 *   client_lock        a client locks the arena file it was sent (OFD lock,
 *                      flock) once slubd stopped: the next slubd starts all
 *                      the same and adopts the pools; a second is refused
 *   racing_start       two slubds started at once on one directory, before
 *                      either has made the arena: one serves, one refuses
 *   squatted_tmp       /tmp/slubd-65534 made by uid 65533, mode 0777, holding a
 *                      planted arena: slubd as uid 65534 (its default socket)
 *                      refuses it, writes nothing there; then a directory of
 *                      its own holding an arena file of uid 65533: refused
 *   symlinked_paths    a socket directory that is a symbolic link into a
 *                      directory of uid 65533, and an arena file that is a link
 *                      to a planted arena: refused, nothing written there
 *
 * Each fails on the slubd before issue 11 (unsealed memfd, no fd store, no
 * lock, no path checks, no guard): see the commit that added it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/falloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "e2e.h"
#include "harness.h"
#include "slub.h"

#define MIB (1u << 20)
#define VICTIM 65534
#define SQUATTER 65533
#define ARENA_BYTES (64u << 20)

/* ---- slubd started by hand: an environment, fds, a uid ------------------------ */

struct daemon {
	pid_t pid;
	char log[200];
};

struct spawn {
	const char *bin;		/* NULL: $SLUBD */
	char *const *args;		/* after slubd --foreground; NULL-terminated */
	uid_t uid;			/* 0: as we run */
	const char *notify;		/* NOTIFY_SOCKET, or NULL */
	int fds[4];			/* passed as 3, 4, ... (LISTEN_FDS), -1 ends */
	const char *fdnames;		/* LISTEN_FDNAMES */
	int default_socket;		/* clear SLUBD_SOCKET and XDG_RUNTIME_DIR */
	int plain_fds;			/* fds passed as 3, 4, ... without LISTEN_FDS */
};

static int nfds(const struct spawn *sp)
{
	int n = 0;

	while (n < 4 && sp->fds[n] >= 0)
		n++;
	return n;
}

/* start slubd; its output goes to log.  Returns the pid, or -1 */
static pid_t start(const struct spawn *sp, const char *log)
{
	const char *bin = sp->bin ? sp->bin : e2e_need_bin("SLUBD", "slubd");
	char *argv[24];
	int argc = 0, n = nfds(sp);
	pid_t pid;

	argv[argc++] = (char *)bin;
	argv[argc++] = "--foreground";
	for (int i = 0; sp->args && sp->args[i] && argc < 23; i++)
		argv[argc++] = sp->args[i];
	argv[argc] = NULL;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int nul = open("/dev/null", O_RDONLY);
		int moved[4];
		char buf[32];
		sigset_t none;

		if (lfd < 0 || nul < 0)
			_exit(126);
		dup2(nul, 0);
		dup2(lfd, 1);
		dup2(lfd, 2);
		/* out of the way of 3.. first, then into place */
		for (int i = 0; i < n; i++)
			moved[i] = fcntl(sp->fds[i], F_DUPFD, 64);
		for (int i = 0; i < n; i++) {
			dup2(moved[i], 3 + i);
			close(moved[i]);
		}
		for (int fd = 3 + n; fd < 1024; fd++)
			close(fd);
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDNAMES");
		unsetenv("NOTIFY_SOCKET");
		if (n && !sp->plain_fds) {
			snprintf(buf, sizeof(buf), "%d", n);
			setenv("LISTEN_FDS", buf, 1);
			snprintf(buf, sizeof(buf), "%d", (int)getpid());
			setenv("LISTEN_PID", buf, 1);
			if (sp->fdnames)
				setenv("LISTEN_FDNAMES", sp->fdnames, 1);
		}
		if (sp->notify)
			setenv("NOTIFY_SOCKET", sp->notify, 1);
		if (sp->default_socket) {
			unsetenv("SLUBD_SOCKET");
			unsetenv("XDG_RUNTIME_DIR");
		}
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (sp->uid && (setgroups(0, NULL) || setgid(sp->uid) || setuid(sp->uid)))
			_exit(126);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(bin, argv);
		_exit(127);
	}
	return pid;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
	if (buf && n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = 0;
	fclose(f);
	return buf ? buf : strdup("");
}

/* wait until the log (from offset from) says ready (1), or slubd exits (0, *status) */
static int wait_ready(pid_t pid, const char *log, size_t from, int *status, int timeout_ms)
{
	uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms);

	*status = -1;
	while (t_now_ms() < end) {
		char *text = slurp(log);
		int ready = strlen(text) > from && strstr(text + from, "ready: serving") != NULL;

		free(text);
		if (ready)
			return 1;
		if (waitpid(pid, status, WNOHANG) == pid)
			return 0;
		t_sleep_ms(20);
	}
	return -1;
}

static size_t log_len(const char *log)
{
	struct stat st;

	return stat(log, &st) == 0 ? (size_t)st.st_size : 0;
}

/* start and wait for ready; 0 or -1 with a failed check and the log shown */
static int start_ready(struct daemon *dm, const struct spawn *sp)
{
	size_t from = log_len(dm->log);
	int status, rc;

	dm->pid = start(sp, dm->log);
	if (dm->pid < 0) {
		CHECKF(0, "fork: %s", strerror(errno));
		return -1;
	}
	rc = wait_ready(dm->pid, dm->log, from, &status, 10000);
	if (rc != 1) {
		char *text = slurp(dm->log), why[64];

		CHECKF(0, "slubd did not become ready (%s); its log:\n%s",
		       rc == 0 ? t_status_str(status, why, sizeof(why)) : "timeout", text);
		free(text);
		if (rc < 0) {
			kill(dm->pid, SIGKILL);
			waitpid(dm->pid, NULL, 0);
		}
		dm->pid = 0;
		return -1;
	}
	return 0;
}

static void stop(struct daemon *dm)
{
	int status;

	if (dm->pid <= 0)
		return;
	CHECKF(kill(dm->pid, 0) == 0, "slubd pid %d died before it was stopped", (int)dm->pid);
	kill(dm->pid, SIGTERM);
	status = e2e_waitpid_timeout(dm->pid, e2e_scale_ms(5000));
	CHECKF(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "slubd pid %d did not stop cleanly on SIGTERM", (int)dm->pid);
	dm->pid = 0;
}

/*
 * a slubd that must refuse to start: non-zero exit within a few seconds, its
 * output naming want (and want2 if not NULL).  The output, malloc'd.
 */
static char *expect_refusal(const struct spawn *sp, const char *log, const char *what,
			    const char *want, const char *want2)
{
	size_t from = log_len(log);
	int status, rc;
	pid_t pid = start(sp, log);
	char *text, why[64];

	if (pid < 0) {
		CHECKF(0, "fork: %s", strerror(errno));
		return strdup("");
	}
	rc = wait_ready(pid, log, from, &status, 5000);
	if (rc != 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	text = slurp(log);
	memmove(text, text + (strlen(text) > from ? from : strlen(text)),
		strlen(text) - (strlen(text) > from ? from : strlen(text)) + 1);
	CHECKF(rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0,
	       "%s: slubd %s, want a refusal (non-zero exit); its log:\n%s", what,
	       rc == 1 ? "started and served" : rc < 0 ? "neither served nor exited" :
	       t_status_str(status, why, sizeof(why)), text);
	CHECKF(strstr(text, want) != NULL, "%s: the refusal does not say \"%s\":\n%s", what, want,
	       text);
	if (want2)
		CHECKF(strstr(text, want2) != NULL, "%s: the refusal does not say \"%s\":\n%s", what,
		       want2, text);
	return text;
}

/* ---- small helpers ----------------------------------------------------------------- */

/*
 * a private directory on tmpfs (e2e_tmpdir), where slubd puts its default
 * arena next to the socket (on a disk it refuses to)
 */
static int mkdir_tmp(char *out, size_t len, const char *tag)
{
	snprintf(out, len, "%s/slubd-st-%s.XXXXXX", e2e_tmpdir(), tag);
	if (!mkdtemp(out)) {
		CHECKF(0, "mkdtemp %s: %s", out, strerror(errno));
		return -1;
	}
	return 0;
}

static int run_cmd(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void rm_rf(const char *path)
{
	char cmd[400];

	/* only what these cases made: in /tmp, /dev/shm, or a slubd-st-* directory */
	if (path[0] && (strncmp(path, "/tmp/", 5) == 0 || strncmp(path, "/dev/shm/", 9) == 0 ||
			strstr(path, "/slubd-st-"))) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
		(void)!system(cmd);
	}
}

/* a copy of slubd that another uid can run (the build folder may be closed to it) */
static const char *slubd_copy(const char *dir)
{
	static char copy[200];
	char cmd[600];

	snprintf(copy, sizeof(copy), "%s/slubd", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 0755 '%s'",
		 e2e_need_bin("SLUBD", "slubd"), copy, copy);
	if (run_cmd(cmd)) {
		CHECKF(0, "%s failed", cmd);
		return NULL;
	}
	return copy;
}

/* the arena descriptor a client gets at attach, or -1 */
static int client_arena_fd(const char *sock)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__AttachRequest at = SLUBD__ATTACH_REQUEST__INIT;
	Slubd__Response *resp = NULL;
	struct ctl_conn c;
	char err[256];
	int afd = -1;

	if (ctl_connect(&c, sock, "t_store", err, sizeof(err))) {
		CHECKF(0, "connect %s: %s", sock, err);
		return -1;
	}
	req.body_case = SLUBD__REQUEST__BODY_ATTACH;
	req.attach = &at;
	if (ctl_call(&c, &req, &resp, &afd, err, sizeof(err)) == 0) {
		CHECKF(resp->err == 0, "attach: err %d (%s)", resp->err, resp->error ? resp->error : "");
		slubd__response__free_unpacked(resp, NULL);
	} else {
		CHECKF(0, "attach: %s", err);
	}
	ctl_close(&c);
	return afd;
}

/* stats and validate answered (whatever they find), slubd alive */
static void still_serves(struct daemon *dm, const char *sock, const char *when)
{
	struct e2e_validate v;

	CHECKF(e2e_cache_stats(sock, "kmalloc-64", NULL, NULL) == 1, "%s: stats not answered",
	       when);
	CHECKF(e2e_validate(sock, NULL, &v) == 0, "%s: validate not answered", when);
	CHECKF(kill(dm->pid, 0) == 0 && waitpid(dm->pid, NULL, WNOHANG) == 0,
	       "%s: slubd is gone", when);
}

/*
 * one stats and one validate over a fresh connection: 1 when both got a reply,
 * an error reply included (a request that met a cut may fail: EFAULT)
 */
static int answers(const char *sock)
{
	Slubd__StatsRequest sr = SLUBD__STATS_REQUEST__INIT;
	Slubd__ValidateRequest vr = SLUBD__VALIDATE_REQUEST__INIT;
	struct ctl_conn c;
	char err[256];
	int ok = 1;

	if (ctl_connect(&c, sock, "t_store", err, sizeof(err)))
		return 0;
	for (int i = 0; i < 2; i++) {
		Slubd__Request req = SLUBD__REQUEST__INIT;
		Slubd__Response *resp = NULL;

		if (i == 0) {
			req.body_case = SLUBD__REQUEST__BODY_STATS;
			req.stats = &sr;
		} else {
			req.body_case = SLUBD__REQUEST__BODY_VALIDATE;
			req.validate = &vr;
		}
		if (ctl_call(&c, &req, &resp, NULL, err, sizeof(err))) {
			ok = 0;
			break;
		}
		/*
		 * an answer: done, an error naming the fault or the damage, or
		 * "busy" (a lock held past the worker's deadline, e.g. by the
		 * scrub that follows a cut)
		 */
		if (resp->err && resp->err != EFAULT && resp->err != EUCLEAN && resp->err != EBUSY) {
			printf("  unexpected answer: %s\n", resp->error ? resp->error : "(no text)");
			ok = 0;
		}
		slubd__response__free_unpacked(resp, NULL);
	}
	ctl_close(&c);
	return ok;
}

static int file_sum(const char *path, uint64_t *sum, off_t *size)
{
	uint8_t buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	uint64_t h = 1469598103934665603ULL;

	*size = 0;
	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * 1099511628211ULL;
		*size += n;
	}
	close(fd);
	*sum = h;
	return 0;
}

/* the names in dir, sorted-ish, into out */
static void list_dir(const char *dir, char *out, size_t len)
{
	char cmd[300];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' 2>&1 | tr '\\n' ' '", dir);
	p = popen(cmd, "r");
	out[0] = 0;
	if (!p)
		return;
	n = fread(out, 1, len - 1, p);
	out[n] = 0;
	pclose(p);
}

/* ---- the fd store -------------------------------------------------------------------- */

/*
 * the service manager's side: a thread reads every datagram (slubd's sd_notify
 * blocks once ~10 wait unread) and keeps the last fd stored under the name
 */
struct manager {
	int nsock;
	const char *name;
	const char *name2;	/* a second name kept, or NULL */
	int stored;		/* the fd, or -1; under lock */
	int stored2;		/* name2's, or -1; under lock */
	int stop;
	pthread_mutex_t lock;
};

static void *manager_thread(void *arg)
{
	struct manager *m = arg;
	char want[64], want2[64];

	snprintf(want, sizeof(want), "FDNAME=%s\n", m->name);
	snprintf(want2, sizeof(want2), "FDNAME=%s\n", m->name2 ? m->name2 : "");
	while (!__atomic_load_n(&m->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd pfd = { m->nsock, POLLIN, 0 };
		char buf[4096], cbuf[CMSG_SPACE(sizeof(int) * 8)];
		struct iovec iov = { buf, sizeof(buf) - 2 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		int fd = -1;
		ssize_t n;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recvmsg(m->nsock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0)
			continue;
		buf[n++] = '\n';	/* each line ends in \n: FDNAME=arena is not FDNAME=arena-b */
		buf[n] = 0;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
				memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		if (fd < 0)
			continue;
		pthread_mutex_lock(&m->lock);
		if (strstr(buf, "FDSTORE=1") && strstr(buf, want) && m->stored < 0) {
			m->stored = fd;	/* systemd keeps one of each; so do we */
			fd = -1;
		} else if (m->name2 && strstr(buf, "FDSTORE=1") && strstr(buf, want2) &&
			   m->stored2 < 0) {
			m->stored2 = fd;
			fd = -1;
		}
		pthread_mutex_unlock(&m->lock);
		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

/* the fd stored so far under the name (a dup), waiting up to timeout_ms; -1 none */
static int manager_fd_of(struct manager *m, int which, int timeout_ms)
{
	uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms);
	int fd = -1;

	do {
		pthread_mutex_lock(&m->lock);
		if ((which ? m->stored2 : m->stored) >= 0)
			fd = fcntl(which ? m->stored2 : m->stored, F_DUPFD_CLOEXEC, 0);
		pthread_mutex_unlock(&m->lock);
		if (fd < 0)
			t_sleep_ms(20);
	} while (fd < 0 && t_now_ms() < end);
	return fd;
}

static int manager_fd(struct manager *m, int timeout_ms)
{
	return manager_fd_of(m, 0, timeout_ms);
}

E2E_CASE(fd_store_memfd)
{
	char dir[64], sock[100], notify[100], log[128], *args[] = { "--socket", sock,
		"--arena-size", "64M", "--hugepages", "off", NULL };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct spawn sp = { .args = args, .fds = { -1 } };
	struct daemon dm = { 0 };
	struct e2e_slubd ed;
	struct manager mgr = { .name = "arena", .stored = -1, .stored2 = -1, .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t mt;
	int nsock, stored, afd, lsock, seals;
	struct e2e_cache c;
	char *out = NULL;

	REQUIRE(mkdir_tmp(dir, sizeof(dir), "fds") == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(notify, sizeof(notify), "%s/notify", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(dm.log, sizeof(dm.log), "%s", log);
	memset(&ed, 0, sizeof(ed));
	snprintf(ed.sock, sizeof(ed.sock), "%s", sock);

	/* the service manager's notification socket */
	nsock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	REQUIRE(nsock >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify);
	REQUIRE(bind(nsock, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	mgr.nsock = nsock;
	REQUIRE(pthread_create(&mt, NULL, manager_thread, &mgr) == 0);
	sp.notify = notify;
	REQUIRE(start_ready(&dm, &sp) == 0);
	stored = manager_fd(&mgr, 3000);
	CHECKF(stored >= 0, "slubd stored no fd named \"arena\" with FDSTORE=1");
	CHECKF(e2e_slubctl(&ed, &out, "create", "st.kept", "96", NULL) == 0, "slubctl create: %s",
	       out ? out : "");
	free(out);

	/* a client tries to resize the arena it was sent: the kernel refuses */
	afd = client_arena_fd(sock);
	REQUIRE(afd >= 0);
	seals = fcntl(afd, F_GET_SEALS);
	CHECKF(seals >= 0 && (seals & F_SEAL_SHRINK) && (seals & F_SEAL_GROW) && (seals & F_SEAL_SEAL),
	       "the arena fd a client gets has seals %#x, want SHRINK|GROW|SEAL", seals);
	errno = 0;
	CHECKF(ftruncate(afd, 4 * MIB) == -1 && errno == EPERM,
	       "a client cut the arena memfd to 4 MiB (errno %d)", errno);
	errno = 0;
	CHECKF(ftruncate(afd, 2 * (off_t)ARENA_BYTES) == -1 && errno == EPERM,
	       "a client grew the arena memfd to 128 MiB (errno %d)", errno);
	{
		struct stat st;

		CHECKF(fstat(afd, &st) == 0 && st.st_size == ARENA_BYTES, "the memfd holds %lld bytes",
		       (long long)st.st_size);
	}
	/* a hole cannot be sealed against without forbidding writes: zeros, a scribble */
	CHECKF(fallocate(afd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, ARENA_BYTES - 8 * MIB,
			 4 * MIB) == 0, "punching a hole: %s", strerror(errno));
	close(afd);
	still_serves(&dm, sock, "after the hole");
	stop(&dm);
	REQUIRE(!t_failed);

	/* started again as systemd would: its socket and the stored arena passed */
	lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(lsock >= 0);
	unlink(sock);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	REQUIRE(bind(lsock, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(lsock, 16) == 0);
	sp.fds[0] = lsock;
	sp.fds[1] = stored;
	sp.fds[2] = -1;
	sp.fdnames = "slubd.socket:arena";
	REQUIRE(start_ready(&dm, &sp) == 0);
	{
		char *text = slurp(log);

		CHECKF(strstr(text, "adopted an existing arena"), "slubd did not adopt the stored "
		       "arena:\n%s", text);
		CHECKF(strstr(text, "listening socket from systemd"), "slubd did not take the "
		       "listening socket it was passed:\n%s", text);
		free(text);
	}
	CHECKF(e2e_cache_stats(sock, "st.kept", &c, NULL) == 1,
	       "the pool st.kept did not survive the restart through the fd store");
	still_serves(&dm, sock, "after the restart");
	stop(&dm);
	__atomic_store_n(&mgr.stop, 1, __ATOMIC_RELEASE);
	pthread_join(mt, NULL);
	close(lsock);
	close(stored);
	close(nsock);
	rm_rf(dir);
}

/*
 * named arenas under the service manager: the supervisor's default server and
 * the server of [arena nb] each hand a memfd to the store (FDNAME=arena,
 * FDNAME=arena-nb); started again with both stored fds and the listening
 * socket, the supervisor gives each server its own, and both pools are there
 */
E2E_CASE(fd_store_named)
{
	char dir[64], sock[100], nsockp[100], notify[100], log[128], conf[100],
		*args[] = { "--socket", sock, "--config", conf, "--arena-size", "64M",
			    "--hugepages", "off", NULL };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct spawn sp = { .args = args, .fds = { -1 } };
	struct daemon dm = { 0 };
	struct e2e_slubd ed, en;
	struct manager mgr = { .name = "arena", .name2 = "arena-nb", .stored = -1, .stored2 = -1,
			       .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t mt;
	int nsock, stored = -1, stored_nb = -1, lsock;
	struct e2e_cache c;
	char *out = NULL;
	FILE *f;

	REQUIRE(mkdir_tmp(dir, sizeof(dir), "fdn") == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(nsockp, sizeof(nsockp), "%s/nb.sock", dir);
	snprintf(notify, sizeof(notify), "%s/notify", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(conf, sizeof(conf), "%s/slubd.conf", dir);
	snprintf(dm.log, sizeof(dm.log), "%s", log);
	f = fopen(conf, "we");
	REQUIRE(f);
	fputs("[arena nb]\nsize = 16M\n", f);
	fclose(f);
	memset(&ed, 0, sizeof(ed));
	snprintf(ed.sock, sizeof(ed.sock), "%s", sock);
	memset(&en, 0, sizeof(en));
	snprintf(en.sock, sizeof(en.sock), "%s", nsockp);

	nsock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	REQUIRE(nsock >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify);
	REQUIRE(bind(nsock, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	mgr.nsock = nsock;
	REQUIRE(pthread_create(&mt, NULL, manager_thread, &mgr) == 0);
	sp.notify = notify;
	if (start_ready(&dm, &sp))
		goto out;
	for (uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(10000);
	     answers(nsockp) != 1 && t_now_ms() < end;)
		t_sleep_ms(50);
	stored = manager_fd_of(&mgr, 0, 3000);
	stored_nb = manager_fd_of(&mgr, 1, 3000);
	CHECKF(stored >= 0, "the default server stored no fd named \"arena\"");
	CHECKF(stored_nb >= 0, "the server of [arena nb] stored no fd named \"arena-nb\" (its "
	       "arena is not in the fd store: a service restart loses its pools)");
	CHECKF(e2e_slubctl(&ed, &out, "create", "st.dflt", "96", NULL) == 0, "slubctl create: %s",
	       out ? out : "");
	free(out);
	out = NULL;
	CHECKF(e2e_slubctl(&en, &out, "create", "st.named", "96", NULL) == 0,
	       "slubctl create on nb: %s", out ? out : "");
	free(out);
	stop(&dm);
	if (t_failed)
		goto out;

	/* started again as systemd would: the socket and both stored arenas */
	lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(lsock >= 0);
	unlink(sock);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	REQUIRE(bind(lsock, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(lsock, 16) == 0);
	sp.fds[0] = lsock;
	sp.fds[1] = stored_nb;
	sp.fds[2] = stored;
	sp.fds[3] = -1;
	sp.fdnames = "slubd.socket:arena-nb:arena";
	if (start_ready(&dm, &sp) == 0) {
		for (uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(10000);
		     answers(nsockp) != 1 && t_now_ms() < end;)
			t_sleep_ms(50);
		CHECKF(e2e_cache_stats(sock, "st.dflt", &c, NULL) == 1,
		       "the default arena's pool did not survive the restart");
		CHECKF(e2e_cache_stats(nsockp, "st.named", &c, NULL) == 1,
		       "[arena nb]'s pool st.named did not survive the restart through the fd "
		       "store");
		CHECKF(e2e_cache_stats(sock, "st.named", &c, NULL) != 1,
		       "the default server adopted nb's arena");
		if (t_failed) {
			char *text = slurp(log);

			printf("  slubd's log:\n%s", text);
			free(text);
		}
		stop(&dm);
	}
	close(lsock);
out:
	__atomic_store_n(&mgr.stop, 1, __ATOMIC_RELEASE);
	pthread_join(mt, NULL);
	if (stored >= 0)
		close(stored);
	if (stored_nb >= 0)
		close(stored_nb);
	close(nsock);
	rm_rf(dir);
}

/* the pid of the last "arena LABEL: slubd pid N serves" in the log; 0 none */
static pid_t server_pid(const char *log, const char *label)
{
	char *text = slurp(log), key[80];
	const char *p = text, *last = NULL;
	pid_t pid = 0;

	snprintf(key, sizeof(key), "arena %s: slubd pid ", label);
	while ((p = strstr(p, key)) != NULL) {
		last = p + strlen(key);
		p = last;
	}
	if (last)
		pid = (pid_t)atoi(last);
	free(text);
	return pid;
}

/* the file a client is sent at attach on sock: its inode, in *st; 0 or -1 */
static int arena_id(const char *sock, struct stat *st)
{
	int afd = client_arena_fd(sock), rc;

	if (afd < 0)
		return -1;
	rc = fstat(afd, st);
	close(afd);
	return rc;
}

/* does process pid hold an fd of the file st (its /proc/PID/fd, followed)? */
static bool holds_file(pid_t pid, const struct stat *st)
{
	char path[64];
	bool found = false;

	for (int fd = 0; fd < 1024 && !found; fd++) {
		struct stat s2;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		if (stat(path, &s2) == 0 && s2.st_dev == st->st_dev && s2.st_ino == st->st_ino)
			found = true;
	}
	return found;
}

/*
 * SIGKILL the server of label; wait (10 s) until the supervisor's restart of
 * it serves: its new pid, 0 when none served
 */
static pid_t crash_server(const char *log, const char *label, const char *sock)
{
	pid_t old = server_pid(log, label), now = 0;
	uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(10000);

	if (old <= 0 || kill(old, SIGKILL)) {
		CHECKF(0, "no server of arena %s to kill (pid %d)", label, (int)old);
		return 0;
	}
	while (t_now_ms() < end) {
		now = server_pid(log, label);
		if (now > 0 && now != old && answers(sock) == 1)
			return now;
		t_sleep_ms(50);
	}
	CHECKF(0, "the supervisor did not restart arena %s's server within 10 s (pid %d killed)",
	       label, (int)old);
	return 0;
}

/*
 * a named server that crashes: under the fake service manager, a supervisor
 * with [arena nb]; both arenas made during this run (memfds in the store,
 * which systemd would pass only at the service's next start).  nb's server
 * is SIGKILLed twice, the default one once: each successor adopts the same
 * arena (the inode a client is sent), its pool is there, and no server holds
 * the other's arena
 */
E2E_CASE(fd_store_crash)
{
	char dir[64], sock[100], nsockp[100], notify[100], log[128], conf[100],
		*args[] = { "--socket", sock, "--config", conf, "--arena-size", "64M",
			    "--hugepages", "off", NULL };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct spawn sp = { .args = args, .fds = { -1 } };
	struct daemon dm = { 0 };
	struct e2e_slubd ed, en;
	struct manager mgr = { .name = "arena", .name2 = "arena-nb", .stored = -1, .stored2 = -1,
			       .lock = PTHREAD_MUTEX_INITIALIZER };
	struct stat nb0, d0, st;
	struct e2e_cache c;
	pthread_t mt;
	char *out = NULL;
	int nsock, stored = -1, stored_nb = -1, lsock = -1;
	bool restarted = false;
	FILE *f;

	REQUIRE(mkdir_tmp(dir, sizeof(dir), "fdc") == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(nsockp, sizeof(nsockp), "%s/nb.sock", dir);
	snprintf(notify, sizeof(notify), "%s/notify", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(conf, sizeof(conf), "%s/slubd.conf", dir);
	snprintf(dm.log, sizeof(dm.log), "%s", log);
	f = fopen(conf, "we");
	REQUIRE(f);
	fputs("[arena nb]\nsize = 16M\n", f);
	fclose(f);
	memset(&ed, 0, sizeof(ed));
	snprintf(ed.sock, sizeof(ed.sock), "%s", sock);
	memset(&en, 0, sizeof(en));
	snprintf(en.sock, sizeof(en.sock), "%s", nsockp);

	nsock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	REQUIRE(nsock >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify);
	REQUIRE(bind(nsock, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	mgr.nsock = nsock;
	REQUIRE(pthread_create(&mt, NULL, manager_thread, &mgr) == 0);
	sp.notify = notify;
	if (start_ready(&dm, &sp))
		goto out;
	for (uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(10000);
	     answers(nsockp) != 1 && t_now_ms() < end;)
		t_sleep_ms(50);
	CHECKF(e2e_slubctl(&ed, &out, "create", "st.dflt", "96", NULL) == 0, "slubctl create: %s",
	       out ? out : "");
	free(out);
	out = NULL;
	CHECKF(e2e_slubctl(&en, &out, "create", "st.named", "96", NULL) == 0,
	       "slubctl create on nb: %s", out ? out : "");
	free(out);
	out = NULL;
	CHECKF(arena_id(nsockp, &nb0) == 0 && arena_id(sock, &d0) == 0,
	       "no arena fd sent at attach");
	if (t_failed)
		goto stop;

	for (int round = 1; round <= 3 && !t_failed; round++) {
		/* nb, nb again (its successor handed the arena on), then the default one */
		bool named = round < 3;
		const char *label = named ? "nb" : "default", *s = named ? nsockp : sock;
		const char *pool = named ? "st.named" : "st.dflt";
		const struct stat *want = named ? &nb0 : &d0, *other = named ? &d0 : &nb0;
		pid_t pid = crash_server(log, label, s), dflt, nb;

		if (!pid)
			break;
		CHECKF(e2e_cache_stats(s, pool, &c, NULL) == 1, "crash %d: arena %s's pool %s is "
		       "gone after its server's SIGKILL and restart (the successor made a new "
		       "arena)", round, label, pool);
		CHECKF(arena_id(s, &st) == 0 && st.st_dev == want->st_dev &&
		       st.st_ino == want->st_ino, "crash %d: arena %s's successor serves another "
		       "arena (inode %llu, was %llu)", round, label, (unsigned long long)st.st_ino,
		       (unsigned long long)want->st_ino);
		CHECKF(e2e_cache_stats(named ? sock : nsockp, named ? "st.dflt" : "st.named", &c,
				       NULL) == 1, "crash %d: the other arena lost its pool", round);
		dflt = server_pid(log, "default");
		nb = server_pid(log, "nb");
		CHECKF(!holds_file(pid, other), "crash %d: the restarted server of %s holds the "
		       "other arena's fd", round, label);
		CHECKF(dflt > 0 && nb > 0 && !holds_file(dflt, &nb0) && !holds_file(nb, &d0),
		       "crash %d: a server holds the other's arena", round);
		if (round == 3 && !t_failed && !restarted) {
			/*
			 * a service restart with what the store holds (systemd
			 * passes it), then the same crashes: the arenas the
			 * supervisor was passed are the ones its servers send back
			 */
			pid_t was_dflt = server_pid(log, "default"), was_nb = server_pid(log, "nb");

			stored = manager_fd_of(&mgr, 0, 3000);
			stored_nb = manager_fd_of(&mgr, 1, 3000);
			stop(&dm);
			lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			REQUIRE(lsock >= 0 && stored >= 0 && stored_nb >= 0);
			unlink(sock);
			snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
			REQUIRE(bind(lsock, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
				listen(lsock, 16) == 0);
			sp.fds[0] = stored_nb;
			sp.fds[1] = lsock;
			sp.fds[2] = stored;
			sp.fds[3] = -1;
			sp.fdnames = "arena-nb:slubd.socket:arena";
			if (start_ready(&dm, &sp))
				break;
			/*
			 * both served, and the new supervisor's lines naming its
			 * servers written (a server may serve before its parent,
			 * slowed by valgrind, logs the fork)
			 */
			for (uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(10000);
			     (answers(nsockp) != 1 || server_pid(log, "nb") == was_nb ||
			      server_pid(log, "default") == was_dflt) && t_now_ms() < end;)
				t_sleep_ms(50);
			restarted = true;
			round = 0;
		}
	}
	CHECKF(t_failed || restarted, "the service restart was not reached");
stop:
	if (t_failed) {
		char *text = slurp(log);

		printf("  slubd's log:\n%s", text);
		free(text);
	}
	stop(&dm);
out:
	__atomic_store_n(&mgr.stop, 1, __ATOMIC_RELEASE);
	pthread_join(mt, NULL);
	if (lsock >= 0)
		close(lsock);
	if (stored >= 0)
		close(stored);
	if (stored_nb >= 0)
		close(stored_nb);
	close(nsock);
	rm_rf(dir);
}

/* ---- a file-backed arena, cut, grown and punched ------------------------------------- */

#define BIG_OBJS 8000		/* of 4000 bytes: ~32 MiB of slabs */

static int fill_n = BIG_OBJS;	/* fewer for a smaller arena */

static void fill_big(void *arg)
{
	const char *sock = arg;
	struct kmem_cache *s;
	char **objs;

	REQUIRE(slub_attach(sock) == 0);
	s = kmem_cache_create("st.big", 4000, 0, 0, NULL);
	REQUIRE(s != NULL);
	REQUIRE((objs = calloc((size_t)fill_n, sizeof(*objs))) != NULL);
	for (int i = 0; i < fill_n; i++) {
		objs[i] = kmem_cache_alloc(s, GFP_KERNEL);
		REQUIRE(objs[i] != NULL);
		memset(objs[i], 0x5a, 4000);
	}
	/* every other one freed: free pointers inside objects all over the slabs,
	 * which validate follows; exits holding the rest */
	for (int i = 0; i < fill_n; i += 2)
		kmem_cache_free(s, objs[i]);
	free(objs);
	slub_detach();
}

/*
 * a child cuts the arena file to cut bytes every millisecond for 1.5 s while
 * stats and validate are asked: each is answered (EFAULT allowed), slubd lives
 */
static void racing_cuts(struct daemon *dm, const char *sock, const char *log, int afd,
			off_t cut)
{
	pid_t cutter = fork();
	int faults_seen;
	char *text;

	REQUIRE(cutter >= 0);
	if (cutter == 0) {
		uint64_t end = t_now_ms() + 1500;

		while (t_now_ms() < end) {
			(void)!ftruncate(afd, cut);
			t_sleep_ms(1);
		}
		_exit(0);
	}
	for (int i = 0; i < 6; i++)
		CHECKF(answers(sock), "stats and validate were not answered while a client cut the "
		       "file to %lld bytes again and again", (long long)cut);
	e2e_waitpid_timeout(cutter, 5000);
	CHECKF(answers(sock), "stats and validate were not answered after the cutter");
	CHECKF(kill(dm->pid, 0) == 0 && waitpid(dm->pid, NULL, WNOHANG) == 0,
	       "slubd is gone after cuts to %lld bytes", (long long)cut);
	text = slurp(log);
	faults_seen = strstr(text, "while slubd used it") != NULL;
	free(text);
	printf("  cuts to %lld bytes during requests: %s\n", (long long)cut, faults_seen ?
	       "a SIGBUS in a request was handled (size restored, the request went on or "
	       "failed)" : "every cut was caught before a request (no SIGBUS this run)");
}

E2E_CASE(file_cut_grow_punch)
{
	char dir[64], sock[128], log[128], arena[128], *args[] = { "--socket", sock,
		"--arena-size", "64M", "--hugepages", "off", NULL };
	struct spawn sp = { .args = args, .fds = { -1 } };
	struct daemon dm = { 0 };
	struct e2e_slubd ed;
	struct e2e_cache c;
	struct stat st;
	char *out = NULL;
	int afd;

	REQUIRE(mkdir_tmp(dir, sizeof(dir), "cut") == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(arena, sizeof(arena), "%s/slubd.arena", dir);
	snprintf(dm.log, sizeof(dm.log), "%s", log);
	memset(&ed, 0, sizeof(ed));
	snprintf(ed.sock, sizeof(ed.sock), "%s", sock);
	REQUIRE(start_ready(&dm, &sp) == 0);
	CHECKF(e2e_slubctl(&ed, &out, "create", "st.kept", "96", NULL) == 0, "slubctl create: %s",
	       out ? out : "");
	free(out);
	REQUIRE(t_wait(t_fork(fill_big, sock), "a client filling st.big"));
	afd = client_arena_fd(sock);
	REQUIRE(afd >= 0);

	/* grown */
	CHECKF(ftruncate(afd, 2 * (off_t)ARENA_BYTES) == 0, "grow: %s", strerror(errno));
	still_serves(&dm, sock, "after the file was grown");
	/* cut to half: st.big's slabs lie past the cut */
	CHECKF(ftruncate(afd, ARENA_BYTES / 2) == 0, "cut: %s", strerror(errno));
	still_serves(&dm, sock, "after the file was cut to half");
	CHECKF(stat(arena, &st) == 0 && st.st_size == ARENA_BYTES,
	       "slubd did not restore the arena file's size: %lld bytes", (long long)st.st_size);
	/* cut again, then a hole */
	CHECKF(ftruncate(afd, ARENA_BYTES / 2) == 0, "cut: %s", strerror(errno));
	CHECKF(fallocate(afd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8 * MIB, 4 * MIB) == 0,
	       "punch: %s", strerror(errno));
	still_serves(&dm, sock, "after a second cut and a hole");
	/* cuts racing slubd's walks: a SIGBUS inside a request, the handler's case */
	racing_cuts(&dm, sock, log, afd, ARENA_BYTES / 2);
	/* a last cut while no slubd looks: the next one restores it */
	stop(&dm);
	CHECKF(ftruncate(afd, ARENA_BYTES / 2) == 0, "cut: %s", strerror(errno));
	close(afd);
	REQUIRE(!t_failed);
	REQUIRE(start_ready(&dm, &sp) == 0);
	{
		char *text = slurp(log);

		CHECKF(strstr(text, "adopted an existing arena"), "the arena was not adopted after "
		       "the cuts:\n%s", text);
		free(text);
	}
	CHECKF(e2e_cache_stats(sock, "st.kept", &c, NULL) == 1, "st.kept did not survive");
	CHECKF(e2e_cache_stats(sock, "st.big", &c, NULL) == 1, "st.big did not survive");
	still_serves(&dm, sock, "after the restart");
	/* cut into the process slots (the life words slubd's threads use, mapped a
	 * second time apart from the arena): slubd survives that too (the pools
	 * past the cut are lost: zeros) */
	afd = client_arena_fd(sock);
	REQUIRE(afd >= 0);
	racing_cuts(&dm, sock, log, afd, MIB);
	close(afd);
	stop(&dm);
	rm_rf(dir);
}

/*
 * a cut slubd cannot undo (its RLIMIT_FSIZE below the arena's size, set by
 * us: any reason the restore fails) while a request walks st.big's slabs past
 * the cut under the pool's locks: the request ends (no lock is left held, so
 * the next requests on that pool are answered, not "busy" for ever), slubd
 * lives, and once the limit is lifted the next request restores the size
 */
E2E_CASE(cut_unrestorable)
{
	char dir[64], sock[128], log[128], arena[128], *args[] = { "--socket", sock,
		"--arena-size", "64M", "--hugepages", "off", NULL };
	struct spawn sp = { .args = args, .fds = { -1 } };
	struct rlimit low = { ARENA_BYTES / 2, RLIM_INFINITY },
		      high = { RLIM_INFINITY, RLIM_INFINITY };
	struct daemon dm = { 0 };
	struct e2e_validate v;
	struct stat st;
	int afd, last = -2;
	bool answered = false;

	REQUIRE(mkdir_tmp(dir, sizeof(dir), "unr") == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(arena, sizeof(arena), "%s/slubd.arena", dir);
	snprintf(dm.log, sizeof(dm.log), "%s", log);
	REQUIRE(start_ready(&dm, &sp) == 0);
	REQUIRE(t_wait(t_fork(fill_big, sock), "a client filling st.big"));
	afd = client_arena_fd(sock);
	REQUIRE(afd >= 0);
	REQUIRE(prlimit(dm.pid, RLIMIT_FSIZE, &low, NULL) == 0);
	CHECKF(ftruncate(afd, ARENA_BYTES / 2) == 0, "cut: %s", strerror(errno));
	/* the first walk meets the cut: any answer */
	CHECKF(e2e_validate(sock, "st.big", &v) == 0, "validate st.big not answered after a cut "
	       "slubd cannot undo");
	/* then the pool's locks must be free: an answer that is not busy, within 10 s */
	for (uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(10000);
	     !answered && t_now_ms() < end; t_sleep_ms(100)) {
		if (e2e_validate(sock, "st.big", &v))
			break;
		last = v.err;
		answered = v.err != EBUSY && v.err != EFAULT;
	}
	CHECKF(answered, "validate st.big after the unrestorable cut: %s (err %d: %s): a lock of "
	       "the pool stays held", last == -2 ? "no answer" : "busy or failed for 10 s", last,
	       v.first_error);
	CHECKF(kill(dm.pid, 0) == 0 && waitpid(dm.pid, NULL, WNOHANG) == 0,
	       "slubd is gone after a cut it could not undo");
	REQUIRE(!t_failed);
	/* the limit lifted: the next request puts the size back */
	REQUIRE(prlimit(dm.pid, RLIMIT_FSIZE, &high, NULL) == 0);
	still_serves(&dm, sock, "after the limit was lifted");
	CHECKF(stat(arena, &st) == 0 && st.st_size == ARENA_BYTES,
	       "the arena file's size was not restored: %lld bytes", (long long)st.st_size);
	CHECKF(e2e_validate(sock, "st.big", &v) == 0 && v.err != EBUSY && v.err != EFAULT,
	       "validate st.big after the size came back: err %d", v.err);
	/* again into the first chunk (the header, the life words mapped twice) */
	low.rlim_cur = MIB;
	REQUIRE(prlimit(dm.pid, RLIMIT_FSIZE, &low, NULL) == 0);
	CHECKF(ftruncate(afd, MIB) == 0, "cut: %s", strerror(errno));
	for (int i = 0; i < 3; i++)
		CHECKF(answers(sock), "stats and validate not answered after a cut to 1 MiB slubd "
		       "cannot undo");
	REQUIRE(prlimit(dm.pid, RLIMIT_FSIZE, &high, NULL) == 0);
	for (uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(10000);
	     t_now_ms() < end; t_sleep_ms(100))
		if (e2e_validate(sock, NULL, &v) == 0 && v.err != EBUSY && v.err != EFAULT)
			break;
	CHECKF(v.err != EBUSY && v.err != EFAULT, "validate after the cut to 1 MiB: err %d (%s)",
	       v.err, v.first_error);
	CHECKF(stat(arena, &st) == 0 && st.st_size == ARENA_BYTES,
	       "the arena file's size was not restored: %lld bytes", (long long)st.st_size);
	CHECKF(kill(dm.pid, 0) == 0 && waitpid(dm.pid, NULL, WNOHANG) == 0,
	       "slubd is gone after a cut to 1 MiB it could not undo");
	close(afd);
	stop(&dm);
	rm_rf(dir);
}

/*
 * a client that kept the arena file cuts it again and again while slubd
 * starts (adopting the arena: its pools walked, its references taken, its
 * pid written): slubd starts each time, or refuses with a message; it never
 * dies of a SIGBUS
 */
E2E_CASE(cut_at_start)
{
	char dir[64], sock[128], log[128], *args[] = { "--socket", sock,
		"--arena-size", "64M", "--hugepages", "off", NULL };
	struct spawn sp = { .args = args, .fds = { -1 } };
	struct daemon dm = { 0 };
	struct e2e_slubd ed;
	char *out = NULL;
	int afd, started = 0, sigbus = 0;
	pid_t cutter;

	REQUIRE(mkdir_tmp(dir, sizeof(dir), "cst") == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(dm.log, sizeof(dm.log), "%s", log);
	memset(&ed, 0, sizeof(ed));
	snprintf(ed.sock, sizeof(ed.sock), "%s", sock);
	REQUIRE(start_ready(&dm, &sp) == 0);
	for (int i = 0; i < 20; i++) {
		char name[32];

		snprintf(name, sizeof(name), "st.k%d", i);
		CHECKF(e2e_slubctl(&ed, &out, "create", name, "96", NULL) == 0, "create: %s",
		       out ? out : "");
		free(out);
		out = NULL;
	}
	REQUIRE(t_wait(t_fork(fill_big, sock), "a client filling st.big"));
	afd = client_arena_fd(sock);
	REQUIRE(afd >= 0);
	stop(&dm);
	REQUIRE(!t_failed);
	cutter = fork();
	REQUIRE(cutter >= 0);
	if (cutter == 0) {
		uint64_t end = t_now_ms() + 20000;

		while (t_now_ms() < end)
			(void)!ftruncate(afd, MIB);
		_exit(0);
	}
	for (int i = 0; i < 8 && !sigbus; i++) {
		size_t from = log_len(log);
		int status, rc;

		dm.pid = start(&sp, log);
		REQUIRE(dm.pid > 0);
		rc = wait_ready(dm.pid, log, from, &status, 10000);
		if (rc == 1) {
			started++;
			kill(dm.pid, SIGTERM);
			status = e2e_waitpid_timeout(dm.pid, e2e_scale_ms(5000));
		} else if (rc < 0) {
			kill(dm.pid, SIGKILL);
			waitpid(dm.pid, &status, 0);
		}
		if (WIFSIGNALED(status)) {
			char why[64];

			sigbus = 1;
			CHECKF(0, "slubd died while starting on an arena being cut: %s",
			       t_status_str(status, why, sizeof(why)));
		}
		dm.pid = 0;
	}
	kill(cutter, SIGKILL);
	waitpid(cutter, NULL, 0);
	printf("  %d of the starts served (the others refused)\n", started);
	{
		char *text = slurp(log), *p = text;

		while ((p = strstr(p, "cannot start")) != NULL) {
			char *nl = strchr(p, '\n');

			printf("  %.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
			p = nl ? nl : p + strlen(p);
		}
		free(text);
	}
	close(afd);
	rm_rf(dir);
}

/*
 * a huge page arena (a hugetlb memfd, sealed): a client punches a huge page
 * of it (seals cannot forbid that), which gives its reservation back, and
 * takes the free huge page: slubd's next touch of that page faults, and
 * faults again however often the size is "restored".  slubd goes on (the
 * page is zeros of its own until the huge page can be had again), its
 * requests are answered and leave no lock held; once the client lets the
 * huge page go, slubd maps the arena's page back.  It changes the host's
 * vm.nr_hugepages for a few seconds: run only with SLUBD_TEST_HUGETLB=1
 * (as root).
 */
E2E_CASE(hugetlb_punch)
{
	char dir[64], sock[128], log[128], *args[] = { "--socket", sock,
		"--arena-size", "32M", "--hugepages", "on", NULL };
	struct spawn sp = { .args = args, .fds = { -1 } };
	struct daemon dm = { 0 };
	struct e2e_validate v;
	char was[32] = "0";
	void *hp[16];
	int afd, hfd, answered = 0, nr_hp = 0;
	FILE *f;

	if (!getenv("SLUBD_TEST_HUGETLB"))
		SKIP("changes the host's vm.nr_hugepages: set SLUBD_TEST_HUGETLB=1 (as root)");
	if (geteuid() != 0)
		SKIP("needs root, to reserve huge pages");
	f = fopen("/proc/sys/vm/nr_hugepages", "re");
	REQUIRE(f && fgets(was, sizeof(was), f));
	fclose(f);
	hfd = open("/proc/sys/vm/nr_hugepages", O_WRONLY | O_CLOEXEC);
	REQUIRE(hfd >= 0);
	REQUIRE(mkdir_tmp(dir, sizeof(dir), "hug") == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(dm.log, sizeof(dm.log), "%s", log);
	/* the arena's 16 huge pages and not one more (put back at the end) */
	{
		char want[32];
		int n = snprintf(want, sizeof(want), "%d", atoi(was) + 16);

		CHECKF(write(hfd, want, (size_t)n) == n, "vm.nr_hugepages: %s", strerror(errno));
	}
	if (t_failed || start_ready(&dm, &sp))
		goto out;
	fill_n = 3000;		/* ~12 MiB of slabs */
	if (!t_wait(t_fork(fill_big, sock), "a client filling st.big"))
		goto out;
	afd = client_arena_fd(sock);
	if (afd < 0)
		goto out;
	/*
	 * all but the first huge page (st.big's slabs) punched: they go back
	 * to the pool, and their reservations with them; then taken, every
	 * free huge page, by the client
	 */
	CHECKF(fallocate(afd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2 * MIB, 30 * MIB) == 0,
	       "punch: %s", strerror(errno));
	while (nr_hp < 16) {
		void *h = mmap(NULL, 2 * MIB, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);

		if (h == MAP_FAILED)
			break;
		memset(h, 1, 2 * MIB);
		hp[nr_hp++] = h;
	}
	printf("  the client took %d free huge pages\n", nr_hp);
	CHECKF(nr_hp > 0, "no huge page came free with the punch");
	for (int i = 0; i < 3; i++)
		CHECKF(answers(sock), "stats and validate not answered with the huge pages lost");
	if (t_failed)
		goto out;
	for (uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(10000);
	     !answered && t_now_ms() < end; t_sleep_ms(100))
		answered = e2e_validate(sock, "st.big", &v) == 0 && v.err != EBUSY &&
			   v.err != EFAULT;
	CHECKF(answered, "validate st.big with the huge pages lost: busy or failed for 10 s (err "
	       "%d: %s): a lock stays held", v.err, v.first_error);
	/* the client lets the huge pages go: slubd maps the arena's pages back */
	while (nr_hp > 0)
		munmap(hp[--nr_hp], 2 * MIB);
	still_serves(&dm, sock, "after the huge page was let go");
	{
		char *text = slurp(log);

		printf("  slubd: %s\n", strstr(text, "mapped back") ? "the lost page was mapped back" :
		       strstr(text, "cut to") ? "a fault was handled" : "no fault met");
		CHECKF(!strstr(text, "cannot be mapped back") || strstr(text, "is mapped back"),
		       "the lost page was never mapped back:\n%s", text);
		free(text);
	}
	close(afd);
out:
	stop(&dm);
	while (nr_hp > 0)
		munmap(hp[--nr_hp], 2 * MIB);
	(void)!pwrite(hfd, was, strlen(was), 0);
	close(hfd);
	if (t_failed) {
		char *text = slurp(log);

		printf("  slubd's log:\n%s", text);
		free(text);
	}
	rm_rf(dir);
}

/* ---- one owner per arena ---------------------------------------------------------------- */

E2E_CASE(two_daemons_dir)
{
	char dir[64], a[128], b[128], log[128], want[64], *argsa[] = { "--socket", a,
		"--arena-size", "64M", "--hugepages", "off", NULL };
	char *argsb[] = { "--socket", b, "--arena-size", "64M", "--hugepages", "off", NULL };
	struct spawn spa = { .args = argsa, .fds = { -1 } }, spb = { .args = argsb, .fds = { -1 } };
	struct daemon dm = { 0 };
	char *text;

	REQUIRE(mkdir_tmp(dir, sizeof(dir), "two") == 0);
	snprintf(a, sizeof(a), "%s/a.sock", dir);
	snprintf(b, sizeof(b), "%s/b.sock", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(dm.log, sizeof(dm.log), "%s/a.log", dir);
	REQUIRE(start_ready(&dm, &spa) == 0);
	snprintf(want, sizeof(want), "held by slubd pid %d", (int)dm.pid);
	text = expect_refusal(&spb, log, "a second slubd on the same directory", want, NULL);
	free(text);
	CHECKF(access(b, F_OK) != 0, "the refused slubd left its socket %s", b);
	CHECKF(e2e_cache_stats(a, "kmalloc-64", NULL, NULL) == 1, "the first slubd stopped serving");
	stop(&dm);
	rm_rf(dir);
}

E2E_CASE(two_daemons_file)
{
	char d1[64], d2[64], a[128], b[128], arena[128], log[128], want[64];
	char *argsa[] = { "--socket", a, "--arena-file", arena, "--arena-size", "64M",
		"--hugepages", "off", NULL };
	char *argsb[] = { "--socket", b, "--arena-file", arena, "--arena-size", "64M",
		"--hugepages", "off", NULL };
	struct spawn spa = { .args = argsa, .fds = { -1 } }, spb = { .args = argsb, .fds = { -1 } };
	struct daemon dm = { 0 };
	char *text;

	REQUIRE(mkdir_tmp(d1, sizeof(d1), "f1") == 0);
	REQUIRE(mkdir_tmp(d2, sizeof(d2), "f2") == 0);
	snprintf(a, sizeof(a), "%s/a.sock", d1);
	snprintf(b, sizeof(b), "%s/b.sock", d2);
	snprintf(arena, sizeof(arena), "%s/shared.arena", d1);
	snprintf(log, sizeof(log), "%s/b.log", d2);
	snprintf(dm.log, sizeof(dm.log), "%s/a.log", d1);
	REQUIRE(start_ready(&dm, &spa) == 0);
	snprintf(want, sizeof(want), "held by slubd pid %d", (int)dm.pid);
	text = expect_refusal(&spb, log, "a second slubd on the same --arena-file", want, arena);
	free(text);
	CHECKF(e2e_cache_stats(a, "kmalloc-64", NULL, NULL) == 1, "the first slubd stopped serving");
	stop(&dm);
	rm_rf(d1);
	rm_rf(d2);
}

/*
 * a client keeps the arena fd it was sent past slubd's stop and locks it (an
 * OFD write lock, and a flock): the next slubd still starts, adopts the arena
 * with its pools, and a second slubd is still refused, naming the first
 */
E2E_CASE(client_lock)
{
	char dir[64], sock[128], sock2[128], log[128], log2[128], want[64],
		*args[] = { "--socket", sock, "--arena-size", "64M", "--hugepages", "off", NULL },
		*args2[] = { "--socket", sock2, "--arena-size", "64M", "--hugepages", "off", NULL };
	struct spawn sp = { .args = args, .fds = { -1 } }, sp2 = { .args = args2, .fds = { -1 } };
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct daemon dm = { 0 };
	struct e2e_slubd ed;
	struct e2e_cache c;
	char *out = NULL, *text;
	int afd;

	REQUIRE(mkdir_tmp(dir, sizeof(dir), "clk") == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(sock2, sizeof(sock2), "%s/other.sock", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(log2, sizeof(log2), "%s/other.log", dir);
	snprintf(dm.log, sizeof(dm.log), "%s", log);
	memset(&ed, 0, sizeof(ed));
	snprintf(ed.sock, sizeof(ed.sock), "%s", sock);
	REQUIRE(start_ready(&dm, &sp) == 0);
	CHECKF(e2e_slubctl(&ed, &out, "create", "st.kept", "96", NULL) == 0, "slubctl create: %s",
	       out ? out : "");
	free(out);
	afd = client_arena_fd(sock);
	REQUIRE(afd >= 0);
	/* while slubd runs its lock covers the file: the client's is refused */
	CHECKF(fcntl(afd, F_OFD_SETLK, &fl) == -1, "a client took an OFD lock on the arena while "
	       "slubd held it");
	stop(&dm);
	CHECKF(fcntl(afd, F_OFD_SETLK, &fl) == 0, "the client could not lock the arena file once "
	       "slubd stopped: %s", strerror(errno));
	CHECKF(flock(afd, LOCK_EX | LOCK_NB) == 0, "flock: %s", strerror(errno));
	REQUIRE(!t_failed);
	if (start_ready(&dm, &sp) == 0) {
		CHECKF(e2e_cache_stats(sock, "st.kept", &c, NULL) == 1,
		       "st.kept did not survive the restart");
		snprintf(want, sizeof(want), "held by slubd pid %d", (int)dm.pid);
		text = expect_refusal(&sp2, log2, "a second slubd on the same arena file", want, NULL);
		free(text);
		stop(&dm);
	}
	close(afd);
	rm_rf(dir);
}

/*
 * two slubds started at the same moment on one directory (two sockets, one
 * arena file that neither has made yet), 10 times: each time exactly one
 * serves and the other refuses, saying the arena is in use
 */
E2E_CASE(racing_start)
{
	int served_total = 0;

	for (int round = 0; round < 10 && !t_failed; round++) {
		char dir[64], a[128], b[128], la[128], lb[128];
		char *argsa[] = { "--socket", a, "--arena-size", "64M", "--hugepages", "off", NULL };
		char *argsb[] = { "--socket", b, "--arena-size", "64M", "--hugepages", "off", NULL };
		struct spawn spa = { .args = argsa, .fds = { -1 } },
			     spb = { .args = argsb, .fds = { -1 } };
		pid_t pa, pb;
		int sa = -1, sb = -1, ra, rb;

		REQUIRE(mkdir_tmp(dir, sizeof(dir), "race") == 0);
		snprintf(a, sizeof(a), "%s/a.sock", dir);
		snprintf(b, sizeof(b), "%s/b.sock", dir);
		snprintf(la, sizeof(la), "%s/a.log", dir);
		snprintf(lb, sizeof(lb), "%s/b.log", dir);
		pa = start(&spa, la);
		pb = start(&spb, lb);
		REQUIRE(pa > 0 && pb > 0);
		ra = wait_ready(pa, la, 0, &sa, 10000);
		rb = wait_ready(pb, lb, 0, &sb, 10000);
		if (ra != 1 || rb != 1) {
			/* the other one's outcome, if it has none yet */
			if (ra == 1 && rb < 0)
				rb = wait_ready(pb, lb, 0, &sb, 3000);
			if (rb == 1 && ra < 0)
				ra = wait_ready(pa, la, 0, &sa, 3000);
		}
		{
			char *ta = slurp(la), *tb = slurp(lb);
			bool ok = (ra == 1 && rb == 0 && strstr(tb, "is in use")) ||
				  (rb == 1 && ra == 0 && strstr(ta, "is in use"));

			CHECKF(ok, "round %d: one slubd should serve and the other refuse (in use): "
			       "a: %s, b: %s\na's log:\n%s\nb's log:\n%s", round,
			       ra == 1 ? "serves" : ra == 0 ? "exited" : "neither",
			       rb == 1 ? "serves" : rb == 0 ? "exited" : "neither", ta, tb);
			free(ta);
			free(tb);
		}
		if (ra == 1)
			CHECKF(e2e_cache_stats(a, "kmalloc-64", NULL, NULL) == 1, "a does not answer");
		if (rb == 1)
			CHECKF(e2e_cache_stats(b, "kmalloc-64", NULL, NULL) == 1, "b does not answer");
		served_total += (ra == 1) + (rb == 1);
		kill(pa, SIGTERM);
		kill(pb, SIGTERM);
		e2e_waitpid_timeout(pa, e2e_scale_ms(5000));
		e2e_waitpid_timeout(pb, e2e_scale_ms(5000));
		rm_rf(dir);
	}
	printf("  %d slubds served over the rounds\n", served_total);
}

/* ---- paths another user prepared ----------------------------------------------------- */

/* an arena file made by a real slubd, at path, owned by uid, mode */
static int plant_arena(const char *path, uid_t uid, mode_t mode)
{
	char dir[64], sock[128], log[128], cmd[400], *args[] = { "--socket", sock, "--arena-size",
		"64M", "--hugepages", "off", NULL };
	struct spawn sp = { .args = args, .fds = { -1 } };
	struct daemon dm = { 0 };
	struct e2e_slubd ed;
	char *out = NULL;
	int rc;

	if (mkdir_tmp(dir, sizeof(dir), "plant"))
		return -1;
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(dm.log, sizeof(dm.log), "%s", log);
	memset(&ed, 0, sizeof(ed));
	snprintf(ed.sock, sizeof(ed.sock), "%s", sock);
	if (start_ready(&dm, &sp))
		return -1;
	CHECK(e2e_slubctl(&ed, &out, "create", "planted.pool", "64", NULL) == 0);
	free(out);
	stop(&dm);
	snprintf(cmd, sizeof(cmd), "cp '%s/slubd.arena' '%s' && chown %u:%u '%s' && chmod %o '%s'",
		 dir, path, (unsigned)uid, (unsigned)uid, path, (unsigned)mode, path);
	rc = run_cmd(cmd);
	CHECKF(rc == 0, "%s failed", cmd);
	rm_rf(dir);
	return rc ? -1 : 0;
}

E2E_CASE(squatted_tmp)
{
	char bindir[64], sq[64], planted[128], log[128], before[256], after[256], cmd[300];
	char *args[] = { "--arena-size", "64M", "--hugepages", "off", NULL };
	char *args_file[] = { "--arena-size", "64M", "--hugepages", "off", "--arena-file", planted,
			      NULL };
	struct spawn sp = { .args = args, .uid = VICTIM, .fds = { -1 }, .default_socket = 1 };
	uint64_t sum0, sum1;
	off_t size0, size1;
	struct stat st;
	char *text;

	if (geteuid() != 0)
		SKIP("needs root, to act as two other users (uids 65533 and 65534)");
	snprintf(sq, sizeof(sq), "/tmp/slubd-%u", VICTIM);
	if (lstat(sq, &st) == 0) {
		static char why[160];

		snprintf(why, sizeof(why), "%s exists already (not made by this test): left alone",
			 sq);
		SKIP(why);
	}
	REQUIRE(mkdir_tmp(bindir, sizeof(bindir), "bin") == 0);
	REQUIRE(chmod(bindir, 0711) == 0);
	sp.bin = slubd_copy(bindir);
	REQUIRE(sp.bin != NULL);
	snprintf(log, sizeof(log), "%s/victim.log", bindir);

	/* uid 65533 squats the victim's fallback directory, with an arena in it */
	REQUIRE(mkdir(sq, 0777) == 0);
	if (chown(sq, SQUATTER, SQUATTER) || chmod(sq, 0777)) {
		CHECKF(0, "chown/chmod %s: %s", sq, strerror(errno));
		goto out;
	}
	snprintf(planted, sizeof(planted), "%s/slubd.arena", sq);
	if (plant_arena(planted, SQUATTER, 0666))
		goto out;
	REQUIRE(file_sum(planted, &sum0, &size0) == 0);
	list_dir(sq, before, sizeof(before));
	text = expect_refusal(&sp, log, "a /tmp/slubd-UID made by another uid, mode 0777", sq,
			      "refusing");
	free(text);
	list_dir(sq, after, sizeof(after));
	CHECKF(!strcmp(before, after), "the victim's slubd wrote into the squatted %s: before "
	       "\"%s\", after \"%s\"", sq, before, after);
	CHECKF(file_sum(planted, &sum1, &size1) == 0 && sum1 == sum0 && size1 == size0,
	       "the planted arena %s was changed", planted);

	/*
	 * the directory the victim's own (0700), the arena in it another user's;
	 * named, since the default next to the socket is refused where /tmp is a disk
	 */
	snprintf(cmd, sizeof(cmd), "chown %u:%u '%s' && chmod 0700 '%s'", VICTIM, VICTIM, sq, sq);
	REQUIRE(run_cmd(cmd) == 0);
	sp.args = args_file;
	text = expect_refusal(&sp, log, "an arena file of another uid in slubd's own directory",
			      planted, "belongs to uid 65533");
	free(text);
	CHECKF(file_sum(planted, &sum1, &size1) == 0 && sum1 == sum0 && size1 == size0,
	       "the planted arena %s was changed", planted);
out:
	rm_rf(sq);
	rm_rf(bindir);
}

E2E_CASE(symlinked_paths)
{
	char bindir[64], home[64], victim[64], link[128], sock[160], log[128], planted[128];
	char before[256], after[256], cmd[400];
	char *args[] = { "--socket", sock, "--arena-size", "64M", "--hugepages", "off", NULL };
	struct spawn sp = { .args = args, .uid = VICTIM, .fds = { -1 } };
	uint64_t sum0, sum1;
	off_t size0, size1;
	char *text;

	if (geteuid() != 0)
		SKIP("needs root, to act as two other users (uids 65533 and 65534)");
	REQUIRE(mkdir_tmp(bindir, sizeof(bindir), "bin") == 0);
	REQUIRE(chmod(bindir, 0711) == 0);
	sp.bin = slubd_copy(bindir);
	REQUIRE(sp.bin != NULL);
	snprintf(log, sizeof(log), "%s/slubd.log", bindir);
	REQUIRE(chmod(log, 0666) == 0 || errno == ENOENT);
	/* slubd's own directory (uid 65534), and another user's, open to all */
	REQUIRE(mkdir_tmp(home, sizeof(home), "home") == 0);
	REQUIRE(mkdir_tmp(victim, sizeof(victim), "other") == 0);
	snprintf(cmd, sizeof(cmd), "chown %u:%u '%s' && chown %u:%u '%s' && chmod 0777 '%s'",
		 VICTIM, VICTIM, home, SQUATTER, SQUATTER, victim, victim);
	REQUIRE(run_cmd(cmd) == 0);

	/* the socket's directory is a link into the other user's directory */
	snprintf(link, sizeof(link), "%s/run", home);
	REQUIRE(symlink(victim, link) == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", link);
	list_dir(victim, before, sizeof(before));
	text = expect_refusal(&sp, log, "a socket directory that is a symbolic link", link,
			      "symbolic link");
	free(text);
	list_dir(victim, after, sizeof(after));
	CHECKF(!strcmp(before, after), "slubd wrote through the link into %s: before \"%s\", "
	       "after \"%s\"", victim, before, after);

	/* the arena file is a link to an arena another user planted */
	snprintf(planted, sizeof(planted), "%s/planted.arena", victim);
	if (plant_arena(planted, SQUATTER, 0666))
		goto out;
	REQUIRE(file_sum(planted, &sum0, &size0) == 0);
	snprintf(link, sizeof(link), "%s/slubd.arena", home);
	REQUIRE(symlink(planted, link) == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", home);
	text = expect_refusal(&sp, log, "an arena file that is a symbolic link", link,
			      "symbolic link");
	free(text);
	CHECKF(file_sum(planted, &sum1, &size1) == 0 && sum1 == sum0 && size1 == size0,
	       "the planted arena %s was changed", planted);
out:
	rm_rf(home);
	rm_rf(victim);
	rm_rf(bindir);
}

/* ---- the backing, said; the default arena on a disk refused; --ready-fd ----------------- */

/* the arena's backing as a stats reply says it ("" with a failed check) */
static void backing_of(const char *sock, char *out, size_t len)
{
	struct e2e_arena ar;

	memset(&ar, 0, sizeof(ar));
	CHECKF(e2e_cache_stats(sock, "kmalloc-64", NULL, &ar) == 1, "stats on %s", sock);
	snprintf(out, len, "%s", ar.backing);
}

/*
 * the default arena file next to a socket on a disk is not made: the arena is
 * a memfd, and the log says why and what keeps pools; a named arena's default file
 * (DIR/NAME.arena) there; named with --arena-file it is used,
 * and stats say "file on FS PATH"; next to a socket on tmpfs it is the
 * default, "tmpfs file PATH"
 */
E2E_CASE(default_on_disk)
{
	long ftype = 0;
	const char *disk = t_disk_dir(&ftype);
	char dir[96], sock[160], arena[160], log[160], backing[320], want[400], left[256];
	char *args[] = { "--socket", sock, "--arena-size", "32M", "--hugepages", "off", NULL };
	char *args_file[] = { "--socket", sock, "--arena-size", "32M", "--hugepages", "off",
			      "--arena-file", arena, NULL }, conf[160];
	struct spawn sp = { .args = args, .fds = { -1 } };
	struct daemon dm = { 0 };
	char *text;

	if (!disk)
		SKIP("none of $TMPDIR, /var/tmp, /tmp is on a disk's file system");
	snprintf(dir, sizeof(dir), "%s/slubd-st-disk.XXXXXX", disk);
	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(arena, sizeof(arena), "%s/slubd.arena", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(dm.log, sizeof(dm.log), "%s", log);
	/* the default: no file on the disk, a memfd instead, and the log says why */
	if (start_ready(&dm, &sp) == 0) {
		backing_of(sock, backing, sizeof(backing));
		CHECKF(!strcmp(backing, "memfd"), "backing '%s' next to a socket on a disk, "
		       "want 'memfd'", backing);
		list_dir(dir, left, sizeof(left));
		CHECKF(access(arena, F_OK) != 0, "slubd made the arena file on the disk: %s", left);
		text = slurp(log);
		CHECKF(strstr(text, "would be on") && strstr(text, "a memfd of normal pages instead") &&
		       strstr(text, "tmpfs") && strstr(text, "--arena-file PATH"), "the log does not "
		       "say why the arena is a memfd and what keeps pools:\n%s", text);
		free(text);
		stop(&dm);
	}

	/* a named arena's default file, next to the default socket: refused too */
	snprintf(conf, sizeof(conf), "%s/slubd.conf", dir);
	REQUIRE(e2e_write_file(conf, "[arena t1]\nsize = 16M\n") == 0);
	{
		char *argv[] = { (char *)e2e_need_bin("SLUBD", "slubd"), "--socket", sock,
				 "--arena-size", "32M", "--hugepages", "off", "--arena-file", arena,
				 "--config", conf, NULL }, *out = NULL;
		int rc = e2e_run(argv, &out, e2e_scale_ms(10000));

		CHECKF(rc == 1 && out && strstr(out, "t1.arena would be on") &&
		       strstr(out, "[arena t1] file = PATH"), "a named arena's default file on a "
		       "disk: exit %d, want 1 with the refusal:\n%s", rc, out ? out : "");
		free(out);
	}

	/* asked for: served, and said to be on that disk */
	sp.args = args_file;
	if (start_ready(&dm, &sp) == 0) {
		backing_of(sock, backing, sizeof(backing));
		printf("  %s\n", backing);
		CHECKF(e2e_backing_is_file(backing, arena) && !strncmp(backing, "file on ", 8),
		       "backing '%s', want 'file on FS %s'", backing, arena);
		if (ftype == 0xEF53) {	/* EXT4_SUPER_MAGIC */
			snprintf(want, sizeof(want), "file on ext4 %s", arena);
			CHECKF(!strcmp(backing, want), "backing '%s', want '%s'", backing, want);
		}
		text = slurp(log);
		CHECKF(strstr(text, want) && strstr(text, "a disk, as asked"), "the log does not "
		       "say the arena is on a disk, as asked:\n%s", text);
		free(text);
		stop(&dm);
	}
	rm_rf(dir);

	/* on tmpfs: the default place, said so */
	if (!e2e_tmpfs())
		SKIP("no tmpfs at /dev/shm for the default place");
	sp.args = args;
	REQUIRE(mkdir_tmp(dir, sizeof(dir), "mem") == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(arena, sizeof(arena), "%s/slubd.arena", dir);
	snprintf(dm.log, sizeof(dm.log), "%s/slubd.log", dir);
	if (start_ready(&dm, &sp) == 0) {
		backing_of(sock, backing, sizeof(backing));
		snprintf(want, sizeof(want), "tmpfs file %s", arena);
		CHECKF(!strcmp(backing, want), "backing '%s', want '%s'", backing, want);
		text = slurp(dm.log);
		CHECKF(strstr(text, want), "the log does not say '%s':\n%s", want, text);
		free(text);
		stop(&dm);
	}
	rm_rf(dir);
}

/* what comes on fd within a few seconds, to EOF ("" if nothing) */
static char *drain(int fd)
{
	char *buf = NULL;
	size_t len = 0;

	e2e_read_all(fd, &buf, &len, e2e_scale_ms(10000));
	return buf ? buf : strdup("");
}

/* start slubd with args, a pipe's write end as fd 3 (--ready-fd 3): what came on it, to EOF */
static char *start_ready_fd(struct daemon *dm, struct spawn *sp, char *const *args)
{
	char *text;
	int p[2];

	if (pipe2(p, O_CLOEXEC)) {
		CHECKF(0, "pipe: %s", strerror(errno));
		return strdup("");
	}
	sp->args = args;
	sp->fds[0] = p[1];
	dm->pid = start(sp, dm->log);
	close(p[1]);
	CHECKF(dm->pid > 0, "fork: %s", strerror(errno));
	text = dm->pid > 0 ? drain(p[0]) : strdup("");	/* to EOF: the line, then closed */
	close(p[0]);
	return text;
}

/*
 * --ready-fd N: the line "ready" comes once the socket serves (a stats request
 * sent right after it is answered, with no retry), then the fd is closed; with
 * named arenas, once every arena's socket serves; a slubd that cannot start
 * closes it without the line; a bad N is a usage error (exit 2)
 */
E2E_CASE(ready_fd)
{
	char dir[96], sock[160], tsock[160], conf[200], *line = NULL;
	char *args[] = { "--socket", sock, "--arena-size", "32M", "--hugepages", "off",
			 "--ready-fd", "3", NULL };
	char *args_conf[] = { "--socket", sock, "--arena-size", "32M", "--hugepages", "off",
			      "--ready-fd", "3", "--config", conf, NULL };
	char *args_bad[] = { "--socket", "/nonexistent-slubd-dir/x/slubd.sock", "--hugepages",
			     "off", "--ready-fd", "3", NULL };
	struct spawn sp = { .args = args, .fds = { -1, -1 }, .plain_fds = 1 };
	struct daemon dm = { 0 };

	REQUIRE(mkdir_tmp(dir, sizeof(dir), "rdy") == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(tsock, sizeof(tsock), "%s/t1.sock", dir);
	snprintf(conf, sizeof(conf), "%s/slubd.conf", dir);
	snprintf(dm.log, sizeof(dm.log), "%s/slubd.log", dir);

	/* one arena */
	line = start_ready_fd(&dm, &sp, args);
	CHECKF(!strcmp(line, "ready\n"), "--ready-fd gave '%s', want 'ready\\n' then EOF", line);
	free(line);
	CHECKF(e2e_cache_stats(sock, "kmalloc-64", NULL, NULL) == 1, "a request right after the "
	       "ready line was not answered");
	stop(&dm);

	/* named arenas: the supervisor's line, once both serve */
	REQUIRE(e2e_write_file(conf, "[arena t1]\nsize = 16M\nhugepages = off\n") == 0);
	line = start_ready_fd(&dm, &sp, args_conf);
	CHECKF(!strcmp(line, "ready\n"), "--ready-fd with named arenas gave '%s'", line);
	free(line);
	CHECKF(e2e_cache_stats(sock, "kmalloc-64", NULL, NULL) == 1, "the default arena did not "
	       "answer right after the ready line");
	CHECKF(e2e_cache_stats(tsock, "kmalloc-64", NULL, NULL) == 1, "arena t1 did not answer "
	       "right after the ready line");
	stop(&dm);

	/* cannot start: EOF, no line */
	line = start_ready_fd(&dm, &sp, args_bad);
	CHECKF(!line[0], "a slubd that could not start wrote '%s' on --ready-fd", line);
	free(line);
	{
		int status = e2e_waitpid_timeout(dm.pid, e2e_scale_ms(10000));

		CHECKF(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 1,
		       "a slubd that could not start: status %#x", status);
		dm.pid = 0;
	}

	/* a bad descriptor: a usage error */
	{
		const char *bin = e2e_need_bin("SLUBD", "slubd");
		const char *bad[] = { "2", "77", "x3", "-1" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char *argv[] = { (char *)bin, "--socket", sock, "--ready-fd", (char *)bad[i],
					 NULL }, *out = NULL;
			int rc = e2e_run(argv, &out, e2e_scale_ms(10000));

			CHECKF(rc == 2 && out && strstr(out, "--ready-fd"), "--ready-fd %s: exit %d, "
			       "want 2 naming the option: %s", bad[i], rc, out ? out : "");
			free(out);
		}
	}
	rm_rf(dir);
}

/*
 * huge pages by default when reserved (hugepages auto), in a private mount
 * namespace where only the case's own hugetlbfs mount is seen: an arena
 * file an earlier slubd left next to the socket is adopted (pools kept, the
 * reason said); without it and without a mount, a memfd of huge pages
 * ("hugetlb", its life slubd's, said in the log); with a mount, MOUNT/slubd-UID/slubd.arena, its directory made 0700, whose
 * pools the next slubd adopts.  Changes the host's vm.nr_hugepages for a few
 * seconds (put back): SLUBD_TEST_HUGETLB=1, as root.
 */
E2E_CASE(hugepages_default)
{
	char dir[96], sock[160], mnt[160] = "", priv[200] = "", other[160], want[300];
	char backing[320], was[32] = "";
	char *args[] = { "--socket", sock, "--arena-size", "32M", NULL }, file[160];
	char *args_off[] = { "--socket", sock, "--arena-size", "32M", "--hugepages", "off", NULL };
	struct spawn sp = { .args = args, .fds = { -1 } };
	struct daemon dm = { 0 };
	struct e2e_slubd ctl = { 0 };
	bool mounted;
	struct stat st;
	char line[1024], *text, *out = NULL;
	FILE *f;
	int hfd;

	if (!getenv("SLUBD_TEST_HUGETLB"))
		SKIP("changes the host's vm.nr_hugepages: set SLUBD_TEST_HUGETLB=1 (as root)");
	if (geteuid() != 0)
		SKIP("needs root, to reserve huge pages and mount hugetlbfs");
	if (!e2e_tmpfs())
		SKIP("no tmpfs at /dev/shm for the socket");
	/* a mount namespace of the case's own: no hugetlbfs mount but the one made here */
	REQUIRE(unshare(CLONE_NEWNS) == 0);
	REQUIRE(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
	for (int more = 1; more;) {
		more = 0;
		f = fopen("/proc/self/mountinfo", "re");
		REQUIRE(f != NULL);
		while (fgets(line, sizeof(line), f)) {
			const char *sep = strstr(line, " - hugetlbfs ");

			if (sep && sscanf(line, "%*s %*s %*s %*s %159s", other) == 1 &&
			    umount2(other, MNT_DETACH) == 0)
				more = 1;
		}
		fclose(f);
	}
	f = fopen("/proc/sys/vm/nr_hugepages", "re");
	REQUIRE(f && fgets(was, sizeof(was), f));
	fclose(f);
	hfd = open("/proc/sys/vm/nr_hugepages", O_WRONLY | O_CLOEXEC);
	REQUIRE(hfd >= 0);
	{
		char n[32];
		int len = snprintf(n, sizeof(n), "%d", atoi(was) + 20);	/* 16 for the arena */

		CHECKF(write(hfd, n, (size_t)len) == len, "vm.nr_hugepages: %s", strerror(errno));
	}
	if (t_failed || mkdir_tmp(dir, sizeof(dir), "hdf"))
		goto out_pages;
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(dm.log, sizeof(dm.log), "%s/slubd.log", dir);
	snprintf(ctl.sock, sizeof(ctl.sock), "%s", sock);

	/* an arena file an earlier slubd left next to the socket: adopted, its pools kept */
	snprintf(file, sizeof(file), "%s/slubd.arena", dir);
	sp.args = args_off;
	if (start_ready(&dm, &sp))
		goto out;
	CHECKF(e2e_slubctl(&ctl, &out, "create", "hp.file", "64", NULL) == 0, "create: %s",
	       out ? out : "");
	free(out);
	stop(&dm);
	sp.args = args;
	if (start_ready(&dm, &sp))
		goto out;
	backing_of(sock, backing, sizeof(backing));
	snprintf(want, sizeof(want), "tmpfs file %s", file);
	CHECKF(!strcmp(backing, want) && e2e_cache_stats(sock, "hp.file", NULL, NULL) == 1,
	       "the earlier arena file was not adopted with its pool: backing '%s'", backing);
	stop(&dm);
	text = slurp(dm.log);
	CHECKF(strstr(text, "huge pages are reserved, but"), "the log does not say why the "
	       "huge pages are not used:\n%s", text);
	free(text);
	CHECKF(unlink(file) == 0, "unlink %s: %s", file, strerror(errno));

	/* no hugetlbfs mount, no file: a memfd of huge pages, said to last slubd's life */
	if (start_ready(&dm, &sp))
		goto out;
	backing_of(sock, backing, sizeof(backing));
	CHECKF(!strcmp(backing, "hugetlb"), "backing '%s' with huge pages reserved, want "
	       "'hugetlb' (a memfd of huge pages)", backing);
	stop(&dm);
	text = slurp(dm.log);
	CHECKF(strstr(text, "huge pages in a memfd") && strstr(text, "last as long as this slubd"),
	       "the log does not say the memfd lasts slubd's life:\n%s", text);
	free(text);

	/* a hugetlbfs mount: the arena in a private directory there, kept for the next slubd */
	snprintf(mnt, sizeof(mnt), "%s/huge", dir);	/* under a slubd-st- directory: rm_rf'ed */
	snprintf(priv, sizeof(priv), "%s/slubd-0", mnt);
	mounted = mkdir(mnt, 0755) == 0 &&
		  mount("hugetlbfs", mnt, "hugetlbfs", 0, "pagesize=2M,mode=0755") == 0;
	CHECKF(mounted, "mount hugetlbfs on %s: %s", mnt, strerror(errno));
	if (!mounted || start_ready(&dm, &sp))
		goto out;
	backing_of(sock, backing, sizeof(backing));
	snprintf(want, sizeof(want), "hugetlb file %s/slubd.arena", priv);
	CHECKF(!strcmp(backing, want), "backing '%s', want '%s'", backing, want);
	CHECKF(stat(priv, &st) == 0 && (st.st_mode & 0777) == 0700, "%s: mode %o, want 0700",
	       priv, (unsigned)(st.st_mode & 0777));
	CHECKF(e2e_slubctl(&ctl, &out, "create", "hp.keep", "64", NULL) == 0, "create: %s",
	       out ? out : "");
	free(out);
	stop(&dm);
	if (start_ready(&dm, &sp))
		goto out;
	CHECKF(e2e_cache_stats(sock, "hp.keep", NULL, NULL) == 1, "the pool hp.keep did not "
	       "outlive slubd in %s", want);
	backing_of(sock, backing, sizeof(backing));
	CHECKF(strstr(backing, priv) != NULL, "after the restart: backing '%s'", backing);
	stop(&dm);
out:
	stop(&dm);
	if (t_failed) {
		text = slurp(dm.log);
		printf("  slubd's log:\n%s", text);
		free(text);
	}
	if (mnt[0]) {
		/* whatever slubd made in the mount holds huge pages: removed first */
		snprintf(line, sizeof(line), "rm -rf '%s'/*", mnt);
		(void)!run_cmd(line);
		umount2(mnt, MNT_DETACH);
	}
	rm_rf(dir);
out_pages:
	(void)!pwrite(hfd, was, strlen(was), 0);
	close(hfd);
}

T_MAIN(T_CASE(fd_store_memfd), T_CASE(fd_store_named), T_CASE(fd_store_crash), T_CASE(file_cut_grow_punch), T_CASE(cut_unrestorable), T_CASE(cut_at_start), T_CASE(hugetlb_punch), T_CASE(two_daemons_dir),
       T_CASE(two_daemons_file), T_CASE(client_lock), T_CASE(racing_start), T_CASE(squatted_tmp), T_CASE(symlinked_paths),
       T_CASE(default_on_disk), T_CASE(ready_fd), T_CASE(hugepages_default))
