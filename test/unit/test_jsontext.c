#include "tap.h"

#include <string.h>

#include "common/sl_jsontext.h"

static int
mask_is(const char *in, const char *want, size_t want_n)
{
	char		buf[128];
	size_t		len = strlen(in);
	size_t		n;

	memcpy(buf, in, len + 1);
	n = sl_json_mask_nul_escapes(buf, len);
	return n == want_n && strcmp(buf, want) == 0;
}

void
test_jsontext(void)
{
	ok(mask_is("{\"a\": \"plain\"}", "{\"a\": \"plain\"}", 0), "nul escapes: nothing to do");
	ok(mask_is("{\"note\": \"a\\u0000b\"}", "{\"note\": \"a\\ufffdb\"}", 1), "nul escapes: one replaced, same length");
	ok(mask_is("[\"\\u0000\\u0000\", \"\\u0000\"]", "[\"\\ufffd\\ufffd\", \"\\ufffd\"]", 3), "nul escapes: several, back to back");
	ok(mask_is("[\"\\\\u0000\"]", "[\"\\\\u0000\"]", 0), "nul escapes: an escaped backslash before u0000 is text, left alone");
	ok(mask_is("[\"\\\\\\u0000\"]", "[\"\\\\\\ufffd\"]", 1), "nul escapes: an escaped backslash, then a real escape");
	ok(mask_is("[\"\\u00001\"]", "[\"\\ufffd1\"]", 1), "nul escapes: digits after the escape stay");
	ok(mask_is("[\"\\u0001\", \"\\u00a0\"]", "[\"\\u0001\", \"\\u00a0\"]", 0), "nul escapes: other control escapes stay");
	ok(mask_is("\"\\u000", "\"\\u000", 0) && mask_is("\\", "\\", 0), "nul escapes: cut-off escapes at the end are safe");
}
