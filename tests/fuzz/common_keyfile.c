/*
 * Fuzz target for the secret key file reader (crypto.c, kf_parse and
 * cmn_key_load_secret). The input is written to a 0600 temp file and loaded;
 * whatever loads must be a consistent key pair (its public key re-derives
 * from the secret and its id from the public key), and saving then reloading
 * it must give the same key.
 */
#include "common/compat.h"

#include <sys/stat.h>
#include <unistd.h>

#include "common/crypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void cleanup(void)
{
    rmdir(dir); /* files are unlinked after each input */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof(dir), "/tmp/hp-fuzz-key.XXXXXX");
        if (!mkdtemp(dir) || cmn_crypto_init())
            abort();
        atexit(cleanup);
    }
    char path[128], path2[128];
    snprintf(path, sizeof(path), "%s/k", dir);
    snprintf(path2, sizeof(path2), "%s/k2", dir);
    FILE *f = fopen(path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    chmod(path, 0600);
    struct cmn_key k, k2, id;
    struct cmn_errbuf eb = {0};
    enum cmn_err rc = cmn_key_load_secret(path, &k, &eb);
    if (rc == CMN_OK) {
        memset(&id, 0, sizeof(id));
        memcpy(id.pk, k.pk, CMN_PK_BYTES);
        cmn_key_compute_id(&id);
        uint8_t sig[CMN_SIG_BYTES];
        if (!k.has_secret || strcmp(id.keyid, k.keyid) != 0 || cmn_sign(&k, "t", "m", 1, sig) != CMN_OK ||
            cmn_verify(&id, "t", "m", 1, sig) != CMN_OK)
            abort();
        if (cmn_key_save_secret(&k, path2, 1, NULL) != CMN_OK || cmn_key_load_secret(path2, &k2, NULL) != CMN_OK ||
            memcmp(k.sk, k2.sk, CMN_SK_BYTES) != 0)
            abort();
        cmn_key_clear(&k2);
    } else if (!eb.msg[0]) {
        abort();
    }
    cmn_key_clear(&k);
    unlink(path);
    unlink(path2);
    return 0;
}
