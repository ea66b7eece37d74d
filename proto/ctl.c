/*
 * ctl.c - the client side of the control protocol: connect, Hello, and
 * one call at a time (send a request frame, read its response frame with
 * recvmsg so that a descriptor passed with it is caught).
 */
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"

const char *ctl_default_socket(char *buf, size_t len)
{
	const char *env = getenv("SLUBD_SOCKET"), *xdg = getenv("XDG_RUNTIME_DIR");

	if (env && *env)
		snprintf(buf, len, "%s", env);
	else if (geteuid() == 0)
		snprintf(buf, len, "%s/%s", SLUBD_RUN_DIR, SLUBD_SOCKET_NAME);
	else if (xdg && *xdg)
		snprintf(buf, len, "%s/slubd/%s", xdg, SLUBD_SOCKET_NAME);
	else
		snprintf(buf, len, "/tmp/slubd-%u/%s", (unsigned)geteuid(), SLUBD_SOCKET_NAME);
	return buf;
}

const char *ctl_default_dir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (geteuid() == 0)
		snprintf(buf, len, "%s", SLUBD_RUN_DIR);
	else if (xdg && *xdg)
		snprintf(buf, len, "%s/slubd", xdg);
	else
		snprintf(buf, len, "/tmp/slubd-%u", (unsigned)geteuid());
	return buf;
}

bool ctl_arena_name_ok(const char *name)
{
	size_t n = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-");

	/*
	 * "slubd" is taken: slubd.sock is the default arena's socket; "default"
	 * names the default arena (ctl_target), never a NAME.sock
	 */
	return n >= 1 && n <= CTL_ARENA_NAME_MAX && !name[n] && strcmp(name, "slubd") != 0 &&
	       strcmp(name, "default") != 0;
}

void ctl_target_path(const char *path, struct ctl_target *t)
{
	const char *base = strrchr(path, '/');
	size_t n;

	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "%s", path);
	/* for the reader only: the name the file would have as a named arena's socket */
	base = base ? base + 1 : path;
	n = strlen(base);
	t->name_from = CTL_NAME_UNKNOWN;
	if (!strcmp(base, SLUBD_SOCKET_NAME)) {
		t->name_from = CTL_NAME_FROM_FILE;
	} else if (n > 5 && !strcmp(base + n - 5, ".sock") && n - 5 <= CTL_ARENA_NAME_MAX) {
		snprintf(t->arena, sizeof(t->arena), "%.*s", (int)(n - 5), base);
		if (ctl_arena_name_ok(t->arena))
			t->name_from = CTL_NAME_FROM_FILE;
		else
			t->arena[0] = 0;
	}
}

int ctl_target(const char *arg, struct ctl_target *t, char *err, size_t errlen)
{
	const char *sock = getenv("SLUBD_SOCKET"), *from = "";
	char dir[sizeof(t->path)];
	int n;

	if (sock && !*sock)
		sock = NULL;
	if (!arg && sock) {
		ctl_target_path(sock, t);
		return 0;
	}
	if (!arg) {
		arg = getenv("SLUBD_ARENA");
		from = " (from $SLUBD_ARENA)";
		if (arg && !*arg)
			arg = NULL;
	}
	if (arg && !strcmp(arg, "default")) {
		/* the default arena, by the name slubctl shows it with */
		if (sock) {
			ctl_target_path(sock, t);
			t->arena[0] = 0;
			t->name_from = CTL_NAME_GIVEN;
			return 0;
		}
		arg = NULL;
	}
	memset(t, 0, sizeof(*t));
	t->name_from = CTL_NAME_GIVEN;
	if (arg && strchr(arg, '/')) {
		ctl_target_path(arg, t);
		return 0;
	}
	if (arg && !ctl_arena_name_ok(arg)) {
		snprintf(err, errlen, "bad arena name '%s'%s: 1 to %d of a-z, 0-9, _ and -, not "
			 "\"slubd\" (\"default\" is the default arena; a socket path has a '/')", arg, from, CTL_ARENA_NAME_MAX);
		return -EINVAL;
	}
	/* the default socket's directory: that of $SLUBD_SOCKET, else the built-in one */
	if (sock) {
		const char *slash = strrchr(sock, '/');

		snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - sock) : 1, slash ? sock : ".");
	} else {
		ctl_default_dir(dir, sizeof(dir));
		t->builtin_dir = true;
	}
	if (arg) {
		snprintf(t->arena, sizeof(t->arena), "%s", arg);
		n = snprintf(t->path, sizeof(t->path), "%s/%s.sock", dir, arg);
	} else {
		n = snprintf(t->path, sizeof(t->path), "%s/%s", dir, SLUBD_SOCKET_NAME);
	}
	if (n < 0 || (size_t)n >= sizeof(t->path)) {
		snprintf(err, errlen, "the socket path %s/%s.sock is too long", dir, arg ? arg : "slubd");
		return -ENAMETOOLONG;
	}
	return 0;
}

