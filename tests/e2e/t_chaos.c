/*
 * t_chaos.c - slubd and several client processes doing random work on shared
 * pools, while client after client is SIGKILLed: at random moments, and at
 * deterministic points inside slow paths that hold locks (shm_test_hook).
 *
 *   chaos_kills    one slubd; T_CHAOS_CLIENTS clients (4), each attached on
 *                  its own, opening four pools - chaos.plain (no flags),
 *                  chaos.user (SLAB_STORE_USER), chaos.debug (1000-byte
 *                  objects, SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER:
 *                  a client writes every byte of such an object and none
 *                  past it, so validate's red zone and poison checks must
 *                  find nothing), chaos.reclaim (SLAB_RECLAIM_DEAD) - and
 *                  using kmalloc (16 B .. 2 KiB, now and then a 2 MiB
 *                  block).  A client allocates, frees, hands objects to the
 *                  others through rings in shared memory (kmem_cache_give
 *                  first in the pools that track owners), takes what it is
 *                  handed, runs bursts, shrinks.
 *
 *                  The test kills T_CHAOS_KILLS clients (200), one at a time,
 *                  and starts a new client in the dead one's place each time.
 *                  T_CHAOS_HOOK_PCT percent of the kills (50) land at one of
 *                  the nine hook points a client reaches (taken in turn;
 *                  HOOK_SLAB_MUTEX is slubd's own): the victim is told to
 *                  stop itself there (raise(SIGSTOP) from the hook), the test
 *                  sees it stopped (waitpid WUNTRACED) and SIGKILLs it in
 *                  place, holding what the engine holds there.  A hook not
 *                  reached within T_CHAOS_REACH_MS (2000) becomes a kill at
 *                  a random point, counted apart.  The other kills come after
 *                  a random delay, wherever the victim is.
 *
 *                  Checked all along:
 *                  - never an object twice: a table, one entry per 8 bytes of
 *                    arena, says which client holds the object that starts
 *                    there; a client claims an entry (0 -> itself) when it
 *                    allocates, and gives it up before it frees.  A claim
 *                    that finds another holder is a failure, unless the
 *                    holder is a dead client and the object was of
 *                    chaos.reclaim (slubd freed it, someone got it again).
 *                    Every object carries a stamp checked whenever it
 *                    changes hands and before it is freed.
 *                  - bounded blocking: after each kill every live client does
 *                    T_CHAOS_PROGRESS_OPS operations (20) within
 *                    T_CHAOS_STALL_MS (2000), and no operation of a client
 *                    takes longer than that.  A client that does not move is
 *                    shown (its state, its stack when gdb is installed).
 *                  - the engine reports nothing but leaks: a monitor process
 *                    maps the arena (its file) and reads the report ring; a
 *                    double free, a corrupt free pointer or any other report
 *                    is a failure.
 *                  Every T_CHAOS_ROUND kills (50) and at the end, a round: the
 *                  live clients pause between operations, and once slubd's
 *                  scrub has run (polled, 5 s at most):
 *                  - validate: 0 errors;
 *                  - chaos.reclaim holds exactly the objects the table gives
 *                    to live clients: what dead clients held is back;
 *                  - chaos.plain, chaos.user, chaos.debug and kmalloc hold
 *                    what live and dead clients hold, plus at most one object
 *                    per kill (the one a victim had allocated but not yet
 *                    recorded);
 *                  - each live client holds, or has waiting in its rings,
 *                    exactly the objects the table gives it: nothing lost;
 *                  - slubd reported each dead client that held objects of
 *                    chaos.user by its pid, with their number (SLAB_ERR_LEAK
 *                    "pid P died holding N objects (leaked)"; or, past 16 dead
 *                    owners in one scrub, in a report of the rest, "processes
 *                    died holding N objects"), and each
 *                    that held objects of chaos.reclaim ("...: freed"); and
 *                    never a live client (nor in chaos.debug, whose leak
 *                    reports are not counted otherwise).
 *                  Then one live client frees what dead clients left in
 *                  chaos.plain, chaos.user, chaos.debug and kmalloc (any
 *                  process may free
 *                  any object), so that memory stays bounded however many
 *                  kills are asked.  At the end the clients free everything,
 *                  chaos.reclaim must be empty, and once the clients are gone
 *                  and the caches shrunk the arena uses what it used before
 *                  them (give or take a slab per object left).
 *
 *                  A hand-over is recorded (struct ch_pending) before it
 *                  starts; a client that takes a dead one's place finishes
 *                  or undoes the hand-over its predecessor died in (asking
 *                  kmem_cache_owner whether the give happened), so that the
 *                  counts above stay exact.
 *
 *                  A 2 MiB kmalloc block has no owner: a victim killed inside
 *                  that kmalloc or kfree leaks 2 MiB that nothing can tell
 *                  from a block in use.  Such kills are allowed
 *                  T_CHAOS_LARGE_KILLS times (8); after that a kill waits for
 *                  the victim to leave the block alone.
 *
 * Environment: T_CHAOS_KILLS, T_CHAOS_CLIENTS (2..8), T_CHAOS_SEED (else from
 * the clock; printed), T_CHAOS_HOOK_PCT, T_CHAOS_HOOKS (hook names to use,
 * e.g. "punch,new_slab"; default all), T_CHAOS_ROUND, T_CHAOS_STALL_MS,
 * T_CHAOS_REACH_MS, T_CHAOS_PROGRESS_OPS, T_CHAOS_LARGE_KILLS,
 * T_CHAOS_VERBOSE (a line per round, slubctl stats at the end).  The case
 * gives itself 60 s plus 1 s per kill (E2E_TIMEOUT, if larger, wins).  The
 * seed picks victims, hooks and operations; timing is not reproducible, so a
 * failure is rerun with its seed and many kills rather than replayed.
  *
 * The test's files (the case and the orchestrator here, the client, the
 * monitor, the diagnostics and the rounds' checks in chaos/): chaos/chaos.h.
 */
