/*
 * held.c - the owner ids slubd holds alive for its clients' processes.
 *
 * A process's owner id is alive while a thread of it that used the arena
 * lives (shm/ident.c); so that a process whose every such thread exited
 * keeps what another of its threads holds, libslub says its id on its
 * connection (Identify) and slubd holds the id alive until that process is
 * gone (ident.c: "Held by a connection").  This table is slubd's own
 * record of what it holds: every liveness answer slubd gives (its scrub,
 * reclaim, reclaim --force) asks it (ident_set_held_fn), never the arena's
 * held words, which any attached client can write.  slubd writes those
 * words as well (ident_hold), for the clients' claimers and joiners.
 *
 * Whose id.  slubd takes a pidfd of the connection's peer (SO_PEERCRED's
 * pid) and reads the peer's pid in its own pid namespace from the pidfd's
 * fdinfo (NSpid, last field; without pidfds - a kernel before 5.3, slubd
 * under valgrind - from /proc/PID/status, and the process's exit while
 * another keeps its socket goes unseen): the slot must record that pid, and, where
 * slubd can read the peer's namespace (/proc/PID/ns/pid), that namespace.
 * So a client can say only its own process's id (a peer of the same pid
 * number in another namespace whose namespace slubd cannot read is the one
 * case left: see the README).
 *
 * How long.  An entry goes when its connection closes (held_drop), or when
 * its process exits though the connection stays open (a child of _Fork()
 * that kept its parent's descriptor: the pidfd says so, held_prune).  The
 * table is saved beside the socket, as the pools' record is (policy.c):
 * NAME.held, mode 0600, slubd's own, naming the arena; a new slubd adopts
 * what it lists (held_adopt) - never the arena's held words, which clients
 * can write, unless there is no record (memory only, or the first start of
 * this version), and then it says so.  An adopted entry stays held until
 * its process says its id again on a new connection (the entry moves to
 * it), or is shown gone: a pid of slubd's namespace that no longer exists or
 * is a process started at another time than the one recorded (pid reuse);
 * one of another namespace after HELD_GRACE_S unclaimed.
 *
 * held_lock protects the table and the arena's held words slubd writes (so
 * that a word and the table change together, per id).  It is a leaf:
 * held_alive takes it under arena locks (the scrub's map_alive); under it
 * only the table's memory (realloc in tab_add) and those single words are
 * touched - no arena lock, no file, no wait on another process; the one
 * exception is held_fini, which closes the pidfds under it once no other
 * thread runs.  save_lock orders the record's writes (taken without
 * held_lock: held_save copies the table under held_lock first).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "slubd.h"

#define HELD_GRACE_S	600	/* an adopted id of another pid namespace, unclaimed */

struct held {
	uint32_t id;
	struct conn *c;		/* NULL: adopted from a previous slubd */
	int pidfd;		/* the process's (c's peer), -1: none */
	uint32_t pid;		/* the process's, as slubd's pid namespace sees it (0: unknown) */
	bool foreign;		/* adopted from the arena's words: a pid of another namespace */
	uint64_t start;		/* the process's start time (/proc/PID/stat), 0: unknown */
	uint64_t since_s;	/* adopted then (CLOCK_MONOTONIC) */
	uint64_t serial;	/* unique in this run: an entry is told by it, not by its fields */
};

static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static struct held *tab;		/* held_lock */
static unsigned int nr_tab, cap_tab;	/* held_lock */
static uint64_t serials;		/* held_lock */
static uint64_t changes;		/* held_lock: bumped at each change, for held_save */

static pthread_mutex_t save_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t saved_change;		/* save_lock: the change the file holds */
static int rec_dirfd = -1;		/* where NAME.held is saved (policy_dirfd's), -1: nowhere */
static char rec_file[120], rec_tmp[130];
static bool rec_failed_said;
static uint64_t held_arena_id;		/* the arena the record names */

#define HELD_MAGIC "slubd-held 1"

static uint64_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static bool held_alive(uint32_t id)
{
	bool found = false;

	pthread_mutex_lock(&held_lock);
	for (unsigned int i = 0; i < nr_tab && !found; i++)
		found = tab[i].id == id;
	pthread_mutex_unlock(&held_lock);
	return found;
}

/* the start time of pid (clock ticks since boot, /proc/PID/stat field 22), 0: unknown */
static uint64_t start_time(uint32_t pid)
{
	char path[64], buf[512], *p;
	unsigned long long t = 0;
	FILE *f;

	if (!pid)
		return 0;
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	/* after the command's ")": state is field 3, starttime field 22 */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d "
			 "%*d %*d %*d %llu", &t) != 1)
		return 0;
	return t;
}

