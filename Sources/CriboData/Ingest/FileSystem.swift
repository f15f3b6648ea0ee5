// SPDX-License-Identifier: Apache-2.0
// Replacing a folder atomically.

import CCriboShims
import Foundation

/// Exchanges two paths atomically (Linux renameat2); on file systems without it, falls back to two renames
/// (`second` → `second.old-<pid>`, `first` → `second`), leaving `first` holding the old content either way.
func exchangePaths(_ first: String, _ second: String) -> Bool {
    if cribo_exchange_paths(first, second) == 0 { return true }
    guard errno == EINVAL || errno == ENOSYS else { return false }
    let aside = second + ".old-\(getpid())"
    guard rename(second, aside) == 0 else { return false }
    guard rename(first, second) == 0 else {
        _ = rename(aside, second)
        return false
    }
    return rename(aside, first) == 0
}
