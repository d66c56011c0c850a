"""Realistic demo traces, produced by the real OpenTelemetry SDK and encoded as an OTLP exporter encodes them.

Three applications are played on a simulated clock (so latencies look real without sleeping): a customer
support RAG bot over a help center ("support-rag"), a travel-booking agent with tools ("travel-agent"), both
traced with OpenInference, and a weather agent traced with OpenTelemetry's GenAI conventions only, as
pydantic-ai sends them ("weather-agent").
Everything is seeded: ids and content are the same on every run, only the time base moves with `now`, so
loading the scenario twice stores nothing new.
"""

import json
import random
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_ON
from opentelemetry.trace import Span, Status, StatusCode, Tracer
from opentelemetry.util.types import AttributeValue

SUPPORT_PROJECT = "support-rag"
TRAVEL_PROJECT = "travel-agent"
WEATHER_PROJECT = "weather-agent"
PROJECT_NAMES = (SUPPORT_PROJECT, TRAVEL_PROJECT, WEATHER_PROJECT)
CORRECTNESS = "correctness"
HALLUCINATION = "hallucination"
RELEVANCE = "relevance"
USER_FEEDBACK = "user_feedback"
EVALS_IDENTIFIER = "demo-evals"
OUTCOME = "outcome"
SESSION_OUTCOMES = {
    "resolved": "The user got what they came for and said so.",
    "unresolved": "The user left without an answer that worked.",
    "unknown": "The user stopped replying; no way to tell.",
}
FEEDBACK_IDENTIFIER = "demo-end-users"
# Editing the scenario or a seed changes the ids: a database loaded before the edit gets a second copy.
ID_SEED = 20240611
CONTENT_SEED = 7
SUPPORT_TRACES = 54
TRAVEL_TRACES = 32
WEATHER_TRACES = 8
HISTORY = timedelta(days=4)
NS_PER_MS = 1_000_000
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Attributes = dict[str, AttributeValue]


class SeededIdGenerator(IdGenerator):
    """Trace and span ids from a seeded generator: the same scenario always gets the same ids."""

    def __init__(self, seed: int) -> None:
        self._random = random.Random(seed)

    def generate_span_id(self) -> int:
        return self._random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self._random.getrandbits(128) or 1


class MemorySpanExporter(SpanExporter):
    """Keeps finished spans so they can be encoded in one request rather than sent over HTTP."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS


@dataclass(frozen=True)
class DemoAnnotation:
    span_id: str
    name: str
    annotator_kind: str
    identifier: str
    label: str | None
    score: float
    explanation: str


@dataclass(frozen=True)
class DemoDocumentAnnotation:
    """A judge's relevance of one retrieved document: its span and position in `retrieval.documents`."""

    span_id: str
    document_position: int
    label: str
    score: float
    explanation: str


@dataclass(frozen=True)
class DemoSessionAnnotation:
    """A reviewer's outcome of a whole conversation; `unknown` has no score, so means leave it out."""

    session_id: str
    label: str
    score: float | None
    explanation: str


@dataclass(frozen=True)
class DemoScenario:
    request: ExportTraceServiceRequest
    annotations: list[DemoAnnotation]
    document_annotations: list[DemoDocumentAnnotation] = field(default_factory=list)
    session_annotations: list[DemoSessionAnnotation] = field(default_factory=list)


class RateLimitError(Exception):
    """What a provider's client raises on HTTP 429."""


# --- content: the help center and the support questions ---------------------------------------------


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    slug: str
    content: str


ARTICLES = (
    Article(
        "kb-1001",
        "Refund policy",
        "refund-policy",
        "Annual plans can be refunded in full within 30 days of purchase. After 30 days annual plans are "
        "non-refundable, but you can turn off auto-renewal at any time. Monthly plans are not refunded: "
        "cancelling stops the next charge and you keep access until the end of the paid period. Owners "
        "request a refund under Settings → Billing → Cancel plan; refunds reach the card in 5 to 10 business "
        "days.",
    ),
    Article(
        "kb-1002",
        "Changing your plan",
        "changing-plans",
        "Upgrades take effect immediately and are prorated to the day: you pay the difference for the rest "
        "of the current billing period on your next invoice. Downgrades take effect at the next renewal "
        "date. Seats removed in the middle of a cycle are credited to the next invoice.",
    ),
    Article(
        "kb-1003",
        "Single sign-on (SAML)",
        "saml-sso",
        "SAML 2.0 single sign-on is available on the Business and Enterprise plans. Supported identity "
        "providers: Okta, Microsoft Entra ID (Azure AD), Google Workspace and OneLogin. An organization "
        "owner configures SSO under Settings → Security → SSO by uploading the IdP metadata XML. When SSO "
        "is enforced, password login is disabled for members. SCIM user provisioning is Enterprise only.",
    ),
    Article(
        "kb-1004",
        "Two-factor authentication",
        "two-factor-authentication",
        "Members can protect their account with an authenticator app (TOTP) or a hardware security key "
        "(WebAuthn). SMS codes are not supported. Ten single-use recovery codes are shown when 2FA is "
        "turned on. A member who has lost both their device and their recovery codes can ask a workspace "
        "owner to reset their 2FA under Settings → Members.",
    ),
    Article(
        "kb-1005",
        "API rate limits",
        "api-rate-limits",
        "Each API token can make 600 requests per minute on the Business and Enterprise plans and 120 "
        "requests per minute on the Free and Team plans. Requests over the limit get HTTP 429 with a "
        "Retry-After header giving the seconds to wait. Webhook deliveries do not count towards the limit.",
    ),
    Article(
        "kb-1006",
        "Exporting your data",
        "data-export",
        "Workspace owners can export every project as CSV or JSON under Settings → Data → Export. The "
        "export contains tasks, comments and attachment metadata; attachment files come as a separate ZIP "
        "download link that is valid for 7 days. Large exports are emailed to the owner when ready.",
    ),
    Article(
        "kb-1007",
        "Deleting and restoring a workspace",
        "workspace-deletion",
        "Only the owner can delete a workspace. A deleted workspace stays soft-deleted for 14 days, during "
        "which Orbit support can restore it on request from the owner's account. After 14 days it is "
        "erased permanently and removed from backups within 35 days.",
    ),
    Article(
        "kb-1008",
        "Storage and upload limits",
        "storage-limits",
        "Attachment storage per workspace: Free 2 GB, Team 100 GB, Business 1 TB, Enterprise custom. A "
        "single upload can be up to 250 MB, or 2 GB on Enterprise.",
    ),
    Article(
        "kb-1009",
        "Slack integration",
        "slack-integration",
        "Connect Slack under Integrations → Slack, then pick a channel for each project. Orbit posts task "
        "assignments, comments and due-date reminders. If your Slack workspace requires app approval, a "
        "Slack admin must approve the Orbit app before any notification is delivered.",
    ),
    Article(
        "kb-1010",
        "Guests",
        "guest-access",
        "On the Team plan and above you can invite guests, who only see the projects they are added to. "
        "Each paid seat includes up to 5 free guests. Guests cannot create projects or browse the member "
        "directory.",
    ),
    Article(
        "kb-1011",
        "Invoices and VAT",
        "invoices-vat",
        "Download invoices under Settings → Billing → Invoices. Add a VAT ID and billing address under "
        "Settings → Billing → Company details; changes apply to future invoices only. Enterprise customers "
        "can pay by bank transfer on net-30 terms.",
    ),
    Article(
        "kb-1012",
        "Mobile apps and offline use",
        "mobile-offline",
        "The iOS (16 and later) and Android (10 and later) apps keep the projects you opened in the last 30 "
        "days available offline. Changes made offline sync when you reconnect; if someone else edited the "
        "same task, both versions are kept and the other one is added as a comment.",
    ),
    Article(
        "kb-1013",
        "Password reset",
        "password-reset",
        "Password reset links are valid for 1 hour. Workspaces that enforce SSO do not send reset emails, "
        "because members sign in through their identity provider.",
    ),
    Article(
        "kb-1014",
        "Uptime and SLA",
        "uptime-sla",
        "Live service status is published at status.orbit.example. Enterprise plans include a 99.9% "
        "monthly uptime SLA with service credits; other plans have no contractual SLA.",
    ),
)
ARTICLES_BY_ID = {article.id: article for article in ARTICLES}


