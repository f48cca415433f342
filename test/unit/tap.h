/* Minimal TAP producer for the C unit tests of src/common. */
#ifndef SL_TAP_H
#define SL_TAP_H

#include <stdio.h>

extern int	tap_count;
extern int	tap_failed;

#define ok(cond, ...) \
	do { \
		int ok_ = (cond) ? 1 : 0; \
		tap_count++; \
		if (!ok_) tap_failed++; \
		printf("%sok %d - ", ok_ ? "" : "not ", tap_count); \
		printf(__VA_ARGS__); \
		printf("\n"); \
		if (!ok_) printf("#   failed at %s:%d\n", __FILE__, __LINE__); \
	} while (0)

void		test_validate(void);
void		test_errors(const char *errors_md);
void		test_merkle(void);
void		test_jcs(void);
void		test_note(void);
void		test_token(void);
void		test_webhook(void);
void		test_label(void);
void		test_money(void);
void		test_payment_status(void);
void		test_questions(void);
void		test_jsontext(void);

#endif