#include "chaos/chaos.h"

/* ---- shared state ------------------------------------------------------------------ */

struct ch_shared *sh;
uint32_t *table;			/* table_len entries */
uint8_t *dead;			/* dead[token]: 1 once the client is (about to be) killed */
uint32_t max_tokens;
const char *sock_path;
int cpus[2], ncpus;

/* ---- the test: the orchestrator ---------------------------------------------------- */

struct ch_orch O;

uint64_t orand(void)
{
	return t_rand(&O.rnd);
}

void show_problems(void)
{
	t_problems_show(&sh->problems, "client problem");
	CHECKF(sh->problems.count == 0, "%llu problems in the clients (seed %llu)",
	       (unsigned long long)sh->problems.count, (unsigned long long)O.seed);
}

int start_client(int slot)
{
	struct ch_slot *s = &sh->slot[slot];
	struct ch_arg a;
	uint64_t t0 = t_now_ms(), took;
	pid_t pid;

	if (O.next_token >= max_tokens) {
		CHECKF(0, "out of tokens");
		return -1;
	}
	a.slot = slot;
	a.token = O.next_token++;
	a.seed = O.seed * 0x9e3779b97f4a7c15ULL + a.token;
	/* keep the hand-over record (pend) and the rings: the new client resolves them */
	s->ident = 0;
	s->arm = 0;
	s->at_hook = 0;
	s->ready = 0;
	s->paused = 0;
	s->collected = 0;
	s->final_done = 0;
	s->in_large = 0;
	s->no_large = 0;
	pid = t_fork(client_main, &a);
	if (pid < 0)
		return -1;
	O.cl[slot].pid = pid;
	O.cl[slot].token = a.token;
	O.token_slot[a.token] = slot;
	O.token_pid[a.token] = pid;
	if ((uint32_t)pid < O.pid_max)
		O.pid_token[pid] = a.token;
	while (!__atomic_load_n(&s->ready, __ATOMIC_SEQ_CST)) {
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			char how[96];

			CHECKF(0, "client token %u (slot %d) ended while starting: %s", a.token, slot,
			       t_status_str(status, how, sizeof(how)));
			O.cl[slot].pid = 0;
			return -1;
		}
		if (t_now_ms() - t0 > CH_START_MS) {
			CHECKF(0, "client token %u (slot %d) not up within %d ms", a.token, slot, CH_START_MS);
			return -1;
		}
		t_sleep_us(200);
	}
	took = t_now_ms() - t0;
	if (took > O.worst_start_ms)
		O.worst_start_ms = took;
	return 0;
}

