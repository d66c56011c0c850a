"""How a feedback chip looks: its text and whether its value is good or bad for the config's direction."""

from dataclasses import dataclass
from urllib.parse import urlencode

from phoenix_annot.annotations.models import AnnotationConfig, AnnotationType, OptimizationDirection
from phoenix_annot.filtering.feedback import FeedbackSummary
from phoenix_annot.filtering.spans import chip_filter_params


@dataclass(frozen=True)
class Chip:
    name: str
    text: str
    tone: str  # "good", "bad" or ""
    who: str  # "H" human, "AI" LLM/code, "H+AI" both
    count: int
    filter_query: str
    title: str


def chip_for(summary: FeedbackSummary, config: AnnotationConfig | None) -> Chip:
    top_label = next(iter(summary.label_counts), None)
    parts = [top_label] if top_label is not None else []
    if summary.mean_score is not None:
        parts.append(f"{summary.mean_score:.2f}")
    who = "H+AI" if summary.has_human and summary.has_machine else ("H" if summary.has_human else "AI")
    labels = ", ".join(f"{label} x{n}" for label, n in summary.label_counts.items())
    params = (
        chip_filter_params(summary.name, label=top_label)
        if top_label is not None
        else {"annotation_name": summary.name}
    )
    return Chip(
        name=summary.name,
        text=" · ".join(parts) or "—",
        tone=_tone(summary, top_label, config),
        who=who,
        count=summary.count,
        filter_query=urlencode(params),
        title=f"{summary.name}: {summary.count} annotation(s); {labels or 'no labels'}"
        + (f"; mean score {summary.mean_score:.3f}" if summary.mean_score is not None else ""),
    )


def _tone(summary: FeedbackSummary, label: str | None, config: AnnotationConfig | None) -> str:
    if config is None or config.optimization_direction == OptimizationDirection.NONE:
        return ""
    score = summary.mean_score
    if config.type == AnnotationType.CATEGORICAL and label is not None:
        scores = {value["label"]: value.get("score") for value in config.values}
        score = scores.get(label)
        known = [s for s in scores.values() if s is not None]
        low, high = (min(known), max(known)) if known else (0.0, 1.0)
    else:
        low = config.lower_bound if config.lower_bound is not None else 0.0
        high = config.upper_bound if config.upper_bound is not None else 1.0
    if score is None or high <= low:
        return ""
    good = (score - low) / (high - low) >= 0.5
    if config.optimization_direction == OptimizationDirection.MINIMIZE:
        good = not good
    return "good" if good else "bad"
