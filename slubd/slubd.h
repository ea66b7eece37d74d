/*
 * slubd.h - the daemon's parts: configuration (config.c), the event loop
 * from start to stop (server.c), the listening socket and the connections
 * (conn.c), the request worker (worker.c), the scrubber (scrubber.c), the
 * arena at start (arena_file.c), request handling (dispatch.c), main (main.c).
 */
#ifndef SLUBD_SLUBD_H
#define SLUBD_SLUBD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/time.h>
#include <sys/types.h>

#include <event2/util.h>

#include "frame.h"
#include "shm.h"

#define MAX_ALLOW 64

struct config {
	char socket[108];		/* listening socket path */
	uint64_t arena_size;
	enum arena_huge huge;
	bool foreground;		/* -f: accepted; slubd always stays in the foreground */
	int notify_fd;			/* --ready-fd N: "ready\n" once serving, then closed;
					 * -1: none (set by main.c, never from a file) */
	unsigned int socket_mode;	/* chmod of the socket */
	uid_t allow_uids[MAX_ALLOW];
	unsigned int nr_allow_uids;
	gid_t allow_gids[MAX_ALLOW];
	unsigned int nr_allow_gids;
	unsigned int max_clients;
	unsigned int max_clients_per_uid;	/* connections of one uid at once; 0: no cap */
	unsigned int max_refs;		/* pool references per connection */
	unsigned int max_caches;	/* pools (not counting the arena's own caches) */
	unsigned int hello_timeout_ms;	/* a connection that sends no Hello is closed */
	unsigned int scrub_interval_s;	/* periodic scrub; 0: only when a client leaves */
	char arena_file[256];		/* the arena's backing file; "" for the default */
	bool arena_file_default;	/* arena_file is a named arena's default, next to
					 * the default socket: refused on a disk (store.c) */
	char arena_name[33];		/* "": the default arena; else the NAME of its
					 * [arena NAME] section (one slubd serves it) */
	char config_file[256];
	bool supervised;		/* one server of the supervisor's (tenants.c): it,
					 * not this process, says READY=1 and STOPPING=1 */
	int ready_fd;			/* supervised: one byte sent here once serving */
	/* [arena] slab_debug, checked (slab_debug_parse): the kmalloc caches'
	 * debug flags of an arena made now; "" none */
	char slab_debug[SLAB_DEBUG_TEXT_MAX + 1];
};

#define SLUBD_ARENA_NAME_MAX	32	/* [arena NAME]: a-z 0-9 _ -, not "slubd", "default" */
#define SLUBD_MAX_ARENAS	64	/* named arenas in one config file */

/* config.c */
void config_defaults(struct config *c);
int config_load(struct config *c, const char *path, char *err, size_t errlen);
int parse_size(const char *s, uint64_t *out);
/*
 * arena_size_check - a size an arena can have, what naming where it came
 * from ("--arena-size 3M"): -EINVAL below ARENA_MIN_SIZE or above
 * ARENA_MAX_SIZE; 1 when *size was rounded up to whole ARENA_SIZE_STEP
 * blocks; 0 when taken as it is.  A sentence in err for -EINVAL and 1.
 */
int arena_size_check(uint64_t *size, const char *what, char *err, size_t errlen);
int parse_huge(const char *s, enum arena_huge *out);
bool config_arena_name_ok(const char *name);
int config_arena_names(const char *path, char (*names)[SLUBD_ARENA_NAME_MAX + 1], int max,
		       char *err, size_t errlen);

/* tenants.c: the supervisor of one slubd per arena, when the config names arenas */
int tenants_run(const struct config *dflt, const char *config_file,
		char (*names)[SLUBD_ARENA_NAME_MAX + 1], int nr);
int serve(struct config *cfg);	/* main.c: one arena's slubd, to its end; the exit code */
/* main.c: --ready-fd: the line "ready" written to *fd, which is closed (-1 after) */
void ready_fd_tell(int *fd);

/*
 * A connection's life: HELLO (only a Hello is accepted) -> READY -> CLOSING
 * (a reply is being flushed before close; nothing more is read).
 */
enum conn_state { CONN_HELLO, CONN_READY, CONN_CLOSING };

