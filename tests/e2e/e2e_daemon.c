/*
 * e2e_daemon.c - a slubd of the case: start, alive, stop, its log (see e2e.h).
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

/* ---- the daemon -------------------------------------------------------- */

void e2e_show_log(const struct e2e_slubd *d, int lines)
{
	char *buf = NULL, *p;
	size_t len = 0;
	int fd = open(d->log, O_RDONLY | O_CLOEXEC), n = 0;

	if (e2e_st)
		e2e_st->log_shown = 1;
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
	if (!e2e_st) {
		CHECKF(0, "e2e_start outside an E2E_CASE");
		return NULL;
	}
	for (int i = 0; i < E2E_MAX_DAEMONS && slot < 0; i++)
		if (!e2e_st->used[i])
			slot = i;
	if (slot < 0) {
		CHECKF(0, "more than %d daemons in one case", E2E_MAX_DAEMONS);
		return NULL;
	}
	d = &e2e_st->d[slot];
	memset(d, 0, sizeof(*d));
	/* on tmpfs where there is one: a named arena's default file goes there */
	snprintf(d->dir, sizeof(d->dir), "%s/slubd-e2e.XXXXXX", tmp);
	if (!mkdtemp(d->dir)) {
		CHECKF(0, "mkdtemp %s: %s", d->dir, strerror(errno));
		return NULL;
	}
	e2e_st->used[slot] = 1;
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
		rc = e2e_write_file(d->conf, o->config);
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
		e2e_close_from(vfd >= 0 ? 4 : 3);
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
	wrap_add(pid, vglog);

	/* serving: the socket answers a Hello, and the log says "ready" */
	deadline = t_now_ms() + E2E_START_TIMEOUT_MS;
	while (!(sock_ok && ready)) {
		int status;
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid) {
			char how[96];

			d->pid = 0;
			CHECKF(0, "slubd exited during startup: %s (%s)", t_status_str(status, how, sizeof(how)),
			       fargv[0]);
			e2e_show_log(d, 40);
			wrap_reaped(pid, status, "exited during startup");
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
		if (t_now_ms() > deadline) {
			CHECKF(0, "slubd did not serve within %d ms: socket %s (%s); \"ready\" %s", E2E_START_TIMEOUT_MS,
			       sock_ok ? "answered" : "did not answer", sock_ok ? "ok" : lasterr,
			       ready ? "printed" : "never printed");
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			d->pid = 0;
			e2e_show_log(d, 40);
			wrap_reaped(pid, -1, "killed: did not serve in time");
			return NULL;
		}
		t_sleep_ms(5);
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
	CHECKF(0, "slubd died %s: %s", when, t_status_str(status, how, sizeof(how)));
	e2e_show_log(d, 60);
	wrap_reaped(d->pid, status, "found dead");
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
	deadline = t_now_ms() + E2E_STOP_TIMEOUT_MS;
	while ((r = waitpid(d->pid, &status, WNOHANG)) == 0 && t_now_ms() < deadline)
		t_sleep_ms(2);
	if (r == 0) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, &status, 0);
		CHECKF(0, "slubd still ran %d ms after SIGTERM (killed)", E2E_STOP_TIMEOUT_MS);
		e2e_show_log(d, 40);
	} else if (r < 0) {
		CHECKF(0, "waitpid(slubd): %s", strerror(errno));
	} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		CHECKF(0, "slubd after SIGTERM: %s, expected exit 0%s", t_status_str(status, how, sizeof(how)),
		       wrap_error_exitcode() && WIFEXITED(status) &&
		       WEXITSTATUS(status) == wrap_error_exitcode() ?
		       " (the wrapper's --error-exitcode)" : "");
		e2e_show_log(d, 40);
	}
	if (r >= 0)
		wrap_reaped(d->pid, r == 0 ? -1 : status, r == 0 ? "killed: still ran after SIGTERM" :
		       "after SIGTERM");
	d->pid = 0;
}
