// SPDX-License-Identifier: Apache-2.0
// The catalogue of synthetic scene classes: each pairs one shape family with one texture family and has a typical
// hue (its place on the colour wheel among the renderer's classes), so that a class is told by shape, texture and,
// only in part, colour (neighbouring classes' hue ranges overlap; see `SceneColour.pair(hue:using:)`).

/// One class of the synthetic scenes.
struct SceneClass: Sendable {
    /// The human-readable name ("striped disc").
    var name: String
    var shape: ShapeFamily
    var texture: TextureFamily

    /// All classes, in class-index order (index 1 is the first); a renderer with `classCount` k uses the first k.
    static let catalogue: [SceneClass] = [
        SceneClass(name: "striped disc", shape: .ellipse, texture: .stripes),
        SceneClass(name: "checkered square", shape: .rectangle, texture: .checkerboard),
        SceneClass(name: "dotted triangle", shape: .triangle, texture: .dots),
        SceneClass(name: "wavy star", shape: .star, texture: .waves),
        SceneClass(name: "ringed hexagon", shape: .hexagon, texture: .rings),
        SceneClass(name: "speckled cross", shape: .cross, texture: .noise),
        SceneClass(name: "shaded crescent", shape: .crescent, texture: .gradient),
        SceneClass(name: "gridded arrow", shape: .arrow, texture: .grid),
        SceneClass(name: "zigzag heart", shape: .heart, texture: .zigzag),
        SceneClass(name: "mottled corner", shape: .lShape, texture: .blotches),
    ]
}
