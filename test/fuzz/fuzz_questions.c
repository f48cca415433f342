/*
 * libFuzzer target for src/common/sl_questions.c: question definitions and
 * answers of any bytes are judged without reading past them, crashing or
 * leaking; a message is always a NUL-terminated string. The first byte
 * picks the mode: definitions alone, answers to a fixed form with every
 * type and a condition, or definitions and answers split at the first NUL.
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
	" {\"key\": \"c\", \"type\": \"country\", \"label\": \"C\"}, {\"key\": \"i\", \"type\": \"emergency_contact\", \"label\": \"I\"}]";

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
	switch (data[0] % 3)
	{
		case 0:
			r = sl_questions_check(s, size, err, sizeof(err));
			break;
		case 1:
			r = sl_answers_check(form, strlen(form), s, size, err, sizeof(err));
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
