"""Fast PostgreSQL seeding of a migrated phoenix-annot database: traces, spans and annotations in bulk SQL.

Everything heavy happens inside PostgreSQL (``INSERT ... SELECT`` over ``generate_series``); Python only
makes a small pool of prose-like text chunks (COPY'd into a temp table) and the handful of ORM rows
(projects, users, annotation configs). 200k spans take well under a minute, 1M a few minutes.

The shape, per trace (4 spans, ingested in time order, so ids follow start_time as they would live):

    CHAIN "rag_pipeline" (root)
      RETRIEVER "retrieve"      3 documents of ~300 characters in retrieval.documents
      LLM "ChatCompletion"      system + user messages (question + context), JSON input/output, tokens
      TOOL web_search | ...     JSON arguments, text result

Attributes are nested by dot segments as ingest stores them, input/output are duplicated into the
extracted columns, ~3% of LLM spans and ~2% of TOOL spans fail with an exception event.

Annotations (about 2 per trace, so ~100k for 200k spans), written in created_at order:

- correctness (CATEGORICAL correct/incorrect, score 1/0) on LLM spans: an LLM judge (65%), reviewers
  alice (16%), bob (8%) and the bench user (4%) in the app (identifier px-app:<user global id>), so some
  spans carry 2-4 correctness annotations that mostly agree; end-user thumbs on 10% of root spans.
- hallucination (CATEGORICAL factual/hallucinated) by an LLM judge on 45% of LLM spans.
- relevance (CONTINUOUS 0..1, score only) by an LLM judge on 50% of RETRIEVER spans.
- notes on 1% of LLM spans; trace annotations correctness (HUMAN, 5% of traces) and helpfulness (LLM, 3%).

Used by ``bench/pages.py``; callable on its own through ``seed(...)`` after ``django.setup()``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CHUNKS = 4096
CHUNK_CHARS = 1600
BASE_TIME = "2026-10-01T00:00:00+00:00"
SEED_DAYS = 30  # the traces spread evenly over this many days


@dataclass
class SeedResult:
    main_project_id: int
    other_project_id: int
    user_id: int
    username: str
    traces: int = 0
    spans: int = 0
    span_annotations: int = 0
    trace_annotations: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _text_chunks(rng: random.Random) -> list[str]:
    """Prose-like chunks: compress like text, not like one repeated string."""
    syllables = ["ka", "lo", "mi", "re", "tan", "su", "vel", "or", "ing", "de", "pra", "ex", "ul", "sto"]
    words = ["".join(rng.choices(syllables, k=rng.randint(1, 4))) for _ in range(3000)]
    words += ["the", "a", "of", "to", "and", "in", "is", "for", "that", "with"] * 60
    chunks = []
    for _ in range(CHUNKS):
        parts: list[str] = []
        length = 0
        while length < CHUNK_CHARS:
            sentence = " ".join(rng.choices(words, k=rng.randint(6, 18))).capitalize() + ". "
            parts.append(sentence)
            length += len(sentence)
        chunks.append("".join(parts)[:CHUNK_CHARS])
    return chunks


# $1 = a random key, $2 = a length (<= CHUNK_CHARS - 300): a slice of one chunk.
_TEXT_FUNCTION = f"""
CREATE OR REPLACE FUNCTION pg_temp.txt(k bigint, len int) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT substr(body, 1 + (k % 300)::int, len) FROM seed_text WHERE id = (k % {CHUNKS})::int
$$
"""

_SEED_TRACE = """
CREATE TEMP TABLE seed_trace AS
SELECT
    i,
    CASE WHEN random() < %(other_share)s THEN %(other)s ELSE %(main)s END AS project_id,
    md5('bench-trace-' || i) AS trace_hex,
    %(base)s::timestamptz
        + (i * %(spacing_ms)s + random() * %(spacing_ms)s) * interval '1 millisecond' AS t0,
    pg_temp.txt((random() * 1e9)::bigint, 80 + (random() * 120)::int) AS question,
    pg_temp.txt((random() * 1e9)::bigint, 300 + (random() * 300)::int) AS answer,
    pg_temp.txt((random() * 1e9)::bigint, 260 + (random() * 80)::int) AS doc1,
    pg_temp.txt((random() * 1e9)::bigint, 260 + (random() * 80)::int) AS doc2,
    pg_temp.txt((random() * 1e9)::bigint, 260 + (random() * 80)::int) AS doc3,
    pg_temp.txt((random() * 1e9)::bigint, 150 + (random() * 250)::int) AS system_prompt,
    pg_temp.txt((random() * 1e9)::bigint, 30 + (random() * 60)::int) AS tool_query,
    pg_temp.txt((random() * 1e9)::bigint, 100 + (random() * 300)::int) AS tool_result,
    (random() * 1e6)::int AS doc_key,
    round((0.5 + random() * 0.49)::numeric, 4)::float8 AS s1,
    round((0.5 + random() * 0.49)::numeric, 4)::float8 AS s2,
    round((0.5 + random() * 0.49)::numeric, 4)::float8 AS s3,
    (ARRAY['gpt-4o-mini', 'gpt-4o', 'claude-3-5-sonnet-20241022', 'llama-3.1-70b-instruct'])
        [1 + floor(random() * 4)::int] AS model,
    (ARRAY['web_search', 'calculator', 'sql_query', 'get_weather'])[1 + floor(random() * 4)::int] AS tool,
    round((15 + power(random(), 2) * 250)::numeric, 3)::float8 AS retr_ms,
    round((250 + power(random(), 3) * 9000)::numeric, 3)::float8 AS llm_ms,
    round((20 + power(random(), 2) * 1500)::numeric, 3)::float8 AS tool_ms,
    300 + (random() * 2500)::int AS prompt_tokens,
    20 + (random() * 700)::int AS completion_tokens,
    random() < 0.03 AS llm_error,
    random() < 0.02 AS tool_error
