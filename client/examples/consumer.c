/*
 * consumer.c - libslub example: take the messages a producer hands over by
 * pointer, check them, print them and free them here.
 *
 *   consumer [-s SOCKET] OFFSET
 *
 * OFFSET is what producer printed ("queue at offset 0x...").  The consumer
 * attaches to the same slubd, opens the same pools, finds the queue with
 * slub_ptr(OFFSET) and takes messages until the producer says it is done.
 * Each message was allocated by the producer and is freed by the consumer
 * (kmem_cache_free works from any attached process).
 *
 * Exit status: 0 every message arrived intact and in order; 1 otherwise.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue.h"
#include "slub.h"

static int usage(void)
{
	fprintf(stderr, "usage: consumer [-s SOCKET] OFFSET\n"
			"  OFFSET: the queue's offset that producer printed (0x...);\n"
			"  SOCKET: slubd's control socket\n");
	return 2;
}

/* is the message what the producer wrote? */
static int intact(const struct message *m, uint64_t seq, uint32_t producer)
{
	return m->seq == seq && m->producer == producer && m->len < sizeof(m->text) &&
	       m->sum == text_sum(m->text, m->len);
}

int main(int argc, char **argv)
{
	const char *sock = NULL;
	struct kmem_cache *msgs, *queues;
	unsigned long long off;
	uint64_t taken = 0, damaged = 0;
	struct queue *q;
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
	off = strtoull(argv[1], &end, 0);
	if (errno || *end || end == argv[1] || off == 0 || argv[1][0] == '-')
		return usage();

	rc = slub_attach(sock);
	if (rc) {
		fprintf(stderr, "consumer: cannot attach to slubd: %s\n",
			*slub_attach_error() ? slub_attach_error() : strerror(-rc));
		return 1;
	}
	/* open the producer's pools: this also keeps them while we use them */
	msgs = kmem_cache_create(MSG_POOL, sizeof(struct message), 0, 0, NULL);
	queues = kmem_cache_create(QUEUE_POOL, sizeof(struct queue), 0, SLAB_HWCACHE_ALIGN, NULL);
	if (!msgs || !queues) {
		fprintf(stderr, "consumer: kmem_cache_create: %s\n", strerror(errno));
		return 1;
	}
	q = slub_ptr(off);
	if (!q || ((uintptr_t)q & 7) || __atomic_load_n(&q->magic, __ATOMIC_ACQUIRE) != QUEUE_MAGIC) {
		fprintf(stderr, "consumer: no queue at offset %#llx\n", off);
		return 1;
	}

	for (;;) {
		uint64_t head = q->head;	/* ours: nobody else writes it */

		if (head < __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE)) {
			struct message *m = slub_ptr(q->slot[head % QUEUE_SLOTS]);

			if (m && intact(m, head, q->producer)) {
				printf("message %llu from pid %u: %s\n", (unsigned long long)m->seq,
				       m->producer, m->text);
			} else {
				printf("message %llu: damaged\n", (unsigned long long)head);
				damaged++;
			}
			if (m)
				kmem_cache_free(msgs, m);	/* allocated by the producer */
			taken++;
			__atomic_store_n(&q->head, head + 1, __ATOMIC_RELEASE);	/* the slot is free */
			continue;
		}
		/* nothing to take: finished, or wait */
		if (__atomic_load_n(&q->done, __ATOMIC_ACQUIRE) &&
		    head == __atomic_load_n(&q->tail, __ATOMIC_ACQUIRE))
			break;
		if (kill((pid_t)q->producer, 0) && errno == ESRCH) {
			fprintf(stderr, "consumer: the producer (pid %u) is gone\n", q->producer);
			damaged++;
			break;
		}
		usleep(50);
	}
	if (taken != q->count)
		damaged++;
	printf("consumed %llu messages of %llu%s\n", (unsigned long long)taken,
	       (unsigned long long)q->count, damaged ? ", NOT all intact" : ", all intact");
	fflush(stdout);
	__atomic_store_n(&q->finished, 1, __ATOMIC_RELEASE);	/* the last we touch the queue */

	kmem_cache_destroy(queues);
	kmem_cache_destroy(msgs);
	slub_detach();
	return damaged ? 1 : 0;
}
