// libpng decoding under setjmp (an in-memory reader that reports running dry) and encoding via png_image.
#include "CImageCodecs.h"
#include "monotonic.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

struct ofa_png_decoder {
    png_structp png;
    png_infop info;
    const uint8_t *data;
    size_t size, position;
    int ran_dry;
    int zero_size;          // libpng warned of a zero width or height before failing with "Invalid IHDR data"
    png_bytep *rows;
    double deadline;        // CLOCK_MONOTONIC seconds; INFINITY: none
    int past_deadline;
    uint64_t pixel_limit;   // 0: none
    char message[256];
};

// Called by libpng after each row (of each interlace pass): stops a decode that went past its deadline.
static void row_done(png_structp png, png_uint_32 row, int pass) {
    (void)row;
    (void)pass;
    ofa_png_decoder *decoder = (ofa_png_decoder *)png_get_io_ptr(png);
    if (decoder->deadline != INFINITY && monotonic_seconds() > decoder->deadline) {
        decoder->past_deadline = 1;
        png_error(png, "decoding went past its deadline");
    }
}

void ofa_png_set_pixel_limit(ofa_png_decoder *decoder, uint64_t pixels) { decoder->pixel_limit = pixels; }

void ofa_png_set_deadline(ofa_png_decoder *decoder, double seconds) {
    decoder->deadline = isinf(seconds) ? INFINITY : monotonic_seconds() + seconds;
}

static void read_data(png_structp png, png_bytep out, size_t length) {
    ofa_png_decoder *decoder = (ofa_png_decoder *)png_get_io_ptr(png);
    if (length > decoder->size - decoder->position) {
        decoder->ran_dry = 1;
        png_error(png, "PNG data ends before the image does");
    }
    memcpy(out, decoder->data + decoder->position, length);
    decoder->position += length;
}

static void error_fn(png_structp png, png_const_charp message) {
    ofa_png_decoder *decoder = (ofa_png_decoder *)png_get_error_ptr(png);
    snprintf(decoder->message, sizeof decoder->message, "%s", message);
    png_longjmp(png, 1);
}

static void warning_fn(png_structp png, png_const_charp message) {
    ofa_png_decoder *decoder = (ofa_png_decoder *)png_get_error_ptr(png);
    if (strstr(message, "is zero in IHDR")) decoder->zero_size = 1;
}

static int failure(ofa_png_decoder *decoder) {
    if (decoder->past_deadline) return OFA_CODEC_DEADLINE;
    if (decoder->zero_size) return OFA_CODEC_ZERO_SIZE;
    if (decoder->ran_dry) return OFA_CODEC_TRUNCATED;
    if (strstr(decoder->message, "memory")) return OFA_CODEC_NO_MEMORY;
    return OFA_CODEC_CORRUPT;
}

// libpng allocates an ancillary chunk's buffer from its declared length before reading it (text chunks, eXIf, sPLT),
// so 270 bytes declaring a 1.9 GB chunk made it allocate 1.9 GB (found by Tools/fuzz). The data it is given ends
// where the first such chunk claims more bytes than remain, counting a chunk whose 8-byte header is there but whose
// CRC is not (67 bytes ending in a 1.3 GB sPLT header; Tools/fuzz again): libpng then runs dry there, as it would have
// after the allocation, and reports the same. IDAT is streamed, never allocated whole, and is left as it is.
size_t ofa_png_readable_size(const uint8_t *data, size_t size) {
    if (size < 8) return size;
    size_t position = 8;
    while (position <= size && size - position >= 8) {
        size_t remaining = size - position;
        uint32_t length = (uint32_t)data[position] << 24 | (uint32_t)data[position + 1] << 16
                          | (uint32_t)data[position + 2] << 8 | data[position + 3];
        int idat = memcmp(data + position + 4, "IDAT", 4) == 0;
        if (remaining < 12 || (size_t)length > remaining - 12) return idat ? size : position;
        position += 12 + (size_t)length;
    }
    return size;
}

ofa_png_decoder *ofa_png_create(const uint8_t *data, size_t size) {
    ofa_png_decoder *decoder = calloc(1, sizeof *decoder);
    if (!decoder) return NULL;
    decoder->data = data;
    decoder->size = ofa_png_readable_size(data, size);
    decoder->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, decoder, error_fn, warning_fn);
    if (decoder->png) decoder->info = png_create_info_struct(decoder->png);
    if (!decoder->png || !decoder->info) {
        ofa_png_destroy(decoder);
        return NULL;
    }
    png_set_read_fn(decoder->png, decoder, read_data);
    decoder->deadline = INFINITY;
    png_set_read_status_fn(decoder->png, row_done);
    // Dimensions are checked by the caller before any pixel memory is allocated; lift libpng's own 1M cap.
    png_set_user_limits(decoder->png, 0x7fffffff, 0x7fffffff);
    png_set_chunk_malloc_max(decoder->png, 16 << 20);
    return decoder;
}

static void exif_of(ofa_png_decoder *decoder, ofa_png_info *info) {
    png_uint_32 size = 0;
    png_bytep exif = NULL;
    if (png_get_eXIf_1(decoder->png, decoder->info, &size, &exif) && exif && size > 0) {
        info->exif = exif;
        info->exif_size = size;
    }
}

