// SPDX-License-Identifier: Apache-2.0
// A persistent fork-join pool for cribo's kernels: worker threads that spin briefly between tasks, so a parallel
// loop of a few microseconds is split across threads instead of finishing on the caller before a sleeping worker
// wakes (which is what happens with Dispatch's concurrentPerform on small kernels).
#ifndef CRIBO_POOL_H
#define CRIBO_POOL_H

#ifdef __cplusplus
extern "C" {
#endif

/// A task: `index` in 0..<count of one `cribo_pool_run`.
typedef void (*cribo_pool_task)(void *context, int index);

/// Runs task(context, i) for every i in 0..<count on up to `threads` threads (the caller and threads - 1 pool
/// workers, created on first use) and returns when all have finished. Tasks are claimed one at a time in index
/// order by whichever thread is free, so a late or descheduled worker only means the others run more of them.
/// When the pool is busy (another thread is using it, or this is a nested call from inside a task), every index
/// runs on the caller, in order.
void cribo_pool_run(int threads, int count, cribo_pool_task task, void *context);

#ifdef __cplusplus
}
#endif

#endif
