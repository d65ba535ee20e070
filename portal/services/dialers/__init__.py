"""Dialer and SMS adapters, built from configuration so the feed loop stays generic."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from portal.services.dialers.base import (
    DialerAdapter,
    DialerAuthError,
    DialerRejected,
    DialerUnavailable,
    DialRequest,
    DialResult,
)
from portal.services.dialers.dialer_detail import DialerDetailReader
from portal.services.dialers.file import FileDialer
from portal.services.dialers.simulator import SimulatorDialer
from portal.services.dialers.sms import (
    SimulatorSms,
    SmsGateway,
    WebhookSms,
    render_sms_template,
)
from portal.services.dialers.ucce import UcceDialer
from portal.services.dialers.uccx import UccxDialer
from portal.services.dialers.uccx_results import UccxDialingListReader

DIALER_NAMES = ("simulator", "file", "ucce", "uccx")
SMS_GATEWAY_NAMES = ("simulator", "webhook")

__all__ = [
    "DIALER_NAMES",
    "SMS_GATEWAY_NAMES",
    "DialRequest",
    "DialResult",
    "DialerAdapter",
    "DialerAuthError",
    "DialerRejected",
    "DialerUnavailable",
    "FileDialer",
    "SimulatorDialer",
    "SimulatorSms",
    "SmsGateway",
    "UccxDialer",
    "UcceDialer",
    "WebhookSms",
    "build_dialer",
    "build_sms_gateway",
    "render_sms_template",
]


def results_reader(config: Mapping[str, Any]) -> DialerDetailReader | None:
    """The Dialer_Detail reader when ECM_UCCE_RESULTS_URL names the HDS/AW database.

    ECM_UCCE_CALLBACK_URL (optional) names the Outbound Option database, whose
    Personal_Callback_List gives results 14/15 their requested time.
    """
    url = _text(config.get("ECM_UCCE_RESULTS_URL"))
    callback_url = _text(config.get("ECM_UCCE_CALLBACK_URL"))
    return DialerDetailReader(url, callback_url=callback_url) if url else None


def build_dialer(
    name: str,
    prefs: Mapping[str, Any] | None,
    config: Mapping[str, Any],
    *,
    names: Callable[[str], str | None] | None = None,
    campaigns: Callable[[str], Mapping[str, str | None] | None] | None = None,
) -> DialerAdapter:
    """Build the adapter ECM_DIALER names, from app config and stored preferences.

    simulator: ECM_SIMULATOR_SEED (42), ECM_SIMULATOR_DELAY seconds (2.0).
    file: preferences filePath (required) and fileArchivePath (default
    <filePath>/archive).
    ``names`` / ``campaigns`` look a Cisco campaign up in the cached campaign table
    (its name for UCCX, its ciscoFilePath/ciscoFileName for the file drop).
    ECM_UCCE_RESULTS_URL adds the Dialer_Detail result reader (ucce, file);
    ECM_CISCO_PLUS_PREFIX replaces the '+' of what Cisco dials.
    ucce / uccx: ECM_UCCE_URL, ECM_UCCE_USER, ECM_UCCE_PASSWORD (or the ECM_UCCX_
    trio); when the user or password is not configured, the preferences
    username / password are used. Shared: ECM_DIALER_TIMEOUT (10 s),
    ECM_DIALER_MAX_RETRIES (5), ECM_DIALER_BACKOFF (1.0 s), ECM_DIALER_VERIFY_TLS
    (true, false, or a CA bundle path).
    """
    prefs = prefs or {}
    kind = (name or "").strip().lower()
    if kind == "simulator":
        return SimulatorDialer(
            seed=_int(config.get("ECM_SIMULATOR_SEED"), 42),
            result_delay_s=_float(config.get("ECM_SIMULATOR_DELAY"), 2.0),
        )
    if kind == "file":
        file_path = _text(prefs.get("filePath"))
        if not file_path:
            raise ValueError("the file dialer needs the preference filePath")
        return FileDialer(
            file_path,
            _text(prefs.get("fileArchivePath")) or None,
            delimiter=_text(config.get("ECM_CISCO_FILE_DELIMITER")) or ",",
            plus_prefix=_text(config.get("ECM_CISCO_PLUS_PREFIX")),
            result_source=results_reader(config),
            campaigns=campaigns,
        )
    if kind in ("ucce", "uccx"):
        return _cisco_dialer(kind, prefs, config, names)
    raise ValueError(
        f"unknown dialer {name!r}; expected one of {', '.join(DIALER_NAMES)}"
    )


def _cisco_dialer(
    kind: str,
    prefs: Mapping[str, Any],
    config: Mapping[str, Any],
    names: Callable[[str], str | None] | None,
) -> UcceDialer | UccxDialer:
    """The UCCE or UCCX adapter from ECM_UCCE_* / ECM_UCCX_* and the preferences."""
    prefix = f"ECM_{kind.upper()}_"
    url = _text(config.get(prefix + "URL"))
    if not url:
        raise ValueError(f"the {kind} dialer needs {prefix}URL")
    username = _text(config.get(prefix + "USER")) or _text(prefs.get("username"))
    password = _text(config.get(prefix + "PASSWORD")) or _text(prefs.get("password"))
    common = {
        "timeout": _float(config.get("ECM_DIALER_TIMEOUT"), 10.0),
        "max_retries": _int(config.get("ECM_DIALER_MAX_RETRIES"), 5),
        "backoff": _float(config.get("ECM_DIALER_BACKOFF"), 1.0),
        "verify_tls": _verify(config.get("ECM_DIALER_VERIFY_TLS")),
        "plus_prefix": _text(config.get("ECM_CISCO_PLUS_PREFIX")),
    }
    if kind == "ucce":
        return UcceDialer(
            url, username, password, result_source=results_reader(config), **common
        )
    return UccxDialer(
        url,
        username,
        password,
        names=names,
        outcome_source=uccx_results_reader(config),
        **common,
    )


def uccx_results_reader(config: Mapping[str, Any]) -> UccxDialingListReader | None:
    """The DialingList reader when ECM_UCCX_RESULTS_URL names db_cra."""
    url = _text(config.get("ECM_UCCX_RESULTS_URL"))
    return UccxDialingListReader(url) if url else None


def build_sms_gateway(config: Mapping[str, Any]) -> SmsGateway:
    """Build the SMS gateway ECM_SMS_GATEWAY names ("simulator" by default).

    webhook: ECM_SMS_WEBHOOK_URL (required), ECM_SMS_WEBHOOK_TOKEN,
    ECM_SMS_TIMEOUT (10 s), ECM_SMS_DELIVERY_REPORTS (false: an accepted message
    counts as delivered; true: results arrive on /umm/ecm/callback/result).
    """
    kind = (_text(config.get("ECM_SMS_GATEWAY")) or "simulator").lower()
    if kind == "simulator":
        return SimulatorSms(seed=_int(config.get("ECM_SIMULATOR_SEED"), 42))
    if kind == "webhook":
        return WebhookSms(
            _text(config.get("ECM_SMS_WEBHOOK_URL")),
            token=_text(config.get("ECM_SMS_WEBHOOK_TOKEN")) or None,
            timeout=_float(config.get("ECM_SMS_TIMEOUT"), 10.0),
            accepted_is_delivered=not _bool(config.get("ECM_SMS_DELIVERY_REPORTS")),
            verify_tls=_verify(config.get("ECM_DIALER_VERIFY_TLS")),
        )
    raise ValueError(
        f"unknown SMS gateway {kind!r}; expected one of {', '.join(SMS_GATEWAY_NAMES)}"
    )


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _float(value: Any, default: float) -> float:
    try:
        return float(str(value).strip())
    except (TypeError, ValueError):
        return default


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return _text(value).lower() in ("1", "true", "yes", "on")


def _verify(value: Any) -> bool | str:
    if value is None or isinstance(value, bool):
        return True if value is None else value
    text = _text(value)
    if text.lower() in ("", "1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    return text  # a CA bundle path
