/*
 * queue.h - what producer.c and consumer.c share: the message, and a queue
 * of messages that lives in slubd's arena.
 *
 * The queue is one object of the pool "example.queue".  It is a ring of
 * QUEUE_SLOTS arena offsets with one producer and one consumer: the producer
 * writes only tail (and the slots in front of it), the consumer writes only
 * head, and each publishes its index with a release store that the other
 * reads with an acquire load.  No lock, no system call.
 *
 * Slots hold offsets (slub_offset), which mean the same thing in every
 * process.  Raw pointers would work too where the arena is mapped at the same
 * address in both processes, which is the usual case, but not always.
 */
#ifndef EXAMPLES_QUEUE_H
#define EXAMPLES_QUEUE_H

#include <stdint.h>

#define MSG_POOL	"example.msg"
#define QUEUE_POOL	"example.queue"
#define QUEUE_SLOTS	64
#define QUEUE_MAGIC	0x51554555u	/* "QUEU": a queue lives here */

struct message {
	uint32_t seq;		/* 0, 1, 2, ... in the order produced */
	uint32_t producer;	/* pid of the producer */
	uint32_t len;		/* bytes used in text */
	uint32_t sum;		/* checksum of text: did it arrive intact? */
	char text[48];
};

struct queue {
	uint32_t magic;			/* QUEUE_MAGIC once the queue is ready */
	uint32_t producer;		/* pid of the producer */
	uint32_t done;			/* producer: the last message is in */
	uint32_t finished;		/* consumer: taken everything, and let go of the queue */
	uint64_t count;			/* how many messages the producer sends */
	uint64_t tail;			/* next slot to fill: written by the producer only */
	uint64_t head;			/* next slot to take: written by the consumer only */
	uint64_t slot[QUEUE_SLOTS];	/* arena offsets of messages */
};

/* FNV-1a */
static inline uint32_t text_sum(const char *text, uint32_t len)
{
	uint32_t h = 2166136261u;

	for (uint32_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)text[i]) * 16777619u;
	return h;
}

#endif
