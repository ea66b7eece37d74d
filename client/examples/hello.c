/* hello.c - one object in a pool of slubd's arena: attach, open, alloc, free */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <slub.h>

struct note { int from; char text[120]; };

int main(void)
{
	struct kmem_cache *pool;
	struct note *n;

	if (slub_attach(NULL)) {		/* $SLUBD_SOCKET, else the default socket */
		fprintf(stderr, "hello: cannot attach to slubd: %s\n", slub_attach_error());
		return 1;
	}
	/* opens the pool, or creates it; NULL with errno if it exists with another size */
	pool = kmem_cache_create("hello.note", sizeof(struct note), 0, SLAB_HWCACHE_ALIGN, NULL);
	if (!pool) {
		fprintf(stderr, "hello: pool hello.note: %s\n", strerror(errno));
		slub_detach();
		return 1;
	}
	n = kmem_cache_alloc(pool, GFP_KERNEL);	/* lock-free, in the shared arena */
	if (!n) {
		fprintf(stderr, "hello: kmem_cache_alloc: %s\n", strerror(errno));
		kmem_cache_destroy(pool);
		slub_detach();
		return 1;
	}
	n->from = getpid();
	snprintf(n->text, sizeof(n->text), "hello from pid %d", n->from);
	/* another attached process may use n as it is, or slub_ptr(offset) */
	printf("%s, at offset %#llx of the arena\n", n->text, (unsigned long long)slub_offset(n));
	kmem_cache_free(pool, n);
	kmem_cache_destroy(pool);		/* the pool goes once nobody uses it */
	slub_detach();
	return 0;
}
