/*
 * openssl_blob: the format's bound for a DPAPI blob from OpenSSL's own primitives, the reference
 * for benches/compare.sh rows (c), and OpenSSL's SHA-512 rate for row (d).
 *
 *     openssl_blob protect|unprotect|sha512 BYTES SECS
 *
 * A blob must CBC-encrypt (protect) or CBC-decrypt (unprotect) its data with AES-256 and hash all
 * of the ciphertext with SHA-512, so on one core, the two one after the other, it cannot go faster
 * than 1 / (1/cipher + 1/SHA-512). This program runs exactly that on one buffer of BYTES: each
 * pass encrypts (or decrypts) the buffer with EVP's AES-256-CBC, continuing one chain from pass
 * to pass as `openssl speed -evp aes-256-cbc` does (no key set-up per pass), then hashes the
 * ciphertext with EVP's SHA-512 as `openssl speed sha512` does. It counts what the bound counts
 * and nothing else: no HMAC keys, no key derivation, no allocation. `sha512` runs the hash alone
 * (EVP SHA-512 over the buffer, pass after pass: `openssl speed sha512 -bytes BYTES`, for a
 * fraction of a second if asked). Passes repeat for about SECS
 * seconds of CPU time after a 50 ms warm-up, and the program prints the bytes per second of CPU
 * time (CLOCK_PROCESS_CPUTIME_ID, as bench-timing and `openssl speed` count), then the last
 * digest's first bytes (so the work cannot be optimised away).
 *
 * Build: cc -O2 -o openssl_blob openssl_blob.c -lcrypto   (Debian: apt-get install libssl-dev)
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Buffers up to 64 MiB: far above the sizes compare.sh measures, small enough to allocate. */
#define MAX_BYTES (64L << 20)
/* At most ten minutes a measurement. */
#define MAX_SECS 600.0

static double cpu_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 4 || (strcmp(argv[1], "protect") != 0 && strcmp(argv[1], "unprotect") != 0 &&
                      strcmp(argv[1], "sha512") != 0)) {
        fprintf(stderr, "usage: %s protect|unprotect|sha512 BYTES SECS\n", argv[0]);
        return 2;
    }
    int encrypt = strcmp(argv[1], "protect") == 0;
    int cipher = strcmp(argv[1], "sha512") != 0;
    char *end;
    long bytes = strtol(argv[2], &end, 10);
    if (*end != '\0' || bytes < 16 || bytes > MAX_BYTES || bytes % 16 != 0) {
        fprintf(stderr, "%s: BYTES must be a multiple of 16 from 16 to %ld, not %s\n", argv[0],
                MAX_BYTES, argv[2]);
        return 2;
    }
    double secs = strtod(argv[3], &end);
    if (*end != '\0' || !(secs > 0.0 && secs <= MAX_SECS)) {
        fprintf(stderr, "%s: SECS must be above 0 and at most %.0f, not %s\n", argv[0], MAX_SECS,
                argv[3]);
        return 2;
    }

    unsigned char *in = malloc((size_t)bytes), *out = malloc((size_t)bytes);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (in == NULL || out == NULL || ctx == NULL) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        return 1;
    }
    memset(in, 0xa5, (size_t)bytes);
    unsigned char key[32], iv[16], md[EVP_MAX_MD_SIZE];
    memset(key, 0x11, sizeof key);
    memset(iv, 0, sizeof iv);
    if (EVP_CipherInit_ex(ctx, EVP_aes_256_cbc(), NULL, key, iv, encrypt) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
        fprintf(stderr, "%s: EVP_CipherInit_ex failed\n", argv[0]);
        return 1;
    }

    /* One pass: the cipher over the buffer (unless sha512), then SHA-512 over the ciphertext. */
    #define PASS()                                                                              \
        do {                                                                                    \
            int outl = (int)bytes;                                                              \
            unsigned int mdl = 0;                                                               \
            if ((cipher && EVP_CipherUpdate(ctx, out, &outl, in, (int)bytes) != 1) ||           \
                outl != bytes ||                                                                \
                EVP_Digest(encrypt ? out : in, (size_t)bytes, md, &mdl, EVP_sha512(), NULL) !=  \
                    1) {                                                                        \
                fprintf(stderr, "%s: EVP_CipherUpdate or EVP_Digest failed\n", argv[0]);        \
                return 1;                                                                       \
            }                                                                                   \
        } while (0)

    double warm = cpu_seconds();
    while (cpu_seconds() - warm < 0.05) PASS();
    double start = cpu_seconds(), elapsed;
    long passes = 0;
    do {
        PASS();
        passes++;
        elapsed = cpu_seconds() - start;
    } while (elapsed < secs);
    printf("%.0f %02x%02x%02x%02x\n", (double)passes * (double)bytes / elapsed, md[0], md[1], md[2],
           md[3]);
    EVP_CIPHER_CTX_free(ctx);
    free(in);
    free(out);
    return 0;
}