@dataclass(frozen=True)
class Flaw:
    """A bad answer the bot sometimes gives, and what an evaluator says about it."""

    answer: str
    hallucinated: bool
    explanation: str


@dataclass(frozen=True)
class SupportCase:
    phrasings: tuple[str, ...]
    article_ids: tuple[str, ...]
    answer: str
    flaw: Flaw | None = None


SUPPORT_CASES = (
    SupportCase(
        (
            "Can I get a refund on my annual plan? I bought it 3 weeks ago.",
            "we paid for a full year two weeks ago but the team won't use Orbit after all. money back?",
        ),
        ("kb-1001",),
        "Yes. Annual plans can be refunded in full within 30 days of purchase, so you are still eligible. "
        "The workspace owner can request it under Settings → Billing → Cancel plan; the refund reaches "
        "your card in 5 to 10 business days.",
        Flaw(
            "Yes! Annual plans can be refunded within 60 days, and after that we refund the unused months "
            "on a prorated basis.",
            hallucinated=True,
            explanation="The refund policy allows a full refund within 30 days and says annual plans are "
            "non-refundable afterwards; the 60-day window and prorated refunds are invented.",
        ),
    ),
    SupportCase(
        ("Does Orbit support SSO with Okta?", "How do I set up SAML single sign-on with Azure AD?"),
        ("kb-1003",),
        "Yes. SAML 2.0 SSO is available on the Business and Enterprise plans and works with Okta, "
        "Microsoft Entra ID (Azure AD), Google Workspace and OneLogin. An organization owner sets it up "
        "under Settings → Security → SSO by uploading your IdP metadata XML. Automatic provisioning (SCIM) "
        "needs Enterprise.",
        Flaw(
            "SSO is available on every plan, including Free. Go to Settings → Integrations → Okta and sign "
            "in with your Okta admin account.",
            hallucinated=True,
            explanation="The context limits SSO to Business and Enterprise and describes uploading IdP "
            "metadata under Settings → Security → SSO; the answer contradicts both.",
        ),
    ),
    SupportCase(
        (
            "I lost my phone and can't log in, 2FA is on. What do I do?",
            "New phone, my authenticator app codes are gone. How do I get back into my account?",
        ),
        ("kb-1004",),
        "Use one of the ten single-use recovery codes you saved when you turned on 2FA. If you don't have "
        "them, ask your workspace owner to reset your 2FA under Settings → Members, then set it up again "
        "on the new phone.",
        Flaw(
            "No problem: click 'Send code by SMS' on the login page and we'll text a code to the phone "
            "number on your account.",
            hallucinated=True,
            explanation="The 2FA article states that SMS codes are not supported; recovery codes or an "
            "owner reset are the documented ways back in.",
        ),
    ),
    SupportCase(
        (
            "What's the API rate limit on the Business plan?",
            "Our integration keeps getting 429 errors from the API. What are the limits?",
        ),
        ("kb-1005",),
        "On Business (and Enterprise) each API token can make 600 requests per minute; Free and Team get "
        "120. Over the limit the API answers HTTP 429 with a Retry-After header saying how many seconds to "
        "wait. Webhook deliveries don't count.",
        Flaw(
            "Business plans have no API rate limit, so 429 errors mean a temporary outage on our side. "
            "Please check status.orbit.example.",
            hallucinated=True,
            explanation="The rate-limit article gives 600 requests per minute per token for Business and "
            "explains that 429 means the limit was exceeded; 'no rate limit' is unsupported.",
        ),
    ),
    SupportCase(
        ("How can I export all of our projects?", "is there a way to download everything as CSV"),
        ("kb-1006",),
        "A workspace owner can export every project as CSV or JSON under Settings → Data → Export. It "
        "includes tasks, comments and attachment metadata; the attachment files come as a separate ZIP "
        "link valid for 7 days. Large exports are emailed when ready.",
    ),
    SupportCase(
        (
            "I accidentally deleted our workspace yesterday!! Can it be restored?",
            "Can support undo a workspace deletion from this morning?",
        ),
        ("kb-1007",),
        "Very likely, yes. Deleted workspaces stay soft-deleted for 14 days and support can restore them "
        "during that time. Please write to us from the owner's account with the workspace URL and we'll "
        "start the restore.",
        Flaw(
            "I'm sorry, deleted workspaces are erased immediately and cannot be recovered.",
            hallucinated=True,
            explanation="The context says deleted workspaces are kept for 14 days and can be restored by "
            "support; the answer contradicts it and would lose the customer's data.",
        ),
    ),
    SupportCase(
        ("What's the maximum file size I can upload?", "Upload fails for a 400MB video, is there a limit?"),
        ("kb-1008",),
        "A single upload can be up to 250 MB (2 GB on Enterprise), which is why a 400 MB file fails on "
        "other plans. Total storage is 2 GB on Free, 100 GB on Team and 1 TB on Business.",
    ),
    SupportCase(
        ("If I upgrade from Team to Business mid-month, how am I charged?",),
        ("kb-1002",),
        "The upgrade takes effect immediately and is prorated to the day: your next invoice includes the "
        "difference between Team and Business for the rest of the current billing period.",
        Flaw(
            "Downgrades take effect at your next renewal date, and seats removed mid-cycle are credited "
            "to the next invoice.",
            hallucinated=False,
            explanation="Everything stated is in the context, but it describes downgrades; the customer "
            "asked how an upgrade is charged (immediately, prorated to the day).",
        ),
    ),
    SupportCase(
        (
            "Slack notifications aren't showing up after I connected the integration",
            "connected slack yesterday, nothing posts in our channel",
        ),
        ("kb-1009",),
        "Two things to check: each project needs a channel picked under Integrations → Slack, and if your "
        "Slack workspace requires app approval, a Slack admin must approve the Orbit app before any "
        "notification is delivered.",
    ),
    SupportCase(
        ("Can I invite a client to see just one project without paying for a seat?",),
        ("kb-1010",),
        "Yes, on Team and above: invite them as a guest and add them only to that project. Each paid seat "
        "includes up to 5 free guests, and guests can't create projects or browse your member directory.",
        Flaw(
            "I don't have information about that. Would you like me to connect you with a human agent?",
            hallucinated=False,
            explanation="The retrieved 'Guests' article answers the question directly (free guests "
            "limited to chosen projects), but the bot declined to answer.",
        ),
    ),
    SupportCase(
        ("How do I add our VAT number to invoices? We need it on last month's invoice too.",),
        ("kb-1011",),
        "Add your VAT ID under Settings → Billing → Company details. It applies to future invoices only, "
        "so last month's invoice won't change; I can connect you with billing if you need it reissued.",
        Flaw(
            "Add it under Settings → Billing → Company details and all your past invoices will be "
            "regenerated with the VAT ID automatically.",
            hallucinated=True,
            explanation="The invoices article says VAT and address changes apply to future invoices only; "
            "regenerating past invoices is not mentioned anywhere.",
        ),
    ),
    SupportCase(
        ("Does the Android app work offline?", "can I edit tasks on a plane with the iphone app?"),
        ("kb-1012",),
        "Yes. The iOS and Android apps keep projects you opened in the last 30 days available offline, "
        "and your edits sync when you reconnect. If someone changed the same task meanwhile, both versions "
        "are kept and the other one is added as a comment.",
    ),
    SupportCase(
        ("The password reset email never arrives", "forgot password but no reset mail, checked spam"),
        ("kb-1013", "kb-1003"),
        "If your workspace enforces SSO, no reset email is sent: sign in through your identity provider "
        "instead. Otherwise request a new link and use it within 1 hour, since reset links expire.",
    ),
    SupportCase(
        ("Will you sign a HIPAA BAA?", "is Orbit HIPAA compliant"),
        (),
        "I couldn't find anything about HIPAA in our help center. Let me connect you with our team so "
        "someone can answer this accurately.",
        Flaw(
            "Yes, Orbit signs a HIPAA Business Associate Agreement on the Enterprise plan.",
            hallucinated=True,
            explanation="None of the retrieved articles mention HIPAA or a BAA; the claim is not "
            "supported by the context.",
        ),
    ),
    SupportCase(
        ("What uptime do you guarantee?", "do you have an SLA"),
        ("kb-1014",),
        "Enterprise plans include a 99.9% monthly uptime SLA with service credits; other plans have no "
        "contractual SLA. Live status is at status.orbit.example.",
    ),
)

