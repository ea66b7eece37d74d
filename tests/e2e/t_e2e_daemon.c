/*
 * t_e2e_daemon.c - end-to-end tests of slubd itself: validate, the config
 * file, the command line, the scrubber.
 *
 * Every case starts its own slubd (64 MiB arena, no huge pages) on a socket
 * in a private directory, runs in a forked child of its own (a fresh,
 * never-attached library) under a timeout, and ends by checking that slubd
 * is still alive and exits 0 on SIGTERM.  See e2e.h.
 *
 *   validate_corrupt     validate and slubctl validate see a write after free
 *   config_limits        max_clients and max_refs of the config file
 *   config_file          [arena] size and socket_mode of the config file; the
 *                        command line wins
 *   config_max_caches    [limits] max_caches
 *   command_line         slubd's command line: --help, bad values, a busy socket
 *   scrub_interval       [limits] scrub_interval: slubd scrubs on its own
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"
#include "slub.h"

/* ---- validate sees corruption ---------------------------------------------------------- */

E2E_CASE(validate_corrupt)
{
	struct e2e_slubd *d = e2e_start(NULL);
	struct kmem_cache *p, *clean;
	struct e2e_validate v;
	uint8_t *keep, *freed;
	char *out = NULL;
	int rc;

	REQUIRE(d != NULL);
	REQUIRE(slub_attach(d->sock) == 0);
	clean = kmem_cache_create("e2e.clean", 64, 0, 0, NULL);
	p = kmem_cache_create("e2e.poison", 64, 0, SLAB_POISON, NULL);
	REQUIRE(clean && p);
	CHECK(kmem_cache_alloc(clean, GFP_KERNEL) != NULL);
	keep = kmem_cache_alloc(p, GFP_KERNEL);
	freed = kmem_cache_alloc(p, GFP_KERNEL);
	REQUIRE(keep && freed);
	kmem_cache_free(p, freed);

	rc = e2e_slubctl(d, &out, "validate", NULL);
	CHECKF(rc == 0, "slubctl validate before any corruption: exit %d:\n%s", rc, out ? out : "");
	free(out);

	freed[10] = 0;		/* a write after free */
	REQUIRE(e2e_validate(d->sock, "e2e.poison", &v) == 0);
	CHECKF(v.errors > 0 && v.first_error[0], "validate e2e.poison after a write after free: "
	       "err %d, %llu errors", v.err, (unsigned long long)v.errors);
	rc = e2e_slubctl(d, &out, "validate", "e2e.poison", NULL);
	CHECKF(rc == 1, "slubctl validate e2e.poison after a write after free: exit %d, want 1:\n%s",
	       rc, out ? out : "");
	free(out);
	rc = e2e_slubctl(d, &out, "validate", NULL);
	CHECKF(rc == 1, "slubctl validate (all) after a write after free: exit %d, want 1:\n%s", rc,
	       out ? out : "");
	free(out);
	rc = e2e_slubctl(d, &out, "validate", "e2e.clean", NULL);
	CHECKF(rc == 0, "slubctl validate e2e.clean (untouched): exit %d:\n%s", rc, out ? out : "");
	free(out);
	REQUIRE(e2e_validate(d->sock, "e2e.clean", &v) == 0);
	CHECKF(v.err == 0 && v.errors == 0 && v.allocated == 1, "validate e2e.clean: err %d errors %llu "
	       "allocated %llu", v.err, (unsigned long long)v.errors, (unsigned long long)v.allocated);

	/* double frees that slub.h says are caught: reported, counted, ignored */
	{
		struct kmem_cache *rz = kmem_cache_create("e2e.df.rz", 64, 0, SLAB_RED_ZONE, NULL);
		struct kmem_cache *pl = kmem_cache_create("e2e.df.plain", 64, 0, 0, NULL);
		struct e2e_cache c = { .errors = 0 };
		void *a, *b, *x, *y;

		REQUIRE(rz && pl);
		a = kmem_cache_alloc(rz, GFP_KERNEL);
		b = kmem_cache_alloc(rz, GFP_KERNEL);
		REQUIRE(a && b);
		kmem_cache_free(rz, a);
		kmem_cache_free(rz, b);
		kmem_cache_free(rz, a);		/* a is not at the head: caught in a debug pool */
		x = kmem_cache_alloc(rz, GFP_KERNEL);
		y = kmem_cache_alloc(rz, GFP_KERNEL);
		CHECKF(x && y && x != y, "after an ignored double free: the same object twice (%p, %p)", x, y);
		CHECKF(e2e_cache_stats(d->sock, "e2e.df.rz", &c, NULL) == 1 && c.errors >= 1,
		       "e2e.df.rz: %llu errors counted after a double free", (unsigned long long)c.errors);
		CHECKF(c.active_objs == 2, "e2e.df.rz: active_objs %llu, want 2", (unsigned long long)c.active_objs);
		REQUIRE(e2e_validate(d->sock, "e2e.df.rz", &v) == 0);
		CHECKF(v.errors == 0 && v.allocated == 2, "validate e2e.df.rz after an ignored double free: "
		       "%llu errors (%s), allocated %llu", (unsigned long long)v.errors, v.first_error,
		       (unsigned long long)v.allocated);

		a = kmem_cache_alloc(pl, GFP_KERNEL);
		REQUIRE(a != NULL);
		kmem_cache_free(pl, a);
		kmem_cache_free(pl, a);		/* at the head of the freelist: caught anywhere */
		x = kmem_cache_alloc(pl, GFP_KERNEL);
		y = kmem_cache_alloc(pl, GFP_KERNEL);
		CHECKF(x && y && x != y, "plain pool, after an ignored double free: the same object twice "
		       "(%p, %p)", x, y);
		CHECKF(e2e_cache_stats(d->sock, "e2e.df.plain", &c, NULL) == 1 && c.errors >= 1,
		       "e2e.df.plain: %llu errors counted after a double free", (unsigned long long)c.errors);
		kmem_cache_free(pl, &c);	/* not an object of the arena at all */
		kmem_cache_free(pl, keep);	/* an object of another pool */
		REQUIRE(e2e_cache_stats(d->sock, "e2e.df.plain", &c, NULL) == 1);
		CHECKF(c.active_objs == 2, "e2e.df.plain: active_objs %llu after bad frees, want 2",
		       (unsigned long long)c.active_objs);
		REQUIRE(e2e_validate(d->sock, "e2e.df.plain", &v) == 0);
		CHECKF(v.errors == 0 && v.allocated == 2, "validate e2e.df.plain: %llu errors (%s), "
		       "allocated %llu", (unsigned long long)v.errors, v.first_error,
		       (unsigned long long)v.allocated);
		REQUIRE(e2e_cache_stats(d->sock, "e2e.poison", &c, NULL) == 1);
		CHECKF(c.active_objs == 1, "e2e.poison: active_objs %llu after a wrong-cache free, want 1",
		       (unsigned long long)c.active_objs);
	}
	e2e_alive(d, "after validating a corrupt pool");
	e2e_stop(d);
}

