import json

from django import template

from phoenix_annot.annotations.models import AnnotationConfig
from phoenix_annot.filtering.feedback import FeedbackSummary

from ..chips import Chip, chip_for

register = template.Library()


@register.simple_tag
def chips(summaries: list[FeedbackSummary], configs: dict[str, AnnotationConfig]) -> list[Chip]:
    return [chip_for(summary, configs.get(summary.name)) for summary in summaries]


@register.filter
def get_item(mapping: dict, key: object) -> object:
    return mapping.get(key)


@register.filter
def pretty_json(value: object) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)
