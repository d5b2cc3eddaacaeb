"""A corpus of hostile and broken submissions, as data.

Each ``HostileCase`` is something a submitter (careless or malicious) can send: a
predictions file for the ``synthetic-demo`` board, submission metadata, a model spec, or
uploaded images for the demo. ``expect`` is a fragment of the plain-language reason the
product must give, and ``where`` a fragment naming the place (file and line, field or
uploaded file) where one applies. Large payloads are built only when a test asks for
them (``build``), so importing this module is cheap.

Payloads:

- ``predictions``: bytes, or a function of the board's test ids returning bytes;
- ``metadata``: a dict of submission metadata (what the submit form sends);
- ``model``: a model spec as the JSON the form's text box parses to;
- ``image``: a function returning the uploads, a list of ``(file name, bytes)``.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import struct
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from typing import Any

from tests.leaderboard.test_submissions import META, lines

KINDS = ("predictions", "metadata", "model", "image")
FILE_NAME = "p.jsonl"  # the name a predictions file is submitted under in the tests

# The operator's endpoint (CODEBENCH_OPENAI_BASE_URL unset: api.openai.com), which a
# submission may always name; any other host must be on CODEBENCH_ALLOWED_ENDPOINTS.
GOOD_SPEC = {"backend": "openai", "model_args": {"base_url": "https://api.openai.com/v1",
                                                 "model": "m"}}


@dataclass(frozen=True)
class HostileCase:
    name: str
    kind: str
    payload: Any
    expect: str
    where: str | None = None

    def build(self, ids: list[str]) -> Any:
        """The payload itself (large ones are made here, not at import)."""
        if not callable(self.payload):
            return self.payload
        return self.payload(ids) if self.kind == "predictions" else self.payload()


# --- predictions -------------------------------------------------------------------------

def _objects(objects: list[Any]) -> bytes:
    return "".join(json.dumps(o) + "\n" for o in objects).encode()


def _zip(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return out.getvalue()


def _zip_bomb(_ids: list[str]) -> bytes:
    """A few hundred KB of zip that unpacks to 256 MB of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive, \
            archive.open("predictions.jsonl", "w", force_zip64=True) as member:
        chunk = bytes(2**20)
        for _ in range(256):
            member.write(chunk)
    return out.getvalue()


def _tar(ids: list[str]) -> bytes:
    data, out = lines(ids), io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        info = tarfile.TarInfo("predictions.jsonl")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _million_ids(_ids: list[str]) -> bytes:
    """Two million distinct ids on short lines: 30 MB, under the size limit."""
    return "".join(f'{{"id":"{i:07d}"}}\n' for i in range(2_000_000)).encode()


def _text(ids: list[str], encoding: str, bom: bytes = b"") -> bytes:
    return bom + lines(ids).decode().encode(encoding)


def _png_bytes(size: tuple[int, int] = (8, 8), mode: str = "RGB") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new(mode, size, 90 if mode != "RGB" else (200, 90, 90)).save(out, "PNG")
    return out.getvalue()


def _each_line_bad(_ids: list[str]) -> bytes:
    return _objects([{"id": f"x{i}", "task": "code_xray", "prediction": "a"}
                     for i in range(50_000)])


