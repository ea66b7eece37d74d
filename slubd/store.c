/*
 * store.c - where the arena lives, who owns it, and the paths to it.
 *
 * Backing.  Under systemd (NOTIFY_SOCKET set) and with no [arena] file, the
 * arena is a memfd sealed against shrinking and growing (shm/arena.c): no
 * attached process can cut it short.  slubd hands it to the service
 * manager's file descriptor store (FDSTORE=1, FDNAME=arena, or arena-NAME
 * for a named arena) and takes it back at its next start from
 * sd_listen_fds_with_names(), checked (a memfd, sealed, a valid header):
 * a restart keeps the pools.  systemd 252 (Debian 12) empties the store
 * when the service stops (a restart keeps it, a stop drops it).  Elsewhere
 * the arena is --arena-file, else as default_arena() says (a file on a
 * hugetlbfs mount, an earlier slubd.arena, a memfd of huge pages, or
 * slubd.arena next to the socket on tmpfs: on a disk it is refused).  A
 * file outlives slubd; every attached process holds it writable, and
 * guard.c keeps slubd alive when one cuts it short.
 *
 * One owner.  slubd takes an exclusive OFD lock (F_OFD_SETLK, F_WRLCK) on
 * its own open file description of the arena, for its whole life: an fd it
 * never sends (lock_fd).  Clients get another description of the same file
 * (the fd the arena is mapped through), so a client that outlives slubd
 * holds no lock, and the next slubd takes it.  Under systemd lock_fd is the
 * one in the fd store: while slubd is down the store holds the lock, and
 * the next slubd gets that same description back.  A supervised server
 * (tenants.c) hands that same description to its supervisor too, for the
 * server it restarts after a crash: it holds the lock while no server runs,
 * as the store does, and the successor, given the same description, takes
 * the lock again (an OFD lock never conflicts with its own description;
 * no other process can reach the memfd).  OFD locks report no pid,
 * so the owner writes its pid into the arena header, and a second slubd
 * names it in its refusal.
 *
 * Paths.  A directory slubd uses (the socket's, the arena file's) is opened
 * O_DIRECTORY|O_NOFOLLOW and must belong to slubd's user (or to root) and
 * be writable by nobody else, as ssh-agent and tmux require: a /tmp/slubd-UID
 * that another user made, or can write, is refused.  A directory slubd
 * makes is made 0700 (0711 when the socket is open to others, so that they
 * can reach it, not list or change it).  The arena file is opened with
 * openat() in that directory, O_NOFOLLOW, and O_CREAT|O_EXCL when new, and
 * must be a regular file of slubd's user, closed to group and others, with
 * one link.  The socket gets its mode from the umask at bind(), and a later
 * change (SIGHUP) is fchmodat() in the checked directory: nothing is
 * chmod()ed through a link.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "slubd.h"

#define MAX_STORED 64
#define FDNAME_MAX 256		/* systemd's limit on an FDNAME */

/* what systemd passed at start (sd_listen_fds_with_names): the arenas by name */
static struct {
	int fd;
	char name[FDNAME_MAX];
} stored[MAX_STORED];
static unsigned int nr_stored;

/* the fd store's name for this slubd's arena */
static void fdname(const struct server *s, char *out, size_t len)
{
	if (s->cfg.arena_name[0])
		snprintf(out, len, "arena-%s", s->cfg.arena_name);
	else
		snprintf(out, len, "arena");
}

int store_take_fds(struct server *s, char *err, size_t errlen)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(1, &names), sockets = 0, rc = 0;

	s->sd_socket_fd = -1;
	if (n < 0) {
		snprintf(err, errlen, "the descriptors systemd passed cannot be read: %s",
			 strerror(-n));
		return n;
	}
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		const char *name = names && names[i] ? names[i] : "unknown";

		fcntl(fd, F_SETFD, FD_CLOEXEC);
		if (!strcmp(name, "arena") || !strncmp(name, "arena-", 6)) {
			if (nr_stored < MAX_STORED) {
				stored[nr_stored].fd = fd;
				snprintf(stored[nr_stored].name, sizeof(stored[0].name), "%s", name);
				nr_stored++;
			}
		} else if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) > 0) {
			sockets++;
			s->sd_socket_fd = fd;
		} else {
			log_msg("systemd passed descriptor %d (%s), neither a listening UNIX stream "
				"socket nor a stored arena: not used", fd, name);
		}
	}
	if (sockets > 1) {
		snprintf(err, errlen, "systemd passed %d listening sockets: slubd takes one", sockets);
		rc = -EINVAL;
	}
	if (names)
		for (int i = 0; i < n; i++)
			free(names[i]);
	free(names);
	return rc;
}

