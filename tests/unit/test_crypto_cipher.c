/* Unit tests for src/crypto/cipher: AES-GCM-16 and ChaCha20-Poly1305 against
 * published vectors, AES-CBC and NULL encryption with HMAC-SHA2 (RFC 4868)
 * against published AES vectors and an independently computed HMAC, tamper
 * rejection, and the no-allocation per-packet path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first */
#include <cmocka.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/cipher.h"
#include "support/test_hex.h"

static long allocations;
static void *count_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    allocations++;
    return malloc(n);
}
static void *count_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    allocations++;
    return realloc(p, n);
}
static void count_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    free(p);
}

/* Seals plain with an AEAD cipher and checks ciphertext and tag against the
 * published values, then opens it back. keymat is key | salt, the 12-byte
 * nonce of the vector being salt (4) | iv (8). */
static void check_aead(enum ns_encr_alg encr, unsigned bits, const char *keymat_hex,
                       const char *iv_hex, const char *aad_hex, const char *plain_hex,
                       const char *cipher_hex, const char *tag_hex)
{
    uint8_t keymat[NS_CIPHER_MAX_ENCR_KEY], iv[8], aad[64], plain[128], expect[128], tag[16];
    uint8_t data[128], icv[16];
    size_t keymat_len = test_unhex(keymat_hex, keymat, sizeof(keymat));
    assert_int_equal(test_unhex(iv_hex, iv, sizeof(iv)), 8);
    size_t aad_len = test_unhex(aad_hex, aad, sizeof(aad));
    size_t len = test_unhex(plain_hex, plain, sizeof(plain));
    assert_int_equal(test_unhex(cipher_hex, expect, sizeof(expect)), len);
    assert_int_equal(test_unhex(tag_hex, tag, sizeof(tag)), 16);

    struct ns_cipher *c = ns_cipher_new(encr, bits, NS_INTEG_NONE, keymat, keymat_len, NULL, 0);
    assert_non_null(c);
    assert_true(ns_cipher_is_aead(c));
    assert_int_equal(ns_cipher_iv_len(c), 8);
    assert_int_equal(ns_cipher_icv_len(c), 16);
    memcpy(data, plain, len);
    assert_int_equal(ns_cipher_seal(c, aad, aad_len, iv, data, len, NULL, icv), 0);
    assert_memory_equal(data, expect, len);
    assert_memory_equal(icv, tag, 16);
    assert_int_equal(ns_cipher_open(c, aad, aad_len, iv, data, len, NULL, icv), 0);
    assert_memory_equal(data, plain, len);
    ns_cipher_free(c);
}

/* GCM spec (McGrew & Viega) test cases 3, 4, 15 and 16; IV cafebabefacedbaddecaf888
 * is split into salt cafebabe and ESP IV facedbaddecaf888. */
#define GCM_P                                                                                      \
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"                             \
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
#define GCM_A "feedfacedeadbeeffeedfacedeadbeefabaddad2"

static void gcm_spec_aes128_cases_3_and_4(void **state)
{
    (void)state;
    check_aead(NS_ENCR_AES_GCM_16, 128, "feffe9928665731c6d6a8f9467308308 cafebabe",
               "facedbaddecaf888", "", GCM_P "1aafd255",
               "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
               "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
               "4d5c2af327cd64a62cf35abd2ba6fab4");
    check_aead(NS_ENCR_AES_GCM_16, 128, "feffe9928665731c6d6a8f9467308308 cafebabe",
               "facedbaddecaf888", GCM_A, GCM_P,
               "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
               "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
               "5bc94fbc3221a5db94fae95ae7121a47");
}

static void gcm_spec_aes256_cases_15_and_16(void **state)
{
    (void)state;
    check_aead(NS_ENCR_AES_GCM_16, 256,
               "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308 cafebabe",
               "facedbaddecaf888", "", GCM_P "1aafd255",
               "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
               "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
               "b094dac5d93471bdec1a502270e3cc6c");
    check_aead(NS_ENCR_AES_GCM_16, 256,
               "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308 cafebabe",
               "facedbaddecaf888", GCM_A, GCM_P,
               "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
               "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
               "76fc6ece0f4e1768cddf8853bb2d551b");
}

/* RFC 7634 Appendix A: an ESP packet (AAD = SPI 01020304 | seq 5). */
#define RFC7634_KEYMAT "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f a0a1a2a3"

static void rfc7634_appendix_a_esp_example(void **state)
{
    (void)state;
    check_aead(NS_ENCR_CHACHA20_POLY1305, 256, RFC7634_KEYMAT, "1011121314151617",
               "01020304 00000005",
               "45000054a6f200004001e778c6336405c000020508005b7a3a080000553bec10"
               "0007362708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223"
               "2425262728292a2b2c2d2e2f303132333435363701020204",
               "24039428b97f417e3c13753a4f05087b67c352e6a7fab1b982d466ef407ae5c6"
               "14ee8099d52844eb61aa95dfab4c02f72aa71e7c4c4f64c9befe2facc638e8f3"
               "cbec163fac469b502773f6fb94e664da9165b82829f641e0",
               "76aaa8266b7fb0f7b11b369907e1ad43");
}

/* RFC 7634 Appendix B: an IKEv2 INFORMATIONAL message (AAD = IKE header |
 * SK payload header). key_bits 0 means the ChaCha20 default of 256. */
static void rfc7634_appendix_b_ikev2_example(void **state)
{
    (void)state;
    check_aead(NS_ENCR_CHACHA20_POLY1305, 0, RFC7634_KEYMAT, "1011121314151617",
               "c0c1c2c3c4c5c6c7d0d1d2d3d4d5d6d72e202500000000090000004529000029",
               "0000000c000040010000000a00", "610394701f8d017f7c12924889",
               "6b71bfe25236efd7cdc67066906315b2");
}