SUPPORT_PROMPT_TEMPLATE = (
    "You are Orbit's support assistant. Answer the customer's question using only the context below. If "
    "the context does not contain the answer, say so and offer to connect them with a human agent. Keep "
    "answers under 120 words.\n\nContext:\n{context}"
)

# --- content: the travel agent's tools and requests ----------------------------------------------------


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, str]
    # External APIs time out now and then; the agent retries them.
    flaky: bool = False

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                name: {"type": "string", "description": doc} for name, doc in self.parameters.items()
            },
            "required": list(self.parameters),
        }


TOOLS = {
    tool.name: tool
    for tool in (
        Tool(
            "search_flights",
            "Search flights between two airports on a date.",
            {"origin": "IATA code", "destination": "IATA code", "date": "YYYY-MM-DD", "cabin": "cabin class"},
            flaky=True,
        ),
        Tool(
            "search_hotels",
            "Search hotels in a city for a stay, with an optional nightly price cap in USD.",
            {"city": "city name", "check_in": "YYYY-MM-DD", "check_out": "YYYY-MM-DD", "max_price": "USD"},
            flaky=True,
        ),
        Tool(
            "get_weather_forecast",
            "Daily weather forecast for a city.",
            {"city": "city name", "date": "YYYY-MM-DD"},
        ),
        Tool(
            "convert_currency",
            "Convert an amount between currencies at today's rate.",
            {"amount": "number", "from_currency": "ISO 4217", "to_currency": "ISO 4217"},
        ),
        Tool(
            "book_flight",
            "Book a seat on a flight for one passenger; returns a confirmation code.",
            {"flight_id": "id from search_flights", "passenger_name": "full name as on passport"},
        ),
    )
}
TOOL_HOSTS = {"search_flights": "api.skyroutes.example", "search_hotels": "api.staybook.example"}


@dataclass(frozen=True)
class ToolStep:
    tool: str
    arguments: dict[str, Any]
    result: Any


@dataclass(frozen=True)
class TravelCase:
    request: str
    steps: tuple[ToolStep, ...]
    answer: str
    flaw: Flaw | None = None


BOS_LIS_FLIGHTS = [
    {
        "flight_id": "TP218",
        "airline": "TAP Air Portugal",
        "depart": "2025-05-14T18:05",
        "stops": 0,
        "price": 612,
    },
    {"flight_id": "AZ611", "airline": "ITA Airways", "depart": "2025-05-14T16:40", "stops": 1, "price": 488},
    {"flight_id": "UA914", "airline": "United", "depart": "2025-05-14T21:15", "stops": 1, "price": 540},
]
SFO_JFK_FLIGHTS = [
    {"flight_id": "UA1536", "airline": "United", "depart": "2025-10-02T07:00", "stops": 1, "price": 189},
    {"flight_id": "B6416", "airline": "JetBlue", "depart": "2025-10-02T08:30", "stops": 0, "price": 214},
    {"flight_id": "DL431", "airline": "Delta", "depart": "2025-10-02T11:55", "stops": 0, "price": 259},
]

