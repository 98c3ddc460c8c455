//! Building the application: database, keys, routes, listener.
use std::{net::TcpListener, sync::Arc, time::Duration};

use poem::{
    Endpoint, EndpointExt, IntoResponse, Middleware, Request, Response, Route, Server, get,
    handler,
    http::StatusCode,
    listener::{Acceptor, TcpAcceptor},
    middleware::{CatchPanic, RequestId, ReuseId},
    web::Json,
};
use serde_json::json;

use crate::{
    api,
    clock::SharedClock,
    config::Settings,
    db,
    error::{self, Problem},
};

use crate::state::AppState;

/// All routes with their middleware, ready to serve (or to test in-process).
pub fn routes(state: AppState) -> impl Endpoint<Output = Response> {
    let api = api::service();
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    let limit = state.settings.body_limit_bytes;
    let pages = state.pages.clone();
    let wakeup = state.webhook_wakeup.clone();
    Route::new()
        .nest(
            "/api/v1",
            api.around(move |ep, req| nudge_after_writes(ep, req, wakeup.clone())),
        )
        .at("/openapi.json", spec)
        .nest("/docs", docs)
        .at("/institutions", get(crate::pages::directory))
        .at("/institutions/:id", get(crate::pages::institution_page))
        .at("/healthz", get(healthz))
        .at("/readyz", get(readyz))
        .with(BodyLimit(limit))
        .data(state)
        .data(pages)
        .catch_all_error(error::catch_all)
        .with(CatchPanic::new().with_handler(error::panic_response))
        .with(crate::telemetry::AccessLog)
        .with(RequestId::default().reuse_id(ReuseId::Ignore))
        .map_to_response()
}

/// A successful write may have put events in the outbox: wake the dispatcher.
async fn nudge_after_writes<E: Endpoint>(
    ep: Arc<E>,
    req: Request,
    wakeup: Arc<tokio::sync::Notify>,
) -> poem::Result<Response> {
    let writes = !req.method().is_safe();
    let resp = ep.call(req).await?.into_response();
    if writes && resp.status().is_success() {
        wakeup.notify_one();
    }
    Ok(resp)
}

#[handler]
fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready: the database answers and every worker this process runs finished a step
/// within its expected interval.
#[handler]
async fn readyz(state: poem::web::Data<&AppState>) -> Response {
    if !db::ping(&state.db).await {
        return unavailable("the database is not reachable".into());
    }
    let stalled = state.supervisor.stalled();
    if !stalled.is_empty() {
        return unavailable(format!(
            "workers without a finished step in their interval: {}",
            stalled.join(", ")
        ));
    }
    let workers: Vec<_> = state
        .supervisor
        .status()
        .into_iter()
        .map(|w| {
            json!({
                "name": w.name,
                "seconds_since_last_step": w.since_last_step.as_secs(),
                "restarts": w.restarts,
            })
        })
        .collect();
    Json(json!({
        "status": "ready",
        "database": "ok",
        "workers": workers,
        "warnings": state.calendar_warnings(),
    }))
    .into_response()
}

fn unavailable(detail: String) -> Response {
    Problem::new(StatusCode::SERVICE_UNAVAILABLE, "about:blank", Some(detail)).into_response()
}

/// Refuses bodies over the limit with 413: by `Content-Length` up front, and by
/// counting while reading for bodies sent without one.
struct BodyLimit(usize);

impl<E: Endpoint> Middleware<E> for BodyLimit {
    type Output = BodyLimitEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        BodyLimitEndpoint(ep, self.0)
    }
}

struct BodyLimitEndpoint<E>(E, usize);

impl<E: Endpoint> Endpoint for BodyLimitEndpoint<E> {
    type Output = E::Output;

    async fn call(&self, mut req: Request) -> poem::Result<Self::Output> {
        let declared = req
            .headers()
            .get(poem::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        // Evidence uploads get room for one file plus the multipart framing.
        let limit = if req.uri().path().ends_with("/attachments") {
            crate::service::attachments::MAX_BYTES + 64 * 1024
        } else {
            self.1
        };
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large(limit));
        }
        if declared.is_none() && req.method() != poem::http::Method::GET {
            let bytes = req
                .take_body()
                .into_bytes_limit(limit)
                .await
                .map_err(|_| too_large(limit))?;
            req.set_body(bytes);
        }
        self.0.call(req).await
    }
}

fn too_large(limit: usize) -> poem::Error {
    poem::Error::from_string(
        format!("the request body is larger than {limit} bytes"),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
}

/// The service bound to its listener.
pub struct Application {
    port: u16,
    acceptor: TcpAcceptor,
    state: AppState,
}

impl Application {
    /// Binds the configured address (port 0 picks a free one) and prepares the app.
    pub async fn build(settings: Settings, clock: SharedClock) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind))?;
        listener.set_nonblocking(true)?;
        let acceptor = TcpAcceptor::from_std(listener)?;
        let port = acceptor
            .local_addr()
            .first()
            .and_then(|a| a.as_socket_addr().map(|s| s.port()))
            .ok_or_else(|| anyhow::anyhow!("listener has no address"))?;
        let state = AppState::init(settings, clock).await?;
        Ok(Self {
            port,
            acceptor,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until Ctrl-C / SIGTERM, then finishes in-flight requests.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        // Every replica keeps its calendar current; the others only where asked.
        crate::workers::calendar::spawn(&self.state);
        if self.state.settings.run_workers {
            crate::workers::sla::spawn(&self.state);
            crate::workers::webhooks::spawn(&self.state);
            crate::workers::email::spawn(&self.state);
        }
        let app = routes(self.state.clone());
        Server::new_with_acceptor(self.acceptor)
            .run_with_graceful_shutdown(app, shutdown_signal(), Some(Duration::from_secs(20)))
            .await?;
        Ok(())
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}
