//! The embedded registry: one SQLite database file under the data directory, so a single
//! instance needs no setup.
//!
//! Why rusqlite and not sqlx: this is one small embedded database with rare writes, and
//! rusqlite's synchronous API run on `spawn_blocking` behind a mutex is all it needs; sqlx's
//! `sqlite` cannot share a dependency graph with rusqlite (`links = "sqlite3"`) and pulls in
//! far more; the PostgreSQL store later uses tokio-postgres, so sqlx would buy nothing.
//!
//! Every call runs under the store's deadline (a tokio timeout around the blocking task, and
//! SQLite's `busy_timeout` for locks held by other processes) and answers
//! [`StoreError::Unavailable`] rather than hang. Schema changes are versioned migrations
//! embedded in the binary, applied at open in one transaction each.

use super::{
    AdminList, BoxFuture, CredentialRecord, Document, PartnerRecord, PartnerStatus, Store,
    StoreError, StoreResult, StoredMaterial, Usage, UsageDelta,
};
use auth_core::apikey::Environment;
use auth_core::credential::{CredentialRef, PartnerId, Scopes, Status};
use auth_core::time::UnixTime;
use rusqlite::{
    Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior, params,
};
use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "registry.sqlite3";

/// Schema migrations, in order: (version, SQL). Append only; never edit a released one.
const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("migrations/0001_init.sql"))];

/// The newest schema version this binary knows.
pub const SCHEMA_VERSION: i64 = 1;

/// Material kinds (serde tags of [`StoredMaterial`]) that hold a sealed secret.
const SEALED_KINDS: [&str; 3] = ["jwt_secret", "smile", "sec_key_private"];

/// The SQLite registry. Cheap to clone; every clone shares one connection.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: Mutex<Connection>,
    deadline: Duration,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .field("deadline", &self.inner.deadline)
            .finish()
    }
}

/// Creates `dir` (and missing parents) readable by its owner only; an existing directory is
/// left as it is (it may be the operator's).
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

impl SqliteStore {
    /// Opens (or creates) `<data_dir>/registry.sqlite3` and brings its schema up to date.
    /// The directory is created with mode 0700 and the file with 0600. A database written by
    /// a newer binary (a schema version this one does not know) is refused unchanged.
    /// Every later call answers within about `deadline`.
    pub fn open(data_dir: &Path, deadline: Duration) -> Result<Self, StoreError> {
        create_private_dir(data_dir).map_err(|e| {
            StoreError::Unavailable(format!(
                "cannot create the data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let path = data_dir.join(DB_FILE);
        prepare_db_file(&path)?;
        let mut conn = Connection::open(&path).map_err(sql_error)?;
        conn.busy_timeout(deadline).map_err(sql_error)?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))
            .map_err(sql_error)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Unavailable(format!(
                "SQLite refused WAL mode for {} (it answered {mode})",
                path.display()
            )));
        }
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")
            .map_err(sql_error)?;
        migrate(&mut conn, &path)?;
        Ok(Self {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                deadline,
                path,
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on the connection in the blocking pool, under the deadline.
    async fn call<T, F>(&self, what: &'static str, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let deadline = inner.deadline;
        let started = Instant::now();
        let task = tokio::task::spawn_blocking(move || {
            let mut conn = inner.conn.lock().unwrap_or_else(PoisonError::into_inner);
            // The caller has given up already: do not queue more work behind a stuck call.
            if started.elapsed() >= deadline {
                return Err(timed_out(what, deadline));
            }
            f(&mut conn)
        });
        match tokio::time::timeout(deadline, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(StoreError::Unavailable(format!(
                "the registry call ({what}) failed unexpectedly"
            ))),
            Err(_) => Err(timed_out(what, deadline)),
        }
    }

    /// Runs `f` in one `IMMEDIATE` transaction (write lock taken up front), committed only if
    /// `f` succeeds.
    async fn write<T, F>(&self, what: &'static str, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> StoreResult<T> + Send + 'static,
    {
        self.call(what, move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql_error)?;
            let value = f(&tx)?;
            tx.commit().map_err(sql_error)?;
            Ok(value)
        })
        .await
    }
}

fn timed_out(what: &str, deadline: Duration) -> StoreError {
    StoreError::Unavailable(format!(
        "the registry did not answer within {} ms ({what})",
        deadline.as_millis()
    ))
}

/// Creates the database file 0600 before SQLite does (SQLite gives its WAL and shared-memory
/// files the same mode). A symbolic link in its place is refused, never followed.
fn prepare_db_file(path: &Path) -> Result<(), StoreError> {
    let unavailable = |e: std::io::Error| {
        StoreError::Unavailable(format!("cannot prepare {}: {e}", path.display()))
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() || !meta.is_file() => {
            Err(StoreError::Unavailable(format!(
                "{} is not a regular file (a link or directory); refusing to use it",
                path.display()
            )))
        }
        Ok(meta) => {
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                    .map_err(unavailable)?;
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map(drop)
            .map_err(unavailable),
        Err(e) => Err(unavailable(e)),
    }
}

/// Applies every migration newer than the database's version, each in its own transaction
/// (re-checking the version inside it, so two processes opening at once apply each once).
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version INTEGER PRIMARY KEY,
             applied_at INTEGER NOT NULL
         )",
    )
    .map_err(sql_error)?;
    let current = schema_version(conn)?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::Unavailable(format!(
            "the database {} has schema version {current}, newer than this binary knows \
             ({SCHEMA_VERSION}); run a newer auth-verify or restore a backup. Nothing was changed.",
            path.display()
        )));
    }
    for (version, sql) in MIGRATIONS {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql_error)?;
        if schema_version(&tx)? >= *version {
            continue;
        }
        tx.execute_batch(sql).map_err(|e| {
            StoreError::Unavailable(format!("migration {version} failed: {}", sql_error(e)))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![version, now_millis()],
        )
        .map_err(sql_error)?;
        tx.commit().map_err(sql_error)?;
    }
    Ok(())
}

