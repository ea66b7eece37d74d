/*
 * t_store_cut.c - a file-backed or huge page arena that a client cuts, grows
 * and punches under slubd (issue 11).
 *
 * The helpers (slubd started by hand, private directories) are in
 * e2e_store.c.
 *
 *   file_cut_grow_punch a file-backed arena: a client grows the file, cuts it
 *                      to half while a pool's slabs (half their objects free,
 *                      so validate follows free pointers there) lie past the
 *                      cut, punches a hole; slubd answers stats and validate after each,
 *                      restores the size, and a restarted slubd adopts the
 *                      arena with its pools; then a cut to 1 MiB (into the
 *                      life words slubd's threads use): slubd answers
 *   cut_unrestorable   a cut slubd cannot undo (its RLIMIT_FSIZE lowered) under
 *                      a validate that walks the lost slabs holding the pool's
 *                      locks: slubd lives, the next validates are answered
 *                      (no lock left held), the size comes back later
 *   cut_at_start       a client cuts the arena file again and again while
 *                      slubd starts and adopts it: slubd never dies of SIGBUS
 *   hugetlb_punch      a huge page arena: a client punches a huge page and
 *                      takes the free one: slubd's touches fault for good
 *                      until it is let go; slubd answers, no lock stays held,
 *                      the page is mapped back (SLUBD_TEST_HUGETLB=1: it
 *                      changes vm.nr_hugepages)
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

/* ---- a file-backed arena, cut, grown and punched ------------------------------------- */

#define BIG_OBJS 8000		/* of 4000 bytes: ~32 MiB of slabs */

static int fill_n = BIG_OBJS;	/* fewer for a smaller arena */

static void fill_big(void *arg)
{
	const char *sock = arg;
	struct kmem_cache *s;
	char **objs;

	REQUIRE(slub_attach(sock) == 0);
	s = kmem_cache_create("st.big", 4000, 0, 0, NULL);
	REQUIRE(s != NULL);
	REQUIRE((objs = calloc((size_t)fill_n, sizeof(*objs))) != NULL);
	for (int i = 0; i < fill_n; i++) {
		objs[i] = kmem_cache_alloc(s, GFP_KERNEL);
		REQUIRE(objs[i] != NULL);
		memset(objs[i], 0x5a, 4000);
	}
	/* every other one freed: free pointers inside objects all over the slabs,
	 * which validate follows; exits holding the rest */
	for (int i = 0; i < fill_n; i += 2)
		kmem_cache_free(s, objs[i]);
	free(objs);
	slub_detach();
}

/*
 * a child cuts the arena file to cut bytes every millisecond for 1.5 s while
 * stats and validate are asked: each is answered (EFAULT allowed), slubd lives
 */
static void racing_cuts(struct st_daemon *dm, const char *sock, const char *log, int afd,
			off_t cut)
{
	pid_t cutter = fork();
	int faults_seen;
	char *text;

	REQUIRE(cutter >= 0);
	if (cutter == 0) {
		uint64_t end = t_now_ms() + 1500;

		while (t_now_ms() < end) {
			(void)!ftruncate(afd, cut);
			t_sleep_ms(1);
		}
		_exit(0);
	}
	for (int i = 0; i < 6; i++)
		CHECKF(st_answers(sock), "stats and validate were not answered while a client cut the "
		       "file to %lld bytes again and again", (long long)cut);
	e2e_waitpid_timeout(cutter, 5000);
	CHECKF(st_answers(sock), "stats and validate were not answered after the cutter");
	CHECKF(kill(dm->pid, 0) == 0 && waitpid(dm->pid, NULL, WNOHANG) == 0,
	       "slubd is gone after cuts to %lld bytes", (long long)cut);
	text = st_slurp(log);
	faults_seen = strstr(text, "while slubd used it") != NULL;
	free(text);
	printf("  cuts to %lld bytes during requests: %s\n", (long long)cut, faults_seen ?
	       "a SIGBUS in a request was handled (size restored, the request went on or "
	       "failed)" : "every cut was caught before a request (no SIGBUS this run)");
}