FROM generate_series(0, %(traces)s - 1) AS i
"""

_INSERT_TRACES = """
INSERT INTO tracing_trace (id, trace_id, start_time, end_time, latency_ms, span_count, error_count,
    root_span_name, llm_token_count_prompt, llm_token_count_completion, llm_token_count_total, project_id)
SELECT i + 1, trace_hex, t0,
    t0 + (retr_ms + llm_ms + tool_ms + 6) * interval '1 millisecond',
    retr_ms + llm_ms + tool_ms + 6, 4, llm_error::int + tool_error::int, 'rag_pipeline',
    prompt_tokens, completion_tokens, prompt_tokens + completion_tokens, project_id
FROM seed_trace ORDER BY i
"""

# One row per (trace, k); the LATERAL refers to t so that the spans of a trace are produced together,
# in time order (as live ingest writes them), rather than all roots, then all retrievers, ...
_INSERT_SPANS = """
INSERT INTO tracing_span (id, span_id, parent_id, name, span_kind, start_time, end_time, latency_ms,
    status_code, status_message, attributes, events, input_value, input_mime_type, output_value,
    output_mime_type, llm_model_name, llm_token_count_prompt, llm_token_count_completion,
    llm_token_count_total, created_at, project_id, trace_id)
SELECT
    s.i * 4 + s.k + 1,
    substr(md5('bench-span-' || s.i || ':' || s.k), 1, 16),
    CASE WHEN s.k = 0 THEN NULL ELSE substr(md5('bench-span-' || s.i || ':0'), 1, 16) END,
    s.name, s.kind, s.start_time, s.start_time + s.latency * interval '1 millisecond', s.latency,
    s.status, s.status_message,
    jsonb_build_object('openinference', jsonb_build_object('span', jsonb_build_object('kind', s.kind)))
        || jsonb_build_object('input', jsonb_build_object('value', s.input_value, 'mime_type', s.input_mime))
        || CASE WHEN s.output_value = '' THEN '{}'::jsonb
                ELSE jsonb_build_object('output',
                         jsonb_build_object('value', s.output_value, 'mime_type', s.output_mime)) END
        || s.extra,
    CASE WHEN s.status = 'ERROR' THEN jsonb_build_array(jsonb_build_object(
        'name', 'exception', 'timestamp', s.start_time + s.latency * interval '1 millisecond',
        'attributes', jsonb_build_object('exception.type', s.error_type, 'exception.message',
            s.status_message, 'exception.stacktrace',
            E'Traceback (most recent call last):\n  File "app/pipeline.py", line 88, in run\n    '
            || E'result = client.call(payload)\n' || s.error_type || ': ' || s.status_message)))
        ELSE '[]'::jsonb END,
    s.input_value, s.input_mime, s.output_value, s.output_mime, s.model,
    s.prompt_tokens, s.completion_tokens, s.prompt_tokens + s.completion_tokens,
    s.start_time + s.latency * interval '1 millisecond' + interval '2 seconds',
    s.project_id, s.i + 1
