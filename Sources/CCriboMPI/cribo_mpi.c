// SPDX-License-Identifier: Apache-2.0
// Thin wrappers over Open MPI for Swift (see CCriboMPI.h). Large buffers are sent in chunks of at most INT_MAX
// elements, since MPI counts are int.
#include "CCriboMPI.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <time.h>

static int cribo_initialized_here;
static int cribo_sleepy_wait;

void cribo_mpi_set_sleepy_wait(int enabled) { cribo_sleepy_wait = enabled; }

// With more ranks than cores, a rank that reaches a collective early would spin in Open MPI's progress loop and
// take the CPU from the ranks still computing. In sleepy mode every collective starts with a non-blocking barrier
// polled with 50 µs sleeps, so early ranks sleep until all have arrived; the collective then runs with everyone
// present. The results are unchanged (the barrier moves no data).
static int arrive(void) {
    if (!cribo_sleepy_wait) return MPI_SUCCESS;
    MPI_Request request;
    int status = MPI_Ibarrier(MPI_COMM_WORLD, &request);
    if (status != MPI_SUCCESS) return status;
    struct timespec pause = {0, 50000};
    for (;;) {
        int done = 0;
        status = MPI_Test(&request, &done, MPI_STATUS_IGNORE);
        if (status != MPI_SUCCESS || done) return status;
        nanosleep(&pause, NULL);
    }
}

int cribo_mpi_init(void) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return 0;
    int provided = 0;
    int status = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (status == MPI_SUCCESS) cribo_initialized_here = 1;
    return status;
}

int cribo_mpi_finalize(void) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!cribo_initialized_here || finalized) return 0;
    return MPI_Finalize();
}

int cribo_mpi_is_initialized(void) {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    return initialized && !finalized;
}

int cribo_mpi_rank(void) {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

int cribo_mpi_size(void) {
    int size = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return size;
}

int cribo_mpi_barrier(void) {
    int status = arrive();
    return status == MPI_SUCCESS ? MPI_Barrier(MPI_COMM_WORLD) : status;
}

// Sum-reduce to rank 0, then broadcast: every rank receives rank 0's bytes, so replicas stay bitwise identical
// (MPI_Allreduce algorithms such as recursive doubling may combine in a different order on different ranks).
static int allreduce(void *buffer, int64_t count, MPI_Datatype type, size_t size) {
    char *bytes = buffer;
    int rank = cribo_mpi_rank();
    int arrived = arrive();
    if (arrived != MPI_SUCCESS) return arrived;
    while (count > 0) {
        int chunk = count > INT_MAX ? INT_MAX : (int)count;
        int status = MPI_Reduce(rank == 0 ? MPI_IN_PLACE : bytes, bytes, chunk, type, MPI_SUM, 0, MPI_COMM_WORLD);
        if (status == MPI_SUCCESS) status = MPI_Bcast(bytes, chunk, type, 0, MPI_COMM_WORLD);
        if (status != MPI_SUCCESS) return status;
        bytes += (size_t)chunk * size;
        count -= chunk;
    }
    return MPI_SUCCESS;
}

int cribo_mpi_allreduce_sum_float(float *buffer, int64_t count) { return allreduce(buffer, count, MPI_FLOAT, sizeof(float)); }
int cribo_mpi_allreduce_sum_double(double *buffer, int64_t count) { return allreduce(buffer, count, MPI_DOUBLE, sizeof(double)); }
int cribo_mpi_allreduce_sum_int64(int64_t *buffer, int64_t count) { return allreduce(buffer, count, MPI_INT64_T, sizeof(int64_t)); }

int cribo_mpi_allgather_float(const float *input, float *output, int64_t count) {
    if (count > INT_MAX) return MPI_ERR_COUNT;
    int arrived = arrive();
    if (arrived != MPI_SUCCESS) return arrived;
    return MPI_Allgather(input, (int)count, MPI_FLOAT, output, (int)count, MPI_FLOAT, MPI_COMM_WORLD);
}

int cribo_mpi_allgather_int64(const int64_t *input, int64_t *output, int64_t count) {
    if (count > INT_MAX) return MPI_ERR_COUNT;
    int arrived = arrive();
    if (arrived != MPI_SUCCESS) return arrived;
    return MPI_Allgather(input, (int)count, MPI_INT64_T, output, (int)count, MPI_INT64_T, MPI_COMM_WORLD);
}

int cribo_mpi_allgatherv_float(const float *input, int64_t count, float *output, const int64_t *counts) {
    int size = cribo_mpi_size();
    int *receive = malloc(sizeof(int) * (size_t)size);
    int *displacements = malloc(sizeof(int) * (size_t)size);
    if (receive == NULL || displacements == NULL) {
        free(receive);
        free(displacements);
        return MPI_ERR_NO_MEM;
    }
    int64_t offset = 0;
    int status = MPI_SUCCESS;
    for (int r = 0; r < size; r++) {
        if (counts[r] > INT_MAX || offset > INT_MAX) status = MPI_ERR_COUNT;
        receive[r] = (int)counts[r];
        displacements[r] = (int)offset;
        offset += counts[r];
    }
    if (status == MPI_SUCCESS) status = arrive();
    if (status == MPI_SUCCESS && count <= INT_MAX) {
        status = MPI_Allgatherv(input, (int)count, MPI_FLOAT, output, receive, displacements, MPI_FLOAT, MPI_COMM_WORLD);
    }
    free(receive);
    free(displacements);
    return status;
}

int cribo_mpi_broadcast_float(float *buffer, int64_t count, int root) {
    int arrived = arrive();
    if (arrived != MPI_SUCCESS) return arrived;
    while (count > 0) {
        int chunk = count > INT_MAX ? INT_MAX : (int)count;
        int status = MPI_Bcast(buffer, chunk, MPI_FLOAT, root, MPI_COMM_WORLD);
        if (status != MPI_SUCCESS) return status;
        buffer += chunk;
        count -= chunk;
    }
    return MPI_SUCCESS;
}

int cribo_mpi_broadcast_bytes(void *buffer, int64_t count, int root) {
    char *bytes = buffer;
    int arrived = arrive();
    if (arrived != MPI_SUCCESS) return arrived;
    while (count > 0) {
        int chunk = count > INT_MAX ? INT_MAX : (int)count;
        int status = MPI_Bcast(bytes, chunk, MPI_BYTE, root, MPI_COMM_WORLD);
        if (status != MPI_SUCCESS) return status;
        bytes += chunk;
        count -= chunk;
    }
    return MPI_SUCCESS;
}

void cribo_mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }
