import {
  Component,
  type ComponentType,
  lazy,
  type ReactNode,
  StrictMode,
  Suspense,
  useEffect,
  useRef,
  useState,
} from "react";
import { createRoot } from "react-dom/client";
import { BrowserRouter, Navigate, NavLink, Route, Routes, useLocation, useNavigate } from "react-router-dom";
import { api, errorMessage, setCsrf, setUnauthorizedHandler } from "./api.ts";
import { AdminContext } from "./components.tsx";
import { str } from "./format.ts";
import { LoginPage } from "./pages/login.tsx";
import "./styles.css";

// Pages are loaded on first visit (each its own chunk); the login page stays in the entry chunk.
function page<M, K extends keyof M>(load: () => Promise<M>, name: K) {
  return lazy(() => load().then((m) => ({ default: m[name] as ComponentType })));
}
const alerts = () => import("./pages/alerts.tsx");
const search = () => import("./pages/search.tsx");
const sources = () => import("./pages/sources.tsx");
const OverviewPage = page(() => import("./pages/overview.tsx"), "OverviewPage");
const AlertsPage = page(alerts, "AlertsPage");
const AlertDetailPage = page(alerts, "AlertDetailPage");
const SearchPage = page(search, "SearchPage");
const EventDetailPage = page(search, "EventDetailPage");
const SourcesPage = page(sources, "SourcesPage");
const NewSourcePage = page(sources, "NewSourcePage");
const SourcePage = page(sources, "SourcePage");
const DetectionsPage = page(() => import("./pages/detections.tsx"), "DetectionsPage");
const DestinationsPage = page(() => import("./pages/destinations.tsx"), "DestinationsPage");
const OrganizationPage = page(() => import("./pages/organization.tsx"), "OrganizationPage");
const SuppressionsPage = page(() => import("./pages/suppressions.tsx"), "SuppressionsPage");
const UsersPage = page(() => import("./pages/users.tsx"), "UsersPage");

/** A page whose chunk cannot be loaded (e.g. Vigil was upgraded meanwhile) says so instead of going blank. */
class PageBoundary extends Component<{ children: ReactNode }, { error: unknown }> {
  override state: { error: unknown } = { error: null };

  static getDerivedStateFromError(error: unknown) {
    return { error };
  }

  override render() {
    if (this.state.error === null) return this.props.children;
    return (
      <div className="banner banner-error" role="alert">
        This page could not be shown: {errorMessage(this.state.error)}{" "}
        <button type="button" className="link-button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </div>
    );
  }
}

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

/** Admin-only pages are not offered to analysts (the server refuses them anyway). */
function isAdmin(user: unknown): boolean {
  return !!user && typeof user === "object" && (user as Record<string, unknown>).role === "admin";
}

function Shell({ session, onLogout }: { session: Session; onLogout: () => void }) {
  const location = useLocation();
  const admin = isAdmin(session.user);
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
        <NavLink to="/organization">Organization</NavLink>
        <NavLink to="/sources">Log Sources</NavLink>
        <NavLink to="/detections">Detections</NavLink>
        <NavLink to="/destinations">Destinations</NavLink>
        <NavLink to="/suppressions">Suppressions</NavLink>
        {admin ? <NavLink to="/users">Users</NavLink> : null}
        <div className="sidebar-foot">
          <span className="muted">Signed in as {userName(session.user)}</span>
          <button type="button" className="link-button" onClick={onLogout}>
            Log out
          </button>
        </div>
      </nav>
      <main className="content">
        <PageBoundary key={location.pathname}>
          <Suspense fallback={<p className="muted">Loading…</p>}>
            <AdminContext.Provider value={admin}>
              <Routes>
                <Route path="/" element={<OverviewPage />} />
                <Route path="/alerts" element={<AlertsPage />} />
                <Route path="/alerts/:id" element={<AlertDetailPage />} />
                <Route path="/search" element={<SearchPage />} />
                <Route path="/events/:sourceId/:eventId" element={<EventDetailPage />} />
                <Route path="/organization" element={<OrganizationPage />} />
                <Route path="/sources" element={<SourcesPage />} />
                <Route path="/sources/new" element={admin ? <NewSourcePage /> : <Navigate to="/sources" replace />} />
                <Route path="/sources/:id" element={<SourcePage />} />
                <Route path="/detections" element={<DetectionsPage />} />
                <Route path="/destinations" element={<DestinationsPage />} />
                <Route path="/suppressions" element={<SuppressionsPage />} />
                {admin ? <Route path="/users" element={<UsersPage />} /> : null}
                <Route path="*" element={<Navigate to="/" replace />} />
              </Routes>
            </AdminContext.Provider>
          </Suspense>
        </PageBoundary>
      </main>
    </div>
  );
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  /** A session this page had ended under it (a 401): the login says so, rather than appearing for no reason. */
  const [ended, setEnded] = useState(false);
  const signedIn = useRef(false);
  const navigate = useNavigate();
  const location = useLocation();

  useEffect(() => {
    setUnauthorizedHandler(() => {
      if (signedIn.current) setEnded(true);
      signedIn.current = false;
      setCsrf(null);
      setSession(null);
    });
    api
      .get<Session>("/api/me")
      .then((me) => {
        signedIn.current = true;
        setCsrf(me.csrf);
        setSession(me);
      })
      .catch(() => setSession(null));
  }, []);

  if (session === undefined) return <p className="muted center">Loading…</p>;
  if (session === null || location.pathname === "/login") {
    return (
      <LoginPage
        notice={
          ended
            ? "Your session has ended (it expired, you signed out elsewhere, or your password was changed). Sign in " +
              "again to go on; what you were typing was not sent."
            : null
        }
        onLogin={(s) => {
          signedIn.current = true;
          setEnded(false);
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
            signedIn.current = false;
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