fn schema_version(conn: &Connection) -> StoreResult<i64> {
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |row| row.get(0),
    )
    .map_err(sql_error)
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Maps SQLite errors to what a caller can act on. Messages name the constraint, never a
/// value (values are bound parameters and may be digests or sealed bytes).
fn sql_error(error: rusqlite::Error) -> StoreError {
    match &error {
        rusqlite::Error::SqliteFailure(failure, message) => match failure.code {
            ErrorCode::ConstraintViolation => {
                if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY {
                    StoreError::NotFound("no partner with this ID".into())
                } else {
                    StoreError::Conflict(taken(message.as_deref().unwrap_or_default()).into())
                }
            }
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Unavailable(
                "the database is locked by another connection; try again".into(),
            ),
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => {
                StoreError::Corrupt(format!("SQLite reports a damaged database: {error}"))
            }
            _ => StoreError::Unavailable(format!("SQLite: {error}")),
        },
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::Utf8Error(..)
        | rusqlite::Error::InvalidColumnType(..) => {
            StoreError::Corrupt(format!("a stored value cannot be read: {error}"))
        }
        _ => StoreError::Unavailable(format!("SQLite: {error}")),
    }
}

/// What a unique constraint protects, from SQLite's "UNIQUE constraint failed: t.c" text.
fn taken(message: &str) -> &'static str {
    let columns = message.rsplit(": ").next().unwrap_or_default();
    match columns {
        "partners.id" => "a partner with this ID already exists",
        "partners.name" => "a partner with this name already exists",
        "credentials.reference" => "a credential with this ID already exists for this purpose",
        "credentials.partner_id, credentials.name" => {
            "the partner already has a credential with this name"
        }
        "credential_aliases.alias" => "this alias (client ID) is already taken",
        "documents.kind, documents.id" => "a document with this kind and ID already exists",
        "meta.key" => "this metadata value is already set",
        _ => "a unique value is already taken",
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("a stored {what} cannot be read back"))
}

fn time_to_sql(t: UnixTime) -> i64 {
    i64::try_from(t.as_millis()).unwrap_or(i64::MAX)
}

fn time_from_sql(v: Option<i64>) -> StoreResult<Option<UnixTime>> {
    v.map(|ms| {
        u64::try_from(ms)
            .map(UnixTime::from_millis)
            .map_err(|_| corrupt("time"))
    })
    .transpose()
}

fn count_to_sql(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn count_from_sql(n: i64) -> StoreResult<u64> {
    u64::try_from(n).map_err(|_| corrupt("usage count"))
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|_| StoreError::Corrupt("a value cannot be serialised".into()))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|_| corrupt(what))
}

