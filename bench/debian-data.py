#!/usr/bin/env python3
"""Builds fx's real data from Debian's package lists: descriptions labeled by section, and their French translations.

Reads the Packages and Translation index files that apt keeps (bookworm main). When the Translation files are
missing (apt here is set to fetch none), it runs `apt-get update` once with English and French enabled; that
needs root and Debian's package registry, nothing else.

  bench/debian-data.py bench          -> bench/data/descriptions.jsonl, train.jsonl, test.jsonl, parallel.en/.fr,
                                         fit.jsonl + valid.jsonl (train cut in two, for choosing settings)
  bench/debian-data.py datasets       -> bench/data/sets/NAME/{train,test,fit,valid}.jsonl for five datasets that
                                         differ in text length, language, size and number of labels (below)
  bench/debian-data.py examples       -> examples/debian-sections.tar.gz (the same 720 descriptions as
                                         descriptions.jsonl, and every sixth as descriptions.csv),
                                         examples/descriptions.en/.fr (2000 synopses),
                                         examples/corpus.jsonl.gz (10,000 descriptions of all 41 sections)

Records: {"id": package, "text": short description + long description, "label": section}. Sections with at
least 200 packages are kept. The test split is 10% of packages, chosen by a stable hash of the package name.
"""
import glob, hashlib, io, json, os, subprocess, sys, tarfile

LISTS = "/var/lib/apt/lists"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def index_file(pattern):
    hits = sorted(glob.glob(os.path.join(LISTS, pattern)))
    return hits[0] if hits else None


def ensure_lists():
    if index_file("*_debian_dists_bookworm_main_i18n_Translation-en*") and index_file("*_debian_dists_bookworm_main_i18n_Translation-fr*"):
        return
    conf = "/tmp/fx-apt-languages.conf"
    with open(conf, "w") as f:
        f.write('#clear Acquire::Languages;\nAcquire::Languages { "en"; "fr"; };\n')
    subprocess.run(["apt-get", "-c", conf, "update", "-qq"], check=True)


def stanzas(path):
    """Yields each stanza of a Debian index file as a dict; continuation lines are kept with their leading space."""
    text = subprocess.run(["/usr/lib/apt/apt-helper", "cat-file", path], check=True, capture_output=True).stdout.decode("utf-8", "replace")
    for block in text.split("\n\n"):
        fields, key = {}, None
        for line in block.split("\n"):
            if line.startswith((" ", "\t")) and key:
                fields[key] += "\n" + line
            elif ":" in line:
                key, value = line.split(":", 1)
                fields[key] = value.strip()
        if fields:
            yield fields


def long_description(value):
    """The first line is the synopsis; continuation lines drop one space, and ' .' is a blank line."""
    lines = value.split("\n")
    out = [lines[0].strip()]
    for line in lines[1:]:
        line = line[1:] if line.startswith(" ") else line
        out.append("" if line.strip() == "." else line)
    return "\n".join(out).strip()


def load(with_tags=False):
    ensure_lists()
    packages, tags = {}, {}
    for s in stanzas(index_file("*_debian_dists_bookworm_main_binary-*_Packages*")):
        section = s.get("Section", "").split("/")[-1]
        if s.get("Package") and section and s.get("Description-md5"):
            packages.setdefault(s["Package"], (section, s["Description-md5"]))
            if "Tag" in s:
                tags.setdefault(s["Package"], [t.strip() for t in s["Tag"].replace("\n", " ").split(",") if t.strip()])
    translations = {}
    for lang in ("en", "fr"):
        table = {}
        for s in stanzas(index_file(f"*_debian_dists_bookworm_main_i18n_Translation-{lang}*")):
            if f"Description-{lang}" in s:
                table[(s["Package"], s["Description-md5"])] = long_description(s[f"Description-{lang}"])
        translations[lang] = table
    return (packages, translations, tags) if with_tags else (packages, translations)


def stable_fraction(name):
    return int(hashlib.sha1(name.encode()).hexdigest()[:8], 16) / 2**32


def records(packages, english, min_size=200, label=None, text_of=lambda t: t):
    """One record per package with a description in `english` (any language table), labeled by its section or
    by label(name) (skipped when None); labels with fewer than min_size records are dropped."""
    rows = []
    for name in sorted(packages):
        section, md5 = packages[name]
        text = english.get((name, md5))
        tag = label(name) if label else section
        if text and tag:
            rows.append({"id": name, "text": text_of(text), "label": tag})
    sizes = {}
    for r in rows:
        sizes[r["label"]] = sizes.get(r["label"], 0) + 1
    return [r for r in rows if sizes[r["label"]] >= min_size]


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def parallel_lines(packages, translations):
    """Synopses (first lines) in English and French, for packages whose French matches the current English."""
    pairs = []
    for name in sorted(packages):
        _, md5 = packages[name]
        en, fr = translations["en"].get((name, md5)), translations["fr"].get((name, md5))
        if en and fr:
            a, b = en.split("\n")[0].strip(), fr.split("\n")[0].strip()
            if a and b:
                pairs.append((name, a, b))
    return pairs


