"""Locate WordNet 3.0 for nltk's METEOR, offline.

nltk reads WordNet only from folders private to their owner (no group/world write bit),
laid out as ``<nltk_data>/corpora/wordnet/`` with a ``lexnames`` file. Debian's
``wordnet-base`` + ``wordnet-sense-index`` ship the WordNet 3.0 dict files under
``/usr/share/wordnet`` but no ``lexnames``, so the first call copies them (once,
atomically) into ``<cache>/nltk_data/corpora/wordnet/`` (0700 folders), writes the
standard ``lexnames`` list and puts that ``nltk_data`` on ``nltk.data.path``. A WordNet
nltk already finds (``nltk.download("wordnet")``) is used as it is. Never downloads.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import warnings
from functools import cache
from pathlib import Path
from typing import Any

from eval_harness.settings import cache_dir

# The files nltk's WordNetCorpusReader (and METEOR's synonym stage) open. Debian's
# packages also ship the verb frames/sentences and sense counts; those are copied too.
REQUIRED_FILES: tuple[str, ...] = (
    *(f"{kind}.{pos}" for kind in ("index", "data") for pos in ("noun", "verb", "adj", "adv")),
    *(f"{pos}.exc" for pos in ("noun", "verb", "adj", "adv")),
    "index.sense",
)
OPTIONAL_FILES: tuple[str, ...] = (
    "cntlist", "cntlist.rev", "frames.vrb", "sentidx.vrb", "sents.vrb", "verb.Framestext",
)

# The standard WordNet 3.0 lexicographer file list (lexnames(5WN)):
# number, name, syntactic category (1 noun, 2 verb, 3 adjective, 4 adverb).
LEXNAMES: tuple[tuple[str, int], ...] = (
    ("adj.all", 3), ("adj.pert", 3), ("adv.all", 4),
    ("noun.Tops", 1), ("noun.act", 1), ("noun.animal", 1), ("noun.artifact", 1),
    ("noun.attribute", 1), ("noun.body", 1), ("noun.cognition", 1),
    ("noun.communication", 1), ("noun.event", 1), ("noun.feeling", 1), ("noun.food", 1),
    ("noun.group", 1), ("noun.location", 1), ("noun.motive", 1), ("noun.object", 1),
    ("noun.person", 1), ("noun.phenomenon", 1), ("noun.plant", 1), ("noun.possession", 1),
    ("noun.process", 1), ("noun.quantity", 1), ("noun.relation", 1), ("noun.shape", 1),
    ("noun.state", 1), ("noun.substance", 1), ("noun.time", 1),
    ("verb.body", 2), ("verb.change", 2), ("verb.cognition", 2), ("verb.communication", 2),
    ("verb.competition", 2), ("verb.consumption", 2), ("verb.contact", 2),
    ("verb.creation", 2), ("verb.emotion", 2), ("verb.motion", 2), ("verb.perception", 2),
    ("verb.possession", 2), ("verb.social", 2), ("verb.stative", 2), ("verb.weather", 2),
    ("adj.ppl", 3),
)

# Where WordNet's own dict files live on common systems (Debian/Ubuntu first).
SYSTEM_DIRS: tuple[str, ...] = (
    "/usr/share/wordnet",
    "/usr/local/WordNet-3.0/dict",
    "/usr/local/share/wordnet",
    "/opt/homebrew/share/wordnet",
)

_lock = threading.Lock()
_ready: Path | None = None  # memo of a successful ensure_nltk_wordnet()


def lexnames_text() -> str:
    """The ``lexnames`` file: 45 lines ``NN<TAB>name<TAB>category``."""
    return "".join(f"{i:02d}\t{name}\t{cat}\n" for i, (name, cat) in enumerate(LEXNAMES))


def cache_root() -> Path:
    """``$CODEBENCH_CACHE`` or ``~/.cache/codebench`` (``eval_harness.settings``)."""
    return cache_dir()


@cache
def wordnet_reader() -> Any:
    """nltk's WordNet 3.0 reader, loaded once per process, minus one wasted step.

    nltk's reader maps the loaded WordNet onto the "wordnet" corpus (3.0) for its
    multilingual OMW data on every load, reading index.sense twice (about half the load
    time) even when the loaded WordNet is 3.0 itself. METEOR reads English lemma names
    only and never consults that map, so for 3.0 it is skipped; the synsets and lemma
    names are nltk's own (METEOR equals nltk's on the published reports, tested).
    """
    import nltk
    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    if not ensure_nltk_wordnet():
        raise LookupError("WordNet is not installed: install Debian's wordnet-base and "
                          "wordnet-sense-index (make system-deps)")

    class WordNet30(WordNetCorpusReader):
        def map_wn(self, version: str = "wordnet") -> Any:
            return None if self.get_version() == "3.0" else super().map_wn(version)

    with warnings.catch_warnings():  # "multilingual functions are not available"
        warnings.simplefilter("ignore")
        return WordNet30(nltk.data.find("corpora/wordnet"), None)


def private_nltk_data() -> Path:
    return cache_root() / "nltk_data"


def _has_dict_files(folder: Path) -> bool:
    return all((folder / name).is_file() and (folder / name).stat().st_size > 0
               for name in REQUIRED_FILES)


def system_wordnet_dir() -> Path | None:
    """A folder with the WordNet 3.0 dict files (``$WNSEARCHDIR``, ``$WNHOME/dict`` or a
    system location such as Debian's /usr/share/wordnet), or None."""
    candidates = [os.environ.get("WNSEARCHDIR", "")]
    if os.environ.get("WNHOME"):
        candidates.append(os.path.join(os.environ["WNHOME"], "dict"))
    candidates += SYSTEM_DIRS
    for cand in candidates:
        if cand and _has_dict_files(Path(cand)):
            return Path(cand)
    return None


def nltk_wordnet_dir() -> Path | None:
    """The WordNet nltk itself finds on ``nltk.data.path`` (a folder or a zip), or None."""
    import nltk.data

    with warnings.catch_warnings():
        # nltk warns about refused (group-writable) data roots; not ours to report here.
        warnings.simplefilter("ignore", RuntimeWarning)
        for resource in ("corpora/wordnet", "corpora/wordnet.zip/wordnet/"):
            try:
                return Path(str(nltk.data.find(resource)))
            except (LookupError, OSError, ValueError):
                continue
    return None


def find_wordnet() -> Path | None:
    """Where WordNet 3.0 would come from: the copy nltk already finds (a prepared private
    copy included), else the system dict folder; None when there is none."""
    return nltk_wordnet_dir() or system_wordnet_dir()


def _private_dir(path: Path) -> None:
    """Create ``path`` (and parents) and make it 0700: nltk refuses group/world-writable
    data roots and every folder between the root and the corpus."""
    path.mkdir(parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)


def _prepared_copy(nltk_data: Path) -> Path | None:
    target = nltk_data / "corpora" / "wordnet"
    return target if _has_dict_files(target) and (target / "lexnames").is_file() else None


def prepare_private_copy(source: Path, nltk_data: Path | None = None) -> Path:
    """Copy the dict files from ``source`` into ``<nltk_data>/corpora/wordnet`` (built in a
    temporary sibling, then renamed, so a concurrent process sees all or nothing)."""
    nltk_data = nltk_data or private_nltk_data()
    corpora = nltk_data / "corpora"
    # Only nltk_data and below must be private (nltk does not judge the ancestors),
    # so a shared cache root keeps its own mode.
    for folder in (nltk_data, corpora):
        _private_dir(folder)
    done = _prepared_copy(nltk_data)
    if done is not None:
        return done
    target = corpora / "wordnet"
    tmp = Path(tempfile.mkdtemp(prefix=".wordnet-", dir=corpora))  # mkdtemp is 0700
    try:
        for name in (*REQUIRED_FILES, *OPTIONAL_FILES):
            if (source / name).is_file():
                shutil.copyfile(source / name, tmp / name)
                (tmp / name).chmod(0o600)
        (tmp / "lexnames").write_text(lexnames_text(), encoding="ascii")
        (tmp / "lexnames").chmod(0o600)
        if target.exists() and _prepared_copy(nltk_data) is None:
            shutil.rmtree(target)  # an incomplete copy from an older layout
        try:
            os.rename(tmp, target)
        except OSError:
            if _prepared_copy(nltk_data) is None:  # not a concurrent winner: a real error
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _on_nltk_path(nltk_data: Path) -> None:
    import nltk.data

    if str(nltk_data) not in nltk.data.path:
        nltk.data.path.insert(0, str(nltk_data))


def _still_there(found: Path) -> bool:
    """``found`` (a folder, or a folder inside ``wordnet.zip``) still exists."""
    return any(path.exists() for path in (found, *found.parents)
               if path == found or path.suffix == ".zip")


def ensure_nltk_wordnet() -> bool:
    """Make ``nltk.corpus.wordnet`` loadable offline; True when it is. Cheap on repeats."""
    global _ready
    with _lock:
        if _ready is not None and _still_there(_ready):
            return True
        nltk_data = private_nltk_data()
        found = _prepared_copy(nltk_data)
        if found is not None:
            _on_nltk_path(nltk_data)
        found = nltk_wordnet_dir()
        if found is None:
            source = system_wordnet_dir()
            if source is None:
                return False
            try:
                prepare_private_copy(source, nltk_data)
            except OSError as exc:
                warnings.warn(f"could not prepare WordNet under {nltk_data}: {exc}",
                              RuntimeWarning, stacklevel=2)
                return False
            _on_nltk_path(nltk_data)
            found = nltk_wordnet_dir()
        _ready = found
        return found is not None


def wordnet_source() -> str:
    """A short label for signatures: where the WordNet METEOR used came from."""
    where = _ready or nltk_wordnet_dir()
    if where is None:
        return "none"
    return "private-copy" if private_nltk_data() in where.parents else "nltk_data"


def reset() -> None:
    """Forget the memo (tests that hide or move WordNet)."""
    global _ready
    with _lock:
        _ready = None
