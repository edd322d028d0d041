//! The hyperplug web server: a live dashboard of the studies in a store, and ask/tell over HTTP
//! for clients in any language.
//!
//! `hyperplug dashboard` runs [`serve`]. The dashboard lists every study and shows a study with
//! the HTML report's plots (`hyperplug-report`), kept up to date as trials start and finish:
//! one watcher per viewed study reads the trials that finished since its cursor in the store's
//! finish order (and the running ones), merges them into its copy of the study and pushes the
//! delta, then the redrawn plots, to every open page as server-sent events; each page also gets
//! every trial once for its trial table (the report's), which the deltas keep current. Viewing opens the
//! store read-only, so workers of any host keep running the study meanwhile.
//!
//! Ask/tell (`/api/...`, described by [`OPENAPI`] at `/openapi.json`) creates or loads a
//! [`SharedStudy`](hyperplug_engine::SharedStudy) (with a pruner, when the body names one) and
//! lends its trials: whole for a study with a `space`, or define-by-run
//! ([`OpenLease`](hyperplug_engine::lease::OpenLease)) for one without, whose client suggests
//! each parameter. The server adds what HTTP needs over the engine's leases: a lease no request
//! has touched for [`Config::lease_timeout`] is told failed, as a client that went silent cannot
//! say so itself.
//!
//! Bound to a non-loopback address the server requires a token (a bearer header, or the cookie
//! a `?token=` link sets), compared in constant time; without one it answers only loopback
//! host names and origins (no other site's page drives it from a browser). Bodies are limited
//! in size, requests in rate per client address and a request head in time; a bad request gets
//! a 4xx with a JSON error naming the field. Every response forbids content sniffing, and its
//! content security policy lets a page run only the server's own script files.
//!
//! Architecture invariant: routes and JSON types only. Studies are run by the engine, stored
//! by the storage crate, described by the schema crate and drawn by the report crate; nothing
//! here suggests, stores or draws.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod api;
mod auth;
mod dashboard;
mod error;
mod leases;
mod limit;
mod live;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use hyperplug_engine::Registry;

pub use crate::auth::Token;

/// The OpenAPI 3.1 description of the HTTP API, served at `/openapi.json` (kept in
/// `docs/openapi.json`).
pub const OPENAPI: &str = include_str!("../../../docs/openapi.json");

/// How the server runs.
#[derive(Clone, Debug)]
pub struct Config {
    /// The store the dashboard shows and ask/tell studies live in (a SQLite or PostgreSQL URL).
    pub storage: String,
    /// The address to listen on; a non-loopback one requires `token`.
    pub bind: SocketAddr,
    /// The token clients must present, if any.
    pub token: Option<Token>,
    /// A lent trial no request touched for this long is told failed.
    pub lease_timeout: Duration,
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Requests per second each client address may make (bursts up to twice as many).
    pub rate_limit: u32,
    /// A connection that has not sent a whole request head this long after it opened (or after
    /// its previous response) is closed.
    pub header_timeout: Duration,
}

impl Config {
    /// The defaults for `storage`: loopback port 8080, no token, 60 s leases, 1 MiB bodies,
    /// 10,000 requests per second per client, 30 s to send a request's head.
    pub fn new(storage: impl Into<String>) -> Self {
        Config {
            storage: storage.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            token: None,
            lease_timeout: Duration::from_secs(60),
            body_limit: 1 << 20,
            rate_limit: 10_000,
            header_timeout: Duration::from_secs(30),
        }
    }
}

/// A server bound to its address, not yet serving.
pub struct Server {
    listener: tokio::net::TcpListener,
    app: Router,
    state: Arc<State>,
}

/// What every route shares.
pub(crate) struct State {
    pub config: Config,
    pub registry: Registry,
    pub studies: api::Studies,
    pub leases: leases::Leases,
    pub live: live::Watchers,
    pub views: live::ReadStore,
    pub limiter: limit::Limiter,
    /// Set when the server stops: the event streams, which never end by themselves, end then.
    pub stopping: tokio::sync::watch::Sender<bool>,
}

