// The 20 API clients of bench/server-load.ts, in their own process so that reading large answers does not
// slow down the process that times /healthz. Each client loops over a mix of the console's reads until the
// time is up, then prints the latencies per kind of request as one JSON line.
// node --import tsx bench/server-load-clients.ts URL COOKIE CLIENTS SECONDS EMAIL

const [url, cookie, clientsArg, secondsArg, email] = process.argv.slice(2);
const clients = Number(clientsArg);
const deadline = performance.now() + Number(secondsArg) * 1000;
const TIMEOUT_MS = 10_000;

const e = encodeURIComponent;
// The console's reads, heaviest last; the 10,000-event list comes once per round of a client.
const MIX: Array<[string, string]> = [
  ["overview", "/api/overview"],
  ["events", "/api/events"],
  ["events", "/api/events?type=login.succeeded"],
  ["overview", "/api/overview"],
  ["events", `/api/events?text=${e(email!)}`],
  ["alerts", "/api/alerts"],
  ["events", "/api/events?text=no-such-string-anywhere"],
  ["overview", "/api/overview"],
  ["alerts", "/api/alerts?status=OPEN&limit=1000"],
  ["events", "/api/events?limit=1000"],
  ["overview", "/api/overview"],
  ["events 10k", "/api/events?limit=10000"],
];

const latencies: Record<string, number[]> = {};
let errors = 0;
let timeouts = 0;
let bytes = 0;

async function client(offset: number): Promise<void> {
  for (let i = offset; performance.now() < deadline; i++) {
    const [kind, path] = MIX[i % MIX.length]!;
    const t = performance.now();
    try {
      const res = await fetch(new URL(path, url), {
        headers: { cookie: cookie! },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      // Read, not parse: the client's CPU is not what is measured.
      bytes += (await res.arrayBuffer()).byteLength;
      if (res.status !== 200) errors++;
      else {
        latencies[kind] ??= [];
        latencies[kind].push(performance.now() - t);
      }
    } catch (err) {
      if ((err as Error).name === "TimeoutError") timeouts++;
      else errors++;
    }
  }
}

await Promise.all(Array.from({ length: clients }, (_, i) => client(i)));
process.stdout.write(`${JSON.stringify({ latencies, errors, timeouts, bytes })}\n`);
