"""Security headers on every response: a CSP without inline script, no framing, no sniffing;
and no request carrying a NUL character reaches a view."""

from __future__ import annotations

from flask import Flask, Response, abort, jsonify, request

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",  # no inline script, no eval: stored XSS has nowhere to run
    "style-src 'self' 'unsafe-inline'",  # SVG charts carry style attributes
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def init_app(app: Flask) -> None:
    @app.before_request
    def _no_nul() -> tuple[Response, int] | None:
        """PostgreSQL text cannot hold NUL, and no one types it: a 400, not a database error."""
        if any("\x00" in key or "\x00" in value
               for values in (request.args, request.form)
               for key, value in values.items(multi=True)) \
                or (request.is_json and b"\\u0000" in request.get_data()):
            why = "A parameter or field holds a NUL character."
            if request.path.startswith("/api/"):  # an API caller reads JSON, routed or not
                return jsonify({"error": why}), 400
            abort(400, why)
        return None

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if app.config["SESSION_COOKIE_SECURE"]:
            response.headers.setdefault("Strict-Transport-Security",
                                        "max-age=31536000; includeSubDomains")
        return response
