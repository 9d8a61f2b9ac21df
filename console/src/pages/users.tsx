// Users (admins only; the server refuses analysts, and the console does not offer them the page): create with a
// role, change a role, reset a password, delete. The server keeps at least one admin and says so when asked
// to remove or demote the last.

import { type FormEvent, useState } from "react";
import { api, listOf } from "../api.ts";
import { type Action, ErrorBanner, Loading, useAction, useLoad, usePageTitle } from "../components.tsx";
import { fmtMs, type Rec, str, text } from "../format.ts";

const ROLES = [
  { role: "analyst", label: "Analyst (read and triage)" },
  { role: "admin", label: "Admin (everything)" },
];

function NewUserForm({ onCreated }: { onCreated: () => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [role, setRole] = useState("analyst");
  const action = useAction();

  function submit(e: FormEvent) {
    e.preventDefault();
    void action.run(async () => {
      await api.post("/api/users", { username, password, role });
      setUsername("");
      setPassword("");
      onCreated();
    });
  }

  return (
    <form className="card form" onSubmit={submit} aria-label="New user">
      <h2>New user</h2>
      <label>
        Username
        <input value={username} onChange={(e) => setUsername(e.target.value)} required autoComplete="off" />
      </label>
      <label>
        Password (at least 12 characters)
        <input
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
          minLength={12}
          autoComplete="new-password"
        />
      </label>
      <label>
        Role
        <select value={role} onChange={(e) => setRole(e.target.value)}>
          {ROLES.map((r) => (
            <option key={r.role} value={r.role}>
              {r.label}
            </option>
          ))}
        </select>
      </label>
      <ErrorBanner message={action.error} />
      <div className="actions">
        <button type="submit" disabled={action.busy}>
          Create user
        </button>
      </div>
    </form>
  );
}

/** A user's row; its changes run as the page's action (`run`), whose error the page shows above the table. */
function UserRow({ user, run }: { user: Rec; run: Action["run"] }) {
  const [resetting, setResetting] = useState(false);
  const [password, setPassword] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const id = encodeURIComponent(text(user.id));
  const name = str(user.username);

  return (
    <tr>
      <td className="wrap">{name}</td>
      <td>
        <select
          aria-label={`Role of ${name}`}
          value={str(user.role)}
          onChange={(e) => run(() => api.patch(`/api/users/${id}`, { role: e.target.value }))}
        >
          {ROLES.map((r) => (
            <option key={r.role} value={r.role}>
              {r.role}
            </option>
          ))}
        </select>
      </td>
      <td>{fmtMs(user.createdAtMs)}</td>
      <td>
        {resetting ? (
          <form
            className="actions"
            aria-label={`New password for ${name}`}
            onSubmit={(e) => {
              e.preventDefault();
              void run(async () => {
                await api.patch(`/api/users/${id}`, { password });
                setResetting(false);
                setPassword("");
                setDone(`Password of ${name} changed; their sessions have ended.`);
              });
            }}
          >
            <input
              type="password"
              aria-label={`New password for ${name}`}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              minLength={12}
              required
              autoComplete="new-password"
            />
            <button type="submit">Set</button>
            <button type="button" className="link-button" onClick={() => setResetting(false)}>
              Cancel
            </button>
          </form>
        ) : (
          <div className="actions">
            <button
              type="button"
              aria-label={`Reset password of ${name}`}
              onClick={() => {
                setDone(null);
                setResetting(true);
              }}
            >
              Reset password
            </button>
            <button
              type="button"
              aria-label={`Delete ${name}`}
              onClick={() => {
                if (window.confirm(`Delete the user ${name}? Their sessions end now.`)) {
                  void run(() => api.del(`/api/users/${id}`));
                }
              }}
            >
              Delete
            </button>
            {done ? <span role="status">{done}</span> : null}
          </div>
        )}
      </td>
    </tr>
  );
}

export function UsersPage() {
  usePageTitle("Users");
  const loaded = useLoad(() => api.get<unknown>("/api/users"), []);
  const action = useAction();
  const users = listOf<Rec>(loaded.data, "users");
  const run: Action["run"] = (fn) =>
    action.run(async () => {
      await fn();
      loaded.reload();
    });
  const changed = () => {
    action.setError(null);
    loaded.reload();
  };
  return (
    <>
      <header className="page-head">
        <h1>Users</h1>
      </header>
      <p className="muted">
        Admins manage sources, destinations, rules and users; analysts read and triage. A reset password ends the user's
        sessions.
      </p>
      <ErrorBanner message={loaded.error ?? action.error} />
      <Loading when={loaded.loading && !loaded.data} />
      {users.length > 0 ? (
        <section className="card">
          <table aria-label="Users">
            <thead>
              <tr>
                <th>Username</th>
                <th>Role</th>
                <th>Created</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {users.map((u) => (
                <UserRow key={str(u.id)} user={u} run={run} />
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      <NewUserForm onCreated={changed} />
    </>
  );
}
