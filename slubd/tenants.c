/*
 * tenants.c - named arenas: one slubd process per arena, under a small
 * supervisor.
 *
 * When the config file has [arena NAME] sections, the slubd started is a
 * supervisor: it forks one server per arena (the default one, of the unnamed
 * sections, and one per NAME), each an ordinary single-arena slubd (serve())
 * with its own struct config: its own socket (DIR/NAME.sock, DIR being the
 * default socket's directory), arena (DIR/NAME.arena), access list and caps.
 * Tenants are kept apart by the kernel: each arena is its own mapping, sent
 * only to the peers its server's policy allows, and a client stuck in (or
 * crashing) one server cannot stall or crash another's.
 *
 * The supervisor serves nothing itself and touches no arena.  It
 *   - reports readiness once every server serves (each sends one byte on a
 *     socketpair where a lone slubd would say READY=1; then the supervisor
 *     says READY=1 and writes the --ready-fd line (main.c));
 *   - keeps each server's arena when it is a memfd of the fd store: the
 *     server sends it with its readiness byte (SCM_RIGHTS), and a server
 *     restarted after a crash gets it as it would from systemd (LISTEN_FDS,
 *     named arena or arena-NAME), so it adopts the arena with its pools
 *     instead of making an empty one (systemd passes only what its store
 *     held at the service's start; an arena made during this run would be
 *     lost).  A file arena is found again by its path;
 *   - forwards SIGTERM, SIGINT and SIGHUP to its servers (each reads its own
 *     part of the config again on SIGHUP; the supervisor too, for the server
 *     it may have to restart);
 *   - restarts a server that dies, after a backoff (100 ms, doubling to 30 s
 *     while it keeps dying within 30 s of its start), logging each; a server
 *     that dies before it ever served, while the supervisor starts, stops
 *     them all (a configuration error would only loop);
 *   - on SIGTERM or SIGINT exits after its servers, 0 when they all exited 0;
 *     each is sent SIGCONT after the signal (a stopped server would never act
 *     on it), and one still running STOP_GRACE_MS later is killed (exit 1).
 * Its servers die with it (PR_SET_PDEATHSIG), so none is left without one.
 *
 * One thread; signals arrive through a signalfd, polled with the servers'
 * readiness sockets, so nothing runs in a signal handler and nothing needs a
 * lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "slubd.h"

#define BACKOFF_MIN_MS	100u
#define BACKOFF_MAX_MS	30000u
#define STABLE_MS	30000u	/* a server that ran this long starts the backoff afresh */
#define STOP_GRACE_MS	10000u	/* a server still running this long after SIGTERM is killed */

struct tenant {
	struct config cfg;
	const char *label;	/* "default" or the NAME */
	pid_t pid;		/* 0: not running */
	int ready_rd;		/* the readiness socketpair's supervisor end; -1 */
	int arena_fd;		/* its arena's memfd, for a restart; -1: none */
	bool arena_listed;	/* arena_fd is one of the LISTEN_FDS systemd passed */
	bool served;		/* served since its last start */
	bool ever_served;
	uint64_t started_ms;
	uint64_t restart_at_ms;	/* 0: no restart scheduled */
	unsigned int backoff_ms;
	unsigned int restarts;
};

static struct tenant *tenants;
static int nr_tenants;
static sigset_t old_mask;
static int sig_fd = -1;
static int ready_fd = -1;	/* --ready-fd (main.c), written once every server serves */
static bool stopping;		/* every server was told to stop; none is (re)started */
static uint64_t kill_at_ms;	/* stopping: then SIGKILL to those left; 0 once done */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static const char *status_str(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "status 0x%x", (unsigned)st);
	return buf;
}

/* the directory of path, "." for a bare name */
static void dir_of(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		snprintf(out, len, ".");
	else if (slash == path)
		snprintf(out, len, "/");
	else
		snprintf(out, len, "%.*s", (int)(slash - path), path);
}

/*
 * canon_path - path as the kernel would reach it, so that two spellings of
 * one file compare equal: made absolute, its longest existing prefix through
 * realpath (links, ".", ".."), the rest (which does not exist yet, so holds
 * no link) with "." and ".." applied by hand.  A path too long for out is
 * copied as it is (it then matches only itself).
 */
