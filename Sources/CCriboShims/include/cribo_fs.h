// SPDX-License-Identifier: Apache-2.0
// File-system calls Swift cannot reach directly.
#ifndef CRIBO_FS_H
#define CRIBO_FS_H

/// Atomically exchanges two paths (renameat2 with RENAME_EXCHANGE). Returns 0, or -1 with errno set.
int cribo_exchange_paths(const char *first, const char *second);

#endif
