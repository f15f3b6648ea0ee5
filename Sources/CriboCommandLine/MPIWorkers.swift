// SPDX-License-Identifier: Apache-2.0
// How the tools that run over workers (cribo-pretrain, cribo-features extract) start MPI: `--workers N` outside an
// MPI launcher reruns the program under `mpirun -np N`; under mpirun or srun the world it is given is used.

import ArgumentParser
import CriboDistributed

/// The MPI start and end of a multi-worker tool.
package enum MPIWorkers {
    /// The communicator of this process, or nil when `workers` > 1 and no MPI launcher started it: the program was
    /// then rerun under mpirun, which has finished (its non-zero exit status is thrown as `ExitCode`).
    package static func communicator(workers: Int) throws -> (any Communicator)? {
        if workers > 1 && !MPICommunicator.isLaunchedByMPI {
            let status = try MPILauncher.relaunch(workers: workers, arguments: Array(CommandLine.arguments.dropFirst()))
            if status != 0 { throw ExitCode(status) }
            return nil
        }
        return MPICommunicator.isLaunchedByMPI ? try MPICommunicator() : SingleProcessCommunicator()
    }

    /// Ends MPI for a communicator of `communicator(workers:)` (nothing for a single process).
    package static func finish(_ communicator: any Communicator) {
        (communicator as? MPICommunicator)?.finalize()
    }
}
