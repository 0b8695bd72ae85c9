// exlibris HTML report: renders the embedded data; no network, no framework.
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("data").textContent);
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "html") e.innerHTML = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
    }
    for (const k of kids) e.append(k);
    return e;
  };
  const pct = (x) => (x * 100).toFixed(2) + "%";
  const num = (n) => Number(n).toLocaleString("en");
  const mb = (b) => (b / 1e6).toFixed(1) + " MB";

  // Totals.
  const t = D.totals;
  $("run").textContent = `Results ${D.results} · index ${D.index_id} · any shared run of ${D.guarantee} words is found` +
    (D.complete ? "" : " · PARTIAL RUN: some records were rejected");
  for (const [label, value, id] of [
    ["documents scanned", num(t.documents), "t-documents"],
    ["text scanned", mb(t.bytes), "t-bytes"],
    ["works found", `${num(t.works_found)} of ${num(t.works)}`, "t-works"],
    ["catalogued text", pct(t.share), "t-share"],
    ["findings", num(t.findings), "t-findings"],
    ["documents with findings", num(t.documents_with_findings), "t-docs-found"],
  ]) $("totals").append(el("div", { class: "tot", id }, el("b", { text: value }), label));

  // Strip: the work from first to last byte; darker where more documents contain that part.
  function strip(counts, big) {
    const max = Math.max(1, ...counts);
    const s = el("div", { class: "strip" + (big ? " big" : ""), role: "img",
      "aria-label": `coverage strip: ${counts.filter((c) => c > 0).length} of ${counts.length} parts found` });
    counts.forEach((c, i) => {
      const cell = el("i", { title: `part ${i + 1}/${counts.length}: ${c} document${c === 1 ? "" : "s"}`, "data-n": c });
      if (c > 0) cell.style.background = `hsl(12, 80%, ${70 - 45 * Math.log1p(c) / Math.log1p(max)}%)`;
      s.append(cell);
    });
    return s;
  }

  // Table: filter, sort, paginate.
  let rows = D.works.slice(), key = "coverage", dir = -1, page = 0;
  const per = D.limits.page_rows;
  function apply() {
    const q = $("filter").value.trim().toLowerCase();
    rows = D.works.filter((w) => !q || [w.title, w.author, w.rights || "", w.id, w.isbn || ""].some((s) => s.toLowerCase().includes(q)));
    rows.sort((a, b) => {
      const x = a[key] ?? "", y = b[key] ?? "";
      return (typeof x === "number" ? x - y : String(x).localeCompare(String(y))) * dir || a.id.localeCompare(b.id);
    });
    draw();
  }
  function draw() {
    const pages = Math.max(1, Math.ceil(rows.length / per));
    page = Math.min(page, pages - 1);
    const body = document.querySelector("#works tbody");
    body.replaceChildren();
    for (const w of rows.slice(page * per, page * per + per)) {
      const open = el("button", { class: "open", text: w.title || w.id });
      open.addEventListener("click", () => show(w));
      body.append(el("tr", { "data-id": w.id }, el("td", {}, open), el("td", { text: w.author }),
        el("td", { text: w.rights || "–" }), el("td", { class: "num", text: pct(w.coverage) }),
        el("td", { class: "num", text: num(w.documents) }), el("td", { class: "num", text: num(w.findings) }),
        el("td", {}, strip(w.strip, false))));
    }
    $("page").textContent = `page ${page + 1} of ${pages}`;
    $("count").textContent = `${num(rows.length)} works` + (D.limits.works_shown < t.works_found
      ? ` (the ${num(D.limits.works_shown)} most covered of ${num(t.works_found)} found; the rest are in exlibris.db)` : "");
    $("prev").disabled = page === 0;
    $("next").disabled = page >= pages - 1;
  }
  document.querySelectorAll("#works th[data-key]").forEach((th) => th.querySelector("button").addEventListener("click", () => {
    const k = th.dataset.key;
    dir = k === key ? -dir : (["title", "author", "rights"].includes(k) ? 1 : -1);
    key = k;
    document.querySelectorAll("#works th[data-key]").forEach((h) => h.setAttribute("aria-sort", "none"));
    th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
    page = 0;
    apply();
  }));
  $("filter").addEventListener("input", () => { page = 0; apply(); });
  $("prev").addEventListener("click", () => { page--; draw(); });
  $("next").addEventListener("click", () => { page++; draw(); });

  // One work: big strip and evidence, document beside work, differences marked.
  function show(w) {
    const s = $("work");
    s.hidden = false;
    s.replaceChildren(el("h2", { text: `${w.title} — ${w.author}` }),
      el("p", { text: `${w.id}${w.isbn ? " · ISBN " + w.isbn : ""}${w.year ? " · " + w.year : ""} · ${w.rights || "rights unknown"} · ` +
        `${pct(w.coverage)} of ${num(w.bytes)} bytes found in ${num(w.documents)} documents (${num(w.findings)} findings)` }),
      strip(w.strip, true),
      el("p", { class: "legend", text: "The book from first to last byte; each part coloured by how many documents contain it (hover for counts)." }),
      el("h3", { text: w.evidence.length ? `Evidence: the ${w.evidence.length} longest findings` : "No evidence kept for this work in the report" }));
    for (const f of w.evidence) {
      const where = `${f.source}, record ${f.record} (byte ${num(f.offset)})` + (f.url ? ` · ${f.url}` : "");
      s.append(el("div", { class: "evidence", "data-finding": f.id },
        el("p", { class: "prov", html: "" }, el("b", { text: `Document ${f.doc_id}` }), ` · ${where} · ${f.words} words matched, score ${f.score}` +
          ` · ${f.changed_words} words differ` + (f.truncated ? " · first 2 KB shown" : "")),
        el("div", { class: "pair" },
          el("div", { class: "doc" }, el("h4", { text: `Document, bytes ${num(f.doc_start)}–${num(f.doc_end)}` }), el("span", { html: f.doc_html })),
          el("div", { class: "wrk" }, el("h4", { text: `Work, bytes ${num(f.work_start)}–${num(f.work_end)}` }), el("span", { html: f.work_html })))));
    }
    s.scrollIntoView();
  }

  // Sources.
  function table(title, list) {
    const tb = el("tbody");
    for (const r of list) tb.append(el("tr", {}, el("td", { text: r.name }), el("td", { class: "num", text: num(r.documents) }),
      el("td", { class: "num", text: num(r.findings) }), el("td", { class: "num", text: mb(r.bytes_in_findings) }),
      el("td", { class: "num", text: r.works == null ? "–" : num(r.works) })));
    return el("table", { class: "src" }, el("caption", { text: title }), el("thead", {}, el("tr", {},
      el("th", { text: "" }), el("th", { class: "num", text: "documents" }), el("th", { class: "num", text: "findings" }),
      el("th", { class: "num", text: "text in findings" }), el("th", { class: "num", text: "works" }))), tb);
  }
  $("sources").append(table("By input file", D.sources), table("By URL domain", D.domains));
  apply();
})();
