/*
 * libFuzzer target for the webhook signature headers (src/common/sl_webhook.c).
 * The input is split at the first newline into a header and a body. Every
 * parser and verifier must take it without crashing; a header the attacker
 * wrote never verifies against our secrets; and a header we sign over the
 * body always verifies, while the same header over a changed body never does.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "common/sl_webhook.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* does text hold the 64 hex digits of hex, in either case? */
static int
has_hex_ci(const char *text, size_t len, const char *hex)
{
	for (size_t i = 0; i + 64 <= len; i++)
		if (strncasecmp(text + i, hex, 64) == 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[] = "whsec_fuzz_secret_0123456789abcdef";
	sl_wh_secret k = {key, sizeof key - 1, SL_WH_KEY_HMAC};
	const char *text = (const char *) data;
	const char *nl = memchr(text, '\n', size);
	size_t		hlen = nl ? (size_t) (nl - text) : size;
	const char *body = nl ? nl + 1 : text + size;
	size_t		blen = nl ? size - hlen - 1 : 0;
	sl_wh_stripe_header sh;
	sl_wh_std_header st;
	uint8_t		sig[32],
				dec[64],
				mac[32];
	sl_wh_key_kind kind;
	int			m;
	char		h[128],
				hexmac[65];
	crypto_auth_hmacsha256_state hs;

	if (sodium_init() < 0)
		abort();
	if (sl_wh_stripe_parse(text, hlen, &sh) == SL_WH_OK && (sh.t < 0 || sh.nsig < 1))
		abort();
	if (sl_wh_std_parse(text, hlen, &st) == SL_WH_OK && st.nsig < 1)
		abort();
	(void) sl_wh_mollie_parse(text, hlen, sig);
	(void) sl_wh_std_decode_secret(text, hlen, dec, sizeof dec, &kind);
	(void) sl_wh_parse_timestamp(text, hlen);
	/* the signature of the body at t=1700000000 */
	crypto_auth_hmacsha256_init(&hs, key, sizeof key - 1);
	crypto_auth_hmacsha256_update(&hs, (const unsigned char *) "1700000000.", 11);
	crypto_auth_hmacsha256_update(&hs, (const unsigned char *) body, blen);
	crypto_auth_hmacsha256_final(&hs, mac);
	sodium_bin2hex(hexmac, sizeof hexmac, mac, 32);
	/*
	 * forged headers never verify: a Stripe header verifies only when it
	 * carries that signature, in hex of either case (the seed corpus has
	 * such a header, signed with this key; make test-reliability then
	 * found one with an uppercase digit: corpus crash-stripe-uppercase-hex,
	 * test/unit/test_webhook.c)
	 */
	if ((sl_wh_stripe_verify(&k, 1, text, hlen, body, blen, 1700000000, 300, &m) == SL_WH_OK &&
		 !has_hex_ci(text, hlen, hexmac)) ||
		sl_wh_mollie_verify(&k, 1, text, hlen, body, blen, &m) == SL_WH_OK ||
		sl_wh_std_verify(&k, 1, "msg_1", 5, "1700000000", 10, text, hlen, body, blen, 1700000000, 300, &m) == SL_WH_OK)
		abort();
	/* a header we sign verifies; a changed body does not */
	snprintf(h, sizeof h, "t=1700000000,v1=%s", hexmac);
	if (sl_wh_stripe_verify(&k, 1, h, strlen(h), body, blen, 1700000000, 300, &m) != SL_WH_OK)
		abort();
	if (blen > 0)
	{
		char	   *changed = malloc(blen);

		memcpy(changed, body, blen);
		changed[blen / 2] ^= 1;
		if (sl_wh_stripe_verify(&k, 1, h, strlen(h), changed, blen, 1700000000, 300, &m) != SL_WH_BAD_SIGNATURE)
			abort();
		free(changed);
	}
	return 0;
}
