#!/usr/bin/env python3
"""Build a small, deterministic sample corpus for exlibris.

The corpus imitates a slice of web-scraped training data: JSON Lines, one
document a line, {"id": ..., "text": ..., "url": ...}.  Most documents are
ordinary text that is not from any catalogued book (licence texts and
package documentation from Debian packages, plus short notes written for
this script); the rest carry text from the catalogued books:

  paste      a verbatim passage of 30-400 words, alone or between
             paragraphs of ordinary text, original line breaks kept
  disguised  a passage of 30-400 words, lightly disguised: re-wrapped to
             another width, upper-cased, run onto one line, or quoted
             e-mail style ("> " at the start of each line)
  chapter    one whole chapter (long)
  quote      a short quotation of 6-15 words inside ordinary text, the
             way reviews and encyclopaedia articles quote books

A second file (``--truth``) lists, for every document that carries book
text, which work, the byte range in the work's file, and how it was
altered, so that a scan's findings can be checked.

Standard library only; the same inputs and seed give the same bytes.

usage: make_sample_corpus.py --books DIR --out FILE [--truth FILE]
                             [--plain FILE ...] [--docs N] [--seed N]
"""

import argparse
import gzip
import json
import os
import random
import re
import sys
import textwrap

WORD_RE = re.compile(r"\S+")
AUSTEN_CHAPTER_RE = re.compile(r"^(?:CHAPTER|Chapter) [0-9IVXLC]+\.?$", re.M)
KJV_CHAPTER_RE = re.compile(r"^(?:[1-3] )?[A-Z][A-Za-z. ]*? \d+$", re.M)

# Short notes written for this script (no third-party text): ordinary
# web-page prose for the background of the corpus.
NOTES = [
    "We finally repainted the back bedroom last weekend. Two coats of a pale "
    "grey-green went on over the old magnolia, and the difference in the "
    "morning light is remarkable. The trick, if there is one, is to cut in "
    "around the window frames first and let that dry before rolling the "
    "walls; otherwise you end up with a ridge where the brush and roller "
    "marks meet.",
    "Release 2.3 fixes the crash on start-up when the configuration file "
    "is empty, adds a --quiet flag to the import command and speeds up the "
    "index rebuild by roughly a third on large repositories. Users of the "
    "old YAML format should run the migration tool once before upgrading; "
    "the old format will stop being read in 3.0.",
    "The bus from the station runs every twenty minutes until seven, then "
    "hourly. If you miss the last one, the taxi rank is on the far side of "
    "the car park, next to the closed kiosk. Expect to pay about twelve "
    "euros to the old town, more after midnight.",
    "To make the dough, rub the butter into the flour until it looks like "
    "fine breadcrumbs, stir in the sugar and a pinch of salt, then add the "
    "beaten egg a little at a time. Bring it together with your hands, wrap "
    "it and rest it in the fridge for at least half an hour before rolling.",
    "Question: my laptop fan runs constantly even when the machine is idle. "
    "I have cleaned the vents and checked the task manager, and nothing is "
    "using more than two percent of the processor. Is this a firmware "
    "problem, and is it safe to update the firmware from inside the "
    "operating system?",
    "Answer: check whether a background indexing service is waking the "
    "disk every few seconds; on some models the fan curve is tied to the "
    "drive temperature, not the processor. Updating the firmware from the "
    "vendor's own tool is generally safe as long as the charger stays "
    "connected the whole time.",
    "The council meeting on Tuesday approved the new cycle lane along the "
    "river road, despite objections from two shop owners about lost "
    "parking. Work is expected to start in the spring and to last about "
    "six weeks, with the road closed to through traffic at weekends.",
    "Our reading group met on Thursday to talk about the novels we had "
    "chosen for the winter. Opinions were divided: half of us found the "
    "long descriptive passages slow going, the other half thought them the "
    "best part. We agreed to pick something shorter for February.",
    "This tutorial shows how to parse a CSV file, filter the rows whose "
    "third column is above a threshold, and write the result as JSON. We "
    "will use only the standard library, so there is nothing to install; "
    "the full script is about forty lines long and is listed at the end.",
    "Tomatoes need at least six hours of direct sun. Water them deeply "
    "twice a week rather than a little every day, and pinch out the side "
    "shoots that grow in the angle between the main stem and the leaves, "
    "or the plant will put its energy into foliage instead of fruit.",
    "The museum reopens on the first of the month after a two-year "
    "renovation. The east wing now houses the maritime collection, and a "
    "new lift makes the upper galleries accessible. Entry remains free, but "
    "the temporary exhibitions are ticketed and can be booked online.",
    "If the build fails with an error about a missing linker, install the "
    "platform's C toolchain first. On most Linux distributions this is a "
    "single package; on macOS, installing the command line tools is "
    "enough. Then clean the build directory and try again.",
    "Match report: the home side took the lead after ten minutes with a "
    "low shot from the edge of the area, but a defensive mix-up just before "
    "half time let the visitors equalise. The second half was scrappy, and "
    "a draw was probably a fair result.",
    "Privacy notice: we collect the e-mail address you give us only to send "
    "the newsletter you asked for. We do not sell or share it, and every "
    "message has a link to unsubscribe. You can ask us at any time to "
    "delete the data we hold about you.",
    "Review: the headphones are comfortable for long sessions and the "
    "battery easily lasts a week of commuting. The noise cancelling is good "
    "on trains but struggles with wind. The companion app is cluttered, "
    "and the equaliser settings reset after every firmware update.",
    "A common mistake when learning a second language is to translate word "
    "by word. Try instead to learn whole phrases as they are used, and to "
    "listen to the rhythm of a sentence before worrying about the grammar "
    "behind it. Short daily practice beats one long session a week.",
    "The regional forecast for the weekend: cloudy with showers on "
    "Saturday, clearing from the west by Sunday afternoon. Temperatures "
    "close to the seasonal average, with a fresh breeze on the coast and "
    "the chance of a frost inland overnight.",
    "Minutes of the residents' association: the treasurer reported a small "
    "surplus for the year; the garden committee asked for volunteers for "
    "the spring planting; and the chair reminded members that the hall must "
    "be booked at least two weeks in advance.",
    "Nineteenth-century novels are often discussed as if they were all the "
    "same, but the publishing world behind them changed enormously between "
    "1810 and 1890: circulating libraries, three-volume editions, serial "
    "publication in magazines and cheap reprints each shaped what was "
    "written and how it was read.",
    "Changelog: the search box now remembers the last query; dates in the "
    "export are written in ISO 8601; the settings page no longer scrolls "
    "to the top when a checkbox is toggled; and several translations were "
    "updated by volunteers.",
]

