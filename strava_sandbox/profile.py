"""Generated athlete profiles (DetailedAthlete)."""

from __future__ import annotations

import random
from typing import Any

from strava_sandbox.clock import iso
from strava_sandbox.geo import Place

HISTORY_SECONDS = 730 * 86400


def make_profile(rng: random.Random, athlete_id: int, place: Place, anchor: int) -> dict[str, Any]:
    first = rng.choice(["Léa", "Jürgen", "Søren", "Аня", "健太", "María-José", "Zoë", "Sam"])
    last = rng.choice(["Müller", "O'Brien", "Ødegaard", "Смирнова", "山田", "Nuñez", "Smith 🏃"])
    created = anchor - HISTORY_SECONDS - rng.randint(30, 2000) * 86400
    return {
        "id": athlete_id,
        "username": f"athlete{athlete_id}",
        "resource_state": 3,
        "firstname": first,
        "lastname": last,
        "bio": rng.choice([None, "", "Running for 🍩"]),
        "city": place.city,
        "state": place.state,
        "country": place.country,
        "sex": rng.choice(["M", "F", None]),
        "premium": rng.random() < 0.5,
        "summit": rng.random() < 0.5,
        "created_at": iso(created),
        "updated_at": iso(anchor - rng.randint(0, 30) * 86400),
        "badge_type_id": rng.choice([0, 1]),
        "weight": rng.choice([None, round(rng.uniform(50, 90), 1), 70]),
        "profile_medium": "avatar/athlete/medium.png",
        "profile": "avatar/athlete/large.png",
        "friend": None,
        "follower": None,
        "follower_count": rng.randint(0, 300),
        "friend_count": rng.randint(0, 300),
        "measurement_preference": rng.choice(["meters", "feet"]),
        "ftp": rng.choice([None, 230]),
        "clubs": [],
        "bikes": [
            {
                "id": f"b{athlete_id}",
                "primary": True,
                "name": "Vélo ⚙️",
                "resource_state": 2,
                "distance": 1234567.8,
            }
        ],
        "shoes": [
            {
                "id": f"g{athlete_id}",
                "primary": True,
                "name": "Pegasus 41",
                "resource_state": 2,
                "distance": 456789.0,
            }
        ],
    }
