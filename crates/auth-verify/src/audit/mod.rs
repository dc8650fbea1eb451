//! The audit log: an append-only, hash-chained record of every verification decision and
//! every admin change, with periodic checkpoints signed by the service's Ed25519 key, so an
//! operator can prove offline ([`verify_file`]) that nothing was altered, removed or reordered
//! up to the last checkpoint.
//!
//! Format: JSON Lines in `<data_dir>/audit.jsonl` (mode 0600). Each line is the compact JSON of
//! `{"seq","time","prev","event"}` (its canonical bytes) with `,"hash":"<hex SHA-256 of those
//! bytes>"` inserted before the closing brace; `prev` is the previous entry's hash, the first
//! entry's is 64 zeros. A checkpoint entry signs `context || covers_seq (u64 BE) ||
//! covers_hash` for the entry before it. Entries hold references (partner ID, credential
//! reference, key fingerprint), never a secret.
//!
//! Writing: [`AuditLog::record`] hands an event to a dedicated writer thread through a bounded
//! queue; the thread assigns seq numbers, writes batches and fsyncs once per batch. Batches
//! are group commits: after draining the queue the writer lingers `commit_interval` (10 ms) so
//! that one write and one fsync carry every decision of that interval; a writer that fsyncs
//! per burst spent a third of the service's CPU in device notifications at 34,000 decisions
//! per second on this project's machines.

mod entry;
mod key;
mod verify;

pub use entry::{AdminOutcome, AdminRecord, DecisionOutcome, DecisionRecord, GENESIS};
pub use key::{SERVICE_KEY_FILE, SERVICE_PUB_FILE};
pub use verify::{Finding, Problem, VerifyReport, verify_file};

use auth_core::time::UnixTime;
use auth_http::server::{Decision, Observer, Outcome};
use entry::{Body, Checkpoint, Event, Recovery, bounded, hex};
use key::ServiceKey;
use sha2::{Digest, Sha256};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::oneshot;

/// File name of the log in the data directory.
pub const AUDIT_FILE: &str = "audit.jsonl";

/// How far back from the end [`AuditLog::open`] looks for the last intact entry.
const TAIL_WINDOW: u64 = 1024 * 1024;
/// Field bounds that keep every entry far below the line limit.
const MAX_PATH: usize = 2048;
const MAX_FIELD: usize = 256;

/// Why the audit log cannot be opened or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// A file operation failed (the message names the file).
    #[error("audit log I/O: {0}")]
    Io(String),
    /// The service key cannot be loaded or created.
    #[error("service key: {0}")]
    ServiceKey(String),
    /// The end of the log holds no intact entry to continue from.
    #[error("audit log {0}: no intact entry in its last MiB; run `auth-verify audit verify` on it")]
    Corrupt(String),
    /// The writer stopped after a write failure; nothing more is recorded.
    #[error("the audit log writer stopped after a write failure")]
    WriterFailed,
    /// [`AuditLog::shutdown`] was called.
    #[error("the audit log is shut down")]
    Closed,
}

/// When checkpoints are written and how much is queued.
#[derive(Debug, Clone)]
pub struct AuditConfig {
    /// A checkpoint after this many entries.
    pub checkpoint_every: u64,
    /// A checkpoint after this long with entries not yet covered.
    pub checkpoint_interval: Duration,
    /// Events queued before [`AuditLog::record`] waits for the writer.
    pub queue: usize,
    /// How long the writer lets decisions gather before one write and fsync (group commit).
    /// A crash loses at most this much plus one fsync of recorded decisions; `flush` and
    /// shutdown do not wait for it.
    pub commit_interval: Duration,
    /// Most events written per fsync. As large as the queue by default (group commit):
    /// a smaller batch caps throughput at `batch / fsync time` (512 entries per 20 ms fsync
    /// was 25,000 decisions per second).
    pub batch: usize,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            checkpoint_every: 1000,
            checkpoint_interval: Duration::from_secs(10),
            queue: 8192,
            batch: 8192,
            commit_interval: Duration::from_millis(10),
        }
    }
}

