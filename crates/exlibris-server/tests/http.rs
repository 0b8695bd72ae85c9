//! Every endpoint and error of the API, in process (no socket).
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

use exlibris_report::fixture;
use exlibris_server::{router, AuthMode, ServerConfig, Service, Tokens, ROUTES};

const TOKEN: &str = "test-token-0123456789";

struct App {
    fx: fixture::Fixture,
    app: axum::Router,
}

fn app(config: ServerConfig) -> App {
    let fx = fixture::build();
    let s = Service::open(&fx.index, &fx.results, ServerConfig { access_log: false, ..config }).unwrap();
    App { app: router(Arc::new(s)), fx }
}

async fn call(app: &axum::Router, req: Request<Body>) -> (StatusCode, Value, axum::http::HeaderMap) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    let v = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    (status, v, headers)
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn post_json(uri: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(uri).header(header::CONTENT_TYPE, "application/json").body(body.into()).unwrap()
}

fn with_token(mut r: Request<Body>, t: &str) -> Request<Body> {
    r.headers_mut().insert(header::AUTHORIZATION, format!("Bearer {t}").parse().unwrap());
    r
}

/// A passage of 200 words copied from the first work, with one OCR error.
fn passage(fx: &fixture::Fixture) -> String {
    let words: Vec<&str> = fx.works[0][5000..].split_whitespace().skip(1).take(200).collect();
    words.join(" ").replacen(" the ", " tbe ", 1)
}

