/*
 * sl_webhook.h - payment provider webhook signatures (pure C, libsodium).
 *
 * Three schemes, each verified against every active secret of the provider
 * (several at once during a rotation):
 *
 *   Stripe            Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]
 *                     HMAC-SHA256(key = the "whsec_..." text itself,
 *                                 msg = t "." body)
 *   Standard Webhooks webhook-id, webhook-timestamp, webhook-signature:
 *                     space-separated "v1,<base64 HMAC-SHA256>" (key = the
 *                     base64-decoded part of "whsec_...") and
 *                     "v1a,<base64 Ed25519>" (key = "whpk_..." public key),
 *                     over id "." timestamp "." body
 *   Mollie (next-gen) X-Mollie-Signature: [sha256=]<hex HMAC-SHA256 of body>
 *                     (key = the shared secret text)
 *
 * Header parsing is strict about what it uses and ignores what it does not
 * know (other schemes such as Stripe's v0), like the providers' own
 * libraries. Comparisons are constant time (sodium_memcmp); HMACs are
 * computed incrementally, so the body is never copied. Nothing here
 * allocates.
 */
#ifndef SL_WEBHOOK_H
#define SL_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

typedef enum sl_wh_result
{
	SL_WH_OK = 0,
	SL_WH_MISSING_HEADER,		/* a required header is absent or empty */
	SL_WH_MALFORMED_HEADER,		/* present but does not parse */
	SL_WH_TIMESTAMP_EXPIRED,	/* older than the tolerance */
	SL_WH_TIMESTAMP_FUTURE,		/* further ahead than the tolerance */
	SL_WH_BAD_SIGNATURE,		/* parsed, but no signature matches a secret */
	SL_WH_NO_SECRET				/* no active secret to verify with */
} sl_wh_result;

/* the stable outcome name of a result ("ok", "missing_header", ...) */
extern const char *sl_wh_result_name(sl_wh_result r);

typedef enum sl_wh_key_kind
{
	SL_WH_KEY_HMAC = 1,			/* HMAC-SHA256 key bytes */
	SL_WH_KEY_ED25519 = 2		/* 32-byte Ed25519 public key */
} sl_wh_key_kind;

typedef struct sl_wh_secret
{
	const uint8_t *key;
	size_t		len;
	sl_wh_key_kind kind;
} sl_wh_secret;

#define SL_WH_MAX_SIGS 16		/* signatures read from one header */
#define SL_WH_MAX_HEADER 4096	/* longer headers are malformed */
#define SL_WH_MAX_ID 256		/* longest webhook-id */

/* ---- Stripe ---- */
typedef struct sl_wh_stripe_header
{
	int64_t		t;
	int			nsig;
	uint8_t		sig[SL_WH_MAX_SIGS][32];
} sl_wh_stripe_header;

extern sl_wh_result sl_wh_stripe_parse(const char *h, size_t len, sl_wh_stripe_header *out);

/*
 * Verify a Stripe delivery. *matched is set to the index of the secret that
 * matched (or -1). tolerance in seconds applies both ways.
 */
extern sl_wh_result sl_wh_stripe_verify(const sl_wh_secret *secrets, int nsecrets,
										const char *header, size_t hlen,
										const char *body, size_t blen,
										int64_t now, int64_t tolerance, int *matched);

/* ---- Standard Webhooks ---- */
typedef struct sl_wh_std_sig
{
	int			version;		/* 1 = v1 (HMAC), 2 = v1a (Ed25519) */
	uint8_t		sig[64];
} sl_wh_std_sig;

typedef struct sl_wh_std_header
{
	int			nsig;
	sl_wh_std_sig sigs[SL_WH_MAX_SIGS];
} sl_wh_std_header;

extern sl_wh_result sl_wh_std_parse(const char *h, size_t len, sl_wh_std_header *out);

/* a decimal unix timestamp without sign or leading zeros; -1 if malformed */
extern int64_t sl_wh_parse_timestamp(const char *s, size_t len);

extern sl_wh_result sl_wh_std_verify(const sl_wh_secret *secrets, int nsecrets,
									 const char *id, size_t idlen,
									 const char *ts, size_t tslen,
									 const char *header, size_t hlen,
									 const char *body, size_t blen,
									 int64_t now, int64_t tolerance, int *matched);

/*
 * Decode a Standard Webhooks secret: "whsec_<base64>" -> HMAC key,
 * "whpk_<base64 of 32 bytes>" -> Ed25519 public key. Returns the key length
 * (1..cap) and sets *kind, or 0 if the text is not a valid secret.
 */
extern size_t sl_wh_std_decode_secret(const char *s, size_t len, uint8_t *out, size_t cap,
									  sl_wh_key_kind *kind);

/* ---- Mollie next-gen ---- */
extern sl_wh_result sl_wh_mollie_parse(const char *h, size_t len, uint8_t sig[32]);

extern sl_wh_result sl_wh_mollie_verify(const sl_wh_secret *secrets, int nsecrets,
										const char *header, size_t hlen,
										const char *body, size_t blen, int *matched);

/*
 * Which request headers a delivery record keeps: the signature headers of
 * the three schemes always; any other whose lowercase name (at most
 * SL_WH_HEADER_NAME_MAX bytes) names no credential (authorization, api
 * keys, tokens, secrets, cookies, sessions, passwords). 1 to keep.
 * Values longer than SL_WH_HEADER_VALUE_MAX bytes are cut, and at most
 * SL_WH_HEADERS_MAX headers are kept.
 */
#define SL_WH_HEADER_NAME_MAX 64
#define SL_WH_HEADER_VALUE_MAX 512
#define SL_WH_HEADERS_MAX 40
extern int sl_wh_header_kept(const char *name, size_t len);

#endif