fn status_text(status: PartnerStatus) -> &'static str {
    match status {
        PartnerStatus::Active => "active",
        PartnerStatus::Suspended => "suspended",
    }
}

fn environment_from(text: &str) -> StoreResult<Environment> {
    match text {
        "live" => Ok(Environment::Live),
        "test" => Ok(Environment::Test),
        _ => Err(corrupt("environment")),
    }
}

fn material_kind(material: &StoredMaterial) -> StoreResult<String> {
    serde_json::to_value(material)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
        .ok_or_else(|| StoreError::Corrupt("a credential material has no kind".into()))
}

const PARTNER_COLUMNS: &str = "id, name, status, allowed_origins, created_at";

fn read_partner(row: &rusqlite::Row<'_>) -> rusqlite::Result<[Option<String>; 4]> {
    Ok([row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?])
}

fn partner_from(raw: [Option<String>; 4], created_at: i64) -> StoreResult<PartnerRecord> {
    let [id, name, status, origins] = raw;
    let id = PartnerId::new(&id.unwrap_or_default()).map_err(|_| corrupt("partner ID"))?;
    let status = match status.as_deref() {
        Some("active") => PartnerStatus::Active,
        Some("suspended") => PartnerStatus::Suspended,
        _ => return Err(corrupt("partner status")),
    };
    Ok(PartnerRecord {
        id,
        name: name.unwrap_or_default(),
        status,
        allowed_origins: from_json(&origins.unwrap_or_default(), "allowed origins")?,
        created_at: time_from_sql(Some(created_at))?.unwrap_or_default(),
    })
}

fn query_partners(
    conn: &Connection,
    filter: &str,
    arg: Option<&str>,
) -> StoreResult<Vec<PartnerRecord>> {
    let sql = format!("SELECT {PARTNER_COLUMNS} FROM partners {filter} ORDER BY id");
    let mut stmt = conn.prepare_cached(&sql).map_err(sql_error)?;
    let map = |row: &rusqlite::Row<'_>| Ok((read_partner(row)?, row.get::<_, i64>(4)?));
    let rows = match arg {
        Some(a) => stmt.query_map([a], map),
        None => stmt.query_map([], map),
    }
    .map_err(sql_error)?;
    rows.map(|r| {
        let (raw, created) = r.map_err(sql_error)?;
        partner_from(raw, created)
    })
    .collect()
}

const CREDENTIAL_COLUMNS: &str = "reference, partner_id, environment, name, notes, scopes, \
     not_before, expires_at, revoked_at, created_at, material";

/// A credential row before its aliases are attached.
struct CredentialRow {
    text: [String; 7],
    times: [Option<i64>; 4],
}

fn read_credential_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<CredentialRow> {
    Ok(CredentialRow {
        text: [
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            row.get(3)?,
            row.get(4)?,
            row.get(5)?,
            row.get(10)?,
        ],
        times: [row.get(6)?, row.get(7)?, row.get(8)?, row.get(9)?],
    })
}

fn credential_from(conn: &Connection, row: CredentialRow) -> StoreResult<CredentialRecord> {
    let [
        reference,
        partner,
        environment,
        name,
        notes,
        scopes,
        material,
    ] = row.text;
    let [not_before, expires_at, revoked_at, created_at] = row.times;
    let mut aliases = Vec::new();
    {
        let mut stmt = conn
            .prepare_cached(
                "SELECT alias FROM credential_aliases WHERE reference = ?1 ORDER BY alias",
            )
            .map_err(sql_error)?;
        let rows = stmt
            .query_map([&reference], |r| r.get::<_, String>(0))
            .map_err(sql_error)?;
        for alias in rows {
            let alias = alias.map_err(sql_error)?;
            aliases.push(CredentialRef::from_wire(&alias).map_err(|_| corrupt("alias"))?);
        }
    }
    let scopes: Vec<String> = from_json(&scopes, "scope list")?;
    Ok(CredentialRecord {
        reference: CredentialRef::from_wire(&reference).map_err(|_| corrupt("reference"))?,
        partner: PartnerId::new(&partner).map_err(|_| corrupt("partner ID"))?,
        environment: environment_from(&environment)?,
        name,
        notes,
        scopes: Scopes::new(scopes),
        status: Status {
            not_before: time_from_sql(not_before)?,
            expires_at: time_from_sql(expires_at)?,
            revoked_at: time_from_sql(revoked_at)?,
        },
        created_at: time_from_sql(created_at)?.unwrap_or_default(),
        material: from_json(&material, "credential material")?,
        aliases,
    })
}

