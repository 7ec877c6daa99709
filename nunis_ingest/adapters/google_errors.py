"""Which failures of the Google clients a later attempt can fix (Pub/Sub then retries).

Imported only by the Cloud Storage and BigQuery adapters, which runtime.py loads lazily.
"""

from __future__ import annotations

import google.api_core.exceptions as gexc
import requests
from google.auth.exceptions import TransportError

TRANSIENT_GOOGLE_ERRORS: tuple[type[BaseException], ...] = (
    gexc.TooManyRequests,
    gexc.InternalServerError,
    gexc.BadGateway,
    gexc.ServiceUnavailable,
    gexc.GatewayTimeout,
    gexc.RetryError,
    requests.ConnectionError,
    requests.Timeout,
    TransportError,
    ConnectionError,
    TimeoutError,
)
