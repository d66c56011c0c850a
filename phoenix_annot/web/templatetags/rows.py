"""What a row of the Spans and Traces tables shows of a span."""

from django import template

from phoenix_annot.tracing.conversations import last_user_text

register = template.Library()

# A model call's input as the last thing the user said, read without loading the span's attributes.
input_preview = register.filter("input_preview", last_user_text)