/// What [`AuditLog::open`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenReport {
    /// The log file.
    pub path: PathBuf,
    /// Whether the service key was generated now (first start).
    pub created_key: bool,
    /// Hex SHA-256 of the service public key.
    pub key_fingerprint: String,
    /// The seq the next entry gets (1 for a new log).
    pub next_seq: u64,
    /// Bytes at the end that were not an intact entry (a crash during a write): where they
    /// start and how long they are. A recovery entry naming them was appended.
    pub torn_tail: Option<(u64, u64)>,
}

/// One event to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuditEvent {
    /// A verification decision.
    Decision(DecisionRecord),
    /// An admin change.
    Admin(AdminRecord),
}

/// Builds a [`DecisionRecord`] (defined in auth-core, beside the log format) from the layer's
/// decision.
pub trait FromDecision {
    /// The record of the layer's `decision`: references only (credential references name
    /// bearer keys by digest).
    fn from_decision(decision: &Decision<'_>) -> Self;
}

impl FromDecision for DecisionRecord {
    fn from_decision(decision: &Decision<'_>) -> Self {
        Self {
            outcome: match decision.outcome {
                Outcome::Accepted => DecisionOutcome::Accepted,
                Outcome::Rejected => DecisionOutcome::Rejected,
            },
            path: bounded(decision.path.to_owned(), MAX_PATH),
            scheme: decision.scheme.map(|s| s.as_str().to_owned()),
            partner: decision.partner.map(|p| bounded(p.to_string(), MAX_FIELD)),
            credential: decision.credential.map(|c| bounded(c.to_wire(), MAX_FIELD)),
            code: decision.code.map(|c| c.as_str().to_owned()),
            latency_us: u64::try_from(decision.latency.as_micros()).unwrap_or(u64::MAX),
        }
    }
}

enum Message {
    Event(AuditEvent, UnixTime),
    /// Write and fsync everything queued before it, then answer.
    Flush(oneshot::Sender<Result<(), AuditError>>),
    /// Flush, write a final checkpoint, answer and stop.
    Shutdown(oneshot::Sender<Result<(), AuditError>>),
}

/// The open log. Share it with `Arc`; [`AuditLog::shutdown`] before exit.
pub struct AuditLog {
    sender: SyncSender<Message>,
    failed: Arc<AtomicBool>,
    closed: AtomicBool,
    public_pem: String,
    fingerprint: String,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("key_fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens (or creates) `dir/audit.jsonl` and the service key in `dir`, continues the chain
    /// from the last intact entry, and starts the writer thread. Bytes a crash left after the
    /// last intact entry are kept and named by a recovery entry (see [`OpenReport`]).
    pub fn open(dir: &Path, config: AuditConfig) -> Result<(Self, OpenReport), AuditError> {
        let (key, created_key) = ServiceKey::load_or_create(dir)?;
        let path = dir.join(AUDIT_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| io_error(&path, &e))?;
        // An existing log made by hand or an old umask: tighten it through the handle.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| io_error(&path, &e))?;
        let tail = read_tail(&mut file, &path)?;
        let mut chain = Chain {
            next_seq: tail.last.as_ref().map_or(1, |(seq, _, _)| seq + 1),
            prev: tail.last.as_ref().map_or(GENESIS, |(_, hash, _)| *hash),
            uncovered: match tail.last {
                Some((_, _, true)) | None => 0,
                Some((_, _, false)) => 1,
            },
            last_checkpoint: Instant::now(),
        };
        let mut torn_tail = None;
        if let Some((offset, mut torn)) = tail.torn {
            if torn.last() != Some(&b'\n') {
                file.write_all(b"\n").map_err(|e| io_error(&path, &e))?;
                torn.push(b'\n');
            }
            let len = torn.len() as u64;
            let event = Event::Recovery(Recovery {
                torn_offset: offset,
                torn_len: len,
                torn_sha256: hex(&Sha256::digest(&torn)),
            });
            let mut buf = Vec::new();
            chain.append(&mut buf, event, now())?;
            file.write_all(&buf)
                .and_then(|()| file.sync_data())
                .map_err(|e| io_error(&path, &e))?;
            torn_tail = Some((offset, len));
        }
        key::sync_dir(dir)?;
        let report = OpenReport {
            path: path.clone(),
            created_key,
            key_fingerprint: key.fingerprint().to_owned(),
            next_seq: chain.next_seq,
            torn_tail,
        };
        let (sender, receiver) = std::sync::mpsc::sync_channel(config.queue.max(1));
        let failed = Arc::new(AtomicBool::new(false));
        let public_pem = key.public_pem().to_owned();
        let fingerprint = key.fingerprint().to_owned();
        let writer = Writer {
            file,
            path,
            key,
            chain,
            config,
            failed: failed.clone(),
        };
        let handle = std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || writer.run(receiver))
            .map_err(|e| AuditError::Io(format!("cannot start the audit writer: {e}")))?;
        Ok((
            Self {
                sender,
                failed,
                closed: AtomicBool::new(false),
                public_pem,
                fingerprint,
                writer: Mutex::new(Some(handle)),
            },
            report,
        ))
    }

