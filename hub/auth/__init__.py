"""Machine clients, their OAuth2 access tokens, and the one authorisation layer."""
