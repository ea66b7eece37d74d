/* diag.c - what a stuck client of t_chaos was doing; see chaos.h. */
#include "chaos.h"

/* the process a thread belongs to (Tgid in /proc/TID/status), or 0 */
static pid_t tgid_of(int tid)
{
	char path[64], line[128];
	pid_t tgid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	if (!(f = fopen(path, "r")))
		return 0;
	while (!tgid && fgets(line, sizeof(line), f))
		if (!strncmp(line, "Tgid:", 5))
			tgid = (pid_t)atoi(line + 5);
	fclose(f);
	return tgid;
}

/* run gdb on pid with the commands; print the lines that start with one of keep */
static void gdb_show(pid_t pid, const char *const *cmds, int ncmds, const char *keep, char *last,
		     size_t lastlen)
{
	char pids[16], *argv[32], *out = NULL;
	int argc = 0, fd;
	size_t len = 0;
	pid_t g;

	if (access("/usr/bin/gdb", X_OK))
		return;
	snprintf(pids, sizeof(pids), "%d", (int)pid);
	argv[argc++] = "/usr/bin/gdb";
	argv[argc++] = "-p";
	argv[argc++] = pids;
	argv[argc++] = "-batch";
	for (int i = 0; i < ncmds && argc < 30; i++) {
		argv[argc++] = "-ex";
		argv[argc++] = (char *)cmds[i];
	}
	argv[argc] = NULL;
	g = e2e_spawn(argv, &fd);
	if (g <= 0)
		return;
	e2e_read_all(fd, &out, &len, 20000);
	close(fd);
	e2e_waitpid_timeout(g, 1000);
	for (char *l = out ? strtok(out, "\n") : NULL; l; l = strtok(NULL, "\n")) {
		if (!strchr(keep, l[0]))
			continue;
		printf("    %s\n", l);
		if (last) {	/* what was printed, as far as it fits */
			size_t used = strlen(last);

			snprintf(last + used, lastlen - used, "%s\n", l);
		}
	}
	free(out);
}

static void show_task(const char *what, int tid)
{
	char path[64], buf[512] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", tid);
	if ((f = fopen(path, "r"))) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	} else {
		snprintf(buf, sizeof(buf), "(gone: %s)", strerror(errno));
	}
	printf("  %s %d: /proc stat: %.100s\n", what, tid, buf);
}

/*
 * a client that does not move: where is it?  Its state, and with gdb its
 * stack; if it waits for a lock, the lock's owner (its stacks too)
 */
void show_stuck(int slot)
{
	static const char *const bt[] = { "bt 12" };
	static const char *const all[] = { "thread apply all bt 12" };
	pid_t pid = O.cl[slot].pid;
	char path[64], out[1024] = "";
	const char *m;
	unsigned long long mutex = 0;
	int32_t word[3];
	int fd;

	show_task("client", (int)pid);
	gdb_show(pid, bt, 1, "#", out, sizeof(out));
	/* the mutex it waits for (from the stack): its owner, read from the client's memory */
	m = strstr(out, "mutex=0x");
	if (!m || sscanf(m, "mutex=%llx", &mutex) != 1)
		return;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, word, sizeof(word), (off_t)mutex) != (ssize_t)sizeof(word)) {
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	printf("  it waits for the mutex at %#llx: lock word %#x, owner %d\n", mutex,
	       (unsigned int)word[0], word[2]);
	if ((word[0] & 0x3fffffff) > 0) {
		int tid = word[0] & 0x3fffffff;
		pid_t tgid = tgid_of(tid);

		show_task("the lock's owner, thread", tid);
		if (tgid > 0)
			gdb_show(tgid, all, 1, "#T", NULL, 0);
	}
}

/*
 * a client that has not moved for a while: if it sleeps on a futex (a lock
 * of the arena), who holds it?  /proc/PID/syscall gives the futex's address,
 * /proc/PID/mem its word: the owner's thread id.  Printed at once, while the
 * owner still holds it; its stacks too when gdb is installed.
 */
void show_waiting(int slot)
{
	static const char *const all[] = { "thread apply all bt 14" };
	pid_t pid = O.cl[slot].pid;
	char path[64], line[256] = "";
	unsigned long long nr = 0, addr = 0;
	pid_t tgid;
	uint32_t word = 0;
	FILE *f;
	int fd, tid;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	if (!(f = fopen(path, "r")))
		return;
	if (!fgets(line, sizeof(line), f) || sscanf(line, "%llu %llx", &nr, &addr) != 2)
		nr = 0;
	fclose(f);
	if (nr != 202)	/* not in futex() */
		return;
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (pread(fd, &word, sizeof(word), (off_t)addr) != (ssize_t)sizeof(word))
		word = 0;
	close(fd);
	tid = (int)(word & 0x3fffffffu);
	printf("  client token %u (pid %d) has not moved for %lu ms: it waits on the futex at "
	       "%#llx, word %#x (owner thread %d)\n", O.cl[slot].token, (int)pid, O.stall_ms / 2,
	       addr, word, tid);
	if (!tid)
		return;
	show_task("  the owner, thread", tid);
	tgid = tgid_of(tid);
	snprintf(path, sizeof(path), "/proc/%d/syscall", tid);
	if ((f = fopen(path, "r"))) {
		if (fgets(line, sizeof(line), f))
			printf("    its system call: %s", line);
		fclose(f);
	}
	if (tgid > 0)
		gdb_show(tgid, all, 1, "#T", NULL, 0);
}
