/*
 * e2e.c - helpers of the end-to-end tests; see e2e.h.
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

/* a slubd run under $SLUBD_WRAPPER, and the log its valgrind writes */
struct e2e_wrapped {
	pid_t pid;
	int checked;		/* its log was read (after it was reaped, or at the cleanup) */
	char log[256];
};

/* what a case child shares with the test program, for the cleanup after it */
struct e2e_state {
	int used[E2E_MAX_DAEMONS];
	struct e2e_slubd d[E2E_MAX_DAEMONS];
	int log_shown;		/* a daemon log was printed already */
	char skip[512];		/* why the case skipped */
	int nr_wrapped;
	struct e2e_wrapped w[E2E_MAX_WRAPPED];
};

static struct e2e_state *st;

/* ---- small things ------------------------------------------------------- */

uint64_t e2e_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void e2e_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

uint64_t e2e_rand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

const char *e2e_status_str(int status, char *buf, size_t len)
{
	if (status == -1)
		snprintf(buf, len, "killed after a timeout");
	else if (WIFEXITED(status))
		snprintf(buf, len, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %d (%s)%s", WTERMSIG(status), strsignal(WTERMSIG(status)),
			 WCOREDUMP(status) ? ", core dumped" : "");
	else
		snprintf(buf, len, "wait status %#x", status);
	return buf;
}

void *e2e_shared(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		CHECKF(0, "mmap(%zu) shared: %s", size, strerror(errno));
		return NULL;
	}
	return p;
}

/* copy file from to to (mode): 0 or -errno */
int e2e_copy_file(const char *from, const char *to, mode_t mode)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC), out, rc = 0;
	ssize_t n;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (out < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			rc = -EIO;
			break;
		}
	if (n < 0)
		rc = -errno;
	close(in);
	if (close(out) && !rc)
		rc = -errno;
	return rc;
}

