/*
 * slubd.h - the daemon's parts: configuration (config.c), connections and
 * the event loop (server.c), request handling (dispatch.c), main (main.c).
 */
#ifndef SLUBD_SLUBD_H
#define SLUBD_SLUBD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "frame.h"
#include "shm.h"

#define MAX_ALLOW 64

struct config {
	char socket[108];		/* listening socket path */
	uint64_t arena_size;
	enum arena_huge huge;
	bool foreground;
	unsigned int socket_mode;	/* chmod of the socket */
	uid_t allow_uids[MAX_ALLOW];
	unsigned int nr_allow_uids;
	gid_t allow_gids[MAX_ALLOW];
	unsigned int nr_allow_gids;
	unsigned int max_clients;
	unsigned int max_refs;		/* pool references per connection */
	unsigned int max_caches;	/* pools (not counting the arena's own caches) */
	unsigned int hello_timeout_ms;	/* a connection that sends no Hello is closed */
	unsigned int scrub_interval_s;	/* periodic scrub; 0: only when a client leaves */
	char arena_file[256];		/* the arena's backing file; "" for the default */
	char arena_name[33];		/* "": the default arena; else the NAME of its
					 * [arena NAME] section (one slubd serves it) */
	char config_file[256];
	bool supervised;		/* one server of the supervisor's (tenants.c): it,
					 * not this process, says READY=1 and STOPPING=1 */
	int ready_fd;			/* supervised: one byte written here once serving */
};

#define SLUBD_ARENA_NAME_MAX	32	/* [arena NAME]: a-z 0-9 _ -, not "slubd", "default" */
#define SLUBD_MAX_ARENAS	64	/* named arenas in one config file */

/* config.c */
void config_defaults(struct config *c);
int config_load(struct config *c, const char *path, char *err, size_t errlen);
int parse_size(const char *s, uint64_t *out);
int parse_huge(const char *s, enum arena_huge *out);
bool config_arena_name_ok(const char *name);
int config_arena_names(const char *path, char (*names)[SLUBD_ARENA_NAME_MAX + 1], int max,
		       char *err, size_t errlen);

/* tenants.c: the supervisor of one slubd per arena, when the config names arenas */
int tenants_run(const struct config *dflt, const char *config_file,
		char (*names)[SLUBD_ARENA_NAME_MAX + 1], int nr);
int serve(struct config *cfg);	/* main.c: one arena's slubd, to its end; the exit code */
/* main.c: fork into the background; the parent exits 0 once a byte comes on the fd returned */
int go_background(void);

/*
 * A connection's life: HELLO (only a Hello is accepted) -> READY -> CLOSING
 * (a reply is being flushed before close; nothing more is read).
 */
enum conn_state { CONN_HELLO, CONN_READY, CONN_CLOSING };

struct conn_ref {
	aoff_t cache;			/* offset of the pool's descriptor */
	uint32_t count;			/* references this connection holds */
};

struct conn {
	struct server *srv;
	struct bufferevent *bev;
	enum conn_state state;
	pid_t pid;			/* SO_PEERCRED, at connect */
	uid_t uid;
	gid_t gid;
	bool allowed;			/* the policy lets this peer attach (at connect) */
	struct conn_ref *refs;
	unsigned int nr_refs;
	uint64_t requests;
	char who[SLUBD_MAX_CLIENT_TEXT + 1];
	struct conn *next, *prev;
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
	bool scrub_pending;		/* the timer is armed */
	bool socket_from_systemd;	/* socket activation: systemd owns the path */
	char arena_path[320];		/* where the arena lives ("" for a memfd) */
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
};

/* server.c */
int server_init(struct server *s, char *err, size_t errlen);
int server_run(struct server *s);
void server_fini(struct server *s);
void server_schedule_scrub(struct server *s);
bool policy_allows(const struct config *c, uid_t uid, gid_t gid, const gid_t *groups,
		   unsigned int nr_groups);
void server_status(struct server *s);	/* sd_notify STATUS= */

/*
 * dispatch.c - answer one decoded request.  Fills resp (its body points
 * into *scratch, freed by dispatch_done) and says whether to pass the arena
 * fd with it and whether to close the connection after it.
 */
struct dispatch_scratch;
struct reply_plan {
	bool send_fd;
	bool close_after;
};
void dispatch(struct server *s, struct conn *c, const Slubd__Request *req, Slubd__Response *resp,
	      struct dispatch_scratch **scratch, struct reply_plan *plan);
void dispatch_done(struct dispatch_scratch *scratch);
void conn_drop_refs(struct server *s, struct conn *c);

void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
