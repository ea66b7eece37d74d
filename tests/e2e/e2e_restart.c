/* e2e_restart.c - helpers of the t_restart tests; see e2e_restart.h. */
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

/* ---- helpers: files, logs, starting slubd again ----------------------------------- */

off_t rs_file_len(const char *path)
{
	struct stat sb;

	return stat(path, &sb) ? -1 : sb.st_size;
}

char *rs_slurp_from(const char *path, off_t from)
{
	char *buf = NULL;
	size_t len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		if (from <= 0 || lseek(fd, from, SEEK_SET) == from)
			e2e_read_all(fd, &buf, &len, 1000);
		close(fd);
	}
	return buf ? buf : calloc(1, 1);
}

int rs_log_has_from(const char *path, off_t from, const char *needle)
{
	char *t = rs_slurp_from(path, from);
	int found = t && strstr(t, needle) != NULL;

	free(t);
	return found;
}

int rs_log_count(const char *path, const char *needle)
{
	char *t = rs_slurp_from(path, 0);
	int n = 0;

	for (const char *p = t; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(t);
	return n;
}

void rs_show_log_from(const char *path, off_t from)
{
	char *t = rs_slurp_from(path, from), *p = t;

	printf("  --- %s from byte %lld ---\n", path, (long long)from);
	while (p && *p) {
		char *nl = strchr(p, '\n');

		printf("  | %.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
		if (!nl)
			break;
		p = nl + 1;
	}
	printf("  --- end ---\n");
	fflush(stdout);
	free(t);
}

pid_t rs_spawn_logged(char *const argv[], const char *log, int trunc, const char *env_name,
			     const char *env_val)
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
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | (trunc ? O_TRUNC : 0), 0644);
		int nul = open("/dev/null", O_RDONLY);
		sigset_t none_blocked;

		if (fd < 0 || nul < 0)
			_exit(126);
		dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		e2e_close_from(3);
		sigemptyset(&none_blocked);
		sigprocmask(SIG_SETMASK, &none_blocked, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (env_name)
			setenv(env_name, env_val, 1);
		execv(argv[0], argv);
		fprintf(stderr, "t_restart: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	return pid;
}

int rs_hello_ok(const char *sock, char *err, size_t errlen)
{
	struct ctl_conn c;

	if (ctl_connect(&c, sock, "t_restart", err, errlen))
		return 0;
	ctl_close(&c);
	return 1;
}

int rs_restart(struct e2e_slubd *d, const char *arena, off_t *from, uint64_t *took_ms)
{
	const char *bin = e2e_need_bin("SLUBD", "slubd");
	char *argv[16], lasterr[256] = "no attempt yet", how[96];
	int argc = 0, sock_ok = 0, ready = 0;
	uint64_t t0 = t_now_ms(), deadline = t0 + E2E_START_TIMEOUT_MS;
	off_t off;
	pid_t pid;

	if (access(bin, X_OK))
		return -1;
	if (d->pid) {
		CHECKF(0, "rs_restart: the previous slubd (pid %d) still runs", (int)d->pid);
		return -1;
	}
	off = rs_file_len(d->log);
	if (off < 0)
		off = 0;
	if (from)
		*from = off;
	argv[argc++] = (char *)bin;
	argv[argc++] = "--foreground";
	argv[argc++] = "--socket";
	argv[argc++] = d->sock;
	argv[argc++] = "--arena-size";
	argv[argc++] = "64M";
	argv[argc++] = "--hugepages";
	argv[argc++] = "off";
	if (arena) {
		argv[argc++] = "--arena-file";
		argv[argc++] = (char *)arena;
	}
	argv[argc] = NULL;
	pid = rs_spawn_logged(argv, d->log, 0, NULL, NULL);
	if (pid < 0)
		return -1;
	d->pid = pid;
	for (;;) {
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			d->pid = 0;
			CHECKF(0, "slubd, started again on %s, exited during startup: %s", d->sock,
			       t_status_str(status, how, sizeof(how)));
			rs_show_log_from(d->log, off);
			return -1;
		}
		if (!sock_ok)
			sock_ok = rs_hello_ok(d->sock, lasterr, sizeof(lasterr));
		if (!ready)
			ready = rs_log_has_from(d->log, off, "ready");
		if (sock_ok && ready)
			break;
		if (t_now_ms() > deadline) {
			CHECKF(0, "slubd, started again on %s, did not serve within %d ms: socket %s (%s); "
			       "\"ready\" %s", d->sock, E2E_START_TIMEOUT_MS,
			       sock_ok ? "answered" : "did not answer", sock_ok ? "ok" : lasterr,
			       ready ? "printed" : "never printed");
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			d->pid = 0;
			rs_show_log_from(d->log, off);
			return -1;
		}
		t_sleep_ms(2);
	}
	if (took_ms)
		*took_ms = t_now_ms() - t0;
	return 0;
}

int rs_kill(struct e2e_slubd *d, int sig, int timeout_ms)
{
	int status;

	if (!d->pid) {
		CHECKF(0, "rs_kill: no slubd runs");
		return -1;
	}
	kill(d->pid, sig);
	status = e2e_waitpid_timeout(d->pid, timeout_ms);
	d->pid = 0;
	return status;
}

void rs_arena_path(const struct e2e_slubd *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s/slubd.arena", d->dir);
}
