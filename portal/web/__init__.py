"""The HTML adapter: server-rendered pages with HTMX partials."""

from __future__ import annotations

from datetime import datetime

from flask import (
    Flask,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal.extensions import login_manager
from portal.http.errors import Pages
from portal.services import enums, roles
from portal.services.errors import (
    Forbidden,
    NotFound,
    ServiceError,
    Unauthorized,
    ValidationFailed,
)
from portal.web.htmx import is_htmx_fragment, notice_only

HTTP_MESSAGES = {
    400: "The request could not be understood.",
    403: "You do not have permission to do this.",
    404: "This page does not exist.",
    405: "This action is not available here.",
    413: "The upload is larger than the allowed size.",
    429: "Too many attempts; wait a minute and try again.",
}


def register(app: Flask) -> None:
    """Attach the portal's blueprints, the session user loader and template helpers."""
    from portal.web import (
        auth,
        campaigns,
        consent,
        dashboard,
        dnc,
        settings,
        strategies,
    )

    for module in (auth, dashboard, campaigns, strategies, dnc, consent, settings):
        app.register_blueprint(module.bp)
    from portal.web.uploads import bp as uploads_bp

    app.register_blueprint(uploads_bp)
    from portal.web import steering

    app.register_blueprint(steering.bp)
    app.add_template_global(steering.contact_filters.describe, "describe_filter")
    app.jinja_env.globals["DIAL_ORDER_LABELS"] = steering.DIAL_ORDER_LABELS

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user)
    login_manager.unauthorized_handler(_unauthorized)

    app.context_processor(_template_helpers)
    app.jinja_env.globals.update(
        home_url=home_url,
        CALL_RESULTS=enums.CALL_RESULTS,
        REQUEST_STATES=enums.REQUEST_STATES,
        CAMPAIGN_TYPES=enums.CAMPAIGN_TYPES,
        CHANNELS=enums.CHANNELS,
        CampaignStatus=enums.CampaignStatus,
        Channel=enums.Channel,
        UploadState=enums.UploadState,
        DIALER_CHOICES=[(d, d.replace("_", " ").title()) for d in enums.DIALER_TYPES],
    )
    app.add_template_filter(format_time, "dt")
    app.add_template_filter(format_duration, "duration")
    app.add_template_filter(enums.call_result_name, "result_name")


def home_url() -> str:
    """Where the brand link and a successful sign-in lead: the dashboard."""
    return url_for("dashboard.index")


def load_user(session_id: str):
    """Resolve "id:version" and the server-side session; stale or ended is None."""
    from flask import session

    from portal.services import auth
    from portal.web.auth import SESSION_ID

    try:
        user_id, version = (int(part) for part in str(session_id).split(":", 1))
    except ValueError:
        return None
    return auth.portal_session_user(user_id, version, session.get(SESSION_ID))


def _unauthorized():
    target = url_for("auth.login", next=request.full_path.rstrip("?"))
    if request.headers.get("HX-Request") == "true":
        return "", 401, {"HX-Redirect": target}
    from flask import flash

    flash(login_manager.login_message, "info")
    return redirect(target)


def _template_helpers() -> dict:
    user = current_user if current_user and current_user.is_authenticated else None
    return {
        "can_write": roles.can_write(user),
        "is_admin": roles.is_admin(user),
    }


def format_time(value: datetime | None, seconds: bool = False) -> str:
    """Show a naive-UTC timestamp the same way on every page."""
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + " UTC"


def format_duration(seconds: float | int | None) -> str:
    """Say an age the way a manager reads it: 45 s, 12 min, 9 h 40 min, 2 d 3 h."""
    if seconds is None:
        return ""
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def _error_page(status: int, message: str):
    if is_htmx_fragment():
        return notice_only(message, "error", status)
    return render_template("error.html", status=status, message=message), status


def http_error_page(exc: HTTPException):
    """Plain HTTP errors as a page, or as a notice for an HTMX swap."""
    status = exc.code or 500
    if isinstance(exc, CSRFError):
        message = (
            "This form has expired or was not sent by the portal. Reload and try again."
        )
    else:
        message = HTTP_MESSAGES.get(status) or exc.description or exc.name
    response = current_app.make_response(_error_page(status, message))
    if status == 405 and getattr(exc, "valid_methods", None):
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    if status == 429:
        response.headers["Retry-After"] = str(getattr(exc, "retry_after", None) or 60)
    return response


def service_error_page(exc: ServiceError):
    """The one place service errors become pages: field errors go back into the form."""
    form_view = g.get("form_view")
    if isinstance(exc, (ValidationFailed, Unauthorized)) and form_view:
        page, partial, ctx, build = form_view
        if build is not None:
            ctx = {**build(), **ctx}
        status = 422 if isinstance(exc, ValidationFailed) else 401
        errors = exc.fields or {"_form": exc.message}
        template = partial if is_htmx_fragment() else page
        return render_template(template, errors=errors, **ctx), status
    if isinstance(exc, Unauthorized):
        return _unauthorized()
    if isinstance(exc, ValidationFailed):
        details = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        return _error_page(422, f"{exc.message}: {details}" if details else exc.message)
    if isinstance(exc, Forbidden):
        return _error_page(403, HTTP_MESSAGES[403])
    if isinstance(exc, NotFound):
        return _error_page(404, exc.message)
    return _error_page(exc.status, exc.message)


ERROR_PAGES = Pages(http_error=http_error_page, service_error=service_error_page)
