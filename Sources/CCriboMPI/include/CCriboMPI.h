// SPDX-License-Identifier: Apache-2.0
// The MPI calls cribo uses, behind plain C functions: Swift cannot import MPI's handle macros (MPI_COMM_WORLD,
// MPI_FLOAT, ...), and keeping MPI in its own small target means only the programs that need it link Open MPI.
#ifndef CCRIBO_MPI_H
#define CCRIBO_MPI_H

#include <stddef.h>
#include <stdint.h>

/// Initialises MPI (thread level FUNNELED) if needed; returns 0 or an MPI error code.
int cribo_mpi_init(void);
/// Finalises MPI if this process initialised it.
int cribo_mpi_finalize(void);
/// Whether MPI_Init has run and MPI_Finalize has not.
int cribo_mpi_is_initialized(void);
int cribo_mpi_rank(void);
int cribo_mpi_size(void);
int cribo_mpi_barrier(void);
/// Sleepy waiting: every collective first waits, sleeping, for all ranks (for more ranks than cores).
void cribo_mpi_set_sleepy_wait(int enabled);
/// In-place sum over all ranks.
int cribo_mpi_allreduce_sum_float(float *buffer, int64_t count);
/// The element-wise mean over ranks: the rank-order sum of cribo_mpi_allreduce_sum_float, each element then
/// multiplied by (float)1/size, in place on every rank.
int cribo_mpi_allreduce_mean_float(float *buffer, int64_t count);
int cribo_mpi_allreduce_sum_double(double *buffer, int64_t count);
int cribo_mpi_allreduce_sum_int64(int64_t *buffer, int64_t count);
/// Whether float sums of at least 65536 values go through the shared-memory segment (all ranks on this node, segment
/// allocated; decided at the first such sum). Such sums add the ranks' values in rank order, identically everywhere.
int cribo_mpi_shared_sum_active(void);
/// Collective over a one-node world: `count` zero-filled floats that every rank maps at its own address of the same
/// memory (an MPI-3 shared window, freed at finalize); NULL on every rank where that is unavailable (ranks on several
/// nodes, CRIBO_MPI_SHM=0, no room in /dev/shm or /tmp, at most 16 arrays).
float *cribo_mpi_node_shared_alloc(int64_t count);
/// Waits for every rank (a barrier) with every rank's stores to node-shared memory visible to all before and after.
int cribo_mpi_node_fence(void);
/// Gathers `count` floats from every rank into `output` (size·count), rank-ordered.
int cribo_mpi_allgather_float(const float *input, float *output, int64_t count);
int cribo_mpi_allgather_int64(const int64_t *input, int64_t *output, int64_t count);
/// Variable-length gather: rank r contributes counts[r] floats; output holds them rank-ordered.
int cribo_mpi_allgatherv_float(const float *input, int64_t count, float *output, const int64_t *counts);
int cribo_mpi_broadcast_float(float *buffer, int64_t count, int root);
int cribo_mpi_broadcast_bytes(void *buffer, int64_t count, int root);
/// Aborts every rank (after an unrecoverable error on one).
void cribo_mpi_abort(int code);

#endif