struct conn_ref {
	aoff_t cache;			/* offset of the pool's descriptor */
	uint32_t count;			/* references this connection holds */
};

#define SLUBD_CONN_OPENED 16	/* pools a connection's opens are remembered for */
struct conn {
	struct server *srv;
	struct bufferevent *bev;
	enum conn_state state;
	pid_t pid;			/* SO_PEERCRED, at connect */
	uid_t uid;
	gid_t gid;
	bool allowed;			/* the policy lets this peer attach (at connect) */
	struct conn_ref *refs;		/* the worker's alone (see struct job) */
	unsigned int nr_refs;
	uint64_t requests;
	char who[SLUBD_MAX_CLIENT_TEXT + 1];
	struct conn *next, *prev;	/* s->conns: the loop's */
	struct conn *hnext, *hprev;	/* s->holders: the worker's */
	bool holder;			/* on s->holders */
	bool attached;			/* it asked for the arena (the worker's): on s->holders */
	uint32_t owner;			/* the owner id it said (Identify) and slubd holds; 0: none */
	/* the pools it ever took a reference to (the worker's; reclaim --force asks) */
	aoff_t opened[SLUBD_CONN_OPENED];
	unsigned int nr_opened;
	bool opened_many;		/* more than SLUBD_CONN_OPENED: any pool, as far as we know */
	bool in_worker;			/* a request is with the worker: not read meanwhile */
	bool closed;			/* the loop is done with it; the worker's drop frees it */
	struct event *hello_ev;		/* hello_timeout from accept (absolute), until Hello */
	uint64_t serial;		/* accept order: the oldest waiting Hello goes first */
	uint64_t since_ms;		/* accepted then (CLOCK_MONOTONIC) */
};

/*
 * A job for the request worker: a decoded request of a connection, or the
 * dropping of a closed connection's references.  The loop queues it, the
 * worker runs it and posts it back (done list and a pipe), and the loop
 * sends the reply (or frees the closed connection).
 */
struct dispatch_scratch;
struct reply_plan {
	bool send_fd;
	bool close_after;
};
enum job_kind { JOB_REQUEST, JOB_DROP };
struct job {
	enum job_kind kind;
	struct conn *c;
	Slubd__Request *req;
	Slubd__Response resp;
	struct dispatch_scratch *scratch;
	struct reply_plan plan;
	uint64_t not_before_ms;		/* a drop that met a busy lock tries again then */
	bool done;			/* a drop: every reference dropped */
	struct job *next;
};

struct server {
	struct event_base *base;
	struct evconnlistener *listener;
	struct event *sig_term, *sig_int, *sig_hup;
	struct event *scrub_timer;
	struct event *scrub_tick;	/* every scrub_interval_s: processes that never connected */
	struct arena *arena;
	struct config cfg;
	struct conn *conns;		/* every open connection */
	struct conn keeper;		/* holds the references of kept pools (slubctl create) */
	unsigned int nr_conns;
	uint64_t accepted;		/* connections accepted so far (conn serials) */
	bool scrub_pending;		/* the timer is armed */
	bool socket_from_systemd;	/* socket activation: systemd owns the path */
	char arena_path[320];		/* where the arena lives ("" for a memfd) */
	/* store.c: the arena's backing, its owner's lock, the checked paths */
	int lock_fd;			/* our OFD lock on the arena, held for life, never sent */
	int sd_socket_fd;		/* the listening socket systemd passed; -1: none */
	int sock_dirfd;			/* the socket's checked directory; -1: none */
	bool in_fd_store;		/* a sealed memfd kept in systemd's fd store */
	/*
	 * The scrubber thread: slab_scrub() takes arena locks, and a client that
	 * is stopped (not dead) while holding one would otherwise stall the
	 * event loop.  scrub_lock protects scrub_wanted and stopping.
	 */
	pthread_t scrubber;
	bool scrubber_started;
	pthread_mutex_t scrub_lock;
	pthread_cond_t scrub_cond;
	bool scrub_wanted;
	bool stopping;
	/*
	 * The request worker: every request that touches the arena runs there,
	 * its lock attempts timed (slab_lock_deadline), so that the event loop
	 * never waits on a lock a client can hold.  work_lock protects the two
	 * lists and worker_stop; it is slubd's own and held only to move jobs.
	 * What the worker alone touches: every connection's refs, s->holders,
	 * s->keeper, s->pools.  The loop alone: s->conns and the bufferevents.
	 */
	pthread_t worker;
	bool worker_started;
	pthread_mutex_t work_lock;
	pthread_cond_t work_cond;
	struct job *waiting, *waiting_tail;	/* queued for the worker, in order */
	struct job *done, *done_tail;	/* back to the loop */
	bool worker_stop;
	bool worker_exited;		/* the worker left its loop (under work_lock) */
	int done_pipe[2];		/* the worker writes a byte when a job is done */
	struct event *done_ev;
	struct conn *holders;		/* connections that hold references (the worker's) */
	aoff_t pools[SLUB_MAX_CACHES];	/* the pools slubd last saw listed (the worker's) */
	unsigned int nr_pools;
	/* reports.c: reports_lock protects the three after it (see there) */
	pthread_mutex_t reports_lock;
	uint64_t reports_cursor;	/* the ring read up to here */
	uint64_t reports_window_ms;	/* the minute the line budget counts in */
	unsigned int reports_in_window;
	struct policy *policy;		/* policy.c: each pool's creator (the worker's) */
};