impl Server {
    /// Checks `config` and binds its address (port 0 picks a free one). Must be called within
    /// a Tokio runtime. `registry` knows the strategies (and, for studies made by `hyperplug
    /// run`, the objectives) that ask/tell may use.
    pub async fn bind(config: Config, registry: Registry) -> Result<Server> {
        if !config.bind.ip().is_loopback() && config.token.is_none() {
            bail!(
                "binding to {} exposes the studies and ask/tell to the network: give a token with --token or HYPERPLUG_TOKEN (e.g. a long random string), or bind to 127.0.0.1",
                config.bind.ip()
            );
        }
        if hyperplug_storage::Location::parse(&config.storage)
            // Redacted: a PostgreSQL URL may hold its password, and this goes to the terminal.
            .with_context(|| {
                format!(
                    "cannot serve `{}`",
                    hyperplug_storage::redact(&config.storage)
                )
            })?
            == hyperplug_storage::Location::Memory
        {
            bail!(
                "the dashboard shows a store that workers write: `memory` holds nothing another process could read; use sqlite://FILE or postgres://…"
            );
        }
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let state = Arc::new(State {
            views: live::ReadStore::new(&config.storage),
            limiter: limit::Limiter::new(config.rate_limit),
            stopping: tokio::sync::watch::Sender::new(false),
            studies: api::Studies::default(),
            leases: leases::Leases::default(),
            live: live::Watchers::default(),
            registry,
            config,
        });
        let app = Router::new()
            .merge(dashboard::routes())
            .merge(api::routes())
            .layer(DefaultBodyLimit::max(state.config.body_limit))
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                auth::require_token,
            ))
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                limit::rate_limit,
            ))
            .fallback(error::not_found)
            .with_state(state.clone())
            .layer(axum::middleware::map_response(headers));
        Ok(Server {
            listener,
            app,
            state,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until `shutdown` resolves; then the leases still open are told failed.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let reaper = tokio::spawn(leases::expire_forever(self.state.clone()));
        // Served here rather than by `axum::serve`, which sets hyper no timer: a connection that
        // never sends a whole request head would be held for ever (slowloris).
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(self.state.config.header_timeout);
        let connections = hyper_util::server::graceful::GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        accept_failed(&e).await;
                        continue;
                    }
                },
                () = &mut shutdown => break,
            };
            let app = self.app.clone();
            let service = hyper::service::service_fn(move |req: hyper::Request<_>| {
                let mut req = req.map(axum::body::Body::new);
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                let mut app = app.clone();
                async move {
                    std::future::poll_fn(|cx| {
                        tower_service::Service::<axum::extract::Request>::poll_ready(&mut app, cx)
                    })
                    .await?;
                    tower_service::Service::<axum::extract::Request>::call(&mut app, req).await
                }
            });
            let connection = http.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            let connection = connections.watch(connection);
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    log::debug!("connection from {peer} ended: {e}");
                }
            });
        }
        drop(self.listener);
        // The graceful shutdown waits for every response to end: an open page's too.
        self.state.stopping.send_replace(true);
        connections.shutdown().await;
        reaper.abort();
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || state.leases.fail_all("the server stopped")).await?;
        Ok(())
    }
}

/// The policy of every response: its type is what it says (`nosniff`: a JSON or text answer
/// that echoes a study name is never read as a page), and a page runs only this server's
/// script files (no inline script, so markup slipped into a page cannot run), connects only
/// here, and is not framed by another site (clickjacking).
async fn headers(mut response: axum::response::Response) -> axum::response::Response {
    use axum::http::{HeaderValue, header};
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    response
}

/// After a failed accept: nothing to do when it was the one connection's fault; otherwise (out of
/// file descriptors, say) a pause, as hyper's and axum's own servers make, rather than a busy loop.
async fn accept_failed(e: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    log::error!("cannot accept a connection: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Runs the server until Ctrl-C, printing where it listens (the token shortened).
pub fn serve(config: Config, registry: Registry) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    runtime.block_on(async move {
        let link = config.token.as_ref().map(Token::link_hint);
        let server = Server::bind(config, registry).await?;
        let addr = server.local_addr()?;
        match link {
            Some(hint) => eprintln!(
                "hyperplug dashboard on http://{addr}/ — open http://{addr}/?token={hint} with the full token, or send `Authorization: Bearer <token>`"
            ),
            None => eprintln!("hyperplug dashboard on http://{addr}/ (ask/tell under /api, described at /openapi.json)"),
        }
        server
            .run(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    })
}
