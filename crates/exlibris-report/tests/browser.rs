//! The HTML report in a real headless Chromium: the totals, the table, a
//! strip and an evidence view render with the fixture's numbers; sorting
//! works; a screenshot is kept under `target/test-artefacts/`.
//!
//! Skips (with a message) where `/usr/bin/chromium` is absent; CI installs it.

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::Tab;

use exlibris_report::store::Store;
use exlibris_report::{fixture, html_report, HtmlOptions};
use exlibris_scan::Results;

#[path = "support/chrome.rs"]
mod chrome;
use chrome::{artefacts, browser};

/// Evaluate `expr` in the page; its value through JSON (arrays come back whole).
fn js(tab: &Tab, expr: &str) -> serde_json::Value {
    let v = tab.evaluate(&format!("JSON.stringify({expr})"), false).unwrap().value;
    v.and_then(|s| serde_json::from_str(s.as_str()?).ok()).unwrap_or(serde_json::Value::Null)
}

#[test]
fn report_renders_sorts_and_shows_evidence() {
    let Some(browser) = browser((1280, 1400)) else { return };
    let fx = fixture::build();
    let r = Results::read(&fx.results).unwrap();
    let store = Store::open_for(&r).unwrap();
    let path = fx.dir.path().join("report.html");
    std::fs::write(&path, html_report(&r, &store, &HtmlOptions::default()).unwrap()).unwrap();
    let (_, works) = store.found_works(10).unwrap();

    let tab = browser.new_tab().unwrap();
    tab.navigate_to(&format!("file://{}", path.display())).unwrap().wait_until_navigated().unwrap();
    tab.wait_for_element("#works tbody tr").unwrap();
    assert_eq!(js(&tab, "document.querySelector('#t-documents b').textContent"), "4");
    assert_eq!(js(&tab, "document.querySelector('#t-works b').textContent"), "2 of 3");
    // The table: most covered first, with the store's numbers.
    assert_eq!(js(&tab, "document.querySelectorAll('#works tbody tr').length"), 2);
    let first =
        js(&tab, "[...document.querySelectorAll('#works tbody tr')[0].cells].map(c => c.textContent)");
    assert_eq!(first[0], works[0].title.as_str());
    assert_eq!(first[3], format!("{:.2}%", works[0].coverage * 100.0).as_str());
    assert_eq!(first[4], works[0].documents.to_string().as_str());
    // Its strip: one cell per part, with the document counts of the store.
    let cells = js(&tab, "[...document.querySelectorAll('#works tbody tr')[0].querySelectorAll('.strip i')].map(i => +i.dataset.n)");
    let want: Vec<serde_json::Value> = works[0].strip.iter().map(|&c| c.into()).collect();
    assert_eq!(cells.as_array().unwrap(), &want);
    // Sort by title, ascending: "The Empty House" before "The Quiet River".
    tab.find_element("th[data-key=title] button").unwrap().click().unwrap();
    assert_eq!(
        js(&tab, "document.querySelector('th[data-key=title]').getAttribute('aria-sort')"),
        "ascending"
    );
    assert_eq!(js(&tab, "document.querySelector('#works tbody tr td').textContent"), "The Empty House");
    tab.find_element("th[data-key=title] button").unwrap().click().unwrap();
    assert_eq!(js(&tab, "document.querySelector('#works tbody tr td').textContent"), "The Quiet River");
    // Filter.
    tab.find_element("#filter").unwrap().type_into("stone").unwrap();
    assert_eq!(js(&tab, "document.querySelectorAll('#works tbody tr').length"), 1);
    tab.evaluate(
        "const f = document.getElementById('filter'); f.value = ''; f.dispatchEvent(new Event('input'))",
        false,
    )
    .unwrap();
    // Evidence of the most covered work: document beside work, the OCR error marked.
    tab.evaluate("document.querySelector('th[data-key=coverage] button').click()", false).unwrap();
    tab.find_element("#works tbody tr .open").unwrap().click().unwrap();
    tab.wait_for_element("#work .evidence .pair").unwrap();
    assert!(js(&tab, "document.querySelector('#work h2').textContent")
        .as_str()
        .unwrap()
        .starts_with("The Quiet River"));
    let marks = js(&tab, "[...document.querySelectorAll('#work mark.d')].map(m => m.textContent).join(' ')");
    assert!(marks.as_str().unwrap().contains("rnorning"), "{marks}");
    assert!(js(&tab, "document.querySelector('#work .prov').textContent")
        .as_str()
        .unwrap()
        .contains("corpus.jsonl, record"));
    assert_eq!(js(&tab, "document.querySelectorAll('#work .strip.big i').length"), 100);
    // By source.
    assert!(js(&tab, "document.getElementById('sources').textContent")
        .as_str()
        .unwrap()
        .contains("example.org"));

    tab.evaluate("window.scrollTo(0, 0)", false).unwrap();
    let png = tab.capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true).unwrap();
    let out = artefacts().join("report.png");
    std::fs::write(&out, png).unwrap();
    eprintln!("screenshot: {}", out.display());
}
