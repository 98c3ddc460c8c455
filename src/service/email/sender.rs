//! The email worker's step: claim due mails with a lease, render and send them (outside
//! any transaction), record each result and schedule what comes next.
//!
//! Sending is at least once, like webhooks: a worker that dies between the SMTP
//! server's acceptance and the record leaves its claim to expire (`LEASE`), and the
//! next step sends the mail again with the same `Message-ID`. Several workers on one
//! database never hold the same mail at once: claims take row locks with `SKIP LOCKED`
//! on PostgreSQL and the write lock on SQLite, the lease is set by a conditional
//! update, and only the holder of a claim's token records its result.
//!
//! Failures follow the webhooks' retry schedule (`domain::webhook_retry`: 5 s, 5 min,
//! 30 min, 2 h, 5 h, 10 h, 10 h, each ±10 %); after the last retry, or at once when the
//! server refuses for good (5xx) or the mail cannot be built, the mail is `failed` with
//! a reason that names no address and quotes no server text.
use std::{
    path::{Path, PathBuf},
    time::{Duration as StdDuration, Instant, SystemTime},
};

use chrono::{DateTime, Duration, Utc};
use entity::email_outbox::{self, MailState};
use futures_util::{StreamExt, stream};
use lettre::{
    Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{
        Mailbox, MultiPart, SinglePart,
        header::{ContentTransferEncoding, ContentType},
    },
};
use sea_orm::{
    ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Select,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType},
};
use secrecy::ExposeSecret;
use serde_json::Value;
use uuid::Uuid;

use super::render::Templates;
use crate::{
    config::Settings,
    db,
    domain::{
        email::{EmailKind, MailLanguage},
        webhook_retry::{self, MAX_ATTEMPTS},
    },
};

/// How long a worker owns the mails it claimed. A crashed worker's claims are sent
/// again once this runs out.
pub const LEASE: Duration = Duration::minutes(5);
/// How long one SMTP exchange may take.
const SMTP_TIMEOUT: StdDuration = StdDuration::from_secs(30);
/// Time kept in hand, beyond the SMTP timeout, to record a result within the lease.
const LEASE_MARGIN: Duration = Duration::seconds(5);
/// Mails in flight at once per step.
const CONCURRENCY: usize = 4;

/// Where mails go.
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// No SMTP server configured: each mail becomes an `.eml` file here.
    Folder(PathBuf),
}

/// Sends mails: the transport, the sender's address and the templates, built once.
pub struct Mailer {
    transport: Transport,
    from: Mailbox,
    public_url: String,
    templates: Templates,
    batch: u64,
}

impl Mailer {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let transport = match &settings.smtp_url {
            Some(url) => {
                super::super::webhook_delivery::install_tls_provider();
                let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose_secret())
                    .map_err(|_| anyhow::anyhow!("smtp_url is not a valid SMTP URL"))?;
                Transport::Smtp(builder.timeout(Some(SMTP_TIMEOUT)).build())
            }
            None => Transport::Folder(settings.mail_dir.clone()),
        };
        Ok(Self {
            transport,
            from: settings
                .mail_from
                .parse()
                .map_err(|_| anyhow::anyhow!("mail_from is not an address"))?,
            public_url: settings.public_url.trim_end_matches('/').to_owned(),
            templates: Templates::new()?,
            batch: settings.mail_batch_size,
        })
    }

    /// Whether mails go to a folder (no SMTP server configured).
    pub fn folder(&self) -> Option<&Path> {
        match &self.transport {
            Transport::Folder(dir) => Some(dir),
            Transport::Smtp(_) => None,
        }
    }
}

/// What one step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Mails claimed and attempted.
    pub attempted: usize,
    pub sent: usize,
    /// Failed this time, to be tried again.
    pub retrying: usize,
    /// Failed for good (refused, unbuildable, or out of retries).
    pub given_up: usize,
}

impl Outcome {
    /// Whether the step found anything to do.
    pub fn busy(&self) -> bool {
        self.attempted > 0
    }
}

/// Pending mails due at `now` whose lease (if any) has run out, soonest first.
pub fn due(now: DateTime<Utc>, batch: u64) -> Select<email_outbox::Entity> {
    use email_outbox::Column as M;
    email_outbox::Entity::find()
        .select_only()
        .column(M::Id)
        .filter(db::is_pending(M::State))
        .filter(M::NextAttemptAt.lte(now))
        .filter(M::LeaseUntil.is_null().or(M::LeaseUntil.lt(now)))
        .order_by_asc(M::NextAttemptAt)
        .limit(batch)
}

