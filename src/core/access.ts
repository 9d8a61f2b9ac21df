// Who may use the HTTP API: users, their sessions, and API tokens.

/** `admin`: everything; `analyst`: read and triage alerts, no settings and no secrets (sources, destinations, rules). */
export const USER_ROLES = ["admin", "analyst"] as const;
export type UserRole = (typeof USER_ROLES)[number];

export interface UserRecord {
  id: string;
  username: string;
  role: UserRole;
  createdAtMs: number;
}

export interface NewUser {
  username: string;
  passwordHash: string;
  role: UserRole;
}

export interface SessionRecord {
  /** sha256 of the cookie value: the cookie itself is never stored. */
  tokenHash: string;
  userId: string;
  csrf: string;
  createdAtMs: number;
  expiresAtMs: number;
}

export interface ApiTokenRecord {
  id: string;
  name: string;
  createdAtMs: number;
  lastUsedAtMs: number | null;
  /** When the token stops working. Tokens made before expiries existed got one at that migration. */
  expiresAtMs: number;
}
