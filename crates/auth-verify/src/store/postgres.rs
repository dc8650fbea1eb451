//! The shared registry for several instances: PostgreSQL through tokio-postgres and a
//! deadpool connection pool, with the SQLite store's schema and semantics (`sqlite.rs`), so
//! the same suite (`suite.rs`) passes on both.
//!
//! - All tables live in one schema (`search_path` is set per connection), created if missing.
//!   Versioned migrations run at [`PostgresStore::connect`] in one transaction under a
//!   transaction-scoped advisory lock, so two instances starting at once migrate once; a
//!   schema newer than this binary is refused unchanged.
//! - Every call runs under the store's deadline (a tokio timeout around the whole call, plus
//!   `statement_timeout`, `lock_timeout` and `idle_in_transaction_session_timeout` on each
//!   connection so the server frees locks too) and answers [`StoreError::Unavailable`] rather
//!   than hang. A timed-out transaction is rolled back when its handle is dropped.
//! - Unique violations (23505) are `Conflict`, foreign-key violations (23503) `NotFound`.
//!   Serialization failures and deadlocks (40001, 40P01) are mapped to `Conflict` without a
//!   retry: the writes run in READ COMMITTED with row locks, so they only arise from a genuine
//!   race, which the caller resolves like any lost compare-and-set (usage batches take their
//!   row locks in reference order, so they do not deadlock each other).
//! - Compare-and-set paths hold up across instances: the admin list is one row updated with
//!   `WHERE version = expected` (a concurrent writer blocks on the row lock and then sees the
//!   new version), regenerate takes the old credential `FOR UPDATE`, and credential inserts
//!   take a per-schema advisory lock because references and aliases share one namespace that
//!   no single unique index covers.
//!
//! Not done yet: no retry of a transaction that lost a serialization race (it is a
//! `Conflict`), no TLS (`NoTls`; use a local socket or a trusted network), and the pool size is
//! fixed at [`POOL_SIZE`].

use super::{
    AdminList, BoxFuture, CredentialRecord, Document, PartnerRecord, PartnerStatus, Store,
    StoreError, StoreResult, StoredMaterial, Usage, UsageDelta,
};
use auth_core::apikey::Environment;
use auth_core::credential::{CredentialRef, PartnerId, Scopes, Status};
use auth_core::time::UnixTime;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use std::future::Future;
use std::time::Duration;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{GenericClient, NoTls, Row};

/// Schema migrations, in order: (version, SQL). Append only; never edit a released one.
const MIGRATIONS: &[(i64, &str)] = &[(1, include_str!("migrations/pg/0001_init.sql"))];

/// The newest schema version this binary knows.
pub const SCHEMA_VERSION: i64 = 1;

/// Connections per store (per instance).
pub const POOL_SIZE: usize = 16;

/// How long `connect` waits for another instance's migration (the advisory lock) at least.
const MIGRATION_WAIT: Duration = Duration::from_secs(30);

/// Advisory lock classes (first key); the second key is a hash of the schema name.
const MIGRATION_LOCK: i32 = 0x5041_0001;
const NAMESPACE_LOCK: i32 = 0x5041_0002;

/// Material kinds (serde tags of [`StoredMaterial`]) that hold a sealed secret.
const SEALED_KINDS: [&str; 3] = ["jwt_secret", "smile", "sec_key_private"];

/// The PostgreSQL registry. Cheap to clone; clones share one pool.
#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    schema: String,
    deadline: Duration,
}

