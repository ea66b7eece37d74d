/*
 * e2e.h - helpers of the end-to-end tests in tests/e2e/: a real slubd on a
 * private socket, cases isolated in forked children under a timeout, child
 * processes, raw protocol connections, stats and validate, running programs.
 *
 * Every E2E_CASE runs in a forked child of the test program (its own process
 * group, killed by SIGALRM after E2E_CASE_TIMEOUT_S seconds, $E2E_TIMEOUT
 * overrides), so that each case starts with a library that never attached and
 * a hang fails instead of blocking.  The daemons a case starts are recorded in
 * shared memory: whatever happens to the case, the test program kills what is
 * left of it (the whole process group, and the daemons), shows the daemon's
 * log when the case failed, and removes the private directory.
 *
 * Binaries: $SLUBD, $SLUBCTL, $EXAMPLES; when unset, the build directory two
 * levels above the test binary (build/tests/e2e/t_x -> build/slubd).  A
 * binary that does not exist fails the case loudly; it is never a skip.
 */
#ifndef TESTS_E2E_E2E_H
#define TESTS_E2E_E2E_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"
#include "tlib.h"
#include "ctl.h"
#include "frame.h"
#include "stats_list.h"

/* the limits below are stretched by e2e_scale_ms() (see "a wrapper around slubd") */
#define E2E_CASE_TIMEOUT_S	60	/* a case still running then is killed */
#define E2E_START_TIMEOUT_MS	e2e_scale_ms(10000)	/* slubd must serve within this */
#define E2E_STOP_TIMEOUT_MS	e2e_scale_ms(5000)	/* and exit within this after SIGTERM */
#define E2E_MAX_DAEMONS		4	/* at once, per case */
#define E2E_MAX_WRAPPED		32	/* slubd runs under $SLUBD_WRAPPER, per case */

struct e2e_slubd {
	pid_t pid;		/* 0: not running (stopped, or found dead) */
	char dir[128];		/* the private directory (mkdtemp) */
	char sock[160];		/* dir/slubd.sock */
	char log[160];		/* dir/slubd.log: the daemon's stdout and stderr */
	char arena[160];	/* dir/slubd.arena, the default arena file */
	char conf[160];		/* dir/slubd.conf, when a config was given */
};

struct e2e_opts {
	const char *config;	/* ini text for --config; NULL: no config file */
	const char *arena_size;	/* --arena-size; NULL: "64M"; "": none (the config's) */
	int open_dir;		/* make the directory 0711, for peers of other uids */
	uid_t run_as;		/* 0: as we run; else slubd runs as this uid and gid
				 * (setuid before exec), its directory given to it,
				 * and $SLUBD_DAEMON_UID is set to it for the case's
				 * clients (which trust no other uid's daemon) */
};

/* ---- a wrapper around slubd (valgrind) ------------------------------------ */

/*
 * $SLUBD_WRAPPER - a command line (words split at blanks, no quoting) that
 * every slubd the helpers start runs under: e2e_start(), and e2e_run() when
 * its argv[0] is slubd.  For valgrind it must hold --error-exitcode=N (N not
 * 0) and --log-file=PATH with %p in PATH; the helpers replace %p with a name
 * of their own, unique to that slubd run (test program, pid, count), so that
 * each slubd has its own log and no run overwrites another's.  Wherever a
 * helper reaps a wrapped slubd (e2e_stop, e2e_alive, e2e_start, e2e_run), and
 * at the end of the case for those it did not reap (SIGKILLed on purpose,
 * or by the cleanup), it reads that log: an error valgrind reported, a
 * definitely or indirectly lost byte, a descriptor left open at exit (with
 * --track-fds=yes), or the exit status --error-exitcode names fails the
 * case, with the log shown.  A slubd killed by SIGKILL never reaches its
 * leak check: only the errors it reported before are seen.
 *
 * $E2E_TIMEOUT_SCALE - an integer factor (1..1000) for every limit the
 * helpers wait by (start, stop, a reply, a close, a read, a wait for a
 * process, e2e_run, the case's timeout): they are upper bounds, never
 * durations asserted; default 1, and 10 when $SLUBD_WRAPPER is set.
 */
int e2e_scale_ms(int ms);
/* $SLUBD_WRAPPER when set and not empty, else NULL */
const char *e2e_wrapper(void);

/* ---- cases ---------------------------------------------------------------- */

void e2e_run_case(void (*body)(void));