/* slubd's user: $SLUBD_DAEMON_UID (a uid or a name), else the system user "slubd"; -1: none */
static long daemon_uid(char *how, size_t len)
{
	const char *env = getenv("SLUBD_DAEMON_UID");
	struct passwd *pw;

	if (env && *env) {
		char *end;
		unsigned long v = strtoul(env, &end, 10);

		snprintf(how, len, "$SLUBD_DAEMON_UID=%s", env);
		if (!*end && end != env)
			return (long)v;
		pw = getpwnam(env);
		return pw ? (long)pw->pw_uid : -1;
	}
	pw = getpwnam("slubd");
	snprintf(how, len, pw ? "the user slubd" : "no user slubd, no $SLUBD_DAEMON_UID");
	return pw ? (long)pw->pw_uid : -1;
}

static bool uid_trusted(uid_t uid, char *how, size_t len)
{
	long d = daemon_uid(how, len);

	return uid == 0 || uid == geteuid() || (d >= 0 && uid == (uid_t)d);
}

/* one directory above the socket's: 0, or -EPERM with the sentence in err */
static int check_above(const char *dir, const char *p, const struct stat *st, char *err,
		       size_t errlen)
{
	char how[96];

	if (S_ISLNK(st->st_mode)) {
		/* a link cannot be changed, only replaced by who may write its directory (checked) */
		if (uid_trusted(st->st_uid, how, sizeof(how)))
			return 0;
		snprintf(err, errlen, "refusing the socket directory %s: %s on its path is a symbolic "
			 "link of uid %u's, not of root's, yours (uid %u) or slubd's user's (%s): it "
			 "may lead anywhere; set XDG_RUNTIME_DIR or SLUBD_SOCKET to a path you trust",
			 dir, p, (unsigned)st->st_uid, (unsigned)geteuid(), how);
		return -EPERM;
	}
	if (!uid_trusted(st->st_uid, how, sizeof(how))) {
		snprintf(err, errlen, "refusing the socket directory %s: %s on its path belongs to uid "
			 "%u, not to root, to you (uid %u) or to slubd's user (%s), who could replace "
			 "what lies below it; set XDG_RUNTIME_DIR or SLUBD_SOCKET to a path you trust",
			 dir, p, (unsigned)st->st_uid, (unsigned)geteuid(), how);
		return -EPERM;
	}
	/* a sticky directory (/tmp): others may add names, not rename or remove ours */
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(st->st_mode & S_ISVTX)) {
		snprintf(err, errlen, "refusing the socket directory %s: %s on its path lets %s write "
			 "in it (mode %04o, no sticky bit), who could replace what lies below it with "
			 "a link to another slubd; chmod go-w %s, or set XDG_RUNTIME_DIR or "
			 "SLUBD_SOCKET to a path you trust", dir, p,
			 st->st_mode & S_IWOTH ? "every user" : "its group",
			 (unsigned)(st->st_mode & 07777), p);
		return -EPERM;
	}
	return 0;
}