/* the stored arena of that fd store name, taken (-1: none) */
static int take_stored(const char *name)
{
	for (unsigned int i = 0; i < nr_stored; i++)
		if (stored[i].fd >= 0 && !strcmp(stored[i].name, name)) {
			int fd = stored[i].fd;

			stored[i].fd = -1;
			return fd;
		}
	return -1;
}

/* ---- directories ------------------------------------------------------------- */

int store_open_dir(const char *dir, bool create, mode_t create_mode, char *err, size_t errlen)
{
	bool made = false;
	struct stat st;
	int fd;

	if (create) {
		if (mkdir(dir, 0700) == 0)
			made = true;
		else if (errno != EEXIST) {
			/* a parent may be missing too ($XDG_RUNTIME_DIR/slubd) */
			snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
			return -errno;
		}
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		if (e == ELOOP || e == ENOTDIR)
			snprintf(err, errlen, "%s is a symbolic link or not a directory: refusing to "
				 "use it (slubd follows no link to its socket or arena)", dir);
		else
			snprintf(err, errlen, "cannot open the directory %s: %s", dir, strerror(e));
		return -e;
	}
	if (fstat(fd, &st)) {
		int e = errno;

		snprintf(err, errlen, "cannot stat %s: %s", dir, strerror(e));
		close(fd);
		return -e;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, errlen, "%s belongs to uid %u, not to slubd's user (uid %u) nor root: "
			 "refusing to use it (another user may have made it to catch slubd's "
			 "arena; remove it, or choose another --socket)", dir, (unsigned)st.st_uid,
			 (unsigned)geteuid());
		close(fd);
		return -EPERM;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s is writable by %s (mode %04o): refusing to use it (anyone "
			 "who can write there can replace slubd's socket or arena; make it 0700 or "
			 "0711)", dir, st.st_mode & S_IWOTH ? "others" : "its group",
			 (unsigned)(st.st_mode & 07777));
		close(fd);
		return -EPERM;
	}
	if (made && create_mode != 0700 && fchmod(fd, create_mode)) {
		int e = errno;

		snprintf(err, errlen, "cannot set the mode of %s: %s", dir, strerror(e));
		close(fd);
		return -e;
	}
	return fd;
}

/* split path into its directory (into dir) and its last part (returned) */
const char *store_split(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');

	if (!slash) {
		snprintf(dir, len, ".");
		return path;
	}
	if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
	return slash + 1;
}

int store_chmod_socket(struct server *s, mode_t mode)
{
	char dir[sizeof(s->cfg.socket)];
	const char *name = store_split(s->cfg.socket, dir, sizeof(dir));
	struct stat st;

	if (s->sock_dirfd < 0)
		return -EBADF;
	if (fstatat(s->sock_dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	return fchmodat(s->sock_dirfd, name, mode, 0) ? -errno : 0;
}

/* ---- the arena file ------------------------------------------------------------ */

/*
 * open (or make, *created) the arena file name in the checked directory dirfd;
 * shown is its path, for messages.  Returns the fd or -errno.
 */
static int open_arena_file(int dirfd, const char *name, const char *shown, bool *created,
			   char *err, size_t errlen)
{
	struct stat st;
	int fd = -1;

	*created = false;
	for (int tries = 0; fd < 0 && tries < 3; tries++) {
		fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;
		fd = openat(dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			*created = true;
		else if (errno != EEXIST)
			break;
	}
	if (fd < 0) {
		int e = errno;

		if (e == ELOOP)
			snprintf(err, errlen, "the arena file %s is a symbolic link: refusing to "
				 "follow it", shown);
		else
			snprintf(err, errlen, "cannot open the arena file %s: %s", shown, strerror(e));
		return -e;
	}
	if (fstat(fd, &st)) {
		int e = errno;

		snprintf(err, errlen, "cannot stat the arena file %s: %s", shown, strerror(e));
		close(fd);
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "the arena file %s is not a regular file: refusing it", shown);
		close(fd);
		return -EINVAL;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "the arena file %s belongs to uid %u, not to slubd's user "
			 "(uid %u): refusing it (an arena planted by another user would hand your "
			 "clients' objects to that user)", shown, (unsigned)st.st_uid,
			 (unsigned)geteuid());
		close(fd);
		return -EPERM;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "the arena file %s is open to %s (mode %04o): refusing it "
			 "(an arena is its user's alone: chmod 600 it if it is yours)", shown,
			 st.st_mode & 07 ? "others" : "its group", (unsigned)(st.st_mode & 07777));
		close(fd);
		return -EPERM;
	}
	if (st.st_nlink != 1) {
		snprintf(err, errlen, "the arena file %s has %lu links: refusing it (a second name "
			 "may be another user's)", shown, (unsigned long)st.st_nlink);
		close(fd);
		return -EPERM;
	}
	return fd;
}

