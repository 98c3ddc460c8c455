//! The webhook dispatcher's step: fan outbox events out to matching subscriptions,
//! claim due deliveries with a lease, send them (outside any transaction, several at
//! once), log every attempt and schedule what comes next.
//!
//! Delivery is at least once. A dispatcher that dies mid-batch leaves its claims to
//! expire (`webhooks_lease_secs`), after which another step sends them again with the
//! same `webhook-id`, so receivers deduplicate by it. Several dispatchers on one
//! database never hold the same delivery at once: claims take row locks with
//! `SKIP LOCKED` on PostgreSQL and the write lock on SQLite, and only the holder of
//! a claim's token records its result.
use std::{
    collections::{HashMap, HashSet},
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::{Duration as StdDuration, Instant},
};

use chrono::{DateTime, Duration, Utc};
use entity::{
    webhook_attempt,
    webhook_delivery::{self, DeliveryState},
    webhook_event, webhook_subscription,
    webhook_subscription::Scope,
};
use futures_util::{StreamExt, stream};
use reqwest::{
    StatusCode,
    dns::{Addrs, Name, Resolve, Resolving},
    header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER},
};
use sea_orm::{
    ActiveValue::Set,
    ColumnTrait, Condition, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Select,
    sea_query::{Expr, ExprTrait, LockBehavior, LockType, Query},
};
use url::{Host, Url};
use uuid::Uuid;

use super::webhooks::{event_types_of, new_delivery, signing_secrets};
use crate::{
    config::Settings,
    db,
    domain::{
        sealing::MasterKey,
        webhook_event::EventType,
        webhook_retry::{self, DISABLE_AFTER, MAX_ATTEMPTS},
        webhook_signature::{
            HEADER_ID, HEADER_SIGNATURE, HEADER_TIMESTAMP, WebhookSecret, signature_header,
        },
        webhook_target::{self, TargetError, classify},
    },
};

/// How much of a receiver's answer is kept in the log.
pub const RESPONSE_LOG_BYTES: usize = 1024;

/// Time kept in hand, beyond the request timeout, to record a result within the lease.
const LEASE_MARGIN: Duration = Duration::seconds(2);

/// Sends webhooks: one HTTP client (connection pool) shared by every step.
pub struct Dispatcher {
    client: reqwest::Client,
    allow_private: bool,
    timeout: StdDuration,
    lease: Duration,
    batch: u64,
    concurrency: usize,
    /// Opens the stored signing secrets.
    master_key: Arc<MasterKey>,
}

