/*
 * t_store.c - the arena handed to a service manager's fd store and back
 * (issue 11), against a client that does not play fair.
 *
 * The helpers (slubd started by hand, private directories) are in
 * e2e_store.c.
 *
 *   fd_store_memfd     slubd under a service manager (this test plays it: a
 *                      datagram NOTIFY_SOCKET that receives SCM_RIGHTS): the
 *                      arena is a memfd handed to the fd store (FDSTORE=1,
 *                      FDNAME=arena).  A client's ftruncate of the fd it was
 *                      sent, shorter or longer, is refused by the kernel
 *                      (EPERM: sealed); a punched hole reads as zeros and
 *                      slubd answers stats and validate.  slubd stopped, then
 *                      started again with the stored fd and a listening socket
 *                      (LISTEN_FDS=2, LISTEN_FDNAMES=slubd.socket:arena): it
 *                      adopts the arena and the pools are there
 *   fd_store_named     the same with an [arena nb] section (a supervisor, a
 *                      server per arena): each server's memfd is stored under
 *                      its name, and at the restart each gets its own back
 *                      (LISTEN_FDNAMES=slubd.socket:arena-nb:arena): both
 *                      arenas' pools survive
 *   fd_store_crash     the same, a server SIGKILLed (nb twice, the default
 *                      once): the supervisor's restart adopts the same memfd
 *                      arena (made during this run, so not among what systemd
 *                      passed at start) with its pool; no server holds the
 *                      other's arena.  Then a service restart with the stored
 *                      fds, and the same crashes again
 *
 * t_store_cut.c has the file-backed arena a client cuts, grows and punches;
 * t_store_owner.c one owner per arena, the paths, the backing said.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/falloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl.h"
#include "e2e.h"
#include "e2e_store.h"
#include "harness.h"
#include "slub.h"

/* ---- the fd store -------------------------------------------------------------------- */

/*
 * the service manager's side: a thread reads every datagram (slubd's sd_notify
 * blocks once ~10 wait unread) and keeps the last fd stored under the name
 */
struct manager {
	int nsock;
	const char *name;
	const char *name2;	/* a second name kept, or NULL */
	int stored;		/* the fd, or -1; under lock */
	int stored2;		/* name2's, or -1; under lock */
	int stop;
	pthread_mutex_t lock;
};

static void *manager_thread(void *arg)
{
	struct manager *m = arg;
	char want[64], want2[64];

	snprintf(want, sizeof(want), "FDNAME=%s\n", m->name);
	snprintf(want2, sizeof(want2), "FDNAME=%s\n", m->name2 ? m->name2 : "");
	while (!__atomic_load_n(&m->stop, __ATOMIC_ACQUIRE)) {
		struct pollfd pfd = { m->nsock, POLLIN, 0 };
		char buf[4096], cbuf[CMSG_SPACE(sizeof(int) * 8)];
		struct iovec iov = { buf, sizeof(buf) - 2 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		int fd = -1;
		ssize_t n;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		n = recvmsg(m->nsock, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0)
			continue;
		buf[n++] = '\n';	/* each line ends in \n: FDNAME=arena is not FDNAME=arena-b */
		buf[n] = 0;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
				memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		if (fd < 0)
			continue;
		pthread_mutex_lock(&m->lock);
		if (strstr(buf, "FDSTORE=1") && strstr(buf, want) && m->stored < 0) {
			m->stored = fd;	/* systemd keeps one of each; so do we */
			fd = -1;
		} else if (m->name2 && strstr(buf, "FDSTORE=1") && strstr(buf, want2) &&
			   m->stored2 < 0) {
			m->stored2 = fd;
			fd = -1;
		}
		pthread_mutex_unlock(&m->lock);
		if (fd >= 0)
			close(fd);
	}
	return NULL;
}

/* the fd stored so far under the name (a dup), waiting up to timeout_ms; -1 none */
static int manager_fd_of(struct manager *m, int which, int timeout_ms)
{
	uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms);
	int fd = -1;

	do {
		pthread_mutex_lock(&m->lock);
		if ((which ? m->stored2 : m->stored) >= 0)
			fd = fcntl(which ? m->stored2 : m->stored, F_DUPFD_CLOEXEC, 0);
		pthread_mutex_unlock(&m->lock);
		if (fd < 0)
			t_sleep_ms(20);
	} while (fd < 0 && t_now_ms() < end);
	return fd;
}