/* E2E_CASE(name) { body } - a case whose body runs in a forked child */
#define E2E_CASE(name) \
	static void name##_body(void); \
	static void name(void) { e2e_run_case(name##_body); } \
	static void name##_body(void)

/* ---- binaries ----------------------------------------------------------- */

/* $env if set, else <dir of the test binary>/../../<rel> */
const char *e2e_bin(const char *env, const char *rel);
/* the same, with a failed check naming the path when it is not executable */
const char *e2e_need_bin(const char *env, const char *rel);
/* copy file from to to, made with mode (a binary another uid must run, when the
 * build folder is closed to it: a clone in a 0700 folder): 0 or -errno */
int e2e_copy_file(const char *from, const char *to, mode_t mode);

/* ---- the daemon -------------------------------------------------------- */

/*
 * e2e_start - start slubd --foreground --socket DIR/slubd.sock --arena-size
 * 64M --hugepages off [--config DIR/slubd.conf] and wait until it prints
 * "ready" and its socket answers a Hello.  DIR is made in e2e_tmpdir(): on
 * tmpfs, where slubd puts its arena next to the socket by default.  NULL with
 * a failed check (and the daemon's log shown) on any failure.
 */
struct e2e_slubd *e2e_start(const struct e2e_opts *o);
/* 1 if slubd still runs; else 0 with a failed check, how it ended and its log */
int e2e_alive(struct e2e_slubd *d, const char *when);
/*
 * check that it is alive, SIGTERM it, check that it exits 0 within 5 s (and,
 * under a wrapper, that valgrind found no error and no leak)
 */
void e2e_stop(struct e2e_slubd *d);
/* print the last lines of the daemon's log, indented */
void e2e_show_log(const struct e2e_slubd *d, int lines);
/* 1 if the daemon's log so far holds needle */
int e2e_log_has(const struct e2e_slubd *d, const char *needle);
/* how many times the daemon's log so far holds needle */
int e2e_log_count(const struct e2e_slubd *d, const char *needle);

/*
 * a tmpfs directory every user may make a private directory in (/dev/shm),
 * for a slubd whose default arena goes next to its socket (slubd refuses
 * that place on a disk); NULL: none
 */
const char *e2e_tmpfs(void);
/*
 * where the helpers make private directories: $TMPDIR when it is on tmpfs,
 * else e2e_tmpfs(), else $TMPDIR or /tmp (at most 60 bytes)
 */
const char *e2e_tmpdir(void);
/* buf = e2e_tmpdir()/NAME.XXXXXX, a template for mkdtemp or mkstemp (len >= 80); buf */
char *e2e_tmp_template(char *buf, size_t len, const char *name);
/* write text into path (created 0644, or truncated): 0 or -errno */
int e2e_write_file(const char *path, const char *text);

/* ---- processes --------------------------------------------------------- */

/*
 * t_fork, t_wait, t_shared, t_now_ms, t_sleep_ms, t_rand: see tlib.h.  The
 * e2e_ spellings below are the same functions, for the cases written with
 * them (t_reclaim.c and the cases added to it).
 */
#define e2e_fork	t_fork
#define e2e_wait	t_wait
#define e2e_shared	t_shared
#define e2e_now_ms	t_now_ms
#define e2e_sleep_ms	t_sleep_ms
/* close every descriptor from lowfd up (in a child before exec) */
void e2e_close_from(int lowfd);
/*
 * e2e_spawn - run argv[0] with stdout and stderr into a pipe; *out_fd is the
 * read end.  -1 with a failed check if it cannot start.
 */
pid_t e2e_spawn(char *const argv[], int *out_fd);
/* read fd until EOF or timeout, appending to *buf (malloc'd, NUL-terminated); 0 on EOF */
int e2e_read_all(int fd, char **buf, size_t *len, int timeout_ms);
/* read fd until *buf contains needle; 0 found, -1 EOF or timeout */
int e2e_read_until(int fd, char **buf, size_t *len, const char *needle, int timeout_ms);
/* wait for pid up to e2e_scale_ms(timeout_ms) (then SIGKILL); the wait status, or -1 when it had to be killed */
int e2e_waitpid_timeout(pid_t pid, int timeout_ms);
/*
 * e2e_spawn + e2e_read_all + wait: the exit code (or -1 with a failed check);
 * *out malloc'd.  argv[0] slubd: under $SLUBD_WRAPPER, with a scaled timeout.
 */
int e2e_run(char *const argv[], char **out, int timeout_ms);

/* ---- the control protocol, raw ------------------------------------------ */

/* a plain connected socket, nothing sent yet; -1 with a failed check */
int e2e_raw_connect(const char *sock);
/* write everything (MSG_NOSIGNAL); 0 or -errno */
int e2e_send(int fd, const void *p, size_t n);
/* one framed request (its id is left as set) */
int e2e_send_req(int fd, Slubd__Request *r);
/*
 * e2e_recv - one response within timeout_ms: 1 (*resp set; free it with
 * slubd__response__free_unpacked), 0 the peer closed (EOF or reset) before
 * a frame began, -EPIPE closed mid-frame, -ETIMEDOUT, -EBADMSG a frame that
 * is no Response.
 * A descriptor passed with it is stored in *fd_out when fd_out is given
 * (else closed).
 */
int e2e_recv(int fd, int timeout_ms, Slubd__Response **resp, int *fd_out);
/* a Hello request of that id and protocol version, built in *req and *h (no client name) */
void e2e_hello_req(Slubd__Request *req, Slubd__Hello *h, uint32_t id, uint32_t version);
/*
 * e2e_raw_hello - a raw connection to sock that said Hello (id 1, client who)
 * and got its success answer within timeout_ms; its fd, or -1 with a failed
 * check (what went wrong)
 */
int e2e_raw_hello(const char *sock, const char *who, int timeout_ms);
/* ctl_connect(c, sock, who) (connect and Hello): c->fd, or -1 with a failed check and its reason */
int e2e_ctl_connect(const char *sock, struct ctl_conn *c, const char *who);
/*
 * e2e_expect_closed - slubd must close fd within timeout_ms; responses that
 * come first must be errors.  A failed check (with what) otherwise.
 * Returns 1 when closed.
 */
int e2e_expect_closed(int fd, int timeout_ms, const char *what);

/* ---- stats and validate, each over a fresh control connection ------------ */

struct e2e_cache {
	char name[64];
	uint64_t object_size, size, active_objs, num_objs, active_slabs, num_slabs;
	int32_t refcount;
	/* every path counter, by its name (shm/stats_list.h) */
#define E2E_STAT_MEMBER(e, name, shown) uint64_t name;
	SLAB_STAT_LIST(E2E_STAT_MEMBER)
#undef E2E_STAT_MEMBER
	uint64_t errors;
	int system;
};

struct e2e_arena {
	uint64_t size, used, base;
	char backing[320];	/* "memfd", "tmpfs file PATH", "file on ext4 PATH"... */
	uint32_t clients;
	int has_clients;
};

/*
 * e2e_backing_is_file - backing (stats' or Attach's) says the arena is the
 * file path, in memory ("tmpfs file PATH") or on a disk ("file on FS PATH")
 */
int e2e_backing_is_file(const char *backing, const char *path);

/*
 * e2e_probe - d must be alive, then a fresh client process attaches, creates
 * a pool, allocates, writes, checks, frees, kmallocs and detaches, all
 * without a failed check, and d must still be alive (when: for the
 * messages).  What every robustness step ends with.
 */
void e2e_probe(struct e2e_slubd *d, const char *when);
/* the client process of e2e_probe alone, for t_fork(e2e_probe_child, sock) */
void e2e_probe_child(void *sock);
/*
 * e2e_stats_call - one Stats request (name NULL: every cache) over a fresh
 * control connection made as client who: the response, whatever its err (free
 * it with slubd__response__free_unpacked), or NULL with a failed check when
 * the connection or the call failed
 */
Slubd__Response *e2e_stats_call(const char *sock, const char *name, const char *who);
/*
 * e2e_cache_stats - the cache called name in an all-caches Stats reply:
 * 1 listed (*out filled, if out), 0 not listed, -1 the request failed
 * (a failed check).  arena: filled when not NULL.
 */
int e2e_cache_stats(const char *sock, const char *name, struct e2e_cache *out,
		    struct e2e_arena *arena);
/* poll until the cache is listed (want 1) or not (want 0); the last answer */
int e2e_wait_listed(const char *sock, const char *name, int want, int timeout_ms,
		    struct e2e_cache *out);
/* poll until the cache is listed with that refcount; 1 when it was */
int e2e_wait_refcount(const char *sock, const char *name, int32_t refcount, int timeout_ms,
		      struct e2e_cache *out);

struct e2e_validate {
	int err;		/* the response's err (0: consistent) */
	uint64_t caches, slabs, objects, allocated, free, errors;
	char first_error[200];
};
/* Validate one cache (name) or all (NULL): 0 answered (see v->err), -1 the call failed */
int e2e_validate(const char *sock, const char *name, struct e2e_validate *v);

/*
 * e2e_slubctl - run $SLUBCTL -s SOCK args... (NULL-terminated); returns its
 * exit code (-1 with a failed check if it did not exit normally); *out gets
 * its stdout and stderr when out is not NULL.
 */
int e2e_slubctl(const struct e2e_slubd *d, char **out, ...) __attribute__((sentinel));

/*
 * slubctl --json, read through jansson (e2e_json.c): the number under key
 * field in the object that has "name": name (name NULL: the object that is
 * the value of key obj, e.g. "arena").  0 found, -1 not.
 */
int e2e_json_cache_num(const char *json, const char *name, const char *field, uint64_t *v);
int e2e_json_obj_num(const char *json, const char *obj, const char *field, uint64_t *v);
int e2e_json_obj_str(const char *json, const char *obj, const char *field, char *buf, size_t len);

#endif
