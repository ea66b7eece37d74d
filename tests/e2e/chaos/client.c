/* client.c - a client of t_chaos; see chaos.h and t_chaos.c. */
#include "chaos.h"

/* ---- a client ------------------------------------------------------------------------ */

struct ch_obj {
	void *p;
	uint32_t kind, len;
};

struct ch_stamp {			/* the first 16 bytes of every object */
	uint32_t magic;			/* CH_MAGIC | kind */
	uint32_t len;
	uint32_t token;			/* of the client that allocated it */
	uint32_t seq;
};
#define CH_MAGIC	0xc4a05000u
#define CH_FREED	0xdeadbeefu

static struct {
	int slot;
	uint32_t token;
	pid_t pid;
	struct kmem_cache *pool[K_NR];
	struct ch_obj held[CH_HELD_MAX];
	int nheld;
	uint64_t rnd;
	uint32_t seq;
} C;

static uint32_t *entry_of(uint64_t off)
{
	if (!off || (off & ((1u << CH_SHIFT) - 1)) || (off >> CH_SHIFT) >= sh->table_len)
		return NULL;
	return &table[off >> CH_SHIFT];
}

static uint64_t crand(void)
{
	return t_rand(&C.rnd);
}

static void stamp(void *p, uint32_t kind, uint32_t len)
{
	struct ch_stamp st = { CH_MAGIC | kind, len, C.token, ++C.seq };
	uint32_t tail = st.magic ^ st.token ^ st.seq;

	memcpy(p, &st, sizeof(st));
	if (len >= sizeof(st) + 4)
		memcpy((char *)p + len - 4, &tail, 4);
}

/* the object's stamp is intact and says kind; its length, or 0 after a report */
static uint32_t stamp_ok(const void *p, uint32_t kind, const char *what)
{
	struct ch_stamp st;
	uint32_t tail = 0;

	memcpy(&st, p, sizeof(st));
	if (st.len >= sizeof(st) + 4)
		memcpy(&tail, (const char *)p + st.len - 4, 4);
	if (st.magic != (CH_MAGIC | kind) || st.len < sizeof(st) ||
	    (kind <= K_RECLAIM && st.len != pool_size[kind]) ||
	    (st.len >= sizeof(st) + 4 && tail != (st.magic ^ st.token ^ st.seq))) {
		__atomic_add_fetch(&sh->corrupt, 1, __ATOMIC_SEQ_CST);
		t_problem(&sh->problems, "client token %u: %s: %s object at %#llx has a broken stamp: magic %#x len %u "
			"token %u seq %u tail %#x", C.token, what, kind_name[kind],
			(unsigned long long)slub_offset(p), st.magic, st.len, st.token, st.seq, tail);
		return 0;
	}
	return st.len;
}