/* server.c */
int server_init(struct server *s, char *err, size_t errlen);
int server_run(struct server *s);
void server_fini(struct server *s);
void server_schedule_scrub(struct server *s);	/* scrubber.c */
void server_status(struct server *s);	/* sd_notify STATUS= */

/*
 * arena_file.c - the arena at start (store.c: adopted or made), with the
 * pool references slubd keeps, the owner ids it held, its pool record
 */
int open_arena(struct server *s, char *err, size_t errlen);

/* scrubber.c - the scrubber thread and the timers that wake it (see there) */
void *scrubber_main(void *arg);		/* the thread (s) */
void scrub_request(struct server *s);	/* one more scrub, soon */
void scrub_tick_arm(struct server *s);	/* (re)arm the scrub_interval_s tick */
void scrubber_events_new(struct server *s);
void scrubber_tell_stop(struct server *s);

/* worker.c - the request worker thread and its job lists (see there) */
void *worker_main(void *arg);		/* the thread (s) */
void job_queue(struct server *s, struct job *j);	/* the loop: hand j to the worker */
struct job *worker_take_done(struct server *s);	/* the loop: what the worker finished */
void worker_tell_stop(struct server *s);
void free_jobs(struct job *j);		/* a list no thread runs any more */
uint64_t monotonic_ms(void);		/* CLOCK_MONOTONIC in ms */

/* conn.c - the listening socket and the connections, on the loop (see there) */
int listen_socket(struct server *s, char *err, size_t errlen);
/* the loop is done with c: off s->conns, closed; drop_refs: its references to the worker */
void conn_free(struct conn *c, bool drop_refs);
void done_cb(evutil_socket_t fd, short what, void *arg);	/* the worker's done_pipe */
void access_again(struct server *s);	/* SIGHUP: each peer checked again */

/*
 * policy.c - who made each pool and which are the arena's own, kept by slubd
 * (and saved beside its socket), never read from the arena (see there)
 */
enum policy_verdict {
	POLICY_OK,		/* *creator: the uid slubd made it for */
	POLICY_SYSTEM,		/* one of the arena's own caches */
	POLICY_DISAGREES,	/* the arena's descriptor is not what slubd made (why) */
	POLICY_UNKNOWN,		/* slubd did not make it: no creator known */
	POLICY_NOT_CREATOR,	/* policy_may_manage: *creator made it, not the asker */
};
int policy_open(struct server *s);	/* the arena open, under guarded(); 0 or -errno */
void policy_fini(struct server *s);
/* [access]: may this peer use slubd at all (root, slubd's uid, allow_uids, allow_gids) */
bool policy_allows(const struct config *c, uid_t uid, gid_t gid, const gid_t *groups,
		   unsigned int nr_groups);
