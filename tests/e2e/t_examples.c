/*
 * t_examples.c - the example programs (client/examples/) against a private
 * slubd: producer hands messages to consumer through a queue in the arena.
 *
 *   producer_consumer   one producer, one consumer: every message arrives,
 *                       intact and in order, and the pools go afterwards
 *   two_pairs           two producers and two consumers at once, on the
 *                       same pools, each pair with its own queue
 *   bad_arguments       usage on bad arguments, errors without slubd or
 *                       without a queue
 *
 * $EXAMPLES names the directory of the built examples (else build/examples
 * beside the test binary's build directory).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "e2e.h"

/* $EXAMPLES/name, with a failed check when it is missing */
static const char *example(const char *name)
{
	const char *dir = e2e_bin("EXAMPLES", "examples");
	char *p = malloc(strlen(dir) + strlen(name) + 2);

	if (!p)
		return name;
	sprintf(p, "%s/%s", dir, name);
	CHECKF(access(p, X_OK) == 0, "example %s is not an executable (%s); build it (make all) or set "
	       "EXAMPLES", p, strerror(errno));
	return p;
}

struct pair {
	pid_t producer;
	int out;		/* the producer's stdout and stderr */
	char *pbuf;		/* what it printed */
	size_t plen;
	char offset[40];	/* "0x..." */
};

/* start a producer of count messages; read its queue's offset */
static int start_producer(struct pair *p, const char *sock, unsigned int count)
{
	char n[16], *argv[6], *at;

	memset(p, 0, sizeof(*p));
	snprintf(n, sizeof(n), "%u", count);
	argv[0] = (char *)example("producer");
	argv[1] = "-s";
	argv[2] = (char *)sock;
	argv[3] = n;
	argv[4] = NULL;
	if (access(argv[0], X_OK))
		return -1;
	p->producer = e2e_spawn(argv, &p->out);
	if (p->producer < 0)
		return -1;
	if (e2e_read_until(p->out, &p->pbuf, &p->plen, "\n", 10000) ||
	    !(at = strstr(p->pbuf, "queue at offset "))) {
		CHECKF(0, "producer printed no \"queue at offset\" line within 10 s:\n%s",
		       p->pbuf ? p->pbuf : "");
		return -1;
	}
	at += strlen("queue at offset ");
	if (sscanf(at, "%39s", p->offset) != 1 || strncmp(p->offset, "0x", 2)) {
		CHECKF(0, "producer: no hex offset in: %s", p->pbuf);
		return -1;
	}
	return 0;
}

/* wait for the producer; 1 if it exited 0 saying all were consumed */
static int finish_producer(struct pair *p, unsigned int count)
{
	char want[80], how[96];
	int status;

	e2e_read_all(p->out, &p->pbuf, &p->plen, 15000);
	close(p->out);
	status = e2e_waitpid_timeout(p->producer, 5000);
	snprintf(want, sizeof(want), "%u messages produced, all consumed", count);
	CHECKF(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && strstr(p->pbuf, want),
	       "producer: %s; it printed:\n%s", t_status_str(status, how, sizeof(how)), p->pbuf);
	free(p->pbuf);
	p->pbuf = NULL;
	return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* check a consumer's output: every message, in order, intact */
static void check_consumer(const char *out, unsigned int count, int rc)
{
	char want[80];
	unsigned int lines = 0, expect = 0, bad = 0;

	snprintf(want, sizeof(want), "consumed %u messages of %u, all intact", count, count);
	CHECKF(rc == 0 && out && strstr(out, want), "consumer: exit %d, wanted \"%s\"; it printed:\n%s",
	       rc, want, out ? out : "");
	for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : "") {
		unsigned int seq;

		if (sscanf(l, "message %u from pid", &seq) == 1) {
			lines++;
			if (seq != expect++ && bad++ < 3)
				CHECKF(0, "consumer: message %u where %u was due", seq, expect - 1);
		}
	}
	CHECKF(lines == count, "consumer printed %u messages, want %u", lines, count);
}

