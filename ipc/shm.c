/*
 * Shared-memory files: creation, validation, mapping. A header is valid when
 * magic, layout version, header size and total size all match the file; an
 * unknown layout version is refused with a clear error, never guessed at.
 */
#include "shm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

static uint64_t
shm_random64(void)
{
	uint64_t v = 0;
	while (v == 0)
		if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
			v = (uint64_t)now_real_ns() ^ ((uint64_t)getpid() << 32);
	return v;
}

int
shm_path(char *out, size_t len, const char *rundir, const char *name)
{
	int n = snprintf(out, len, "%s/%s", rundir, name);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static int
hdr_check(const struct shm_hdr *h, size_t file_size, const char *path, const char *magic,
	  uint32_t version)
{
	if (file_size < sizeof(*h) || memcmp(h->magic, magic, 8) != 0) {
		log_warnx("%s: not a leafmon %.8s file", path, magic);
		errno = EINVAL;
		return -1;
	}
	if (h->layout_version != version) {
		log_warnx("%s: layout version %u, this build knows %u", path, h->layout_version,
			  version);
		errno = EPROTO;
		return -1;
	}
	if (h->header_size != sizeof(*h) || h->total_size != file_size) {
		log_warnx("%s: header says %llu bytes, file has %zu", path,
			  (unsigned long long)h->total_size, file_size);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int
shm_open_map(struct shm_map *m, const char *path, const char *magic, uint32_t version,
	     bool writable)
{
	struct stat st;
	int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size < (off_t)sizeof(struct shm_hdr)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	void *base = mmap(NULL, (size_t)st.st_size, writable ? PROT_READ | PROT_WRITE : PROT_READ,
			  MAP_SHARED, fd, 0);
	close(fd);
	if (base == MAP_FAILED)
		return -1;
	if (hdr_check(base, (size_t)st.st_size, path, magic, version) < 0) {
		int saved = errno;
		munmap(base, (size_t)st.st_size);
		errno = saved;
		return -1;
	}
	m->base = base;
	m->size = (size_t)st.st_size;
	m->writable = writable;
	return 0;
}

void
shm_unmap(struct shm_map *m)
{
	if (m->base != NULL)
		munmap(m->base, m->size);
	m->base = NULL;
}

int
shm_create(const char *path, const char *magic, uint32_t version, size_t size,
	   void (*init)(void *base, size_t size, void *arg), void *arg, bool *reattached)
{
	struct shm_map m;
	char tmp[512];

	if (shm_open_map(&m, path, magic, version, false) == 0) {
		shm_unmap(&m);
		*reattached = true;
		return 0;
	}
	if (errno != ENOENT)
		log_warnx("%s: not reusable, creating a new one", path);
	*reattached = false;
	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = file_create(tmp, O_RDWR, SHM_MODE);
	if (fd == -1)
		return -1;
	if (ftruncate(fd, (off_t)size) == -1) {
		int saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (base == MAP_FAILED) {
		int saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	struct shm_hdr *h = base;
	memset(h, 0, sizeof(*h));
	h->layout_version = version;
	h->header_size = sizeof(*h);
	h->total_size = size;
	h->generation = shm_random64();
	init(base, size, arg);
	memcpy(h->magic, magic, 8); /* last: marks the file complete */
	munmap(base, size);
	if (rename(tmp, path) == -1) {
		int saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}
