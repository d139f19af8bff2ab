"""Every package's tables on one metadata, for Alembic and the schema-drift test.

Importing the store modules registers their ORM classes on ``common.db.Base``; nothing else uses this.
"""

import audit.store  # noqa: F401
import catalog.store  # noqa: F401
import common.calendar_store  # noqa: F401
import gateway.accounts  # noqa: F401
import gateway.entrustments  # noqa: F401
import gateway.store  # noqa: F401
import operation.requests  # noqa: F401
import operation.store  # noqa: F401
import policies.ledger_store  # noqa: F401
import policies.risk_store  # noqa: F401
import policies.store  # noqa: F401
import registry.public_objections  # noqa: F401
import registry.store  # noqa: F401
import sandbox.store  # noqa: F401
from common.db import Base

metadata = Base.metadata
