// rtk_jpeg.c: libjpeg decode/encode behind a setjmp guard (see rtk_image.h).
#include "rtk_image.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

/// libjpeg error manager extended with a jump buffer and the first warning
/// that means image data is missing or damaged.
typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jmp;
    char *msg;
    size_t msg_len;
    int damaged;                        ///< a warning below was seen
    char warning[JMSG_LENGTH_MAX];      ///< its text
} jpeg_guard;

static void set_msg(char *msg, size_t msg_len, const char *text) {
    if (msg && msg_len > 0) snprintf(msg, msg_len, "%s", text);
}

/// Fatal errors: copy the message, then jump back into the rtk_* function.
static void guard_error_exit(j_common_ptr cinfo) {
    jpeg_guard *g = (jpeg_guard *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    set_msg(g->msg, g->msg_len, text);
    longjmp(g->jmp, 1);
}

/// libjpeg only *warns* when data ends early or the entropy-coded data is
/// damaged (it then fills the rest of the image with gray). We remember the
/// first such warning and fail after decoding. Other warnings are ignored and
/// nothing is printed.
static void guard_emit_message(j_common_ptr cinfo, int level) {
    if (level != -1) return;  // trace messages
    jpeg_guard *g = (jpeg_guard *)cinfo->err;
    cinfo->err->num_warnings++;
    switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
    case JWRN_HIT_MARKER:
    case JWRN_MUST_RESYNC:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_BOGUS_PROGRESSION:
    case JWRN_NOT_SEQUENTIAL:
        if (!g->damaged) {
            g->damaged = 1;
            (*cinfo->err->format_message)(cinfo, g->warning);
        }
        break;
    default:
        break;
    }
}

static void guard_output_message(j_common_ptr cinfo) { (void)cinfo; }

/// Most scans accepted in one file. Real progressive files have about 10; a
/// crafted file with many thousands of tiny scans makes decoding quadratic.
#define RTK_MAX_SCANS 1000

/// Progress monitor used only to stop files with absurd scan counts.
static void guard_progress(j_common_ptr cinfo) {
    if (!cinfo->is_decompressor) return;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > RTK_MAX_SCANS) {
        jpeg_guard *g = (jpeg_guard *)cinfo->err;
        snprintf(g->msg, g->msg_len, "more than %d scans", RTK_MAX_SCANS);
        longjmp(g->jmp, 1);
    }
}

static void guard_init(jpeg_guard *g, char *msg, size_t msg_len) {
    memset(g, 0, sizeof *g);
    jpeg_std_error(&g->pub);
    g->pub.error_exit = guard_error_exit;
    g->pub.emit_message = guard_emit_message;
    g->pub.output_message = guard_output_message;
    g->msg = msg;
    g->msg_len = msg_len;
}

