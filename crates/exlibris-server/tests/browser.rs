//! The web page in a real headless Chromium over a real socket: search a
//! book, open it, paste a passage, see the verdict and the evidence; a
//! screenshot is kept under `target/test-artefacts/`.
//!
//! Skips (with a message) where `/usr/bin/chromium` is absent; CI installs it.
use std::time::Duration;

use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::Tab;

use exlibris_report::fixture;
use exlibris_server::{ServerConfig, Service};

#[path = "../../exlibris-report/tests/support/chrome.rs"]
mod chrome;
use chrome::{artefacts, browser};

fn text(tab: &Tab, selector: &str) -> String {
    tab.wait_for_element(selector).unwrap().get_inner_text().unwrap()
}

#[test]
fn page_search_open_and_paste() {
    let Some(browser) = browser((1200, 1300)) else { return };
    let fx = fixture::build();
    let service = Service::open(&fx.index, &fx.results, ServerConfig::default()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        exlibris_server::serve_blocking("127.0.0.1:0", service, |addr| tx.send(addr).unwrap()).unwrap();
    });
    let addr = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let tab = browser.new_tab().unwrap();
    tab.navigate_to(&format!("http://{addr}/")).unwrap().wait_until_navigated().unwrap();

    // Search by author.
    tab.wait_for_element("#q").unwrap().type_into("Ada Marsh").unwrap();
    tab.press_key("Enter").unwrap();
    tab.wait_until_navigated().unwrap();
    let results = text(&tab, "#results");
    assert!(results.contains("The Quiet River"), "{results}");
    tab.find_element("#results a").unwrap().click().unwrap();
    tab.wait_until_navigated().unwrap();
    let verdict = text(&tab, "#verdict");
    assert!(verdict.contains("found in the audited corpus, in 2 documents"), "{verdict}");
    assert_eq!(tab.find_elements(".strip i").unwrap().len(), 100);
    assert!(!tab.find_elements(".evidence .pair").unwrap().is_empty());

    // Paste a passage of the book.
    tab.navigate_to(&format!("http://{addr}/")).unwrap().wait_until_navigated().unwrap();
    let passage: Vec<&str> = fx.works[0][5000..].split_whitespace().skip(1).take(200).collect();
    let passage = passage.join(" ").replacen(" the ", " tbe ", 1);
    tab.evaluate(&format!("document.getElementById('text').value = {}", serde_json::json!(passage)), false)
        .unwrap();
    tab.find_element("form[action='/lookup'] button").unwrap().click().unwrap();
    tab.wait_until_navigated().unwrap();
    let r = text(&tab, "#results");
    assert!(r.contains("The Quiet River") && r.contains("This part of the book is in 2 documents"), "{r}");
    let marks = tab.find_elements("#results mark.d").unwrap();
    assert!(marks.iter().any(|m| m.get_inner_text().unwrap() == "tbe"), "the OCR-like error is marked");

    let png = tab.capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true).unwrap();
    let out = artefacts().join("serve-page.png");
    std::fs::write(&out, png).unwrap();
    eprintln!("screenshot: {}", out.display());
}