E2E_CASE(producer_consumer)
{
	const unsigned int count = 500;
	struct e2e_slubd *d = e2e_start(NULL);
	struct e2e_validate v;
	struct pair p;
	char *out = NULL;
	int rc;

	REQUIRE(d != NULL);
	REQUIRE(start_producer(&p, d->sock, count) == 0);
	{
		char *argv[] = { (char *)example("consumer"), "-s", d->sock, p.offset, NULL };

		rc = e2e_run(argv, &out, 20000);
		check_consumer(out, count, rc);
		free(out);
	}
	finish_producer(&p, count);
	CHECKF(e2e_wait_listed(d->sock, "example.msg", 0, 3000, NULL) == 0,
	       "example.msg still listed after both programs finished");
	CHECKF(e2e_wait_listed(d->sock, "example.queue", 0, 3000, NULL) == 0,
	       "example.queue still listed after both programs finished");
	REQUIRE(e2e_validate(d->sock, NULL, &v) == 0);
	CHECKF(v.err == 0 && v.errors == 0, "validate: err %d, %llu errors (%s)", v.err,
	       (unsigned long long)v.errors, v.first_error);
	e2e_stop(d);
}

E2E_CASE(two_pairs)
{
	const unsigned int count = 300;
	struct e2e_slubd *d = e2e_start(NULL);
	struct pair p[2];
	pid_t c[2];
	int fd[2];

	REQUIRE(d != NULL);
	REQUIRE(start_producer(&p[0], d->sock, count) == 0);
	REQUIRE(start_producer(&p[1], d->sock, count) == 0);
	CHECKF(strcmp(p[0].offset, p[1].offset), "two producers, one queue offset: %s", p[0].offset);
	for (int i = 0; i < 2; i++) {
		char *argv[] = { (char *)example("consumer"), "-s", d->sock, p[i].offset, NULL };

		c[i] = e2e_spawn(argv, &fd[i]);
		REQUIRE(c[i] > 0);
	}
	for (int i = 0; i < 2; i++) {
		char *out = NULL, how[96];
		size_t len = 0;
		int status;

		e2e_read_all(fd[i], &out, &len, 20000);
		close(fd[i]);
		status = e2e_waitpid_timeout(c[i], 5000);
		CHECKF(status != -1 && WIFEXITED(status), "consumer %d: %s", i,
		       t_status_str(status, how, sizeof(how)));
		check_consumer(out, count, status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		free(out);
	}
	for (int i = 0; i < 2; i++)
		finish_producer(&p[i], count);
	CHECKF(e2e_wait_listed(d->sock, "example.msg", 0, 3000, NULL) == 0,
	       "example.msg still listed after all four programs finished");
	e2e_stop(d);
}

E2E_CASE(bad_arguments)
{
	const char *prod = example("producer"), *cons = example("consumer");
	struct e2e_slubd *d;
	char nosock[200], *out = NULL;
	int rc;

	REQUIRE(access(prod, X_OK) == 0 && access(cons, X_OK) == 0);
	{
		static const char *const bad[][3] = {
			{ NULL }, { "0" }, { "-5" }, { "ten" }, { "10", "20" }, { "-s" },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char *argv[5] = { (char *)prod };

			for (int j = 0; j < 3 && bad[i][j]; j++)
				argv[1 + j] = (char *)bad[i][j];
			rc = e2e_run(argv, &out, 5000);
			CHECKF(rc == 2 && out && strstr(out, "usage"), "producer %s %s: exit %d, want 2 and "
			       "usage:\n%s", bad[i][0] ? bad[i][0] : "", bad[i][0] && bad[i][1] ? bad[i][1] : "",
			       rc, out ? out : "");
			free(out);
			argv[0] = (char *)cons;
			rc = e2e_run(argv, &out, 5000);
			CHECKF(rc == 2 && out && strstr(out, "usage"), "consumer %s %s: exit %d, want 2 and "
			       "usage:\n%s", bad[i][0] ? bad[i][0] : "", bad[i][0] && bad[i][1] ? bad[i][1] : "",
			       rc, out ? out : "");
			free(out);
		}
	}
	d = e2e_start(NULL);
	REQUIRE(d != NULL);
	snprintf(nosock, sizeof(nosock), "%s/nosuch.sock", d->dir);
	{
		char *argv[] = { (char *)prod, "-s", nosock, "5", NULL };

		rc = e2e_run(argv, &out, 5000);
		CHECKF(rc == 1 && out && strstr(out, "cannot attach"),
		       "producer without slubd: exit %d:\n%s", rc, out ? out : "");
		free(out);
	}
	{
		char *argv[] = { (char *)cons, "-s", d->sock, "0x1000", NULL };

		rc = e2e_run(argv, &out, 5000);
		CHECKF(rc == 1 && out && strstr(out, "no queue"),
		       "consumer of an offset that holds no queue: exit %d:\n%s", rc, out ? out : "");
		free(out);
	}
	e2e_stop(d);
}

T_MAIN(T_CASE(producer_consumer), T_CASE(two_pairs), T_CASE(bad_arguments))
