//! The web page for authors: search a book by title, author or ISBN, or
//! paste a passage, and see whether the audited corpus holds it, how much,
//! and the evidence. Rendered on the server as plain HTML forms, so it
//! needs no script (and downloads nothing); an inline script only adds
//! reading a passage from a local file into the form.
use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::Extension;
use serde::Deserialize;
use serde_json::Value;

use exlibris_report::diff::{diff_html, escape};
use exlibris_report::store::WorkRow;

use crate::api::{check_passage, lookup_passage, read_body};
use crate::guard::Access;
use crate::Service;

const CSS: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:1000px;margin:0 auto;padding:0 1rem 3rem;color:#1b1b1b}
h1{font-size:1.5rem}form{margin:1rem 0;padding:.8rem;border:1px solid #ccc;border-radius:6px}
label{display:block;font-weight:600;margin-bottom:.3rem}input[type=search]{width:60%;font:inherit;padding:.3rem}
textarea{width:100%;font:inherit;min-height:8rem}button{font:inherit;padding:.3rem .9rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.25rem .4rem;border-bottom:1px solid #e3e3e3}
.num{text-align:right}.strip{display:flex;height:26px;border:1px solid #bbb;background:#f2f2f2;margin:.4rem 0}.strip i{flex:1}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:.8rem;margin:.5rem 0 1.2rem}
.pair>div{border:1px solid #ccc;border-radius:6px;padding:.5rem;white-space:pre-wrap;font-family:Georgia,serif;max-height:20rem;overflow:auto}
mark.d{background:#ffd6d6}mark.w{background:#d6f0ff}.verdict{font-size:1.15rem;font-weight:600}.note{color:#555}
@media (max-width:700px){.pair{grid-template-columns:1fr}}";

const FILE_JS: &str = "document.getElementById('file').addEventListener('change',function(e){var f=e.target.files[0];
if(!f)return;var r=new FileReader();r.onload=function(){document.getElementById('text').value=r.result;};r.readAsText(f);});";

fn page(title: &str, body: &str) -> Response {
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" \
         content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{CSS}</style></head>\
         <body><header><p><a href=\"/\">exlibris</a>: is your book in the audited corpus?</p></header>\
         <main>{body}</main></body></html>",
        escape(title)
    ))
    .into_response()
}

fn forms(s: &Service, q: &str, text: &str) -> String {
    let st = &s.results.stats.stats;
    format!(
        "<h1>Is your book in the audited corpus?</h1>\
         <p class=\"note\">This audit scanned {} documents ({:.1} MB) against {} catalogued works.</p>\
         <form method=\"get\" action=\"/\" role=\"search\"><label for=\"q\">Search by title, author or ISBN</label>\
         <input id=\"q\" name=\"q\" type=\"search\" value=\"{}\"> <button type=\"submit\">Search</button></form>\
         <form method=\"post\" action=\"/lookup\"><label for=\"text\">Or paste a passage (at most {} KB)</label>\
         <textarea id=\"text\" name=\"text\">{}</textarea>\
         <p><label for=\"file\" style=\"display:inline;font-weight:400\">or read it from a file:</label> \
         <input id=\"file\" type=\"file\" accept=\".txt,text/plain\"></p>\
         <button type=\"submit\">Look up the passage</button></form><script>{FILE_JS}</script>",
        st.documents_scanned,
        st.bytes_scanned as f64 / 1e6,
        s.index.works().len(),
        escape(q),
        s.config.max_passage / 1024,
        escape(text)
    )
}

/// A strip of document counts as HTML cells.
pub fn strip_html(counts: &[u32]) -> String {
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    let found = counts.iter().filter(|&&c| c > 0).count();
    let mut o = format!(
        "<div class=\"strip\" role=\"img\" aria-label=\"coverage strip: {found} of {} parts found\">",
        counts.len()
    );
    for (i, &c) in counts.iter().enumerate() {
        let style = if c > 0 {
            format!(
                " style=\"background:hsl(12,80%,{:.0}%)\"",
                70.0 - 45.0 * (c as f64).ln_1p() / max.ln_1p()
            )
        } else {
            String::new()
        };
        o.push_str(&format!("<i title=\"part {}: {c} documents\" data-n=\"{c}\"{style}></i>", i + 1));
    }
    o.push_str("</div>");
    o
}

fn work_line(w: &WorkRow) -> String {
    format!(
        "<tr><td><a href=\"/works/{}\">{}</a></td><td>{}</td><td>{}</td><td class=\"num\">{:.2}%</td><td class=\"num\">{}</td></tr>",
        escape(&urlencode(&w.work_id)),
        escape(&w.title),
        escape(&w.author),
        escape(w.isbn.as_deref().unwrap_or("–")),
        w.coverage * 100.0,
        w.documents
    )
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Search parameters.
#[derive(Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: u64,
}

/// `GET /`: the forms, and the works matching `q`.
pub async fn home(State(s): State<Arc<Service>>, Query(p): Query<Search>) -> Response {
    let mut body = forms(&s, &p.q, "");
    if !p.q.trim().is_empty() {
        let q = p.q.clone();
        let got = s.with_store(|st| st.search_works(&q, 50, 0)).and_then(|r| r);
        match got {
            Ok((total, rows)) if total > 0 => {
                body.push_str(&format!(
                    "<section aria-live=\"polite\" id=\"results\"><h2>{total} works match “{}”</h2><table><thead><tr><th>Title</th><th>Author</th>\
                     <th>ISBN</th><th class=\"num\">Found in corpus</th><th class=\"num\">Documents</th></tr></thead><tbody>",
                    escape(&p.q)
                ));
                rows.iter().for_each(|w| body.push_str(&work_line(w)));
                body.push_str("</tbody></table></section>");
            }
            Ok(_) => body.push_str(&format!(
                "<section id=\"results\"><p class=\"verdict\">No catalogued work matches “{}”.</p></section>",
                escape(&p.q)
            )),
            Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
        }
    }
    page("exlibris: is your book in the corpus?", &body)
}

#[derive(Deserialize)]
struct LookupForm {
    text: String,
}

/// `POST /lookup`: the form's passage.
pub async fn lookup(
    State(s): State<Arc<Service>>,
    Extension(access): Extension<Access>,
    req: Request,
) -> Response {
    let bytes = match read_body(req.into_body(), s.config.max_body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let text = match serde_urlencoded::from_bytes::<LookupForm>(&bytes) {
        Ok(f) => f.text,
        Err(e) => return (StatusCode::BAD_REQUEST, format!("bad form: {e}")).into_response(),
    };
    if let Err(r) = check_passage(&s, &text) {
        return r;
    }
    let s2 = s.clone();
    let t2 = text.clone();
    let v = match tokio::task::spawn_blocking(move || lookup_passage(&s2, &t2, 0, access.evidence)).await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => return (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let mut body = forms(&s, "", &text);
    body.push_str("<section aria-live=\"polite\" id=\"results\">");
    let matches = v["matches"].as_array().cloned().unwrap_or_default();
    if matches.is_empty() {
        body.push_str(&format!(
            "<p class=\"verdict\">This passage matches no catalogued work (a shared run of at least {} words is needed).</p>",
            v["min_words"]
        ));
    }
    for m in &matches {
        body.push_str(&match_html(m));
    }
    body.push_str("</section>");
    page("exlibris: passage lookup", &body)
}

fn match_html(m: &Value) -> String {
    let s = |k: &str| m[k].as_str().unwrap_or("").to_string();
    let n = |k: &str| m[k].as_u64().unwrap_or(0);
    let c = &m["in_corpus"];
    let docs = c["documents_with_this_part"].as_u64().unwrap_or(0);
    let verdict = if docs > 0 {
        format!(
            "This part of the book is in {docs} document{} of the audited corpus.",
            if docs == 1 { "" } else { "s" }
        )
    } else {
        "This part of the book was not found in the audited corpus.".to_string()
    };
    let mut o = format!(
        "<article class=\"match\"><h2><a href=\"/works/{}\">{}</a> by {}</h2><p class=\"verdict\">{verdict}</p>\
         <p>{} words of your passage (bytes {}–{}) match bytes {}–{} of the book. Overall {:.2}% of the book was found, \
         in {} documents.</p>",
        escape(&urlencode(&s("work_id"))),
        escape(&s("title")),
        escape(&s("author")),
        n("words"),
        n("passage_start"),
        n("passage_end"),
        n("work_start"),
        n("work_end"),
        c["work_coverage"].as_f64().unwrap_or(0.0) * 100.0,
        c["work_documents"].as_u64().unwrap_or(0),
    );
    if m.get("work_excerpt").is_some() {
        let (d, w, _) = diff_html(&s("passage_excerpt"), &s("work_excerpt"));
        o.push_str(&format!(
            "<div class=\"pair\"><div><b>Your passage</b>\n{d}</div><div><b>The book</b>\n{w}</div></div>"
        ));
    } else {
        o.push_str("<p class=\"note\">Evidence text is shown only with an access token.</p>");
    }
    o.push_str("</article>");
    o
}

/// `GET /works/{id}`: one work's coverage and evidence, a page of findings.
pub async fn work(
    State(s): State<Arc<Service>>,
    Extension(access): Extension<Access>,
    Path(id): Path<String>,
    Query(p): Query<Search>,
) -> Response {
    const PER: u32 = 20;
    let got = s
        .with_store(|st| {
            let Some(w) = st.work(&id)? else { return Ok(None) };
            let f = st.findings_of_work(w.idx, PER, p.page * PER as u64)?;
            Ok::<_, exlibris_report::StoreError>(Some((w, f)))
        })
        .and_then(|r| r);
    let (w, findings) = match got {
        Ok(Some(x)) => x,
        Ok(None) => {
            let r = page("exlibris: unknown work", &format!("<h1>No work with id “{}”</h1>", escape(&id)));
            return (StatusCode::NOT_FOUND, r).into_response();
        }
        Err(e) => return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    };
    let mut body = format!(
        "<h1>{}</h1><p>{}{}{}</p><p class=\"verdict\" id=\"verdict\">{:.2}% of this book was found in the audited corpus, \
         in {} documents ({} passages).</p>{}<p class=\"note\">The book from first to last byte; coloured where documents \
         of the corpus contain it, darker where more do.</p>",
        escape(&w.title),
        escape(&w.author),
        w.year.map_or(String::new(), |y| format!(", {y}")),
        w.isbn.as_deref().map_or(String::new(), |i| format!(" · ISBN {}", escape(i))),
        w.coverage * 100.0,
        w.documents,
        w.findings,
        strip_html(&w.strip),
    );
    if !findings.is_empty() {
        body.push_str(&format!(
            "<h2>Evidence (passages {}–{} of {})</h2>",
            p.page * PER as u64 + 1,
            p.page * PER as u64 + findings.len() as u64,
            w.findings
        ));
    }
    for f in &findings {
        let from = format!(
            "{} · record {} · byte {}{}",
            escape(&f.source),
            f.record,
            f.offset,
            f.url.as_deref().map_or(String::new(), |u| format!(" · {}", escape(u)))
        );
        body.push_str(&format!(
            "<article class=\"evidence\"><p>Document <b>{}</b> ({from}): {} words, bytes {}–{} of the book.</p>",
            escape(&f.doc_id),
            f.words,
            f.work_start,
            f.work_end
        ));
        if access.evidence {
            let (d, wk, _) = diff_html(&f.doc_text, &f.work_text);
            body.push_str(&format!(
                "<div class=\"pair\"><div><b>Document</b>\n{d}</div><div><b>The book</b>\n{wk}</div></div>"
            ));
        } else {
            body.push_str("<p class=\"note\">Evidence text is shown only with an access token.</p>");
        }
        body.push_str("</article>");
    }
    let mut nav = String::new();
    if p.page > 0 {
        nav.push_str(&format!("<a href=\"?page={}\">‹ previous</a> ", p.page - 1));
    }
    if (p.page + 1) * (PER as u64) < w.findings {
        nav.push_str(&format!("<a href=\"?page={}\">next ›</a>", p.page + 1));
    }
    if !nav.is_empty() {
        body.push_str(&format!("<nav aria-label=\"Pages\">{nav}</nav>"));
    }
    page(&format!("exlibris: {}", w.title), &body)
}