TRAVEL_CASES = (
    TravelCase(
        "Find me a flight from Boston to Lisbon on May 14, economy.",
        (
            ToolStep(
                "search_flights",
                {"origin": "BOS", "destination": "LIS", "date": "2025-05-14", "cabin": "economy"},
                BOS_LIS_FLIGHTS,
            ),
        ),
        "Here are the best options from Boston to Lisbon on May 14:\n"
        "1. TAP Air Portugal TP218, nonstop, departs 18:05, $612\n"
        "2. ITA Airways AZ611, 1 stop, departs 16:40, $488 (cheapest)\n"
        "3. United UA914, 1 stop, departs 21:15, $540\n"
        "Want me to book one? I'll need the passenger's full name as on the passport.",
    ),
    TravelCase(
        "I need a hotel in Lisbon from May 14 to 18, under 180 euros a night, ideally near Alfama.",
        (
            ToolStep(
                "convert_currency",
                {"amount": 180, "from_currency": "EUR", "to_currency": "USD"},
                {"rate": 1.083, "converted": 194.94},
            ),
            ToolStep(
                "search_hotels",
                {"city": "Lisbon", "check_in": "2025-05-14", "check_out": "2025-05-18", "max_price": 195},
                [
                    {"name": "Memmo Alfama", "neighborhood": "Alfama", "rating": 4.7, "price_per_night": 189},
                    {
                        "name": "Lisbon Story Guesthouse",
                        "neighborhood": "Baixa",
                        "rating": 4.5,
                        "price_per_night": 121,
                    },
                    {
                        "name": "Hotel Convento do Salvador",
                        "neighborhood": "Alfama",
                        "rating": 4.4,
                        "price_per_night": 142,
                    },
                ],
            ),
        ),
        "180 EUR is about $195 a night. In Alfama, Hotel Convento do Salvador is $142/night (rated 4.4) and "
        "Memmo Alfama is $189/night (4.7, with a rooftop pool), both within budget for May 14 to 18. If you "
        "don't mind Baixa, Lisbon Story Guesthouse is $121/night.",
        Flaw(
            "Memmo Alfama at €189 a night is the best fit for May 14 to 18.",
            hallucinated=False,
            explanation="Tool prices are in USD: the answer quotes Memmo Alfama at €189, over the "
            "traveller's €180 budget, and leaves out the cheaper Alfama option, Convento do Salvador "
            "at $142.",
        ),
    ),
    TravelCase(
        "What's the weather going to be in Reykjavik on March 3? Should I pack for snow?",
        (
            ToolStep(
                "get_weather_forecast",
                {"city": "Reykjavik", "date": "2025-03-03"},
                {
                    "summary": "Snow showers, strong wind",
                    "high_c": 1,
                    "low_c": -4,
                    "precipitation_chance": 0.7,
                },
            ),
        ),
        "Reykjavik on March 3 looks wintry: snow showers, strong wind, between -4°C and 1°C, 70% chance of "
        "precipitation. Yes, pack for snow: waterproof boots, a windproof shell and warm layers.",
    ),
    TravelCase(
        "Book TAP flight TP218 for Maria Gonzalez please.",
        (
            ToolStep(
                "book_flight",
                {"flight_id": "TP218", "passenger_name": "Maria Gonzalez"},
                {"confirmation": "QX7R2M", "status": "CONFIRMED"},
            ),
        ),
        "Done! Maria Gonzalez is booked on TAP TP218, Boston to Lisbon on May 14 at 18:05. Confirmation "
        "code: QX7R2M.",
    ),
    TravelCase(
        "Weekend in Barcelona from Berlin, June 6 to 8: flights and a hotel under $200 a night.",
        (
            ToolStep(
                "search_flights",
                {"origin": "BER", "destination": "BCN", "date": "2025-06-06", "cabin": "economy"},
                [
                    {
                        "flight_id": "VY1887",
                        "airline": "Vueling",
                        "depart": "2025-06-06T17:20",
                        "stops": 0,
                        "price": 134,
                    },
                    {
                        "flight_id": "FR2514",
                        "airline": "Ryanair",
                        "depart": "2025-06-06T06:35",
                        "stops": 0,
                        "price": 79,
                    },
                ],
            ),
            ToolStep(
                "search_hotels",
                {"city": "Barcelona", "check_in": "2025-06-06", "check_out": "2025-06-08", "max_price": 200},
                [
                    {
                        "name": "Hotel Casa Bonay",
                        "neighborhood": "Eixample",
                        "rating": 4.6,
                        "price_per_night": 198,
                    },
                    {
                        "name": "Generator Barcelona",
                        "neighborhood": "Gràcia",
                        "rating": 4.1,
                        "price_per_night": 96,
                    },
                ],
            ),
        ),
        "Flights on Friday June 6: Ryanair FR2514 at 06:35 for $79, or Vueling VY1887 at 17:20 for $134, "
        "both nonstop. Hotels for two nights: Hotel Casa Bonay in Eixample ($198/night, 4.6) or Generator "
        "Barcelona in Gràcia ($96/night, 4.1). Shall I book the Friday evening Vueling flight?",
    ),
    TravelCase(
        "How much is 1,250 USD in Japanese yen?",
        (
            ToolStep(
                "convert_currency",
                {"amount": 1250, "from_currency": "USD", "to_currency": "JPY"},
                {"rate": 151.42, "converted": 189275.0},
            ),
        ),
        "1,250 USD is about ¥189,275 at today's rate of 151.42 yen per dollar.",
    ),
    TravelCase(
        "Is it going to rain in Seattle on Saturday the 12th? Thinking about the ferry to Bainbridge.",
        (
            ToolStep(
                "get_weather_forecast",
                {"city": "Seattle", "date": "2025-04-12"},
                {
                    "summary": "Light rain clearing in the afternoon",
                    "high_c": 13,
                    "low_c": 7,
                    "precipitation_chance": 0.55,
                },
            ),
        ),
        "Saturday April 12 in Seattle: light rain in the morning clearing in the afternoon, 7 to 13°C. An "
        "afternoon ferry to Bainbridge should be pleasant; bring a rain jacket just in case.",
    ),
    TravelCase(
        "Find the cheapest nonstop from SFO to JFK on Oct 2 and book it for Daniel Okafor.",
        (
            ToolStep(
                "search_flights",
                {"origin": "SFO", "destination": "JFK", "date": "2025-10-02", "cabin": "economy"},
                SFO_JFK_FLIGHTS,
            ),
            ToolStep(
                "book_flight",
                {"flight_id": "B6416", "passenger_name": "Daniel Okafor"},
                {"confirmation": "JB4K9T", "status": "CONFIRMED"},
            ),
        ),
        "Booked: JetBlue B6416, the cheapest nonstop, SFO 08:30 to JFK on October 2 for $214. Daniel "
        "Okafor's confirmation code is JB4K9T.",
        Flaw(
            "Booked the cheapest option, United UA1536 at 07:00 for $189. Daniel Okafor's confirmation is "
            "JB4K9T.",
            hallucinated=False,
            explanation="The traveller asked for a nonstop; UA1536 has one stop. The cheapest nonstop was "
            "JetBlue B6416 at $214.",
        ),
    ),
    TravelCase(
        "hotels in Mexico City, Roma Norte, Nov 1-4, max $150/night",
        (
            ToolStep(
                "search_hotels",
                {
                    "city": "Mexico City",
                    "check_in": "2025-11-01",
                    "check_out": "2025-11-04",
                    "max_price": 150,
                },
                [
                    {
                        "name": "Casa Decu",
                        "neighborhood": "Roma Norte",
                        "rating": 4.6,
                        "price_per_night": 138,
                    },
                    {
                        "name": "Hotel Brick",
                        "neighborhood": "Roma Norte",
                        "rating": 4.5,
                        "price_per_night": 149,
                    },
                    {
                        "name": "Selina Mexico City Downtown",
                        "neighborhood": "Centro",
                        "rating": 4.0,
                        "price_per_night": 64,
                    },
                ],
            ),
        ),
        "In Roma Norte for November 1 to 4: Casa Decu at $138/night (4.6) and Hotel Brick at $149/night "
        "(4.5), both under $150. Note that Día de Muertos falls on your dates, so book soon.",
        Flaw(
            "Great news: Selina Mexico City Downtown is only $64 a night and it's right in Roma Norte.",
            hallucinated=True,
            explanation="The tool result places Selina in Centro, not Roma Norte; the answer misstates the "
            "neighbourhood the traveller asked for.",
        ),
    ),
)

