"""Reference for `cribo-bench retrieval`: exact inner-product k-NN search with faiss-cpu IndexFlatIP.

The same workload as the cribo side: a memory bank of M unit-norm rows of dimension D, Q unit-norm queries, the
K best rows of each query, timed per thread count (`faiss.omp_set_num_threads`) after an untimed warm-up of 512
queries (enough for the BLAS path below) against the first 262,144 rows, and the same table columns (seconds,
queries/s, effective GFLOP/s = 2*Q*M*D / s, peak RSS). The rows and queries are N(0, I) draws scaled to unit L2 norm, like cribo's, but from
numpy's generator, not cribo's SplitMix64: the shapes and the distribution are the same, the values are not. Each
timed search is checked on a few queries against a brute-force float64 top-K (equal indices, or swaps between
rows whose float64 products differ by at most 1e-5).

The bank is written straight into the index's own storage (`IndexFlatCodes.codes`, resized once, then filled in
chunks of float32 rows), so a 10M x 384 bank (15.4 GB) is held once: `index.add(x)` would copy it, and drawing it
in one call would make float64 temporaries. Imports nothing from cribo.

The faiss-cpu wheel bundles its own OpenBLAS, whose CPU detection may pick the slowest (Prescott) kernel on recent
Intel CPUs, as Debian's OpenBLAS does for cribo. Unless OPENBLAS_CORETYPE is already set, this script sets it
before importing faiss by the rule cribo's BLASRuntime uses (AVX-512 F/BW/VL/DQ: SkylakeX; AVX2 and FMA: Haswell,
or Zen on AMD), so that both sides run the same class of kernel; --openblas-core none keeps the library's own
choice. The header line names the core the library loaded.

faiss (1.15) computes the products with BLAS (sgemm tiles of 4096 queries x 1024 rows, then per-query heaps) only
when Q*D >= faiss.cvar.distance_compute_blas_threshold (128000 by default, so Q >= 334 at D 384), and with its
per-pair SIMD loop below that; the header line says which path the run takes. The default Q 2048 takes BLAS.

Install: /opt/refenv/bin/pip install faiss-cpu
Usage: /opt/refenv/bin/python Benchmarks/reference/retrieval_faiss.py [--memory 1000000,10000000] [--queries 2048]
       [--dim 384] [--k 30] [--threads 1,2] [--seed 0] [--checks 4] [--repeats 1] [--openblas-core auto]
"""
import argparse
import ctypes
import glob
import os
import resource
import statistics
import sys
import time

import numpy as np

CHUNK_ROWS = 65536
NEAR_TIE = 1e-5


