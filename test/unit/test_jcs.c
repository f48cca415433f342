#include "tap.h"

#include <stdlib.h>
#include <string.h>

#include "common/sl_jcs.h"

static int
canon_is(const char *in, const char *want)
{
	sl_buf		b;
	const char *err = NULL;
	int			good;

	sl_buf_init(&b);
	good = sl_jcs(in, strlen(in), &b, &err) == 0 &&
		b.len == strlen(want) && memcmp(b.data, want, b.len) == 0;
	if (!good)
		printf("# %s -> %.*s (%s), want %s\n", in, (int) b.len, b.data ? b.data : "",
			   err ? err : "ok", want);
	sl_buf_free(&b);
	return good;
}

static int
refused(const char *in, size_t len)
{
	sl_buf		b;
	const char *err = NULL;
	int			rc;

	sl_buf_init(&b);
	rc = sl_jcs(in, len, &b, &err);
	sl_buf_free(&b);
	if (rc == 0)
		printf("# accepted: %.*s\n", (int) len, in);
	return rc == -1 && err != NULL;
}

void
test_jcs(void)
{
	/* RFC 8785 3.2.2 (its first number is the deviation, tested below) */
	ok(canon_is("{\n  \"numbers\": [333333333.3333333, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n"
				"  \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\",\n"
				"  \"literals\": [null, true, false]\n}",
				"{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
				"\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}"),
	   "jcs: the RFC 8785 section 3.2.2 example");
	/* RFC 8785 3.2.3: sorting by UTF-16 code units */
	ok(canon_is("{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\",\"\\ufb33\":\"Hebrew\","
				"\"1\":\"One\",\"\\ud83d\\ude00\":\"Emoji\",\"\\u0080\":\"Control\",\"\\u00f6\":\"o\"}",
				"{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\",\"\xc3\xb6\":\"o\","
				"\"\xe2\x82\xac\":\"Euro Sign\",\"\xf0\x9f\x98\x80\":\"Emoji\",\"\xef\xac\xb3\":\"Hebrew\"}"),
	   "jcs: members sorted by UTF-16 code units (RFC 8785 3.2.3), surrogate pairs before U+FB33");
	ok(canon_is("[0,-0,0.0,-0.0e5,1,-1,10,1e0,1E+2,1e21,1e20,123456789012345678901,1e-6,1e-7,"
				"0.000001,0.0000001,1.5e300,-4.5e-300,9007199254740992,12.34e1,100e-2]",
				"[0,0,0,0,1,-1,10,1,100,1e+21,100000000000000000000,123456789012345678901,"
				"0.000001,1e-7,0.000001,1e-7,1.5e+300,-4.5e-300,9007199254740992,123.4,1]"),
	   "jcs: numbers in ECMAScript form (exponent thresholds 1e21 and 1e-7, zeros, signs)");
	ok(canon_is("[333333333.33333329,9007199254740993,1.00000000000000000001,1e400]",
				"[333333333.33333329,9007199254740993,1.00000000000000000001,1e+400]"),
	   "jcs: numbers a double cannot hold keep every digit (the documented deviation)");
	ok(canon_is(" { \"a\" : [ ] , \"b\" : { } , \"\" : \"\\u0000\\u001f\\u007f\\u2028\" } ",
				"{\"\":\"\\u0000\\u001f\x7f\xe2\x80\xa8\",\"a\":[],\"b\":{}}"),
	   "jcs: whitespace dropped; only control characters, quote and backslash escaped");
	ok(canon_is("{\"b\":{\"z\":1,\"y\":[{\"d\":1,\"c\":2}]},\"a\":\"\\/\"}",
				"{\"a\":\"/\",\"b\":{\"y\":[{\"c\":2,\"d\":1}],\"z\":1}}"),
	   "jcs: nested objects sorted at every level");
	ok(refused("{\"a\":1,\"a\":2}", 13) && refused("{\"\\u0061\":1,\"a\":2}", 18),
	   "jcs: duplicate member names refused, also when spelled with escapes");
	ok(refused("\"\xc0\xaf\"", 4) && refused("\"\xed\xa0\x80\"", 5) && refused("\"\xf4\x90\x80\x80\"", 6) &&
	   refused("\"\\ud800\"", 8) && refused("\"\\udc00\\ud800\"", 14) && refused("\"\xe2\x82\"", 4),
	   "jcs: overlong, surrogate, out-of-range, truncated UTF-8 and lone surrogate escapes refused");
	/* found by fuzz_jcs: a huge exponent was clamped, so its canonical text
	 * parsed to another number; it is refused now, at any size */
	ok(refused("13E99999999999999999999999999999999999999952", 44) &&
	   refused("1e1000000000000001", 18) && refused("1e-1000000000000002", 19) &&
	   canon_is("[1e1000000000000000]", "[1e+1000000000000000]"),
	   "jcs: exponents beyond 10^15 are refused, not clamped");
	ok(refused("01", 2) && refused("1.", 2) && refused(".5", 2) && refused("+1", 2) && refused("1e", 2) &&
	   refused("-", 1) && refused("NaN", 3) && refused("[1,]", 4) && refused("{\"a\"}", 5) &&
	   refused("tru", 3) && refused("[1] x", 5) && refused("", 0) && refused("\"a\nb\"", 5) &&
	   refused("\"\\x\"", 4) && refused("[1 2]", 5),
	   "jcs: malformed JSON refused (leading zero, bare point, plus sign, trailing comma, garbage)");
	{
		char		deep[2 * SL_JCS_MAX_DEPTH + 4];
		int			i;

		for (i = 0; i <= SL_JCS_MAX_DEPTH; i++)
		{
			deep[i] = '[';
			deep[2 * SL_JCS_MAX_DEPTH + 1 - i] = ']';
		}
		ok(refused(deep, 2 * SL_JCS_MAX_DEPTH + 2), "jcs: nesting deeper than %d refused", SL_JCS_MAX_DEPTH);
	}
	{
		sl_buf		b;

		sl_buf_init(&b);
		ok(sl_jcs_number("-12.500e-1", 10, &b) == 0 && b.len == 5 && memcmp(b.data, "-1.25", 5) == 0 &&
		   sl_jcs_number("12x", 3, &b) == -1,
		   "jcs: sl_jcs_number canonicalises one number and refuses trailing bytes");
		sl_buf_free(&b);
	}
	ok(canon_is("\"caf\xc3\xa9 \xf0\x9f\x8f\x83\"", "\"caf\xc3\xa9 \xf0\x9f\x8f\x83\"") &&
	   canon_is("\"\\u00e9\\uD83C\\uDFC3\"", "\"\xc3\xa9\xf0\x9f\x8f\x83\""),
	   "jcs: non-ASCII stays literal UTF-8; \\u escapes (either case) decoded");
}