/* Flipping one bit of the ciphertext, the tag or the AAD must fail open. */
static void check_aead_tamper(enum ns_encr_alg encr, unsigned bits)
{
    uint8_t keymat[36], iv[8], aad[12], plain[61], data[61], icv[16], bad_icv[16];
    size_t keymat_len = ns_encr_keymat_len(encr, bits);
    for (size_t i = 0; i < sizeof(keymat); i++)
        keymat[i] = (uint8_t)(i * 7 + 1);
    memset(iv, 0x42, sizeof(iv));
    memset(aad, 0x17, sizeof(aad));
    for (size_t i = 0; i < sizeof(plain); i++)
        plain[i] = (uint8_t)i;
    struct ns_cipher *c = ns_cipher_new(encr, bits, NS_INTEG_NONE, keymat, keymat_len, NULL, 0);
    assert_non_null(c);

    memcpy(data, plain, sizeof(data));
    assert_int_equal(ns_cipher_seal(c, aad, sizeof(aad), iv, data, sizeof(data), NULL, icv), 0);
    /* ciphertext */
    data[30] ^= 0x01;
    assert_int_equal(ns_cipher_open(c, aad, sizeof(aad), iv, data, sizeof(data), NULL, icv), -1);
    /* tag */
    memcpy(data, plain, sizeof(data));
    assert_int_equal(ns_cipher_seal(c, aad, sizeof(aad), iv, data, sizeof(data), NULL, icv), 0);
    memcpy(bad_icv, icv, 16);
    bad_icv[15] ^= 0x80;
    assert_int_equal(ns_cipher_open(c, aad, sizeof(aad), iv, data, sizeof(data), NULL, bad_icv),
                     -1);
    /* aad */
    memcpy(data, plain, sizeof(data));
    assert_int_equal(ns_cipher_seal(c, aad, sizeof(aad), iv, data, sizeof(data), NULL, icv), 0);
    aad[4] ^= 0x10;
    assert_int_equal(ns_cipher_open(c, aad, sizeof(aad), iv, data, sizeof(data), NULL, icv), -1);
    aad[4] ^= 0x10;
    /* iv (part of the nonce) */
    iv[0] ^= 1;
    assert_int_equal(ns_cipher_open(c, aad, sizeof(aad), iv, data, sizeof(data), NULL, icv), -1);
    iv[0] ^= 1;
    /* untouched, it still opens: the failures above did not wreck the context */
    memcpy(data, plain, sizeof(data));
    assert_int_equal(ns_cipher_seal(c, aad, sizeof(aad), iv, data, sizeof(data), NULL, icv), 0);
    assert_int_equal(ns_cipher_open(c, aad, sizeof(aad), iv, data, sizeof(data), NULL, icv), 0);
    assert_memory_equal(data, plain, sizeof(plain));
    ns_cipher_free(c);
}

static void aead_tamper_with_ciphertext_tag_aad_or_iv_is_rejected(void **state)
{
    (void)state;
    check_aead_tamper(NS_ENCR_AES_GCM_16, 128);
    check_aead_tamper(NS_ENCR_AES_GCM_16, 256);
    check_aead_tamper(NS_ENCR_CHACHA20_POLY1305, 256);
}

static const EVP_MD *md_of(enum ns_integ_alg integ)
{
    switch (integ) {
    case NS_INTEG_HMAC_SHA1_96:
        return EVP_sha1();
    case NS_INTEG_HMAC_SHA2_256_128:
        return EVP_sha256();
    case NS_INTEG_HMAC_SHA2_384_192:
        return EVP_sha384();
    case NS_INTEG_HMAC_SHA2_512_256:
        return EVP_sha512();
    default:
        return NULL;
    }
}

/* The expected ICV, computed independently with OpenSSL's one-shot HMAC()
 * over aad | iv | ciphertext | esn_hi and truncated (RFC 4868 2.3). */
static void expected_icv(enum ns_integ_alg integ, const uint8_t *key, const uint8_t *aad,
                         size_t aad_len, const uint8_t *iv, size_t iv_len, const uint8_t *ct,
                         size_t len, const uint8_t *esn_hi, uint8_t *out, size_t out_len)
{
    uint8_t msg[512], mac[64];
    unsigned mac_len = 0;
    size_t n = 0;
    memcpy(msg + n, aad, aad_len);
    n += aad_len;
    if (iv_len != 0) /* NULL encryption has no IV */
        memcpy(msg + n, iv, iv_len);
    n += iv_len;
    memcpy(msg + n, ct, len);
    n += len;
    if (esn_hi != NULL) {
        memcpy(msg + n, esn_hi, 4);
        n += 4;
    }
    assert_non_null(HMAC(md_of(integ), key, (int)ns_integ_key_len(integ), msg, n, mac, &mac_len));
    assert_true(out_len <= mac_len);
    memcpy(out, mac, out_len);
}

/* A CBC vector (key, iv, plaintext, ciphertext) of encr (AES-CBC or
 * 3DES-CBC) sealed with an HMAC: ciphertext must match the vector and the
 * ICV the independent HMAC. */
