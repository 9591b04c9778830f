// C helper for libjpeg(-turbo) and libpng: runs every library call under setjmp so that fatal library errors
// come back as status codes instead of aborting the process.
#ifndef OFA_IMAGE_CODECS_H
#define OFA_IMAGE_CODECS_H

#include <stddef.h>
#include <stdint.h>

enum ofa_codec_status {
    OFA_CODEC_OK = 0,
    OFA_CODEC_TRUNCATED = 1,    // the data ended before the image did
    OFA_CODEC_CORRUPT = 2,      // the library rejected the data; see the message
    OFA_CODEC_UNSUPPORTED = 3,  // a valid file in a layout we do not decode
    OFA_CODEC_NO_MEMORY = 4,
    OFA_CODEC_ZERO_SIZE = 5,    // the header declares a zero width or height
    OFA_CODEC_TOO_MANY_SCANS = 6, // a progressive JPEG with more scans than the decoder's limit
    OFA_CODEC_DEADLINE = 7,     // decoding went past the decoder's deadline
};

// ---- JPEG
enum ofa_jpeg_color { OFA_JPEG_GRAY = 1, OFA_JPEG_RGB = 3, OFA_JPEG_CMYK = 4 };

typedef struct ofa_jpeg_info {
    uint32_t width, height;
    int color;                  // enum ofa_jpeg_color: bytes per decoded pixel
    int progressive;
    const uint8_t *exif;        // first APP1 "Exif\0\0" payload after the 6-byte prefix (TIFF data), or NULL
    size_t exif_size;
    const uint8_t *xmp;         // first APP1 XMP packet after its namespace prefix, or NULL
    size_t xmp_size;
} ofa_jpeg_info;

typedef struct ofa_jpeg_decoder ofa_jpeg_decoder;

ofa_jpeg_decoder *ofa_jpeg_create(const uint8_t *data, size_t size);
// Bounds the work of decoding: at most max_scans scans (0: no limit), and at most `seconds` of wall time from
// now (INFINITY: none), checked by libjpeg's progress monitor at every row of every scan.
void ofa_jpeg_set_limits(ofa_jpeg_decoder *decoder, int max_scans, double seconds);
// Reads markers up to the first scan; allocates no pixel memory. info's pointers live as long as the decoder.
// On failure, width/height hold whatever dimensions were read before it (0 if none).
int ofa_jpeg_read_header(ofa_jpeg_decoder *decoder, ofa_jpeg_info *info);
// Decodes all rows into out (height rows of `stride` bytes, width * color bytes used per row).
int ofa_jpeg_decode(ofa_jpeg_decoder *decoder, uint8_t *out, size_t stride);
const char *ofa_jpeg_message(const ofa_jpeg_decoder *decoder);
int ofa_jpeg_scan_limit(const ofa_jpeg_decoder *decoder);
void ofa_jpeg_destroy(ofa_jpeg_decoder *decoder);

// ---- PNG
enum ofa_png_layout {
    OFA_PNG_GRAY8 = 1,          // 1 byte per pixel (gray of any depth < 16, gray+alpha 8/16 with alpha dropped)
    OFA_PNG_GRAY16 = 2,         // 2 bytes per pixel, big-endian (16-bit gray without alpha channel)
    OFA_PNG_RGB8 = 3,           // 3 bytes per pixel (RGB, RGBA with alpha dropped, palette expanded, 16 -> high byte)
};

typedef struct ofa_png_info {
    uint32_t width, height;
    int bit_depth, color_type, interlaced;
    int layout;                 // enum ofa_png_layout that ofa_png_decode will write
    const uint8_t *exif;        // eXIf chunk (TIFF data) when it precedes the image data, or NULL
    size_t exif_size;
} ofa_png_info;

typedef struct ofa_png_decoder ofa_png_decoder;

// How many of `size` bytes libpng is given: all but the tail from the first non-IDAT chunk that declares more bytes
// than remain (libpng would allocate its declared length before finding out).
size_t ofa_png_readable_size(const uint8_t *data, size_t size);
ofa_png_decoder *ofa_png_create(const uint8_t *data, size_t size);
// Headers declaring more than `pixels` (0: no limit) stop ofa_png_read_header before any row memory is allocated.
void ofa_png_set_pixel_limit(ofa_png_decoder *decoder, uint64_t pixels);
// At most `seconds` of wall time from now (INFINITY: none), checked between rows.
void ofa_png_set_deadline(ofa_png_decoder *decoder, double seconds);
int ofa_png_read_header(ofa_png_decoder *decoder, ofa_png_info *info);
// Decodes all rows into out (height rows of `stride` bytes). Afterwards info->exif also covers an eXIf after IDAT.
int ofa_png_decode(ofa_png_decoder *decoder, uint8_t *out, size_t stride, ofa_png_info *info);
const char *ofa_png_message(const ofa_png_decoder *decoder);
void ofa_png_destroy(ofa_png_decoder *decoder);

// Encodes 8-bit RGB (channels 3) or gray (channels 1) rows as PNG into a malloc'd buffer the caller frees.
int ofa_png_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int channels, size_t stride,
                   uint8_t **out, size_t *out_size, char *message, size_t message_size);

#endif
