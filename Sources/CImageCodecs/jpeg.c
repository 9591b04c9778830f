// libjpeg(-turbo) decoding under setjmp: an in-memory source that reports running dry, errors as status codes.
#include "CImageCodecs.h"
#include "monotonic.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

struct ofa_jpeg_decoder {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr error_manager;
    struct jpeg_source_mgr source;
    struct jpeg_progress_mgr progress;
    int max_scans;          // 0: no limit
    double deadline;        // CLOCK_MONOTONIC seconds; INFINITY: none
    int limit_status;       // OFA_CODEC_TOO_MANY_SCANS or OFA_CODEC_DEADLINE once a limit stopped decoding
    jmp_buf jump;
    const uint8_t *data;
    size_t size;
    int ran_dry;            // the decoder asked for bytes past the end of the data
    int created;
    char message[JMSG_LENGTH_MAX];
};

static const JOCTET fake_eoi[2] = {0xFF, JPEG_EOI};

static void source_init(j_decompress_ptr cinfo) { (void)cinfo; }

static boolean source_fill(j_decompress_ptr cinfo) {
    ofa_jpeg_decoder *decoder = (ofa_jpeg_decoder *)cinfo->client_data;
    decoder->ran_dry = 1;
    cinfo->src->next_input_byte = fake_eoi;
    cinfo->src->bytes_in_buffer = 2;
    return TRUE;
}

static void source_skip(j_decompress_ptr cinfo, long count) {
    struct jpeg_source_mgr *src = cinfo->src;
    if (count <= 0) return;
    while ((size_t)count > src->bytes_in_buffer) {
        count -= (long)src->bytes_in_buffer;
        (void)source_fill(cinfo);
    }
    src->next_input_byte += count;
    src->bytes_in_buffer -= (size_t)count;
}

static void source_term(j_decompress_ptr cinfo) { (void)cinfo; }

static void error_exit(j_common_ptr cinfo) {
    ofa_jpeg_decoder *decoder = (ofa_jpeg_decoder *)cinfo->client_data;
    (*cinfo->err->format_message)(cinfo, decoder->message);
    longjmp(decoder->jump, 1);
}

// Warnings (corrupt-data recoveries) are ignored, as Pillow ignores them.
static void emit_message(j_common_ptr cinfo, int level) { (void)cinfo; (void)level; }
static void output_message(j_common_ptr cinfo) { (void)cinfo; }

// Called by libjpeg at every row of every scan it reads or outputs: stops a decode over its limits.
static void progress_monitor(j_common_ptr cinfo) {
    ofa_jpeg_decoder *decoder = (ofa_jpeg_decoder *)cinfo->client_data;
    if (decoder->max_scans > 0 && decoder->cinfo.input_scan_number > decoder->max_scans) {
        decoder->limit_status = OFA_CODEC_TOO_MANY_SCANS;
        snprintf(decoder->message, sizeof decoder->message, "more than %d scans", decoder->max_scans);
        longjmp(decoder->jump, 1);
    }
    if (decoder->deadline != INFINITY && monotonic_seconds() > decoder->deadline) {
        decoder->limit_status = OFA_CODEC_DEADLINE;
        snprintf(decoder->message, sizeof decoder->message, "decoding went past its deadline");
        longjmp(decoder->jump, 1);
    }
}

void ofa_jpeg_set_limits(ofa_jpeg_decoder *decoder, int max_scans, double seconds) {
    decoder->max_scans = max_scans;
    decoder->deadline = isinf(seconds) ? INFINITY : monotonic_seconds() + seconds;
}

static int failure(ofa_jpeg_decoder *decoder) {
    if (decoder->limit_status) return decoder->limit_status;
    if (decoder->error_manager.msg_code == JERR_EMPTY_IMAGE) return OFA_CODEC_ZERO_SIZE;
    if (decoder->ran_dry) return OFA_CODEC_TRUNCATED;
    if (decoder->error_manager.msg_code == JERR_OUT_OF_MEMORY) return OFA_CODEC_NO_MEMORY;
    return OFA_CODEC_CORRUPT;
}

