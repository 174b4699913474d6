"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) from the npm packages installed by ``npm ci``.

FastAPI's own pages load their scripts from a CDN and are blank offline; these load everything
from this server (``/vendor/swagger-ui/``, ``/vendor/redoc/``), and say what to run when the
packages are missing.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles

from ghostcandle.web.vendor import REDOC_JS, SWAGGER_CSS, SWAGGER_JS, redoc_dir, swagger_dir

_FAVICON = "/static/favicon.svg"
#: Only this server: ReDoc's sidebar would fetch its maker's logo from cdn.redoc.ly otherwise.
_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)
_MISSING = (
    "{page} needs the npm package {package}, which is not installed: run `npm ci` "
    "(or `make frontend-deps`) in the ghostcandle checkout, then restart the server"
)


def install(app: FastAPI) -> None:
    """Mount the packages' files and serve ``/docs`` and ``/redoc`` from them.

    Call before mounting ``/vendor`` itself: the first matching mount serves a path.
    """
    swagger, redoc = swagger_dir(), redoc_dir()
    if swagger is not None:
        app.mount("/vendor/swagger-ui", StaticFiles(directory=swagger), name="swagger-ui")
    if redoc is not None:
        app.mount("/vendor/redoc", StaticFiles(directory=redoc), name="redoc")
    openapi_url = app.openapi_url or "/openapi.json"
    title = f"{app.title} — API"

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        if swagger is None:
            return _missing("/docs", "swagger-ui-dist")
        html = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"/vendor/swagger-ui/{SWAGGER_JS}",
            swagger_css_url=f"/vendor/swagger-ui/{SWAGGER_CSS}",
            swagger_favicon_url=_FAVICON,
            # no badge from validator.swagger.io: nothing leaves the machine
            swagger_ui_parameters={"validatorUrl": None},
        )
        html.headers["Content-Security-Policy"] = _CSP
        return html

    @app.get("/redoc", include_in_schema=False)
    def redoc_page() -> Response:
        if redoc is None:
            return _missing("/redoc", "redoc")
        html = get_redoc_html(
            openapi_url=openapi_url,
            title=title,
            redoc_js_url=f"/vendor/redoc/{REDOC_JS}",
            redoc_favicon_url=_FAVICON,
            with_google_fonts=False,
        )
        html.headers["Content-Security-Policy"] = _CSP
        return html


def _missing(page: str, package: str) -> Response:
    return PlainTextResponse(_MISSING.format(page=page, package=package), status_code=503)
