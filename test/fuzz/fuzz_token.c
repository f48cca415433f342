/*
 * libFuzzer target for the secret token codec (src/common/sl_token.c).
 * Arbitrary text must never crash the decoder, and whatever it accepts must
 * re-encode to exactly the same text (one secret has one spelling).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/sl_token.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t		secret[SL_TOKEN_SECRET_BYTES];
	char		again[SL_TOKEN_TEXT_MAX + 1];
	const char *text = (const char *) data;
	const char *us;
	size_t		plen;

	if (sodium_init() < 0)
		abort();
	/* the prefix the caller expects: the one the input claims, or slt */
	us = memchr(text, '_', size);
	plen = us ? (size_t) (us - text) : 0;
	if (us == NULL || !sl_token_prefix_ok(text, plen))
	{
		text = (const char *) data;
		if (sl_token_decode(text, size, "slt", 3, secret) == SL_TOKEN_OK)
			abort();			/* nothing without a valid prefix decodes */
		return 0;
	}
	if (sl_token_decode(text, size, text, plen, secret) == SL_TOKEN_OK)
	{
		size_t		n = sl_token_encode(text, plen, secret, again);

		if (n != size || memcmp(again, text, size) != 0)
			abort();
	}
	sodium_memzero(secret, sizeof secret);
	return 0;
}