fn query_credentials(
    conn: &Connection,
    filter: &str,
    arg: Option<&str>,
) -> StoreResult<Vec<CredentialRecord>> {
    let sql = format!("SELECT {CREDENTIAL_COLUMNS} FROM credentials {filter} ORDER BY seq");
    let rows: Vec<CredentialRow> = {
        let mut stmt = conn.prepare_cached(&sql).map_err(sql_error)?;
        let rows = match arg {
            Some(a) => stmt.query_map([a], read_credential_row),
            None => stmt.query_map([], read_credential_row),
        }
        .map_err(sql_error)?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql_error)?
    };
    rows.into_iter()
        .map(|row| credential_from(conn, row))
        .collect()
}

/// The canonical reference `reference` names: itself or the credential it is an alias of.
fn canonical(conn: &Connection, reference: &str) -> StoreResult<Option<String>> {
    conn.query_row(
        "SELECT reference FROM credentials WHERE reference = ?1
         UNION ALL
         SELECT reference FROM credential_aliases WHERE alias = ?1
         LIMIT 1",
        [reference],
        |row| row.get(0),
    )
    .optional()
    .map_err(sql_error)
}

fn exists(conn: &Connection, sql: &str, arg: &str) -> StoreResult<bool> {
    conn.query_row(sql, [arg], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
        .map_err(sql_error)
}

/// Inserts a credential and its aliases. References and aliases share one namespace: an
/// alias equal to another credential's reference would make lookups ambiguous.
fn insert_credential(tx: &Transaction<'_>, record: &CredentialRecord) -> StoreResult<()> {
    let reference = record.reference.to_wire();
    if exists(
        tx,
        "SELECT 1 FROM credential_aliases WHERE alias = ?1",
        &reference,
    )? {
        return Err(StoreError::Conflict(
            "a credential with this ID already exists for this purpose".into(),
        ));
    }
    for alias in &record.aliases {
        if alias.purpose() != record.reference.purpose() || *alias == record.reference {
            return Err(StoreError::Conflict(
                "an alias must have the credential's purpose and differ from its ID".into(),
            ));
        }
        if exists(
            tx,
            "SELECT 1 FROM credentials WHERE reference = ?1",
            &alias.to_wire(),
        )? {
            return Err(StoreError::Conflict(
                "this alias (client ID) is already taken".into(),
            ));
        }
    }
    let scopes: Vec<&str> = record.scopes.iter().collect();
    tx.execute(
        "INSERT INTO credentials (reference, partner_id, environment, name, notes, scopes,
             not_before, expires_at, revoked_at, created_at, kind, material)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            reference,
            record.partner.as_str(),
            record.environment.as_str(),
            record.name,
            record.notes,
            json(&scopes)?,
            record.status.not_before.map(time_to_sql),
            record.status.expires_at.map(time_to_sql),
            record.status.revoked_at.map(time_to_sql),
            time_to_sql(record.created_at),
            material_kind(&record.material)?,
            json(&record.material)?,
        ],
    )
    .map_err(sql_error)?;
    for alias in &record.aliases {
        tx.execute(
            "INSERT INTO credential_aliases (alias, reference) VALUES (?1, ?2)",
            params![alias.to_wire(), reference],
        )
        .map_err(sql_error)?;
    }
    Ok(())
}

