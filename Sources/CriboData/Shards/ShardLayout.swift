// SPDX-License-Identifier: Apache-2.0
// The layout of a cribo shard, declared once. A shard is one safetensors file holding a run of samples of one
// dataset split; any Python user reads it with `safetensors.numpy.load_file`.
//
// Tensors (n = samples in the shard):
//   sample.id              I64 [n]        a stable numeric id (COCO image id; running index otherwise)
//   sample.name.bytes      U8  [total]    UTF-8 names, concatenated (COCO/ImageNet file name, VOC/ADE id)
//   sample.name.offsets    I64 [n+1]      byte ranges of the names
//   sample.label           I64 [n]        class index (ImageNet: sorted-synset 0..999); absent for other sets
//   <field>.bytes          U8  [total]    per-sample payloads of a blob field, concatenated
//   <field>.offsets        I64 [n+1]      payload i is bytes[offsets[i] ..< offsets[i+1]]
//   <field>.shapes         I64 [n, 3]     (height, width, channels) of the decoded payload
// Blob fields: `image` (RGB), and for segmentation sets `mask` (VOC/ADE class indices), or for COCO `instance`
// (instance ids 1..n, 0 none) and `category` (contiguous 1..80, 0 none). Encoding (metadata `<field>.encoding`):
// `jpeg` (the original image bytes, JPEG — or PNG where the source is a PNG), `png` (lossless label maps), or
// `raw` (uint8 HWC rows; label maps one byte per pixel).
//
// __metadata__: format = cribo-shard, version, dataset, split, sampleCount, shardIndex, and `<field>.encoding`.

/// The keys and metadata of a shard file (see the file header).
package enum ShardLayout {
    package static let format = "cribo-shard"
    package static let version = "1"

    package static let idKey = "sample.id"
    package static let nameBytesKey = "sample.name.bytes"
    package static let nameOffsetsKey = "sample.name.offsets"
    package static let labelKey = "sample.label"

    /// The three tensor keys of blob field `field`.
    package static func keys(field: String) -> (bytes: String, offsets: String, shapes: String) {
        (field + ".bytes", field + ".offsets", field + ".shapes")
    }

    /// The metadata key of a field's encoding.
    package static func encodingKey(field: String) -> String { field + ".encoding" }

    /// The file name of shard `index` (shard-00000.safetensors, ...).
    package static func fileName(index: Int) -> String {
        "shard-" + String(repeating: "0", count: max(0, 5 - String(index).count)) + String(index) + ".safetensors"
    }
}

/// How a blob field's payloads are stored.
package enum BlobEncoding: String, Codable, Sendable {
    /// The source's encoded image bytes (JPEG, or PNG for sources that are PNG), unchanged.
    case jpeg
    /// PNG, lossless (label maps in jpeg-storage shards).
    case png
    /// Decoded uint8 rows, HWC.
    case raw
}

/// One payload of a blob field.
package struct Blob: Equatable, Sendable {
    package var bytes: [UInt8]
    /// (height, width, channels) of the decoded payload.
    package var shape: [Int]

    package init(bytes: [UInt8], shape: [Int]) {
        precondition(shape.count == 3, "Blob: shape must be (height, width, channels), got \(shape)")
        self.bytes = bytes
        self.shape = shape
    }
}

/// One sample of a shard.
package struct ShardSample: Equatable, Sendable {
    package var id: Int64
    package var name: String
    package var label: Int64?
    /// Blob fields by name ("image", "mask", "instance", "category").
    package var blobs: [String: Blob]

    package init(id: Int64, name: String, label: Int64? = nil, blobs: [String: Blob]) {
        self.id = id
        self.name = name
        self.label = label
        self.blobs = blobs
    }

    /// The bytes this sample adds to a shard.
    package var byteCount: Int { name.utf8.count + 24 + blobs.values.reduce(0) { $0 + $1.bytes.count + 32 } }
}
