/*
 * e2e.c - helpers of the end-to-end tests (see e2e.h): cases in a forked child
 * and the cleanup after them, the binaries, files and directories.
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

struct e2e_state *e2e_st;

/* ---- small things ------------------------------------------------------- */

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

int e2e_write_file(const char *path, const char *text)
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

void e2e_close_from(int lowfd)
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

void e2e_rm_rf(const char *dir)
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

static bool on_tmpfs(const char *dir)
{
	struct statfs sf;

	return statfs(dir, &sf) == 0 && sf.f_type == TMPFS_MAGIC && access(dir, W_OK | X_OK) == 0;
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

char *e2e_tmp_template(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s.XXXXXX", e2e_tmpdir(), name);
	return buf;
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
		if (e2e_st->used[i] && e2e_st->d[i].pid > 0)
			kill(e2e_st->d[i].pid, SIGKILL);
	/* as the subreaper, the orphans of the case are ours to reap */
	deadline = t_now_ms() + 3000;
	for (;;) {
		pid_t r = waitpid(-1, &status, WNOHANG);

		if (r > 0)
			continue;
		if (r < 0 || t_now_ms() > deadline)
			break;
		t_sleep_ms(2);
	}
	/* wrapped runs no helper reaped: SIGKILLed by the case, or by the kill above */
	for (int i = 0; i < e2e_st->nr_wrapped && i < E2E_MAX_WRAPPED; i++)
		if (!e2e_st->w[i].checked)
			wrap_check(&e2e_st->w[i], -1, "not reaped by a helper (killed, or ended by the case)");
	for (int i = 0; i < E2E_MAX_DAEMONS; i++) {
		if (!e2e_st->used[i])
			continue;
		if (t_failed && !e2e_st->log_shown)
			e2e_show_log(&e2e_st->d[i], 40);
		e2e_rm_rf(e2e_st->d[i].dir);
	}
}

/* in the case's child, after its body: stop the daemons it left running */
static void case_end(void)
{
	for (int i = 0; i < E2E_MAX_DAEMONS; i++)
		if (e2e_st->used[i] && e2e_st->d[i].pid > 0)
			e2e_stop(&e2e_st->d[i]);
}

void e2e_run_case(void (*body)(void))
{
	char hint[96];
	struct t_isolation o = { .timeout_s = case_timeout(), .own_group = 1, .child_end = case_end,
				 .timeout_hint = hint };
	pid_t pid;

	if (!e2e_st) {
		e2e_st = mmap(NULL, sizeof(*e2e_st), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (e2e_st == MAP_FAILED) {
			e2e_st = NULL;
			CHECKF(0, "mmap: %s", strerror(errno));
			return;
		}
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	}
	memset(e2e_st, 0, sizeof(*e2e_st));
	snprintf(hint, sizeof(hint), "(the case ran longer than %u s; E2E_TIMEOUT=s changes the limit)",
		 o.timeout_s);
	pid = t_isolate(body, &o);
	if (pid > 0)
		case_cleanup(pid);
}
