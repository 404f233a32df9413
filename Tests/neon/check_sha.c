// CHash's AArch64 SHA-256 blocks against FIPS 180-4's example digests (one block, two blocks, a
// million bytes): padding is done here, so every block goes through rtk_sha256_blocks. Called by
// check_neon.c's main; returns the number of mismatches.
#include "chash.h"
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
