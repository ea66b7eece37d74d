/*
 * e2e_probe.c - a fresh client process tries slubd out (see e2e.h).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "e2e.h"
#include "slub.h"

void e2e_probe_child(void *sock)
{
	struct kmem_cache *s;
	void *objs[64];
	char *k;
	int rc = slub_attach((const char *)sock);

	CHECKF(rc == 0, "probe: slub_attach: %d (%s)", rc, strerror(-rc));
	if (rc)
		return;
	s = kmem_cache_create("e2e.probe", 48, 0, 0, NULL);
	CHECKF(s != NULL, "probe: kmem_cache_create: %s", strerror(errno));
	if (!s)
		return;
	for (int i = 0; i < 64; i++) {
		objs[i] = kmem_cache_alloc(s, GFP_KERNEL);
		CHECKF(objs[i] != NULL, "probe: kmem_cache_alloc: %s", strerror(errno));
		if (!objs[i])
			return;
		memset(objs[i], i, 48);
	}
	for (int i = 0; i < 64; i++) {
		const uint8_t *b = objs[i];

		CHECKF(b[0] == i && b[47] == i, "probe: object %d changed", i);
		kmem_cache_free(s, objs[i]);
	}
	k = kmalloc(1000, GFP_KERNEL);
	CHECKF(k != NULL, "probe: kmalloc: %s", strerror(errno));
	if (k) {
		memset(k, 0x5a, 1000);
		kfree(k);
	}
	kmem_cache_destroy(s);
	slub_detach();
}

void e2e_probe(struct e2e_slubd *d, const char *when)
{
	char what[160];

	snprintf(what, sizeof(what), "a fresh client %s", when);
	if (!e2e_alive(d, when))
		return;
	t_wait(t_fork(e2e_probe_child, d->sock), what);
	e2e_alive(d, when);
}
