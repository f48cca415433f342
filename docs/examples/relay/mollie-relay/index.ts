// mollie-relay: creates startlijn's payments at Mollie, sends requested
// refunds and reports the payments Mollie's classic webhook named
// (docs/relays.md). Deploy with
//   supabase functions deploy mollie-relay
// and call it with POST (pg_cron + pg_net, or Supabase Cron) every minute.
import { relayHandler } from "../_shared/startlijn.ts";
import { mollieAdapter } from "./mollie.ts";

Deno.serve(relayHandler(mollieAdapter));