static void close_from(int lowfd)
{
	for (int fd = lowfd; fd < 4096; fd++)
		close(fd);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_rf(const char *dir)
{
	if (dir[0])
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- binaries ----------------------------------------------------------- */

const char *e2e_bin(const char *env, const char *rel)
{
	const char *v = env ? getenv(env) : NULL;
	char exe[PATH_MAX], *slash, *out;
	ssize_t n;

	if (v && *v)
		return v;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return rel;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	out = malloc(2 * PATH_MAX);
	if (!out)
		return rel;
	snprintf(out, 2 * PATH_MAX, "%s/../../%s", exe, rel);
	{
		char real[PATH_MAX];

		if (realpath(out, real))
			snprintf(out, 2 * PATH_MAX, "%s", real);
	}
	return out;
}

const char *e2e_need_bin(const char *env, const char *rel)
{
	const char *p = e2e_bin(env, rel);

	CHECKF(access(p, X_OK) == 0, "%s is not an executable (%s); build it (make all) or set %s",
	       p, strerror(errno), env ? env : "its variable");
	return p;
}

/* ---- a wrapper around slubd (valgrind) ------------------------------------ */

#define WRAP_MAX_ARGS 32

static struct {
	int parsed;
	int argc;
	char *argv[WRAP_MAX_ARGS];
	int log_arg;		/* the index of --log-file=, or -1 */
	int valgrind;		/* argv[0] is valgrind: its log is read */
	int error_exitcode;	/* --error-exitcode=N; 0: none */
	char bad[256];		/* why $SLUBD_WRAPPER cannot be used; "" if it can */
} wrap;

const char *e2e_wrapper(void)
{
	const char *w = getenv("SLUBD_WRAPPER");

	return w && w[strspn(w, " \t")] ? w : NULL;
}

int e2e_scale_ms(int ms)
{
	const char *e = getenv("E2E_TIMEOUT_SCALE");
	long f = e && *e ? strtol(e, NULL, 10) : e2e_wrapper() ? 10 : 1;

	if (f < 1 || f > 1000)
		f = 1;
	return ms > INT_MAX / (int)f ? INT_MAX : ms * (int)f;
}

/* split $SLUBD_WRAPPER once; 0 usable (wrap.argc 0: none), -1 wrap.bad says why */
static int wrap_parse(void)
{
	const char *w = e2e_wrapper();
	char *copy, *save = NULL, *tok;

	if (wrap.parsed)
		return wrap.bad[0] ? -1 : 0;
	wrap.parsed = 1;
	wrap.log_arg = -1;
	if (!w)
		return 0;
	copy = strdup(w);
	if (!copy) {
		snprintf(wrap.bad, sizeof(wrap.bad), "out of memory");
		return -1;
	}
	for (tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
		if (wrap.argc >= WRAP_MAX_ARGS - 1) {
			snprintf(wrap.bad, sizeof(wrap.bad), "more than %d words", WRAP_MAX_ARGS - 1);
			return -1;
		}
		if (!strncmp(tok, "--log-file=", 11))
			wrap.log_arg = wrap.argc;
		if (!strncmp(tok, "--error-exitcode=", 17))
			wrap.error_exitcode = atoi(tok + 17);
		wrap.argv[wrap.argc++] = tok;
	}
	{
		const char *base = strrchr(wrap.argv[0], '/');

		wrap.valgrind = strstr(base ? base + 1 : wrap.argv[0], "valgrind") != NULL;
	}
	if (wrap.valgrind && (wrap.log_arg < 0 || !strstr(wrap.argv[wrap.log_arg], "%p")))
		snprintf(wrap.bad, sizeof(wrap.bad), "valgrind without --log-file=PATH with %%p in "
			 "PATH: each slubd needs a log of its own, for the helpers to read");
	else if (wrap.valgrind && wrap.error_exitcode == 0)
		snprintf(wrap.bad, sizeof(wrap.bad), "valgrind without --error-exitcode=N (N not 0): "
			 "slubd's exit status would not show what valgrind found");
	return wrap.bad[0] ? -1 : 0;
}

/*
 * wrap_argv - the wrapper's words, then inner (NULL-terminated), into out
 * (room for WRAP_MAX_ARGS + ninner + 1); %p of --log-file= replaced with a
 * name no earlier run took (the file is created here, empty, to claim it):
 * its path in log.  0, or -1 with a failed check.
 */
static int wrap_argv(char *const inner[], char **out, char *logarg, size_t logarglen, char *log,
		     size_t loglen)
{
	static unsigned int seq;
	int n = 0;

	log[0] = 0;
	if (wrap_parse()) {
		CHECKF(0, "SLUBD_WRAPPER=\"%s\": %s", e2e_wrapper(), wrap.bad);
		return -1;
	}
	for (int i = 0; i < wrap.argc; i++)
		out[n++] = wrap.argv[i];
	if (wrap.log_arg >= 0) {
		const char *t = wrap.argv[wrap.log_arg] + 11, *pp = strstr(t, "%p");
		int fd = -1;

		for (int tries = 0; fd < 0 && tries < 1000; tries++) {
			snprintf(log, loglen, "%.*s%s.%d.%u%s", (int)(pp ? pp - t : (long)strlen(t)), t,
				 program_invocation_short_name, (int)getpid(), ++seq, pp ? pp + 2 : "");
			fd = open(log, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
			if (fd < 0 && errno != EEXIST)
				break;
		}
		if (fd < 0) {
			CHECKF(0, "SLUBD_WRAPPER: cannot create the log %s: %s", log, strerror(errno));
			return -1;
		}
		close(fd);
		snprintf(logarg, logarglen, "--log-file=%s", log);
		out[wrap.log_arg] = logarg;
	}
	for (int i = 0; inner[i]; i++)
		out[n++] = inner[i];
	out[n] = NULL;
	return 0;
}

/* record a wrapped run so that its log is read even if no helper reaps it */
static void wrapped_add(pid_t pid, const char *log)
{
	if (!st || !log[0])
		return;
	if (st->nr_wrapped >= E2E_MAX_WRAPPED) {
		CHECKF(0, "more than %d slubd runs under SLUBD_WRAPPER in one case: the log of pid %d "
		       "(%s) is not read", E2E_MAX_WRAPPED, (int)pid, log);
		return;
	}
	st->w[st->nr_wrapped].pid = pid;
	st->w[st->nr_wrapped].checked = 0;
	snprintf(st->w[st->nr_wrapped].log, sizeof(st->w[0].log), "%s", log);
	st->nr_wrapped++;
}

/* the first lines of a valgrind log, after its banner, indented */
static void show_vg_log(const char *path, int lines)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), n = 0, skipped = 0;

	if (fd < 0)
		return;
	e2e_read_all(fd, &buf, &len, 5000);
	close(fd);
	printf("  --- valgrind log (%s) ---\n", path);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strstr(line, "Copyright (C)") || strstr(line, "Using Valgrind-") ||
		    strstr(line, "rerun with -h"))
			continue;
		if (n++ < lines)
			printf("  | %s\n", line);
		else
			skipped++;
	}
	if (skipped)
		printf("  | ... %d more lines\n", skipped);
	printf("  --- end of valgrind log ---\n");
	fflush(stdout);
	free(buf);
}

/* a number as valgrind prints it, with thousands separators */
static unsigned long long vg_num(const char *p)
{
	unsigned long long v = 0;

	while (*p == ' ')
		p++;
	for (; (*p >= '0' && *p <= '9') || *p == ','; p++)
		if (*p != ',')
			v = v * 10 + (unsigned long long)(*p - '0');
	return v;
}

/* the text of a valgrind line after its "==PID== " prefix, or NULL */
static const char *vg_body(const char *line)
{
	const char *p = line;

	if (strncmp(p, "==", 2))
		return NULL;
	p += 2;
	while (*p >= '0' && *p <= '9')
		p++;
	if (strncmp(p, "== ", 3))
		return strncmp(p, "==", 2) ? NULL : p + 2;
	return p + 3;
}

/*
 * check_wrapped - read the valgrind log of a wrapped slubd that has ended
 * (status: its wait status, or -1 unknown: killed, or reaped elsewhere).  1
 * clean, 0 with a failed check and the log shown.
 */
