/*
 * sl_label.h - the label language of startlijn_retention (pure C).
 *
 * Column labels declare personal data:
 *     pii:<kind>[;required]
 * kind is one of name, email, phone, address, date_of_birth, free_text,
 * company, identifier, ip, attribute (a personal attribute of any type with
 * no placeholder form - gender, nationality, a club: it becomes NULL, so its
 * column must be nullable). "required" marks a value the law requires to be
 * kept as long as the record's own retention period runs (an invoice name
 * under the fiscal period): an erasure request keeps it until then.
 *
 * Table labels declare a managed table:
 *     classification=<archive|personal|operational|fiscal>;organization=<col>;
 *     anchor=<col>[;subject=<col>][;result=<col>][;expire=<anonymize|destroy|keep>]
 *     [;subject_type=<person|company>][;status=<col>][;until=<col>][;anonymized_at=<col>]
 *     [;in_use=<col>][;personal_cleared=<col>]
 * in_use names a timestamptz column: while it lies in the future the record
 * is in use (an erasure request leaves it alone, the job does not expire
 * it). personal_cleared names a timestamptz column of an archive or fiscal
 * table: the personal columns not labelled required are pseudonymised when
 * the personal period (classification personal, the same anchor and
 * result) has passed, and the job records the moment there.
 * Pairs are separated by ';', spaces around tokens are ignored, each key at
 * most once. Column names are plain lowercase SQL identifiers (what an
 * unquoted name folds to).
 *
 * Parsers never allocate and never read past len; on failure they return 0
 * and write a full-sentence explanation into err (NUL-terminated).
 */
#ifndef SL_LABEL_H
#define SL_LABEL_H

#include <stddef.h>

#define SL_LABEL_IDENT_MAX 63
#define SL_LABEL_MAX 1024

typedef enum sl_pii_kind
{
	SL_PII_NAME = 0,
	SL_PII_EMAIL,
	SL_PII_PHONE,
	SL_PII_ADDRESS,
	SL_PII_DATE_OF_BIRTH,
	SL_PII_FREE_TEXT,
	SL_PII_COMPANY,
	SL_PII_IDENTIFIER,
	SL_PII_IP,
	SL_PII_ATTRIBUTE,
	SL_PII_NKINDS
} sl_pii_kind;

typedef enum sl_classification
{
	SL_CLASS_ARCHIVE = 0,
	SL_CLASS_PERSONAL,
	SL_CLASS_OPERATIONAL,
	SL_CLASS_FISCAL,
	SL_CLASS_N
} sl_classification;

typedef enum sl_expire_action
{
	SL_EXPIRE_ANONYMIZE = 0,
	SL_EXPIRE_DESTROY,
	SL_EXPIRE_KEEP
} sl_expire_action;

typedef struct sl_column_label
{
	sl_pii_kind kind;
	int			required;
} sl_column_label;

typedef struct sl_table_label
{
	sl_classification classification;
	sl_expire_action expire;
	int			company_subject;	/* subject_type=company */
	char		organization[SL_LABEL_IDENT_MAX + 1];
	char		anchor[SL_LABEL_IDENT_MAX + 1];
	char		subject[SL_LABEL_IDENT_MAX + 1];	/* "" when absent */
	char		result[SL_LABEL_IDENT_MAX + 1]; /* "" when absent */
	char		status[SL_LABEL_IDENT_MAX + 1]; /* default archive_status */
	char		until[SL_LABEL_IDENT_MAX + 1];	/* default retention_until */
	char		anonymized_at[SL_LABEL_IDENT_MAX + 1];	/* default anonymized_at */
	char		in_use[SL_LABEL_IDENT_MAX + 1]; /* "" when absent */
	char		personal_cleared[SL_LABEL_IDENT_MAX + 1];	/* "" when absent */
} sl_table_label;

int			sl_parse_column_label(const char *s, size_t len, sl_column_label *out,
								  char *err, size_t errlen);
int			sl_parse_table_label(const char *s, size_t len, sl_table_label *out,
								 char *err, size_t errlen);

const char *sl_pii_kind_name(sl_pii_kind kind);
const char *sl_classification_name(sl_classification c);
const char *sl_expire_name(sl_expire_action a);

/*
 * Pseudonym letters, bijective base 26: 1 -> "A", 26 -> "Z", 27 -> "AA",
 * 702 -> "ZZ", 703 -> "AAA". buf needs 8 bytes (n up to 2^31-1). Returns
 * the length written, 0 for n < 1.
 */
size_t		sl_pseudonym_letters(long n, char *buf, size_t buflen);

#endif
