"""The label-space audit (`ingest labels audit`): every wnid of a label set looked up in
WordNet 3.0 (the version ImageNet was built on), as the papers audit labels as well as pixels:
the 2019 paper sizes ImageNet's ``person`` subtree (2,833 synsets), the 2020 paper counts the
offensive nouns of Tiny Images' label space.

WordNet comes from Debian's ``wordnet-base`` (``/usr/share/wordnet``, the WordNet 3.0 database
files; `make` installs it) and is read through nltk's ``WordNetCorpusReader``. The package
lacks the ``lexnames`` file nltk needs; it is WordNet 3.0's fixed table of lexicographer files
(lexnames(5WN)), written here beside copies of the package's files in a scratch folder.

Label sets: ``ilsvrc1k`` (the packaged ILSVRC-2012 class list) and ``imagenet21k`` (the
21,843 wnids of ImageNet-21k as ordered by Google's release; ``ingest/data/
imagenet21k_goog_synsets.txt``, taken from the ``timm`` wheel, Apache-2.0), or any file of
wnids. Rows land in ``raw.label_synsets`` (one per label set and wnid, replaced on rerun);
the dbt mart ``label_audit`` adds the census' images and faces per wnid.

A built-in name always means the built-in set, even beside a file of that name; any other
argument is a file, whose label set is named after its stem. A file whose stem is a built-in
name (``ilsvrc1k.txt``, ``./imagenet21k``) is refused: its rows would replace the built-in
set's. A file is UTF-8 text (a byte order mark is allowed); any other encoding is refused with
the line of its first undecodable byte, since wnids are plain ASCII and a guessed encoding
would only turn the odd bytes into wnids WordNet lacks.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..core.config import wordnet_dir
from ..core.errors import CensusError
from ..warehouse.db import transaction

WORDNET_DIR = wordnet_dir()
LABEL_SETS = ("ilsvrc1k", "imagenet21k")
#: WordNet's usage-domain synsets (";u" pointers) the audit flags, by column name
FLAGS = {
    "ethnic_slur": "ethnic_slur.n.01",
    "obscenity": "obscenity.n.02",
    "disparagement": "disparagement.n.01",
    "vulgarism": "vulgarism.n.01",
    "slang": "slang.n.02",
    "colloquialism": "colloquialism.n.01",
}
# lexnames(5WN): number, name, syntactic category (1 noun, 2 verb, 3 adj, 4 adv) of WordNet 3.0
_LEXNAMES = (
    "adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact", "noun.attribute",
    "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling", "noun.food", "noun.group",
    "noun.location", "noun.motive", "noun.object", "noun.person", "noun.phenomenon", "noun.plant", "noun.possession",
    "noun.process", "noun.quantity", "noun.relation", "noun.shape", "noun.state", "noun.substance", "noun.time",
    "verb.body", "verb.change", "verb.cognition", "verb.communication", "verb.competition", "verb.consumption",
    "verb.contact", "verb.creation", "verb.emotion", "verb.motion", "verb.perception", "verb.possession",
    "verb.social", "verb.stative", "verb.weather", "adj.ppl",
)
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
_FILES = ("data.noun", "data.verb", "data.adj", "data.adv", "index.noun", "index.verb", "index.adj", "index.adv",
          "noun.exc", "verb.exc", "adj.exc", "adv.exc", "cntlist.rev")


def wordnet(folder: Path = WORDNET_DIR):
    """nltk's reader on WordNet 3.0 from ``folder`` (Debian's wordnet-base), offline."""
    if not (folder / "data.noun").is_file():
        raise CensusError(f"WordNet 3.0 is not at {folder}: install Debian's wordnet-base "
                          "(`make wordnet`, or apt-get install wordnet-base), or set CENSUS_WORDNET.")
    try:
        import nltk
        from nltk.corpus.reader.wordnet import WordNetCorpusReader
    except ImportError:
        raise CensusError("The label audit reads WordNet through nltk: pip install nltk.") from None

    class _Reader(WordNetCorpusReader):
        def map_wn(self, version: str = "wordnet"):
            return None  # no mapping to nltk's own WordNet data (Open Multilingual WordNet): 3.0 is read as is

    shadow = Path(tempfile.gettempdir()) / f"census-wordnet-{os.getuid()}"
    shadow.mkdir(exist_ok=True)
    for name in _FILES:  # copied, not linked: nltk refuses a file whose real path leaves its root
        copy, source = shadow / name, folder / name
        if copy.is_symlink():
            copy.unlink()
        if source.is_file() and (not copy.is_file() or copy.stat().st_size != source.stat().st_size):
            shutil.copyfile(source, copy)
    lexnames = "".join(f"{i:02d}\t{n}\t{_CATEGORY[n.split('.')[0]]}\n" for i, n in enumerate(_LEXNAMES))
    if not (shadow / "lexnames").is_file() or (shadow / "lexnames").read_text() != lexnames:
        (shadow / "lexnames").write_text(lexnames)
    if str(shadow) not in nltk.data.path:
        nltk.data.path.append(str(shadow))  # nltk reads only folders on its data path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "multilingual functions are not available": not used
        return _Reader(str(shadow), None)


def label_set(name: str) -> list[str]:
    """The wnids of a named label set, or of a file of wnids (one per line)."""
    return resolve(name)[1]


def resolve(name: str) -> tuple[str, list[str]]:
    """The label set's name in raw.label_synsets and its wnids, in order, each once."""
    if name == "ilsvrc1k":
        from ..core.classes import imagenet_wnids

        return name, list(imagenet_wnids())
    if name == "imagenet21k":
        return name, _wnids(resources.files("ingest.data").joinpath("imagenet21k_goog_synsets.txt").read_text())
    path = Path(name)
    if not path.is_file():
        raise CensusError(f"Unknown label set {name!r}: use one of {', '.join(LABEL_SETS)} or a file of wnids.")
    if path.stem.lower() in LABEL_SETS:
        raise CensusError(f"The file {name} would be audited as the label set {path.stem!r} and replace the rows of "
                          f"the built-in label set {path.stem.lower()} in raw.label_synsets; rename the file "
                          f"(e.g. my-{path.name}). Nothing was audited.")
    wnids = _wnids(_read_text(path))
    if not wnids:
        raise CensusError(f"The file {name} has no wnids (one per line, e.g. n02123045); nothing was audited.")
    return path.stem, wnids


