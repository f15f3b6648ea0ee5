// SPDX-License-Identifier: Apache-2.0
// The persistent fork-join pool (see cribo_pool.h).
//
// One job at a time. A job is `count` independent tasks. The caller publishes (task, context, count) and then a
// new value of `claim`, a 64-bit word holding the job's generation (high 40 bits) and the next unclaimed task index
// (low 24 bits). Everyone taking part, the caller included, claims tasks one at a time with a compare-and-swap on
// `claim` and counts each finished task in `finished`; the caller returns once `finished` reaches `count`. So the
// caller never waits for a worker that has not started (asleep, or descheduled by the host): whatever is still
// unclaimed, it runs itself. A worker reads the job's fields only between seeing `claim` = (g, i < count) and
// claiming (g, i) → (g, i + 1); if that claim succeeds, job g still had work, so the caller was still inside job g and
// the fields it read were g's (the generation only grows, so a stale word can never match again).
//
// Which thread runs a task never changes what the task computes: callers give each task its own fixed range.
// Idle workers spin on `claim` for about a millisecond, then sleep on a condition variable until the next job.
#include "cribo_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#define CRIBO_POOL_MAX 256
#define CRIBO_POOL_SPINS 20000
#define INDEX_BITS 24
#define INDEX_MASK ((UINT64_C(1) << INDEX_BITS) - 1)

static pthread_mutex_t busy = PTHREAD_MUTEX_INITIALIZER;   // held by the thread running a job
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static _Atomic uint64_t claim;                              // (generation << INDEX_BITS) | next index
static _Atomic int finished;                                // tasks of the current job that have returned
static _Atomic int sleepers;
static cribo_pool_task job_task;
static void *job_context;
static int job_count;
static int job_threads;                                     // workers 1...job_threads-1 take part
static int workers;                                         // started workers: 1...workers
static _Thread_local int inside_task;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// Claims and runs tasks of job `generation` until none is left (or a newer job has replaced it).
static void run_claimed(uint64_t generation, cribo_pool_task task, void *context, int count) {
    uint64_t word = atomic_load_explicit(&claim, memory_order_acquire);
    for (;;) {
        if ((word >> INDEX_BITS) != generation || (word & INDEX_MASK) >= (uint64_t)count) return;
        // On success `word` keeps the claimed value; on failure it is reloaded with the current one.
        if (atomic_compare_exchange_weak_explicit(&claim, &word, word + 1, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            task(context, (int)(word & INDEX_MASK));
            atomic_fetch_add_explicit(&finished, 1, memory_order_acq_rel);
            word = atomic_load_explicit(&claim, memory_order_acquire);
        }
    }
}

static void *worker_main(void *argument) {
    int index = (int)(intptr_t)argument;
    uint64_t seen = 0;  // a new worker may join the job in progress: claiming is safe at any time
    inside_task = 1;
    for (;;) {
        uint64_t word = atomic_load_explicit(&claim, memory_order_acquire);
        for (int spin = 0; (word >> INDEX_BITS) == seen && spin < CRIBO_POOL_SPINS; spin++) {
            cpu_relax();
            word = atomic_load_explicit(&claim, memory_order_acquire);
        }
        if ((word >> INDEX_BITS) == seen) {
            pthread_mutex_lock(&sleep_lock);
            atomic_fetch_add(&sleepers, 1);
            while (((word = atomic_load(&claim)) >> INDEX_BITS) == seen) pthread_cond_wait(&wake, &sleep_lock);
            atomic_fetch_sub(&sleepers, 1);
            pthread_mutex_unlock(&sleep_lock);
        }
        seen = word >> INDEX_BITS;
        // Read the job, then claim: a successful claim proves the fields belong to job `seen` (see the top). A stale
        // job_threads only means this worker joins or sits out one job; either way every task runs once.
        if (index < job_threads) run_claimed(seen, job_task, job_context, job_count);
    }
    return NULL;
}

static void run_inline(int count, cribo_pool_task task, void *context) {
    for (int i = 0; i < count; i++) task(context, i);
}

void cribo_pool_run(int threads, int count, cribo_pool_task task, void *context) {
    if (count <= 1 || threads <= 1 || inside_task || threads > CRIBO_POOL_MAX || count > (int)INDEX_MASK ||
        pthread_mutex_trylock(&busy) != 0) {
        run_inline(count, task, context);
        return;
    }
    if (threads > count) threads = count;
    while (workers < threads - 1) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attributes, worker_main, (void *)(intptr_t)(workers + 1));
        pthread_attr_destroy(&attributes);
        if (failed) break;
        workers++;
    }
    // Fewer workers than asked for (thread creation failed) is still correct: the caller claims what is left.
    job_task = task;
    job_context = context;
    job_count = count;
    job_threads = threads;
    atomic_store_explicit(&finished, 0, memory_order_relaxed);
    uint64_t generation = (atomic_load_explicit(&claim, memory_order_relaxed) >> INDEX_BITS) + 1;
    uint64_t word = generation << INDEX_BITS;
    atomic_store(&claim, word);  // sequentially consistent with the sleepers check below (Dekker)
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&sleep_lock);
    }
    inside_task = 1;
    run_claimed(generation, task, context, count);
    inside_task = 0;
    for (long spin = 0; atomic_load_explicit(&finished, memory_order_acquire) < count; spin++) {
        if (spin < CRIBO_POOL_SPINS) cpu_relax(); else sched_yield();
    }
    pthread_mutex_unlock(&busy);
}
