/*
 * owner.h - helpers of t_owner.c and t_owner_scrub.c: a child process that
 * holds objects of a pool (and maybe gives them away), and what it tells
 * the test through shared memory.
 */
#ifndef TESTS_UNIT_OWNER_H
#define TESTS_UNIT_OWNER_H

#include <stdbool.h>

#include "unit.h"

static inline unsigned int oo_objects_of(const struct kmem_cache *s)
{
	return s->oo & 0xffff;
}

/* a shared page through which a child tells the parent what it did */
struct child_out {
	uint64_t given[16];		/* offsets of objects given to the parent */
	int nr_given;
	int allocated;
	volatile int ready;
};

static inline struct child_out *shared_out(void)
{
	return t_shared(sizeof(struct child_out));
}

/*
 * a child allocates n objects of s, stamps them, gives `give` of them to the
 * parent, says so, and then stops for good: the parent kills it.
 */
static inline pid_t child_holding(struct arena *a, struct kmem_cache *s, int n, int give,
				  struct child_out *o)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	for (int i = 0; i < n; i++) {
		uint64_t *p = slab_alloc(a, s, 0);

		if (!p)
			_exit(3);
		p[0] = 0xc0ffee00u + (uint64_t)i;
		o->allocated++;
		if (i < give) {
			if (slab_give(a, s, p, (uint32_t)parent))
				_exit(4);
			o->given[o->nr_given++] = arena_offset(a, p);
		}
	}
	o->ready = 1;
	for (;;)
		pause();
}

static inline bool wait_ready(struct child_out *o)
{
	for (int i = 0; i < 5000 && !o->ready; i++)
		usleep(1000);
	CHECKF(o->ready, "the child never got ready (allocated %d)", o->allocated);
	return o->ready;
}

/* kill pid and wait until it is a zombie, without reaping it */

#endif
