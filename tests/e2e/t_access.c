/*
 * t_access.c - who may do what, with a second uid (CI runs as root; the
 * other uid is 65534, nobody).
 *
 *   destroy_other_uid  a uid the policy lets attach cannot force the
 *                      destruction of a pool another uid made; its own
 *                      (unforced) destroy of a pool it does not reference
 *                      changes nothing
 *   files_private      the arena file is the daemon's alone (0600), and the
 *                      socket (0660 by default) is closed to others
 *   hidden_proc_daemon slubd as its unit runs it: uid 65534 under a /proc
 *                      mounted hidepid=invisible, where its root clients are
 *                      invisible.  A root client holds 32 objects of a
 *                      SLAB_RECLAIM_DEAD pool while 10 others connect and
 *                      leave (each leaving makes slubd scrub): it keeps
 *                      them (still tagged, still its own, not handed out
 *                      again); killed, slubd frees them and says so
 */
#include <errno.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "e2e.h"
#include "harness.h"
#include "slub.h"

#define OTHER 65534

/* the other uid's attempts: forced destroy refused, unforced one a no-op */
static void other_child(void *arg)
{
	const char *sock = arg;
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__DestroyRequest dr = SLUBD__DESTROY_REQUEST__INIT;
	Slubd__Response *resp;
	struct ctl_conn c;
	char err[256];

	REQUIRE(setgroups(0, NULL) == 0 && setgid(OTHER) == 0 && setuid(OTHER) == 0);
	REQUIRE(ctl_connect(&c, sock, "t_access", err, sizeof(err)) == 0);
	dr.name = "acc.mine";
	dr.has_force = 1;
	dr.force = 1;
	req.body_case = SLUBD__REQUEST__BODY_DESTROY;
	req.destroy = &dr;
	REQUIRE(ctl_call(&c, &req, &resp, NULL, err, sizeof(err)) == 0);
	CHECKF(resp->err == EACCES, "forced destroy by uid %d: err %d (%s)", OTHER, resp->err,
	       resp->error ? resp->error : "");
	slubd__response__free_unpacked(resp, NULL);
	dr.force = 0;
	REQUIRE(ctl_call(&c, &req, &resp, NULL, err, sizeof(err)) == 0);
	CHECKF(resp->err == 0 && resp->body_case == SLUBD__RESPONSE__BODY_DESTROY &&
	       !resp->destroy->removed, "unforced destroy of a pool it does not hold: err %d",
	       resp->err);
	slubd__response__free_unpacked(resp, NULL);
	ctl_close(&c);
}

E2E_CASE(destroy_other_uid)
{
	static char why[128];
	struct e2e_opts o = {
		.config = "[access]\nsocket_mode = 0666\nallow_uids = 0 65534\n",
		.open_dir = 1,
	};
	struct e2e_slubd *d;
	struct kmem_cache *s;
	void *obj;

	if (geteuid() != 0) {
		snprintf(why, sizeof(why), "needs root to run a client as uid %d (running as uid %u)",
			 OTHER, (unsigned)geteuid());
		SKIP(why);
	}
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	REQUIRE(slub_attach(d->sock) == 0);
	s = kmem_cache_create("acc.mine", 64, 0, 0, NULL);
	REQUIRE(s != NULL);
	obj = kmem_cache_alloc(s, GFP_KERNEL);
	REQUIRE(obj != NULL);
	REQUIRE(t_wait(t_fork(other_child, d->sock), "the other uid's client"));
	/* the pool is still ours and works */
	CHECK(kmem_cache_create("acc.mine", 64, 0, 0, NULL) == s);
	kmem_cache_free(s, obj);
	obj = kmem_cache_alloc(s, GFP_KERNEL);
	CHECK(obj != NULL);
	kmem_cache_free(s, obj);
	slub_detach();
	e2e_stop(d);
}

E2E_CASE(files_private)
{
	struct e2e_slubd *d = e2e_start(NULL);
	char arena[200];
	struct stat sb;

	REQUIRE(d != NULL);
	snprintf(arena, sizeof(arena), "%s/slubd.arena", d->dir);
	REQUIRE(stat(arena, &sb) == 0);
	CHECKF((sb.st_mode & 0077) == 0, "the arena file is %04o: others may open it",
	       (unsigned)(sb.st_mode & 0777));
	CHECKF(sb.st_uid == geteuid(), "the arena file belongs to uid %u", (unsigned)sb.st_uid);
	REQUIRE(stat(d->sock, &sb) == 0);
	CHECKF((sb.st_mode & 0007) == 0, "the socket is %04o: others may connect",
	       (unsigned)(sb.st_mode & 0777));
	e2e_stop(d);
}

/* ---- hidden_proc_daemon ------------------------------------------------------ */

#define HID_HELD 32

struct hid_shared {
	int ready, go, verified, bad;
	char why[160];
};

static struct hid_shared *hs;

static void hid_bad(const char *why)
{
	if (!__atomic_exchange_n(&hs->bad, 1, __ATOMIC_ACQ_REL))
		snprintf(hs->why, sizeof(hs->why), "%s", why);
}

static int hid_wait(int *flag, int ms)
{
	for (int waited = 0; !__atomic_load_n(flag, __ATOMIC_ACQUIRE); waited += 5) {
		if (waited >= ms)
			return 0;
		t_sleep_ms(5);
	}
	return 1;
}

