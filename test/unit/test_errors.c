#include "tap.h"

#include <stdlib.h>
#include <string.h>

#include "common/sl_error_registry.h"

static int
valid_code(const char *c)
{
	if (!*c)
		return 0;
	for (; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
			return 0;
	return 1;
}

void
test_errors(const char *errors_md)
{
	size_t		n,
				i;
	const sl_error_def *t = sl_error_table(&n);
	int			sorted = 1,
				formats = 1,
				lookups = 1;
	char		state[6];
	FILE	   *f;

	ok(n > 10, "errors: registry has %zu codes", n);
	for (i = 0; i < n; i++)
	{
		size_t		ml = strlen(t[i].message);
		size_t		dl = strlen(t[i].detail);

		if (i > 0 && strcmp(t[i - 1].code, t[i].code) >= 0)
			sorted = 0;
		if (!valid_code(t[i].code) || t[i].http_status < 400 || t[i].http_status > 499 ||
			ml == 0 || t[i].message[ml - 1] == '.' ||
			dl == 0 || t[i].detail[dl - 1] != '.' || t[i].detail[0] < 'A' || t[i].detail[0] > 'Z')
		{
			formats = 0;
			printf("# bad entry: %s\n", t[i].code);
		}
		for (const char *c = t[i].message; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				formats = 0;
		if (sl_error_lookup(t[i].code) != &t[i])
			lookups = 0;
	}
	ok(sorted, "errors: codes sorted and unique (binary search relies on it)");
	ok(formats, "errors: code [a-z0-9_], 4xx, lowercase message without period, detail a sentence");
	ok(lookups, "errors: every code found by lookup");
	ok(sl_error_lookup("no_such_code") == NULL && sl_error_lookup(NULL) == NULL &&
	   sl_error_lookup("") == NULL, "errors: unknown, NULL and empty codes not found");
	ok(sl_error_sqlstate(sl_error_lookup("slug_taken"), state) == 0 && strcmp(state, "PT409") == 0,
	   "errors: slug_taken is PT409");
	ok(sl_error_sqlstate(sl_error_lookup("not_authenticated"), state) == 0 && strcmp(state, "PT401") == 0,
	   "errors: not_authenticated is PT401");
	ok(sl_error_sqlstate(NULL, state) == -1, "errors: no SQLSTATE for NULL");

	/* docs/errors.md documents every code, and nothing else, as "| `code` | PTnnn |" rows */
	f = fopen(errors_md, "r");
	ok(f != NULL, "errors: %s readable", errors_md);
	if (f)
	{
		char		line[1024];
		size_t		documented = 0;
		int			all_known = 1;
		int		   *seen = calloc(n, sizeof(int));

		while (fgets(line, sizeof line, f))
		{
			char		code[128];
			char		st[16];
			const sl_error_def *d;

			char		digits[8];

			/* business rows only: "| `code` | PTnnn |" */
			if (sscanf(line, "| `%127[a-z0-9_]` | PT%7[0-9] |", code, digits) != 2)
				continue;
			snprintf(st, sizeof st, "PT%s", digits);
			d = sl_error_lookup(code);
			if (d == NULL || sl_error_sqlstate(d, state) != 0 || strcmp(state, st) != 0)
			{
				all_known = 0;
				printf("# docs/errors.md: %s %s is not in the registry\n", code, st);
				continue;
			}
			if (!seen[d - t]++)
				documented++;
		}
		fclose(f);
		for (i = 0; i < n; i++)
			if (!seen[i])
				printf("# docs/errors.md lacks %s\n", t[i].code);
		free(seen);
		ok(all_known, "errors: every code in docs/errors.md exists with that SQLSTATE");
		ok(documented == n, "errors: docs/errors.md documents all %zu codes (found %zu)", n, documented);
	}
}
