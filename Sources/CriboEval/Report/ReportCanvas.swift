// SPDX-License-Identifier: Apache-2.0
// An RGB drawing surface for report figures: filled rectangles, pasted images, and text in a built-in 5×7 bitmap
// font (digits, capital letters — lower case is drawn as capitals — and a little punctuation), so that figures
// need no font library. The result goes to PNG through CriboData's encoder.

import CriboData

/// An RGB colour.
package struct RGBColor: Equatable, Sendable {
    /// Red.
    package var red: UInt8
    /// Green.
    package var green: UInt8
    /// Blue.
    package var blue: UInt8

    /// A colour from its channels.
    package init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) { (self.red, self.green, self.blue) = (red, green, blue) }

    /// Background.
    package static let white = RGBColor(255, 255, 255)
    /// Text.
    package static let black = RGBColor(0, 0, 0)
    /// Secondary text.
    package static let gray = RGBColor(128, 128, 128)
    /// Grid lines.
    package static let lightGray = RGBColor(225, 225, 225)

    /// Entry `index` of a [256, 3] palette (e.g. PNG.pascalVOCPalette()).
    package static func palette(_ palette: [UInt8], _ index: Int) -> RGBColor {
        RGBColor(palette[3 * index], palette[3 * index + 1], palette[3 * index + 2])
    }
}