static int check_wrapped(struct e2e_wrapped *w, int status, const char *when)
{
	char *buf = NULL, *line, *save = NULL, how[96];
	size_t len = 0;
	long errors = -1;
	unsigned long long definite = 0, indirect = 0;
	int leak_checked = 0, traces = 0, prev_stack = 0, fd, clean, exit_says = 0, fds = 0, fd_pending = 0;

	w->checked = 1;
	wrap_parse();	/* the test program reads the logs its case children left, too */
	if (!wrap.valgrind)
		return 1;	/* another wrapper: its exit status is all there is */
	fd = open(w->log, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		CHECKF(0, "valgrind log of slubd pid %d (%s): %s", (int)w->pid, w->log, strerror(errno));
		return 0;
	}
	e2e_read_all(fd, &buf, &len, 5000);
	close(fd);
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *b = vg_body(line), *p;
		int stack;

		if (!b)
			continue;
		stack = !strncmp(b, "   at 0x", 8) || !strncmp(b, "   by 0x", 8);
		/* --track-fds=yes: a descriptor open at exit that slubd did not inherit */
		if (fd_pending && !strstr(b, "inherited from parent"))
			fds++;
		fd_pending = !strncmp(b, "Open ", 5);
		/* an error (or a leak record) is a message, then its stack */
		if (!strncmp(b, "   at 0x", 8) && !prev_stack)
			traces++;
		prev_stack = stack;
		if ((p = strstr(b, "ERROR SUMMARY: ")))
			errors = (long)vg_num(p + 15);
		else if ((p = strstr(b, "definitely lost: ")) && !strstr(b, "loss record"))
			definite = vg_num(p + 17), leak_checked = 1;
		else if ((p = strstr(b, "indirectly lost: ")) && !strstr(b, "loss record"))
			indirect = vg_num(p + 17), leak_checked = 1;
		else if (strstr(b, "All heap blocks were freed"))
			leak_checked = 1;
	}
	free(buf);
	if (status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == wrap.error_exitcode)
		exit_says = 1;
	if (errors >= 0)	/* valgrind finished: its summary is what counts */
		clean = errors == 0 && definite == 0 && indirect == 0 && fds == 0 && !exit_says;
	else			/* killed: what it reported before */
		clean = traces == 0 && !exit_says;
	if (!clean) {
		if (errors >= 0)
			CHECKF(0, "valgrind: slubd pid %d %s: ERROR SUMMARY %ld (leak records included), %llu "
			       "bytes definitely and %llu indirectly lost, %d descriptors open at exit%s%s; %s",
			       (int)w->pid, when, errors, definite, indirect, fds,
			       leak_checked ? "" : " (no leak check ran)",
			       exit_says ? ", exit status --error-exitcode" : "", w->log);
		else
			CHECKF(0, "valgrind: slubd pid %d %s (%s, no summary: killed): %d stack traces of "
			       "errors reported before it ended; %s", (int)w->pid, when,
			       status == -1 ? "status unknown" : e2e_status_str(status, how, sizeof(how)),
			       traces, w->log);
		show_vg_log(w->log, 200);
	}
	return clean;
}

/* the unchecked wrapped run of pid, or NULL */
static struct e2e_wrapped *wrapped_find(pid_t pid)
{
	for (int i = 0; st && pid > 0 && i < st->nr_wrapped; i++)
		if (st->w[i].pid == pid && !st->w[i].checked)
			return &st->w[i];
	return NULL;
}

/* slubd pid was reaped (status, or -1 if killed after a timeout): read its log if it was wrapped */
static void reaped(pid_t pid, int status, const char *when)
{
	struct e2e_wrapped *w = wrapped_find(pid);

	if (w)
		check_wrapped(w, status, when);
}

/* argv[0] is the slubd the helpers start */
static int is_slubd(const char *path)
{
	char a[PATH_MAX], b[PATH_MAX];
	const char *bin = e2e_bin("SLUBD", "slubd");

	return realpath(path, a) && realpath(bin, b) && !strcmp(a, b);
}

/* ---- the daemon -------------------------------------------------------- */

