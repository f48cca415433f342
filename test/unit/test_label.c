#include "tap.h"

#include <string.h>

#include "common/sl_label.h"

#define COL(s, o) sl_parse_column_label((s), strlen(s), (o), err, sizeof(err))
#define TAB(s, o) sl_parse_table_label((s), strlen(s), (o), err, sizeof(err))

void
test_label(void)
{
	sl_column_label c;
	sl_table_label t;
	char		err[256];
	char		buf[16];

	/* column labels */
	ok(COL("pii:name", &c) && c.kind == SL_PII_NAME && !c.required, "column: pii:name");
	ok(COL("pii:email;required", &c) && c.kind == SL_PII_EMAIL && c.required, "column: pii:email;required");
	ok(COL("  pii: date_of_birth ; required ", &c) && c.kind == SL_PII_DATE_OF_BIRTH && c.required,
	   "column: spaces around tokens ignored");
	ok(COL("pii:ip", &c) && c.kind == SL_PII_IP && COL("pii:company", &c) && c.kind == SL_PII_COMPANY &&
	   COL("pii:free_text", &c) && COL("pii:identifier", &c) && COL("pii:address", &c) && COL("pii:phone", &c),
	   "column: every kind parses");
	ok(COL("pii:attribute", &c) && c.kind == SL_PII_ATTRIBUTE && strcmp(sl_pii_kind_name(c.kind), "attribute") == 0,
	   "column: pii:attribute (a personal attribute without a placeholder)");
	ok(!COL("pii:shoe_size", &c) && strstr(err, "shoe_size") != NULL, "column: unknown kind named in the error");
	ok(!COL("name", &c) && strstr(err, "pii:<kind>") != NULL, "column: missing pii: prefix");
	ok(!COL("pii:", &c), "column: empty kind");
	ok(!COL("PII:name", &c), "column: prefix is lowercase");
	ok(!COL("pii:name;required;required", &c) && strstr(err, "twice") != NULL, "column: option twice");
	ok(!COL("pii:name;secret", &c) && strstr(err, "secret") != NULL, "column: unknown option");
	ok(!sl_parse_column_label("pii:name\0x", 10, &c, err, sizeof(err)), "column: embedded NUL rejected");
	ok(!COL("pii:n\x01me", &c) && strstr(err, "n?me") != NULL, "column: control bytes masked in the error");

	/* table labels */
	ok(TAB("classification=archive;organization=organization_id;anchor=contract_end", &t) &&
	   t.classification == SL_CLASS_ARCHIVE && strcmp(t.organization, "organization_id") == 0 &&
	   strcmp(t.anchor, "contract_end") == 0 && t.subject[0] == '\0' && t.expire == SL_EXPIRE_ANONYMIZE &&
	   strcmp(t.status, "archive_status") == 0 && strcmp(t.until, "retention_until") == 0 &&
	   strcmp(t.anonymized_at, "anonymized_at") == 0, "table: minimal label with defaults");
	ok(TAB(" subject = id ; classification=personal; organization=org ;anchor=ended_at;result=awarded;"
		   "expire=destroy;subject_type=company;status=st;until=keep_until;anonymized_at=anon_at;", &t) &&
	   t.classification == SL_CLASS_PERSONAL && strcmp(t.subject, "id") == 0 && strcmp(t.result, "awarded") == 0 &&
	   t.expire == SL_EXPIRE_DESTROY && t.company_subject && strcmp(t.status, "st") == 0 &&
	   strcmp(t.until, "keep_until") == 0 && strcmp(t.anonymized_at, "anon_at") == 0,
	   "table: every key, spaces and a trailing ';'");
	ok(TAB("classification=fiscal;organization=o;anchor=a;expire=keep", &t) && t.classification == SL_CLASS_FISCAL &&
	   t.expire == SL_EXPIRE_KEEP, "table: fiscal, keep");
	ok(!TAB("organization=o;anchor=a", &t) && strstr(err, "classification") != NULL, "table: classification required");
	ok(!TAB("classification=archive;anchor=a", &t) && strstr(err, "organization") != NULL, "table: organization required");
	ok(!TAB("classification=archive;organization=o", &t) && strstr(err, "anchor") != NULL, "table: anchor required");
	ok(!TAB("classification=secret;organization=o;anchor=a", &t), "table: unknown classification");
	ok(!TAB("classification=archive;organization=o;anchor=a;expire=burn", &t), "table: unknown expire action");
	ok(!TAB("classification=archive;organization=o;anchor=a;colour=red", &t) && strstr(err, "colour") != NULL,
	   "table: unknown key");
	ok(!TAB("classification=archive;classification=personal;organization=o;anchor=a", &t) &&
	   strstr(err, "twice") != NULL, "table: key twice");
	ok(!TAB("classification=archive;organization=Org;anchor=a", &t), "table: uppercase column name rejected");
	ok(!TAB("classification=archive;organization=o;anchor=a b", &t), "table: column name with a space rejected");
	ok(!TAB("classification=archive;organization=o;anchor=1a", &t), "table: column name starting with a digit");
	ok(!TAB("classification=archive;organization=o;anchor=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &t),
	   "table: 64-byte column name rejected");
	ok(!TAB("classification=archive;organization;anchor=a", &t) && strstr(err, "key=value") != NULL,
	   "table: a key without a value");
	ok(!TAB("", &t), "table: empty label");
	ok(TAB("classification=personal;organization=o;anchor=a;subject=s;in_use=live_until", &t) &&
	   strcmp(t.in_use, "live_until") == 0 && t.personal_cleared[0] == '\0', "table: in_use names a column");
	ok(TAB("classification=fiscal;organization=o;anchor=a;personal_cleared=cleared_at", &t) &&
	   strcmp(t.personal_cleared, "cleared_at") == 0 && t.in_use[0] == '\0', "table: personal_cleared on a fiscal table");
	ok(TAB("classification=archive;organization=o;anchor=a;personal_cleared=c", &t), "table: personal_cleared on an archive table");
	ok(!TAB("classification=personal;organization=o;anchor=a;personal_cleared=c", &t) &&
	   strstr(err, "archive and fiscal") != NULL, "table: personal_cleared refused on a personal table");
	ok(!TAB("classification=fiscal;organization=o;anchor=a;in_use=In", &t), "table: in_use must be a column name");
	ok(!TAB("classification=fiscal;organization=o;anchor=a;in_use=a;in_use=b", &t) && strstr(err, "twice") != NULL,
	   "table: in_use twice");

	/* pseudonym letters */
	ok(sl_pseudonym_letters(1, buf, sizeof(buf)) == 1 && strcmp(buf, "A") == 0, "letters: 1 = A");
	ok(sl_pseudonym_letters(26, buf, sizeof(buf)) == 1 && strcmp(buf, "Z") == 0, "letters: 26 = Z");
	ok(sl_pseudonym_letters(27, buf, sizeof(buf)) == 2 && strcmp(buf, "AA") == 0, "letters: 27 = AA");
	ok(sl_pseudonym_letters(702, buf, sizeof(buf)) == 2 && strcmp(buf, "ZZ") == 0, "letters: 702 = ZZ");
	ok(sl_pseudonym_letters(703, buf, sizeof(buf)) == 3 && strcmp(buf, "AAA") == 0, "letters: 703 = AAA");
	ok(sl_pseudonym_letters(2147483647L, buf, sizeof(buf)) == 7 && strcmp(buf, "FXSHRXW") == 0,
	   "letters: 2^31-1 = FXSHRXW");
	ok(sl_pseudonym_letters(0, buf, sizeof(buf)) == 0 && sl_pseudonym_letters(5, buf, 1) == 0,
	   "letters: 0 and a too small buffer give nothing");
}