static void canon_path(const char *path, char *out, size_t len)
{
	char buf[PATH_MAX], rest[PATH_MAX] = "", tmp[PATH_MAX], real[PATH_MAX];
	int n;

	if (path[0] == '/')
		n = snprintf(buf, sizeof(buf), "%s", path);
	else if (getcwd(tmp, sizeof(tmp)))
		n = snprintf(buf, sizeof(buf), "%s/%s", tmp, path);
	else
		n = -1;
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		snprintf(out, len, "%s", path);
		return;
	}
	/* the longest prefix that resolves; "/" always does */
	while (!realpath(buf, real)) {
		char *slash = strrchr(buf, '/');

		snprintf(tmp, sizeof(tmp), "%s%s", slash, rest);
		snprintf(rest, sizeof(rest), "%s", tmp);
		if (slash == buf) {
			snprintf(real, sizeof(real), "/");
			break;
		}
		*slash = 0;
	}
	/* the rest, component by component */
	for (char *save = NULL, *c = strtok_r(rest, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		size_t l = strlen(real);

		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			char *slash = strrchr(real, '/');

			if (slash == real)
				real[1] = 0;
			else if (slash)
				*slash = 0;
			continue;
		}
		snprintf(real + l, sizeof(real) - l, "%s%s", real[l - 1] == '/' ? "" : "/", c);
	}
	snprintf(out, len, "%s", real);
}

/* the paths of one arena's server: its socket, its arena file */
struct tenant_paths {
	char path[2][PATH_MAX];
	struct stat st[2];	/* st_ino 0: does not exist (yet) */
};

/*
 * the arena file a server will use: its own, or for the default arena
 * without one, slubd.arena next to its socket (where it goes without huge
 * pages; MOUNT/slubd-UID/slubd.arena on a hugetlbfs mount, or a memfd of
 * huge pages, store.c's default_arena, is not checked)
 */
static void arena_path(const struct config *c, char *out, size_t len)
{
	if (c->arena_file[0]) {
		snprintf(out, len, "%s", c->arena_file);
	} else {
		/* as server.c's default_arena_path: slubd.arena next to the socket */
		char dir[sizeof(c->socket)];

		dir_of(c->socket, dir, sizeof(dir));
		snprintf(out, len, "%s/slubd.arena", dir);
	}
}

/*
 * shared_paths - two arenas on one socket or on one arena file would be one
 * arena twice (one server unlinks the other's socket, or both map one file);
 * a socket on an arena file would have its server unlink that file.  Paths
 * are compared as the kernel reaches them (canon_path: "./", "//", "x/..",
 * linked directories) and, for those that exist, by device and inode (hard
 * links).  1 (said on stderr) when two collide.
 */
static int shared_paths(void)
{
	static const char *const what[2] = { "socket", "arena file" };
	struct tenant_paths *p = calloc((size_t)nr_tenants, sizeof(*p));
	int rc = 0;

	if (!p) {
		fprintf(stderr, "slubd: out of memory\n");
		return 1;
	}
	for (int i = 0; i < nr_tenants; i++) {
		char raw[PATH_MAX];

		canon_path(tenants[i].cfg.socket, p[i].path[0], sizeof(p[i].path[0]));
		arena_path(&tenants[i].cfg, raw, sizeof(raw));
		canon_path(raw, p[i].path[1], sizeof(p[i].path[1]));
		for (int k = 0; k < 2; k++)
			if (stat(p[i].path[k], &p[i].st[k]))
				p[i].st[k].st_ino = 0;
	}
	for (int i = 0; i < nr_tenants && !rc; i++)
		for (int j = 0; j < i && !rc; j++)
			for (int k = 0; k < 2 && !rc; k++)
				for (int l = 0; l < 2 && !rc; l++) {
					const struct stat *a = &p[i].st[k], *b = &p[j].st[l];

					if (strcmp(p[i].path[k], p[j].path[l]) &&
					    !(a->st_ino && b->st_ino && a->st_ino == b->st_ino &&
					      a->st_dev == b->st_dev))
						continue;
					if (k == l)
						fprintf(stderr, "slubd: arenas %s and %s share the %s %s (spelt "
							"%s and %s): give each its own\n", tenants[j].label,
							tenants[i].label, what[k], p[i].path[k],
							k ? tenants[j].cfg.arena_file[0] ?
							tenants[j].cfg.arena_file : "slubd.arena by default" :
							tenants[j].cfg.socket,
							k ? tenants[i].cfg.arena_file : tenants[i].cfg.socket);
					else
						fprintf(stderr, "slubd: arenas %s and %s share the path %s: "
							"the %s of %s is the %s of %s (its server would unlink "
							"it): give each its own\n", tenants[j].label,
							tenants[i].label, p[i].path[k], what[k],
							tenants[i].label, what[l], tenants[j].label);
					rc = 1;
				}
	free(p);
	return rc;
}

