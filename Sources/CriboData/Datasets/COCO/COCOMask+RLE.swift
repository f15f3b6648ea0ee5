// SPDX-License-Identifier: Apache-2.0
// COCO run-length encoding (docs/datasets.md §1.5): masks flattened column-major (index x·height + y), counts
// alternating runs starting with zeros; and pycocotools' compressed ASCII form of the counts (rleToString /
// rleFrString in maskApi.c), reimplemented from the format description and checked against pycocotools' strings.

extension COCOMask {
    /// Run lengths of a mask in COCO order, as `pycocotools.mask.encode` computes them.
    ///
    /// Concretely: the mask is read column by column (x outer, y inner); counts alternate runs of zeros and ones,
    /// the first being zeros (length 0 when the first pixel is set); any nonzero byte counts as 1.
    /// - Parameters:
    ///   - rowMajorMask: [height · width] bytes, row-major.
    ///   - height: rows.
    ///   - width: columns.
    /// - Returns: the counts, summing to height · width (`[0]` for an empty mask).
    package static func encodeRLE(rowMajorMask: [UInt8], height: Int, width: Int) -> [UInt32] {
        precondition(rowMajorMask.count == height * width, "COCOMask.encodeRLE: \(rowMajorMask.count) bytes for \(height)x\(width)")
        var counts: [UInt32] = []
        var current = false
        var run: UInt32 = 0
        for x in 0..<width {
            for y in 0..<height {
                let value = rowMajorMask[y * width + x] != 0
                if value != current {
                    counts.append(run)
                    run = 0
                    current = value
                }
                run += 1
            }
        }
        counts.append(run)
        return counts
    }

    /// Expands RLE counts to a row-major 0/1 mask.
    /// - Parameters:
    ///   - counts: column-major runs starting with zeros.
    ///   - height: rows.
    ///   - width: columns.
    /// - Returns: [height · width] bytes, row-major.
    /// - Throws: `COCOError.invalidSegmentation` when the counts do not sum to height · width.
    package static func decodeRLE(_ counts: [UInt32], height: Int, width: Int) throws -> [UInt8] {
        let sum = counts.reduce(0) { $0 + Int($1) }
        guard sum == height * width else {
            throw COCOError.invalidSegmentation(reason: "RLE counts sum to \(sum), expected \(height)x\(width) = \(height * width)")
        }
        var mask = [UInt8](repeating: 0, count: height * width)
        var position = 0
        for (index, count) in counts.enumerated() {
            if index % 2 == 1 {
                for flat in position..<(position + Int(count)) { mask[(flat % height) * width + flat / height] = 1 }
            }
            position += Int(count)
        }
        return mask
    }

    /// Decodes pycocotools' compressed counts string (maskApi.c `rleFrString`).
    ///
    /// Concretely: each character c (ASCII 48...111) carries 5 bits, c − 48 = [more:1][bits:5], least significant
    /// group first; the last group's bit 0x10 is the sign. Count i > 2 is stored as the difference to count i − 2.
    /// - Parameter text: the `counts` string of a compressed RLE.
    /// - Returns: the run lengths.
    /// - Throws: `COCOError.invalidSegmentation` for a character outside 48...111, a value that ends mid-group,
    ///   more than 12 groups, or a run length outside 0...UInt32.max.
    package static func decodeCompressedCounts(_ text: String) throws -> [UInt32] {
        var counts: [UInt32] = []
        var value: Int64 = 0
        var groups = 0
        for (offset, byte) in text.utf8.enumerated() {
            guard (48...111).contains(byte) else {
                throw COCOError.invalidSegmentation(reason: "compressed counts: character \(UInt8(byte)) at offset \(offset) is outside 48...111")
            }
            let group = Int64(byte - 48)
            value |= (group & 0x1f) << (5 * groups)
            groups += 1
            guard groups <= 12 else {
                throw COCOError.invalidSegmentation(reason: "compressed counts: value at offset \(offset) has more than 12 groups")
            }
            if group & 0x20 != 0 { continue }
            if group & 0x10 != 0 { value |= -1 << (5 * groups) }  // sign-extend the last group
            if counts.count > 2 { value += Int64(counts[counts.count - 2]) }
            guard value >= 0 && value <= Int64(UInt32.max) else {
                throw COCOError.invalidSegmentation(reason: "compressed counts: run \(counts.count) decodes to \(value)")
            }
            counts.append(UInt32(value))
            value = 0
            groups = 0
        }
        guard groups == 0 else {
            throw COCOError.invalidSegmentation(reason: "compressed counts: the string ends inside a value")
        }
        return counts
    }

    /// Encodes run lengths as pycocotools' compressed counts string (maskApi.c `rleToString`).
    /// - Parameter counts: the run lengths.
    /// - Returns: the ASCII string `decodeCompressedCounts` inverts.
    package static func encodeCompressedCounts(_ counts: [UInt32]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(counts.count * 2)
        for (index, count) in counts.enumerated() {
            var value = Int64(count) - (index > 2 ? Int64(counts[index - 2]) : 0)
            while true {
                var group = UInt8(truncatingIfNeeded: value & 0x1f)
                value >>= 5  // arithmetic shift keeps the sign
                let more = group & 0x10 != 0 ? value != -1 : value != 0
                if more { group |= 0x20 }
                bytes.append(group + 48)
                if !more { break }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
