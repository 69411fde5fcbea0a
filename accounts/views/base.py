"""What the account API's views share: the schema's common answers. (How a body is validated
and a success answered, and the public views' base: blahaj/views.py.)"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse

from blahaj.schema import TOKEN_REFUSED
from blahaj.views import SUCCESS as SUCCESS

from ..serializers import ErrorSerializer

ERROR = ErrorSerializer
_401 = TOKEN_REFUSED
_429 = OpenApiResponse(ERROR, description="throttled (per client IP); see Retry-After")
# A signed-in confirmation (password or code) refused by the account's login lockout: wrong
# passwords and wrong codes share one budget.
_LOCKED = OpenApiResponse(ERROR, description="too_many_attempts (the account's login lockout); see Retry-After")
