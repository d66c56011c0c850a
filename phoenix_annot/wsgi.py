import os

from django.core.wsgi import get_wsgi_application

from phoenix_annot.core.chunked import ChunkedRequestBody

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "phoenix_annot.settings")

application = ChunkedRequestBody(get_wsgi_application())