/* held_lock held: one more entry; false: no memory */
static bool tab_add(struct held h)
{
	if (nr_tab == cap_tab) {
		unsigned int n = cap_tab ? cap_tab * 2 : 16;
		struct held *t = realloc(tab, n * sizeof(*t));

		if (!t)
			return false;
		tab = t;
		cap_tab = n;
	}
	h.serial = ++serials;
	tab[nr_tab++] = h;
	changes++;
	return true;
}

/* held_lock held: entry i goes; its pidfd is returned for closing outside the lock */
static int tab_remove(unsigned int i)
{
	int fd = tab[i].pidfd;

	tab[i] = tab[--nr_tab];
	changes++;
	return fd;
}

/* held_lock held: does an entry hold id? */
static bool tab_has(uint32_t id)
{
	for (unsigned int i = 0; i < nr_tab; i++)
		if (tab[i].id == id)
			return true;
	return false;
}

/*
 * held_lock held, an entry of id gone: the arena's word too, unless another
 * entry holds id (one step with the table: a held_identify of the same id
 * cannot come between the look and the clearing)
 */
static void let_go_locked(struct server *s, uint32_t id)
{
	if (!tab_has(id))
		ident_unhold(s->arena, id);
}

/* ---- the record ------------------------------------------------------------- */

