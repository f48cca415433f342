/*
 * sl_payment_status.h - the payment status machine (pure C, no postgres.h).
 *
 * The one definition of the order of payment statuses: the apply path
 * (src/payments/apply.c) and the guard trigger of payments.payments
 * (payments._rank, a C function over this, extension/startlijn_payments/
 * status.sql) both use it. docs/payments.md, "State machine", describes it.
 *
 *   created 0 -> open 1 -> pending 2 -> authorized 3 -> paid | failed | canceled | expired 4
 *
 * A status only moves to a higher rank; rank 4 (final) never changes.
 * Unknown text ranks as final, so a status the machine does not know is
 * never moved away from.
 */
#ifndef SL_PAYMENT_STATUS_H
#define SL_PAYMENT_STATUS_H

#include <stdbool.h>

#define SL_PAYMENT_FINAL 4

/* the rank of a status (NULL and unknown text: SL_PAYMENT_FINAL) */
int			sl_payment_status_rank(const char *status);

/* may a payment move from status `from` to `to`? */
bool		sl_payment_status_moves(const char *from, const char *to);

/* a status a provider event may report (every status but created) */
bool		sl_payment_status_known(const char *status);

#endif
