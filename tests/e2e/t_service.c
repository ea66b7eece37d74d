/*
 * t_service.c - what slubd tells its service manager, and how it refuses
 * to start when huge pages are required and missing.
 *
 *   notify_sequence      with NOTIFY_SOCKET set, slubd sends READY=1 once it
 *                        serves, STATUS= lines with the arena and the client
 *                        count as clients come and go, and STOPPING=1 on SIGTERM
 *   hugepages_on_refuses --hugepages on with no free huge page: exit non-zero
 *                        at once, saying how many it needs and how to reserve them
 *   hello_timeout        a connection that never speaks is closed after
 *                        [limits] hello_timeout; an attached client idles freely
 *   silent_flood         200 connections that never speak: all closed in time,
 *                        and a new client attaches meanwhile and after
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "e2e.h"
#include "harness.h"
#include "slub.h"

/* datagrams from slubd, concatenated, until one contains want (or timeout) */
static int notify_wait(int fd, char *all, size_t cap, const char *want, int timeout_ms)
{
	uint64_t end = e2e_now_ms() + (uint64_t)timeout_ms;

	while (e2e_now_ms() < end) {
		char buf[512];
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

		if (n > 0) {
			buf[n] = 0;
			strncat(all, buf, cap - strlen(all) - 2);
			strcat(all, "|");
			if (strstr(buf, want))
				return 1;
			continue;
		}
		e2e_sleep_ms(10);
	}
	return 0;
}

E2E_CASE(notify_sequence)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[] = "/tmp/slubd-notify.XXXXXX", all[4096] = "";
	struct e2e_slubd *d;
	int fd;

	REQUIRE(mkdtemp(dir) != NULL);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	REQUIRE(fd >= 0);
	REQUIRE(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);	/* the slubd started below inherits it */
	d = e2e_start(NULL);
	unsetenv("NOTIFY_SOCKET");
	REQUIRE(d != NULL);
	CHECKF(notify_wait(fd, all, sizeof(all), "READY=1", 5000), "no READY=1: got %s", all);
	CHECKF(strstr(all, "arena") || notify_wait(fd, all, sizeof(all), "arena", 5000),
	       "no STATUS= with the arena: %s", all);
	/* let the start-up probe's own STATUS lines go by */
	notify_wait(fd, all, sizeof(all), "no such line", 300);
	all[0] = 0;
	REQUIRE(slub_attach(d->sock) == 0);
	CHECKF(notify_wait(fd, all, sizeof(all), "serving 1 clients", 5000),
	       "no STATUS= counting the client: %s", all);
	slub_detach();
	all[0] = 0;
	CHECKF(notify_wait(fd, all, sizeof(all), "serving 0 clients", 5000),
	       "no STATUS= after the client left: %s", all);
	e2e_stop(d);
	all[0] = 0;
	CHECKF(notify_wait(fd, all, sizeof(all), "STOPPING=1", 5000), "no STOPPING=1: got %s", all);
	close(fd);
	unlink(sa.sun_path);
	rmdir(dir);
}

static long free_hugepages(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long n = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		sscanf(line, "HugePages_Free: %ld", &n);
	fclose(f);
	return n;
}

E2E_CASE(hugepages_on_refuses)
{
	char dir[] = "/tmp/slubd-huge.XXXXXX", sock[160], file[160];
	const char *bin = e2e_need_bin("SLUBD", "slubd");
	char *out = NULL;
	int status;

	if (free_hugepages() != 0)
		SKIP("the host has free huge pages reserved: slubd would start on them");
	REQUIRE(bin && mkdtemp(dir) != NULL);
	snprintf(sock, sizeof(sock), "%s/slubd.sock", dir);
	snprintf(file, sizeof(file), "%s/slubd.arena", dir);
	{
		char *argv[] = { (char *)bin, "--foreground", "--socket", sock, "--arena-size", "64M",
				 "--hugepages", "on", NULL };

		status = e2e_run(argv, &out, 5000);
	}
	CHECKF(status > 0, "slubd --hugepages on without huge pages: status %d:\n%s", status,
	       out ? out : "");
	CHECKF(out && strstr(out, "huge pages required") && strstr(out, "nr_hugepages"),
	       "the refusal does not say what is missing:\n%s", out ? out : "");
	CHECKF(access(sock, F_OK) != 0, "slubd left its socket behind after refusing to start");
	free(out);
	unlink(file);
	unlink(sock);
	rmdir(dir);
}

E2E_CASE(hello_timeout)
{
	struct e2e_opts o = { .config = "[limits]\nhello_timeout = 1\n" };
	struct e2e_slubd *d = e2e_start(&o);
	struct kmem_cache *s;
	void *p;
	int fd;

	REQUIRE(d != NULL);
	REQUIRE(slub_attach(d->sock) == 0);	/* attached, then idle past the timeout */
	fd = e2e_raw_connect(d->sock);
	REQUIRE(fd >= 0);
	CHECK(e2e_expect_closed(fd, 4000, "a connection that sent nothing") == 1);
	e2e_sleep_ms(300);
	s = kmem_cache_create("svc.idle", 64, 0, 0, NULL);	/* the idle client's connection lives */
	CHECKF(s != NULL, "the attached, idle client lost its connection: %s", strerror(errno));
	p = s ? kmem_cache_alloc(s, GFP_KERNEL) : NULL;
	CHECK(p != NULL);
	if (p)
		kmem_cache_free(s, p);
	if (s)
		kmem_cache_destroy(s);
	slub_detach();
	CHECKF(e2e_alive(d, "after the timeout"), "slubd died");
	e2e_stop(d);
}

E2E_CASE(silent_flood)
{
	struct e2e_opts o = { .config = "[limits]\nhello_timeout = 1\n" };
	struct e2e_slubd *d = e2e_start(&o);
	int fds[200], open_fds = 0, closed = 0;

	REQUIRE(d != NULL);
	for (int i = 0; i < 200; i++) {
		fds[i] = e2e_raw_connect(d->sock);
		open_fds += fds[i] >= 0;
	}
	CHECKF(open_fds == 200, "only %d of 200 connections were accepted", open_fds);
	REQUIRE(slub_attach(d->sock) == 0);	/* served while 200 sit silent */
	slub_detach();
	for (int i = 0; i < 200; i++)
		if (fds[i] >= 0)
			closed += e2e_expect_closed(fds[i], 4000, "a silent connection") == 1;
	CHECKF(closed == open_fds, "%d of %d silent connections were closed", closed, open_fds);
	REQUIRE(slub_attach(d->sock) == 0);
	slub_detach();
	CHECKF(e2e_alive(d, "after the flood"), "slubd died");
	e2e_stop(d);
}

T_MAIN(T_CASE(notify_sequence), T_CASE(hugepages_on_refuses), T_CASE(hello_timeout),
       T_CASE(silent_flood))
