// SPDX-License-Identifier: Apache-2.0
// cribo-ingest: Read the original COCO, ImageNet, VOC and ADE20K archives into verified shards.
// This stage is not built yet (issue 3): it says so and exits with status 2, doing nothing.

import ArgumentParser
import CriboCommandLine

@main
struct CriboIngest: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cribo-ingest",
        abstract: "Read the original COCO, ImageNet, VOC and ADE20K archives into verified shards.",
        discussion: "Not built yet: tracked in issue 3. Running it prints that and exits with status 2.")

    func run() throws { throw notBuiltYet("cribo-ingest", issue: 3) }
}