void e2e_show_log(const struct e2e_slubd *d, int lines)
{
	char *buf = NULL, *p;
	size_t len = 0;
	int fd = open(d->log, O_RDONLY | O_CLOEXEC), n = 0;

	if (st)
		st->log_shown = 1;
	if (fd < 0) {
		printf("  (no slubd log at %s: %s)\n", d->log, strerror(errno));
		return;
	}
	e2e_read_all(fd, &buf, &len, 1000);
	close(fd);
	if (!buf || !len) {
		printf("  (slubd log %s is empty)\n", d->log);
		free(buf);
		return;
	}
	/* start at the lines-th newline from the end */
	p = buf + len;
	if (p > buf && p[-1] == '\n')
		p--;
	while (p > buf && !(p[-1] == '\n' && ++n >= lines))
		p--;
	printf("  --- slubd log (%s), last %d lines ---\n", d->log, lines);
	while (*p) {
		char *nl = strchr(p, '\n');

		printf("  | %.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
		if (!nl)
			break;
		p = nl + 1;
	}
	printf("  --- end of slubd log ---\n");
	fflush(stdout);
	free(buf);
}

int e2e_log_count(const struct e2e_slubd *d, const char *needle)
{
	char *buf = NULL;
	size_t len = 0;
	int fd = open(d->log, O_RDONLY | O_CLOEXEC), n = 0;

	if (fd < 0)
		return 0;
	e2e_read_all(fd, &buf, &len, 1000);
	close(fd);
	for (const char *p = buf; p && *needle && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(buf);
	return n;
}

int e2e_log_has(const struct e2e_slubd *d, const char *needle)
{
	return e2e_log_count(d, needle) > 0;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t n = strlen(text);
	int rc;

	if (fd < 0)
		return -errno;
	rc = write(fd, text, n) == (ssize_t)n ? 0 : -EIO;
	close(fd);
	return rc;
}

struct e2e_slubd *e2e_start(const struct e2e_opts *o)
{
	static const struct e2e_opts none;
	const char *bin = e2e_need_bin("SLUBD", "slubd"), *tmp = e2e_tmpdir();
	const char *size;
	struct e2e_slubd *d = NULL;
	char *argv[16], lasterr[256] = "no attempt yet", dir[sizeof(d->dir)];
	char *fargv[WRAP_MAX_ARGS + 16], logarg[300], vglog[256];
	uint64_t deadline;
	int argc = 0, slot = -1, sock_ok = 0, ready = 0;
	pid_t pid;

	if (!o)
		o = &none;
	size = o->arena_size ? o->arena_size : "64M";
	if (access(bin, X_OK))
		return NULL;	/* e2e_need_bin failed the case, loudly */
	if (!st) {
		CHECKF(0, "e2e_start outside an E2E_CASE");
		return NULL;
	}
	for (int i = 0; i < E2E_MAX_DAEMONS && slot < 0; i++)
		if (!st->used[i])
			slot = i;
	if (slot < 0) {
		CHECKF(0, "more than %d daemons in one case", E2E_MAX_DAEMONS);
		return NULL;
	}
	d = &st->d[slot];
	memset(d, 0, sizeof(*d));
	/* on tmpfs where there is one: a named arena's default file goes there */
	snprintf(d->dir, sizeof(d->dir), "%s/slubd-e2e.XXXXXX", tmp);
	if (!mkdtemp(d->dir)) {
		CHECKF(0, "mkdtemp %s: %s", d->dir, strerror(errno));
		return NULL;
	}
	st->used[slot] = 1;
	if (o->open_dir && chmod(d->dir, 0711)) {
		CHECKF(0, "chmod %s: %s", d->dir, strerror(errno));
		return NULL;
	}
	if (o->run_as && chown(d->dir, o->run_as, o->run_as)) {
		CHECKF(0, "chown %s to %u: %s", d->dir, (unsigned)o->run_as, strerror(errno));
		return NULL;
	}
	if (o->run_as) {
		/* the case's clients trust a slubd of that uid as slubd's user (ctl.h) */
		char uid[16];

		snprintf(uid, sizeof(uid), "%u", (unsigned)o->run_as);
		setenv("SLUBD_DAEMON_UID", uid, 1);
	}
	memcpy(dir, d->dir, sizeof(dir));
	snprintf(d->sock, sizeof(d->sock), "%s/slubd.sock", dir);
	snprintf(d->log, sizeof(d->log), "%s/slubd.log", dir);
	if (o->run_as) {
		/* the build folder may be closed to that uid (a clone in a 0700 folder) */
		static char copy[200];
		int rc;

		snprintf(copy, sizeof(copy), "%s/slubd", dir);
		rc = e2e_copy_file(bin, copy, 0755);
		if (rc) {
			CHECKF(0, "copying %s to %s: %s", bin, copy, strerror(-rc));
			return NULL;
		}
		bin = copy;
	}
	argv[argc++] = (char *)bin;
	argv[argc++] = "--foreground";
	argv[argc++] = "--socket";
	argv[argc++] = d->sock;
	if (*size) {
		argv[argc++] = "--arena-size";
		argv[argc++] = (char *)size;
	}
	argv[argc++] = "--hugepages";
	argv[argc++] = "off";
	snprintf(d->arena, sizeof(d->arena), "%s/slubd.arena", dir);	/* slubd's default */
	if (o->config) {
		int rc;

		snprintf(d->conf, sizeof(d->conf), "%s/slubd.conf", dir);
		rc = write_file(d->conf, o->config);
		if (rc) {
			CHECKF(0, "writing %s: %s", d->conf, strerror(-rc));
			return NULL;
		}
		argv[argc++] = "--config";
		argv[argc++] = d->conf;
	}
	argv[argc] = NULL;
	if (wrap_argv(argv, fargv, logarg, sizeof(logarg), vglog, sizeof(vglog)))
		return NULL;
	if (o->run_as && vglog[0]) {
		/* slubd's uid may not reach the log's folder: the wrapper writes to fd 3,
		 * opened here (see the child below) */
		for (int i = 0; fargv[i]; i++)
			if (!strncmp(fargv[i], "--log-file=", 11))
				fargv[i] = "--log-fd=3";
	}

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		CHECKF(0, "fork: %s", strerror(errno));
		return NULL;
	}
	if (pid == 0) {
		int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
		int nul = open("/dev/null", O_RDONLY);
		sigset_t none_blocked;

		int vfd = o->run_as && vglog[0] ? open(vglog, O_WRONLY | O_APPEND) : -1;

		if (fd < 0 || nul < 0 || (o->run_as && vglog[0] && vfd < 0))
			_exit(126);
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (vfd >= 0 && vfd != 3) {
			dup2(vfd, 3);
			close(vfd);
		}
		close_from(vfd >= 0 ? 4 : 3);
		sigemptyset(&none_blocked);
		sigprocmask(SIG_SETMASK, &none_blocked, NULL);
		if (o->run_as && (setgroups(0, NULL) || setgid(o->run_as) || setuid(o->run_as))) {
			fprintf(stderr, "e2e: cannot run slubd as uid %u: %s\n", (unsigned)o->run_as,
				strerror(errno));
			_exit(126);
		}
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execvp(fargv[0], fargv);
		fprintf(stderr, "e2e: exec %s: %s\n", fargv[0], strerror(errno));
		_exit(127);
	}
	d->pid = pid;
	wrapped_add(pid, vglog);

	/* serving: the socket answers a Hello, and the log says "ready" */
	deadline = e2e_now_ms() + E2E_START_TIMEOUT_MS;
	while (!(sock_ok && ready)) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid) {
			char how[96];

			d->pid = 0;
			CHECKF(0, "slubd exited during startup: %s (%s)", e2e_status_str(status, how, sizeof(how)),
			       fargv[0]);
			e2e_show_log(d, 40);
			reaped(pid, status, "exited during startup");
			return NULL;
		}
		if (!sock_ok) {
			struct ctl_conn c;
			char err[256] = "";
			int rc = ctl_connect(&c, d->sock, "e2e-start", err, sizeof(err));

			if (rc == 0) {
				sock_ok = 1;
				ctl_close(&c);
			} else {
				snprintf(lasterr, sizeof(lasterr), "%s", err);
			}
		}
		if (!ready)
			ready = e2e_log_has(d, "ready");
		if (sock_ok && ready)
			break;
		if (e2e_now_ms() > deadline) {
			CHECKF(0, "slubd did not serve within %d ms: socket %s (%s); \"ready\" %s", E2E_START_TIMEOUT_MS,
			       sock_ok ? "answered" : "did not answer", sock_ok ? "ok" : lasterr,
			       ready ? "printed" : "never printed");
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			d->pid = 0;
			e2e_show_log(d, 40);
			reaped(pid, -1, "killed: did not serve in time");
			return NULL;
		}
		e2e_sleep_ms(5);
	}
	return d;
}

