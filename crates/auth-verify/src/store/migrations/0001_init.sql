-- 0001: the registry's first schema. Times are Unix milliseconds; JSON columns hold what the
-- Rust types serialise (scopes, origins, materials with secrets already sealed).

CREATE TABLE partners (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE,
    status          TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    allowed_origins TEXT NOT NULL,
    created_at      INTEGER NOT NULL
);

CREATE TABLE credentials (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    -- `<purpose>:<id>`: purposes keep references of different purposes apart.
    reference     TEXT NOT NULL UNIQUE,
    partner_id    TEXT NOT NULL REFERENCES partners (id),
    environment   TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    name          TEXT NOT NULL,
    notes         TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    not_before    INTEGER,
    expires_at    INTEGER,
    revoked_at    INTEGER,
    created_at    INTEGER NOT NULL,
    kind          TEXT NOT NULL,
    material      TEXT NOT NULL,
    -- Set by regenerate: the replacement's reference. A superseded credential keeps working
    -- until its expiry (the grace period) but no longer holds its name.
    superseded_by TEXT
);

-- Names are unique per partner among the credentials still holding them.
CREATE UNIQUE INDEX credentials_current_name
    ON credentials (partner_id, name) WHERE superseded_by IS NULL;
CREATE INDEX credentials_partner ON credentials (partner_id, seq);
CREATE INDEX credentials_kind ON credentials (kind);

CREATE TABLE credential_aliases (
    alias     TEXT PRIMARY KEY,
    reference TEXT NOT NULL REFERENCES credentials (reference)
);
CREATE INDEX credential_aliases_reference ON credential_aliases (reference);

-- No foreign key: a usage batch must not fail because one credential is gone.
CREATE TABLE usage (
    reference TEXT PRIMARY KEY,
    accepted  INTEGER NOT NULL,
    rejected  INTEGER NOT NULL,
    last_used INTEGER
);

-- One row; `version` makes every change a compare-and-set.
CREATE TABLE admins (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    version   INTEGER NOT NULL,
    keys      TEXT NOT NULL
);
INSERT INTO admins (singleton, version, keys) VALUES (1, 0, '[]');

CREATE TABLE documents (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (kind, id)
);

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
