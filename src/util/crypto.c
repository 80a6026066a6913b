/* crypto.c — libsodium wrappers; see crypto.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "util/crypto.h"
#include "util/log.h"

int mf_crypto_init(void)
{
    return sodium_init() < 0 ? -1 : 0;
}

static int key_from_hex(const char *hex, mf_key *out)
{
    size_t bin_len = 0;
    const char *end = NULL;
    if (sodium_hex2bin(out->k, sizeof(out->k), hex, strlen(hex), " \n\r\t", &bin_len, &end) != 0)
        return -1;
    if (bin_len != MF_KEY_BYTES) return -1;
    while (end && *end) {
        if (*end != '\n' && *end != '\r' && *end != ' ' && *end != '\t') return -1;
        end++;
    }
    return 0;
}

int mf_key_load(const char *key_file, mf_key *out, mf_error *err)
{
    const char *env = getenv("MAILFLEET_KEY");
    if (env && *env) {
        if (key_from_hex(env, out) < 0)
            return mf_fail(err, 500, "bad_key", NULL,
                           "MAILFLEET_KEY must be 64 hexadecimal characters (32 bytes)");
        return 0;
    }
    int fd = open(key_file, O_RDONLY);
    if (fd < 0 && errno == ENOENT) {
        unsigned char k[MF_KEY_BYTES];
        char hex[MF_KEY_BYTES * 2 + 2];
        randombytes_buf(k, sizeof(k));
        sodium_bin2hex(hex, sizeof(hex), k, sizeof(k));
        sodium_memzero(k, sizeof(k));
        size_t hl = strlen(hex);
        hex[hl] = '\n';
        int wfd = open(key_file, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (wfd < 0)
            return mf_fail(err, 500, "bad_key", NULL, "cannot create key file %s: %s", key_file,
                           strerror(errno));
        if (write(wfd, hex, hl + 1) != (ssize_t)(hl + 1) || fsync(wfd) != 0) {
            close(wfd);
            return mf_fail(err, 500, "bad_key", NULL, "cannot write key file %s", key_file);
        }
        close(wfd);
        sodium_memzero(hex, sizeof(hex));
        log_info("created a new master key in %s (mode 0600); back it up with the database",
                 key_file);
        fd = open(key_file, O_RDONLY);
    }
    if (fd < 0)
        return mf_fail(err, 500, "bad_key", NULL, "cannot open key file %s: %s", key_file,
                       strerror(errno));
    struct stat st;
    if (fstat(fd, &st) == 0 && (st.st_mode & 077))
        log_warnx("key file %s is readable by others; chmod 600 it", key_file);
    char buf[256];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return mf_fail(err, 500, "bad_key", NULL, "key file %s is empty", key_file);
    buf[n] = '\0';
    int rc = key_from_hex(buf, out);
    sodium_memzero(buf, sizeof(buf));
    if (rc < 0)
        return mf_fail(err, 500, "bad_key", NULL,
                       "key file %s must hold 64 hexadecimal characters", key_file);
    return 0;
}

char *mf_seal(const mf_key *key, const char *plaintext)
{
    size_t mlen = strlen(plaintext);
    size_t blen = crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + mlen;
    unsigned char *box = xmalloc(blen);
    randombytes_buf(box, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, (const unsigned char *)plaintext,
                          mlen, box, key->k);
    size_t b64len = sodium_base64_ENCODED_LEN(blen, sodium_base64_VARIANT_ORIGINAL);
    char *out = xmalloc(b64len + 3);
    memcpy(out, "v1:", 3);
    sodium_bin2base64(out + 3, b64len, box, blen, sodium_base64_VARIANT_ORIGINAL);
    free(box);
    return out;
}

char *mf_unseal(const mf_key *key, const char *sealed)
{
    if (!sealed || strncmp(sealed, "v1:", 3) != 0) return NULL;
    const char *b64 = sealed + 3;
    size_t cap = strlen(b64);
    unsigned char *box = xmalloc(cap + 1);
    size_t blen = 0;
    if (sodium_base642bin(box, cap, b64, strlen(b64), NULL, &blen, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        blen < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
        free(box);
        return NULL;
    }
    size_t mlen = blen - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES;
    char *out = xmalloc(mlen + 1);
    if (crypto_secretbox_open_easy((unsigned char *)out, box + crypto_secretbox_NONCEBYTES,
                                   blen - crypto_secretbox_NONCEBYTES, box, key->k) != 0) {
        free(box);
        free(out);
        return NULL;
    }
    free(box);
    out[mlen] = '\0';
    return out;
}

void mf_secret_free(char **s)
{
    if (!s || !*s) return;
    sodium_memzero(*s, strlen(*s));
    free(*s);
    *s = NULL;
}

char *mf_token_new(const char *prefix)
{
    unsigned char rnd[32];
    randombytes_buf(rnd, sizeof(rnd));
    size_t len = sodium_base64_ENCODED_LEN(sizeof(rnd), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *b64 = xmalloc(len);
    sodium_bin2base64(b64, len, rnd, sizeof(rnd), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = xasprintf("%s%s", prefix, b64);
    sodium_memzero(rnd, sizeof(rnd));
    sodium_memzero(b64, len);
    free(b64);
    return out;
}

void mf_token_hash(const char *token, char out[65])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), NULL, 0);
    sodium_bin2hex(out, 65, h, sizeof(h));
}

int mf_password_hash(const char *password, char out[128])
{
    return crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                             crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

int mf_password_verify(const char *hash, const char *password)
{
    return crypto_pwhash_str_verify(hash, password, strlen(password));
}