/* a named arena's config: its defaults next to the default socket, then the file */
static int named_config(struct config *c, const struct config *dflt, const char *config_file,
			const char *name, char *err, size_t errlen)
{
	char dir[sizeof(dflt->socket)];
	int n1, n2;

	dir_of(dflt->socket, dir, sizeof(dir));
	config_defaults(c);
	snprintf(c->arena_name, sizeof(c->arena_name), "%s", name);
	n1 = snprintf(c->socket, sizeof(c->socket), "%s/%s.sock", dir, name);
	n2 = snprintf(c->arena_file, sizeof(c->arena_file), "%s/%s.arena", dir, name);
	c->arena_file_default = true;	/* until the section names one (config.c) */
	if (n1 < 0 || (size_t)n1 >= sizeof(c->socket) || n2 < 0 ||
	    (size_t)n2 >= sizeof(c->arena_file)) {
		snprintf(err, errlen, "arena %s: its socket %s/%s.sock makes too long a path (a UNIX "
			 "socket path holds %zu bytes): set [arena %s] socket", name, dir, name,
			 sizeof(c->socket) - 1, name);
		return -ENAMETOOLONG;
	}
	return config_load(c, config_file, err, errlen);
}

/* the fd store's name for t's arena: "arena", or "arena-NAME" (store.c's fdname) */
static void store_name(const struct tenant *t, char *out, size_t len)
{
	snprintf(out, len, t->cfg.arena_name[0] ? "arena-%s" : "arena", t->cfg.arena_name);
}

/* fd moved to the lowest free number at or above min (close-on-exec); -1 */
static int move_up(int fd, int min)
{
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, min);

	close(fd);
	return nfd;
}

/*
 * route_listen_fds - in a server just forked: of what systemd passed the
 * supervisor (LISTEN_FDS, named by LISTEN_FDNAMES), keep this server's own,
 * moved down to fd 3, and close the rest.  The default server keeps the
 * listening socket(s) and the arena stored as "arena"; the server of NAME
 * keeps the one stored as "arena-NAME", so a service restart gives every
 * arena its pools back, not only the default one.  The supervisor keeps its
 * copies (a server it restarts gets them again).  An arena a server sent the
 * supervisor (ready_msg()) replaced the stored one of its name in place
 * (dup2 onto its number), or, when systemd passed none of that name, is one
 * more fd: it is added after this server's own, named as systemd would name
 * it, and the other servers' are closed (no server holds another's arena).
 * Under a service manager a named arena whose file is the one named_config()
 * chose by default (DIR/NAME.arena, DIR the default socket's) is a memfd in
 * the fd store, as the default arena is: a file only when the config names
 * one.  *ready_wr (this server's end of its readiness socketpair) may be
 * moved to another number.
 */