int e2e_alive(struct e2e_slubd *d, const char *when)
{
	char how[96];
	int status;
	pid_t r;

	if (!d || !d->pid) {
		CHECKF(0, "slubd is not running %s", when);
		return 0;
	}
	r = waitpid(d->pid, &status, WNOHANG);
	if (r == 0)
		return 1;
	if (r < 0) {
		CHECKF(0, "waitpid(slubd %d) %s: %s", (int)d->pid, when, strerror(errno));
		return 0;
	}
	CHECKF(0, "slubd died %s: %s", when, e2e_status_str(status, how, sizeof(how)));
	e2e_show_log(d, 60);
	reaped(d->pid, status, "found dead");
	d->pid = 0;
	return 0;
}

void e2e_stop(struct e2e_slubd *d)
{
	uint64_t deadline;
	char how[96];
	int status = 0;
	pid_t r = 0;

	if (!d || !d->pid)
		return;		/* found dead before: already reported */
	if (!e2e_alive(d, "at the end of the case, before SIGTERM"))
		return;
	kill(d->pid, SIGTERM);
	deadline = e2e_now_ms() + E2E_STOP_TIMEOUT_MS;
	while ((r = waitpid(d->pid, &status, WNOHANG)) == 0 && e2e_now_ms() < deadline)
		e2e_sleep_ms(2);
	if (r == 0) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, &status, 0);
		CHECKF(0, "slubd still ran %d ms after SIGTERM (killed)", E2E_STOP_TIMEOUT_MS);
		e2e_show_log(d, 40);
	} else if (r < 0) {
		CHECKF(0, "waitpid(slubd): %s", strerror(errno));
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		CHECKF(0, "slubd after SIGTERM: %s, expected exit 0%s", e2e_status_str(status, how, sizeof(how)),
		       wrap.error_exitcode && WIFEXITED(status) && WEXITSTATUS(status) == wrap.error_exitcode ?
		       " (the wrapper's --error-exitcode)" : "");
		e2e_show_log(d, 40);
	}
	if (r >= 0)
		reaped(d->pid, r == 0 ? -1 : status, r == 0 ? "killed: still ran after SIGTERM" :
		       "after SIGTERM");
	d->pid = 0;
}

/* ---- cases ---------------------------------------------------------------- */

static unsigned int case_timeout(void)
{
	const char *e = getenv("E2E_TIMEOUT");
	long v = e ? strtol(e, NULL, 10) : 0;

	if (v <= 0)
		v = E2E_CASE_TIMEOUT_S;
	return (unsigned int)(e2e_scale_ms((int)(v > 2000000 ? 2000000 : v) * 1000) / 1000);
}

/* kill and reap what a case left behind, show logs when it failed, remove its directories */
static void case_cleanup(pid_t pgid)
{
	uint64_t deadline;
	int status;

	kill(-pgid, SIGKILL);
	for (int i = 0; i < E2E_MAX_DAEMONS; i++)
		if (st->used[i] && st->d[i].pid > 0)
			kill(st->d[i].pid, SIGKILL);
	/* as the subreaper, the orphans of the case are ours to reap */
	deadline = e2e_now_ms() + 3000;
	for (;;) {
		pid_t r = waitpid(-1, &status, WNOHANG);

		if (r > 0)
			continue;
		if (r < 0 || e2e_now_ms() > deadline)
			break;
		e2e_sleep_ms(2);
	}
	/* wrapped runs no helper reaped: SIGKILLed by the case, or by the kill above */
	for (int i = 0; i < st->nr_wrapped && i < E2E_MAX_WRAPPED; i++)
		if (!st->w[i].checked)
			check_wrapped(&st->w[i], -1, "not reaped by a helper (killed, or ended by the case)");
	for (int i = 0; i < E2E_MAX_DAEMONS; i++) {
		if (!st->used[i])
			continue;
		if (t_failed && !st->log_shown)
			e2e_show_log(&st->d[i], 40);
		rm_rf(st->d[i].dir);
	}
}

