"""Every lifecycle action from every state: status code and PostHog's exact text (§4)."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.support import P

LAUNCHED = "Experiment has already been launched."
NOT_LAUNCHED = "Experiment has not been launched yet."
ENDED = "Experiment has already ended."
ALREADY_PAUSED = "Experiment is already paused."
NOT_PAUSED = "Experiment is not paused."
IN_DRAFT = "Experiment is already in draft state."
MUST_END = "Experiment must be ended before it can be archived."
ALREADY_ARCHIVED = "Experiment is already archived."
NOT_ARCHIVED = "Experiment is not archived."
NOT_FOUND = "Not found."

STATES = ("draft", "running", "paused", "stopped", "archived", "deleted")

# action: {state: (status code, detail or the status the experiment shows afterwards)}
MATRIX: dict[str, dict[str, tuple[int, str]]] = {
    "launch": {
        "draft": (200, "running"),
        "running": (400, LAUNCHED),
        "paused": (400, LAUNCHED),
        "stopped": (400, LAUNCHED),
        "archived": (400, LAUNCHED),
        "deleted": (404, NOT_FOUND),
    },
    "pause": {
        "draft": (400, NOT_LAUNCHED),
        "running": (200, "paused"),
        "paused": (400, ALREADY_PAUSED),
        "stopped": (400, ENDED),
        "archived": (400, ENDED),
        "deleted": (404, NOT_FOUND),
    },
    "resume": {
        "draft": (400, NOT_LAUNCHED),
        "running": (400, NOT_PAUSED),
        "paused": (200, "running"),
        "stopped": (400, ENDED),
        "archived": (400, ENDED),
        "deleted": (404, NOT_FOUND),
    },
    "end": {
        "draft": (400, NOT_LAUNCHED),
        "running": (200, "stopped"),
        "paused": (200, "stopped"),
        "stopped": (400, ENDED),
        "archived": (400, ENDED),
        "deleted": (404, NOT_FOUND),
    },
    "ship_variant": {
        "draft": (400, NOT_LAUNCHED),
        "running": (200, "stopped"),
        "paused": (200, "stopped"),
        "stopped": (200, "stopped"),
        "archived": (200, "stopped"),
        "deleted": (404, NOT_FOUND),
    },
    "reset": {
        "draft": (400, IN_DRAFT),
        "running": (200, "draft"),
        "paused": (200, "draft"),
        "stopped": (200, "draft"),
        "archived": (200, "draft"),
        "deleted": (404, NOT_FOUND),
    },
    "archive": {
        "draft": (400, MUST_END),
        "running": (400, MUST_END),
        "paused": (400, MUST_END),
        "stopped": (200, "stopped"),
        "archived": (400, ALREADY_ARCHIVED),
        "deleted": (404, NOT_FOUND),
    },
    "unarchive": {
        "draft": (400, NOT_ARCHIVED),
        "running": (400, NOT_ARCHIVED),
        "paused": (400, NOT_ARCHIVED),
        "stopped": (400, NOT_ARCHIVED),
        "archived": (200, "stopped"),
        "deleted": (404, NOT_FOUND),
    },
}
BODIES = {"ship_variant": {"variant_key": "test"}}
STEPS = {
    "draft": [],
    "running": ["launch"],
    "paused": ["launch", "pause"],
    "stopped": ["launch", "end"],
    "archived": ["launch", "end", "archive"],
}


async def _experiment_in(client: httpx.AsyncClient, state: str, name: str) -> int:
    response = await client.post(f"{P}/", json={"name": name, "feature_flag_key": name})
    assert response.status_code == 201, response.text
    experiment_id: int = response.json()["id"]
    if state == "deleted":
        deleted = await client.patch(f"{P}/{experiment_id}/", json={"deleted": True})
        assert deleted.status_code == 200
        return experiment_id
    for step in STEPS[state]:
        assert (await client.post(f"{P}/{experiment_id}/{step}/")).status_code == 200
    return experiment_id


def test_the_table_covers_every_action_and_state() -> None:
    assert set(MATRIX) == {
        "launch", "pause", "resume", "end", "ship_variant", "reset", "archive", "unarchive"
    }  # fmt: skip
    assert all(set(row) == set(STATES) for row in MATRIX.values())


@pytest.mark.parametrize(
    ("action", "state"), [(action, state) for action in MATRIX for state in STATES]
)
async def test_action_from_state(client: httpx.AsyncClient, action: str, state: str) -> None:
    experiment_id = await _experiment_in(
        client, state, f"matrix-{action}-{state}".replace("_", "-")
    )
    before = await client.get(f"{P}/{experiment_id}/")
    response = await client.post(f"{P}/{experiment_id}/{action}/", json=BODIES.get(action, {}))
    status, expected = MATRIX[action][state]
    assert response.status_code == status, response.text
    body = response.json()
    if status == 200:
        assert body["status"] == expected
        stays_archived = state == "archived" and action not in ("unarchive", "reset")
        assert body["archived"] is (action == "archive" or stays_archived)
    elif status == 404:
        assert body == {
            "type": "invalid_request",
            "code": "not_found",
            "detail": NOT_FOUND,
            "attr": None,
        }
    else:
        assert body == {
            "type": "validation_error",
            "code": "invalid_input",
            "detail": expected,
            "attr": None,
        }
        after = await client.get(f"{P}/{experiment_id}/")
        assert after.json() == before.json()
