#include "tap.h"

#include <string.h>

#include "common/sl_questions.h"

static char qerr[256];

static int
defs_ok(const char *q)
{
	return sl_questions_check(q, strlen(q), qerr, sizeof(qerr)) == 0;
}

static int
answers_ok(const char *q, const char *a)
{
	return sl_answers_check(q, strlen(q), a, strlen(a), qerr, sizeof(qerr)) == 0;
}

static int
answers_for_ok(const char *q, const char *a, const char *tt)
{
	return sl_answers_check_for(q, strlen(q), a, strlen(a), tt, tt ? strlen(tt) : 0, qerr, sizeof(qerr)) == 0;
}

static int
answers_for_refused(const char *q, const char *a, const char *tt, const char *want)
{
	return sl_answers_check_for(q, strlen(q), a, strlen(a), tt, tt ? strlen(tt) : 0, qerr, sizeof(qerr)) == -1
		&& strstr(qerr, want) != NULL;
}

/* refused, with a message that contains want */
static int
answers_refused(const char *q, const char *a, const char *want)
{
	return sl_answers_check(q, strlen(q), a, strlen(a), qerr, sizeof(qerr)) == -1 && strstr(qerr, want) != NULL;
}

static const char *form =
	"[{\"key\": \"club_member\", \"type\": \"boolean\", \"label\": \"Lid van een club?\", \"required\": true},"
	" {\"key\": \"club\", \"type\": \"club\", \"label\": \"Club\", \"required\": true,"
	"  \"condition\": {\"question\": \"club_member\", \"equals\": true}},"
	" {\"key\": \"nickname\", \"type\": \"text\", \"label\": \"Naam op het startnummer\", \"max\": 12, \"help\": \"Max 12 tekens\"},"
	" {\"key\": \"story\", \"type\": \"long_text\", \"label\": \"Waarom loop je?\", \"min\": 2},"
	" {\"key\": \"finish_time\", \"type\": \"number\", \"label\": \"Verwachte tijd (min)\", \"min\": 20, \"max\": 240},"
	" {\"key\": \"birth_date\", \"type\": \"date\", \"label\": \"Geboortedatum\", \"required\": true, \"min\": \"1920-01-01\", \"max\": \"2019-12-31\"},"
	" {\"key\": \"shirt\", \"type\": \"single_select\", \"label\": \"Maat\", \"options\": [{\"key\": \"s\", \"label\": \"S\"}, {\"key\": \"m\", \"label\": \"M\"}]},"
	" {\"key\": \"diet\", \"type\": \"multi_select\", \"label\": \"Dieet\", \"max\": 2,"
	"  \"options\": [{\"key\": \"vegan\", \"label\": \"Vegan\"}, {\"key\": \"gluten\", \"label\": \"Glutenvrij\"}, {\"key\": \"other\", \"label\": \"Anders\"}]},"
	" {\"key\": \"diet_other\", \"type\": \"text\", \"label\": \"Welk dieet?\", \"required\": true,"
	"  \"condition\": {\"question\": \"diet\", \"equals\": \"other\"}},"
	" {\"key\": \"email\", \"type\": \"email\", \"label\": \"E-mail\"},"
	" {\"key\": \"phone\", \"type\": \"phone\", \"label\": \"Telefoon\"},"
	" {\"key\": \"country\", \"type\": \"country\", \"label\": \"Land\"},"
	" {\"key\": \"ice\", \"type\": \"emergency_contact\", \"label\": \"Noodcontact\", \"required\": true}]";

