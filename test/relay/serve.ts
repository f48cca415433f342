// Serves an Edge Function's index.ts unchanged, as the edge runtime would,
// but on 127.0.0.1 and a free port, printing "LISTEN <port>" (test/relay/run.py).
//   deno run --allow-net=127.0.0.1 --allow-env --allow-read test/relay/serve.ts docs/examples/relay/stripe-relay/index.ts
type Handler = (req: Request) => Response | Promise<Response>;
const real = Deno.serve.bind(Deno);
// deno-lint-ignore no-explicit-any
(Deno as any).serve = (handler: Handler) =>
  real({
    hostname: "127.0.0.1",
    port: 0,
    onListen: ({ port }) => console.log(`LISTEN ${port}`),
  }, handler);
await import(new URL(Deno.args[0], `file://${Deno.cwd()}/`).href);
