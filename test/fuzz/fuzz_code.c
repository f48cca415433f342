/*
 * libFuzzer target for the signed code parser (src/common/sl_token.c):
 * base45 decoding then sl_code_parse. Arbitrary text must never crash them;
 * accepted base45 must re-encode to the same text, and a parsed code's parts
 * must lie inside the decoded bytes and rebuild to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sl_token.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t		bin[512],
				rebuilt[SL_CODE_BIN_MAX];
	char		again[800];
	long		n;
	sl_code		c;
	const char *err = NULL;

	if (size > 700)
		return 0;
	n = sl_base45_decode((const char *) data, size, bin, sizeof bin);
	if (n < 0)
		return 0;
	if (sl_base45_encode(bin, (size_t) n, again) != size || memcmp(again, data, size) != 0)
		abort();
	if (sl_code_parse(bin, (size_t) n, &c, &err) != 0)
	{
		if (err == NULL)
			abort();
		return 0;
	}
	if (c.payload_len < 1 || c.payload_len > SL_CODE_PAYLOAD_MAX ||
		c.signature + SL_CODE_SIG != bin + n ||
		sl_code_build(c.key_id, c.version, c.payload, c.payload_len, rebuilt) != c.signed_len ||
		memcmp(rebuilt, bin, c.signed_len) != 0)
		abort();
	return 0;
}
