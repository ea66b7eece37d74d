/*
 * os.c - the one OS layer of shm/: memfd_create, mmap, madvise, fallocate,
 * and the few facts about the machine the allocator needs (CPUs, nodes, huge
 * pages, randomness, time, our pid).  Every call returns 0 or
 * -errno; nothing here prints.
 *
 * Layer: the bottom; it calls nothing of shm/.
 */
#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/magic.h>
#include <linux/memfd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

__thread uint32_t shm_cpu_cache;
__thread uint32_t shm_cpu_calls;

uint32_t shm_cpu_slow(void)
{
	int cpu = sched_getcpu();

	shm_cpu_cache = cpu < 0 ? 0 : (uint32_t)cpu;
	return shm_cpu_cache;
}

/*
 * os_memfd - a memfd that can be sealed (*sealable).  Huge page memfds take
 * MFD_ALLOW_SEALING since Linux 4.16; an older kernel refuses the pair with
 * EINVAL, and then the memfd is made without (the caller says so).
 */
int os_memfd(const char *name, bool huge, int *fd, bool *sealable)
{
	unsigned int flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;

	if (huge)
		flags |= MFD_HUGETLB | MFD_HUGE_2MB;
	*sealable = true;
	*fd = memfd_create(name, flags);
	if (*fd < 0 && errno == EINVAL && huge) {
		*sealable = false;
		*fd = memfd_create(name, flags & ~(unsigned int)MFD_ALLOW_SEALING);
	}
	return *fd < 0 ? -errno : 0;
}

/*
 * os_seal_size - forbid every change of the memfd's size, to anyone who
 * holds it (a client it was sent to included), then forbid new seals.
 * Writes and hole punching stay allowed: the allocator writes, and gives
 * chunks back with FALLOC_FL_PUNCH_HOLE (a hole reads as zeros, never SIGBUS).
 */
int os_seal_size(int fd)
{
	return fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) ? -errno : 0;
}

/* 0: sealed against shrinking and growing; -EPERM: not (or not sealable: -EINVAL) */
int os_check_size_sealed(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals < 0)
		return -errno;
	return (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) == (F_SEAL_SHRINK | F_SEAL_GROW) ? 0 : -EPERM;
}

int os_create_file(const char *path, int *fd)
{
	*fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	return *fd < 0 ? -errno : 0;
}

int os_truncate(int fd, uint64_t size)
{
	return ftruncate(fd, (off_t)size) ? -errno : 0;
}

int os_file_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st))
		return -errno;
	*size = (uint64_t)st.st_size;
	return 0;
}

bool os_is_hugetlbfs(int fd)
{
	struct statfs sf;

	return fstatfs(fd, &sf) == 0 && sf.f_type == HUGETLBFS_MAGIC;
}

/*
 * os_fs_name - the name of a file system type (statfs f_type), as mount(8)
 * says it; *memory: its files live in memory (tmpfs, ramfs, hugetlbfs),
 * not on a disk.  An unknown type is named by its number.
 */
const char *os_fs_name(long type, bool *memory, char *buf, size_t len)
{
	static const struct { long type; const char *name; bool memory; } fs[] = {
		{ TMPFS_MAGIC, "tmpfs", true }, { RAMFS_MAGIC, "ramfs", true },
		{ HUGETLBFS_MAGIC, "hugetlbfs", true }, { EXT4_SUPER_MAGIC, "ext4", false },
		{ XFS_SUPER_MAGIC, "xfs", false }, { BTRFS_SUPER_MAGIC, "btrfs", false },
		{ OVERLAYFS_SUPER_MAGIC, "overlayfs", false }, { NFS_SUPER_MAGIC, "nfs", false },
		{ F2FS_SUPER_MAGIC, "f2fs", false }, { 0x2fc12fc1, "zfs", false },
		{ 0x65735546, "fuse", false },
	};

	*memory = false;
	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++)
		if (fs[i].type == type) {
			*memory = fs[i].memory;
			return fs[i].name;
		}
	snprintf(buf, len, "a file system of type %#lx", (unsigned long)type);
	return buf;
}

/*
 * os_backing_desc - what fd's memory is, in words: "hugetlb" (a memfd of
 * huge pages), "hugetlb file PATH" (a file on hugetlbfs), "memfd", "tmpfs
 * file PATH", "file on FSTYPE PATH" (a disk's: its pages are written back
 * to the disk).  PATH as /proc/self/fd shows it (left out without /proc).
 */
