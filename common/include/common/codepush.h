/*
 * codepush.h - the two rules HotPatch shares with the CodePush protocol
 * (react-native-code-push / the `code-push` acquisition SDK), kept in one
 * place for the CLI, the publisher and the edge (manifests/SPEC.md section 16).
 *
 * Package hash: what the stock CodePush client computes over an unzipped
 * update (CodePushUpdateUtils.verifyFolderHash in react-native-code-push):
 * one entry "<relative path>:<sha256 hex of the file>" per regular file,
 * skipping "__MACOSX/" paths and files named ".DS_Store" or
 * ".codepushrelease" (at any depth); the entries sorted (Java String order,
 * which for the paths a bundle may hold, UTF-8 without surrogates, is byte
 * order); JSON-serialised as an array of strings with no whitespace (with
 * '/' NOT escaped); SHA-256 of that text, lower-case hex.
 *
 * Deployment keys: "<app>~<platform>~<channel>~<32 hex random>". The key
 * names its channel, so the edge needs no lookup table; it answers only when
 * the channel's SIGNED manifest lists the key's SHA-256 in codepush_keys, so
 * a key nobody added (or one revoked) gets nothing. Keys ship inside apps:
 * they identify, they do not authenticate.
 */
#ifndef COMMON_CODEPUSH_H
#define COMMON_CODEPUSH_H

#include <stddef.h>

#include "common/crypto.h"
#include "common/err.h"
#include "common/ident.h"
#include "common/patch.h"

#define CMN_CODEPUSH_KEY_RANDOM 32 /* hex characters of the random part */
#define CMN_CODEPUSH_KEY_MAX (3 * CMN_ID_MAX + 3 + CMN_CODEPUSH_KEY_RANDOM)

/* 1 when the client leaves this relative path out of the package hash. */
int cmn_codepush_ignored(const char *path);

/*
 * Package hash of a listing (paths relative, '/'-separated, as
 * cmn_content_scan or a zip's entries give them). Writes 64 hex + NUL.
 * CMN_E_NOMEM only.
 */
enum cmn_err cmn_codepush_hash(const struct cmn_content *c, char out[CMN_SHA256_HEX])
    __attribute__((warn_unused_result));

/* Scan `dir` and hash it (cmn_content_scan's errors). */
enum cmn_err cmn_codepush_hash_dir(const char *dir, char out[CMN_SHA256_HEX], struct cmn_errbuf *eb)
    __attribute__((warn_unused_result));

/* A new random deployment key for a channel (identifiers must be valid). CMN_E_INVAL otherwise. */
enum cmn_err cmn_codepush_key_new(const char *app, const char *platform, const char *channel,
                                  char out[CMN_CODEPUSH_KEY_MAX + 1]) __attribute__((warn_unused_result));

/*
 * Split a deployment key key[0..n) into its channel. Returns 0 and fills the
 * three NUL-terminated identifiers, or -1 when the key is not of our form
 * (wrong field count, an invalid identifier, a random part that is not 32
 * lower-case hex). Does not say whether the key was ever issued: that is the
 * signed manifest's codepush_keys.
 */
int cmn_codepush_key_parse(const char *key, size_t n, char app[CMN_ID_MAX + 1], char platform[CMN_ID_MAX + 1],
                           char channel[CMN_ID_MAX + 1]);

/* SHA-256 hex of the key bytes: what codepush_keys lists. */
void cmn_codepush_key_hash(const char *key, size_t n, char out[CMN_SHA256_HEX]);

#endif