void e2e_run_case(void (*body)(void))
{
	unsigned int timeout = case_timeout();
	char how[96];
	int status = 0;
	pid_t pid;

	if (!st) {
		st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (st == MAP_FAILED) {
			st = NULL;
			CHECKF(0, "mmap: %s", strerror(errno));
			return;
		}
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	}
	memset(st, 0, sizeof(*st));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		CHECKF(0, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		t_failed = 0;
		t_skipped = NULL;
		alarm(timeout);
		body();
		for (int i = 0; i < E2E_MAX_DAEMONS; i++)
			if (st->used[i] && st->d[i].pid > 0)
				e2e_stop(&st->d[i]);
		if (t_skipped && !t_failed)
			snprintf(st->skip, sizeof(st->skip), "%s", t_skipped);
		fflush(stdout);
		fflush(stderr);
		_exit(t_failed ? 1 : 0);
	}
	setpgid(pid, pid);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		CHECKF(0, "case died: %s%s", e2e_status_str(status, how, sizeof(how)),
		       WTERMSIG(status) == SIGALRM ? " - timed out" : "");
		if (WTERMSIG(status) == SIGALRM)
			printf("  (the case ran longer than %u s; E2E_TIMEOUT=s changes the limit)\n", timeout);
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		t_failed = 1;	/* the child printed its failed checks */
	} else if (st->skip[0]) {
		static char why[512];

		snprintf(why, sizeof(why), "%s", st->skip);
		t_skipped = why;
	}
	case_cleanup(pid);
}

/* ---- processes --------------------------------------------------------- */

pid_t e2e_fork(void (*fn)(void *arg), void *arg)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		CHECKF(0, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		t_failed = 0;
		t_skipped = NULL;
		fn(arg);
		fflush(stdout);
		fflush(stderr);
		_exit(t_failed ? 1 : 0);
	}
	return pid;
}

int e2e_wait(pid_t pid, const char *what)
{
	char how[96];
	int status;

	if (pid <= 0) {
		CHECKF(0, "%s: never started", what);
		return 0;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			CHECKF(0, "%s: waitpid: %s", what, strerror(errno));
			return 0;
		}
	}
	CHECKF(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: %s", what,
	       e2e_status_str(status, how, sizeof(how)));
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

pid_t e2e_spawn(char *const argv[], int *out_fd)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC)) {
		CHECKF(0, "pipe: %s", strerror(errno));
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		CHECKF(0, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		sigset_t none_blocked;

		dup2(nul, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		close_from(3);
		sigemptyset(&none_blocked);
		sigprocmask(SIG_SETMASK, &none_blocked, NULL);
		execvp(argv[0], argv);
		fprintf(stderr, "e2e: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	*out_fd = p[0];
	return pid;
}

static int read_more(int fd, char **buf, size_t *len, int timeout_ms)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	char tmp[4096];
	ssize_t n;
	int pr = poll(&pfd, 1, timeout_ms);

	if (pr < 0)
		return errno == EINTR ? 1 : -1;
	if (pr == 0)
		return -1;
	n = read(fd, tmp, sizeof(tmp));
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0)
		return 0;
	{
		char *nb = realloc(*buf, *len + (size_t)n + 1);

		if (!nb)
			return -1;
		memcpy(nb + *len, tmp, (size_t)n);
		*len += (size_t)n;
		nb[*len] = '\0';
		*buf = nb;
	}
	return 1;
}

/* e2e_read_all by an absolute deadline (not scaled) */
static int read_all_by(int fd, char **buf, size_t *len, uint64_t deadline)
{
	if (!*buf) {
		*buf = calloc(1, 1);
		*len = 0;
	}
	for (;;) {
		int64_t left = (int64_t)(deadline - e2e_now_ms());
		int r;

		if (left < 0)
			return -1;
		r = read_more(fd, buf, len, (int)left);
		if (r <= 0)
			return r;
	}
}

int e2e_read_all(int fd, char **buf, size_t *len, int timeout_ms)
{
	return read_all_by(fd, buf, len, e2e_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms));
}

int e2e_read_until(int fd, char **buf, size_t *len, const char *needle, int timeout_ms)
{
	uint64_t deadline = e2e_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms);

	if (!*buf) {
		*buf = calloc(1, 1);
		*len = 0;
	}
	while (!strstr(*buf, needle)) {
		int64_t left = (int64_t)(deadline - e2e_now_ms());

		if (left < 0 || read_more(fd, buf, len, (int)left) <= 0)
			return -1;
	}
	return 0;
}

/* e2e_waitpid_timeout by an absolute deadline (not scaled) */
static int waitpid_by(pid_t pid, uint64_t deadline)
{
	int status;
	pid_t r;

	while ((r = waitpid(pid, &status, WNOHANG)) == 0 && e2e_now_ms() < deadline)
		e2e_sleep_ms(2);
	if (r == pid)
		return status;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

int e2e_waitpid_timeout(pid_t pid, int timeout_ms)
{
	return waitpid_by(pid, e2e_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms));
}

int e2e_run(char *const argv[], char **out, int timeout_ms)
{
	uint64_t deadline = e2e_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms);
	char *buf = NULL, how[96], *fargv[WRAP_MAX_ARGS + 32], logarg[300], vglog[256] = "";
	size_t len = 0;
	int fd, status, n;
	pid_t pid;

	if (out)
		*out = NULL;
	for (n = 0; argv[n]; n++)
		;
	if (e2e_wrapper() && st && n < 32 && is_slubd(argv[0])) {
		/* slubd, under the wrapper */
		if (wrap_argv(argv, fargv, logarg, sizeof(logarg), vglog, sizeof(vglog)))
			return -1;
		argv = fargv;
	}
	pid = e2e_spawn(argv, &fd);
	if (pid < 0)
		return -1;
	wrapped_add(pid, vglog);
	read_all_by(fd, &buf, &len, deadline);
	close(fd);
	status = waitpid_by(pid, deadline > e2e_now_ms() + 100 ? deadline : e2e_now_ms() + 100);
	reaped(pid, status, "run by e2e_run");
	if (status == -1 || !WIFEXITED(status)) {
		CHECKF(0, "%s: %s; its output:\n%s", argv[0], e2e_status_str(status, how, sizeof(how)),
		       buf ? buf : "");
		if (out)
			*out = buf;
		else
			free(buf);
		return -1;
	}
	if (out)
		*out = buf;
	else
		free(buf);
	return WEXITSTATUS(status);
}