#[tokio::test]
async fn lookup_finds_the_work_and_its_corpus_coverage() {
    let a = app(ServerConfig::default());
    let text = passage(&a.fx);
    let (st, v, _) =
        call(&a.app, post_json("/v1/lookup", serde_json::json!({"text": text}).to_string())).await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let m = &v["matches"].as_array().unwrap()[0];
    assert_eq!(m["work_id"], "quiet-river");
    assert!(m["words"].as_u64().unwrap() >= 190, "{m}");
    // Bytes 5000.. of the work are in doc-1 and doc-2.
    assert_eq!(m["in_corpus"]["documents_with_this_part"], 2);
    assert!(m["work_excerpt"].as_str().unwrap().len() > 100);
    let (ps, pe) =
        (m["passage_start"].as_u64().unwrap() as usize, m["passage_end"].as_u64().unwrap() as usize);
    assert!(m["passage_excerpt"].as_str().unwrap().starts_with(&text[ps..pe.min(ps + 50)]));
    // The same passage as a plain-text body (a file).
    let (st, v2, _) = call(&a.app, Request::post("/v1/lookup").body(Body::from(text.clone())).unwrap()).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v2["matches"], v["matches"]);
    // A passage of no work.
    let (st, v, _) =
        call(&a.app, post_json("/v1/lookup", r#"{"text": "nothing like any book at all"}"#)).await;
    assert_eq!((st, v["matches"].as_array().unwrap().len()), (StatusCode::OK, 0));
}

#[tokio::test]
async fn works_search_detail_and_pages() {
    let a = app(ServerConfig::default());
    let (st, v, _) = call(&a.app, get("/v1/works?q=quiet")).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!((v["total"].as_u64(), v["works"][0]["work_id"].as_str()), (Some(1), Some("quiet-river")));
    let (_, v, _) = call(&a.app, get("/v1/works?q=978-1-4028-9462-6")).await;
    assert_eq!(v["works"][0]["work_id"], "empty-house");
    let (_, v, _) = call(&a.app, get("/v1/works?q=ada%20marsh")).await;
    assert_eq!(v["works"][0]["work_id"], "quiet-river");
    let (_, all, _) = call(&a.app, get("/v1/works?limit=2")).await;
    assert_eq!((all["total"].as_u64(), all["works"].as_array().unwrap().len()), (Some(3), 2));

    let (st, v, _) = call(&a.app, get("/v1/works/quiet-river?limit=1")).await;
    assert_eq!(st, StatusCode::OK);
    let total = v["work"]["findings"].as_u64().unwrap();
    assert!(total >= 2);
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    assert_eq!(v["next_offset"], 1);
    assert!(v["findings"][0]["doc_text"].as_str().is_some());
    assert_eq!(v["work"]["strip"].as_array().unwrap().len(), 100);
    let (_, last, _) =
        call(&a.app, get(&format!("/v1/works/quiet-river?limit=1&offset={}", total - 1))).await;
    assert_eq!((last["findings"].as_array().unwrap().len(), &last["next_offset"]), (1, &Value::Null));

    let (st, v, _) = call(&a.app, get("/v1/works/no-such-work")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert!(v["error"]["message"].as_str().unwrap().contains("no-such-work"));
    let (st, _, _) = call(&a.app, get("/v1/nothing")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, v, _) = call(&a.app, get("/v1/health")).await;
    assert_eq!((st, v["status"].as_str(), v["documents"].as_u64()), (StatusCode::OK, Some("ok"), Some(4)));
}

#[tokio::test]
async fn bad_requests_are_clear_4xx() {
    let a = app(ServerConfig { max_body: 4096, max_passage: 1000, ..Default::default() });
    let (st, v, _) = call(&a.app, post_json("/v1/lookup", "{\"text\": ")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(v["error"]["message"].as_str().unwrap().starts_with("bad JSON"), "{v}");
    let (st, _, _) = call(&a.app, post_json("/v1/lookup", r#"{"passage": "x"}"#)).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, v, _) =
        call(&a.app, post_json("/v1/lookup", format!("{{\"text\": \"{}\"}}", "a ".repeat(5000)))).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(v["error"]["message"].as_str().unwrap().contains("4096"), "{v}");
    let (st, v, _) =
        call(&a.app, post_json("/v1/lookup", format!("{{\"text\": \"{}\"}}", "a ".repeat(1000)))).await;
    assert_eq!(st, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(v["error"]["message"].as_str().unwrap().contains("passage of 2000 bytes"), "{v}");
    let (st, _, _) = call(&a.app, post_json("/v1/lookup", r#"{"text": "   "}"#)).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);
    let (st, _, _) =
        call(&a.app, Request::post("/v1/lookup").body(Body::from(vec![0xff, 0xfe, 0x41])).unwrap()).await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _, _) = call(&a.app, get("/v1/lookup")).await;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn tokens_guard_everything_or_evidence() {
    let tokens = Some(Tokens::new([TOKEN]));
    let a = app(ServerConfig { tokens: tokens.clone(), auth: AuthMode::Everything, ..Default::default() });
    let (st, v, h) = call(&a.app, get("/v1/works?q=quiet")).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(v["error"]["message"].as_str().unwrap().contains("token is required"));
    assert!(h[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Bearer"));
    let (st, v, _) = call(&a.app, with_token(get("/v1/works?q=quiet"), "wrong-token-0123456789")).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(v["error"]["message"].as_str().unwrap().contains("invalid"));
    let (st, _, _) = call(&a.app, with_token(get("/v1/works?q=quiet"), TOKEN)).await;
    assert_eq!(st, StatusCode::OK);
    let (st, _, _) = call(&a.app, get("/v1/health")).await;
    assert_eq!(st, StatusCode::OK, "health needs no token");
    let (st, _, _) = call(&a.app, get("/")).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);

    let a = app(ServerConfig { tokens, auth: AuthMode::Evidence, ..Default::default() });
    let text = passage(&a.fx);
    let body = serde_json::json!({"text": text}).to_string();
    let (st, v, _) = call(&a.app, post_json("/v1/lookup", body.clone())).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["matches"][0]["work_id"], "quiet-river");
    assert!(
        v["matches"][0].get("work_excerpt").is_none()
            && v["evidence"].as_str().unwrap().starts_with("withheld")
    );
    let (_, v, _) = call(&a.app, with_token(post_json("/v1/lookup", body), TOKEN)).await;
    assert!(v["matches"][0]["work_excerpt"].is_string());
    let (_, v, _) = call(&a.app, get("/v1/works/quiet-river")).await;
    assert!(v["findings"][0].get("doc_text").is_none() && v["evidence"] == false);
    let (_, v, _) = call(&a.app, with_token(get("/v1/works/quiet-river"), TOKEN)).await;
    assert!(v["findings"][0]["doc_text"].is_string());
    let (st, _, _) = call(&a.app, with_token(get("/v1/works/quiet-river"), "bad")).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED, "a wrong token is refused even where none is needed");
}

#[tokio::test]
async fn rate_limit_per_client() {
    let a = app(ServerConfig { rate_limit: 2, ..Default::default() });
    let mut codes = Vec::new();
    for _ in 0..6 {
        codes.push(call(&a.app, get("/v1/health")).await);
    }
    assert!(codes[..4].iter().all(|c| c.0 == StatusCode::OK));
    let limited = codes.iter().find(|c| c.0 == StatusCode::TOO_MANY_REQUESTS).expect("limited");
    assert!(limited.2.contains_key(header::RETRY_AFTER));
}

#[tokio::test]
async fn openapi_document_matches_the_routes() {
    let a = app(ServerConfig::default());
    let (st, doc, _) = call(&a.app, get("/v1/openapi.json")).await;
    assert_eq!(st, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    let mut documented: Vec<(String, String)> = paths
        .iter()
        .flat_map(|(p, ops)| ops.as_object().unwrap().keys().map(move |m| (m.clone(), p.clone())))
        .collect();
    let mut routes: Vec<(String, String)> =
        ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    documented.sort();
    routes.sort();
    assert_eq!(documented, routes, "openapi.json and ROUTES differ");
    // Every documented route is served (not the fallback's 404 / 405).
    for (m, p) in &routes {
        let uri = p.replace("{id}", "quiet-river");
        let req = if m == "post" { post_json(&uri, r#"{"text":"a b c"}"#) } else { get(&uri) };
        let (st, _, _) = call(&a.app, req).await;
        assert_eq!(st, StatusCode::OK, "{m} {p}");
    }
    // Every $ref resolves.
    let text = doc.to_string();
    for r in text.split("\"$ref\":\"#/").skip(1) {
        let ptr = format!("/{}", r.split('"').next().unwrap());
        assert!(doc.pointer(&ptr).is_some(), "dangling $ref {ptr}");
    }
}

#[tokio::test]
async fn page_search_and_passage_without_script() {
    let a = app(ServerConfig::default());
    let (st, v, _) = call(&a.app, get("/?q=empty")).await;
    assert_eq!(st, StatusCode::OK);
    let html = v.as_str().unwrap();
    assert!(html.contains("href=\"/works/empty-house\"") && html.contains("1 works match"), "{html}");
    let form = format!("text={}", urlencode(&passage(&a.fx)));
    let req = Request::post("/lookup")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    let (st, v, _) = call(&a.app, req).await;
    assert_eq!(st, StatusCode::OK);
    assert!(v.as_str().unwrap().contains("This part of the book is in 2 documents"));
    let (st, v, _) = call(&a.app, get("/works/quiet-river")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(v.as_str().unwrap().contains("class=\"pair\""));
    let (st, _, _) = call(&a.app, get("/works/nope")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}
