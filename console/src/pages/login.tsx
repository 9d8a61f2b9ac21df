import { type FormEvent, useState } from "react";
import { api } from "../api.ts";
import { ErrorBanner, useAction, usePageTitle } from "../components.tsx";

export function LoginPage({
  onLogin,
  notice = null,
}: {
  onLogin: (s: { user: unknown; csrf: string }) => void;
  /** Why the login is shown again, if a session ended under the page. */
  notice?: string | null;
}) {
  usePageTitle("Sign in");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const action = useAction();

  function submit(e: FormEvent) {
    e.preventDefault();
    void action.run(async () => {
      const res = await api.post<{ user: unknown; csrf: string }>("/api/login", { username, password });
      const me = await api.get<{ user: unknown; csrf: string }>("/api/me").catch(() => res);
      onLogin(me);
    });
  }

  return (
    <div className="login-wrap">
      <form className="card login" onSubmit={submit}>
        <h1>
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>{" "}
          Vigil
        </h1>
        <p className="muted">Sign in to the Vigil console.</p>
        {notice ? <p role="status">{notice}</p> : null}
        <ErrorBanner message={action.error} />
        <label>
          Username
          <input autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required />
        </label>
        <label>
          Password
          <input
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </label>
        <button type="submit" className="primary" disabled={action.busy}>
          {action.busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </div>
  );
}
