"""Published versions: canonical bytes and the content hash that names them.

The canonical encoding is msgspec's JSON with every object's keys sorted, no
insignificant whitespace, UTF-8 (non-ASCII characters written as is), and fields at
their default value left out. ``content_hash`` is the lower-case hex sha256 of it.
A template decoded from its canonical bytes encodes to the same bytes again.
"""

from __future__ import annotations

import hashlib

import msgspec

from checklists.model import Template

_encoder = msgspec.json.Encoder(order="sorted")


def canonical_bytes(template: Template) -> bytes:
    return _encoder.encode(template)


def content_hash(template: Template) -> str:
    return hash_of(canonical_bytes(template))


def hash_of(canonical: bytes) -> str:
    """The content hash of a template's canonical bytes (for a caller that has them)."""
    return hashlib.sha256(canonical).hexdigest()
