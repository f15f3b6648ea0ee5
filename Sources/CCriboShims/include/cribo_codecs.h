// SPDX-License-Identifier: Apache-2.0
// The image-codec part of cribo's C boundary: libjpeg-turbo and libpng report errors by longjmp, which must
// never cross a Swift frame, so every call into either library happens here, under its own setjmp. Each
// function returns 0 on success; on failure it writes a message into `error` (always NUL-terminated), releases
// everything it allocated and returns -1. Nothing here prints or exits. Buffers handed back (`pixels`,
// `bytes`) are malloc'ed and released with `cribo_codec_free`.
//
// Decoders return the samples as stored (after libjpeg's colour conversion for YCbCr/YCCK, or libpng's
// unpacking of sub-byte samples); mapping to RGB the way Pillow's convert("RGB") does is left to the caller.
#ifndef CRIBO_CODECS_H
#define CRIBO_CODECS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Decoders refuse images with more pixels than this (2^28), before allocating anything.
#define CRIBO_CODEC_MAX_PIXELS ((size_t)1 << 28)

/// Colour spaces of a JPEG file (the values of libjpeg's J_COLOR_SPACE for these five).
enum {
    CRIBO_JPEG_UNKNOWN = 0,
    CRIBO_JPEG_GRAYSCALE = 1,
    CRIBO_JPEG_RGB = 2,
    CRIBO_JPEG_YCBCR = 3,
    CRIBO_JPEG_CMYK = 4,
    CRIBO_JPEG_YCCK = 5,
};

/// What a JPEG's header says.
typedef struct cribo_jpeg_header {
    int width;
    int height;
    /// 1, 3 or 4.
    int components;
    /// One of the CRIBO_JPEG_* colour spaces, as libjpeg infers it from the markers.
    int color_space;
    /// 1 when an Adobe APP14 marker is present (Photoshop writes one, with inverted CMYK).
    int has_adobe_marker;
    /// The marker's transform: 0 none (RGB/CMYK), 1 YCbCr, 2 YCCK; 0 without a marker.
    int adobe_transform;
} cribo_jpeg_header;

/// A decoded JPEG: `height` rows of `width * channels` bytes.
typedef struct cribo_jpeg_image {
    cribo_jpeg_header header;
    int width;
    int height;
    /// 1 (grayscale), 3 (RGB) or 4 (CMYK, the stored values: Adobe files hold them inverted).
    int channels;
    unsigned char *pixels;
} cribo_jpeg_image;

/// Reads the header of the JPEG in `data[0..<size]`.
int cribo_jpeg_read_header(const unsigned char *data, size_t size, cribo_jpeg_header *header, char *error,
                           size_t error_length);

/// Decodes a JPEG with libjpeg-turbo's defaults (islow IDCT, fancy upsampling), scaled in the DCT domain by
/// `scale_eighths`/8 (1...8; the output is ceil(size · M / 8); 4/8, 2/8 and 1/8 are the 1/2, 1/4 and 1/8 scales of
/// Pillow's draft mode, the others use libjpeg-turbo's M×M inverse DCTs). With `to_rgb`, grayscale is replicated to RGB by
/// libjpeg; four-component (CMYK/YCCK) files always come back as 4-channel CMYK. Data ending before the EOI
/// marker is an error (as in Pillow); libjpeg's other warnings (corrupt entropy data) are not.
int cribo_jpeg_decode(const unsigned char *data, size_t size, int scale_eighths, int to_rgb,
                      cribo_jpeg_image *image, char *error, size_t error_length);

/// Input layouts for `cribo_jpeg_encode`.
enum {
    /// 1 byte per pixel.
    CRIBO_JPEG_INPUT_GRAY = 1,
    /// 3 bytes per pixel, stored as YCbCr with 4:2:0 chroma subsampling (libjpeg's default).
    CRIBO_JPEG_INPUT_RGB = 3,
    /// 4 bytes per pixel, written as given (callers invert for the Adobe convention).
    CRIBO_JPEG_INPUT_CMYK = 4,
};

/// Encodes `pixels` (`height` rows of `width * channels` bytes). For CMYK input, `cmyk_storage` is 0 for plain
/// CMYK without an Adobe marker, 1 for CMYK with an Adobe marker (transform 0), 2 for YCCK with an Adobe marker
/// (transform 2); it is ignored otherwise. `quality` is 1...100 (libjpeg's scale).
int cribo_jpeg_encode(const unsigned char *pixels, int width, int height, int input, int cmyk_storage,
                      int quality, unsigned char **bytes, size_t *byte_count, char *error, size_t error_length);

/// PNG colour types (the IHDR values).
enum {
    CRIBO_PNG_GRAY = 0,
    CRIBO_PNG_RGB = 2,
    CRIBO_PNG_PALETTE = 3,
    CRIBO_PNG_GRAY_ALPHA = 4,
    CRIBO_PNG_RGB_ALPHA = 6,
};

/// A decoded PNG, unexpanded: palette indices and gray values as stored (sub-byte samples unpacked to one byte
/// each; gray of bit depth 1, 2 or 4 scaled to 0...255 by bit replication, as Pillow's "1"/"L;2"/"L;4" modes
/// do); 16-bit samples as big-endian byte pairs; alpha kept; tRNS not applied.
typedef struct cribo_png_image {
    int width;
    int height;
    /// One of the CRIBO_PNG_* colour types.
    int color_type;
    /// The IHDR bit depth (1, 2, 4, 8 or 16).
    int bit_depth;
    /// Samples per pixel (1, 2, 3 or 4).
    int channels;
    /// Bytes per sample in `pixels`: 1, or 2 for bit depth 16.
    int sample_bytes;
    /// Entries in `palette` (0 without a PLTE chunk).
    int palette_count;
    /// RGB triples.
    unsigned char palette[768];
    /// `height` rows of `width * channels * sample_bytes` bytes.
    unsigned char *pixels;
} cribo_png_image;

/// Decodes the PNG in `data[0..<size]` (interlaced or not). Data after the last image row is not read, so a
/// missing IEND is not an error; a CRC or zlib error, or data ending before the last row, is.
int cribo_png_decode(const unsigned char *data, size_t size, cribo_png_image *image, char *error,
                     size_t error_length);

/// Encodes an 8-bit PNG (not interlaced, zlib level 6, libpng's default filters) of colour type
/// CRIBO_PNG_GRAY (1 byte per pixel), CRIBO_PNG_RGB (3) or CRIBO_PNG_PALETTE (1, indices into `palette`,
/// `palette_count` RGB triples, 1...256; an index past the palette is an error).
int cribo_png_encode(const unsigned char *pixels, int width, int height, int color_type,
                     const unsigned char *palette, int palette_count, unsigned char **bytes, size_t *byte_count,
                     char *error, size_t error_length);

/// Releases a buffer returned by the functions above (NULL is allowed).
void cribo_codec_free(void *buffer);

#ifdef __cplusplus
}
#endif

#endif