static void check_cbc_hmac(enum ns_encr_alg encr, unsigned bits, enum ns_integ_alg integ,
                           const char *key_hex, const char *iv_hex, const uint8_t *plain,
                           size_t len, const char *cipher_hex)
{
    uint8_t key[32], iv[16], expect[64], data[64], integ_key[64], aad[8], icv[32], want[32];
    const size_t block = encr == NS_ENCR_3DES ? 8 : 16; /* RFC 2451, RFC 3602 */
    size_t key_len = test_unhex(key_hex, key, sizeof(key));
    assert_int_equal(key_len, bits / 8);
    assert_int_equal(test_unhex(iv_hex, iv, sizeof(iv)), block);
    assert_int_equal(test_unhex(cipher_hex, expect, sizeof(expect)), len);
    for (size_t i = 0; i < sizeof(integ_key); i++)
        integ_key[i] = (uint8_t)(0xa0 + i);
    memcpy(aad, "\x01\x02\x03\x04\x00\x00\x00\x07", 8); /* SPI | seq */
    const size_t ikey_len = ns_integ_key_len(integ);

    struct ns_cipher *c = ns_cipher_new(encr, bits, integ, key, key_len, integ_key, ikey_len);
    assert_non_null(c);
    assert_false(ns_cipher_is_aead(c));
    assert_int_equal(ns_cipher_iv_len(c), block);
    assert_int_equal(ns_cipher_block_len(c), block);
    const size_t icv_len = ns_integ_icv_len(integ);
    assert_int_equal(ns_cipher_icv_len(c), icv_len);
    memcpy(data, plain, len);
    assert_int_equal(ns_cipher_seal(c, aad, sizeof(aad), iv, data, len, NULL, icv), 0);
    assert_memory_equal(data, expect, len);
    expected_icv(integ, integ_key, aad, sizeof(aad), iv, block, expect, len, NULL, want, icv_len);
    assert_memory_equal(icv, want, icv_len);
    assert_int_equal(ns_cipher_open(c, aad, sizeof(aad), iv, data, len, NULL, icv), 0);
    assert_memory_equal(data, plain, len);
    ns_cipher_free(c);
}

/* RFC 3602 section 4, cases 1 to 4 (16, 32, 48 and 64 bytes, AES-128). */
static void rfc3602_aes128_cbc_cases_1_to_4_with_hmac_sha256_128(void **state)
{
    (void)state;
    uint8_t p2[32], p4[64];
    for (size_t i = 0; i < 32; i++)
        p2[i] = (uint8_t)i;
    for (size_t i = 0; i < 64; i++)
        p4[i] = (uint8_t)(0xa0 + i);
    const enum ns_integ_alg h = NS_INTEG_HMAC_SHA2_256_128;
    check_cbc_hmac(NS_ENCR_AES_CBC, 128, h, "06a9214036b8a15b512e03d534120006",
                   "3dafba429d9eb430b422da802c9fac41", (const uint8_t *)"Single block msg", 16,
                   "e353779c1079aeb82708942dbe77181a");
    check_cbc_hmac(NS_ENCR_AES_CBC, 128, h, "c286696d887c9aa0611bbb3e2025a45a",
                   "562e17996d093d28ddb3ba695a2e6f58", p2, 32,
                   "d296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1");
    check_cbc_hmac(NS_ENCR_AES_CBC, 128, h, "6c3ea0477630ce21a2ce334aa746c2cd",
                   "c782dc4c098c66cbd9cd27d825682c81",
                   (const uint8_t *)"This is a 48-byte message (exactly 3 AES blocks)", 48,
                   "d0a02b3836451753d493665d33f0e8862dea54cdb293abc7506939276772f8d5"
                   "021c19216bad525c8579695d83ba2684");
    check_cbc_hmac(NS_ENCR_AES_CBC, 128, h, "56e47a38c5598974bc46903dba290349",
                   "8ce82eefbea0da3c44699ed7db51b7d9", p4, 64,
                   "c30e32ffedc0774e6aff6af0869f71aa0f3af07a9a31a9c684db207eb0ef8e4e"
                   "35907aa632c3ffdf868bb7b29d3d46ad83ce9f9a102ee99d49a53e87f4c3da55");
}

/* NIST SP 800-38A F.2.5 (CBC-AES256.Encrypt), with each HMAC-SHA2 and
 * with HMAC-SHA1-96, the pair Windows negotiates for ESP (X9). */
static void sp800_38a_aes256_cbc_with_each_hmac(void **state)
{
    /* X9 */
    (void)state;
    uint8_t plain[64];
    test_unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
               "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
               plain, sizeof(plain));
    const enum ns_integ_alg integs[] = {NS_INTEG_HMAC_SHA2_256_128, NS_INTEG_HMAC_SHA2_384_192,
                                        NS_INTEG_HMAC_SHA2_512_256, NS_INTEG_HMAC_SHA1_96};
    for (size_t i = 0; i < sizeof(integs) / sizeof(integs[0]); i++)
        check_cbc_hmac(NS_ENCR_AES_CBC, 256, integs[i],
                       "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
                       "000102030405060708090a0b0c0d0e0f", plain, 64,
                       "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
                       "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b");
}

/* RFC 4868: ICVs are 16, 24 and 32 bytes, RFC 2404: 12 for HMAC-SHA1-96
 * (X9); each covers the ESN high bits (RFC 4303 2.2.1) after the payload. */
static void hmac_icv_truncation_and_esn_coverage(void **state)
{
    /* X9 */
    (void)state;
    const enum ns_integ_alg integs[] = {NS_INTEG_HMAC_SHA2_256_128, NS_INTEG_HMAC_SHA2_384_192,
                                        NS_INTEG_HMAC_SHA2_512_256, NS_INTEG_HMAC_SHA1_96};
    const size_t icv_lens[] = {16, 24, 32, 12};
    uint8_t key[16] = {1}, ikey[64], iv[16], aad[8] = {9, 9, 9, 9, 0, 0, 0, 1};
    uint8_t data[48], copy[48], icv[32], want[32], esn[4] = {0, 0, 0, 2};
    memset(ikey, 0x5c, sizeof(ikey));
    memset(iv, 0x33, sizeof(iv));
    for (size_t i = 0; i < sizeof(integs) / sizeof(integs[0]); i++) {
        struct ns_cipher *c = ns_cipher_new(NS_ENCR_AES_CBC, 128, integs[i], key, 16, ikey,
                                            ns_integ_key_len(integs[i]));
        assert_non_null(c);
        assert_int_equal(ns_cipher_icv_len(c), icv_lens[i]);
        memset(data, 0x61, sizeof(data));
        assert_int_equal(ns_cipher_seal(c, aad, 8, iv, data, sizeof(data), esn, icv), 0);
        expected_icv(integs[i], ikey, aad, 8, iv, 16, data, sizeof(data), esn, want, icv_lens[i]);
        assert_memory_equal(icv, want, icv_lens[i]);
        /* Without the ESN, or with another one, the ICV does not verify. */
        memcpy(copy, data, sizeof(copy));
        assert_int_equal(ns_cipher_open(c, aad, 8, iv, copy, sizeof(copy), NULL, icv), -1);
        esn[3] ^= 1;
        assert_int_equal(ns_cipher_open(c, aad, 8, iv, copy, sizeof(copy), esn, icv), -1);
        esn[3] ^= 1;
        assert_int_equal(ns_cipher_open(c, aad, 8, iv, copy, sizeof(copy), esn, icv), 0);
        ns_cipher_free(c);
    }
}