void os_backing_desc(int fd, char *out, size_t len)
{
	char proc[64], path[PATH_MAX], tbuf[64];
	const char *fsname;
	struct statfs sf;
	bool memory, memfd;
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = 0;
	memfd = !strncmp(path, "/memfd:", 7);
	if (fstatfs(fd, &sf)) {
		snprintf(out, len, "unknown (fstatfs: %s)", strerror(errno));
		return;
	}
	fsname = os_fs_name((long)sf.f_type, &memory, tbuf, sizeof(tbuf));
	if (sf.f_type == HUGETLBFS_MAGIC)
		snprintf(out, len, memfd ? "hugetlb" : "hugetlb file%s%s", path[0] ? " " : "", path);
	else if (memfd)
		snprintf(out, len, "memfd");
	else if (sf.f_type == TMPFS_MAGIC)
		snprintf(out, len, "tmpfs file%s%s", path[0] ? " " : "", path);
	else
		snprintf(out, len, "file on %s%s%s", fsname, path[0] ? " " : "", path);
}

/*
 * os_map - map the whole arena shared.  want != 0: exactly there or fail
 * with -EEXIST (MAP_FIXED_NOREPLACE never replaces another mapping).
 */
void *os_map(int fd, uint64_t size, uintptr_t want, int *err)
{
	int flags = MAP_SHARED;
	void *p;

	if (want)
		flags |= MAP_FIXED_NOREPLACE;
	p = mmap((void *)want, size, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (p == MAP_FAILED) {
		*err = -errno;
		return NULL;
	}
	if (want && (uintptr_t)p != want) {	/* kernels before 4.17 ignore the flag */
		munmap(p, size);
		*err = -EEXIST;
		return NULL;
	}
	*err = 0;
	return p;
}

void os_unmap(void *p, uint64_t size)
{
	munmap(p, size);
}

void os_advise_hugepage(void *p, uint64_t size)
{
	madvise(p, size, MADV_HUGEPAGE);	/* a hint: shmem THP may be off */
}

/* reserve backing for [off, off+len): afterwards a write cannot SIGBUS */
int os_fallocate(int fd, uint64_t off, uint64_t len)
{
	if (fallocate(fd, 0, (off_t)off, (off_t)len) == 0)
		return 0;
	return errno == ENOSPC ? -ENOMEM : -errno;
}

/* give [off, off+len) back to the host */
int os_punch(int fd, void *addr, uint64_t off, uint64_t len)
{
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	if (madvise(addr, len, MADV_REMOVE) == 0)
		return 0;
	return -errno;
}

/* free huge pages not yet promised to anyone: HugePages_Free - HugePages_Rsvd */
long os_hugepages_free(void)
{
	FILE *f = fopen("/proc/meminfo", "re");
	char line[128];
	long fr = -1, rsvd = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "HugePages_Free: %ld", &fr);
		sscanf(line, "HugePages_Rsvd: %ld", &rsvd);
	}
	fclose(f);
	return fr < 0 ? -1 : fr - rsvd;
}

unsigned int os_nr_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);

	if (n < 1)
		n = 1;
	if (n > SLUB_MAX_CPUS)
		n = SLUB_MAX_CPUS;
	return (unsigned int)n;
}

unsigned int os_nr_nodes(void)
{
	DIR *d = opendir("/sys/devices/system/node");
	struct dirent *e;
	unsigned int max = 0;

	if (!d)
		return 1;
	while ((e = readdir(d))) {
		unsigned int id;
		char c;

		if (sscanf(e->d_name, "node%u%c", &id, &c) == 1 && id + 1 > max)
			max = id + 1;
	}
	closedir(d);
	if (max == 0)
		max = 1;
	return max > SLUB_MAX_NODES ? SLUB_MAX_NODES : max;
}

unsigned int os_current_node(unsigned int nr_nodes)
{
	unsigned int cpu, node = 0;

	if (nr_nodes <= 1 || getcpu(&cpu, &node))
		return 0;
	return node < nr_nodes ? node : 0;
}

uint64_t os_random64(void)
{
	uint64_t v;

	if (getrandom(&v, sizeof(v), 0) == (ssize_t)sizeof(v))
		return v;
	return os_now_ns() * 0x9e3779b97f4a7c15ULL ^ (uint64_t)getpid();
}

uint64_t os_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * getpid() is a system call since glibc 2.25; reports want the pid under
 * locks, where no system call may be made.  Cached, and reset in the child
 * after fork().  A pid is for people to read: who is alive is ident.c's.
 */
static uint32_t cached_pid;

void os_pid_refresh(void)
{
	cached_pid = (uint32_t)getpid();
}

__attribute__((constructor)) static void pid_init(void)
{
	os_pid_refresh();
	pthread_atfork(NULL, NULL, os_pid_refresh);
}

uint32_t os_pid(void)
{
	return cached_pid;
}