/*
 * the directories above the socket's directory dir, as written (each
 * prefix, lstat: a link on the way is seen) and as they are (the prefixes
 * of its real path, where a link led): none may be replaced by a user we do
 * not trust, else what the checks below see is not what connect() reaches
 * (a link planted above leads a client into another, trusted, slubd's
 * arena, where others may attach)
 */
static int check_ancestors(const char *dir, char *err, size_t errlen)
{
	char abs[PATH_MAX], real[PATH_MAX], p[PATH_MAX];
	const char *walk[2] = { abs, real };
	struct stat st;
	int n;

	if (dir[0] == '/')
		n = snprintf(abs, sizeof(abs), "%s", dir);
	else
		n = getcwd(p, sizeof(p)) ? snprintf(abs, sizeof(abs), "%s/%s", p, dir) : -1;
	if (n < 0 || (size_t)n >= sizeof(abs) || !realpath(abs, real)) {
		snprintf(err, errlen, "cannot check the socket directory %s: %s", dir,
			 n < 0 || (size_t)n >= sizeof(abs) ? "path too long" : strerror(errno));
		return -EPERM;
	}
	for (int w = 0; w < 2; w++) {
		const char *path = walk[w];

		/* "/", then each prefix ending before a '/', up to (not with) dir itself */
		for (const char *q = path; q; q = strchr(q + 1, '/')) {
			size_t len = q == path ? 1 : (size_t)(q - path);
			int rc;

			snprintf(p, sizeof(p), "%.*s", (int)len, path);
			if (lstat(p, &st)) {
				snprintf(err, errlen, "cannot check the socket directory %s: %s: %s", dir,
					 p, strerror(errno));
				return -EPERM;
			}
			rc = check_above(dir, p, &st, err, errlen);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/*
 * the built-in default directory and the socket in it: ours to trust only
 * when no other user could have put them there (as ssh-agent and tmux check
 * theirs); lstat, so that a link planted in the directory's place is seen
 */
static int check_dir(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)], how[96];
	const char *slash = strrchr(path, '/');
	struct stat st;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
	if (lstat(dir, &st)) {
		int rc = -errno;

		snprintf(err, errlen, "cannot connect to slubd at %s: %s: %s", path, dir, strerror(errno));
		return rc;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "refusing the socket directory %s: it is a symbolic link, which "
			 "anyone who could write its parent may have planted; remove it (slubd makes "
			 "the directory itself), or name a socket you trust with SLUBD_SOCKET", dir);
		return -EPERM;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "refusing %s: %s is not a directory", path, dir);
		return -ENOTDIR;
	}
	if (!uid_trusted(st.st_uid, how, sizeof(how))) {
		snprintf(err, errlen, "refusing the socket directory %s: it belongs to uid %u, not to "
			 "root, to you (uid %u) or to slubd's user (%s): another user may have made it "
			 "to catch what you store; have it removed, or set SLUBD_SOCKET (or "
			 "SLUBD_DAEMON_UID) if you trust that user", dir, (unsigned)st.st_uid,
			 (unsigned)geteuid(), how);
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "refusing the socket directory %s: mode %04o lets %s write in it, "
			 "and so replace the socket; chmod go-w %s", dir, (unsigned)(st.st_mode & 07777),
			 st.st_mode & S_IWOTH ? "every user" : "its group", dir);
		return -EPERM;
	}
	{
		int bad = check_ancestors(dir, err, errlen);

		if (bad)
			return bad;
	}
	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "refusing the socket %s: it is a symbolic link (slubd makes a "
			 "socket, never a link); remove it", path);
		return -EPERM;
	}
	return 0;
}

