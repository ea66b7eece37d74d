/* check.c - the rounds of t_chaos: the table, the reports, validate; see chaos.h. */
#include "chaos.h"

/* a table scan: per token and kind, what live clients hold; what dead ones left */
struct ch_count {
	uint64_t live[K_NR], dead[K_NR];
	uint64_t slot_kind[CH_MAX_CLIENTS][K_NR];
	uint64_t stray;			/* entries of tokens never handed out */
};

static void scan(struct ch_count *c)
{
	memset(c, 0, sizeof(*c));
	memset(O.dead_user, 0, max_tokens * sizeof(*O.dead_user));
	for (uint64_t i = 0; i < sh->table_len; i++) {
		uint32_t cur = __atomic_load_n(&table[i], __ATOMIC_RELAXED), t, k;

		if (!cur)
			continue;
		t = ENTRY_TOKEN(cur);
		k = ENTRY_KIND(cur);
		if (t == 0 || t >= O.next_token || k == K_NONE || k >= K_NR) {
			c->stray++;
			continue;
		}
		if (dead[t]) {
			c->dead[k]++;
			if (k == K_USER)
				O.dead_user[t]++;
		} else {
			c->live[k]++;
			if (O.token_slot[t] >= 0)
				c->slot_kind[O.token_slot[t]][k]++;
			else
				c->stray++;
		}
	}
}

static bool all_paused(uint32_t gen, uint64_t ms)
{
	uint64_t t0 = t_now_ms();

	for (;;) {
		int n = 0;

		for (int i = 0; i < O.n; i++)
			n += __atomic_load_n(&sh->slot[i].paused, __ATOMIC_SEQ_CST) == gen;
		if (n == O.n)
			return true;
		if (t_now_ms() - t0 > ms)
			return false;
		t_sleep_us(200);
	}
}

/* take in what the monitor read since the last call */
static void take_reports(void)
{
	uint32_t n = __atomic_load_n(&sh->mon.nrep, __ATOMIC_ACQUIRE);

	CHECKF(n - O.mon_done <= CH_MON_MAX, "%u leak reports came between two rounds, more than "
	       "the %d the test keeps", n - O.mon_done, CH_MON_MAX);
	if (n - O.mon_done > CH_MON_MAX)
		O.mon_done = n - CH_MON_MAX;
	for (; O.mon_done != n; O.mon_done++) {
		const struct ch_report *r = &sh->mon.rep[O.mon_done % CH_MON_MAX];
		uint32_t t = r->pid < O.pid_max ? O.pid_token[r->pid] : 0;

		if (r->kind == K_USER) {
			O.rep_user_n++;
			O.rep_user_objs += r->objects;
		} else if (r->kind == K_DEBUG) {
			/* chaos.debug's leaks: only checked to name dead clients, not left */
			O.rep_debug_n++;
			O.rep_debug_objs += r->objects;
		} else {
			O.rep_reclaim_n++;
			O.rep_reclaim_objs += r->objects;
		}
		if (r->pid == 0) {	/* too many dead owners at once: "the rest" */
			if (r->kind == K_USER)
				O.pooled_user++;
			else if (r->kind == K_RECLAIM)
				O.pooled_reclaim++;
			continue;
		}
		if (!t || !dead[t] || O.token_pid[t] != (int32_t)r->pid) {
			O.rep_bad++;
			CHECKF(0, "round %lu: slubd reports pid %u died holding %u objects of %s, but %s "
			       "(seed %llu)", O.rounds + 1, r->pid, r->objects, kind_name[r->kind],
			       t ? "that client lives" : "no client of this test had that pid",
			       (unsigned long long)O.seed);
			continue;
		}
		if ((r->kind == K_RECLAIM) != (r->freed != 0))
			CHECKF(0, "round %lu: slubd reports pid %u died holding %u objects of %s, %s",
			       O.rounds + 1, r->pid, r->objects, kind_name[r->kind],
			       r->freed ? "freed" : "not freed");
		/* a second report of the same pid counts all its objects again */
		if (r->kind == K_USER && r->objects > O.rep_user[t])
			O.rep_user[t] = r->objects;
		else if (r->kind == K_RECLAIM)
			O.rep_reclaim[t] += r->objects;	/* freed: each time others */
	}
}

/*
 * has slubd reported every dead client that held objects of chaos.user
 * (left: leaked) or chaos.reclaim (freed)?  Where it pooled owners ("the
 * rest"), the ones it did not name are taken to be in the pool.  With
 * complain, say which are missing.
 */