TRAVEL_SYSTEM_PROMPT = (
    "You are Wayfarer, a travel-booking assistant. Use the tools to search flights and hotels, check the "
    "weather and convert currencies. Prices from tools are in USD. Never book without the passenger's "
    "full name, and confirm the flight before booking unless the traveller already chose one."
)

FEEDBACK_COMMENTS = {
    "negative": (
        "That's not what the docs say.",
        "Wrong, had to contact support anyway.",
        "not helpful",
        "",
    ),
    "positive": ("Thanks, that worked!", "perfect", ""),
}


# --- recording ---------------------------------------------------------------------------------------


class Recorder:
    """Plays spans through a real tracer on a simulated clock."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        self.now_ns = 0

    def wait(self, ms: float) -> None:
        self.now_ns += int(ms * NS_PER_MS)

    @contextmanager
    def span(
        self, name: str, kind: str | None, attributes: Attributes, *, root: bool = False
    ) -> Iterator[Span]:
        """A span that ends at the simulated time its body leaves; exceptions are recorded as the SDK does.

        `kind` None records no OpenInference kind, as GenAI instrumentations do."""
        with self.tracer.start_as_current_span(
            name,
            # An empty context, so a root never nests under whatever span the caller may have open.
            context=Context() if root else None,
            start_time=self.now_ns,
            attributes={**({"openinference.span.kind": kind} if kind else {}), **attributes},
            # The SDK would stamp these with the real clock; done below with the simulated one.
            record_exception=False,
            set_status_on_exception=False,
            end_on_exit=False,
        ) as span:
            try:
                yield span
            except Exception as exc:
                span.record_exception(exc, timestamp=self.now_ns, escaped=True)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                raise
            else:
                span.set_status(Status(StatusCode.OK))
            finally:
                self.wait(0.4)
                span.end(end_time=self.now_ns)


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Message:
    role: str
    content: str = ""
    tool_call: ToolCall | None = None
    tool_call_id: str = ""

    @property
    def text(self) -> str:
        return self.content or (self.tool_call.arguments if self.tool_call else "")

    def as_openai(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": self.role, "content": self.content or None}
        if self.tool_call:
            message["tool_calls"] = [
                {
                    "id": self.tool_call.id,
                    "type": "function",
                    "function": {"name": self.tool_call.name, "arguments": self.tool_call.arguments},
                }
            ]
        if self.tool_call_id:
            message["tool_call_id"] = self.tool_call_id
        return message


@dataclass(frozen=True)
class Model:
    name: str
    provider: str
    parameters: dict[str, Any]
    ms_per_token: float


def message_attributes(prefix: str, messages: Sequence[Message]) -> Attributes:
    attributes: Attributes = {}
    for index, message in enumerate(messages):
        key = f"{prefix}.{index}.message"
        attributes[f"{key}.role"] = message.role
        if message.content:
            attributes[f"{key}.content"] = message.content
        if message.tool_call_id:
            attributes[f"{key}.tool_call_id"] = message.tool_call_id
        if message.tool_call:
            call = f"{key}.tool_calls.0.tool_call"
            attributes[f"{call}.id"] = message.tool_call.id
            attributes[f"{call}.function.name"] = message.tool_call.name
            attributes[f"{call}.function.arguments"] = message.tool_call.arguments
    return attributes


def tokens(text: str) -> int:
    # About four characters a token for English, as tokenizers average.
    return max(1, len(text) // 4)


def session_attributes(session_id: str, user_id: str) -> Attributes:
    return {"session.id": session_id, "user.id": user_id}


@dataclass
class Player:
    """What every application's scenario shares: the recorder, the seeded content and the annotations."""

    recorder: Recorder
    rng: random.Random
    annotations: list[DemoAnnotation]
    document_annotations: list[DemoDocumentAnnotation] = field(default_factory=list)
    session_annotations: list[DemoSessionAnnotation] = field(default_factory=list)

    def llm_call(
        self,
        model: Model,
        messages: Sequence[Message],
        reply: Message,
        *,
        extra: Attributes | None = None,
        error: Exception | None = None,
    ) -> str:
        """One chat completion span; returns its span id so evaluations can point at it."""
        # A few tokens of chat framing on top of the messages themselves.
        prompt_tokens = sum(tokens(message.text) for message in messages) + 12
        completion_tokens = tokens(reply.text)
        request = {"model": model.name, "messages": [m.as_openai() for m in messages], **model.parameters}
        attributes: Attributes = {
            "llm.model_name": model.name,
            "llm.provider": model.provider,
            "llm.system": model.provider,
            "llm.invocation_parameters": json.dumps(model.parameters),
            "input.value": json.dumps(request),
            "input.mime_type": "application/json",
            **message_attributes("llm.input_messages", messages),
            **(extra or {}),
        }
        with self.recorder.span("ChatCompletion", "LLM", attributes) as span:
            self.recorder.wait(self.rng.uniform(250, 600) + prompt_tokens * 0.08)
            if error is not None:
                raise error
            self.recorder.wait(completion_tokens * model.ms_per_token * self.rng.uniform(0.8, 1.3))
            span.set_attributes(
                {
                    "output.value": reply.content or json.dumps(reply.as_openai()),
                    "output.mime_type": "text/plain" if reply.content else "application/json",
                    **message_attributes("llm.output_messages", [reply]),
                    "llm.token_count.prompt": prompt_tokens,
                    "llm.token_count.completion": completion_tokens,
                    "llm.token_count.total": prompt_tokens + completion_tokens,
                }
            )
            return span_id_of(span)

    def evaluate_answer(self, span_id: str, flaw: Flaw | None, *, correct_reason: str) -> None:
        """LLM-as-judge verdicts on one answer; `flaw` is what was wrong with it, if anything."""
        self.annotate(
            span_id,
            CORRECTNESS,
            label="incorrect" if flaw else "correct",
            score=0.0 if flaw else 1.0,
            explanation=flaw.explanation if flaw else correct_reason,
        )

    def annotate(self, span_id: str, name: str, *, label: str | None, score: float, explanation: str) -> None:
        self.annotations.append(
            DemoAnnotation(span_id, name, "LLM", EVALS_IDENTIFIER, label, score, explanation)
        )

    def judge_documents(self, span_id: str, articles: Sequence[Article], relevant_ids: Iterable[str]) -> None:
        """Relevance of each retrieved document, as a retrieval judge writes it, position by position."""
        relevant_ids = set(relevant_ids)
        for position, article in enumerate(articles):
            relevant = article.id in relevant_ids
            self.document_annotations.append(
                DemoDocumentAnnotation(
                    span_id,
                    position,
                    "relevant" if relevant else "irrelevant",
                    1.0 if relevant else 0.0,
                    f"'{article.title}' {'answers' if relevant else 'does not bear on'} the question.",
                )
            )

    def conversation_outcome(self, session_id: str) -> None:
        """A reviewer's outcome of a conversation, drawn from a generator of its own (seeded by the session),
        so that adding outcomes changes none of the content drawn from `rng`."""
        rng = random.Random(session_id)
        label = rng.choices(("resolved", "unresolved", "unknown"), weights=(6, 2, 2))[0]
        score = {"resolved": 1.0, "unresolved": 0.0}.get(label)
        self.session_annotations.append(
            DemoSessionAnnotation(session_id, label, score, SESSION_OUTCOMES[label])
        )

    def end_user_feedback(self, span_id: str, *, good_answer: bool) -> None:
        """Some end users press thumbs up or down in the app, more often when the answer was bad."""
        if self.rng.random() > (0.25 if good_answer else 0.6):
            return
        label = "positive" if good_answer else "negative"
        self.annotations.append(
            DemoAnnotation(
                span_id,
                USER_FEEDBACK,
                "HUMAN",
                FEEDBACK_IDENTIFIER,
                label,
                1.0 if good_answer else 0.0,
                self.rng.choice(FEEDBACK_COMMENTS[label]),
            )
        )

    def flaw_of(self, flaw: Flaw | None) -> Flaw | None:
        """Whether this run of a case goes wrong: a flawed variant shows up three times in ten."""
        return flaw if flaw is not None and self.rng.random() < 0.3 else None

    def random_id(self, prefix: str, length: int) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        return prefix + "".join(self.rng.choices(alphabet, k=length))


