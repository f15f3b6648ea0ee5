// SPDX-License-Identifier: Apache-2.0
// Thin wrappers over Open MPI for Swift (see CCriboMPI.h). Large buffers are sent in chunks of at most INT_MAX
// elements, since MPI counts are int.
#include "CCriboMPI.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

static int cribo_initialized_here;
static int cribo_sleepy_wait;
static void shm_release(void);
int cribo_mpi_node_fence(void);

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
    shm_release();
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

// MARK: - Shared-memory sum for worlds on one node
//
// When every rank runs on this node, large float sums go through one shared segment instead of MPI_Reduce +
// MPI_Bcast (which copy each buffer through Open MPI's shared-memory queues several times and, oversubscribed, spin
// while waiting their turn): each rank copies its buffer into its slot, sums one 1/W segment over the W slots in
// rank order into the result area, and copies the whole result back; buffers larger than a slot go in pieces. Every
// element is summed once, in rank order, so all ranks get the same bits. CRIBO_MPI_SHM=0 turns it off; it is not
// used when the segment cannot be allocated or /dev/shm and /tmp lack room.

enum { SHM_SLOT = 1 << 21, SHM_MINIMUM = 1 << 16 };  // floats per rank slot; smaller sums use MPI

static int shm_state;  // 0 not tried, 1 ready, -1 unavailable
static MPI_Comm shm_comm = MPI_COMM_NULL;
static MPI_Win shm_window = MPI_WIN_NULL;
static float *shm_slots;  // [size + 1][SHM_SLOT]: one slot per rank, then the result

static int has_room(const char *path, double bytes) {
    struct statvfs info;
    if (statvfs(path, &info) != 0) return 1;  // no such file system: Open MPI will not put the segment there
    return (double)info.f_bavail * (double)info.f_frsize > 2 * bytes;
}

/// Collective over `node`: a window of `bytes` allocated by node rank 0 and shared by all (room in /dev/shm and /tmp
/// checked first, success agreed by all ranks), locked for passive access. Returns its base address, or NULL on every
/// rank.
static float *allocate_shared_window(MPI_Comm node, double bytes, MPI_Win *window) {
    int ok = has_room("/dev/shm", bytes) && has_room("/tmp", bytes);
    MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, node);
    if (!ok) return NULL;
    int rank = 0;
    MPI_Comm_rank(node, &rank);
    float *mine = NULL;
    *window = MPI_WIN_NULL;
    int status = MPI_Win_allocate_shared(rank == 0 ? (MPI_Aint)bytes : 0, sizeof(float), MPI_INFO_NULL, node, &mine, window);
    ok = status == MPI_SUCCESS;
    MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, node);
    if (!ok) {
        if (status == MPI_SUCCESS) MPI_Win_free(window);
        return NULL;
    }
    MPI_Aint size = 0;
    int unit = 0;
    float *base = NULL;
    MPI_Win_shared_query(*window, 0, &size, &unit, &base);
    MPI_Win_lock_all(MPI_MODE_NOCHECK, *window);
    return base;
}

static int shm_ready(void) {
    if (shm_state != 0) return shm_state > 0;
    shm_state = -1;
    const char *setting = getenv("CRIBO_MPI_SHM");
    if (setting != NULL && strcmp(setting, "0") == 0) return 0;
    int size = cribo_mpi_size();
    if (size < 2) return 0;
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) != MPI_SUCCESS) return 0;
    int node_size = 0;
    MPI_Comm_size(node, &node_size);
    // Every rank of a one-node world sees node_size == size; in a multi-node world every rank sees less.
    if (node_size != size) {
        MPI_Comm_free(&node);
        return 0;
    }
    MPI_Comm_set_errhandler(node, MPI_ERRORS_RETURN);
    MPI_Win window = MPI_WIN_NULL;
    shm_slots = allocate_shared_window(node, (double)(size + 1) * SHM_SLOT * sizeof(float), &window);
    if (shm_slots == NULL) {
        MPI_Comm_free(&node);
        return 0;
    }
    shm_comm = node;
    shm_window = window;
    shm_state = 1;
    return 1;
}

/// A barrier on the node that makes every rank's stores to the segment visible to the others.
static int shm_fence(void) {
    MPI_Win_sync(shm_window);
    int status;
    if (cribo_sleepy_wait) {
        MPI_Request request;
        status = MPI_Ibarrier(shm_comm, &request);
        struct timespec pause = {0, 50000};
        while (status == MPI_SUCCESS) {
            int done = 0;
            status = MPI_Test(&request, &done, MPI_STATUS_IGNORE);
            if (done) break;
            nanosleep(&pause, NULL);
        }
    } else {
        status = MPI_Barrier(shm_comm);
    }
    MPI_Win_sync(shm_window);
    return status;
}