    /// Queues `event`. Returns at once unless the queue is full; then it waits for the writer
    /// rather than drop the event: a log that drops under load lets an attacker hide what
    /// they did behind a flood, so a slow disk slows requests instead. The writer is its own
    /// thread and never needs the async runtime, so waiting here cannot deadlock it.
    pub fn record(&self, event: AuditEvent) -> Result<(), AuditError> {
        if self.failed.load(Ordering::Relaxed) {
            return Err(AuditError::WriterFailed);
        }
        let message = Message::Event(event, now());
        match self.sender.try_send(message) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(message)) => {
                self.sender.send(message).map_err(|_| self.stopped())
            }
            Err(TrySendError::Disconnected(_)) => Err(self.stopped()),
        }
    }

    /// Waits until everything recorded so far is written and fsynced.
    pub async fn flush(&self) -> Result<(), AuditError> {
        let (tx, rx) = oneshot::channel();
        self.send_control(Message::Flush(tx)).await?;
        rx.await.map_err(|_| self.stopped())?
    }

    /// Writes everything queued, a final checkpoint, and stops the writer. Later
    /// [`AuditLog::record`] calls fail with [`AuditError::Closed`].
    pub async fn shutdown(&self) -> Result<(), AuditError> {
        let (tx, rx) = oneshot::channel();
        self.send_control(Message::Shutdown(tx)).await?;
        let answer = rx.await.map_err(|_| self.stopped())?;
        self.closed.store(true, Ordering::Relaxed);
        let handle = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            // The writer answered just before returning; joining is immediate.
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
        answer
    }

    /// The service public key as SPKI PEM (also in `service.pub`), for offline verification.
    pub fn public_key_text(&self) -> &str {
        &self.public_pem
    }

    /// Hex SHA-256 of the service public key (checkpoints name their key by it).
    pub fn key_fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Whether the writer is still writing (false after a write failure): for readiness.
    pub fn is_healthy(&self) -> bool {
        !self.failed.load(Ordering::Relaxed) && !self.closed.load(Ordering::Relaxed)
    }

    /// Sends a control message without blocking the runtime when the queue is full.
    async fn send_control(&self, message: Message) -> Result<(), AuditError> {
        let sender = self.sender.clone();
        match sender.try_send(message) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(message)) => {
                let sent = tokio::task::spawn_blocking(move || sender.send(message).is_ok())
                    .await
                    .unwrap_or(false);
                if sent { Ok(()) } else { Err(self.stopped()) }
            }
            Err(TrySendError::Disconnected(_)) => Err(self.stopped()),
        }
    }

    fn stopped(&self) -> AuditError {
        if self.failed.load(Ordering::Relaxed) {
            AuditError::WriterFailed
        } else {
            AuditError::Closed
        }
    }
}

/// Records every decision of an [`auth_http::server::AuthLayer`] in the audit log.
#[derive(Debug, Clone)]
pub struct AuditObserver {
    log: Arc<AuditLog>,
    reported: Arc<AtomicBool>,
}