FROM seed_trace t
CROSS JOIN LATERAL (
    SELECT t.i, k, t.project_id,
        (ARRAY['rag_pipeline', 'retrieve', 'ChatCompletion', t.tool])[k + 1] AS name,
        (ARRAY['CHAIN', 'RETRIEVER', 'LLM', 'TOOL'])[k + 1] AS kind,
        t.t0 + (ARRAY[0, 2, 3 + t.retr_ms, 4 + t.retr_ms + t.llm_ms])[k + 1] * interval '1 millisecond'
            AS start_time,
        (ARRAY[t.retr_ms + t.llm_ms + t.tool_ms + 6, t.retr_ms, t.llm_ms, t.tool_ms])[k + 1] AS latency,
        CASE WHEN (k IN (0, 2) AND t.llm_error) OR (k = 3 AND t.tool_error) THEN 'ERROR' ELSE 'OK' END
            AS status,
        CASE WHEN k IN (0, 2) AND t.llm_error THEN 'Rate limit reached for requests'
             WHEN k = 3 AND t.tool_error THEN 'Tool call timed out after 30s' ELSE '' END AS status_message,
        CASE WHEN k = 3 THEN 'TimeoutError' ELSE 'openai.RateLimitError' END AS error_type,
        CASE k WHEN 2 THEN jsonb_build_object('messages', jsonb_build_array(
                    jsonb_build_object('role', 'system', 'content', t.system_prompt),
                    jsonb_build_object('role', 'user', 'content', t.question || E'\n\nContext:\n'
                        || t.doc1 || E'\n' || t.doc2 || E'\n' || t.doc3)), 'model', t.model,
                    'temperature', 0.2)::text
               WHEN 3 THEN jsonb_build_object('query', t.tool_query, 'limit', 5)::text
               ELSE t.question END AS input_value,
        CASE WHEN k IN (2, 3) THEN 'application/json' ELSE 'text/plain' END AS input_mime,
        CASE WHEN k = 1 THEN ''
             WHEN k IN (0, 2) AND t.llm_error THEN ''
             WHEN k = 2 THEN jsonb_build_object('id', 'chatcmpl-' || md5(t.trace_hex), 'object',
                    'chat.completion', 'model', t.model, 'choices', jsonb_build_array(jsonb_build_object(
                    'index', 0, 'finish_reason', 'stop', 'message',
                    jsonb_build_object('role', 'assistant', 'content', t.answer))),
                    'usage', jsonb_build_object('prompt_tokens', t.prompt_tokens,
                    'completion_tokens', t.completion_tokens,
                    'total_tokens', t.prompt_tokens + t.completion_tokens))::text
             WHEN k = 3 AND t.tool_error THEN ''
             WHEN k = 3 THEN t.tool_result
             ELSE t.answer END AS output_value,
        CASE WHEN k = 2 THEN 'application/json' ELSE 'text/plain' END AS output_mime,
        CASE WHEN k = 2 THEN t.model ELSE '' END AS model,
        CASE WHEN k = 2 THEN t.prompt_tokens END AS prompt_tokens,
        CASE WHEN k = 2 THEN t.completion_tokens END AS completion_tokens,
        CASE k
            WHEN 0 THEN jsonb_build_object(
                'session', jsonb_build_object('id', 'session-' || (t.i / 5)),
                'user', jsonb_build_object('id', 'user-' || (t.i % 997)),
                'metadata', jsonb_build_object('env', 'prod', 'version', '1.4.' || (t.i % 7),
                    'request_id', 'req-' || t.i),
                'tag', jsonb_build_object('tags', jsonb_build_array('rag', 'prod')))
            WHEN 1 THEN jsonb_build_object('retrieval', jsonb_build_object('documents', jsonb_build_array(
                jsonb_build_object('document', jsonb_build_object('id', 'doc-' || t.doc_key,
                    'content', t.doc1, 'score', t.s1,
                    'metadata', jsonb_build_object('source', 'kb/article-' || (t.doc_key % 5000) || '.md'))),
                jsonb_build_object('document', jsonb_build_object('id', 'doc-' || (t.doc_key + 1),
                    'content', t.doc2, 'score', t.s2,
                    'metadata', jsonb_build_object('source', 'kb/article-' || (t.doc_key % 4999) || '.md'))),
                jsonb_build_object('document', jsonb_build_object('id', 'doc-' || (t.doc_key + 2),
                    'content', t.doc3, 'score', t.s3,
                    'metadata', jsonb_build_object('source', 'kb/article-' || (t.doc_key % 4998) || '.md')))
                )))
            WHEN 2 THEN jsonb_build_object('llm', jsonb_build_object(
                'model_name', t.model, 'provider', 'openai', 'system', 'openai',
                'invocation_parameters', '{"temperature": 0.2}',
                'input_messages', jsonb_build_array(
                    jsonb_build_object('message', jsonb_build_object('role', 'system',
                        'content', t.system_prompt)),
                    jsonb_build_object('message', jsonb_build_object('role', 'user',
                        'content', t.question || E'\n\nContext:\n' || t.doc1 || E'\n' || t.doc2
                            || E'\n' || t.doc3))),
                'output_messages', CASE WHEN t.llm_error THEN '[]'::jsonb ELSE jsonb_build_array(
                    jsonb_build_object('message', jsonb_build_object('role', 'assistant',
                        'content', t.answer))) END,
                'token_count', jsonb_build_object('prompt', t.prompt_tokens,
                    'completion', t.completion_tokens, 'total', t.prompt_tokens + t.completion_tokens)))
            ELSE jsonb_build_object('tool', jsonb_build_object('name', t.tool,
                'description', 'Calls ' || t.tool || ' with a query and returns text.',
                'parameters', '{"type": "object", "properties": {"query": {"type": "string"}}}'))
        END AS extra
    FROM generate_series(0, 3 + 0 * t.i) AS k
) AS s
"""

# Per LLM / RETRIEVER / root span: the random draws the annotation statements below share.
_SEED_LLM = """
CREATE TEMP TABLE seed_llm AS
SELECT id AS span_id, start_time, random() < 0.25 AS incorrect, random() < 0.18 AS hallucinated,
    random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5, random() AS r6,
    random() AS r7, random() AS r8, random() AS r9, random() AS r10
