// rtk_png.c: libpng decode/encode behind a setjmp guard (see rtk_image.h).
#include "rtk_image.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/// Error state shared with libpng's callbacks. The error callback copies the
/// message and jumps back into the rtk_* function that set `jmp`.
typedef struct {
    jmp_buf jmp;
    char *msg;
    size_t msg_len;
} png_guard;

/// Input cursor over the caller's bytes.
typedef struct {
    const uint8_t *data;
    size_t size;
    size_t pos;
} png_reader;

/// Growing output buffer.
typedef struct {
    uint8_t *data;
    size_t size;
    size_t cap;
} png_writer;

static void set_msg(char *msg, size_t msg_len, const char *text) {
    if (msg && msg_len > 0) snprintf(msg, msg_len, "%s", text);
}

static void guard_error(png_structp png, png_const_charp text) {
    png_guard *g = (png_guard *)png_get_error_ptr(png);
    set_msg(g->msg, g->msg_len, text);
    longjmp(g->jmp, 1);
}

static void guard_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;  // warnings (e.g. an ancillary chunk with a bad CRC, which libpng skips) are not errors
}

static void read_memory(png_structp png, png_bytep dst, size_t n) {
    png_reader *r = (png_reader *)png_get_io_ptr(png);
    if (n > r->size - r->pos) png_error(png, "truncated file (unexpected end of data)");
    memcpy(dst, r->data + r->pos, n);
    r->pos += n;
}

static void write_memory(png_structp png, png_bytep src, size_t n) {
    png_writer *w = (png_writer *)png_get_io_ptr(png);
    if (n > w->cap - w->size) {
        size_t cap = w->cap ? w->cap : 4096;
        while (n > cap - w->size) {
            if (cap > SIZE_MAX / 2) png_error(png, "output too large");
            cap *= 2;
        }
        uint8_t *grown = (uint8_t *)realloc(w->data, cap);
        if (!grown) png_error(png, "out of memory");
        w->data = grown;
        w->cap = cap;
    }
    memcpy(w->data + w->size, src, n);
    w->size += n;
}

static void flush_memory(png_structp png) { (void)png; }

int rtk_png_decode(const uint8_t *data, size_t size, uint64_t max_pixels,
                   rtk_decoded *out, char *msg, size_t msg_len) {
    memset(out, 0, sizeof *out);
    if (size < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0) {
        set_msg(msg, msg_len, "not a PNG file (bad signature)");
        return RTK_ERR_CORRUPT;
    }
    png_guard guard = {.msg = msg, .msg_len = msg_len};
    png_reader reader = {.data = data, .size = size, .pos = 0};
    // Everything that must be freed after a longjmp is volatile.
    png_structp volatile png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &guard, guard_error, guard_warning);
    if (!png) {
        set_msg(msg, msg_len, "out of memory");
        return RTK_ERR_NOMEM;
    }
    png_infop volatile info = png_create_info_struct(png);
    uint8_t *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    volatile int code = RTK_ERR_CORRUPT;
    if (!info) {
        set_msg(msg, msg_len, "out of memory");
        code = RTK_ERR_NOMEM;
        goto fail;
    }
    if (setjmp(guard.jmp)) goto fail;

    png_set_read_fn(png, &reader, read_memory);
    png_set_benign_errors(png, 0);  // "not enough image data" and friends are errors, not warnings
    png_read_info(png, info);

    png_uint_32 width = 0, height = 0;
    int depth = 0, color = 0, interlace = 0;
    png_get_IHDR(png, info, &width, &height, &depth, &color, &interlace, NULL, NULL);
    if ((uint64_t)width * (uint64_t)height > max_pixels) {
        snprintf(msg, msg_len, "image is %ux%u pixels, above the limit of %llu pixels",
                 (unsigned)width, (unsigned)height, (unsigned long long)max_pixels);
        code = RTK_ERR_TOO_LARGE;
        goto fail;
    }
    // Transformations, in libpng's order: palette -> RGB, low-bit gray -> 8 bit,
    // 16 -> 8 bit (rounded), alpha dropped, gray -> RGB, interlace passes merged.
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (depth == 16) png_set_scale_16(png);
    png_set_strip_alpha(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    (void)png_set_interlace_handling(png);
    png_read_update_info(png, info);

    size_t rowbytes = png_get_rowbytes(png, info);
    if (png_get_channels(png, info) != 3 || png_get_bit_depth(png, info) != 8 || rowbytes != (size_t)width * 3) {
        set_msg(msg, msg_len, "unsupported PNG layout after conversion to 8-bit RGB");
        code = RTK_ERR_UNSUPPORTED;
        goto fail;
    }
    pixels = (uint8_t *)malloc(rowbytes * height);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
    if (!pixels || !rows) {
        set_msg(msg, msg_len, "out of memory");
        code = RTK_ERR_NOMEM;
        goto fail;
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);  // checks the chunks after the image data up to IEND

    free(rows);
    {
        png_structp p = png;
        png_infop i = info;
        png_destroy_read_struct(&p, &i, NULL);
    }
    out->pixels = pixels;
    out->width = width;
    out->height = height;
    out->channels = 3;
    return RTK_OK;

fail:
    free(pixels);
    free(rows);
    {
        png_structp p = png;
        png_infop i = info;
        png_destroy_read_struct(&p, i ? &i : NULL, NULL);
    }
    return code;
}