/* Any changed bit fails the ICV, and the check comes before decryption:
 * the rejected packet is left exactly as it arrived. */
static void cbc_hmac_tamper_is_rejected_before_decrypting(void **state)
{
    (void)state;
    uint8_t key[32], ikey[48], iv[16], aad[8] = {1, 2, 3, 4, 0, 0, 0, 5}, data[64], icv[24];
    uint8_t sealed[64], probe[64];
    memset(key, 0x11, sizeof(key));
    memset(ikey, 0x22, sizeof(ikey));
    memset(iv, 0x44, sizeof(iv));
    memset(data, 0x55, sizeof(data));
    struct ns_cipher *c =
        ns_cipher_new(NS_ENCR_AES_CBC, 256, NS_INTEG_HMAC_SHA2_384_192, key, 32, ikey, 48);
    assert_non_null(c);
    assert_int_equal(ns_cipher_seal(c, aad, 8, iv, data, 64, NULL, icv), 0);
    memcpy(sealed, data, 64);

    memcpy(probe, sealed, 64);
    probe[63] ^= 1;
    assert_int_equal(ns_cipher_open(c, aad, 8, iv, probe, 64, NULL, icv), -1);
    sealed[63] ^= 1;
    assert_memory_equal(probe, sealed, 64); /* not decrypted */
    sealed[63] ^= 1;

    icv[0] ^= 1;
    memcpy(probe, sealed, 64);
    assert_int_equal(ns_cipher_open(c, aad, 8, iv, probe, 64, NULL, icv), -1);
    icv[0] ^= 1;
    aad[7] ^= 1;
    assert_int_equal(ns_cipher_open(c, aad, 8, iv, probe, 64, NULL, icv), -1);
    aad[7] ^= 1;
    iv[15] ^= 1;
    assert_int_equal(ns_cipher_open(c, aad, 8, iv, probe, 64, NULL, icv), -1);
    iv[15] ^= 1;
    assert_memory_equal(probe, sealed, 64);
    assert_int_equal(ns_cipher_open(c, aad, 8, iv, probe, 64, NULL, icv), 0);
    ns_cipher_free(c);
}

/* R16: ESP with NULL encryption and an integrity algorithm, in place of AH.
 * The payload goes out unchanged; the ICV is the HMAC over aad | payload. */
static void null_encryption_with_hmac_keeps_data_and_authenticates(void **state)
{
    /* R16 */
    (void)state;
    const enum ns_integ_alg integs[] = {NS_INTEG_HMAC_SHA2_256_128, NS_INTEG_HMAC_SHA2_384_192,
                                        NS_INTEG_HMAC_SHA2_512_256};
    uint8_t ikey[64], aad[8] = {0xca, 0xfe, 0, 1, 0, 0, 0, 3}, plain[37], data[37], icv[32];
    uint8_t want[32];
    for (size_t i = 0; i < sizeof(ikey); i++)
        ikey[i] = (uint8_t)(255 - i);
    for (size_t i = 0; i < sizeof(plain); i++)
        plain[i] = (uint8_t)(i * 3);
    assert_false(ns_cipher_supported(NS_ENCR_NULL, 0, NS_INTEG_NONE));
    for (size_t i = 0; i < 3; i++) {
        const size_t klen = ns_integ_key_len(integs[i]);
        assert_true(ns_cipher_supported(NS_ENCR_NULL, 0, integs[i]));
        assert_int_equal(ns_encr_keymat_len(NS_ENCR_NULL, 0), 0);
        struct ns_cipher *c = ns_cipher_new(NS_ENCR_NULL, 0, integs[i], NULL, 0, ikey, klen);
        assert_non_null(c);
        assert_int_equal(ns_cipher_iv_len(c), 0);
        assert_int_equal(ns_cipher_block_len(c), 4);
        memcpy(data, plain, sizeof(data)); /* any length: no block alignment */
        assert_int_equal(ns_cipher_seal(c, aad, 8, NULL, data, sizeof(data), NULL, icv), 0);
        assert_memory_equal(data, plain, sizeof(plain));
        expected_icv(integs[i], ikey, aad, 8, NULL, 0, plain, sizeof(plain), NULL, want, klen / 2);
        assert_memory_equal(icv, want, klen / 2);
        assert_int_equal(ns_cipher_open(c, aad, 8, NULL, data, sizeof(data), NULL, icv), 0);
        assert_memory_equal(data, plain, sizeof(plain));
        data[5] ^= 4;
        assert_int_equal(ns_cipher_open(c, aad, 8, NULL, data, sizeof(data), NULL, icv), -1);
        ns_cipher_free(c);
    }
}

/* NIST SP 800-67 Rev. 2 (appendix example, TDEA with three distinct keys):
 * its ECB ciphertext C1 | C2 | C3 of "The qufck brown fox jump" is what CBC
 * gives with an all-zero IV for the plaintext P1 | P2^C1 | P3^C2, so the
 * published blocks check the chaining too. With HMAC-SHA1-96, the pair
 * Windows offers by default (X12). */
