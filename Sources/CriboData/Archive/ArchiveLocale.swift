// SPDX-License-Identifier: Apache-2.0
// The character set libarchive converts member names to. libarchive turns every name into the C library's
// current multibyte encoding; in a process that never called setlocale (a Swift program, a test runner) that is
// ASCII, so a UTF-8 name like "café.txt" fails with "Pathname cannot be converted from UTF-8 to current locale"
// (reading) or is lost (writing). Rather than change the process-wide locale, the archive classes switch only
// the calling thread to C.UTF-8 (uselocale) for the duration of each call into libarchive.

import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The C.UTF-8 locale (glibc ≥ 2.35 has it built in), or nil where it does not exist; then names stay ASCII-only.
nonisolated(unsafe) private let utf8Locale: locale_t? = newlocale(LC_CTYPE_MASK, "C.UTF-8", nil)

/// Runs `body` with the calling thread's locale set to C.UTF-8, then restores the thread's previous locale.
func withUTF8Locale<T>(_ body: () throws -> T) rethrows -> T {
    guard let utf8Locale else { return try body() }
    let previous = uselocale(utf8Locale)
    defer { uselocale(previous) }
    return try body()
}
