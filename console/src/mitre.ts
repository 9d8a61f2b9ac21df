// MITRE ATT&CK in rules' `Reports` (Panther's `Reports: {"MITRE ATT&CK": ["TA0004:T1098"]}`; Vigil's own packs
// also use the key "MITRE"): parsed into tactic/technique pairs and named for display. The names are the
// Enterprise matrix's; an id not listed here is shown by its id alone.

import type { Rec } from "./format.ts";

/** The Enterprise tactics, TA0001–TA0043. */
export const TACTICS: Readonly<Record<string, string>> = {
  TA0043: "Reconnaissance",
  TA0042: "Resource Development",
  TA0001: "Initial Access",
  TA0002: "Execution",
  TA0003: "Persistence",
  TA0004: "Privilege Escalation",
  TA0005: "Defense Evasion",
  TA0006: "Credential Access",
  TA0007: "Discovery",
  TA0008: "Lateral Movement",
  TA0009: "Collection",
  TA0011: "Command and Control",
  TA0010: "Exfiltration",
  TA0040: "Impact",
};

/** The matrix's order (reconnaissance to impact), for listing tactics the way analysts read them. */
const TACTIC_ORDER = Object.keys(TACTICS);

/** Techniques the shipped packs map to (a technique elsewhere shows its id). */
const TECHNIQUES: Readonly<Record<string, string>> = {
  T1078: "Valid Accounts",
  "T1078.004": "Valid Accounts: Cloud Accounts",
  T1098: "Account Manipulation",
  "T1098.001": "Account Manipulation: Additional Cloud Credentials",
  "T1098.003": "Account Manipulation: Additional Cloud Roles",
  T1110: "Brute Force",
  "T1110.003": "Brute Force: Password Spraying",
  "T1110.004": "Brute Force: Credential Stuffing",
  "T1136.003": "Create Account: Cloud Account",
  "T1484.002": "Domain or Tenant Policy Modification: Trust Modification",
  T1485: "Data Destruction",
  T1486: "Data Encrypted for Impact",
  T1489: "Service Stop",
  T1496: "Resource Hijacking",
  T1537: "Transfer Data to Cloud Account",
  T1556: "Modify Authentication Process",
  T1562: "Impair Defenses",
  "T1562.007": "Impair Defenses: Disable or Modify Cloud Firewall",
  "T1562.008": "Impair Defenses: Disable or Modify Cloud Logs",
  T1572: "Protocol Tunneling",
};

export interface Attack {
  tactic: string;
  /** Empty when the entry names a tactic only. */
  technique: string;
}

export function tacticName(id: string): string {
  return TACTICS[id] ?? id;
}

export function techniqueName(id: string): string | undefined {
  return TECHNIQUES[id];
}

/** Orders tactic ids as the matrix does; unknown ids after the known ones, by id. */
export function compareTactics(a: string, b: string): number {
  const ia = TACTIC_ORDER.indexOf(a);
  const ib = TACTIC_ORDER.indexOf(b);
  if (ia !== ib) return (ia < 0 ? TACTIC_ORDER.length : ia) - (ib < 0 ? TACTIC_ORDER.length : ib);
  return a.localeCompare(b);
}

/** The ATT&CK entries of a `reports` object: every key naming MITRE, each value "TA0004:T1098" or "TA0004". */
export function attackOf(reports: unknown): Attack[] {
  if (!reports || typeof reports !== "object" || Array.isArray(reports)) return [];
  const out: Attack[] = [];
  const seen = new Set<string>();
  for (const [key, values] of Object.entries(reports as Rec)) {
    if (!/mitre/i.test(key) || !Array.isArray(values)) continue;
    for (const v of values) {
      const [tactic = "", technique = ""] = String(v)
        .split(":")
        .map((s) => s.trim());
      if (!tactic || seen.has(`${tactic}:${technique}`)) continue;
      seen.add(`${tactic}:${technique}`);
      out.push({ tactic, technique });
    }
  }
  return out.sort((a, b) => compareTactics(a.tactic, b.tactic) || a.technique.localeCompare(b.technique));
}
