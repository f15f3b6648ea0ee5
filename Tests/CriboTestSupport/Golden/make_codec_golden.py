#!/usr/bin/env python3
"""Golden file for cribo's image codecs (Tests/CriboDataTests/CodecTests.swift).

Regenerate (from the repo root):
    /opt/refenv/bin/python Tests/CriboTestSupport/Golden/make_codec_golden.py

Writes codecs.safetensors next to this file. Every fixture is a small image
(mostly 37x23: odd sizes exercise the edges of chroma upsampling) built from a
seeded numpy generator, encoded either by Pillow or, for layouts Pillow cannot
write (16-bit RGB, 16-bit gray+alpha, 2-bit gray, a palette shorter than its
indices, Adam7 interlacing), by the small PNG writer below. Deterministic: no
timestamps, fixed seeds, fixed encoder settings, so a rerun gives the same bytes
(with the same Pillow / zlib builds).

Keys (all U8):
    <fixture>.bytes        [n]        the encoded file, decoded by the Swift test
    <fixture>.rgb          [h, w, 3]  np.array(Image.open(f).convert("RGB"))
    <fixture>.rgb_k        [h', w', 3] JPEG only, after im.draft("RGB", (w // k, h // k)), k = 2, 4, 8
    <fixture>.indices      [h, w]     np.array(Image.open(f)) for palette and gray PNGs
    <fixture>.components   [1]        JPEG only: bands of the stored mode (1, 3 or 4)
    cmyk_table.rgb         [256, 256] R of Image "CMYK" (c = m = y = column, k = row).convert("RGB")
Metadata: Pillow, libjpeg-turbo and zlib versions; the role name of the PNG
that poses as an ImageNet .JPEG.
"""
import io
import json
import os
import struct
import zlib

import numpy as np
import PIL
from PIL import Image, features
from safetensors.numpy import load_file

SEED = 20240611
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "codecs.safetensors")
W, H = 37, 23


def test_image(width, height, seed):
    """Gradients, a hard-edged block and seeded noise: smooth and sharp regions for the codecs."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    r = 255.0 * x / max(width - 1, 1)
    g = 255.0 * y / max(height - 1, 1)
    b = np.where(((x // 6) + (y // 5)) % 2 == 0, 220.0, 30.0)
    rgb = np.stack([r, g, b], axis=-1) + rng.normal(0, 12, size=(height, width, 3))
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def write_safetensors(path, tensors, metadata):
    """A U8-only safetensors file with sorted keys (the Rust writer orders __metadata__ by hash, run to run)."""
    header, offset, blobs = {"__metadata__": dict(sorted(metadata.items()))}, 0, []
    for name in sorted(tensors):
        array = tensors[name]
        header[name] = {"dtype": "U8", "shape": list(array.shape), "data_offsets": [offset, offset + array.nbytes]}
        blobs.append(array.tobytes())
        offset += array.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def encode(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def decoded_rgb(data):
    return np.array(Image.open(io.BytesIO(data)).convert("RGB"))


def drafted_rgb(data, k):
    im = Image.open(io.BytesIO(data))
    w, h = im.size
    im.draft("RGB", (w // k, h // k))
    return np.array(im.convert("RGB"))


# --- a minimal PNG writer, for layouts Pillow does not write ---------------------------------------------

def chunk(kind, payload):
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def raw_png(width, height, bit_depth, color_type, rows, palette=None, interlaced=False):
    """rows: list of per-pass lists of packed scanlines (filter 0 is prepended here)."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 1 if interlaced else 0)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
    if palette is not None:
        out += chunk(b"PLTE", bytes(palette))
    out += chunk(b"IDAT", zlib.compress(b"".join(b"\x00" + row for row in rows), 9))
    return out + chunk(b"IEND", b"")


def samples_png(array, bit_depth, color_type, palette=None):
    """array: [h, w, c] integers; 16-bit samples are written big-endian, sub-byte samples packed MSB first."""
    height, width = array.shape[:2]
    if bit_depth == 16:
        rows = [array[y].astype(">u2").tobytes() for y in range(height)]
    elif bit_depth == 8:
        rows = [array[y].astype(np.uint8).tobytes() for y in range(height)]
    else:
        per_byte = 8 // bit_depth
        rows = []
        for y in range(height):
            values = list(array[y].reshape(-1)) + [0] * (-width % per_byte)
            packed = bytearray()
            for i in range(0, len(values), per_byte):
                byte = 0
                for v in values[i:i + per_byte]:
                    byte = (byte << bit_depth) | int(v)
                packed.append(byte)
            rows.append(bytes(packed))
    return raw_png(width, height, bit_depth, color_type, rows, palette)


