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
	{
#define MF(x) sl_json_may_fail_jsonb((x), strlen(x))
		ok(!MF("{\"id\": \"evt_1\", \"amount\": 1250, \"rate\": 1.5e3, \"n\": 1e-300}"),
		   "jsonb guard: ordinary bodies need none (exponents of up to 3 digits)");
		ok(MF("{\"note\": \"\\ud800\"}") && MF("{\"note\": \"\\uDBFF\\uDC00\"}"),
		   "jsonb guard: surrogate escapes, lone or paired, any case");
		ok(MF("{\"amount\": 1e1000000}") && MF("[2E+10000]") && !MF("[2E+0004]") && MF("[1e-20000]"), "jsonb guard: exponents of four digits or more");
		ok(!MF("{\"note\": \"\\\\ud800\"}") && !MF("{\"note\": \"\\u00e9 type 1e\"}") && !MF("[\"e10000\"]"),
		   "jsonb guard: an escaped backslash, other escapes and an e without a digit before it are not flagged");
#undef MF
	}
}