static void sp800_67_tdea_example_as_cbc_with_hmac_sha1_96(void **state)
{
    /* X12 */
    (void)state;
    uint8_t plain[24], c[24];
    memcpy(plain, "The qufck brown fox jump", 24);
    const char *c_hex = "a826fd8ce53b855f cce21c8112256fe6 68d5c05dd9b6b900";
    assert_int_equal(test_unhex(c_hex, c, sizeof(c)), 24);
    for (size_t i = 8; i < 24; i++)
        plain[i] ^= c[i - 8];
    check_cbc_hmac(NS_ENCR_3DES, 192, NS_INTEG_HMAC_SHA1_96,
                   "0123456789abcdef 23456789abcdef01 456789abcdef0123", "0000000000000000", plain,
                   24, c_hex);
}

/* NIST SP 800-20 (TCBC variable plaintext known-answer test, K1 = K2 = K3 =
 * 0101010101010101, IV 0): the first three rounds; and a 3DES cipher's
 * lengths: 24-byte key (0 bits means 192), 8-byte IV and blocks. */
static void sp800_20_tcbc_variable_plaintext_and_lengths(void **state)
{
    /* X12 */
    (void)state;
    static const char *const rounds[][2] = {
        {"8000000000000000", "95f8a5e5dd31d900"},
        {"4000000000000000", "dd7f121ca5015619"},
        {"2000000000000000", "2e8653104f3834ea"},
    };
    for (size_t i = 0; i < 3; i++) {
        uint8_t plain[8];
        assert_int_equal(test_unhex(rounds[i][0], plain, sizeof(plain)), 8);
        check_cbc_hmac(NS_ENCR_3DES, 192, NS_INTEG_HMAC_SHA2_256_128,
                       "0101010101010101 0101010101010101 0101010101010101", "0000000000000000",
                       plain, 8, rounds[i][1]);
    }
    assert_true(ns_cipher_supported(NS_ENCR_3DES, 192, NS_INTEG_HMAC_SHA1_96));
    assert_true(ns_cipher_supported(NS_ENCR_3DES, 0, NS_INTEG_HMAC_SHA1_96));
    assert_false(ns_cipher_supported(NS_ENCR_3DES, 128, NS_INTEG_HMAC_SHA1_96));
    assert_false(ns_cipher_supported(NS_ENCR_3DES, 192, NS_INTEG_NONE));
    assert_false(ns_encr_is_aead(NS_ENCR_3DES));
    assert_int_equal(ns_encr_keymat_len(NS_ENCR_3DES, 192), 24);
    uint8_t k[24] = {1}, ik[20] = {2}, iv[8] = {0}, data[16] = {0}, icv[12];
    assert_null(ns_cipher_new(NS_ENCR_3DES, 192, NS_INTEG_HMAC_SHA1_96, k, 16, ik, 20));
    struct ns_cipher *c = ns_cipher_new(NS_ENCR_3DES, 0, NS_INTEG_HMAC_SHA1_96, k, 24, ik, 20);
    assert_non_null(c);
    assert_int_equal(ns_cipher_iv_len(c), 8);
    assert_int_equal(ns_cipher_block_len(c), 8);
    assert_int_equal(ns_cipher_icv_len(c), 12);
    assert_int_equal(ns_cipher_seal(c, NULL, 0, iv, data, 12, NULL, icv), -1); /* not 8n */
    assert_int_equal(ns_cipher_seal(c, NULL, 0, iv, data, 8, NULL, icv), 0);
    assert_int_equal(ns_cipher_open(c, NULL, 0, iv, data, 8, NULL, icv), 0);
    ns_cipher_free(c);
}

/* RFC 2404 section 3, test cases 1, 3 and 5 (the ones with the 20-byte key
 * ESP uses): HMAC-SHA1-96 is the first 12 bytes of HMAC-SHA-1, here over
 * the payload of NULL encryption with no AAD. The X9 native clients need it
 * for ESP. */