/* ---- the control protocol, raw ------------------------------------------ */

int e2e_raw_connect(const char *sock)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		CHECKF(0, "socket: %s", strerror(errno));
		return -1;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		CHECKF(0, "connect %s: %s", sock, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int e2e_send(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int e2e_send_req(int fd, Slubd__Request *r)
{
	uint8_t *buf;
	size_t len;
	int rc = frame_pack(&r->base, &buf, &len);

	if (rc)
		return rc;
	rc = e2e_send(fd, buf, len);
	free(buf);
	return rc;
}

/* exactly n bytes by deadline: 0, 1 on EOF or reset (*got: how many came), -ETIMEDOUT, -errno */
static int recv_exact(int fd, uint8_t *p, size_t n, uint64_t deadline, int *fd_out, size_t *got)
{
	*got = 0;
	while (*got < n) {
		int64_t left = (int64_t)(deadline - e2e_now_ms());
		struct pollfd pfd = { fd, POLLIN, 0 };
		char cbuf[CMSG_SPACE(sizeof(int) * 4)];
		struct iovec iov = { p + *got, n - *got };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		ssize_t r;
		int pr;

		if (left < 0)
			return -ETIMEDOUT;
		pr = poll(&pfd, 1, (int)left);
		if (pr < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pr == 0)
			return -ETIMEDOUT;
		r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == ECONNRESET || errno == EPIPE)
				return 1;
			return -errno;
		}
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
				size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);

				for (size_t i = 0; i < nfd; i++) {
					int got_fd;

					memcpy(&got_fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
					if (*fd_out < 0)
						*fd_out = got_fd;
					else
						close(got_fd);
				}
			}
		}
		if (r == 0)
			return 1;
		*got += (size_t)r;
	}
	return 0;
}

/* e2e_recv, by an absolute deadline (not scaled) */
static int recv_by(int fd, uint64_t deadline, Slubd__Response **resp, int *fd_out)
{
	uint8_t hdr[SLUBD_FRAME_HDR], *body;
	char err[256];
	size_t got;
	uint32_t n;
	int passed = -1, rc;

	*resp = NULL;
	if (fd_out)
		*fd_out = -1;
	rc = recv_exact(fd, hdr, sizeof(hdr), deadline, &passed, &got);
	if (rc) {
		if (passed >= 0)
			close(passed);
		if (rc == 1)
			return got == 0 ? 0 : -EPIPE;
		return rc;
	}
	if (frame_length(hdr, SLUBD_MAX_RESPONSE, &n)) {
		if (passed >= 0)
			close(passed);
		return -EBADMSG;
	}
	body = malloc(n);
	if (!body)
		return -ENOMEM;
	rc = recv_exact(fd, body, n, deadline, &passed, &got);
	if (rc == 0)
		*resp = response_decode(body, n, err, sizeof(err));
	free(body);
	if (rc || !*resp) {
		if (passed >= 0)
			close(passed);
		return rc == 1 ? -EPIPE : rc == 0 ? -EBADMSG : rc;
	}
	if (fd_out)
		*fd_out = passed;
	else if (passed >= 0)
		close(passed);
	return 1;
}

int e2e_recv(int fd, int timeout_ms, Slubd__Response **resp, int *fd_out)
{
	return recv_by(fd, e2e_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms > 0 ? timeout_ms : 0), resp,
		       fd_out);
}

int e2e_expect_closed(int fd, int timeout_ms, const char *what)
{
	uint64_t deadline;

	timeout_ms = e2e_scale_ms(timeout_ms);
	deadline = e2e_now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		Slubd__Response *r;
		int rc = recv_by(fd, deadline, &r, NULL);

		if (rc == 1) {
			int bad = r->err == 0;

			CHECKF(!bad, "%s: slubd answered request %u with success (body %d) instead of refusing",
			       what, r->id, (int)r->body_case);
			slubd__response__free_unpacked(r, NULL);
			if (bad)
				return 0;
			continue;
		}
		if (rc == 0 || rc == -EPIPE)	/* closed (a reset may cut a reply short) */
			return 1;
		if (rc == -ETIMEDOUT)
			CHECKF(0, "%s: slubd did not close the connection within %d ms", what, timeout_ms);
		else
			CHECKF(0, "%s: reading what slubd sent: %s", what, strerror(-rc));
		return 0;
	}
}

/* ---- stats and validate -------------------------------------------------- */

