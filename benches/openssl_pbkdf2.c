/*
 * openssl_pbkdf2: OpenSSL's PBKDF2-HMAC-SHA512, the reference for benches/compare.sh rows (a).
 *
 *     openssl_pbkdf2 ITERATIONS [CALLS]
 *
 * Runs CALLS (default 1) derivations of PKCS5_PBKDF2_HMAC with SHA-512, ITERATIONS iterations and
 * 48 bytes of output (one output block: ITERATIONS HMACs per call, as DPAPI's variant does for an
 * AES-256 key and IV), a 20-byte password and a 16-byte salt like a DPAPI pre-key and salt. Prints
 * the CPU seconds the calls took inside the process (CLOCK_PROCESS_CPUTIME_ID, as bench-timing
 * and `openssl speed` count), then the first output bytes (so the work cannot
 * be optimised away). compare.sh also times the whole process from outside.
 *
 * Build: cc -O2 -o openssl_pbkdf2 openssl_pbkdf2.c -lcrypto   (Debian: apt-get install libssl-dev)
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s ITERATIONS [CALLS]\n", argv[0]);
        return 2;
    }
    long iterations = strtol(argv[1], NULL, 10);
    long calls = argc == 3 ? strtol(argv[2], NULL, 10) : 1;
    if (iterations < 1 || iterations > 100000000 || calls < 1 || calls > 1000) {
        fprintf(stderr, "%s: ITERATIONS must be 1..1e8 and CALLS 1..1000\n", argv[0]);
        return 2;
    }
    unsigned char password[20], salt[16], out[48];
    for (int i = 0; i < 20; i++) password[i] = 0x42;
    for (int i = 0; i < 16; i++) salt[i] = 0x17;

    struct timespec a, b;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    for (long c = 0; c < calls; c++) {
        salt[0] = (unsigned char)c;
        if (PKCS5_PBKDF2_HMAC((const char *)password, sizeof password, salt, sizeof salt,
                              (int)iterations, EVP_sha512(), sizeof out, out) != 1) {
            fprintf(stderr, "%s: PKCS5_PBKDF2_HMAC failed\n", argv[0]);
            return 1;
        }
    }
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    double secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("%.6f %02x%02x%02x%02x\n", secs, out[0], out[1], out[2], out[3]);
    return 0;
}
