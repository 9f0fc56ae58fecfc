"""The query parameters of every paged list: `limit` and `offset`.

An offset is bounded like the limit: a number past what the database's parameters
hold (a 64-bit integer) made PostgreSQL refuse the query — a 500 — where it must be
the client's 422 naming the parameter (`query.offset`)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import QueryParameter

#: The largest offset taken: the database's 32-bit integer, far past any list's length.
MAX_OFFSET = 2**31 - 1

Limit = Annotated[int, QueryParameter(ge=1, le=500, description="page size")]
Offset = Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET, description="rows to skip")]
