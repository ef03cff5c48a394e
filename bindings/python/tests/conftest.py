"""Every test starts from a reset registry (they share the process's one registry)."""

import pytest

import sessmgr


@pytest.fixture(autouse=True)
def fresh_registry():
    sessmgr.reset()
    yield
    sessmgr.reset()


SEED_ROLES = {
    "privileges": [
        {"privilege": "simple", "includes": []},
        {"privilege": "medium", "includes": ["simple"]},
    ],
    "roles": [{"role": "Medium", "privileges": ["medium"]}],
    "permissions": {"allowed": [{"applyTo": "ds", "type": "datastore", "read": ["medium"]}]},
    "forceLogin": False,
    "restrictedByDefault": False,
}
