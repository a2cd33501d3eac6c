"""A record's timeline: its audit history and the comments people left, newest first.

Detail pages render it with ``{% include "core/timeline.html" %}`` after
``entries = timeline(model_table, record_id)``; the comment form posts to
``POST /timeline/<model>/<record_id>/comments`` (:mod:`core.web.timeline`), allowed when the
actor can see the record (its model's record rules) and holds the model's read permission
(``crm_customer`` → ``crm.customer.read``). The model is in :mod:`core.timeline.models`,
the reads and writes in :mod:`core.timeline.services`.
"""

from __future__ import annotations

from core.timeline.models import Comment
from core.timeline.services import Entry
from core.timeline.services import add_comment
from core.timeline.services import read_permission
from core.timeline.services import timeline
from core.timeline.services import visible_record

__all__ = ["Comment", "Entry", "add_comment", "read_permission", "timeline", "visible_record"]