P = "predictions"
PREDICTIONS = [
    # Malformed JSON: each names the line.
    HostileCase("truncated last line", P, lambda ids: lines(ids[:2]) + b'{"id": "x", "task":'
                b' "code_cls", "predic', "not JSON", f"{FILE_NAME}, line 3"),
    HostileCase("trailing comma", P, lambda ids: lines(ids[:1]) + b'{"id": "a", "task": '
                b'"code_cls", "prediction": "x",}\n', "not JSON", f"{FILE_NAME}, line 2"),
    HostileCase("top-level array on one line", P,
                lambda ids: json.dumps(json.loads(b"[" + b",".join(lines(ids).split(b"\n")[:-1])
                                                  + b"]")).encode() + b"\n",
                "line is not a JSON object", f"{FILE_NAME}, line 1"),
    HostileCase("pretty-printed array", P,
                lambda ids: json.dumps([{"id": i, "task": "code_cls", "prediction": "x"}
                                        for i in ids], indent=2).encode(),
                "not JSON", f"{FILE_NAME}, line 1"),
    HostileCase("line is a number", P, b"42\n", "line is not a JSON object",
                f"{FILE_NAME}, line 1"),
    HostileCase("line is a bare string", P, lambda ids: lines(ids[:1]) + b'"Pulpitis"\n',
                "line is not a JSON object", f"{FILE_NAME}, line 2"),
    HostileCase("line is null", P, b"null\n", "line is not a JSON object",
                f"{FILE_NAME}, line 1"),
    # json.loads raises RecursionError (not a ValueError) on deep nesting.
    HostileCase("nested 100000 deep", P, b"[" * 100_000 + b"\n", "nested too deeply",
                f"{FILE_NAME}, line 1"),
    # Encodings.
    HostileCase("Latin-1 text", P, lambda ids: lines(ids[:1]) + json.dumps(
        {"id": ids[1], "task": "code_cls", "prediction": "Cari\u00e9"},
        ensure_ascii=False).encode("latin-1") + b"\n", "not UTF-8 text", f"{FILE_NAME}, line 2"),
    HostileCase("UTF-16 LE with BOM", P, lambda ids: _text(ids, "utf-16-le", b"\xff\xfe"),
                "saved as UTF-16; save it as UTF-8", FILE_NAME),
    HostileCase("UTF-16 BE with BOM", P, lambda ids: _text(ids, "utf-16-be", b"\xfe\xff"),
                "saved as UTF-16; save it as UTF-8", FILE_NAME),
    HostileCase("UTF-16 LE without BOM", P, lambda ids: _text(ids, "utf-16-le"),
                "saved as UTF-16; save it as UTF-8", FILE_NAME),
    HostileCase("UTF-32 LE with BOM", P, lambda ids: _text(ids, "utf-32-le",
                                                           b"\xff\xfe\x00\x00"),
                "saved as UTF-32; save it as UTF-8", FILE_NAME),
    HostileCase("UTF-32 BE with BOM", P, lambda ids: _text(ids, "utf-32-be",
                                                           b"\x00\x00\xfe\xff"),
                "saved as UTF-32; save it as UTF-8", FILE_NAME),
    HostileCase("UTF-8 with BOM", P, lambda ids: b"\xef\xbb\xbf" + lines(ids),
                "byte-order mark; save it as UTF-8 without BOM", FILE_NAME),
    HostileCase("NUL bytes", P, lambda ids: lines(ids[:2]) + b"\x00\x00\n",
                "contains a NUL byte", f"{FILE_NAME}, line 3"),
    # Size: refused from the byte count, before any parsing.
    HostileCase("100 MB single line", P, lambda ids: b'{"id": "' + b"x" * 100_000_000 + b'"}',
                "100,000,010 bytes, over the limit of 52,428,800", FILE_NAME),
    HostileCase("1 MB single line", P, lambda ids: lines(ids[:1], text="x" * 2**20),
                "over the line limit of 262,144", f"{FILE_NAME}, line 1"),
    HostileCase("two million ids", P, _million_ids,
                "2,000,000 lines, over the limit of 100,000", FILE_NAME),
    # Ids.
    HostileCase("ids with path separators", P,
                lambda ids: lines([*ids, "../../etc/passwd", "a/b", "C:\\x"]),
                "3 id(s) not on this board: ../../etc/passwd, C:\\x, a/b",
                f"{FILE_NAME}: code_cls"),
    HostileCase("absolute path id", P, lambda ids: lines([*ids[1:], "/etc/passwd"]),
                "1 id(s) not on this board: /etc/passwd", f"{FILE_NAME}: code_cls"),
    HostileCase("200 KB id", P, lambda ids: lines([*ids, "x" * 200_000]),
                "1 id(s) not on this board: 'xxxx", f"{FILE_NAME}: code_cls"),
    HostileCase("bidi override in an id", P, lambda ids: lines([*ids, "ok\u202egnp.exe"]),
                "1 id(s) not on this board: 'ok\\u202egnp.exe'", f"{FILE_NAME}: code_cls"),
    HostileCase("duplicate ids", P, lambda ids: lines(ids[:1]) + lines(ids),
                "duplicate prediction for code_cls (first on line 1)", f"{FILE_NAME}, line 2"),
    HostileCase("missing ids", P, lambda ids: lines(ids[3:]), "3 of the board's",
                f"{FILE_NAME}: code_cls"),
    HostileCase("id missing", P, lambda ids: lines(ids) + b'{"task": "code_cls", '
                b'"prediction": "x"}\n', "missing or non-string 'id'", FILE_NAME),
    HostileCase("id a number", P, b'{"id": 7, "task": "code_cls", "prediction": "x"}\n',
                "missing or non-string 'id'", f"{FILE_NAME}, line 1"),
    # Tasks and types.
    HostileCase("unknown task", P, lambda ids: lines(ids, task="code_xray"),
                "unknown task 'code_xray'", f"{FILE_NAME}, line 1"),
    HostileCase("task a number", P, lambda ids: lines(ids, task=5), "unknown task 5",
                f"{FILE_NAME}, line 1"),
    HostileCase("prediction a number", P, lambda ids: lines(ids, text=7),
                "'prediction' must be a string", f"{FILE_NAME}, line 1"),
    HostileCase("prediction a list", P, lambda ids: lines(ids, text=["Pulpitis"]),
                "'prediction' must be a string", f"{FILE_NAME}, line 1"),
    HostileCase("prediction null", P, lambda ids: lines(ids, text=None),
                "'prediction' is missing", f"{FILE_NAME}, line 1"),
    HostileCase("failed not a bool", P, lambda ids: _objects(
        [{"id": i, "task": "code_cls", "prediction": "x", "failed": "yes"} for i in ids]),
                "'failed' must be true or false, not 'yes'", f"{FILE_NAME}, line 1"),
    HostileCase("scores NaN", P, lambda ids: lines(ids[:1]).replace(
        b"}", b', "scores": {"Pulpitis": NaN}}'), "'scores' must map class names",
                f"{FILE_NAME}, line 1"),
    HostileCase("fifty thousand bad lines", P, _each_line_bad,
                "... and 49,980 more problem(s)", f"{FILE_NAME}, line 1"),
    HostileCase("empty file", P, b"", "the file is empty", FILE_NAME),
    HostileCase("whitespace only", P, b" \n\t\r\n   \n", "the file is empty", FILE_NAME),
    # Archives and other files: named, never unpacked.
    HostileCase("zip of a valid file", P, lambda ids: _zip("p.jsonl", lines(ids)),
                "is a zip archive; archives are not accepted, upload the .jsonl file itself",
                FILE_NAME),
    HostileCase("gzip of a valid file", P, lambda ids: gzip.compress(lines(ids)),
                "is a gzip archive; archives are not accepted", FILE_NAME),
    HostileCase("bzip2 of a valid file", P, lambda ids: bz2.compress(lines(ids)),
                "is a bzip2 archive; archives are not accepted", FILE_NAME),
    HostileCase("xz of a valid file", P, lambda ids: lzma.compress(lines(ids)),
                "is an xz archive; archives are not accepted", FILE_NAME),
    HostileCase("tar of a valid file", P, _tar, "is a tar archive; archives are not accepted",
                FILE_NAME),
    HostileCase("zip bomb", P, _zip_bomb, "is a zip archive; archives are not accepted",
                FILE_NAME),
    HostileCase("a PNG as predictions", P, lambda ids: _png_bytes(),
                "is a PNG image, not a predictions file", FILE_NAME),
]

