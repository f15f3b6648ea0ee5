// SPDX-License-Identifier: Apache-2.0
// Writing to standard error without buffering.

import Foundation

enum FileHandleShim {
    static func writeToStandardError(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}
