/*
 * list.c - circular doubly linked lists whose links are arena offsets.
 *
 * Used for the zone free lists, the node partial and full lists and the
 * list of caches.  The callers hold the lock that protects the list.  Links
 * read from the arena are checked (olist_next) before they are followed; a
 * list broken by a process that died mid-update is mended by olist_repair.
 *
 * Update order (olist_add): n->next, n->prev, next->prev, then prev->next.
 * The forward chain changes in one store (the last), so after a death the
 * forward chain from the head is always a valid list; repair rebuilds the
 * back links from it.
 *
 * A corrupted list.  An update writes into a neighbour only when that
 * neighbour is a node inside the arena that links back where the update
 * expects (next->prev is the node before, prev->next the node after): a
 * scribbled link is never followed into a write, it only leaves the list
 * as broken as it was, for validate to report and repair to mend.  Every
 * walk checks each link (olist_next) and is bounded by its caller.
 *
 * Layer: low; it calls nothing of shm/ (the inline offset checks only).
 */
#include "internal.h"

static inline struct olist *at(struct arena *a, aoff_t off)
{
	return (struct olist *)arena_at(a, off);
}

void olist_init(struct arena *a, struct olist *head)
{
	head->next = head->prev = arena_off_of(a, head);
}

bool olist_empty(struct arena *a, const struct olist *head)
{
	return head->next == arena_off_of(a, head);
}

static bool node_in_arena(struct arena *a, aoff_t off)
{
	return arena_range_ok(a, off, sizeof(struct olist)) && off % 8 == 0;
}

/*
 * link n between prev and next, which were adjacent: prev->next == next and
 * next->prev == prev.  A neighbour that is no node, or does not link back,
 * is left alone (see the top).
 */
static void link_between(struct arena *a, struct olist *n, aoff_t prev, aoff_t next)
{
	aoff_t noff = arena_off_of(a, n);

	n->next = next;
	n->prev = prev;
	if (likely(node_in_arena(a, next) && at(a, next)->prev == prev))
		at(a, next)->prev = noff;
	if (likely(node_in_arena(a, prev) && at(a, prev)->next == next))
		atomic_store_release(&at(a, prev)->next, noff);
}

void olist_add(struct arena *a, struct olist *head, struct olist *n)
{
	link_between(a, n, arena_off_of(a, head), head->next);
}

void olist_add_tail(struct arena *a, struct olist *head, struct olist *n)
{
	link_between(a, n, head->prev, arena_off_of(a, head));
}

void olist_del(struct arena *a, struct olist *n)
{
	aoff_t noff = arena_off_of(a, n), next = n->next, prev = n->prev;

	if (likely(node_in_arena(a, next) && at(a, next)->prev == noff))
		at(a, next)->prev = prev;
	if (likely(node_in_arena(a, prev) && at(a, prev)->next == noff))
		atomic_store_release(&at(a, prev)->next, next);
	n->next = n->prev = 0;
}

struct olist *olist_next(struct arena *a, struct olist *head, struct olist *n)
{
	aoff_t next = atomic_load_relaxed(&n->next);

	if (next == arena_off_of(a, head) || !node_in_arena(a, next))
		return NULL;
	return at(a, next);
}

uint64_t olist_repair(struct arena *a, struct olist *head,
		      bool (*valid)(struct arena *a, aoff_t node, void *arg), void *arg,
		      uint64_t max)
{
	aoff_t hoff = arena_off_of(a, head);
	struct olist *prev = head;
	uint64_t count = 0;

	for (;;) {
		aoff_t next = prev->next;

		if (next == hoff)
			break;
		if (!node_in_arena(a, next) || (valid && !valid(a, next, arg)) || count >= max) {
			prev->next = hoff;	/* cut here; scrub finds what hung below */
			break;
		}
		at(a, next)->prev = arena_off_of(a, prev);
		prev = at(a, next);
		count++;
	}
	head->prev = arena_off_of(a, prev);
	return count;
}
