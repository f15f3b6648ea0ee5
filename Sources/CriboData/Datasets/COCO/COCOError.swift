// SPDX-License-Identifier: Apache-2.0
// COCOError: what can be wrong with a COCO instances file or one of its segmentations. Errors about a file name
// the file (and archive member, e.g. "annotations_trainval2017.zip:annotations/instances_val2017.json") and, where
// there is one, the annotation id.

/// A problem with a COCO instances file or a segmentation.
package enum COCOError: Error, Equatable, CustomStringConvertible {
    /// The bytes are not JSON at all.
    case invalidJSON(source: String, reason: String)
    /// The JSON does not have the instances schema (a missing key, a wrong type, a duplicate id).
    case malformed(source: String, reason: String)
    /// One annotation is inconsistent with the file (unknown image or category, bad segmentation).
    case invalidAnnotation(source: String, annotationID: Int, reason: String)
    /// A segmentation cannot be decoded (raised by `COCOMask`, which knows no file).
    case invalidSegmentation(reason: String)

    package var description: String {
        switch self {
        case .invalidJSON(let source, let reason): return "\(source): not valid JSON: \(reason)"
        case .malformed(let source, let reason): return "\(source): not a COCO instances file: \(reason)"
        case .invalidAnnotation(let source, let annotationID, let reason):
            return "\(source): annotation \(annotationID): \(reason)"
        case .invalidSegmentation(let reason): return "invalid segmentation: \(reason)"
        }
    }
}