/* another open file description of fd's file: the one clients get */
static int reopen(int fd, int dirfd, const char *name)
{
	char proc[64];
	struct stat a, b;
	int nfd;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	nfd = open(proc, O_RDWR | O_CLOEXEC);
	if (nfd < 0 && dirfd >= 0)	/* no /proc: by its name, in the checked directory */
		nfd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (nfd < 0 && dirfd < 0) {
		/* a memfd, and no /proc: the same description (clients share the lock) */
		log_msg("cannot open the arena memfd again (%s): clients get the description "
			"that holds its lock", strerror(errno));
		nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	}
	if (nfd < 0)
		return -errno;
	if (fstat(fd, &a) || fstat(nfd, &b) || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		close(nfd);
		return -ESTALE;
	}
	return nfd;
}

/* is pid a process that runs (a pid recorded by a slubd that is gone: no) */
static bool alive(pid_t pid)
{
	return pid > 0 && pid != getpid() && (kill(pid, 0) == 0 || errno == EPERM);
}

/* the pid recorded in the arena header of dirfd/name (a file arena), 0: none */
static pid_t file_owner_pid(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	pid_t pid;

	if (fd < 0)
		return 0;
	pid = arena_owner_pid(fd);
	close(fd);
	return pid;
}

/*
 * lock - slubd's exclusive OFD lock on fd, for its life.  Refused: another
 * slubd holds it; the message names it by the pid it recorded in the arena
 * header (read from pid_fd, or from dirfd/name when pid_fd is -1).  A slubd
 * still formatting a new arena, or one that took the lock and has not yet
 * written its pid over its predecessor's, is waited for (2 s): a pid that
 * names no running process is not the holder.
 */
static int lock(int fd, int pid_fd, int dirfd, const char *name, const char *shown, char *err,
		size_t errlen)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	pid_t holder = 0;

	if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
		return 0;
	if (errno != EAGAIN && errno != EACCES) {
		int e = errno;

		snprintf(err, errlen, "cannot lock the arena %s: %s", shown, strerror(e));
		return -e;
	}
	for (int i = 0; i < 40; i++) {
		holder = pid_fd >= 0 ? arena_owner_pid(pid_fd) :
			 dirfd >= 0 ? file_owner_pid(dirfd, name) : 0;
		if (alive(holder))
			break;
		usleep(50 * 1000);
	}
	if (alive(holder))
		snprintf(err, errlen, "the arena %s is in use: held by slubd pid %d (one slubd per "
			 "arena: stop that one first, or give this one another arena)", shown,
			 (int)holder);
	else
		snprintf(err, errlen, "the arena %s is in use: held by another process that "
			 "recorded no pid%s (one slubd per arena)", shown,
			 holder > 0 ? " (the pid in the arena, of a slubd that is gone, is not it)" :
			 "");
	return -EBUSY;
}

/* loudly: an arena found on disk is adopted, with its pools */
static void say_adopted(struct server *s, const char *where, pid_t prev, int pools)
{
	uint64_t made = arena_created_ns(s->arena) / 1000000000ULL, now = (uint64_t)time(NULL);
	uint64_t age = now > made ? now - made : 0;
	char when[32];
	time_t t = (time_t)made;
	struct tm tm;

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", localtime_r(&t, &tm));
	log_msg("adopted an existing arena: %s, made %s (%llu d %02llu:%02llu:%02llu ago), "
		"%llu MiB %s, last owned by slubd pid %d, %d pools",
		where, when, (unsigned long long)(age / 86400),
		(unsigned long long)(age / 3600 % 24), (unsigned long long)(age / 60 % 60),
		(unsigned long long)(age % 60), (unsigned long long)(arena_size(s->arena) >> 20),
		arena_backing_name(s->arena), (int)prev, pools);
	if (!strncmp(where, "/tmp/", 5) || !strncmp(where, "/var/tmp/", 9))
		log_msg("NOTE: that arena lies in a world-writable tree (%s): it was checked (owner "
			"uid %u, mode 0600, one link, its directory ours and closed to others); "
			"remove it, slubd stopped, to start afresh", where, (unsigned)geteuid());
	if (arena_size(s->arena) != s->cfg.arena_size)
		log_msg("the arena has %llu MiB; the configured size (%llu MiB) applies to a new "
			"arena", (unsigned long long)(arena_size(s->arena) >> 20),
			(unsigned long long)(s->cfg.arena_size >> 20));
}

