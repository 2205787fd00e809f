#include "common/compat.h"

/*
 * hp_sodium_subset.c - the mobile build compiles only the part of libsodium
 * the core calls (Ed25519, SHA-2, constant-time compares, randombytes,
 * codecs, sodium_init; android/CMakeLists.txt), plus ChaCha20, which
 * randombytes_buf_deterministic() references: the set links with no
 * undefined symbol even where dead code is not stripped first (the pod).
 * sodium_init() also asks every other primitive family to pick its fastest
 * implementation for this CPU; those families are not in the build, so
 * their pickers are no-ops here.
 * Nothing else in the library can reach them: a call would not link.
 */

/* One no-op picker per family that is not compiled (declared first: -Wmissing-prototypes). */
#define HP_NO_PICKER(family)                                                                                           \
    int _crypto_##family##_pick_best_implementation(void);                                                             \
    int _crypto_##family##_pick_best_implementation(void)                                                              \
    {                                                                                                                  \
        return 0;                                                                                                      \
    }

HP_NO_PICKER(generichash_blake2b)
HP_NO_PICKER(onetimeauth_poly1305)
HP_NO_PICKER(pwhash_argon2)
HP_NO_PICKER(scalarmult_curve25519)
HP_NO_PICKER(stream_salsa20)