/* ---- limits of the config file ---------------------------------------------------------- */

E2E_CASE(config_limits)
{
	struct e2e_opts o = { .config = "[limits]\nmax_clients = 4\nmax_refs = 3\n" };
	struct e2e_slubd *d = e2e_start(&o);
	struct ctl_conn c[4];
	struct kmem_cache *s[4];
	char err[256];
	int n = 0, rc;

	REQUIRE(d != NULL);
	/* max_refs: a fourth distinct pool on one connection is refused */
	REQUIRE(slub_attach(d->sock) == 0);
	for (int i = 0; i < 4; i++) {
		char name[16];

		snprintf(name, sizeof(name), "e2e.ref%d", i);
		errno = 0;
		s[i] = kmem_cache_create(name, 32, 0, 0, NULL);
		if (i < 3)
			CHECKF(s[i] != NULL, "pool %d of max_refs 3: %s", i + 1, strerror(errno));
		else
			CHECKF(s[i] == NULL && errno != 0, "a 4th pool with max_refs = 3 was created");
	}
	CHECKF(e2e_wait_listed(d->sock, "e2e.ref3", 0, 0, NULL) == 0,
	       "the refused 4th pool is listed");
	if (s[0]) {
		kmem_cache_destroy(s[0]);
		s[3] = kmem_cache_create("e2e.ref3", 32, 0, 0, NULL);
		CHECKF(s[3] != NULL, "a pool once a reference was dropped: %s", strerror(errno));
	}
	slub_detach();

	/* max_clients: four at once (retrying while closed ones are still counted) */
	for (int i = 0; i < 4; i++) {
		uint64_t deadline = t_now_ms() + 3000;

		while ((rc = ctl_connect(&c[i], d->sock, "e2e-limit", err, sizeof(err))) != 0 &&
		       t_now_ms() < deadline)
			t_sleep_ms(10);
		CHECKF(rc == 0, "connection %d of max_clients 4: %s", i + 1, err);
		n += rc == 0;
	}
	if (n == 4) {	/* a fifth is turned away */
		struct ctl_conn x;

		rc = ctl_connect(&x, d->sock, "e2e-limit", err, sizeof(err));
		CHECKF(rc != 0, "a 5th connection with max_clients = 4 was served");
		if (rc == 0)
			ctl_close(&x);
	}
	for (int i = 0; i < 4; i++)
		if (i < n)
			ctl_close(&c[i]);
	/* then there is room again */
	{
		uint64_t deadline = t_now_ms() + 3000;
		struct ctl_conn x;

		while ((rc = ctl_connect(&x, d->sock, "e2e-limit", err, sizeof(err))) != 0 &&
		       t_now_ms() < deadline)
			t_sleep_ms(10);
		CHECKF(rc == 0, "no room 3 s after the 4 connections closed: %s", err);
		if (rc == 0)
			ctl_close(&x);
		t_sleep_ms(50);
	}
	e2e_probe(d, "once the connections closed");
	e2e_stop(d);
}