/* adopt's work, under a guard: a client may cut the file while it runs */
struct adopt_args {
	struct server *s;
	int fd;
	bool file;
	char msg[256];
	int rc, pools;
};

#define ADOPT_TRIES 20

static void adopt_fn(void *arg)
{
	struct adopt_args *x = arg;
	uint64_t was, size;

	for (int i = 0; i < ADOPT_TRIES; i++) {
		/* a file cut since it was checked: put back, and opened again */
		if (x->file && i > 0)
			arena_fix_size(x->fd, &was, &size);
		x->rc = arena_open(x->fd, &x->s->arena, x->msg, sizeof(x->msg));
		if (!x->rc || !x->file || !strstr(x->msg, "does not match its file"))
			break;
	}
}

/* then, with the arena mapped, under guarded(): a page lost for good is patched */
static void adopt_pools_fn(void *arg)
{
	struct adopt_args *x = arg;

	arena_set_owner_pid(x->s->arena, getpid());
	x->pools = slab_adopt(x->s->arena);
}

/*
 * map the arena whose locked description is lock_fd (or, for a file, a
 * description never sent), through a description of its own
 */
static int adopt(struct server *s, int lock_fd, int dirfd, const char *name, const char *shown,
		 char *err, size_t errlen)
{
	struct adopt_args *x = calloc(1, sizeof(*x));
	pid_t prev = arena_owner_pid(lock_fd);
	int fd = reopen(lock_fd, dirfd, name), rc;
	uint64_t was = 0, size = 0;
	struct stat st;

	if (fd < 0 || !x) {
		snprintf(err, errlen, "cannot open the arena %s again: %s", shown,
			 fd < 0 ? strerror(-fd) : "out of memory");
		if (fd >= 0)
			close(fd);
		free(x);
		return fd < 0 ? fd : -ENOMEM;
	}
	x->s = s;
	x->fd = fd;
	x->file = dirfd >= 0;
	/* the size the guard restores: the header's (a file), the memfd's (sealed) */
	if (arena_fix_size(fd, &was, &size) < 0)
		size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	rc = guarded_fd(fd, size, adopt_fn, x);
	close(fd);
	if (!rc && !x->rc)
		rc = guarded(s, adopt_pools_fn, x);
	if (rc) {
		snprintf(err, errlen, "the arena %s was cut while slubd adopted it, and its size "
			 "cannot be restored", shown);
	} else if (x->rc) {
		rc = x->rc;
		snprintf(err, errlen, "arena %s: %s; move it away to start a new arena", shown,
			 x->msg);
	} else {
		say_adopted(s, shown, prev, x->pools);
	}
	free(x);
	return rc;
}

/*
 * the first hugetlbfs mount of 2 MiB pages that slubd's user can write in,
 * from /proc/self/mountinfo (field 5 the mount point, after " - " the type
 * and the super options, pagesize=2M among them); a mount point with a
 * character mountinfo escapes (a blank, \040) is passed over
 */
static bool hugetlbfs_mount(char *out, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[1024], dir[200], type[64], opts[512];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %199s", dir) != 1 ||
		    sscanf(sep + 3, "%63s %*s %511s", type, opts) != 2)
			continue;
		if (!strcmp(type, "hugetlbfs") && !strchr(dir, '\\') &&
		    strstr(opts, "pagesize=2M") && access(dir, W_OK | X_OK) == 0) {
			snprintf(out, len, "%s", dir);
			found = true;
		}
	}
	fclose(f);
	return found;
}

/*
 * the file system of the directory dirfd, named into fs; true: its files
 * live in memory (tmpfs, ramfs, hugetlbfs), false: on a disk (or unknown)
 */
