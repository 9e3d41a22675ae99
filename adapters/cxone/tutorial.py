"""The tutorial dialect's vocabulary: the preview configuration a campaign's spec becomes,
in the REST shape of ``PUT /api/v2/outbound/campaigns/{id}``.

It is CXone's vocabulary, not the engine's: the engine asks the gateway for it
(``CXoneGateway.configuration``) and treats it as the fields it manages.
"""

from __future__ import annotations

from typing import Any

from engine.spec import CampaignSpec


def preview_config(spec: CampaignSpec) -> dict[str, Any]:
    """The body of ``PUT /api/v2/outbound/campaigns/{id}`` for ``spec``."""
    return {
        "name": spec.name,
        "type": "preview",
        "contactLists": [{"id": spec.contact_list_id, "type": "contactlist"}],
        "dialingRules": {
            "strategy": spec.dialing_rules.strategy,
            "maxAttempts": spec.dialing_rules.max_attempts,
            "callbackEnabled": spec.dialing_rules.callback_enabled,
        },
        "agentDirectives": [
            {
                "queueId": d.queue_id,
                "skillRequirement": d.skill_requirement,
                "agentCount": d.agent_count,
            }
            for d in spec.agent_directives
        ],
        "previewSettings": {
            "previewDialingMode": spec.preview_settings.preview_dialing_mode,
            "agentPromptEnabled": spec.preview_settings.agent_prompt_enabled,
            "previewTimeoutSeconds": spec.preview_settings.timeout_seconds,
        },
    }