def span_id_of(span: Span) -> str:
    return format(span.get_span_context().span_id, "016x")


class Application(Protocol):
    player: Player

    def trace(self, *, session_id: str, user_id: str) -> None: ...


# --- the support RAG bot ------------------------------------------------------------------------------

# Most traffic goes to the small model; the rest is the large-model arm of an A/B test.
SUPPORT_MODELS = {
    "a": Model("gpt-4o-mini", "openai", {"temperature": 0.1, "max_tokens": 512}, ms_per_token=9),
    "b": Model("gpt-4o", "openai", {"temperature": 0.1, "max_tokens": 512}, ms_per_token=16),
}
EMBEDDING_MODEL = "text-embedding-3-small"


@dataclass
class SupportBot:
    player: Player

    def trace(self, *, session_id: str, user_id: str) -> None:
        rng = self.player.rng
        case = rng.choice(SUPPORT_CASES)
        question = rng.choice(case.phrasings)
        variant = "b" if rng.random() < 0.3 else "a"
        flaw = self.player.flaw_of(case.flaw)
        error = rate_limit_error(rng, SUPPORT_MODELS[variant]) if rng.random() < 0.07 else None
        metadata = {
            "channel": rng.choice(("web_widget", "web_widget", "email", "slack")),
            "app_version": "2.14.1",
            "experiment": "support-model-ab",
            "variant": variant,
        }
        attributes = {
            "input.value": question,
            "input.mime_type": "text/plain",
            "metadata": json.dumps(metadata),
            **session_attributes(session_id, user_id),
        }
        answer = flaw.answer if flaw else case.answer
        try:
            with self.player.recorder.span("support_answer", "CHAIN", attributes, root=True) as root:
                articles, retriever_span_id = self.retrieve(question, case)
                llm_span_id = self.answer(SUPPORT_MODELS[variant], question, articles, answer, error)
                root.set_attributes({"output.value": answer, "output.mime_type": "text/plain"})
        except RateLimitError:
            # The widget shows "try again in a moment"; there is no answer to evaluate.
            return
        self.evaluate(case, flaw, articles, retriever_span_id, llm_span_id)

    def retrieve(self, question: str, case: SupportCase) -> tuple[list[Article], str]:
        rng = self.player.rng
        recorder = self.player.recorder
        top_k = rng.choice((3, 4))
        relevant = [ARTICLES_BY_ID[article_id] for article_id in case.article_ids]
        others = [article for article in ARTICLES if article.id not in case.article_ids]
        articles = relevant + rng.sample(others, top_k - len(relevant))
        # The articles that answer the question rank first, as a decent vector index would have it.
        scores = sorted((rng.uniform(0.78, 0.91) for _ in relevant), reverse=True) + sorted(
            (rng.uniform(0.52, 0.74) for _ in range(top_k - len(relevant))), reverse=True
        )
        query = {"input.value": question, "input.mime_type": "text/plain"}
        with recorder.span("retrieve", "RETRIEVER", query) as retriever:
            embedding = {
                "embedding.model_name": EMBEDDING_MODEL,
                "embedding.embeddings.0.embedding.text": question,
            }
            with recorder.span("embedding", "EMBEDDING", {**query, **embedding}):
                recorder.wait(rng.uniform(40, 140))
            recorder.wait(rng.uniform(25, 90))
            retriever.set_attributes(document_attributes(articles, scores))
            return articles, span_id_of(retriever)

    def answer(
        self, model: Model, question: str, articles: list[Article], answer: str, error: Exception | None
    ) -> str:
        context = "\n\n".join(f"[{article.title}]\n{article.content}" for article in articles)
        template: Attributes = {
            "llm.prompt_template.template": SUPPORT_PROMPT_TEMPLATE,
            "llm.prompt_template.variables": json.dumps({"context": context}),
        }
        return self.player.llm_call(
            model,
            [Message("system", SUPPORT_PROMPT_TEMPLATE.format(context=context)), Message("user", question)],
            Message("assistant", answer),
            extra=template,
            error=error,
        )

    def evaluate(
        self,
        case: SupportCase,
        flaw: Flaw | None,
        articles: list[Article],
        retriever_span_id: str,
        llm_span_id: str,
    ) -> None:
        player = self.player
        player.end_user_feedback(llm_span_id, good_answer=flaw is None)
        # Evaluations run on a sample of the traffic, so some answers have none yet.
        if player.rng.random() < 0.15:
            return
        titles = [article.title for article in articles if article.id in case.article_ids]
        source = f"the '{titles[0]}' article" if titles else "the context, which has no matching article"
        player.evaluate_answer(
            llm_span_id, flaw, correct_reason=f"The answer addresses the question and agrees with {source}."
        )
        hallucinated = flaw is not None and flaw.hallucinated
        player.annotate(
            llm_span_id,
            HALLUCINATION,
            label="hallucinated" if hallucinated else "factual",
            score=1.0 if hallucinated else 0.0,
            explanation=flaw.explanation
            if flaw is not None and hallucinated
            else "Every claim in the answer is supported by the retrieved context.",
        )
        player.judge_documents(retriever_span_id, articles, case.article_ids)
        found = f" ({', '.join(titles)})" if titles else ""
        player.annotate(
            retriever_span_id,
            RELEVANCE,
            label=None,
            score=round(len(titles) / len(articles), 2),
            explanation=f"{len(titles)} of {len(articles)} retrieved documents bear on the question{found}.",
        )


