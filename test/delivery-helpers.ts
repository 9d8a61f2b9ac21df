// Shared set-up of the delivery tests: a store with a source, alerts, and webhook destinations pointing at
// local servers. Secrets go through a real SecretBox (the key file lives in the test's data dir), so that a
// child process opening the same directory can decrypt them.

import type { RuleMatch } from "../src/core/detection.ts";
import type { SourceRecord } from "../src/core/source.ts";
import { openSecretBox, type SecretBox } from "../src/secrets/secret-box.ts";
import type { Store } from "../src/storage/ports.ts";
import { ruleMatch, sourceSettings } from "./storage-contract.ts";

export const WEBHOOK_SECRET = "s3cret-signing-key-0123456789";
export const T0 = 1_700_000_000;

export function secretBoxIn(dataDir: string): SecretBox {
  return openSecretBox({ dataDir });
}

export async function addSource(store: Store, name = "acme"): Promise<SourceRecord> {
  return store.createSource(sourceSettings(name), { ciphertext: "v1:unused" });
}

/** Creates `count` alerts (one match each, distinct dedup strings) through the derived-match path. */
export async function createAlerts(
  store: Store,
  source: SourceRecord,
  count: number,
  overrides: Partial<RuleMatch> = {},
): Promise<string[]> {
  const matches = Array.from({ length: count }, (_, i) =>
    ruleMatch(source.id, `evt-${i}-${Math.random().toString(36).slice(2)}`, T0 + i, {
      dedupString: `user-${i}-${Math.random()}`,
      severity: "HIGH",
      ...overrides,
    }),
  );
  return (await store.applyDerivedMatches(source.id, matches)).createdAlertIds;
}

export async function addWebhook(
  store: Store,
  secrets: SecretBox,
  name: string,
  url: string,
  options: { minSeverity?: "INFO" | "HIGH" | "CRITICAL"; timeoutSecs?: number; includeHistory?: boolean } = {},
) {
  return store.createDestination({
    name,
    type: "webhook",
    minSeverity: options.minSeverity ?? "INFO",
    logTypes: [],
    config: secrets.encrypt(
      JSON.stringify({
        url,
        secret: WEBHOOK_SECRET,
        ...(options.timeoutSecs ? { timeout_secs: options.timeoutSecs } : {}),
        ...(options.includeHistory ? { include_history: true } : {}),
      }),
    ),
  });
}
