//! The HTTP API: `/healthz` (the process answers), `/readyz` (RPC reachable, model loaded,
//! cursor close to the head), `/metrics` (Prometheus text) and `/requests/{id}` (a request's
//! stored record as JSON).

use std::net::SocketAddr;
use std::sync::Arc;

use alloy::primitives::U256;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::metrics::Metrics;
use crate::store::Store;

#[derive(Clone)]
struct Api {
    store: Store,
    metrics: Arc<Metrics>,
    max_lag: u64,
}

/// The running server.
pub struct Server {
    pub address: SocketAddr,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Waits for the server to finish after the shutdown signal.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.task.await??;
        Ok(())
    }
}

/// Binds `listen` and serves until `shutdown` turns true.
pub async fn serve(
    listen: SocketAddr,
    store: Store,
    metrics: Arc<Metrics>,
    max_lag: u64,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<Server> {
    let api = Api {
        store,
        metrics,
        max_lag,
    };
    let app = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .route("/requests/{id}", get(request))
        .with_state(api);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("http.listen: cannot bind {listen}: {e}"))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "HTTP API listening");
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .await
    });
    Ok(Server { address, task })
}

async fn readyz(State(api): State<Api>) -> Response {
    match api.metrics.readiness(api.max_lag) {
        Ok(()) => (StatusCode::OK, "ready\n").into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
    }
}

async fn metrics_text(State(api): State<Api>) -> Response {
    match api.metrics.render(&api.store) {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{error:#}\n")).into_response(),
    }
}

async fn request(State(api): State<Api>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<U256>() else {
        return (
            StatusCode::BAD_REQUEST,
            format!("{id:?} is not a request id\n"),
        )
            .into_response();
    };
    match api.store.get(id) {
        Ok(Some(record)) => axum::Json(record).into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            format!("request {id} is not known\n"),
        )
            .into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{error}\n")).into_response(),
    }
}
