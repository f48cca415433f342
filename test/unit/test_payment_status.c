#include "tap.h"

#include "common/sl_payment_status.h"

void
test_payment_status(void)
{
	ok(sl_payment_status_rank("created") == 0, "payment status: created ranks 0");
	ok(sl_payment_status_rank("open") == 1, "payment status: open ranks 1");
	ok(sl_payment_status_rank("pending") == 2, "payment status: pending ranks 2");
	ok(sl_payment_status_rank("authorized") == 3, "payment status: authorized ranks 3");
	ok(sl_payment_status_rank("paid") == 4 && sl_payment_status_rank("failed") == 4 &&
	   sl_payment_status_rank("canceled") == 4 && sl_payment_status_rank("expired") == 4,
	   "payment status: paid, failed, canceled and expired are final");
	ok(sl_payment_status_rank("bogus") == 4 && sl_payment_status_rank(NULL) == 4 &&
	   sl_payment_status_rank("") == 4 && sl_payment_status_rank("Open") == 4,
	   "payment status: unknown text and NULL rank as final");
	ok(sl_payment_status_moves("created", "open") && sl_payment_status_moves("open", "paid") &&
	   sl_payment_status_moves("pending", "authorized") && sl_payment_status_moves("authorized", "canceled"),
	   "payment status: forward moves are allowed");
	ok(!sl_payment_status_moves("pending", "open") && !sl_payment_status_moves("open", "open") &&
	   !sl_payment_status_moves("authorized", "created"),
	   "payment status: backward and same-rank moves are refused");
	ok(!sl_payment_status_moves("paid", "failed") && !sl_payment_status_moves("failed", "paid") &&
	   !sl_payment_status_moves("expired", "open"),
	   "payment status: a final status never changes");
	ok(sl_payment_status_known("paid") && sl_payment_status_known("open") && !sl_payment_status_known("created") &&
	   !sl_payment_status_known(NULL) && !sl_payment_status_known("refunded"),
	   "payment status: what an event may report");
}