void policy_created(struct server *s, struct kmem_cache *k, const char *name, uint32_t uid);
bool policy_system(struct server *s, struct kmem_cache *k);
/* why: a text the answer can carry (a leading blank for POLICY_SYSTEM, or empty) */
enum policy_verdict policy_of(struct server *s, struct kmem_cache *k, uint32_t *creator,
			      char *why, size_t len);
/* may uid cap, force-destroy or reclaim k (named name)?  POLICY_OK: yes; else why not */
enum policy_verdict policy_may_manage(struct server *s, struct kmem_cache *k, const char *name,
				      uid_t uid, uint32_t *creator, char *why, size_t len);

/*
 * store.c - the arena's backing (a sealed memfd in systemd's fd store, or a
 * file), its lock, and safe paths; see the top of store.c.
 */
int store_take_fds(struct server *s, char *err, size_t errlen);	/* what systemd passed */
int store_open_dir(const char *dir, bool create, mode_t create_mode, char *err, size_t errlen);
const char *store_split(const char *path, char *dir, size_t len);	/* dir, and the last part */
int store_chmod_socket(struct server *s, mode_t mode);
int store_open_arena(struct server *s, char *err, size_t errlen);
void store_fini(struct server *s);

/*
 * guard.c - slubd's arena accesses, guarded against a file cut short (see
 * guard.c): fn(arg) runs with a SIGBUS in the arena turned into a restored
 * size (or, failing that, -EFAULT returned: an error for that request).
 */
int guard_init(void);
int guarded(struct server *s, void (*fn)(void *), void *arg);
/* the same before slubd has its arena: the file fd, its arena's size */
int guarded_fd(int fd, uint64_t size, void (*fn)(void *), void *arg);

/*
 * dispatch.c - answer one decoded request.  Fills resp (its body points
 * into *scratch, freed by dispatch_done) and says whether to pass the arena
 * fd with it and whether to close the connection after it.
 */

void dispatch(struct server *s, struct conn *c, const Slubd__Request *req, Slubd__Response *resp,
	      struct dispatch_scratch **scratch, struct reply_plan *plan);
void dispatch_done(struct dispatch_scratch *scratch);
/* drop c's references; false if a busy lock kept some (try again later) */
bool conn_drop_refs(struct server *s, struct conn *c);

/*
 * record_file_names - a record slubd saves beside its socket: file
 * NAME.KIND for the socket NAME.sock (else SOCKET.KIND), written as tmp
 */
void record_file_names(const char *sock, const char *kind, char *file, size_t flen, char *tmp,
		       size_t tlen);
/* where slubd's records are saved (the socket's checked directory), -1: nowhere */
int policy_dirfd(struct server *s);

/* held.c: the owner ids slubd holds alive for its clients' processes */
void held_adopt(struct server *s);	/* at start: what a previous slubd held (guarded) */
int held_identify(struct server *s, struct conn *c, uint32_t id, char *why, size_t len);
void held_drop(struct server *s, struct conn *c);	/* c closed (the worker's) */
void held_prune(struct server *s);	/* let go of those whose process is gone (guarded) */
void held_fini(void);
bool server_queue_drop(struct server *s, struct conn *c);	/* worker.c */
/* the worker's request deadline: no lock attempt of one request waits longer */
#define SLUBD_LOCK_WAIT_MS 750
/* guard.c: dispatch, conn_drop_refs, slab_scrub and arena_used_bytes through guarded() */
void guarded_dispatch(struct server *s, struct conn *c, const Slubd__Request *req,
		      Slubd__Response *resp, struct dispatch_scratch **scratch,
		      struct reply_plan *plan);
bool guarded_drop_refs(struct server *s, struct conn *c);	/* as conn_drop_refs */
int guarded_scrub(struct server *s, struct slab_scrub_result *r);
uint64_t guarded_used_bytes(struct server *s);
void guarded_arena_close(struct server *s);	/* and s->arena = NULL */
void guarded_set_owner_pid(struct server *s);	/* arena_set_owner_pid(getpid()) */

/*
 * reports.c - log the reports the arena's ring got since the last call, each
 * once, rate-limited (log false: only move past them, at start)
 */
void reports_log(struct server *s, bool log);

void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
