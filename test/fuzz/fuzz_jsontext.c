/*
 * libFuzzer target for src/common/sl_jsontext.c: the jsonb guard reads
 * within the text (ASan), and masking NUL escapes
 * never reads past the text, keeps its length, touches only escapes, and
 * leaves nothing to do for a second pass.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sl_jsontext.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *s = malloc(size ? size : 1);
	size_t		n;

	if (!s)
		return 0;
	memcpy(s, data, size);
	/* the jsonb guard reads within the text and depends on nothing else */
	if (sl_json_may_fail_jsonb((const char *) data, size) != sl_json_may_fail_jsonb((const char *) data, size))
		abort();
	n = sl_json_mask_nul_escapes(s, size);
	if (sl_json_mask_nul_escapes(s, size) != 0)
		abort();
	/* what changed are exactly n runs of "0000" turned into "fffd" */
	{
		size_t		changed = 0;

		for (size_t i = 0; i < size; i++)
			if (s[i] != (char) data[i])
			{
				if (i < 2 || i + 3 >= size || memcmp(s + i, "fffd", 4) != 0 ||
					memcmp(data + i, "0000", 4) != 0)
					abort();
				changed++;
				i += 3;
			}
		if (changed != n)
			abort();
	}
	free(s);
	return 0;
}
