"""Imports every model so that SQLAlchemy and Alembic know the whole schema."""
from .audit.models import AssignmentChange, AuditEntry  # noqa: F401
from .auth.models import RateCounter, User, UserSession  # noqa: F401
from .customfields.models import CustomField, CustomFieldValue, custom_field_shares  # noqa: F401
from .files.models import Attachment  # noqa: F401
from .groups.models import BASIS_ID, Group, group_members  # noqa: F401
from .history.models import FieldChange, RecordEvent  # noqa: F401
from .imports.models import ImportItem, ImportJob  # noqa: F401
from .jobs.models import Job  # noqa: F401
from .listviews.models import SavedView  # noqa: F401
from .notes.models import Note  # noqa: F401
from .pipeline.models import DealMonthSum, DealSum  # noqa: F401
from .records.models import (  # noqa: F401
    MODELS,
    TAG_LINKS,
    Company,
    ContactDetail,
    Deal,
    Person,
    Project,
    Tag,
)
from .rules.models import AssignmentRule  # noqa: F401
from .search.models import SearchDoc  # noqa: F401
from .settings.models import ACCOUNT_ID, Account  # noqa: F401
from .stages.models import DealReason, DealStage  # noqa: F401
from .tasks.models import Task  # noqa: F401
