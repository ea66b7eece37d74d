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
 * that kept its parent's descriptor: the pidfd says so, held_prune).  A new
 * slubd adopts the held words a previous one left (held_adopt): each stays
 * held until its process says it again on a new connection (the entry
 * moves to it), or is shown gone: a pid of slubd's namespace that no longer
 * exists; one of another namespace after HELD_GRACE_S unclaimed.
 *
 * held_lock protects the table.  It is a leaf: held_alive takes it under
 * arena locks (the scrub's map_alive), and nothing is called while it is
 * held - no arena access, no system call.
 */
#include <errno.h>
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
	uint32_t pid;		/* c's peer; adopted: the slot's pid, in slubd's namespace */
	bool foreign;		/* adopted: of another pid namespace */
	uint64_t since_s;	/* adopted then (CLOCK_MONOTONIC) */
};

static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static struct held *tab;		/* held_lock */
static unsigned int nr_tab, cap_tab;	/* held_lock */

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
	tab[nr_tab++] = h;
	return true;
}

/* held_lock held: entry i goes; its pidfd is returned for closing outside the lock */
static int tab_remove(unsigned int i)
{
	int fd = tab[i].pidfd;

	tab[i] = tab[--nr_tab];
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

/* after an entry of id went: the arena's word too, unless another entry holds id */
static void let_go(struct server *s, uint32_t id)
{
	bool still;

	pthread_mutex_lock(&held_lock);
	still = tab_has(id);
	pthread_mutex_unlock(&held_lock);
	if (!still)
		ident_unhold(s->arena, id);
}

void held_adopt(struct server *s)
{
	int n = ident_held_list(s->arena, NULL, 0), kept = 0;
	uint32_t *ids = n > 0 ? calloc((size_t)n, sizeof(*ids)) : NULL;
	uint64_t mine = 0;
	struct stat st;

	ident_set_held_fn(held_alive);
	if (stat("/proc/self/ns/pid", &st) == 0)
		mine = st.st_ino;
	if (n > 0 && !ids)
		log_msg("out of memory adopting the %d ids the previous slubd held: let go", n);
	if (ids)
		n = ident_held_list(s->arena, ids, (unsigned int)n);
	for (int i = 0; ids && i < n; i++) {
		uint32_t pid;
		uint64_t ns;

		if (ident_slot_info(s->arena, ids[i], &pid, &ns))
			continue;
		pthread_mutex_lock(&held_lock);
		kept += tab_add((struct held){ ids[i], NULL, -1, pid, !ns || ns != mine, mono_s() });
		pthread_mutex_unlock(&held_lock);
	}
	free(ids);
	if (kept)
		log_msg("%d process%s the previous slubd held alive for %s connection%s: still held, "
			"until %s again or %s gone", kept, kept == 1 ? "" : "es",
			kept == 1 ? "its" : "their", kept == 1 ? "" : "s",
			kept == 1 ? "it says its id" : "they say their ids",
			kept == 1 ? "it is" : "they are");
	held_prune(s);
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
	ok = tab_add((struct held){ id, c, pidfd, (uint32_t)c->pid, false, 0 });
	pthread_mutex_unlock(&held_lock);
	if (stale >= 0)
		close(stale);
	if (!ok) {
		if (pidfd >= 0)
			close(pidfd);
		let_go(s, id);
		snprintf(why, len, "slubd is out of memory");
		return -ENOMEM;
	}
	return 0;
}

void held_drop(struct server *s, struct conn *c)
{
	uint32_t id = 0;
	int fd = -1;

	pthread_mutex_lock(&held_lock);
	for (unsigned int i = 0; i < nr_tab; i++)
		if (tab[i].c == c) {
			id = tab[i].id;
			fd = tab_remove(i);
			break;
		}
	pthread_mutex_unlock(&held_lock);
	if (fd >= 0)
		close(fd);
	if (id)
		let_go(s, id);
}

/* is the process behind h gone?  (no lock held: system calls) */
static bool entry_gone(const struct held *h, uint64_t now)
{
	struct pollfd p = { .fd = h->pidfd, .events = POLLIN };
	int fd;

	if (h->pidfd >= 0)
		return poll(&p, 1, 0) == 1;	/* a pidfd polls readable once its process exited */
	if (h->c)
		return false;	/* no pidfd to be had: its connection's close lets go */
	if (h->foreign)
		return now - h->since_s >= HELD_GRACE_S;
	fd = pidfd_open((pid_t)h->pid, 0);
	if (fd < 0)
		return errno == ESRCH;
	close(fd);
	return false;
}

void held_prune(struct server *s)
{
	uint64_t now = mono_s();
	unsigned int i = 0;

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
		/* the entry may have moved meanwhile (a drop swaps the last one in): look again */
		if (gone && i < nr_tab && tab[i].id == h.id && tab[i].c == h.c &&
		    tab[i].pidfd == h.pidfd) {
			fd = tab_remove(i);
			pthread_mutex_unlock(&held_lock);
			if (fd >= 0)
				close(fd);
			if (h.c)	/* h.c may be freed by now: only its pid is used */
				log_msg("client pid %u exited, its connection still open (another process "
					"has it): its owner id %#x is no longer held", h.pid, h.id);
			let_go(s, h.id);
			continue;
		}
		pthread_mutex_unlock(&held_lock);
		i++;
	}
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
	pthread_mutex_unlock(&held_lock);
	ident_set_held_fn(NULL);
}