/* claim the table entry of a new object; false: someone else holds it (reported) */
static bool claim(void *p, uint32_t kind, const char *how)
{
	uint64_t off = slub_offset(p);
	uint32_t *e = entry_of(off), cur = 0, mine = ENTRY(C.token, kind);

	if (!e) {
		t_problem(&sh->problems, "client token %u: %s returned %p, offset %#llx: not an object of the arena",
			C.token, how, p, (unsigned long long)off);
		return false;
	}
	for (;;) {
		uint32_t t;

		if (__atomic_compare_exchange_n(e, &cur, mine, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			return true;
		t = ENTRY_TOKEN(cur);
		if (ENTRY_KIND(cur) == K_RECLAIM && t < max_tokens &&
		    __atomic_load_n(&dead[t], __ATOMIC_SEQ_CST)) {
			/* a dead client's object of chaos.reclaim: slubd freed it */
			__atomic_add_fetch(&sh->slot[C.slot].reused, 1, __ATOMIC_RELAXED);
			continue;
		}
		__atomic_add_fetch(&sh->twice, 1, __ATOMIC_SEQ_CST);
		t_problem(&sh->problems, "client token %u: %s returned the object at %#llx, which client token %u (%s) "
			"holds as a %s object: handed out twice", C.token, how, (unsigned long long)off, t,
			t < max_tokens && dead[t] ? "dead" : "alive", kind_name[ENTRY_KIND(cur)]);
		return false;
	}
}

/* give up the table entry of an object this client holds */
static void release(void *p, uint32_t kind)
{
	uint32_t *e = entry_of(slub_offset(p)), mine = ENTRY(C.token, kind);

	if (!e || !__atomic_compare_exchange_n(e, &mine, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		t_problem(&sh->problems, "client token %u: the %s object at %#llx I hold is entered as %#x (token %u), "
			"not mine", C.token, kind_name[kind], (unsigned long long)slub_offset(p),
			e ? mine : 0, e ? ENTRY_TOKEN(mine) : 0);
}

static void *raw_alloc(uint32_t kind, uint32_t len)
{
	void *p;

	if (kind == K_KMALLOC || kind == K_LARGE)
		p = kmalloc(len, GFP_KERNEL);
	else
		p = kmem_cache_alloc(C.pool[kind], GFP_KERNEL);
	if (!p && kind == K_LARGE && errno == ENOMEM) {
		/* no free 2 MiB block: the arena may be that fragmented */
		__atomic_add_fetch(&sh->slot[C.slot].large_enomem, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	if (!p)
		t_problem(&sh->problems, "client token %u: allocating a %s object (%u bytes) failed: %s", C.token,
			kind_name[kind], len, strerror(errno));
	return p;
}

static void raw_free(uint32_t kind, void *p)
{
	if (kind == K_KMALLOC || kind == K_LARGE)
		kfree(p);
	else
		kmem_cache_free(C.pool[kind], p);
}

static void count_held(uint32_t kind, int delta)
{
	__atomic_store_n(&sh->slot[C.slot].held[kind],
			 sh->slot[C.slot].held[kind] + (uint64_t)(int64_t)delta, __ATOMIC_RELAXED);
}

/* a new object: allocated, stamped, claimed; NULL if any of it failed (reported) */
static void *obj_new(uint32_t kind, uint32_t *lenp)
{
	uint32_t len;
	void *p;

	if (kind == K_KMALLOC)
		len = 16 + (uint32_t)(crand() % (2048 - 16 + 1));
	else if (kind == K_LARGE)	/* a 2 MiB block, a whole chunk of the arena */
		len = (1u << 20) + 1 + (uint32_t)(crand() % (1u << 20));
	else
		len = pool_size[kind];
	p = raw_alloc(kind, len);
	if (!p)
		return NULL;
	if ((kind == K_KMALLOC || kind == K_LARGE) && ksize(p) < len)
		t_problem(&sh->problems, "client token %u: ksize %zu of a kmalloc(%u)", C.token, ksize(p), len);
	if (kind == K_DEBUG)	/* every byte of it, up to its red zone and not one past */
		memset(p, 0x5a, len);
	stamp(p, kind, len);
	if (!claim(p, kind, kind == K_KMALLOC || kind == K_LARGE ? "kmalloc" : "kmem_cache_alloc"))
		return NULL;	/* left alone: its holder frees it */
	__atomic_add_fetch(&sh->slot[C.slot].allocs, 1, __ATOMIC_RELAXED);
	*lenp = len;
	return p;
}

/* check, unclaim and free an object this client holds */
static void obj_free(void *p, uint32_t kind, const char *what)
{
	struct ch_stamp *st = p;

	stamp_ok(p, kind, what);
	release(p, kind);
	st->magic = CH_FREED;	/* a stale copy elsewhere would show */
	raw_free(kind, p);
	__atomic_add_fetch(&sh->slot[C.slot].frees, 1, __ATOMIC_RELAXED);
}

static void held_add(void *p, uint32_t kind, uint32_t len)
{
	C.held[C.nheld++] = (struct ch_obj){ p, kind, len };
	count_held(kind, 1);
}

static struct ch_obj held_take(int i)
{
	struct ch_obj o = C.held[i];

	C.held[i] = C.held[--C.nheld];
	count_held(o.kind, -1);
	return o;
}

static int held_of_kind(uint32_t kind)
{
	return (int)sh->slot[C.slot].held[kind];
}

/* hand held object i to another client; true if it went */
static bool obj_send(int i)
{
	struct ch_slot *me = &sh->slot[C.slot];
	struct ch_obj o = C.held[i];
	uint32_t n = sh->nclients, dst = (uint32_t)(C.slot + 1 + (int)(crand() % (n - 1))) % n;
	uint64_t ident = __atomic_load_n(&sh->slot[dst].ident, __ATOMIC_SEQ_CST), head, tail;
	uint32_t to = (uint32_t)(ident >> 32), mine = ENTRY(C.token, o.kind);
	pid_t pid = (pid_t)(uint32_t)ident;
	struct ch_ring *r = &sh->ring[dst][C.slot];
	uint32_t *e = entry_of(slub_offset(o.p));

	if (!ident || to >= max_tokens || __atomic_load_n(&dead[to], __ATOMIC_SEQ_CST))
		return false;
	head = r->head;
	tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	if (head - tail >= CH_RING)
		return false;
	if (!stamp_ok(o.p, o.kind, "sending"))
		return false;
	/* recorded first: whoever takes this slot if we die finishes or undoes it */
	me->pend.stamp_token = ((struct ch_stamp *)o.p)->token;
	me->pend.stamp_seq = ((struct ch_stamp *)o.p)->seq;
	me->pend.kind = o.kind;
	me->pend.off = slub_offset(o.p);
	me->pend.from = C.token;
	me->pend.to = to;
	me->pend.pid = pid;
	me->pend.dst = dst;
	me->pend.head = head;
	__atomic_store_n(&me->pend.active, 1, __ATOMIC_SEQ_CST);
	if (tracks_owner(o.kind)) {
		int rc = kmem_cache_give(C.pool[o.kind], o.p, pid);

		if (rc) {
			if (rc != -ESRCH)
				t_problem(&sh->problems, "client token %u: kmem_cache_give(%s, %#llx, pid %d): %d (%s)",
					C.token, kind_name[o.kind], (unsigned long long)slub_offset(o.p),
					(int)pid, rc, strerror(-rc));
			else
				__atomic_add_fetch(&me->give_esrch, 1, __ATOMIC_RELAXED);
			__atomic_store_n(&me->pend.active, 0, __ATOMIC_SEQ_CST);
			return false;
		}
	}
	if (!__atomic_compare_exchange_n(e, &mine, ENTRY(to, o.kind), 0, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		t_problem(&sh->problems, "client token %u: handing over the %s object at %#llx, its entry is %#x, not mine",
			C.token, kind_name[o.kind], (unsigned long long)slub_offset(o.p), mine);
	r->it[head % CH_RING] = (struct ch_item){ slub_offset(o.p), to, o.kind };
	__atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&me->pend.active, 0, __ATOMIC_SEQ_CST);
	held_take(i);
	__atomic_add_fetch(&me->sent, 1, __ATOMIC_RELAXED);
	return true;
}

/* take what others handed to this client (items for a dead predecessor are dropped) */
static void obj_receive(int max)
{
	struct ch_slot *me = &sh->slot[C.slot];

	for (uint32_t j = 0; j < sh->nclients; j++) {
		struct ch_ring *r = &sh->ring[C.slot][j];
		uint64_t tail = r->tail, head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);

		if ((int)j == C.slot)
			continue;
		while (tail != head && max > 0 && C.nheld < CH_HELD_MAX) {
			struct ch_item it = r->it[tail % CH_RING];

			if (it.to != C.token) {
				/* handed to the client that had this slot before: it is dead */
				if (it.to >= max_tokens || !__atomic_load_n(&dead[it.to], __ATOMIC_SEQ_CST))
					t_problem(&sh->problems, "client token %u: an item in my ring is for token %u, alive",
						C.token, it.to);
				__atomic_add_fetch(&me->discarded, 1, __ATOMIC_RELAXED);
			} else {
				uint32_t *e = entry_of(it.off), cur = e ? __atomic_load_n(e, __ATOMIC_SEQ_CST) : 0;
				void *p = slub_ptr(it.off);
				uint32_t len;

				if (!p || cur != ENTRY(C.token, it.kind)) {
					t_problem(&sh->problems, "client token %u: received %s object at %#llx entered as %#x "
						"(token %u), not as mine", C.token, kind_name[it.kind % K_NR],
						(unsigned long long)it.off, cur, ENTRY_TOKEN(cur));
				} else if ((len = stamp_ok(p, it.kind, "received"))) {
					held_add(p, it.kind, len);
					__atomic_add_fetch(&me->received, 1, __ATOMIC_RELAXED);
				}
				max--;
			}
			tail++;
			__atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
		}
	}
}

/* a burst: many objects of chaos.plain at once, freed in a random order */
static void burst(unsigned int n)
{
	static void *b[CH_BURST_MAX];
	unsigned int got = 0;
	uint32_t len;

	if (n > CH_BURST_MAX)
		n = CH_BURST_MAX;
	for (; got < n; got++)
		if (!(b[got] = obj_new(K_PLAIN, &len)))
			break;
	count_held(K_PLAIN, (int)got);
	for (unsigned int i = got; i > 1; i--) {
		unsigned int j = (unsigned int)(crand() % i);
		void *t = b[i - 1];

		b[i - 1] = b[j];
		b[j] = t;
	}
	for (unsigned int i = 0; i < got; i++) {
		obj_free(b[i], K_PLAIN, "burst");
		count_held(K_PLAIN, -1);
	}
	__atomic_add_fetch(&sh->slot[C.slot].bursts, 1, __ATOMIC_RELAXED);
}

/*
 * a 1-2 MiB kmalloc, freed at once: a whole chunk goes back to the host.
 * Such a block has no owner: a process that dies inside kmalloc (once the
 * block is its own) or inside kfree (before the free began) leaks it for
 * good, 2 MiB, which the engine cannot tell from a block in use.  Kills
 * there are allowed sh->large_budget times (in_large tells the test).
 */
static void large(void)
{
	struct ch_slot *me = &sh->slot[C.slot];
	uint32_t len;
	void *p;

	if (__atomic_load_n(&me->no_large, __ATOMIC_SEQ_CST))
		return;
	__atomic_store_n(&me->in_large, 1, __ATOMIC_SEQ_CST);
	p = obj_new(K_LARGE, &len);
	__atomic_store_n(&me->in_large, 0, __ATOMIC_SEQ_CST);
	if (p) {
		count_held(K_LARGE, 1);
		__atomic_store_n(&me->in_large, 2, __ATOMIC_SEQ_CST);
		obj_free(p, K_LARGE, "large");
		__atomic_store_n(&me->in_large, 0, __ATOMIC_SEQ_CST);
		count_held(K_LARGE, -1);
	}
	__atomic_add_fetch(&me->large, 1, __ATOMIC_RELAXED);
}

static void alloc_keep(uint32_t kind)
{
	uint32_t len;
	void *p;

	if (C.nheld >= CH_HELD_MAX || held_of_kind(kind) >= (int)held_cap[kind])
		return;
	p = obj_new(kind, &len);
	if (p)
		held_add(p, kind, len);
}

static void free_one(void)
{
	struct ch_obj o;

	if (!C.nheld)
		return;
	o = held_take((int)(crand() % (uint64_t)C.nheld));
	obj_free(o.p, o.kind, "kept");
}

static uint32_t random_kind(void)
{
	unsigned int r = (unsigned int)(crand() % 100);

	if (r < 30)
		return K_PLAIN;
	if (r < 42)
		return K_USER;
	if (r < 57)
		return K_DEBUG;
	if (r < 80)
		return K_RECLAIM;
	return K_KMALLOC;
}

/* one operation, chosen at random */
static void random_op(uint64_t op)
{
	unsigned int r = (unsigned int)(crand() % 1000);

	if (op % 4 == 0)
		obj_receive(16);
	if (r < 2) {
		burst(50 + (unsigned int)(crand() % 300));
	} else if (r < 3) {
		kmem_cache_shrink(C.pool[crand() % 2 ? K_PLAIN : K_USER]);
		__atomic_add_fetch(&sh->slot[C.slot].shrinks, 1, __ATOMIC_RELAXED);
	} else if (r == 3 && crand() % 32 == 0) {
		large();
	} else if (r < 450) {
		uint32_t kind = random_kind();

		if (held_of_kind(kind) >= (int)held_cap[kind])
			free_one();
		else
			alloc_keep(kind);
	} else if (r < 800) {
		free_one();
	} else if (C.nheld) {
		int i = (int)(crand() % (uint64_t)C.nheld);

		if (!obj_send(i) && crand() % 2)
			free_one();
	}
}

/* armed for hook h: what reaches it soonest */
static void hook_op(int h)
{
	switch (h) {
	case HOOK_PUNCH:
		large();
		break;
	case HOOK_CPU_DEACTIVATE:
		alloc_keep(K_PLAIN);
		kmem_cache_shrink(C.pool[K_PLAIN]);
		break;
	case HOOK_LIST_LOCKED: {
		uint32_t k = crand() % 2 ? K_USER : K_DEBUG;

		if (held_of_kind(k) >= (int)held_cap[k])
			free_one();
		alloc_keep(k);
		break;
	}
	case HOOK_DISCARD:
		burst(CH_BURST_MAX);
		kmem_cache_shrink(C.pool[K_PLAIN]);
		break;
	default:	/* CPU_LOCKED, NEW_SLAB, ZONE_LOCKED, FREE_TRANSIT, SLAB_ACCT */
		burst(CH_BURST_MAX);
		break;
	}
}

static void chaos_hook(enum shm_hook where)
{
	struct ch_slot *me = &sh->slot[C.slot];

	if (__atomic_load_n(&me->arm, __ATOMIC_SEQ_CST) != (int)where)
		return;
	/* inside a 2 MiB kmalloc or kfree (but for the punch, which gives it back) */
	if (where != HOOK_PUNCH && __atomic_load_n(&me->in_large, __ATOMIC_SEQ_CST) &&
	    __atomic_load_n(&sh->large_budget, __ATOMIC_SEQ_CST) <= 0)
		return;
	__atomic_store_n(&me->at_hook, (int)where, __ATOMIC_SEQ_CST);
	raise(SIGSTOP);		/* here, holding what the engine holds: the SIGKILL comes */
	__atomic_store_n(&me->at_hook, 0, __ATOMIC_SEQ_CST);
}

/* the hand-over the client before us in this slot died in: finish it or leave it */
static void resolve_predecessor(void)
{
	struct ch_slot *me = &sh->slot[C.slot];
	struct ch_pending pd;
	struct ch_stamp st;
	struct ch_ring *r;
	uint32_t *e, cur;
	bool forward = false;

	if (!__atomic_load_n(&me->pend.active, __ATOMIC_SEQ_CST))
		return;
	pd = me->pend;
	e = entry_of(pd.off);
	if (!e || pd.kind >= K_NR || pd.dst >= sh->nclients || pd.from >= max_tokens ||
	    !dead[pd.from]) {
		t_problem(&sh->problems, "client token %u: the hand-over record of slot %d is bad (from token %u, "
			"offset %#llx)", C.token, C.slot, pd.from, (unsigned long long)pd.off);
		goto out;
	}
	r = &sh->ring[pd.dst][C.slot];
	cur = __atomic_load_n(e, __ATOMIC_SEQ_CST);
	/*
	 * Still the object the dead sender was handing over?  If it was freed
	 * meanwhile (chaos.reclaim: slubd freed it, its owner being dead) and
	 * allocated again, its new allocator stamped it before entering it.
	 */
	st = *(struct ch_stamp *)slub_ptr(pd.off);
	if (st.magic != (CH_MAGIC | pd.kind) || st.token != pd.stamp_token || st.seq != pd.stamp_seq)
		goto out;
	if (cur == ENTRY(pd.from, pd.kind)) {
		/* the entry never moved: did the give happen? */
		if (tracks_owner(pd.kind)) {
			pid_t owner = kmem_cache_owner(C.pool[pd.kind], slub_ptr(pd.off));

			if (owner == pd.pid) {
				uint32_t from = cur;

				forward = __atomic_compare_exchange_n(e, &from, ENTRY(pd.to, pd.kind), 0,
								      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
			}
		}
		/* else the dead sender's still: leaked (reclaimed in chaos.reclaim) */
	} else if (cur == ENTRY(pd.to, pd.kind)) {
		forward = true;
	}
	if (forward && __atomic_load_n(&r->head, __ATOMIC_ACQUIRE) == pd.head) {
		r->it[pd.head % CH_RING] = (struct ch_item){ pd.off, pd.to, pd.kind };
		__atomic_store_n(&r->head, pd.head + 1, __ATOMIC_RELEASE);
		__atomic_add_fetch(&me->forward, 1, __ATOMIC_RELAXED);
	}
out:
	__atomic_store_n(&me->pend.active, 0, __ATOMIC_SEQ_CST);
}

/* paused: free what dead clients left in the pools that do not reclaim */
static void collect(void)
{
	for (uint64_t i = 1; i < sh->table_len; i++) {
		uint32_t cur = __atomic_load_n(&table[i], __ATOMIC_RELAXED), t, k;
		void *p;

		if (!cur)
			continue;
		t = ENTRY_TOKEN(cur);
		k = ENTRY_KIND(cur);
		if (k == K_RECLAIM || t >= max_tokens || !__atomic_load_n(&dead[t], __ATOMIC_SEQ_CST))
			continue;
		if (!__atomic_compare_exchange_n(&table[i], &cur, 0, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			continue;
		p = slub_ptr(i << CH_SHIFT);
		if (!p || k == K_NONE || k >= K_NR) {
			t_problem(&sh->problems, "collector: entry %#x at offset %#llx", cur, (unsigned long long)(i << CH_SHIFT));
			continue;
		}
		stamp_ok(p, k, "left by a dead client");
		((struct ch_stamp *)p)->magic = CH_FREED;
		raw_free(k, p);
		__atomic_add_fetch(&sh->collected[k], 1, __ATOMIC_RELAXED);
	}
}

/* at the end: take what is handed to us, free everything */
static void free_all(void)
{
	int got;

	do {
		obj_receive(CH_HELD_MAX);
		got = C.nheld;
		while (C.nheld)
			free_one();
	} while (got);
}

static void pause_point(void)
{
	struct ch_slot *me = &sh->slot[C.slot];
	uint32_t gen = __atomic_load_n(&sh->pause, __ATOMIC_SEQ_CST);

	if (!gen)
		return;
	__atomic_store_n(&me->paused, gen, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&sh->pause, __ATOMIC_SEQ_CST) == gen) {
		if (__atomic_load_n(&sh->collect, __ATOMIC_SEQ_CST) == gen &&
		    __atomic_load_n(&sh->collector, __ATOMIC_SEQ_CST) == C.slot &&
		    __atomic_load_n(&me->collected, __ATOMIC_SEQ_CST) != gen) {
			collect();
			__atomic_store_n(&me->collected, gen, __ATOMIC_SEQ_CST);
		}
		if (__atomic_load_n(&sh->final, __ATOMIC_SEQ_CST) &&
		    !__atomic_load_n(&me->final_done, __ATOMIC_SEQ_CST)) {
			free_all();
			__atomic_store_n(&me->final_done, 1, __ATOMIC_SEQ_CST);
		}
		if (__atomic_load_n(&sh->exit_ok, __ATOMIC_SEQ_CST))
			_exit(0);
		t_sleep_us(500);
	}
}

void client_main(void *arg)
{
	const struct ch_arg *a = arg;
	struct ch_slot *me = &sh->slot[a->slot];
	uint64_t op = 0;
	int rc;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	memset(&C, 0, sizeof(C));
	C.slot = a->slot;
	C.token = a->token;
	C.pid = getpid();
	C.rnd = a->seed;
	if (ncpus > 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpus[a->slot % ncpus], &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	rc = slub_attach(sock_path);
	if (rc) {
		t_problem(&sh->problems, "client token %u: slub_attach(%s): %d (%s)", C.token, sock_path, rc, strerror(-rc));
		_exit(1);
	}
	for (int k = K_PLAIN; k <= K_RECLAIM; k++) {
		C.pool[k] = kmem_cache_create(kind_name[k], pool_size[k], 0, pool_flags[k], NULL);
		if (!C.pool[k]) {
			t_problem(&sh->problems, "client token %u: kmem_cache_create(%s): %s", C.token, kind_name[k],
				strerror(errno));
			_exit(1);
		}
	}
	resolve_predecessor();
	for (int k = 0; k < K_NR; k++)
		me->held[k] = 0;
	shm_test_hook = chaos_hook;
	__atomic_store_n(&me->ident, (uint64_t)C.token << 32 | (uint32_t)C.pid, __ATOMIC_SEQ_CST);
	__atomic_store_n(&me->ready, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		uint64_t t0, dt;
		int h;

		pause_point();
		t0 = t_now_ns();
		h = __atomic_load_n(&me->arm, __ATOMIC_SEQ_CST);
		if (h)
			hook_op(h);
		else
			random_op(op);
		dt = t_now_ns() - t0;
		if (dt > me->max_op_ns)
			__atomic_store_n(&me->max_op_ns, dt, __ATOMIC_RELAXED);
		__atomic_store_n(&me->ops, ++op, __ATOMIC_RELEASE);
	}
}