static bool reports_complete(bool complain)
{
	unsigned int said = 0;
	bool ok = true;

	for (uint32_t t = O.first_unverified; t < O.next_token; t++) {
		if (!dead[t] || O.verified[t])
			continue;
		if (O.dead_user[t] && !O.rep_user[t] && !O.pooled_user) {
			ok = false;
			if (complain && said++ < 5)
				CHECKF(0, "client token %u (pid %d) died holding %u objects of %s: slubd "
				       "reported no leak of that pid (seed %llu)", t, (int)O.token_pid[t],
				       O.dead_user[t], kind_name[K_USER], (unsigned long long)O.seed);
		}
		/*
		 * fewer: an object given to it as it died (the giver waited for the
		 * node lock the scrub held) is counted by the next scrub, which
		 * reports the pid again; the rounds' own connections bring one on
		 */
		if (O.rep_user[t] && O.rep_user[t] < O.dead_user[t])
			ok = false;
		if (O.due_reclaim[t] && !O.rep_reclaim[t] && !O.pooled_reclaim) {
			ok = false;
			if (complain && said++ < 5)
				CHECKF(0, "client token %u (pid %d) died holding about %u objects of %s: slubd "
				       "reported freeing none of that pid (seed %llu)", t, (int)O.token_pid[t],
				       O.due_reclaim[t], kind_name[K_RECLAIM], (unsigned long long)O.seed);
		}
		/* the report may count one more: allocated by the victim, not yet entered */
		if (complain && O.rep_user[t] &&
		    (O.rep_user[t] < O.dead_user[t] || O.rep_user[t] > O.dead_user[t] + 2))
			CHECKF(0, "client token %u (pid %d) left %u objects of %s; slubd reported %u "
			       "(it was handing over: %s) (seed %llu)", t, (int)O.token_pid[t],
			       O.dead_user[t], kind_name[K_USER], O.rep_user[t],
			       O.pend_kind[t] ? kind_name[O.pend_kind[t]] : "nothing",
			       (unsigned long long)O.seed);
	}
	if (complain && said > 5)
		CHECKF(0, "and %u more dead clients of which slubd said nothing", said - 5);
	return ok;
}

/* the dead clients so far are checked: the next round looks at the new ones */
static void reports_verified(void)
{
	uint64_t n = 0, with = 0, left = 0, rep_left = 0, due = 0, rep_freed = 0;

	for (uint32_t t = O.first_unverified; t < O.next_token; t++)
		if (dead[t] && !O.verified[t]) {
			O.verified[t] = 1;
			n++;
			with += O.dead_user[t] != 0;
			left += O.dead_user[t];
			rep_left += O.rep_user[t];
			due += O.due_reclaim[t];
			rep_freed += O.rep_reclaim[t];
		}
	if (O.verbose)
		printf("  %llu dead clients: %llu left %llu objects of %s, slubd named their pids for "
		       "%llu (%llu reports of \"the rest\"); they held about %llu of %s, slubd freed %llu "
		       "naming their pids (%llu reports of the rest)\n", (unsigned long long)n,
		       (unsigned long long)with, (unsigned long long)left, kind_name[K_USER],
		       (unsigned long long)rep_left, (unsigned long long)O.pooled_user,
		       (unsigned long long)due, kind_name[K_RECLAIM], (unsigned long long)rep_freed,
		       (unsigned long long)O.pooled_reclaim);
	while (O.first_unverified < O.next_token && O.verified[O.first_unverified])
		O.first_unverified++;
	O.pooled_user = O.pooled_reclaim = 0;
}

/* let the monitor read the ring twice more: what is there now is then taken */
void monitor_catch_up(void)
{
	uint64_t p0 = __atomic_load_n(&sh->mon.polls, __ATOMIC_SEQ_CST), t0 = t_now_ms();

	while (__atomic_load_n(&sh->mon.polls, __ATOMIC_SEQ_CST) < p0 + 2 && t_now_ms() - t0 < 2000)
		t_sleep_us(500);
}