static bool dir_in_memory(int dirfd, char *fs, size_t len)
{
	struct statfs sf;
	char buf[64];
	bool memory = false;

	if (fstatfs(dirfd, &sf)) {
		snprintf(fs, len, "an unknown file system (%s)", strerror(errno));
		return false;
	}
	snprintf(fs, len, "%s", os_fs_name((long)sf.f_type, &memory, buf, sizeof(buf)));
	return memory;
}

/*
 * the arena file's OFD lock, taken too when it can be (kept for slubd's life,
 * closed by store_fini): it refuses a second slubd that reaches the same file
 * by another path (a bind mount), which the lock file cannot see
 */
static int arena_lock_fd = -1;

/*
 * the arena in a file: dir/name, checked, locked, then adopted or made.
 *
 * slubd's lock is on a file of its own beside the arena, NAME.lock (made
 * 0600 in the checked directory, O_NOFOLLOW, the same checks as the arena
 * file), taken before the arena file is even opened: no client ever gets
 * an fd of it, so none can lock it (every attached process holds the arena
 * file writable and could take an OFD lock or a flock on it once slubd is
 * gone, which blocked the next slubd), and two slubds starting at once
 * cannot both make, or one make and one adopt half-made, the same arena.
 * The arena file's own lock is taken as well: refused, with no running
 * slubd recorded in the arena (waited for 2 s), the holder is a process
 * that kept its fd from the last slubd: said and ignored.
 */
static int file_arena(struct server *s, const char *dir, const char *name, bool dflt,
		      char *err, size_t errlen)
{
	struct arena_opts o = { .size = s->cfg.arena_size, .huge = s->cfg.huge };
	char shown[sizeof(s->arena_path)], lname[300], lshown[sizeof(s->arena_path) + 8], msg[512];
	char fs[80];
	uint64_t was = 0, size = 0;
	bool created;
	int dirfd, fd = -1, lfd, bfd, rc;

	snprintf(shown, sizeof(shown), "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name);
	snprintf(lname, sizeof(lname), "%s.lock", name);
	snprintf(lshown, sizeof(lshown), "%s.lock", shown);
	dirfd = store_open_dir(dir, false, 0700, err, errlen);
	if (dirfd < 0)
		return dirfd;
	if (!dir_in_memory(dirfd, fs, sizeof(fs))) {
		/*
		 * on a disk: every page the pools touch is written back to it
		 * (and read from it again under memory pressure).  Only asked
		 * for: the default place next to the socket is refused.
		 */
		if (dflt) {
			char key[64];

			snprintf(key, sizeof(key), "[arena%s%s] file = PATH",
				 s->cfg.arena_name[0] ? " " : "", s->cfg.arena_name);
			snprintf(err, errlen, "the default arena file %s would be on %s, a disk: "
				 "every page of the pools would be written back to it.  Put the "
				 "socket on tmpfs (--socket in /run or $XDG_RUNTIME_DIR or /dev/shm), "
				 "%sor name the file to use the disk knowingly (%s%s)", shown, fs,
				 s->cfg.arena_name[0] ? "" : "reserve huge pages (vm.nr_hugepages), ",
				 s->cfg.arena_name[0] ? "" : "--arena-file PATH, or ", key);
			close(dirfd);
			return -EMEDIUMTYPE;
		}
		log_msg("the arena file %s is on %s, a disk, as asked (--arena-file or [arena] "
			"file): the pools' pages are written back to it", shown, fs);
	}
	lfd = open_arena_file(dirfd, lname, lshown, &created, err, errlen);
	if (lfd < 0) {
		close(dirfd);
		return lfd;
	}
	rc = lock(lfd, -1, dirfd, name, shown, err, errlen);
	if (rc)
		goto out;
	fd = open_arena_file(dirfd, name, shown, &created, err, errlen);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	if (!created) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		int afd = fcntl(fd, F_DUPFD_CLOEXEC, 0);

		if (afd >= 0 && fcntl(afd, F_OFD_SETLK, &fl)) {
			close(afd);
			afd = -1;
			rc = lock(fd, fd, -1, NULL, shown, err, errlen);
			if (rc != -EBUSY || !strstr(err, "recorded no pid"))
				goto out;
			log_msg("the arena file %s is locked by a process that is no slubd (one that "
				"kept the arena from the last slubd, and locked it): ignored, slubd's "
				"own lock is %s", shown, lshown);
			rc = 0;
		}
		arena_lock_fd = afd;
		/* ours now: a size an attached process changed is put back */
		rc = arena_fix_size(fd, &was, &size);
		if (rc == 1)
			log_msg("the arena file %s held %llu bytes, its arena %llu: size restored "
				"(a process that held it resized it); %s", shown,
				(unsigned long long)was, (unsigned long long)size,
				was < size ? "what lay past the cut reads as zeros (slubctl "
				"validate names the pools that lost objects)" : "nothing was lost");
		rc = adopt(s, fd, dirfd, name, shown, err, errlen);
		goto out;
	}
	{
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

		/* new, made under the lock file's lock: its own lock is ours */
		if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
			arena_lock_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	}
	bfd = reopen(fd, dirfd, name);
	if (bfd < 0) {
		rc = bfd;
		snprintf(err, errlen, "cannot open the new arena file %s again: %s", shown,
			 strerror(-rc));
	} else {
		rc = arena_create_on(bfd, &o, &s->arena, msg, sizeof(msg));
		close(bfd);
		if (rc)
			snprintf(err, errlen, "cannot create the arena in %s: %s", shown, msg);
		else {
			arena_set_owner_pid(s->arena, getpid());
			log_msg("%s", msg);
		}
	}
	if (rc)
		unlinkat(dirfd, name, 0);
out:
	close(dirfd);
	if (fd >= 0)
		close(fd);	/* its lock, if taken, stays with arena_lock_fd */
	if (rc) {
		if (arena_lock_fd >= 0)
			close(arena_lock_fd);
		arena_lock_fd = -1;
		close(lfd);
		return rc;
	}
	s->lock_fd = lfd;
	snprintf(s->arena_path, sizeof(s->arena_path), "%s", shown);
	return 0;
}