/// The rank-order sum, each element then multiplied by `scale` when `scale` is not 1 (the mean's 1/size: one product
/// per element, as a separate pass over the sum would compute it).
static int shm_allreduce_float(float *buffer, int64_t count, float scale) {
    int size = cribo_mpi_size(), rank = cribo_mpi_rank();
    float *result = shm_slots + (size_t)size * SHM_SLOT;
    while (count > 0) {
        int64_t n = count > SHM_SLOT ? SHM_SLOT : count;
        memcpy(shm_slots + (size_t)rank * SHM_SLOT, buffer, (size_t)n * sizeof(float));
        int status = shm_fence();
        if (status != MPI_SUCCESS) return status;
        int64_t share = ((n + size - 1) / size + 15) / 16 * 16;
        int64_t low = (int64_t)rank * share, high = low + share < n ? low + share : n;
        for (int64_t j = low; j < high; j++) {
            float sum = shm_slots[j];
            for (int r = 1; r < size; r++) sum += shm_slots[(size_t)r * SHM_SLOT + (size_t)j];
            result[j] = scale != 1.0f ? sum * scale : sum;
        }
        status = shm_fence();
        if (status != MPI_SUCCESS) return status;
        memcpy(buffer, result, (size_t)n * sizeof(float));
        status = shm_fence();  // before the next piece overwrites the slots and the result
        if (status != MPI_SUCCESS) return status;
        buffer += n;
        count -= n;
    }
    return MPI_SUCCESS;
}

int cribo_mpi_shared_sum_active(void) { return shm_state == 1; }

// MARK: - Node-shared arrays (training state held once per node)

enum { MAX_SHARED_ARRAYS = 16 };
static MPI_Win shared_windows[MAX_SHARED_ARRAYS];
static int shared_window_count;

float *cribo_mpi_node_shared_alloc(int64_t count) {
    if (count <= 0 || !shm_ready() || shared_window_count == MAX_SHARED_ARRAYS) return NULL;
    double bytes = (double)count * sizeof(float);
    MPI_Win window = MPI_WIN_NULL;
    float *base = allocate_shared_window(shm_comm, bytes, &window);
    if (base == NULL) return NULL;
    shared_windows[shared_window_count++] = window;
    int rank = 0;
    MPI_Comm_rank(shm_comm, &rank);
    if (rank == 0) memset(base, 0, (size_t)bytes);
    if (cribo_mpi_node_fence() != MPI_SUCCESS) return NULL;
    return base;
}

int cribo_mpi_node_fence(void) {
    for (int i = 0; i < shared_window_count; i++) MPI_Win_sync(shared_windows[i]);
    int status = shm_state == 1 ? shm_fence() : MPI_Barrier(MPI_COMM_WORLD);
    for (int i = 0; i < shared_window_count; i++) MPI_Win_sync(shared_windows[i]);
    return status;
}

static void shm_release(void) {
    for (int i = 0; i < shared_window_count; i++) {
        MPI_Win_unlock_all(shared_windows[i]);
        MPI_Win_free(&shared_windows[i]);
    }
    shared_window_count = 0;
    if (shm_state == 1) {
        MPI_Win_unlock_all(shm_window);
        MPI_Win_free(&shm_window);
        MPI_Comm_free(&shm_comm);
    }
    shm_state = 0;
    shm_slots = NULL;
}

int cribo_mpi_allreduce_sum_float(float *buffer, int64_t count) {
    // Every rank passes the same count, so all take the same path (and set up the segment together).
    if (count >= SHM_MINIMUM && shm_ready()) return shm_allreduce_float(buffer, count, 1.0f);
    return allreduce(buffer, count, MPI_FLOAT, sizeof(float));
}

int cribo_mpi_allreduce_mean_float(float *buffer, int64_t count) {
    float scale = 1.0f / (float)cribo_mpi_size();
    if (count >= SHM_MINIMUM && shm_ready()) return shm_allreduce_float(buffer, count, scale);
    int status = allreduce(buffer, count, MPI_FLOAT, sizeof(float));
    if (status == MPI_SUCCESS && scale != 1.0f)
        for (int64_t j = 0; j < count; j++) buffer[j] *= scale;
    return status;
}
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
