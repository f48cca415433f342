/*
 * libFuzzer target for the canonical encoder (src/common/sl_jcs.c) and the
 * signed-note parser (src/common/sl_note.c). Arbitrary bytes must never
 * crash them; whatever sl_jcs accepts must canonicalise to a fixed point
 * (canonical input stays byte-identical), since verifiers re-encode entries.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/sl_jcs.h"
#include "common/sl_note.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sl_buf		a,
				b;
	const char *err = NULL;
	static uint8_t pk[32];

	if (sodium_init() < 0)
		abort();
	sl_buf_init(&a);
	sl_buf_init(&b);
	if (sl_jcs((const char *) data, size, &a, &err) == 0)
	{
		if (err != NULL)
			abort();
		if (sl_jcs(a.data, a.len, &b, &err) != 0 || a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
			abort();
	}
	else if (err == NULL)
		abort();
	sl_buf_free(&a);
	sl_buf_free(&b);

	(void) sl_note_open((const char *) data, size, "example.com/log", pk, NULL);
	return 0;
}
