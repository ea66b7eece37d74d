/*
 * e2e_restart.h - helpers of the t_restart tests (t_restart.c,
 * t_restart_adopt.c): files, logs, starting slubd again on the socket of a
 * daemon e2e_start() started.
 */
#ifndef TESTS_E2E_E2E_RESTART_H
#define TESTS_E2E_E2E_RESTART_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "e2e.h"


/* ---- helpers: files, logs, starting slubd again ----------------------------------- */

off_t rs_file_len(const char *path);
/* the text of path from byte from on (malloc'd, never NULL) */
char *rs_slurp_from(const char *path, off_t from);
int rs_log_has_from(const char *path, off_t from, const char *needle);
/* how many times needle occurs in the file */
int rs_log_count(const char *path, const char *needle);
/* print what the log holds from byte from on, indented (a failed start) */
void rs_show_log_from(const char *path, off_t from);
/*
 * rs_spawn_logged - fork and exec argv[0] with stdin /dev/null and stdout and
 * stderr appended to log (env_name=env_val set first when env_name is
 * given); the child dies with the case.  -1 with a failed check.
 */
pid_t rs_spawn_logged(char *const argv[], const char *log, int trunc, const char *env_name,
			     const char *env_val);
/* a Hello on sock answered: 1, else 0 (*err says why) */
int rs_hello_ok(const char *sock, char *err, size_t errlen);
/*
 * rs_restart - start slubd again on d->sock (the daemon before it must be
 * gone: d->pid 0), its output appended to d->log, and wait until it serves:
 * a Hello answered and "ready" in what this instance printed.  arena: its
 * --arena-file, NULL for none (the default, next to the socket).  *from:
 * where its output begins in d->log.  d->pid is the new daemon, so that
 * e2e_stop(d), e2e_alive(d) and the case's cleanup see it.  0, or -1 with a
 * failed check and its log shown.
 */
int rs_restart(struct e2e_slubd *d, const char *arena, off_t *from, uint64_t *took_ms);
/* send sig to the running slubd and reap it; its wait status (-1: had to be SIGKILLed after timeout_ms) */
int rs_kill(struct e2e_slubd *d, int sig, int timeout_ms);
void rs_arena_path(const struct e2e_slubd *d, char *buf, size_t len);

#endif