ofa_jpeg_decoder *ofa_jpeg_create(const uint8_t *data, size_t size) {
    ofa_jpeg_decoder *decoder = calloc(1, sizeof *decoder);
    if (!decoder) return NULL;
    decoder->data = data;
    decoder->size = size;
    decoder->cinfo.err = jpeg_std_error(&decoder->error_manager);
    decoder->error_manager.error_exit = error_exit;
    decoder->error_manager.emit_message = emit_message;
    decoder->error_manager.output_message = output_message;
    decoder->cinfo.client_data = decoder;
    if (setjmp(decoder->jump)) {
        free(decoder);
        return NULL;
    }
    jpeg_create_decompress(&decoder->cinfo);
    decoder->created = 1;
    decoder->source.init_source = source_init;
    decoder->source.fill_input_buffer = source_fill;
    decoder->source.skip_input_data = source_skip;
    decoder->source.resync_to_restart = jpeg_resync_to_restart;
    decoder->source.term_source = source_term;
    decoder->source.next_input_byte = data;
    decoder->source.bytes_in_buffer = size;
    decoder->cinfo.src = &decoder->source;
    decoder->deadline = INFINITY;
    decoder->progress.progress_monitor = progress_monitor;
    decoder->cinfo.progress = &decoder->progress;
    return decoder;
}

static int has_prefix(const jpeg_saved_marker_ptr marker, const char *prefix, size_t length) {
    return marker->data_length >= length && memcmp(marker->data, prefix, length) == 0;
}

int ofa_jpeg_read_header(ofa_jpeg_decoder *decoder, ofa_jpeg_info *info) {
    struct jpeg_decompress_struct *cinfo = &decoder->cinfo;
    memset(info, 0, sizeof *info);
    if (setjmp(decoder->jump)) {
        // Dimensions read before the failure let the caller report an oversized declaration first.
        info->width = cinfo->image_width;
        info->height = cinfo->image_height;
        return failure(decoder);
    }
    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(cinfo, TRUE);
    for (jpeg_saved_marker_ptr marker = cinfo->marker_list; marker; marker = marker->next) {
        static const char exif_prefix[] = "Exif\0\0";
        static const char xmp_prefix[] = "http://ns.adobe.com/xap/1.0/";  // + NUL
        if (!info->exif && has_prefix(marker, exif_prefix, 6)) {
            info->exif = marker->data + 6;
            info->exif_size = marker->data_length - 6;
        } else if (!info->xmp && has_prefix(marker, xmp_prefix, sizeof xmp_prefix)) {
            info->xmp = marker->data + sizeof xmp_prefix;
            info->xmp_size = marker->data_length - sizeof xmp_prefix;
        }
    }
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo->out_color_space = JCS_GRAYSCALE;
        info->color = OFA_JPEG_GRAY;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        cinfo->out_color_space = JCS_RGB;
        info->color = OFA_JPEG_RGB;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo->out_color_space = JCS_CMYK;
        info->color = OFA_JPEG_CMYK;
        break;
    default:
        snprintf(decoder->message, sizeof decoder->message, "JPEG color space %d with %d components",
                 (int)cinfo->jpeg_color_space, cinfo->num_components);
        return OFA_CODEC_UNSUPPORTED;
    }
    info->width = cinfo->image_width;
    info->height = cinfo->image_height;
    info->progressive = cinfo->progressive_mode ? 1 : 0;
    return OFA_CODEC_OK;
}

int ofa_jpeg_decode(ofa_jpeg_decoder *decoder, uint8_t *out, size_t stride) {
    struct jpeg_decompress_struct *cinfo = &decoder->cinfo;
    if (setjmp(decoder->jump)) return failure(decoder);
    jpeg_start_decompress(cinfo);
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = out + (size_t)cinfo->output_scanline * stride;
        jpeg_read_scanlines(cinfo, &row, 1);
    }
    // Reading on to the EOI marker: Pillow reports a file that lacks any part of it as truncated, so do we.
    jpeg_finish_decompress(cinfo);
    if (decoder->ran_dry) {
        snprintf(decoder->message, sizeof decoder->message, "JPEG data ends before the image does");
        return OFA_CODEC_TRUNCATED;
    }
    return OFA_CODEC_OK;
}

const char *ofa_jpeg_message(const ofa_jpeg_decoder *decoder) { return decoder->message; }

int ofa_jpeg_scan_limit(const ofa_jpeg_decoder *decoder) { return decoder->max_scans; }

void ofa_jpeg_destroy(ofa_jpeg_decoder *decoder) {
    if (!decoder) return;
    if (decoder->created) jpeg_destroy_decompress(&decoder->cinfo);
    free(decoder);
}
