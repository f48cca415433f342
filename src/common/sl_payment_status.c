/*
 * sl_payment_status.c - the payment status machine (see sl_payment_status.h).
 */
#include "sl_payment_status.h"

#include <stddef.h>
#include <string.h>

static const char *const ranked[] = {"created", "open", "pending", "authorized"};
static const char *const reported[] = {"open", "pending", "authorized", "paid", "failed", "canceled", "expired"};

int
sl_payment_status_rank(const char *status)
{
	for (size_t i = 0; status != NULL && i < sizeof ranked / sizeof ranked[0]; i++)
		if (strcmp(status, ranked[i]) == 0)
			return (int) i;
	return SL_PAYMENT_FINAL;
}

bool
sl_payment_status_moves(const char *from, const char *to)
{
	int			f = sl_payment_status_rank(from);

	return f != SL_PAYMENT_FINAL && sl_payment_status_rank(to) > f;
}

bool
sl_payment_status_known(const char *status)
{
	for (size_t i = 0; status != NULL && i < sizeof reported / sizeof reported[0]; i++)
		if (strcmp(status, reported[i]) == 0)
			return true;
	return false;
}
