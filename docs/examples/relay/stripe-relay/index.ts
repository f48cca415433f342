// stripe-relay: creates startlijn's payments as Stripe PaymentIntents and
// sends requested refunds to Stripe (docs/relays.md). Deploy with
//   supabase functions deploy stripe-relay
// and call it with POST (pg_cron + pg_net, or Supabase Cron) every minute.
import { relayHandler } from "../_shared/startlijn.ts";
import { stripeAdapter } from "./stripe.ts";

Deno.serve(relayHandler(stripeAdapter));