/* a root client holding HID_HELD tagged objects; dies holding them */
static void hid_holder(void *arg)
{
	const char *sock = arg;
	struct kmem_cache *s;
	uint64_t *held[HID_HELD];
	void *more[HID_HELD];

	if (slub_attach(sock) ||
	    !(s = kmem_cache_create("hid.reclaim", 64, 0, SLAB_RECLAIM_DEAD, NULL))) {
		hid_bad("the holder cannot attach or open its pool");
		_exit(1);
	}
	for (int i = 0; i < HID_HELD; i++) {
		held[i] = kmem_cache_alloc(s, 0);
		if (!held[i]) {
			hid_bad("the holder cannot allocate");
			_exit(1);
		}
		*held[i] = 0x71d0000000000000ULL + (uint64_t)i;
	}
	__atomic_store_n(&hs->ready, 1, __ATOMIC_RELEASE);
	hid_wait(&hs->go, 30000);
	for (int i = 0; i < HID_HELD; i++) {
		if (*held[i] != 0x71d0000000000000ULL + (uint64_t)i)
			hid_bad("an object the holder holds was overwritten");
		if (kmem_cache_owner(s, held[i]) != getpid())
			hid_bad("an object the holder holds is not its own any more");
	}
	for (int i = 0; i < HID_HELD; i++) {
		more[i] = kmem_cache_alloc(s, 0);
		for (int j = 0; j < HID_HELD; j++)
			if (more[i] == held[j])
				hid_bad("an object the holder holds was handed out again");
	}
	for (int i = 0; i < HID_HELD; i++)
		kmem_cache_free(s, more[i]);
	__atomic_store_n(&hs->verified, 1, __ATOMIC_RELEASE);
	pause();
}

/* a client that connects and leaves: slubd scrubs when it goes */
static void hid_flapper(void *arg)
{
	REQUIRE(slub_attach(arg) == 0);
	slub_detach();
}

static int log_has(const struct e2e_slubd *d, const char *needle)
{
	char buf[65536];
	FILE *f = fopen(d->log, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = 0;
	return strstr(buf, needle) != NULL;
}

E2E_CASE(hidden_proc_daemon)
{
	struct e2e_opts o = {
		.config = "[access]\nallow_uids = 0\n",
		.open_dir = 1,
		.run_as = OTHER,
	};
	char needle[96];
	struct e2e_slubd *d;
	struct e2e_cache c;
	pid_t h;

	if (geteuid() != 0)
		SKIP("needs root (slubd as another uid, a /proc mount)");
	REQUIRE(unshare(CLONE_NEWNS) == 0);
	REQUIRE(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
	REQUIRE(mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		      "hidepid=invisible") == 0);
	hs = mmap(NULL, sizeof(*hs), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	REQUIRE(hs != MAP_FAILED);
	d = e2e_start(&o);
	REQUIRE(d != NULL);
	h = t_fork(hid_holder, d->sock);
	REQUIRE(h > 0 && hid_wait(&hs->ready, 10000));
	for (int i = 0; i < 10; i++) {
		t_wait(t_fork(hid_flapper, d->sock), "a client that connects and leaves");
		t_sleep_ms(50);	/* its scrub */
	}
	__atomic_store_n(&hs->go, 1, __ATOMIC_RELEASE);
	CHECK(hid_wait(&hs->verified, 10000));
	CHECKF(!hs->bad, "slubd (uid %d, hidden /proc) took from a live root client: %s", OTHER,
	       hs->why);
	CHECK(e2e_cache_stats(d->sock, "hid.reclaim", &c, NULL) == 1);
	CHECKF(c.active_objs == HID_HELD, "the live holder's pool has %llu objects in use, not %d",
	       (unsigned long long)c.active_objs, HID_HELD);

	kill(h, SIGKILL);
	waitpid(h, NULL, 0);
	snprintf(needle, sizeof(needle), "pid %d died holding %d objects: freed", (int)h, HID_HELD);
	for (int i = 0; i < 50 && !log_has(d, needle); i++) {
		t_wait(t_fork(hid_flapper, d->sock), "a client that connects and leaves");
		t_sleep_ms(100);
	}
	CHECKF(log_has(d, needle), "slubd never found the holder's death (\"%s\")", needle);
	/*
	 * emptied: the pool shows no object in use, or is gone (no process
	 * references it and it holds nothing, so slubd removed it)
	 */
	{
		int rc = -1;

		for (int i = 0; i < 100; i++) {
			rc = e2e_cache_stats(d->sock, "hid.reclaim", &c, NULL);
			if (rc == 0 || (rc == 1 && c.active_objs == 0))
				break;
			t_sleep_ms(e2e_scale_ms(20));
		}
		CHECKF(rc == 0 || (rc == 1 && c.active_objs == 0), "after the holder died: stats %d, "
		       "%llu objects in use", rc, rc == 1 ? (unsigned long long)c.active_objs : 0ULL);
	}
	if (t_failed)
		e2e_show_log(d, 20);
	e2e_stop(d);
	munmap(hs, sizeof(*hs));
}

T_MAIN(T_CASE(destroy_other_uid), T_CASE(files_private), T_CASE(hidden_proc_daemon))