impl std::fmt::Debug for PostgresStore {
    // The URL may hold a password: only the schema and deadline are shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("schema", &self.schema)
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// Whether `schema` is a plain lower-case identifier (it is spliced into SQL and options).
fn valid_schema(schema: &str) -> bool {
    let mut chars = schema.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && schema.len() <= 63
}

impl PostgresStore {
    /// Connects to `url` (a `postgres://` URL or key=value string), creates `schema` if
    /// missing and brings it up to date. `schema` must be a lower-case identifier
    /// (`[a-z_][a-z0-9_]*`, at most 63 bytes). Every later call answers within about
    /// `deadline`; connecting answers within `deadline` when the server does not, and waits
    /// up to 30 s (or `deadline` if longer) for another instance's migration.
    pub async fn connect(url: &str, schema: &str, deadline: Duration) -> StoreResult<Self> {
        if !valid_schema(schema) {
            return Err(StoreError::Unavailable(format!(
                "the PostgreSQL schema name {schema:?} is not a lower-case identifier"
            )));
        }
        let mut config: tokio_postgres::Config = url
            .parse()
            .map_err(|_| StoreError::Unavailable("the PostgreSQL URL cannot be parsed".into()))?;
        let ms = deadline.as_millis().max(1);
        let mut options = config.get_options().unwrap_or_default().to_owned();
        options.push_str(&format!(
            " -c search_path={schema} -c statement_timeout={ms} -c lock_timeout={ms} \
             -c idle_in_transaction_session_timeout={}",
            ms.saturating_mul(4)
        ));
        config.options(options.trim_start());
        config.connect_timeout(deadline);
        if config.get_application_name().is_none() {
            config.application_name("auth-verify");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| StoreError::Unavailable(format!("cannot build the pool: {e}")))?;
        let store = Self {
            pool,
            schema: schema.to_owned(),
            deadline,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// The schema holding the registry.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// A pooled connection, within the deadline.
    async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        match tokio::time::timeout(self.deadline, self.pool.get()).await {
            Ok(Ok(client)) => Ok(client),
            Ok(Err(e)) => Err(pool_error(e)),
            Err(_) => Err(timed_out("connect", self.deadline)),
        }
    }

    /// Runs `call` under the deadline.
    async fn run<T>(
        &self,
        what: &'static str,
        call: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        tokio::time::timeout(self.deadline, call)
            .await
            .unwrap_or_else(|_| Err(timed_out(what, self.deadline)))
    }

    /// Creates the schema and applies missing migrations, all in one transaction under an
    /// advisory lock (DDL is transactional in PostgreSQL: a failed migration leaves nothing).
    async fn migrate(&self) -> StoreResult<()> {
        let mut client = self.client().await?;
        let wait = self.deadline.max(MIGRATION_WAIT);
        let schema = self.schema.clone();
        let work = async move {
            let tx = client.transaction().await.map_err(pg_error)?;
            let wait_ms = wait.as_millis().to_string();
            tx.batch_execute(&format!(
                "SET LOCAL statement_timeout = {wait_ms}; SET LOCAL lock_timeout = {wait_ms}"
            ))
            .await
            .map_err(pg_error)?;
            tx.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                &[&MIGRATION_LOCK, &schema],
            )
            .await
            .map_err(pg_error)?;
            tx.batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS \"{schema}\";
                 SET LOCAL search_path = \"{schema}\";
                 CREATE TABLE IF NOT EXISTS schema_migrations (
                     version    BIGINT PRIMARY KEY,
                     applied_at BIGINT NOT NULL
                 )"
            ))
            .await
            .map_err(pg_error)?;
            let current: i64 = tx
                .query_one(
                    "SELECT COALESCE(MAX(version), 0)::BIGINT FROM schema_migrations",
                    &[],
                )
                .await
                .map_err(pg_error)
                .and_then(|row| get(&row, 0))?;
            if current > SCHEMA_VERSION {
                return Err(StoreError::Unavailable(format!(
                    "the PostgreSQL schema {schema} has schema version {current}, newer than \
                     this binary knows ({SCHEMA_VERSION}); run a newer auth-verify or restore \
                     a backup. Nothing was changed."
                )));
            }
            for (version, sql) in MIGRATIONS {
                if *version <= current {
                    continue;
                }
                tx.batch_execute(sql).await.map_err(|e| {
                    StoreError::Unavailable(format!("migration {version} failed: {}", pg_error(e)))
                })?;
                tx.execute(
                    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                    &[version, &now_millis()],
                )
                .await
                .map_err(pg_error)?;
            }
            tx.commit().await.map_err(pg_error)
        };
        match tokio::time::timeout(wait + self.deadline, work).await {
            Ok(result) => result,
            Err(_) => Err(timed_out("migrate", wait)),
        }
    }
}

fn timed_out(what: &str, deadline: Duration) -> StoreError {
    StoreError::Unavailable(format!(
        "the registry did not answer within {} ms ({what})",
        deadline.as_millis()
    ))
}

