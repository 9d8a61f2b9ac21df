// Fuzz test: 12,000 randomly mutated OpenAI audit records (seeded, so failures reproduce) never make
// the normalizer throw. Each ends normalized (and usable as an event object) or with issues that
// carry a code and a JSON path. Mutations: wrong types, deleted fields, huge strings, deep nesting,
// unicode (including lone surrogates), HTML/script text, prototype-pollution keys, odd key names.

import assert from "node:assert/strict";
import { it } from "node:test";
import { prng } from "../../test/helpers.ts";
import { CLASSIC_EVENT_TYPES } from "../core/event-types.ts";
import { makeEvent } from "../detections/event/index.ts";
import { loadOpenAIAuditLogType } from "./index.ts";
import { ACTORS, CLASSIC_PAYLOADS } from "./openai/golden-cases.ts";

const SEED = 0x5eed_2024;
const COUNT = 12_000;

const rand = prng(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
const int = (max: number) => Math.floor(rand() * max);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const NASTY_STRINGS = [
  "",
  " ",
  "<script>alert(document.cookie)</script>",
  '"><img src=x onerror=alert(1)>',
  "'; DROP TABLE events; --",
  "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🚀🔥 ñ ü é 日本語 العربية",
  "\u202eevil\u202c",
  "zero\u200bwidth",
  "\ud800 lone surrogate",
  "\u0000nul\u0000",
  "a@b.c",
  "999999999999999999999999",
  "1720804090",
  "-1",
  "NaN",
  "Infinity",
  "true",
  '{"json":"in a string"}',
  "2024-07-12T17:08:10Z",
  "../../etc/passwd",
  "$" + "{jndi:ldap://x}",
];
const NASTY_KEYS = [
  "__proto__",
  "constructor",
  "prototype",
  "p_log_type",
  "p_any_emails",
  "a.b.c",
  "@type",
  "",
  " ",
  "日本",
  "toString",
  "hasOwnProperty",
];

function deepNest(depth: number): Json {
  let value: Json = "bottom";
  for (let i = 0; i < depth; i++) value = rand() < 0.5 ? { n: value } : [value];
  return value;
}

function randomValue(): Json {
  switch (int(12)) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2:
      return pick([0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, 1720804090, -0]);
    case 3:
      return pick(NASTY_STRINGS);
    case 4:
      return "x".repeat(1 + int(200_000));
    case 5:
      return deepNest(1 + int(150));
    case 6:
      return [];
    case 7:
      return {};
    case 8:
      return Array.from({ length: int(50) }, () => pick(NASTY_STRINGS));
    case 9:
      return { [pick(NASTY_KEYS)]: { polluted: true } };
    case 10:
      return String.fromCodePoint(...Array.from({ length: 1 + int(40) }, () => int(0x10ffff)));
    default:
      return int(1000);
  }
}

/** Every (parent, key) location of a JSON tree, so a mutation can target any level. */
function locations(root: Json): Array<[Json[] | { [k: string]: Json }, string | number]> {
  const out: Array<[Json[] | { [k: string]: Json }, string | number]> = [];
  const visit = (node: Json, depth: number) => {
    if (depth > 8 || node === null || typeof node !== "object") return;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        out.push([node, i]);
        visit(node[i]!, depth + 1);
      }
      return;
    }
    for (const k of Object.keys(node)) {
      out.push([node, k]);
      visit(node[k]!, depth + 1);
    }
  };
  visit(root, 0);
  return out;
}

function setOwn(obj: { [k: string]: Json }, key: string, value: Json): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function baseEvent(): { [k: string]: Json } {
  const type = pick(CLASSIC_EVENT_TYPES);
  const event: { [k: string]: Json } = {
    object: "organization.audit_log",
    id: `audit_log-${int(1e9).toString(36)}`,
    type,
    effective_at: 1720000000 + int(1e7),
    project: { id: "proj_abc", name: "Default project" },
    actor: structuredClone(pick([ACTORS.session, ACTORS.userKey, ACTORS.serviceAccountKey])) as unknown as Json,
  };
  const payload = CLASSIC_PAYLOADS[type];
  if (payload !== undefined) event[type] = structuredClone(payload) as Json;
  return event;
}

function mutate(event: { [k: string]: Json }): void {
  const rounds = 1 + int(4);
  for (let r = 0; r < rounds; r++) {
    const spots = locations(event);
    const [parent, key] = pick(spots);
    switch (int(6)) {
      case 0: // delete
        if (Array.isArray(parent)) parent.splice(key as number, 1);
        else delete parent[key as string];
        break;
      case 1: // add an odd key
        if (!Array.isArray(parent)) setOwn(parent, pick(NASTY_KEYS), randomValue());
        break;
      case 2: // the top-level fields the schema requires get special attention
        event[pick(["id", "type", "effective_at", "actor"])] = randomValue();
        break;
      default: // replace with a value of any type
        if (Array.isArray(parent)) parent[key as number] = randomValue();
        else setOwn(parent, key as string, randomValue());
    }
  }
}

it(`normalizes ${COUNT} mutated records without throwing`, () => {
  const logType = loadOpenAIAuditLogType();
  const ctx = { sourceId: "fuzz", sourceLabel: "fuzz", parseTimeMs: Date.UTC(2025, 0, 1) };
  const codes = new Map<string, number>();
  let normalized = 0;
  for (let i = 0; i < COUNT; i++) {
    const event = baseEvent();
    if (i % 10 !== 0) mutate(event); // one in ten stays valid
    // Through JSON text, as records arrive: "__proto__" becomes an own key here.
    const raw: unknown = JSON.parse(JSON.stringify(event));
    let result: ReturnType<typeof logType.normalize>;
    try {
      result = logType.normalize(raw, ctx);
    } catch (err) {
      assert.fail(`record ${i} made normalize throw: ${String(err)}`);
    }
    if (result.ok) {
      normalized++;
      assert.equal(result.record.p_log_type, "OpenAI.Audit");
      assert.match(String(result.record.p_event_time), /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{9}$/);
      assert.ok(Number.isFinite(result.eventTimeMs));
      JSON.stringify(result.record);
      const ev = makeEvent(result.record);
      ev.deepGet("actor", "user", "email", { default: "Unknown" });
      ev.udm("actor_user");
      ev.udm("source_ip");
    } else {
      assert.ok(result.issues.length > 0, `record ${i}: failed without issues`);
      for (const issue of result.issues) {
        assert.equal(typeof issue.code, "string");
        assert.ok(issue.code.length > 0);
        assert.notEqual(issue.code, "internal_error", `record ${i}: ${issue.message}`);
        assert.match(issue.path, /^\$/);
        assert.equal(typeof issue.message, "string");
        codes.set(issue.code, (codes.get(issue.code) ?? 0) + 1);
      }
    }
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined, "Object.prototype was polluted");
  // The mutations reach both outcomes and the main issue kinds.
  assert.ok(normalized > COUNT * 0.2, `only ${normalized} normalized`);
  assert.ok(COUNT - normalized > COUNT * 0.2, `only ${COUNT - normalized} rejected`);
  for (const code of ["missing_required", "wrong_type", "bad_timestamp", "too_deep"])
    assert.ok(codes.has(code), `no ${code}`);
});
