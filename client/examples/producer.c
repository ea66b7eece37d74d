/*
 * producer.c - libslub example: hand messages to another process by pointer.
 *
 *   producer [-s SOCKET] COUNT
 *
 * Attaches to slubd, opens the pools "example.msg" (messages) and
 * "example.queue" (one object: the queue, see queue.h), prints the queue's
 * offset in the arena, and puts COUNT messages on it.  Start consumer with
 * that offset; it takes each message and frees it.  The producer waits until
 * the consumer has taken all of them, then cleans up.
 *
 *   $ producer 1000
 *   queue at offset 0x201040
 *   $ consumer 0x201040          (another terminal)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue.h"
#include "slub.h"

static int usage(void)
{
	fprintf(stderr, "usage: producer [-s SOCKET] COUNT\n"
			"  puts COUNT (1..100000000) messages on a queue in slubd's arena and\n"
			"  prints the queue's offset for consumer; SOCKET: slubd's control socket\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *sock = NULL;	/* NULL: $SLUBD_SOCKET, else the default */
	struct kmem_cache *msgs, *queues;
	struct queue *q;
	unsigned long count;
	char *end;
	int rc;

	if (argc >= 3 && !strcmp(argv[1], "-s")) {
		sock = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc != 2)
		return usage();
	errno = 0;
	count = strtoul(argv[1], &end, 10);
	if (errno || *end || end == argv[1] || argv[1][0] == '-' || count == 0 || count > 100000000)
		return usage();

	rc = slub_attach(sock);
	if (rc) {
		fprintf(stderr, "producer: cannot attach to slubd: %s\n",
			*slub_attach_error() ? slub_attach_error() : strerror(-rc));
		return 1;
	}
	/* the consumer opens the same pools: same names, same geometry */
	msgs = kmem_cache_create(MSG_POOL, sizeof(struct message), 0, 0, NULL);
	queues = kmem_cache_create(QUEUE_POOL, sizeof(struct queue), 0, SLAB_HWCACHE_ALIGN, NULL);
	if (!msgs || !queues) {
		fprintf(stderr, "producer: kmem_cache_create: %s\n", strerror(errno));
		return 1;
	}
	q = kmem_cache_zalloc(queues, GFP_KERNEL);
	if (!q) {
		fprintf(stderr, "producer: no memory for the queue\n");
		return 1;
	}
	q->producer = (uint32_t)getpid();
	q->count = count;
	__atomic_store_n(&q->magic, QUEUE_MAGIC, __ATOMIC_RELEASE);	/* ready */
	printf("queue at offset %#llx\n", (unsigned long long)slub_offset(q));
	fflush(stdout);

	for (uint64_t seq = 0; seq < count; seq++) {
		struct message *m = kmem_cache_alloc(msgs, GFP_KERNEL);

		if (!m) {
			fprintf(stderr, "producer: kmem_cache_alloc: %s\n", strerror(errno));
			return 1;
		}
		m->seq = (uint32_t)seq;
		m->producer = q->producer;
		m->len = (uint32_t)snprintf(m->text, sizeof(m->text), "hello #%llu from pid %u",
					    (unsigned long long)seq, q->producer);
		m->sum = text_sum(m->text, m->len);

		/* wait for a free slot, fill it, then publish it */
		while (seq - __atomic_load_n(&q->head, __ATOMIC_ACQUIRE) >= QUEUE_SLOTS)
			usleep(50);
		q->slot[seq % QUEUE_SLOTS] = slub_offset(m);
		__atomic_store_n(&q->tail, seq + 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&q->done, 1, __ATOMIC_RELEASE);

	/* the consumer frees the messages; we free the queue once it let go of it */
	while (!__atomic_load_n(&q->finished, __ATOMIC_ACQUIRE))
		usleep(1000);
	printf("producer: %lu messages produced, all consumed\n", count);
	kmem_cache_free(queues, q);
	kmem_cache_destroy(queues);	/* the pools go once nobody uses them */
	kmem_cache_destroy(msgs);
	slub_detach();
	return 0;
}