int rtk_jpeg_decode(const uint8_t *data, size_t size, uint64_t max_pixels,
                    rtk_decoded *out, char *msg, size_t msg_len) {
    memset(out, 0, sizeof *out);
    if (size < 4 || data[0] != 0xFF || data[1] != 0xD8) {
        set_msg(msg, msg_len, "not a JPEG file (bad signature)");
        return RTK_ERR_CORRUPT;
    }
    if ((unsigned long)size != size) {
        set_msg(msg, msg_len, "file too large");
        return RTK_ERR_TOO_LARGE;
    }
    struct jpeg_decompress_struct cinfo;
    jpeg_guard guard;
    guard_init(&guard, msg, msg_len);
    cinfo.err = &guard.pub;
    // Everything that must be freed after a longjmp is volatile.
    uint8_t *volatile pixels = NULL;
    uint8_t *volatile exif = NULL;
    volatile size_t exif_size = 0;
    volatile int created = 0;
    volatile int code = RTK_ERR_CORRUPT;
    if (setjmp(guard.jmp)) goto fail;

    jpeg_create_decompress(&cinfo);
    created = 1;
    struct jpeg_progress_mgr progress;
    memset(&progress, 0, sizeof progress);
    progress.progress_monitor = guard_progress;
    cinfo.progress = &progress;
    jpeg_mem_src(&cinfo, (const unsigned char *)data, (unsigned long)size);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);  // keep APP1 for the EXIF orientation
    (void)jpeg_read_header(&cinfo, TRUE);

    if ((uint64_t)cinfo.image_width * (uint64_t)cinfo.image_height > max_pixels) {
        snprintf(msg, msg_len, "image is %ux%u pixels, above the limit of %llu pixels",
                 (unsigned)cinfo.image_width, (unsigned)cinfo.image_height, (unsigned long long)max_pixels);
        code = RTK_ERR_TOO_LARGE;
        goto fail;
    }
    int channels;
    int inverted = 0;
    switch (cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE:
        cinfo.out_color_space = JCS_GRAYSCALE;
        channels = 1;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo.out_color_space = JCS_CMYK;  // libjpeg converts YCCK to CMYK; CMYK -> RGB is done by the caller
        channels = 4;
        inverted = cinfo.saw_Adobe_marker ? 1 : 0;
        break;
    default:
        if (cinfo.num_components != 3) {
            snprintf(msg, msg_len, "unsupported JPEG with %d color components", cinfo.num_components);
            code = RTK_ERR_UNSUPPORTED;
            goto fail;
        }
        cinfo.out_color_space = JCS_RGB;
        channels = 3;
        break;
    }
    for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && m->data_length > 6 && memcmp(m->data, "Exif\0\0", 6) == 0) {
            exif = (uint8_t *)malloc(m->data_length - 6);
            if (!exif) {
                set_msg(msg, msg_len, "out of memory");
                code = RTK_ERR_NOMEM;
                goto fail;
            }
            memcpy(exif, m->data + 6, m->data_length - 6);
            exif_size = m->data_length - 6;
            break;
        }
    }

    (void)jpeg_start_decompress(&cinfo);
    if (cinfo.output_components != channels) {
        set_msg(msg, msg_len, "unexpected JPEG output layout");
        code = RTK_ERR_UNSUPPORTED;
        goto fail;
    }
    size_t stride = (size_t)cinfo.output_width * (size_t)channels;
    pixels = (uint8_t *)malloc(stride * cinfo.output_height);
    if (!pixels) {
        set_msg(msg, msg_len, "out of memory");
        code = RTK_ERR_NOMEM;
        goto fail;
    }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + (size_t)cinfo.output_scanline * stride;
        (void)jpeg_read_scanlines(&cinfo, &row, 1);
    }
    (void)jpeg_finish_decompress(&cinfo);
    if (guard.damaged) {
        set_msg(msg, msg_len, guard.warning);
        code = RTK_ERR_CORRUPT;
        goto fail;
    }
    out->pixels = pixels;
    out->width = cinfo.output_width;
    out->height = cinfo.output_height;
    out->channels = (uint32_t)channels;
    out->inverted_cmyk = inverted;
    out->exif = exif;
    out->exif_size = exif_size;
    jpeg_destroy_decompress(&cinfo);
    return RTK_OK;

fail:
    free(pixels);
    free(exif);
    if (created) jpeg_destroy_decompress(&cinfo);
    return code;
}

int rtk_jpeg_encode(const uint8_t *rgb, uint32_t width, uint32_t height, int quality,
                    const char *comment, rtk_buffer *out, char *msg, size_t msg_len) {
    memset(out, 0, sizeof *out);
    if (width == 0 || height == 0 || width > JPEG_MAX_DIMENSION || height > JPEG_MAX_DIMENSION) {
        snprintf(msg, msg_len, "JPEG sides must be 1...%ld pixels", (long)JPEG_MAX_DIMENSION);
        return RTK_ERR_ARGUMENT;
    }
    if (quality < 1 || quality > 100) {
        set_msg(msg, msg_len, "JPEG quality must be 1...100");
        return RTK_ERR_ARGUMENT;
    }
    if (comment && strlen(comment) > 65533) {
        set_msg(msg, msg_len, "JPEG comment longer than 65533 bytes");
        return RTK_ERR_ARGUMENT;
    }
    struct jpeg_compress_struct cinfo;
    jpeg_guard guard;
    guard_init(&guard, msg, msg_len);
    cinfo.err = &guard.pub;
    // libjpeg allocates the output with malloc and updates these through their addresses.
    struct { unsigned char *data; unsigned long size; } dest = {NULL, 0};
    volatile int created = 0;
    if (setjmp(guard.jmp)) goto fail;

    jpeg_create_compress(&cinfo);
    created = 1;
    jpeg_mem_dest(&cinfo, &dest.data, &dest.size);
    cinfo.image_width = width;
    cinfo.image_height = height;
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, quality, TRUE);
    if (quality >= 90) {  // no chroma subsampling at high quality
        cinfo.comp_info[0].h_samp_factor = 1;
        cinfo.comp_info[0].v_samp_factor = 1;
    }
    cinfo.optimize_coding = TRUE;
    jpeg_start_compress(&cinfo, TRUE);
    if (comment) jpeg_write_marker(&cinfo, JPEG_COM, (const JOCTET *)comment, (unsigned int)strlen(comment));
    while (cinfo.next_scanline < cinfo.image_height) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)cinfo.next_scanline * width * 3);
        (void)jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    out->data = dest.data;
    out->size = dest.size;
    return RTK_OK;

fail:
    if (created) jpeg_destroy_compress(&cinfo);
    free(dest.data);
    return RTK_ERR_CORRUPT;
}