E2E_CASE(config_file)
{
	struct e2e_opts o = { .config = "; comment\n[arena]\nsize = 32M\nhugepages = off\n"
					"[access]\nsocket_mode = 0600\nallow_uids = 1000, 1001 1002\n"
					"allow_gids = 100,200\n",
			      .arena_size = "" };
	struct e2e_opts o2 = { .config = "[arena]\nsize = 32M\n" };	/* and --arena-size 64M */
	struct e2e_slubd *d = e2e_start(&o);
	struct e2e_arena ar = { .size = 0 };
	struct stat sb;

	REQUIRE(d != NULL);
	REQUIRE(e2e_cache_stats(d->sock, "none", NULL, &ar) == 0);
	CHECKF(ar.size == 32u << 20, "[arena] size = 32M: an arena of %llu bytes", (unsigned long long)ar.size);
	CHECKF(stat(d->sock, &sb) == 0 && (sb.st_mode & 0777) == 0600, "socket_mode = 0600: mode %04o",
	       (unsigned)(sb.st_mode & 0777));
	e2e_probe(d, "with a config file");
	e2e_stop(d);
	d = e2e_start(&o2);
	REQUIRE(d != NULL);
	REQUIRE(e2e_cache_stats(d->sock, "none", NULL, &ar) == 0);
	CHECKF(ar.size == 64u << 20, "--arena-size 64M over [arena] size = 32M: an arena of %llu bytes",
	       (unsigned long long)ar.size);
	e2e_stop(d);
}

