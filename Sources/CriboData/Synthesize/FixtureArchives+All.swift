// SPDX-License-Identifier: Apache-2.0
// Writing the fixture archives of several datasets at once (`cribo-ingest synthesize`).

import Foundation

extension FixtureArchives {
    /// The datasets the fixture writer knows.
    package static let datasets = ["coco", "imagenet", "voc", "ade20k"]

    /// Writes the archives of `datasets` into `folder` (created if needed); returns the archive file names written.
    @discardableResult
    package static func write(datasets: [String], folder: String, options: FixtureOptions) throws -> [String] {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var written: [String] = []
        for dataset in datasets {
            switch dataset {
            case "coco":
                try writeCOCO(folder: folder, options: options)
                written += [COCOIngestor.annotationsArchive, "train2017.zip", "val2017.zip"]
            case "imagenet":
                try writeImageNet(folder: folder, options: options)
                written += [ImageNetIngestor.trainArchive, ImageNetIngestor.valArchive, ImageNetIngestor.devkitArchive, ImageNetIngestor.solutionFile]
            case "voc":
                try writeVOC(folder: folder, options: options)
                written.append(VOCIngestor.archive)
            case "ade20k":
                try writeADE20K(folder: folder, options: options)
                written.append(ADE20KIngestor.archive)
            default:
                throw IngestError.unknownSplit(dataset: dataset, split: "-", known: datasets)
            }
        }
        return written
    }
}