QUOTE_LEADS = [
    "As one reviewer put it, quoting the book, \"{q}\" and that sets the "
    "tone for the rest.",
    "The line everyone remembers is \"{q}\", though few could say where it "
    "comes from.",
    "My grandmother had a sampler on the wall that read \"{q}\" in faded "
    "red thread.",
    "The essay opens with the words \"{q}\" before turning to its real "
    "subject.",
    "Somebody in the comments quoted \"{q}\" which started a long argument "
    "about translations.",
]

URL_HOSTS = ["example.com", "example.org", "example.net", "blog.example.com",
             "forum.example.org", "news.example.net", "docs.example.com",
             "wiki.example.org"]


def read_text(path):
    with open(path, "rb") as f:
        data = f.read()
    if path.endswith(".gz"):
        data = gzip.decompress(data)
    return data.decode("utf-8", "replace").replace("\r\n", "\n")


def load_books(books_dir):
    books = []
    with open(os.path.join(books_dir, "catalog.jsonl"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                books.append(json.loads(line))
    for b in books:
        with open(os.path.join(books_dir, b["path"]), "rb") as f:
            raw = f.read()
        b["raw"] = raw
        b["text"] = raw.decode("utf-8")
        b["ascii"] = raw.isascii()
        b["words"] = [m.span() for m in WORD_RE.finditer(b["text"])]
    return books


def byte_offset(book, char_pos):
    if book["ascii"]:
        return char_pos
    return len(book["text"][:char_pos].encode("utf-8"))


def paragraphs(text):
    return [p.strip("\n") for p in re.split(r"\n\s*\n", text) if p.strip()]


def strip_troff(text):
    out = []
    for line in text.split("\n"):
        if line.startswith(('.\\"', "'\\\"")):
            continue
        if line.startswith("."):
            parts = line.split(None, 1)
            line = parts[1] if len(parts) > 1 else ""
            line = line.replace('"', "")
        line = re.sub(r"\\f[BIRP]", "", line).replace("\\-", "-")
        line = line.replace("\\(em", "--").replace("\\&", "")
        out.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def plain_pool(plain_files, rng):
    """Ordinary-text chunks: (text, url) from the given files and NOTES."""
    pool = []
    for path in plain_files:
        text = read_text(path)
        base = os.path.basename(path)
        if base.endswith(".gz"):
            base = base[:-3]
        if re.search(r"\.[1-9]$", base) or "/man/" in path:
            text = strip_troff(text)
        slug = re.sub(r"[^A-Za-z0-9.-]+", "-",
                      path.split("/usr/share/", 1)[-1]).strip("-")
        url = "https://mirror.example.org/share/" + slug
        if base.startswith("changelog"):
            # one chunk per few entries
            entries = re.split(r"\n(?=\S)", text)
            entries = [e.strip() for e in entries if e.strip()]
            for i in range(0, len(entries), 3):
                pool.append(("\n\n".join(entries[i:i + 3]),
                             "%s#entries-%d" % (url, i + 1)))
            continue
        paras = paragraphs(text)
        chunk, words, part = [], 0, 1
        target = rng.randint(60, 300)
        for p in paras:
            chunk.append(p)
            words += len(p.split())
            if words >= target:
                pool.append(("\n\n".join(chunk), "%s#part-%d" % (url, part)))
                chunk, words, part = [], 0, part + 1
                target = rng.randint(60, 300)
        if chunk and (words >= 40 or part == 1):
            pool.append(("\n\n".join(chunk), "%s#part-%d" % (url, part)))
    return pool


def note_text(rng, n):
    idx = sorted(rng.sample(range(len(NOTES)), n))
    return "\n\n".join(NOTES[i] for i in idx)


def random_url(rng, kind):
    host = rng.choice(URL_HOSTS)
    section = {"paste": ["posts", "t", "articles", "p"],
               "disguised": ["posts", "t", "archive", "mail"],
               "chapter": ["read", "books", "library"],
               "quote": ["reviews", "posts", "wiki"],
               "note": ["posts", "t", "news", "help", "a"]}[kind]
    return "https://%s/%s/%d" % (host, rng.choice(section),
                                 rng.randrange(10000, 999999))


def pick_passage(rng, book, lo, hi):
    """(text, start_char, end_char, nwords) of a run of lo..hi words."""
    words = book["words"]
    n = rng.randint(lo, hi)
    # start at the beginning of a sentence where one is near
    i = rng.randrange(0, len(words) - n)
    for j in range(i, min(i + 60, len(words) - n)):
        prev = book["text"][words[j - 1][0]:words[j - 1][1]] if j else "."
        if prev.endswith((".", "!", "?", ".\"", "?\"", "!\"")):
            i = j
            break
    s, e = words[i][0], words[i + n - 1][1]
    return book["text"][s:e], s, e, n


def chapter_spans(book):
    rx = KJV_CHAPTER_RE if book["id"].startswith("kjv") else AUSTEN_CHAPTER_RE
    heads = [m.start() for m in rx.finditer(book["text"])]
    spans = []
    for k, s in enumerate(heads):
        e = heads[k + 1] if k + 1 < len(heads) else len(book["text"])
        spans.append((s, len(book["text"][:e].rstrip())))
    return spans


def disguise(rng, text):
    how = rng.choice(["rewrap", "upper", "oneline", "email-quote"])
    flat = " ".join(text.split())
    if how == "rewrap":
        width = rng.choice([50, 60, 66, 90, 100])
        return textwrap.fill(flat, width=width, break_long_words=False,
                             break_on_hyphens=False), "rewrap-%d" % width
    if how == "upper":
        return text.upper(), "upper"
    if how == "oneline":
        return flat, "oneline"
    return "\n".join("> " + line if line else ">"
                     for line in text.split("\n")), "email-quote"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--books", required=True,
                    help="directory with catalog.jsonl and the book files")
    ap.add_argument("--out", required=True, help="corpus JSONL to write")
    ap.add_argument("--truth", help="truth JSONL to write")
    ap.add_argument("--plain", nargs="*", default=[],
                    help="text files (.gz allowed) for ordinary documents")
    ap.add_argument("--docs", type=int, default=200)
    ap.add_argument("--seed", type=int, default=20240601)
    args = ap.parse_args(argv)

    rng = random.Random(args.seed)
    books = load_books(args.books)
    if not books:
        sys.exit("make_sample_corpus.py: empty catalog in %s" % args.books)
    pool = plain_pool(sorted(args.plain), rng)

    n = args.docs
    n_chapter = 3 if n >= 50 else 1
    n_quote = max(1, n // 25)
    n_paste = n // 4
    n_disguised = n // 9
    n_plain = n - n_chapter - n_quote - n_paste - n_disguised

    docs = []   # (text, url, truth-or-None)

    def context():
        """A chunk of ordinary text to put around a passage."""
        if pool and rng.random() < 0.6:
            return rng.choice(pool)[0]
        return note_text(rng, rng.randint(1, 2))

    # ordinary documents: pool chunks, plus notes-only documents
    n_notes = min(n_plain, max(n_plain - len(pool), n_plain // 4))
    chosen = rng.sample(range(len(pool)), min(len(pool), n_plain - n_notes))
    for k in sorted(chosen):
        docs.append((pool[k][0], pool[k][1], None))
    seen = set(d[0] for d in docs)
    while len(docs) < n_plain:
        text = note_text(rng, rng.randint(1, 4))
        if text in seen and len(seen) < 2 ** len(NOTES) // 2:
            continue
        seen.add(text)
        docs.append((text, random_url(rng, "note"), None))

    def truth(book, s, e, nwords, kind, how="verbatim"):
        return {"work_id": book["id"], "kind": kind, "transform": how,
                "start_byte": byte_offset(book, s),
                "end_byte": byte_offset(book, e), "words": nwords}

    for _ in range(n_paste):
        book = rng.choice(books)
        text, s, e, nw = pick_passage(rng, book, 30, 400)
        shape = rng.choice(["alone", "before", "after", "between"])
        parts = [text]
        if shape in ("after", "between"):
            parts.insert(0, context())
        if shape in ("before", "between"):
            parts.append(context())
        docs.append(("\n\n".join(parts), random_url(rng, "paste"),
                     truth(book, s, e, nw, "paste")))

    for _ in range(n_disguised):
        book = rng.choice(books)
        text, s, e, nw = pick_passage(rng, book, 30, 400)
        text, how = disguise(rng, text)
        if rng.random() < 0.5:
            text = context() + "\n\n" + text
        docs.append((text, random_url(rng, "disguised"),
                     truth(book, s, e, nw, "disguised", how)))

    # whole chapters: Austen chapters, and one long KJV chapter
    austen = [b for b in books if not b["id"].startswith("kjv")]
    kjv = [b for b in books if b["id"].startswith("kjv")]
    picks = []
    for k in range(n_chapter):
        if k == n_chapter - 1 and kjv:
            book = kjv[0]
            spans = chapter_spans(book)
            # the longest chapter (Psalm 119 in the KJV)
            span = max(spans, key=lambda se: se[1] - se[0])
        else:
            book = rng.choice(austen or books)
            spans = chapter_spans(book)
            span = rng.choice(spans) if spans else (0, len(book["text"]))
        picks.append((book, span))
    for book, (s, e) in picks:
        text = book["text"][s:e]
        docs.append((text, random_url(rng, "chapter"),
                     truth(book, s, e, len(text.split()), "chapter")))

    for _ in range(n_quote):
        book = rng.choice(books)
        text, s, e, nw = pick_passage(rng, book, 6, 15)
        # quoted as prose: one line, without the KJV's verse numbers
        q = " ".join(w for w in text.split() if not w.isdigit())
        how = "oneline" if q == " ".join(text.split()) else \
            "oneline-no-verse-numbers"
        lead = rng.choice(QUOTE_LEADS).format(q=q)
        doc = note_text(rng, 1) + "\n\n" + lead
        docs.append((doc, random_url(rng, "quote"),
                     truth(book, s, e, nw, "quote", how)))

    order = list(range(len(docs)))
    rng.shuffle(order)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    truth_rows = []
    with open(args.out, "w", encoding="utf-8", newline="\n") as out:
        for num, k in enumerate(order, 1):
            text, url, t = docs[k]
            doc_id = "sample-%04d" % num
            out.write(json.dumps({"id": doc_id, "text": text, "url": url},
                                 ensure_ascii=False) + "\n")
            if t is not None:
                truth_rows.append(dict({"doc_id": doc_id}, **t))
    if args.truth:
        with open(args.truth, "w", encoding="utf-8", newline="\n") as out:
            for row in truth_rows:
                out.write(json.dumps(row) + "\n")
    kinds = {}
    for row in truth_rows:
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    sys.stderr.write("make_sample_corpus.py: %d documents (%d ordinary, %s)\n"
                     % (len(docs), len(docs) - len(truth_rows),
                        ", ".join("%d %s" % (v, k)
                                  for k, v in sorted(kinds.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
