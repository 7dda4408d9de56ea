"""Shared fixtures: each area keeps its own in tests/fixtures/ and they are gathered here."""

from tests.fixtures.bot import *  # noqa: F403
from tests.fixtures.botapi import *  # noqa: F403
from tests.fixtures.db import *  # noqa: F403
from tests.fixtures.model import *  # noqa: F403
from tests.fixtures.people import *  # noqa: F403
from tests.fixtures.videos import *  # noqa: F403
