// SPDX-License-Identifier: Apache-2.0
// An ingest plan: which samples a split has, in what order, and which archive members feed which of their fields.
// Dataset ingestors build it from the archives' metadata (split lists, annotation files) in a first pass; the
// generic driver (IngestJob) then streams the archives once, converting the members the plan names.

/// A member of an archive, possibly nested ("ILSVRC2012_img_train.tar" → "n01440764.tar" → "n01440764_10026.JPEG").
package struct MemberReference: Hashable, Sendable, CustomStringConvertible {
    /// The archive file name, then the names of nested archive members, outermost first.
    package var path: [String]
    package var member: String

    package init(archive: String, nested: [String] = [], member: String) {
        self.path = [archive] + nested
        self.member = member
    }

    package var archive: String { path[0] }
    package var description: String { (path + [member]).joined(separator: ":") }
}

/// How a member becomes blob fields.
package enum PartKind: Hashable, Sendable {
    /// An image: field "image" (kept as source bytes, or decoded to RGB with raw storage).
    case image
    /// A label PNG of class indices (VOC palette or ADE gray): field "mask".
    case indexMask
}

/// One sample of a split and where its parts come from.
package struct PlannedSample: Sendable {
    /// The sample's name (e.g. the VOC id, the COCO file name); also its sort key for discovered samples.
    package var name: String
    /// The numeric id stored in the shard (COCO image id; the final position otherwise, when nil).
    package var id: Int64?
    package var label: Int64?
    /// The member feeding each part.
    package var parts: [MemberReference: PartKind]

    package init(name: String, id: Int64? = nil, label: Int64? = nil, parts: [MemberReference: PartKind]) {
        self.name = name
        self.id = id
        self.label = label
        self.parts = parts
    }
}

/// The samples of a split and how to read them.
package struct IngestPlan: Sendable {
    /// Samples known from metadata, in output order.
    package var samples: [PlannedSample]
    /// For splits whose samples are only known by streaming (ImageNet train): turns a member into a sample, or nil
    /// for members that are not samples. Discovered samples are sorted by name.
    package var discover: (@Sendable (MemberReference) -> PlannedSample?)?
    /// Nested archives to open while streaming (e.g. every "*.tar" member of ILSVRC2012_img_train.tar).
    package var isNestedArchive: @Sendable (MemberReference) -> Bool = { _ in false }
    /// The archives to stream, in order.
    package var archives: [String]
    /// Blob fields of every sample (and their encodings follow the storage option).
    package var fields: [String]
    package var hasLabels: Bool
    package var classNames: [String]
    package var counts: [String: Int] = [:]
    package var labelEncoding: [String: String] = [:]
    /// Extra fields computed from a converted image (COCO label maps), given the sample and the image's
    /// (height, width): returns blobs for the extra fields.
    package var derivedFields: (@Sendable (PlannedSample, Int, Int) throws -> [String: Blob])?
    /// Samples skipped while planning (e.g. listed without an image), with reasons.
    package var skipped: [Manifest.Skipped] = []

    package init(samples: [PlannedSample], archives: [String], fields: [String], hasLabels: Bool, classNames: [String]) {
        self.samples = samples
        self.archives = archives
        self.fields = fields
        self.hasLabels = hasLabels
        self.classNames = classNames
    }
}

/// A dataset that cribo-ingest can read.
package protocol DatasetIngestor: Sendable {
    /// The dataset's name on the command line and in paths (coco, imagenet, voc, ade20k).
    var name: String { get }
    /// The splits ingested by default, and all splits it knows.
    var defaultSplits: [String] { get }
    var knownSplits: [String] { get }
    /// The archives (official file names) a split needs, given what `rawFolder` holds (alternative label files).
    func archives(for split: String, rawFolder: String) -> [String]
    /// Reads the metadata of the archives in `rawFolder` and plans `split`.
    func plan(split: String, options: IngestOptions) throws -> IngestPlan
}