/// Makes ring the process's TLS crypto provider, unless one is installed already.
/// reqwest is built without a default provider (so the build stays free of aws-lc), so
/// this must run before any reqwest client is built; [`Dispatcher::new`] calls it.
pub fn install_tls_provider() {
    // An error means another provider was installed first, which is as good.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl Dispatcher {
    pub fn new(settings: &Settings, master_key: Arc<MasterKey>) -> anyhow::Result<Self> {
        install_tls_provider();
        let timeout = StdDuration::from_secs(settings.webhooks_timeout_secs);
        let allow_private = settings.webhooks_allow_private_targets;
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(StdDuration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("redress-webhooks/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(settings.webhooks_concurrency);
        if !allow_private {
            builder = builder.dns_resolver(PublicOnly);
        }
        Ok(Self {
            client: builder.build()?,
            allow_private,
            timeout,
            lease: Duration::seconds(i64::try_from(settings.webhooks_lease_secs)?),
            batch: settings.webhooks_batch_size,
            concurrency: settings.webhooks_concurrency,
            master_key,
        })
    }
}

/// Resolves names to their public addresses only: a name that also (or only) points
/// into a private network cannot be used to reach it, even if its records change
/// after the subscription was checked (DNS rebinding).
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = all
                .into_iter()
                .filter(|a| classify(a.ip()).is_public())
                .collect();
            if public.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            let addrs: Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// At subscription: refuses a host name that resolves to any address webhooks may not
/// reach. A name that does not resolve (yet) is accepted; every connection checks again.
pub async fn check_resolved_target(url: &Url) -> Result<(), TargetError> {
    let Some(Host::Domain(name)) = url.host() else {
        // Literal addresses were checked when the URL was parsed.
        return Ok(());
    };
    let port = url.port_or_known_default().unwrap_or(443);
    let lookup = tokio::net::lookup_host((name, port));
    if let Ok(Ok(addrs)) = tokio::time::timeout(StdDuration::from_secs(3), lookup).await {
        for a in addrs {
            webhook_target::check_ip(a.ip())?;
        }
    }
    Ok(())
}

/// What one dispatcher step did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dispatch {
    /// Outbox events fanned out to subscriptions.
    pub events: usize,
    /// Deliveries created by the fan-out.
    pub created: usize,
    /// Deliveries claimed and attempted.
    pub attempted: usize,
    pub succeeded: usize,
    pub failed: usize,
    /// Deliveries that failed their last attempt and were given up.
    pub given_up: usize,
    /// Endpoints disabled (410, or failing for too long).
    pub disabled: usize,
}

impl Dispatch {
    /// Whether the step found anything to do (so the loop goes on without sleeping).
    pub fn busy(&self) -> bool {
        self.events > 0 || self.attempted > 0
    }
}

/// One step at `now`: fan out the outbox, then attempt one batch of due deliveries.
pub async fn run_once(
    db: &DatabaseConnection,
    dispatcher: &Dispatcher,
    now: DateTime<Utc>,
) -> anyhow::Result<Dispatch> {
    let mut dispatch = Dispatch::default();
    (dispatch.events, dispatch.created) = fan_out(db, dispatcher.batch, now).await?;
    let jobs = claim(db, dispatcher, now).await?;
    if jobs.is_empty() {
        return Ok(dispatch);
    }
    let claim_token = jobs[0].claim;
    let started = Instant::now();
    let results: Vec<Result<Sent, Uuid>> = stream::iter(jobs)
        .map(|job| send(dispatcher, job, now, started))
        .buffer_unordered(dispatcher.concurrency)
        .collect()
        .await;
    let (sent, skipped): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
    let sent: Vec<Sent> = sent.into_iter().filter_map(Result::ok).collect();
    let skipped: Vec<Uuid> = skipped.into_iter().filter_map(Result::err).collect();
    dispatch.attempted = sent.len();
    record(db, sent, now, &mut dispatch).await?;
    if !skipped.is_empty() {
        release(db, claim_token, skipped).await?;
    }
    Ok(dispatch)
}

/// Gives back claims a step did not get to, so the next step takes them at once.
async fn release(db: &DatabaseConnection, token: Uuid, ids: Vec<Uuid>) -> anyhow::Result<()> {
    use webhook_delivery::Column as D;
    tracing::info!(
        count = ids.len(),
        "webhook batch outran its lease; releasing the rest"
    );
    let txn = db::begin_write(db).await?;
    for chunk in chunked(ids, 500) {
        webhook_delivery::Entity::update_many()
            .col_expr(D::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(D::ClaimToken, Expr::value(Option::<Uuid>::None))
            .filter(D::Id.is_in(chunk))
            .filter(D::ClaimToken.eq(token))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(())
}

/// The time `started` was `now`, moved on by the real time since (so that a slow batch
/// does not schedule retries in the past).
fn at(now: DateTime<Utc>, started: Instant) -> DateTime<Utc> {
    now + Duration::from_std(started.elapsed()).unwrap_or_default()
}

/// Turns outbox events into deliveries, one per matching subscription, in one
/// transaction that also marks the events done: a crash leaves either both or neither.
async fn fan_out(
    db: &DatabaseConnection,
    batch: u64,
    now: DateTime<Utc>,
) -> anyhow::Result<(usize, usize)> {
    let waiting = || {
        webhook_event::Entity::find()
            .filter(webhook_event::Column::FannedOutAt.is_null())
            .order_by_asc(webhook_event::Column::CreatedAt)
            .limit(batch)
    };
    // A cheap look first, so an idle dispatcher never takes SQLite's write lock.
    if waiting().one(db).await?.is_none() {
        return Ok((0, 0));
    }
    let txn = db::begin_write(db).await?;
    let mut q = waiting();
    if db::is_postgres(&txn) {
        q = q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let events = q.all(&txn).await?;
    if events.is_empty() {
        txn.commit().await?;
        return Ok((0, 0));
    }
    let institutions: HashSet<Uuid> = events.iter().filter_map(|e| e.institution_id).collect();
    let associations: HashSet<Uuid> = events.iter().filter_map(|e| e.association_id).collect();
    use webhook_subscription::Column as S;
    let subs = webhook_subscription::Entity::find()
        .filter(S::Enabled.eq(true))
        .filter(
            Condition::any()
                .add(S::Scope.eq(Scope::Platform))
                .add(
                    Condition::all()
                        .add(S::Scope.eq(Scope::Institution))
                        .add(S::InstitutionId.is_in(institutions)),
                )
                .add(
                    Condition::all()
                        .add(S::Scope.eq(Scope::Association))
                        .add(S::AssociationId.is_in(associations)),
                ),
        )
        .all(&txn)
        .await?;
    let wanted: Vec<(webhook_subscription::Model, Option<HashSet<EventType>>)> = subs
        .into_iter()
        .map(|s| {
            let types = event_types_of(&s).map(|ts| ts.into_iter().collect());
            (s, types)
        })
        .collect();
    let mut rows = Vec::new();
    for e in &events {
        let Ok(event_type) = e.event_type.parse::<EventType>() else {
            tracing::warn!(event = %e.id, kind = %e.event_type, "outbox event of an unknown type");
            continue;
        };
        for (sub, types) in &wanted {
            if receives(sub, types.as_ref(), e, event_type) {
                rows.push(new_delivery(&e.id, &e.event_type, sub.id, now));
            }
        }
    }
    let created = rows.len();
    for chunk in chunked(rows, 500) {
        webhook_delivery::Entity::insert_many(chunk)
            .on_conflict_do_nothing_on([
                webhook_delivery::Column::EventId,
                webhook_delivery::Column::SubscriptionId,
            ])
            .exec_without_returning(&txn)
            .await?;
    }
    let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
    for chunk in chunked(ids, 500) {
        webhook_event::Entity::update_many()
            .col_expr(webhook_event::Column::FannedOutAt, Expr::value(now))
            .filter(webhook_event::Column::Id.is_in(chunk))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok((events.len(), created))
}

fn chunked<T>(items: Vec<T>, size: usize) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut it = items.into_iter().peekable();
    while it.peek().is_some() {
        out.push(it.by_ref().take(size).collect());
    }
    out
}

/// Whether a subscription receives an event: it existed when the event happened, its
/// owner may see the case, and it asked for the type (a ping goes to the one
/// subscription it tests).
fn receives(
    sub: &webhook_subscription::Model,
    types: Option<&HashSet<EventType>>,
    e: &webhook_event::Model,
    event_type: EventType,
) -> bool {
    if let Some(target) = e.subscription_id {
        return target == sub.id;
    }
    // What happened before the subscription existed is not its business.
    if e.created_at < sub.created_at {
        return false;
    }
    let in_scope = match sub.scope {
        Scope::Platform => true,
        Scope::Institution => {
            sub.institution_id.is_some() && e.institution_id == sub.institution_id
        }
        Scope::Association => {
            sub.association_id.is_some() && e.association_id == sub.association_id
        }
    };
    in_scope && types.is_none_or(|ts| ts.contains(&event_type))
}

/// A claimed delivery, ready to send.
struct Job {
    delivery: webhook_delivery::Model,
    claim: Uuid,
    url: String,
    body: String,
    secrets: Vec<WebhookSecret>,
}

/// Pending deliveries of enabled endpoints due at `now`, soonest first (ids only).
pub fn due_deliveries(now: DateTime<Utc>, batch: u64) -> Select<webhook_delivery::Entity> {
    use webhook_delivery::Column as D;
    use webhook_subscription::Column as S;
    // A correlated EXISTS rather than `subscription_id IN (…)`: the planner then walks
    // the due index, instead of every delivery ever made to the enabled endpoints.
    let enabled = Query::select()
        .expr(Expr::val(1))
        .from(webhook_subscription::Entity)
        .and_where(
            Expr::col((webhook_subscription::Entity, S::Id))
                .equals((webhook_delivery::Entity, D::SubscriptionId)),
        )
        .and_where(Expr::col((webhook_subscription::Entity, S::Enabled)).eq(true))
        .to_owned();
    webhook_delivery::Entity::find()
        .select_only()
        .column(D::Id)
        .filter(db::is_pending(D::State))
        .filter(D::NextAttemptAt.lte(now))
        .filter(D::LeaseUntil.is_null().or(D::LeaseUntil.lt(now)))
        .filter(Expr::exists(enabled))
        .order_by_asc(D::NextAttemptAt)
        .limit(batch)
}

/// Leases a batch of due deliveries of enabled endpoints and loads what sending needs.
async fn claim(
    db: &DatabaseConnection,
    dispatcher: &Dispatcher,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Job>> {
    use webhook_delivery::Column as D;
    let due = || due_deliveries(now, dispatcher.batch);
    let peek: Option<Uuid> = due().into_tuple().one(db).await?;
    if peek.is_none() {
        return Ok(vec![]);
    }
    let txn = db::begin_write(db).await?;
    let mut q = due();
    if db::is_postgres(&txn) {
        q = q.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let ids: Vec<Uuid> = q.into_tuple().all(&txn).await?;
    let token = Uuid::new_v4();
    for chunk in chunked(ids.clone(), 500) {
        webhook_delivery::Entity::update_many()
            .col_expr(D::LeaseUntil, Expr::value(now + dispatcher.lease))
            .col_expr(D::ClaimToken, Expr::value(token))
            .filter(D::Id.is_in(chunk))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    if ids.is_empty() {
        return Ok(vec![]);
    }

    let mut deliveries = Vec::with_capacity(ids.len());
    for chunk in chunked(ids, 500) {
        deliveries.extend(
            webhook_delivery::Entity::find()
                .filter(D::Id.is_in(chunk))
                .all(db)
                .await?,
        );
    }
    let event_ids: HashSet<String> = deliveries.iter().map(|d| d.event_id.clone()).collect();
    let sub_ids: HashSet<Uuid> = deliveries.iter().map(|d| d.subscription_id).collect();
    let mut bodies: HashMap<String, String> = HashMap::new();
    for chunk in chunked(event_ids.into_iter().collect(), 500) {
        for e in webhook_event::Entity::find()
            .filter(webhook_event::Column::Id.is_in(chunk))
            .all(db)
            .await?
        {
            bodies.insert(e.id, e.payload);
        }
    }
    let mut subs: HashMap<Uuid, (webhook_subscription::Model, Vec<WebhookSecret>)> = HashMap::new();
    for sub in webhook_subscription::Entity::find()
        .filter(webhook_subscription::Column::Id.is_in(sub_ids))
        .all(db)
        .await?
    {
        match signing_secrets(&sub, &dispatcher.master_key, now) {
            Ok(secrets) => {
                subs.insert(sub.id, (sub, secrets));
            }
            Err(e) => {
                // Its deliveries stay leased until the lease runs out, then are retried.
                tracing::error!(subscription = %sub.id, error = %e, "unusable webhook secret");
            }
        }
    }
    let mut jobs = Vec::with_capacity(deliveries.len());
    for d in deliveries {
        let (Some((sub, secrets)), Some(body)) =
            (subs.get(&d.subscription_id), bodies.get(&d.event_id))
        else {
            // Deleted meanwhile (or its secret would not open); its lease runs out.
            continue;
        };
        jobs.push(Job {
            claim: token,
            url: sub.url.clone(),
            body: body.clone(),
            secrets: secrets.clone(),
            delivery: d,
        });
    }
    Ok(jobs)
}

/// The result of one attempt.
struct Sent {
    job: Job,
    attempted_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
    webhook_timestamp: i64,
    status: Option<StatusCode>,
    error: Option<String>,
    latency_ms: i32,
    response_body: String,
    retry_after: Option<Duration>,
}

/// Attempts one delivery, unless the attempt could outlast the claim's lease (then
/// another dispatcher might take the delivery meanwhile); such jobs come back as `Err`.
async fn send(
    dispatcher: &Dispatcher,
    job: Job,
    now: DateTime<Utc>,
    started: Instant,
) -> Result<Sent, Uuid> {
    let attempted_at = at(now, started);
    let worst_end =
        attempted_at + Duration::from_std(dispatcher.timeout).unwrap_or_default() + LEASE_MARGIN;
    if worst_end > now + dispatcher.lease {
        return Err(job.delivery.id);
    }
    let timestamp = attempted_at.timestamp();
    let begun = Instant::now();
    let result = attempt(dispatcher, &job, timestamp).await;
    let latency_ms = i32::try_from(begun.elapsed().as_millis()).unwrap_or(i32::MAX);
    let finished_at = at(now, started);
    let mut sent = Sent {
        job,
        attempted_at,
        finished_at,
        webhook_timestamp: timestamp,
        status: None,
        error: None,
        latency_ms,
        response_body: String::new(),
        retry_after: None,
    };
    match result {
        Ok(answer) => {
            if matches!(
                answer.status,
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            ) {
                sent.retry_after = answer
                    .retry_after
                    .as_deref()
                    .and_then(|v| webhook_retry::parse_retry_after(v, finished_at));
            }
            sent.status = Some(answer.status);
            sent.response_body = answer.body;
        }
        Err(e) => sent.error = Some(e),
    }
    Ok(sent)
}

struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    body: String,
}

async fn attempt(dispatcher: &Dispatcher, job: &Job, timestamp: i64) -> Result<Answer, String> {
    let url = Url::parse(&job.url).map_err(|_| "the endpoint URL is not valid".to_owned())?;
    if !dispatcher.allow_private {
        // Names are checked by the resolver; literal addresses never reach it.
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if let Some(ip) = literal {
            webhook_target::check_ip(ip).map_err(|e| format!("refused: {e}"))?;
        }
        if url.scheme() != "https" {
            return Err("refused: the endpoint does not use https".into());
        }
    }
    let msg_id = &job.delivery.event_id;
    let secrets: Vec<&WebhookSecret> = job.secrets.iter().collect();
    let signature = signature_header(&secrets, msg_id, timestamp, job.body.as_bytes());
    let response = dispatcher
        .client
        .post(url)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header(HEADER_ID, msg_id.as_str())
        .header(HEADER_TIMESTAMP, timestamp.to_string())
        .header(HEADER_SIGNATURE, signature)
        .body(job.body.clone())
        .send()
        .await
        .map_err(|e| describe(&e, dispatcher.timeout))?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = first_bytes(response).await;
    Ok(Answer {
        status,
        retry_after,
        body,
    })
}

/// Up to [`RESPONSE_LOG_BYTES`] of the body, as text. A body that breaks off or takes
/// too long is logged as far as it came.
async fn first_bytes(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < RESPONSE_LOG_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(RESPONSE_LOG_BYTES);
    printable(&String::from_utf8_lossy(&bytes))
}

/// Text a database column takes: PostgreSQL refuses NUL characters in text, and one
/// receiver's odd answer must not stop the log of a whole batch.
fn printable(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// A short account of a failed request, with its causes.
fn describe(e: &reqwest::Error, timeout: StdDuration) -> String {
    if e.is_timeout() {
        return format!("timed out after {} s", timeout.as_secs());
    }
    let mut text = if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    printable(&text.chars().take(500).collect::<String>())
}

/// What an attempt means for its delivery and endpoint.
enum Verdict {
    Succeeded,
    /// 410: the endpoint is gone; stop at once.
    Gone,
    Retry(DateTime<Utc>),
    GiveUp,
}

fn verdict(sent: &Sent, failures: i32, rng: &mut impl rand::Rng) -> Verdict {
    match sent.status {
        Some(s) if s.is_success() => return Verdict::Succeeded,
        Some(StatusCode::GONE) => return Verdict::Gone,
        _ => {}
    }
    let failures = u32::try_from(failures).unwrap_or(u32::MAX);
    if failures >= MAX_ATTEMPTS {
        return Verdict::GiveUp;
    }
    if let Some(wait) = sent.retry_after {
        return Verdict::Retry(sent.finished_at + wait);
    }
    match webhook_retry::next_delay(failures, rng) {
        Some(delay) => Verdict::Retry(sent.finished_at + delay),
        None => Verdict::GiveUp,
    }
}

/// Writes the attempts, the deliveries' next steps and the endpoints' health, in one
/// transaction. Only the holder of a claim changes its delivery.
async fn record(
    db: &DatabaseConnection,
    sent: Vec<Sent>,
    now: DateTime<Utc>,
    dispatch: &mut Dispatch,
) -> anyhow::Result<()> {
    use webhook_delivery::Column as D;
    // Decided before the transaction: the thread-local RNG must not live across awaits.
    let decided: Vec<(Sent, Verdict)> = {
        let mut rng = rand::rng();
        sent.into_iter()
            .map(|s| {
                let failures = if s.status.is_some_and(|st| st.is_success()) {
                    0
                } else {
                    s.job.delivery.failures + 1
                };
                let v = verdict(&s, failures, &mut rng);
                (s, v)
            })
            .collect()
    };
    let mut health: HashMap<Uuid, Health> = HashMap::new();
    let mut attempts = Vec::with_capacity(decided.len());
    let txn = db::begin_write(db).await?;
    for (s, v) in &decided {
        let d = &s.job.delivery;
        let (state, next_at, failures, completed) = match v {
            Verdict::Succeeded => (DeliveryState::Succeeded, None, 0, Some(s.finished_at)),
            Verdict::Gone | Verdict::GiveUp => (
                DeliveryState::Failed,
                None,
                d.failures + 1,
                Some(s.finished_at),
            ),
            Verdict::Retry(when) => (DeliveryState::Pending, Some(*when), d.failures + 1, None),
        };
        let updated = webhook_delivery::Entity::update_many()
            .col_expr(D::State, Expr::value(state))
            .col_expr(D::Attempts, Expr::col(D::Attempts).add(1))
            .col_expr(D::Failures, Expr::value(failures))
            .col_expr(D::NextAttemptAt, Expr::value(next_at))
            .col_expr(D::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(D::ClaimToken, Expr::value(Option::<Uuid>::None))
            .col_expr(D::LastAttemptAt, Expr::value(s.attempted_at))
            .col_expr(
                D::LastStatus,
                Expr::value(s.status.map(|c| i32::from(c.as_u16()))),
            )
            .col_expr(D::LastError, Expr::value(s.error.clone()))
            .col_expr(D::CompletedAt, Expr::value(completed))
            .filter(D::Id.eq(d.id))
            .filter(D::ClaimToken.eq(s.job.claim))
            .exec(&txn)
            .await?;
        if updated.rows_affected != 1 {
            // The claim ran out and someone else took the delivery (or it was deleted):
            // their result stands. The attempt happened all the same; log it if we can.
            let exists = webhook_delivery::Entity::find_by_id(d.id)
                .one(&txn)
                .await?
                .is_some();
            tracing::warn!(delivery = %d.id, "a webhook claim expired before its result was recorded");
            if !exists {
                continue;
            }
        } else {
            let h = health.entry(d.subscription_id).or_default();
            match v {
                Verdict::Succeeded => h.succeeded = true,
                Verdict::Gone => h.gone = true,
                _ => h.failed = true,
            }
            match v {
                Verdict::Succeeded => dispatch.succeeded += 1,
                Verdict::GiveUp | Verdict::Gone => {
                    dispatch.failed += 1;
                    dispatch.given_up += 1;
                }
                Verdict::Retry(_) => dispatch.failed += 1,
            }
        }
        attempts.push(webhook_attempt::ActiveModel {
            id: Set(Uuid::now_v7()),
            delivery_id: Set(d.id),
            attempted_at: Set(s.attempted_at),
            webhook_timestamp: Set(s.webhook_timestamp),
            status_code: Set(s.status.map(|c| i32::from(c.as_u16()))),
            error: Set(s.error.clone()),
            latency_ms: Set(s.latency_ms),
            response_body: Set(s.response_body.clone()),
            succeeded: Set(matches!(v, Verdict::Succeeded)),
        });
    }
    for chunk in chunked(attempts, 500) {
        webhook_attempt::Entity::insert_many(chunk)
            .exec_without_returning(&txn)
            .await?;
    }
    for (sub, h) in health {
        dispatch.disabled += h.apply(&txn, sub, now).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// How an endpoint fared in one batch.
#[derive(Default)]
struct Health {
    succeeded: bool,
    failed: bool,
    gone: bool,
}

impl Health {
    /// Updates the endpoint's failure streak; disables it on 410, or when it has failed
    /// without a single success for [`DISABLE_AFTER`]. Returns 1 if it was disabled.
    async fn apply(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        sub: Uuid,
        now: DateTime<Utc>,
    ) -> anyhow::Result<usize> {
        use webhook_subscription::Column as S;
        let disable = |reason: String| {
            webhook_subscription::Entity::update_many()
                .col_expr(S::Enabled, Expr::value(false))
                .col_expr(S::DisabledReason, Expr::value(Some(reason)))
                .col_expr(S::DisabledAt, Expr::value(Some(now)))
                .col_expr(S::UpdatedAt, Expr::value(now))
                .filter(S::Id.eq(sub))
                .filter(S::Enabled.eq(true))
        };
        if self.gone {
            let r = disable(format!(
                "the endpoint answered 410 Gone at {}; it asked not to be sent anything more",
                now.to_rfc3339()
            ))
            .exec(txn)
            .await?;
            return Ok(r.rows_affected as usize);
        }
        if self.succeeded {
            webhook_subscription::Entity::update_many()
                .col_expr(S::FailingSince, Expr::value(Option::<DateTime<Utc>>::None))
                .filter(S::Id.eq(sub))
                .filter(S::FailingSince.is_not_null())
                .exec(txn)
                .await?;
            return Ok(0);
        }
        if !self.failed {
            return Ok(0);
        }
        webhook_subscription::Entity::update_many()
            .col_expr(S::FailingSince, Expr::value(Some(now)))
            .filter(S::Id.eq(sub))
            .filter(S::FailingSince.is_null())
            .exec(txn)
            .await?;
        let r = disable(format!(
            "every attempt failed for {} days (no success since the first failure); \
             disabled at {}",
            DISABLE_AFTER.num_days(),
            now.to_rfc3339()
        ))
        .filter(S::FailingSince.lte(now - DISABLE_AFTER))
        .exec(txn)
        .await?;
        Ok(r.rows_affected as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_characters_never_reach_the_database() {
        assert_eq!(printable("a\0b"), "a\u{FFFD}b");
        assert_eq!(printable("plain"), "plain");
    }

    #[test]
    fn chunks_cover_everything_in_order() {
        let v: Vec<u32> = (0..1234).collect();
        let c = chunked(v.clone(), 500);
        assert_eq!(c.iter().map(Vec::len).collect::<Vec<_>>(), [500, 500, 234]);
        assert_eq!(c.concat(), v);
        assert!(chunked(Vec::<u8>::new(), 5).is_empty());
    }
}
