// SPDX-License-Identifier: Apache-2.0
// CriboData: the data side of cribo — archives (libarchive), image codecs (libjpeg-turbo, libpng), the four
// datasets' layouts, shards and manifests, fixture synthesis, and (later) augmentation and loading.

/// Errors of the data layer carry the file (and archive member) they concern; see each component's error type.
package enum CriboDataInfo {
    package static let version = "1"
}
