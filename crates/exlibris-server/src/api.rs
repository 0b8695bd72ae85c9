//! The JSON API under `/v1`.
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use exlibris_report::store::{work_evidence, FindingRow, WorkRow};
use exlibris_scan::{MatchOptions, Matcher, Scratch};
use exlibris_text::{truncate_at_char, Span};

use crate::guard::Access;
use crate::Service;

/// Excerpt bytes of each side of a lookup match (as the store's evidence).
pub const EXCERPT_BYTES: usize = exlibris_report::store::EVIDENCE_BYTES;

/// A JSON error: `{"error": {"status": …, "message": …}}`.
pub fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": {"status": status.as_u16(), "message": message}}))).into_response()
}

fn internal(e: impl std::fmt::Display) -> Response {
    error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
}

/// Unknown paths.
pub async fn not_found(req: Request) -> Response {
    error(StatusCode::NOT_FOUND, &format!("no such endpoint: {} {}", req.method(), req.uri().path()))
}

/// `GET /v1/health`.
pub async fn health(State(s): State<Arc<Service>>) -> Response {
    let st = &s.results.stats;
    Json(json!({
        "status": "ok", "version": env!("CARGO_PKG_VERSION"), "index_id": st.run.index_id,
        "works": s.index.works().len(), "documents": st.stats.documents_scanned, "findings": st.stats.findings,
    }))
    .into_response()
}

/// `GET /v1/openapi.json`.
pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], crate::OPENAPI).into_response()
}