def bench():
    packages, translations = load()
    out = os.path.join(ROOT, "bench", "data")
    rows = records(packages, translations["en"])
    write_splits(out, rows)
    write_jsonl(os.path.join(out, "descriptions.jsonl"), rows)
    pairs = parallel_lines(packages, translations)
    with open(os.path.join(out, "parallel.en"), "w") as en, open(os.path.join(out, "parallel.fr"), "w") as fr:
        for _, a, b in pairs:
            en.write(a + "\n")
            fr.write(b + "\n")
    labels = len({r["label"] for r in rows})
    print(f"{len(rows)} descriptions, {labels} sections, {len(pairs)} English/French synopses -> {out}", file=sys.stderr)


def write_splits(out, rows):
    """train/test by a stable hash of the package name (10% test); fit/valid cut train in two for choosing settings."""
    os.makedirs(out, exist_ok=True)
    write_jsonl(os.path.join(out, "train.jsonl"), [r for r in rows if stable_fraction(r["id"]) >= 0.1])
    write_jsonl(os.path.join(out, "test.jsonl"), [r for r in rows if stable_fraction(r["id"]) < 0.1])
    write_jsonl(os.path.join(out, "fit.jsonl"), [r for r in rows if stable_fraction(r["id"]) >= 0.2])
    write_jsonl(os.path.join(out, "valid.jsonl"), [r for r in rows if 0.1 <= stable_fraction(r["id"]) < 0.2])


def facet(tags, name):
    """The package's one value of a debtags facet (None when it has none, several, or only TODO)."""
    def label(package):
        values = [t.split("::", 1)[1] for t in tags.get(package, []) if t.startswith(name + "::")]
        return values[0] if len(values) == 1 and values[0] != "TODO" else None
    return label


def datasets():
    """Five real datasets for choosing defaults that hold beyond one of them:
    sections        long English descriptions by section (41 labels; the benchmark of bench/train.sh)
    synopses        the one-line synopses alone, by section, sections with at least 100 packages
    french          French descriptions (Translation-fr) by section, sections with at least 50 of them
    use             English descriptions by their debtags use:: value (packages with exactly one), at least 40 each
    implemented-in  English descriptions by their debtags implemented-in:: language, at least 40 each"""
    packages, translations, tags = load(with_tags=True)
    en, fr = translations["en"], translations["fr"]
    sets = {
        "sections": records(packages, en),
        "synopses": records(packages, en, min_size=100, text_of=lambda t: t.split("\n")[0].strip()),
        "french": records(packages, fr, min_size=50),
        "use": records(packages, en, min_size=40, label=facet(tags, "use")),
        "implemented-in": records(packages, en, min_size=40, label=facet(tags, "implemented-in")),
    }
    for name, rows in sets.items():
        write_splits(os.path.join(ROOT, "bench", "data", "sets", name), rows)
        words = sum(len(r["text"].split()) for r in rows) / max(len(rows), 1)
        print(f"{name}: {len(rows)} records, {len({r['label'] for r in rows})} labels, {words:.1f} words on average", file=sys.stderr)


EXAMPLE_SECTIONS = ["games", "science", "sound", "database", "mail", "editors"]
PER_SECTION = 120


def add_file(tar, name, text):
    data = text.encode("utf-8")
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1700000000
    info.uname = info.gname = "fx"
    tar.addfile(info, io.BytesIO(data))


def examples():
    packages, translations = load()
    out = os.path.join(ROOT, "examples")
    rows = records(packages, translations["en"])
    chosen = []
    for section in EXAMPLE_SECTIONS:
        members = sorted((r for r in rows if r["label"] == section), key=lambda r: hashlib.sha1(r["id"].encode()).hexdigest())
        chosen.extend(members[:PER_SECTION])
    path = os.path.join(out, "debian-sections.tar.gz")
    with open(path, "wb") as raw:
        import gzip
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w") as tar:
            for r in sorted(chosen, key=lambda r: (r["label"], r["id"])):
                add_file(tar, f"debian/{r['label']}/{r['id']}.txt", r["text"] + "\n")
    chosen.sort(key=lambda r: (r["label"], r["id"]))
    write_jsonl(os.path.join(out, "descriptions.jsonl"), chosen)
    import csv
    with open(os.path.join(out, "descriptions.csv"), "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["package", "description", "section"])
        for r in chosen[::6]:
            writer.writerow([r["id"], r["text"], r["label"]])
    corpus = sorted(rows, key=lambda r: hashlib.sha1(("corpus" + r["id"]).encode()).hexdigest())[:10000]
    corpus.sort(key=lambda r: r["id"])
    import gzip
    with gzip.open(os.path.join(out, "corpus.jsonl.gz"), "wt", encoding="utf-8", compresslevel=9) as f:
        f.mtime = 0
        for r in corpus:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    pairs = parallel_lines(packages, translations)
    pairs = sorted(pairs, key=lambda p: hashlib.sha1(p[0].encode()).hexdigest())[:2000]
    pairs.sort()
    with open(os.path.join(out, "descriptions.en"), "w") as en, open(os.path.join(out, "descriptions.fr"), "w") as fr:
        for _, a, b in pairs:
            en.write(a + "\n")
            fr.write(b + "\n")
    print(f"{len(chosen)} descriptions in {len(EXAMPLE_SECTIONS)} sections -> {path}; {len(pairs)} synopsis pairs", file=sys.stderr)


if __name__ == "__main__":
    {"bench": bench, "datasets": datasets, "examples": examples}[sys.argv[1] if len(sys.argv) > 1 else "bench"]()