FROM tracing_span WHERE span_kind = 'LLM'
"""

_CORRECT = "CASE WHEN incorrect <> ({flip}) THEN 'incorrect' ELSE 'correct' END"
_CORRECT_SCORE = "CASE WHEN incorrect <> ({flip}) THEN 0.0 ELSE 1.0 END"

_ANNOTATION_STAGE = """
CREATE TEMP TABLE seed_ann (span_id bigint, name text, label text, score float8, explanation text,
    metadata jsonb, annotator_kind text, identifier text, source text, user_id bigint, created_at timestamptz)
"""


def _human_correctness(share: float, draw: str, flip_draw: str) -> str:
    """A reviewer's correctness labels: agree with the truth but for 5%, sometimes with a reason."""
    return f"""
INSERT INTO seed_ann
SELECT span_id, 'correctness', {_CORRECT.format(flip=f"{flip_draw} < 0.05")},
    {_CORRECT_SCORE.format(flip=f"{flip_draw} < 0.05")},
    CASE WHEN {flip_draw} < 0.3 THEN pg_temp.txt((random() * 1e9)::bigint, 40 + (random() * 120)::int) END,
    '{{}}'::jsonb, 'HUMAN', %(identifier)s, 'APP', %(user)s,
    start_time + (1 + random() * 72) * interval '1 hour'
FROM seed_llm WHERE {draw} < {share}
"""


