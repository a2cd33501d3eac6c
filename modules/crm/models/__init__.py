"""crm models, one file per aggregate (customers, opportunities, handovers). Importing the
package registers every table."""

from modules.crm.models import customer  # noqa: F401
from modules.crm.models import handover  # noqa: F401
from modules.crm.models import opportunity  # noqa: F401