static int manager_fd(struct manager *m, int timeout_ms)
{
	return manager_fd_of(m, 0, timeout_ms);
}

E2E_CASE(fd_store_memfd)
{
	char dir[64], sock[100], notify[100], log[128], *args[] = { "--socket", sock,
		"--arena-size", "64M", "--hugepages", "off", NULL };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct st_spawn sp = { .args = args, .fds = { -1 } };
	struct st_daemon dm = { 0 };
	struct e2e_slubd ed;
	struct manager mgr = { .name = "arena", .stored = -1, .stored2 = -1, .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t mt;
	int nsock, stored, afd, lsock, seals;
	struct e2e_cache c;
	char *out = NULL;

	REQUIRE(st_mkdir_tmp(dir, sizeof(dir), "fds") == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(notify, sizeof(notify), "%s/notify", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(dm.log, sizeof(dm.log), "%s", log);
	memset(&ed, 0, sizeof(ed));
	snprintf(ed.sock, sizeof(ed.sock), "%s", sock);

	/* the service manager's notification socket */
	nsock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	REQUIRE(nsock >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify);
	REQUIRE(bind(nsock, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	mgr.nsock = nsock;
	REQUIRE(pthread_create(&mt, NULL, manager_thread, &mgr) == 0);
	sp.notify = notify;
	REQUIRE(st_start_ready(&dm, &sp) == 0);
	stored = manager_fd(&mgr, 3000);
	CHECKF(stored >= 0, "slubd stored no fd named \"arena\" with FDSTORE=1");
	CHECKF(e2e_slubctl(&ed, &out, "create", "st.kept", "96", NULL) == 0, "slubctl create: %s",
	       out ? out : "");
	free(out);

	/* a client tries to resize the arena it was sent: the kernel refuses */
	afd = st_client_arena_fd(sock);
	REQUIRE(afd >= 0);
	seals = fcntl(afd, F_GET_SEALS);
	CHECKF(seals >= 0 && (seals & F_SEAL_SHRINK) && (seals & F_SEAL_GROW) && (seals & F_SEAL_SEAL),
	       "the arena fd a client gets has seals %#x, want SHRINK|GROW|SEAL", seals);
	errno = 0;
	CHECKF(ftruncate(afd, 4 * MIB) == -1 && errno == EPERM,
	       "a client cut the arena memfd to 4 MiB (errno %d)", errno);
	errno = 0;
	CHECKF(ftruncate(afd, 2 * (off_t)ARENA_BYTES) == -1 && errno == EPERM,
	       "a client grew the arena memfd to 128 MiB (errno %d)", errno);
	{
		struct stat st;

		CHECKF(fstat(afd, &st) == 0 && st.st_size == ARENA_BYTES, "the memfd holds %lld bytes",
		       (long long)st.st_size);
	}
	/* a hole cannot be sealed against without forbidding writes: zeros, a scribble */
	CHECKF(fallocate(afd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, ARENA_BYTES - 8 * MIB,
			 4 * MIB) == 0, "punching a hole: %s", strerror(errno));
	close(afd);
	st_still_serves(&dm, sock, "after the hole");
	st_stop(&dm);
	REQUIRE(!t_failed);

	/* started again as systemd would: its socket and the stored arena passed */
	lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(lsock >= 0);
	unlink(sock);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	REQUIRE(bind(lsock, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(lsock, 16) == 0);
	sp.fds[0] = lsock;
	sp.fds[1] = stored;
	sp.fds[2] = -1;
	sp.fdnames = "slubd.socket:arena";
	REQUIRE(st_start_ready(&dm, &sp) == 0);
	{
		char *text = st_slurp(log);

		CHECKF(strstr(text, "adopted an existing arena"), "slubd did not adopt the stored "
		       "arena:\n%s", text);
		CHECKF(strstr(text, "listening socket from systemd"), "slubd did not take the "
		       "listening socket it was passed:\n%s", text);
		free(text);
	}
	CHECKF(e2e_cache_stats(sock, "st.kept", &c, NULL) == 1,
	       "the pool st.kept did not survive the restart through the fd store");
	st_still_serves(&dm, sock, "after the restart");
	st_stop(&dm);
	__atomic_store_n(&mgr.stop, 1, __ATOMIC_RELEASE);
	pthread_join(mt, NULL);
	close(lsock);
	close(stored);
	close(nsock);
	st_rm_rf(dir);
}

/*
 * named arenas under the service manager: the supervisor's default server and
 * the server of [arena nb] each hand a memfd to the store (FDNAME=arena,
 * FDNAME=arena-nb); started again with both stored fds and the listening
 * socket, the supervisor gives each server its own, and both pools are there
 */
E2E_CASE(fd_store_named)
{
	char dir[64], sock[100], nsockp[100], notify[100], log[128], conf[100],
		*args[] = { "--socket", sock, "--config", conf, "--arena-size", "64M",
			    "--hugepages", "off", NULL };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct st_spawn sp = { .args = args, .fds = { -1 } };
	struct st_daemon dm = { 0 };
	struct e2e_slubd ed, en;
	struct manager mgr = { .name = "arena", .name2 = "arena-nb", .stored = -1, .stored2 = -1,
			       .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t mt;
	int nsock, stored = -1, stored_nb = -1, lsock;
	struct e2e_cache c;
	char *out = NULL;
	FILE *f;

	REQUIRE(st_mkdir_tmp(dir, sizeof(dir), "fdn") == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(nsockp, sizeof(nsockp), "%s/nb.sock", dir);
	snprintf(notify, sizeof(notify), "%s/notify", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(conf, sizeof(conf), "%s/slubd.conf", dir);
	snprintf(dm.log, sizeof(dm.log), "%s", log);
	f = fopen(conf, "we");
	REQUIRE(f);
	fputs("[arena nb]\nsize = 16M\n", f);
	fclose(f);
	memset(&ed, 0, sizeof(ed));
	snprintf(ed.sock, sizeof(ed.sock), "%s", sock);
	memset(&en, 0, sizeof(en));
	snprintf(en.sock, sizeof(en.sock), "%s", nsockp);

	nsock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	REQUIRE(nsock >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify);
	REQUIRE(bind(nsock, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	mgr.nsock = nsock;
	REQUIRE(pthread_create(&mt, NULL, manager_thread, &mgr) == 0);
	sp.notify = notify;
	if (st_start_ready(&dm, &sp))
		goto out;
	for (uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(10000);
	     st_answers(nsockp) != 1 && t_now_ms() < end;)
		t_sleep_ms(50);
	stored = manager_fd_of(&mgr, 0, 3000);
	stored_nb = manager_fd_of(&mgr, 1, 3000);
	CHECKF(stored >= 0, "the default server stored no fd named \"arena\"");
	CHECKF(stored_nb >= 0, "the server of [arena nb] stored no fd named \"arena-nb\" (its "
	       "arena is not in the fd store: a service restart loses its pools)");
	CHECKF(e2e_slubctl(&ed, &out, "create", "st.dflt", "96", NULL) == 0, "slubctl create: %s",
	       out ? out : "");
	free(out);
	out = NULL;
	CHECKF(e2e_slubctl(&en, &out, "create", "st.named", "96", NULL) == 0,
	       "slubctl create on nb: %s", out ? out : "");
	free(out);
	st_stop(&dm);
	if (t_failed)
		goto out;

	/* started again as systemd would: the socket and both stored arenas */
	lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	REQUIRE(lsock >= 0);
	unlink(sock);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
	REQUIRE(bind(lsock, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(lsock, 16) == 0);
	sp.fds[0] = lsock;
	sp.fds[1] = stored_nb;
	sp.fds[2] = stored;
	sp.fds[3] = -1;
	sp.fdnames = "slubd.socket:arena-nb:arena";
	if (st_start_ready(&dm, &sp) == 0) {
		for (uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(10000);
		     st_answers(nsockp) != 1 && t_now_ms() < end;)
			t_sleep_ms(50);
		CHECKF(e2e_cache_stats(sock, "st.dflt", &c, NULL) == 1,
		       "the default arena's pool did not survive the restart");
		CHECKF(e2e_cache_stats(nsockp, "st.named", &c, NULL) == 1,
		       "[arena nb]'s pool st.named did not survive the restart through the fd "
		       "store");
		CHECKF(e2e_cache_stats(sock, "st.named", &c, NULL) != 1,
		       "the default server adopted nb's arena");
		if (t_failed) {
			char *text = st_slurp(log);

			printf("  slubd's log:\n%s", text);
			free(text);
		}
		st_stop(&dm);
	}
	close(lsock);
out:
	__atomic_store_n(&mgr.stop, 1, __ATOMIC_RELEASE);
	pthread_join(mt, NULL);
	if (stored >= 0)
		close(stored);
	if (stored_nb >= 0)
		close(stored_nb);
	close(nsock);
	st_rm_rf(dir);
}

/* the pid of the last "arena LABEL: slubd pid N serves" in the log; 0 none */
static pid_t server_pid(const char *log, const char *label)
{
	char *text = st_slurp(log), key[80];
	const char *p = text, *last = NULL;
	pid_t pid = 0;

	snprintf(key, sizeof(key), "arena %s: slubd pid ", label);
	while ((p = strstr(p, key)) != NULL) {
		last = p + strlen(key);
		p = last;
	}
	if (last)
		pid = (pid_t)atoi(last);
	free(text);
	return pid;
}

/* the file a client is sent at attach on sock: its inode, in *st; 0 or -1 */
static int arena_id(const char *sock, struct stat *st)
{
	int afd = st_client_arena_fd(sock), rc;

	if (afd < 0)
		return -1;
	rc = fstat(afd, st);
	close(afd);
	return rc;
}

/* does process pid hold an fd of the file st (its /proc/PID/fd, followed)? */
static bool holds_file(pid_t pid, const struct stat *st)
{
	char path[64];
	bool found = false;

	for (int fd = 0; fd < 1024 && !found; fd++) {
		struct stat s2;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, fd);
		if (stat(path, &s2) == 0 && s2.st_dev == st->st_dev && s2.st_ino == st->st_ino)
			found = true;
	}
	return found;
}

/*
 * SIGKILL the server of label; wait (10 s) until the supervisor's restart of
 * it serves: its new pid, 0 when none served
 */
static pid_t crash_server(const char *log, const char *label, const char *sock)
{
	pid_t old = server_pid(log, label), now = 0;
	uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(10000);

	if (old <= 0 || kill(old, SIGKILL)) {
		CHECKF(0, "no server of arena %s to kill (pid %d)", label, (int)old);
		return 0;
	}
	while (t_now_ms() < end) {
		now = server_pid(log, label);
		if (now > 0 && now != old && st_answers(sock) == 1)
			return now;
		t_sleep_ms(50);
	}
	CHECKF(0, "the supervisor did not restart arena %s's server within 10 s (pid %d killed)",
	       label, (int)old);
	return 0;
}

/*
 * a named server that crashes: under the fake service manager, a supervisor
 * with [arena nb]; both arenas made during this run (memfds in the store,
 * which systemd would pass only at the service's next start).  nb's server
 * is SIGKILLed twice, the default one once: each successor adopts the same
 * arena (the inode a client is sent), its pool is there, and no server holds
 * the other's arena
 */
E2E_CASE(fd_store_crash)
{
	char dir[64], sock[100], nsockp[100], notify[100], log[128], conf[100],
		*args[] = { "--socket", sock, "--config", conf, "--arena-size", "64M",
			    "--hugepages", "off", NULL };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct st_spawn sp = { .args = args, .fds = { -1 } };
	struct st_daemon dm = { 0 };
	struct e2e_slubd ed, en;
	struct manager mgr = { .name = "arena", .name2 = "arena-nb", .stored = -1, .stored2 = -1,
			       .lock = PTHREAD_MUTEX_INITIALIZER };
	struct stat nb0, d0, st;
	struct e2e_cache c;
	pthread_t mt;
	char *out = NULL;
	int nsock, stored = -1, stored_nb = -1, lsock = -1;
	bool restarted = false;
	FILE *f;

	REQUIRE(st_mkdir_tmp(dir, sizeof(dir), "fdc") == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(nsockp, sizeof(nsockp), "%s/nb.sock", dir);
	snprintf(notify, sizeof(notify), "%s/notify", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(conf, sizeof(conf), "%s/slubd.conf", dir);
	snprintf(dm.log, sizeof(dm.log), "%s", log);
	f = fopen(conf, "we");
	REQUIRE(f);
	fputs("[arena nb]\nsize = 16M\n", f);
	fclose(f);
	memset(&ed, 0, sizeof(ed));
	snprintf(ed.sock, sizeof(ed.sock), "%s", sock);
	memset(&en, 0, sizeof(en));
	snprintf(en.sock, sizeof(en.sock), "%s", nsockp);

	nsock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	REQUIRE(nsock >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify);
	REQUIRE(bind(nsock, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	mgr.nsock = nsock;
	REQUIRE(pthread_create(&mt, NULL, manager_thread, &mgr) == 0);
	sp.notify = notify;
	if (st_start_ready(&dm, &sp))
		goto out;
	for (uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(10000);
	     st_answers(nsockp) != 1 && t_now_ms() < end;)
		t_sleep_ms(50);
	CHECKF(e2e_slubctl(&ed, &out, "create", "st.dflt", "96", NULL) == 0, "slubctl create: %s",
	       out ? out : "");
	free(out);
	out = NULL;
	CHECKF(e2e_slubctl(&en, &out, "create", "st.named", "96", NULL) == 0,
	       "slubctl create on nb: %s", out ? out : "");
	free(out);
	out = NULL;
	CHECKF(arena_id(nsockp, &nb0) == 0 && arena_id(sock, &d0) == 0,
	       "no arena fd sent at attach");
	if (t_failed)
		goto stop;

	for (int round = 1; round <= 3 && !t_failed; round++) {
		/* nb, nb again (its successor handed the arena on), then the default one */
		bool named = round < 3;
		const char *label = named ? "nb" : "default", *s = named ? nsockp : sock;
		const char *pool = named ? "st.named" : "st.dflt";
		const struct stat *want = named ? &nb0 : &d0, *other = named ? &d0 : &nb0;
		pid_t pid = crash_server(log, label, s), dflt, nb;

		if (!pid)
			break;
		CHECKF(e2e_cache_stats(s, pool, &c, NULL) == 1, "crash %d: arena %s's pool %s is "
		       "gone after its server's SIGKILL and restart (the successor made a new "
		       "arena)", round, label, pool);
		CHECKF(arena_id(s, &st) == 0 && st.st_dev == want->st_dev &&
		       st.st_ino == want->st_ino, "crash %d: arena %s's successor serves another "
		       "arena (inode %llu, was %llu)", round, label, (unsigned long long)st.st_ino,
		       (unsigned long long)want->st_ino);
		CHECKF(e2e_cache_stats(named ? sock : nsockp, named ? "st.dflt" : "st.named", &c,
				       NULL) == 1, "crash %d: the other arena lost its pool", round);
		dflt = server_pid(log, "default");
		nb = server_pid(log, "nb");
		CHECKF(!holds_file(pid, other), "crash %d: the restarted server of %s holds the "
		       "other arena's fd", round, label);
		CHECKF(dflt > 0 && nb > 0 && !holds_file(dflt, &nb0) && !holds_file(nb, &d0),
		       "crash %d: a server holds the other's arena", round);
		if (round == 3 && !t_failed && !restarted) {
			/*
			 * a service restart with what the store holds (systemd
			 * passes it), then the same crashes: the arenas the
			 * supervisor was passed are the ones its servers send back
			 */
			pid_t was_dflt = server_pid(log, "default"), was_nb = server_pid(log, "nb");

			stored = manager_fd_of(&mgr, 0, 3000);
			stored_nb = manager_fd_of(&mgr, 1, 3000);
			st_stop(&dm);
			lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
			REQUIRE(lsock >= 0 && stored >= 0 && stored_nb >= 0);
			unlink(sock);
			snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
			REQUIRE(bind(lsock, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
				listen(lsock, 16) == 0);
			sp.fds[0] = stored_nb;
			sp.fds[1] = lsock;
			sp.fds[2] = stored;
			sp.fds[3] = -1;
			sp.fdnames = "arena-nb:slubd.socket:arena";
			if (st_start_ready(&dm, &sp))
				break;
			/*
			 * both served, and the new supervisor's lines naming its
			 * servers written (a server may serve before its parent,
			 * slowed by valgrind, logs the fork)
			 */
			for (uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(10000);
			     (st_answers(nsockp) != 1 || server_pid(log, "nb") == was_nb ||
			      server_pid(log, "default") == was_dflt) && t_now_ms() < end;)
				t_sleep_ms(50);
			restarted = true;
			round = 0;
		}
	}
	CHECKF(t_failed || restarted, "the service restart was not reached");
stop:
	if (t_failed) {
		char *text = st_slurp(log);

		printf("  slubd's log:\n%s", text);
		free(text);
	}
	st_stop(&dm);
out:
	__atomic_store_n(&mgr.stop, 1, __ATOMIC_RELEASE);
	pthread_join(mt, NULL);
	if (lsock >= 0)
		close(lsock);
	if (stored >= 0)
		close(stored);
	if (stored_nb >= 0)
		close(stored_nb);
	close(nsock);
	st_rm_rf(dir);
}

T_MAIN(T_CASE(fd_store_memfd), T_CASE(fd_store_named), T_CASE(fd_store_crash))
