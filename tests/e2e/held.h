/*
 * held.h - what t_held and t_held_attack share: flags between a case and
 * its children in e2e_shared memory, another program that takes objects
 * and writes over them, reclaim's count, raw Identify and Attach requests.
 */
#ifndef HELD_H
#define HELD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "e2e.h"
#include "harness.h"
#include "slub.h"

#define STAMP(i)	(0x5eed0000u + (uint64_t)(i))

/* what a case and its children share (e2e_shared) */
struct held_shared {
	int ready, go, done;	/* flags: set_flag, wait_flag, await */
	int child_pid;		/* the process that holds the objects */
	int inner;		/* a victim's pid in slubd's namespace */
	int bad;		/* stamps found changed */
	int owner_pid;		/* kmem_cache_owner of an object taken after a thread left */
	uint32_t id;		/* a victim's owner id, found by itself */
};
static struct held_shared *sh;

/* a private slubd that scrubs only when a client leaves, and sh shared with children */
static inline struct e2e_slubd *held_start(void)
{
	struct e2e_opts o = { .config = "[limits]\nscrub_interval = 0\n" };
	struct e2e_slubd *d = e2e_start(&o);

	sh = e2e_shared(sizeof(*sh));
	return d;
}

/* take 3 objects of f into q, each stamped; _exit(3) when one cannot be had */
static inline void take_stamped(struct kmem_cache *f, uint64_t *q[3])
{
	for (int i = 0; i < 3; i++) {
		q[i] = kmem_cache_alloc(f, 0);
		if (!q[i])
			_exit(3);
		*q[i] = STAMP(i);
	}
}

/* sh->bad counts the stamps of q that changed */
static inline void count_changed(uint64_t *const q[3])
{
	for (int i = 0; i < 3; i++)
		if (*q[i] != STAMP(i))
			sh->bad++;
}

static inline void wait_flag(int *flag)
{
	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE))
		usleep(2000);
}

static inline void set_flag(int *flag)
{
	__atomic_store_n(flag, 1, __ATOMIC_RELEASE);
}

/* the case waits up to 5 s for a flag the child sets */
static inline int await(int *flag)
{
	for (int i = 0; i < 500 && !__atomic_load_n(flag, __ATOMIC_ACQUIRE); i++)
		e2e_sleep_ms(10);
	return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

/* another program takes 256 objects of pool and writes over each */
struct scribe { const char *sock, *pool; unsigned long flags; };

static inline void scribe_prog(void *arg)
{
	const struct scribe *w = arg;
	struct kmem_cache *c;

	if (slub_attach(w->sock) || !(c = kmem_cache_create(w->pool, 64, 0, w->flags, NULL)))
		_exit(1);
	for (int i = 0; i < 256; i++) {
		uint64_t *p = kmem_cache_alloc(c, 0);

		if (p)
			*p = 0xdeadbeefdeadbeefULL;
	}
	_exit(0);	/* exits holding them */
}

static inline void scribble(const char *sock, const char *pool, unsigned long flags)
{
	struct scribe w = { sock, pool, flags };

	CHECK(e2e_wait(e2e_fork(scribe_prog, &w), "scribe"));
}

/* "pool P: N objects of M dead processes freed": N, or -1 */
static inline long freed_of(const char *out)
{
	const char *p = out ? strstr(out, "object") : NULL;

	while (p && p > out && p[-1] == ' ')
		p--;
	while (p && p > out && p[-1] >= '0' && p[-1] <= '9')
		p--;
	return p ? strtol(p, NULL, 10) : -1;
}

/* an Identify of id on c: the error it got (0: accepted), or -1 */
static inline int identify(struct ctl_conn *c, uint32_t id)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__IdentifyRequest ir = SLUBD__IDENTIFY_REQUEST__INIT;
	Slubd__Response *resp;
	char err[256];
	int fd = -1, rc;

	ir.owner = id;
	req.body_case = SLUBD__REQUEST__BODY_IDENTIFY;
	req.identify = &ir;
	if (ctl_call(c, &req, &resp, &fd, err, sizeof(err))) {
		CHECKF(0, "identify: %s", err);
		return -1;
	}
	rc = resp->err;
	if (rc)
		printf("  identify %#x: %s\n", id, resp->error ? resp->error : "?");
	slubd__response__free_unpacked(resp, NULL);
	return rc;
}

static inline int attach_raw(struct ctl_conn *c)
{
	Slubd__Request req = SLUBD__REQUEST__INIT;
	Slubd__AttachRequest at = SLUBD__ATTACH_REQUEST__INIT;
	Slubd__Response *resp;
	char err[256];
	int fd = -1, rc;

	req.body_case = SLUBD__REQUEST__BODY_ATTACH;
	req.attach = &at;
	if (ctl_call(c, &req, &resp, &fd, err, sizeof(err)))
		return -1;
	rc = resp->err;
	slubd__response__free_unpacked(resp, NULL);
	if (fd >= 0)
		close(fd);
	return rc;
}

#endif
