"""The Django project: settings, URLs, the WSGI application and the shared page layout."""
