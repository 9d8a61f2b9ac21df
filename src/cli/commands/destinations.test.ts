// `vigil destinations …` run as a user would (real processes); secrets must never show up in output or
// in the database file in clear.

import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { addSource, createAlerts } from "../../../test/delivery-helpers.ts";
import { runVigil, type VigilRun } from "../../../test/helpers.ts";
import { reply, startHttpServer, type TestServer } from "../../destinations/test-support.ts";
import { openSqliteStore } from "../../storage/sqlite/sqlite-store.ts";

const HMAC_SECRET = "hmac-secret-never-shown-0123456789";
const SLACK_URL = "https://hooks.slack.com/services/T000/B000/tokenNeverShown42";

type Result = VigilRun;

const vigil = (args: string[], env: NodeJS.ProcessEnv, stdin = "") =>
  runVigil(args, { VIGIL_DESTINATION_SECRET: "", ...env }, stdin);

function assertNoSecrets(r: Result): void {
  for (const secret of [HMAC_SECRET, SLACK_URL, "tokenNeverShown42"]) {
    assert.ok(!r.stdout.includes(secret), "a secret was printed on stdout");
    assert.ok(!r.stderr.includes(secret), "a secret was printed on stderr");
  }
}

describe("vigil destinations", { timeout: 300_000 }, () => {
  let dir: string;
  let server: TestServer;
  let failing = false;
  const env = () => ({ VIGIL_DATA_DIR: dir });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "vigil-destinations-cli-"));
    server = await startHttpServer((_req, res) => reply(res, failing ? 500 : 200));
  });

  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("adds a webhook with its secret from the environment and a Slack destination from stdin", async () => {
    const hook = await vigil(
      ["destinations", "add", "webhook", "--name", "siem", "--min-severity", "high", "--url", `${server.origin}/in`],
      env(),
      HMAC_SECRET,
    );
    // --secret-env not given and the default variable empty: the secret comes from stdin.
    assert.equal(hook.code, 0, hook.stderr);
    assertNoSecrets(hook);
    const viaEnv = await vigil(
      ["destinations", "add", "webhook", "--name", "siem2", "--secret-env", "MY_SECRET", "--url", `${server.origin}/2`],
      { ...env(), MY_SECRET: HMAC_SECRET },
    );
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.match(viaEnv.stdout, /Added destination siem2 \(webhook/);
    assertNoSecrets(viaEnv);
    await vigil(["destinations", "remove", "siem"], env());

    const slack = await vigil(
      ["destinations", "add", "slack", "--name", "chat", "--log-type", "OpenAI.Audit"],
      env(),
      `${SLACK_URL}\n`,
    );
    assert.equal(slack.code, 0, slack.stderr);
    assertNoSecrets(slack);
  });

  it("rejects an invalid config without echoing the secret", async () => {
    const r = await vigil(
      ["destinations", "add", "webhook", "--name", "bad", "--url", server.origin],
      env(),
      "short-9x",
    );
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /at least 16 characters/);
    assert.ok(!r.stderr.includes("short-9x"));
    const noSecret = await vigil(["destinations", "add", "pagerduty", "--name", "pd"], env(), "");
    assert.notEqual(noSecret.code, 0);
    assert.match(noSecret.stderr, /never taken from the command line/);
  });

  it("lists destinations without secrets", async () => {
    const r = await vigil(["destinations", "list"], env());
    assert.equal(r.code, 0, r.stderr);
    // Added without --min-severity: each gets its type's default (Slack MEDIUM: read by people; a webhook INFO).
    assert.match(r.stdout, /^chat\tslack\tMEDIUM\+\tOpenAI\.Audit\t/m);
    assert.match(r.stdout, /^siem2\twebhook\tINFO\+\tall log types\t/m);
    const help = await vigil(["destinations", "add", "--help"], env());
    assert.match(help.stdout.replace(/\s+/g, " "), /default by type: slack MEDIUM, webhook INFO, pagerduty HIGH/);
    assertNoSecrets(r);
    const json = await vigil(["destinations", "list", "--json"], env());
    const rows = json.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      rows.map((d) => d.name),
      ["chat", "siem2"],
    );
    assert.ok(rows.every((d) => !("config" in d)));
    assertNoSecrets(json);
  });

  it("keeps the secrets out of the database file in clear", async () => {
    for (const file of readdirSync(dir).filter((f) => f.startsWith("vigil.db"))) {
      const bytes = readFileSync(join(dir, file)).toString("latin1");
      assert.ok(!bytes.includes(HMAC_SECRET), `${file} holds the webhook secret in clear`);
      assert.ok(!bytes.includes("tokenNeverShown42"), `${file} holds the Slack URL in clear`);
    }
  });

  it("test sends a sample alert and reports the result; a failure exits non-zero", async () => {
    const ok = await vigil(["destinations", "test", "siem2"], env());
    assert.equal(ok.code, 0, ok.stderr);
    const result = JSON.parse(ok.stdout) as { ok: boolean; destination: string; status: number };
    assert.deepEqual([result.ok, result.destination, result.status], [true, "siem2", 200]);
    const request = server.requests.at(-1);
    assert.equal(request?.url, "/2");
    const body = JSON.parse(request?.body ?? "{}") as { notification: { kind: string } };
    assert.equal(body.notification.kind, "test");
    assertNoSecrets(ok);

    failing = true;
    const bad = await vigil(["destinations", "test", "siem2"], env());
    failing = false;
    assert.equal(bad.code, 1);
    assert.equal((JSON.parse(bad.stdout) as { ok: boolean }).ok, false);
    assertNoSecrets(bad);
  });

  it("lists each destination's delivery health, and sends its dead letters again", async () => {
    // A delivery to siem2 given up, as the delivery worker records it.
    const store = await openSqliteStore({ path: join(dir, "vigil.db") });
    try {
      const [alertId] = await createAlerts(store, await addSource(store), 1);
      const entry = (await store.listUnroutedOutbox(10)).find((e) => e.alertId === alertId);
      const siem2 = await store.getDestination("siem2");
      assert.ok(entry && siem2);
      await store.routeOutboxEntry(entry.id, [{ id: siem2.id, name: siem2.name }], 0);
      const [d] = await store.claimDeliveries({ nowMs: 0, leaseMs: 1000, limit: 1 });
      assert.ok(d);
      await store.recordDeliveryAttempt({
        deliveryId: d.id,
        leaseToken: d.leaseToken,
        atMs: Date.UTC(2026, 11, 5, 10),
        outcome: "failed",
        error: "HTTP 500",
        durationMs: 1,
      });
    } finally {
      await store.close();
    }
    const list = await vigil(["destinations", "list"], env());
    assert.match(list.stdout, /^siem2\t.*\tfailing since 2026-12-05T10:00:00Z \(deliveries given up\): HTTP 500$/m);
    assert.match(list.stdout, /^chat\t.*\tdelivering$/m);
    const dead = await vigil(["destinations", "dead", "siem2"], env());
    assert.equal(dead.code, 0, dead.stderr);
    assert.match(dead.stdout, /^2026-12-05T10:00:00Z\tcreated\t\S+\t1 attempt\tretry sends it again\tHTTP 500$/m);
    const json = await vigil(["destinations", "dead", "siem2", "--json"], env());
    assert.deepEqual(
      json.stdout
        .trim()
        .split("\n")
        .map((line) => (JSON.parse(line) as { sendAgain: boolean; lastError: string }).lastError),
      ["HTTP 500"],
    );
    const retry = await vigil(["destinations", "retry", "siem2"], env());
    assert.equal(retry.code, 0, retry.stderr);
    assert.match(retry.stdout, /Queued 1 dead letter of siem2/);
    const again = await vigil(["destinations", "retry", "siem2"], env());
    assert.match(again.stdout, /siem2 has no dead letters to send again/);
    const none = await vigil(["destinations", "dead", "siem2"], env());
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, "");
    assert.match(none.stderr, /siem2 has no dead letters/);
  });

  it("removes a destination; removing it again fails", async () => {
    const r = await vigil(["destinations", "remove", "siem2"], env());
    assert.equal(r.code, 0, r.stderr);
    const list = await vigil(["destinations", "list"], env());
    assert.doesNotMatch(list.stdout, /siem2/);
    const again = await vigil(["destinations", "remove", "siem2"], env());
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /no destination named/);
  });

  it("takes a webhook's credential header from the environment, never from the command line", async () => {
    const add = (extra: NodeJS.ProcessEnv) =>
      vigil(
        [
          ...["destinations", "add", "webhook", "--name", "siem-auth", "--secret-env", "MY_SECRET"],
          ...["--url", `${server.origin}/auth`, "--header-env", "Authorization=SIEM_AUTH"],
        ],
        { ...env(), MY_SECRET: HMAC_SECRET, ...extra },
      );
    const unset = await add({});
    assert.notEqual(unset.code, 0);
    assert.match(unset.stderr, /--header-env Authorization: SIEM_AUTH is not set/);
    const onArgv = await vigil(
      [
        ...["destinations", "add", "webhook", "--name", "siem-argv", "--secret-env", "MY_SECRET"],
        ...["--url", `${server.origin}/auth`, "--header", "Authorization: Bearer tokenNeverShown42"],
      ],
      { ...env(), MY_SECRET: HMAC_SECRET },
    );
    assert.notEqual(onArgv.code, 0);
    assert.match(onArgv.stderr, /never taken from the command line.*--header-env Authorization=VAR/s);
    // Not only Authorization: a gateway's key header is a credential too.
    const keyOnArgv = await vigil(
      [
        ...["destinations", "add", "webhook", "--name", "siem-key", "--secret-env", "MY_SECRET"],
        ...["--url", `${server.origin}/auth`, "--header", "Ocp-Apim-Subscription-Key: keyNeverShown42"],
      ],
      { ...env(), MY_SECRET: HMAC_SECRET },
    );
    assert.notEqual(keyOnArgv.code, 0);
    assert.match(keyOnArgv.stderr, /never taken from the command line/);
    const added = await add({ SIEM_AUTH: "Bearer tokenNeverShown42" });
    assert.equal(added.code, 0, added.stderr);
    assertNoSecrets(added);
    const sent = await vigil(["destinations", "test", "siem-auth"], env());
    assert.equal(sent.code, 0, sent.stderr);
    assert.equal(server.requests.at(-1)?.headers.authorization, "Bearer tokenNeverShown42");
    assertNoSecrets(sent);
    assert.equal((await vigil(["destinations", "remove", "siem-auth"], env())).code, 0);
  });
});