def _read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CensusError(f"Cannot read the file {path} ({error.strerror}); nothing was audited.") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise CensusError(f"The file {path} is not UTF-8 text: line {line} holds the byte "
                          f"0x{data[error.start]:02X}. Save it as UTF-8 (wnids such as n02123045 are plain ASCII); "
                          "nothing was audited.") from None


def _wnids(text: str) -> list[str]:
    return list(dict.fromkeys(text.split()))


@dataclass(frozen=True, slots=True)
class SynsetRow:
    label_set: str
    wnid: str
    in_wordnet: bool
    synset: str | None
    lemmas: str | None
    lexname: str | None
    depth: int | None
    is_person: bool
    usage_domains: str | None
    ethnic_slur: bool
    obscenity: bool
    disparagement: bool
    vulgarism: bool
    slang: bool
    colloquialism: bool


def audit(name: str, wn=None) -> list[SynsetRow]:
    """One row per wnid of the label set: WordNet's view of it."""
    set_name, wnids = resolve(name)  # a bad name or file is told before WordNet is needed
    wn = wn or wordnet()
    person = wn.synset("person.n.01")
    flags = {key: wn.synset(value) for key, value in FLAGS.items()}
    rows = []
    for wnid in wnids:
        synset = None
        if len(wnid) == 9 and wnid[0] == "n" and wnid[1:].isdigit():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # nltk warns, then returns None, for an unknown offset
                    synset = wn.synset_from_pos_and_offset("n", int(wnid[1:]))
            except Exception:  # noqa: BLE001 - nltk raises WordNetError or others for an unknown offset
                synset = None
        if synset is None:
            rows.append(SynsetRow(set_name, wnid, False, None, None, None, None, False, None,
                                  *([False] * len(FLAGS))))
            continue
        ancestors = set(synset.closure(lambda s: s.hypernyms() + s.instance_hypernyms()))
        domains = synset.usage_domains()
        rows.append(SynsetRow(
            set_name, wnid, True, synset.name(), ", ".join(synset.lemma_names()), synset.lexname(),
            synset.min_depth(), synset == person or person in ancestors,
            ", ".join(d.name() for d in domains) or None,
            *(flags[key] in domains for key in FLAGS)))
    return rows


def land(db: Path | None, rows: list[SynsetRow]) -> int:
    """Open the warehouse (default $CENSUS_DB), create its schema if new, and write the rows."""
    from ..warehouse.db import connect, init_schema

    con = connect(db)
    try:
        init_schema(con)
        return write(con, rows)
    finally:
        con.close()


def write(con, rows: list[SynsetRow]) -> int:
    """Replace the label set's rows in raw.label_synsets, in one transaction."""
    from dataclasses import asdict

    import pyarrow as pa

    table = pa.Table.from_pylist([asdict(r) for r in rows])
    with transaction(con):
        for set_name in {r.label_set for r in rows}:
            con.execute("delete from raw.label_synsets where label_set = ?", [set_name])
        con.register("_label_rows", table)
        columns = ", ".join(table.column_names)
        con.execute(f"insert into raw.label_synsets ({columns}) select {columns} from _label_rows")
        con.unregister("_label_rows")
    return len(rows)
