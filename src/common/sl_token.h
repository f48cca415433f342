/*
 * sl_token.h - byte-level formats of startlijn_tokens (pure C, no postgres.h).
 *
 * Secret tokens (docs/tokens.md, "Secret tokens"):
 *
 *   <prefix>_<base64url(secret[32] || crc32be(prefix "_" secret)[4])>
 *
 *   prefix: 2-12 characters a-z 0-9, starting with a letter (per purpose);
 *   the base64url part is exactly 48 characters without padding. The CRC32
 *   (IEEE 802.3, the zlib/PNG polynomial) lets secret scanners recognise a
 *   real token and lets the database reject typos before any lookup. It is a
 *   checksum, not a MAC: the secret is the 256 random bits.
 *
 * Signed codes (docs/tokens.md, "Signed codes"):
 *
 *   base45(format[1]=0x01 || key_id[2] be || version[2] be || payload[1..32]
 *          || ed25519_signature[64])
 *
 *   The signature covers "startlijn-code:v1\n" || scope || "\n" || the
 *   bytes before it. Base45 (RFC 9285) uses the QR alphanumeric alphabet, so
 *   a code with a 32-byte payload (101 bytes, 152 characters) fits a QR code
 *   of version 6 at error correction M (154 alphanumeric characters).
 */
#ifndef SL_TOKEN_H
#define SL_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define SL_TOKEN_SECRET_BYTES 32
#define SL_TOKEN_BODY_CHARS 48		/* base64url of 36 bytes */
#define SL_TOKEN_PREFIX_MIN 2
#define SL_TOKEN_PREFIX_MAX 12
#define SL_TOKEN_TEXT_MAX (SL_TOKEN_PREFIX_MAX + 1 + SL_TOKEN_BODY_CHARS)

#define SL_CODE_FORMAT 0x01
#define SL_CODE_HEADER 5
#define SL_CODE_SIG 64
#define SL_CODE_PAYLOAD_MAX 32
#define SL_CODE_BIN_MAX (SL_CODE_HEADER + SL_CODE_PAYLOAD_MAX + SL_CODE_SIG)
#define SL_CODE_TEXT_MAX 152		/* base45 of SL_CODE_BIN_MAX bytes */
#define SL_CODE_DOMAIN "startlijn-code:v1\n"

/* CRC-32/ISO-HDLC (zlib crc32): crc32("123456789") = 0xCBF43926 */
extern uint32_t sl_crc32(uint32_t crc, const void *data, size_t len);

/* 1 when prefix is a valid token prefix */
extern int	sl_token_prefix_ok(const char *prefix, size_t len);

/*
 * Encode a token. out must hold SL_TOKEN_TEXT_MAX + 1 bytes; it is NUL
 * terminated. Returns the length, or 0 when the prefix is invalid.
 */
extern size_t sl_token_encode(const char *prefix, size_t prefix_len,
							  const uint8_t secret[SL_TOKEN_SECRET_BYTES], char *out);

/* results of sl_token_decode */
typedef enum sl_token_status
{
	SL_TOKEN_OK = 0,
	SL_TOKEN_BAD_SHAPE,			/* no prefix, no '_', wrong length or character */
	SL_TOKEN_WRONG_PREFIX,		/* well formed, but for another purpose */
	SL_TOKEN_BAD_CHECKSUM		/* a typo, or not one of ours */
} sl_token_status;

/*
 * Decode text (not NUL terminated) expecting the given prefix. On success
 * the secret is written to secret_out; on failure secret_out may hold
 * partial bytes, which the caller must wipe either way.
 */
extern sl_token_status sl_token_decode(const char *text, size_t len,
									   const char *prefix, size_t prefix_len,
									   uint8_t secret_out[SL_TOKEN_SECRET_BYTES]);

/* RFC 9285 base45; out holds 3*(n/2) + 2*(n%2) + 1 bytes */
extern size_t sl_base45_encode(const uint8_t *in, size_t n, char *out);
/* decode; returns the byte count or -1 when not valid base45 */
extern long sl_base45_decode(const char *in, size_t n, uint8_t *out, size_t outcap);

/* a parsed signed code (pointers into the decoded buffer) */
typedef struct sl_code
{
	uint16_t	key_id;
	uint16_t	version;
	const uint8_t *payload;
	size_t		payload_len;
	const uint8_t *signed_part; /* format .. payload, covered by the signature */
	size_t		signed_len;
	const uint8_t *signature;	/* 64 bytes */
} sl_code;

/*
 * Parse a decoded code. Returns 0, or -1 with *err set to a static
 * sentence (wrong format byte, too short, too long).
 */
extern int	sl_code_parse(const uint8_t *bin, size_t n, sl_code *code, const char **err);

/*
 * Write the header and payload of a code into out (SL_CODE_BIN_MAX bytes);
 * returns the length of the part to sign, or 0 when payload_len is not
 * 1..SL_CODE_PAYLOAD_MAX. The caller appends the 64-byte signature.
 */
extern size_t sl_code_build(uint16_t key_id, uint16_t version,
							const uint8_t *payload, size_t payload_len, uint8_t *out);

/*
 * The message an Ed25519 signature of a code covers:
 * SL_CODE_DOMAIN || scope || "\n" || signed_part. out must hold
 * sizeof(SL_CODE_DOMAIN) - 1 + scope_len + 1 + signed_len bytes.
 */
extern size_t sl_code_message(const char *scope, size_t scope_len,
							  const uint8_t *signed_part, size_t signed_len, uint8_t *out);

#endif
