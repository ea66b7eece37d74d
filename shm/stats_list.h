/*
 * stats_list.h - the path counters of a pool, listed once.
 *
 * SLAB_STAT_LIST(X) calls X(ENUM, name, shown) for each counter, in order:
 *   ENUM   the engine's enum slab_stat value (shm.h), the index of
 *          kmem_cache_cpu.stat[] and slab_cache_info.stat[]
 *   name   the counter's name everywhere else: slab_stat_name(), the field of
 *          the protocol's CacheStats (proto/slubd.proto: a field of that name
 *          must exist, dispatch.c sets it by name; t_ctl checks that every
 *          CacheStats field is a counter of this list or a figure it knows),
 *          slubctl's table column and JSON key, and the tests' view
 *   shown  1: a column of slubctl stats's table (the JSON has them all)
 *
 * A counter added here is counted by the engine, sent by slubd, shown by
 * slubctl stats --json; the protocol needs its field (the build fails
 * without it).
 */
#ifndef SHM_STATS_LIST_H
#define SHM_STATS_LIST_H

#define SLAB_STAT_LIST(X)						\
	X(ALLOC_FASTPATH,		alloc_fastpath,			1)	\
	X(ALLOC_SLOWPATH,		alloc_slowpath,			1)	\
	X(FREE_FASTPATH,		free_fastpath,			1)	\
	X(FREE_SLOWPATH,		free_slowpath,			1)	\
	X(FREE_FROZEN,			free_frozen,			0)	\
	X(FREE_ADD_PARTIAL,		free_add_partial,		0)	\
	X(FREE_REMOVE_PARTIAL,		free_remove_partial,		0)	\
	X(ALLOC_FROM_PARTIAL,		alloc_from_partial,		0)	\
	X(ALLOC_SLAB,			alloc_slab,			0)	\
	X(ALLOC_REFILL,			alloc_refill,			0)	\
	X(FREE_SLAB,			free_slab,			0)	\
	X(CPUSLAB_FLUSH,		cpuslab_flush,			0)	\
	X(DEACTIVATE_FULL,		deactivate_full,		0)	\
	X(DEACTIVATE_EMPTY,		deactivate_empty,		0)	\
	X(DEACTIVATE_PARTIAL,		deactivate_partial,		0)	\
	X(DEACTIVATE_BYPASS,		deactivate_bypass,		0)	\
	X(CMPXCHG_DOUBLE_CPU_FAIL,	cmpxchg_double_cpu_fail,	0)	\
	X(CMPXCHG_DOUBLE_FAIL,		cmpxchg_double_fail,		0)	\
	X(CPU_PARTIAL_ALLOC,		cpu_partial_alloc,		0)	\
	X(CPU_PARTIAL_FREE,		cpu_partial_free,		0)	\
	X(CPU_PARTIAL_NODE,		cpu_partial_node,		0)	\
	X(CPU_PARTIAL_DRAIN,		cpu_partial_drain,		0)

#endif
