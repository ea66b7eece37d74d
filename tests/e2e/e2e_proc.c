/*
 * e2e_proc.c - programs a case runs: spawn, read their output, wait (see e2e.h).
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

/* ---- processes --------------------------------------------------------- */

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
		e2e_close_from(3);
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
		int64_t left = (int64_t)(deadline - t_now_ms());
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
	return read_all_by(fd, buf, len, t_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms));
}

int e2e_read_until(int fd, char **buf, size_t *len, const char *needle, int timeout_ms)
{
	uint64_t deadline = t_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms);

	if (!*buf) {
		*buf = calloc(1, 1);
		*len = 0;
	}
	while (!strstr(*buf, needle)) {
		int64_t left = (int64_t)(deadline - t_now_ms());

		if (left < 0 || read_more(fd, buf, len, (int)left) <= 0)
			return -1;
	}
	return 0;
}

/* e2e_waitpid_timeout by an absolute deadline (not scaled) */
int e2e_waitpid_timeout(pid_t pid, int timeout_ms)
{
	return t_waitpid_by(pid, t_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms));
}

int e2e_run(char *const argv[], char **out, int timeout_ms)
{
	uint64_t deadline = t_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms);
	char *buf = NULL, how[96], *fargv[WRAP_MAX_ARGS + 32], logarg[300], vglog[256] = "";
	size_t len = 0;
	int fd, status, n;
	pid_t pid;

	if (out)
		*out = NULL;
	for (n = 0; argv[n]; n++)
		;
	if (e2e_wrapper() && e2e_st && n < 32 && wrap_is_slubd(argv[0])) {
		/* slubd, under the wrapper */
		if (wrap_argv(argv, fargv, logarg, sizeof(logarg), vglog, sizeof(vglog)))
			return -1;
		argv = fargv;
	}
	pid = e2e_spawn(argv, &fd);
	if (pid < 0)
		return -1;
	wrap_add(pid, vglog);
	read_all_by(fd, &buf, &len, deadline);
	close(fd);
	status = t_waitpid_by(pid, deadline > t_now_ms() + 100 ? deadline : t_now_ms() + 100);
	wrap_reaped(pid, status, "run by e2e_run");
	if (status == -1 || !WIFEXITED(status)) {
		CHECKF(0, "%s: %s; its output:\n%s", argv[0], t_status_str(status, how, sizeof(how)),
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