fn regenerate(
    tx: &Transaction<'_>,
    old: &str,
    old_expires_at: UnixTime,
    replacement: &mut CredentialRecord,
) -> StoreResult<()> {
    let found: Option<(String, String, Option<String>)> = tx
        .query_row(
            "SELECT partner_id, name, superseded_by FROM credentials WHERE reference = ?1",
            [old],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()
        .map_err(sql_error)?;
    let Some((partner, name, superseded_by)) = found else {
        return Err(StoreError::NotFound(
            "no credential with this reference".into(),
        ));
    };
    if superseded_by.is_some() {
        return Err(StoreError::Conflict(
            "this credential was already regenerated; regenerate its replacement".into(),
        ));
    }
    if partner != replacement.partner.as_str() {
        return Err(StoreError::Conflict(
            "the replacement must belong to the same partner".into(),
        ));
    }
    // A grace period never extends a credential's life: keep an earlier expiry.
    tx.execute(
        "UPDATE credentials
            SET expires_at = MIN(COALESCE(expires_at, ?2), ?2), superseded_by = ?3
          WHERE reference = ?1",
        params![
            old,
            time_to_sql(old_expires_at),
            replacement.reference.to_wire()
        ],
    )
    .map_err(sql_error)?;
    // Aliases (a JWT client ID) move to the replacement; the old one stays findable by its
    // own ID until it expires.
    for alias in &replacement.aliases {
        tx.execute(
            "DELETE FROM credential_aliases WHERE alias = ?1 AND reference = ?2",
            params![alias.to_wire(), old],
        )
        .map_err(sql_error)?;
    }
    replacement.name = name;
    insert_credential(tx, replacement)
}

fn upsert_meta(tx: &Transaction<'_>, key: &str, value: &[u8]) -> StoreResult<()> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )
    .map(drop)
    .map_err(sql_error)
}

fn document_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, String, i64)> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn document_parts(parts: (String, String, String, i64)) -> StoreResult<Document> {
    let (kind, id, body, created_at) = parts;
    Ok(Document {
        kind,
        id,
        body: from_json(&body, "document")?,
        created_at: time_from_sql(Some(created_at))?.unwrap_or_default(),
    })
}