static void route_listen_fds(struct tenant *t, int *ready_wr)
{
	const char *lpid = getenv("LISTEN_PID"), *lfds = getenv("LISTEN_FDS");
	const char *lnames = getenv("LISTEN_FDNAMES");
	char want[SLUBD_ARENA_NAME_MAX + 8], names[4096] = "", mine[4096] = "", *save = NULL, *tok;
	int n = lfds ? atoi(lfds) : 0, kept = 0, len = 0, extra = -1;

	if (t->cfg.arena_name[0] && getenv("NOTIFY_SOCKET")) {
		char dir[sizeof(t->cfg.socket)], dflt[sizeof(t->cfg.arena_file) + 8];

		dir_of(tenants[0].cfg.socket, dir, sizeof(dir));
		snprintf(dflt, sizeof(dflt), "%s/%s.arena", dir, t->cfg.arena_name);
		if (!strcmp(t->cfg.arena_file, dflt))
			t->cfg.arena_file[0] = 0;
	}
	/* passed to the supervisor, or to nobody here: left alone */
	if (!lfds || !lpid || atoi(lpid) != (int)getppid() || n <= 0 || n > 1024)
		n = 0;
	if (lfds) {
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");
		unsetenv("LISTEN_PID");
	}
	for (int i = 0; i < nr_tenants; i++) {
		if (tenants[i].arena_fd < 0 || tenants[i].arena_listed)
			continue;
		if (&tenants[i] == t)
			extra = t->arena_fd;
		else
			close(tenants[i].arena_fd);
	}
	/*
	 * this server's fds end at 3 + n at most (extra included): its own
	 * arena and readiness end are moved above, out of the way.  Every fd
	 * the supervisor opened lies above the n it was passed, so none of the
	 * numbers below is one of them.
	 */
	if (extra >= 0) {
		extra = move_up(extra, SD_LISTEN_FDS_START + n + 1);
		*ready_wr = move_up(*ready_wr, SD_LISTEN_FDS_START + n + 1);
	}
	store_name(t, want, sizeof(want));
	snprintf(names, sizeof(names), "%s", lnames ? lnames : "");
	tok = n ? strtok_r(names, ":", &save) : NULL;
	for (int i = 0; i < n; i++, tok = tok ? strtok_r(NULL, ":", &save) : NULL) {
		int fd = SD_LISTEN_FDS_START + i;
		const char *name = tok ? tok : "unknown";
		bool arena = !strcmp(name, "arena") || !strncmp(name, "arena-", 6);

		if (arena ? strcmp(name, want) : t->cfg.arena_name[0] != 0) {
			close(fd);
			continue;
		}
		/* 3 + kept was closed or moved down already (kept < i), or is fd (kept == i) */
		if (fd != SD_LISTEN_FDS_START + kept) {
			dup2(fd, SD_LISTEN_FDS_START + kept);
			close(fd);
		}
		if (len < (int)sizeof(mine))
			len += snprintf(mine + len, sizeof(mine) - (size_t)len, "%s%s",
					kept ? ":" : "", name);
		kept++;
	}
	if (extra >= 0) {
		/* 3 + kept <= 3 + n: closed above, or never one of the supervisor's */
		dup2(extra, SD_LISTEN_FDS_START + kept);
		close(extra);
		if (len < (int)sizeof(mine))
			len += snprintf(mine + len, sizeof(mine) - (size_t)len, "%s%s",
					kept ? ":" : "", want);
		kept++;
	}
	if (kept) {
		char num[24];

		snprintf(num, sizeof(num), "%d", kept);
		setenv("LISTEN_FDS", num, 1);
		snprintf(num, sizeof(num), "%d", (int)getpid());
		setenv("LISTEN_PID", num, 1);
		setenv("LISTEN_FDNAMES", mine, 1);
	}
}

/*
 * find_stored - in the supervisor, at its start: the arena systemd passed
 * for each server (the first fd of its name, the one store.c adopts), so
 * that one a server sends later takes its place (dup2 onto its number)
 */
static void find_stored(void)
{
	const char *lpid = getenv("LISTEN_PID"), *lfds = getenv("LISTEN_FDS");
	const char *lnames = getenv("LISTEN_FDNAMES");
	char names[4096], want[SLUBD_ARENA_NAME_MAX + 8], *save = NULL, *tok;
	int n = lfds ? atoi(lfds) : 0;

	if (!lfds || !lpid || !lnames || atoi(lpid) != (int)getpid() || n <= 0 || n > 1024)
		return;
	snprintf(names, sizeof(names), "%s", lnames);
	tok = strtok_r(names, ":", &save);
	for (int i = 0; i < n && tok; i++, tok = strtok_r(NULL, ":", &save))
		for (int k = 0; k < nr_tenants; k++) {
			struct tenant *t = &tenants[k];

			store_name(t, want, sizeof(want));
			if (t->arena_fd < 0 && !strcmp(tok, want)) {
				t->arena_fd = SD_LISTEN_FDS_START + i;
				t->arena_listed = true;
			}
		}
}

/*
 * ready_msg - in the supervisor: t's readiness message.  1: it serves (its
 * arena, if it sent one, kept in t->arena_fd); 0: it ended before serving.
 */