E2E_CASE(file_cut_grow_punch)
{
	char dir[64], sock[128], log[128], arena[128], *args[] = { "--socket", sock,
		"--arena-size", "64M", "--hugepages", "off", NULL };
	struct st_spawn sp = { .args = args, .fds = { -1 } };
	struct st_daemon dm = { 0 };
	struct e2e_slubd ed;
	struct e2e_cache c;
	struct stat st;
	char *out = NULL;
	int afd;

	REQUIRE(st_mkdir_tmp(dir, sizeof(dir), "cut") == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(arena, sizeof(arena), "%s/slubd.arena", dir);
	snprintf(dm.log, sizeof(dm.log), "%s", log);
	memset(&ed, 0, sizeof(ed));
	snprintf(ed.sock, sizeof(ed.sock), "%s", sock);
	REQUIRE(st_start_ready(&dm, &sp) == 0);
	CHECKF(e2e_slubctl(&ed, &out, "create", "st.kept", "96", NULL) == 0, "slubctl create: %s",
	       out ? out : "");
	free(out);
	REQUIRE(t_wait(t_fork(fill_big, sock), "a client filling st.big"));
	afd = st_client_arena_fd(sock);
	REQUIRE(afd >= 0);

	/* grown */
	CHECKF(ftruncate(afd, 2 * (off_t)ARENA_BYTES) == 0, "grow: %s", strerror(errno));
	st_still_serves(&dm, sock, "after the file was grown");
	/* cut to half: st.big's slabs lie past the cut */
	CHECKF(ftruncate(afd, ARENA_BYTES / 2) == 0, "cut: %s", strerror(errno));
	st_still_serves(&dm, sock, "after the file was cut to half");
	CHECKF(stat(arena, &st) == 0 && st.st_size == ARENA_BYTES,
	       "slubd did not restore the arena file's size: %lld bytes", (long long)st.st_size);
	/* cut again, then a hole */
	CHECKF(ftruncate(afd, ARENA_BYTES / 2) == 0, "cut: %s", strerror(errno));
	CHECKF(fallocate(afd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 8 * MIB, 4 * MIB) == 0,
	       "punch: %s", strerror(errno));
	st_still_serves(&dm, sock, "after a second cut and a hole");
	/* cuts racing slubd's walks: a SIGBUS inside a request, the handler's case */
	racing_cuts(&dm, sock, log, afd, ARENA_BYTES / 2);
	/* a last cut while no slubd looks: the next one restores it */
	st_stop(&dm);
	CHECKF(ftruncate(afd, ARENA_BYTES / 2) == 0, "cut: %s", strerror(errno));
	close(afd);
	REQUIRE(!t_failed);
	REQUIRE(st_start_ready(&dm, &sp) == 0);
	{
		char *text = st_slurp(log);

		CHECKF(strstr(text, "adopted an existing arena"), "the arena was not adopted after "
		       "the cuts:\n%s", text);
		free(text);
	}
	CHECKF(e2e_cache_stats(sock, "st.kept", &c, NULL) == 1, "st.kept did not survive");
	CHECKF(e2e_cache_stats(sock, "st.big", &c, NULL) == 1, "st.big did not survive");
	st_still_serves(&dm, sock, "after the restart");
	/* cut into the process slots (the life words slubd's threads use, mapped a
	 * second time apart from the arena): slubd survives that too (the pools
	 * past the cut are lost: zeros) */
	afd = st_client_arena_fd(sock);
	REQUIRE(afd >= 0);
	racing_cuts(&dm, sock, log, afd, MIB);
	close(afd);
	st_stop(&dm);
	st_rm_rf(dir);
}

/*
 * a cut slubd cannot undo (its RLIMIT_FSIZE below the arena's size, set by
 * us: any reason the restore fails) while a request walks st.big's slabs past
 * the cut under the pool's locks: the request ends (no lock is left held, so
 * the next requests on that pool are answered, not "busy" for ever), slubd
 * lives, and once the limit is lifted the next request restores the size
 */
E2E_CASE(cut_unrestorable)
{
	char dir[64], sock[128], log[128], arena[128], *args[] = { "--socket", sock,
		"--arena-size", "64M", "--hugepages", "off", NULL };
	struct st_spawn sp = { .args = args, .fds = { -1 } };
	struct rlimit low = { ARENA_BYTES / 2, RLIM_INFINITY },
		      high = { RLIM_INFINITY, RLIM_INFINITY };
	struct st_daemon dm = { 0 };
	struct e2e_validate v;
	struct stat st;
	int afd, last = -2;
	bool answered = false;

	REQUIRE(st_mkdir_tmp(dir, sizeof(dir), "unr") == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(arena, sizeof(arena), "%s/slubd.arena", dir);
	snprintf(dm.log, sizeof(dm.log), "%s", log);
	REQUIRE(st_start_ready(&dm, &sp) == 0);
	REQUIRE(t_wait(t_fork(fill_big, sock), "a client filling st.big"));
	afd = st_client_arena_fd(sock);
	REQUIRE(afd >= 0);
	REQUIRE(prlimit(dm.pid, RLIMIT_FSIZE, &low, NULL) == 0);
	CHECKF(ftruncate(afd, ARENA_BYTES / 2) == 0, "cut: %s", strerror(errno));
	/* the first walk meets the cut: any answer */
	CHECKF(e2e_validate(sock, "st.big", &v) == 0, "validate st.big not answered after a cut "
	       "slubd cannot undo");
	/* then the pool's locks must be free: an answer that is not busy, within 10 s */
	for (uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(10000);
	     !answered && t_now_ms() < end; t_sleep_ms(100)) {
		if (e2e_validate(sock, "st.big", &v))
			break;
		last = v.err;
		answered = v.err != EBUSY && v.err != EFAULT;
	}
	CHECKF(answered, "validate st.big after the unrestorable cut: %s (err %d: %s): a lock of "
	       "the pool stays held", last == -2 ? "no answer" : "busy or failed for 10 s", last,
	       v.first_error);
	CHECKF(kill(dm.pid, 0) == 0 && waitpid(dm.pid, NULL, WNOHANG) == 0,
	       "slubd is gone after a cut it could not undo");
	REQUIRE(!t_failed);
	/* the limit lifted: the next request puts the size back */
	REQUIRE(prlimit(dm.pid, RLIMIT_FSIZE, &high, NULL) == 0);
	st_still_serves(&dm, sock, "after the limit was lifted");
	CHECKF(stat(arena, &st) == 0 && st.st_size == ARENA_BYTES,
	       "the arena file's size was not restored: %lld bytes", (long long)st.st_size);
	CHECKF(e2e_validate(sock, "st.big", &v) == 0 && v.err != EBUSY && v.err != EFAULT,
	       "validate st.big after the size came back: err %d", v.err);
	/* again into the first chunk (the header, the life words mapped twice) */
	low.rlim_cur = MIB;
	REQUIRE(prlimit(dm.pid, RLIMIT_FSIZE, &low, NULL) == 0);
	CHECKF(ftruncate(afd, MIB) == 0, "cut: %s", strerror(errno));
	for (int i = 0; i < 3; i++)
		CHECKF(st_answers(sock), "stats and validate not answered after a cut to 1 MiB slubd "
		       "cannot undo");
	REQUIRE(prlimit(dm.pid, RLIMIT_FSIZE, &high, NULL) == 0);
	for (uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(10000);
	     t_now_ms() < end; t_sleep_ms(100))
		if (e2e_validate(sock, NULL, &v) == 0 && v.err != EBUSY && v.err != EFAULT)
			break;
	CHECKF(v.err != EBUSY && v.err != EFAULT, "validate after the cut to 1 MiB: err %d (%s)",
	       v.err, v.first_error);
	CHECKF(stat(arena, &st) == 0 && st.st_size == ARENA_BYTES,
	       "the arena file's size was not restored: %lld bytes", (long long)st.st_size);
	CHECKF(kill(dm.pid, 0) == 0 && waitpid(dm.pid, NULL, WNOHANG) == 0,
	       "slubd is gone after a cut to 1 MiB it could not undo");
	close(afd);
	st_stop(&dm);
	st_rm_rf(dir);
}

/*
 * a client that kept the arena file cuts it again and again while slubd
 * starts (adopting the arena: its pools walked, its references taken, its
 * pid written): slubd starts each time, or refuses with a message; it never
 * dies of a SIGBUS
 */
E2E_CASE(cut_at_start)
{
	char dir[64], sock[128], log[128], *args[] = { "--socket", sock,
		"--arena-size", "64M", "--hugepages", "off", NULL };
	struct st_spawn sp = { .args = args, .fds = { -1 } };
	struct st_daemon dm = { 0 };
	struct e2e_slubd ed;
	char *out = NULL;
	int afd, started = 0, sigbus = 0;
	pid_t cutter;

	REQUIRE(st_mkdir_tmp(dir, sizeof(dir), "cst") == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(dm.log, sizeof(dm.log), "%s", log);
	memset(&ed, 0, sizeof(ed));
	snprintf(ed.sock, sizeof(ed.sock), "%s", sock);
	REQUIRE(st_start_ready(&dm, &sp) == 0);
	for (int i = 0; i < 20; i++) {
		char name[32];

		snprintf(name, sizeof(name), "st.k%d", i);
		CHECKF(e2e_slubctl(&ed, &out, "create", name, "96", NULL) == 0, "create: %s",
		       out ? out : "");
		free(out);
		out = NULL;
	}
	REQUIRE(t_wait(t_fork(fill_big, sock), "a client filling st.big"));
	afd = st_client_arena_fd(sock);
	REQUIRE(afd >= 0);
	st_stop(&dm);
	REQUIRE(!t_failed);
	cutter = fork();
	REQUIRE(cutter >= 0);
	if (cutter == 0) {
		uint64_t end = t_now_ms() + 20000;

		while (t_now_ms() < end)
			(void)!ftruncate(afd, MIB);
		_exit(0);
	}
	for (int i = 0; i < 8 && !sigbus; i++) {
		size_t from = st_log_len(log);
		int status, rc;

		dm.pid = st_start(&sp, log);
		REQUIRE(dm.pid > 0);
		rc = st_wait_ready(dm.pid, log, from, &status, 10000);
		if (rc == 1) {
			started++;
			kill(dm.pid, SIGTERM);
			status = e2e_waitpid_timeout(dm.pid, e2e_scale_ms(5000));
		} else if (rc < 0) {
			kill(dm.pid, SIGKILL);
			waitpid(dm.pid, &status, 0);
		}
		if (WIFSIGNALED(status)) {
			char why[64];

			sigbus = 1;
			CHECKF(0, "slubd died while starting on an arena being cut: %s",
			       t_status_str(status, why, sizeof(why)));
		}
		dm.pid = 0;
	}
	kill(cutter, SIGKILL);
	waitpid(cutter, NULL, 0);
	printf("  %d of the starts served (the others refused)\n", started);
	{
		char *text = st_slurp(log), *p = text;

		while ((p = strstr(p, "cannot start")) != NULL) {
			char *nl = strchr(p, '\n');

			printf("  %.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
			p = nl ? nl : p + strlen(p);
		}
		free(text);
	}
	close(afd);
	st_rm_rf(dir);
}

/*
 * a huge page arena (a hugetlb memfd, sealed): a client punches a huge page
 * of it (seals cannot forbid that), which gives its reservation back, and
 * takes the free huge page: slubd's next touch of that page faults, and
 * faults again however often the size is "restored".  slubd goes on (the
 * page is zeros of its own until the huge page can be had again), its
 * requests are answered and leave no lock held; once the client lets the
 * huge page go, slubd maps the arena's page back.  It changes the host's
 * vm.nr_hugepages for a few seconds: run only with SLUBD_TEST_HUGETLB=1
 * (as root).
 */
E2E_CASE(hugetlb_punch)
{
	char dir[64], sock[128], log[128], *args[] = { "--socket", sock,
		"--arena-size", "32M", "--hugepages", "on", NULL };
	struct st_spawn sp = { .args = args, .fds = { -1 } };
	struct st_daemon dm = { 0 };
	struct e2e_validate v;
	char was[32] = "0";
	void *hp[16];
	int afd, hfd, answered = 0, nr_hp = 0;
	FILE *f;

	if (!getenv("SLUBD_TEST_HUGETLB"))
		SKIP("changes the host's vm.nr_hugepages: set SLUBD_TEST_HUGETLB=1 (as root)");
	if (geteuid() != 0)
		SKIP("needs root, to reserve huge pages");
	f = fopen("/proc/sys/vm/nr_hugepages", "re");
	REQUIRE(f && fgets(was, sizeof(was), f));
	fclose(f);
	hfd = open("/proc/sys/vm/nr_hugepages", O_WRONLY | O_CLOEXEC);
	REQUIRE(hfd >= 0);
	REQUIRE(st_mkdir_tmp(dir, sizeof(dir), "hug") == 0);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(log, sizeof(log), "%s/slubd.log", dir);
	snprintf(dm.log, sizeof(dm.log), "%s", log);
	/* the arena's 16 huge pages and not one more (put back at the end) */
	{
		char want[32];
		int n = snprintf(want, sizeof(want), "%d", atoi(was) + 16);

		CHECKF(write(hfd, want, (size_t)n) == n, "vm.nr_hugepages: %s", strerror(errno));
	}
	if (t_failed || st_start_ready(&dm, &sp))
		goto out;
	fill_n = 3000;		/* ~12 MiB of slabs */
	if (!t_wait(t_fork(fill_big, sock), "a client filling st.big"))
		goto out;
	afd = st_client_arena_fd(sock);
	if (afd < 0)
		goto out;
	/*
	 * all but the first huge page (st.big's slabs) punched: they go back
	 * to the pool, and their reservations with them; then taken, every
	 * free huge page, by the client
	 */
	CHECKF(fallocate(afd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 2 * MIB, 30 * MIB) == 0,
	       "punch: %s", strerror(errno));
	while (nr_hp < 16) {
		void *h = mmap(NULL, 2 * MIB, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);

		if (h == MAP_FAILED)
			break;
		memset(h, 1, 2 * MIB);
		hp[nr_hp++] = h;
	}
	printf("  the client took %d free huge pages\n", nr_hp);
	CHECKF(nr_hp > 0, "no huge page came free with the punch");
	for (int i = 0; i < 3; i++)
		CHECKF(st_answers(sock), "stats and validate not answered with the huge pages lost");
	if (t_failed)
		goto out;
	for (uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(10000);
	     !answered && t_now_ms() < end; t_sleep_ms(100))
		answered = e2e_validate(sock, "st.big", &v) == 0 && v.err != EBUSY &&
			   v.err != EFAULT;
	CHECKF(answered, "validate st.big with the huge pages lost: busy or failed for 10 s (err "
	       "%d: %s): a lock stays held", v.err, v.first_error);
	/* the client lets the huge pages go: slubd maps the arena's pages back */
	while (nr_hp > 0)
		munmap(hp[--nr_hp], 2 * MIB);
	st_still_serves(&dm, sock, "after the huge page was let go");
	{
		char *text = st_slurp(log);

		printf("  slubd: %s\n", strstr(text, "mapped back") ? "the lost page was mapped back" :
		       strstr(text, "cut to") ? "a fault was handled" : "no fault met");
		CHECKF(!strstr(text, "cannot be mapped back") || strstr(text, "is mapped back"),
		       "the lost page was never mapped back:\n%s", text);
		free(text);
	}
	close(afd);
out:
	st_stop(&dm);
	while (nr_hp > 0)
		munmap(hp[--nr_hp], 2 * MIB);
	(void)!pwrite(hfd, was, strlen(was), 0);
	close(hfd);
	if (t_failed) {
		char *text = st_slurp(log);

		printf("  slubd's log:\n%s", text);
		free(text);
	}
	st_rm_rf(dir);
}

T_MAIN(T_CASE(file_cut_grow_punch), T_CASE(cut_unrestorable), T_CASE(cut_at_start),
       T_CASE(hugetlb_punch))
