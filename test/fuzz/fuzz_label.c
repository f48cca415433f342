/*
 * libFuzzer target for src/common/sl_label.c: both label parsers accept
 * arbitrary bytes without reading out of bounds; what they accept has the
 * documented shape.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sl_label.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_ident(const char *s, int may_be_empty)
{
	size_t		n = strlen(s),
				i;

	if (n == 0 && may_be_empty)
		return;
	if (n == 0 || n > SL_LABEL_IDENT_MAX)
		abort();
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '$'))
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *s = malloc(size ? size : 1);
	char		err[128];
	sl_column_label c;
	sl_table_label t;
	char		letters[16];

	if (!s)
		return 0;
	memcpy(s, data, size);
	if (sl_parse_column_label(s, size, &c, err, sizeof(err)))
	{
		if (c.kind < 0 || c.kind >= SL_PII_NKINDS)
			abort();
	}
	else if (strlen(err) == 0)
		abort();
	if (sl_parse_table_label(s, size, &t, err, sizeof(err)))
	{
		check_ident(t.organization, 0);
		check_ident(t.anchor, 0);
		check_ident(t.subject, 1);
		check_ident(t.result, 1);
		check_ident(t.status, 0);
		check_ident(t.until, 0);
		check_ident(t.anonymized_at, 0);
		if (t.classification < 0 || t.classification >= SL_CLASS_N)
			abort();
	}
	if (size >= 4)
	{
		long		n = 0;

		memcpy(&n, data, 4);
		n &= 0x7fffffffL;
		if (n >= 1 && sl_pseudonym_letters(n, letters, sizeof(letters)) == 0)
			abort();
	}
	free(s);
	return 0;
}
