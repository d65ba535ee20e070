"""gunicorn settings for the portal; gunicorn reads ./gunicorn.conf.py by default.

gunicorn answers a request it refuses itself (a request line over 4094 bytes: 414,
headers too large: 431) in the API's JSON error shape, as the OpenAPI document says.
"""


def on_starting(server):
    from portal.http.gunicorn_errors import install

    install()
