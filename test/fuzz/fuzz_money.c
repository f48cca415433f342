/*
 * libFuzzer target for src/common/sl_money.c: the amount parsers accept
 * arbitrary bytes without reading out of bounds or overflowing, and what
 * they accept prints back to the same value.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sl_money.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes, so ASan sees any read past the end */
	char	   *s = malloc(size ? size : 1);
	int64_t		v;
	size_t		cl = size < 3 ? size : 3;

	if (!s)
		return 0;
	memcpy(s, data, size);
	if (sl_parse_int64(s, size, &v))
	{
		char		buf[32];
		int64_t		w;

		snprintf(buf, sizeof buf, "%" PRId64, v);
		if (!sl_parse_int64(buf, strlen(buf), &w) || w != v)
			abort();
	}
	/* the first bytes as the currency, the rest as the amount */
	if (sl_minor_units(s + cl, size - cl, s, cl, &v))
	{
		if (v < 0 || v > INT64_C(999999999999999))
			abort();
	}
	free(s);
	return 0;
}
