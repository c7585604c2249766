"""Errors in OpenAI's shape, and validation messages that name the field and what was expected.

Pydantic reports a failed union once per branch ("content.str: Input should be a valid
string" for a content *list* with a bad part). `validation_error` keeps the branch that
matches what the client actually sent and words it the way a person reads a request:
`messages[0].content[1].image_url must be an object with a "url"`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class ApiError(Exception):
    """An error answered in OpenAI's error shape with an HTTP status."""

    def __init__(
        self, status: int, message: str, *, code: str = "invalid_request", param: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param

    def body(self) -> dict[str, object]:
        """The JSON body: `{"error": {...}}`."""
        kind = "invalid_request_error" if self.status < 500 else "server_error"
        return {"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}}


def _is_branch(segment: object) -> bool:
    """Whether a location segment names a union branch (a type), not a field."""
    if not isinstance(segment, str):
        return False
    return "[" in segment or segment in {"str", "int", "float", "bool"} or segment[:1].isupper()


def field_path(loc: Sequence[object]) -> tuple[str, str | None]:
    """(`messages[0].content[1].image_url`, the last union branch named) for a pydantic location."""
    path = ""
    branch: str | None = None
    skip_tag = False
    for segment in loc:
        if segment == "body" and not path:
            continue
        if _is_branch(segment):
            branch = str(segment)
            skip_tag = "tagged-union" in branch
            continue
        if isinstance(segment, int):
            path += f"[{segment}]"
            continue
        if skip_tag:  # a tagged union repeats the tag after the index: …[1].image_url.image_url
            skip_tag = False
            continue
        path += f".{segment}" if path else str(segment)
    return path, branch


def _relevant(errors: Sequence[Mapping[str, object]]) -> list[Mapping[str, object]]:
    """Drop the union branches that don't match the kind of value the client sent.

    A value our own checks refused (`value_error`: a lone surrogate, true for a number) is the
    point whichever branch it was found in.
    """
    ours = [error for error in errors if error.get("type") == "value_error"]
    if ours:
        return ours
    kept = []
    for error in errors:
        _, branch = field_path(error.get("loc", ()))  # type: ignore[arg-type]
        value = error.get("input")
        string = branch == "str" or (branch or "").endswith(", str]")  # `str`, or a checked one (`Text`)
        if string and isinstance(value, list | dict) and len(errors) > 1:
            continue  # a list or object was sent: the string branch's complaint is beside the point
        kept.append(error)
    return kept or list(errors)


def validation_error(errors: Sequence[Mapping[str, object]]) -> ApiError:
    """One clear 400 for a request that failed validation."""
    if not errors:
        return ApiError(400, "The request is not valid", code="invalid_request")
    if errors[0].get("type") == "json_invalid":
        return ApiError(400, f"The body is not valid JSON: {errors[0].get('msg')}", code="invalid_json")
    error = _relevant(errors)[0]
    path, branch = field_path(error.get("loc", ()))  # type: ignore[arg-type]
    kind = error.get("type")
    ctx: Mapping[str, object] = error.get("ctx") or {}  # type: ignore[assignment]
    if kind == "missing":
        message = f"'{path}' is required"
    elif kind == "union_tag_invalid":
        expected = str(ctx.get("expected_tags", "")).replace("'", '"')
        message = f'{path}.type must be one of {expected} (got "{ctx.get("tag")}")'
    elif kind == "union_tag_not_found":
        message = f'{path} needs a "type" ("text" or "image_url")'
    elif kind in ("model_type", "dict_type", "model_attributes_type") and branch == "ImageURL":
        message = f'{path} must be an object with a "url" (or a URL string)'
    elif kind in ("model_type", "dict_type", "model_attributes_type"):
        message = f"{path} must be an object" if path else "The request body must be a JSON object"
    elif kind in ("list_type", "string_type") and path.endswith("content") and branch is not None:
        message = f"{path} must be a string or a list of content parts"
    else:
        said = str(error.get("msg")).removeprefix("Value error, ")
        message = f"{path}: {said}" if path else said
    return ApiError(400, message, code="invalid_request", param=path or None)