# --- metadata ----------------------------------------------------------------------------


def meta(**changes: Any) -> dict[str, Any]:
    return {**META, **changes}


M = "metadata"
_FORMULA = "which a spreadsheet runs as a formula"
_MARKUP = "contains markup"
_CONTROL = "contains control or invisible formatting characters"
_NOT_LINK = "is not an http(s) address"
_NOT_PARAMS = "is not a positive number of billions"
METADATA = [
    HostileCase("formula cmd in model_name", M, meta(model_name="=cmd|' /C calc'!A0"),
                f"starts with '=', {_FORMULA}", "model_name:"),
    HostileCase("formula plus in submitter", M, meta(submitter="+1+1"),
                f"starts with '+', {_FORMULA}", "submitter:"),
    HostileCase("formula at in model_name", M, meta(model_name="@SUM(1)"),
                f"starts with '@', {_FORMULA}", "model_name:"),
    HostileCase("formula minus in submitter", M, meta(submitter="-2+3"),
                f"starts with '-', {_FORMULA}", "submitter:"),
    HostileCase("formula after a tab in base_model", M,
                meta(base_model="\t=HYPERLINK(\"http://x\")"), _FORMULA, "base_model:"),
    HostileCase("script tag in model_name", M, meta(model_name="<script>alert(1)</script>"),
                _MARKUP, "model_name:"),
    HostileCase("img onerror in submitter", M, meta(submitter="<img src=x onerror=alert(1)>"),
                _MARKUP, "submitter:"),
    HostileCase("entity in model_name", M, meta(model_name="&#60;script&#62;"), _MARKUP,
                "model_name:"),
    HostileCase("markdown javascript link in model_name", M,
                meta(model_name="[x](javascript:alert(1))"), "markdown link syntax",
                "model_name:"),
    HostileCase("markdown image in submitter", M,
                meta(submitter="![t](https://evil.example/t.png)"), "markdown link syntax",
                "submitter:"),
    HostileCase("javascript link", M, meta(link="javascript:alert(1)"), _NOT_LINK, "link:"),
    HostileCase("data link", M, meta(link="data:text/html;base64,PHNjcmlwdD4="), _NOT_LINK,
                "link:"),
    HostileCase("file link", M, meta(link="file:///etc/passwd"), _NOT_LINK, "link:"),
    HostileCase("link without a host", M, meta(link="https://"), _NOT_LINK, "link:"),
    HostileCase("link with a bad port", M, meta(link="https://example.org:99999/"), _NOT_LINK,
                "link:"),
    HostileCase("link breaking out of an attribute", M,
                meta(link='https://example.org/" onmouseover="alert(1)'),
                "contains spaces, quotes, angle brackets", "link:"),
    HostileCase("link with credentials", M, meta(link="https://user:secret@example.org/"),
                "contains a user name or password", "link:"),
    HostileCase("over-long link", M, meta(link="https://example.org/" + "a" * 600),
                "620 characters, at most 500", "link:"),
    HostileCase("link a number", M, meta(link=42), "must be text, not int", "link:"),
    HostileCase("over-long model_name", M, meta(model_name="m" * 201),
                "201 characters, at most 200", "model_name:"),
    HostileCase("10000-character submitter", M, meta(submitter="s" * 10_000),
                "10000 characters, at most 200", "submitter:"),
    HostileCase("bidi override in model_name", M, meta(model_name="safe\u202egnp.exe"),
                _CONTROL, "model_name:"),
    HostileCase("terminal escape in submitter", M, meta(submitter="bob\x1b[31mred"), _CONTROL,
                "submitter:"),
    HostileCase("zero-width space in model_name", M, meta(model_name="tiny\u200bdemo"),
                _CONTROL, "model_name:"),
    HostileCase("line separator in model_name", M, meta(model_name="tiny\u2028demo"),
                _CONTROL, "model_name:"),
    # A lone surrogate is a Python str no database can store: it must not reach the row.
    HostileCase("lone surrogate in model_name", M, meta(model_name="tiny\ud800demo"),
                _CONTROL, "model_name:"),
    HostileCase("NUL in submitter", M, meta(submitter="bo\x00b"), _CONTROL, "submitter:"),
    HostileCase("model_name a number", M, meta(model_name=42), "must be text, not int",
                "model_name:"),
    HostileCase("model_name missing", M, {k: v for k, v in META.items() if k != "model_name"},
                "model_name: required", "model_name:"),
    HostileCase("submitter blank", M, meta(submitter="   "), "submitter: required",
                "submitter:"),
    HostileCase("params negative", M, meta(params_billion=-3), _NOT_PARAMS, "params_billion:"),
    HostileCase("params huge", M, meta(params_billion=1e12), _NOT_PARAMS, "params_billion:"),
    HostileCase("params a bool", M, meta(params_billion=True), _NOT_PARAMS, "params_billion:"),
    HostileCase("params a string", M, meta(params_billion="7"), _NOT_PARAMS,
                "params_billion:"),
    HostileCase("params NaN", M, meta(params_billion=float("nan")), _NOT_PARAMS,
                "params_billion:"),
    HostileCase("open_weights a string", M, meta(open_weights="yes"),
                "must be true or false", "open_weights:"),
    HostileCase("open_weights a number", M, meta(open_weights=1), "must be true or false",
                "open_weights:"),
    HostileCase("unknown setting", M, meta(setting="vibes"), "'vibes' is not one of",
                "setting:"),
    HostileCase("metadata a list", M, ["model_name", "x"], "must be an object of fields",
                "metadata:"),
]