_SPAN_ANNOTATIONS = [
    # correctness by an LLM judge: wrong about 10% of the time.
    f"""
INSERT INTO seed_ann
SELECT span_id, 'correctness', {_CORRECT.format(flip="r2 < 0.1")}, {_CORRECT_SCORE.format(flip="r2 < 0.1")},
    pg_temp.txt((random() * 1e9)::bigint, 120 + (random() * 200)::int),
    '{{"model": "gpt-4o", "eval_version": "v3"}}'::jsonb, 'LLM', '', 'API', %(bot)s,
    start_time + (2 + random() * 8) * interval '1 minute'
FROM seed_llm WHERE r1 < 0.65
""",
    # hallucination by an LLM judge.
    """
INSERT INTO seed_ann
SELECT span_id, 'hallucination', CASE WHEN hallucinated <> (r8 < 0.1) THEN 'hallucinated' ELSE 'factual' END,
    CASE WHEN hallucinated <> (r8 < 0.1) THEN 1.0 ELSE 0.0 END,
    pg_temp.txt((random() * 1e9)::bigint, 120 + (random() * 200)::int),
    '{"model": "gpt-4o-mini"}'::jsonb, 'LLM', '', 'API', %(bot)s,
    start_time + (2 + random() * 8) * interval '1 minute'
FROM seed_llm WHERE r7 < 0.45
""",
    # relevance of retrieved documents: a score only.
    """
INSERT INTO seed_ann
SELECT id, 'relevance', NULL, round(power(random(), 0.6)::numeric, 3)::float8, NULL,
    '{"model": "gpt-4o-mini"}'::jsonb, 'LLM', '', 'API', %(bot)s,
    start_time + (2 + random() * 8) * interval '1 minute'
FROM tracing_span WHERE span_kind = 'RETRIEVER' AND random() < 0.5
""",
    # end-user thumbs on the answer, sent through the API.
    """
INSERT INTO seed_ann
SELECT id, 'correctness', CASE WHEN r < 0.2 THEN 'incorrect' ELSE 'correct' END,
    CASE WHEN r < 0.2 THEN 0.0 ELSE 1.0 END, NULL, '{"channel": "widget"}'::jsonb, 'HUMAN', '', 'API', NULL,
    start_time + (5 + random() * 600) * interval '1 second'
FROM (SELECT id, start_time, random() AS r FROM tracing_span WHERE parent_id IS NULL) AS roots
WHERE random() < 0.10
""",
    # notes: free text, each under its own identifier.
    """
INSERT INTO seed_ann
SELECT span_id, 'note', NULL, NULL, pg_temp.txt((random() * 1e9)::bigint, 40 + (random() * 200)::int),
    '{}'::jsonb, 'HUMAN', 'px-span-note:' || md5('note' || span_id), 'APP', %(alice)s,
    start_time + (1 + random() * 72) * interval '1 hour'
FROM seed_llm WHERE r9 < 0.01
""",
]

_INSERT_SPAN_ANNOTATIONS = """
INSERT INTO annotations_spanannotation (created_at, updated_at, name, label, score, explanation, metadata,
    annotator_kind, identifier, source, span_id, user_id)
SELECT created_at, created_at, name, label, score, explanation, metadata, annotator_kind, identifier, source,
    span_id, user_id
FROM seed_ann ORDER BY created_at
"""

