/*
 * e2e_store.h - helpers of the t_store tests (t_store.c, t_store_cut.c,
 * t_store_owner.c): slubd started by hand (an environment, descriptors, a
 * uid), private directories, a client's view of the arena.
 */
#ifndef TESTS_E2E_E2E_STORE_H
#define TESTS_E2E_E2E_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MIB (1u << 20)
#define VICTIM 65534
#define SQUATTER 65533
#define ARENA_BYTES (64u << 20)


/* ---- slubd started by hand: an environment, fds, a uid ------------------------ */

struct st_daemon {
	pid_t pid;
	char log[200];
};

struct st_spawn {
	const char *bin;		/* NULL: $SLUBD */
	char *const *args;		/* after slubd --foreground; NULL-terminated */
	uid_t uid;			/* 0: as we run */
	const char *notify;		/* NOTIFY_SOCKET, or NULL */
	int fds[4];			/* passed as 3, 4, ... (LISTEN_FDS), -1 ends */
	const char *fdnames;		/* LISTEN_FDNAMES */
	int default_socket;		/* clear SLUBD_SOCKET and XDG_RUNTIME_DIR */
	int plain_fds;			/* fds passed as 3, 4, ... without LISTEN_FDS */
};

int st_nfds(const struct st_spawn *sp);
/* start slubd; its output goes to log.  Returns the pid, or -1 */
pid_t st_start(const struct st_spawn *sp, const char *log);
char *st_slurp(const char *path);
/* wait until the log (from offset from) says ready (1), or slubd exits (0, *status) */
int st_wait_ready(pid_t pid, const char *log, size_t from, int *status, int timeout_ms);
size_t st_log_len(const char *log);
/* start and wait for ready; 0 or -1 with a failed check and the log shown */
int st_start_ready(struct st_daemon *dm, const struct st_spawn *sp);
void st_stop(struct st_daemon *dm);
/*
 * a slubd that must refuse to start: non-zero exit within a few seconds, its
 * output naming want (and want2 if not NULL).  The output, malloc'd.
 */
char *st_expect_refusal(const struct st_spawn *sp, const char *log, const char *what,
			       const char *want, const char *want2);

/* ---- small helpers ----------------------------------------------------------------- */

/*
 * a private directory on tmpfs (e2e_tmpdir), where slubd puts its default
 * arena next to the socket (on a disk it refuses to)
 */
int st_mkdir_tmp(char *out, size_t len, const char *tag);
int st_run_cmd(const char *cmd);
void st_rm_rf(const char *path);
/* a copy of slubd that another uid can run (the build folder may be closed to it) */
const char *st_slubd_copy(const char *dir);
/* the arena descriptor a client gets at attach, or -1 */
int st_client_arena_fd(const char *sock);
/* stats and validate answered (whatever they find), slubd alive */
void st_still_serves(struct st_daemon *dm, const char *sock, const char *when);
/*
 * one stats and one validate over a fresh connection: 1 when both got a reply,
 * an error reply included (a request that met a cut may fail: EFAULT)
 */
int st_answers(const char *sock);
int st_file_sum(const char *path, uint64_t *sum, off_t *size);
/* the names in dir, sorted-ish, into out */
void st_list_dir(const char *dir, char *out, size_t len);

#endif
