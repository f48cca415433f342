/*
 * libFuzzer target for src/common/sl_validate.c: every validator must accept
 * arbitrary bytes without reading out of bounds, and agree with simple
 * invariants (a valid slug is ASCII; a valid name is valid UTF-8).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sl_validate.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* copy to an exact-size heap buffer so ASan sees any overread */
	char	   *s = malloc(size ? size : 1);
	size_t		i;

	if (!s)
		return 0;
	memcpy(s, data, size);

	if (sl_valid_slug(s, size))
		for (i = 0; i < size; i++)
			if ((unsigned char) s[i] >= 0x80)
				abort();
	if (sl_valid_name(s, size, SL_NAME_MAX_CHARS) && sl_utf8_length(s, size) < 1)
		abort();
	if (sl_valid_kvk(s, size) && size != 8)
		abort();
	if (sl_valid_email(s, size) && (size > SL_EMAIL_MAX || memchr(s, '@', size) == NULL))
		abort();
	(void) sl_valid_country(s, size);
	(void) sl_valid_locale(s, size);
	(void) sl_valid_phone(s, size);
	(void) sl_slug_reserved(s, size);
	free(s);
	return 0;
}
