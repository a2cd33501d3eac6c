"""crm models, one file per area (customers, opportunities, handover)."""

from modules.crm.util import import_optional_parts

import_optional_parts(__name__, ("customer", "opportunity", "handover"))
