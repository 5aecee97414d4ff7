/* MS-CHAPv2 (RFC 2759) and its MPPE keys (RFC 3079), for EAP-MSCHAPv2 in
 * IKEv2 (X12): the NT password hash, ChallengeHash, GenerateNTResponse,
 * GenerateAuthenticatorResponse and the 64-byte MSK that Windows and
 * strongSwan take for IKEv2's AUTH.
 *
 * MD4 and single DES come from OpenSSL 3's legacy provider, loaded into a
 * library context of this module's own on first use (never into the
 * default one, so nothing else in natsec can pick MD4 or DES by accident);
 * SHA-1 from the default provider. Nothing here runs unless EAP-MSCHAPv2 is
 * configured. The first use is made thread-safe with pthread_once.
 *
 * Sizes are RFC 2759's: 16-byte challenges and password hashes, a 24-byte
 * NT-Response, an 8-byte challenge hash. Functions return 0, or -1 when the
 * legacy provider is missing, an argument is out of range, or OpenSSL
 * fails. */
#ifndef NATSEC_CRYPTO_MSCHAPV2_H
#define NATSEC_CRYPTO_MSCHAPV2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NS_MSCHAPV2_CHALLENGE_LEN 16
#define NS_MSCHAPV2_HASH_LEN 16 /* NtPasswordHash, its hash, the master key */
#define NS_MSCHAPV2_CHALLENGE_HASH_LEN 8
#define NS_MSCHAPV2_NT_RESPONSE_LEN 24
#define NS_MSCHAPV2_AUTH_RESPONSE_LEN 42 /* "S=" and 40 upper-case hex digits */
#define NS_MSCHAPV2_MSK_LEN 64
#define NS_MSCHAPV2_PASSWORD_MAX 256 /* Unicode characters (RFC 2759 8.2) */
#define NS_MSCHAPV2_USER_MAX 256     /* bytes of a user name (RFC 2759 4) */

/* Loads the legacy provider (once). false when it cannot: then every
 * function below returns -1, and EAP-MSCHAPv2 cannot be offered. */
bool ns_mschapv2_available(void);

/* NtPasswordHash (RFC 2759 8.3): MD4 of the password as UTF-16LE. password
 * is UTF-8 (len bytes, at most NS_MSCHAPV2_PASSWORD_MAX characters);
 * malformed UTF-8 is refused. */
int ns_mschapv2_nt_hash(const char *password, size_t len, uint8_t out[NS_MSCHAPV2_HASH_LEN]);

/* HashNtPasswordHash (RFC 2759 8.4): MD4 of the NT hash. */
int ns_mschapv2_nt_hash_hash(const uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN],
                             uint8_t out[NS_MSCHAPV2_HASH_LEN]);

/* The part of a user name that ChallengeHash takes (RFC 2759 4, 8.2): what
 * follows the last '\' of "DOMAIN\user", else all of it. */
void ns_mschapv2_strip_domain(const char *user, size_t len, const char **name, size_t *name_len);

/* ChallengeHash (RFC 2759 8.2): the first 8 bytes of
 * SHA-1(PeerChallenge | AuthenticatorChallenge | UserName). user is the
 * name without a domain (ns_mschapv2_strip_domain). */
int ns_mschapv2_challenge_hash(const uint8_t peer_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                               const uint8_t auth_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                               const char *user, size_t user_len,
                               uint8_t out[NS_MSCHAPV2_CHALLENGE_HASH_LEN]);

/* GenerateNTResponse (RFC 2759 8.1) from the NT hash of the password:
 * ChallengeResponse (8.5) of the challenge hash, the hash split into three
 * DES keys. */
int ns_mschapv2_nt_response(const uint8_t auth_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                            const uint8_t peer_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                            const char *user, size_t user_len,
                            const uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN],
                            uint8_t out[NS_MSCHAPV2_NT_RESPONSE_LEN]);

/* The authenticator's check of a peer's NT-Response: the expected one is
 * computed and compared in constant time. false also on any error. */
bool ns_mschapv2_nt_response_ok(const uint8_t auth_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                                const uint8_t peer_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                                const char *user, size_t user_len,
                                const uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN],
                                const uint8_t nt_response[NS_MSCHAPV2_NT_RESPONSE_LEN]);

/* GenerateAuthenticatorResponse (RFC 2759 8.7): "S=" and 40 upper-case hex
 * digits into out, NUL-terminated. */
int ns_mschapv2_authenticator_response(const uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN],
                                       const uint8_t nt_response[NS_MSCHAPV2_NT_RESPONSE_LEN],
                                       const uint8_t peer_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                                       const uint8_t auth_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                                       const char *user, size_t user_len,
                                       char out[NS_MSCHAPV2_AUTH_RESPONSE_LEN + 1]);

/* The peer's check of the authenticator response it received (len bytes,
 * not NUL-terminated; RFC 2759 8.8), in constant time; hex digits of
 * either case are accepted. */
bool ns_mschapv2_authenticator_response_ok(const uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN],
                                           const uint8_t nt_response[NS_MSCHAPV2_NT_RESPONSE_LEN],
                                           const uint8_t peer_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                                           const uint8_t auth_challenge[NS_MSCHAPV2_CHALLENGE_LEN],
                                           const char *user, size_t user_len, const char *received,
                                           size_t len);

/* GetMasterKey (RFC 3079 3.4): the first 16 bytes of
 * SHA-1(PasswordHashHash | NT-Response | "This is the MPPE Master Key"). */
int ns_mschapv2_master_key(const uint8_t nt_hash_hash[NS_MSCHAPV2_HASH_LEN],
                           const uint8_t nt_response[NS_MSCHAPV2_NT_RESPONSE_LEN],
                           uint8_t out[NS_MSCHAPV2_HASH_LEN]);

/* GetAsymmetricStartKey (RFC 3079 3.4): key_len (at most 20) bytes of
 * SHA-1(MasterKey | 40 x 0x00 | magic | 40 x 0xf2), magic being the
 * "client send / server receive" text when is_send == !is_server, else the
 * "client receive / server send" one. */
int ns_mschapv2_start_key(const uint8_t master_key[NS_MSCHAPV2_HASH_LEN], size_t key_len,
                          bool is_send, bool is_server, uint8_t *out);

/* The EAP-MSCHAPv2 MSK, the same on both sides: the server's receive key
 * (RADIUS' MS-MPPE-Recv-Key) | its send key (MS-MPPE-Send-Key), 16 bytes
 * each, then 32 zero bytes. */
int ns_mschapv2_msk(const uint8_t nt_hash[NS_MSCHAPV2_HASH_LEN],
                    const uint8_t nt_response[NS_MSCHAPV2_NT_RESPONSE_LEN],
                    uint8_t out[NS_MSCHAPV2_MSK_LEN]);

#endif
