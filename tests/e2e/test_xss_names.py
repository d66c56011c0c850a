"""Stored XSS in names, descriptions and labels stays text on every page that shows them, in real Chromium.

Each payload, if it ever ran, would set `window.__xss` to the field it came from or open a dialog; the
DOM is also searched for anything a payload could have planted (an element, an event handler, a
`javascript:` link), since some handlers need an event the test does not cause.
"""

from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from phoenix_annot.annotations.configs import annotation_config_create, annotation_config_set_projects
from phoenix_annot.annotations.models import AnnotationConfig, SpanAnnotation
from phoenix_annot.annotations.services import span_annotation_upsert
from phoenix_annot.datasets.models import Dataset
from phoenix_annot.datasets.services import dataset_add_spans, dataset_create
from phoenix_annot.tracing.models import Span
from phoenix_annot.tracing.services import project_create
from tests.factories import SpanFactory

pytestmark = pytest.mark.django_db(transaction=True)


def payloads(field: str) -> list[str]:
    """One attempt of each shape, marked with the field it is stored in."""
    mark = f"window.__xss='{field}'"
    return [
        f"<script>{mark}</script>",
        f'<img src=x onerror="{mark}">',
        f'"><svg onload="{mark}">',
        f"' autofocus onfocus=\"{mark}\" x='",
        f'" autofocus onfocus="{mark}" x="',
        f"javascript:{mark}",
        f"</textarea></title></option><script>alert('{field}')</script>",
    ]


# Whatever a payload could have planted: elements the templates never write, inline event handlers
# carrying a payload's mark, attributes a quote broke out into, and links with a javascript: URL.
PLANTED = """() => {
  const found = [...document.querySelectorAll("script:not([src]), img, svg, iframe")].map(e => e.outerHTML);
  for (const element of document.querySelectorAll("*")) {
    for (const attribute of element.attributes) {
      if ((attribute.name.startsWith("on") && attribute.value.includes("__xss"))
          || ["autofocus", "x"].includes(attribute.name)) {
        found.push(`${element.tagName} ${attribute.name}=${attribute.value}`);
      }
    }
  }
  for (const link of document.querySelectorAll("[href]")) {
    if (link.getAttribute("href").trim().toLowerCase().startsWith("javascript:")) found.push(link.outerHTML);
  }
  return found;
}"""
# Two frames: autofocus and late image errors have had their turn.
SETTLED = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