/* one request over a fresh connection; the response, or NULL with a failed check */
static Slubd__Response *call_once(const char *sock, Slubd__Request *req, const char *what)
{
	struct ctl_conn c;
	Slubd__Response *resp = NULL;
	char err[256] = "";
	int rc = ctl_connect(&c, sock, "e2e", err, sizeof(err));

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

static bool on_tmpfs(const char *dir)
{
	struct statfs sf;

	return statfs(dir, &sf) == 0 && sf.f_type == TMPFS_MAGIC && access(dir, W_OK | X_OK) == 0;
}

int e2e_write_file(const char *path, const char *text)
{
	return write_file(path, text);
}

const char *e2e_tmpfs(void)
{
	return on_tmpfs("/dev/shm") ? "/dev/shm" : NULL;
}

const char *e2e_tmpdir(void)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp && (!*tmp || strlen(tmp) > 60))
		tmp = NULL;
	if (tmp && on_tmpfs(tmp))
		return tmp;
	return e2e_tmpfs() ? e2e_tmpfs() : tmp ? tmp : "/tmp";
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
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__StatsRequest sr = SLUBD__STATS_REQUEST__INIT;
	Slubd__Response *resp;
	int found = 0;

	req.body_case = SLUBD__REQUEST__BODY_STATS;
	req.stats = &sr;
	resp = call_once(sock, &req, "stats");
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
	uint64_t deadline = e2e_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms);
	int r;

	while ((r = e2e_cache_stats(sock, name, out, NULL)) >= 0 && r != want &&
	       e2e_now_ms() < deadline)
		e2e_sleep_ms(10);
	return r;
}

int e2e_wait_refcount(const char *sock, const char *name, int32_t refcount, int timeout_ms,
		      struct e2e_cache *out)
{
	uint64_t deadline = e2e_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms);
	struct e2e_cache c;
	int r;

	for (;;) {
		r = e2e_cache_stats(sock, name, &c, NULL);
		if (r < 0)
			return 0;
		if (r == 1 && c.refcount == refcount)
			break;
		if (e2e_now_ms() >= deadline)
			break;
		e2e_sleep_ms(10);
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
	resp = call_once(sock, &req, "validate");
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

/* ---- minimal JSON -------------------------------------------------------- */

static const char *skip_ws(const char *p)
{
	while (*p && isspace((unsigned char)*p))
		p++;
	return p;
}

/* p at a string: if it is "key" followed by ':', the value after it; else NULL */
static const char *after_key(const char *p, const char *key)
{
	size_t k = strlen(key);

	if (p[0] != '"' || strncmp(p + 1, key, k) || p[1 + k] != '"')
		return NULL;
	p = skip_ws(p + k + 2);
	if (*p != ':')
		return NULL;
	return skip_ws(p + 1);
}

/* the value of key among the own keys of the object at obj ('{') */
static const char *obj_get(const char *obj, const char *key)
{
	int depth = 0;

	for (const char *p = obj; *p; p++) {
		if (*p == '"') {
			if (depth == 1) {
				const char *v = after_key(p, key);

				if (v)
					return v;
			}
			for (p++; *p && *p != '"'; p++)
				if (*p == '\\' && p[1])
					p++;
			if (!*p)
				return NULL;
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if ((*p == '}' || *p == ']') && --depth == 0)
			return NULL;
	}
	return NULL;
}

/* the innermost object that encloses pos */
static const char *enclosing_obj(const char *json, const char *pos)
{
	const char *stack[128];
	int sp = 0;

	for (const char *p = json; *p && p < pos; p++) {
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++)
				if (*p == '\\' && p[1])
					p++;
			if (!*p)
				return NULL;
			continue;
		}
		if (*p == '{' || *p == '[') {
			if (sp < 128)
				stack[sp] = p;
			sp++;
		} else if ((*p == '}' || *p == ']') && sp > 0) {
			sp--;
		}
	}
	if (sp <= 0 || sp > 128 || *stack[sp - 1] != '{')
		return NULL;
	return stack[sp - 1];
}

static int parse_num(const char *v, uint64_t *out)
{
	char *end;

	if (!v || !isdigit((unsigned char)*v))
		return -1;
	errno = 0;
	*out = strtoull(v, &end, 10);
	return errno || end == v ? -1 : 0;
}

int e2e_json_cache_num(const char *json, const char *name, const char *field, uint64_t *v)
{
	size_t n = strlen(name);

	for (const char *p = json ? strstr(json, "\"name\"") : NULL; p; p = strstr(p + 1, "\"name\"")) {
		const char *val = after_key(p, "name"), *obj;

		if (!val || *val != '"' || strncmp(val + 1, name, n) || val[1 + n] != '"')
			continue;
		obj = enclosing_obj(json, p);
		if (obj && parse_num(obj_get(obj, field), v) == 0)
			return 0;
	}
	return -1;
}

static const char *json_obj(const char *json, const char *obj)
{
	char key[64];

	snprintf(key, sizeof(key), "\"%s\"", obj);
	for (const char *p = json ? strstr(json, key) : NULL; p; p = strstr(p + 1, key)) {
		const char *val = after_key(p, obj);

		if (val && *val == '{')
			return val;
	}
	return NULL;
}

int e2e_json_obj_num(const char *json, const char *obj, const char *field, uint64_t *v)
{
	const char *o = json_obj(json, obj);

	return o ? parse_num(obj_get(o, field), v) : -1;
}

int e2e_json_obj_str(const char *json, const char *obj, const char *field, char *buf, size_t len)
{
	const char *o = json_obj(json, obj), *v, *end;

	if (!o || !(v = obj_get(o, field)) || *v != '"')
		return -1;
	end = strchr(v + 1, '"');
	if (!end)
		return -1;
	snprintf(buf, len, "%.*s", (int)(end - v - 1), v + 1);
	return 0;
}