def preferred_core_type():
    """cribo's rule (BLASRuntime.preferredCoreType) applied to /proc/cpuinfo's flags, or None."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            lines = cpuinfo.read().splitlines()
    except OSError:
        return None
    flags = set(next((line.split(":", 1)[1].split() for line in lines if line.startswith("flags")), []))
    vendor = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("vendor_id")), "")
    if {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags:
        return "SkylakeX"
    if {"avx2", "fma"} <= flags:
        return "Zen" if vendor == "AuthenticAMD" else "Haswell"
    return None


def loaded_openblas_core(faiss_module):
    """The core name reported by the OpenBLAS bundled with faiss-cpu, or 'unknown'."""
    libs = os.path.join(os.path.dirname(os.path.dirname(faiss_module.__file__)), "faiss_cpu.libs")
    for path in glob.glob(os.path.join(libs, "libopenblas*.so*")):
        try:
            library = ctypes.CDLL(path)
            library.openblas_get_corename.restype = ctypes.c_char_p
            return library.openblas_get_corename().decode()
        except (OSError, AttributeError):
            continue
    return "unknown"


def fill_unit_rows(out, rng):
    """Fills out [R, D] (float32) with N(0, I) rows scaled to unit L2 norm, chunk by chunk, without float64 copies."""
    for start in range(0, out.shape[0], CHUNK_ROWS):
        chunk = out[start:start + CHUNK_ROWS]
        rng.standard_normal(chunk.shape, dtype=np.float32, out=chunk)
        chunk /= np.sqrt(np.einsum("ij,ij->i", chunk, chunk))[:, None]


def brute_force_top_k(bank, queries, k):
    """The k rows of largest float64 inner product with each query, best first, lower row first among ties."""
    pooled_sims, pooled_rows = [], []
    q64 = queries.astype(np.float64)
    for start in range(0, bank.shape[0], CHUNK_ROWS // 4):
        sims = bank[start:start + CHUNK_ROWS // 4].astype(np.float64) @ q64.T  # [rows, checks]
        if sims.shape[0] > k:
            part = np.argpartition(-sims, k - 1, axis=0)[:k]
        else:
            part = np.broadcast_to(np.arange(sims.shape[0])[:, None], sims.shape)
        pooled_sims.append(np.take_along_axis(sims, part, axis=0))
        pooled_rows.append(part + start)
    sims = np.concatenate(pooled_sims)
    rows = np.concatenate(pooled_rows)
    result = []
    for c in range(queries.shape[0]):
        order = np.lexsort((rows[:, c], -sims[:, c]))[:k]
        result.append((sims[order, c], rows[order, c]))
    return result


def spot_check(indices, similarities, reference, checked, queries, bank):
    """(equal, near-tie swaps, wrong, max |similarity - float64|) of the checked queries' neighbours."""
    equal = swaps = wrong = 0
    max_error = 0.0
    for c, q in enumerate(checked):
        ref_sims, ref_rows = reference[c]
        for j, row in enumerate(indices[q]):
            if row < 0:
                wrong += 1
                continue
            sim = float(np.dot(queries[q].astype(np.float64), bank[row].astype(np.float64)))
            max_error = max(max_error, abs(float(similarities[q, j]) - sim))
            if row == ref_rows[j]:
                equal += 1
            elif abs(sim - ref_sims[j]) <= NEAR_TIE:
                swaps += 1
            else:
                wrong += 1
                print(f"  query {q} rank {j}: row {row} ({sim}), brute force row {ref_rows[j]} ({ref_sims[j]})", file=sys.stderr)
    return equal, swaps, wrong, max_error


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--memory", default="1000000", help="comma-separated memory rows (M)")
    parser.add_argument("--queries", type=int, default=2048)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--k", type=int, default=30)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checks", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--openblas-core", default="auto", help="auto (cribo's rule), none (OpenBLAS detects), or a core name")
    args = parser.parse_args()
    if not os.environ.get("OPENBLAS_CORETYPE"):
        core = preferred_core_type() if args.openblas_core == "auto" else None if args.openblas_core == "none" else args.openblas_core
        if core:
            os.environ["OPENBLAS_CORETYPE"] = core
    import faiss  # after OPENBLAS_CORETYPE is set: the bundled OpenBLAS reads it when it loads
    Q, D, K = args.queries, args.dim, args.k
    sizes = sorted(int(m) for m in args.memory.split(","))
    thread_counts = [int(t) for t in args.threads.split(",")]
    print(f"faiss-cpu {faiss.__version__} reference: IndexFlatIP.search, exact inner product ({faiss.get_compile_options().strip()})")
    print(f"OpenBLAS (bundled with faiss) core: {loaded_openblas_core(faiss)} (OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')})")
    threshold = faiss.cvar.distance_compute_blas_threshold
    path = "BLAS sgemm tiles" if Q * D >= threshold else "per-pair SIMD loop"
    print(f"faiss path: {path} (Q*D = {Q * D}, distance_compute_blas_threshold {threshold})")
    print(f"cores: {os.cpu_count()}; unit-norm Gaussian rows and queries (numpy), seed {args.seed}; "
          f"{'one timed search' if args.repeats == 1 else f'median of {args.repeats} searches'} after a warm-up")
    print("memory rows     D    k  threads  queries    seconds   queries/s   GFLOP/s  peak RSS MiB")
    print("-----------  ----  ---  -------  -------  ---------  ----------  --------  ------------", flush=True)
    queries = np.empty((Q, D), dtype=np.float32)
    fill_unit_rows(queries, np.random.default_rng([args.seed, 2]))
    checked = [c * Q // args.checks for c in range(args.checks)]
    check_lines = []
    failed = False
    for M in sizes:
        index = faiss.IndexFlatIP(D)
        index.codes.resize(M * D * 4)
        bank = faiss.rev_swig_ptr(index.codes.data(), M * D * 4).view(np.float32).reshape(M, D)
        started = time.perf_counter()
        fill_unit_rows(bank, np.random.default_rng([args.seed, 1]))
        index.ntotal = M
        print(f"M={M}: bank of {M * D * 4 / 1e9:.2f} GB filled in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        started = time.perf_counter()
        reference = brute_force_top_k(bank, queries[checked], K)
        print(f"M={M}: brute-force float64 top-{K} of {args.checks} queries in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        for t in thread_counts:
            faiss.omp_set_num_threads(t)
            faiss.knn(queries[:512], bank[:262144], K, metric=faiss.METRIC_INNER_PRODUCT)
            times = []
            for _ in range(args.repeats):
                started = time.perf_counter()
                similarities, indices = index.search(queries, K)
                times.append(time.perf_counter() - started)
            seconds = statistics.median(times)
            print(f"{M:11d}  {D:4d}  {K:3d}  {t:7d}  {Q:7d}  {seconds:9.3f}  {Q / seconds:10.1f}  "
                  f"{2 * Q * M * D / seconds / 1e9:8.1f}  {peak_rss_mib():12.0f}", flush=True)
            equal, swaps, wrong, max_error = spot_check(indices, similarities, reference, checked, queries, bank)
            failed = failed or wrong > 0
            check_lines.append(f"M={M}, threads {t}: {equal} of {len(checked) * K} neighbours equal, {swaps} near-tie swaps "
                               f"(|Δ| ≤ {NEAR_TIE:.0e}), {wrong} wrong; max |similarity − float64| {max_error:.1e}")
        del bank, index
    print(f"\nSpot check against a brute-force float64 search (queries {','.join(map(str, checked))}):")
    for line in check_lines:
        print("  " + line)
    if failed:
        sys.exit("faiss disagrees with the brute force")


if __name__ == "__main__":
    main()