static int ready_msg(struct tenant *t)
{
	char c, cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct iovec iov = { &c, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	int fd = -1;
	ssize_t n;

	do
		n = recvmsg(t->ready_rd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n != 1)
		return 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
			int f;

			memcpy(&f, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
			if (fd < 0)
				fd = f;
			else
				close(f);	/* one is sent; more is not ours to keep */
		}
	}
	if (fd < 0)
		return 1;
	if (t->arena_fd < 0) {
		t->arena_fd = fd;
		t->arena_listed = false;
	} else if (dup2(fd, t->arena_fd) < 0) {
		log_msg("arena %s: cannot keep its arena for a restart: %s", t->label,
			strerror(errno));
		close(fd);
		return 1;
	} else {
		close(fd);
	}
	return 1;
}

/* the child: one arena's slubd */
static void __attribute__((noreturn)) run_server(struct tenant *t, int ready_wr)
{
	pid_t parent = getppid();

	/* the supervisor's own: its signalfd, the other servers' readiness ends */
	close(sig_fd);
	for (int i = 0; i < nr_tenants; i++)
		if (tenants[i].ready_rd >= 0)
			close(tenants[i].ready_rd);
	/* die with the supervisor (and if it is already gone, now) */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(1);
	/*
	 * SIGTERM, SIGINT and SIGHUP stay blocked until the server has its
	 * handlers (serve() unblocks them after server_init): one that comes
	 * while it starts then stops it cleanly, its socket removed
	 */
	{
		sigset_t m = old_mask;

		sigaddset(&m, SIGTERM);
		sigaddset(&m, SIGINT);
		sigaddset(&m, SIGHUP);
		sigprocmask(SIG_SETMASK, &m, NULL);
	}
	route_listen_fds(t, &ready_wr);
	if (ready_fd >= 0)	/* the supervisor's to write, once all serve */
		close(ready_fd);
	t->cfg.notify_fd = -1;
	t->cfg.foreground = true;
	t->cfg.supervised = true;
	t->cfg.ready_fd = ready_wr;
	_exit(serve(&t->cfg));
}

static int start_server(struct tenant *t)
{
	int p[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p)) {
		log_msg("arena %s: socketpair: %s", t->label, strerror(errno));
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		log_msg("arena %s: fork: %s", t->label, strerror(errno));
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		close(p[0]);
		run_server(t, p[1]);
	}
	close(p[1]);
	t->pid = pid;
	t->ready_rd = p[0];
	t->served = false;
	t->started_ms = now_ms();
	t->restart_at_ms = 0;
	log_msg("arena %s: slubd pid %d serves %s", t->label, (int)pid, t->cfg.socket);
	return 0;
}

static void signal_all(int sig)
{
	for (int i = 0; i < nr_tenants; i++)
		if (tenants[i].pid > 0)
			kill(tenants[i].pid, sig);
}

/*
 * stop_all - tell every server to stop: sig, then SIGCONT, as systemd does,
 * so that a stopped server (SIGSTOP, a debugger's ^Z) acts on it instead of
 * keeping the supervisor waiting forever.  A server that cannot act on it
 * (stuck, or held in a ptrace stop) is killed STOP_GRACE_MS after the first
 * call (the poll loop).  Again while stopping: sig again, the grace unchanged.
 */
static void stop_all(int sig)
{
	if (!stopping) {
		stopping = true;
		kill_at_ms = now_ms() + STOP_GRACE_MS;
	}
	signal_all(sig);
	signal_all(SIGCONT);
}

/*
 * reload - on SIGHUP, what each server applies live (server.c: the access
 * list, the socket's mode, the limits) is read into the supervisor's copy of
 * its settings too, so that a server restarted later starts with them, not
 * with those of the supervisor's start (a uid taken off a list would be let
 * in again).  Its socket, arena file, size and huge pages stay those the
 * supervisor checked and started it with.  A file that does not load keeps
 * the copy as it was, as the servers keep their settings.
 */