_INSERT_TRACE_ANNOTATIONS = """
INSERT INTO annotations_traceannotation (created_at, updated_at, name, label, score, explanation, metadata,
    annotator_kind, identifier, source, trace_id, user_id)
SELECT created_at, created_at, name, label, score, explanation, metadata, annotator_kind, identifier, source,
    trace_id, user_id
FROM (
    SELECT t.id AS trace_id, 'correctness' AS name,
        CASE WHEN r < 0.25 THEN 'incorrect' ELSE 'correct' END AS label,
        CASE WHEN r < 0.25 THEN 0.0 ELSE 1.0 END AS score,
        NULL AS explanation, '{}'::jsonb AS metadata, 'HUMAN' AS annotator_kind,
        %(alice_identifier)s AS identifier, 'APP' AS source, %(alice)s::bigint AS user_id,
        t.end_time + (1 + r * 48) * interval '1 hour' AS created_at
    FROM (SELECT id, end_time, random() AS r, random() AS pick FROM tracing_trace) AS t WHERE pick < 0.05
    UNION ALL
    SELECT t.id, 'helpfulness', NULL, round(power(r, 0.5)::numeric, 3)::float8, NULL,
        '{"model": "gpt-4o"}'::jsonb, 'LLM', '', 'API', %(bot)s::bigint,
        t.end_time + (2 + r * 8) * interval '1 minute'
    FROM (SELECT id, end_time, random() AS r, random() AS pick FROM tracing_trace) AS t WHERE pick < 0.03
) AS rows
ORDER BY created_at
"""

_BULK_TABLES = ("tracing_trace", "tracing_span", "annotations_spanannotation", "annotations_traceannotation")


