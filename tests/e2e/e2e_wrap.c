/*
 * e2e_wrap.c - slubd under $SLUBD_WRAPPER (valgrind): the command line,
 * the log of each run, and the check of that log (see e2e.h).
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

/* ---- a wrapper around slubd (valgrind) ------------------------------------ */

static struct {
	int parsed;
	int argc;
	char *argv[WRAP_MAX_ARGS];
	int log_arg;		/* the index of --log-file=, or -1 */
	int valgrind;		/* argv[0] is valgrind: its log is read */
	int error_exitcode;	/* --error-exitcode=N; 0: none */
	char bad[256];		/* why $SLUBD_WRAPPER cannot be used; "" if it can */
} wrap;

int wrap_error_exitcode(void)
{
	return wrap.error_exitcode;
}

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

int wrap_argv(char *const inner[], char **out, char *logarg, size_t logarglen, char *log,
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

void wrap_add(pid_t pid, const char *log)
{
	if (!e2e_st || !log[0])
		return;
	if (e2e_st->nr_wrapped >= E2E_MAX_WRAPPED) {
		CHECKF(0, "more than %d slubd runs under SLUBD_WRAPPER in one case: the log of pid %d "
		       "(%s) is not read", E2E_MAX_WRAPPED, (int)pid, log);
		return;
	}
	e2e_st->w[e2e_st->nr_wrapped].pid = pid;
	e2e_st->w[e2e_st->nr_wrapped].checked = 0;
	snprintf(e2e_st->w[e2e_st->nr_wrapped].log, sizeof(e2e_st->w[0].log), "%s", log);
	e2e_st->nr_wrapped++;
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

int wrap_check(struct e2e_wrapped *w, int status, const char *when)
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
			       status == -1 ? "status unknown" : t_status_str(status, how, sizeof(how)),
			       traces, w->log);
		show_vg_log(w->log, 200);
	}
	return clean;
}

/* the unchecked wrapped run of pid, or NULL */
static struct e2e_wrapped *wrapped_find(pid_t pid)
{
	for (int i = 0; e2e_st && pid > 0 && i < e2e_st->nr_wrapped; i++)
		if (e2e_st->w[i].pid == pid && !e2e_st->w[i].checked)
			return &e2e_st->w[i];
	return NULL;
}

void wrap_reaped(pid_t pid, int status, const char *when)
{
	struct e2e_wrapped *w = wrapped_find(pid);

	if (w)
		wrap_check(w, status, when);
}

int wrap_is_slubd(const char *path)
{
	char a[PATH_MAX], b[PATH_MAX];
	const char *bin = e2e_bin("SLUBD", "slubd");

	return realpath(path, a) && realpath(bin, b) && !strcmp(a, b);
}
