// SPDX-License-Identifier: Apache-2.0
// JPEG through libjpeg-turbo (see cribo_codecs.h for the contract). libjpeg reports a fatal error by calling
// `error_exit`, which here formats the message and longjmps back to the setjmp of the calling function; its
// warnings are silenced, except "Premature end of JPEG file", which is made fatal as Pillow treats truncated
// files as errors. Encoded bytes go to a growable buffer owned by this file, so they can be freed on error.
#include "cribo_codecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

typedef struct error_context {
    struct jpeg_error_mgr manager;
    jmp_buf jump;
    char *error;
    size_t error_length;
} error_context;

static void set_error(char *error, size_t error_length, const char *message) {
    if (error != NULL && error_length > 0) snprintf(error, error_length, "%s", message);
}

static void on_fatal_error(j_common_ptr cinfo) {
    error_context *context = (error_context *)cinfo->err;
    char message[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, message);
    set_error(context->error, context->error_length, message);
    longjmp(context->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level) {
    if (level >= 0) return;  // trace messages
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) on_fatal_error(cinfo);
    cinfo->err->num_warnings++;
}

static void on_output(j_common_ptr cinfo) { (void)cinfo; }

static void install_error_handler(error_context *context, char *error, size_t error_length) {
    jpeg_std_error(&context->manager);
    context->manager.error_exit = on_fatal_error;
    context->manager.emit_message = on_message;
    context->manager.output_message = on_output;
    context->error = error;
    context->error_length = error_length;
}

static int check_input(const unsigned char *data, size_t size, char *error, size_t error_length) {
    if (data == NULL || size == 0) {
        set_error(error, error_length, "empty data");
        return -1;
    }
    if (size > (size_t)(unsigned long)-1) {
        set_error(error, error_length, "data too large");
        return -1;
    }
    return 0;
}

static void fill_header(const struct jpeg_decompress_struct *cinfo, cribo_jpeg_header *header) {
    header->width = (int)cinfo->image_width;
    header->height = (int)cinfo->image_height;
    header->components = cinfo->num_components;
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE: header->color_space = CRIBO_JPEG_GRAYSCALE; break;
    case JCS_RGB: header->color_space = CRIBO_JPEG_RGB; break;
    case JCS_YCbCr: header->color_space = CRIBO_JPEG_YCBCR; break;
    case JCS_CMYK: header->color_space = CRIBO_JPEG_CMYK; break;
    case JCS_YCCK: header->color_space = CRIBO_JPEG_YCCK; break;
    default: header->color_space = CRIBO_JPEG_UNKNOWN; break;
    }
    header->has_adobe_marker = cinfo->saw_Adobe_marker ? 1 : 0;
    header->adobe_transform = cinfo->saw_Adobe_marker ? cinfo->Adobe_transform : 0;
}