static void reload(const char *config_file)
{
	for (int i = 0; i < nr_tenants; i++) {
		struct config c = tenants[i].cfg, *t = &tenants[i].cfg;
		char err[512];

		if (config_load(&c, config_file, err, sizeof(err))) {
			log_msg("SIGHUP: arena %s: %s: a restart of its slubd keeps the settings of before",
				tenants[i].label, err);
			continue;
		}
		memcpy(t->allow_uids, c.allow_uids, sizeof(c.allow_uids));
		t->nr_allow_uids = c.nr_allow_uids;
		memcpy(t->allow_gids, c.allow_gids, sizeof(c.allow_gids));
		t->nr_allow_gids = c.nr_allow_gids;
		t->socket_mode = c.socket_mode;
		t->max_clients = c.max_clients;
		t->max_refs = c.max_refs;
		t->max_caches = c.max_caches;
		t->hello_timeout_ms = c.hello_timeout_ms;
		t->scrub_interval_s = c.scrub_interval_s;
	}
}

static int running(void)
{
	int n = 0;

	for (int i = 0; i < nr_tenants; i++)
		n += tenants[i].pid > 0;
	return n;
}

static void sd_status(void)
{
	char buf[256];
	int n = 0, up = 0;

	for (int i = 0; i < nr_tenants; i++)
		up += tenants[i].pid > 0 && tenants[i].served;
	n = snprintf(buf, sizeof(buf), "STATUS=%d of %d arenas serving:", up, nr_tenants);
	for (int i = 0; i < nr_tenants && n > 0 && (size_t)n < sizeof(buf); i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " %s", tenants[i].label);
	sd_notify(0, buf);
}

