"""What the API collector tests share: the recorded responses, a quick session, and a secret scan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, inspect, text
from werkzeug import Response

from collectors.http import CollectorSession, make_session

API = Path(__file__).parent / "data" / "api"


def api_json(name: str) -> Any:
    return json.loads((API / name).read_text())


def fast_session() -> CollectorSession:
    """One retry, no back-off, short timeouts: failures show up in milliseconds."""
    return make_session(retries=1, backoff_factor=0, timeout=(1.0, 2.0))


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, headers=headers, content_type="application/json")


def db_text(engine: Engine) -> str:
    """Every value of every table, as text: to prove a secret never reached the database."""
    values: list[str] = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                values.extend(str(v) for v in row if v is not None)
    return "\n".join(values)
