// CHash's AArch64 SHA-256 blocks against FIPS 180-4's example digests (one block, two blocks, a
// million bytes): padding is done here, so every block goes through rtk_sha256_blocks. And the
// converter's encodings (CKernels/quantize.c, portable vector C) built for AArch64, on values whose
// results are known exactly (the x86 suite holds them to the Swift references). Called by
// check_neon.c's main; each returns the number of mismatches.
#include "chash.h"
#include "ckernels.h"
#include <stdio.h>
#include <string.h>

static void digest(const unsigned char *msg, size_t n, char hex[65]) {
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    rtk_sha256_blocks(h, msg, n / 64);
    unsigned char tail[128] = {0};
    size_t rest = n % 64, len = rest + 9 <= 64 ? 64 : 128;
    memcpy(tail, msg + n - rest, rest);
    tail[rest] = 0x80;
    for (int i = 0; i < 8; i++) tail[len - 1 - i] = (unsigned char)((unsigned long long)n * 8 >> (8 * i));
    rtk_sha256_blocks(h, tail, len / 64);
    for (int i = 0; i < 8; i++) sprintf(hex + 8 * i, "%08x", h[i]);
}

int check_sha256(void) {
    int kind = rtk_sha256_instructions();
    printf("sha2 %d\n", kind == 2);
    if (kind != 2) return 0;
    static unsigned char million[1000000];
    memset(million, 'a', sizeof million);
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    struct { const unsigned char *m; size_t n; const char *want; } cases[] = {
        {(const unsigned char *)"", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {(const unsigned char *)"abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {(const unsigned char *)two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {million, sizeof million, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char hex[65];
        digest(cases[i].m, cases[i].n, hex);
        if (strcmp(hex, cases[i].want)) { bad++; printf("sha256 of %zu bytes: %s, want %s\n", cases[i].n, hex, cases[i].want); }
    }
    return bad;
}

int check_encodings(void) {
    int bad = 0;
    // int8 at scale 1: every tie k + 1/2 goes away from zero; 9 values, so the tail runs too
    const float x[9] = {-3.5f, -2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f, 3.5f, 127.0f};
    const int8_t want[9] = {-4, -3, -2, -1, 1, 2, 3, 4, 127};
    int8_t q[9];
    double sums[3];
    rtk_quantize_row_i8(x, 9, 1.0f, q, sums);
    if (memcmp(q, want, 9) || sums[0] != 8 * 0.25 || sums[2] != 0.5) { bad++; printf("int8 ties: wrong\n"); }
    if (rtk_max_abs_f32(x, 9) != 127.0f) { bad++; printf("max abs: wrong\n"); }
    // f16: exact halves, a tie to even, the smallest subnormal, the largest finite, and overflow
    const float f[9] = {1.0f, -2.0f, 1.0f + 1.0f / 2048, 5.9604645e-08f, 65504.0f, -0.0f, 0.099975586f, 3.0f, 0.5f};
    const uint16_t hw[9] = {0x3c00, 0xc000, 0x3c00, 0x0001, 0x7bff, 0x8000, 0x2e66, 0x4200, 0x3800};
    uint16_t h[9];
    if (rtk_f32_to_f16(f, 9, h, sums) || memcmp(h, hw, sizeof h)) { bad++; printf("f16: wrong\n"); }
    const float big[2] = {1.0f, 65520.0f};
    if (!rtk_f32_to_f16(big, 2, h, sums)) { bad++; printf("f16 overflow not reported\n"); }
    printf("encodings %s\n", bad ? "FAIL" : "ok");
    return bad;
}