void
test_questions(void)
{
	const char *ok_answers =
		"{\"club_member\": true, \"club\": \"AV Phoenix\", \"nickname\": \"Snelle Jan\", \"story\": \"Voor mijn moeder\\nen mij\","
		" \"finish_time\": 55.5, \"birth_date\": \"1984-02-29\", \"shirt\": \"m\", \"diet\": [\"vegan\", \"other\"],"
		" \"diet_other\": \"Lactosevrij\", \"email\": \"jan@example.nl\", \"phone\": \"+31612345678\", \"country\": \"NL\","
		" \"ice\": {\"name\": \"Marie\", \"phone\": \"+31698765432\"}}";

	/* definitions */
	ok(defs_ok(form), "questions: every type, conditions, options, bounds");
	ok(defs_ok("[]"), "questions: none");
	ok(!defs_ok("{}") && strstr(qerr, "array") != NULL, "questions: an object is refused");
	ok(!defs_ok("[{\"key\": \"a\", \"type\": \"colour\", \"label\": \"A\"}]") && strstr(qerr, "unknown type"), "questions: unknown type");
	ok(!defs_ok("[{\"key\": \"A b\", \"type\": \"text\", \"label\": \"A\"}]"), "questions: bad key");
	ok(!defs_ok("[{\"key\": \"a\", \"type\": \"text\", \"label\": \"\"}]"), "questions: empty label");
	ok(!defs_ok("[{\"key\": \"a\", \"type\": \"text\", \"label\": \"A\", \"colour\": 1}]"), "questions: unknown field");
	ok(defs_ok("[{\"key\": \"a\", \"type\": \"text\", \"label\": \"A\", \"personal\": false}, "
			   "{\"key\": \"b\", \"type\": \"boolean\", \"label\": \"B\", \"personal\": true}]"),
	   "questions: personal true or false");
	ok(!defs_ok("[{\"key\": \"a\", \"type\": \"text\", \"label\": \"A\", \"personal\": \"yes\"}]")
	   && strstr(qerr, "personal is true or false"), "questions: personal must be a boolean");
	ok(!defs_ok("[{\"key\": \"a\", \"type\": \"text\", \"label\": \"A\"}, {\"key\": \"a\", \"type\": \"text\", \"label\": \"B\"}]")
	   && strstr(qerr, "twice"), "questions: a key twice");
	ok(!defs_ok("[{\"key\": \"a\", \"type\": \"single_select\", \"label\": \"A\"}]"), "questions: a select without options");
	ok(!defs_ok("[{\"key\": \"a\", \"type\": \"single_select\", \"label\": \"A\", \"options\": [{\"key\": \"x\", \"label\": \"X\"}, {\"key\": \"x\", \"label\": \"Y\"}]}]"),
	   "questions: an option key twice");
	ok(!defs_ok("[{\"key\": \"a\", \"type\": \"text\", \"label\": \"A\", \"options\": [{\"key\": \"x\", \"label\": \"X\"}]}]"),
	   "questions: options on a text question");
	ok(!defs_ok("[{\"key\": \"a\", \"type\": \"text\", \"label\": \"A\", \"min\": 5, \"max\": 2}]"), "questions: min above max");
	ok(!defs_ok("[{\"key\": \"a\", \"type\": \"text\", \"label\": \"A\", \"max\": 2.5}]"), "questions: a fractional length");
	ok(!defs_ok("[{\"key\": \"a\", \"type\": \"date\", \"label\": \"A\", \"min\": \"2020-02-30\"}]"), "questions: an impossible date bound");
	ok(!defs_ok("[{\"key\": \"a\", \"type\": \"boolean\", \"label\": \"A\", \"min\": 1}]"), "questions: min on a boolean");
	ok(!defs_ok("[{\"key\": \"a\", \"type\": \"text\", \"label\": \"A\", \"required\": \"yes\"}]"), "questions: required not a boolean");
	ok(!defs_ok("[{\"key\": \"b\", \"type\": \"text\", \"label\": \"B\", \"condition\": {\"question\": \"a\", \"equals\": \"x\"}},"
				" {\"key\": \"a\", \"type\": \"text\", \"label\": \"A\"}]") && strstr(qerr, "earlier"),
	   "questions: a condition on a later question");
	ok(!defs_ok("[{\"key\": \"a\", \"type\": \"single_select\", \"label\": \"A\", \"options\": [{\"key\": \"x\", \"label\": \"X\"}]},"
				" {\"key\": \"b\", \"type\": \"text\", \"label\": \"B\", \"condition\": {\"question\": \"a\", \"equals\": \"y\"}}]"),
	   "questions: a condition on an option that does not exist");
	ok(!defs_ok("[{\"key\": \"a\", \"type\": \"boolean\", \"label\": \"A\"},"
				" {\"key\": \"b\", \"type\": \"text\", \"label\": \"B\", \"condition\": {\"question\": \"a\", \"equals\": \"true\"}}]"),
	   "questions: a condition whose value does not fit");
	ok(!defs_ok("[{\"key\": \"a\", \"type\": \"text\", \"label\": \"A\\u0007\"}]"), "questions: a control character in a label");
	ok(!defs_ok("[{\"key\": \"a\", \"key\": \"b\", \"type\": \"text\", \"label\": \"A\"}]"), "questions: duplicate member names");
	ok(!defs_ok("[{\"key\": \"a\", \"type\": \"text\", \"label\": \"\\ud800\"}]"), "questions: a lone surrogate");
	ok(!defs_ok("[{\"key\": \"a\", \"type\": \"text\", \"label\": \"A\"}] x"), "questions: trailing garbage");
	ok(!defs_ok("[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]"), "questions: nested too deeply");

	/* answers */
	ok(answers_ok(form, ok_answers), "answers: every type accepted");
	ok(answers_ok(form, "{\"club_member\": false, \"birth_date\": \"2001-05-30\", \"ice\": {\"name\": \"Marie\", \"phone\": \"+31698765432\"}}"),
	   "answers: a condition not met leaves its required question out");
	ok(answers_refused(form, "{\"club_member\": true, \"birth_date\": \"2001-05-30\", \"ice\": {\"name\": \"M\", \"phone\": \"+31698765432\"}}",
					   "club: required"), "answers: a condition met makes its question required");
	ok(answers_refused(form, "{\"club_member\": false, \"club\": \"AV\", \"birth_date\": \"2001-05-30\", \"ice\": {\"name\": \"M\", \"phone\": \"+31698765432\"}}",
					   "not asked"), "answers: a question whose condition is not met must not be answered");
	ok(answers_refused(form, "{\"club_member\": false, \"birth_date\": \"2001-05-30\", \"diet\": [\"other\"], \"ice\": {\"name\": \"M\", \"phone\": \"+31698765432\"}}",
					   "diet_other: required"), "answers: a multi_select choice meets a condition");
	ok(answers_refused(form, "{\"club_member\": false, \"ice\": {\"name\": \"M\", \"phone\": \"+31698765432\"}}", "birth_date: required"),
	   "answers: a required question left out");
	ok(answers_refused(form, "{\"club_member\": false, \"birth_date\": \"2001-05-30\", \"ice\": {\"name\": \"M\", \"phone\": \"+31698765432\"}, \"x\": 1}",
					   "no such question"), "answers: an unknown key");
	{
		struct
		{
			const char *answer;
			const char *want;
		}			bad[] = {
			{"\"nickname\": \"Veel te lange naam\"", "nickname"},
			{"\"nickname\": 12", "nickname"},
			{"\"nickname\": \"tab\\there\"", "nickname"},
			{"\"story\": \"x\"", "story"},
			{"\"finish_time\": 19", "finish_time"},
			{"\"finish_time\": \"55\"", "finish_time"},
			{"\"birth_date\": \"2020-01-01\"", "birth_date"},
			{"\"birth_date\": \"1984-02-30\"", "birth_date"},
			{"\"birth_date\": \"30-05-2001\"", "birth_date"},
			{"\"shirt\": \"xl\"", "shirt"},
			{"\"shirt\": [\"m\"]", "shirt"},
			{"\"diet\": [\"vegan\", \"vegan\"]", "diet"},
			{"\"diet\": [\"vegan\", \"gluten\", \"other\"]", "diet"},
			{"\"diet\": \"vegan\"", "diet"},
			{"\"email\": \"jan@\"", "email"},
			{"\"phone\": \"0612345678\"", "phone"},
			{"\"country\": \"nl\"", "country"},
			{"\"country\": \"NLD\"", "country"},
			{"\"club_member\": \"ja\"", "club_member"},
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		{
			char		a[512];

			snprintf(a, sizeof(a), "{\"club_member\": false, \"birth_date\": \"2001-05-30\", "
					 "\"ice\": {\"name\": \"M\", \"phone\": \"+31698765432\"}, %s}", bad[i].answer);
			if (strncmp(bad[i].answer, "\"birth_date\"", 12) == 0 || strncmp(bad[i].answer, "\"club_member\"", 13) == 0)
				snprintf(a, sizeof(a), "{\"ice\": {\"name\": \"M\", \"phone\": \"+31698765432\"}, %s%s}", bad[i].answer,
						 bad[i].answer[1] == 'b' ? ", \"club_member\": false" : ", \"birth_date\": \"2001-05-30\"");
			ok(answers_refused(form, a, bad[i].want), "answers: refused %s (%s)", bad[i].answer, qerr);
		}
	}
	ok(answers_refused(form, "{\"club_member\": false, \"birth_date\": \"2001-05-30\", \"ice\": {\"name\": \"M\"}}", "ice"),
	   "answers: an emergency contact without a phone");
	ok(answers_refused(form, "{\"club_member\": false, \"birth_date\": \"2001-05-30\", \"ice\": {\"name\": \"\", \"phone\": \"+31698765432\"}}", "ice"),
	   "answers: an emergency contact without a name");
	ok(answers_refused(form, "[]", "object"), "answers: an array is refused");
	ok(answers_refused(form, "{\"club_member\": fals}", "not JSON"), "answers: not JSON");
	ok(answers_refused("[{\"key\": \"a\"}]", "{}", "type"), "answers: invalid questions are reported first");
	ok(answers_ok(form, "{\"club_member\": false, \"birth_date\": \"2001-05-30\", \"ice\": {\"name\": \"M\", \"phone\": \"+31698765432\"}, \"nickname\": null}"),
	   "answers: null is no answer");

	/* questions restricted to ticket types */
	{
		const char *tq =
			"[{\"key\": \"ice\", \"type\": \"emergency_contact\", \"label\": \"Noodcontact\", \"required\": true},"
			" {\"key\": \"licence\", \"type\": \"text\", \"label\": \"Licentie\", \"required\": true,"
			"  \"ticket_types\": [\"11111111-1111-4111-8111-111111111111\", \"22222222-2222-4222-8222-222222222222\"]},"
			" {\"key\": \"team\", \"type\": \"boolean\", \"label\": \"Team?\","
			"  \"ticket_types\": [\"33333333-3333-4333-8333-333333333333\"]},"
			" {\"key\": \"team_name\", \"type\": \"text\", \"label\": \"Teamnaam\", \"required\": true,"
			"  \"condition\": {\"question\": \"team\", \"equals\": true}}]";
		const char *t1 = "11111111-1111-4111-8111-111111111111";
		const char *t3 = "33333333-3333-4333-8333-333333333333";
		const char *ice = "\"ice\": {\"name\": \"M\", \"phone\": \"+31698765432\"}";
		char		a[512];

		ok(defs_ok(tq), "ticket_types: questions restricted to ticket types");
		ok(!defs_ok("[{\"key\": \"a\", \"type\": \"text\", \"label\": \"A\", \"ticket_types\": []}]")
		   && strstr(qerr, "1 to 100"), "ticket_types: an empty list is refused");
		ok(!defs_ok("[{\"key\": \"a\", \"type\": \"text\", \"label\": \"A\", \"ticket_types\": \"11111111-1111-4111-8111-111111111111\"}]"),
		   "ticket_types: not an array");
		ok(!defs_ok("[{\"key\": \"a\", \"type\": \"text\", \"label\": \"A\", \"ticket_types\": [\"11111111-1111-4111-8111-11111111111\"]}]")
		   && strstr(qerr, "uuids"), "ticket_types: a short id");
		ok(!defs_ok("[{\"key\": \"a\", \"type\": \"text\", \"label\": \"A\", \"ticket_types\": [\"11111111-1111-4111-8111-11111111111A\"]}]"),
		   "ticket_types: an uppercase id");
		ok(!defs_ok("[{\"key\": \"a\", \"type\": \"text\", \"label\": \"A\", \"ticket_types\": [1]}]"), "ticket_types: a number");
		ok(!defs_ok("[{\"key\": \"a\", \"type\": \"text\", \"label\": \"A\", \"ticket_types\": [\"11111111-1111-4111-8111-111111111111\","
					" \"11111111-1111-4111-8111-111111111111\"]}]") && strstr(qerr, "twice"), "ticket_types: an id twice");

		snprintf(a, sizeof(a), "{%s, \"licence\": \"NL-123\"}", ice);
		ok(answers_for_ok(tq, a, t1), "ticket_types: a required question of the entry's ticket type answered");
		snprintf(a, sizeof(a), "{%s}", ice);
		ok(answers_for_refused(tq, a, t1, "licence: required"), "ticket_types: ... and left out: required");
		ok(answers_for_ok(tq, a, t3), "ticket_types: a required question of another ticket type is not demanded");
		ok(answers_for_ok(tq, a, NULL), "ticket_types: ... nor without a ticket type");
		ok(answers_ok(tq, a), "ticket_types: sl_answers_check is the check without a ticket type");
		snprintf(a, sizeof(a), "{%s, \"licence\": \"NL-123\"}", ice);
		ok(answers_for_refused(tq, a, t3, "not for this ticket type"), "ticket_types: an answer to another ticket type's question is refused");
		ok(answers_for_refused(tq, a, NULL, "not for this ticket type"), "ticket_types: ... and without a ticket type");
		snprintf(a, sizeof(a), "{%s, \"licence\": null}", ice);
		ok(answers_for_ok(tq, a, t3), "ticket_types: null is no answer");
		snprintf(a, sizeof(a), "{%s, \"team\": true}", ice);
		ok(answers_for_refused(tq, a, t3, "team_name: required"), "ticket_types: a condition on a restricted question, met");
		snprintf(a, sizeof(a), "{%s, \"team\": true, \"team_name\": \"De Snelle\"}", ice);
		ok(answers_for_ok(tq, a, t3), "ticket_types: ... and answered");
		ok(answers_for_refused(tq, a, t1, "team: the question is not for this ticket type"),
		   "ticket_types: a condition's question that does not apply cannot be answered");
		snprintf(a, sizeof(a), "{%s, \"team_name\": \"De Snelle\"}", ice);
		ok(answers_for_refused(tq, a, t1, "team_name: the question was not asked"),
		   "ticket_types: ... so its dependent question is not asked either");
		snprintf(a, sizeof(a), "{%s, \"licence\": \"NL-1\"}", ice);
		ok(answers_for_refused(tq, a, "11111111-1111-4111-8111-11111111111", "not for this ticket type"),
		   "ticket_types: a prefix of an id is another ticket type");
	}
}