/* write the table as NAME.held (a new file renamed over the old), unless a newer write came */
static void held_save(void)
{
	struct held *snap = NULL;
	unsigned int n = 0;
	uint64_t change;
	FILE *f;
	int fd;

	if (rec_dirfd < 0)
		return;
	pthread_mutex_lock(&held_lock);
	change = changes;
	if (nr_tab && (snap = malloc(nr_tab * sizeof(*snap))) != NULL) {
		memcpy(snap, tab, nr_tab * sizeof(*snap));
		n = nr_tab;
	}
	pthread_mutex_unlock(&held_lock);
	if (nr_tab && !snap)
		return;		/* no memory: the next change saves */
	pthread_mutex_lock(&save_lock);
	if (change <= saved_change && saved_change) {
		pthread_mutex_unlock(&save_lock);
		free(snap);
		return;		/* a later snapshot is written already */
	}
	unlinkat(rec_dirfd, rec_tmp, 0);
	fd = openat(rec_dirfd, rec_tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (f) {
		fprintf(f, "%s %" PRIx64 "\n", HELD_MAGIC, held_arena_id);
		for (unsigned int i = 0; i < n; i++)
			fprintf(f, "%x %u %d %" PRIu64 "\n", snap[i].id, snap[i].pid, snap[i].foreign,
				snap[i].start);
		if (fclose(f) == 0 && renameat(rec_dirfd, rec_tmp, rec_dirfd, rec_file) == 0) {
			saved_change = change;
			pthread_mutex_unlock(&save_lock);
			free(snap);
			return;
		}
	} else if (fd >= 0) {
		close(fd);
	}
	if (!rec_failed_said)
		log_msg("the held ids' record %s cannot be saved (%s): after a restart of slubd, the "
			"arena's words say which processes were held", rec_file, strerror(errno));
	rec_failed_said = true;
	unlinkat(rec_dirfd, rec_tmp, 0);
	pthread_mutex_unlock(&save_lock);
	free(snap);
}

/* the saved record, if slubd's own and of this arena: entries adopted, or -1 */
static int held_load(struct server *s)
{
	char line[160];
	struct stat st;
	uint64_t aid, start;
	unsigned int id, pid;
	int foreign, n = 0, fd;
	FILE *f;

	if (rec_dirfd < 0)
		return -1;
	fd = openat(rec_dirfd, rec_file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != geteuid() ||
	    (st.st_mode & 077) || st.st_nlink != 1 || !(f = fdopen(fd, "r"))) {
		log_msg("the held ids' record %s is not slubd's own (a regular file of uid %u, mode "
			"0600, one link): ignored", rec_file, (unsigned)geteuid());
		close(fd);
		return -1;
	}
	if (!fgets(line, sizeof(line), f) || sscanf(line, HELD_MAGIC " %" SCNx64, &aid) != 1 ||
	    aid != arena_id(s->arena)) {
		fclose(f);
		return -1;	/* another arena's: nothing of it holds here */
	}
	pthread_mutex_lock(&held_lock);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%x %u %d %" SCNu64, &id, &pid, &foreign, &start) == 4 && id)
			n += tab_add((struct held){ id, NULL, -1, pid, foreign != 0, start, mono_s(),
						    0 });
	pthread_mutex_unlock(&held_lock);
	fclose(f);
	return n;
}

void held_adopt(struct server *s)
{
	int n, kept = 0;
	uint32_t *ids = NULL;
	uint64_t mine = 0;
	struct stat st;

	ident_set_held_fn(held_alive);
	held_arena_id = arena_id(s->arena);
	rec_dirfd = policy_dirfd(s);
	record_file_names(s->cfg.socket, "held", rec_file, sizeof(rec_file), rec_tmp,
			  sizeof(rec_tmp));
	if (strrchr(rec_file, '/')) {	/* the directory is rec_dirfd: the base names */
		memmove(rec_file, strrchr(rec_file, '/') + 1, strlen(strrchr(rec_file, '/') + 1) + 1);
		snprintf(rec_tmp, sizeof(rec_tmp), ".%s.new", rec_file);
	}
	kept = held_load(s);
	if (kept >= 0) {
		if (kept)
			log_msg("%d process%s the previous slubd held alive for %s connection%s (record "
				"%s): still held, until %s again or %s gone", kept, kept == 1 ? "" : "es",
				kept == 1 ? "its" : "their", kept == 1 ? "" : "s", rec_file,
				kept == 1 ? "it says its id" : "they say their ids",
				kept == 1 ? "it is" : "they are");
		goto out;
	}
	/* no record of ours: the arena's words (what a client wrote there, too) */
	kept = 0;
	if (stat("/proc/self/ns/pid", &st) == 0)
		mine = st.st_ino;
	n = ident_held_list(s->arena, NULL, 0);
	ids = n > 0 ? calloc((size_t)n, sizeof(*ids)) : NULL;
	if (ids)
		n = ident_held_list(s->arena, ids, (unsigned int)n);
	for (int i = 0; ids && i < n; i++) {
		uint32_t pid;
		uint64_t ns;
		bool foreign;

		if (ident_slot_info(s->arena, ids[i], &pid, &ns))
			continue;
		foreign = !ns || ns != mine;
		pthread_mutex_lock(&held_lock);
		kept += tab_add((struct held){ ids[i], NULL, -1, foreign ? 0 : pid, foreign, 0,
					       mono_s(), 0 });
		pthread_mutex_unlock(&held_lock);
	}
	free(ids);
	if (kept)
		log_msg("%d process%s held alive by the arena's words (no record %s of slubd's own): "
			"still held, until %s again or %s gone", kept, kept == 1 ? "" : "es",
			rec_file, kept == 1 ? "it says its id" : "they say their ids",
			kept == 1 ? "it is" : "they are");
out:
	held_prune(s);
	held_save();
}

/*
 * the peer's pid in its own pid namespace (pidfd's fdinfo, NSpid's last
 * field), and that namespace's inode where slubd can read it (0: not)
 */
static int peer_ids(int pidfd, pid_t pid, uint32_t *nspid, uint64_t *ns)
{
	char path[64], line[256];
	struct stat st;
	FILE *f;
	int rc = -ENOENT;

	/* no pidfd (a kernel before 5.3, valgrind): the process's own status says it too */
	if (pidfd >= 0)
		snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	else
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *last;

		if (strncmp(line, "NSpid:", 6))
			continue;
		last = strrchr(line, '\t');
		if (!last)
			last = line + 6;
		*nspid = (uint32_t)strtoul(last, NULL, 10);
		rc = *nspid ? 0 : -ESRCH;	/* 0: the process is gone */
		break;
	}
	fclose(f);
	*ns = 0;
	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	if (stat(path, &st) == 0)
		*ns = st.st_ino;
	return rc;
}

