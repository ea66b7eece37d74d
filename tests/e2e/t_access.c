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
 */
#include <errno.h>
#include <grp.h>
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
	REQUIRE(e2e_wait(e2e_fork(other_child, d->sock), "the other uid's client"));
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

T_MAIN(T_CASE(destroy_other_uid), T_CASE(files_private))
