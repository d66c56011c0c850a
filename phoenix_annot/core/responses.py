from django.http import HttpResponse


def plain_text_response(status: int, message: str) -> HttpResponse:
    """An error as Phoenix answers it: text/plain, with the headers its status calls for."""
    response = HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="phoenix-annot"'
    if status == 503:
        # Clients that retry (exporters, arize-phoenix-client) come back once the database is up again.
        response["Retry-After"] = "1"
    return response
