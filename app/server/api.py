"""An OpenAI-compatible HTTP API over SmolSight's engine (FastAPI).

Endpoints: `GET /health`, `GET /v1/models`, `POST /v1/chat/completions` (with SSE streaming),
`GET/PATCH /api/v1/config` (`app/server/routes.py`); every body is a model of
`app/server/schema.py`. Every error is answered in OpenAI's error shape; the server never dies
on a bad request.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import __version__
from app.server import routes
from app.server.errors import ApiError, validation_error
from app.server.middleware import LimitsAndAuth, TrustedHosts
from app.server.state import ApiPolicy, ServedModel

__all__ = ["ApiPolicy", "ServedModel", "create_app"]


def create_app(served: ServedModel, options: ApiPolicy | None = None) -> FastAPI:
    """The FastAPI application answering with `served`'s model thread (a bounded FIFO), as `options` say."""
    opts = options or ApiPolicy()
    # The docs page's scripts are served from the package itself: the API docs work offline.
    app = FastAPIOffline(
        title="SmolSight",
        version=__version__,
        description="OpenAI-compatible chat completions with images, served by SmolSight's SmolVLM2 engine.",
    )
    app.state.served = served  # what the routes read (`routes.served_model`, `routes.api_policy`)
    app.state.options = opts
    app.add_middleware(LimitsAndAuth, options=opts)
    if opts.cors_origins:  # outermost (added last): a browser's preflight carries no key
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(opts.cors_origins),
            allow_methods=["GET", "POST", "PATCH", "OPTIONS"],
            allow_headers=["*"],
        )
    app.add_middleware(TrustedHosts, allowed=opts.allowed_hosts)  # outermost: before anything is read
    _answer_errors(app, opts)
    for router in (routes.status, routes.openai, routes.settings):
        app.include_router(router)
    return app


def _answer_errors(app: FastAPI, opts: ApiPolicy) -> None:
    """Every failure as OpenAI's error body with its status; a bad body is a 400 naming the field."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        headers = {"Retry-After": str(opts.retry_after_s)} if exc.status in (429, 503) else None
        return JSONResponse(exc.body(), status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(validation_error(exc.errors()).body(), status_code=400)

    @app.exception_handler(ValidationError)
    async def _invalid_body(_request: Request, exc: ValidationError) -> JSONResponse:
        return JSONResponse(validation_error(exc.errors()).body(), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}.get(
            exc.status_code, "http_error"
        )
        return JSONResponse(
            ApiError(exc.status_code, str(exc.detail), code=code).body(), status_code=exc.status_code
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        error = ApiError(500, f"Internal error: {type(exc).__name__}", code="internal_error")
        return JSONResponse(error.body(), status_code=500)
