"""Each binding mode's rules, one module per mode: what its API operations do and how a call to
one of its privacy numbers is routed.

Every rules class owns its mode's indexes and answers the API operations with the platform's
field names; :meth:`route` decides how a call to X is handled. X mode has no bindings: its calls
are routed by the customer's Block reply (:mod:`.x`).
"""

from __future__ import annotations

from .ax import AxRules
from .axb import AxbRules
from .axe import AxeRules
from .axyb import AxybRules

__all__ = ["AxRules", "AxbRules", "AxeRules", "AxybRules"]
