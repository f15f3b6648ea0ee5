// SPDX-License-Identifier: Apache-2.0
// `--workers N` without an MPI launcher: the program starts itself under `mpirun -np N` (oversubscribing a small
// machine, one compute thread per rank) and returns mpirun's exit status. Under mpirun or srun the world it is given
// is used as it is.

import Foundation

/// Relaunching the current program under mpirun.
package enum MPILauncher {
    /// Finds `mpirun` on PATH (or in /usr/bin).
    package static func mpirunPath() -> String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map(String.init) + ["/usr/bin"]
        return paths.map { $0 + "/mpirun" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The mpirun command line that runs `executable arguments` on `workers` ranks of this machine.
    package static func commandLine(mpirun: String, workers: Int, executable: String, arguments: [String], isRoot: Bool) -> [String] {
        var command = [mpirun, "-np", String(workers), "--oversubscribe", "--bind-to", "none",
                       // Shared-memory transport without cross-memory attach, which containers often forbid.
                       "--mca", "btl_vader_single_copy_mechanism", "none"]
        if isRoot { command.append("--allow-run-as-root") }
        return command + [executable] + arguments
    }

    /// Runs this program on `workers` ranks under mpirun, forwarding standard output and error; returns mpirun's status.
    /// Each rank gets CRIBO_THREADS = max(1, cores / workers) unless the caller set it.
    package static func relaunch(workers: Int, arguments: [String]) throws -> Int32 {
        guard let mpirun = mpirunPath() else {
            throw LauncherError.noMPIRun
        }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let command = commandLine(mpirun: mpirun, workers: workers, executable: executable, arguments: arguments, isRoot: getuid() == 0)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        var environment = ProcessInfo.processInfo.environment
        if environment["CRIBO_THREADS"] == nil {
            environment["CRIBO_THREADS"] = String(max(1, ProcessInfo.processInfo.activeProcessorCount / workers))
        }
        environment["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
        process.environment = environment
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// Why the MPI launch failed.
package enum LauncherError: Error, CustomStringConvertible {
    case noMPIRun

    package var description: String {
        "mpirun not found: install Open MPI (Debian: openmpi-bin libopenmpi-dev, see pipelines/bootstrap) or start the ranks with your launcher"
    }
}