void round_check(bool final)
{
	static uint32_t gen;
	struct ch_count c;
	struct ch_stats st;
	struct e2e_validate v;
	uint64_t t0, untracked = O.nkills + 1, want_km;
	int ok = 0;

	gen++;
	__atomic_store_n(&sh->pause, gen, __ATOMIC_SEQ_CST);
	if (!all_paused(gen, O.stall_ms + 1000)) {
		for (int i = 0; i < O.n; i++)
			CHECKF(sh->slot[i].paused == gen, "round %lu: client token %u (slot %d) did not pause "
			       "within %lu ms", O.rounds + 1, O.cl[i].token, i, O.stall_ms + 1000);
		return;
	}
	scan(&c);
	CHECKF(c.stray == 0, "round %lu: %llu table entries of no known client", O.rounds + 1,
	       (unsigned long long)c.stray);

	/* nothing lost: each live client holds, or has waiting, what the table gives it */
	for (int i = 0; i < O.n; i++) {
		uint64_t ring[K_NR] = { 0 };

		for (int j = 0; j < O.n; j++) {
			struct ch_ring *r = &sh->ring[i][j];

			for (uint64_t t = r->tail; t != r->head; t++)
				if (r->it[t % CH_RING].to == O.cl[i].token && r->it[t % CH_RING].kind < K_NR)
					ring[r->it[t % CH_RING].kind]++;
		}
		for (int k = K_PLAIN; k < K_NR; k++)
			CHECKF(c.slot_kind[i][k] == sh->slot[i].held[k] + ring[k],
			       "round %lu: client token %u: the table gives it %llu %s objects; it holds "
			       "%llu and has %llu waiting in its rings", O.rounds + 1, O.cl[i].token,
			       (unsigned long long)c.slot_kind[i][k], kind_name[k],
			       (unsigned long long)sh->slot[i].held[k], (unsigned long long)ring[k]);
	}

	/* slubd's scrub runs 200 ms after a client's connection closed: poll */
	t0 = t_now_ms();
	for (;;) {
		if (get_stats(&st) || e2e_validate(sock_path, NULL, &v))
			return;
		monitor_catch_up();
		take_reports();
		ok = v.err == 0 && v.errors == 0 &&
		     st.active[K_RECLAIM] == c.live[K_RECLAIM] &&
		     reports_complete(false);
		if (ok || t_now_ms() - t0 > CH_SCRUB_MS)
			break;
		t_sleep_ms(20);
	}
	reports_complete(true);
	reports_verified();
	if (t_now_ms() - t0 > O.worst_scrub_ms)
		O.worst_scrub_ms = t_now_ms() - t0;
	CHECKF(v.err == 0 && v.errors == 0, "round %lu: validate: err %d, %llu errors, first: %s "
	       "(seed %llu)", O.rounds + 1, v.err, (unsigned long long)v.errors, v.first_error,
	       (unsigned long long)O.seed);
	CHECKF(st.active[K_RECLAIM] == c.live[K_RECLAIM], "round %lu: chaos.reclaim holds %llu "
	       "objects, live clients %llu (dead ones held %llu since the start): what dead "
	       "clients held is not back (seed %llu)", O.rounds + 1,
	       (unsigned long long)st.active[K_RECLAIM], (unsigned long long)c.live[K_RECLAIM],
	       (unsigned long long)O.reclaim_due, (unsigned long long)O.seed);
	for (int k = K_PLAIN; k <= K_DEBUG; k++) {
		uint64_t tracked = c.live[k] + c.dead[k];

		CHECKF(st.active[k] >= tracked && st.active[k] - tracked <= untracked,
		       "round %lu: %s holds %llu objects; live clients hold %llu, dead ones left %llu, "
		       "and at most %llu more may have been taken by a victim not yet recorded",
		       O.rounds + 1, kind_name[k], (unsigned long long)st.active[k],
		       (unsigned long long)c.live[k], (unsigned long long)c.dead[k],
		       (unsigned long long)untracked);
	}
	want_km = O.kmalloc_base + c.live[K_KMALLOC] + c.dead[K_KMALLOC];
	CHECKF(st.active[K_KMALLOC] >= want_km && st.active[K_KMALLOC] - want_km <= untracked,
	       "round %lu: the kmalloc caches hold %llu objects; %llu before the clients, live "
	       "clients hold %llu, dead ones left %llu, at most %llu more unrecorded", O.rounds + 1,
	       (unsigned long long)st.active[K_KMALLOC], (unsigned long long)O.kmalloc_base,
	       (unsigned long long)c.live[K_KMALLOC], (unsigned long long)c.dead[K_KMALLOC],
	       (unsigned long long)untracked);
	if (O.verbose)
		printf("  round %lu after %lu kills: arena used %.1f MiB; live clients hold %llu/%llu/%llu/"
		       "%llu/%llu, dead ones left %llu/%llu/%llu/%llu (plain/user/debug/reclaim/kmalloc); "
		       "the scrub took %llu ms\n", O.rounds + 1, O.nkills, (double)st.arena_used / 1048576.0,
		       (unsigned long long)c.live[K_PLAIN], (unsigned long long)c.live[K_USER],
		       (unsigned long long)c.live[K_DEBUG],
		       (unsigned long long)c.live[K_RECLAIM], (unsigned long long)c.live[K_KMALLOC],
		       (unsigned long long)c.dead[K_PLAIN], (unsigned long long)c.dead[K_USER],
		       (unsigned long long)c.dead[K_DEBUG],
		       (unsigned long long)c.dead[K_KMALLOC], (unsigned long long)(t_now_ms() - t0));
	for (int k = K_PLAIN; k < K_NR; k++)
		O.leaked_seen[k] += c.dead[k];
	if (c.dead[K_USER])
		O.user_dead_rounds++;

	/* one live client frees what the dead left (reclaim aside: slubd did) */
	__atomic_store_n(&sh->collector, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&sh->collect, gen, __ATOMIC_SEQ_CST);
	t0 = t_now_ms();
	while (__atomic_load_n(&sh->slot[0].collected, __ATOMIC_SEQ_CST) != gen) {
		if (t_now_ms() - t0 > 30000) {
			CHECKF(0, "round %lu: the collector did not finish within 30 s", O.rounds + 1);
			return;
		}
		t_sleep_us(500);
	}

	if (final) {
		__atomic_store_n(&sh->final, 1, __ATOMIC_SEQ_CST);
		t0 = t_now_ms();
		for (int i = 0; i < O.n; i++)
			while (!__atomic_load_n(&sh->slot[i].final_done, __ATOMIC_SEQ_CST)) {
				if (t_now_ms() - t0 > 30000) {
					CHECKF(0, "client token %u did not free its objects within 30 s",
					       O.cl[i].token);
					return;
				}
				t_sleep_us(500);
			}
		scan(&c);
		for (int k = K_PLAIN; k < K_NR; k++)
			CHECKF(c.live[k] == 0 && (k == K_RECLAIM || c.dead[k] == 0),
			       "at the end: %llu %s objects still entered to live clients, %llu to dead "
			       "ones", (unsigned long long)c.live[k], kind_name[k],
			       (unsigned long long)c.dead[k]);
		if (get_stats(&st) || e2e_validate(sock_path, NULL, &v))
			return;
		CHECKF(v.err == 0 && v.errors == 0, "at the end: validate: err %d, %llu errors, first: %s",
		       v.err, (unsigned long long)v.errors, v.first_error);
		CHECKF(st.active[K_RECLAIM] == 0, "at the end: chaos.reclaim holds %llu objects, "
		       "want 0", (unsigned long long)st.active[K_RECLAIM]);
		for (int k = K_PLAIN; k <= K_DEBUG; k++)
			CHECKF(st.active[k] <= untracked, "at the end: %s holds %llu objects, more than "
			       "the %llu a victim may have taken unrecorded", kind_name[k],
			       (unsigned long long)st.active[k], (unsigned long long)untracked);
		CHECKF(st.active[K_KMALLOC] >= O.kmalloc_base &&
		       st.active[K_KMALLOC] - O.kmalloc_base <= untracked,
		       "at the end: the kmalloc caches hold %llu objects, %llu before the clients",
		       (unsigned long long)st.active[K_KMALLOC], (unsigned long long)O.kmalloc_base);
		printf("  at the end: %s %llu, %s %llu, %s %llu, %s %llu, kmalloc %llu (+%llu) objects "
		       "left; arena used %.1f MiB\n", kind_name[K_PLAIN],
		       (unsigned long long)st.active[K_PLAIN], kind_name[K_USER],
		       (unsigned long long)st.active[K_USER], kind_name[K_DEBUG],
		       (unsigned long long)st.active[K_DEBUG], kind_name[K_RECLAIM],
		       (unsigned long long)st.active[K_RECLAIM],
		       (unsigned long long)(st.active[K_KMALLOC] - O.kmalloc_base),
		       (unsigned long long)O.kmalloc_base, (double)st.arena_used / 1048576.0);
	}
	O.rounds++;
	if (!final)
		__atomic_store_n(&sh->pause, 0, __ATOMIC_SEQ_CST);
}