/// A width × height RGB image being drawn.
package struct ReportCanvas {
    /// Columns.
    package let width: Int
    /// Rows.
    package let height: Int
    /// [height, width, 3] bytes.
    package private(set) var pixels: [UInt8]

    /// A canvas filled with `background`.
    package init(width: Int, height: Int, background: RGBColor = .white) {
        precondition(width > 0 && height > 0, "ReportCanvas: \(width)x\(height)")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, width: width, height: height, color: background)
    }

    /// Fills a rectangle (clipped to the canvas).
    package mutating func fill(x: Int, y: Int, width w: Int, height h: Int, color: RGBColor) {
        for row in max(0, y)..<max(max(0, y), min(height, y + h)) {
            for column in max(0, x)..<max(max(0, x), min(width, x + w)) { set(column, row, color) }
        }
    }

    /// Pastes an RGB image with its top-left corner at (x, y) (clipped).
    /// - Parameter image: [h, w, 3].
    package mutating func paste(_ image: [UInt8], width w: Int, height h: Int, x: Int, y: Int) {
        precondition(image.count == w * h * 3, "ReportCanvas.paste: \(image.count) bytes for \(w)x\(h)")
        for row in 0..<h where y + row >= 0 && y + row < height {
            for column in 0..<w where x + column >= 0 && x + column < width {
                let source = (row * w + column) * 3
                set(x + column, y + row, RGBColor(image[source], image[source + 1], image[source + 2]))
            }
        }
    }

    /// Draws `text` with its top-left corner at (x, y); each font pixel is a scale × scale square, glyphs advance by
    /// 6·scale pixels. Characters without a glyph are drawn as '?'.
    package mutating func text(_ text: String, x: Int, y: Int, color: RGBColor = .black, scale: Int = 1) {
        var left = x
        for character in text.uppercased() {
            let columns = Self.glyphs[character] ?? Self.glyphs["?"]!
            for (c, bits) in columns.enumerated() {
                for r in 0..<7 where bits >> r & 1 == 1 {
                    fill(x: left + c * scale, y: y + r * scale, width: scale, height: scale, color: color)
                }
            }
            left += 6 * scale
        }
    }

    /// The width in pixels of `text` drawn at `scale`.
    package static func textWidth(_ text: String, scale: Int = 1) -> Int { max(0, text.count * 6 * scale - scale) }

    /// The canvas as an image for the PNG encoder.
    package var image: RGBImage { RGBImage(width: width, height: height, pixels: pixels) }

    @inline(__always)
    private mutating func set(_ x: Int, _ y: Int, _ color: RGBColor) {
        let i = (y * width + x) * 3
        pixels[i] = color.red
        pixels[i + 1] = color.green
        pixels[i + 2] = color.blue
    }

    /// 5×7 glyphs, five columns each, bit r of a column = row r from the top.
    private static let glyphs: [Character: [UInt8]] = [
        " ": [0x00, 0x00, 0x00, 0x00, 0x00], "?": [0x02, 0x01, 0x51, 0x09, 0x06],
        "0": [0x3E, 0x51, 0x49, 0x45, 0x3E], "1": [0x00, 0x42, 0x7F, 0x40, 0x00], "2": [0x42, 0x61, 0x51, 0x49, 0x46],
        "3": [0x21, 0x41, 0x45, 0x4B, 0x31], "4": [0x18, 0x14, 0x12, 0x7F, 0x10], "5": [0x27, 0x45, 0x45, 0x45, 0x39],
        "6": [0x3C, 0x4A, 0x49, 0x49, 0x30], "7": [0x01, 0x71, 0x09, 0x05, 0x03], "8": [0x36, 0x49, 0x49, 0x49, 0x36],
        "9": [0x06, 0x49, 0x49, 0x29, 0x1E],
        "A": [0x7E, 0x11, 0x11, 0x11, 0x7E], "B": [0x7F, 0x49, 0x49, 0x49, 0x36], "C": [0x3E, 0x41, 0x41, 0x41, 0x22],
        "D": [0x7F, 0x41, 0x41, 0x22, 0x1C], "E": [0x7F, 0x49, 0x49, 0x49, 0x41], "F": [0x7F, 0x09, 0x09, 0x09, 0x01],
        "G": [0x3E, 0x41, 0x49, 0x49, 0x7A], "H": [0x7F, 0x08, 0x08, 0x08, 0x7F], "I": [0x00, 0x41, 0x7F, 0x41, 0x00],
        "J": [0x20, 0x40, 0x41, 0x3F, 0x01], "K": [0x7F, 0x08, 0x14, 0x22, 0x41], "L": [0x7F, 0x40, 0x40, 0x40, 0x40],
        "M": [0x7F, 0x02, 0x0C, 0x02, 0x7F], "N": [0x7F, 0x04, 0x08, 0x10, 0x7F], "O": [0x3E, 0x41, 0x41, 0x41, 0x3E],
        "P": [0x7F, 0x09, 0x09, 0x09, 0x06], "Q": [0x3E, 0x41, 0x51, 0x21, 0x5E], "R": [0x7F, 0x09, 0x19, 0x29, 0x46],
        "S": [0x46, 0x49, 0x49, 0x49, 0x31], "T": [0x01, 0x01, 0x7F, 0x01, 0x01], "U": [0x3F, 0x40, 0x40, 0x40, 0x3F],
        "V": [0x1F, 0x20, 0x40, 0x20, 0x1F], "W": [0x3F, 0x40, 0x38, 0x40, 0x3F], "X": [0x63, 0x14, 0x08, 0x14, 0x63],
        "Y": [0x07, 0x08, 0x70, 0x08, 0x07], "Z": [0x61, 0x51, 0x49, 0x45, 0x43],
        ".": [0x00, 0x60, 0x60, 0x00, 0x00], ",": [0x00, 0x50, 0x30, 0x00, 0x00], ":": [0x00, 0x36, 0x36, 0x00, 0x00],
        "/": [0x20, 0x10, 0x08, 0x04, 0x02], "-": [0x08, 0x08, 0x08, 0x08, 0x08], "+": [0x08, 0x08, 0x3E, 0x08, 0x08],
        "=": [0x14, 0x14, 0x14, 0x14, 0x14], "_": [0x40, 0x40, 0x40, 0x40, 0x40], "%": [0x23, 0x13, 0x08, 0x64, 0x62],
        "(": [0x00, 0x1C, 0x22, 0x41, 0x00], ")": [0x00, 0x41, 0x22, 0x1C, 0x00], "±": [0x44, 0x44, 0x5F, 0x44, 0x44],
        "#": [0x14, 0x7F, 0x14, 0x7F, 0x14], "@": [0x32, 0x49, 0x79, 0x41, 0x3E], "'": [0x00, 0x05, 0x03, 0x00, 0x00],
        "[": [0x00, 0x7F, 0x41, 0x41, 0x00], "]": [0x00, 0x41, 0x41, 0x7F, 0x00], "*": [0x14, 0x08, 0x3E, 0x08, 0x14],
    ]
}