/// Read a body of at most `max` bytes, or answer 413.
// The error is the response itself, made once per request: not worth boxing.
#[allow(clippy::result_large_err)]
pub async fn read_body(body: Body, max: usize) -> Result<Bytes, Response> {
    axum::body::to_bytes(body, max).await.map_err(|_| {
        error(StatusCode::PAYLOAD_TOO_LARGE, &format!("request body over the limit of {max} bytes"))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LookupRequest {
    text: String,
    #[serde(default)]
    min_words: Option<u32>,
}

/// Check a passage against the limits.
// The error is the response itself, made once per request: not worth boxing.
#[allow(clippy::result_large_err)]
pub fn check_passage(s: &Service, text: &str) -> Result<(), Response> {
    if text.trim().is_empty() {
        return Err(error(StatusCode::UNPROCESSABLE_ENTITY, "the passage is empty"));
    }
    if text.len() > s.config.max_passage {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("passage of {} bytes: the limit is {} bytes", text.len(), s.config.max_passage),
        ));
    }
    Ok(())
}

/// The matches of `text`, with how the audited corpus covers each.
pub fn lookup_passage(s: &Service, text: &str, min_words: u32, evidence: bool) -> Result<Value, String> {
    let opts = MatchOptions { min_words, ..Default::default() };
    let m = Matcher::new(&s.index, opts);
    let findings = m.find(text, &mut Scratch::default()).map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(findings.len());
    let mut region = exlibris_index::TextRegion::default();
    for f in &findings {
        let w = &s.index.works()[f.work as usize];
        let span = Span { start: f.work_start, end: f.work_end };
        let (row, docs) = s
            .with_store(|st| {
                Ok::<_, exlibris_report::StoreError>((
                    st.work_at(f.work)?,
                    st.documents_overlapping(f.work, span)?,
                ))
            })
            .and_then(|r| r)
            .map_err(|e| e.to_string())?;
        let mut v = json!({
            "work_id": w.meta.id, "title": w.meta.title, "author": w.meta.author, "isbn": w.meta.isbn,
            "passage_start": f.doc_start, "passage_end": f.doc_end, "work_start": f.work_start, "work_end": f.work_end,
            "work_bytes": w.bytes, "words": f.words, "score": (f.score() * 1e4).round() / 1e4,
            "in_corpus": {
                "documents_with_this_part": docs,
                "work_coverage": row.as_ref().map_or(0.0, |r| r.coverage),
                "work_documents": row.as_ref().map_or(0, |r| r.documents),
                "work_findings": row.as_ref().map_or(0, |r| r.findings),
            },
        });
        if evidence {
            v["passage_excerpt"] =
                json!(truncate_at_char(&text[f.doc_start as usize..f.doc_end as usize], EXCERPT_BYTES));
            v["work_excerpt"] = json!(work_evidence(&s.index, f, EXCERPT_BYTES, &mut region));
        }
        out.push(v);
    }
    Ok(json!({
        "passage_bytes": text.len(), "min_words": m.min_words(), "matches": out,
        "evidence": if evidence { "shown" } else { "withheld: a bearer token is required for evidence text" },
    }))
}

/// `POST /v1/lookup`: a JSON `{"text": …}` or the passage itself as the
/// body (`text/plain`, e.g. a file).
pub async fn lookup(
    State(s): State<Arc<Service>>,
    Extension(access): Extension<Access>,
    req: Request,
) -> Response {
    let json_body = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let bytes = match read_body(req.into_body(), s.config.max_body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let (text, min_words) = if json_body {
        match serde_json::from_slice::<LookupRequest>(&bytes) {
            Ok(r) => (r.text, r.min_words.unwrap_or(0)),
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    &format!("bad JSON: {e} (expected {{\"text\": \"…\"}})"),
                )
            }
        }
    } else {
        match String::from_utf8(bytes.to_vec()) {
            Ok(t) => (t, 0),
            Err(_) => return error(StatusCode::BAD_REQUEST, "the passage is not UTF-8 text"),
        }
    };
    if let Err(r) = check_passage(&s, &text) {
        return r;
    }
    let s2 = s.clone();
    match tokio::task::spawn_blocking(move || lookup_passage(&s2, &text, min_words, access.evidence)).await {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

/// Paging parameters.
#[derive(Deserialize)]
pub struct Page {
    /// Search text.
    #[serde(default)]
    pub q: String,
    /// Items per page.
    pub limit: Option<u32>,
    /// Items skipped.
    #[serde(default)]
    pub offset: u64,
}

/// A work as the API shows it.
pub fn work_json(w: &WorkRow) -> Value {
    json!({
        "work_id": w.work_id, "title": w.title, "author": w.author, "year": w.year, "rights": w.rights,
        "isbn": w.isbn, "bytes": w.bytes, "coverage": w.coverage, "covered_bytes": w.covered_bytes,
        "documents": w.documents, "findings": w.findings, "strip": w.strip,
    })
}

/// A finding as the API shows it; its text only with `evidence`.
pub fn finding_json(f: &FindingRow, evidence: bool) -> Value {
    let mut v = json!({
        "id": f.id, "doc_id": f.doc_id, "source": f.source, "record": f.record, "offset": f.offset, "url": f.url,
        "doc_start": f.doc_start, "doc_end": f.doc_end, "work_start": f.work_start, "work_end": f.work_end,
        "words": f.words, "score": f.score,
    });
    if evidence {
        v["doc_text"] = json!(f.doc_text);
        v["work_text"] = json!(f.work_text);
    }
    v
}

fn run_blocking<T: Send + 'static>(
    s: &Arc<Service>,
    f: impl FnOnce(&exlibris_report::Store) -> Result<T, exlibris_report::StoreError> + Send + 'static,
) -> impl std::future::Future<Output = Result<T, Response>> {
    let s = s.clone();
    async move {
        match tokio::task::spawn_blocking(move || s.with_store(f)).await {
            Ok(Ok(Ok(v))) => Ok(v),
            Ok(Ok(Err(e))) | Ok(Err(e)) => Err(internal(e)),
            Err(e) => Err(internal(e)),
        }
    }
}

/// `GET /v1/works?q=`: works by title, author, ISBN or id.
pub async fn works(State(s): State<Arc<Service>>, Query(p): Query<Page>) -> Response {
    let limit = p.limit.unwrap_or(20).clamp(1, s.config.max_page);
    let offset = p.offset.min(u32::MAX as u64) as u32;
    let q = p.q.clone();
    match run_blocking(&s, move |st| st.search_works(&q, limit, offset)).await {
        Ok((total, rows)) => Json(json!({
            "q": p.q, "total": total, "offset": offset, "limit": limit,
            "works": rows.iter().map(work_json).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(r) => r,
    }
}

/// `GET /v1/works/{id}`: coverage and a page of findings of one work.
pub async fn work(
    State(s): State<Arc<Service>>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
    Query(p): Query<Page>,
) -> Response {
    let limit = p.limit.unwrap_or(50).clamp(1, s.config.max_page);
    let offset = p.offset;
    let id2 = id.clone();
    let got = run_blocking(&s, move |st| {
        let Some(w) = st.work(&id2)? else { return Ok(None) };
        let f = st.findings_of_work(w.idx, limit, offset)?;
        Ok(Some((w, f)))
    })
    .await;
    match got {
        Ok(Some((w, findings))) => {
            let next = offset + findings.len() as u64;
            let ranges = s.results.works.works.get(w.idx as usize).map_or(Vec::new(), |x| x.ranges.clone());
            Json(json!({
                "work": work_json(&w),
                "ranges": ranges.iter().map(|r| [r.start, r.end]).collect::<Vec<_>>(),
                "findings": findings.iter().map(|f| finding_json(f, access.evidence)).collect::<Vec<_>>(),
                "offset": offset, "limit": limit,
                "next_offset": if next < w.findings { Some(next) } else { None },
                "evidence": access.evidence,
            }))
            .into_response()
        }
        Ok(None) => error(StatusCode::NOT_FOUND, &format!("no work with id {id:?}")),
        Err(r) => r,
    }
}