int tenants_run(const struct config *dflt, const char *config_file,
		char (*names)[SLUBD_ARENA_NAME_MAX + 1], int nr)
{
	sigset_t set;
	char err[512];
	int rc = 0;
	bool all_served = false;

	tenants = calloc((size_t)nr + 1, sizeof(*tenants));
	if (!tenants) {
		fprintf(stderr, "slubd: out of memory\n");
		return 1;
	}
	nr_tenants = nr + 1;
	tenants[0].cfg = *dflt;
	tenants[0].label = "default";
	for (int i = 0; i < nr; i++) {
		struct tenant *t = &tenants[i + 1];

		t->label = names[i];
		if (named_config(&t->cfg, dflt, config_file, names[i], err, sizeof(err))) {
			fprintf(stderr, "slubd: %s\n", err);
			return 2;
		}
	}
	if (shared_paths())
		return 2;
	for (int i = 0; i < nr_tenants; i++) {
		tenants[i].ready_rd = -1;
		tenants[i].arena_fd = -1;
		tenants[i].backoff_ms = BACKOFF_MIN_MS;
	}
	find_stored();
	ready_fd = dflt->notify_fd;	/* --ready-fd: the supervisor's, once all serve */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_BLOCK, &set, &old_mask);
	sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sig_fd < 0) {
		log_msg("signalfd: %s", strerror(errno));
		return 1;
	}
	log_msg("supervising %d arenas (one slubd each), from %s", nr_tenants, config_file);
	for (int i = 0; i < nr_tenants; i++) {
		if (start_server(&tenants[i])) {
			rc = 1;
			stop_all(SIGTERM);
			break;
		}
	}

	while (!stopping || running() > 0) {
		struct pollfd pfd[SLUBD_MAX_ARENAS + 2];
		int who[SLUBD_MAX_ARENAS + 2], npfd = 0, timeout = -1;
		uint64_t now = now_ms();

		pfd[npfd].fd = sig_fd;
		pfd[npfd].events = POLLIN;
		who[npfd++] = -1;
		for (int i = 0; i < nr_tenants; i++) {
			struct tenant *t = &tenants[i];

			if (t->ready_rd >= 0) {
				pfd[npfd].fd = t->ready_rd;
				pfd[npfd].events = POLLIN;
				who[npfd++] = i;
			}
			if (t->restart_at_ms && !stopping) {
				uint64_t wait = t->restart_at_ms > now ? t->restart_at_ms - now : 0;

				if (timeout < 0 || wait < (uint64_t)timeout)
					timeout = (int)wait;
			}
		}
		if (stopping && kill_at_ms) {
			uint64_t wait = kill_at_ms > now ? kill_at_ms - now : 0;

			if (timeout < 0 || wait < (uint64_t)timeout)
				timeout = (int)wait;
		}
		if (poll(pfd, (nfds_t)npfd, timeout) < 0 && errno != EINTR) {
			log_msg("poll: %s", strerror(errno));
			stop_all(SIGTERM);
			rc = 1;
		}
		for (int k = 1; k < npfd; k++) {
			struct tenant *t = &tenants[who[k]];

			if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			/* a byte: it serves; EOF: it ended before serving (SIGCHLD says how) */
			if (ready_msg(t)) {
				t->served = true;
				if (t->ever_served) {
					log_msg("arena %s: serving again (restart %u)", t->label, t->restarts);
					sd_status();
				}
				t->ever_served = true;
			}
			close(t->ready_rd);
			t->ready_rd = -1;
		}
		if (!all_served && !stopping) {
			bool all = true;

			for (int i = 0; i < nr_tenants; i++)
				all &= tenants[i].served;
			if (all) {
				all_served = true;
				log_msg("ready: all %d arenas serving", nr_tenants);
				sd_notify(0, "READY=1");
				ready_fd_tell(&ready_fd);
			}
			sd_status();
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			while (read(sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				int sig = (int)si.ssi_signo;

				if (sig == SIGHUP) {
					log_msg("SIGHUP: passed to every arena's slubd");
					signal_all(SIGHUP);
					reload(config_file);
				} else if (sig == SIGTERM || sig == SIGINT) {
					if (!stopping)
						log_msg("signal %d: stopping every arena's slubd", sig);
					stop_all(sig);
				} else if (sig == SIGCHLD) {
					pid_t pid;
					int st;

					while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
						struct tenant *t = NULL;
						char how[64];

						for (int i = 0; i < nr_tenants; i++)
							if (tenants[i].pid == pid)
								t = &tenants[i];
						if (!t)
							continue;
						t->pid = 0;
						if (t->ready_rd >= 0) {
							close(t->ready_rd);
							t->ready_rd = -1;
						}
						status_str(st, how, sizeof(how));
						if (stopping) {
							log_msg("arena %s: slubd pid %d ended (%s)", t->label,
								(int)pid, how);
							if (!WIFEXITED(st) || WEXITSTATUS(st))
								rc = 1;
						} else if (!all_served && !t->ever_served) {
							log_msg("arena %s: slubd pid %d could not start (%s): "
								"stopping every arena", t->label, (int)pid, how);
							rc = 1;
							stop_all(SIGTERM);
						} else {
							uint64_t ran = now_ms() - t->started_ms;

							if (ran >= STABLE_MS)
								t->backoff_ms = BACKOFF_MIN_MS;
							t->restart_at_ms = now_ms() + t->backoff_ms;
							log_msg("arena %s: slubd pid %d ended (%s) after %llu ms: "
								"restarting it in %u ms", t->label, (int)pid, how,
								(unsigned long long)ran, t->backoff_ms);
							t->backoff_ms = t->backoff_ms * 2 > BACKOFF_MAX_MS ?
									BACKOFF_MAX_MS : t->backoff_ms * 2;
							t->served = false;
							sd_status();
						}
					}
				}
			}
		}
		if (stopping && kill_at_ms && now_ms() >= kill_at_ms) {
			/* its SIGCHLD then ends it as any other: a signal, so the exit code is 1 */
			for (int i = 0; i < nr_tenants; i++)
				if (tenants[i].pid > 0) {
					log_msg("arena %s: slubd pid %d still runs %u ms after it was told "
						"to stop: killing it", tenants[i].label, (int)tenants[i].pid,
						STOP_GRACE_MS);
					kill(tenants[i].pid, SIGKILL);
				}
			kill_at_ms = 0;
		}
		if (!stopping) {
			now = now_ms();
			for (int i = 0; i < nr_tenants; i++) {
				struct tenant *t = &tenants[i];

				if (t->pid == 0 && t->restart_at_ms && t->restart_at_ms <= now) {
					t->restarts++;
					if (start_server(t))
						t->restart_at_ms = now + t->backoff_ms;
				}
			}
		}
	}
	sd_notify(0, "STOPPING=1");
	log_msg("stopped: every arena's slubd has ended");
	close(sig_fd);
	for (int i = 0; i < nr_tenants; i++)	/* the arenas kept for restarts */
		if (tenants[i].arena_fd >= 0)
			close(tenants[i].arena_fd);
	free(tenants);
	return rc;
}