int held_identify(struct server *s, struct conn *c, uint32_t id, char *why, size_t len)
{
	uint32_t slot_pid, nspid = 0;
	uint64_t slot_ns, peer_ns = 0;
	int pidfd, rc, stale = -1;
	bool ok;

	rc = ident_slot_info(s->arena, id, &slot_pid, &slot_ns);
	if (rc == -EINVAL)
		snprintf(why, len, "owner id %#x names no process slot", id);
	else if (rc)
		snprintf(why, len, "owner id %#x is not its slot's: the process is gone, or the id "
			 "is not its", id);
	if (rc)
		return rc;
	pidfd = pidfd_open(c->pid, 0);
	if (pidfd < 0 && errno != ENOSYS) {
		snprintf(why, len, "the connection's process (pid %d) cannot be watched: %s",
			 (int)c->pid, strerror(errno));
		return -errno;
	}
	rc = peer_ids(pidfd, c->pid, &nspid, &peer_ns);
	if (rc) {
		if (pidfd >= 0)
			close(pidfd);
		snprintf(why, len, "the connection's process (pid %d) cannot be told: %s", (int)c->pid,
			 strerror(-rc));
		return rc;
	}
	if (slot_pid != nspid || (peer_ns && slot_ns && peer_ns != slot_ns)) {
		if (pidfd >= 0)
			close(pidfd);
		snprintf(why, len, "owner id %#x belongs to pid %u%s, not to the connection's process "
			 "(pid %u in its own pid namespace)", id, slot_pid,
			 peer_ns && slot_ns && peer_ns != slot_ns ? " of another pid namespace" : "",
			 nspid);
		return -EPERM;
	}
	rc = ident_hold(s->arena, id, why, len);
	if (rc) {
		if (pidfd >= 0)
			close(pidfd);
		return rc;
	}
	pthread_mutex_lock(&held_lock);
	/* said again by its process on a new connection: an adopted entry moves to it */
	for (unsigned int i = 0; i < nr_tab; i++)
		if (tab[i].id == id && !tab[i].c) {
			stale = tab_remove(i);
			break;
		}
	/* c->pid is the process as slubd's namespace sees it, whichever its own */
	ok = tab_add((struct held){ id, c, pidfd, (uint32_t)c->pid, false,
				    start_time((uint32_t)c->pid), 0, 0 });
	pthread_mutex_unlock(&held_lock);
	if (stale >= 0)
		close(stale);
	if (!ok) {
		if (pidfd >= 0)
			close(pidfd);
		pthread_mutex_lock(&held_lock);
		let_go_locked(s, id);
		pthread_mutex_unlock(&held_lock);
		snprintf(why, len, "slubd is out of memory");
		return -ENOMEM;
	}
	held_save();
	return 0;
}

void held_drop(struct server *s, struct conn *c)
{
	bool found = false;
	int fd = -1;

	pthread_mutex_lock(&held_lock);
	for (unsigned int i = 0; i < nr_tab; i++)
		if (tab[i].c == c) {
			uint32_t id = tab[i].id;

			fd = tab_remove(i);
			let_go_locked(s, id);
			found = true;
			break;
		}
	pthread_mutex_unlock(&held_lock);
	if (fd >= 0)
		close(fd);
	if (found)
		held_save();
}

/* is the process behind h gone?  (no lock held: system calls) */
static bool entry_gone(const struct held *h, uint64_t now)
{
	struct pollfd p = { .fd = h->pidfd, .events = POLLIN };
	uint64_t t;
	int fd;

	if (h->pidfd >= 0)	/* a pidfd polls readable once its process exited */
		return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
	if (h->c)
		return false;	/* no pidfd to be had: its connection's close lets go */
	if (h->foreign || !h->pid)
		return now - h->since_s >= HELD_GRACE_S;
	fd = pidfd_open((pid_t)h->pid, 0);
	if (fd < 0 && errno == ESRCH)
		return true;
	if (fd >= 0)
		close(fd);
	/* the pid lives: its process, unless one started at another time has it now */
	t = start_time(h->pid);
	return h->start && t && t != h->start;
}

void held_prune(struct server *s)
{
	uint64_t now = mono_s();
	unsigned int i = 0;
	bool changed = false;

	for (;;) {
		struct held h;
		bool gone;
		int fd = -1;

		pthread_mutex_lock(&held_lock);
		if (i >= nr_tab) {
			pthread_mutex_unlock(&held_lock);
			break;
		}
		h = tab[i];
		pthread_mutex_unlock(&held_lock);
		gone = entry_gone(&h, now);
		pthread_mutex_lock(&held_lock);
		/* entries move meanwhile (a drop swaps the last one in): find it again by serial */
		if (gone && i < nr_tab && tab[i].serial == h.serial) {
			fd = tab_remove(i);
			let_go_locked(s, h.id);
			pthread_mutex_unlock(&held_lock);
			if (fd >= 0)
				close(fd);
			if (h.c)	/* h.c may be freed by now: only its pid is used */
				log_msg("client pid %u exited, its connection still open (another process "
					"has it): its owner id %#x is no longer held", h.pid, h.id);
			changed = true;
			continue;
		}
		pthread_mutex_unlock(&held_lock);
		i++;
	}
	if (changed)
		held_save();
}

void held_fini(void)
{
	pthread_mutex_lock(&held_lock);
	for (unsigned int i = 0; i < nr_tab; i++)
		if (tab[i].pidfd >= 0)
			close(tab[i].pidfd);
	free(tab);
	tab = NULL;
	nr_tab = cap_tab = 0;
	rec_dirfd = -1;		/* policy_fini closes it */
	pthread_mutex_unlock(&held_lock);
	ident_set_held_fn(NULL);
}