/* what a client did, added to the totals before its slot is reused */
static void retire_counts(int slot)
{
	struct ch_slot *s = &sh->slot[slot];

	O.ops_retired += s->ops;
	O.sent_retired += s->sent;
	O.recv_retired += s->received;
	O.reused_retired += s->reused;
	O.forward_retired += s->forward;
	if (s->max_op_ns > O.max_op_ns)
		O.max_op_ns = s->max_op_ns;
	s->ops = s->allocs = s->frees = s->sent = s->received = s->discarded = 0;
	s->bursts = s->shrinks = s->large = s->give_esrch = s->reused = s->forward = 0;
	s->max_op_ns = 0;
}

/* chaos.reclaim objects the victim holds or has waiting for it: slubd must free them */
static uint64_t reclaim_held_by(int slot, uint32_t token)
{
	uint64_t n = __atomic_load_n(&sh->slot[slot].held[K_RECLAIM], __ATOMIC_SEQ_CST);

	for (int j = 0; j < O.n; j++) {
		struct ch_ring *r = &sh->ring[slot][j];

		for (uint64_t t = r->tail; t != r->head; t++)
			n += r->it[t % CH_RING].to == token && r->it[t % CH_RING].kind == K_RECLAIM;
	}
	return n;
}

/* SIGKILL the client in slot (already marked dead), reap it */
static void kill_and_reap(int slot)
{
	pid_t pid = O.cl[slot].pid;
	uint64_t deadline = t_now_ms() + 5000;
	int status;

	kill(pid, SIGKILL);
	for (;;) {
		pid_t r = waitpid(pid, &status, 0);

		if (r == pid && (WIFSIGNALED(status) || WIFEXITED(status)))
			break;
		if (r < 0 && errno != EINTR) {
			CHECKF(0, "waitpid(%d): %s", (int)pid, strerror(errno));
			break;
		}
		if (t_now_ms() > deadline) {
			CHECKF(0, "client pid %d not reaped within 5 s of SIGKILL", (int)pid);
			break;
		}
	}
	if (WIFEXITED(status))
		CHECKF(0, "client pid %d exited (%d) before it was killed", (int)pid, WEXITSTATUS(status));
	else if (WTERMSIG(status) != SIGKILL)
		CHECKF(0, "client pid %d died of signal %d (%s) before it was killed", (int)pid,
		       WTERMSIG(status), strsignal(WTERMSIG(status)));
	O.token_slot[O.cl[slot].token] = -1;
	O.cl[slot].pid = 0;
	__atomic_store_n(&sh->slot[slot].ident, 0, __ATOMIC_SEQ_CST);
}

/*
 * about to kill the client in slot at a random point: it starts no 2 MiB
 * kmalloc any more; if it is inside one, that counts against the budget,
 * or else the kill waits until it is out
 */
static void settle_large(int slot)
{
	struct ch_slot *s = &sh->slot[slot];
	uint64_t t0 = t_now_ms();

	__atomic_store_n(&s->no_large, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&s->in_large, __ATOMIC_SEQ_CST))
		return;
	if (__atomic_load_n(&sh->large_budget, __ATOMIC_SEQ_CST) > 0) {
		__atomic_sub_fetch(&sh->large_budget, 1, __ATOMIC_SEQ_CST);
		O.large_kills++;
		return;
	}
	while (__atomic_load_n(&s->in_large, __ATOMIC_SEQ_CST) && t_now_ms() - t0 < O.stall_ms)
		t_sleep_us(100);
	if (__atomic_load_n(&s->in_large, __ATOMIC_SEQ_CST))
		O.large_kills++;	/* stuck there?  the progress check will tell */
}

/* before the kill: no one hands it anything more */
static void mark_dead(int slot)
{
	__atomic_store_n(&dead[O.cl[slot].token], 1, __ATOMIC_SEQ_CST);
}

/*
 * after the kill: what slubd must free as the dead client's, counted once it
 * can no longer change.  An object it was handing over is in its count,
 * though the give may have made the receiver its owner already (its
 * successor settles which): not one slubd must free as the dead client's.
 */
static void count_dead(int slot)
{
	uint64_t due = reclaim_held_by(slot, O.cl[slot].token);
	const struct ch_pending *pe = &sh->slot[slot].pend;
	uint32_t pend = __atomic_load_n(&pe->active, __ATOMIC_SEQ_CST) ? pe->kind : 0;

	if (pend == K_RECLAIM && due)
		due--;
	O.pend_kind[O.cl[slot].token] = pend;
	O.reclaim_due += due;
	O.due_reclaim[O.cl[slot].token] = (uint32_t)due;
}

