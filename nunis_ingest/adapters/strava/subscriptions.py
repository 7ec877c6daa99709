"""Strava push subscriptions (app-level, client id + secret): create, list, delete.

Create blocks while Strava performs the handshake against the callback, so the callback
must already be serving with the same verify token.
"""

from __future__ import annotations

from typing import Any

import requests

from nunis_ingest.adapters.strava.transport import request_json
from nunis_ingest.errors import StravaUnavailable


class SubscriptionsClient:
    def __init__(
        self,
        session: requests.Session,
        *,
        base_url: str,
        client_id: str,
        client_secret: str,
        timeout: float = 30.0,
    ) -> None:
        self._session = session
        self._url = base_url.rstrip("/") + "/api/v3/push_subscriptions"
        self._id = client_id
        self._secret = client_secret
        self._timeout = timeout

    def _call(self, method: str, url: str, expect: Any, context: str, **kw: Any) -> Any:
        _, data = request_json(
            self._session,
            method,
            url,
            expect=expect,
            context=context,
            secrets=(self._secret,),
            timeout=self._timeout,
            **kw,
        )
        return data

    def create(self, callback_url: str, verify_token: str) -> int:
        form = {
            "client_id": self._id,
            "client_secret": self._secret,
            "callback_url": callback_url,
            "verify_token": verify_token,
        }
        data = self._call("POST", self._url, dict, "creating the push subscription", data=form)
        return int(data["id"])

    def list(self) -> list[dict[str, Any]]:
        params = {"client_id": self._id, "client_secret": self._secret}
        result: list[dict[str, Any]] = self._call(
            "GET", self._url, list, "listing push subscriptions", params=params
        )
        return result

    def delete(self, subscription_id: int) -> bool:
        """True when deleted, False when Strava did not know it."""
        params = {"client_id": self._id, "client_secret": self._secret}
        try:
            response = self._session.request(
                "DELETE",
                f"{self._url}/{int(subscription_id)}",
                params=params,
                timeout=self._timeout,
            )
        except requests.RequestException as exc:
            raise StravaUnavailable(
                f"No response from Strava while deleting the push subscription: "
                f"{type(exc).__name__}.",
                action="try again.",
            ) from None
        if response.status_code == 404:
            return False
        if response.status_code not in (200, 204):
            from nunis_ingest.adapters.strava.errors_map import error_for_response

            raise error_for_response(
                response.status_code,
                response.content,
                context="deleting the push subscription",
                secrets=(self._secret,),
                usage=None,
            )
        return True
