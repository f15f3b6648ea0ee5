// SPDX-License-Identifier: Apache-2.0
// cribo-evaluate: Dense k-NN retrieval mIoU, linear probes and reports.
// This stage is not built yet (issue 6): it says so and exits with status 2, doing nothing.

import ArgumentParser
import CriboCommandLine

@main
struct CriboEvaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cribo-evaluate",
        abstract: "Dense k-NN retrieval mIoU, linear probes and reports.",
        discussion: "Not built yet: tracked in issue 6. Running it prints that and exits with status 2.")

    func run() throws { throw notBuiltYet("cribo-evaluate", issue: 6) }
}
