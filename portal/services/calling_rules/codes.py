"""The calling rules' reason codes (SPEC §8), importable without the rules."""

# reason codes (SPEC §8) and their labels
RULE_REASONS: dict[str, str] = {
    "campaign_not_started": "The campaign has not started yet",
    "campaign_ended": "The campaign has ended",
    "restricted_date": "A restricted date (holiday or blocked day)",
    "regional_hours": "Outside the legal calling hours of the called party's region",
    "unknown_zone": "The number's time zone is unknown: outside the safe window",
    "frequency_cap": "The number reached its frequency cap",
    "min_gap": "The number was dialed too recently (minimum gap)",
}
CAMPAIGN_RULE_CODES = ("campaign_not_started", "campaign_ended")
