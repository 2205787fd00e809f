#include "common/compat.h"

/*
 * hp_sodium_subset.c - the mobile build compiles only the part of libsodium
 * the core calls (Ed25519, SHA-2, constant-time compares, randombytes,
 * codecs, sodium_init; android/CMakeLists.txt). sodium_init() also asks
 * every other primitive family to pick its fastest implementation for this
 * CPU; those families are not in the build, so their pickers are no-ops here.
 * Nothing else in the library can reach them: a call would not link.
 */

int _crypto_generichash_blake2b_pick_best_implementation(void);
int _crypto_onetimeauth_poly1305_pick_best_implementation(void);
int _crypto_pwhash_argon2_pick_best_implementation(void);
int _crypto_scalarmult_curve25519_pick_best_implementation(void);
int _crypto_stream_chacha20_pick_best_implementation(void);
int _crypto_stream_salsa20_pick_best_implementation(void);

int _crypto_generichash_blake2b_pick_best_implementation(void)
{
    return 0;
}

int _crypto_onetimeauth_poly1305_pick_best_implementation(void)
{
    return 0;
}

int _crypto_pwhash_argon2_pick_best_implementation(void)
{
    return 0;
}

int _crypto_scalarmult_curve25519_pick_best_implementation(void)
{
    return 0;
}

int _crypto_stream_chacha20_pick_best_implementation(void)
{
    return 0;
}

int _crypto_stream_salsa20_pick_best_implementation(void)
{
    return 0;
}
