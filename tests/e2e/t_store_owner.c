/*
 * t_store_owner.c - one owner per arena, paths another user prepared, the
 * backing slubd reports, the default arena on a disk, --ready-fd (issue 11).
 *
 * The helpers (slubd started by hand, private directories) are in
 * e2e_store.c.
 *
 *   two_daemons_dir    two slubds, two sockets, one directory (so one arena
 *                      file): the second refuses, naming the first by pid
 *   two_daemons_file   two slubds, two directories, one --arena-file: the same
 *   client_lock        a client locks the arena file it was sent (OFD lock,
 *                      flock) once slubd stopped: the next slubd starts all
 *                      the same and adopts the pools; a second is refused
 *   racing_start       two slubds started at once on one directory, before
 *                      either has made the arena: one serves, one refuses
 *   squatted_tmp       /tmp/slubd-65534 made by uid 65533, mode 0777, holding a
 *                      planted arena: slubd as uid 65534 (its default socket)
 *                      refuses it, writes nothing there; then a directory of
 *                      its own holding an arena file of uid 65533: refused
 *   symlinked_paths    a socket directory that is a symbolic link into a
 *                      directory of uid 65533, and an arena file that is a link
 *                      to a planted arena: refused, nothing written there
 *   default_on_disk, ready_fd, hugepages_default: see their comments below
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

/* ---- one owner per arena ---------------------------------------------------------------- */