/* every client but skip does progress_ops operations within stall_ms */
void check_progress(int skip, const char *after)
{
	uint64_t base[CH_MAX_CLIENTS], t0 = t_now_ms(), took;
	int done = 0, looked = 0;

	for (int i = 0; i < O.n; i++)
		base[i] = __atomic_load_n(&sh->slot[i].ops, __ATOMIC_ACQUIRE);
	while (!done) {
		done = 1;
		for (int i = 0; i < O.n; i++)
			if (i != skip && __atomic_load_n(&sh->slot[i].ops, __ATOMIC_ACQUIRE) <
					 base[i] + O.progress_ops)
				done = 0;
		if (done || t_now_ms() - t0 > O.stall_ms)
			break;
		if (!looked && t_now_ms() - t0 > O.stall_ms / 2) {
			/* half the bound gone: look at who holds what the slow ones wait for */
			looked = 1;
			for (int i = 0; i < O.n; i++)
				if (i != skip && __atomic_load_n(&sh->slot[i].ops, __ATOMIC_ACQUIRE) <
						 base[i] + O.progress_ops)
					show_waiting(i);
		}
		t_sleep_us(200);
	}
	took = t_now_ms() - t0;
	if (took > O.worst_progress_ms)
		O.worst_progress_ms = took;
	for (int i = 0; i < O.n; i++) {
		uint64_t did = __atomic_load_n(&sh->slot[i].ops, __ATOMIC_ACQUIRE) - base[i];

		if (i != skip && did < O.progress_ops) {
			CHECKF(0, "after %s: client token %u (slot %d) did %llu of %lu operations in %lu ms: "
			       "blocked (seed %llu)", after, O.cl[i].token, i, (unsigned long long)did,
			       O.progress_ops, O.stall_ms, (unsigned long long)O.seed);
			show_stuck(i);
		}
	}
}

void kill_one(void)
{
	int v = (int)(orand() % (uint64_t)O.n);
	struct ch_slot *s = &sh->slot[v];
	pid_t pid = O.cl[v].pid;
	char what[96];

	if (orand() % 100 < O.hook_pct) {
		int h = O.hooks[O.hook_turn++ % (unsigned long)O.nhooks], status;
		uint64_t t0 = t_now_ms();
		bool stopped = false;

		__atomic_store_n(&s->arm, h, __ATOMIC_SEQ_CST);
		for (;;) {
			pid_t r = waitpid(pid, &status, WNOHANG | WUNTRACED);

			if (r == pid && WIFSTOPPED(status)) {
				stopped = true;
				break;
			}
			if (r == pid) {
				char how[96];

				CHECKF(0, "client token %u ended on its own, armed for %s: %s", O.cl[v].token,
				       hook_name(h), t_status_str(status, how, sizeof(how)));
				O.cl[v].pid = 0;
				return;
			}
			if (t_now_ms() - t0 > O.reach_ms)
				break;
			t_sleep_us(100);
		}
		if (stopped) {
			uint64_t took = t_now_ms() - t0;
			int at = __atomic_load_n(&s->at_hook, __ATOMIC_SEQ_CST);

			CHECKF(at == h, "client token %u stopped at hook %d, armed for %s", O.cl[v].token,
			       at, hook_name(h));
			if (took > O.worst_reach_ms)
				O.worst_reach_ms = took;
			O.hook_kills[h]++;
			if (h != HOOK_PUNCH && __atomic_load_n(&s->in_large, __ATOMIC_SEQ_CST)) {
				__atomic_sub_fetch(&sh->large_budget, 1, __ATOMIC_SEQ_CST);
				O.large_kills++;
			}
			snprintf(what, sizeof(what), "a kill at %s", hook_name(h));
		} else {
			__atomic_store_n(&s->arm, 0, __ATOMIC_SEQ_CST);
			settle_large(v);
			O.unreached[h]++;
			O.random_kills++;
			snprintf(what, sizeof(what), "a kill (%s not reached)", hook_name(h));
		}
	} else {
		t_sleep_us((unsigned int)(orand() % 3000));
		settle_large(v);
		O.random_kills++;
		snprintf(what, sizeof(what), "a kill at a random point");
	}
	mark_dead(v);
	kill_and_reap(v);
	count_dead(v);
	O.nkills++;
	check_progress(v, what);
	retire_counts(v);
	start_client(v);
}

