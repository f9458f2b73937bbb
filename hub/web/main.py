"""The ASGI entry point ``hub.web.main:app`` for uvicorn and other servers."""

from hub.config import get_settings
from hub.web.app import create_app

app = create_app(get_settings())
