// The part of the reference relays (docs/relays.md) that talks to startlijn:
// configuration, the PostgREST RPC calls, the run loop, the HTTP handler and
// logging. Each provider's function (stripe-relay, mollie-relay) adds an
// Adapter that talks to the provider. Deno, Web APIs only: no imports, so
// it runs as a Supabase Edge Function and offline in `make test`.
//
// A run: claim payments to create (api.payments_to_create), create each at
// the provider with the startlijn payment id as the Idempotency-Key, record
// it (api.record_provider_payment); the same for refunds
// (api.refunds_to_send, api.record_refund_sent) and, for Mollie, payment
// fetches (api.payment_fetches, api.record_payment_status). Whatever fails
// is logged and left: its lease expires and a later run retries it with the
// same Idempotency-Key. Secrets (the service key, the provider's API key,
// client secrets) are never logged.

export type RefundStatus = "pending" | "succeeded" | "failed" | "canceled";

/** A row of api.payments_to_create. */
export interface PaymentToCreate {
  payment_id: string;
  organization_id: string;
  provider: string;
  account_id: string;
  account: string;
  amount: number;
  currency: string;
  payable_ref: string;
  metadata: Record<string, unknown>;
  created_at: string;
  attempts: number;
  leased_until: string;
}

/** A row of api.refunds_to_send. */
export interface RefundToSend {
  refund_id: string;
  payment_id: string;
  organization_id: string;
  provider: string;
  account_id: string;
  account: string;
  payment_provider_ref: string;
  amount: number;
  currency: string;
  reason: string | null;
  created_at: string;
  attempts: number;
  leased_until: string;
}

/** A row of api.payment_fetches (Mollie classic webhooks). */
export interface PaymentFetch {
  provider_ref: string;
  payment_id: string;
  requested_at: string;
  deliveries: number;
}

export interface CreatedPayment {
  provider_ref: string;
  checkout_url?: string;
  client_secret?: string;
}

export interface SentRefund {
  provider_ref: string;
  status: RefundStatus;
}

export interface FetchedPayment {
  status: string;
  amount: number;
  currency: string;
}

/** What a provider's function implements. */
export interface Adapter {
  provider: "stripe" | "mollie";
  createPayment(p: PaymentToCreate): Promise<CreatedPayment>;
  sendRefund(r: RefundToSend): Promise<SentRefund>;
  fetchPayment?(providerRef: string): Promise<FetchedPayment>;
}

export interface Config {
  supabaseUrl: string;
  serviceKey: string;
  account?: string;
  batch: number;
  maxSeconds: number;
  timeoutMs: number;
}

/** An HTTP call that did not succeed: where, the status (0: no answer) and a
 * short code from the answer (never the request, never a secret). */
export class HttpError extends Error {
  constructor(public where: string, public status: number, public code: string, message: string) {
    super(message);
    this.name = "HttpError";
  }
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export function env(name: string): string | undefined {
  const v = Deno.env.get(name);
  return v === undefined || v === "" ? undefined : v;
}

export function requireEnv(name: string): string {
  const v = env(name);
  if (v === undefined) throw new ConfigError(`${name} is not set`);
  return v;
}

function intEnv(name: string, fallback: number, min: number, max: number): number {
  const v = env(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}`);
  }
  return n;
}

/** A base URL from the environment: https, or http on loopback (a test's stand-in). */
export function baseUrl(name: string, fallback: string): string {
  const raw = (env(name) ?? fallback).replace(/\/+$/, "");
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a URL`);
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(u.hostname);
  if (u.protocol !== "https:" && !(u.protocol === "http:" && loopback)) {
    throw new ConfigError(`${name} must be an https URL (http only on loopback)`);
  }
  return raw;
}

/** A key of the JSON dictionaries Supabase gives functions (SUPABASE_SECRET_KEYS, ...). */
function fromKeyDictionary(name: string): string | undefined {
  const v = env(name);
  if (v === undefined) return undefined;
  try {
    const d = JSON.parse(v) as Record<string, unknown>;
    const k = typeof d.default === "string" ? d.default : Object.values(d).find((x) => typeof x === "string");
    return typeof k === "string" ? k : undefined;
  } catch {
    return undefined;
  }
}

export function config(): Config {
  const serviceKey = env("RELAY_SERVICE_KEY") ?? env("SUPABASE_SERVICE_ROLE_KEY") ??
    fromKeyDictionary("SUPABASE_SECRET_KEYS");
  if (serviceKey === undefined) {
    throw new ConfigError("no service key: set RELAY_SERVICE_KEY or SUPABASE_SERVICE_ROLE_KEY");
  }
  const account = env("RELAY_ACCOUNT");
  if (account !== undefined && !/^[a-z0-9][a-z0-9._-]{0,62}$/.test(account)) {
    throw new ConfigError("RELAY_ACCOUNT is not an account name");
  }
  return {
    supabaseUrl: baseUrl("SUPABASE_URL", ""),
    serviceKey,
    account,
    batch: intEnv("RELAY_BATCH", 10, 1, 100),
    maxSeconds: intEnv("RELAY_MAX_SECONDS", 50, 1, 900),
    timeoutMs: intEnv("RELAY_TIMEOUT_MS", 15000, 1000, 120000),
  };
}

