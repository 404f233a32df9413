// rtk_image.h: setjmp-guarded wrappers around libpng and libjpeg.
//
// Both libraries report fatal errors by longjmp. A longjmp must never cross a
// Swift frame, so every libpng/libjpeg call lives in these C functions, which
// set their own jump buffer, catch the error, free what they allocated and
// return an error code plus a one-line message. Swift (module ImageIO) only
// sees plain return codes and malloc'ed buffers.
#ifndef RTK_IMAGE_H
#define RTK_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Result codes of every rtk_* function.
enum {
    RTK_OK = 0,
    RTK_ERR_CORRUPT = 1,      ///< not decodable: bad signature, bad data, truncated
    RTK_ERR_TOO_LARGE = 2,    ///< width*height above the caller's limit (checked before allocating)
    RTK_ERR_NOMEM = 3,        ///< malloc failed
    RTK_ERR_UNSUPPORTED = 4,  ///< valid file with a layout we do not handle
    RTK_ERR_ARGUMENT = 5      ///< bad argument from the caller (size 0, quality out of range, ...)
};

/// A decoded image. `pixels` is malloc'ed, row-major, `channels` interleaved
/// bytes per pixel, no row padding; free it with rtk_free.
typedef struct {
    uint8_t *pixels;
    uint32_t width;
    uint32_t height;
    uint32_t channels;      ///< 1 (gray), 3 (RGB) or 4 (CMYK, JPEG only)
    int32_t inverted_cmyk;  ///< JPEG CMYK/YCCK with an Adobe marker: values stored inverted (255 = no ink)
    uint8_t *exif;          ///< JPEG only: payload of the first APP1 "Exif\0\0" marker (TIFF header onward), or NULL
    size_t exif_size;
} rtk_decoded;

/// An encoded file in memory, malloc'ed; free `data` with rtk_free.
typedef struct {
    uint8_t *data;
    size_t size;
} rtk_buffer;

/// Decodes a PNG held in memory to 8-bit gray (channels 1) or RGB (channels 3):
/// palette expanded, 16-bit scaled to 8 with rounding, alpha (and tRNS) dropped
/// without compositing. Refuses width*height > max_pixels before allocating.
/// On error, writes a NUL-terminated message of at most msg_len bytes.
int rtk_png_decode(const uint8_t *data, size_t size, uint64_t max_pixels,
                   rtk_decoded *out, char *msg, size_t msg_len);

/// Encodes 8-bit RGB (width*height*3 bytes) as a PNG. When `text_key` is not
/// NULL a tEXt chunk (key, Latin-1 text) is written before the image data.
int rtk_png_encode(const uint8_t *rgb, uint32_t width, uint32_t height,
                   const char *text_key, const char *text,
                   rtk_buffer *out, char *msg, size_t msg_len);

/// Decodes a JPEG held in memory: YCbCr/RGB files to channels 3, gray to
/// channels 1, CMYK/YCCK to channels 4 (CMYK, see inverted_cmyk). Baseline,
/// extended and progressive files. Premature end of data and corrupt entropy
/// data are errors (libjpeg only warns about them). Refuses
/// width*height > max_pixels before allocating.
int rtk_jpeg_decode(const uint8_t *data, size_t size, uint64_t max_pixels,
                    rtk_decoded *out, char *msg, size_t msg_len);

/// Encodes 8-bit RGB as a baseline JPEG with quality 1...100 (4:2:0 below 90,
/// 4:4:4 from 90). When `comment` is not NULL it is written as a COM marker
/// (at most 65533 bytes).
int rtk_jpeg_encode(const uint8_t *rgb, uint32_t width, uint32_t height, int quality,
                    const char *comment, rtk_buffer *out, char *msg, size_t msg_len);

/// Frees a buffer returned by the functions above (NULL is allowed).
void rtk_free(void *p);

#ifdef __cplusplus
}
#endif
#endif
