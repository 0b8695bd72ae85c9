//! What stands in front of every request: the per-client rate limit, bearer
//! tokens, and one structured access-log line per request.
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::error;
use crate::{ServerError, Service};

/// What a token is needed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMode {
    /// Every request but `GET /v1/health`.
    Everything,
    /// Only evidence text (excerpts of works and documents); without a
    /// token, answers carry spans and counts but no text.
    Evidence,
}

/// Accepted bearer tokens.
#[derive(Clone)]
pub struct Tokens(Vec<Vec<u8>>);

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Tokens({} tokens)", self.0.len())
    }
}

impl Tokens {
    /// Tokens from a file: one a line; blank lines and `#` comments skipped.
    pub fn read(path: &Path) -> Result<Tokens, ServerError> {
        let bad = |reason: String| ServerError::Tokens { path: path.to_path_buf(), reason };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let t = Tokens::new(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')));
        if t.0.is_empty() {
            return Err(bad("no tokens in the file".into()));
        }
        if let Some(short) = t.0.iter().find(|t| t.len() < 16) {
            return Err(bad(format!("a token of {} characters: use at least 16", short.len())));
        }
        Ok(t)
    }

    /// Tokens from a list.
    pub fn new<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Tokens {
        Tokens(tokens.into_iter().map(|t| t.as_bytes().to_vec()).collect())
    }

    /// Whether `token` is one of them. Every token is compared, each in
    /// time independent of where the bytes differ.
    pub fn accepts(&self, token: &[u8]) -> bool {
        self.0.iter().fold(false, |ok, t| ok | constant_time_eq::constant_time_eq(t, token))
    }
}

/// What the request may see; set by [`guard`] for the handlers.
#[derive(Clone, Copy, Debug)]
pub struct Access {
    /// Evidence text may be shown.
    pub evidence: bool,
}

/// A token bucket per client address.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    clients: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `rate` requests per second per client (0: unlimited), bursts of `2 × rate`.
    pub fn new(rate: u32) -> Self {
        RateLimiter {
            rate: rate as f64,
            burst: (2 * rate).max(1) as f64,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Take one request from `client`'s bucket, or say how many seconds until one is free.
    pub fn check(&self, client: &str) -> Result<(), f64> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut m = self.clients.lock().expect("rate limiter");
        if m.len() > 100_000 {
            // Forget clients whose bucket has refilled: they lose nothing.
            let (rate, burst) = (self.rate, self.burst);
            m.retain(|_, (t, at)| *t + now.duration_since(*at).as_secs_f64() * rate < burst);
        }
        let (tokens, at) = m.entry(client.to_string()).or_insert((self.burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * self.rate).min(self.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - *tokens) / self.rate)
        }
    }
}

// The error is the response itself, made once per request: not worth boxing.
#[allow(clippy::result_large_err)]
fn authorize(s: &Service, req: &Request) -> Result<Access, Response> {
    let Some(tokens) = &s.config.tokens else {
        return Ok(Access { evidence: true });
    };
    let unauthorized = |msg: &str, code: &str| {
        let mut r = error(StatusCode::UNAUTHORIZED, msg);
        let v = format!("Bearer realm=\"exlibris\", error=\"{code}\"");
        r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_str(&v).expect("ascii header"));
        r
    };
    match req.headers().get(header::AUTHORIZATION) {
        Some(h) => {
            let token = h.as_bytes().strip_prefix(b"Bearer ").map(|t| t.trim_ascii());
            match token {
                Some(t) if tokens.accepts(t) => Ok(Access { evidence: true }),
                _ => Err(unauthorized("invalid bearer token", "invalid_token")),
            }
        }
        None if s.config.auth == AuthMode::Everything && req.uri().path() != "/v1/health" => {
            Err(unauthorized("a bearer token is required (Authorization: Bearer <token>)", "invalid_request"))
        }
        None => Ok(Access { evidence: false }),
    }
}

/// Rate limit, authorise, run the handler, log.
pub async fn guard(State(s): State<Arc<Service>>, mut req: Request, next: Next) -> Response {
    let start = Instant::now();
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or("local".to_string(), |c| c.0.ip().to_string());
    let (method, path) = (req.method().to_string(), req.uri().path().to_string());
    let mut authorised = None;
    let resp = match s.limiter.check(&client) {
        Err(wait) => {
            let mut r = error(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("rate limit: {} requests/s per client", s.config.rate_limit),
            );
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait.ceil().max(1.0) as u64));
            r
        }
        Ok(()) => match authorize(&s, &req) {
            Ok(access) => {
                authorised = Some(access.evidence);
                req.extensions_mut().insert(access);
                next.run(req).await
            }
            Err(r) => r,
        },
    };
    if s.config.access_log {
        let line = serde_json::json!({
            "ts": SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64()),
            "client": client, "method": method, "path": path, "status": resp.status().as_u16(),
            "ms": (start.elapsed().as_secs_f64() * 1e3 * 1000.0).round() / 1000.0,
            "evidence": authorised,
        });
        eprintln!("{line}");
    }
    resp.into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_buckets() {
        let t = Tokens::new(["0123456789abcdef", "fedcba9876543210"]);
        assert!(t.accepts(b"fedcba9876543210"));
        assert!(!t.accepts(b"fedcba987654321"));
        assert!(!t.accepts(b""));
        let l = RateLimiter::new(1);
        assert!(l.check("a").is_ok() && l.check("a").is_ok());
        assert!(l.check("a").is_err());
        assert!(l.check("b").is_ok());
        assert!(RateLimiter::new(0).check("a").is_ok());
    }
}
