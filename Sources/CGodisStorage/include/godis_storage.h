#ifndef GODIS_STORAGE_H
#define GODIS_STORAGE_H

#include <stddef.h>
#include <sys/types.h>

/// Reserves disk blocks for bytes `offset..<offset+length` of `fd` without changing its size (Linux
/// `fallocate(FALLOC_FL_KEEP_SIZE)`, which Swift's Glibc module does not export). Returns 0 or an errno value
/// (EOPNOTSUPP where the file system or OS has no such call).
int godis_preallocate(int fd, off_t offset, off_t length);

/// Copies `length` bytes with non-temporal stores where the CPU has them (SSE2 on x86-64): the destination is
/// not brought into the cache, so a copy that is kept for later does not evict what the caller works on.
/// Falls back to `memcpy`.
void godis_copy_nontemporal(void *destination, const void *source, size_t length);

#endif