# --- model specs -------------------------------------------------------------------------

S = "model"
MODELS = [
    HostileCase("spec a list", S, [GOOD_SPEC], "a model spec is a JSON object", "model:"),
    HostileCase("spec a string", S, "hf", "a model spec is a JSON object", "model:"),
    HostileCase("unknown backend", S, {**GOOD_SPEC, "backend": "pickle"},
                "backend 'pickle' is not one of hf, openai", "model:"),
    HostileCase("trust_remote_code", S, {"backend": "hf", "model_args": {
        "checkpoint": "tiny-demo", "trust_remote_code": "true"}},
                "trust_remote_code is refused", "model:"),
    HostileCase("a secret in the spec", S, {"backend": "openai", "model_args": {
        **GOOD_SPEC["model_args"], "api_key": "sk-live-0000"}},
                "secrets are never part of a submission", "model:"),
    HostileCase("file base_url", S, {"backend": "openai", "model_args": {
        "base_url": "file:///etc/passwd", "model": "m"}},
                "needs base_url=http(s)", "model:"),
    HostileCase("unknown model_args", S, {"backend": "openai", "model_args": {
        **GOOD_SPEC["model_args"], "exec": "rm -rf /"}},
                "unknown model_args for openai: exec", "model:"),
    HostileCase("nested model_args", S, {"backend": "openai", "model_args": {
        "base_url": "http://x.example", "model": {"$ne": 1}}},
                "model_args maps names to plain values", "model:"),
    HostileCase("unknown task", S, {**GOOD_SPEC, "tasks": ["code_xray"]},
                "tasks must be among", "model:"),
    # check_spec iterated it: a TypeError, not a refusal.
    HostileCase("tasks a number", S, {**GOOD_SPEC, "tasks": 5},
                "tasks must be a list of task names, not int", "model:"),
    HostileCase("hf checkpoint and model both", S, {"backend": "hf", "model_args": {
        "checkpoint": "tiny-demo", "model": "/etc"}},
                "either checkpoint=NAME or model=", "model:"),
]