def rate_limit_error(rng: random.Random, model: Model) -> RateLimitError:
    return RateLimitError(
        f"Error code: 429 - Rate limit reached for {model.name} in organization org-orbit on tokens per "
        f"min (TPM): Limit 200000, Used {rng.randrange(198_500, 199_900)}, Requested "
        f"{rng.randrange(1200, 2400)}. Please try again in {rng.randrange(2, 9) * 0.3:.1f}s."
    )


def document_attributes(articles: Sequence[Article], scores: Sequence[float]) -> Attributes:
    attributes: Attributes = {}
    for index, (article, score) in enumerate(zip(articles, scores, strict=True)):
        key = f"retrieval.documents.{index}.document"
        attributes[f"{key}.id"] = article.id
        attributes[f"{key}.content"] = article.content
        attributes[f"{key}.score"] = round(score, 4)
        attributes[f"{key}.metadata"] = json.dumps(
            {"title": article.title, "url": f"https://help.orbit.example/articles/{article.slug}"}
        )
    return attributes


# --- the travel agent -----------------------------------------------------------------------------------

TRAVEL_MODEL = Model(
    "claude-3-5-sonnet-20241022", "anthropic", {"temperature": 0.3, "max_tokens": 1024}, ms_per_token=14
)
TOOL_DEFINITIONS: Attributes = {
    f"llm.tools.{index}.tool.json_schema": json.dumps(
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.json_schema(),
            },
        }
    )
    for index, tool in enumerate(TOOLS.values())
}


@dataclass
class TravelAgent:
    player: Player

    def trace(self, *, session_id: str, user_id: str) -> None:
        rng = self.player.rng
        case = rng.choice(TRAVEL_CASES)
        flaw = self.player.flaw_of(case.flaw)
        answer = flaw.answer if flaw else case.answer
        attributes = {
            "input.value": case.request,
            "input.mime_type": "text/plain",
            "metadata": json.dumps(
                {"channel": rng.choice(("ios", "android", "web")), "agent_version": "0.9.3"}
            ),
            **session_attributes(session_id, user_id),
        }
        with self.player.recorder.span("travel_agent", "AGENT", attributes, root=True) as root:
            messages = [Message("system", TRAVEL_SYSTEM_PROMPT), Message("user", case.request)]
            for step in case.steps:
                self.run_step(step, messages)
            final_span_id = self.player.llm_call(
                TRAVEL_MODEL, messages, Message("assistant", answer), extra=TOOL_DEFINITIONS
            )
            root.set_attributes({"output.value": answer, "output.mime_type": "text/plain"})
        if rng.random() < 0.85:
            self.player.evaluate_answer(
                final_span_id,
                flaw,
                correct_reason="The answer follows the tool results and does what the traveller asked.",
            )
        self.player.end_user_feedback(final_span_id, good_answer=flaw is None)

    def run_step(self, step: ToolStep, messages: list[Message]) -> None:
        """Ask the model for the tool call, run it, and retry once if the tool's API timed out."""
        tool = TOOLS[step.tool]
        attempts = 2 if tool.flaky and self.player.rng.random() < 0.2 else 1
        for attempt in range(attempts):
            call = ToolCall(self.player.random_id("toolu_", 24), tool.name, json.dumps(step.arguments))
            request = Message("assistant", tool_call=call)
            self.player.llm_call(TRAVEL_MODEL, messages, request, extra=TOOL_DEFINITIONS)
            messages.append(request)
            try:
                result = self.run_tool(tool, step, times_out=attempt < attempts - 1)
            except TimeoutError as exc:
                result = f"Error: {exc}"
            messages.append(Message("tool", result, tool_call_id=call.id))

    def run_tool(self, tool: Tool, step: ToolStep, *, times_out: bool) -> str:
        recorder = self.player.recorder
        attributes = {
            "tool.name": tool.name,
            "tool.description": tool.description,
            "tool.parameters": json.dumps(tool.json_schema()),
            "input.value": json.dumps(step.arguments),
            "input.mime_type": "application/json",
        }
        with recorder.span(tool.name, "TOOL", attributes) as span:
            if times_out:
                recorder.wait(10_000)
                raise TimeoutError(
                    f"Read timed out after 10.0s: POST https://{TOOL_HOSTS[tool.name]}/v2/search"
                )
            recorder.wait(
                self.player.rng.uniform(120, 1400) if tool.flaky else self.player.rng.uniform(30, 250)
            )
            result = json.dumps(step.result)
            span.set_attributes({"output.value": result, "output.mime_type": "application/json"})
            return result


# --- the weather agent: OpenTelemetry GenAI conventions only ------------------------------------------


