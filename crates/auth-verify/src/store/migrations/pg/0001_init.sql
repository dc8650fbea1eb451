-- 0001: the PostgreSQL registry's first schema, the same tables as the SQLite store's 0001
-- (times are Unix milliseconds; JSON columns hold what the Rust types serialise). Constraint
-- names are spelled out because the store maps them to conflict messages.

CREATE TABLE partners (
    id              TEXT NOT NULL CONSTRAINT partners_pkey PRIMARY KEY,
    name            TEXT NOT NULL CONSTRAINT partners_name_key UNIQUE,
    status          TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    allowed_origins TEXT NOT NULL,
    created_at      BIGINT NOT NULL
);

CREATE TABLE credentials (
    seq           BIGINT GENERATED ALWAYS AS IDENTITY CONSTRAINT credentials_pkey PRIMARY KEY,
    reference     TEXT NOT NULL CONSTRAINT credentials_reference_key UNIQUE,
    partner_id    TEXT NOT NULL CONSTRAINT credentials_partner_fkey REFERENCES partners (id),
    environment   TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    name          TEXT NOT NULL,
    notes         TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    not_before    BIGINT,
    expires_at    BIGINT,
    revoked_at    BIGINT,
    created_at    BIGINT NOT NULL,
    kind          TEXT NOT NULL,
    material      TEXT NOT NULL,
    superseded_by TEXT
);

-- Names are unique per partner among the credentials still holding them.
CREATE UNIQUE INDEX credentials_current_name
    ON credentials (partner_id, name) WHERE superseded_by IS NULL;
CREATE INDEX credentials_partner ON credentials (partner_id, seq);
CREATE INDEX credentials_kind ON credentials (kind);

CREATE TABLE credential_aliases (
    alias     TEXT NOT NULL CONSTRAINT credential_aliases_pkey PRIMARY KEY,
    reference TEXT NOT NULL CONSTRAINT credential_aliases_reference_fkey
        REFERENCES credentials (reference)
);
CREATE INDEX credential_aliases_reference ON credential_aliases (reference);

-- No foreign key: a usage batch must not fail because one credential is gone.
CREATE TABLE usage (
    reference TEXT NOT NULL CONSTRAINT usage_pkey PRIMARY KEY,
    accepted  BIGINT NOT NULL,
    rejected  BIGINT NOT NULL,
    last_used BIGINT
);

-- One row; `version` makes every change a compare-and-set.
CREATE TABLE admins (
    singleton INTEGER NOT NULL CONSTRAINT admins_pkey PRIMARY KEY CHECK (singleton = 1),
    version   BIGINT NOT NULL,
    keys      TEXT NOT NULL
);
INSERT INTO admins (singleton, version, keys) VALUES (1, 0, '[]');

CREATE TABLE documents (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY CONSTRAINT documents_pkey PRIMARY KEY,
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    CONSTRAINT documents_kind_id_key UNIQUE (kind, id)
);

CREATE TABLE meta (
    key   TEXT NOT NULL CONSTRAINT meta_pkey PRIMARY KEY,
    value BYTEA NOT NULL
);
