"""The onboarding pages (pure: text in, HTML out). Every value is escaped."""

from __future__ import annotations

from html import escape

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;"
    "line-height:1.5}a.connect{display:inline-block;background:#fc4c02;color:#fff;"
    "padding:.7rem 1.2rem;border-radius:4px;text-decoration:none;font-weight:600}"
)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>\n"
    )


def _connect(url: str, label: str = "Connect with Strava") -> str:
    return f'<p><a class=connect id=connect href="{escape(url)}">{escape(label)}</a></p>'


def start(authorize_url: str) -> str:
    return _page(
        "Connect your Strava account",
        "<p>Nunis Ingest copies your Strava activities, including private ones, into this "
        "team's analytics warehouse. Strava asks you to approve read access; you can revoke "
        "it at any time in Strava's settings (My Apps).</p>" + _connect(authorize_url),
    )


def scope_refused(authorize_url: str) -> str:
    return _page(
        "Private activities are needed",
        "<p id=reason>You did not allow <b>View data about your private activities</b> "
        "(scope <code>activity:read_all</code>). Without it Strava hides every activity you "
        "set to <i>Only You</i>, and they would silently be missing. Nothing was stored.</p>"
        "<p>Connect again and leave that box ticked:</p>"
        + _connect(authorize_url, "Connect again"),
    )


def cancelled(authorize_url: str) -> str:
    return _page(
        "Not connected",
        "<p id=reason>You cancelled on Strava's page, so nothing was stored.</p>"
        + _connect(authorize_url, "Connect again"),
    )


def refused(reason: str) -> str:
    return _page(
        "This link cannot be used",
        f"<p id=reason>{escape(reason)}</p>"
        "<p id=restart>Open your invite link again, in this browser.</p>",
    )


def uninvited(reason: str) -> str:
    return _page(
        "Invited athletes only",
        f"<p id=reason>{escape(reason)}</p>"
        "<p>To connect your Strava account, ask the team for an invite link: it works "
        "once, for a few days.</p>",
    )


def done(athlete_id: int, how: str) -> str:
    nxt = {
        "queued": "Your first full load is queued and starts within a minute (unless the "
        "team has paused your account).",
        "started": "Your first full load has started.",
        "scheduled": "Your first full load runs at the next scheduled poll.",
        "paused": "Your account is paused by the team, so nothing is loaded until they resume it.",
    }.get(how, "Your activities are loaded at the next poll.")
    if how == "paused":
        return _page(
            "Connected",
            f"<p>Strava athlete <b id=athlete>{int(athlete_id)}</b> is connected.</p>"
            f"<p id=next>{escape(nxt)}</p><p>You can close this page.</p>",
        )
    return _page(
        "Connected",
        f"<p>Strava athlete <b id=athlete>{int(athlete_id)}</b> is connected.</p>"
        f"<p id=next>{escape(nxt)} It loads every activity you have, which for a long "
        "history can take a while (Strava limits how fast an app may read). After that, new "
        "and edited activities arrive within minutes.</p>"
        "<p>You can close this page. To disconnect, revoke Nunis Ingest in Strava's "
        "settings (My Apps).</p>",
    )


def unavailable(what: str) -> str:
    return _page("Onboarding is not available", f"<p id=reason>{escape(what)}</p>")
