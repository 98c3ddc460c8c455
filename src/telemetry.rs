//! Tracing set-up: logs go to stderr (so `redress openapi` can print to stdout), as text
//! or JSON. Each request runs in a span carrying its request id.
use std::time::Instant;

use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};
use tracing_subscriber::{EnvFilter, fmt};

use crate::config::LogFormat;

pub fn init(level: &str, format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},sqlx=warn,sea_orm=warn")));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second init (tests) is harmless: keep the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Logs one line per request (method, path without query, status, latency). Runs inside
/// the request-id span set by poem's `RequestId`, so the id is on every line.
pub struct AccessLog;

impl<E: Endpoint> Middleware<E> for AccessLog {
    type Output = AccessLogEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        AccessLogEndpoint(ep)
    }
}

pub struct AccessLogEndpoint<E>(E);

impl<E: Endpoint> Endpoint for AccessLogEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let started = Instant::now();
        let result = self.0.call(req).await.map(IntoResponse::into_response);
        let status = match &result {
            Ok(resp) => resp.status(),
            Err(err) => err.status(),
        };
        let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
        if status.is_server_error() {
            tracing::warn!(%method, %path, status = status.as_u16(), latency_ms, "request");
        } else {
            tracing::info!(%method, %path, status = status.as_u16(), latency_ms, "request");
        }
        result
    }
}
