// SPDX-License-Identifier: Apache-2.0
// Turning an archive member into a stored blob: images are validated (a full entropy decode at 1/8 scale catches
// truncated and corrupt JPEGs) and kept as source bytes, or decoded — with libjpeg's DCT scaling by the smallest M/8
// that still covers the target — and downscaled with Pillow-exact bicubic for raw storage. Label PNGs keep their stored values; they
// are only ever resized with nearest neighbour.

import Foundation

/// The stored form of one part, and the size of its source.
struct ConvertedPart {
    var field: String
    var blob: Blob
    /// (height, width) of the source before any downscaling.
    var sourceSize: (Int, Int)
}

enum PartConverter {
    /// Converts `data` (a member of kind `kind`) for `storage`.
    static func convert(_ data: Data, kind: PartKind, storage: BlobEncoding, maxSide: Int?) throws -> ConvertedPart {
        switch kind {
        case .image: return try convertImage(data, storage: storage, maxSide: maxSide)
        case .indexMask: return try convertMask(data, storage: storage, maxSide: maxSide)
        }
    }

    static func convertImage(_ data: Data, storage: BlobEncoding, maxSide: Int?) throws -> ConvertedPart {
        let format = ImageFormat.sniff(data)
        guard format != .unknown else { throw CodecError(message: "neither a JPEG nor a PNG (\(data.count) bytes)") }
        if storage != .raw {
            // Keep the source bytes, after proving they decode (1/8-scale decode still reads every coefficient).
            let (width, height): (Int, Int)
            if format == .jpeg {
                let info = try JPEG.info(data)
                _ = try JPEG.decodeRGB(data, scaleDenominator: 8)
                (width, height) = (info.width, info.height)
            } else {
                let decoded = try PNG.decodeRGB(data)
                (width, height) = (decoded.width, decoded.height)
            }
            return ConvertedPart(field: "image", blob: Blob(bytes: Array(data), shape: [height, width, 3]), sourceSize: (height, width))
        }
        let decoded: RGBImage
        var sourceSize: (Int, Int)
        if format == .jpeg {
            let info = try JPEG.info(data)
            sourceSize = (info.height, info.width)
            // The smallest DCT scale M/8 whose output (ceil(size·M/8)) still covers the target on both axes.
            var eighths = 8
            if let maxSide {
                let target = boundedSize(width: info.width, height: info.height, maxSide: maxSide)
                eighths = (1...8).first { m in
                    (info.width * m + 7) / 8 >= target.width && (info.height * m + 7) / 8 >= target.height
                } ?? 8
            }
            decoded = try JPEG.decodeRGB(data, eighths: eighths)
        } else {
            decoded = try PNG.decodeRGB(data)
            sourceSize = (decoded.height, decoded.width)
        }
        let target = maxSide.map { boundedSize(width: sourceSize.1, height: sourceSize.0, maxSide: $0) } ?? (width: sourceSize.1, height: sourceSize.0)
        var pixels = decoded.pixels
        if decoded.width != target.width || decoded.height != target.height {
            pixels = resample(pixels, width: decoded.width, height: decoded.height, channels: 3, outWidth: target.width,
                outHeight: target.height, filter: .bicubic)
        }
        return ConvertedPart(field: "image", blob: Blob(bytes: pixels, shape: [target.height, target.width, 3]), sourceSize: sourceSize)
    }

    static func convertMask(_ data: Data, storage: BlobEncoding, maxSide: Int?) throws -> ConvertedPart {
        let mask = try PNG.decodeIndices(data)
        let sourceSize = (mask.height, mask.width)
        if storage != .raw {
            return ConvertedPart(field: "mask", blob: Blob(bytes: Array(data), shape: [mask.height, mask.width, 1]), sourceSize: sourceSize)
        }
        return ConvertedPart(field: "mask", blob: rawLabelMap(mask.values, height: mask.height, width: mask.width, maxSide: maxSide), sourceSize: sourceSize)
    }

    /// A label map for raw storage: nearest-neighbour downscaled to the image's bounded size.
    static func rawLabelMap(_ values: [UInt8], height: Int, width: Int, maxSide: Int?) -> Blob {
        let target = maxSide.map { boundedSize(width: width, height: height, maxSide: $0) } ?? (width: width, height: height)
        guard target.width != width || target.height != height else { return Blob(bytes: values, shape: [height, width, 1]) }
        let resized = resampleNearest(values, width: width, height: height, outWidth: target.width, outHeight: target.height)
        return Blob(bytes: resized, shape: [target.height, target.width, 1])
    }

    /// A label map in the storage's encoding (PNG for jpeg storage, raw otherwise).
    static func encodeLabelMap(_ values: [UInt8], height: Int, width: Int, storage: BlobEncoding, maxSide: Int?) throws -> Blob {
        if storage == .raw { return rawLabelMap(values, height: height, width: width, maxSide: maxSide) }
        let png = try PNG.encodeGray(IndexImage(width: width, height: height, values: values))
        return Blob(bytes: Array(png), shape: [height, width, 1])
    }
}