fn pool_error(error: deadpool_postgres::PoolError) -> StoreError {
    match error {
        deadpool_postgres::PoolError::Backend(e) => pg_error(e),
        other => StoreError::Unavailable(format!("PostgreSQL pool: {other}")),
    }
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Maps PostgreSQL errors to what a caller can act on. Messages name the constraint, never a
/// value (values are bound parameters and may be digests or sealed bytes).
fn pg_error(error: tokio_postgres::Error) -> StoreError {
    let Some(db) = error.as_db_error() else {
        return StoreError::Unavailable(format!("PostgreSQL: {error}"));
    };
    let code = db.code();
    if *code == SqlState::UNIQUE_VIOLATION {
        StoreError::Conflict(taken(db.constraint().unwrap_or_default()).into())
    } else if *code == SqlState::FOREIGN_KEY_VIOLATION {
        StoreError::NotFound("no partner with this ID".into())
    } else if *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
    {
        StoreError::Conflict("a concurrent change won; reload and retry".into())
    } else if *code == SqlState::DATA_CORRUPTED || *code == SqlState::INDEX_CORRUPTED {
        StoreError::Corrupt(format!("PostgreSQL reports damaged data: {}", db.message()))
    } else {
        StoreError::Unavailable(format!("PostgreSQL: {} ({})", db.message(), code.code()))
    }
}

/// What a unique constraint protects, from its name (see `migrations/pg/0001_init.sql`).
fn taken(constraint: &str) -> &'static str {
    match constraint {
        "partners_pkey" => "a partner with this ID already exists",
        "partners_name_key" => "a partner with this name already exists",
        "credentials_reference_key" => "a credential with this ID already exists for this purpose",
        "credentials_current_name" => "the partner already has a credential with this name",
        "credential_aliases_pkey" => "this alias (client ID) is already taken",
        "documents_kind_id_key" => "a document with this kind and ID already exists",
        "meta_pkey" => "this metadata value is already set",
        _ => "a unique value is already taken",
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("a stored {what} cannot be read back"))
}