E2E_CASE(config_max_caches)
{
	struct e2e_opts o = { .config = "[limits]\nmax_caches = 5\n" };
	struct e2e_slubd *d = e2e_start(&o);
	int made = 0;

	REQUIRE(d != NULL);
	REQUIRE(slub_attach(d->sock) == 0);
	for (int i = 0; i < 10; i++) {
		char name[16];

		snprintf(name, sizeof(name), "e2e.mc%d", i);
		made += kmem_cache_create(name, 32 + (size_t)i, 0, 0, NULL) != NULL;
	}
	CHECKF(made >= 1 && made <= 5, "max_caches = 5: %d of 10 pools were made", made);
	errno = 0;
	CHECK(kmem_cache_create("e2e.mc.more", 40, 0, 0, NULL) == NULL && errno == ENOSPC);
	/* leaving drops this process's references: its empty pools go, room again */
	slub_detach();
	e2e_probe(d, "with max_caches");
	e2e_stop(d);
}

/* ---- slubd's command line ------------------------------------------------------------------ */

E2E_CASE(command_line)
{
	const char *bin = e2e_need_bin("SLUBD", "slubd");
	struct e2e_slubd *d;
	char *out = NULL, sock2[200], conf[220];
	int rc;

	REQUIRE(access(bin, X_OK) == 0);
	{
		char *argv[] = { (char *)bin, "--help", NULL };

		rc = e2e_run(argv, &out, 5000);
		CHECKF(rc == 0 && out && strstr(out, "--socket") && strstr(out, "--arena-size"),
		       "slubd --help: exit %d:\n%s", rc, out ? out : "");
		free(out);
	}
	d = e2e_start(NULL);
	REQUIRE(d != NULL);
	snprintf(sock2, sizeof(sock2), "%s/other.sock", d->dir);
	{
		char *argv[] = { (char *)bin, "--foreground", "--socket", sock2, "--arena-size", "lots",
				 "--hugepages", "off", NULL };

		rc = e2e_run(argv, &out, 5000);
		CHECKF(rc > 0, "slubd --arena-size lots: exit %d:\n%s", rc, out ? out : "");
		free(out);
	}
	{
		char *argv[] = { (char *)bin, "--foreground", "--socket", sock2, "--hugepages", "maybe",
				 NULL };

		rc = e2e_run(argv, &out, 5000);
		CHECKF(rc > 0, "slubd --hugepages maybe: exit %d:\n%s", rc, out ? out : "");
		free(out);
	}
	{
		char *argv[] = { (char *)bin, "--foreground", "--no-such-option", NULL };

		rc = e2e_run(argv, &out, 5000);
		CHECKF(rc > 0, "slubd --no-such-option: exit %d:\n%s", rc, out ? out : "");
		free(out);
	}
	snprintf(conf, sizeof(conf), "%s/bad.conf", d->dir);
	{
		FILE *f = fopen(conf, "w");
		char *argv[] = { (char *)bin, "--foreground", "--socket", sock2, "--arena-size", "16M",
				 "--hugepages", "off", "--config", conf, NULL };

		REQUIRE(f != NULL);
		fputs("[limits]\nmax_clients = many\n", f);
		fclose(f);
		rc = e2e_run(argv, &out, 5000);
		CHECKF(rc > 0, "slubd with max_clients = many: exit %d:\n%s", rc, out ? out : "");
		free(out);
	}
	/* a second slubd on a socket that is served already: it must not take it */
	{
		char *argv[] = { (char *)bin, "--foreground", "--socket", d->sock, "--arena-size", "16M",
				 "--hugepages", "off", NULL };

		rc = e2e_run(argv, &out, 8000);
		CHECKF(rc > 0, "a second slubd on a busy socket: exit %d:\n%s", rc, out ? out : "");
		free(out);
	}
	e2e_probe(d, "after a second slubd tried its socket");
	e2e_stop(d);
}

