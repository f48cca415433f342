/* Runs every unit test of src/common and prints TAP. argv[1]: docs/errors.md */
#include "tap.h"

#include <sodium.h>

int			tap_count = 0;
int			tap_failed = 0;

int
main(int argc, char **argv)
{
	if (sodium_init() < 0)
	{
		printf("Bail out! sodium_init failed\n");
		return 1;
	}
	test_validate();
	test_merkle();
	test_jcs();
	test_note();
	test_token();
	test_webhook();
	test_label();
	test_money();
	test_payment_status();
	test_jsontext();
	test_questions();
	test_errors(argc > 1 ? argv[1] : "docs/errors.md");
	printf("1..%d\n", tap_count);
	return tap_failed ? 1 : 0;
}