WEATHER_MODEL = "gpt-4.1-mini"
WEATHER_INSTRUCTIONS = "You are a weather assistant. Look the forecast up, then answer in one sentence."
WEATHER_TOOL = TOOLS["get_weather_forecast"]
# (question, city, what the forecast tool returns, the answer)
WEATHER_CASES = (
    (
        "Will I need an umbrella in Lisbon tomorrow?",
        "Lisbon",
        "light rain, 17 °C",
        "Yes: light rain is forecast in Lisbon tomorrow, around 17 °C.",
    ),
    (
        "Is it beach weather in Nice tomorrow?",
        "Nice",
        "sunny, 27 °C",
        "Yes, it will be sunny and 27 °C in Nice.",
    ),
    (
        "How cold will Oslo be tomorrow?",
        "Oslo",
        "snow showers, -4 °C",
        "Cold: about -4 °C with snow showers.",
    ),
    ("Should I cycle to work in Amsterdam tomorrow?", "Amsterdam", "windy, 12 °C", "Yes, but expect wind."),
)


def genai_text(role: str, text: str) -> dict[str, Any]:
    return {"role": role, "parts": [{"type": "text", "content": text}]}


@dataclass
class WeatherAgent:
    """An agent run with one tool call, traced as pydantic-ai traces it: no OpenInference attribute at all."""

    player: Player

    def trace(self, *, session_id: str, user_id: str) -> None:
        rng, recorder = self.player.rng, self.player.recorder
        question, city, forecast, answer = rng.choice(WEATHER_CASES)
        call = {
            "type": "tool_call",
            "id": self.player.random_id("call_", 24),
            "name": WEATHER_TOOL.name,
            "arguments": {"city": city, "date": "tomorrow"},
        }
        conversation = [genai_text("user", question)]
        # gen_ai.conversation.id is GenAI's session id.
        run = {"gen_ai.agent.name": "weather_agent", "gen_ai.conversation.id": session_id}
        with recorder.span(
            "invoke_agent weather_agent", None, {"gen_ai.operation.name": "invoke_agent", **run}, root=True
        ) as root:
            self.chat(conversation, [call], run)
            tool_attributes = {
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": WEATHER_TOOL.name,
                "gen_ai.tool.call.id": call["id"],
                "gen_ai.tool.call.arguments": json.dumps(call["arguments"]),
                **run,
            }
            with recorder.span(f"execute_tool {WEATHER_TOOL.name}", None, tool_attributes) as tool:
                recorder.wait(rng.uniform(80, 300))
                tool.set_attribute("gen_ai.tool.call.result", forecast)
            result = {
                "type": "tool_call_response",
                "id": call["id"],
                "name": WEATHER_TOOL.name,
                "result": forecast,
            }
            conversation.append({"role": "tool", "parts": [result]})
            self.chat(conversation, [{"type": "text", "content": answer}], run)
            root.set_attributes(
                {"pydantic_ai.all_messages": json.dumps(conversation), "final_result": answer}
            )

    def chat(self, conversation: list[dict[str, Any]], reply: list[dict[str, Any]], run: Attributes) -> None:
        """One model request; the reply joins the conversation."""
        recorder = self.player.recorder
        definition = {
            "type": "function",
            "name": WEATHER_TOOL.name,
            "description": WEATHER_TOOL.description,
            "parameters": WEATHER_TOOL.json_schema(),
        }
        attributes: Attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": WEATHER_MODEL,
            "gen_ai.system_instructions": json.dumps([{"type": "text", "content": WEATHER_INSTRUCTIONS}]),
            "gen_ai.tool.definitions": json.dumps([definition]),
            "gen_ai.input.messages": json.dumps(conversation),
            **run,
        }
        prompt_tokens = tokens(WEATHER_INSTRUCTIONS + attributes["gen_ai.input.messages"])
        completion_tokens = tokens(json.dumps(reply))
        with recorder.span(f"chat {WEATHER_MODEL}", None, attributes) as span:
            recorder.wait(self.player.rng.uniform(300, 700) + completion_tokens * 20)
            finish_reason = "tool_call" if reply[0]["type"] == "tool_call" else "stop"
            span.set_attributes(
                {
                    "gen_ai.output.messages": json.dumps(
                        [{"role": "assistant", "parts": reply, "finish_reason": finish_reason}]
                    ),
                    "gen_ai.response.model": WEATHER_MODEL,
                    "gen_ai.usage.input_tokens": prompt_tokens,
                    "gen_ai.usage.output_tokens": completion_tokens,
                }
            )
        conversation.append({"role": "assistant", "parts": reply})


# --- the scenario --------------------------------------------------------------------------------------


def demo_scenario(*, now: datetime) -> DemoScenario:
    """Every demo span as one OTLP request, and the annotations to write once the spans are stored."""
    rng = random.Random(CONTENT_SEED)
    exporter = MemorySpanExporter()
    ids = SeededIdGenerator(ID_SEED)
    annotations: list[DemoAnnotation] = []
    documents: list[DemoDocumentAnnotation] = []
    sessions: list[DemoSessionAnnotation] = []
    for project, application, trace_count in (
        (SUPPORT_PROJECT, SupportBot, SUPPORT_TRACES),
        (TRAVEL_PROJECT, TravelAgent, TRAVEL_TRACES),
        (WEATHER_PROJECT, WeatherAgent, WEATHER_TRACES),
    ):
        provider = tracer_provider(project, ids, exporter)
        player = Player(Recorder(provider.get_tracer("phoenix_annot.demo")), rng, annotations)
        play(application(player), now=now, trace_count=trace_count)
        provider.shutdown()
        documents += player.document_annotations
        sessions += player.session_annotations
    return DemoScenario(
        request=encode_spans(exporter.spans),
        annotations=annotations,
        document_annotations=documents,
        session_annotations=sessions,
    )


def tracer_provider(project: str, ids: IdGenerator, exporter: SpanExporter) -> TracerProvider:
    resource = Resource.create({"openinference.project.name": project, "service.name": project})
    # ALWAYS_ON so an OTEL_TRACES_SAMPLER in the environment cannot drop demo spans.
    provider = TracerProvider(resource=resource, id_generator=ids, sampler=ALWAYS_ON, shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def play(application: Application, *, now: datetime, trace_count: int) -> None:
    """Conversations of one to three traces, at random moments over the last few days."""
    rng = application.player.rng
    recorder = application.player.recorder
    played = 0
    while played < trace_count:
        # An hour of slack, so even the latest conversation is over by `now`.
        start = now - HISTORY + timedelta(seconds=rng.uniform(0, HISTORY.total_seconds() - 3600))
        recorder.now_ns = (start - UNIX_EPOCH) // timedelta(microseconds=1) * 1000
        session_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        user_id = f"usr_{rng.randrange(10_000, 99_999)}"
        for _ in range(min(rng.choice((1, 1, 2, 3)), trace_count - played)):
            application.trace(session_id=session_id, user_id=user_id)
            played += 1
            # The user reads the answer and types the next message.
            recorder.wait(rng.uniform(20_000, 180_000))
        application.player.conversation_outcome(session_id)