int rtk_png_encode(const uint8_t *rgb, uint32_t width, uint32_t height,
                   const char *text_key, const char *text,
                   rtk_buffer *out, char *msg, size_t msg_len) {
    memset(out, 0, sizeof *out);
    if (width == 0 || height == 0 || width > PNG_UINT_31_MAX || height > PNG_UINT_31_MAX) {
        set_msg(msg, msg_len, "image width and height must be positive");
        return RTK_ERR_ARGUMENT;
    }
    png_guard guard = {.msg = msg, .msg_len = msg_len};
    png_writer writer = {0};
    png_structp volatile png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &guard, guard_error, guard_warning);
    if (!png) {
        set_msg(msg, msg_len, "out of memory");
        return RTK_ERR_NOMEM;
    }
    png_infop volatile info = png_create_info_struct(png);
    volatile int code = RTK_ERR_CORRUPT;
    if (!info) {
        set_msg(msg, msg_len, "out of memory");
        code = RTK_ERR_NOMEM;
        goto fail;
    }
    if (setjmp(guard.jmp)) goto fail;

    png_set_write_fn(png, &writer, write_memory, flush_memory);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (text_key && text) {
        // ASCII goes into tEXt; anything else into iTXt, whose text is UTF-8 (tEXt's is Latin-1).
        int ascii = 1;
        for (const unsigned char *c = (const unsigned char *)text; *c; c++) ascii &= *c < 0x80;
        png_text chunk;
        memset(&chunk, 0, sizeof chunk);
        chunk.key = (png_charp)text_key;
        chunk.text = (png_charp)text;
        if (ascii) {
            chunk.compression = PNG_TEXT_COMPRESSION_NONE;
            chunk.text_length = strlen(text);
        } else {
            chunk.compression = PNG_ITXT_COMPRESSION_NONE;
            chunk.itxt_length = strlen(text);
            chunk.lang = (png_charp)"";
            chunk.lang_key = (png_charp)"";
        }
        png_set_text(png, info, &chunk, 1);
    }
    png_write_info(png, info);  // IHDR, then the text chunk before the image data
    for (uint32_t y = 0; y < height; y++) {
        png_write_row(png, (png_const_bytep)(rgb + (size_t)y * width * 3));
    }
    png_write_end(png, NULL);

    {
        png_structp p = png;
        png_infop i = info;
        png_destroy_write_struct(&p, &i);
    }
    out->data = writer.data;
    out->size = writer.size;
    return RTK_OK;

fail:
    free(writer.data);
    {
        png_structp p = png;
        png_infop i = info;
        png_destroy_write_struct(&p, i ? &i : NULL);
    }
    return code;
}

void rtk_free(void *p) { free(p); }
