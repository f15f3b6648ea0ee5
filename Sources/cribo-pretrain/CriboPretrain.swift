// SPDX-License-Identifier: Apache-2.0
// cribo-pretrain: Pretrain a ViT with CrIBo over MPI workers.
// This stage is not built yet (issue 5): it says so and exits with status 2, doing nothing.

import ArgumentParser
import CriboCommandLine

@main
struct CriboPretrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cribo-pretrain",
        abstract: "Pretrain a ViT with CrIBo over MPI workers.",
        discussion: "Not built yet: tracked in issue 5. Running it prints that and exits with status 2.")

    func run() throws { throw notBuiltYet("cribo-pretrain", issue: 5) }
}