/* hand the locked description to the service manager's fd store */
static void keep_in_store(struct server *s, const char *name)
{
	char msg[300];
	int rc;

	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s", name);
	rc = sd_pid_notify_with_fds(0, 0, msg, &s->lock_fd, 1);
	if (rc > 0)
		log_msg("the arena is handed to the service manager's fd store (FDNAME=%s): with "
			"FileDescriptorStoreMax= set in the unit, a restart of slubd keeps its "
			"pools, a stop drops them", name);
	else
		log_msg("the arena could not be handed to the service manager's fd store (%s): "
			"its pools end with this slubd (FileDescriptorStoreMax= must be set in the "
			"unit)", rc < 0 ? strerror(-rc) : "no NOTIFY_SOCKET");
}

/* the arena in a sealed memfd kept in systemd's fd store: taken back, or made */
static int stored_arena(struct server *s, char *err, size_t errlen)
{
	struct arena_opts o = { .size = s->cfg.arena_size, .huge = s->cfg.huge };
	char name[FDNAME_MAX], msg[256], shown[300];
	int fd, rc;

	fdname(s, name, sizeof(name));
	snprintf(shown, sizeof(shown), "in the fd store (FDNAME=%s)", name);
	fd = take_stored(name);
	if (fd >= 0) {
		rc = os_check_size_sealed(fd);
		if (rc)
			snprintf(err, errlen, "it is not a memfd sealed against resizing (%s)",
				 strerror(-rc));
		else
			rc = lock(fd, fd, -1, NULL, shown, err, errlen);
		if (!rc)
			rc = adopt(s, fd, -1, NULL, shown, err, errlen);
		if (!rc) {
			s->lock_fd = fd;
			s->in_fd_store = true;
			snprintf(s->arena_path, sizeof(s->arena_path), "%s", "");
			return 0;
		}
		if (rc == -EBUSY)
			return rc;
		/* not an arena of ours: say so, drop it from the store, start afresh */
		log_msg("the arena %s cannot be adopted: %s: dropped from the store; a new arena "
			"is made", shown, err);
		close(fd);
		char rm[FDNAME_MAX + 32];

		snprintf(rm, sizeof(rm), "FDSTOREREMOVE=1\nFDNAME=%s", name);
		sd_notify(0, rm);
	}
	rc = arena_create(&o, &s->arena, msg, sizeof(msg));
	if (rc) {
		snprintf(err, errlen, "cannot create the arena: %s", msg);
		return rc;
	}
	if (!arena_sealed(s->arena))
		log_msg("the arena memfd could not be sealed (huge page memfds take seals since "
			"Linux 4.16): an attached process could resize it");
	fd = reopen(arena_fd(s->arena), -1, NULL);
	if (fd < 0 || lock(fd, fd, -1, NULL, shown, err, errlen)) {
		if (fd >= 0)
			close(fd);
		else
			snprintf(err, errlen, "cannot open the arena memfd again: %s", strerror(-fd));
		return -EBADF;
	}
	s->lock_fd = fd;
	s->in_fd_store = true;
	arena_set_owner_pid(s->arena, getpid());
	log_msg("%s", msg);
	keep_in_store(s, name);
	return 0;
}

