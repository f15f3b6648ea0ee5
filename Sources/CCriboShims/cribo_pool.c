// SPDX-License-Identifier: Apache-2.0
// The persistent fork-join pool (see cribo_pool.h). One job at a time: the caller publishes (task, context, count)
// and bumps `generation`; every started worker w sees it, runs index w when w < count, and then decrements
// `pending`; the caller runs index 0 and waits for `pending` to reach 0. Since every worker acknowledges every job,
// no worker still reads a job's fields when the next job is written. Workers spin on `generation` for about a
// millisecond after each job, then sleep on a condition variable until the next one.
#include "cribo_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#define CRIBO_POOL_MAX 256
#define CRIBO_POOL_SPINS 20000

static pthread_mutex_t busy = PTHREAD_MUTEX_INITIALIZER;   // held by the thread running a job
static pthread_mutex_t sleep_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static _Atomic unsigned long generation;
static _Atomic int pending;
static _Atomic int sleepers;
static cribo_pool_task job_task;
static void *job_context;
static int job_count;
static int workers;                                         // started workers: indices 1...workers
static _Thread_local int inside_task;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

struct worker_start {
    int index;
    unsigned long generation;  // the last job before this worker existed: not its to acknowledge
};

static void *worker_main(void *argument) {
    struct worker_start *start = argument;
    int index = start->index;
    unsigned long seen = start->generation;
    free(start);
    inside_task = 1;
    for (;;) {
        unsigned long now = atomic_load_explicit(&generation, memory_order_acquire);
        for (int spin = 0; now == seen && spin < CRIBO_POOL_SPINS; spin++) {
            cpu_relax();
            now = atomic_load_explicit(&generation, memory_order_acquire);
        }
        if (now == seen) {
            pthread_mutex_lock(&sleep_lock);
            atomic_fetch_add(&sleepers, 1);
            while ((now = atomic_load(&generation)) == seen) pthread_cond_wait(&wake, &sleep_lock);
            atomic_fetch_sub(&sleepers, 1);
            pthread_mutex_unlock(&sleep_lock);
        }
        seen = now;
        if (index < job_count) job_task(job_context, index);
        atomic_fetch_sub_explicit(&pending, 1, memory_order_acq_rel);
    }
    return NULL;
}

static void run_inline(int count, cribo_pool_task task, void *context) {
    for (int i = 0; i < count; i++) task(context, i);
}

void cribo_pool_run(int count, cribo_pool_task task, void *context) {
    if (count <= 1 || inside_task || count > CRIBO_POOL_MAX || pthread_mutex_trylock(&busy) != 0) {
        run_inline(count, task, context);
        return;
    }
    while (workers < count - 1) {
        struct worker_start *start = malloc(sizeof *start);
        if (start == NULL) break;
        start->index = workers + 1;
        start->generation = atomic_load(&generation);
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attributes, worker_main, start);
        pthread_attr_destroy(&attributes);
        if (failed) {
            free(start);
            break;
        }
        workers++;
    }
    if (workers < count - 1) {  // could not start enough threads: stay correct, run here
        pthread_mutex_unlock(&busy);
        run_inline(count, task, context);
        return;
    }
    job_task = task;
    job_context = context;
    job_count = count;
    atomic_store_explicit(&pending, workers, memory_order_relaxed);
    atomic_fetch_add(&generation, 1);  // sequentially consistent with the sleepers check below (Dekker)
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_lock);
        pthread_cond_broadcast(&wake);
        pthread_mutex_unlock(&sleep_lock);
    }
    inside_task = 1;
    task(context, 0);
    inside_task = 0;
    for (long spin = 0; atomic_load_explicit(&pending, memory_order_acquire) > 0; spin++) {
        if (spin < CRIBO_POOL_SPINS) cpu_relax(); else sched_yield();
    }
    pthread_mutex_unlock(&busy);
}