int ofa_png_read_header(ofa_png_decoder *decoder, ofa_png_info *info) {
    png_structp png = decoder->png;
    png_infop pinfo = decoder->info;
    memset(info, 0, sizeof *info);
    if (decoder->size < 8 || png_sig_cmp(decoder->data, 0, 8) != 0) {
        snprintf(decoder->message, sizeof decoder->message, "not a PNG signature");
        return OFA_CODEC_CORRUPT;
    }
    if (setjmp(png_jmpbuf(png))) {
        // Dimensions read before the failure let the caller report an oversized declaration first.
        info->width = png_get_image_width(png, pinfo);
        info->height = png_get_image_height(png, pinfo);
        return failure(decoder);
    }
    png_read_info(png, pinfo);
    info->width = png_get_image_width(png, pinfo);
    info->height = png_get_image_height(png, pinfo);
    info->bit_depth = png_get_bit_depth(png, pinfo);
    info->color_type = png_get_color_type(png, pinfo);
    info->interlaced = png_get_interlace_type(png, pinfo) != PNG_INTERLACE_NONE;
    exif_of(decoder, info);
    // Over the limit: stop before png_read_update_info allocates row buffers of the declared width (a
    // 300000000×1 RGBA16 file asked for 2.4 GB; found by Tools/fuzz). The caller reports the declared size.
    if (decoder->pixel_limit && (uint64_t)info->width * info->height > decoder->pixel_limit) {
        snprintf(decoder->message, sizeof decoder->message, "more pixels than the limit");
        return OFA_CODEC_CORRUPT;
    }

    int has_trns = png_get_valid(png, pinfo, PNG_INFO_tRNS) != 0;
    switch (info->color_type) {
    case PNG_COLOR_TYPE_PALETTE:
        png_set_palette_to_rgb(png);
        info->layout = OFA_PNG_RGB8;
        break;
    case PNG_COLOR_TYPE_GRAY:
        if (info->bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
        info->layout = info->bit_depth == 16 ? OFA_PNG_GRAY16 : OFA_PNG_GRAY8;
        break;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        info->layout = OFA_PNG_GRAY8;
        break;
    case PNG_COLOR_TYPE_RGB:
    case PNG_COLOR_TYPE_RGB_ALPHA:
        info->layout = OFA_PNG_RGB8;
        break;
    default:
        snprintf(decoder->message, sizeof decoder->message, "PNG color type %d", info->color_type);
        return OFA_CODEC_UNSUPPORTED;
    }
    if (info->bit_depth == 16 && info->layout != OFA_PNG_GRAY16) png_set_strip_16(png);  // keeps the high byte
    if ((info->color_type & PNG_COLOR_MASK_ALPHA) || has_trns) png_set_strip_alpha(png);
    if (info->interlaced) png_set_interlace_handling(png);
    png_read_update_info(png, pinfo);

    int channels = png_get_channels(png, pinfo), depth = png_get_bit_depth(png, pinfo);
    int expected_channels = info->layout == OFA_PNG_RGB8 ? 3 : 1;
    int expected_depth = info->layout == OFA_PNG_GRAY16 ? 16 : 8;
    if (channels != expected_channels || depth != expected_depth) {
        snprintf(decoder->message, sizeof decoder->message, "PNG color type %d depth %d gave %d channels of %d bits",
                 info->color_type, info->bit_depth, channels, depth);
        return OFA_CODEC_UNSUPPORTED;
    }
    return OFA_CODEC_OK;
}

int ofa_png_decode(ofa_png_decoder *decoder, uint8_t *out, size_t stride, ofa_png_info *info) {
    png_structp png = decoder->png;
    uint32_t height = png_get_image_height(png, decoder->info);
    decoder->rows = malloc(sizeof(png_bytep) * (height ? height : 1));
    if (!decoder->rows) return OFA_CODEC_NO_MEMORY;
    for (uint32_t y = 0; y < height; y++) decoder->rows[y] = out + (size_t)y * stride;
    if (setjmp(png_jmpbuf(png))) return failure(decoder);
    png_read_image(png, decoder->rows);
    // Chunks after the image data (an eXIf there, or a missing IEND) are read leniently, as Pillow does.
    if (setjmp(png_jmpbuf(png)) == 0) png_read_end(png, decoder->info);
    exif_of(decoder, info);
    return OFA_CODEC_OK;
}

const char *ofa_png_message(const ofa_png_decoder *decoder) { return decoder->message; }

void ofa_png_destroy(ofa_png_decoder *decoder) {
    if (!decoder) return;
    if (decoder->png) png_destroy_read_struct(&decoder->png, decoder->info ? &decoder->info : NULL, NULL);
    free(decoder->rows);
    free(decoder);
}

int ofa_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels, size_t stride,
                   uint8_t **out, size_t *out_size, char *message, size_t message_size) {
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = width;
    image.height = height;
    image.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
    *out = NULL;
    *out_size = 0;
    // One pass into a buffer of libpng's worst-case size (asking for the exact size first compresses twice).
    png_alloc_size_t size = PNG_IMAGE_PNG_SIZE_MAX(image);
    uint8_t *buffer = malloc(size);
    if (!buffer) return OFA_CODEC_NO_MEMORY;
    if (!png_image_write_to_memory(&image, buffer, &size, 0, pixels, (png_int_32)stride, NULL)) {
        snprintf(message, message_size, "%s", image.message);
        free(buffer);
        return OFA_CODEC_CORRUPT;
    }
    *out = buffer;
    *out_size = size;
    return OFA_CODEC_OK;
}
