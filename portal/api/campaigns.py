"""/umm/ecm/campaign: campaigns, the dialer's campaigns, pause/resume."""

from __future__ import annotations

from flask import jsonify

from portal.api import serializers
from portal.api.core import (
    actor,
    body,
    endpoint,
    id_param,
    listing,
    paging,
    paging_params,
    target_id,
)
from portal.services import campaigns, cisco
from portal.services.calling_rules.fields import CAMPAIGN_RESPONSE

CAMPAIGN = {
    "type": "object",
    "required": [
        "id",
        "name",
        "strategyId",
        "status",
        "type",
        "weekDays",
        "weekdays",
        "startTime",
        "endTime",
        "enabled",
    ],
    "properties": {
        **{
            k: {"type": ["string", "null"]}
            for k in (
                "id",
                "crmCampaignId",
                "ciscoCampaignId",
                "ciscoCampaignName",
                "dialerType",
                "skillGroup",
                "smsTemplate",
                "description",
                "startTime",
                "endTime",
                "strategyId",
                "name",
                "status",
                "type",
                "weekDays",
                "weekdays",
                "timeZone",
                "lastUpdated",
                "dateCreated",
            )
        },
        "enabled": {"type": "boolean"},
        "respectContactTimeZone": {"type": "boolean"},
        "responseTimeout": {"type": ["integer", "null"]},
        **CAMPAIGN_RESPONSE,
        "dialOrder": {"enum": ["due", "priority", "newest", "random"]},
        "contactFilter": {"type": ["object", "null"]},
        "recycleRules": {"type": "array", "items": {"type": "object"}},
    },
}
MESSAGE = {"type": "object", "properties": {"message": {"type": "string"}}}


@endpoint(
    "/ecm/campaign/fetchCiscoCampaigns",
    ["GET"],
    "The dialer's campaigns (UCCE/UCCX)",
    "campaign",
    response={"type": "array", "items": {"type": "object"}},
)
def fetch_cisco_campaigns():
    return jsonify(cisco.fetch_cisco_campaigns(actor()))


@endpoint(
    "/ecm/campaign/createCampaign",
    ["POST"],
    "Create a campaign",
    "campaign",
    body=campaigns.CampaignCreate,
    response=CAMPAIGN,
    status=201,
)
def create_campaign():
    campaign = campaigns.create_campaign(actor(), body())
    return jsonify(serializers.campaign(campaign)), 201


@endpoint(
    [
        "/ecm/campaign/createCampaignBySkilllGroup",
        "/ecm/campaign/createCampaignBySkillGroup",
    ],
    ["POST"],
    "Create a campaign on a UCCE skill group",
    "campaign",
    body=campaigns.CampaignBySkillGroup,
    response=CAMPAIGN,
)
def create_campaign_by_skill_group():
    campaign = campaigns.create_campaign(actor(), body(), by_skill_group=True)
    return jsonify(serializers.campaign(campaign))


@endpoint(
    "/ecm/campaign/update",
    ["PUT", "POST"],
    "Update a campaign (type cannot change)",
    "campaign",
    body=campaigns.CampaignUpdate,
    response=CAMPAIGN,
)
def update_campaign():
    return jsonify(serializers.campaign(campaigns.update_campaign(actor(), body())))


@endpoint(
    "/ecm/campaign",
    ["GET"],
    "List campaigns (max/offset or page/size; X-Total-Count)",
    "campaign",
    response={"type": "array", "items": CAMPAIGN},
    params=paging_params(),
    reads_only=True,
)
def list_campaigns():
    offset, size = paging()
    items, total = campaigns.list_campaigns(actor(), offset, size)
    return listing([serializers.campaign(c) for c in items], total)


@endpoint(
    "/ecm/campaign/delete",
    ["DELETE", "POST"],
    "Delete a campaign and its contacts",
    "campaign",
    response=MESSAGE,
    params=id_param(),
)
def delete_campaign():
    cid = target_id()
    campaigns.delete_campaign(actor(), cid)
    return jsonify({"message": f"Campaign with id {cid} successfully deleted"})


@endpoint(
    "/ecm/campaign/campaignUpdateStatus",
    ["POST", "PUT"],
    "Pause (0) or resume (1) a campaign",
    "campaign",
    body=campaigns.CampaignStatusIn,
    response=MESSAGE,
)
def update_status():
    campaign, verb = campaigns.set_status(actor(), body())
    return jsonify({"message": f"Campaign with id {campaign.id} successfully {verb}"})