/* a forked child that never connects allocates from a SLAB_RECLAIM_DEAD pool and dies */
static pid_t scrub_victim(struct kmem_cache *s, int n)
{
	int pfd[2];
	char c = 0;
	pid_t pid;

	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		for (int i = 0; i < n; i++)
			if (!kmem_cache_alloc(s, GFP_KERNEL))
				_exit(2);
		if (write(pfd[1], "x", 1) != 1)
			_exit(3);
		for (;;)
			pause();
	}
	close(pfd[1]);
	if (pid < 0 || read(pfd[0], &c, 1) != 1)
		pid = -1;
	close(pfd[0]);
	return pid;
}

/*
 * [limits] scrub_interval: slubd scrubs on its own every so often, so that a
 * process without a connection of its own (a client's forked child) is
 * noticed once it dies, while its parent stays attached; with 0 only a
 * connection's close scrubs.
 */
E2E_CASE(scrub_interval)
{
	for (int interval = 1; interval >= 0; interval--) {
		struct e2e_opts o = { .config = interval ? "[limits]\nscrub_interval = 1\n"
							 : "[limits]\nscrub_interval = 0\n" };
		struct e2e_slubd *d = e2e_start(&o);
		struct e2e_cache c = { .active_objs = ~0ULL };
		struct kmem_cache *s;
		char want[64];
		uint64_t t0;
		pid_t pid;
		int st = 0;

		REQUIRE(d != NULL);
		REQUIRE(slub_attach(d->sock) == 0);
		s = kmem_cache_create("e2e.scrub", 48, 0, SLAB_RECLAIM_DEAD, NULL);
		REQUIRE(s != NULL);
		pid = scrub_victim(s, 300);
		REQUIRE(pid > 0);
		CHECK(e2e_cache_stats(d->sock, "e2e.scrub", &c, NULL) == 1 && c.active_objs == 300);
		/* that connection's close scrubs 200 ms later: let it pass first */
		t_sleep_ms(e2e_scale_ms(1000));
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		snprintf(want, sizeof(want), "pid %d died holding 300 objects: freed", (int)pid);
		t0 = t_now_ms();
		/*
		 * the parent stays attached and nothing else connects (a stats
		 * connection's close would scrub): only slubd's log is watched
		 */
		while (!e2e_log_has(d, want) &&
		       t_now_ms() - t0 < (uint64_t)e2e_scale_ms(interval ? 5000 : 3000))
			t_sleep_ms(20);
		if (interval) {
			uint64_t ms = t_now_ms() - t0;

			CHECKF(e2e_log_has(d, want), "scrub_interval = 1: no scrub found the dead child "
			       "within %llu ms (log: \"%s\")", (unsigned long long)ms, want);
			CHECK(e2e_cache_stats(d->sock, "e2e.scrub", &c, NULL) == 1 && c.active_objs == 0);
			printf("  scrub_interval = 1: the dead child's 300 objects freed %llu ms after "
			       "its death, its parent still attached\n", (unsigned long long)ms);
		} else {
			CHECKF(!e2e_log_has(d, want), "scrub_interval = 0: a scrub ran with no connection "
			       "closed");
			/* the parent's connection closes: that scrub finds the child */
			slub_detach();
			t0 = t_now_ms();
			while (!e2e_log_has(d, want) && t_now_ms() - t0 < (uint64_t)e2e_scale_ms(5000))
				t_sleep_ms(50);
			CHECKF(e2e_log_has(d, want), "scrub_interval = 0: no scrub after the client left");
			REQUIRE(slub_attach(d->sock) == 0);
			CHECK(e2e_cache_stats(d->sock, "e2e.scrub", &c, NULL) == 1 && c.active_objs == 0);
		}
		slub_detach();
		e2e_stop(d);
	}
}

T_MAIN(T_CASE(validate_corrupt), T_CASE(config_limits), T_CASE(config_file),
       T_CASE(config_max_caches), T_CASE(command_line), T_CASE(scrub_interval))
