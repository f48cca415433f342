/*
 * sl_questions.h - registration questions and their answers (pure C, no
 * postgres.h): one validator for the question definitions an organiser
 * writes and for every answer a participant gives (docs/catalog.md,
 * "Registration questions").
 *
 * Questions are a JSON array of at most SL_Q_MAX objects:
 *   {"key": "[a-z][a-z0-9_]{0,39}", "type": T, "label": 1..200 characters,
 *    "help": at most 1000 characters, "required": bool,
 *    "min": n, "max": n, "options": [{"key": k, "label": l}, ...],
 *    "condition": {"question": an earlier key, "equals": value},
 *    "ticket_types": [1 to 100 distinct ticket type ids, lowercase uuids],
 *    "personal": bool}
 * with T one of text, long_text, number, date, boolean, single_select,
 * multi_select, email, phone, country, emergency_contact, club. min/max are
 * a length for text, long_text and club (characters), a value for number,
 * a date "YYYY-MM-DD" for date, a count of choices for multi_select; not
 * allowed for the other types. options (1 to 100, unique keys) are required
 * for the two select types and refused for the others.
 *
 * personal says whether the answer is personal data that retention clears
 * (docs/retention.md); absent, the type decides: text, long_text, date,
 * email, phone and emergency_contact are personal, the others are not.
 *
 * A question with ticket_types applies only to the entries of those ticket
 * types (which ticket types exist is the database's to check: the ids
 * belong to the event's ticket types); one without applies to every entry.
 *
 * Answers are a JSON object {key: value}, given for an entry of one ticket
 * type (or of none: then only questions without ticket_types apply). A
 * question is asked when it applies to the ticket type and has no condition
 * or its condition's question was asked and answered with the value (for a
 * multi_select: the value is among the choices). An asked required
 * question must be answered (not null, not ""); a question not asked, or a
 * key no question has, must not be answered. Values by type: text, club
 * (a string of at most max characters, default 200), long_text (default
 * 5000, newlines allowed), number (a finite JSON number), date (a valid
 * "YYYY-MM-DD"), boolean, single_select (an option key), multi_select (an
 * array of distinct option keys), email, phone (+ and 8 to 15 digits),
 * country (ISO 3166 alpha-2), emergency_contact ({"name": 1..200
 * characters, "phone": a phone}). Control characters are refused in every
 * string (long_text allows \n and \t).
 *
 * Both functions return 0 when valid, or -1 with a short English message
 * naming the question in err (always NUL-terminated). They never read past
 * len, allocate at most a bounded arena, and accept any bytes.
 */
#ifndef SL_QUESTIONS_H
#define SL_QUESTIONS_H

#include <stddef.h>

#define SL_Q_MAX 100
#define SL_Q_MAX_TEXT 65536		/* bytes of one JSON text */

int			sl_questions_check(const char *questions, size_t len, char *err, size_t errlen);
int			sl_answers_check(const char *questions, size_t qlen, const char *answers, size_t alen,
							 char *err, size_t errlen);
/* the answers of an entry of ticket type ticket_type (ttlen bytes, a
 * lowercase uuid; NULL: no ticket type) */
int			sl_answers_check_for(const char *questions, size_t qlen, const char *answers, size_t alen,
								 const char *ticket_type, size_t ttlen, char *err, size_t errlen);

#endif
