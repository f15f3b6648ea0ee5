// SPDX-License-Identifier: Apache-2.0
// PNG through libpng 1.6 (see cribo_codecs.h for the contract). libpng's error callback copies the message and
// longjmps to the setjmp of the calling function (png_jmpbuf); warnings are silenced. Reading and writing go
// through callbacks on memory buffers; the state those callbacks change lives on the heap so that it is current
// after a longjmp, and everything is freed on both paths.
#include "cribo_codecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

typedef struct png_context {
    char *error;
    size_t error_length;
    const unsigned char *data;
    size_t size;
    size_t offset;
    unsigned char *output;
    size_t output_size;
    size_t output_capacity;
} png_context;

static void set_error(char *error, size_t error_length, const char *message) {
    if (error != NULL && error_length > 0) snprintf(error, error_length, "%s", message);
}

static void on_error(png_structp png, png_const_charp message) {
    png_context *context = png_get_error_ptr(png);
    set_error(context->error, context->error_length, message);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static void read_bytes(png_structp png, png_bytep out, size_t length) {
    png_context *context = png_get_io_ptr(png);
    if (length > context->size - context->offset) png_error(png, "unexpected end of data (truncated PNG)");
    memcpy(out, context->data + context->offset, length);
    context->offset += length;
}

int cribo_png_decode(const unsigned char *data, size_t size, cribo_png_image *image, char *error,
                     size_t error_length) {
    memset(image, 0, sizeof *image);
    if (data == NULL || size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        set_error(error, error_length, size == 0 ? "empty data" : "not a PNG (bad signature)");
        return -1;
    }
    png_context context = {.error = error, .error_length = error_length, .data = data, .size = size};
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &context, on_error, on_warning);
    png_infop info = png != NULL ? png_create_info_struct(png) : NULL;
    if (info == NULL) {
        png_destroy_read_struct(&png, NULL, NULL);
        set_error(error, error_length, "out of memory");
        return -1;
    }
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        free(pixels);
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_set_read_fn(png, &context, read_bytes);
    png_read_info(png, info);
    png_uint_32 width, height;
    int bit_depth, color_type, interlace;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    if ((size_t)width * (size_t)height > CRIBO_CODEC_MAX_PIXELS) {
        char message[96];
        snprintf(message, sizeof message, "image too large (%ux%u)", (unsigned)width, (unsigned)height);
        png_error(png, message);
    }
    if (bit_depth < 8) {
        if (color_type == PNG_COLOR_TYPE_GRAY) {
            png_set_expand_gray_1_2_4_to_8(png);  // bit replication, without turning tRNS into alpha
        } else {
            png_set_packing(png);  // palette indices, one byte each
        }
    }
    if (interlace != PNG_INTERLACE_NONE) png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    int sample_bytes = bit_depth == 16 ? 2 : 1;
    size_t row_bytes = png_get_rowbytes(png, info);
    if (row_bytes != (size_t)width * (size_t)channels * (size_t)sample_bytes) {
        png_error(png, "unexpected row layout");
    }
    pixels = malloc(row_bytes * height);
    rows = malloc(sizeof(png_bytep) * height);
    if (pixels == NULL || rows == NULL) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + (size_t)y * row_bytes;
    png_read_image(png, rows);
    // No png_read_end: the pixels are complete, and a file missing only its IEND chunk is usable.
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_colorp palette = NULL;
        int count = 0;
        if (png_get_PLTE(png, info, &palette, &count) == PNG_INFO_PLTE && palette != NULL) {
            image->palette_count = count < 256 ? count : 256;
            for (int i = 0; i < image->palette_count; i++) {
                image->palette[3 * i + 0] = palette[i].red;
                image->palette[3 * i + 1] = palette[i].green;
                image->palette[3 * i + 2] = palette[i].blue;
            }
        }
    }
    free(rows);
    image->width = (int)width;
    image->height = (int)height;
    image->color_type = color_type;
    image->bit_depth = bit_depth;
    image->channels = channels;
    image->sample_bytes = sample_bytes;
    image->pixels = pixels;
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}

// MARK: - Encoding

static void write_bytes(png_structp png, png_bytep bytes, size_t length) {
    png_context *context = png_get_io_ptr(png);
    if (length > context->output_capacity - context->output_size) {
        size_t capacity = context->output_capacity * 2;
        while (capacity - context->output_size < length) capacity *= 2;
        unsigned char *grown = realloc(context->output, capacity);
        if (grown == NULL) png_error(png, "out of memory");
        context->output = grown;
        context->output_capacity = capacity;
    }
    memcpy(context->output + context->output_size, bytes, length);
    context->output_size += length;
}

static void flush_bytes(png_structp png) { (void)png; }

int cribo_png_encode(const unsigned char *pixels, int width, int height, int color_type,
                     const unsigned char *palette, int palette_count, unsigned char **bytes, size_t *byte_count,
                     char *error, size_t error_length) {
    *bytes = NULL;
    *byte_count = 0;
    int channels = color_type == CRIBO_PNG_RGB ? 3 : 1;
    if (width <= 0 || height <= 0 ||
        (color_type != CRIBO_PNG_GRAY && color_type != CRIBO_PNG_RGB && color_type != CRIBO_PNG_PALETTE)) {
        snprintf(error, error_length, "cannot encode a %dx%d PNG of colour type %d", width, height, color_type);
        return -1;
    }
    size_t row_bytes = (size_t)width * (size_t)channels;
    if (color_type == CRIBO_PNG_PALETTE) {
        if (palette == NULL || palette_count < 1 || palette_count > 256) {
            snprintf(error, error_length, "invalid palette of %d entries", palette_count);
            return -1;
        }
        for (size_t i = 0; i < row_bytes * (size_t)height; i++) {
            if (pixels[i] >= palette_count) {
                snprintf(error, error_length, "index %d at pixel %zu is past the palette of %d entries",
                         pixels[i], i, palette_count);
                return -1;
            }
        }
    }
    // Heap-allocated so that the output buffer pointer is current after a longjmp.
    png_context *context = calloc(1, sizeof *context);
    if (context != NULL) context->output = malloc(context->output_capacity = 1 << 14);
    if (context == NULL || context->output == NULL) {
        if (context != NULL) free(context);
        set_error(error, error_length, "out of memory");
        return -1;
    }
    context->error = error;
    context->error_length = error_length;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, context, on_error, on_warning);
    png_infop info = png != NULL ? png_create_info_struct(png) : NULL;
    if (info == NULL) {
        png_destroy_write_struct(&png, NULL);
        free(context->output);
        free(context);
        set_error(error, error_length, "out of memory");
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(context->output);
        free(context);
        return -1;
    }
    png_set_write_fn(png, context, write_bytes, flush_bytes);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, color_type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (color_type == CRIBO_PNG_PALETTE) {
        png_color colors[256];
        for (int i = 0; i < palette_count; i++) {
            colors[i].red = palette[3 * i + 0];
            colors[i].green = palette[3 * i + 1];
            colors[i].blue = palette[3 * i + 2];
        }
        png_set_PLTE(png, info, colors, palette_count);
    }
    png_set_compression_level(png, 6);
    png_write_info(png, info);
    for (int y = 0; y < height; y++) png_write_row(png, pixels + (size_t)y * row_bytes);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    *bytes = context->output;
    *byte_count = context->output_size;
    free(context);
    return 0;
}