/* enough 2 MiB huge pages free for a new arena of the configured size */
static bool huge_pages_free(const struct server *s)
{
	uint64_t size = s->cfg.arena_size ? s->cfg.arena_size : ARENA_DEFAULT_SIZE;

	return os_hugepages_free() >= (long)((size + (2u << 20) - 1) >> 21);
}

/*
 * a memfd arena that lasts slubd's life.  huge: of huge pages, when enough
 * are reserved: 1 made (and locked), 0 not (too few huge pages: auto goes
 * on), -errno with err (hugepages = on).  !huge: of normal pages (the default
 * file would have been on a disk; why: in why): 1 made, -errno with err.
 */
static int life_memfd(struct server *s, bool huge, const char *why, char *err, size_t errlen)
{
	struct arena_opts o = { .size = s->cfg.arena_size,
				.huge = huge ? s->cfg.huge : ARENA_HUGE_OFF };
	char msg[512];
	int rc, fd;

	if (huge && s->cfg.huge == ARENA_HUGE_AUTO && !huge_pages_free(s))
		return 0;
	rc = arena_create(&o, &s->arena, msg, sizeof(msg));
	if (rc) {
		if (huge && s->cfg.huge != ARENA_HUGE_ON)
			return 0;
		snprintf(err, errlen, "cannot create the arena: %s", msg);
		return rc;
	}
	if (huge && arena_backing(s->arena) != ARENA_BACKING_HUGETLB) {
		arena_close(s->arena);	/* normal pages: the default file instead */
		s->arena = NULL;
		return 0;
	}
	fd = reopen(arena_fd(s->arena), -1, NULL);
	rc = fd < 0 ? fd : lock(fd, fd, -1, NULL, "memfd", err, errlen);
	if (rc) {
		if (fd >= 0)
			close(fd);
		else
			snprintf(err, errlen, "cannot open the arena memfd again: %s", strerror(-fd));
		arena_close(s->arena);
		s->arena = NULL;
		return rc;
	}
	s->lock_fd = fd;
	arena_set_owner_pid(s->arena, getpid());
	s->arena_path[0] = 0;
	if (huge)
		log_msg("%s; huge pages in a memfd: the arena and its pools last as long as this "
			"slubd (or a client that still maps it); for pools that outlive slubd, mount "
			"hugetlbfs (pagesize=2M) where slubd's user can write, or run slubd under "
			"systemd (the fd store keeps the memfd)", msg);
	else
		log_msg("%s; %s, so the arena is a memfd of normal pages instead: it and its pools "
			"last as long as this slubd (or a client that still maps it); for pools that "
			"outlive slubd, put the socket on tmpfs (--socket in /run, $XDG_RUNTIME_DIR "
			"or /dev/shm), or name a file (--arena-file PATH, [arena] file)", msg, why);
	return 1;
}

/*
 * default_arena - where the arena goes when no file is named, outside
 * systemd.  The rule, so that huge pages are used when reserved and pools
 * outlive slubd wherever they can:
 *   1. huge pages not off, and a hugetlbfs mount of 2 MiB pages slubd's user
 *      can write in: MOUNT/slubd-UID/slubd.arena, its directory made 0700
 *      and checked as the socket's is (a file there outlives slubd);
 *   2. else an arena file next to the socket that exists already (made by an
 *      earlier slubd) is adopted with its pools, even when huge pages are
 *      reserved now (hugepages = on: not used, said; huge pages or fail);
 *   3. else huge pages not off and enough reserved: a memfd of huge pages,
 *      which lasts slubd's life (said in the log);
 *   4. else slubd.arena next to the socket when that is tmpfs; on a disk
 *      no file is made: a memfd of normal pages, which lasts slubd's life
 *      (said in the log, with what keeps pools across restarts).
 */
