"""HTTP helpers shared by the two HTTP adapters (`portal/api` and `portal/web`).

- `errors`: every error handler, once; JSON (the API's error shape) under /umm,
  /healthz and /metrics, pages or HTMX notices elsewhere (`wants_json()` decides).
- `headers`: the security headers every response carries.
- `throttle`: the login throttle both sign-ins share.
- `multipart`: multipart uploads streamed straight into ECM_UPLOAD_DIR.

Nothing here imports `portal.api` or `portal.web`: the factory hands the portal's
error pages to `errors.register`.
"""
