"""Developer tool for schema revisions (see README.md beside this file).

    python -m monitor.migrations revision "add the votes table"   # autogenerate the next revision
    python -m monitor.migrations check                            # do the revisions equal the models?
    python -m monitor.migrations heads                            # must print exactly one head

Both run on a scratch SQLite database brought to the head by the revisions themselves, so what
autogenerate writes is exactly what models.py has that the revisions lack. Review what it wrote
(and try it on PostgreSQL: pytest --postgresql URL) before committing.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from monitor.schema import MIGRATIONS, alembic_config


def _next_rev_id() -> str:
    numbers = [
        int(m.group(1))
        for p in (MIGRATIONS / "versions").glob("*.py")
        if (m := re.match(r"(\d{4})_", p.name))
    ]
    return f"{max(numbers, default=0) + 1:04d}"


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("revision", "check", "heads"):
        print(__doc__)
        return 2
    if argv[0] == "heads":
        command.heads(alembic_config())
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{Path(scratch) / 'scratch.db'}")
        with engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
        with engine.begin() as conn:
            cfg = alembic_config(conn)
            if argv[0] == "check":
                command.check(cfg)
                print("the revisions equal the models")
            else:
                message = " ".join(argv[1:]) or "schema change"
                rev_id = _next_rev_id()
                slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40]
                cfg.set_main_option("file_template", f"{rev_id}_{slug}")
                command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
