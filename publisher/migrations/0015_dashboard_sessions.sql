-- 0015_dashboard_sessions: server-side sessions for the dashboard (cookie
-- sign-in) and an index for per-device and per-app time-series reads.
-- Numbered after the issue that added it, so migrations written in parallel
-- do not collide; migrations are independent and applied in number order.

-- One row per signed-in browser. The cookie carries a random token; only its
-- SHA-256 is stored, so a database dump does not hand out sessions. The CSRF
-- token is sent back by the dashboard in X-CSRF-Token on every state change.
CREATE TABLE sessions (
    id          bigserial PRIMARY KEY,
    token_hash  bytea NOT NULL UNIQUE,
    csrf_token  text NOT NULL,
    user_id     bigint NOT NULL REFERENCES users(id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    ip          text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Device lookup and the app-wide adoption / version-distribution series.
CREATE INDEX installations_app_device ON installations (app_id, device_id, ts);
