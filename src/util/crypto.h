/* crypto.h — secrets with libsodium: the master key (key file created 0600 on first start, or
 * MAILFLEET_KEY), sealing credentials at rest (R29), random tokens, token hashes, and argon2id
 * password hashes. Nothing here logs a secret. */
#ifndef MF_CRYPTO_H
#define MF_CRYPTO_H
#include <stddef.h>
#include "util/error.h"

#define MF_KEY_BYTES 32
typedef struct mf_key {
    unsigned char k[MF_KEY_BYTES];
} mf_key;

int mf_crypto_init(void);
/* From env MAILFLEET_KEY (64 hex chars) when set, else from key_file, creating it (0600)
 * when it does not exist. */
int mf_key_load(const char *key_file, mf_key *out, mf_error *err);
/* Seal plaintext into "v1:" + base64(nonce|box); caller frees. */
char *mf_seal(const mf_key *key, const char *plaintext);
/* Open what mf_seal made; NULL when tampered or wrong key. Caller frees with mf_secret_free. */
char *mf_unseal(const mf_key *key, const char *sealed);
void mf_secret_free(char **s); /* zeroes then frees */
/* "mf_" + 43 chars of base64url randomness; caller frees. */
char *mf_token_new(const char *prefix);
/* Hex BLAKE2b-256 of a token, 65 bytes with NUL. */
void mf_token_hash(const char *token, char out[65]);
/* argon2id; 0 on success. */
int mf_password_hash(const char *password, char out[128]);
int mf_password_verify(const char *hash, const char *password);
#endif
