"""One redaction for every text that leaves the process: error messages shown to people,
failure logs stored for submitters, a backend's short error reasons.

``redact(text)`` replaces, in this order:

* the ``secrets`` it is given (e.g. the key an SDK client holds, whatever its length);
* the values of secret-looking environment variables: a name containing KEY, TOKEN,
  SECRET, PASSWORD (or PASSWD, CREDENTIAL) and a value of at least 8 characters;
* the shapes of credentials whatever their source: ``sk-...`` API keys, the token after
  ``Bearer``/``Basic``, and the ``user:password@`` part of a URL.

Servers sometimes quote the key they were sent in an error body, so anything a server
says passes through here before it is logged, stored or shown.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping

REDACTED = "[REDACTED]"
MIN_SECRET_CHARS = 8  # shorter values ("1", "true", "EMPTY") are settings, not secrets
SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # OpenAI-style keys: sk-..., sk-proj-..., sk-ant-...
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"), REDACTED),
    # An Authorization header's credentials, quoted back.
    (re.compile(r"\b(Bearer|Basic)(\s+)[A-Za-z0-9._~+/=\-]{8,}", re.IGNORECASE),
     rf"\1\2{REDACTED}"),
    # https://user:password@host: the userinfo of a URL.
    (re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"), REDACTED),
)


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of secret-looking environment variables, longest first (so a secret that
    contains another is replaced whole)."""
    env = os.environ if environ is None else environ
    found = {value.strip() for name, value in env.items()
             if SECRET_NAME.search(name) and len(value.strip()) >= MIN_SECRET_CHARS}
    return sorted(found, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str | None] = (),
           environ: Mapping[str, str] | None = None) -> str:
    """``text`` with every secret it can recognise replaced by ``[REDACTED]``."""
    if not text:
        return text
    known = {s for s in secrets if s}
    for secret in sorted(known | set(secret_values(environ)), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