E2E_CASE(two_daemons_dir)
{
	char dir[64], a[128], b[128], log[128], want[64], *argsa[] = { "--socket", a,
		"--arena-size", "64M", "--hugepages", "off", NULL };
	char *argsb[] = { "--socket", b, "--arena-size", "64M", "--hugepages", "off", NULL };
	struct st_spawn spa = { .args = argsa, .fds = { -1 } }, spb = { .args = argsb, .fds = { -1 } };
	struct st_daemon dm = { 0 };
	char *text;

	REQUIRE(st_mkdir_tmp(dir, sizeof(dir), "two") == 0);
	snprintf(a, sizeof(a), "%s/a.sock", dir);
	snprintf(b, sizeof(b), "%s/b.sock", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(dm.log, sizeof(dm.log), "%s/a.log", dir);
	REQUIRE(st_start_ready(&dm, &spa) == 0);
	snprintf(want, sizeof(want), "held by slubd pid %d", (int)dm.pid);
	text = st_expect_refusal(&spb, log, "a second slubd on the same directory", want, NULL);
	free(text);
	CHECKF(access(b, F_OK) != 0, "the refused slubd left its socket %s", b);
	CHECKF(e2e_cache_stats(a, "kmalloc-64", NULL, NULL) == 1, "the first slubd stopped serving");
	st_stop(&dm);
	st_rm_rf(dir);
}

E2E_CASE(two_daemons_file)
{
	char d1[64], d2[64], a[128], b[128], arena[128], log[128], want[64];
	char *argsa[] = { "--socket", a, "--arena-file", arena, "--arena-size", "64M",
		"--hugepages", "off", NULL };
	char *argsb[] = { "--socket", b, "--arena-file", arena, "--arena-size", "64M",
		"--hugepages", "off", NULL };
	struct st_spawn spa = { .args = argsa, .fds = { -1 } }, spb = { .args = argsb, .fds = { -1 } };
	struct st_daemon dm = { 0 };
	char *text;

	REQUIRE(st_mkdir_tmp(d1, sizeof(d1), "f1") == 0);
	REQUIRE(st_mkdir_tmp(d2, sizeof(d2), "f2") == 0);
	snprintf(a, sizeof(a), "%s/a.sock", d1);
	snprintf(b, sizeof(b), "%s/b.sock", d2);
	snprintf(arena, sizeof(arena), "%s/shared.arena", d1);
	snprintf(log, sizeof(log), "%s/b.log", d2);
	snprintf(dm.log, sizeof(dm.log), "%s/a.log", d1);
	REQUIRE(st_start_ready(&dm, &spa) == 0);
	snprintf(want, sizeof(want), "held by slubd pid %d", (int)dm.pid);
	text = st_expect_refusal(&spb, log, "a second slubd on the same --arena-file", want, arena);
	free(text);
	CHECKF(e2e_cache_stats(a, "kmalloc-64", NULL, NULL) == 1, "the first slubd stopped serving");
	st_stop(&dm);
	st_rm_rf(d1);
	st_rm_rf(d2);
}

/*
 * a client keeps the arena fd it was sent past slubd's stop and locks it (an
 * OFD write lock, and a flock): the next slubd still starts, adopts the arena
 * with its pools, and a second slubd is still refused, naming the first
 */
E2E_CASE(client_lock)
{
	char dir[64], sock[128], sock2[128], log[128], log2[128], want[64],
		*args[] = { "--socket", sock, "--arena-size", "64M", "--hugepages", "off", NULL },
		*args2[] = { "--socket", sock2, "--arena-size", "64M", "--hugepages", "off", NULL };
	struct st_spawn sp = { .args = args, .fds = { -1 } }, sp2 = { .args = args2, .fds = { -1 } };
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct st_daemon dm = { 0 };
	struct e2e_slubd ed;
	struct e2e_cache c;
	char *out = NULL, *text;
	int afd;

	REQUIRE(st_mkdir_tmp(dir, sizeof(dir), "clk") == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(sock2, sizeof(sock2), "%s/other.sock", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(log2, sizeof(log2), "%s/other.log", dir);
	snprintf(dm.log, sizeof(dm.log), "%s", log);
	memset(&ed, 0, sizeof(ed));
	snprintf(ed.sock, sizeof(ed.sock), "%s", sock);
	REQUIRE(st_start_ready(&dm, &sp) == 0);
	CHECKF(e2e_slubctl(&ed, &out, "create", "st.kept", "96", NULL) == 0, "slubctl create: %s",
	       out ? out : "");
	free(out);
	afd = st_client_arena_fd(sock);
	REQUIRE(afd >= 0);
	/* while slubd runs its lock covers the file: the client's is refused */
	CHECKF(fcntl(afd, F_OFD_SETLK, &fl) == -1, "a client took an OFD lock on the arena while "
	       "slubd held it");
	st_stop(&dm);
	CHECKF(fcntl(afd, F_OFD_SETLK, &fl) == 0, "the client could not lock the arena file once "
	       "slubd stopped: %s", strerror(errno));
	CHECKF(flock(afd, LOCK_EX | LOCK_NB) == 0, "flock: %s", strerror(errno));
	REQUIRE(!t_failed);
	if (st_start_ready(&dm, &sp) == 0) {
		CHECKF(e2e_cache_stats(sock, "st.kept", &c, NULL) == 1,
		       "st.kept did not survive the restart");
		snprintf(want, sizeof(want), "held by slubd pid %d", (int)dm.pid);
		text = st_expect_refusal(&sp2, log2, "a second slubd on the same arena file", want, NULL);
		free(text);
		st_stop(&dm);
	}
	close(afd);
	st_rm_rf(dir);
}

/*
 * two slubds started at the same moment on one directory (two sockets, one
 * arena file that neither has made yet), 10 times: each time exactly one
 * serves and the other refuses, saying the arena is in use
 */
E2E_CASE(racing_start)
{
	int served_total = 0;

	for (int round = 0; round < 10 && !t_failed; round++) {
		char dir[64], a[128], b[128], la[128], lb[128];
		char *argsa[] = { "--socket", a, "--arena-size", "64M", "--hugepages", "off", NULL };
		char *argsb[] = { "--socket", b, "--arena-size", "64M", "--hugepages", "off", NULL };
		struct st_spawn spa = { .args = argsa, .fds = { -1 } },
			     spb = { .args = argsb, .fds = { -1 } };
		pid_t pa, pb;
		int sa = -1, sb = -1, ra, rb;

		REQUIRE(st_mkdir_tmp(dir, sizeof(dir), "race") == 0);
		snprintf(a, sizeof(a), "%s/a.sock", dir);
		snprintf(b, sizeof(b), "%s/b.sock", dir);
		snprintf(la, sizeof(la), "%s/a.log", dir);
		snprintf(lb, sizeof(lb), "%s/b.log", dir);
		pa = st_start(&spa, la);
		pb = st_start(&spb, lb);
		REQUIRE(pa > 0 && pb > 0);
		ra = st_wait_ready(pa, la, 0, &sa, 10000);
		rb = st_wait_ready(pb, lb, 0, &sb, 10000);
		if (ra != 1 || rb != 1) {
			/* the other one's outcome, if it has none yet */
			if (ra == 1 && rb < 0)
				rb = st_wait_ready(pb, lb, 0, &sb, 3000);
			if (rb == 1 && ra < 0)
				ra = st_wait_ready(pa, la, 0, &sa, 3000);
		}
		{
			char *ta = st_slurp(la), *tb = st_slurp(lb);
			bool ok = (ra == 1 && rb == 0 && strstr(tb, "is in use")) ||
				  (rb == 1 && ra == 0 && strstr(ta, "is in use"));

			CHECKF(ok, "round %d: one slubd should serve and the other refuse (in use): "
			       "a: %s, b: %s\na's log:\n%s\nb's log:\n%s", round,
			       ra == 1 ? "serves" : ra == 0 ? "exited" : "neither",
			       rb == 1 ? "serves" : rb == 0 ? "exited" : "neither", ta, tb);
			free(ta);
			free(tb);
		}
		if (ra == 1)
			CHECKF(e2e_cache_stats(a, "kmalloc-64", NULL, NULL) == 1, "a does not answer");
		if (rb == 1)
			CHECKF(e2e_cache_stats(b, "kmalloc-64", NULL, NULL) == 1, "b does not answer");
		served_total += (ra == 1) + (rb == 1);
		kill(pa, SIGTERM);
		kill(pb, SIGTERM);
		e2e_waitpid_timeout(pa, e2e_scale_ms(5000));
		e2e_waitpid_timeout(pb, e2e_scale_ms(5000));
		st_rm_rf(dir);
	}
	printf("  %d slubds served over the rounds\n", served_total);
}

/* ---- paths another user prepared ----------------------------------------------------- */

/* an arena file made by a real slubd, at path, owned by uid, mode */
static int plant_arena(const char *path, uid_t uid, mode_t mode)
{
	char dir[64], sock[128], log[128], cmd[400], *args[] = { "--socket", sock, "--arena-size",
		"64M", "--hugepages", "off", NULL };
	struct st_spawn sp = { .args = args, .fds = { -1 } };
	struct st_daemon dm = { 0 };
	struct e2e_slubd ed;
	char *out = NULL;
	int rc;

	if (st_mkdir_tmp(dir, sizeof(dir), "plant"))
		return -1;
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(dm.log, sizeof(dm.log), "%s", log);
	memset(&ed, 0, sizeof(ed));
	snprintf(ed.sock, sizeof(ed.sock), "%s", sock);
	if (st_start_ready(&dm, &sp))
		return -1;
	CHECK(e2e_slubctl(&ed, &out, "create", "planted.pool", "64", NULL) == 0);
	free(out);
	st_stop(&dm);
	snprintf(cmd, sizeof(cmd), "cp '%s/slubd.arena' '%s' && chown %u:%u '%s' && chmod %o '%s'",
		 dir, path, (unsigned)uid, (unsigned)uid, path, (unsigned)mode, path);
	rc = st_run_cmd(cmd);
	CHECKF(rc == 0, "%s failed", cmd);
	st_rm_rf(dir);
	return rc ? -1 : 0;
}

E2E_CASE(squatted_tmp)
{
	char bindir[64], sq[64], planted[128], log[128], before[256], after[256], cmd[300];
	char *args[] = { "--arena-size", "64M", "--hugepages", "off", NULL };
	char *args_file[] = { "--arena-size", "64M", "--hugepages", "off", "--arena-file", planted,
			      NULL };
	struct st_spawn sp = { .args = args, .uid = VICTIM, .fds = { -1 }, .default_socket = 1 };
	uint64_t sum0, sum1;
	off_t size0, size1;
	struct stat st;
	char *text;

	if (geteuid() != 0)
		SKIP("needs root, to act as two other users (uids 65533 and 65534)");
	snprintf(sq, sizeof(sq), "/tmp/slubd-%u", VICTIM);
	if (lstat(sq, &st) == 0) {
		static char why[160];

		snprintf(why, sizeof(why), "%s exists already (not made by this test): left alone",
			 sq);
		SKIP(why);
	}
	REQUIRE(st_mkdir_tmp(bindir, sizeof(bindir), "bin") == 0);
	REQUIRE(chmod(bindir, 0711) == 0);
	sp.bin = st_slubd_copy(bindir);
	REQUIRE(sp.bin != NULL);
	snprintf(log, sizeof(log), "%s/victim.log", bindir);

	/* uid 65533 squats the victim's fallback directory, with an arena in it */
	REQUIRE(mkdir(sq, 0777) == 0);
	if (chown(sq, SQUATTER, SQUATTER) || chmod(sq, 0777)) {
		CHECKF(0, "chown/chmod %s: %s", sq, strerror(errno));
		goto out;
	}
	snprintf(planted, sizeof(planted), "%s/slubd.arena", sq);
	if (plant_arena(planted, SQUATTER, 0666))
		goto out;
	REQUIRE(st_file_sum(planted, &sum0, &size0) == 0);
	st_list_dir(sq, before, sizeof(before));
	text = st_expect_refusal(&sp, log, "a /tmp/slubd-UID made by another uid, mode 0777", sq,
			      "refusing");
	free(text);
	st_list_dir(sq, after, sizeof(after));
	CHECKF(!strcmp(before, after), "the victim's slubd wrote into the squatted %s: before "
	       "\"%s\", after \"%s\"", sq, before, after);
	CHECKF(st_file_sum(planted, &sum1, &size1) == 0 && sum1 == sum0 && size1 == size0,
	       "the planted arena %s was changed", planted);

	/*
	 * the directory the victim's own (0700), the arena in it another user's;
	 * named, since the default next to the socket is refused where /tmp is a disk
	 */
	snprintf(cmd, sizeof(cmd), "chown %u:%u '%s' && chmod 0700 '%s'", VICTIM, VICTIM, sq, sq);
	REQUIRE(st_run_cmd(cmd) == 0);
	sp.args = args_file;
	text = st_expect_refusal(&sp, log, "an arena file of another uid in slubd's own directory",
			      planted, "belongs to uid 65533");
	free(text);
	CHECKF(st_file_sum(planted, &sum1, &size1) == 0 && sum1 == sum0 && size1 == size0,
	       "the planted arena %s was changed", planted);
out:
	st_rm_rf(sq);
	st_rm_rf(bindir);
}

E2E_CASE(symlinked_paths)
{
	char bindir[64], home[64], victim[64], link[128], sock[160], log[128], planted[128];
	char before[256], after[256], cmd[400];
	char *args[] = { "--socket", sock, "--arena-size", "64M", "--hugepages", "off", NULL };
	struct st_spawn sp = { .args = args, .uid = VICTIM, .fds = { -1 } };
	uint64_t sum0, sum1;
	off_t size0, size1;
	char *text;

	if (geteuid() != 0)
		SKIP("needs root, to act as two other users (uids 65533 and 65534)");
	REQUIRE(st_mkdir_tmp(bindir, sizeof(bindir), "bin") == 0);
	REQUIRE(chmod(bindir, 0711) == 0);
	sp.bin = st_slubd_copy(bindir);
	REQUIRE(sp.bin != NULL);
	snprintf(log, sizeof(log), "%s/slubd.log", bindir);
	REQUIRE(chmod(log, 0666) == 0 || errno == ENOENT);
	/* slubd's own directory (uid 65534), and another user's, open to all */
	REQUIRE(st_mkdir_tmp(home, sizeof(home), "home") == 0);
	REQUIRE(st_mkdir_tmp(victim, sizeof(victim), "other") == 0);
	snprintf(cmd, sizeof(cmd), "chown %u:%u '%s' && chown %u:%u '%s' && chmod 0777 '%s'",
		 VICTIM, VICTIM, home, SQUATTER, SQUATTER, victim, victim);
	REQUIRE(st_run_cmd(cmd) == 0);

	/* the socket's directory is a link into the other user's directory */
	snprintf(link, sizeof(link), "%s/run", home);
	REQUIRE(symlink(victim, link) == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", link);
	st_list_dir(victim, before, sizeof(before));
	text = st_expect_refusal(&sp, log, "a socket directory that is a symbolic link", link,
			      "symbolic link");
	free(text);
	st_list_dir(victim, after, sizeof(after));
	CHECKF(!strcmp(before, after), "slubd wrote through the link into %s: before \"%s\", "
	       "after \"%s\"", victim, before, after);

	/* the arena file is a link to an arena another user planted */
	snprintf(planted, sizeof(planted), "%s/planted.arena", victim);
	if (plant_arena(planted, SQUATTER, 0666))
		goto out;
	REQUIRE(st_file_sum(planted, &sum0, &size0) == 0);
	snprintf(link, sizeof(link), "%s/slubd.arena", home);
	REQUIRE(symlink(planted, link) == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", home);
	text = st_expect_refusal(&sp, log, "an arena file that is a symbolic link", link,
			      "symbolic link");
	free(text);
	CHECKF(st_file_sum(planted, &sum1, &size1) == 0 && sum1 == sum0 && size1 == size0,
	       "the planted arena %s was changed", planted);
out:
	st_rm_rf(home);
	st_rm_rf(victim);
	st_rm_rf(bindir);
}

/* ---- the backing, said; the default arena on a disk refused; --ready-fd ----------------- */

/* the arena's backing as a stats reply says it ("" with a failed check) */
static void backing_of(const char *sock, char *out, size_t len)
{
	struct e2e_arena ar;

	memset(&ar, 0, sizeof(ar));
	CHECKF(e2e_cache_stats(sock, "kmalloc-64", NULL, &ar) == 1, "stats on %s", sock);
	snprintf(out, len, "%s", ar.backing);
}

/*
 * the default arena file next to a socket on a disk is not made: the arena is
 * a memfd, and the log says why and what keeps pools; a named arena's default file
 * (DIR/NAME.arena) there; named with --arena-file it is used,
 * and stats say "file on FS PATH"; next to a socket on tmpfs it is the
 * default, "tmpfs file PATH"
 */
E2E_CASE(default_on_disk)
{
	long ftype = 0;
	const char *disk = t_disk_dir(&ftype);
	char dir[96], sock[160], arena[160], log[160], backing[320], want[400], left[256];
	char *args[] = { "--socket", sock, "--arena-size", "32M", "--hugepages", "off", NULL };
	char *args_file[] = { "--socket", sock, "--arena-size", "32M", "--hugepages", "off",
			      "--arena-file", arena, NULL }, conf[160];
	struct st_spawn sp = { .args = args, .fds = { -1 } };
	struct st_daemon dm = { 0 };
	char *text;

	if (!disk)
		SKIP("none of $TMPDIR, /var/tmp, /tmp is on a disk's file system");
	snprintf(dir, sizeof(dir), "%s/slubd-st-disk.XXXXXX", disk);
	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(arena, sizeof(arena), "%s/slubd.arena", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(dm.log, sizeof(dm.log), "%s", log);
	/* the default: no file on the disk, a memfd instead, and the log says why */
	if (st_start_ready(&dm, &sp) == 0) {
		backing_of(sock, backing, sizeof(backing));
		CHECKF(!strcmp(backing, "memfd"), "backing '%s' next to a socket on a disk, "
		       "want 'memfd'", backing);
		st_list_dir(dir, left, sizeof(left));
		CHECKF(access(arena, F_OK) != 0, "slubd made the arena file on the disk: %s", left);
		text = st_slurp(log);
		CHECKF(strstr(text, "would be on") && strstr(text, "a memfd of normal pages instead") &&
		       strstr(text, "tmpfs") && strstr(text, "--arena-file PATH"), "the log does not "
		       "say why the arena is a memfd and what keeps pools:\n%s", text);
		free(text);
		st_stop(&dm);
	}

	/* a named arena's default file, next to the default socket: refused too */
	snprintf(conf, sizeof(conf), "%s/slubd.conf", dir);
	REQUIRE(e2e_write_file(conf, "[arena t1]\nsize = 16M\n") == 0);
	{
		char *argv[] = { (char *)e2e_need_bin("SLUBD", "slubd"), "--socket", sock,
				 "--arena-size", "32M", "--hugepages", "off", "--arena-file", arena,
				 "--config", conf, NULL }, *out = NULL;
		int rc = e2e_run(argv, &out, e2e_scale_ms(10000));

		CHECKF(rc == 1 && out && strstr(out, "t1.arena would be on") &&
		       strstr(out, "[arena t1] file = PATH"), "a named arena's default file on a "
		       "disk: exit %d, want 1 with the refusal:\n%s", rc, out ? out : "");
		free(out);
	}

	/* asked for: served, and said to be on that disk */
	sp.args = args_file;
	if (st_start_ready(&dm, &sp) == 0) {
		backing_of(sock, backing, sizeof(backing));
		printf("  %s\n", backing);
		CHECKF(e2e_backing_is_file(backing, arena) && !strncmp(backing, "file on ", 8),
		       "backing '%s', want 'file on FS %s'", backing, arena);
		if (ftype == 0xEF53) {	/* EXT4_SUPER_MAGIC */
			snprintf(want, sizeof(want), "file on ext4 %s", arena);
			CHECKF(!strcmp(backing, want), "backing '%s', want '%s'", backing, want);
		}
		text = st_slurp(log);
		CHECKF(strstr(text, want) && strstr(text, "a disk, as asked"), "the log does not "
		       "say the arena is on a disk, as asked:\n%s", text);
		free(text);
		st_stop(&dm);
	}
	st_rm_rf(dir);

	/* on tmpfs: the default place, said so */
	if (!e2e_tmpfs())
		SKIP("no tmpfs at /dev/shm for the default place");
	sp.args = args;
	REQUIRE(st_mkdir_tmp(dir, sizeof(dir), "mem") == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(arena, sizeof(arena), "%s/slubd.arena", dir);
	snprintf(dm.log, sizeof(dm.log), "%s/slubd.log", dir);
	if (st_start_ready(&dm, &sp) == 0) {
		backing_of(sock, backing, sizeof(backing));
		snprintf(want, sizeof(want), "tmpfs file %s", arena);
		CHECKF(!strcmp(backing, want), "backing '%s', want '%s'", backing, want);
		text = st_slurp(dm.log);
		CHECKF(strstr(text, want), "the log does not say '%s':\n%s", want, text);
		free(text);
		st_stop(&dm);
	}
	st_rm_rf(dir);
}

/* what comes on fd within a few seconds, to EOF ("" if nothing) */
static char *drain(int fd)
{
	char *buf = NULL;
	size_t len = 0;

	e2e_read_all(fd, &buf, &len, e2e_scale_ms(10000));
	return buf ? buf : strdup("");
}

/* start slubd with args, a pipe's write end as fd 3 (--ready-fd 3): what came on it, to EOF */
static char *start_ready_fd(struct st_daemon *dm, struct st_spawn *sp, char *const *args)
{
	char *text;
	int p[2];

	if (pipe2(p, O_CLOEXEC)) {
		CHECKF(0, "pipe: %s", strerror(errno));
		return strdup("");
	}
	sp->args = args;
	sp->fds[0] = p[1];
	dm->pid = st_start(sp, dm->log);
	close(p[1]);
	CHECKF(dm->pid > 0, "fork: %s", strerror(errno));
	text = dm->pid > 0 ? drain(p[0]) : strdup("");	/* to EOF: the line, then closed */
	close(p[0]);
	return text;
}

/*
 * --ready-fd N: the line "ready" comes once the socket serves (a stats request
 * sent right after it is answered, with no retry), then the fd is closed; with
 * named arenas, once every arena's socket serves; a slubd that cannot start
 * closes it without the line; a bad N is a usage error (exit 2)
 */
E2E_CASE(ready_fd)
{
	char dir[96], sock[160], tsock[160], conf[200], *line = NULL;
	char *args[] = { "--socket", sock, "--arena-size", "32M", "--hugepages", "off",
			 "--ready-fd", "3", NULL };
	char *args_conf[] = { "--socket", sock, "--arena-size", "32M", "--hugepages", "off",
			      "--ready-fd", "3", "--config", conf, NULL };
	char *args_bad[] = { "--socket", "/nonexistent-slubd-dir/x/slubd.sock", "--hugepages",
			     "off", "--ready-fd", "3", NULL };
	struct st_spawn sp = { .args = args, .fds = { -1, -1 }, .plain_fds = 1 };
	struct st_daemon dm = { 0 };

	REQUIRE(st_mkdir_tmp(dir, sizeof(dir), "rdy") == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(tsock, sizeof(tsock), "%s/t1.sock", dir);
	snprintf(conf, sizeof(conf), "%s/slubd.conf", dir);
	snprintf(dm.log, sizeof(dm.log), "%s/slubd.log", dir);

	/* one arena */
	line = start_ready_fd(&dm, &sp, args);
	CHECKF(!strcmp(line, "ready\n"), "--ready-fd gave '%s', want 'ready\\n' then EOF", line);
	free(line);
	CHECKF(e2e_cache_stats(sock, "kmalloc-64", NULL, NULL) == 1, "a request right after the "
	       "ready line was not answered");
	st_stop(&dm);

	/* named arenas: the supervisor's line, once both serve */
	REQUIRE(e2e_write_file(conf, "[arena t1]\nsize = 16M\nhugepages = off\n") == 0);
	line = start_ready_fd(&dm, &sp, args_conf);
	CHECKF(!strcmp(line, "ready\n"), "--ready-fd with named arenas gave '%s'", line);
	free(line);
	CHECKF(e2e_cache_stats(sock, "kmalloc-64", NULL, NULL) == 1, "the default arena did not "
	       "answer right after the ready line");
	CHECKF(e2e_cache_stats(tsock, "kmalloc-64", NULL, NULL) == 1, "arena t1 did not answer "
	       "right after the ready line");
	st_stop(&dm);

	/* cannot start: EOF, no line */
	line = start_ready_fd(&dm, &sp, args_bad);
	CHECKF(!line[0], "a slubd that could not start wrote '%s' on --ready-fd", line);
	free(line);
	{
		int status = e2e_waitpid_timeout(dm.pid, e2e_scale_ms(10000));

		CHECKF(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 1,
		       "a slubd that could not start: status %#x", status);
		dm.pid = 0;
	}

	/* a bad descriptor: a usage error */
	{
		const char *bin = e2e_need_bin("SLUBD", "slubd");
		const char *bad[] = { "2", "77", "x3", "-1" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char *argv[] = { (char *)bin, "--socket", sock, "--ready-fd", (char *)bad[i],
					 NULL }, *out = NULL;
			int rc = e2e_run(argv, &out, e2e_scale_ms(10000));

			CHECKF(rc == 2 && out && strstr(out, "--ready-fd"), "--ready-fd %s: exit %d, "
			       "want 2 naming the option: %s", bad[i], rc, out ? out : "");
			free(out);
		}
	}
	st_rm_rf(dir);
}

/*
 * huge pages by default when reserved (hugepages auto), in a private mount
 * namespace where only the case's own hugetlbfs mount is seen: an arena
 * file an earlier slubd left next to the socket is adopted (pools kept, the
 * reason said); without it and without a mount, a memfd of huge pages
 * ("hugetlb", its life slubd's, said in the log); with a mount, MOUNT/slubd-UID/slubd.arena, its directory made 0700, whose
 * pools the next slubd adopts.  Changes the host's vm.nr_hugepages for a few
 * seconds (put back): SLUBD_TEST_HUGETLB=1, as root.
 */
E2E_CASE(hugepages_default)
{
	char dir[96], sock[160], mnt[160] = "", priv[200] = "", other[160], want[300];
	char backing[320], was[32] = "";
	char *args[] = { "--socket", sock, "--arena-size", "32M", NULL }, file[160];
	char *args_off[] = { "--socket", sock, "--arena-size", "32M", "--hugepages", "off", NULL };
	struct st_spawn sp = { .args = args, .fds = { -1 } };
	struct st_daemon dm = { 0 };
	struct e2e_slubd ctl = { 0 };
	bool mounted;
	struct stat st;
	char line[1024], *text, *out = NULL;
	FILE *f;
	int hfd;

	if (!getenv("SLUBD_TEST_HUGETLB"))
		SKIP("changes the host's vm.nr_hugepages: set SLUBD_TEST_HUGETLB=1 (as root)");
	if (geteuid() != 0)
		SKIP("needs root, to reserve huge pages and mount hugetlbfs");
	if (!e2e_tmpfs())
		SKIP("no tmpfs at /dev/shm for the socket");
	/* a mount namespace of the case's own: no hugetlbfs mount but the one made here */
	REQUIRE(unshare(CLONE_NEWNS) == 0);
	REQUIRE(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
	for (int more = 1; more;) {
		more = 0;
		f = fopen("/proc/self/mountinfo", "re");
		REQUIRE(f != NULL);
		while (fgets(line, sizeof(line), f)) {
			const char *sep = strstr(line, " - hugetlbfs ");

			if (sep && sscanf(line, "%*s %*s %*s %*s %159s", other) == 1 &&
			    umount2(other, MNT_DETACH) == 0)
				more = 1;
		}
		fclose(f);
	}
	f = fopen("/proc/sys/vm/nr_hugepages", "re");
	REQUIRE(f && fgets(was, sizeof(was), f));
	fclose(f);
	hfd = open("/proc/sys/vm/nr_hugepages", O_WRONLY | O_CLOEXEC);
	REQUIRE(hfd >= 0);
	{
		char n[32];
		int len = snprintf(n, sizeof(n), "%d", atoi(was) + 20);	/* 16 for the arena */

		CHECKF(write(hfd, n, (size_t)len) == len, "vm.nr_hugepages: %s", strerror(errno));
	}
	if (t_failed || st_mkdir_tmp(dir, sizeof(dir), "hdf"))
		goto out_pages;
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(dm.log, sizeof(dm.log), "%s/slubd.log", dir);
	snprintf(ctl.sock, sizeof(ctl.sock), "%s", sock);

	/* an arena file an earlier slubd left next to the socket: adopted, its pools kept */
	snprintf(file, sizeof(file), "%s/slubd.arena", dir);
	sp.args = args_off;
	if (st_start_ready(&dm, &sp))
		goto out;
	CHECKF(e2e_slubctl(&ctl, &out, "create", "hp.file", "64", NULL) == 0, "create: %s",
	       out ? out : "");
	free(out);
	st_stop(&dm);
	sp.args = args;
	if (st_start_ready(&dm, &sp))
		goto out;
	backing_of(sock, backing, sizeof(backing));
	snprintf(want, sizeof(want), "tmpfs file %s", file);
	CHECKF(!strcmp(backing, want) && e2e_cache_stats(sock, "hp.file", NULL, NULL) == 1,
	       "the earlier arena file was not adopted with its pool: backing '%s'", backing);
	st_stop(&dm);
	text = st_slurp(dm.log);
	CHECKF(strstr(text, "huge pages are reserved, but"), "the log does not say why the "
	       "huge pages are not used:\n%s", text);
	free(text);
	CHECKF(unlink(file) == 0, "unlink %s: %s", file, strerror(errno));

	/* no hugetlbfs mount, no file: a memfd of huge pages, said to last slubd's life */
	if (st_start_ready(&dm, &sp))
		goto out;
	backing_of(sock, backing, sizeof(backing));
	CHECKF(!strcmp(backing, "hugetlb"), "backing '%s' with huge pages reserved, want "
	       "'hugetlb' (a memfd of huge pages)", backing);
	st_stop(&dm);
	text = st_slurp(dm.log);
	CHECKF(strstr(text, "huge pages in a memfd") && strstr(text, "last as long as this slubd"),
	       "the log does not say the memfd lasts slubd's life:\n%s", text);
	free(text);

	/* a hugetlbfs mount: the arena in a private directory there, kept for the next slubd */
	snprintf(mnt, sizeof(mnt), "%s/huge", dir);	/* under a slubd-st- directory: rm_rf'ed */
	snprintf(priv, sizeof(priv), "%s/slubd-0", mnt);
	mounted = mkdir(mnt, 0755) == 0 &&
		  mount("hugetlbfs", mnt, "hugetlbfs", 0, "pagesize=2M,mode=0755") == 0;
	CHECKF(mounted, "mount hugetlbfs on %s: %s", mnt, strerror(errno));
	if (!mounted || st_start_ready(&dm, &sp))
		goto out;
	backing_of(sock, backing, sizeof(backing));
	snprintf(want, sizeof(want), "hugetlb file %s/slubd.arena", priv);
	CHECKF(!strcmp(backing, want), "backing '%s', want '%s'", backing, want);
	CHECKF(stat(priv, &st) == 0 && (st.st_mode & 0777) == 0700, "%s: mode %o, want 0700",
	       priv, (unsigned)(st.st_mode & 0777));
	CHECKF(e2e_slubctl(&ctl, &out, "create", "hp.keep", "64", NULL) == 0, "create: %s",
	       out ? out : "");
	free(out);
	st_stop(&dm);
	if (st_start_ready(&dm, &sp))
		goto out;
	CHECKF(e2e_cache_stats(sock, "hp.keep", NULL, NULL) == 1, "the pool hp.keep did not "
	       "outlive slubd in %s", want);
	backing_of(sock, backing, sizeof(backing));
	CHECKF(strstr(backing, priv) != NULL, "after the restart: backing '%s'", backing);
	st_stop(&dm);
out:
	st_stop(&dm);
	if (t_failed) {
		text = st_slurp(dm.log);
		printf("  slubd's log:\n%s", text);
		free(text);
	}
	if (mnt[0]) {
		/* whatever slubd made in the mount holds huge pages: removed first */
		snprintf(line, sizeof(line), "rm -rf '%s'/*", mnt);
		(void)!st_run_cmd(line);
		umount2(mnt, MNT_DETACH);
	}
	st_rm_rf(dir);
out_pages:
	(void)!pwrite(hfd, was, strlen(was), 0);
	close(hfd);
}

T_MAIN(T_CASE(two_daemons_dir), T_CASE(two_daemons_file), T_CASE(client_lock),
       T_CASE(racing_start), T_CASE(squatted_tmp), T_CASE(symlinked_paths),
       T_CASE(default_on_disk), T_CASE(ready_fd), T_CASE(hugepages_default))