/** The publishable (anon) key, for URLs the provider calls back through the gateway. */
export function anonKey(): string | undefined {
  return env("SUPABASE_ANON_KEY") ?? fromKeyDictionary("SUPABASE_PUBLISHABLE_KEYS");
}

// ---- money -----------------------------------------------------------------

// minor-unit exponents, as the engine's (src/common/sl_money.c)
const ZERO_DECIMALS = ["JPY", "KRW", "ISK", "CLP", "VND", "XOF", "XAF", "UGX", "PYG"];
const THREE_DECIMALS = ["BHD", "KWD", "JOD", "OMR", "TND", "LYD", "IQD"];

export function exponent(currency: string): number {
  const c = currency.toUpperCase();
  return ZERO_DECIMALS.includes(c) ? 0 : THREE_DECIMALS.includes(c) ? 3 : 2;
}

/** 1250 EUR -> "12.50"; 1000 JPY -> "1000" (Mollie's amount.value). */
export function toDecimal(minor: number, currency: string): string {
  if (!Number.isSafeInteger(minor) || minor < 0) throw new Error(`not an amount in minor units: ${minor}`);
  const e = exponent(currency);
  if (e === 0) return String(minor);
  const s = String(minor).padStart(e + 1, "0");
  return `${s.slice(0, -e)}.${s.slice(-e)}`;
}

/** "12.50" EUR -> 1250; a value with another number of decimals is refused. */
export function toMinor(value: string, currency: string): number {
  const e = exponent(currency);
  const m = e === 0 ? /^(\d+)$/.exec(value) : new RegExp(`^(\\d+)\\.(\\d{${e}})$`).exec(value);
  if (!m) throw new Error(`not a ${currency} amount with ${e} decimals: ${value}`);
  const n = Number(m[1] + (m[2] ?? ""));
  if (!Number.isSafeInteger(n)) throw new Error(`amount out of range: ${value}`);
  return n;
}

// ---- logging ---------------------------------------------------------------

/** One JSON line per event. Callers pass only ids, statuses and codes. */
export function log(level: "info" | "warn" | "error", event: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ at: new Date().toISOString(), level, event, ...fields });
  if (level === "error") console.error(line);
  else console.log(line);
}

function errorFields(e: unknown): Record<string, unknown> {
  if (e instanceof HttpError) return { where: e.where, http_status: e.status, code: e.code, message: e.message };
  if (e instanceof Error) return { message: e.message };
  return { message: String(e) };
}

// ---- HTTP ------------------------------------------------------------------

/** fetch with a timeout; the parsed JSON answer, or HttpError. */
export async function callJson(
  where: string,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  errorCode: (body: unknown) => string,
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new HttpError(where, 0, e instanceof Error ? e.name : "network", `no answer from ${where}`);
  }
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text === "" ? null : JSON.parse(text);
  } catch {
    body = null;
  }
  if (!res.ok) {
    throw new HttpError(where, res.status, errorCode(body) || `http_${res.status}`, `${where} answered ${res.status}`);
  }
  if (body === null) throw new HttpError(where, res.status, "not_json", `${where} answered without JSON`);
  return body;
}

/** A service key that is a JWT (the legacy service_role key) is sent as the
 * bearer token too; a new secret key (sb_secret_...) only as apikey: the
 * gateway turns it into the service role. */
function isJwt(key: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(key);
}

/** POST {SUPABASE_URL}/rest/v1/rpc/<fn> as the service role. */
export function rpc<T>(cfg: Config, fn: string, args: Record<string, unknown>): Promise<T> {
  const headers: Record<string, string> = {
    "apikey": cfg.serviceKey,
    "Content-Type": "application/json",
    "Accept": "application/json",
  };
  if (isJwt(cfg.serviceKey)) headers["Authorization"] = `Bearer ${cfg.serviceKey}`;
  return callJson(
    `startlijn ${fn}`,
    `${cfg.supabaseUrl}/rest/v1/rpc/${fn}`,
    { method: "POST", headers, body: JSON.stringify(args) },
    cfg.timeoutMs,
    (b) => {
      // PostgREST: {code, message, details: "<stable code>: ...", hint}
      const o = (b ?? {}) as Record<string, unknown>;
      const d = typeof o.details === "string" ? o.details.split(":")[0] : "";
      return d || (typeof o.code === "string" ? o.code : "");
    },
  ) as Promise<T>;
}

// ---- the run ---------------------------------------------------------------

export interface Counts {
  claimed: number;
  done: number;
  failed: number;
}

