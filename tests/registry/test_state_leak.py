"""Another organization's registry application state does not leak through a refused withdraw or resubmit
(issue 16 item 6): the answer is the 403 a read gives, whatever state the application is in. The old code
checked the transition first and answered 409 naming ``current_state``."""

import pytest
from registry_world import PREFIX, make_world


@pytest.fixture
def world(harness, clock):
    return make_world(harness, clock)


@pytest.mark.parametrize("action", ["withdraw", "resubmit"])
def test_a_stranger_learns_nothing_about_the_state(world, harness, action):
    app = world.apply("first")
    stranger = harness.auth(harness.user("data_source"))
    assert world.client.get(f"{PREFIX}/applications/{app['id']}", headers=stranger).status_code == 403
    world.step(app["id"], "withdraw", headers=world.source)  # now no action of the applicant applies
    body = {"content": None} if action == "resubmit" else None
    refused = world.step(app["id"], action, body, headers=stranger, expect=403)
    assert "current_state" not in refused["error"] and "withdrawn" not in str(refused)
    # The applicant itself still gets the state-machine answer.
    assert world.step(app["id"], action, body, headers=world.source, expect=409)["error"]["current_state"]
