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
 *   sighup_reload        SIGHUP reads the config file again: a new max_clients
 *                        applies at once; a bad value, or a user that does not
 *                        exist, keeps the running settings, and slubd says so
 *
 * The waits here for slubd to say or do something stretch with e2e_scale_ms()
 * (slubd under valgrind: tests/valgrind/run.sh).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
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
	uint64_t end = t_now_ms() + (uint64_t)e2e_scale_ms(timeout_ms);

	while (t_now_ms() < end) {
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
		t_sleep_ms(10);
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
	notify_wait(fd, all, sizeof(all), "no such line", 300);	/* 300 ms, scaled */
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
	t_sleep_ms(300);
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

/* ---- SIGHUP ------------------------------------------------------------------ */

/* the number of times needle occurs in the daemon's log */
static int log_count(const struct e2e_slubd *d, const char *needle)
{
	char *buf = NULL;
	size_t len = 0;
	int fd = open(d->log, O_RDONLY | O_CLOEXEC), n = 0;

	if (fd < 0)
		return 0;
	e2e_read_all(fd, &buf, &len, 1000);
	close(fd);
	for (const char *p = buf; p && (p = strstr(p, needle)); p++)
		n++;
	free(buf);
	return n;
}

/* SIGHUP, then wait until the log has one more line with needle: 1, else 0 with a failed check */
static int hup(struct e2e_slubd *d, const char *conf, const char *needle)
{
	FILE *f = fopen(d->conf, "w");
	int before = log_count(d, needle);
	uint64_t end;

	if (!f) {
		CHECKF(0, "cannot rewrite %s", d->conf);
		return 0;
	}
	fputs(conf, f);
	fclose(f);
	kill(d->pid, SIGHUP);
	end = t_now_ms() + (uint64_t)e2e_scale_ms(5000);
	while (log_count(d, needle) <= before) {
		if (t_now_ms() > end) {
			CHECKF(0, "no \"%s\" in the log after SIGHUP with:\n%s", needle, conf);
			e2e_show_log(d, 10);
			return 0;
		}
		t_sleep_ms(10);
	}
	return 1;
}

/* slubd's client count, asked over c */
static int clients(struct ctl_conn *c)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__StatsRequest sr = SLUBD__STATS_REQUEST__INIT;
	Slubd__Response *resp = NULL;
	char err[256];
	int n = -1;

	req.body_case = SLUBD__REQUEST__BODY_STATS;
	req.stats = &sr;
	if (ctl_call(c, &req, &resp, NULL, err, sizeof(err)) == 0 && resp && !resp->err &&
	    resp->body_case == SLUBD__RESPONSE__BODY_STATS)
		n = (int)resp->stats->clients + 1;	/* c too: slubd counts the others */
	if (resp)
		slubd__response__free_unpacked(resp, NULL);
	return n;
}

/* a new connection says Hello: 1 answered, 0 refused (closed unanswered); -1 otherwise */
static int try_hello(const char *sock, int *fd_out)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__Hello h = SLUBD__HELLO__INIT;
	Slubd__Response *r;
	int fd = e2e_raw_connect(sock), rc;

	*fd_out = -1;
	if (fd < 0)
		return -1;
	h.version = SLUBD_PROTOCOL_VERSION;
	req.id = 1;
	req.body_case = SLUBD__REQUEST__BODY_HELLO;
	req.hello = &h;
	e2e_send_req(fd, &req);
	rc = e2e_recv(fd, 5000, &r, NULL);
	if (rc == 1 && r->err == EUSERS) {
		/* refused, with the reason (max_clients) */
		slubd__response__free_unpacked(r, NULL);
		close(fd);
		return 0;
	}
	if (rc == 1) {
		rc = r->err == 0 ? 1 : -1;
		slubd__response__free_unpacked(r, NULL);
		*fd_out = fd;
		return rc;
	}
	close(fd);
	return rc == 0 || rc == -EPIPE ? 0 : -1;
}

E2E_CASE(sighup_reload)
{
	struct e2e_opts o = { .config = "[limits]\nmax_clients = 2\n[access]\nallow_uids = root\n" };
	struct e2e_slubd *d = e2e_start(&o);
	struct ctl_conn a;
	char err[256] = "";
	uint64_t end;
	int b, c, x, n = 0;

	REQUIRE(d != NULL);
	REQUIRE(ctl_connect(&a, d->sock, "t_service", err, sizeof(err)) == 0);
	/* the start-up probe may still be counted: wait until a is alone */
	end = t_now_ms() + (uint64_t)e2e_scale_ms(5000);
	while ((n = clients(&a)) != 1 && t_now_ms() < end)
		t_sleep_ms(10);
	REQUIRE(n == 1);
	CHECK(try_hello(d->sock, &b) == 1);		/* 2 of max_clients 2 */
	CHECK(try_hello(d->sock, &x) == 0);		/* 3: refused */
	/* max_clients 3: the third is served now */
	REQUIRE(hup(d, "[limits]\nmax_clients = 3\n[access]\nallow_uids = root 0\n", "read again"));
	CHECKF(try_hello(d->sock, &c) == 1, "max_clients 3 after SIGHUP: a third client was refused");
	CHECK(try_hello(d->sock, &x) == 0);		/* 4: refused */
	/* bad files: the running settings stay */
	REQUIRE(hup(d, "[limits]\nmax_clients = lots\n", "keeping the running settings"));
	REQUIRE(hup(d, "[access]\nallow_uids = no-such-user-t-service\n", "keeping the running settings"));
	REQUIRE(hup(d, "[nonsense]\nkey = 1\n", "keeping the running settings"));
	CHECKF(try_hello(d->sock, &x) == 0, "a bad config file on SIGHUP changed max_clients");
	CHECKF(clients(&a) == 3, "slubd counts %d clients, want 3", clients(&a));
	if (b >= 0)
		close(b);
	if (c >= 0)
		close(c);
	ctl_close(&a);
	CHECKF(e2e_alive(d, "after four SIGHUPs"), "slubd died");
	e2e_stop(d);
}

T_MAIN(T_CASE(notify_sequence), T_CASE(hugepages_on_refuses), T_CASE(hello_timeout),
       T_CASE(silent_flood), T_CASE(sighup_reload))
