// SPDX-License-Identifier: Apache-2.0
// File-system calls Swift cannot reach directly.
#ifndef CRIBO_FS_H
#define CRIBO_FS_H

/// Atomically exchanges two paths (renameat2 with RENAME_EXCHANGE). Returns 0, or -1 with errno set.
int cribo_exchange_paths(const char *first, const char *second);

/// Asks the kernel to start writing `length` bytes of `fd` from `offset` back to disk without waiting
/// (sync_file_range with SYNC_FILE_RANGE_WRITE; a no-op returning 0 where that call does not exist). It makes no
/// durability promise: fsync still decides that. Returns 0, or -1 with errno set.
int cribo_start_writeback(int fd, long long offset, long long length);

#endif