@pytest.fixture
def dialogs(page: Page) -> Iterator[list[str]]:
    opened: list[str] = []

    def dismiss(dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    yield opened
    assert opened == []


def assert_inert(page: Page, dialogs: list[str]) -> None:
    page.evaluate(SETTLED)
    assert page.evaluate("window.__xss") is None
    assert dialogs == []
    assert page.evaluate(PLANTED) == []


def visit(page: Page, url: str, dialogs: list[str]) -> Page:
    page.goto(url)
    assert_inert(page, dialogs)
    return page


def expect_texts(locator: Locator, texts: list[str]) -> None:
    for text in texts:
        expect(locator).to_contain_text(text)


def chip_texts(names: list[str], labels: list[str]) -> list[str]:
    return [f"{name}: {label}" for name, label in zip(names, labels, strict=True)]


def input_values(locator: Locator) -> list[str]:
    return locator.evaluate_all("elements => elements.map(e => e.value)")


def hostile_configs(span: Span) -> list[AnnotationConfig]:
    labels = payloads("config label")
    configs = []
    for name, description in zip(payloads("config name"), payloads("config description"), strict=True):
        config = annotation_config_create(
            name=name,
            type="CATEGORICAL",
            description=description,
            optimization_direction="MAXIMIZE",
            values=[{"label": label, "score": float(n)} for n, label in enumerate(labels)],
        )
        annotation_config_set_projects(config=config, projects=[span.project])
        configs.append(config)
    return configs


def annotate(span: Span, *, name: str, label: str, explanation: str | None = None) -> SpanAnnotation:
    return span_annotation_upsert(
        span=span, name=name, label=label, explanation=explanation, annotator_kind="LLM", source="API"
    )


def test_project_names_stay_text_on_the_projects_spans_and_trace_pages(reviewer_page, live_server, dialogs):
    names = payloads("project name")
    spans = [SpanFactory(trace__project=project_create(name=name)) for name in names]

    page = visit(reviewer_page, f"{live_server.url}/", dialogs)
    expect_texts(page.locator("#projects-table"), names)

    for name, span in zip(names, spans, strict=True):
        visit(page, f"{live_server.url}/projects/{span.project.pk}/", dialogs)
        assert name in page.title()
        expect(page.locator("main h1")).to_have_text(name)
        visit(page, f"{live_server.url}/traces/{span.trace.trace_id}/", dialogs)
        expect(page.locator("main .toolbar").first).to_contain_text(f"← {name}")


def test_dataset_names_and_descriptions_stay_text_on_every_dataset_page(reviewer_page, live_server, dialogs):
    span = SpanFactory()
    names, descriptions = payloads("dataset name"), payloads("dataset description")
    datasets = [
        dataset_create(name=name, description=description)
        for name, description in zip(names, descriptions, strict=True)
    ]
    for dataset in datasets:
        dataset_add_spans(dataset=dataset, spans=Span.objects.filter(pk=span.pk), user=None)

    page = visit(reviewer_page, f"{live_server.url}/datasets/", dialogs)
    expect_texts(page.locator("main"), names + descriptions)

    for dataset in datasets:
        visit(page, f"{live_server.url}/datasets/{dataset.pk}/", dialogs)
        assert dataset.name in page.title()
        expect(page.locator("main h1")).to_have_text(dataset.name)
        expect(page.locator("main")).to_contain_text(dataset.description)

    visit(page, f"{live_server.url}/projects/{span.project.pk}/", dialogs)
    options = page.locator("select[name=dataset] option")
    assert sorted(options.all_text_contents()[1:]) == sorted(names)


def test_config_names_descriptions_and_labels_stay_text_on_configs_chips_and_the_annotate_panel(
    admin_page, live_server, dialogs
):
    span = SpanFactory()
    configs = hostile_configs(span)
    labels = payloads("config label")
    for config, label in zip(configs, labels, strict=True):
        annotate(span, name=config.name, label=label)
    names = [config.name for config in configs]
    descriptions = [config.description for config in configs]

    page = visit(admin_page, f"{live_server.url}/configs/", dialogs)
    expect_texts(page.locator("#configs-table"), names + descriptions + labels)

    for config in configs:
        visit(page, f"{live_server.url}/configs/{config.pk}/", dialogs)
        expect(page.locator("input[name=name]")).to_have_value(config.name)
        expect(page.locator("textarea[name=description]")).to_have_value(config.description)
        expect(page.locator("textarea[name=values]")).to_have_value(
            "\n".join(f"{label} = {float(n)}" for n, label in enumerate(labels))
        )

    visit(page, f"{live_server.url}/projects/{span.project.pk}/", dialogs)
    chips = page.locator(f"#row-chips-{span.pk}")
    expect_texts(chips, chip_texts(names, labels))

    visit(page, f"{live_server.url}/traces/{span.trace.trace_id}/?annotate=1", dialogs)
    panel = page.locator("#panel-span")
    expect_texts(panel, names + descriptions + labels)
    assert sorted(input_values(panel.locator("input[type=hidden][name=name]"))) == sorted(names)
    assert input_values(panel.locator("input[type=radio]")) == labels * len(configs)


def test_annotation_names_labels_and_explanations_stay_text_on_projects_spans_and_trace_pages(
    reviewer_page, live_server, dialogs
):
    span = SpanFactory()
    names, labels = payloads("annotation name"), payloads("annotation label")
    explanations = payloads("annotation explanation")
    for name, label, explanation in zip(names, labels, explanations, strict=True):
        annotate(span, name=name, label=label, explanation=explanation)

    page = visit(reviewer_page, f"{live_server.url}/", dialogs)
    expect_texts(page.locator("#projects-table"), names)

    visit(page, f"{live_server.url}/projects/{span.project.pk}/", dialogs)
    expect_texts(page.locator(f"#row-chips-{span.pk}"), chip_texts(names, labels))
    expect_texts(page.locator(".rollups"), names + labels)

    visit(page, f"{live_server.url}/traces/{span.trace.trace_id}/", dialogs)
    expect_texts(page.locator("#panel-span .annotation-list"), names + labels + explanations)


def test_payloads_typed_into_the_annotate_panel_and_the_dataset_form_come_back_as_text(
    reviewer_page, live_server, dialogs
):
    span = SpanFactory()
    name, label, explanation = (payloads(field)[n] for n, field in enumerate(["name", "label", "why"]))
    dataset_name = payloads("new dataset")[3]
    page = visit(reviewer_page, f"{live_server.url}/traces/{span.trace.trace_id}/?annotate=1", dialogs)

    page.locator("#panel-span summary", has_text="Another annotation name").click()
    form = page.locator("#panel-span details form")
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=label]").fill(label)
    form.locator("textarea[name=explanation]").fill(explanation)
    form.get_by_role("button", name="Save").click()

    expect_texts(page.locator("#panel-span .annotation-list"), [name, label, explanation])
    expect(page.locator(f"#chips-{span.pk}")).to_contain_text(f"{name}: {label}")
    assert_inert(page, dialogs)

    visit(page, f"{live_server.url}/projects/{span.project.pk}/", dialogs)
    page.locator(".row-select").first.check()
    page.fill("input[name=new_dataset_name]", dataset_name)
    page.click("#add-to-dataset")

    expect(page.locator("main h1")).to_have_text(dataset_name)
    expect(page.locator(".messages")).to_contain_text(dataset_name)
    assert_inert(page, dialogs)
    assert Dataset.objects.get().name == dataset_name


def test_a_config_saved_through_the_form_with_hostile_text_comes_back_as_text(
    admin_page, live_server, dialogs
):
    name, description = payloads("form name")[4], payloads("form description")[6]
    label = "<script>alert('form label')</script>"  # the values box splits lines at '='
    page = visit(admin_page, f"{live_server.url}/configs/new/", dialogs)

    page.fill("input[name=name]", name)
    page.fill("textarea[name=description]", description)
    page.select_option("select[name=type]", "CATEGORICAL")
    page.fill("textarea[name=values]", f"{label} = 1\nfine = 0")
    page.click("main button[type=submit]")

    expect(page.locator(".messages")).to_contain_text("Saved annotation config")
    expect_texts(page.locator("#configs-table"), [name, description, label])
    assert_inert(page, dialogs)
    config = AnnotationConfig.objects.get()
    assert (config.name, config.description, config.values[0]["label"]) == (name, description, label)