# --- images ------------------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(
        kind + data))


def _png_claiming(width: int, height: int) -> bytes:
    """A real 8x8 PNG whose header (with a valid checksum) claims width x height: a few
    hundred bytes. Its pixel data is for 8x8, so an upload check that decodes it before
    looking at the size reports truncation, not the size."""
    real = _png_bytes()
    ihdr = real[16:29]  # width, height, depth, colour type, compression, filter, interlace
    patched = struct.pack(">II", width, height) + ihdr[8:]
    return real[:8] + _chunk(b"IHDR", patched) + real[33:]


def _jpeg_claiming(width: int, height: int) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 120, 10)).save(out, "JPEG")
    data = bytearray(out.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _noisy(fmt: str) -> bytes:
    import random

    from PIL import Image

    rng = random.Random(14)
    out = io.BytesIO()
    Image.frombytes("RGB", (128, 128), rng.randbytes(128 * 128 * 3)).save(out, fmt)
    return out.getvalue()


def _half(data: bytes) -> bytes:
    return data[:len(data) // 2]


def _ico() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(out, "ICO")
    return out.getvalue()


def good_png() -> bytes:
    return _png_bytes((64, 48))


IMG = "image"
_TEXT = "it is a text file, not an image"
IMAGES = [
    HostileCase("zero bytes", IMG, lambda: [("empty.png", b"")], "the file is empty: 0 bytes",
                "empty.png:"),
    HostileCase("text named .png", IMG, lambda: [("notes.png", b"tooth 14 looks fine\n")],
                _TEXT, "notes.png:"),
    HostileCase("truncated PNG", IMG, lambda: [("cut.png", _half(_noisy("PNG")))],
                "image file is truncated", "cut.png:"),
    HostileCase("truncated JPEG", IMG, lambda: [("cut.jpg", _half(_noisy("JPEG")))],
                "image file is truncated", "cut.jpg:"),
    HostileCase("PNG cut inside its header", IMG, lambda: [("head.png", _png_bytes()[:30])],
                "starts like a PNG but its header is cut off", "head.png:"),
    HostileCase("PNG claiming 100000x100000", IMG,
                lambda: [("bomb.png", _png_claiming(100_000, 100_000))],
                "decompression bomb", "bomb.png:"),
    HostileCase("PNG claiming 8000x6000", IMG, lambda: [("big.png", _png_claiming(8000, 6000))],
                "8000x6000 = 48,000,000 pixels, over the cap of 40,000,000", "big.png:"),
    HostileCase("JPEG claiming 65000x65000", IMG,
                lambda: [("bomb.jpg", _jpeg_claiming(65_000, 65_000))],
                "decompression bomb", "bomb.jpg:"),
    HostileCase("real 54-megapixel image", IMG,
                lambda: [("huge.png", _png_bytes((9000, 6000), "1"))],
                "9000x6000 = 54,000,000 pixels, over the cap", "huge.png:"),
    HostileCase("SVG with a script", IMG, lambda: [("x.svg", b'<?xml version="1.0"?>\n<svg '
                b'xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')],
                "an SVG drawing, which is not accepted", "x.svg:"),
    # Pillow opens EPS through Ghostscript, an external program: never for an upload.
    HostileCase("EPS named .png", IMG, lambda: [("x.png", b"%!PS-Adobe-3.0 EPSF-3.0\n"
                                               b"%%BoundingBox: 0 0 10 10\nshowpage\n")],
                "PostScript (EPS), which is not accepted", "x.png:"),
    HostileCase("ICO named .png", IMG, lambda: [("icon.png", _ico())],
                "not a PNG, JPEG, WebP, BMP, TIFF or GIF image", "icon.png:"),
    HostileCase("HTML named .jpg", IMG, lambda: [("page.jpg", b"<html><body onload=alert(1)>"
                                                b"</body></html>")],
                "HTML or XML text, not an image", "page.jpg:"),
    HostileCase("PDF named .png", IMG, lambda: [("scan.png", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")],
                "a PDF document, not an image", "scan.png:"),
    HostileCase("zip named .png", IMG, lambda: [("photos.png", _zip("a.png", good_png()))],
                "a zip archive, not an image", "photos.png:"),
    HostileCase("too many images", IMG,
                lambda: [(f"p{i}.png", good_png()) for i in range(9)],
                "9 images: at most 8 per checkup"),
    HostileCase("no image", IMG, lambda: [], "upload at least one intraoral photograph"),
    # The first image is staged before the second is refused: it must not stay behind.
    HostileCase("a good image then a bomb", IMG,
                lambda: [("ok.png", good_png()), ("bomb.png", _png_claiming(9000, 9000))],
                "over the cap of 40,000,000", "bomb.png:"),
]

CORPUS: list[HostileCase] = [*PREDICTIONS, *METADATA, *MODELS, *IMAGES]
BY_NAME: dict[str, HostileCase] = {f"{c.kind}: {c.name}": c for c in CORPUS}