/// One step at `now`: claim a batch of due mails, send them, record the results.
pub async fn run_once(
    db: &DatabaseConnection,
    mailer: &Mailer,
    now: DateTime<Utc>,
) -> anyhow::Result<Outcome> {
    let (token, mails) = claim(db, mailer.batch, now).await?;
    let mut outcome = Outcome::default();
    if mails.is_empty() {
        return Ok(outcome);
    }
    let started = Instant::now();
    let results: Vec<(email_outbox::Model, Option<Attempt>)> = stream::iter(mails)
        .map(|m| async move {
            // Start nothing that could outlast the claim.
            let worst = at(now, started) + Duration::from_std(SMTP_TIMEOUT).unwrap_or_default();
            if worst + LEASE_MARGIN > now + LEASE {
                return (m, None);
            }
            let attempt = send(mailer, &m, now).await;
            (m, Some(attempt))
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let finished = at(now, started);
    // Decided before the transaction: the thread-local RNG must not live across awaits.
    let decided: Vec<(Uuid, Option<Next>)> = {
        let mut rng = rand::rng();
        results
            .into_iter()
            .map(|(mail, attempt)| {
                let next = attempt.map(|a| decide(&mail, a, finished, &mut rng, &mut outcome));
                (mail.id, next)
            })
            .collect()
    };
    let txn = db::begin_write(db).await?;
    for (id, next) in decided {
        use email_outbox::Column as M;
        let Some(next) = next else {
            // Given back untouched: the next step takes it at once.
            email_outbox::Entity::update_many()
                .col_expr(M::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
                .col_expr(M::ClaimToken, Expr::value(Option::<Uuid>::None))
                .filter(M::Id.eq(id))
                .filter(M::ClaimToken.eq(token))
                .exec(&txn)
                .await?;
            continue;
        };
        let updated = email_outbox::Entity::update_many()
            .col_expr(M::State, Expr::value(next.state))
            .col_expr(M::Attempts, Expr::col(M::Attempts).add(1))
            .col_expr(M::NextAttemptAt, Expr::value(next.next_at))
            .col_expr(M::SentAt, Expr::value(next.sent_at))
            .col_expr(M::LastError, Expr::value(next.error))
            .col_expr(M::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(M::ClaimToken, Expr::value(Option::<Uuid>::None))
            .filter(M::Id.eq(id))
            .filter(M::ClaimToken.eq(token))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            tracing::warn!(mail = %id, "an email claim expired before its result was recorded");
        }
    }
    txn.commit().await?;
    Ok(outcome)
}

/// What a mail's row becomes after an attempt.
struct Next {
    state: MailState,
    next_at: Option<DateTime<Utc>>,
    sent_at: Option<DateTime<Utc>>,
    error: Option<String>,
}

fn decide(
    mail: &email_outbox::Model,
    attempt: Attempt,
    finished: DateTime<Utc>,
    rng: &mut impl rand::Rng,
    outcome: &mut Outcome,
) -> Next {
    outcome.attempted += 1;
    let (reason, permanent) = match attempt {
        Attempt::Sent => {
            outcome.sent += 1;
            return Next {
                state: MailState::Sent,
                next_at: None,
                sent_at: Some(finished),
                error: None,
            };
        }
        Attempt::Failed { reason, permanent } => (reason, permanent),
    };
    let attempts = u32::try_from(mail.attempts + 1).unwrap_or(u32::MAX);
    let delay = (!permanent && attempts < MAX_ATTEMPTS)
        .then(|| webhook_retry::next_delay(attempts, rng))
        .flatten();
    match delay {
        Some(d) => {
            outcome.retrying += 1;
            Next {
                state: MailState::Pending,
                next_at: Some(finished + d),
                sent_at: None,
                error: Some(reason),
            }
        }
        None => {
            outcome.given_up += 1;
            tracing::warn!(mail = %mail.id, kind = %mail.kind, attempts, reason = %reason, "email given up");
            Next {
                state: MailState::Failed,
                next_at: None,
                sent_at: None,
                error: Some(reason),
            }
        }
    }
}

/// The time `started` was `now`, moved on by the real time since.
fn at(now: DateTime<Utc>, started: Instant) -> DateTime<Utc> {
    now + Duration::from_std(started.elapsed()).unwrap_or_default()
}

/// Leases up to `batch` due mails under a new claim token and loads them.
async fn claim(
    db: &DatabaseConnection,
    batch: u64,
    now: DateTime<Utc>,
) -> anyhow::Result<(Uuid, Vec<email_outbox::Model>)> {
    use email_outbox::Column as M;
    let token = Uuid::new_v4();
    // A cheap look first, so an idle worker never takes SQLite's write lock.
    let peek: Option<Uuid> = due(now, batch).into_tuple().one(db).await?;
    if peek.is_none() {
        return Ok((token, vec![]));
    }
    let txn = db::begin_write(db).await?;
    let mut q = due(now, batch);
    if db::is_postgres(&txn) {
        q = q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let ids: Vec<Uuid> = q.into_tuple().all(&txn).await?;
    if ids.is_empty() {
        txn.commit().await?;
        return Ok((token, vec![]));
    }
    email_outbox::Entity::update_many()
        .col_expr(M::LeaseUntil, Expr::value(Some(now + LEASE)))
        .col_expr(M::ClaimToken, Expr::value(Some(token)))
        .filter(M::Id.is_in(ids.clone()))
        .filter(db::is_pending(M::State))
        .filter(M::LeaseUntil.is_null().or(M::LeaseUntil.lt(now)))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    let mails = email_outbox::Entity::find()
        .filter(M::Id.is_in(ids))
        .filter(M::ClaimToken.eq(token))
        .all(db)
        .await?;
    Ok((token, mails))
}

enum Attempt {
    Sent,
    /// `reason` names no address and quotes no server text.
    Failed {
        reason: String,
        permanent: bool,
    },
}

fn permanent(reason: &str) -> Attempt {
    Attempt::Failed {
        reason: reason.to_owned(),
        permanent: true,
    }
}

/// Builds and sends one mail.
async fn send(mailer: &Mailer, mail: &email_outbox::Model, now: DateTime<Utc>) -> Attempt {
    let message = match build(mailer, mail, now) {
        Ok(m) => m,
        Err(reason) => return permanent(reason),
    };
    match &mailer.transport {
        Transport::Smtp(smtp) => match smtp.send(message).await {
            Ok(_) => {
                tracing::info!(mail = %mail.id, kind = %mail.kind, "email sent");
                Attempt::Sent
            }
            Err(e) => {
                let reason = smtp_reason(&e);
                tracing::info!(mail = %mail.id, kind = %mail.kind, reason = %reason, "email not sent");
                Attempt::Failed {
                    reason,
                    permanent: e.is_permanent(),
                }
            }
        },
        Transport::Folder(dir) => match write_eml(dir, mail, &message.formatted()).await {
            Ok(file) => {
                tracing::info!(mail = %mail.id, kind = %mail.kind, file = %file.display(), "email written to the mail folder (no SMTP server configured)");
                Attempt::Sent
            }
            Err(e) => {
                tracing::error!(mail = %mail.id, error = %e, "cannot write to the mail folder");
                Attempt::Failed {
                    reason: "could not write to the mail folder".into(),
                    permanent: false,
                }
            }
        },
    }
}

/// The message of an outbox row, or why it cannot be built (for good).
fn build(
    mailer: &Mailer,
    mail: &email_outbox::Model,
    now: DateTime<Utc>,
) -> Result<Message, &'static str> {
    let kind = EmailKind::parse(&mail.kind).ok_or("unknown kind of mail")?;
    let language = MailLanguage::from_tag(Some(&mail.language));
    let mut vars: Value = serde_json::from_str(&mail.vars).map_err(|_| "unreadable values")?;
    let Some(map) = vars.as_object_mut() else {
        return Err("unreadable values");
    };
    map.insert("public_url".into(), Value::from(mailer.public_url.clone()));
    let rendered = mailer
        .templates
        .render(kind, language, &vars)
        .map_err(|e| {
            tracing::error!(mail = %mail.id, kind = %kind, error = %e, "email template failed");
            "could not render the template"
        })?;
    let to: Address = mail
        .to_address
        .parse()
        .map_err(|_| "the recipient address is not valid")?;
    let part = |ct: ContentType, body: String| {
        SinglePart::builder()
            .header(ct)
            .header(ContentTransferEncoding::Base64)
            .body(body)
    };
    Message::builder()
        .message_id(Some(format!("<{}@redress>", mail.id)))
        .date(SystemTime::from(now))
        .from(mailer.from.clone())
        .to(Mailbox::new(None, to))
        .subject(rendered.subject)
        .multipart(
            MultiPart::alternative()
                .singlepart(part(ContentType::TEXT_PLAIN, rendered.text))
                .singlepart(part(ContentType::TEXT_HTML, rendered.html)),
        )
        .map_err(|_| "the message could not be built")
}

/// An SMTP failure in brief: its kind and reply code, never the server's text (which
/// may repeat the address).
fn smtp_reason(e: &lettre::transport::smtp::Error) -> String {
    if let Some(code) = e.status() {
        let class = if e.is_permanent() {
            "refused"
        } else {
            "deferred"
        };
        return format!("smtp {code} ({class})");
    }
    if e.is_timeout() {
        return "timed out".into();
    }
    if e.is_tls() {
        return "tls failed".into();
    }
    "could not talk to the SMTP server".into()
}

/// Writes the message as `{dir}/{created}-{kind}-{id}.eml`, all or nothing (a temporary
/// file renamed into place); a retry overwrites the same file.
async fn write_eml(
    dir: &Path,
    mail: &email_outbox::Model,
    bytes: &[u8],
) -> std::io::Result<PathBuf> {
    tokio::fs::create_dir_all(dir).await?;
    let name = format!(
        "{}-{}-{}.eml",
        mail.created_at.format("%Y%m%dT%H%M%SZ"),
        mail.kind,
        mail.id
    );
    let path = dir.join(&name);
    let tmp = dir.join(format!(".{name}.tmp"));
    tokio::fs::write(&tmp, bytes).await?;
    tokio::fs::rename(&tmp, &path).await?;
    Ok(path)
}
