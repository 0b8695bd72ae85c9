//! The exlibris lookup service: an HTTP API and a web page for authors over
//! an index and the findings store of one audit.
//!
//! - [`router`] builds the whole service from a [`Service`] (the index, the
//!   results and the store, and a [`ServerConfig`]); [`serve`] runs it on a
//!   listener until Ctrl-C or SIGTERM, then drains open requests.
//! - [`api`]: `POST /v1/lookup`, `GET /v1/works`, `GET /v1/works/{id}`,
//!   `GET /v1/health`, `GET /v1/openapi.json` ([`OPENAPI`], checked
//!   against [`ROUTES`] by a test).
//! - [`page`]: the web page on `/`, rendered on the server: it works with
//!   no script at all (a few lines of inline script only add reading a
//!   passage from a local file).
//! - [`guard`]: bearer tokens (required for everything or only for
//!   evidence text), the per-client rate limit and the access log.
//!
//! This crate is the only one that pulls in tokio and axum; the core
//! crates stay synchronous.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use exlibris_server::{serve, Service, ServerConfig};
//! let service = Service::open("books.exl".as_ref(), "results".as_ref(), ServerConfig::default())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! serve(listener, service).await?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::routing::{get, post};
use axum::Router;

use exlibris_index::Index;
use exlibris_report::Store;
use exlibris_scan::Results;

pub mod api;
pub mod guard;
pub mod page;

pub use guard::{AuthMode, Tokens};

/// The OpenAPI document of the API.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// Every route: (method, path), as in the OpenAPI document.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/v1/lookup"),
    ("get", "/v1/works"),
    ("get", "/v1/works/{id}"),
    ("get", "/v1/health"),
    ("get", "/v1/openapi.json"),
];

/// Errors starting the service.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The index could not be opened.
    #[error(transparent)]
    Index(#[from] exlibris_index::IndexError),
    /// The results could not be read.
    #[error(transparent)]
    Results(#[from] exlibris_scan::ScanError),
    /// The store could not be opened.
    #[error(transparent)]
    Store(#[from] exlibris_report::StoreError),
    /// The index is not the one the results were scanned with.
    #[error("{0}")]
    Mismatch(String),
    /// A bad tokens file.
    #[error("{path}: {reason}")]
    Tokens {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Serving failed.
    #[error("serving: {0}")]
    Io(#[from] std::io::Error),
}

/// Limits and policies of the service.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Largest request body, bytes.
    pub max_body: usize,
    /// Longest passage to look up, bytes.
    pub max_passage: usize,
    /// Requests per second per client (0: no limit); bursts of twice that.
    pub rate_limit: u32,
    /// Accepted tokens, if any.
    pub tokens: Option<Tokens>,
    /// What the tokens guard.
    pub auth: AuthMode,
    /// Write one JSON access-log line per request to stderr.
    pub access_log: bool,
    /// Findings per page, at most.
    pub max_page: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body: 1 << 20,
            max_passage: 256 << 10,
            rate_limit: 0,
            tokens: None,
            auth: AuthMode::Everything,
            access_log: true,
            max_page: 200,
        }
    }
}

/// What the service serves: one audit.
pub struct Service {
    /// The index of the audit.
    pub index: Index,
    /// Its results.
    pub results: Results,
    /// Limits and policies.
    pub config: ServerConfig,
    stores: Mutex<Vec<Store>>,
    limiter: guard::RateLimiter,
}

impl Service {
    /// Open the index and the results (and their store); refuse an index
    /// other than the one the results were scanned with.
    pub fn open(index: &Path, results: &Path, config: ServerConfig) -> Result<Self, ServerError> {
        let index = Index::open(index)?;
        let results = Results::read(results)?;
        if index.meta().index_id != results.stats.run.index_id {
            return Err(ServerError::Mismatch(format!(
                "{}: index {} is not the index of these results ({})",
                index.dir().display(),
                index.meta().index_id,
                results.stats.run.index_id
            )));
        }
        let store = Store::open_for(&results)?;
        let limiter = guard::RateLimiter::new(config.rate_limit);
        Ok(Service { index, results, config, stores: Mutex::new(vec![store]), limiter })
    }

    /// Run `f` with a store connection (one per concurrent caller, reused).
    pub fn with_store<T>(&self, f: impl FnOnce(&Store) -> T) -> Result<T, exlibris_report::StoreError> {
        let s = self.stores.lock().expect("store pool").pop();
        let s = match s {
            Some(s) => s,
            None => Store::open(&self.results.dir)?,
        };
        let out = f(&s);
        self.stores.lock().expect("store pool").push(s);
        Ok(out)
    }
}

/// The service's routes, with its guards.
pub fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/v1/lookup", post(api::lookup))
        .route("/v1/works", get(api::works))
        .route("/v1/works/{id}", get(api::work))
        .route("/v1/health", get(api::health))
        .route("/v1/openapi.json", get(api::openapi))
        .route("/", get(page::home))
        .route("/lookup", post(page::lookup))
        .route("/works/{id}", get(page::work))
        .fallback(api::not_found)
        .layer(axum::middleware::from_fn_with_state(service.clone(), guard::guard))
        .with_state(service)
}

/// Serve until Ctrl-C or SIGTERM, then finish the requests in flight.
pub async fn serve(listener: tokio::net::TcpListener, service: Service) -> Result<(), ServerError> {
    let app = router(Arc::new(service)).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    eprintln!("{{\"event\":\"shutdown\",\"reason\":\"signal\"}}");
}

/// Bind `addr` and [`serve`] on a multi-threaded runtime of this crate's
/// own, for callers that are not async (the `exlibris` binary).
pub fn serve_blocking(
    addr: &str,
    service: Service,
    on_bound: impl FnOnce(std::net::SocketAddr),
) -> Result<(), ServerError> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        on_bound(listener.local_addr()?);
        serve(listener, service).await
    })
}
