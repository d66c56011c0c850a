"""How a feedback chip looks: its text, and whether its mean score is good or bad for the config's direction.

A chip stands for every annotation of one name on a span. When they disagree it shows the split
(`correct 1 · incorrect 1`) and is coloured by the mean score, so no single annotator's label speaks for all.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from phoenix_annot.annotations.models import AnnotationConfig, AnnotationType, OptimizationDirection
from phoenix_annot.filtering.feedback import FeedbackSummary
from phoenix_annot.filtering.spans import chip_filter_params

from .templatetags.display import score as score_text


@dataclass(frozen=True)
class Chip:
    name: str
    text: str
    tone: str  # "good", "bad" or "" (no direction, no score, or a mean right in the middle)
    who: str  # "H" human, "AI" LLM/code, "H+AI" both
    count: int
    split: bool  # the annotations disagree on the label
    filter_query: str
    title: str


def chip_for(summary: FeedbackSummary, config: AnnotationConfig | None) -> Chip:
    labels = summary.label_counts
    split = len(labels) > 1
    only_label = next(iter(labels)) if len(labels) == 1 else None
    if split:
        text = " · ".join(f"{label} {n}" for label, n in labels.items())
    else:
        parts = [only_label] if only_label is not None else []
        if summary.mean_score is not None:
            parts.append(score_text(summary.mean_score))
        text = " · ".join(parts) or "—"
    mean = _mean_score(summary, config)
    who = "H+AI" if summary.has_human and summary.has_machine else ("H" if summary.has_human else "AI")
    described = ", ".join(f"{label}: {n}" for label, n in labels.items())
    return Chip(
        name=summary.name,
        text=text,
        tone=_tone(mean, config),
        who=who,
        count=summary.count,
        split=split,
        filter_query=urlencode(chip_filter_params(summary.name, label=only_label)),
        title=f"{summary.name}: {summary.count} annotation(s); {described or 'no labels'}"
        + (f"; mean score {score_text(mean)}" if mean is not None else ""),
    )


def _mean_score(summary: FeedbackSummary, config: AnnotationConfig | None) -> float | None:
    """The annotations' mean score; for labels without scores, the mean of the scores their config gives."""
    if summary.mean_score is not None or config is None or config.type != AnnotationType.CATEGORICAL:
        return summary.mean_score
    scores = config.label_scores()
    scored = {label: n for label, n in summary.label_counts.items() if scores.get(label) is not None}
    if not scored:
        return None
    return sum(scores[label] * n for label, n in scored.items()) / sum(scored.values())


def _tone(mean: float | None, config: AnnotationConfig | None) -> str:
    if mean is None or config is None or config.optimization_direction == OptimizationDirection.NONE:
        return ""
    if config.type == AnnotationType.CATEGORICAL:
        known = [s for s in config.label_scores().values() if s is not None]
        low, high = (min(known), max(known)) if known else (0.0, 1.0)
    else:
        low = config.lower_bound if config.lower_bound is not None else 0.0
        high = config.upper_bound if config.upper_bound is not None else 1.0
    if high <= low:
        return ""
    position = (mean - low) / (high - low)
    if position == 0.5:
        return ""
    good = position > 0.5
    if config.optimization_direction == OptimizationDirection.MINIMIZE:
        good = not good
    return "good" if good else "bad"