/// One column, a type mismatch being corrupt data rather than an outage.
fn get<'r, T: tokio_postgres::types::FromSql<'r>>(row: &'r Row, idx: usize) -> StoreResult<T> {
    row.try_get(idx)
        .map_err(|e| StoreError::Corrupt(format!("a stored value cannot be read: {e}")))
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

// `COLLATE "C"`: byte order, as SQLite sorts, whatever the database's locale.
const PARTNER_QUERY: &str = "SELECT id, name, status, allowed_origins, created_at FROM partners";

fn partner_from(row: &Row) -> StoreResult<PartnerRecord> {
    let id: String = get(row, 0)?;
    let status: String = get(row, 2)?;
    let origins: String = get(row, 3)?;
    Ok(PartnerRecord {
        id: PartnerId::new(&id).map_err(|_| corrupt("partner ID"))?,
        name: get(row, 1)?,
        status: match status.as_str() {
            "active" => PartnerStatus::Active,
            "suspended" => PartnerStatus::Suspended,
            _ => return Err(corrupt("partner status")),
        },
        allowed_origins: from_json(&origins, "allowed origins")?,
        created_at: time_from_sql(Some(get(row, 4)?))?.unwrap_or_default(),
    })
}

/// Credential columns with their aliases, read in one statement (one snapshot).
const CREDENTIAL_QUERY: &str = "SELECT c.reference, c.partner_id, c.environment, c.name, \
     c.notes, c.scopes, c.not_before, c.expires_at, c.revoked_at, c.created_at, c.material, \
     ARRAY(SELECT a.alias FROM credential_aliases a WHERE a.reference = c.reference \
           ORDER BY a.alias COLLATE \"C\") \
     FROM credentials c";

fn credential_from(row: &Row) -> StoreResult<CredentialRecord> {
    let reference: String = get(row, 0)?;
    let partner: String = get(row, 1)?;
    let environment: String = get(row, 2)?;
    let scopes: String = get(row, 5)?;
    let material: String = get(row, 10)?;
    let aliases: Vec<String> = get(row, 11)?;
    let scopes: Vec<String> = from_json(&scopes, "scope list")?;
    Ok(CredentialRecord {
        reference: CredentialRef::from_wire(&reference).map_err(|_| corrupt("reference"))?,
        partner: PartnerId::new(&partner).map_err(|_| corrupt("partner ID"))?,
        environment: environment_from(&environment)?,
        name: get(row, 3)?,
        notes: get(row, 4)?,
        scopes: Scopes::new(scopes),
        status: Status {
            not_before: time_from_sql(get(row, 6)?)?,
            expires_at: time_from_sql(get(row, 7)?)?,
            revoked_at: time_from_sql(get(row, 8)?)?,
        },
        created_at: time_from_sql(get(row, 9)?)?.unwrap_or_default(),
        material: from_json(&material, "credential material")?,
        aliases: aliases
            .iter()
            .map(|a| CredentialRef::from_wire(a).map_err(|_| corrupt("alias")))
            .collect::<StoreResult<_>>()?,
    })
}

async fn query_credentials(
    client: &(impl GenericClient + Sync),
    filter: &str,
    params: &[&(dyn ToSql + Sync)],
) -> StoreResult<Vec<CredentialRecord>> {
    let sql = format!("{CREDENTIAL_QUERY} {filter} ORDER BY c.seq");
    let rows = client.query(&sql, params).await.map_err(pg_error)?;
    rows.iter().map(credential_from).collect()
}

async fn exists(
    client: &(impl GenericClient + Sync),
    sql: &str,
    arg: &(dyn ToSql + Sync),
) -> StoreResult<bool> {
    client
        .query_opt(sql, &[arg])
        .await
        .map(|row| row.is_some())
        .map_err(pg_error)
}

/// Inserts a credential and its aliases. References and aliases share one namespace: an
/// alias equal to another credential's reference would make lookups ambiguous. The advisory
/// lock serialises inserts across instances so the checks below cannot race.
async fn insert_credential(
    tx: &tokio_postgres::Transaction<'_>,
    schema: &str,
    record: &CredentialRecord,
) -> StoreResult<()> {
    tx.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
        &[&NAMESPACE_LOCK, &schema],
    )
    .await
    .map_err(pg_error)?;
    let reference = record.reference.to_wire();
    if exists(
        tx,
        "SELECT 1 FROM credential_aliases WHERE alias = $1",
        &reference,
    )
    .await?
    {
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
            "SELECT 1 FROM credentials WHERE reference = $1",
            &alias.to_wire(),
        )
        .await?
        {
            return Err(StoreError::Conflict(
                "this alias (client ID) is already taken".into(),
            ));
        }
    }
    let scopes: Vec<&str> = record.scopes.iter().collect();
    tx.execute(
        "INSERT INTO credentials (reference, partner_id, environment, name, notes, scopes,
             not_before, expires_at, revoked_at, created_at, kind, material)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &reference,
            &record.partner.as_str(),
            &record.environment.as_str(),
            &record.name,
            &record.notes,
            &json(&scopes)?,
            &record.status.not_before.map(time_to_sql),
            &record.status.expires_at.map(time_to_sql),
            &record.status.revoked_at.map(time_to_sql),
            &time_to_sql(record.created_at),
            &material_kind(&record.material)?,
            &json(&record.material)?,
        ],
    )
    .await
    .map_err(pg_error)?;
    for alias in &record.aliases {
        tx.execute(
            "INSERT INTO credential_aliases (alias, reference) VALUES ($1, $2)",
            &[&alias.to_wire(), &reference],
        )
        .await
        .map_err(pg_error)?;
    }
    Ok(())
}

async fn regenerate(
    tx: &tokio_postgres::Transaction<'_>,
    schema: &str,
    old: &str,
    old_expires_at: UnixTime,
    replacement: &mut CredentialRecord,
) -> StoreResult<()> {
    // FOR UPDATE: a second regenerate of the same credential waits here, then sees
    // `superseded_by` set and loses.
    let found = tx
        .query_opt(
            "SELECT partner_id, name, superseded_by FROM credentials WHERE reference = $1
             FOR UPDATE",
            &[&old],
        )
        .await
        .map_err(pg_error)?;
    let Some(row) = found else {
        return Err(StoreError::NotFound(
            "no credential with this reference".into(),
        ));
    };
    let partner: String = get(&row, 0)?;
    let name: String = get(&row, 1)?;
    let superseded_by: Option<String> = get(&row, 2)?;
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
    // A grace period never extends a credential's life: keep an earlier expiry (LEAST
    // ignores NULL).
    tx.execute(
        "UPDATE credentials SET expires_at = LEAST(expires_at, $2), superseded_by = $3
          WHERE reference = $1",
        &[
            &old,
            &time_to_sql(old_expires_at),
            &replacement.reference.to_wire(),
        ],
    )
    .await
    .map_err(pg_error)?;
    // Aliases (a JWT client ID) move to the replacement; the old one stays findable by its
    // own ID until it expires.
    for alias in &replacement.aliases {
        tx.execute(
            "DELETE FROM credential_aliases WHERE alias = $1 AND reference = $2",
            &[&alias.to_wire(), &old],
        )
        .await
        .map_err(pg_error)?;
    }
    replacement.name = name;
    insert_credential(tx, schema, replacement).await
}

