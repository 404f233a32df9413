// SHA-256 compression with the CPU's own instructions, where it has them.
// The portable reference is Formats.SHA256's Swift loop; these functions only replace its
// per-block step, so padding, buffering and the digest's byte order stay in Swift.
#ifndef RTK_CHASH_H
#define RTK_CHASH_H
#include <stddef.h>
#include <stdint.h>

/// Which instructions `rtk_sha256_blocks` uses on this CPU (asks the CPU or the OS on each call,
/// which in a virtual machine can cost microseconds: call it once):
/// 0 none (the caller must use its portable loop), 1 x86-64 SHA extensions (with SSSE3 and
/// SSE4.1), 2 AArch64 SHA2 (the FEAT_SHA256 instructions, HWCAP_SHA2).
int rtk_sha256_instructions(void);

/// Runs the SHA-256 compression function over `blocks` consecutive 64-byte blocks at `p`,
/// updating `state` (the eight 32-bit words a…h, host order) in place. Only valid when
/// `rtk_sha256_instructions()` is non-zero: it runs those instructions without checking
/// (elsewhere: an illegal-instruction fault; on other architectures it does nothing).
void rtk_sha256_blocks(uint32_t state[8], const uint8_t *p, size_t blocks);

/// The 64 round constants K of FIPS 180-4 (4.2.2); Formats.SHA256's portable loop reads them too.
const uint32_t *rtk_sha256_round_constants(void);

#endif
