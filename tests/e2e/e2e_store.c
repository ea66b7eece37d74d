/* e2e_store.c - helpers of the t_store tests; see e2e_store.h. */
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

#include "e2e_store.h"

/* ---- slubd started by hand: an environment, fds, a uid ------------------------ */

int st_nfds(const struct st_spawn *sp)
{
	int n = 0;

	while (n < 4 && sp->fds[n] >= 0)
		n++;
	return n;
}

pid_t st_start(const struct st_spawn *sp, const char *log)
{
	const char *bin = sp->bin ? sp->bin : e2e_need_bin("SLUBD", "slubd");
	char *argv[24];
	int argc = 0, n = st_nfds(sp);
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

char *st_slurp(const char *path)
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

int st_wait_ready(pid_t pid, const char *log, size_t from, int *status, int timeout_ms)
{
	uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms);

	*status = -1;
	while (t_now_ms() < end) {
		char *text = st_slurp(log);
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

size_t st_log_len(const char *log)
{
	struct stat st;

	return stat(log, &st) == 0 ? (size_t)st.st_size : 0;
}

int st_start_ready(struct st_daemon *dm, const struct st_spawn *sp)
{
	size_t from = st_log_len(dm->log);
	int status, rc;

	dm->pid = st_start(sp, dm->log);
	if (dm->pid < 0) {
		CHECKF(0, "fork: %s", strerror(errno));
		return -1;
	}
	rc = st_wait_ready(dm->pid, dm->log, from, &status, 10000);
	if (rc != 1) {
		char *text = st_slurp(dm->log), why[64];

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

void st_stop(struct st_daemon *dm)
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

char *st_expect_refusal(const struct st_spawn *sp, const char *log, const char *what,
			       const char *want, const char *want2)
{
	size_t from = st_log_len(log);
	int status, rc;
	pid_t pid = st_start(sp, log);
	char *text, why[64];

	if (pid < 0) {
		CHECKF(0, "fork: %s", strerror(errno));
		return strdup("");
	}
	rc = st_wait_ready(pid, log, from, &status, 5000);
	if (rc != 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	text = st_slurp(log);
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

int st_mkdir_tmp(char *out, size_t len, const char *tag)
{
	snprintf(out, len, "%s/slubd-st-%s.XXXXXX", e2e_tmpdir(), tag);
	if (!mkdtemp(out)) {
		CHECKF(0, "mkdtemp %s: %s", out, strerror(errno));
		return -1;
	}
	return 0;
}

int st_run_cmd(const char *cmd)
{
	int rc = system(cmd);

	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

void st_rm_rf(const char *path)
{
	char cmd[400];

	/* only what these cases made: in /tmp, /dev/shm, or a slubd-st-* directory */
	if (path[0] && (strncmp(path, "/tmp/", 5) == 0 || strncmp(path, "/dev/shm/", 9) == 0 ||
			strstr(path, "/slubd-st-"))) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
		(void)!system(cmd);
	}
}

const char *st_slubd_copy(const char *dir)
{
	static char copy[200];
	char cmd[600];

	snprintf(copy, sizeof(copy), "%s/slubd", dir);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 0755 '%s'",
		 e2e_need_bin("SLUBD", "slubd"), copy, copy);
	if (st_run_cmd(cmd)) {
		CHECKF(0, "%s failed", cmd);
		return NULL;
	}
	return copy;
}

int st_client_arena_fd(const char *sock)
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

void st_still_serves(struct st_daemon *dm, const char *sock, const char *when)
{
	struct e2e_validate v;

	CHECKF(e2e_cache_stats(sock, "kmalloc-64", NULL, NULL) == 1, "%s: stats not answered",
	       when);
	CHECKF(e2e_validate(sock, NULL, &v) == 0, "%s: validate not answered", when);
	CHECKF(kill(dm->pid, 0) == 0 && waitpid(dm->pid, NULL, WNOHANG) == 0,
	       "%s: slubd is gone", when);
}

int st_answers(const char *sock)
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

int st_file_sum(const char *path, uint64_t *sum, off_t *size)
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

void st_list_dir(const char *dir, char *out, size_t len)
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