def _secondary_indexes(cursor: Any, tables: tuple[str, ...]) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the tables' indexes that back no constraint."""
    cursor.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
          AND NOT EXISTS (
              SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass)
        ORDER BY i.tablename, i.indexname
        """,
        [list(tables)],
    )
    return list(cursor.fetchall())


def seed(
    *,
    traces: int,
    other_project_share: float = 0.1,
    seed_value: int = 42,
    username: str = "bench-reviewer",
    log: Callable[[str], None] = print,
) -> SeedResult:
    """Fill the (freshly migrated, empty) database Django points at; returns what the benchmark needs."""
    from django.db import connection, transaction

    from phoenix_annot.accounts.models import User
    from phoenix_annot.annotations.models import (
        AnnotationConfig,
        AnnotationType,
        OptimizationDirection,
        ProjectAnnotationConfig,
        reviewer_identifier,
    )
    from phoenix_annot.tracing.models import Project

    timings: dict[str, float] = {}

    def step(name: str, started: float) -> float:
        now = time.perf_counter()
        timings[name] = round(now - started, 2)
        log(f"  seed: {name:<28} {now - started:7.1f} s")
        return now

    started = time.perf_counter()
    main, _ = Project.objects.get_or_create(name="rag-prod", defaults={"description": "RAG assistant"})
    other, _ = Project.objects.get_or_create(name="support-bot", defaults={"description": "Support bot"})
    me = User.objects.create_user(username=username, password="bench-password", role=User.Role.ANNOTATOR)
    alice = User.objects.create_user(username="alice", password="bench-password", role=User.Role.ANNOTATOR)
    bob = User.objects.create_user(username="bob", password="bench-password", role=User.Role.ANNOTATOR)
    bot = User.objects.create_user(username="eval-bot", password="bench-password", role=User.Role.ANNOTATOR)
    configs = [
        AnnotationConfig(
            name="correctness",
            type=AnnotationType.CATEGORICAL,
            optimization_direction=OptimizationDirection.MAXIMIZE,
            values=[{"label": "correct", "score": 1.0}, {"label": "incorrect", "score": 0.0}],
            description="Is the answer correct?",
        ),
        AnnotationConfig(
            name="hallucination",
            type=AnnotationType.CATEGORICAL,
            optimization_direction=OptimizationDirection.MINIMIZE,
            values=[{"label": "factual", "score": 0.0}, {"label": "hallucinated", "score": 1.0}],
        ),
        AnnotationConfig(
            name="relevance",
            type=AnnotationType.CONTINUOUS,
            optimization_direction=OptimizationDirection.MAXIMIZE,
            lower_bound=0.0,
            upper_bound=1.0,
        ),
        AnnotationConfig(
            name="helpfulness",
            type=AnnotationType.CONTINUOUS,
            optimization_direction=OptimizationDirection.MAXIMIZE,
            lower_bound=0.0,
            upper_bound=1.0,
        ),
    ]
    AnnotationConfig.objects.bulk_create(configs)
    ProjectAnnotationConfig.objects.bulk_create(
        [
            ProjectAnnotationConfig(project=project, annotation_config=config)
            for project in (main, other)
            for config in AnnotationConfig.objects.all()
        ]
    )
    params = {
        "main": main.pk,
        "other": other.pk,
        "other_share": other_project_share,
        "base": BASE_TIME,
        "spacing_ms": SEED_DAYS * 86_400_000 / traces,
        "traces": traces,
        "bot": bot.pk,
        "alice": alice.pk,
        "alice_identifier": reviewer_identifier(alice.pk),
    }
    started = step("orm rows", started)

    chunks = _text_chunks(random.Random(seed_value))
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor, for COPY
        # Bench database only: skip FK triggers (ids are consistent by construction) and WAL waits.
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute("SELECT setseed(%s)", [(seed_value % 1000) / 1000])
        indexes = _secondary_indexes(cursor, _BULK_TABLES)
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("CREATE TEMP TABLE seed_text (id int PRIMARY KEY, body text) ON COMMIT DROP")
        with raw.copy("COPY seed_text (id, body) FROM STDIN") as copy:
            for number, chunk in enumerate(chunks):
                copy.write_row((number, chunk))
        cursor.execute(_TEXT_FUNCTION)
        started = step("text pool", started)
        cursor.execute(_SEED_TRACE, params)
        cursor.execute("ANALYZE seed_trace")
        started = step("trace draws + text", started)
        cursor.execute(_INSERT_TRACES)
        trace_count = cursor.rowcount
        started = step("insert traces", started)
        cursor.execute(_INSERT_SPANS)
        span_count = cursor.rowcount
        started = step("insert spans", started)
        cursor.execute(_SEED_LLM)
        cursor.execute(_ANNOTATION_STAGE)
        for statement in _SPAN_ANNOTATIONS:
            cursor.execute(statement, params)
        for user, share, draw, flip in (
            (alice, 0.16, "r3", "r4"),
            (bob, 0.08, "r5", "r6"),
            (me, 0.04, "r10", "r4"),
        ):
            cursor.execute(
                _human_correctness(share, draw, flip),
                {"identifier": reviewer_identifier(user.pk), "user": user.pk},
            )
        cursor.execute(_INSERT_SPAN_ANNOTATIONS)
        span_annotation_count = cursor.rowcount
        cursor.execute(_INSERT_TRACE_ANNOTATIONS, params)
        trace_annotation_count = cursor.rowcount
        started = step("insert annotations", started)
        for _name, definition in indexes:
            cursor.execute(definition)
        started = step("rebuild indexes", started)
        for table in ("tracing_trace", "tracing_span"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
        cursor.execute("DROP TABLE seed_trace, seed_llm, seed_ann")
    log(
        f"  seed: {trace_count} traces, {span_count} spans, {span_annotation_count} span annotations,"
        f" {trace_annotation_count} trace annotations"
    )
    return SeedResult(
        main_project_id=main.pk,
        other_project_id=other.pk,
        user_id=me.pk,
        username=me.username,
        traces=trace_count,
        spans=span_count,
        span_annotations=span_annotation_count,
        trace_annotations=trace_annotation_count,
        seconds=timings,
    )


def vacuum_analyze(log: Callable[[str], None] = print) -> float:
    """VACUUM (ANALYZE) the bulk tables, outside a transaction: fresh statistics and a set visibility map,
    as autovacuum would leave them, so it does not kick in halfway through the measurements."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for table in (
            *_BULK_TABLES,
            "tracing_project",
            "accounts_user",
            "annotations_annotationconfig",
            "annotations_projectannotationconfig",
        ):
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    seconds = time.perf_counter() - started
    log(f"  seed: {'vacuum analyze':<28} {seconds:7.1f} s")
    return seconds
