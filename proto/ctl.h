/*
 * ctl.h - a blocking client connection to slubd's control socket, used by
 * libslub and slubctl (slubd itself takes only ctl_default_socket, the one
 * rule for the default path).  The protocol's client half, in proto/ so that
 * slubd links nothing from client/.  0 or -errno; a sentence in err on failure.
 */
#ifndef PROTO_CTL_H
#define PROTO_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frame.h"

struct ctl_conn {
	int fd;			/* -1: not connected */
	uint32_t next_id;
	uint32_t server_version;
};

/*
 * ctl_default_socket - $SLUBD_SOCKET if set; else for root
 * /run/slubd/slubd.sock; else $XDG_RUNTIME_DIR/slubd/slubd.sock; else
 * /tmp/slubd-UID/slubd.sock.  The same rule slubd uses for its default.
 */
const char *ctl_default_socket(char *buf, size_t len);
/* the built-in default directory: /run/slubd, $XDG_RUNTIME_DIR/slubd or /tmp/slubd-UID */
const char *ctl_default_dir(char *buf, size_t len);

#define CTL_ARENA_NAME_MAX 32	/* an arena's name: 1 to 32 of a-z 0-9 _ - */

/* what a client connects to */
struct ctl_target {
	char path[108];			/* the socket */
	char arena[CTL_ARENA_NAME_MAX + 1];	/* the arena's name; "" the default one */
	enum { CTL_NAME_GIVEN, CTL_NAME_FROM_FILE, CTL_NAME_UNKNOWN } name_from;
					/* given (a name, $SLUBD_ARENA, the default), read
					 * from a socket path's file name (NAME.sock, and
					 * slubd.sock for the default), or unknown */
	bool builtin_dir;		/* in the built-in default directory: checked (below) */
};

/*
 * ctl_target - where arg leads.  arg NULL: $SLUBD_SOCKET if set, else the
 * arena $SLUBD_ARENA names if set, else the default arena.  "default" is the
 * default arena ($SLUBD_SOCKET if set, else slubd.sock in the built-in
 * directory).  An arg without
 * '/' is an arena's name: NAME.sock in the default socket's directory (that
 * of $SLUBD_SOCKET when set, else the built-in one); else arg is a socket
 * path.  0, or -EINVAL (a bad name) with a sentence in err.
 */
int ctl_target(const char *arg, struct ctl_target *t, char *err, size_t errlen);
/* a socket path, whatever its form (slubctl -s): its arena guessed from the file name */
void ctl_target_path(const char *path, struct ctl_target *t);
bool ctl_arena_name_ok(const char *name);

/*
 * ctl_connect_target - connect to t and exchange Hello.  Whom a client
 * trusts (a sentence in err and -EPERM otherwise, saying what to fix):
 *  - a socket in the built-in default directory: that directory must not be
 *    a symbolic link, must belong to root, to this user or to slubd's user,
 *    and be writable by its owner only; the socket must not be a link; each
 *    directory above it (as written, and as resolved) must belong to root,
 *    this user or slubd's user, a link on the way too, and be writable by
 *    others only if sticky (/tmp): else a link planted above could lead to
 *    another, trusted, slubd;
 *  - every socket: the peer (SO_PEERCRED) must run as root, as this user or
 *    as slubd's user: $SLUBD_DAEMON_UID (a uid or a user name) if set, else
 *    the system user "slubd" if there is one.
 */
int ctl_connect_target(struct ctl_conn *c, const struct ctl_target *t, const char *who, char *err,
		       size_t errlen);
/* ctl_connect_target(ctl_target(path)): path NULL, an arena's name, or a socket path */
int ctl_connect(struct ctl_conn *c, const char *path, const char *who, char *err, size_t errlen);
/*
 * ctl_call - send req (its id is filled in), wait for its response.  If
 * fd_out is not NULL, a descriptor passed with the response is stored there
 * (else -1).  The response's own err is not turned into a return value:
 * look at (*resp)->err.  Free with slubd__response__free_unpacked().
 * A response of id 0 with an error is slubd refusing the connection itself
 * (a malformed frame; slubd then closes it): -err (-EPROTO where err would
 * read as a broken connection), its text in err.  A response that came
 * before slubd closed is read even when sending req found the peer gone.
 */
int ctl_call(struct ctl_conn *c, Slubd__Request *req, Slubd__Response **resp, int *fd_out,
	     char *err, size_t errlen);
void ctl_close(struct ctl_conn *c);

#endif
