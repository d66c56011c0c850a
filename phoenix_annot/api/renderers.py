from typing import Any

from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

from phoenix_annot.core import fastjson


class FastJSONRenderer(JSONRenderer):
    """DRF's compact JSON, encoded by orjson: a page of 1,000 spans is megabytes of it."""

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}) is not None:
            return super().render(data, accepted_media_type, renderer_context)
        return fastjson.dumps(data, default=JSONEncoder().default)
