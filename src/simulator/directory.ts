// The simulated organization's cast: people, projects, keys and configuration objects. Built once from the seed;
// generated events refer to these ids, so a user keeps one id, one email, one home and one browser throughout.

import { addressIn, browserDevice, type Device, HOME_PLACES, type Place } from "./geo.ts";
import { Rng } from "./prng.ts";

export interface SimUser {
  id: string;
  email: string;
  role: "owner" | "member";
  home: Place;
  /** A user connects from one or two addresses at home, with the same ISP. */
  addresses: string[];
  device: Device;
  projectIds: string[];
  /** User API keys (tracking ids), one or two per user. */
  keyIds: string[];
  /** Owners automate admin work with an admin API key. */
  adminKeyId: string | undefined;
}

export interface SimProject {
  id: string;
  name: string;
}

export interface SimServiceAccount {
  id: string;
  projectId: string;
  keyId: string;
}

export interface Named {
  id: string;
  name: string;
}

export interface OrgDirectory {
  orgId: string;
  orgName: string;
  domains: readonly string[];
  users: SimUser[];
  owners: SimUser[];
  members: SimUser[];
  projects: SimProject[];
  defaultProject: SimProject;
  serviceAccounts: SimServiceAccount[];
  groups: Named[];
  customRoles: Named[];
  certificates: Named[];
  ipAllowlists: Array<Named & { allowed_ips: string[] }>;
  workloadIdentityProviders: Named[];
  /** Rate-limit ids are per model, e.g. `rl-gpt-4o`. */
  rateLimitIds: string[];
  externalKeyIds: string[];
  ssoConnectionId: string;
  /** The AWS accounts the org keeps its KMS keys in (BYOK registrations rotate keys within these). */
  kmsAccountIds: string[];
}

const FIRST_NAMES = (
  "ada alan grace linus margaret dennis barbara ken frances edsger radia john katherine tim shafi " +
  "leslie anita donald hedy vint sophie guido yukihiro bjarne joan niklaus adele brian jean ivan lynn " +
  "whitfield mary fernando karen robin carol peter judea dana"
).split(" ");
const LAST_NAMES = (
  "lovelace turing hopper torvalds hamilton ritchie liskov thompson allen dijkstra perlman mccarthy " +
  "johnson berners goldwasser lamport borg knuth lamarr cerf wilson rossum matsumoto stroustrup clarke " +
  "wirth goldberg kernighan sammet sutherland conway diffie keller corbato jones milner shaw naur pearl " +
  "scott"
).split(" ");
const PROJECT_NAMES = [
  "Customer Support Bot",
  "Search Ranking",
  "Internal Tools",
  "Data Labeling",
  "Marketing Copy",
  "Voice Agent",
  "Eval Harness",
  "Doc QA",
  "Sales Assistant",
  "Fraud Review",
  "Code Review Bot",
  "Translation Pipeline",
];
const GROUP_NAMES = ["engineering", "research", "support", "data-science", "platform", "security", "finance"];
const ROLE_NAMES = ["Project Auditor", "Billing Viewer", "Key Manager", "Model Deployer"];
const MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3", "o4-mini", "text-embedding-3-large", "whisper-1"];

export function buildDirectory(seed: number): OrgDirectory {
  const rng = new Rng(seed, "directory");
  const domains = ["acme-robotics.com", "acme.ai"] as const;

  const defaultProject: SimProject = { id: `proj_${rng.alnum(24)}`, name: "Default project" };
  const projects: SimProject[] = [defaultProject];
  for (const name of rng.sample(PROJECT_NAMES, rng.int(6, 9))) projects.push({ id: `proj_${rng.alnum(24)}`, name });

  const users: SimUser[] = [];
  const userCount = rng.int(24, 48);
  const usedEmails = new Set<string>();
  while (users.length < userCount) {
    const local = `${rng.pick(FIRST_NAMES)}.${rng.pick(LAST_NAMES)}`;
    // The second domain belongs to a smaller subsidiary team.
    const email = `${local}@${rng.chance(0.8) ? domains[0] : domains[1]}`;
    if (usedEmails.has(email)) continue;
    usedEmails.add(email);
    const role = users.length < 3 ? "owner" : "member";
    const home = rng.pick(HOME_PLACES);
    const addresses = [addressIn(rng, home)];
    if (rng.chance(0.4)) addresses.push(addressIn(rng, home));
    const projectIds = rng.sample(projects.slice(1), rng.int(1, 3)).map((p) => p.id);
    if (role === "owner") projectIds.unshift(defaultProject.id);
    const keyIds = [`key_${rng.alnum(16)}`];
    if (rng.chance(0.5)) keyIds.push(`key_${rng.alnum(16)}`);
    users.push({
      id: `user-${rng.alnum(24)}`,
      email,
      role,
      home,
      addresses,
      device: browserDevice(rng),
      projectIds,
      keyIds,
      adminKeyId: role === "owner" ? `key_${rng.alnum(16)}` : undefined,
    });
  }

  const serviceAccounts: SimServiceAccount[] = [];
  for (const project of rng.sample(projects, rng.int(4, 8))) {
    serviceAccounts.push({ id: `svc_acct_${rng.alnum(24)}`, projectId: project.id, keyId: `key_${rng.alnum(16)}` });
  }

  return {
    orgId: `org-${rng.alnum(24)}`,
    orgName: "Acme Robotics",
    domains,
    users,
    owners: users.filter((u) => u.role === "owner"),
    members: users.filter((u) => u.role === "member"),
    projects,
    defaultProject,
    serviceAccounts,
    groups: rng.sample(GROUP_NAMES, 4).map((name) => ({ id: `group_${rng.alnum(24)}`, name })),
    customRoles: ROLE_NAMES.map((name) => ({ id: `role_${rng.alnum(24)}`, name })),
    certificates: [
      { id: `cert_${rng.alnum(24)}`, name: "corp-mtls-2025" },
      { id: `cert_${rng.alnum(24)}`, name: "corp-mtls-2026" },
    ],
    ipAllowlists: [
      { id: `ipal_${rng.alnum(24)}`, name: "Office egress", allowed_ips: ["203.0.113.0/24", "198.51.100.16/28"] },
      { id: `ipal_${rng.alnum(24)}`, name: "CI runners", allowed_ips: ["192.0.2.64/26"] },
    ],
    workloadIdentityProviders: [{ id: `wip_${rng.alnum(24)}`, name: "github-actions" }],
    rateLimitIds: MODELS.map((m) => `rl-${m}`),
    externalKeyIds: [`ek_${rng.alnum(24)}`],
    ssoConnectionId: `conn_${rng.alnum(24)}`,
    // Drawn last, so the rest of a seed's directory is what it was before this field existed.
    kmsAccountIds: [String(rng.int(1e11, 9e11)), String(rng.int(1e11, 9e11))],
  };
}

export function projectById(dir: OrgDirectory, id: string): SimProject {
  return dir.projects.find((p) => p.id === id) ?? dir.defaultProject;
}