impl Store for SqliteStore {
    fn ping(&self) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(self.call("ping", |conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))
                .map_err(sql_error)
        }))
    }

    fn meta<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<Option<Vec<u8>>>> {
        let key = key.to_owned();
        Box::pin(self.call("meta", move |conn| {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()
            .map_err(sql_error)
        }))
    }

    fn set_meta<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        only_if_absent: bool,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let (key, value) = (key.to_owned(), value.to_vec());
        Box::pin(self.write("set_meta", move |tx| {
            if only_if_absent {
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES (?1, ?2)",
                    params![key, value],
                )
                .map(drop)
                .map_err(sql_error)
            } else {
                upsert_meta(tx, &key, &value)
            }
        }))
    }

    fn create_partner<'a>(&'a self, partner: &'a PartnerRecord) -> BoxFuture<'a, StoreResult<()>> {
        let partner = partner.clone();
        Box::pin(self.write("create_partner", move |tx| {
            tx.execute(
                "INSERT INTO partners (id, name, status, allowed_origins, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    partner.id.as_str(),
                    partner.name,
                    status_text(partner.status),
                    json(&partner.allowed_origins)?,
                    time_to_sql(partner.created_at),
                ],
            )
            .map(drop)
            .map_err(sql_error)
        }))
    }

    fn partner<'a>(
        &'a self,
        id: &'a PartnerId,
    ) -> BoxFuture<'a, StoreResult<Option<PartnerRecord>>> {
        let id = id.as_str().to_owned();
        Box::pin(self.call("partner", move |conn| {
            Ok(query_partners(conn, "WHERE id = ?1", Some(&id))?
                .into_iter()
                .next())
        }))
    }

    fn partners(&self) -> BoxFuture<'_, StoreResult<Vec<PartnerRecord>>> {
        Box::pin(self.call("partners", |conn| query_partners(conn, "", None)))
    }

    fn update_partner<'a>(&'a self, partner: &'a PartnerRecord) -> BoxFuture<'a, StoreResult<()>> {
        let partner = partner.clone();
        Box::pin(self.write("update_partner", move |tx| {
            let changed = tx
                .execute(
                    "UPDATE partners SET status = ?2, allowed_origins = ?3 WHERE id = ?1",
                    params![
                        partner.id.as_str(),
                        status_text(partner.status),
                        json(&partner.allowed_origins)?,
                    ],
                )
                .map_err(sql_error)?;
            if changed == 0 {
                return Err(StoreError::NotFound("no partner with this ID".into()));
            }
            Ok(())
        }))
    }

    fn insert_credential<'a>(
        &'a self,
        credential: &'a CredentialRecord,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let credential = credential.clone();
        Box::pin(self.write("insert_credential", move |tx| {
            insert_credential(tx, &credential)
        }))
    }

    fn credential<'a>(
        &'a self,
        reference: &'a CredentialRef,
    ) -> BoxFuture<'a, StoreResult<Option<CredentialRecord>>> {
        let reference = reference.to_wire();
        Box::pin(self.call("credential", move |conn| {
            let Some(canonical) = canonical(conn, &reference)? else {
                return Ok(None);
            };
            Ok(
                query_credentials(conn, "WHERE reference = ?1", Some(&canonical))?
                    .into_iter()
                    .next(),
            )
        }))
    }

    fn credentials<'a>(
        &'a self,
        partner: &'a PartnerId,
    ) -> BoxFuture<'a, StoreResult<Vec<CredentialRecord>>> {
        let partner = partner.as_str().to_owned();
        Box::pin(self.call("credentials", move |conn| {
            query_credentials(conn, "WHERE partner_id = ?1", Some(&partner))
        }))
    }

    fn set_status<'a>(
        &'a self,
        reference: &'a CredentialRef,
        status: Status,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let reference = reference.to_wire();
        Box::pin(self.write("set_status", move |tx| {
            let changed = tx
                .execute(
                    "UPDATE credentials SET not_before = ?2, expires_at = ?3, revoked_at = ?4
                      WHERE reference = ?1",
                    params![
                        reference,
                        status.not_before.map(time_to_sql),
                        status.expires_at.map(time_to_sql),
                        status.revoked_at.map(time_to_sql),
                    ],
                )
                .map_err(sql_error)?;
            if changed == 0 {
                return Err(StoreError::NotFound(
                    "no credential with this reference".into(),
                ));
            }
            Ok(())
        }))
    }

    fn regenerate<'a>(
        &'a self,
        old: &'a CredentialRef,
        old_expires_at: UnixTime,
        replacement: &'a CredentialRecord,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let old = old.to_wire();
        let mut replacement = replacement.clone();
        Box::pin(self.write("regenerate", move |tx| {
            regenerate(tx, &old, old_expires_at, &mut replacement)
        }))
    }

    fn sealed_credentials(&self) -> BoxFuture<'_, StoreResult<Vec<CredentialRecord>>> {
        Box::pin(self.call("sealed_credentials", |conn| {
            let filter = format!(
                "WHERE kind IN ({})",
                SEALED_KINDS.map(|k| format!("'{k}'")).join(", ")
            );
            query_credentials(conn, &filter, None)
        }))
    }

    fn reseal<'a>(
        &'a self,
        materials: &'a [(CredentialRef, StoredMaterial)],
        meta: &'a [(String, Vec<u8>)],
        documents: &'a [Document],
    ) -> BoxFuture<'a, StoreResult<()>> {
        let (materials, meta, documents) = (materials.to_vec(), meta.to_vec(), documents.to_vec());
        Box::pin(self.write("reseal", move |tx| {
            for (reference, material) in &materials {
                let changed = tx
                    .execute(
                        "UPDATE credentials SET material = ?2, kind = ?3 WHERE reference = ?1",
                        params![
                            reference.to_wire(),
                            json(material)?,
                            material_kind(material)?
                        ],
                    )
                    .map_err(sql_error)?;
                if changed == 0 {
                    return Err(StoreError::NotFound(
                        "no credential with this reference".into(),
                    ));
                }
            }
            for (key, value) in &meta {
                upsert_meta(tx, key, value)?;
            }
            for document in &documents {
                let changed = tx
                    .execute(
                        "UPDATE documents SET body = ?3 WHERE kind = ?1 AND id = ?2",
                        params![document.kind, document.id, json(&document.body)?],
                    )
                    .map_err(sql_error)?;
                if changed == 0 {
                    return Err(StoreError::NotFound(
                        "no document with this kind and ID".into(),
                    ));
                }
            }
            Ok(())
        }))
    }

    fn record_usage<'a>(&'a self, deltas: &'a [UsageDelta]) -> BoxFuture<'a, StoreResult<()>> {
        let deltas = deltas.to_vec();
        Box::pin(self.write("record_usage", move |tx| {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO usage (reference, accepted, rejected, last_used)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (reference) DO UPDATE SET
                         accepted = accepted + excluded.accepted,
                         rejected = rejected + excluded.rejected,
                         last_used = CASE
                             WHEN excluded.last_used IS NULL THEN last_used
                             WHEN last_used IS NULL THEN excluded.last_used
                             ELSE MAX(last_used, excluded.last_used) END",
                )
                .map_err(sql_error)?;
            for delta in &deltas {
                stmt.execute(params![
                    delta.reference.to_wire(),
                    count_to_sql(delta.accepted),
                    count_to_sql(delta.rejected),
                    delta.last_used.map(time_to_sql),
                ])
                .map_err(sql_error)?;
            }
            Ok(())
        }))
    }

    fn usage<'a>(&'a self, reference: &'a CredentialRef) -> BoxFuture<'a, StoreResult<Usage>> {
        let reference = reference.to_wire();
        Box::pin(self.call("usage", move |conn| {
            let row: Option<(i64, i64, Option<i64>)> = conn
                .query_row(
                    "SELECT accepted, rejected, last_used FROM usage WHERE reference = ?1",
                    [reference],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()
                .map_err(sql_error)?;
            let Some((accepted, rejected, last_used)) = row else {
                return Ok(Usage::default());
            };
            Ok(Usage {
                accepted: count_from_sql(accepted)?,
                rejected: count_from_sql(rejected)?,
                last_used: time_from_sql(last_used)?,
            })
        }))
    }

    fn admins(&self) -> BoxFuture<'_, StoreResult<AdminList>> {
        Box::pin(self.call("admins", |conn| {
            let (version, keys): (i64, String) = conn
                .query_row(
                    "SELECT version, keys FROM admins WHERE singleton = 1",
                    [],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .map_err(sql_error)?;
            Ok(AdminList {
                version: count_from_sql(version)?,
                keys: from_json(&keys, "admin list")?,
            })
        }))
    }

    fn replace_admins<'a>(
        &'a self,
        expected_version: u64,
        keys: &'a [String],
    ) -> BoxFuture<'a, StoreResult<()>> {
        let keys = keys.to_vec();
        Box::pin(self.write("replace_admins", move |tx| {
            let changed = tx
                .execute(
                    "UPDATE admins SET version = version + 1, keys = ?2
                      WHERE singleton = 1 AND version = ?1",
                    params![count_to_sql(expected_version), json(&keys)?],
                )
                .map_err(sql_error)?;
            if changed == 0 {
                return Err(StoreError::Conflict(format!(
                    "the admin list is no longer at version {expected_version}; reload it and retry"
                )));
            }
            Ok(())
        }))
    }

    fn put_document<'a>(
        &'a self,
        document: &'a Document,
        replace: bool,
    ) -> BoxFuture<'a, StoreResult<()>> {
        let document = document.clone();
        Box::pin(self.write("put_document", move |tx| {
            let sql = if replace {
                "INSERT INTO documents (kind, id, body, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (kind, id) DO UPDATE SET
                     body = excluded.body, created_at = excluded.created_at"
            } else {
                "INSERT INTO documents (kind, id, body, created_at) VALUES (?1, ?2, ?3, ?4)"
            };
            tx.execute(
                sql,
                params![
                    document.kind,
                    document.id,
                    json(&document.body)?,
                    time_to_sql(document.created_at),
                ],
            )
            .map(drop)
            .map_err(sql_error)
        }))
    }

    fn document<'a>(
        &'a self,
        kind: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<Document>>> {
        let (kind, id) = (kind.to_owned(), id.to_owned());
        Box::pin(self.call("document", move |conn| {
            conn.query_row(
                "SELECT kind, id, body, created_at FROM documents WHERE kind = ?1 AND id = ?2",
                params![kind, id],
                document_from,
            )
            .optional()
            .map_err(sql_error)?
            .map(document_parts)
            .transpose()
        }))
    }

    fn documents<'a>(&'a self, kind: &'a str) -> BoxFuture<'a, StoreResult<Vec<Document>>> {
        let kind = kind.to_owned();
        Box::pin(self.call("documents", move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT kind, id, body, created_at FROM documents WHERE kind = ?1
                      ORDER BY created_at, seq",
                )
                .map_err(sql_error)?;
            let rows = stmt.query_map([kind], document_from).map_err(sql_error)?;
            rows.map(|r| document_parts(r.map_err(sql_error)?))
                .collect()
        }))
    }
}