/* the daemon answering: root, this user, or slubd's user, never another user's daemon */
static int check_peer(int fd, const char *path, char *err, size_t errlen)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	char how[96];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len)) {
		int rc = -errno;

		snprintf(err, errlen, "SO_PEERCRED on %s: %s", path, strerror(errno));
		return rc;
	}
	if (!uid_trusted(cr.uid, how, sizeof(how))) {
		snprintf(err, errlen, "refusing slubd at %s: it runs as uid %u (pid %d), neither root, "
			 "you (uid %u) nor slubd's user (%s), and whoever runs it could read all you "
			 "store; if it is meant to serve you, set SLUBD_DAEMON_UID=%u", path,
			 (unsigned)cr.uid, (int)cr.pid, (unsigned)geteuid(), how, (unsigned)cr.uid);
		return -EPERM;
	}
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* read exactly n bytes; keep the first descriptor that arrives with them */
static int read_all(int fd, uint8_t *p, size_t n, int *fd_out)
{
	while (n) {
		char cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { p, n };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
				     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
		ssize_t r = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ECONNRESET;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
				int got;

				memcpy(&got, CMSG_DATA(cm), sizeof(got));
				if (fd_out && *fd_out < 0)
					*fd_out = got;
				else
					close(got);
			}
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

int ctl_call(struct ctl_conn *c, Slubd__Request *req, Slubd__Response **resp, int *fd_out,
	     char *err, size_t errlen)
{
	uint8_t *buf, hdr[SLUBD_FRAME_HDR];
	size_t len;
	uint32_t n;
	int rc;

	if (fd_out)
		*fd_out = -1;
	if (c->fd < 0) {
		snprintf(err, errlen, "not connected to slubd");
		return -ENOTCONN;
	}
	req->id = ++c->next_id;
	rc = frame_pack(&req->base, &buf, &len);
	if (rc) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	rc = write_all(c->fd, buf, len);
	free(buf);
	if (rc == 0) {
		rc = read_all(c->fd, hdr, sizeof(hdr), fd_out);
	} else if (rc == -EPIPE || rc == -ECONNRESET) {
		/* slubd closed: what it said before closing is still there to read */
		int wrc = rc;

		rc = read_all(c->fd, hdr, sizeof(hdr), fd_out);
		if (rc)
			rc = wrc;
	}
	if (rc) {
		snprintf(err, errlen, "slubd connection: %s", strerror(-rc));
		goto fail;
	}
	rc = frame_length(hdr, SLUBD_MAX_RESPONSE, &n);
	if (rc) {
		snprintf(err, errlen, "slubd sent a frame of a bad length");
		goto fail;
	}
	buf = malloc(n);
	if (!buf) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	rc = read_all(c->fd, buf, n, fd_out);
	if (rc == 0) {
		*resp = response_decode(buf, n, err, errlen);
		if (!*resp)
			rc = -EBADMSG;
		else if ((*resp)->id == 0 && (*resp)->has_err && (*resp)->err > 0) {
			/* no answer to req: slubd's word on the connection, before it closes it */
			snprintf(err, errlen, "slubd refused: %s",
				 (*resp)->error && *(*resp)->error ? (*resp)->error : strerror((*resp)->err));
			rc = -(*resp)->err;
			if (rc == -EBADMSG || rc == -EPIPE || rc == -ECONNRESET || rc == -ENOTCONN)
				rc = -EPROTO;	/* not a broken connection: ours was refused */
			slubd__response__free_unpacked(*resp, NULL);
		} else if ((*resp)->id != req->id) {
			snprintf(err, errlen, "slubd answered request %u, expected %u", (*resp)->id, req->id);
			slubd__response__free_unpacked(*resp, NULL);
			rc = -EPROTO;
		}
	} else {
		snprintf(err, errlen, "slubd connection: %s", strerror(-rc));
	}
	free(buf);
	if (rc == 0)
		return 0;
fail:
	if (fd_out && *fd_out >= 0) {
		close(*fd_out);
		*fd_out = -1;
	}
	ctl_close(c);
	return rc;
}

int ctl_connect(struct ctl_conn *c, const char *path, const char *who, char *err, size_t errlen)
{
	struct ctl_target t;
	int rc;

	c->fd = -1;
	c->next_id = 0;
	rc = ctl_target(path, &t, err, errlen);
	return rc ? rc : ctl_connect_target(c, &t, who, err, errlen);
}

/*
 * connect() said EACCES: who the socket admits (its owner and group, by its
 * mode) and what to do, or that a directory on its path is closed to us
 */
static void access_denied(const char *path, char *err, size_t errlen)
{
	struct stat st;
	struct passwd *pw;
	struct group *gr;
	char owner[64], group[64];

	if (stat(path, &st)) {
		snprintf(err, errlen, "cannot connect to slubd at %s: Permission denied: a directory "
			 "on its path is closed to uid %u; ask slubd's administrator, or run slubd "
			 "of your own (a user's slubd serves $XDG_RUNTIME_DIR/slubd/slubd.sock)", path,
			 (unsigned)geteuid());
		return;
	}
	pw = getpwuid(st.st_uid);
	gr = getgrgid(st.st_gid);
	if (pw)
		snprintf(owner, sizeof(owner), "%s", pw->pw_name);
	else
		snprintf(owner, sizeof(owner), "uid %u", (unsigned)st.st_uid);
	if (gr)
		snprintf(group, sizeof(group), "%s", gr->gr_name);
	else
		snprintf(group, sizeof(group), "%u", (unsigned)st.st_gid);
	if (st.st_mode & 0020)
		snprintf(err, errlen, "cannot connect to slubd at %s: Permission denied: the socket "
			 "(owner %s, group %s, mode %04o) admits its owner and the members of its "
			 "group; to be let in, join the group (sudo usermod -aG %s USER, then log in "
			 "again), or ask slubd's administrator (socket_mode, allow_uids and allow_gids "
			 "in [access] of slubd's configuration)", path, owner, group,
			 (unsigned)(st.st_mode & 07777), group);
	else
		snprintf(err, errlen, "cannot connect to slubd at %s: Permission denied: the socket "
			 "(owner %s, mode %04o) admits its owner only; ask slubd's administrator to "
			 "open it to a group of yours (socket_mode = 0660 and allow_gids in [access] of "
			 "slubd's configuration)", path, owner, (unsigned)(st.st_mode & 07777));
}

int ctl_connect_target(struct ctl_conn *c, const struct ctl_target *t, const char *who, char *err,
		       size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = t->path;
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__Hello hello = SLUBD__HELLO__INIT;
	Slubd__Response *resp;
	int rc;

	c->fd = -1;
	c->next_id = 0;
	if (t->builtin_dir) {
		rc = check_dir(path, err, errlen);
		if (rc)
			return rc;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return rc;
	}
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		rc = -errno;
		if (rc == -EACCES)
			access_denied(path, err, errlen);
		else
			snprintf(err, errlen, "cannot connect to slubd at %s: %s", path, strerror(errno));
		ctl_close(c);
		return rc;
	}
	rc = check_peer(c->fd, path, err, errlen);
	if (rc) {
		ctl_close(c);
		return rc;
	}
	hello.version = SLUBD_PROTOCOL_VERSION;
	hello.client = (char *)(who ? who : "libslub");
	req.body_case = SLUBD__REQUEST__BODY_HELLO;
	req.hello = &hello;
	rc = ctl_call(c, &req, &resp, NULL, err, errlen);
	if (rc)
		return rc;
	if (resp->err) {
		rc = -resp->err;
		snprintf(err, errlen, "slubd refused: %s", resp->error ? resp->error : strerror(resp->err));
		slubd__response__free_unpacked(resp, NULL);
		ctl_close(c);
		return rc;
	}
	c->server_version = resp->body_case == SLUBD__RESPONSE__BODY_HELLO ? resp->hello->version : 0;
	slubd__response__free_unpacked(resp, NULL);
	return 0;
}

void ctl_close(struct ctl_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
