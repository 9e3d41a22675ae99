"""Every error carries the exit code the command line ends with when it stops a command."""

from __future__ import annotations

import pytest

from adapters.cxone import SettingsError
from engine import (
    CampaignBusy,
    CampaignClaimed,
    CampaignNotFound,
    EngineError,
    InvalidTransition,
    RemoteUnavailable,
    SpecError,
    StepInDoubt,
)
from events import CxpreviewError, EventDecodeError
from journal import JournalBusy, JournalCorrupt, JournalError, LeaseLost, NoJournal


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (CxpreviewError, 2),
        (EventDecodeError, 2),
        (SettingsError, 2),
        (SpecError, 2),
        (CampaignNotFound, 2),
        (EngineError, 1),
        (InvalidTransition, 2),
        (StepInDoubt, 1),
        (RemoteUnavailable, 1),
        (JournalError, 3),
        (JournalCorrupt, 3),
        (JournalBusy, 3),
        (NoJournal, 3),
        (LeaseLost, 4),
        (CampaignBusy, 4),
        (CampaignClaimed, 4),
    ],
)
def test_each_error_carries_its_exit_code(error: type[CxpreviewError], code: int) -> None:
    assert error.exit_code == code


def test_a_settings_problem_is_not_the_engines() -> None:
    assert not issubclass(SettingsError, EngineError)