static int default_arena(struct server *s, char *err, size_t errlen)
{
	char dir[sizeof(s->arena_path)], mnt[200], priv[240], file[260] = "";
	struct stat st;
	bool have_file;
	int rc, dirfd;

	store_split(s->cfg.socket, dir, sizeof(dir));
	if (s->cfg.huge != ARENA_HUGE_OFF && hugetlbfs_mount(mnt, sizeof(mnt))) {
		snprintf(priv, sizeof(priv), "%s/slubd-%u", mnt, (unsigned)geteuid());
		snprintf(file, sizeof(file), "%s/slubd.arena", priv);
	}
	/*
	 * auto, and too few huge pages free for a new arena: the mount is used
	 * only for the arena an earlier slubd left there (its pages are held)
	 */
	if (file[0] && s->cfg.huge == ARENA_HUGE_AUTO && !huge_pages_free(s) &&
	    lstat(file, &st) != 0)
		file[0] = 0;
	if (file[0]) {
		dirfd = store_open_dir(priv, true, 0700, err, errlen);
		rc = dirfd;
		if (dirfd >= 0) {
			close(dirfd);
			rc = file_arena(s, priv, "slubd.arena", true, err, errlen);
			if (rc == 0 || rc == -EBUSY)
				return rc;
		}
		log_msg("no arena on the hugetlbfs mount %s: %s", mnt, err);
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	have_file = dirfd >= 0 && fstatat(dirfd, "slubd.arena", &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (dirfd >= 0)
		close(dirfd);
	if (s->cfg.huge == ARENA_HUGE_ON && have_file)
		log_msg("%s/slubd.arena holds an earlier arena of normal pages: not used (hugepages "
			"= on); its pools stay in it (--arena-file names it)", dir);
	if (s->cfg.huge != ARENA_HUGE_OFF && (!have_file || s->cfg.huge == ARENA_HUGE_ON)) {
		rc = life_memfd(s, true, NULL, err, errlen);
		if (rc)
			return rc < 0 ? rc : 0;
	} else if (have_file && s->cfg.huge == ARENA_HUGE_AUTO && huge_pages_free(s)) {
		log_msg("huge pages are reserved, but %s/slubd.arena holds an earlier arena: it is "
			"adopted with its pools (stop slubd and remove it to move to huge pages)", dir);
	}
	rc = file_arena(s, dir, "slubd.arena", true, err, errlen);
	if (rc != -EMEDIUMTYPE)
		return rc;
	/*
	 * the socket's directory is on a disk (/tmp on Debian 12, or /run where
	 * no systemd mounted it): a file there would write every page of the
	 * pools back to the disk, so no file is made; `make run` still serves,
	 * from a memfd, and the log says what keeps pools across restarts
	 */
	{
		char why[sizeof(dir) + 160], fs[80];

		dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dirfd < 0)
			return rc;
		dir_in_memory(dirfd, fs, sizeof(fs));
		close(dirfd);
		snprintf(why, sizeof(why), "the default arena file %s/slubd.arena would be on %s, "
			 "a disk", dir, fs);
		rc = life_memfd(s, false, why, err, errlen);
		return rc < 0 ? rc : 0;
	}
}

int store_open_arena(struct server *s, char *err, size_t errlen)
{
	char dir[sizeof(s->arena_path)];
	const char *name;

	s->lock_fd = -1;
	if (!s->cfg.arena_file[0] && getenv("NOTIFY_SOCKET"))
		return stored_arena(s, err, errlen);
	{
		/* a file is configured now: an arena the store still holds is not used */
		char fdn[FDNAME_MAX], rm[FDNAME_MAX + 32];
		int fd;

		fdname(s, fdn, sizeof(fdn));
		fd = take_stored(fdn);
		if (fd >= 0) {
			log_msg("the fd store holds an arena (FDNAME=%s) but [arena] file is set: "
				"the file is used, the stored arena is dropped with its pools", fdn);
			close(fd);
			snprintf(rm, sizeof(rm), "FDSTOREREMOVE=1\nFDNAME=%s", fdn);
			sd_notify(0, rm);
		}
	}
	if (s->cfg.arena_file[0]) {
		name = store_split(s->cfg.arena_file, dir, sizeof(dir));
		return file_arena(s, dir, name, s->cfg.arena_file_default, err, errlen);
	}
	return default_arena(s, err, errlen);
}

void store_fini(struct server *s)
{
	if (arena_lock_fd >= 0)
		close(arena_lock_fd);
	arena_lock_fd = -1;
	if (s->lock_fd >= 0)
		close(s->lock_fd);	/* the lock goes with it (the store keeps its own) */
	s->lock_fd = -1;
	if (s->sock_dirfd >= 0)
		close(s->sock_dirfd);
	s->sock_dirfd = -1;
}