export interface Summary {
  provider: string;
  ok: boolean;
  payments: Counts;
  refunds: Counts;
  fetches: Counts;
}

/** Claim batches until a claim comes back empty or the time is up; each item is done, or left for its lease to
 * expire (a failed item stays leased, so the loop ends). */
async function drain<T>(
  what: string,
  claim: () => Promise<T[]>,
  work: (item: T) => Promise<void>,
  counts: Counts,
  deadline: number,
): Promise<boolean> {
  while (Date.now() < deadline) {
    let batch: T[];
    try {
      batch = await claim();
    } catch (e) {
      log("error", `${what}_claim_failed`, errorFields(e));
      return false;
    }
    if (batch.length === 0) break;
    counts.claimed += batch.length;
    for (const item of batch) {
      try {
        await work(item);
        counts.done++;
      } catch (e) {
        counts.failed++;
        const id = item as Record<string, unknown>;
        log("error", `${what}_failed`, {
          payment_id: id.payment_id,
          refund_id: id.refund_id,
          attempt: id.attempts,
          ...errorFields(e),
        });
      }
    }
    // a short batch does not end the run: a payment's next refund becomes
    // claimable only once the one before it is recorded
  }
  return true;
}

export async function runRelay(cfg: Config, adapter: Adapter): Promise<Summary> {
  const deadline = Date.now() + cfg.maxSeconds * 1000;
  const filter = { provider: adapter.provider, ...(cfg.account ? { account: cfg.account } : {}) };
  const s: Summary = {
    provider: adapter.provider,
    ok: true,
    payments: { claimed: 0, done: 0, failed: 0 },
    refunds: { claimed: 0, done: 0, failed: 0 },
    fetches: { claimed: 0, done: 0, failed: 0 },
  };
  s.ok = await drain<PaymentToCreate>(
    "payment",
    () => rpc(cfg, "payments_to_create", { max_rows: cfg.batch, ...filter }),
    async (p) => {
      const made = await adapter.createPayment(p);
      await rpc(cfg, "record_provider_payment", {
        payment_id: p.payment_id,
        provider_ref: made.provider_ref,
        ...(made.checkout_url ? { checkout_url: made.checkout_url } : {}),
        ...(made.client_secret ? { client_secret: made.client_secret } : {}),
      });
      log("info", "payment_created", {
        payment_id: p.payment_id,
        provider_ref: made.provider_ref,
        attempt: p.attempts,
      });
    },
    s.payments,
    deadline,
  ) && s.ok;
  s.ok = await drain<RefundToSend>(
    "refund",
    () => rpc(cfg, "refunds_to_send", { max_rows: cfg.batch, ...filter }),
    async (r) => {
      const sent = await adapter.sendRefund(r);
      await rpc(cfg, "record_refund_sent", {
        refund_id: r.refund_id,
        status: sent.status,
        provider_ref: sent.provider_ref,
      });
      log("info", "refund_sent", { refund_id: r.refund_id, provider_ref: sent.provider_ref, status: sent.status });
    },
    s.refunds,
    deadline,
  ) && s.ok;
  const fetchPayment = adapter.fetchPayment?.bind(adapter);
  if (fetchPayment) {
    s.ok = await drain<PaymentFetch>(
      "fetch",
      () => rpc(cfg, "payment_fetches", { max_rows: cfg.batch }),
      async (f) => {
        const got = await fetchPayment(f.provider_ref);
        const r = await rpc<{ outcome: string }>(cfg, "record_payment_status", {
          provider: adapter.provider,
          provider_ref: f.provider_ref,
          status: got.status,
          amount: got.amount,
          currency: got.currency,
        });
        log("info", "payment_fetched", {
          payment_id: f.payment_id,
          provider_ref: f.provider_ref,
          status: got.status,
          outcome: r.outcome,
        });
      },
      s.fetches,
      deadline,
    ) && s.ok;
  }
  log(s.ok ? "info" : "error", "run", { ...s });
  return s;
}

/** The Edge Function: POST runs the relay once and answers its summary
 * (502 when startlijn could not be reached, 500 when misconfigured). */
export function relayHandler(makeAdapter: () => Adapter): (req: Request) => Promise<Response> {
  return async (req: Request): Promise<Response> => {
    if (req.method !== "POST") {
      return Response.json({ error: "POST runs the relay" }, { status: 405, headers: { Allow: "POST" } });
    }
    let cfg: Config, adapter: Adapter;
    try {
      cfg = config();
      adapter = makeAdapter();
    } catch (e) {
      log("error", "misconfigured", errorFields(e));
      return Response.json({ error: "misconfigured", message: e instanceof Error ? e.message : String(e) }, {
        status: 500,
      });
    }
    const summary = await runRelay(cfg, adapter);
    return Response.json(summary, { status: summary.ok ? 200 : 502 });
  };
}
