/*
 * libFuzzer target for src/common/sl_questions.c: question definitions and
 * answers of any bytes are judged without reading past them, crashing or
 * leaking; a message is always a NUL-terminated string. The first byte
 * picks the mode: definitions alone, answers to a fixed form with every
 * type and a condition, or definitions and answers split at the first NUL;
 * modes 3 and 4 judge the answers for a ticket type (the fixed form has
 * questions restricted to ticket types) or for none.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/sl_questions.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char form[] =
	"[{\"key\": \"member\", \"type\": \"boolean\", \"label\": \"Lid?\", \"required\": true},"
	" {\"key\": \"club\", \"type\": \"club\", \"label\": \"Club\", \"required\": true, \"condition\": {\"question\": \"member\", \"equals\": true}},"
	" {\"key\": \"t\", \"type\": \"text\", \"label\": \"T\", \"max\": 12}, {\"key\": \"n\", \"type\": \"number\", \"label\": \"N\", \"min\": 1},"
	" {\"key\": \"d\", \"type\": \"date\", \"label\": \"D\", \"max\": \"2019-12-31\"},"
	" {\"key\": \"s\", \"type\": \"single_select\", \"label\": \"S\", \"options\": [{\"key\": \"a\", \"label\": \"A\"}]},"
	" {\"key\": \"m\", \"type\": \"multi_select\", \"label\": \"M\", \"max\": 1, \"options\": [{\"key\": \"a\", \"label\": \"A\"}, {\"key\": \"b\", \"label\": \"B\"}]},"
	" {\"key\": \"mb\", \"type\": \"long_text\", \"label\": \"MB\", \"condition\": {\"question\": \"m\", \"equals\": \"b\"}},"
	" {\"key\": \"e\", \"type\": \"email\", \"label\": \"E\"}, {\"key\": \"p\", \"type\": \"phone\", \"label\": \"P\"},"
	" {\"key\": \"c\", \"type\": \"country\", \"label\": \"C\"}, {\"key\": \"i\", \"type\": \"emergency_contact\", \"label\": \"I\"},"
	" {\"key\": \"lic\", \"type\": \"text\", \"label\": \"L\", \"required\": true, \"ticket_types\": [\"11111111-1111-4111-8111-111111111111\"]},"
	" {\"key\": \"tm\", \"type\": \"boolean\", \"label\": \"T\", \"ticket_types\": [\"22222222-2222-4222-8222-222222222222\", \"11111111-1111-4111-8111-111111111111\"]},"
	" {\"key\": \"tn\", \"type\": \"text\", \"label\": \"TN\", \"condition\": {\"question\": \"tm\", \"equals\": true}}]";
static const char tt1[] = "11111111-1111-4111-8111-111111111111";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		err[128];
	const char *s;
	int			r;

	if (size < 1)
		return 0;
	s = (const char *) data + 1;
	size--;
	memset(err, 'x', sizeof(err));
	switch (data[0] % 5)
	{
		case 0:
			r = sl_questions_check(s, size, err, sizeof(err));
			break;
		case 1:
			r = sl_answers_check(form, strlen(form), s, size, err, sizeof(err));
			break;
		case 3:
			r = sl_answers_check_for(form, strlen(form), s, size, tt1, strlen(tt1), err, sizeof(err));
			break;
		case 4:
			{
				/* the first 36 bytes are the ticket type, the rest the answers */
				size_t		n = size < 36 ? size : 36;

				r = sl_answers_check_for(form, strlen(form), s + n, size - n, s, n, err, sizeof(err));
			}
			break;
		default:
			{
				const char *nul = memchr(s, '\0', size);
				size_t		qlen = nul ? (size_t) (nul - s) : size;

				r = sl_answers_check(s, qlen, nul ? nul + 1 : s + size, nul ? size - qlen - 1 : 0, err, sizeof(err));
			}
	}
	if (r != 0 && r != -1)
		abort();
	if (memchr(err, '\0', sizeof(err)) == NULL || (r == -1 && err[0] == '\0'))
		abort();
	return 0;
}
