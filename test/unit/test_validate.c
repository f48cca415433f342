#include "tap.h"

#include <string.h>

#include "common/sl_validate.h"

#define V(fn, s) fn((s), strlen(s))
#define VN(s) sl_valid_name((s), strlen(s), 200)

void
test_validate(void)
{
	/* slugs */
	ok(V(sl_valid_slug, "loopgroep-utrecht"), "slug: lowercase words with a hyphen");
	ok(V(sl_valid_slug, "abc"), "slug: 3 characters is the minimum");
	ok(V(sl_valid_slug, "4mijl-2026"), "slug: digits allowed, also first");
	ok(!V(sl_valid_slug, "ab"), "slug: 2 characters is too short");
	ok(V(sl_valid_slug, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), "slug: 63 characters allowed");
	ok(!V(sl_valid_slug, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), "slug: 64 characters too long");
	ok(!V(sl_valid_slug, "Loopgroep"), "slug: uppercase rejected");
	ok(!V(sl_valid_slug, "-abc"), "slug: leading hyphen rejected");
	ok(!V(sl_valid_slug, "abc-"), "slug: trailing hyphen rejected");
	ok(!V(sl_valid_slug, "ab--c"), "slug: double hyphen rejected");
	ok(!V(sl_valid_slug, "ab_c"), "slug: underscore rejected");
	ok(!V(sl_valid_slug, "caf\xc3\xa9"), "slug: non-ASCII rejected");
	ok(!V(sl_valid_slug, "admin"), "slug: reserved word rejected");
	ok(V(sl_valid_slug, "admins"), "slug: reserved only as a whole word");
	ok(!sl_valid_slug("abc\0def", 7), "slug: embedded NUL rejected");
	ok(!sl_valid_slug(NULL, 0), "slug: NULL rejected");

	/* KvK */
	ok(V(sl_valid_kvk, "12345678"), "kvk: 8 digits");
	ok(V(sl_valid_kvk, "01234567"), "kvk: leading zero kept");
	ok(!V(sl_valid_kvk, "1234567"), "kvk: 7 digits rejected");
	ok(!V(sl_valid_kvk, "123456789"), "kvk: 9 digits rejected");
	ok(!V(sl_valid_kvk, "1234 567"), "kvk: space rejected");
	ok(!V(sl_valid_kvk, "1234567a"), "kvk: letter rejected");
	ok(!V(sl_valid_kvk, ""), "kvk: empty rejected");

	/* country, locale */
	ok(V(sl_valid_country, "NL") && V(sl_valid_country, "BE"), "country: NL, BE");
	ok(!V(sl_valid_country, "nl") && !V(sl_valid_country, "NLD") && !V(sl_valid_country, "N"), "country: nl, NLD, N rejected");
	ok(V(sl_valid_locale, "nl") && V(sl_valid_locale, "en-GB"), "locale: nl, en-GB");
	ok(!V(sl_valid_locale, "NL") && !V(sl_valid_locale, "en_GB") && !V(sl_valid_locale, "en-gb") &&
	   !V(sl_valid_locale, "dutch"), "locale: NL, en_GB, en-gb, dutch rejected");

	/* phone */
	ok(V(sl_valid_phone, "+31612345678"), "phone: Dutch mobile in E.164");
	ok(V(sl_valid_phone, "+3220000000"), "phone: short Belgian number");
	ok(!V(sl_valid_phone, "0612345678"), "phone: national form rejected");
	ok(!V(sl_valid_phone, "+0612345678"), "phone: country code cannot start with 0");
	ok(!V(sl_valid_phone, "+31 6 12345678"), "phone: spaces rejected");
	ok(!V(sl_valid_phone, "+3161234567890123"), "phone: more than 15 digits rejected");
	ok(!V(sl_valid_phone, "+123456"), "phone: fewer than 7 digits rejected");

	/* email */
	ok(V(sl_valid_email, "anna@loopgroep-utrecht.nl"), "email: plain address");
	ok(V(sl_valid_email, "a.b+tag@sub.example.co.uk"), "email: dots, plus and subdomains");
	ok(V(sl_valid_email, "KIM@Example.COM"), "email: uppercase allowed");
	ok(!V(sl_valid_email, "anna"), "email: no @ rejected");
	ok(!V(sl_valid_email, "anna@localhost"), "email: undotted domain rejected");
	ok(!V(sl_valid_email, "@example.nl"), "email: empty local part rejected");
	ok(!V(sl_valid_email, "anna@"), "email: empty domain rejected");
	ok(!V(sl_valid_email, "an na@example.nl"), "email: space rejected");
	ok(!V(sl_valid_email, "anna@@example.nl") && !V(sl_valid_email, "a@b@example.nl"), "email: second @ rejected");
	ok(!V(sl_valid_email, ".anna@example.nl") && !V(sl_valid_email, "an..na@example.nl"), "email: bad dots in local part rejected");
	ok(!V(sl_valid_email, "anna@example..nl") && !V(sl_valid_email, "anna@-example.nl") &&
	   !V(sl_valid_email, "anna@example-.nl"), "email: bad domain labels rejected");
	ok(!V(sl_valid_email, "anna@example.123"), "email: numeric TLD rejected");
	ok(!V(sl_valid_email, "anna@example.nl."), "email: trailing dot rejected");
	{
		char		big[300];

		memset(big, 'a', sizeof(big));
		memcpy(big + 250, "@ex.nl", 6);
		ok(!sl_valid_email(big, 256), "email: longer than 254 rejected");
		memcpy(big + 60, "@example.nl", 11);
		ok(sl_valid_email(big, 71), "email: 60-character local part accepted");
		memcpy(big + 65, "@example.nl", 11);
		ok(!sl_valid_email(big, 76), "email: local part over 64 rejected");
	}

	/* names and UTF-8 */
	ok(VN("Loopgroep Utrecht") && sl_valid_name("x", 1, 200), "name: plain");
	ok(VN("Ren\xc3\xa9 \xc3\x96zt\xc3\xbcrk"), "name: accented letters");
	ok(!VN(""), "name: empty rejected");
	ok(!VN(" Anna") && !VN("Anna "), "name: surrounding spaces rejected");
	ok(!VN("An\x07na") && !VN("An\nna") && !VN("An\x7fna"), "name: control characters rejected");
	ok(!VN("An\xc2\x85na"), "name: C1 control (NEL) rejected");
	ok(!VN("An\xc3na"), "name: broken UTF-8 rejected");
	ok(sl_utf8_length("\xc3\xa9\xe2\x82\xac\xf0\x9f\x8f\x83", 9) == 3, "utf8: 2-, 3- and 4-byte sequences counted once");
	ok(sl_utf8_length("\xc0\xaf", 2) == -1, "utf8: overlong encoding rejected");
	ok(sl_utf8_length("\xed\xa0\x80", 3) == -1, "utf8: surrogate rejected");
	ok(sl_utf8_length("\xf4\x90\x80\x80", 4) == -1, "utf8: above U+10FFFF rejected");
	ok(sl_utf8_length("\xe2\x82", 2) == -1, "utf8: truncated sequence rejected");
	{
		char		s[401];
		int			i;

		for (i = 0; i < 200; i++)
		{
			s[2 * i] = (char) 0xc3;
			s[2 * i + 1] = (char) 0xa9;
		}
		ok(sl_valid_name(s, 400, 200), "name: 200 two-byte characters accepted (limit is characters, not bytes)");
		s[400] = 'x';
		ok(!sl_valid_name(s, 401, 200), "name: 201 characters rejected");
	}
	{
		ok(!VN("An\xE2\x80\x8Bna"), "name: zero-width space U+200B rejected");
		ok(!VN("Anna\xE2\x80\xAEnetsiduJ"), "name: right-to-left override U+202E rejected");
		ok(!VN("\xEF\xBB\xBF" "Anna"), "name: byte order mark U+FEFF rejected");
		ok(!VN("Anna\xE2\x81\xA6x\xE2\x81\xA9"), "name: bidirectional isolates U+2066/U+2069 rejected");
		ok(!VN("A\xE2\x80\x8D" "b"), "name: zero-width joiner U+200D rejected");
		ok(VN("Caf\xC3\xA9 \xE2\x80\x94 Loop") && VN("\xE2\x82\xAC 10 run"), "name: other three-byte characters (em dash, euro sign) accepted");
		ok(sl_utf8_decode3("\xE2\x80\x8B") == 0x200B && sl_utf8_decode3("abc") == -1, "utf8_decode3");
	}
}