E2E_CASE(chaos_kills)
{
	struct e2e_slubd *d;
	struct ch_stats st;
	uint64_t t_start = t_now_ms(), ops = 0, sent = 0, reused = 0, forward = 0, collected = 0;
	unsigned long hook_total = 0, unreached_total = 0;
	char hooks[512] = "", unreached[256] = "";
	cpu_set_t set;
	size_t hl = 0, ul = 0;

	memset(&O, 0, sizeof(O));
	O.n = (int)t_env_ul("T_CHAOS_CLIENTS", 4);
	O.kills = t_env_ul("T_CHAOS_KILLS", 200);
	O.hook_pct = t_env_ul("T_CHAOS_HOOK_PCT", 50);
	O.round_every = t_env_ul("T_CHAOS_ROUND", 50);
	O.stall_ms = t_env_ul("T_CHAOS_STALL_MS", 2000);
	O.reach_ms = t_env_ul("T_CHAOS_REACH_MS", 2000);
	O.progress_ops = t_env_ul("T_CHAOS_PROGRESS_OPS", 20);
	O.seed = t_env_ul("T_CHAOS_SEED", 0);
	O.verbose = t_env_ul("T_CHAOS_VERBOSE", 0);
	{
		const char *e = getenv("T_CHAOS_HOOKS");	/* names, e.g. "punch,new_slab" */

		for (int i = 0; i < CH_NR_HOOKS; i++)
			if (!e || !*e || strstr(e, hook_name(ch_hooks[i])))
				O.hooks[O.nhooks++] = ch_hooks[i];
		if (!O.nhooks)
			O.hook_pct = 0;
	}
	if (!O.seed)
		O.seed = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 20;
	O.rnd = O.seed;
	if (O.n < 2)
		O.n = 2;
	if (O.n > CH_MAX_CLIENTS)
		O.n = CH_MAX_CLIENTS;
	if (!O.round_every)
		O.round_every = 50;
	{
		unsigned long want = 60 + O.kills, have = 0;
		const char *e = getenv("E2E_TIMEOUT");

		if (e)
			have = strtoul(e, NULL, 10);
		alarm((unsigned int)(want > have ? want : have));
	}
	printf("  seed %llu (T_CHAOS_SEED), %lu kills, %d clients\n", (unsigned long long)O.seed,
	       O.kills, O.n);
	ncpus = 0;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		for (int c = 0; c < CPU_SETSIZE && ncpus < 2; c++)
			if (CPU_ISSET(c, &set))
				cpus[ncpus++] = c;

	d = e2e_start(NULL);
	REQUIRE(d != NULL);
	sock_path = d->sock;
	REQUIRE(get_stats(&st) == 0);
	REQUIRE(st.arena_size > 0);
	O.kmalloc_base = st.active[K_KMALLOC];
	O.arena_base = st.arena_used;

	sh = t_shared(sizeof(*sh));
	REQUIRE(sh != NULL);
	sh->nclients = (uint32_t)O.n;
	sh->large_budget = (int32_t)t_env_ul("T_CHAOS_LARGE_KILLS", 8);
	sh->table_len = st.arena_size >> CH_SHIFT;
	table = t_shared(sh->table_len * sizeof(*table));
	max_tokens = (uint32_t)(O.kills + (unsigned long)O.n + 2);
	dead = t_shared(max_tokens);
	O.token_slot = calloc(max_tokens, sizeof(*O.token_slot));
	O.token_pid = calloc(max_tokens, sizeof(*O.token_pid));
	O.due_reclaim = calloc(max_tokens, sizeof(*O.due_reclaim));
	O.rep_user = calloc(max_tokens, sizeof(*O.rep_user));
	O.rep_reclaim = calloc(max_tokens, sizeof(*O.rep_reclaim));
	O.dead_user = calloc(max_tokens, sizeof(*O.dead_user));
	O.pend_kind = calloc(max_tokens, sizeof(*O.pend_kind));
	O.verified = calloc(max_tokens, 1);
	{
		FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
		unsigned int pm = 0;

		if (!f || fscanf(f, "%u", &pm) != 1 || pm < 1024 || pm > (1u << 22))
			pm = 1u << 22;
		if (f)
			fclose(f);
		O.pid_max = pm;
	}
	O.pid_token = calloc(O.pid_max, sizeof(*O.pid_token));
	REQUIRE(table != NULL && dead != NULL && O.token_slot != NULL && O.token_pid && O.due_reclaim &&
		O.rep_user && O.rep_reclaim && O.dead_user && O.pend_kind && O.verified && O.pid_token);
	O.next_token = 1;
	O.first_unverified = 1;

	/* the monitor reads the engine's reports from the arena file */
	{
		static char path[200];
		uint64_t t0 = t_now_ms();

		snprintf(path, sizeof(path), "%s/slubd.arena", d->dir);
		O.mon_pid = t_fork(monitor_main, path);
		REQUIRE(O.mon_pid > 0);
		while (!__atomic_load_n(&sh->mon.up, __ATOMIC_SEQ_CST) && !sh->problems.count &&
		       t_now_ms() - t0 < 10000)
			t_sleep_us(500);
		CHECKF(sh->mon.up, "the monitor did not map the arena %s", path);
	}

	for (int i = 0; i < O.n && !t_failed; i++)
		start_client(i);
	t_sleep_ms(50);
	while (O.nkills < O.kills && !t_failed && !sh->problems.count) {
		t_sleep_ms(1 + (int)(orand() % 10));
		kill_one();
		if (O.nkills % O.round_every == 0 && O.nkills < O.kills)
			round_check(false);
		if (!e2e_alive(d, "during the kills"))
			break;
	}
	if (!t_failed)
		round_check(true);
	monitor_catch_up();
	__atomic_store_n(&sh->mon.stop, 1, __ATOMIC_SEQ_CST);
	t_wait(O.mon_pid, "the monitor");
	for (uint32_t i = 0; i < sh->mon.nmsg; i++)
		printf("  engine report: %s\n", sh->mon.msg[i]);
	CHECKF(sh->mon.other == 0, "the engine reported %llu errors other than leaks (seed %llu)",
	       (unsigned long long)sh->mon.other, (unsigned long long)O.seed);
	show_problems();

	for (int i = 0; i < O.n; i++) {
		struct ch_slot *s = &sh->slot[i];

		ops += s->ops;
		sent += s->sent;
		reused += s->reused;
		forward += s->forward;
		if (s->max_op_ns > O.max_op_ns)
			O.max_op_ns = s->max_op_ns;
	}
	ops += O.ops_retired;
	sent += O.sent_retired;
	reused += O.reused_retired;
	forward += O.forward_retired;
	for (int k = 0; k < K_NR; k++)
		collected += sh->collected[k];
	CHECKF(O.max_op_ns / 1000000 <= O.stall_ms, "a client operation took %llu ms (bound %lu ms)",
	       (unsigned long long)(O.max_op_ns / 1000000), O.stall_ms);

	/* the live clients exit (paused at the end; else, after a failure, killed) */
	__atomic_store_n(&sh->exit_ok, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < O.n; i++) {
		char what[64], how[96];
		int status;

		if (O.cl[i].pid <= 0)
			continue;
		snprintf(what, sizeof(what), "client token %u at the end", O.cl[i].token);
		if (O.rounds && sh->final) {
			status = e2e_waitpid_timeout(O.cl[i].pid, 10000);
			CHECKF(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: %s", what,
			       t_status_str(status, how, sizeof(how)));
		} else {
			kill(O.cl[i].pid, SIGKILL);
			waitpid(O.cl[i].pid, &status, 0);
		}
	}
	e2e_alive(d, "after the clients exited");

	/*
	 * the arena's pages are back: with the pools gone (or holding what
	 * victims took unrecorded) and every cache shrunk, what is in use is
	 * what was before the clients, give or take the quarantined pool
	 * descriptors and a slab per object left
	 */
	if (!t_failed && O.rounds && sh->final) {
		uint64_t left = 0, slack, t0 = t_now_ms();

		for (;;) {
			REQUIRE(get_stats(&st) == 0);
			if ((!st.listed[K_PLAIN] && !st.listed[K_USER] && !st.listed[K_DEBUG] &&
			     !st.listed[K_RECLAIM]) ||
			    t_now_ms() - t0 > 3000)
				break;
			t_sleep_ms(20);
		}
		CHECK(e2e_slubctl(d, NULL, "shrink", NULL) == 0);
		REQUIRE(get_stats(&st) == 0);
		for (int k = K_PLAIN; k <= K_KMALLOC; k++)
			left += st.active[k];
		left -= O.kmalloc_base;
		slack = (1u << 20) + left * (32u << 10) + O.large_kills * (2u << 20);
		printf("  arena used: %.2f MiB before the clients, %.2f MiB after (shrunk; %llu objects "
		       "left; %lu kills inside a 2 MiB kmalloc or kfree)\n",
		       (double)O.arena_base / 1048576.0, (double)st.arena_used / 1048576.0,
		       (unsigned long long)left, O.large_kills);
		CHECKF(st.arena_used <= O.arena_base + slack, "the arena uses %.2f MiB after the clients "
		       "exited and every cache was shrunk, %.2f MiB before them: %.2f MiB of dead clients' "
		       "memory is not back (seed %llu)", (double)st.arena_used / 1048576.0,
		       (double)O.arena_base / 1048576.0,
		       (double)(st.arena_used - O.arena_base) / 1048576.0, (unsigned long long)O.seed);
	}
	if (O.verbose) {
		char *out = NULL;

		e2e_slubctl(d, &out, "stats", NULL);
		printf("%s", out ? out : "");
		free(out);
	}

	for (int i = 0; i < CH_NR_HOOKS; i++) {
		int h = ch_hooks[i];

		hook_total += O.hook_kills[h];
		unreached_total += O.unreached[h];
		hl += (size_t)snprintf(hooks + hl, sizeof(hooks) - hl, "%s%s %lu", i ? ", " : "",
				       hook_name(h), O.hook_kills[h]);
		if (O.unreached[h])
			ul += (size_t)snprintf(unreached + ul, sizeof(unreached) - ul, "%s%s %lu",
					       ul ? ", " : "", hook_name(h), O.unreached[h]);
	}
	printf("  hooks reached within %llu ms; after each kill every live client did %lu operations "
	       "within %llu ms; longest client operation %.1f ms; a new client up within %llu ms; "
	       "the scrub done within %llu ms of a pause\n",
	       (unsigned long long)O.worst_reach_ms, O.progress_ops,
	       (unsigned long long)O.worst_progress_ms, (double)O.max_op_ns / 1e6,
	       (unsigned long long)O.worst_start_ms, (unsigned long long)O.worst_scrub_ms);
	printf("  slubd's reports of dead clients: %llu in %s (%llu objects leaked), %llu in %s (%llu "
	       "objects leaked), %llu in %s (%llu objects freed); %llu reports read, %llu lost\n",
	       (unsigned long long)O.rep_user_n, kind_name[K_USER], (unsigned long long)O.rep_user_objs,
	       (unsigned long long)O.rep_debug_n, kind_name[K_DEBUG],
	       (unsigned long long)O.rep_debug_objs,
	       (unsigned long long)O.rep_reclaim_n, kind_name[K_RECLAIM],
	       (unsigned long long)O.rep_reclaim_objs, (unsigned long long)sh->mon.seen,
	       (unsigned long long)sh->mon.lost);
	printf("  dead clients left (seen at rounds): %s %llu, %s %llu, %s %llu, kmalloc %llu; freed "
	       "by a live client: %llu; hand-overs finished for a dead sender: %llu; reclaimed objects "
	       "allocated again: %llu\n", kind_name[K_PLAIN],
	       (unsigned long long)O.leaked_seen[K_PLAIN], kind_name[K_USER],
	       (unsigned long long)O.leaked_seen[K_USER], kind_name[K_DEBUG],
	       (unsigned long long)O.leaked_seen[K_DEBUG], (unsigned long long)O.leaked_seen[K_KMALLOC],
	       (unsigned long long)collected, (unsigned long long)forward, (unsigned long long)reused);
	printf("chaos: %lu kills (%lu at hooks: %s; %lu at random points%s%s%s), %d clients, %llu ops, "
	       "%llu hand-overs, %llu objects twice, worst stall %llu ms, %lu rounds validated, "
	       "reclaimed %llu objects of dead clients, %.1f s\n",
	       O.nkills, hook_total, hooks, O.random_kills, unreached_total ? ", of which " : "",
	       unreached_total ? unreached : "", unreached_total ? " hooks not reached" : "", O.n,
	       (unsigned long long)ops, (unsigned long long)sent, (unsigned long long)sh->twice,
	       (unsigned long long)(O.worst_progress_ms > O.max_op_ns / 1000000 ?
				    O.worst_progress_ms : O.max_op_ns / 1000000),
	       O.rounds, (unsigned long long)O.rep_reclaim_objs,
	       (double)(t_now_ms() - t_start) / 1000.0);
	e2e_stop(d);
}

T_MAIN(T_CASE(chaos_kills))