async fn upsert_meta(
    client: &(impl GenericClient + Sync),
    key: &str,
    value: &[u8],
) -> StoreResult<()> {
    client
        .execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )
        .await
        .map(drop)
        .map_err(pg_error)
}

fn document_from(row: &Row) -> StoreResult<Document> {
    let body: String = get(row, 2)?;
    Ok(Document {
        kind: get(row, 0)?,
        id: get(row, 1)?,
        body: from_json(&body, "document")?,
        created_at: time_from_sql(Some(get(row, 3)?))?.unwrap_or_default(),
    })
}

fn not_found_credential() -> StoreError {
    StoreError::NotFound("no credential with this reference".into())
}

impl Store for PostgresStore {
    fn ping(&self) -> BoxFuture<'_, StoreResult<()>> {
        Box::pin(self.run("ping", async {
            let client = self.client().await?;
            client.simple_query("SELECT 1").await.map_err(pg_error)?;
            Ok(())
        }))
    }

    fn meta<'a>(&'a self, key: &'a str) -> BoxFuture<'a, StoreResult<Option<Vec<u8>>>> {
        Box::pin(self.run("meta", async move {
            let client = self.client().await?;
            let row = client
                .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])
                .await
                .map_err(pg_error)?;
            row.map(|r| get(&r, 0)).transpose()
        }))
    }

    fn set_meta<'a>(
        &'a self,
        key: &'a str,
        value: &'a [u8],
        only_if_absent: bool,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(self.run("set_meta", async move {
            let client = self.client().await?;
            if only_if_absent {
                client
                    .execute(
                        "INSERT INTO meta (key, value) VALUES ($1, $2)",
                        &[&key, &value],
                    )
                    .await
                    .map(drop)
                    .map_err(pg_error)
            } else {
                upsert_meta(&**client, key, value).await
            }
        }))
    }

    fn create_partner<'a>(&'a self, partner: &'a PartnerRecord) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(self.run("create_partner", async move {
            let client = self.client().await?;
            client
                .execute(
                    "INSERT INTO partners (id, name, status, allowed_origins, created_at)
                     VALUES ($1, $2, $3, $4, $5)",
                    &[
                        &partner.id.as_str(),
                        &partner.name,
                        &status_text(partner.status),
                        &json(&partner.allowed_origins)?,
                        &time_to_sql(partner.created_at),
                    ],
                )
                .await
                .map(drop)
                .map_err(pg_error)
        }))
    }

    fn partner<'a>(
        &'a self,
        id: &'a PartnerId,
    ) -> BoxFuture<'a, StoreResult<Option<PartnerRecord>>> {
        Box::pin(self.run("partner", async move {
            let client = self.client().await?;
            let sql = format!("{PARTNER_QUERY} WHERE id = $1");
            let row = client
                .query_opt(&sql, &[&id.as_str()])
                .await
                .map_err(pg_error)?;
            row.as_ref().map(partner_from).transpose()
        }))
    }

    fn partners(&self) -> BoxFuture<'_, StoreResult<Vec<PartnerRecord>>> {
        Box::pin(self.run("partners", async {
            let client = self.client().await?;
            let sql = format!("{PARTNER_QUERY} ORDER BY id COLLATE \"C\"");
            let rows = client.query(&sql, &[]).await.map_err(pg_error)?;
            rows.iter().map(partner_from).collect()
        }))
    }

    fn update_partner<'a>(&'a self, partner: &'a PartnerRecord) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(self.run("update_partner", async move {
            let client = self.client().await?;
            let changed = client
                .execute(
                    "UPDATE partners SET status = $2, allowed_origins = $3 WHERE id = $1",
                    &[
                        &partner.id.as_str(),
                        &status_text(partner.status),
                        &json(&partner.allowed_origins)?,
                    ],
                )
                .await
                .map_err(pg_error)?;
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
        Box::pin(self.run("insert_credential", async move {
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(pg_error)?;
            insert_credential(&tx, &self.schema, credential).await?;
            tx.commit().await.map_err(pg_error)
        }))
    }

    fn credential<'a>(
        &'a self,
        reference: &'a CredentialRef,
    ) -> BoxFuture<'a, StoreResult<Option<CredentialRecord>>> {
        Box::pin(self.run("credential", async move {
            let client = self.client().await?;
            let reference = reference.to_wire();
            // One statement: the alias lookup and the read see the same snapshot.
            let found = query_credentials(
                &**client,
                "WHERE c.reference = (SELECT reference FROM credentials WHERE reference = $1
                                      UNION ALL
                                      SELECT reference FROM credential_aliases WHERE alias = $1
                                      LIMIT 1)",
                &[&reference],
            )
            .await?;
            Ok(found.into_iter().next())
        }))
    }

    fn credentials<'a>(
        &'a self,
        partner: &'a PartnerId,
    ) -> BoxFuture<'a, StoreResult<Vec<CredentialRecord>>> {
        Box::pin(self.run("credentials", async move {
            let client = self.client().await?;
            query_credentials(&**client, "WHERE c.partner_id = $1", &[&partner.as_str()]).await
        }))
    }

    fn set_status<'a>(
        &'a self,
        reference: &'a CredentialRef,
        status: Status,
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(self.run("set_status", async move {
            let client = self.client().await?;
            let changed = client
                .execute(
                    "UPDATE credentials SET not_before = $2, expires_at = $3, revoked_at = $4
                      WHERE reference = $1",
                    &[
                        &reference.to_wire(),
                        &status.not_before.map(time_to_sql),
                        &status.expires_at.map(time_to_sql),
                        &status.revoked_at.map(time_to_sql),
                    ],
                )
                .await
                .map_err(pg_error)?;
            if changed == 0 {
                return Err(not_found_credential());
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
        Box::pin(self.run("regenerate", async move {
            let mut replacement = replacement.clone();
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(pg_error)?;
            regenerate(
                &tx,
                &self.schema,
                &old.to_wire(),
                old_expires_at,
                &mut replacement,
            )
            .await?;
            tx.commit().await.map_err(pg_error)
        }))
    }

    fn sealed_credentials(&self) -> BoxFuture<'_, StoreResult<Vec<CredentialRecord>>> {
        Box::pin(self.run("sealed_credentials", async {
            let client = self.client().await?;
            let kinds: &[&str] = &SEALED_KINDS;
            query_credentials(&**client, "WHERE c.kind = ANY($1)", &[&kinds]).await
        }))
    }

    fn reseal<'a>(
        &'a self,
        materials: &'a [(CredentialRef, StoredMaterial)],
        meta: &'a [(String, Vec<u8>)],
        documents: &'a [Document],
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(self.run("reseal", async move {
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(pg_error)?;
            for (reference, material) in materials {
                let changed = tx
                    .execute(
                        "UPDATE credentials SET material = $2, kind = $3 WHERE reference = $1",
                        &[
                            &reference.to_wire(),
                            &json(material)?,
                            &material_kind(material)?,
                        ],
                    )
                    .await
                    .map_err(pg_error)?;
                if changed == 0 {
                    return Err(not_found_credential());
                }
            }
            for (key, value) in meta {
                upsert_meta(&*tx, key, value).await?;
            }
            for document in documents {
                let changed = tx
                    .execute(
                        "UPDATE documents SET body = $3 WHERE kind = $1 AND id = $2",
                        &[&document.kind, &document.id, &json(&document.body)?],
                    )
                    .await
                    .map_err(pg_error)?;
                if changed == 0 {
                    return Err(StoreError::NotFound(
                        "no document with this kind and ID".into(),
                    ));
                }
            }
            tx.commit().await.map_err(pg_error)
        }))
    }

    fn record_usage<'a>(&'a self, deltas: &'a [UsageDelta]) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(self.run("record_usage", async move {
            // Row locks in reference order: two instances flushing overlapping batches queue
            // rather than deadlock.
            let mut sorted: Vec<(String, &UsageDelta)> =
                deltas.iter().map(|d| (d.reference.to_wire(), d)).collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            let mut client = self.client().await?;
            let tx = client.transaction().await.map_err(pg_error)?;
            let stmt = tx
                .prepare(
                    "INSERT INTO usage (reference, accepted, rejected, last_used)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (reference) DO UPDATE SET
                         accepted = usage.accepted + excluded.accepted,
                         rejected = usage.rejected + excluded.rejected,
                         last_used = GREATEST(usage.last_used, excluded.last_used)",
                )
                .await
                .map_err(pg_error)?;
            for (reference, delta) in &sorted {
                tx.execute(
                    &stmt,
                    &[
                        reference,
                        &count_to_sql(delta.accepted),
                        &count_to_sql(delta.rejected),
                        &delta.last_used.map(time_to_sql),
                    ],
                )
                .await
                .map_err(pg_error)?;
            }
            tx.commit().await.map_err(pg_error)
        }))
    }

    fn usage<'a>(&'a self, reference: &'a CredentialRef) -> BoxFuture<'a, StoreResult<Usage>> {
        Box::pin(self.run("usage", async move {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    "SELECT accepted, rejected, last_used FROM usage WHERE reference = $1",
                    &[&reference.to_wire()],
                )
                .await
                .map_err(pg_error)?;
            let Some(row) = row else {
                return Ok(Usage::default());
            };
            Ok(Usage {
                accepted: count_from_sql(get(&row, 0)?)?,
                rejected: count_from_sql(get(&row, 1)?)?,
                last_used: time_from_sql(get(&row, 2)?)?,
            })
        }))
    }

    fn admins(&self) -> BoxFuture<'_, StoreResult<AdminList>> {
        Box::pin(self.run("admins", async {
            let client = self.client().await?;
            let row = client
                .query_one("SELECT version, keys FROM admins WHERE singleton = 1", &[])
                .await
                .map_err(pg_error)?;
            let keys: String = get(&row, 1)?;
            Ok(AdminList {
                version: count_from_sql(get(&row, 0)?)?,
                keys: from_json(&keys, "admin list")?,
            })
        }))
    }

    fn replace_admins<'a>(
        &'a self,
        expected_version: u64,
        keys: &'a [String],
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(self.run("replace_admins", async move {
            let client = self.client().await?;
            // A concurrent writer blocks on the row lock, then re-checks `version` against the
            // committed row: exactly one of two racing writers changes it.
            let changed = client
                .execute(
                    "UPDATE admins SET version = version + 1, keys = $2
                      WHERE singleton = 1 AND version = $1",
                    &[&count_to_sql(expected_version), &json(keys)?],
                )
                .await
                .map_err(pg_error)?;
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
        Box::pin(self.run("put_document", async move {
            let client = self.client().await?;
            let sql = if replace {
                "INSERT INTO documents (kind, id, body, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (kind, id) DO UPDATE SET
                     body = excluded.body, created_at = excluded.created_at"
            } else {
                "INSERT INTO documents (kind, id, body, created_at) VALUES ($1, $2, $3, $4)"
            };
            client
                .execute(
                    sql,
                    &[
                        &document.kind,
                        &document.id,
                        &json(&document.body)?,
                        &time_to_sql(document.created_at),
                    ],
                )
                .await
                .map(drop)
                .map_err(pg_error)
        }))
    }

    fn document<'a>(
        &'a self,
        kind: &'a str,
        id: &'a str,
    ) -> BoxFuture<'a, StoreResult<Option<Document>>> {
        Box::pin(self.run("document", async move {
            let client = self.client().await?;
            let row = client
                .query_opt(
                    "SELECT kind, id, body, created_at FROM documents WHERE kind = $1 AND id = $2",
                    &[&kind, &id],
                )
                .await
                .map_err(pg_error)?;
            row.as_ref().map(document_from).transpose()
        }))
    }

    fn documents<'a>(&'a self, kind: &'a str) -> BoxFuture<'a, StoreResult<Vec<Document>>> {
        Box::pin(self.run("documents", async move {
            let client = self.client().await?;
            let rows = client
                .query(
                    "SELECT kind, id, body, created_at FROM documents WHERE kind = $1
                      ORDER BY created_at, seq",
                    &[&kind],
                )
                .await
                .map_err(pg_error)?;
            rows.iter().map(document_from).collect()
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::valid_schema;

    #[test]
    fn schema_names_are_plain_identifiers() {
        assert!(valid_schema("pa_test_1a2b"));
        assert!(valid_schema("_x"));
        for bad in ["", "1abc", "A", "a-b", "a\"b", "a b", &"x".repeat(64)] {
            assert!(!valid_schema(bad), "{bad:?}");
        }
    }
}