impl AuditObserver {
    /// Records into `log`.
    pub fn new(log: Arc<AuditLog>) -> Self {
        Self {
            log,
            reported: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl Observer for AuditObserver {
    fn observe(&self, decision: &Decision<'_>) {
        let event = AuditEvent::Decision(DecisionRecord::from_decision(decision));
        if let Err(e) = self.log.record(event) {
            // Once: a dead disk must not also flood the logs.
            if !self.reported.swap(true, Ordering::Relaxed) {
                tracing::error!(error = %e, "audit log cannot record decisions");
            }
        }
    }
}

/// The chain's state: what the next entry gets.
struct Chain {
    next_seq: u64,
    prev: [u8; 32],
    /// Entries since the last checkpoint.
    uncovered: u64,
    last_checkpoint: Instant,
}

impl Chain {
    /// Encodes `event` as the next entry into `buf`.
    fn append(
        &mut self,
        buf: &mut Vec<u8>,
        event: Event,
        time: UnixTime,
    ) -> Result<(), AuditError> {
        let is_checkpoint = matches!(event, Event::Checkpoint(_));
        let body = Body {
            seq: self.next_seq,
            time: time.to_rfc3339(),
            prev: hex(&self.prev),
            event,
        };
        let (line, hash) = entry::encode(&body)
            .map_err(|e| AuditError::Io(format!("cannot encode an entry: {e}")))?;
        buf.extend_from_slice(&line);
        self.next_seq += 1;
        self.prev = hash;
        if is_checkpoint {
            self.uncovered = 0;
            self.last_checkpoint = Instant::now();
        } else {
            self.uncovered += 1;
        }
        Ok(())
    }

    /// Appends a checkpoint over the last entry.
    fn checkpoint(&mut self, buf: &mut Vec<u8>, key: &ServiceKey) -> Result<(), AuditError> {
        let covers_seq = self.next_seq - 1;
        let sig = key.sign(&entry::checkpoint_message(covers_seq, &self.prev));
        let event = Event::Checkpoint(Checkpoint {
            covers_seq,
            covers_hash: hex(&self.prev),
            key: key.fingerprint().to_owned(),
            sig: hex(&sig),
        });
        self.append(buf, event, now())
    }
}

struct Writer {
    file: File,
    path: PathBuf,
    key: ServiceKey,
    chain: Chain,
    config: AuditConfig,
    failed: Arc<AtomicBool>,
}

impl Writer {
    fn run(mut self, receiver: Receiver<Message>) {
        let mut buf = Vec::new();
        let mut waiters = Vec::new();
        loop {
            let timeout = if self.chain.uncovered > 0 {
                self.config
                    .checkpoint_interval
                    .saturating_sub(self.chain.last_checkpoint.elapsed())
            } else {
                Duration::from_secs(3600)
            };
            let mut stop = false;
            match receiver.recv_timeout(timeout) {
                Ok(first) => {
                    let mut next = Some(first);
                    let mut taken = 0;
                    let mut lingered = false;
                    loop {
                        while let Some(message) = next.take() {
                            match message {
                                Message::Event(event, time) => {
                                    taken += 1;
                                    let event = match event {
                                        AuditEvent::Decision(d) => Event::Decision(d),
                                        AuditEvent::Admin(a) => Event::Admin(bounded_admin(a)),
                                    };
                                    if let Err(e) = self.chain.append(&mut buf, event, time) {
                                        tracing::error!(error = %e, "audit entry dropped");
                                    }
                                    if self.chain.uncovered >= self.config.checkpoint_every {
                                        self.checkpoint(&mut buf);
                                    }
                                }
                                Message::Flush(tx) => waiters.push(tx),
                                Message::Shutdown(tx) => {
                                    waiters.push(tx);
                                    stop = true;
                                    break;
                                }
                            }
                            if taken < self.config.batch {
                                next = receiver.try_recv().ok();
                            }
                        }
                        // Group commit: the queue is drained; linger once so that the decisions
                        // arriving meanwhile share this write and fsync, and their senders need
                        // not wake this thread (one wake and one fsync per interval, not per burst).
                        if lingered
                            || stop
                            || !waiters.is_empty()
                            || taken >= self.config.batch
                            || self.config.commit_interval.is_zero()
                        {
                            break;
                        }
                        lingered = true;
                        std::thread::sleep(self.config.commit_interval);
                        next = receiver.try_recv().ok();
                        if next.is_none() {
                            break;
                        }
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                // Every handle is gone without a shutdown: finish as a shutdown would.
                Err(RecvTimeoutError::Disconnected) => stop = true,
            }
            if self.chain.uncovered > 0
                && (stop || self.chain.last_checkpoint.elapsed() >= self.config.checkpoint_interval)
            {
                self.checkpoint(&mut buf);
            }
            let result = self.write(&mut buf);
            let failed = result.is_err();
            if let Err(e) = &result {
                self.failed.store(true, Ordering::Relaxed);
                tracing::error!(error = %e, "audit log write failed; the writer stops");
            }
            for tx in waiters.drain(..) {
                let _ = tx.send(result.clone());
            }
            if stop || failed {
                return;
            }
        }
    }

    fn checkpoint(&mut self, buf: &mut Vec<u8>) {
        if let Err(e) = self.chain.checkpoint(buf, &self.key) {
            tracing::error!(error = %e, "audit checkpoint not written");
        }
    }

    /// Writes the batch and fsyncs it.
    fn write(&mut self, buf: &mut Vec<u8>) -> Result<(), AuditError> {
        if buf.is_empty() {
            return Ok(());
        }
        let result = self
            .file
            .write_all(buf)
            .and_then(|()| self.file.sync_data())
            .map_err(|e| io_error(&self.path, &e));
        buf.clear();
        result
    }
}

fn bounded_admin(a: AdminRecord) -> AdminRecord {
    AdminRecord {
        actor: bounded(a.actor, MAX_FIELD),
        action: bounded(a.action, MAX_FIELD),
        target: a.target.map(|t| bounded(t, MAX_FIELD)),
        outcome: a.outcome,
        code: a.code.map(|c| bounded(c, MAX_FIELD)),
    }
}

/// What the end of an existing log holds.
struct Tail {
    /// The last intact entry: seq, hash, whether it is a checkpoint.
    last: Option<(u64, [u8; 32], bool)>,
    /// Bytes after it that are not an intact entry: their offset and content.
    torn: Option<(u64, Vec<u8>)>,
}

/// Finds the last intact entry in the last [`TAIL_WINDOW`] bytes of the log.
fn read_tail(file: &mut File, path: &Path) -> Result<Tail, AuditError> {
    let len = file.metadata().map_err(|e| io_error(path, &e))?.len();
    let start = len.saturating_sub(TAIL_WINDOW);
    let mut chunk = Vec::new();
    file.seek(SeekFrom::Start(start))
        .and_then(|_| file.take(len - start).read_to_end(&mut chunk))
        .map_err(|e| io_error(path, &e))?;
    // Line starts within the chunk; a chunk cut mid-line skips that partial first line.
    let mut starts: Vec<usize> = Vec::new();
    if start == 0 {
        starts.push(0);
    }
    starts.extend(
        chunk
            .iter()
            .enumerate()
            .filter(|(i, b)| **b == b'\n' && i + 1 < chunk.len())
            .map(|(i, _)| i + 1),
    );
    for &line_start in starts.iter().rev() {
        let Some(newline) = chunk[line_start..].iter().position(|b| *b == b'\n') else {
            continue; // the unterminated last line is torn by definition
        };
        let line = &chunk[line_start..line_start + newline];
        let Some(decoded) = entry::decode(line) else {
            continue;
        };
        if decoded.claimed != decoded.computed {
            continue;
        }
        let end = line_start + newline + 1;
        let torn = (end < chunk.len()).then(|| (start + end as u64, chunk[end..].to_vec()));
        return Ok(Tail {
            last: Some((
                decoded.body.seq,
                decoded.computed,
                matches!(decoded.body.event, Event::Checkpoint(_)),
            )),
            torn,
        });
    }
    if len == 0 {
        return Ok(Tail {
            last: None,
            torn: None,
        });
    }
    if start == 0 {
        // Nothing intact at all: only a torn first write; the chain starts at genesis.
        return Ok(Tail {
            last: None,
            torn: Some((0, chunk)),
        });
    }
    Err(AuditError::Corrupt(path.display().to_string()))
}

fn now() -> UnixTime {
    let millis = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    UnixTime::from_millis(millis)
}

fn io_error(path: &Path, e: &std::io::Error) -> AuditError {
    AuditError::Io(format!("{}: {e}", path.display()))
}