static void rfc2404_hmac_sha1_96_cases_1_3_5(void **state)
{
    /* X9 */
    (void)state;
    static const struct {
        uint8_t key_byte;
        const char *data_hex;
        const char *hmac_sha1_96;
    } cases[] = {
        {0x0b, "4869205468657265" /* "Hi There" */, "b617318655057264e28bc0b6"},
        {0xaa,
         "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
         "dddddddddddddd",
         "125d7342b9ac11cd91a39af4"},
        {0x0c, "546573742057697468205472756e636174696f6e" /* "Test With Truncation" */,
         "4c1a03424b55e07fe7f27be1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t key[20], data[64], copy[64], want[12], icv[12];
        memset(key, cases[i].key_byte, sizeof(key));
        size_t len = test_unhex(cases[i].data_hex, data, sizeof(data));
        assert_int_equal(test_unhex(cases[i].hmac_sha1_96, want, sizeof(want)), 12);
        struct ns_cipher *c =
            ns_cipher_new(NS_ENCR_NULL, 0, NS_INTEG_HMAC_SHA1_96, NULL, 0, key, sizeof(key));
        assert_non_null(c);
        assert_int_equal(ns_cipher_icv_len(c), 12);
        memcpy(copy, data, len);
        assert_int_equal(ns_cipher_seal(c, NULL, 0, NULL, copy, len, NULL, icv), 0);
        assert_memory_equal(icv, want, 12);
        assert_memory_equal(copy, data, len);
        assert_int_equal(ns_cipher_open(c, NULL, 0, NULL, copy, len, NULL, icv), 0);
        icv[11] ^= 1;
        assert_int_equal(ns_cipher_open(c, NULL, 0, NULL, copy, len, NULL, icv), -1);
        ns_cipher_free(c);
    }
}

static void supported_combinations_and_key_lengths(void **state)
{
    (void)state;
    assert_true(ns_encr_is_aead(NS_ENCR_AES_GCM_16));
    assert_true(ns_encr_is_aead(NS_ENCR_CHACHA20_POLY1305));
    assert_false(ns_encr_is_aead(NS_ENCR_AES_CBC));
    assert_false(ns_encr_is_aead(NS_ENCR_NULL));

    assert_true(ns_cipher_supported(NS_ENCR_AES_GCM_16, 128, NS_INTEG_NONE));
    assert_true(ns_cipher_supported(NS_ENCR_AES_GCM_16, 256, NS_INTEG_NONE));
    assert_false(ns_cipher_supported(NS_ENCR_AES_GCM_16, 192, NS_INTEG_NONE));
    assert_false(ns_cipher_supported(NS_ENCR_AES_GCM_16, 128, NS_INTEG_HMAC_SHA2_256_128));
    assert_true(ns_cipher_supported(NS_ENCR_CHACHA20_POLY1305, 0, NS_INTEG_NONE));
    assert_true(ns_cipher_supported(NS_ENCR_CHACHA20_POLY1305, 256, NS_INTEG_NONE));
    assert_false(ns_cipher_supported(NS_ENCR_CHACHA20_POLY1305, 128, NS_INTEG_NONE));
    assert_true(ns_cipher_supported(NS_ENCR_AES_CBC, 128, NS_INTEG_HMAC_SHA2_512_256));
    assert_false(ns_cipher_supported(NS_ENCR_AES_CBC, 128, NS_INTEG_NONE));
    assert_false(ns_cipher_supported(NS_ENCR_NULL, 128, NS_INTEG_HMAC_SHA2_256_128));
    /* ENCR_BLOWFISH (7) and AUTH_HMAC_MD5_96 (1) are not implemented. */
    assert_false(ns_cipher_supported((enum ns_encr_alg)7, 128, NS_INTEG_HMAC_SHA2_256_128));
    assert_false(ns_cipher_supported(NS_ENCR_AES_CBC, 128, (enum ns_integ_alg)1));
    assert_true(ns_cipher_supported(NS_ENCR_AES_CBC, 256, NS_INTEG_HMAC_SHA1_96));
    assert_true(ns_cipher_supported(NS_ENCR_NULL, 0, NS_INTEG_HMAC_SHA1_96));
    assert_false(ns_cipher_supported(NS_ENCR_AES_GCM_16, 128, NS_INTEG_HMAC_SHA1_96));

    assert_int_equal(ns_encr_keymat_len(NS_ENCR_AES_GCM_16, 128), 20);
    assert_int_equal(ns_encr_keymat_len(NS_ENCR_AES_GCM_16, 256), 36);
    assert_int_equal(ns_encr_keymat_len(NS_ENCR_CHACHA20_POLY1305, 0), 36);
    assert_int_equal(ns_encr_keymat_len(NS_ENCR_AES_CBC, 128), 16);
    assert_int_equal(ns_encr_keymat_len(NS_ENCR_AES_CBC, 256), 32);
    assert_int_equal(ns_encr_keymat_len(NS_ENCR_AES_CBC, 100), 0);
    assert_int_equal(ns_integ_key_len(NS_INTEG_NONE), 0);
    assert_int_equal(ns_integ_key_len(NS_INTEG_HMAC_SHA2_256_128), 32);
    assert_int_equal(ns_integ_key_len(NS_INTEG_HMAC_SHA2_384_192), 48);
    assert_int_equal(ns_integ_key_len(NS_INTEG_HMAC_SHA2_512_256), 64);
    assert_int_equal(ns_integ_key_len(NS_INTEG_HMAC_SHA1_96), 20);
    assert_int_equal(ns_integ_icv_len(NS_INTEG_NONE), 0);
    assert_int_equal(ns_integ_icv_len(NS_INTEG_HMAC_SHA1_96), 12);
    assert_int_equal(ns_integ_icv_len(NS_INTEG_HMAC_SHA2_256_128), 16);
    assert_int_equal(ns_integ_icv_len(NS_INTEG_HMAC_SHA2_384_192), 24);
    assert_int_equal(ns_integ_icv_len(NS_INTEG_HMAC_SHA2_512_256), 32);
}

static void new_rejects_wrong_key_lengths_and_unsupported_pairs(void **state)
{
    (void)state;
    uint8_t k[64] = {0};
    assert_null(
        ns_cipher_new(NS_ENCR_AES_GCM_16, 128, NS_INTEG_NONE, k, 16, NULL, 0)); /* no salt */
    assert_null(ns_cipher_new(NS_ENCR_AES_GCM_16, 128, NS_INTEG_NONE, k, 36, NULL, 0));
    assert_null(ns_cipher_new(NS_ENCR_AES_GCM_16, 128, NS_INTEG_HMAC_SHA2_256_128, k, 20, k, 32));
    assert_null(ns_cipher_new(NS_ENCR_AES_CBC, 128, NS_INTEG_HMAC_SHA2_256_128, k, 16, k, 16));
    assert_null(ns_cipher_new(NS_ENCR_AES_CBC, 128, NS_INTEG_NONE, k, 16, NULL, 0));
    assert_null(ns_cipher_new(NS_ENCR_AES_CBC, 128, NS_INTEG_HMAC_SHA2_256_128, NULL, 16, k, 32));
    assert_null(ns_cipher_new(NS_ENCR_CHACHA20_POLY1305, 256, NS_INTEG_NONE, k, 32, NULL, 0));
    struct ns_cipher *c =
        ns_cipher_new(NS_ENCR_CHACHA20_POLY1305, 256, NS_INTEG_NONE, k, 36, NULL, 0);
    assert_non_null(c);
    ns_cipher_free(c);
    ns_cipher_free(NULL);
}

static void bad_lengths_and_misplaced_esn_are_refused(void **state)
{
    (void)state;
    uint8_t k[64] = {0}, iv[16] = {0}, data[32] = {0}, icv[32], esn[4] = {0};
    struct ns_cipher *cbc =
        ns_cipher_new(NS_ENCR_AES_CBC, 128, NS_INTEG_HMAC_SHA2_256_128, k, 16, k, 32);
    assert_non_null(cbc);
    assert_int_equal(ns_cipher_seal(cbc, NULL, 0, iv, data, 20, NULL, icv), -1);
    assert_int_equal(ns_cipher_open(cbc, NULL, 0, iv, data, 17, NULL, icv), -1);
    assert_int_equal(ns_cipher_seal(cbc, NULL, 0, NULL, data, 16, NULL, icv), -1); /* no IV */
    assert_int_equal(ns_cipher_seal(cbc, NULL, 0, iv, data, 0, NULL, icv), 0);
    ns_cipher_free(cbc);
    /* AEAD callers put the ESN high bits in the AAD (RFC 4106 5). */
    struct ns_cipher *gcm = ns_cipher_new(NS_ENCR_AES_GCM_16, 128, NS_INTEG_NONE, k, 20, NULL, 0);
    assert_non_null(gcm);
    assert_int_equal(ns_cipher_block_len(gcm), 4);
    assert_int_equal(ns_cipher_seal(gcm, NULL, 0, iv, data, 7, esn, icv), -1);
    assert_int_equal(ns_cipher_seal(gcm, NULL, 0, iv, data, 7, NULL, icv), 0);
    assert_int_equal(ns_cipher_open(gcm, NULL, 0, iv, data, 7, esn, icv), -1);
    assert_int_equal(ns_cipher_open(gcm, NULL, 0, iv, data, 7, NULL, icv), 0);
    ns_cipher_free(gcm);
}

/* One context, many packets with different IVs: each must equal what a
 * fresh context computes, so the per-packet re-initialisation keeps the key
 * and resets all per-packet state (IV, GCM/Poly1305 state, HMAC state). */
static void reused_context_matches_fresh_context_per_packet(void **state)
{
    (void)state;
    struct {
        enum ns_encr_alg encr;
        unsigned bits;
        enum ns_integ_alg integ;
    } suites[] = {
        {NS_ENCR_AES_GCM_16, 256, NS_INTEG_NONE},
        {NS_ENCR_CHACHA20_POLY1305, 256, NS_INTEG_NONE},
        {NS_ENCR_AES_CBC, 128, NS_INTEG_HMAC_SHA2_256_128},
        {NS_ENCR_NULL, 0, NS_INTEG_HMAC_SHA2_512_256},
    };
    uint8_t ek[36], ik[64];
    for (size_t i = 0; i < sizeof(ek); i++)
        ek[i] = (uint8_t)(i + 100);
    for (size_t i = 0; i < sizeof(ik); i++)
        ik[i] = (uint8_t)(i + 7);
    for (size_t s = 0; s < sizeof(suites) / sizeof(suites[0]); s++) {
        const size_t elen = ns_encr_keymat_len(suites[s].encr, suites[s].bits);
        const size_t ilen = ns_integ_key_len(suites[s].integ);
        struct ns_cipher *reused =
            ns_cipher_new(suites[s].encr, suites[s].bits, suites[s].integ, ek, elen, ik, ilen);
        assert_non_null(reused);
        for (unsigned pkt = 0; pkt < 5; pkt++) {
            uint8_t iv[16], aad[8] = {0, 0, 0, 1, 0, 0, 0, (uint8_t)pkt}, a[48], b[48];
            uint8_t icv_a[32], icv_b[32];
            memset(iv, (int)(pkt * 17), sizeof(iv));
            for (size_t i = 0; i < sizeof(a); i++)
                a[i] = b[i] = (uint8_t)(i ^ pkt);
            const size_t len = 16 * (pkt % 3 + 1);
            struct ns_cipher *fresh =
                ns_cipher_new(suites[s].encr, suites[s].bits, suites[s].integ, ek, elen, ik, ilen);
            assert_non_null(fresh);
            assert_int_equal(ns_cipher_seal(reused, aad, 8, iv, a, len, NULL, icv_a), 0);
            assert_int_equal(ns_cipher_seal(fresh, aad, 8, iv, b, len, NULL, icv_b), 0);
            assert_memory_equal(a, b, len);
            assert_memory_equal(icv_a, icv_b, ns_cipher_icv_len(reused));
            assert_int_equal(ns_cipher_open(reused, aad, 8, iv, a, len, NULL, icv_a), 0);
            ns_cipher_free(fresh);
        }
        ns_cipher_free(reused);
    }
}

/* The per-packet path allocates nothing of its own. AEAD and the AES-CBC
 * part make no allocation at all. OpenSSL 3.0's HMAC re-initialisation
 * duplicates its digest state (EVP_MD_CTX_copy_ex -> dupctx), two
 * allocations per MAC inside libcrypto; nothing else is allowed. */
static long allocations_per_call(struct ns_cipher *c, bool seal)
{
    uint8_t iv[16] = {0}, aad[8] = {0}, data[64] = {0}, icv[32];
    if (!seal)
        assert_int_equal(ns_cipher_seal(c, aad, 8, iv, data, sizeof(data), NULL, icv), 0);
    long before = allocations;
    int rc = seal ? ns_cipher_seal(c, aad, 8, iv, data, sizeof(data), NULL, icv)
                  : ns_cipher_open(c, aad, 8, iv, data, sizeof(data), NULL, icv);
    long used = allocations - before;
    assert_int_equal(rc, 0);
    return used;
}

static void per_packet_path_does_not_allocate(void **state)
{
    (void)state;
    uint8_t k[64] = {3};
    struct ns_cipher *gcm = ns_cipher_new(NS_ENCR_AES_GCM_16, 256, NS_INTEG_NONE, k, 36, NULL, 0);
    struct ns_cipher *chacha =
        ns_cipher_new(NS_ENCR_CHACHA20_POLY1305, 256, NS_INTEG_NONE, k, 36, NULL, 0);
    struct ns_cipher *cbc =
        ns_cipher_new(NS_ENCR_AES_CBC, 256, NS_INTEG_HMAC_SHA2_256_128, k, 32, k, 32);
    assert_non_null(gcm);
    assert_non_null(chacha);
    assert_non_null(cbc);
    /* The counting allocator is installed: a zero here is meaningful. */
    long before = allocations;
    void *probe = OPENSSL_malloc(1);
    OPENSSL_free(probe);
    assert_int_equal(allocations - before, 1);

    for (int warm = 0; warm < 2; warm++) {
        assert_int_equal(allocations_per_call(gcm, true), 0);
        assert_int_equal(allocations_per_call(gcm, false), 0);
        assert_int_equal(allocations_per_call(chacha, true), 0);
        assert_int_equal(allocations_per_call(chacha, false), 0);
        assert_true(allocations_per_call(cbc, true) <= 2);
        assert_true(allocations_per_call(cbc, false) <= 2);
    }
    ns_cipher_free(gcm);
    ns_cipher_free(chacha);
    ns_cipher_free(cbc);
}

/* R12: an ESP SA is keyed one way (a gateway holds two per client), and
 * what one-way ciphers seal and open matches a two-way cipher of the same
 * key, for AEAD, CBC with HMAC and NULL with HMAC; the other direction is
 * refused. */
static void oneway_ciphers_match_twoway_and_refuse_the_other_way(void **state)
{
    (void)state;
    static const struct {
        enum ns_encr_alg encr;
        unsigned bits;
        enum ns_integ_alg integ;
        size_t ek, ik;
    } algs[] = {
        {NS_ENCR_AES_GCM_16, 128, NS_INTEG_NONE, 20, 0},
        {NS_ENCR_CHACHA20_POLY1305, 256, NS_INTEG_NONE, 36, 0},
        {NS_ENCR_AES_CBC, 256, NS_INTEG_HMAC_SHA2_256_128, 32, 32},
        {NS_ENCR_NULL, 0, NS_INTEG_HMAC_SHA2_256_128, 0, 32},
    };
    uint8_t key[64], ikey[64], iv[16], aad[8] = "spi-seq!";
    for (size_t i = 0; i < sizeof(key); i++) {
        key[i] = (uint8_t)(i * 7 + 1);
        ikey[i] = (uint8_t)(i * 13 + 5);
    }
    memset(iv, 0x5a, sizeof(iv));
    for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++) {
        const uint8_t *ek = algs[a].ek ? key : NULL, *ik = algs[a].ik ? ikey : NULL;
        struct ns_cipher *both = ns_cipher_new(algs[a].encr, algs[a].bits, algs[a].integ, ek,
                                               algs[a].ek, ik, algs[a].ik);
        struct ns_cipher *s = ns_cipher_new_oneway(NS_CIPHER_SEAL, algs[a].encr, algs[a].bits,
                                                   algs[a].integ, ek, algs[a].ek, ik, algs[a].ik);
        struct ns_cipher *o = ns_cipher_new_oneway(NS_CIPHER_OPEN, algs[a].encr, algs[a].bits,
                                                   algs[a].integ, ek, algs[a].ek, ik, algs[a].ik);
        assert_non_null(both);
        assert_non_null(s);
        assert_non_null(o);
        uint8_t plain[64], d1[64], d2[64], icv1[32], icv2[32];
        for (size_t i = 0; i < sizeof(plain); i++)
            plain[i] = (uint8_t)i;
        memcpy(d1, plain, sizeof(plain));
        memcpy(d2, plain, sizeof(plain));
        assert_int_equal(ns_cipher_seal(both, aad, sizeof(aad), iv, d1, 64, NULL, icv1), 0);
        assert_int_equal(ns_cipher_seal(s, aad, sizeof(aad), iv, d2, 64, NULL, icv2), 0);
        assert_memory_equal(d1, d2, 64);
        assert_memory_equal(icv1, icv2, ns_cipher_icv_len(s));
        /* The one-way opener takes what either sealed; the sealer opens nothing. */
        assert_int_equal(ns_cipher_open(s, aad, sizeof(aad), iv, d2, 64, NULL, icv2), -1);
        assert_int_equal(ns_cipher_open(o, aad, sizeof(aad), iv, d2, 64, NULL, icv2), 0);
        assert_memory_equal(d2, plain, 64);
        assert_int_equal(ns_cipher_seal(o, aad, sizeof(aad), iv, d2, 64, NULL, icv2), -1);
        ns_cipher_free(both);
        ns_cipher_free(s);
        ns_cipher_free(o);
    }
}