def adam7_png(rgb):
    """An 8-bit RGB PNG with Adam7 interlacing."""
    height, width = rgb.shape[:2]
    rows = []
    for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
        sub = rgb[y0::dy, x0::dx]
        if sub.shape[0] and sub.shape[1]:
            rows += [sub[y].tobytes() for y in range(sub.shape[0])]
    return raw_png(width, height, 8, 2, rows, interlaced=True)


def voc_palette():
    palette = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette += [r, g, b]
    return palette


def strip_adobe_marker(data):
    """The same JPEG without its APP14 "Adobe" segment (so libjpeg sees plain CMYK)."""
    i = 2
    while i < len(data):
        assert data[i] == 0xFF
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker == 0xEE and data[i + 4:i + 9] == b"Adobe":
            return data[:i] + data[i + 2 + length:]
        if marker == 0xDA:
            break
        i += 2 + length
    raise AssertionError("no Adobe marker")


def main():
    tensors = {}

    def add(name, array):
        tensors[name] = np.ascontiguousarray(np.asarray(array, dtype=np.uint8))

    def add_fixture(name, data, indices=False, components=None, scales=()):
        add(name + ".bytes", np.frombuffer(data, dtype=np.uint8))
        add(name + ".rgb", decoded_rgb(data))
        if indices:
            add(name + ".indices", np.array(Image.open(io.BytesIO(data))))
        if components is not None:
            add(name + ".components", [components])
        for k in scales:
            add(f"{name}.rgb_{k}", drafted_rgb(data, k))

    rgb = test_image(W, H, SEED)
    large = test_image(75, 51, SEED + 1)

    # JPEG: Pillow's encoder, islow DCT; subsampling 2 = 4:2:0, 0 = 4:4:4.
    add_fixture("jpeg_rgb420", encode(Image.fromarray(rgb), "JPEG", quality=90, subsampling=2), components=3)
    add_fixture("jpeg_rgb444", encode(Image.fromarray(rgb), "JPEG", quality=90, subsampling=0), components=3)
    add_fixture("jpeg_progressive", encode(Image.fromarray(rgb), "JPEG", quality=85, progressive=True), components=3)
    add_fixture("jpeg_gray", encode(Image.fromarray(rgb[..., 1]), "JPEG", quality=90), components=1, scales=(2, 4))
    add_fixture("jpeg_large420", encode(Image.fromarray(large), "JPEG", quality=90, subsampling=2),
                components=3, scales=(2, 4, 8))
    add_fixture("jpeg_large444", encode(Image.fromarray(large), "JPEG", quality=90, subsampling=0),
                components=3, scales=(2, 4))
    ink = np.concatenate([255 - rgb, (np.arange(W * H).reshape(H, W, 1) * 7 % 256)], axis=-1).astype(np.uint8)
    cmyk = encode(Image.fromarray(ink, "CMYK"), "JPEG", quality=90)  # Pillow writes Adobe-inverted CMYK
    add_fixture("jpeg_cmyk", cmyk, components=4, scales=(2,))
    add_fixture("jpeg_cmyk_noadobe", strip_adobe_marker(cmyk), components=4)

    # Pillow reads four-component JPEGs with Adobe polarity whether or not the marker is there.
    assert (tensors["jpeg_cmyk_noadobe.rgb"] == tensors["jpeg_cmyk.rgb"]).all()
    # Pillow refuses a truncated JPEG, even one missing only its EOI marker (the Swift decoder does too) ...
    for name in ["jpeg_cmyk", "jpeg_rgb420", "jpeg_progressive"]:
        data = tensors[name + ".bytes"].tobytes()
        for cut in [data[: len(data) // 2], data[:-2]]:
            try:
                Image.open(io.BytesIO(cut)).load()
                raise AssertionError("Pillow decoded a truncated JPEG")
            except OSError:
                pass

    # PNG written by Pillow.
    labels = np.random.default_rng(SEED + 2).choice(np.r_[0:21, 255], size=(H, W)).astype(np.uint8)
    labels[0, :22] = np.r_[0:21, 255]  # every value at least once
    voc = Image.fromarray(labels, "P")
    voc.putpalette(voc_palette())
    add_fixture("png_palette", encode(voc, "PNG"), indices=True)
    small = Image.fromarray((labels % 16).astype(np.uint8), "P")
    small.putpalette(voc_palette()[:48])
    add_fixture("png_palette4", encode(small, "PNG", bits=4), indices=True)
    add_fixture("png_gray", encode(Image.fromarray(rgb[..., 0]), "PNG"), indices=True)
    add_fixture("png_rgb", encode(Image.fromarray(rgb), "PNG"))
    alpha = np.random.default_rng(SEED + 3).integers(0, 256, size=(H, W, 1), dtype=np.uint8)
    add_fixture("png_rgba", encode(Image.fromarray(np.concatenate([rgb, alpha], -1), "RGBA"), "PNG"))
    add_fixture("png_la", encode(Image.fromarray(np.concatenate([rgb[..., :1], alpha], -1), "LA"), "PNG"))
    deep = (rgb[..., 0].astype(np.uint16) * 257) // np.uint16(3) + np.random.default_rng(SEED + 4).integers(0, 3, size=(H, W), dtype=np.uint16)
    deep[0, :8] = [0, 1, 100, 255, 256, 257, 40000, 65535]  # around Pillow's clip at 255
    gray16 = Image.fromarray(deep)
    assert gray16.mode == "I;16"
    add_fixture("png_gray16", encode(gray16, "PNG"))

    # PNG layouts written by hand.
    wide = rgb.astype(np.uint16) * 257 + np.random.default_rng(SEED + 5).integers(0, 257, size=rgb.shape, dtype=np.uint16)
    add_fixture("png_rgb16", samples_png(wide, 16, 2))
    add_fixture("png_la16", samples_png(np.stack([wide[..., 0], wide[..., 1]], -1), 16, 4))
    add_fixture("png_gray2", samples_png((rgb[..., 2:3] // 64), 2, 0), indices=True)
    short = np.arange(W * H).reshape(H, W, 1) % 8  # indices 4..7 are past the 4-entry palette
    add_fixture("png_palette_short", samples_png(short, 8, 3, palette=[10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]))
    add_fixture("png_interlaced", adam7_png(rgb))

    # ... but it reads a PNG missing only its IEND chunk (so does the Swift decoder).
    for name in ["png_rgb", "png_interlaced"]:
        assert (decoded_rgb(tensors[name + ".bytes"].tobytes()[:-12]) == tensors[name + ".rgb"]).all()

    # ImageNet's PNG named .JPEG: the decoder must sniff it.
    add_fixture("png_named_jpeg", encode(Image.fromarray(large[:H, :W]), "PNG"))

    # Pillow's CMYK -> RGB conversion on every (ink, black) pair.
    grid = np.zeros((256, 256, 4), dtype=np.uint8)
    grid[..., 0] = grid[..., 1] = grid[..., 2] = np.arange(256)[None, :]
    grid[..., 3] = np.arange(256)[:, None]
    table = np.array(Image.fromarray(grid, "CMYK").convert("RGB"))
    assert (table[..., 0] == table[..., 1]).all() and (table[..., 0] == table[..., 2]).all()
    add("cmyk_table.rgb", table[..., 0])

    metadata = {
        "generator": "Tests/CriboTestSupport/Golden/make_codec_golden.py",
        "seed": str(SEED),
        "pillow": PIL.__version__,
        "libjpeg_turbo": str(features.version("libjpeg_turbo")),
        "zlib": str(features.version("zlib")),
        "png_named_jpeg.role": "n01739381_1309.JPEG",
    }
    write_safetensors(OUT, tensors, metadata)
    reread = load_file(OUT)
    assert sorted(reread) == sorted(tensors) and all((reread[k] == v).all() for k, v in tensors.items())
    print(f"wrote {OUT}: {len(tensors)} tensors, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
