import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter, Navigate, NavLink, Route, Routes, useLocation, useNavigate } from "react-router-dom";
import { api, setCsrf, setUnauthorizedHandler } from "./api.ts";
import { str } from "./format.ts";
import { AlertDetailPage, AlertsPage } from "./pages/alerts.tsx";
import { DestinationsPage } from "./pages/destinations.tsx";
import { DetectionsPage } from "./pages/detections.tsx";
import { LoginPage } from "./pages/login.tsx";
import { OverviewPage } from "./pages/overview.tsx";
import { EventDetailPage, SearchPage } from "./pages/search.tsx";
import { NewSourcePage, SourcePage, SourcesPage } from "./pages/sources.tsx";
import "./styles.css";

interface Session {
  user: unknown;
  csrf: string;
}

function userName(user: unknown): string {
  if (user && typeof user === "object") {
    const u = user as Record<string, unknown>;
    return str(u.username ?? u.name ?? u.email ?? u.id);
  }
  return str(user);
}

function Shell({ session, onLogout }: { session: Session; onLogout: () => void }) {
  return (
    <div className="shell">
      <nav className="sidebar" aria-label="Main">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>{" "}
          Vigil
        </div>
        <NavLink to="/" end>
          Overview
        </NavLink>
        <NavLink to="/alerts">Alerts</NavLink>
        <NavLink to="/search">Search</NavLink>
        <NavLink to="/sources">Log Sources</NavLink>
        <NavLink to="/detections">Detections</NavLink>
        <NavLink to="/destinations">Destinations</NavLink>
        <div className="sidebar-foot">
          <span className="muted">Signed in as {userName(session.user)}</span>
          <button type="button" className="link-button" onClick={onLogout}>
            Log out
          </button>
        </div>
      </nav>
      <main className="content">
        <Routes>
          <Route path="/" element={<OverviewPage />} />
          <Route path="/alerts" element={<AlertsPage />} />
          <Route path="/alerts/:id" element={<AlertDetailPage />} />
          <Route path="/search" element={<SearchPage />} />
          <Route path="/events/:sourceId/:eventId" element={<EventDetailPage />} />
          <Route path="/sources" element={<SourcesPage />} />
          <Route path="/sources/new" element={<NewSourcePage />} />
          <Route path="/sources/:id" element={<SourcePage />} />
          <Route path="/detections" element={<DetectionsPage />} />
          <Route path="/destinations" element={<DestinationsPage />} />
          <Route path="*" element={<Navigate to="/" replace />} />
        </Routes>
      </main>
    </div>
  );
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const navigate = useNavigate();
  const location = useLocation();

  useEffect(() => {
    setUnauthorizedHandler(() => {
      setCsrf(null);
      setSession(null);
    });
    api
      .get<Session>("/api/me")
      .then((me) => {
        setCsrf(me.csrf);
        setSession(me);
      })
      .catch(() => setSession(null));
  }, []);

  if (session === undefined) return <p className="muted center">Loading…</p>;
  if (session === null || location.pathname === "/login") {
    return (
      <LoginPage
        onLogin={(s) => {
          setCsrf(s.csrf);
          setSession(s);
          // Stay on the page that asked for a login (a deep link, or a 401 mid-session).
          if (location.pathname === "/login") navigate("/", { replace: true });
        }}
      />
    );
  }
  return (
    <Shell
      session={session}
      onLogout={() => {
        api
          .post("/api/logout")
          .catch(() => {})
          .finally(() => {
            setCsrf(null);
            setSession(null);
            navigate("/login");
          });
      }}
    />
  );
}

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </StrictMode>,
  );
}