int main(void)
{
    /* Before any other OpenSSL call, so that every libcrypto allocation is
     * counted (per_packet_path_does_not_allocate). */
    if (CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free) != 1)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gcm_spec_aes128_cases_3_and_4),
        cmocka_unit_test(gcm_spec_aes256_cases_15_and_16),
        cmocka_unit_test(rfc7634_appendix_a_esp_example),
        cmocka_unit_test(rfc7634_appendix_b_ikev2_example),
        cmocka_unit_test(aead_tamper_with_ciphertext_tag_aad_or_iv_is_rejected),
        cmocka_unit_test(rfc3602_aes128_cbc_cases_1_to_4_with_hmac_sha256_128),
        cmocka_unit_test(sp800_38a_aes256_cbc_with_each_hmac),
        cmocka_unit_test(hmac_icv_truncation_and_esn_coverage),
        cmocka_unit_test(cbc_hmac_tamper_is_rejected_before_decrypting),
        cmocka_unit_test(null_encryption_with_hmac_keeps_data_and_authenticates),
        cmocka_unit_test(rfc2404_hmac_sha1_96_cases_1_3_5),
        cmocka_unit_test(sp800_67_tdea_example_as_cbc_with_hmac_sha1_96),
        cmocka_unit_test(sp800_20_tcbc_variable_plaintext_and_lengths),
        cmocka_unit_test(supported_combinations_and_key_lengths),
        cmocka_unit_test(new_rejects_wrong_key_lengths_and_unsupported_pairs),
        cmocka_unit_test(bad_lengths_and_misplaced_esn_are_refused),
        cmocka_unit_test(reused_context_matches_fresh_context_per_packet),
        cmocka_unit_test(per_packet_path_does_not_allocate),
        cmocka_unit_test(oneway_ciphers_match_twoway_and_refuse_the_other_way),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
