"""What a QR tag encodes, and fast encoding of many tags (pure).

A tag encodes ``{public_url}/q/{code}`` with error correction M (15 % of the
symbol may be dirty or torn and it still reads). Choosing the mask pattern is
most of qrcode's work (it tries all eight and scores each); every mask gives a
valid symbol, so a batch picks the version and mask once, for the first tag of
each length, and reuses them — several times faster, every tag still decodable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.exceptions import DataOverflowError

Matrix = list[list[bool]]


def place_url(public_url: str, code: str) -> str:
    return f"{public_url.rstrip('/')}/q/{code}"


def encode(data: str, *, version: int | None = None, mask: int | None = None) -> tuple[Matrix, int, int]:
    """The modules of the QR symbol for ``data`` (no quiet zone), its version and mask."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=0, version=version)
    qr.add_data(data)
    if version is None:
        qr.best_fit()
    chosen = qr.best_mask_pattern() if mask is None else mask
    qr.makeImpl(False, chosen)
    assert qr.version is not None
    modules: Matrix = [[bool(m) for m in row] for row in qr.modules]
    return modules, int(qr.version), int(chosen)


@dataclass
class BatchEncoder:
    """Encodes many tags, choosing version and mask once per data length."""

    _chosen: dict[int, tuple[int, int]] = field(default_factory=dict)

    def encode(self, data: str) -> Matrix:
        chosen = self._chosen.get(len(data))
        if chosen is not None:
            try:
                return encode(data, version=chosen[0], mask=chosen[1])[0]
            except DataOverflowError:
                pass  # a different mix of characters needs a larger version: choose afresh
        modules, version, mask = encode(data)
        self._chosen[len(data)] = (version, mask)
        return modules


def runs(matrix: Matrix) -> list[tuple[int, int, int]]:
    """Dark modules merged into horizontal runs: (x, y, length). Fewer shapes to draw."""
    out = []
    for y, row in enumerate(matrix):
        x = 0
        n = len(row)
        while x < n:
            if row[x]:
                start = x
                while x < n and row[x]:
                    x += 1
                out.append((start, y, x - start))
            else:
                x += 1
    return out