int cribo_jpeg_read_header(const unsigned char *data, size_t size, cribo_jpeg_header *header, char *error,
                           size_t error_length) {
    memset(header, 0, sizeof *header);
    if (check_input(data, size, error, error_length) != 0) return -1;
    struct jpeg_decompress_struct cinfo;
    error_context context;
    install_error_handler(&context, error, error_length);
    cinfo.err = &context.manager;
    if (setjmp(context.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    fill_header(&cinfo, header);
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

int cribo_jpeg_decode(const unsigned char *data, size_t size, int scale_eighths, int to_rgb,
                      cribo_jpeg_image *image, char *error, size_t error_length) {
    memset(image, 0, sizeof *image);
    if (check_input(data, size, error, error_length) != 0) return -1;
    if (scale_eighths < 1 || scale_eighths > 8) {
        snprintf(error, error_length, "unsupported scale %d/8 (expected 1/8 to 8/8)", scale_eighths);
        return -1;
    }
    struct jpeg_decompress_struct cinfo;
    error_context context;
    unsigned char *volatile pixels = NULL;
    install_error_handler(&context, error, error_length);
    cinfo.err = &context.manager;
    if (setjmp(context.jump)) {
        free(pixels);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    fill_header(&cinfo, &image->header);
    switch (cinfo.num_components) {
    case 1: cinfo.out_color_space = to_rgb ? JCS_RGB : JCS_GRAYSCALE; break;
    case 3: cinfo.out_color_space = JCS_RGB; break;
    case 4: cinfo.out_color_space = JCS_CMYK; break;
    default:
        snprintf(error, error_length, "unsupported JPEG with %d components", cinfo.num_components);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    cinfo.scale_num = (unsigned int)scale_eighths;
    cinfo.scale_denom = 8;
    jpeg_calc_output_dimensions(&cinfo);
    size_t pixel_count = (size_t)cinfo.output_width * (size_t)cinfo.output_height;
    if (pixel_count > CRIBO_CODEC_MAX_PIXELS) {
        snprintf(error, error_length, "image too large (%ux%u)", cinfo.output_width, cinfo.output_height);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_start_decompress(&cinfo);
    size_t row_bytes = (size_t)cinfo.output_width * (size_t)cinfo.output_components;
    pixels = malloc(row_bytes * cinfo.output_height);
    if (pixels == NULL) {
        set_error(error, error_length, "out of memory");
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + (size_t)cinfo.output_scanline * row_bytes;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    // Reads up to EOI, so a file missing only its EOI marker fails as well, as it does in Pillow.
    jpeg_finish_decompress(&cinfo);
    image->width = (int)cinfo.output_width;
    image->height = (int)cinfo.output_height;
    image->channels = cinfo.output_components;
    image->pixels = pixels;
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

// MARK: - Encoding

typedef struct memory_destination {
    struct jpeg_destination_mgr manager;
    unsigned char *buffer;
    size_t capacity;
} memory_destination;

static void destination_start(j_compress_ptr cinfo) {
    memory_destination *destination = (memory_destination *)cinfo->dest;
    destination->manager.next_output_byte = destination->buffer;
    destination->manager.free_in_buffer = destination->capacity;
}

// Called when the whole buffer is full.
static boolean destination_grow(j_compress_ptr cinfo) {
    memory_destination *destination = (memory_destination *)cinfo->dest;
    size_t used = destination->capacity;
    unsigned char *grown = realloc(destination->buffer, 2 * used);
    if (grown == NULL) ERREXIT1(cinfo, JERR_OUT_OF_MEMORY, 0);
    destination->buffer = grown;
    destination->capacity = 2 * used;
    destination->manager.next_output_byte = grown + used;
    destination->manager.free_in_buffer = destination->capacity - used;
    return TRUE;
}

static void destination_finish(j_compress_ptr cinfo) { (void)cinfo; }

int cribo_jpeg_encode(const unsigned char *pixels, int width, int height, int input, int cmyk_storage,
                      int quality, unsigned char **bytes, size_t *byte_count, char *error, size_t error_length) {
    *bytes = NULL;
    *byte_count = 0;
    if (width <= 0 || height <= 0 || width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION) {
        snprintf(error, error_length, "cannot encode a %dx%d JPEG", width, height);
        return -1;
    }
    if (input != CRIBO_JPEG_INPUT_GRAY && input != CRIBO_JPEG_INPUT_RGB && input != CRIBO_JPEG_INPUT_CMYK) {
        snprintf(error, error_length, "unsupported input layout %d", input);
        return -1;
    }
    if (quality < 1 || quality > 100 || cmyk_storage < 0 || cmyk_storage > 2) {
        snprintf(error, error_length, "invalid quality %d or CMYK storage %d", quality, cmyk_storage);
        return -1;
    }
    // Heap-allocated so that its contents are current after a longjmp.
    memory_destination *destination = calloc(1, sizeof *destination);
    if (destination != NULL) destination->buffer = malloc(destination->capacity = 1 << 16);
    if (destination == NULL || destination->buffer == NULL) {
        if (destination != NULL) free(destination);
        set_error(error, error_length, "out of memory");
        return -1;
    }
    destination->manager.init_destination = destination_start;
    destination->manager.empty_output_buffer = destination_grow;
    destination->manager.term_destination = destination_finish;

    struct jpeg_compress_struct cinfo;
    error_context context;
    install_error_handler(&context, error, error_length);
    cinfo.err = &context.manager;
    if (setjmp(context.jump)) {
        jpeg_destroy_compress(&cinfo);
        free(destination->buffer);
        free(destination);
        return -1;
    }
    jpeg_create_compress(&cinfo);
    cinfo.dest = &destination->manager;
    cinfo.image_width = (JDIMENSION)width;
    cinfo.image_height = (JDIMENSION)height;
    cinfo.input_components = input;
    cinfo.in_color_space = input == CRIBO_JPEG_INPUT_GRAY ? JCS_GRAYSCALE
                           : input == CRIBO_JPEG_INPUT_RGB ? JCS_RGB
                                                           : JCS_CMYK;
    jpeg_set_defaults(&cinfo);
    if (input == CRIBO_JPEG_INPUT_CMYK) {
        jpeg_set_colorspace(&cinfo, cmyk_storage == 2 ? JCS_YCCK : JCS_CMYK);
        cinfo.write_Adobe_marker = cmyk_storage != 0;
    }
    jpeg_set_quality(&cinfo, quality, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    size_t row_bytes = (size_t)width * (size_t)input;
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)cinfo.next_scanline * row_bytes);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    *byte_count = destination->capacity - destination->manager.free_in_buffer;
    *bytes = destination->buffer;
    jpeg_destroy_compress(&cinfo);
    free(destination);
    return 0;
}

void cribo_codec_free(void *buffer) { free(buffer); }
